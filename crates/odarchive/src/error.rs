//! Errors of the odarchive library.
//!
//! Policy:
//! - Every fallible public function returns [`Result<T>`] with this crate's [`Error`]. No
//!   `anyhow`, no panics on I/O: a panic is a bug.
//! - An error names what it concerns (the catalogue file, the drive path, the pattern) and keeps
//!   its cause as `source`, once: its message does not repeat the cause, so a caller prints the
//!   whole chain ([`chain`]) and every cause appears in it exactly once.
//! - Messages say what happened, not what to run next: hints such as "run `odarchive plan`"
//!   belong to the front end (the CLI adds them in one place).
//! - Problems with *single files* during a scan (unreadable, vanished, changed while read) are not
//!   errors of the operation: the scan records them, reports them as [`Problem`]s through
//!   [`crate::progress::Progress`] and goes on. The summary says how many there were.
//! - Deciding what an error means to a user (exit codes, hints) is the caller's business.

use std::fmt;
use std::io;
use std::path::PathBuf;

use crate::problem::{Problem, ProblemKind};

/// One error a line (with its causes), indented.
fn list(errors: &[Error]) -> String {
    let lines: Vec<String> = errors.iter().map(|e| format!("  {}", chain(e))).collect();
    lines.join("\n")
}

/// `error` and its causes on one line: `cannot write /out/ODA_1.iso.partial: No space left on
/// device (os error 28)`. What a caller that keeps an error as text (a job's message, a log)
/// stores. A cause whose text the line already holds is not repeated (errors of other crates
/// may print their cause and return it as `source()` too).
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        let more = e.to_string();
        if !text.contains(&more) {
            text.push_str(": ");
            text.push_str(&more);
        }
        cause = e.source();
    }
    text
}

impl Error {
    /// Disc `disc`'s source `path` changed since it was scanned (`kind`: changed, or missing
    /// when it is gone): `what` differs.
    pub(crate) fn source_changed(
        disc: u32,
        path: impl Into<PathBuf>,
        kind: ProblemKind,
        what: impl Into<String>,
    ) -> Error {
        Error::SourceChanged {
            disc,
            problem: Problem::new(path, kind, what),
        }
    }

    /// Disc `disc`'s source `path` cannot be read: `error`.
    pub(crate) fn source_unreadable(
        disc: u32,
        path: impl Into<PathBuf>,
        error: &io::Error,
    ) -> Error {
        Error::SourceUnreadable {
            disc,
            problem: Problem::new(path, ProblemKind::Unreadable, error.to_string()),
        }
    }

    /// The problem with one source file this error is about, if it is one
    /// ([`Error::SourceChanged`], [`Error::SourceUnreadable`]).
    pub fn problem(&self) -> Option<&Problem> {
        match self {
            Error::SourceChanged { problem, .. } | Error::SourceUnreadable { problem, .. } => {
                Some(problem)
            }
            _ => None,
        }
    }
}

