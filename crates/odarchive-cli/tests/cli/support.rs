//! Helpers shared by the CLI tests: a scratch drive and catalogue, running the binary, and an
//! independent view of the catalogue through plain SQL.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use sha2::{Digest, Sha256};

/// Reproducible pseudo-random bytes and numbers, shared with the other crates' tests.
pub use testkit::{Rng, noise};

/// A drive directory and a catalogue path outside it, in one temporary directory.
pub struct Scratch {
    _dir: tempfile::TempDir,
    pub drive: PathBuf,
    pub catalogue: PathBuf,
}

impl Scratch {
    pub fn new() -> Scratch {
        let dir = tempfile::tempdir().unwrap();
        let drive = dir.path().join("drive");
        std::fs::create_dir(&drive).unwrap();
        let catalogue = dir.path().join("cat.db");
        Scratch {
            _dir: dir,
            drive,
            catalogue,
        }
    }

    /// `odarchive --catalogue CAT ARGS...` with a clean environment.
    pub fn command(&self, args: &[&str]) -> StdCommand {
        let mut cmd = StdCommand::cargo_bin("odarchive").unwrap();
        cmd.env_remove("ODARCHIVE_CATALOGUE")
            .env_remove("ODARCHIVE_TEST_HASH_DELAY_MS")
            .arg("--catalogue")
            .arg(&self.catalogue)
            .args(args)
            .stdin(Stdio::null());
        cmd
    }

    pub fn run(&self, args: &[&str]) -> Run {
        Run::from(self.command(args).output().unwrap())
    }

    /// `name` in the temporary directory, beside the drive and the catalogue.
    pub fn dir(&self, name: &str) -> PathBuf {
        self.catalogue.parent().unwrap().join(name)
    }

    /// `archive DRIVE --media MEDIA --out OUT`, which must succeed; the images in `out`, sorted.
    pub fn archive(&self, out: &Path, media: &str) -> Vec<PathBuf> {
        self.archive_with(out, media, &[])
    }

    /// [`Scratch::archive`] with more options (`--parity 10`, say).
    pub fn archive_with(&self, out: &Path, media: &str, extra: &[&str]) -> Vec<PathBuf> {
        let mut args = vec![
            "archive",
            self.drive.to_str().unwrap(),
            "--media",
            media,
            "--out",
            out.to_str().unwrap(),
        ];
        args.extend_from_slice(extra);
        self.run(&args).ok();
        images(out)
    }

    /// [`Scratch::archive`] to `out` on 2 MB media, which must give several discs.
    pub fn archive_to_several_discs(&self) -> Vec<PathBuf> {
        let images = self.archive(&self.dir("out"), "2M");
        assert!(images.len() >= 2, "expected several discs, got {images:?}");
        images
    }

    /// `scan --json DRIVE`.
    pub fn scan(&self) -> Run {
        let mut cmd = self.command(&["scan", "--json"]);
        cmd.arg(&self.drive);
        Run::from(cmd.output().unwrap())
    }

    /// Starts `scan --json DRIVE` with the test-only hash delay, without waiting.
    pub fn spawn_slow_scan(&self, delay_ms: u64, threads: usize) -> Child {
        let mut cmd = self.command(&["scan", "--json", "--threads", &threads.to_string()]);
        cmd.arg(&self.drive)
            .env("ODARCHIVE_TEST_HASH_DELAY_MS", delay_ms.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        cmd.spawn().unwrap()
    }

    /// `info --json` as JSON.
    pub fn info(&self) -> serde_json::Value {
        let run = self.run(&["info", "--json"]);
        assert_eq!(run.code, 0, "info failed: {}", run.stderr);
        serde_json::from_str(&run.stdout).unwrap()
    }

    /// `status --json` as JSON.
    pub fn status_json(&self) -> serde_json::Value {
        let run = self.run(&["status", "--json"]);
        assert_eq!(run.code, 0, "status failed: {}", run.stderr);
        serde_json::from_str(&run.stdout).unwrap()
    }

    pub fn write(&self, rel: impl AsRef<OsStr>, data: impl AsRef<[u8]>) -> PathBuf {
        let path = self.drive.join(rel.as_ref());
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, data).unwrap();
        path
    }

    /// Moves the mtime of every file below the drive an hour back, so that a rescan trusts the
    /// hashes of the first scan: a file modified just before the scan that hashed it is read
    /// again by the next one (its timestamp tick may have hidden a rewrite).
    pub fn settle(&self) {
        settle(&self.drive);
    }

