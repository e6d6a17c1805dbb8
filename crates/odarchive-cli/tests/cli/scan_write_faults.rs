//! No silent loss between scan, plan and write: a rewrite hidden by a coarse timestamp, sources
//! that change between plan and write, read-only catalogue folders, full output disks, the
//! temporary catalogue of restore and verify, media too small. Several tests mount file systems
//! (root only: they fail, never skip, without it); every mount is undone by a guard.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sha2::{Digest, Sha256};

use crate::support::{Run, Scratch, hex, images, is_root, restore};

/// A mounted file system, unmounted (and its loop device released) when dropped.
struct Mount {
    point: PathBuf,
}

impl Mount {
    /// `mount -t tmpfs -o OPTIONS tmpfs POINT`.
    fn tmpfs(point: &Path, options: &str) -> Mount {
        require_root();
        std::fs::create_dir_all(point).unwrap();
        mount(&["-t", "tmpfs", "-o", options, "tmpfs"], point)
    }

    /// A fresh ext4 image with 128-byte inodes (whole-second timestamps), loop-mounted.
    fn ext4_one_second(image: &Path, point: &Path) -> Mount {
        require_root();
        let file = std::fs::File::create(image).unwrap();
        file.set_len(16 << 20).unwrap();
        let made = Command::new("mkfs.ext4")
            .args(["-q", "-F", "-I", "128"])
            .arg(image)
            .output()
            .expect("mkfs.ext4 (Debian package e2fsprogs) is needed");
        let stderr = String::from_utf8_lossy(&made.stderr);
        assert!(made.status.success(), "mkfs.ext4 failed: {stderr}");
        std::fs::create_dir_all(point).unwrap();
        let mut args = vec!["-o", "loop"];
        args.push(image.to_str().unwrap());
        mount(&args, point)
    }
}

fn mount(args: &[&str], point: &Path) -> Mount {
    let out = Command::new("mount")
        .args(args)
        .arg(point)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "mount {args:?} {point:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    Mount {
        point: point.to_path_buf(),
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let ok = Command::new("umount")
            .arg(&self.point)
            .status()
            .is_ok_and(|s| s.success());
        if !ok {
            let _ = Command::new("umount").arg("-l").arg(&self.point).status();
        }
    }
}

fn require_root() {
    assert!(
        is_root(),
        "this test mounts file systems and must run as root (scripts/test does)"
    );
}

/// `odarchive --catalogue CAT ARGS` without the capabilities that let root ignore file modes.
fn run_unprivileged(s: &Scratch, args: &[&str]) -> Run {
    let mut cmd = Command::new("setpriv");
    cmd.args(["--bounding-set", "-dac_override,-dac_read_search"])
        .arg(assert_cmd::cargo::cargo_bin("odarchive"))
        .arg("--catalogue")
        .arg(&s.catalogue)
        .args(args);
    Run::from(cmd.output().expect("setpriv (util-linux) is needed"))
}

fn sha256_hex(data: &[u8]) -> String {
    hex(Sha256::digest(data).to_vec())
}

fn discs(s: &Scratch) -> Vec<serde_json::Value> {
    let run = s.run(&["discs", "--json"]);
    run.ok();
    serde_json::from_str(&run.stdout).unwrap()
}

fn subsecond() -> Duration {
    let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap();
    Duration::from_nanos(u64::from(now.subsec_nanos()))
}

#[test]
fn a_rewrite_within_the_second_of_a_scan_is_seen_by_the_next_scan_and_archived() {
    let work = tempfile::tempdir().unwrap();
    let ext4 = Mount::ext4_one_second(&work.path().join("ext4.img"), &work.path().join("mnt"));
    let first = b"version 1 of the photograph\n";
    let second = b"version 2 of the photograph\n";
    // The scan must run between two writes that share one whole second; retry if a second
    // boundary falls between them.
    for attempt in 0..5 {
        let mut s = Scratch::new();
        s.drive = ext4.point.join(format!("drive{attempt}"));
        std::fs::create_dir(&s.drive).unwrap();
        let photo = s.drive.join("photo.jpg");
        while subsecond() > Duration::from_millis(100) {
            std::thread::sleep(Duration::from_millis(10));
        }
        std::fs::write(&photo, first).unwrap();
        let before = std::fs::metadata(&photo).unwrap();
        s.scan().ok();
        std::fs::write(&photo, second).unwrap();
        let after = std::fs::metadata(&photo).unwrap();
        if after.modified().unwrap() != before.modified().unwrap() {
            continue;
        }
        assert_eq!(after.len(), before.len());
        assert_eq!(
            s.entries()[b"photo.jpg".as_slice()].hash,
            Some(sha256_hex(first))
        );

        let run = s.scan();
        run.ok();
        assert_eq!(run.summary()["hashed_files"], 1, "{}", run.stdout);
        assert_eq!(
            s.entries()[b"photo.jpg".as_slice()].hash,
            Some(sha256_hex(second)),
            "the second scan has the new bytes"
        );
        let out = s.dir("out");
        let discs = s.archive(&out, "2M");
        let to = s.dir("restored");
        let (run, _) = restore(&s, &discs, &to, &[]);
        run.ok();
        assert_eq!(std::fs::read(to.join("photo.jpg")).unwrap(), second);
        return;
    }
    panic!("could not write twice within one second around a scan in 5 attempts");
}