/// Result type of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Something that stopped an operation.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The catalogue file does not exist and the operation does not create one.
    #[error("catalogue {path} does not exist")]
    NoCatalogue {
        /// The catalogue file asked for.
        path: PathBuf,
    },

    /// The catalogue was written by a newer odarchive whose schema this one does not know.
    #[error(
        "catalogue {path} has schema version {found}, but this odarchive knows versions up to \
         {supported}"
    )]
    NewerSchema {
        /// The catalogue file.
        path: PathBuf,
        /// Schema version found in the file.
        found: i64,
        /// Newest schema version this build knows.
        supported: i64,
    },

    /// A new catalogue was asked for where one already exists.
    #[error(
        "catalogue {path} already exists{}; not created again",
        algorithm.as_ref().map(|a| format!(" (hashing with {a})")).unwrap_or_default()
    )]
    CatalogueExists {
        /// The catalogue file.
        path: PathBuf,
        /// Its hash algorithm, when it was found to differ from the one asked for.
        algorithm: Option<String>,
    },

    /// The catalogue records its contents with a hash algorithm this build does not know.
    #[error(
        "catalogue {path} hashes its contents with {name:?}, which this odarchive does not know \
         (it knows sha256 and sha512)"
    )]
    UnknownHashAlgorithm {
        /// The catalogue file.
        path: PathBuf,
        /// The algorithm's name as stored.
        name: String,
    },

    /// SQLite failed on the catalogue.
    #[error("catalogue {path}")]
    Catalogue {
        /// The catalogue file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: crate::catalogue::DatabaseError,
    },

    /// The catalogue file itself could not be examined.
    #[error("cannot access catalogue {path}")]
    CatalogueFile {
        /// The catalogue file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },

    /// The catalogue's folder does not let it be created or written (the catalogue needs its
    /// `-wal` and `-shm` files beside it).
    #[error("cannot write catalogue {path}: its folder {folder}")]
    CatalogueFolder {
        /// The catalogue file.
        path: PathBuf,
        /// Its folder.
        folder: PathBuf,
        /// Why (read-only file system, permission denied, missing).
        #[source]
        source: io::Error,
    },

    /// The catalogue holds data this version cannot make sense of.
    #[error("catalogue {path} is damaged: {reason}")]
    Corrupt {
        /// The catalogue file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// The drive path to scan could not be used.
    #[error("cannot scan {path}")]
    DrivePath {
        /// The drive path as given.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },

    /// The drive path is not a directory.
    #[error("cannot scan {path}: not a directory")]
    NotADirectory {
        /// The drive path as given.
        path: PathBuf,
    },

    /// An `--exclude` pattern is not a valid glob.
    #[error("invalid exclude pattern {pattern:?}")]
    ExcludePattern {
        /// The pattern as given.
        pattern: String,
        /// Why globset refused it.
        #[source]
        source: globset::Error,
    },

    /// Another process is running a job on the same catalogue.
    #[error("catalogue {path} is busy: job {job} ({kind}) is running as pid {pid} on {hostname}")]
    Busy {
        /// The catalogue file.
        path: PathBuf,
        /// The running job's id.
        job: i64,
        /// The running job's kind, e.g. `scan`.
        kind: String,
        /// Its process id.
        pid: i64,
        /// The host it runs on.
        hostname: String,
    },

    /// The catalogue holds no complete snapshot yet.
    #[error("catalogue {path} holds no complete snapshot yet")]
    NoSnapshot {
        /// The catalogue file.
        path: PathBuf,
    },

    /// The operation was cancelled (Ctrl-C); everything done so far is committed.
    #[error("interrupted; what was done so far is saved and the next run resumes it")]
    Interrupted,

    /// `--media` is neither a known medium nor a size.
    #[error("invalid medium {text:?}: {reason}")]
    BadMedia {
        /// The text as given.
        text: String,
        /// What is wrong, with the valid names.
        reason: String,
    },

    /// The capacity (less the margin) cannot hold even a disc's own files and file systems
    /// with the first content to place (or one sector of it).
    #[error(
        "a disc of {capacity} bytes (after the margin) is too small: the smallest disc that \
         holds any data (its README, catalogue and file systems, and the first file or one \
         sector of it) needs {needed} bytes"
    )]
    CapacityTooSmall {
        /// Usable bytes per disc.
        capacity: u64,
        /// Bytes the smallest useful disc needs.
        needed: u64,
    },

    /// There is nothing to put on discs.
    #[error("nothing to plan: {reason}")]
    NothingToPlan {
        /// Why (empty snapshot, everything already on written discs, ...).
        reason: String,
    },

    /// A `--first` path is not in the snapshot being planned.
    #[error("--first {path}: no such file or directory in snapshot {snapshot}")]
    FirstNotFound {
        /// The path as given.
        path: String,
        /// The snapshot planned.
        snapshot: i64,
    },

    /// The current plan has written discs, so it cannot simply be replaced.
    #[error("discs {discs} of the current plan are already written")]
    PlanHasWrittenDiscs {
        /// The written discs, e.g. `1, 2`.
        discs: String,
    },

    /// No plan has been made yet.
    #[error("no discs are planned")]
    NoPlan,

    /// A disc number that is not planned.
    #[error("there is no disc {number}")]
    NoSuchDisc {
        /// The number asked for.
        number: u32,
    },

    /// A source file of a disc being written no longer matches the catalogue: other bytes,
    /// another size, gone, a folder now ([`ProblemKind::Changed`] or
    /// [`ProblemKind::Missing`]). That disc is not written.
    #[error(
        "disc {disc}: {}: changed since it was scanned ({})",
        problem.path.display(),
        problem.detail
    )]
    SourceChanged {
        /// The disc being written.
        disc: u32,
        /// The source file (a path on the drive) and what differs.
        problem: Problem,
    },

    /// A source file of a disc being written cannot be read (no permission, an I/O error:
    /// [`ProblemKind::Unreadable`]): that disc is not written.
    #[error(
        "disc {disc}: cannot read {}: {}; that disc is not written",
        problem.path.display(),
        problem.detail
    )]
    SourceUnreadable {
        /// The disc being written.
        disc: u32,
        /// The source file (a path on the drive) and the system's error.
        problem: Problem,
    },

    /// Several discs of a `write` run were not written, each for a source that changed or
    /// cannot be read ([`Error::SourceChanged`], [`Error::SourceUnreadable`]); the other discs
    /// were written.
    #[error("{} discs not written:\n{}", .errors.len(), list(.errors))]
    DiscsNotWritten {
        /// Why each was not written, in disc order.
        errors: Vec<Error>,
    },

    /// A source file could not be read.
    #[error("cannot read {path}")]
    SourceRead {
        /// The source file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },

    /// Writing an image or its output directory failed.
    #[error("cannot write {path}")]
    Output {
        /// The image file or output directory.
        path: PathBuf,
        /// Why (a full disk shows here as "No space left on device").
        #[source]
        source: io::Error,
    },

    /// The image crate refused a disc's tree or layout.
    #[error("disc {disc}")]
    DiscImage {
        /// The disc.
        disc: u32,
        /// What the image crate said.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// A disc's layout no longer matches the plan (the catalogue was changed under it).
    #[error("disc {disc}: planned as {planned} bytes but it now lays out as {actual}")]
    PlanMismatch {
        /// The disc.
        disc: u32,
        /// Planned image size.
        planned: u64,
        /// Size now.
        actual: u64,
    },

    /// Reading or writing a file (an image, a restored file) failed.
    #[error("{}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },

    /// A snapshot named on the command line that the catalogue does not have.
    #[error("no snapshot {spec:?} in catalogue {path}: {reason}")]
    NoSuchSnapshot {
        /// The catalogue file.
        path: PathBuf,
        /// The snapshot as named.
        spec: String,
        /// Why it does not resolve.
        reason: String,
    },

    /// A path pattern (restore, locate) is not a valid glob.
    #[error("invalid path pattern {pattern:?}")]
    Pattern {
        /// The pattern as given.
        pattern: String,
        /// Why globset refused it.
        #[source]
        source: globset::Error,
    },

    /// A disc (image or mounted) could not be read.
    #[error(transparent)]
    Disc(#[from] crate::reader::DiscError),

    /// An import into a catalogue that already holds snapshots.
    #[error("catalogue {} already holds snapshots", path.display())]
    NotEmpty {
        /// The catalogue file.
        path: PathBuf,
        /// What was to be imported.
        input: PathBuf,
    },

    /// A time zone that is neither an IANA name nor a fixed offset.
    #[error("unknown time zone {0:?}")]
    BadTimezone(String),
    /// `odarchive merge` found conflicts (or was asked to merge a catalogue into itself);
    /// nothing was merged.
    #[error(
        "cannot merge {} into {}; nothing was merged: {}",
        other.display(),
        catalogue.display(),
        reasons.join("; ")
    )]
    MergeRefused {
        /// This catalogue.
        catalogue: PathBuf,
        /// The catalogue to merge in.
        other: PathBuf,
        /// Every conflict found.
        reasons: Vec<String>,
    },

    /// A disc of another archive set, brought in by `odarchive merge`, cannot be written here:
    /// its image holds its own set's catalogue and README.
    #[error(
        "disc {number} ({label}) is a disc of archive set {set_id}, merged from another \
         catalogue; its image can only be written from that catalogue"
    )]
    ForeignDisc {
        /// Its number here.
        number: u32,
        /// Its label.
        label: String,
        /// Its set.
        set_id: String,
    },

    /// A disc made by odarchive 0.1 cannot be written again: its files are on the old disc,
    /// and this catalogue knows nothing of its layout.
    #[error("disc {number} ({label}) was made by odarchive 0.1; its image cannot be made again")]
    V01Disc {
        /// Its number here.
        number: u32,
        /// Its label.
        label: String,
    },

    /// A file given to read (catalogue JSON to import) cannot be opened.
    #[error("cannot open {path}")]
    Input {
        /// The file.
        path: PathBuf,
        /// Why.
        #[source]
        source: io::Error,
    },

    /// Imported catalogue JSON could not be merged into the catalogue there (its
    /// [`Error::MergeRefused`] says why); nothing changed.
    #[error("cannot merge {} into {}", input.display(), catalogue.display())]
    MergeImport {
        /// The JSON imported.
        input: PathBuf,
        /// The catalogue it was to be merged into.
        catalogue: PathBuf,
        /// Why the merge failed.
        #[source]
        source: Box<Error>,
    },

    /// A disc could not be repaired at all (no parity on it, an image that cannot be read or
    /// written); a disc repaired only in part is no error.
    #[error("cannot repair {}", path.display())]
    Repair {
        /// The image or device.
        path: PathBuf,
        /// Why.
        #[source]
        source: discfs::parity::ParityError,
    },

    /// A disc cannot be burnt, or its burn failed (the reason names the image, the device or
    /// the program).
    #[error("burn: {reason}")]
    Burn {
        /// What is wrong.
        reason: String,
    },

    /// A GNU ddrescue map that cannot be read as one.
    #[error("{}: not a GNU ddrescue map: {reason}", path.display())]
    BadMap {
        /// The map file.
        path: PathBuf,
        /// What is wrong, with its line.
        reason: discfs::parity::MapError,
    },

    /// A worker thread panicked. This is a bug.
    /// Parity discs across a set: a refused option, a fold, a rebuild from the group.
    #[error(transparent)]
    SetParity(#[from] crate::set_parity::SetParityError),

    #[error("internal error: {0}")]
    Internal(String),
}

