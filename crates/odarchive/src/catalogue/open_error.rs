//! Why a catalogue cannot be opened for writing, in the file system's words.
//!
//! SQLite says only "unable to open database file" (or "attempt to write a readonly
//! database"), whether the folder is missing, read-only or not ours. The catalogue needs to
//! write the file and, beside it, its `-wal` and `-shm` files: this asks the file system
//! directly and names the file or folder that refuses, with the cause ("Read-only file system",
//! "Permission denied", "No such file or directory").

use std::fs::{self, OpenOptions};
use std::io;
use std::path::Path;

use rusqlite::ErrorCode;

use crate::error::Error;

/// `error`, or a clearer one when it is SQLite failing to open or write `path` and the file
/// system says why.
pub(super) fn explain(path: &Path, error: Error) -> Error {
    let Error::Catalogue { source, .. } = &error else {
        return error;
    };
    let code = source.0.sqlite_error_code();
    if !matches!(code, Some(ErrorCode::CannotOpen | ErrorCode::ReadOnly)) {
        return error;
    }
    if path.exists() {
        if let Err(source) = OpenOptions::new().read(true).write(true).open(path) {
            return Error::CatalogueFile {
                path: path.to_path_buf(),
                source,
            };
        }
    }
    let folder = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    match probe_folder(folder, path) {
        Err(source) => Error::CatalogueFolder {
            path: path.to_path_buf(),
            folder: folder.to_path_buf(),
            source,
        },
        Ok(()) => error,
    }
}

/// Creates and removes a file in `folder`, as SQLite must for the catalogue's side files.
fn probe_folder(folder: &Path, path: &Path) -> io::Result<()> {
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let probe = folder.join(format!(".{name}.probe-{}", std::process::id()));
    OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&probe)?;
    fs::remove_file(&probe)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::Catalogue;

    #[test]
    fn a_missing_folder_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("no such folder/cat.db");
        let err = Catalogue::create_or_open(&path).unwrap_err();
        assert!(
            matches!(&err, Error::CatalogueFolder { folder, source, .. }
                if folder == &dir.path().join("no such folder")
                    && source.kind() == io::ErrorKind::NotFound),
            "{err}"
        );
        let message = crate::error::chain(&err);
        assert!(
            message.contains("no such folder") && message.contains("No such file"),
            "{message}"
        );
    }

    #[test]
    fn other_errors_are_left_alone() {
        let err = Error::Interrupted;
        assert!(matches!(explain(Path::new("x"), err), Error::Interrupted));
    }
}
