//! Scanning a drive into a snapshot.
//!
//! A bounded pipeline keeps memory flat whatever the number or size of files:
//!
//! ```text
//! walker ──(files to hash, bounded)──▶ N hash workers ──┐
//!    │                                                  ├──(records, bounded)──▶ writer
//!    └──(directories, symlinks, unchanged files)────────┘
//! ```
//!
//! - The **walker** (`walk.rs`) lists the tree depth-first in byte order of names, never
//!   following symlinks, and looks up the previous version of each path through its own
//!   read-only connection. A file whose kind, size, mtime, inode, mode are unchanged is not read
//!   again, unless its mtime is too recent for its hash to be trusted (`reuse.rs`: a file
//!   rewritten within the timestamp tick of the scan that hashed it); in a resumed snapshot,
//!   what is already recorded is skipped.
//! - **Hash workers** (`hash.rs`) read files with one buffer each and hash them with the
//!   catalogue's algorithm ([`crate::HashAlgorithm`]), checking that the file did not change
//!   while being read.
//! - A **counter** (`count.rs`) walks ahead without reading anything, so that progress has
//!   totals and an ETA long before the real walk, paced by the hashing, ends.
//! - Items travel in small batches (`outbox.rs`) so that handing over a small file does not
//!   cost a thread wake-up.
//! - The **writer** (`writer.rs`) owns the write connection and commits batches (about once a
//!   second), updating the job row in the same transaction. A kill -9 loses at most the last
//!   uncommitted second; the next scan of the same drive resumes the snapshot.

mod count;
mod hash;
mod outbox;
mod reuse;
mod walk;
mod writer;

pub use hash::{FileOpener, StdOpener};

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::Serialize;

use crate::hash::ContentHash;

use crate::catalogue::{Catalogue, EntryKind, JobState};
use crate::error::{Error, FileProblem, Result};
use crate::info::Info;
use crate::progress::{Event, Progress};

/// How to scan.
#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    /// Glob patterns of paths (relative to the drive root) to leave out; an excluded directory
    /// is left out with everything below it.
    pub excludes: Vec<String>,
    /// Number of hash workers; `None` for one per available core.
    pub threads: Option<usize>,
    /// Set to `true` (e.g. from a Ctrl-C handler) to stop the scan; what is done is committed
    /// and the scan returns [`Error::Interrupted`].
    pub cancel: Option<Arc<AtomicBool>>,
    /// Opens files for hashing; `None` for [`StdOpener`]. Tests inject failures here.
    pub opener: Option<Arc<dyn FileOpener>>,
    /// Test-only: sleep this long after opening each file, before reading it, and hand files
    /// over one at a time, so that tests can kill or disturb a scan at a known point.
    #[doc(hidden)]
    pub hash_delay: Option<Duration>,
}

/// What a finished scan did.
#[derive(Debug, Clone, Serialize)]
pub struct ScanSummary {
    /// Whether it resumed an interrupted scan of the same snapshot.
    pub resumed: bool,
    /// Files read and hashed by this run.
    pub hashed_files: u64,
    /// Bytes read and hashed by this run.
    pub hashed_bytes: u64,
    /// Files not read because they were unchanged or already recorded.
    pub reused_files: u64,
    /// Entries skipped because they are not files, directories or symlinks.
    pub skipped: u64,
    /// Wall-clock seconds this run took.
    pub elapsed_seconds: f64,
    /// The completed snapshot (its `errors` counts problems of the whole snapshot).
    #[serde(flatten)]
    pub info: Info,
}

/// Counters shared by the pipeline's threads.
#[derive(Debug, Default)]
pub(crate) struct Shared {
    files_found: AtomicU64,
    bytes_found: AtomicU64,
    /// Totals from the counter, which runs ahead of the walk.
    files_counted: AtomicU64,
    bytes_counted: AtomicU64,
    count_finished: AtomicBool,
    skipped: AtomicU64,
    walk_finished: AtomicBool,
    /// Set when the pipeline must stop: cancelled, or the writer failed.
    stop: AtomicBool,
}

/// File system facts of one entry, from `lstat` at walk time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Stat {
    pub kind: EntryKind,
    pub size: u64,
    pub mtime_ns: i64,
    pub mode: u32,
    /// Owner and group ids.
    pub uid: u32,
    pub gid: u32,
    pub dev: u64,
    pub inode: u64,
}

impl Stat {
    /// What `meta` says of an entry of `kind` whose size counts as `size`.
    pub(crate) fn of(kind: EntryKind, size: u64, meta: &std::fs::Metadata) -> Stat {
        use std::os::unix::fs::MetadataExt;
        Stat {
            kind,
            size,
            mtime_ns: crate::time::mtime_ns(meta),
            mode: meta.mode() & 0o7777,
            uid: meta.uid(),
            gid: meta.gid(),
            dev: meta.dev(),
            inode: meta.ino(),
        }
    }
}

/// An entry found by the walk.
#[derive(Debug)]
pub(crate) struct Found {
    /// Path relative to the drive root, raw bytes, `/`-separated.
    pub rel: Vec<u8>,
    /// Absolute path for opening.
    pub abs: PathBuf,
    pub stat: Stat,
    pub link_target: Option<Vec<u8>>,
    /// The previous version's row when it is part of the snapshot being scanned (a resumed
    /// scan recorded it, but it must be redone): the writer replaces it.
    pub replaces: Option<writer::Replaced>,
}

/// The content to record with a new entry.
#[derive(Debug)]
pub(crate) enum Content {
    /// None: directory, symlink, or a file that could not be read.
    None,
    /// A content row already in the catalogue (the file is unchanged since an older snapshot).
    Known(i64),
    /// Freshly hashed.
    Hashed { hash: ContentHash, size: u64 },
}