/// What went wrong with one file during a scan. The scan records it and goes on.
#[derive(Debug)]
pub struct FileProblem {
    /// The file, as an absolute path.
    pub path: PathBuf,
    /// What happened.
    pub cause: FileProblemCause,
}

/// The cause of a [`FileProblem`].
#[derive(Debug)]
#[non_exhaustive]
pub enum FileProblemCause {
    /// The file could not be opened.
    Open(io::Error),
    /// Reading or stat-ing the open file failed.
    Read(io::Error),
    /// The file disappeared between listing and reading.
    Vanished,
    /// Size, mtime or identity differed between listing and the end of reading.
    Changed {
        /// What differed, e.g. `size 10 -> 25`.
        what: String,
    },
    /// A directory could not be listed; its contents are missing from the snapshot.
    ListDirectory(io::Error),
    /// Metadata of a directory entry could not be read.
    Stat(io::Error),
}

impl fmt::Display for FileProblemCause {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FileProblemCause::Open(e) => write!(f, "cannot open: {e}"),
            FileProblemCause::Read(e) => write!(f, "cannot read: {e}"),
            FileProblemCause::Vanished => write!(f, "vanished before it could be read"),
            FileProblemCause::Changed { what } => write!(f, "changed while being read ({what})"),
            FileProblemCause::ListDirectory(e) => write!(f, "cannot list directory: {e}"),
            FileProblemCause::Stat(e) => write!(f, "cannot read metadata: {e}"),
        }
    }
}

impl fmt::Display for FileProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.cause)
    }
}
