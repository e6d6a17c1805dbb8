//! `odarchive mount` for real, over FUSE (fuse3's fusermount3; /dev/fuse): a generated tree
//! archived onto several discs, mounted, walked and compared with the source (`diff -r` and
//! kind, size, mtime, mode, symlink target) for `latest/` and an older snapshot; a file on a
//! disc not given fails with EIO and "insert disc N of M", then reads once the image is
//! added; a damaged file fails with EIO while its neighbours read; unmounting on SIGTERM; a
//! second mount on the same point refused.

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::support::*;

/// `odarchive mount` running on a folder; unmounted (and the process reaped) when dropped,
/// on every exit path of a test.
pub(crate) struct Mounted {
    child: Option<Child>,
    point: PathBuf,
    log: PathBuf,
}

fn is_mounted(point: &Path) -> bool {
    let info = fs::read_to_string("/proc/self/mountinfo").unwrap();
    let point = point.to_str().unwrap();
    info.lines().any(|l| l.split(' ').nth(4) == Some(point))
}

fn fusermount_present() {
    let found = Command::new("fusermount3").arg("-V").output();
    assert!(
        found.is_ok_and(|o| o.status.success()),
        "fusermount3 is missing: install Debian's fuse3 (scripts/test does)"
    );
    assert!(
        Path::new("/dev/fuse").exists(),
        "/dev/fuse is missing: the mount tests need FUSE"
    );
}

impl Mounted {
    pub(crate) fn start(s: &Scratch, name: &str, args: &[&str]) -> Mounted {
        Mounted::start_limited(s, name, args, None)
    }

    /// [`Mounted::start`], the mount process unable to write files larger than
    /// `file_kib` KiB (`ulimit -f`: a write past it fails as on a full disk).
    pub(crate) fn start_limited(
        s: &Scratch,
        name: &str,
        args: &[&str],
        file_kib: Option<u64>,
    ) -> Mounted {
        fusermount_present();
        let point = s.dir(name);
        fs::create_dir_all(&point).unwrap();
        let point = fs::canonicalize(point).unwrap();
        let log = s.dir(&format!("{name}.log"));
        let mut all = vec!["mount", point.to_str().unwrap()];
        all.extend_from_slice(args);
        let mut command = s.command(&all);
        if let Some(kib) = file_kib {
            // SIGXFSZ ignored (an ignored signal stays so across exec): the write fails
            // with EFBIG instead of ending the process.
            let mut limited = Command::new("bash");
            limited
                .arg("-c")
                .arg(format!("trap '' XFSZ; ulimit -f {kib}; exec \"$0\" \"$@\""))
                .arg(command.get_program())
                .args(command.get_args())
                .stdin(Stdio::null());
            command = limited;
        }
        let child = command
            .stdout(Stdio::null())
            .stderr(fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut m = Mounted {
            child: Some(child),
            point,
            log,
        };
        wait_for(Duration::from_secs(30), || {
            if let Some(status) = m.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("mount exited ({status}): {}", m.log_text());
            }
            is_mounted(&m.point).then_some(())
        });
        m
    }

