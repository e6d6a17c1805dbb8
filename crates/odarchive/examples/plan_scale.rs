//! Packs a synthetic set of contents onto discs and reports discs, fill and time:
//! `plan_scale [FILES] [MEDIA] [MEAN_SIZE]` (defaults: 200000 files, bd, 400000 bytes).
//!
//! The sizes follow a rough photo-library shape (many small, some large, a few huge); folders
//! hold 100 files each.

use std::time::Instant;

use odarchive::Media;
use odarchive::plan::{Item, PackParams, pack};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|a| a.parse().ok()).unwrap_or(200_000);
    let media = Media::parse(args.get(2).map_or("bd", String::as_str)).expect("media");
    let mean: u64 = args.get(3).and_then(|a| a.parse().ok()).unwrap_or(400_000);
    let mut x = 0x2545_f491_4f6c_dd1du64;
    let items: Vec<Item> = (0..n)
        .map(|i| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            let size = match x % 100 {
                0 => mean * 200,
                1..=9 => mean * 5,
                10..=39 => mean / 50,
                _ => mean / 2 + x % mean,
            };
            let path = format!(
                "Photos/{:04}/Album {:03}/IMG_{i:07}.JPG",
                i / 10_000,
                i / 100 % 100
            );
            Item {
                content_id: i as i64 + 1,
                hash: [0; 32].into(),
                size,
                path,
                split_stem: None,
                entry_path: None,
                mtime_ns: 0,
                written: 0,
                parts_written: 0,
            }
        })
        .collect();
    let total: u64 = items.iter().map(|i| i.size).sum();
    let params = PackParams {
        capacity: media.capacity,
        readme_size: 3000,
        catalogue: ("catalogue.json.gz", (n as u64) * 120),
        index_size: 0,
        first_number: 1,
        hash: odarchive::HashAlgorithm::Sha256,
        parity: 10,
    };
    let start = Instant::now();
    let discs = pack(&items, 0, &params).expect("pack");
    let secs = start.elapsed().as_secs_f64();
    let fills: Vec<f64> = discs
        .iter()
        .map(|d| d.image_size as f64 * 100.0 / media.capacity as f64)
        .collect();
    let before_last = &fills[..fills.len().saturating_sub(1)];
    let min = before_last.iter().copied().fold(100.0, f64::min);
    println!(
        "{n} files, {:.1} GB on {}: {} discs (lower bound {}), fill min {min:.3}% (all but the last), last {:.1}%, {secs:.1} s",
        total as f64 / 1e9,
        media.name,
        discs.len(),
        total.div_ceil(media.capacity),
        fills.last().copied().unwrap_or(0.0),
    );
}