    /// The catalogue's entries of its newest snapshot, read with plain SQL (not through the
    /// library).
    pub fn entries(&self) -> BTreeMap<Vec<u8>, Row> {
        let conn = rusqlite::Connection::open(&self.catalogue).unwrap();
        let snapshot: i64 = conn
            .query_row("SELECT max(id) FROM snapshot", [], |r| r.get(0))
            .unwrap();
        let mut stmt = conn
            .prepare(
                "SELECT e.path, e.kind, c.hash, e.size, e.link_target, e.content_id
                 FROM entry e LEFT JOIN content c ON c.id = e.content_id
                 WHERE e.first_snapshot <= ?1 AND e.last_snapshot >= ?1",
            )
            .unwrap();
        let rows = stmt
            .query_map([snapshot], |r| {
                let hash: Option<Vec<u8>> = r.get(2)?;
                Ok((
                    r.get::<_, Vec<u8>>(0)?,
                    Row {
                        kind: r.get(1)?,
                        hash: hash.map(hex),
                        size: r.get(3)?,
                        link_target: r.get(4)?,
                    },
                ))
            })
            .unwrap();
        rows.map(Result::unwrap).collect()
    }

    /// `(path, cause)` of every recorded scan error.
    pub fn scan_errors(&self) -> Vec<(Vec<u8>, String)> {
        let conn = rusqlite::Connection::open(&self.catalogue).unwrap();
        let mut stmt = conn
            .prepare("SELECT path, cause FROM scan_error ORDER BY id")
            .unwrap();
        let rows = stmt.query_map([], |r| Ok((r.get(0)?, r.get(1)?))).unwrap();
        rows.map(Result::unwrap).collect()
    }
}

/// One entry as the catalogue holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Row {
    pub kind: i64,
    pub hash: Option<String>,
    pub size: i64,
    pub link_target: Option<Vec<u8>>,
}

pub const FILE: i64 = 1;
pub const DIR: i64 = 2;
pub const SYMLINK: i64 = 3;

/// What the file system holds under `root`, computed independently of odarchive: walks with
/// std and hashes with sha2 directly.
pub fn expected_entries(root: &Path) -> BTreeMap<Vec<u8>, Row> {
    let mut out = BTreeMap::new();
    for (rel, path, meta) in testkit::walk(root) {
        let row = if meta.is_dir() {
            Row {
                kind: DIR,
                hash: None,
                size: 0,
                link_target: None,
            }
        } else if meta.is_symlink() {
            let target = std::fs::read_link(&path).unwrap();
            Row {
                kind: SYMLINK,
                hash: None,
                size: meta.size() as i64,
                link_target: Some(target.as_os_str().as_bytes().to_vec()),
            }
        } else if meta.is_file() {
            let data = std::fs::read(&path).unwrap();
            Row {
                kind: FILE,
                hash: Some(hex(Sha256::digest(&data).to_vec())),
                size: data.len() as i64,
                link_target: None,
            }
        } else {
            continue;
        };
        out.insert(rel.into_os_string().into_vec(), row);
    }
    out
}

pub fn hex(bytes: Vec<u8>) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A finished command.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl From<Output> for Run {
    fn from(o: Output) -> Run {
        Run {
            code: o.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&o.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&o.stderr).into_owned(),
        }
    }
}

impl Run {
    /// Asserts the command exited 0, showing its output otherwise.
    pub fn ok(&self) {
        assert_eq!(self.code, 0, "{}{}", self.stdout, self.stderr);
    }

    /// The final `{"event":"summary"}` object of `scan --json`.
    pub fn summary(&self) -> serde_json::Value {
        let last = self
            .stdout
            .lines()
            .last()
            .unwrap_or_else(|| panic!("no output; exit {} stderr: {}", self.code, self.stderr));
        let value: serde_json::Value = serde_json::from_str(last).unwrap();
        assert_eq!(value["event"], "summary", "{last}");
        value
    }
}

