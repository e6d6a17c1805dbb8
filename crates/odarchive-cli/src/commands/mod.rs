//! One module per command: parse, call the library, print.

pub mod archive;
pub mod burn;
pub mod discs;
pub mod history;
pub mod info;
pub mod json;
pub mod locate;
pub mod merge;
pub mod mount;
pub mod plan;
pub mod repair;
pub mod restore;
pub mod scan;
pub mod serve;
pub mod status;
pub mod verify;
pub mod write;

/// The catalogue at `--catalogue`, or, when there is none, one read from the discs given
/// ([`odarchive::reader::temporary`]: a private temporary folder, removed when the
/// [`DiscCatalogue`] is dropped or removed, on error exits too). The local catalogue is opened
/// for writing when `writable` (verify records verified discs). `timezone` is that of
/// odarchive 0.1's zone-less times, when the discs are 0.1's.
pub fn catalogue_or_discs(
    global: &crate::Global,
    discs: &[std::path::PathBuf],
    writable: bool,
    timezone: Option<&str>,
) -> anyhow::Result<(odarchive::Catalogue, Option<DiscCatalogue>)> {
    if !global.catalogue.exists() {
        eprintln!(
            "no catalogue at {}: using the catalogue stored on the discs",
            global.catalogue.display()
        );
    }
    Ok(odarchive::reader::temporary::open_or_read_from_discs(
        &global.catalogue,
        discs,
        writable,
        timezone,
    )?)
}

/// The snapshot a `--snapshot ID|latest|DATE` option names, if it was given.
pub fn snapshot_arg(
    catalogue: &odarchive::Catalogue,
    spec: Option<&str>,
) -> odarchive::Result<Option<i64>> {
    spec.map(|s| odarchive::restore::select::snapshot_named(catalogue, s))
        .transpose()
}

pub use odarchive::reader::temporary::DiscCatalogue;
