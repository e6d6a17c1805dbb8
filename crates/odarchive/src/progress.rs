//! Progress as events.
//!
//! Long operations report what they do through a [`Progress`] implementation: the CLI draws
//! progress bars or prints JSON lines; a service could forward them. Events are plain data and
//! serialize to JSON objects tagged by `"event"`.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::problem::Problem;

/// Receives events from a running operation. Called from worker threads, so it must be cheap and
/// thread-safe.
pub trait Progress: Send + Sync {
    /// Handles one event.
    fn event(&self, event: &Event);
}

/// Ignores every event.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn event(&self, _event: &Event) {}
}

/// Something that happened during an operation.
#[derive(Debug, Clone, Serialize)]
#[serde(tag = "event", rename_all = "snake_case")]
#[non_exhaustive]
pub enum Event {
    /// A scan started.
    ScanStarted {
        /// The snapshot it fills.
        snapshot: i64,
        /// Whether it resumes an interrupted scan of the same snapshot.
        resumed: bool,
        /// The drive root.
        #[serde(serialize_with = "lossy")]
        drive: PathBuf,
    },
    /// Counters of a running scan, sent a few times a second.
    ScanProgress(ScanProgress),
    /// An entry that is not a file, directory or symlink was skipped.
    Skipped {
        /// The entry.
        #[serde(serialize_with = "lossy")]
        path: PathBuf,
        /// What it is: `fifo`, `socket`, `block device`, `character device`.
        kind: &'static str,
    },
    /// A file could not be read; it is recorded as an error and the scan goes on. In JSON:
    /// `{"event":"file_problem","path":…,"kind":…,"cause":…}` (the problem's detail is its
    /// `cause`).
    FileProblem(#[serde(serialize_with = "scan_problem")] Problem),
    /// Planning started.
    PlanStarted {
        /// Unique contents to place.
        contents: u64,
        /// Their bytes.
        bytes: u64,
    },
    /// Writing a disc image started.
    WriteStarted {
        /// Disc number.
        disc: u32,
        /// Its label.
        label: String,
        /// Image size in bytes.
        image_size: u64,
        /// Bytes of all images this run writes.
        run_total: u64,
    },
    /// Bytes of a disc image written so far, a few times a second.
    WriteProgress {
        /// Disc number.
        disc: u32,
        /// Bytes of this image written.
        bytes_done: u64,
        /// Bytes of all images this run has written, this one included.
        run_done: u64,
        /// Bytes of all images this run writes.
        run_total: u64,
    },
    /// A disc image is complete (or was already, and is intact).
    DiscWritten {
        /// Disc number.
        disc: u32,
        /// The image file.
        #[serde(serialize_with = "lossy")]
        path: PathBuf,
        /// Its SHA-256, hex.
        sha256: String,
        /// Whether it was already written and intact, so left alone.
        skipped: bool,
    },
    /// A restore started reading a disc.
    RestoreDiscStarted {
        /// Disc number.
        disc: u32,
        /// Its label.
        label: String,
        /// Files of the restore to read from it (whole contents or parts).
        files: u64,
        /// The image or mounted disc read.
        #[serde(serialize_with = "lossy")]
        source: PathBuf,
    },
}

/// Counters of a running scan. `*_found` grow while the walk goes on.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct ScanProgress {
    /// Regular files recorded so far.
    pub files_done: u64,
    /// Their bytes.
    pub bytes_done: u64,
    /// Regular files found by the walk so far.
    pub files_found: u64,
    /// Their bytes.
    pub bytes_found: u64,
    /// Best estimate of the files the scan will record (a counting walk runs ahead).
    pub files_total: u64,
    /// Their bytes.
    pub bytes_total: u64,
    /// Whether `*_total` are final (the counting walk or the real one has finished).
    pub totals_final: bool,
    /// Whether the walk has finished (then `*_found` are the totals).
    pub walk_finished: bool,
    /// Files read and hashed so far.
    pub hashed_files: u64,
    /// Bytes read and hashed so far.
    pub hashed_bytes: u64,
    /// Files recognised as unchanged or already recorded, so not read.
    pub reused_files: u64,
    /// Problems recorded so far.
    pub errors: u64,
}

/// A scan's [`Problem`] as its event has always had it: `path`, `kind`, and the detail as
/// `cause`.
fn scan_problem<S: serde::Serializer>(problem: &Problem, s: S) -> Result<S::Ok, S::Error> {
    use serde::ser::SerializeStruct;
    let mut object = s.serialize_struct("FileProblem", 3)?;
    object.serialize_field("path", &problem.path.to_string_lossy())?;
    object.serialize_field("kind", &problem.kind)?;
    object.serialize_field("cause", &problem.detail)?;
    object.end()
}

pub(crate) fn lossy<S: serde::Serializer>(path: &Path, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&path.to_string_lossy())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::problem::ProblemKind;

    #[test]
    fn a_file_problem_event_keeps_path_and_cause_and_gains_a_kind() {
        let event = Event::FileProblem(Problem::new(
            "/d/a.txt",
            ProblemKind::Unreadable,
            "cannot open: Permission denied (os error 13)",
        ));
        let json = serde_json::to_value(&event).unwrap();
        assert_eq!(json["event"], "file_problem");
        assert_eq!(json["path"], "/d/a.txt");
        assert_eq!(json["kind"], "unreadable");
        assert_eq!(
            json["cause"],
            "cannot open: Permission denied (os error 13)"
        );
    }
}
