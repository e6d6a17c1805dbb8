//! How layout scales: builds a synthetic tree of N files (100 per directory, names like a
//! camera's), lays it out, and prints the time and the memory per file.
//!
//! `cargo run --release -p discfs --example layout_scale -- 1000000`

use std::path::PathBuf;
use std::time::Instant;

use discfs::{FileSource, NodeId, Timestamp, TreeBuilder, VolumeInfo};

/// Peak resident memory of this process, in bytes (Linux `VmHWM`).
fn peak_rss() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
        .map_or(0, |kb| kb * 1024)
}

fn main() {
    let n: u64 = std::env::args()
        .nth(1)
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let base = peak_rss();
    let start = Instant::now();
    let t = Timestamp::new(1_700_000_000, 0);
    let mut b = TreeBuilder::new(t);
    let mut dir = NodeId::ROOT;
    for i in 0..n {
        if i % 100 == 0 {
            let year = b
                .dir(NodeId::ROOT, &format!("Photos {}", 2000 + i / 100_000), t)
                .unwrap();
            dir = b.dir(year, &format!("Album {:05}", i / 100), t).unwrap();
        }
        let path = PathBuf::from(format!(
            "/mnt/drive/Photos/Album {:05}/IMG_{i:07}.JPG",
            i / 100
        ));
        b.file(
            dir,
            &format!("IMG_{i:07}.JPG"),
            t,
            3_000_000 + i % 1000,
            FileSource::Path { path, offset: 0 },
        )
        .unwrap();
    }
    let tree = b.build().unwrap();
    let built = start.elapsed();
    let layout = discfs::layout(&tree, &VolumeInfo::default()).unwrap();
    let laid = start.elapsed() - built;
    let per_file = (peak_rss().saturating_sub(base)) as f64 / n as f64;
    println!(
        "{n} files: tree built in {:.2} s, layout in {:.2} s, image {} bytes, peak memory {:.0} bytes/file (tree, sources and layout)",
        built.as_secs_f64(),
        laid.as_secs_f64(),
        layout.image_size(),
        per_file
    );
}
