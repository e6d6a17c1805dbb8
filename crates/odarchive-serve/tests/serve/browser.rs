//! The pages in a real browser (Debian's chromium, driven headless by playwright-core from
//! tests/browser/pages.mjs, cancel.mjs and archive.mjs): status, a deep folder, search showing
//! a file's disc, three files into the basket (one named in bytes that are not UTF-8) with the
//! discs they need, and restored, the disc map before and after a verify, the history; a long
//! restore cancelled with the Cancel button; and a rescan + plan + write of new files started
//! from the disc map, its new discs then shown written. The
//! restored bytes are compared here, and the screenshots of each page are kept in
//! target/serve-screenshots/ as test artifacts.
//!
//! Needs `node`, `/usr/bin/chromium` and `npm ci` in tests/browser (scripts/test does both);
//! without them this test fails saying what is missing.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Archive, files, get, huge_files, job_ended, tree};

fn browser_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/browser")
}

/// The browser (and playwright-core), or a failure saying what is missing; and the folder
/// screenshots go to.
fn browser() -> (String, PathBuf) {
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
    let shots = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/serve-screenshots");
    std::fs::create_dir_all(&shots).unwrap();
    (chromium, shots)
}

/// Runs `script` with the server's address, the screenshot folder and `args`.
fn run(script: &str, server: &odarchive_serve::Server, args: &[&str]) {
    let (chromium, shots) = browser();
    let output = Command::new("node")
        .arg(browser_dir().join(script))
        .arg(format!("http://127.0.0.1:{}", server.address.port()))
        .arg(&shots)
        .args(args)
        .env("CHROMIUM", &chromium)
        .output()
        .expect("node is missing: install Debian's nodejs");
    assert!(
        output.status.success(),
        "the browser run of {script} failed:\n{}\n{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
}

#[test]
fn a_person_browses_searches_and_restores_two_files_in_chromium() {
    let archive = Archive::new();
    let server = archive.serve();
    run("pages.mjs", &server, &[]);
    let (_, shots) = browser();
    let mut want: Vec<(PathBuf, Vec<u8>)> = files()
        .into_iter()
        .filter(|(p, _)| {
            p == b"Photos/2019/IMG_0001.jpg"
                || p == b"Photos/2020/summer/beach.JPG"
                || p == b"odd/bad\xffname"
        })
        .map(|(p, d)| (PathBuf::from(std::ffi::OsStr::from_bytes(&p)), d))
        .collect();
    want.sort();
    assert_eq!(tree(&archive.restore_to.join("from-browser")), want);
    for name in [
        "status",
        "browse",
        "search",
        "basket-discs",
        "basket",
        "status-after-restore",
        "discs",
        "discs-after-verify",
        "status-history",
    ] {
        let png = std::fs::read(shots.join(format!("{name}.png"))).unwrap();
        assert!(
            png.starts_with(b"\x89PNG") && png.len() > 1000,
            "{name}.png"
        );
    }
}

#[test]
fn a_person_cancels_a_long_restore_in_chromium() {
    let archive = Archive::huge();
    let server = archive.serve();
    run("cancel.mjs", &server, &["big"]);
    let job = job_ended(server.address);
    assert_eq!(job["state"], "cancelled", "{job}");
    let done = job["report"]["files_restored"].as_u64().unwrap();
    assert!(done < 16, "{done} of 16: the cancel came too late");
    // What is there is whole, and as much as the report says.
    let want = huge_files();
    let got: Vec<(PathBuf, Vec<u8>)> = tree(&archive.restore_to.join("cancelled-in-browser"))
        .into_iter()
        .filter(|(rel, _)| !rel.starts_with(".odarchive-restore"))
        .collect();
    assert_eq!(got.len() as u64, done);
    for (rel, data) in &got {
        let whole = want
            .iter()
            .any(|(p, d)| Path::new(std::str::from_utf8(p).unwrap()) == rel && d == data);
        assert!(whole, "{} is not a whole file of the drive", rel.display());
    }
    for name in ["status-cancelling", "status-cancelled"] {
        let png = std::fs::read(shots_dir().join(format!("{name}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}.png");
    }
}

#[test]
fn a_person_rescans_the_drive_from_the_disc_map_and_sees_the_new_discs_written_in_chromium() {
    let archive = Archive::new();
    let fresh = archive.path("drive/fresh");
    std::fs::create_dir_all(&fresh).unwrap();
    for i in 0..3u64 {
        std::fs::write(
            fresh.join(format!("f{i}.bin")),
            testkit::noise(900 + i, 800_000),
        )
        .unwrap();
    }
    let server = archive.serve();
    let before = get(server.address, "/api/discs").json();
    run("archive.mjs", &server, &[]);
    let job = job_ended(server.address);
    assert_eq!(job["kind"], "archive", "{job}");
    assert_eq!(job["state"], "completed", "{job}");
    // Each new disc is written and its image is in the --images folder.
    let discs = get(server.address, "/api/discs").json();
    let (before, discs) = (before.as_array().unwrap(), discs.as_array().unwrap());
    assert!(discs.len() > before.len());
    for d in &discs[before.len()..] {
        assert_eq!(d["state"], "written", "{d}");
        assert!(
            archive
                .images
                .join(d["image_name"].as_str().unwrap())
                .is_file(),
            "{d}"
        );
    }
    for name in [
        "discs-before-archive",
        "discs-after-archive",
        "status-after-archive",
    ] {
        let png = std::fs::read(shots_dir().join(format!("{name}.png"))).unwrap();
        assert!(png.starts_with(b"\x89PNG"), "{name}.png");
    }
}

fn shots_dir() -> PathBuf {
    browser().1
}