/// What the writer is asked to record.
#[derive(Debug)]
pub(crate) enum Record {
    /// A new entry version (new or changed path, or a retry), possibly with a problem.
    New {
        found: Found,
        content: Content,
        problem: Option<FileProblem>,
    },
    /// The path is unchanged since the previous snapshot: extend that row to this snapshot.
    Unchanged {
        entry_id: i64,
        kind: EntryKind,
        size: u64,
    },
    /// Recorded in this snapshot by an earlier, interrupted run: only count it.
    AlreadyRecorded { kind: EntryKind, size: u64 },
    /// A problem not tied to a new entry (a directory that cannot be listed).
    Problem {
        /// Relative path of what the problem concerns.
        rel: Vec<u8>,
        problem: FileProblem,
    },
}

/// Scans `drive` into `catalogue`: resumes the unfinished snapshot of the same drive or starts a
/// new one, and completes it. Problems with single files are recorded and reported through
/// `progress`; the summary's `info.errors` counts them.
pub fn scan(
    catalogue: &mut Catalogue,
    drive: &Path,
    options: &ScanOptions,
    progress: &dyn Progress,
) -> Result<ScanSummary> {
    let started = Instant::now();
    let root = drive_root(drive)?;
    let excludes = walk::exclude_set(&options.excludes)?;
    let job = catalogue.start_job("scan")?;
    let result = run(catalogue, &root, excludes, job, options, progress, started);
    if let Err(e) = &result {
        let state = match e {
            Error::Interrupted => JobState::Interrupted,
            _ => JobState::Failed,
        };
        // Best effort: the error that got us here matters more than one recording it.
        let message = crate::error::chain(&e);
        let _ = catalogue.finish_job(job, state, Some(&message));
    }
    result
}

/// The scan proper, once the job is recorded.
fn run(
    catalogue: &mut Catalogue,
    root: &Path,
    excludes: globset::GlobSet,
    job: i64,
    options: &ScanOptions,
    progress: &dyn Progress,
    started: Instant,
) -> Result<ScanSummary> {
    let algorithm = catalogue.hash_algorithm()?;
    // The drive root's own mtime, which every disc's /Data folder is given.
    let root_mtime_ns = std::fs::metadata(root)
        .ok()
        .map(|m| crate::time::mtime_ns(&m));
    let (snapshot, resumed) = catalogue.begin_snapshot(root, root_mtime_ns, job)?;
    progress.event(&Event::ScanStarted {
        snapshot: snapshot.id,
        resumed,
        drive: root.to_path_buf(),
    });
    let count_excludes = excludes.clone();
    let walker = walk::Walker::new(root, catalogue, snapshot.id, excludes)?;

    let shared = Shared::default();
    let cancel = options.cancel.clone().unwrap_or_default();
    let opener: Arc<dyn FileOpener> = options
        .opener
        .clone()
        .unwrap_or_else(|| Arc::new(StdOpener));
    let workers = options
        .threads
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()))
        .max(1);
    // Bounded in batches: at most a few hundred files and a few thousand records in flight.
    let (hash_tx, hash_rx) = crossbeam_channel::bounded::<Vec<Found>>(4 * workers);
    let (record_tx, record_rx) = crossbeam_channel::bounded::<Vec<Record>>(16);
    let unbatched = options.hash_delay.is_some();

    let outcome = std::thread::scope(|scope| {
        let shared = &shared;
        let cancel = &*cancel;
        scope.spawn(move || count::count(root, &count_excludes, shared, cancel));
        let walk_records = record_tx.clone();
        let walking = scope.spawn(move || {
            let mut outbox = outbox::Outbox::new(&hash_tx, &walk_records, unbatched);
            let result = walker.run(&mut outbox, shared, cancel, progress);
            shared.walk_finished.store(true, Ordering::Relaxed);
            result
        });
        for _ in 0..workers {
            let jobs = hash_rx.clone();
            let records = record_tx.clone();
            let worker = hash::Worker {
                algorithm,
                opener: opener.as_ref(),
                delay: options.hash_delay,
                shared,
                cancel,
            };
            scope.spawn(move || worker.work(&jobs, &records));
        }
        drop(hash_rx);
        drop(record_tx);
        let written = writer::write(catalogue, snapshot.id, job, &record_rx, shared, progress);
        if written.is_err() {
            shared.stop.store(true, Ordering::Relaxed);
        }
        drop(record_rx);
        let walked = walking
            .join()
            .unwrap_or_else(|_| Err(Error::Internal("the walker thread panicked".into())));
        (written, walked)
    });
    let (written, walked) = outcome;
    walked?;
    let tally = written?;
    if cancel.load(Ordering::Relaxed) {
        return Err(Error::Interrupted);
    }
    let mut info = catalogue.complete_snapshot(snapshot.id, job)?;
    info.drive_path = root.to_string_lossy().into_owned();
    Ok(ScanSummary {
        resumed,
        hashed_files: tally.hashed_files,
        hashed_bytes: tally.hashed_bytes,
        reused_files: tally.reused_files,
        skipped: shared.skipped.load(Ordering::Relaxed),
        elapsed_seconds: started.elapsed().as_secs_f64(),
        info,
    })
}

/// The absolute, symlink-free drive root; it must be a directory.
fn drive_root(drive: &Path) -> Result<PathBuf> {
    let root = drive.canonicalize().map_err(|source| Error::DrivePath {
        path: drive.to_path_buf(),
        source,
    })?;
    let meta = std::fs::metadata(&root).map_err(|source| Error::DrivePath {
        path: drive.to_path_buf(),
        source,
    })?;
    if !meta.is_dir() {
        return Err(Error::NotADirectory {
            path: drive.to_path_buf(),
        });
    }
    Ok(root)
}
