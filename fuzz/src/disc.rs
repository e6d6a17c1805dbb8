//! What odarchive does with a disc image it is given, on a hostile image: open it as a
//! [`DiscSource`], read its label, its root files and its catalogue, list and read its files,
//! identify it against a catalogue and verify it through each view.

use std::path::PathBuf;

use odarchive::Catalogue;
use odarchive::disc::{self, README_NAME};
use odarchive::reader::DiscSource;
use odarchive::reader::{disc_catalogue_json, identify, root_iso_name};
use odarchive::verify::{VerifyOptions, verify};
use tempfile::TempDir;

use crate::sink::BoundedSink;

/// Files of a disc read one by one after listing them.
const FILES_READ: usize = 256;

/// Names the environment variable giving an archive made by the `seeds` tool (a folder with
/// `odarchive.db`), so that the seed images are discs of the catalogue they are checked
/// against. Without it, a new archive is made (and the seeds are discs of another set).
pub const ARCHIVE_VAR: &str = "ODARCHIVE_FUZZ_ARCHIVE";

/// A catalogue to check images against and a file to put each image in.
#[derive(Debug)]
pub struct DiscBench {
    _dir: TempDir,
    image: PathBuf,
    catalogue: Catalogue,
}

impl DiscBench {
    /// Copies the catalogue named by [`ARCHIVE_VAR`] (or makes an archive) into a temporary
    /// folder, in memory when `/dev/shm` is there.
    pub fn new() -> Self {
        let shm = std::path::Path::new("/dev/shm");
        let dir = if shm.is_dir() {
            tempfile::tempdir_in(shm)
        } else {
            tempfile::tempdir()
        }
        .expect("temporary folder");
        let db = dir.path().join("odarchive.db");
        match std::env::var_os(ARCHIVE_VAR) {
            Some(archive) => {
                let from = PathBuf::from(archive).join("odarchive.db");
                std::fs::copy(&from, &db)
                    .unwrap_or_else(|e| panic!("{}: {e} (from {ARCHIVE_VAR})", from.display()));
            }
            None => {
                let made = dir.path().join("archive");
                crate::samples::archive(&made);
                std::fs::copy(made.join("odarchive.db"), &db).expect("catalogue copy");
            }
        }
        let catalogue = Catalogue::open(&db).expect("catalogue");
        DiscBench {
            image: dir.path().join("disc.iso"),
            _dir: dir,
            catalogue,
        }
    }

    /// Writes `image` to the image file and does with it all that identify, verify and
    /// restore do to read a disc. A bad image must give errors and verdicts, never a panic,
    /// and never an error of the whole operation.
    pub fn exercise(&mut self, image: &[u8]) {
        std::fs::write(&self.image, image).expect("image file");
        read_disc(&self.image);
        if let Ok(mut source) = DiscSource::open(&self.image) {
            let found = identify(&self.catalogue, &mut source);
            assert!(found.is_ok(), "identify failed as a whole: {found:?}");
        }
        for iso9660_only in [false, true] {
            let options = VerifyOptions {
                iso9660_only,
                snapshot: None,
            };
            let sources = [self.image.clone()];
            match verify(&mut self.catalogue, &sources, &options) {
                Ok(verdicts) => assert_eq!(verdicts.len(), 1, "one verdict per disc"),
                Err(e) => panic!("verify failed as a whole on one bad disc: {e}"),
            }
        }
    }
}

impl Default for DiscBench {
    fn default() -> Self {
        Self::new()
    }
}

/// Opens the image at `path` as a disc and reads what identify and restore read: label,
/// catalogue, README and checksum files, the list of files and each file; then the same
/// through the ISO 9660 view alone.
fn read_disc(path: &std::path::Path) {
    let mut buf = vec![0u8; 64 * 1024];
    for iso9660_only in [false, true] {
        let Ok(mut source) = DiscSource::open_with(path, iso9660_only) else {
            return;
        };
        let _ = (source.volume_label(), source.view(), source.udf_problem());
        if let Ok(Some(json)) = disc_catalogue_json(&mut source) {
            let _ = serde_json::from_slice::<serde_json::Value>(&json);
        }
        for name in [
            README_NAME,
            disc::sums_name(odarchive::HashAlgorithm::Sha256),
        ] {
            let _ = source.read_root_file(name, &root_iso_name(name));
        }
        let Ok(files) = source.files() else {
            continue;
        };
        for (file, _) in files.iter().take(FILES_READ) {
            let _ = source.copy_file(file, Some(file), None, &mut BoundedSink::new(), &mut buf);
        }
    }
}