    pub(crate) fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    pub(crate) fn path(&self, rel: &str) -> PathBuf {
        self.point.join(rel)
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        if is_mounted(&self.point) {
            let _ = Command::new("fusermount3")
                .arg("-u")
                .arg(&self.point)
                .status();
        }
        if let Some(mut child) = self.child.take() {
            for _ in 0..100 {
                if child.try_wait().ok().flatten().is_some() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Everything under `root` without following symlinks: kind, size (files, symlinks), mtime,
/// mode, content or symlink target.
/// Kind (`f`, `d`, `l`), size, mtime (ns), mode, content or target.
type Seen = (char, u64, i64, u32, Vec<u8>);

fn walk(root: &Path) -> BTreeMap<Vec<u8>, Seen> {
    let mut out = BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .as_os_str()
                .as_bytes()
                .to_vec();
            let m = fs::symlink_metadata(&path).unwrap();
            let mtime = m.mtime() * 1_000_000_000 + m.mtime_nsec();
            let mode = m.mode() & 0o7777;
            let item = if m.file_type().is_symlink() {
                let target = fs::read_link(&path)
                    .unwrap()
                    .as_os_str()
                    .as_bytes()
                    .to_vec();
                ('l', m.len(), mtime, mode, target)
            } else if m.is_dir() {
                stack.push(path.clone());
                ('d', 0, mtime, mode, Vec::new())
            } else {
                let bytes = fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                ('f', m.len(), mtime, mode, bytes)
            };
            out.insert(rel, item);
        }
    }
    out
}

/// The mounted folder is the source: `diff -r` finds nothing, and every entry has the same
/// kind, size, mtime, mode and target.
fn assert_mounted_is(source: &Path, mounted: &Path) {
    let diff = Command::new("diff")
        .args(["-r", "--no-dereference"])
        .arg(source)
        .arg(mounted)
        .output()
        .unwrap();
    assert!(
        diff.status.success(),
        "diff -r: {}{}",
        String::from_utf8_lossy(&diff.stdout),
        String::from_utf8_lossy(&diff.stderr)
    );
    let (want, got) = (walk(source), walk(mounted));
    let names = |m: &BTreeMap<Vec<u8>, _>| -> Vec<String> {
        m.keys()
            .map(|k| String::from_utf8_lossy(k).into_owned())
            .collect()
    };
    assert_eq!(names(&got), names(&want), "the same names");
    for (path, w) in &want {
        let g = &got[path];
        let shown = String::from_utf8_lossy(path);
        assert_eq!(
            (g.0, g.1, g.2, g.3),
            (w.0, w.1, w.2, w.3),
            "{shown}: kind, size, mtime, mode"
        );
        assert!(g.4 == w.4, "{shown}: content or target differs");
    }
}

/// The date alias of each snapshot, in id order, from `odarchive snapshots`' times
/// (`2026-12-01 10:15:00` → `2026-12-01T10.15.00`; `_ID` after a second two share).
fn snapshot_aliases(s: &Scratch) -> Vec<String> {
    let listed = s.run(&["snapshots"]);
    let rows: Vec<(String, String)> = listed
        .stdout
        .lines()
        .skip(1)
        .map(|line| {
            let f: Vec<&str> = line.split_whitespace().collect();
            (
                f[0].to_owned(),
                format!("{}T{}", f[1], f[2].replace(':', ".")),
            )
        })
        .collect();
    rows.iter()
        .map(|(id, name)| {
            if rows.iter().filter(|(_, n)| n == name).count() > 1 {
                format!("{name}_{id}")
            } else {
                name.clone()
            }
        })
        .collect()
}

/// A copy of the drive with every time kept (`cp -a`), to compare an older snapshot with.
fn copy_tree(from: &Path, to: &Path) {
    let ok = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .status()
        .unwrap();
    assert!(ok.success());
}

fn images_arg(out: &Path) -> String {
    out.to_str().unwrap().to_owned()
}

#[test]
fn a_mounted_archive_is_the_drive_as_it_was_in_latest_and_in_an_older_snapshot() {
    let s = Scratch::new();
    random_tree(&s, 7);
    fs::set_permissions(s.drive.join("big"), fs::Permissions::from_mode(0o750)).unwrap();
    let out = s.dir("out");
    s.archive(&out, "2M");
    let first = s.dir("first");
    copy_tree(&s.drive, &first);
    // The drive changes: a file rewritten, one removed, one added; archived again.
    s.settle();
    fs::remove_file(s.drive.join("level0/level1/level2/level3/level4/level5/level6/level7/level8/level9/level10/level11/bottom.txt")).unwrap();
    s.write("new/added.txt", noise(3, 5000));
    s.write("big/larger than a disc.bin", noise(4, 2_600_000));
    s.archive(&out, "2M");
    assert!(images(&out).len() >= 3, "several discs: {:?}", images(&out));

    let m = Mounted::start(&s, "mnt", &["--images", &images_arg(&out)]);
    let top: Vec<String> = fs::read_dir(&m.point)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(top.len(), 2, "{top:?}");
    assert_mounted_is(&s.drive, &m.path("latest"));
    assert_mounted_is(&s.drive, &m.path("snapshots/2"));
    assert_mounted_is(&first, &m.path("snapshots/1"));
    // Each snapshot also by the UTC time it completed (the time `odarchive snapshots` shows):
    // a symlink to its folder, listed beside it, resolving to the same tree.
    let aliases = snapshot_aliases(&s);
    let mut want = vec!["1".to_owned(), "2".to_owned()];
    want.extend(aliases.iter().cloned());
    want.sort();
    assert_eq!(names_in(&m.path("snapshots")), want);
    for (id, alias) in ["1", "2"].iter().zip(&aliases) {
        let link = m.path(&format!("snapshots/{alias}"));
        assert_eq!(fs::read_link(&link).unwrap(), Path::new(id), "{alias}");
    }
    assert_mounted_is(&first, &m.path(&format!("snapshots/{}/.", aliases[0])));
    assert_mounted_is(&s.drive, &m.path(&format!("snapshots/{}/.", aliases[1])));
    // Inode numbers are stable: the same entry has the same number each time.
    let ino = |p: &Path| fs::symlink_metadata(p).unwrap().ino();
    let a = m.path("latest/big/larger than a disc.bin");
    assert_eq!(ino(&a), ino(&a));
    assert_ne!(
        ino(&a),
        ino(&m.path("snapshots/1/big/larger than a disc.bin"))
    );
    // Read-only.
    assert!(fs::write(m.path("latest/new/added.txt"), b"x").is_err());
    assert!(fs::File::create(m.path("latest/new/other.txt")).is_err());
    drop(m);
}

/// The value of extended attribute `name` of `path` (through python3's os.getxattr).
fn xattr(path: &Path, name: &str) -> String {
    let out = Command::new("python3")
        .arg("-c")
        .arg("import os,sys; sys.stdout.buffer.write(os.getxattr(sys.argv[1], sys.argv[2]))")
        .arg(path)
        .arg(name)
        .output()
        .expect("python3 (scripts/test installs it)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Files of distinct content, across several 2 MB discs.
fn spread_files(s: &Scratch) {
    for i in 0..6u64 {
        s.write(format!("files/f{i}.bin"), noise(100 + i, 700_000));
    }
}

#[test]
fn a_file_on_a_disc_not_given_fails_with_eio_and_asks_for_it_then_reads_once_it_is_added() {
    let s = Scratch::new();
    spread_files(&s);
    let out = s.dir("out");
    let discs = s.archive(&out, "2M");
    assert!(discs.len() >= 2, "{discs:?}");
    let away = s.dir("away");
    fs::create_dir(&away).unwrap();
    let second = discs[1].clone();
    let second_away = away.join(second.file_name().unwrap());
    fs::rename(&second, &second_away).unwrap();

    let m = Mounted::start(&s, "mnt", &["--images", &images_arg(&out)]);
    // Which discs hold each file (parts of a split file on several, in part order).
    let on_disc = |keep: &dyn Fn(&str) -> bool| -> Vec<String> {
        (0..6)
            .map(|i| format!("latest/files/f{i}.bin"))
            .filter(|p| keep(&xattr(&m.path(p), "user.odarchive.disc")))
            .collect()
    };
    let wanted = on_disc(&|d| d.split(',').any(|n| n == "2"));
    let given = on_disc(&|d| d == "1");
    assert!(
        !wanted.is_empty() && !given.is_empty(),
        "{wanted:?} {given:?}"
    );
    let discs_of_wanted = xattr(&m.path(&wanted[0]), "user.odarchive.disc");
    let labels = xattr(&m.path(&wanted[0]), "user.odarchive.label");
    let at = discs_of_wanted.split(',').position(|n| n == "2").unwrap();
    let label = labels.split(',').nth(at).unwrap().to_owned();
    assert!(
        label.starts_with("ODA_") && label.ends_with("_002"),
        "{labels}"
    );
    let hash = xattr(&m.path(&wanted[0]), "user.odarchive.hash");
    assert_eq!(hash.len(), 64, "{hash}");

    // Listing and stat need no disc; reading does.
    assert_eq!(fs::metadata(m.path(&wanted[0])).unwrap().len(), 700_000);
    let err = fs::read(m.path(&wanted[0])).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(5), "EIO: {err}");
    let log = m.log_text();
    let ask = format!("insert disc 2 of {}, label {label}", discs.len());
    assert!(log.contains(&ask), "{log}");
    // Recorded where `odarchive status` shows it.
    let status = s.run(&["status"]);
    assert!(
        status.stdout.contains(&ask),
        "{}{}",
        status.stdout,
        status.stderr
    );
    // A file of a disc given reads meanwhile.
    let i: u64 = given[0][14..15].parse().unwrap();
    assert!(fs::read(m.path(&given[0])).unwrap() == noise(100 + i, 700_000));

    // The image is added to the images folder: the same mount reads the file.
    fs::rename(&second_away, &second).unwrap();
    let i: u64 = wanted[0][14..15].parse().unwrap();
    let bytes = fs::read(m.path(&wanted[0])).unwrap();
    assert!(
        bytes == noise(100 + i, 700_000),
        "{} bytes differ",
        bytes.len()
    );
    let status = s.run(&["status"]);
    assert!(!status.stdout.contains("insert disc"), "{}", status.stdout);
}

#[test]
fn a_damaged_file_fails_with_eio_and_its_neighbours_on_the_same_disc_read() {
    let s = Scratch::new();
    s.write("a/damaged.bin", noise(1, 300_000));
    s.write("a/intact.bin", noise(2, 300_000));
    // Large enough to be hashed on a thread of its own while it is read.
    s.write("a/damaged large.bin", noise(3, 5_000_000));
    let out = s.dir("out");
    let discs = s.archive(&out, "cd");
    assert_eq!(discs.len(), 1);
    // One byte of each damaged file's data changed in the image (the large one's near its end).
    let mut image = fs::read(&discs[0]).unwrap();
    for (seed, size, at) in [(1, 300_000, 1000), (3, 5_000_000, 4_900_000)] {
        let needle = &noise(seed, size)[at..at + 64];
        let found = image
            .windows(needle.len())
            .position(|w| w == needle)
            .expect("the file's bytes are in the image");
        image[found + 10] ^= 0x55;
    }
    fs::write(&discs[0], &image).unwrap();

    let m = Mounted::start(&s, "mnt", &["--from", discs[0].to_str().unwrap()]);
    let err = fs::read(m.path("latest/a/damaged.bin")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(5), "EIO: {err}");
    // Not given the second time either (no wrong bytes from a cache).
    let err = fs::read(m.path("latest/a/damaged.bin")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(5), "EIO again: {err}");
    let err = fs::read(m.path("latest/a/damaged large.bin")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(5), "EIO for the large one: {err}");
    assert!(fs::read(m.path("latest/a/intact.bin")).unwrap() == noise(2, 300_000));
    let log = m.log_text();
    assert!(
        log.contains("latest/a/damaged.bin") && log.contains("hash"),
        "the problem is logged: {log}"
    );
}

#[test]
fn sigterm_unmounts_cleanly_and_a_second_mount_on_the_same_point_is_refused() {
    let s = Scratch::new();
    s.write("a.txt", "hello");
    let out = s.dir("out");
    s.archive(&out, "cd");
    let mut m = Mounted::start(&s, "mnt", &["--images", &images_arg(&out)]);
    assert_eq!(fs::read(m.path("latest/a.txt")).unwrap(), b"hello");

    let second = s.run(&[
        "mount",
        m.point.to_str().unwrap(),
        "--images",
        &images_arg(&out),
    ]);
    assert_eq!(second.code, 1, "{}", second.stderr);
    assert!(
        second.stderr.contains("mounted there already"),
        "{}",
        second.stderr
    );
    assert!(is_mounted(&m.point), "the first mount is untouched");

    let child = m.child.as_mut().unwrap();
    signal(child, "-TERM");
    let status = wait_for(Duration::from_secs(20), || child.try_wait().unwrap());
    assert!(status.success(), "{status}: {}", m.log_text());
    assert!(!is_mounted(&m.point), "unmounted");
    assert!(!s.dir("cat.db.mount.json").exists(), "no state left behind");
}

/// The names in folder `dir`, sorted.
fn names_in(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_file_read_once_is_served_from_the_cache_without_its_disc_and_a_damaged_entry_never() {
    let s = Scratch::new();
    spread_files(&s);
    let out = s.dir("out");
    let discs = s.archive(&out, "cd");
    assert_eq!(discs.len(), 1);
    let cache = s.dir("cache");
    let cache_arg = cache.to_str().unwrap();
    let m = Mounted::start(
        &s,
        "mnt",
        &["--from", discs[0].to_str().unwrap(), "--cache", cache_arg],
    );
    let f0 = "latest/files/f0.bin";
    assert!(fs::read(m.path(f0)).unwrap() == noise(100, 700_000));
    let hash = xattr(&m.path(f0), "user.odarchive.hash");
    assert_eq!(names_in(&cache), vec![hash.clone()], "kept under its hash");
    // The image is emptied in place (the mount holds it open): its disc can no longer be read.
    fs::File::options()
        .write(true)
        .open(&discs[0])
        .unwrap()
        .set_len(0)
        .unwrap();
    assert!(
        fs::read(m.path(f0)).unwrap() == noise(100, 700_000),
        "from the cache"
    );
    let err = fs::read(m.path("latest/files/f1.bin")).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(5), "f1 needs the disc: {err}");
    drop(m);

    // A later mount, with no disc at all, reads it from the cache, whose entry it checks.
    fs::remove_file(&discs[0]).unwrap();
    let images = images_arg(&out);
    let m = Mounted::start(&s, "mnt2", &["--images", &images, "--cache", cache_arg]);
    assert!(
        fs::read(m.path(f0)).unwrap() == noise(100, 700_000),
        "a later mount"
    );
    drop(m);

    // A damaged entry (same size, one byte changed) is removed, never served.
    let entry = cache.join(&hash);
    let mut bytes = fs::read(&entry).unwrap();
    bytes[1234] ^= 1;
    fs::write(&entry, &bytes).unwrap();
    let m = Mounted::start(&s, "mnt3", &["--images", &images, "--cache", cache_arg]);
    let err = fs::read(m.path(f0)).unwrap_err();
    assert_eq!(err.raw_os_error(), Some(5), "no disc, no good entry: {err}");
    assert!(!entry.exists(), "the damaged entry is removed");
    let log = m.log_text();
    assert!(
        log.contains("cache entry does not match its hash") && log.contains("insert disc 1"),
        "{log}"
    );
}

#[test]
fn the_cache_holds_at_most_its_size_the_files_used_last() {
    let s = Scratch::new();
    spread_files(&s);
    let out = s.dir("out");
    let discs = s.archive(&out, "cd");
    let cache = s.dir("cache");
    // Room for two 700 kB files, not three.
    let m = Mounted::start(
        &s,
        "mnt",
        &[
            "--from",
            discs[0].to_str().unwrap(),
            "--cache",
            cache.to_str().unwrap(),
            "--cache-size",
            "1.5M",
        ],
    );
    let file = |i: u64| m.path(&format!("latest/files/f{i}.bin"));
    let read = |i: u64| assert!(fs::read(file(i)).unwrap() == noise(100 + i, 700_000));
    let kept = |files: &[u64]| {
        let mut want: Vec<String> = files
            .iter()
            .map(|&i| xattr(&file(i), "user.odarchive.hash"))
            .collect();
        want.sort();
        let total: u64 = fs::read_dir(&cache)
            .unwrap()
            .map(|e| e.unwrap().metadata().unwrap().len())
            .sum();
        assert!(total <= 1_500_000, "{total} bytes kept");
        assert_eq!(names_in(&cache), want, "the cache holds {files:?}");
    };
    for i in 0..3 {
        read(i);
    }
    kept(&[1, 2]);
    // f1 used again: f2 is now the least recently used, and goes for f3.
    read(1);
    read(3);
    kept(&[1, 3]);
}

#[test]
fn a_cache_folder_that_cannot_be_made_or_is_full_costs_the_cache_not_the_reads() {
    let s = Scratch::new();
    spread_files(&s);
    let out = s.dir("out");
    let discs = s.archive(&out, "cd");
    let disc = discs[0].to_str().unwrap();
    let f0 = "latest/files/f0.bin";

    // Under a file: no folder can be made there (whoever runs the test, root included).
    let blocker = s.dir("a file");
    fs::write(&blocker, b"not a folder").unwrap();
    let under_file = blocker.join("cache");
    let m = Mounted::start(
        &s,
        "mnt",
        &["--from", disc, "--cache", under_file.to_str().unwrap()],
    );
    assert!(
        fs::read(m.path(f0)).unwrap() == noise(100, 700_000),
        "read from its disc"
    );
    let log = m.log_text();
    assert!(
        log.contains("the cache folder cannot be used") && log.contains("a file/cache"),
        "{log}"
    );
    drop(m);

    // Full: the mount cannot write more than 100 KiB into a file; the 700 kB entry fails.
    let cache = s.dir("cache");
    let m = Mounted::start_limited(
        &s,
        "mnt2",
        &["--from", disc, "--cache", cache.to_str().unwrap()],
        Some(100),
    );
    for _ in 0..2 {
        assert!(
            fs::read(m.path(f0)).unwrap() == noise(100, 700_000),
            "read from its disc"
        );
    }
    let log = m.log_text();
    assert!(log.contains("writing the cache entry"), "{log}");
    assert_eq!(
        names_in(&cache),
        Vec::<String>::new(),
        "nothing half-written is left"
    );
}

#[test]
fn concurrent_reads_of_one_content_get_its_bytes_and_leave_at_most_one_right_cache_entry() {
    let s = Scratch::new();
    // Large enough to be hashed on a thread of its own, and read in many requests.
    s.write("big.bin", noise(7, 6_000_000));
    s.write("same.bin", noise(7, 6_000_000)); // the same content under another name
    let out = s.dir("out");
    let discs = s.archive(&out, "cd");
    let cache = s.dir("cache");
    let cache_arg = cache.to_str().unwrap();
    let m = Mounted::start(
        &s,
        "mnt",
        &["--from", discs[0].to_str().unwrap(), "--cache", cache_arg],
    );
    let want = noise(7, 6_000_000);
    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..6)
            .map(|i| {
                let path = m.path(if i % 2 == 0 {
                    "latest/big.bin"
                } else {
                    "latest/same.bin"
                });
                scope.spawn(move || fs::read(path).unwrap())
            })
            .collect();
        for r in readers {
            assert!(
                r.join().unwrap() == want,
                "every reader gets the file's bytes"
            );
        }
    });
    let hash = xattr(&m.path("latest/big.bin"), "user.odarchive.hash");
    // The content was checked once, whoever read which pages: its one entry is kept,
    // nothing half-written.
    assert_eq!(names_in(&cache), vec![hash.clone()]);
    drop(m);
    assert_eq!(
        names_in(&cache),
        vec![hash.clone()],
        "one entry, nothing half-written"
    );
    assert!(
        fs::read(cache.join(&hash)).unwrap() == want,
        "holding the file's bytes"
    );
    // Served without the disc by a later mount.
    fs::remove_file(&discs[0]).unwrap();
    let m = Mounted::start(
        &s,
        "mnt2",
        &["--images", out.to_str().unwrap(), "--cache", cache_arg],
    );
    assert!(fs::read(m.path("latest/same.bin")).unwrap() == want);
}