/// The files in `out` (disc images), sorted.
pub fn images(out: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = fs::read_dir(out)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Polls `check` every 50 ms until it returns `Some`, for at most `limit`.
pub fn wait_for<T>(limit: Duration, mut check: impl FnMut() -> Option<T>) -> T {
    let start = Instant::now();
    loop {
        if let Some(value) = check() {
            return value;
        }
        assert!(
            start.elapsed() < limit,
            "condition not reached within {limit:?}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Whether the tests run as root (who may read any file whatever its mode).
pub fn is_root() -> bool {
    std::fs::metadata("/proc/self")
        .map(|m| m.uid() == 0)
        .unwrap_or(false)
}

/// Sends `signal` (e.g. `-KILL`, `-INT`) to a child with the `kill` command.
pub fn signal(child: &Child, signal: &str) {
    let status = StdCommand::new("kill")
        .arg(signal)
        .arg(child.id().to_string())
        .status()
        .unwrap();
    assert!(status.success());
}

/// Makes `n` files of distinct content, `name-000` ..., in `dir` below the drive.
pub fn many_files(scratch: &Scratch, dir: &str, n: usize) {
    for i in 0..n {
        scratch.write(
            format!("{dir}/name-{i:03}"),
            format!("content {i}\n").repeat(i + 1),
        );
    }
}

/// Everything under `root`: path → (is_dir, content).
pub fn tree_of(root: &std::path::Path) -> std::collections::BTreeMap<String, (bool, Vec<u8>)> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let p = e.unwrap().path();
            let rel = p.strip_prefix(root).unwrap().to_string_lossy().into_owned();
            if p.is_dir() {
                stack.push(p.clone());
                out.insert(rel, (true, Vec::new()));
            } else {
                out.insert(rel, (false, std::fs::read(&p).unwrap()));
            }
        }
    }
    out
}

/// Everything under `root` as the user sees it: kind, content or link target, mtime (ns)
/// for files and symlinks and directories.
fn snapshot_of(root: &Path) -> BTreeMap<Vec<u8>, (char, Vec<u8>, i64)> {
    let mut out = BTreeMap::new();
    for (rel, path, meta) in testkit::walk(root) {
        let mtime = meta.mtime() * 1_000_000_000 + meta.mtime_nsec();
        let item = if meta.file_type().is_symlink() {
            let target = fs::read_link(&path).unwrap();
            ('l', target.into_os_string().into_vec(), mtime)
        } else if meta.is_dir() {
            ('d', Vec::new(), mtime)
        } else {
            ('f', fs::read(&path).unwrap(), mtime)
        };
        out.insert(rel.into_os_string().into_vec(), item);
    }
    out
}

pub fn assert_same_tree(source: &Path, restored: &Path) {
    let a = snapshot_of(source);
    let b = snapshot_of(restored);
    let missing: Vec<_> = a
        .keys()
        .filter(|k| !b.contains_key(*k))
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    let extra: Vec<_> = b
        .keys()
        .filter(|k| !a.contains_key(*k))
        .map(|k| String::from_utf8_lossy(k).into_owned())
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "missing {missing:?}, extra {extra:?}"
    );
    for (path, want) in &a {
        let got = &b[path];
        let shown = String::from_utf8_lossy(path);
        assert_eq!(got.0, want.0, "{shown}: kind");
        assert!(got.1 == want.1, "{shown}: content or target differs");
        assert_eq!(got.2, want.2, "{shown}: mtime");
    }
}

/// A random tree: unicode and non-UTF-8 names, depth, empty files and folders, duplicates,
/// symlinks, sizes around 2048, and one file larger than the medium, so it splits.
pub fn random_tree(s: &Scratch, seed: u64) {
    let mut rng = Rng::seeded(seed);
    let names: [&[u8]; 10] = [
        b"photo",
        "été".as_bytes(),
        "日本".as_bytes(),
        b"bad\xff\xfe",
        "emoji😀".as_bytes(),
        b"with space",
        "e\u{301}".as_bytes(),
        b"UPPER",
        b"x.tar.gz",
        b"dot.file",
    ];
    let mut dirs: Vec<Vec<u8>> = vec![Vec::new()];
    for i in 0..12 {
        let parent = dirs[rng.below(dirs.len() as u64) as usize].clone();
        let mut d = parent.clone();
        if !d.is_empty() {
            d.push(b'/');
        }
        d.extend_from_slice(names[rng.below(10) as usize]);
        d.extend_from_slice(format!(" d{i}").as_bytes());
        fs::create_dir_all(s.drive.join(OsStr::from_bytes(&d))).unwrap();
        dirs.push(d);
    }
    let deep: Vec<String> = (0..12).map(|i| format!("level{i}")).collect();
    fs::create_dir_all(s.drive.join(deep.join("/"))).unwrap();
    s.write(format!("{}/bottom.txt", deep.join("/")), b"deep down");
    let mut previous: Vec<Vec<u8>> = Vec::new();
    for i in 0..30 {
        let dir = &dirs[rng.below(dirs.len() as u64) as usize];
        let mut path = dir.clone();
        if !path.is_empty() {
            path.push(b'/');
        }
        path.extend_from_slice(names[rng.below(10) as usize]);
        path.extend_from_slice(format!(" f{i}").as_bytes());
        let content = match rng.below(6) {
            0 => Vec::new(),
            1 if !previous.is_empty() => {
                previous[rng.below(previous.len() as u64) as usize].clone()
            }
            2 => {
                let n = 2047 + rng.below(3) as usize;
                rng.bytes(n)
            }
            _ => {
                let n = rng.below(60_000) as usize;
                rng.bytes(n)
            }
        };
        previous.push(content.clone());
        s.write(OsStr::from_bytes(&path), &content);
    }
    s.write("big/larger than a disc.bin", rng.bytes(2_500_000));
    fs::create_dir_all(s.drive.join("empty folder/inside")).unwrap();
    std::os::unix::fs::symlink("../big", s.drive.join("empty folder/link to big")).unwrap();
    std::os::unix::fs::symlink("nowhere", s.drive.join("dangling")).unwrap();
}

