//! A large output written through `DropBehind` leaves little of itself in the page cache,
//! where the same bytes written plainly stay there; the bytes are the same either way.
//! Residency is what util-linux's `fincore` says (the test fails if it is missing). The files
//! are in Cargo's temporary folder under `target/`, on a disk-backed file system (pages of
//! tmpfs are its storage and are never dropped).

use std::fs::File;
use std::io::Write;
use std::path::Path;
use std::process::Command;

use odarchive::atomic::DropBehind;

/// Bytes of `path` in the page cache.
fn resident(path: &Path) -> u64 {
    let out = Command::new("fincore")
        .args(["--bytes", "--noheadings", "--raw", "--output", "RES"])
        .arg(path)
        .output()
        .expect("fincore (util-linux) is needed by this test");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
}

/// The bytes written: `total` bytes in pieces of 1 MiB, `after` called after each piece.
fn write_through(mut out: impl Write, total: usize, mut after: impl FnMut()) {
    let chunk: Vec<u8> = (0..1u32 << 20)
        .map(|i| (i.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    for _ in 0..total / chunk.len() {
        out.write_all(&chunk).unwrap();
        after();
    }
    out.flush().unwrap();
}

#[test]
fn a_file_written_behind_a_drop_hint_leaves_the_page_cache() {
    let dir = tempfile::tempdir_in(env!("CARGO_TARGET_TMPDIR")).unwrap();
    let total = 192 << 20;
    let step = 16 << 20;

    let plain = dir.path().join("plain");
    write_through(File::create(&plain).unwrap(), total, || ());
    // Each piece is synced as soon as it is written, so that what a hint may drop does not
    // depend on how fast the disk writes back (on a busy machine, nothing had been written
    // back by any hint, and nothing was dropped).
    let dropped = dir.path().join("dropped");
    let file = File::create(&dropped).unwrap();
    write_through(DropBehind::with_step(&file, step), total, || {
        file.sync_data().unwrap()
    });
    let (kept_plain, kept_dropped) = (resident(&plain), resident(&dropped));
    // The plain file stays (all of it, unless memory ran short); the other keeps the last
    // step written before the last hint, at most.
    assert!(
        kept_dropped < kept_plain / 2 && kept_dropped <= 6 * step,
        "resident: plain {kept_plain} bytes, written with drop hints {kept_dropped} bytes"
    );
    assert!(std::fs::read(&plain).unwrap() == std::fs::read(&dropped).unwrap());
}
