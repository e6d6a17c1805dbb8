//! Helpers shared by the library's integration tests.

use std::path::{Path, PathBuf};

use odarchive::{Catalogue, Media, NoProgress, PlanOptions, ScanOptions, WriteOptions};

/// Scans `drive`, plans it onto 5 MB discs and writes their images into `out`; the images.
pub fn scan_plan_write(catalogue: &mut Catalogue, drive: &Path, out: &Path) -> Vec<PathBuf> {
    odarchive::scan(catalogue, drive, &ScanOptions::default(), &NoProgress).unwrap();
    let options = PlanOptions {
        media: Media::parse("5M").unwrap(),
        margin: 0,
        first: vec![],
        replan: false,
        parity: 0,
    };
    odarchive::plan(catalogue, &options, &NoProgress).unwrap();
    let written = odarchive::write(
        catalogue,
        &WriteOptions {
            out: out.to_path_buf(),
            ..WriteOptions::default()
        },
        &NoProgress,
    )
    .unwrap();
    written.iter().map(|w| w.path.clone()).collect()
}
