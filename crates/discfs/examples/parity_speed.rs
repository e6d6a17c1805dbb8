//! Parity encode and repair throughput on one core.
//!
//! `cargo run --release -p discfs --example parity_speed -- [MiB] [percent]`
//! (default 1024 MiB at 10 %). The covered sectors are pseudo-random; the spill and the
//! repaired image are held in memory, so this measures the code, not a disk.

use std::io::{Cursor, Read};
use std::time::Instant;

use discfs::parity::{BadSectors, Geometry, Header, ParityEncoder, repair};

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

    let t = Instant::now();
    let mut encoder = ParityEncoder::new(header, Cursor::new(Vec::new()))?;
    for chunk in image.chunks(128 << 10) {
        encoder.push(chunk)?;
    }
    let mut area = Vec::new();
    encoder.finish()?.read_to_end(&mut area)?;
    let secs = t.elapsed().as_secs_f64();
    println!(
        "encode: {mib} MiB at {percent} % ({geometry:?}) in {secs:.2} s = {:.0} MB/s",
        (covered * 2048) as f64 / secs / 1e6
    );

    image.extend_from_slice(&area);
    let mut bad = BadSectors::new();
    for w in 0..geometry.windows {
        let first = w * geometry.window_sectors();
        bad.insert(first..(first + geometry.window_sectors() / 20).min(covered));
    }
    let t = Instant::now();
    let mut out = Cursor::new(Vec::with_capacity(image.len()));
    let report = repair(Cursor::new(&image), &bad, &mut out)?;
    let secs = t.elapsed().as_secs_f64();
    assert!(report.is_complete() && out.get_ref() == &image);
    println!(
        "repair: {} sectors lost ({:.1} %) rebuilt in {secs:.2} s = {:.0} MB/s of image",
        bad.count(),
        100.0 * bad.count() as f64 / covered as f64,
        image.len() as f64 / secs / 1e6
    );
    Ok(())
}
