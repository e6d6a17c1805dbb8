//! `odarchive burn` through xorriso's `stdio:` pseudo-drive (a file standing in for the
//! disc): burnt, read back sector for sector against the recorded SHA-256, marked verified.
//! Needs xorriso (scripts/test installs it); a missing xorriso fails these tests.

use crate::support::*;

fn written(s: &Scratch) -> (std::path::PathBuf, Vec<u8>) {
    s.write("a.bin", noise(5, 300_000));
    let out = s.dir("out");
    let images = s.archive(&out, "5M");
    assert_eq!(images.len(), 1);
    (out, std::fs::read(&images[0]).unwrap())
}

/// `odarchive burn DISC --device DEVICE --out OUT [extra]`.
fn burn(s: &Scratch, disc: &str, device: &str, out: &std::path::Path, extra: &[&str]) -> Run {
    let mut args = vec![
        "burn",
        disc,
        "--device",
        device,
        "--out",
        out.to_str().unwrap(),
    ];
    args.extend_from_slice(extra);
    s.run(&args)
}

fn disc_state(s: &Scratch) -> String {
    let run = s.run(&["discs", "--json"]);
    let discs: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    discs[0]["state"].as_str().unwrap().to_owned()
}

#[test]
fn a_disc_burnt_to_a_stdio_drive_reads_back_and_is_marked_verified() {
    let s = Scratch::new();
    let (out, image) = written(&s);
    assert_eq!(disc_state(&s), "written");
    let target = s.dir("disc.bin");
    let device = format!("stdio:{}", target.display());

    let dry = burn(&s, "1", &device, &out, &["--dry-run"]);
    assert_eq!(dry.code, 0, "{}", dry.stderr);
    assert!(dry.stdout.contains("stream_recording=on"), "{}", dry.stdout);
    assert!(!target.exists(), "a dry run burns nothing");

    let run = burn(&s, "1", &device, &out, &[]);
    assert_eq!(run.code, 0, "{} {}", run.stdout, run.stderr);
    assert!(run.stdout.contains("read back"), "{}", run.stdout);
    assert!(
        run.stderr.contains("burn: "),
        "xorriso's progress is shown: {}",
        run.stderr
    );
    let burnt = std::fs::read(&target).unwrap();
    assert!(
        burnt.len() >= image.len(),
        "a burnt disc may be padded, never short"
    );
    assert!(
        burnt[..image.len()] == image[..],
        "the image's sectors are on the disc"
    );
    assert_eq!(disc_state(&s), "verified");
}

#[test]
fn an_image_that_does_not_fit_the_medium_asked_for_is_refused() {
    let s = Scratch::new();
    let (out, _) = written(&s);
    let target = s.dir("disc.bin");
    let device = format!("stdio:{}", target.display());
    let run = burn(&s, "1", &device, &out, &["--media", "1M"]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(run.stderr.contains("does not fit 1M"), "{}", run.stderr);
    assert!(!target.exists());
    let run = burn(&s, "7", &device, &out, &[]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("no disc 7"), "{}", run.stderr);
}
