//! The source files of a disc being written, checked against what was scanned: before the
//! image is streamed (so that a stale disc fails before gigabytes are written) and again after
//! each file has been read into it. A source that grew, shrank, vanished, became a folder or
//! cannot be read stops that disc with its path named: a disc holding the first bytes of a file
//! that has more, or none of it, would be a silent loss.
//!
//! The bytes themselves are checked by hash as they stream (`Watch` in `mod.rs`); a file that
//! only grew has the scanned bytes first, so its size is what tells.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io;

use discfs::NodeId;

use crate::disc::contents::ExpectedSource;
use crate::error::{Error, Result};
use crate::problem::ProblemKind;

/// Checks every source of disc `disc` now, in path order: each must still be a regular file of
/// its scanned size that can be opened for reading.
pub(super) fn check_all(disc: u32, expected: &HashMap<NodeId, ExpectedSource>) -> Result<()> {
    let mut sources: Vec<&ExpectedSource> = expected.values().collect();
    sources.sort_by(|a, b| a.path.cmp(&b.path));
    for source in sources {
        check(disc, source)?;
        File::open(&source.path).map_err(|e| read_error(disc, source, e))?;
    }
    Ok(())
}

/// Checks that `source` is still a regular file of its scanned size.
pub(super) fn check(disc: u32, source: &ExpectedSource) -> Result<()> {
    let meta = fs::symlink_metadata(&source.path).map_err(|e| read_error(disc, source, e))?;
    let kind = meta.file_type();
    let what = if kind.is_dir() {
        "it is now a folder".to_owned()
    } else if kind.is_symlink() {
        "it is now a symlink".to_owned()
    } else if !kind.is_file() {
        "it is no longer a regular file".to_owned()
    } else if meta.len() > source.size {
        format!("it grew from {} to {} bytes", source.size, meta.len())
    } else if meta.len() < source.size {
        format!("it shrank from {} to {} bytes", source.size, meta.len())
    } else {
        return Ok(());
    };
    Err(changed(disc, source, what))
}

/// What a failure to open or read `source` means: it is gone or a folder now (changed), or it
/// cannot be read.
pub(super) fn read_error(disc: u32, source: &ExpectedSource, e: io::Error) -> Error {
    match e.kind() {
        io::ErrorKind::NotFound => Error::source_changed(
            disc,
            &source.path,
            ProblemKind::Missing,
            "it no longer exists",
        ),
        io::ErrorKind::IsADirectory => changed(disc, source, "it is now a folder".into()),
        _ => Error::source_unreadable(disc, &source.path, &e),
    }
}

fn changed(disc: u32, source: &ExpectedSource, what: String) -> Error {
    Error::source_changed(disc, &source.path, ProblemKind::Changed, what)
}

/// Whether `e` concerns one disc's sources only, so that the other discs of the run can still
/// be written.
pub(super) fn is_one_discs_problem(e: &Error) -> bool {
    matches!(
        e,
        Error::SourceChanged { .. } | Error::SourceUnreadable { .. }
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::HashAlgorithm;
    use std::path::Path;

    fn expected(path: &Path, size: u64) -> ExpectedSource {
        ExpectedSource {
            hash: HashAlgorithm::Sha256.hasher().finish(),
            path: path.to_path_buf(),
            size,
        }
    }

    fn what(e: Error) -> String {
        match e {
            Error::SourceChanged { problem, .. } => problem.detail,
            other => panic!("not a change: {other}"),
        }
    }

    #[test]
    fn a_source_as_scanned_passes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"12345").unwrap();
        check(1, &expected(&path, 5)).unwrap();
    }

    #[test]
    fn growth_shrinking_vanishing_and_a_folder_are_changes() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        fs::write(&path, b"12345").unwrap();
        assert_eq!(
            what(check(1, &expected(&path, 4)).unwrap_err()),
            "it grew from 4 to 5 bytes"
        );
        assert_eq!(
            what(check(1, &expected(&path, 6)).unwrap_err()),
            "it shrank from 6 to 5 bytes"
        );
        let gone = dir.path().join("gone");
        assert_eq!(
            what(check(1, &expected(&gone, 1)).unwrap_err()),
            "it no longer exists"
        );
        assert_eq!(
            what(check(1, &expected(dir.path(), 1)).unwrap_err()),
            "it is now a folder"
        );
    }

    #[test]
    fn other_read_errors_are_unreadable_sources() {
        let e = read_error(
            3,
            &expected(Path::new("/x"), 1),
            io::Error::from(io::ErrorKind::PermissionDenied),
        );
        assert!(matches!(e, Error::SourceUnreadable { disc: 3, .. }), "{e}");
        assert!(is_one_discs_problem(&e));
        assert!(!is_one_discs_problem(&Error::Interrupted));
    }

    #[test]
    fn each_source_problem_carries_its_path_and_kind() {
        use crate::problem::ProblemKind;
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone");
        let e = check(2, &expected(&gone, 1)).unwrap_err();
        let problem = e.problem().expect("a source problem");
        assert_eq!(
            (problem.path.as_path(), problem.kind),
            (gone.as_path(), ProblemKind::Missing)
        );
        let path = dir.path().join("f");
        fs::write(&path, b"12345").unwrap();
        let e = check(2, &expected(&path, 4)).unwrap_err();
        assert_eq!(e.problem().map(|p| p.kind), Some(ProblemKind::Changed));
        assert_eq!(
            e.to_string(),
            format!(
                "disc 2: {}: changed since it was scanned (it grew from 4 to 5 bytes)",
                path.display()
            )
        );
        let denied = io::Error::from(io::ErrorKind::PermissionDenied);
        let e = read_error(2, &expected(&path, 5), denied);
        assert_eq!(e.problem().map(|p| p.kind), Some(ProblemKind::Unreadable));
        assert!(e.to_string().ends_with("; that disc is not written"), "{e}");
    }
}
