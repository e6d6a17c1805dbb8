//! Catalogues made for one command: one read from the discs themselves when there is no
//! catalogue at hand (verify, restore), in a private folder removed when it is done.

use std::path::{Path, PathBuf};

use crate::catalogue::Catalogue;
use crate::error::{Error, Result};

/// A catalogue file made for one command from a disc's catalogue, with its SQLite side files,
/// in a folder of its own under the temporary directory: mode 0700, an unpredictable name, and
/// removed with all it holds when this is dropped (every exit path but a kill).
#[derive(Debug)]
pub struct DiscCatalogue {
    folder: tempfile::TempDir,
}

impl DiscCatalogue {
    /// A new, empty folder for it.
    pub fn new() -> Result<DiscCatalogue> {
        use std::os::unix::fs::PermissionsExt;
        // Only its owner may look in: the catalogue lists every file name of the archive.
        let folder = tempfile::Builder::new()
            .prefix("odarchive-from-disc-")
            .permissions(std::fs::Permissions::from_mode(0o700))
            .tempdir()
            .map_err(|source| Error::Output {
                path: std::env::temp_dir(),
                source,
            })?;
        Ok(DiscCatalogue { folder })
    }

    /// The catalogue file.
    pub fn file(&self) -> PathBuf {
        self.folder.path().join("catalogue.db")
    }

    /// Removes the folder now.
    pub fn remove(self) {
        let _ = self.folder.close();
    }
}

/// The catalogue at `path`, or, when there is none, one read from the `discs` given into a
/// [`DiscCatalogue`] (returned with it, to be dropped when the command is done). The catalogue
/// at `path` is opened for writing when `writable` (verify records verified discs).
/// `timezone` is that of odarchive 0.1's zone-less times, when the discs are 0.1's.
pub fn open_or_read_from_discs(
    path: &Path,
    discs: &[PathBuf],
    writable: bool,
    timezone: Option<&str>,
) -> Result<(Catalogue, Option<DiscCatalogue>)> {
    if path.exists() {
        let catalogue = if writable {
            Catalogue::open(path)?
        } else {
            Catalogue::open_read_only(path)?
        };
        return Ok((catalogue, None));
    }
    let temp = DiscCatalogue::new()?;
    let catalogue = super::catalogue_from_discs_in_zone(discs, &temp.file(), timezone)?;
    Ok((catalogue, Some(temp)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_disc_catalogue_folder_is_private_and_goes_when_dropped() {
        use std::os::unix::fs::PermissionsExt;
        let temp = DiscCatalogue::new().unwrap();
        let folder = temp.file().parent().unwrap().to_path_buf();
        let mode = std::fs::metadata(&folder).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o700);
        std::fs::write(temp.file(), b"x").unwrap();
        drop(temp);
        assert!(!folder.exists());
    }

    #[test]
    fn with_no_catalogue_and_no_readable_disc_nothing_is_left() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("none.db");
        let disc = dir.path().join("not-a-disc.iso");
        std::fs::write(&disc, b"nothing").unwrap();
        assert!(open_or_read_from_discs(&missing, &[disc], false, None).is_err());
        assert!(!missing.exists());
    }
}
