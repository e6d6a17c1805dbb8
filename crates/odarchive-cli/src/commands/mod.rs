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
/// (into a temporary file that the caller removes with [`TempCatalogue::remove`]). The local
/// catalogue is opened for writing when `writable` (verify records verified discs).
/// `timezone` is that of odarchive 0.1's zone-less times, when the discs are 0.1's.
pub fn catalogue_or_discs(
    global: &crate::Global,
    discs: &[std::path::PathBuf],
    writable: bool,
    timezone: Option<&str>,
) -> anyhow::Result<(odarchive::Catalogue, Option<TempCatalogue>)> {
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
    let file = std::env::temp_dir().join(format!("odarchive-from-disc-{}.db", std::process::id()));
    let temp = TempCatalogue(file.clone());
    temp.remove();
    let catalogue = odarchive::restore::catalogue_from_discs_in_zone(discs, &file, timezone)?;
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

/// A catalogue file made for one command from a disc's catalogue.
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
