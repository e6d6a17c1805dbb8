//! The catalogue JSON as a file: exported whole or not at all, and imported into a new
//! catalogue or merged into the one that is there (`odarchive export-json`, `import-json`).

use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::Path;

use super::import::{ImportOptions, ImportSummary};
use super::{Catalogue, MergeReport};
use crate::atomic::{AtomicFile, SQLITE_COMPANIONS, TempPath, with_suffix};
use crate::error::{Error, Result};

/// Whether `path` names a gzipped file (`.gz`).
pub fn gzipped(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}

impl Catalogue {
    /// Writes the whole catalogue as JSON to the file `path`, gzipped when its name ends in
    /// `.gz`, through a temporary name beside it ([`crate::atomic`]): an interrupted export
    /// leaves no truncated catalogue behind. Returns the file's size.
    pub fn export_json_file(&self, path: &Path) -> Result<u64> {
        let partial = with_suffix(path, ".partial");
        let out_err = |source| Error::Output {
            path: partial.clone(),
            source,
        };
        let mut file = AtomicFile::create(path, ".partial").map_err(out_err)?;
        if gzipped(path) {
            let gz = flate2::write::GzEncoder::new(
                BufWriter::new(file.file()),
                flate2::Compression::default(),
            );
            let gz = self.export_json(gz, path)?;
            gz.finish().and_then(|mut w| w.flush()).map_err(out_err)?;
        } else {
            let mut w = self.export_json(BufWriter::new(file.file()), path)?;
            w.flush().map_err(out_err)?;
        }
        file.commit().map_err(|source| Error::Output {
            path: path.to_path_buf(),
            source,
        })?;
        std::fs::metadata(path)
            .map(|m| m.len())
            .map_err(|source| Error::Output {
                path: path.to_path_buf(),
                source,
            })
    }
}

/// What [`import_json_file`] did: the import, and the merge when there was one.
#[derive(Debug)]
pub struct ImportedJson {
    /// What the document held.
    pub summary: ImportSummary,
    /// How it was merged into the catalogue that was there, if it held snapshots.
    pub merged: Option<MergeReport>,
}

/// Imports catalogue JSON read from `json` (`what` names it) into the catalogue file
/// `catalogue`: it becomes that catalogue when there is none or it holds no snapshot yet, or
/// it is merged into it ([`Catalogue::merge`]: conflicting discs or sets are refused, nothing
/// changes). The document is first imported into a catalogue of its own under a temporary name
/// beside `catalogue` (`.importing`, [`crate::atomic`]), so a failed import leaves nothing
/// behind.
pub fn import_json_file(
    catalogue: &Path,
    json: impl Read,
    what: &Path,
    options: &ImportOptions,
) -> Result<ImportedJson> {
    let mut existing = match catalogue.exists() {
        true => Some(Catalogue::open(catalogue)?),
        false => None,
    };
    if let Some(c) = &existing {
        if c.snapshots()?.is_empty() {
            existing = None;
        }
    }
    let temp = TempPath::beside(catalogue, ".importing", SQLITE_COMPANIONS);
    temp.clear();
    let mut imported = Catalogue::create_or_open(temp.path())?;
    let summary = imported.import_json(json, what, options)?;
    let Some(existing) = existing.as_mut() else {
        drop(imported);
        temp.persist().map_err(|source| Error::Output {
            path: catalogue.to_path_buf(),
            source,
        })?;
        return Ok(ImportedJson {
            summary,
            merged: None,
        });
    };
    let report = existing.merge(&imported).map_err(|e| Error::MergeImport {
        input: what.to_path_buf(),
        catalogue: catalogue.to_path_buf(),
        source: Box::new(e),
    })?;
    Ok(ImportedJson {
        summary,
        merged: Some(report),
    })
}

/// Reads the catalogue JSON file `path` (gzipped when its name ends in `.gz`).
pub fn open_json_file(path: &Path) -> Result<Box<dyn Read>> {
    let file = File::open(path).map_err(|source| Error::Input {
        path: path.to_path_buf(),
        source,
    })?;
    Ok(if gzipped(path) {
        let gz = crate::disc::gzip::decoder(std::io::BufReader::new(file));
        Box::new(gz.map_err(|source| Error::Input {
            path: path.to_path_buf(),
            source,
        })?)
    } else {
        Box::new(file)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_export_that_fails_leaves_neither_file_nor_partial() {
        let dir = tempfile::tempdir().unwrap();
        let catalogue = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
        let target = dir.path().join("no-such-folder").join("c.json");
        let err = catalogue.export_json_file(&target).unwrap_err();
        assert!(err.to_string().contains("c.json.partial"), "{err}");
        let ok = dir.path().join("c.json.gz");
        let size = catalogue.export_json_file(&ok).unwrap();
        assert_eq!(size, std::fs::metadata(&ok).unwrap().len());
        assert!(!dir.path().join("c.json.gz.partial").exists());
        let mut text = String::new();
        open_json_file(&ok)
            .unwrap()
            .read_to_string(&mut text)
            .unwrap();
        assert!(text.starts_with('{'), "{text}");
    }
}