/// Two files planned on two discs of a 3 MB medium: disc 1 holds `one/victim.bin` (and the
/// first part of `two/other.bin`), disc 2 the rest of `two/other.bin`.
fn planned_on_two_discs() -> (Scratch, PathBuf) {
    let s = Scratch::new();
    let victim = s.write("one/victim.bin", vec![7u8; 2_000_000]);
    s.write("two/other.bin", vec![9u8; 2_000_000]);
    s.scan().ok();
    let run = s.run(&["plan", "--json", "--media", "3M", "--parity", "0"]);
    run.ok();
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let d = plan["discs"].as_array().unwrap();
    assert_eq!(d.len(), 2, "{d:?}");
    assert_eq!(d[0]["first_path"], "one/victim.bin");
    assert_ne!(d[1]["first_path"], "one/victim.bin");
    assert_ne!(d[1]["last_path"], "one/victim.bin");
    (s, victim)
}

/// `write --out OUT` after `change` made disc 1's source stale: exit 4 naming the path and
/// `cause`, no image or partial image of disc 1, disc 2 written.
fn write_fails_disc_one(s: &Scratch, victim: &Path, cause: &str, run: impl Fn(&[&str]) -> Run) {
    let out = s.dir("out");
    let run = run(&["write", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(victim.to_str().unwrap()) && run.stderr.contains(cause),
        "wanted {victim:?} and {cause:?} in: {}",
        run.stderr
    );
    let d = discs(s);
    assert_eq!(d[0]["state"], "planned");
    assert_eq!(d[1]["state"], "written", "the other disc is still written");
    let label = d[1]["label"].as_str().unwrap();
    assert_eq!(images(&out), vec![out.join(format!("{label}.iso"))]);
}

#[test]
fn a_source_that_grew_after_planning_stops_its_disc_with_exit_4() {
    let (s, victim) = planned_on_two_discs();
    // An append: the first bytes are still those scanned, so only the size tells.
    let mut f = std::fs::OpenOptions::new()
        .append(true)
        .open(&victim)
        .unwrap();
    std::io::Write::write_all(&mut f, b"appended").unwrap();
    write_fails_disc_one(&s, &victim, "it grew from 2000000 to 2000008 bytes", |a| {
        s.run(a)
    });
}

/// Overwrites `path` with `bytes` (of the same length) and puts its mtime back: only the
/// bytes tell, so only the re-hash as the image is written can.
fn rewrite_keeping_size_and_mtime(path: &Path, bytes: &[u8]) {
    let mtime = std::fs::metadata(path).unwrap().modified().unwrap();
    assert_eq!(std::fs::metadata(path).unwrap().len(), bytes.len() as u64);
    std::fs::write(path, bytes).unwrap();
    let f = std::fs::File::options().write(true).open(path).unwrap();
    f.set_modified(mtime).unwrap();
}

#[test]
fn a_large_source_rewritten_in_place_is_caught_by_the_rehash_and_stops_its_disc() {
    let (s, victim) = planned_on_two_discs();
    let mut bytes = vec![7u8; 2_000_000];
    bytes[1_500_000] = 8;
    rewrite_keeping_size_and_mtime(&victim, &bytes);
    write_fails_disc_one(&s, &victim, "its SHA-256 is now", |a| s.run(a));
}

#[test]
fn a_small_source_rewritten_in_place_is_caught_by_the_rehash_and_stops_its_disc() {
    let s = Scratch::new();
    let mut victim = PathBuf::new();
    for i in 0..40 {
        let path = s.write(format!("notes/{i:02}.txt"), format!("note number {i:02}\n"));
        if i == 17 {
            victim = path;
        }
    }
    s.scan().ok();
    s.run(&["plan", "--media", "5M"]).ok();
    rewrite_keeping_size_and_mtime(&victim, b"note NUMBER 17\n");
    let out = s.dir("out");
    let run = s.run(&["write", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 4, "{}{}", run.stdout, run.stderr);
    assert!(
        run.stderr.contains(victim.to_str().unwrap()) && run.stderr.contains("its SHA-256 is now"),
        "{}",
        run.stderr
    );
    assert!(
        images(&out).is_empty(),
        "no image of a disc with a changed source"
    );
    assert_eq!(discs(&s)[0]["state"], "planned");
}

#[test]
fn a_source_that_shrank_after_planning_stops_its_disc_with_exit_4() {
    let (s, victim) = planned_on_two_discs();
    std::fs::File::options()
        .write(true)
        .open(&victim)
        .unwrap()
        .set_len(1000)
        .unwrap();
    write_fails_disc_one(&s, &victim, "it shrank from 2000000 to 1000 bytes", |a| {
        s.run(a)
    });
}

#[test]
fn a_source_that_vanished_after_planning_stops_its_disc_with_exit_4() {
    let (s, victim) = planned_on_two_discs();
    std::fs::remove_file(&victim).unwrap();
    write_fails_disc_one(&s, &victim, "it no longer exists", |a| s.run(a));
}

#[test]
fn a_source_that_became_a_folder_stops_its_disc_with_exit_4() {
    let (s, victim) = planned_on_two_discs();
    std::fs::remove_file(&victim).unwrap();
    std::fs::create_dir(&victim).unwrap();
    write_fails_disc_one(&s, &victim, "it is now a folder", |a| s.run(a));
}

#[test]
fn an_unreadable_source_stops_its_disc_with_exit_4() {
    require_root();
    let (s, victim) = planned_on_two_discs();
    std::fs::set_permissions(&victim, std::fs::Permissions::from_mode(0o000)).unwrap();
    write_fails_disc_one(&s, &victim, "ermission denied", |a| run_unprivileged(&s, a));
}

#[test]
fn two_stale_discs_are_both_named_and_a_rescan_and_plan_mends_them() {
    let (s, victim) = planned_on_two_discs();
    std::fs::remove_file(&victim).unwrap();
    let other = s.drive.join("two/other.bin");
    std::fs::write(&other, b"short now").unwrap();
    let out = s.dir("out");
    let run = s.run(&["write", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 4, "{}", run.stderr);
    assert!(
        run.stderr.contains("2 discs not written")
            && run
                .stderr
                .contains("victim.bin: changed since it was scanned (it no longer exists)")
            && run
                .stderr
                .contains("other.bin: changed since it was scanned (it shrank"),
        "{}",
        run.stderr
    );
    assert!(images(&out).is_empty(), "{:?}", images(&out));
    // As the message says: rescan and plan again, and the write succeeds.
    s.scan().ok();
    s.run(&["plan", "--media", "3M"]).ok();
    s.run(&["write", "--out", out.to_str().unwrap()]).ok();
    assert_eq!(images(&out).len(), 1);
}

#[test]
fn a_catalogue_on_a_read_only_file_system_says_so_and_names_its_folder() {
    let mut s = Scratch::new();
    s.write("a.txt", "a");
    let folder = s.dir("read-only");
    let _ro = Mount::tmpfs(&folder, "ro");
    s.catalogue = folder.join("cat.db");
    let run = s.run(&["scan", s.drive.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("its folder {}", folder.display()))
            && run.stderr.contains("Read-only file system"),
        "{}",
        run.stderr
    );
    assert!(
        !run.stderr.contains("unable to open database file"),
        "{}",
        run.stderr
    );
}

#[test]
fn a_catalogue_in_a_folder_without_write_permission_says_so() {
    require_root();
    let mut s = Scratch::new();
    s.write("a.txt", "a");
    let folder = s.dir("locked");
    std::fs::create_dir(&folder).unwrap();
    std::fs::set_permissions(&folder, std::fs::Permissions::from_mode(0o555)).unwrap();
    s.catalogue = folder.join("cat.db");
    let run = run_unprivileged(&s, &["scan", s.drive.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("its folder {}", folder.display()))
            && run.stderr.contains("Permission denied"),
        "{}",
        run.stderr
    );
}

#[test]
fn the_catalogue_read_from_discs_leaves_nothing_in_tmpdir_even_on_errors() {
    let s = Scratch::new();
    s.write("photos/a.jpg", "a photograph");
    let discs = s.archive(&s.dir("out"), "2M");
    std::fs::remove_file(&s.catalogue).unwrap();
    let tmp = s.dir("tmp");
    std::fs::create_dir(&tmp).unwrap();
    let left = || images(&tmp);
    let from = discs[0].to_str().unwrap();
    let to = s.dir("restored");
    let to = to.to_str().unwrap();
    let run = |args: &[&str]| Run::from(s.command(args).env("TMPDIR", &tmp).output().unwrap());

    // An error after the catalogue was read from the disc.
    let r = run(&["restore", "--snapshot", "99", "--from", from, "--to", to]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert!(r.stderr.contains("99"), "{}", r.stderr);
    assert_eq!(left(), Vec::<PathBuf>::new(), "after a failed restore");
    let r = run(&["verify", "--snapshot", "99", from]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert_eq!(left(), Vec::<PathBuf>::new(), "after a failed verify");
    // An error reading the catalogue from the discs.
    let not_a_disc = s.write("not-a-disc.iso", "not a disc image");
    let r = run(&[
        "restore",
        "--from",
        not_a_disc.to_str().unwrap(),
        "--to",
        to,
    ]);
    assert_ne!(r.code, 0, "{}", r.stderr);
    assert_eq!(left(), Vec::<PathBuf>::new(), "after an unreadable disc");
    // And after success.
    run(&["restore", "--from", from, "--to", to]).ok();
    assert_eq!(
        std::fs::read(Path::new(to).join("photos/a.jpg")).unwrap(),
        b"a photograph"
    );
    assert_eq!(left(), Vec::<PathBuf>::new(), "after a restore");
}

#[test]
fn a_full_output_file_system_fails_the_write_and_a_later_one_with_room_succeeds() {
    let s = Scratch::new();
    s.write(
        "big.bin",
        (0..1_500_000u32)
            .map(|i| (i * 7 % 251) as u8)
            .collect::<Vec<_>>(),
    );
    s.scan().ok();
    s.run(&["plan", "--media", "3M"]).ok();
    let out = s.dir("small");
    let small = Mount::tmpfs(&out, "size=1m");
    let run = s.run(&["write", "--out", out.to_str().unwrap()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
    let label = discs(&s)[0]["label"].as_str().unwrap().to_owned();
    let partial = out.join(format!("{label}.iso.partial"));
    assert!(
        run.stderr.contains(partial.to_str().unwrap())
            && run.stderr.contains("No space left on device"),
        "{}",
        run.stderr
    );
    assert!(images(&out).is_empty(), "the partial image is removed");
    assert_eq!(discs(&s)[0]["state"], "planned");
    assert_eq!(s.run(&["status", "--json"]).code, 0);

    // With room, the same write succeeds and the image is the planned one.
    let remount = Command::new("mount")
        .args(["-o", "remount,size=8m"])
        .arg(&out)
        .status()
        .unwrap();
    assert!(remount.success());
    s.run(&["write", "--out", out.to_str().unwrap()]).ok();
    let image = out.join(format!("{label}.iso"));
    assert_eq!(images(&out), vec![image.clone()]);
    let d = &discs(&s)[0];
    assert_eq!(d["state"], "written");
    let data = std::fs::read(&image).unwrap();
    assert_eq!(data.len() as u64, d["image_size"].as_u64().unwrap());
    assert_eq!(d["image_sha256"], sha256_hex(&data));
    drop(small);
}

#[test]
fn a_medium_too_small_names_the_smallest_that_works() {
    let s = Scratch::new();
    s.write("a.txt", "a");
    s.scan().ok();
    let mut needed = Vec::new();
    for media in ["0", "1"] {
        let run = s.run(&["plan", "--media", media]);
        assert_eq!(run.code, 1, "{}", run.stderr);
        assert!(run.stderr.contains("too small"), "{}", run.stderr);
        let figure: u64 = run
            .stderr
            .split("needs ")
            .nth(1)
            .and_then(|rest| rest.split(' ').next())
            .and_then(|n| n.parse().ok())
            .unwrap_or_else(|| panic!("no figure in {}", run.stderr));
        needed.push(figure);
    }
    assert_eq!(needed[0], needed[1]);
    let figure = needed[0];
    assert_eq!(figure % 2048, 0, "a whole number of sectors");
    // The figure is right: a medium of that size takes the disc, one sector less does not.
    let run = s.run(&["plan", "--json", "--media", &figure.to_string()]);
    assert_eq!(run.code, 0, "{figure}: {}", run.stderr);
    let plan: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(plan["discs"][0]["image_size"], figure);
    let run = s.run(&["plan", "--media", &(figure - 2048).to_string()]);
    assert_eq!(run.code, 1, "{}", run.stderr);
}
