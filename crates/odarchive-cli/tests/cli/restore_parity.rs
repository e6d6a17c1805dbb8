//! `restore` falls back on a disc's own parity, through the binary: a file whose sectors are
//! damaged within the parity budget is rebuilt, checked against its hash and restored
//! byte-identical (the report says so); beyond the budget only that file is a problem.

use std::path::Path;

use crate::support::*;

/// The disc's parity geometry, by the header in its sector 15.
fn geometry(image: &[u8]) -> discfs::parity::Geometry {
    parity_header(image).geometry
}

/// The photo's sectors in the image, found by its bytes.
fn photo_sectors(image: &[u8]) -> std::ops::Range<usize> {
    let photo = noise(7, 1_000_000);
    let first = image
        .chunks(SECTOR)
        .position(|s| s == &photo[..SECTOR])
        .expect("the photo's first sector is in the image");
    first..first + photo.len().div_ceil(SECTOR)
}

/// `verify --json IMAGE`: its exit code and the disc's verdict.
fn verify(s: &Scratch, image: &Path) -> (i32, serde_json::Value) {
    let run = s.run(&["verify", "--json", image.to_str().unwrap()]);
    let report: serde_json::Value = serde_json::from_str(&run.stdout)
        .unwrap_or_else(|e| panic!("{e}: {} / {}", run.stdout, run.stderr));
    (run.code, report["discs"][0].clone())
}

fn restored_photo(to: &Path) -> Vec<u8> {
    std::fs::read(to.join("Photos/big.jpg")).unwrap_or_default()
}

#[test]
fn a_scratch_inside_a_file_within_the_budget_is_rebuilt_from_parity_and_restored() {
    let s = Scratch::new();
    let (_, image) = archived_with_parity(&s);
    let g = geometry(&image);
    let photo = photo_sectors(&image);
    let scratch = photo.start + 5..photo.start + 5 + g.longest_run() as usize;
    assert!(scratch.end <= photo.end, "{g:?} {photo:?}");
    let (damaged, _) = zeroed(&s, &image, scratch.clone());
    // verify still fails the disc, and says the parity gives the file back.
    let (code, disc) = verify(&s, &damaged);
    assert_eq!(code, 3, "{disc}");
    assert_eq!(disc["corrupt"][0]["path"], "Data/Photos/big.jpg", "{disc}");
    assert_eq!(
        disc["parity_rebuilds"],
        serde_json::json!(["Data/Photos/big.jpg"]),
        "{disc}"
    );
    let run = s.run(&["verify", damaged.to_str().unwrap()]);
    assert!(
        run.stdout.contains("parity rebuilds: Data/Photos/big.jpg"),
        "{}",
        run.stdout
    );

    let to = s.dir("restored");
    let (run, report) = restore(&s, std::slice::from_ref(&damaged), &to, &[]);
    assert_eq!(run.code, 0, "{} / {}", run.stdout, run.stderr);
    assert_same_tree(&s.drive, &to);
    assert!(restored_photo(&to) == noise(7, 1_000_000), "byte-identical");
    assert_eq!(report["problems"], serde_json::json!([]), "{report}");
    let rebuilt = report["rebuilt_from_parity"].as_array().unwrap();
    assert_eq!(rebuilt.len(), 1, "{report}");
    assert!(
        rebuilt[0]["path"]
            .as_str()
            .unwrap()
            .ends_with("Photos/big.jpg"),
        "{report}"
    );
    assert_eq!(rebuilt[0]["disc"], 1);
    assert_eq!(rebuilt[0]["sectors"], photo.len() as u64);
    assert_eq!(rebuilt[0]["sectors_rebuilt"], scratch.len() as u64);

    // The text report says it too.
    let to = s.dir("restored-again");
    let run = s.run(&[
        "restore",
        "--to",
        to.to_str().unwrap(),
        "--from",
        damaged.to_str().unwrap(),
    ]);
    assert_eq!(run.code, 0, "{} / {}", run.stdout, run.stderr);
    assert!(
        run.stdout.contains("rebuilt from the parity of disc 1:")
            && run.stdout.contains("Photos/big.jpg"),
        "{}",
        run.stdout
    );
    assert!(restored_photo(&to) == noise(7, 1_000_000));
}

#[test]
fn beyond_the_budget_only_that_file_is_a_problem_and_the_rest_is_restored() {
    let s = Scratch::new();
    let (_, image) = archived_with_parity(&s);
    let g = geometry(&image);
    let photo = photo_sectors(&image);
    // One shard more than each stripe's parity shards: every stripe of the run is lost.
    let run_len = ((g.parity_shards + 1) * g.stripes) as usize;
    let scratch = photo.start + 5..photo.start + 5 + run_len;
    assert!(scratch.end <= photo.end, "{g:?} {photo:?}");
    let (damaged, _) = zeroed(&s, &image, scratch);
    let (code, disc) = verify(&s, &damaged);
    assert_eq!(code, 3, "{disc}");
    assert_eq!(disc["corrupt"][0]["path"], "Data/Photos/big.jpg", "{disc}");
    assert_eq!(disc["parity_rebuilds"], serde_json::json!([]), "{disc}");

    let to = s.dir("restored");
    let (run, report) = restore(&s, &[damaged], &to, &[]);
    assert_eq!(run.code, 3, "{} / {}", run.stdout, run.stderr);
    let problems = report["problems"].as_array().unwrap();
    assert_eq!(problems.len(), 1, "{report}");
    let path = problems[0]["path"].as_str().unwrap();
    let detail = problems[0]["detail"].as_str().unwrap();
    assert!(path.ends_with("Photos/big.jpg"), "{report}");
    assert!(
        detail.contains("parity could not rebuild it"),
        "names why: {detail}"
    );
    assert_eq!(report["rebuilt_from_parity"], serde_json::json!([]));
    assert!(
        !to.join("Photos/big.jpg").exists(),
        "a wrong file is not placed"
    );
    for i in 0..5 {
        let got = std::fs::read(to.join(format!("notes/{i}.txt"))).unwrap();
        assert!(got == noise(100 + i as u64, 20_000), "notes/{i}.txt");
    }
    assert_eq!(report["files_restored"], 5, "{report}");
}