/// Changes one byte of the bytes of `(seed, size)`'s noise at `at` where they lie in `image`.
fn damage(image: &Path, seed: u64, size: usize, at: usize) {
    let mut bytes = fs::read(image).unwrap();
    let needle = &noise(seed, size)[at..at + 64];
    let found = bytes
        .windows(needle.len())
        .position(|w| w == needle)
        .expect("the file's bytes are in the image");
    bytes[found + 10] ^= 0x55;
    fs::write(image, &bytes).unwrap();
}

/// `head -c N PATH`: its exit status and what it printed.
fn head(path: &Path, n: usize) -> (bool, Vec<u8>) {
    let out = Command::new("head")
        .arg("-c")
        .arg(n.to_string())
        .arg(path)
        .output()
        .unwrap();
    (out.status.success(), out.stdout)
}

/// Whether `e` is EIO.
fn is_eio(e: &std::io::Error) -> bool {
    e.raw_os_error() == Some(5)
}

#[test]
fn no_byte_of_a_damaged_file_is_given_to_a_prefix_read_a_second_reader_or_a_whole_read() {
    let s = Scratch::new();
    s.write("a/damaged.bin", noise(1, 300_000));
    s.write("a/intact.bin", noise(2, 300_000));
    s.write("a/two readers.bin", noise(3, 300_000));
    s.write("a/threads.bin", noise(4, 3_000_000));
    let out = s.dir("out");
    let discs = s.archive(&out, "cd");
    assert_eq!(discs.len(), 1);
    // Each damaged file is damaged past its first bytes, where a prefix read would not look.
    damage(&discs[0], 1, 300_000, 250_000);
    damage(&discs[0], 3, 300_000, 250_000);
    damage(&discs[0], 4, 3_000_000, 2_900_000);
    // Without and with a cache folder (a content then checked into its cache entry).
    let cache = s.dir("cache");
    for (name, cache_args) in [
        ("mnt", vec![]),
        ("mnt2", vec!["--cache", cache.to_str().unwrap()]),
    ] {
        let mut args = vec!["--from", discs[0].to_str().unwrap()];
        args.extend(cache_args);
        damaged_files_give_no_byte(&Mounted::start(&s, name, &args));
    }
    // Only the intact file was kept.
    assert_eq!(names_in(&cache).len(), 1, "{:?}", names_in(&cache));
}

