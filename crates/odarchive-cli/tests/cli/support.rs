//! Helpers shared by the CLI tests: a scratch drive and catalogue, running the binary, and an
//! independent view of the catalogue through plain SQL.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command as StdCommand, Output, Stdio};
use std::time::{Duration, Instant};

use assert_cmd::cargo::CommandCargoExt;
use sha2::{Digest, Sha256};

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
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for child in std::fs::read_dir(&dir).unwrap() {
            let path = child.unwrap().path();
            let rel = path
                .strip_prefix(root)
                .unwrap()
                .as_os_str()
                .as_bytes()
                .to_vec();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            let row = if meta.is_dir() {
                stack.push(path.clone());
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
            out.insert(rel, row);
        }
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
