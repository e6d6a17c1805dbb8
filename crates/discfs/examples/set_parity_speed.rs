//! Set-parity fold throughput on one core, beside the references it is judged by.
//!
//! `cargo run --release -p discfs --example set_parity_speed -- [MiB] [N]` (default 256 MiB
//! of one member, N = 1). Measures, on the same pseudo-random member held in memory:
//!
//! - `fold`: the member folded into N parity shards (`SetCode::fold`, bit-sliced GF(2^8)
//!   multiply-accumulate), in member bytes per second;
//! - `table`: the same products by a 256-entry table look-up per byte (the plain way);
//! - `xor`: a plain XOR of the member into one shard (the floor of any fold);
//! - `disc parity`: the per-disc Reed-Solomon encoder at 10 % (`ParityEncoder`) over the
//!   same bytes, which `write` already runs on every disc.
//!
//! Wall time and the thread's CPU time (Linux `/proc/thread-self/schedstat`) are shown; on
//! a shared machine the second is the one-core figure.

use std::io::Cursor;
use std::time::Instant;

use discfs::parity::set::{SetCode, mul_add_by_table};
use discfs::parity::{Geometry, Header, ParityEncoder};

fn cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

fn rates(bytes: u64, since: (Instant, Option<u64>)) -> String {
    let wall = since.0.elapsed().as_secs_f64();
    let mb = bytes as f64 / 1e6;
    match (since.1, cpu_ns()) {
        (Some(a), Some(b)) => {
            let cpu = (b - a) as f64 / 1e9;
            format!(
                "{wall:.2} s wall = {:.0} MB/s; {cpu:.2} s CPU = {:.0} MB/s",
                mb / wall,
                mb / cpu
            )
        }
        _ => format!("{wall:.2} s wall = {:.0} MB/s", mb / wall),
    }
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let mib: u64 = args.get(1).map_or(Ok(256), |a| a.parse())?;
    let n: usize = args.get(2).map_or(Ok(1), |a| a.parse())?;
    let bytes = (mib << 20) as usize;
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let member: Vec<u8> = (0..bytes / 8)
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()
        })
        .collect();
    let code = SetCode::new(10, n)?;
    // Filled, so that page faults are not timed.
    let mut parity = vec![vec![1u8; bytes]; n];
    let mut check = parity.clone();
    let step = 16 << 20;

    let t = (Instant::now(), cpu_ns());
    for (c, chunk) in member.chunks(step).enumerate() {
        let mut outs: Vec<&mut [u8]> = parity
            .iter_mut()
            .map(|p| &mut p[c * step..c * step + chunk.len()])
            .collect();
        code.fold(3, chunk, &mut outs);
    }
    println!(
        "fold into {n} shard(s): {mib} MiB: {}",
        rates(bytes as u64, t)
    );

    let t = (Instant::now(), cpu_ns());
    for (i, p) in check.iter_mut().enumerate() {
        mul_add_by_table(code.coefficient(i, 3), p, &member);
    }
    println!("table look-up, {n} shard(s): {}", rates(bytes as u64, t));
    assert!(check == parity, "the two ways agree");

    let t = (Instant::now(), cpu_ns());
    for (d, s) in check[0].iter_mut().zip(&member) {
        *d ^= s;
    }
    println!("plain XOR into 1 shard: {}", rates(bytes as u64, t));

    let covered = (bytes / 2048) as u64;
    let geometry = Geometry::new(covered, 10)?;
    let header = Header::new(covered, geometry);
    let spill = Cursor::new(vec![0u8; geometry.parity_sectors() as usize * 2048]);
    let t = (Instant::now(), cpu_ns());
    let mut encoder = ParityEncoder::new(header, spill)?;
    for chunk in member.chunks(128 << 10) {
        encoder.push(chunk)?;
    }
    drop(encoder.finish()?);
    println!("disc parity encode at 10 %: {}", rates(bytes as u64, t));
    Ok(())
}