/// The reads of the mount of [`no_byte_of_a_damaged_file_is_given_to_a_prefix_read_a_second_reader_or_a_whole_read`].
fn damaged_files_give_no_byte(m: &Mounted) {
    // `head -c 100`, then the whole file: both fail, and no byte is printed.
    let damaged = m.path("latest/a/damaged.bin");
    let (ok, printed) = head(&damaged, 100);
    assert!(
        !ok && printed.is_empty(),
        "head printed {} bytes",
        printed.len()
    );
    let err = fs::read(&damaged).unwrap_err();
    assert!(is_eio(&err), "EIO for the whole read: {err}");
    let (ok, printed) = head(&damaged, 100);
    assert!(!ok && printed.is_empty(), "again: {} bytes", printed.len());

    // An undamaged file on the same disc reads, in part and whole.
    let intact = m.path("latest/a/intact.bin");
    let (ok, printed) = head(&intact, 100);
    assert!(
        ok && printed == noise(2, 300_000)[..100],
        "head of the intact file"
    );
    assert!(fs::read(&intact).unwrap() == noise(2, 300_000));

    // Two readers open at once: the one that reads first fails, and the other is not given
    // the pages the first was answered with before its failure.
    let two = m.path("latest/a/two readers.bin");
    let (mut first, mut second) = (fs::File::open(&two).unwrap(), fs::File::open(&two).unwrap());
    use std::io::Read;
    let mut got = Vec::new();
    let err = second.read_to_end(&mut got).unwrap_err();
    assert!(is_eio(&err), "the first reader: {err}");
    let mut got = Vec::new();
    let err = first.read_to_end(&mut got).unwrap_err();
    assert!(
        is_eio(&err),
        "the second reader: {err} after {} bytes",
        got.len()
    );
    assert!(got.is_empty(), "the second reader got {} bytes", got.len());

    // Readers on threads at once: each fails, none is given a byte.
    let threads = m.path("latest/a/threads.bin");
    std::thread::scope(|scope| {
        let readers: Vec<_> = (0..3)
            .map(|_| {
                let path = threads.clone();
                scope.spawn(move || {
                    let mut f = fs::File::open(path).unwrap();
                    let mut got = Vec::new();
                    (f.read_to_end(&mut got), got.len())
                })
            })
            .collect();
        for r in readers {
            let (result, len) = r.join().unwrap();
            let err = result.unwrap_err();
            assert!(is_eio(&err), "{err}");
            assert_eq!(len, 0, "a reader was given bytes");
        }
    });
    let log = m.log_text();
    assert!(
        log.contains("latest/a/damaged.bin") && log.contains("hash"),
        "the problem is logged: {log}"
    );
}

