//! A problem with one file or folder, as every job reports it.
//!
//! A scan, a write, a verify and a restore each go on past a single file that cannot be
//! handled, and say afterwards which ones and why. They all say it with the same value, a
//! [`Problem`]: the path it concerns, a [`ProblemKind`] a program can act on (a web page
//! colours it, a script counts it), and the detail a person reads. The CLI prints
//! `path: detail`; `--json` and a future web page get all three fields.
//!
//! What a path is depends on the job, and each report's documentation says it: a file on the
//! drive (scan, write), a path on the disc (verify; the image or mount point for a problem of
//! the whole disc), or the file at the destination (restore; its path in the snapshot when
//! nothing could be written for it, the disc for a disc given that cannot be used).
//!
//! A problem is not an [`crate::Error`]: an error stops the operation, a problem is one file
//! that did not make it while the rest did.

use std::fmt;
use std::io;
use std::path::PathBuf;

use serde::Serialize;

use crate::error::{FileProblem, FileProblemCause};

/// One file or folder a job could not handle as it should, and why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    /// The file or folder (see the module documentation for what the path is relative to).
    #[serde(serialize_with = "crate::progress::lossy")]
    pub path: PathBuf,
    /// What kind of problem it is.
    pub kind: ProblemKind,
    /// What happened, in words: the system's error, what differed, what was found.
    pub detail: String,
}

impl Problem {
    /// A problem of `kind` with `path`, described by `detail`.
    pub fn new(path: impl Into<PathBuf>, kind: ProblemKind, detail: impl Into<String>) -> Problem {
        Problem {
            path: path.into(),
            kind,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.detail)
    }
}

/// What kind of problem a [`Problem`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProblemKind {
    /// It is not where it should be: gone from the drive, absent from the disc, or on a disc
    /// that was not given.
    Missing,
    /// Its bytes are not the ones the catalogue recorded.
    Corrupt,
    /// It could not be opened, read, listed or stat-ed.
    Unreadable,
    /// It changed while it was read, or since the scan that recorded it.
    Changed,
    /// It could not be written, or its attributes set, where it belongs.
    Unwritable,
    /// It is on the disc but not in the catalogue.
    Unexpected,
    /// A structure of the image that leads to it (a descriptor, directory or file entry) is
    /// damaged.
    Damaged,
}

impl ProblemKind {
    /// The kind of problem an I/O error while reading or writing a file means: `NotFound` is
    /// [`Missing`](ProblemKind::Missing), `InvalidData` is
    /// [`Corrupt`](ProblemKind::Corrupt), anything else
    /// [`Unreadable`](ProblemKind::Unreadable). A caller writing a file maps to
    /// [`Unwritable`](ProblemKind::Unwritable) itself.
    pub fn of_io(error: &io::Error) -> ProblemKind {
        match error.kind() {
            io::ErrorKind::NotFound => ProblemKind::Missing,
            io::ErrorKind::InvalidData => ProblemKind::Corrupt,
            _ => ProblemKind::Unreadable,
        }
    }

    /// Its name in JSON and on a web page: `missing`, `corrupt`, …
    pub fn name(self) -> &'static str {
        match self {
            ProblemKind::Missing => "missing",
            ProblemKind::Corrupt => "corrupt",
            ProblemKind::Unreadable => "unreadable",
            ProblemKind::Changed => "changed",
            ProblemKind::Unwritable => "unwritable",
            ProblemKind::Unexpected => "unexpected",
            ProblemKind::Damaged => "damaged",
        }
    }
}

impl fmt::Display for ProblemKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl From<&FileProblemCause> for ProblemKind {
    fn from(cause: &FileProblemCause) -> ProblemKind {
        match cause {
            FileProblemCause::Vanished => ProblemKind::Missing,
            FileProblemCause::Changed { .. } => ProblemKind::Changed,
            FileProblemCause::Open(e)
            | FileProblemCause::Read(e)
            | FileProblemCause::ListDirectory(e)
            | FileProblemCause::Stat(e) => match e.kind() {
                io::ErrorKind::NotFound => ProblemKind::Missing,
                _ => ProblemKind::Unreadable,
            },
        }
    }
}

impl From<&FileProblem> for Problem {
    fn from(problem: &FileProblem) -> Problem {
        Problem::new(
            problem.path.clone(),
            ProblemKind::from(&problem.cause),
            problem.cause.to_string(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_prints_as_path_and_detail_and_serialises_its_kind() {
        let p = Problem::new(
            "/d/a.txt",
            ProblemKind::Corrupt,
            "hash 12ab… found, 34cd… recorded",
        );
        assert_eq!(p.to_string(), "/d/a.txt: hash 12ab… found, 34cd… recorded");
        let json = serde_json::to_value(&p).unwrap();
        assert_eq!(json["kind"], "corrupt");
        assert_eq!(json["path"], "/d/a.txt");
        assert_eq!(json["detail"], "hash 12ab… found, 34cd… recorded");
    }

    #[test]
    fn io_errors_map_to_kinds() {
        let gone = io::Error::from(io::ErrorKind::NotFound);
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        assert_eq!(ProblemKind::of_io(&gone), ProblemKind::Missing);
        assert_eq!(ProblemKind::of_io(&denied), ProblemKind::Unreadable);
    }

    #[test]
    fn a_scan_problem_keeps_its_words() {
        let fp = FileProblem {
            path: "/d/b".into(),
            cause: FileProblemCause::Changed {
                what: "size 10 -> 25".into(),
            },
        };
        let p = Problem::from(&fp);
        assert_eq!(p.kind, ProblemKind::Changed);
        assert_eq!(p.to_string(), fp.to_string());
    }
}
