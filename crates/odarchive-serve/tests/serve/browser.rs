//! The pages in a real browser (Debian's chromium, driven headless by playwright-core from
//! tests/browser/pages.mjs): status, a deep folder, search showing a file's disc, two files
//! into the basket and restored, the disc map. The restored bytes are compared here, and the
//! screenshots of each page are kept in target/serve-screenshots/ as test artifacts.
//!
//! Needs `node`, `/usr/bin/chromium` and `npm ci` in tests/browser (scripts/test does both);
//! without them this test fails saying what is missing.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Archive, files, tree};

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

#[test]
fn a_person_browses_searches_and_restores_two_files_in_chromium() {
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    assert!(
        Path::new(&chromium).exists(),
        "{chromium} is missing: install Debian's chromium (scripts/test does, as root)"
    );
    assert!(
        browser_dir().join("node_modules/playwright-core").is_dir(),
        "playwright-core is missing: run `npm ci` in {}",
        browser_dir().display()
    );
    let archive = Archive::new();
    let server = archive.serve();
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/serve-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    let output = Command::new("node")
        .arg(browser_dir().join("pages.mjs"))
        .arg(format!("http://127.0.0.1:{}", server.address.port()))
        .arg(&shots)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node is missing: install Debian's nodejs");
    assert!(
        output.status.success(),
        "the browser run failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let want: Vec<(PathBuf, Vec<u8>)> = files()
        .into_iter()
        .filter(|(p, _)| p == b"Photos/2019/IMG_0001.jpg" || p == b"Photos/2020/summer/beach.JPG")
        .map(|(p, d)| (PathBuf::from(String::from_utf8(p).unwrap()), d))
        .collect();
    assert_eq!(tree(&archive.restore_to.join("from-browser")), want);
    for name in [
        "status",
        "browse",
        "search",
        "basket",
        "status-after-restore",
        "discs",
    ] {
        let png = std::fs::read(shots.join(format!("{name}.png"))).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 1000,
            "{name}.png"
        );
    }
}