#[test]
fn a_file_split_across_discs_is_checked_part_by_part_the_damaged_part_never_given() {
    let s = Scratch::new();
    s.write("big.bin", noise(5, 2_600_000));
    let out = s.dir("out");
    let discs = s.archive(&out, "2M");
    assert!(discs.len() >= 2, "{discs:?}");
    let m = Mounted::start(&s, "mnt", &["--images", &images_arg(&out)]);
    let parts = xattr(&m.path("latest/big.bin"), "user.odarchive.disc");
    assert!(parts.contains(','), "split: {parts}");
    drop(m);
    // The last part's disc damaged near the file's end.
    let last: usize = parts.split(',').next_back().unwrap().parse().unwrap();
    damage(&discs[last - 1], 5, 2_600_000, 2_590_000);
    let m = Mounted::start(&s, "mnt2", &["--images", &images_arg(&out)]);
    let path = m.path("latest/big.bin");
    // The first part is whole and right: its bytes are given.
    let (ok, printed) = head(&path, 100);
    assert!(
        ok && printed == noise(5, 2_600_000)[..100],
        "the first part reads"
    );
    // The damaged part's bytes never are.
    use std::io::{Read, Seek, SeekFrom};
    let mut f = fs::File::open(&path).unwrap();
    f.seek(SeekFrom::Start(2_590_000)).unwrap();
    let mut got = [0u8; 100];
    let err = f.read_exact(&mut got).unwrap_err();
    assert!(is_eio(&err), "{err}");
    let err = fs::read(&path).unwrap_err();
    assert!(is_eio(&err), "{err}");
}
