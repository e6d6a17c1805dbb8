//! One module per command: parse, call the library, print.

pub mod archive;
pub mod discs;
pub mod history;
pub mod info;
pub mod json;
pub mod locate;
pub mod merge;
pub mod plan;
pub mod restore;
pub mod scan;
pub mod status;
pub mod verify;
pub mod write;

/// The catalogue at `--catalogue`, or, when there is none, one read from the discs given
/// (into a private temporary folder, removed when the [`DiscCatalogue`] is dropped or
/// [`DiscCatalogue::remove`]d, on error exits too). The local
/// catalogue is opened for writing when `writable` (verify records verified discs).
/// `timezone` is that of odarchive 0.1's zone-less times, when the discs are 0.1's.
pub fn catalogue_or_discs(
    global: &crate::Global,
    discs: &[std::path::PathBuf],
    writable: bool,
    timezone: Option<&str>,
) -> anyhow::Result<(odarchive::Catalogue, Option<DiscCatalogue>)> {
    if global.catalogue.exists() {
        let catalogue = if writable {
            odarchive::Catalogue::open(&global.catalogue)?
        } else {
            odarchive::Catalogue::open_read_only(&global.catalogue)?
        };
        return Ok((catalogue, None));
    }
    eprintln!(
        "no catalogue at {}: using the catalogue stored on the discs",
        global.catalogue.display()
    );
    let temp = DiscCatalogue::new()?;
    let catalogue = odarchive::reader::catalogue_from_discs_in_zone(discs, &temp.file(), timezone)?;
    Ok((catalogue, Some(temp)))
}

/// The snapshot a `--snapshot ID|latest|DATE` option names, if it was given.
pub fn snapshot_arg(
    catalogue: &odarchive::Catalogue,
    spec: Option<&str>,
) -> odarchive::Result<Option<i64>> {
    spec.map(|s| odarchive::restore::select::snapshot_named(catalogue, s))
        .transpose()
}

/// A catalogue file made for one command from a disc's catalogue, with its SQLite side files,
/// in a folder of its own under the temporary directory: mode 0700, an unpredictable name, and
/// removed with all it holds when this is dropped (every exit path but a kill).
#[derive(Debug)]
pub struct DiscCatalogue {
    folder: tempfile::TempDir,
}

impl DiscCatalogue {
    fn new() -> anyhow::Result<DiscCatalogue> {
        let folder = tempfile::Builder::new()
            .prefix("odarchive-from-disc-")
            .tempdir()
            .map_err(|e| {
                let tmp = std::env::temp_dir();
                anyhow::anyhow!("cannot make a temporary folder in {}: {e}", tmp.display())
            })?;
        Ok(DiscCatalogue { folder })
    }

    /// The catalogue file.
    pub fn file(&self) -> std::path::PathBuf {
        self.folder.path().join("catalogue.db")
    }

    /// Removes the folder now.
    pub fn remove(self) {
        let _ = self.folder.close();
    }
}

/// A catalogue file made under a temporary name beside its final one (`import-json`).
#[derive(Debug)]
pub struct TempCatalogue(pub std::path::PathBuf);

impl TempCatalogue {
    /// Removes the file and its SQLite companions.
    pub fn remove(&self) {
        for suffix in ["", "-wal", "-shm", "-journal"] {
            let mut p = self.0.clone().into_os_string();
            p.push(suffix);
            let _ = std::fs::remove_file(p);
        }
    }
}
