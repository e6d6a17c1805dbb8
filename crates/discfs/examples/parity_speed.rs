//! Parity encode and repair throughput on one core.
//!
//! `cargo run --release -p discfs --example parity_speed -- [MiB] [percent]`
//! (default 1024 MiB at 10 %). The covered sectors are pseudo-random; the spill and the
//! repaired image are held in memory, so this measures the code, not a disk. Both wall time
//! and the thread's own CPU time (Linux `/proc/thread-self/schedstat`) are shown: on a
//! shared machine the second is the one-core figure.

use std::io::{Cursor, Read};
use std::time::Instant;

use discfs::parity::{BadSectors, Geometry, Header, ParityEncoder, repair};

/// Nanoseconds this thread has run on a CPU, if the kernel tells.
fn cpu_ns() -> Option<u64> {
    let stat = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    stat.split_whitespace().next()?.parse().ok()
}

/// "X MB/s wall, Y MB/s CPU" for `bytes` done since `(wall, cpu)`.
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
    let mib: u64 = args.get(1).map_or(Ok(1024), |a| a.parse())?;
    let percent: u8 = args.get(2).map_or(Ok(10), |a| a.parse())?;
    let covered = mib * 512;
    let geometry = Geometry::new(covered, percent)?;
    let header = Header::new(covered, geometry);
    let mut x = 0x9E37_79B9_7F4A_7C15u64;
    let mut image: Vec<u8> = (0..covered * 2048 / 8)
        .flat_map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x.to_le_bytes()
        })
        .collect();
    // As in a written image, the system area holds the first copy of the header.
    let copy = discfs::parity::SYSTEM_AREA_COPY as usize * 2048;
    image[copy..copy + 2048].copy_from_slice(&header.to_bytes());

    // A spill already in memory (a file in real use), so page faults are not timed.
    let spill = Cursor::new(vec![1u8; geometry.parity_sectors() as usize * 2048]);
    let t = (Instant::now(), cpu_ns());
    let mut encoder = ParityEncoder::new(header, spill)?;
    for chunk in image.chunks(128 << 10) {
        encoder.push(chunk)?;
    }
    let mut area = Vec::new();
    encoder.finish()?.read_to_end(&mut area)?;
    println!("{geometry:?}");
    println!(
        "encode: {mib} MiB at {percent} %: {}",
        rates(covered * 2048, t)
    );

    image.extend_from_slice(&area);
    let mut bad = BadSectors::new();
    for w in 0..geometry.windows {
        let first = w * geometry.window_sectors();
        bad.insert(first..(first + geometry.window_sectors() / 20).min(covered));
    }
    let mut out = Cursor::new(vec![1u8; image.len()]);
    let t = (Instant::now(), cpu_ns());
    let report = repair(Cursor::new(&image), &bad, &mut out)?;
    let rate = rates(image.len() as u64, t);
    assert!(report.is_complete() && out.get_ref() == &image);
    println!(
        "repair: {} sectors lost ({:.1} %) rebuilt: {rate} of image",
        bad.count(),
        100.0 * bad.count() as f64 / covered as f64,
    );
    Ok(())
}