pub fn restore(
    s: &Scratch,
    from: &[PathBuf],
    to: &Path,
    extra: &[&str],
) -> (Run, serde_json::Value) {
    let mut args: Vec<String> = vec![
        "restore".into(),
        "--json".into(),
        "--to".into(),
        to.to_str().unwrap().into(),
    ];
    args.extend(extra.iter().map(|a| a.to_string()));
    args.push("--from".into());
    args.extend(from.iter().map(|p| p.to_str().unwrap().to_owned()));
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let run = s.run(&args);
    let report = serde_json::from_str(&run.stdout).unwrap_or(serde_json::Value::Null);
    (run, report)
}

/// [`Scratch::settle`] for any folder: every file's mtime an hour back.
pub fn settle(root: &Path) {
    for entry in fs::read_dir(root).unwrap() {
        let entry = entry.unwrap();
        let kind = entry.file_type().unwrap();
        if kind.is_dir() {
            settle(&entry.path());
        } else if kind.is_file() {
            let file = fs::File::options().write(true).open(entry.path()).unwrap();
            let mtime = file.metadata().unwrap().modified().unwrap();
            file.set_modified(mtime - Duration::from_secs(3600))
                .unwrap();
        }
    }
}

/// A disc image's sector size.
pub const SECTOR: usize = 2048;

/// The parity header of `image`, from its copy in sector 15.
pub fn parity_header(image: &[u8]) -> discfs::parity::Header {
    discfs::parity::Header::parse(&image[15 * SECTOR..16 * SECTOR], 15)
        .expect("the image has parity")
}

/// The sector where `data` starts in `image` (files start on a sector).
pub fn sector_of(image: &[u8], data: &[u8]) -> usize {
    image
        .chunks(SECTOR)
        .position(|s| s == &data[..SECTOR])
        .expect("the file's first sector is in the image")
}

/// A drive with a 1 MB photo and a few small files, archived on one 5 MB disc with 10 %
/// parity: the image and its bytes.
pub fn archived_with_parity(s: &Scratch) -> (PathBuf, Vec<u8>) {
    s.write("Photos/big.jpg", noise(7, 1_000_000));
    for i in 0..5 {
        s.write(format!("notes/{i}.txt"), noise(100 + i as u64, 20_000));
    }
    let images = s.archive_with(&s.dir("out"), "5M", &["--parity", "10"]);
    assert_eq!(images.len(), 1, "{images:?}");
    let bytes = fs::read(&images[0]).unwrap();
    (images[0].clone(), bytes)
}

/// A copy of `image` with `sectors` zeroed (what a scratch leaves), written as
/// `damaged.iso`: its path and bytes.
pub fn zeroed(s: &Scratch, image: &[u8], sectors: std::ops::Range<usize>) -> (PathBuf, Vec<u8>) {
    let mut bytes = image.to_vec();
    bytes[sectors.start * SECTOR..sectors.end * SECTOR].fill(0);
    let damaged = s.dir("damaged.iso");
    fs::write(&damaged, &bytes).unwrap();
    (damaged, bytes)
}

/// Zeroes the whole parity file of `image` (its header in sector 15 is left): the disc then
/// cannot rebuild a damaged file by itself, and what it gives wrong stays wrong.
pub fn destroy_parity(image: &Path) {
    let mut bytes = fs::read(image).unwrap();
    let header = parity_header(&bytes);
    let (start, end) = (header.parity_start as usize, header.parity_end() as usize);
    bytes[start * SECTOR..end * SECTOR].fill(0);
    fs::write(image, bytes).unwrap();
}
