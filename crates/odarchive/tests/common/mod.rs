//! Helpers shared by the library's integration tests.

use std::path::{Path, PathBuf};

use odarchive::{
    Catalogue, Media, NoProgress, PlanOptions, ScanOptions, WriteOptions, WrittenDisc,
};

/// Scans `drive`, plans it onto 5 MB discs and writes their images into `out`; the images.
pub fn scan_plan_write(catalogue: &mut Catalogue, drive: &Path, out: &Path) -> Vec<PathBuf> {
    odarchive::scan(catalogue, drive, &ScanOptions::default(), &NoProgress).unwrap();
    plan_5m(catalogue, 0);
    write_all(catalogue, out)
        .iter()
        .map(|w| w.path.clone())
        .collect()
}

/// Plans what the catalogue's last scan found onto 5 MB discs with `parity` percent.
pub fn plan_5m(catalogue: &mut Catalogue, parity: u8) {
    let options = PlanOptions {
        media: Media::parse("5M").unwrap(),
        margin: 0,
        first: vec![],
        replan: false,
        parity,
        set_parity: Default::default(),
    };
    odarchive::plan(catalogue, &options, &NoProgress).unwrap();
}

/// Writes every disc not yet written into `out`.
pub fn write_all(catalogue: &mut Catalogue, out: &Path) -> Vec<WrittenDisc> {
    let options = WriteOptions {
        out: out.to_path_buf(),
        ..WriteOptions::default()
    };
    odarchive::write(catalogue, &options, &NoProgress).unwrap()
}
