//! Checking discs against the catalogue: `odarchive verify IMAGE_OR_DIR...`.
//!
//! For each image or mounted disc: which disc of the set it is, the whole image's SHA-256
//! (images whose hash the catalogue recorded when it wrote them), then every file the
//! catalogue places on it, re-read and re-hashed with the catalogue's algorithm. Problems are reported by path — missing,
//! corrupt, unexpected — never only counted. A disc that passes is marked verified.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::catalogue::Catalogue;
use crate::disc::{self, README_NAME};
use crate::disc_source::{DiscError, DiscSource, Expected, View};
use crate::error::{Error, Result};
use crate::hash::{HashAlgorithm, hash_file};
use crate::identify::{identify, root_iso_name};

/// How to verify.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// Read images through their ISO 9660 view only (as restore does when UDF is damaged).
    pub iso9660_only: bool,
    /// Check only the files that hold contents of this snapshot (the discs are then not
    /// marked verified: only part of them was read).
    pub snapshot: Option<i64>,
}

/// What verify found on one image or mounted disc.
#[derive(Debug, Clone, Serialize)]
pub struct DiscVerdict {
    /// The image or mount point given.
    #[serde(serialize_with = "crate::progress::lossy")]
    pub source: PathBuf,
    /// The disc number it is, when it could be identified.
    pub disc: Option<u32>,
    /// Its label.
    pub label: Option<String>,
    /// Which file system the files were read through.
    pub view: &'static str,
    /// Whether the whole image's SHA-256 matched the one recorded when it was written
    /// (`None`: not an image, or no hash recorded).
    pub image_sha256_ok: Option<bool>,
    /// Files read and found intact.
    pub files_ok: u64,
    /// Their bytes.
    pub bytes_ok: u64,
    /// Files the catalogue places on the disc that are not on it.
    pub missing: Vec<String>,
    /// Files whose bytes do not match their hash, with what was found.
    pub corrupt: Vec<String>,
    /// Files on the disc the catalogue does not know.
    pub unexpected: Vec<String>,
    /// What stopped the check of this disc, if anything did.
    pub problem: Option<String>,
    /// Damaged structures of the image (volume descriptors, anchors, directories, file
    /// entries) that the reader met, each with where and why. Files they concern that the
    /// other view gave back intact count as ok; the disc itself does not pass.
    pub damage: Vec<String>,
}

impl DiscVerdict {
    /// Whether the disc passed every check.
    pub fn ok(&self) -> bool {
        self.problem.is_none()
            && self.missing.is_empty()
            && self.corrupt.is_empty()
            && self.unexpected.is_empty()
            && self.image_sha256_ok != Some(false)
            && self.damage.is_empty()
    }

    fn new(source: &Path) -> DiscVerdict {
        DiscVerdict {
            source: source.to_owned(),
            disc: None,
            label: None,
            view: "none",
            image_sha256_ok: None,
            files_ok: 0,
            bytes_ok: 0,
            missing: Vec::new(),
            corrupt: Vec::new(),
            unexpected: Vec::new(),
            problem: None,
            damage: Vec::new(),
        }
    }
}

/// Verifies every image or mounted disc in `sources` against `catalogue`, marking the ones
/// that pass as verified. One verdict per source, in order; a source that cannot be read or
/// identified gets a verdict with its `problem`, and the others are still checked.
pub fn verify(
    catalogue: &mut Catalogue,
    sources: &[PathBuf],
    options: &VerifyOptions,
) -> Result<Vec<DiscVerdict>> {
    let hash = catalogue.hash_algorithm()?;
    let mut verdicts = Vec::with_capacity(sources.len());
    for path in sources {
        let verdict = verify_one(catalogue, path, options, hash)?;
        if verdict.ok() && options.snapshot.is_none() {
            if let Some(number) = verdict.disc {
                catalogue.mark_verified(number)?;
            }
        }
        verdicts.push(verdict);
    }
    Ok(verdicts)
}

fn verify_one(
    catalogue: &Catalogue,
    path: &Path,
    options: &VerifyOptions,
    hash: HashAlgorithm,
) -> Result<DiscVerdict> {
    let mut verdict = DiscVerdict::new(path);
    let mut source = match DiscSource::open_with(path, options.iso9660_only) {
        Ok(s) => s,
        Err(e) => {
            verdict.problem = Some(e.to_string());
            return Ok(verdict);
        }
    };
    verdict.view = view_name(source.view());
    let disc = match identify(catalogue, &mut source)? {
        Ok(d) => d,
        Err(e) => {
            verdict.problem = Some(e.to_string());
            verdict.damage = source.damage().to_vec();
            return Ok(verdict);
        }
    };
    verdict.disc = Some(disc.number);
    verdict.label = Some(disc.label.clone());
    let v01 = crate::legacy::is_v01_disc(&disc);
    if v01 {
        // Which of each content's names the disc holds it under, only the disc says.
        if let Err(e) = crate::legacy::find_stored_names(catalogue, &mut source, &disc)? {
            verdict.problem = Some(e.to_string());
            return Ok(verdict);
        }
    }
    if source.view() != View::Mounted {
        if let Some(expected) = disc.image_sha256 {
            // The image's own hash is SHA-256 whatever the contents are hashed with.
            let image = hash_file(HashAlgorithm::Sha256, path).map_err(|source| Error::Io {
                path: path.to_owned(),
                source,
            })?;
            verdict.image_sha256_ok = Some(image.as_bytes() == expected);
        }
    }
    let placements = catalogue.placements_on(disc.number)?;
    let wanted = match options.snapshot {
        Some(snapshot) => Some(catalogue.contents_of_snapshot_on(disc.number, snapshot)?),
        None => None,
    };
    let iso = source.view() == View::Iso9660;
    let mut expected: HashSet<String> = HashSet::new();
    for p in &placements {
        let shown = if iso {
            p.iso_path.clone()
        } else {
            p.disc_path.clone()
        };
        // Both names: where UDF lost a file, the listing shows it by its ISO 9660 path.
        expected.insert(p.disc_path.clone());
        expected.insert(p.iso_path.clone());
        if wanted.as_ref().is_some_and(|w| !w.contains(&p.content_id)) {
            continue;
        }
        let mut sink = hash.hasher();
        let want = Some(Expected::of(p, hash));
        match source.copy_file(&p.disc_path, Some(&p.iso_path), want, &mut sink) {
            Ok(n) if n == p.length && sink.finish() == p.stored_hash() => {
                verdict.files_ok += 1;
                verdict.bytes_ok += n;
            }
            Ok(n) => verdict.corrupt.push(format!(
                "{shown}: {n} bytes, content does not match its {}",
                hash.display_name()
            )),
            Err(DiscError::Missing { .. }) => verdict.missing.push(shown),
            Err(e) => verdict.corrupt.push(format!("{shown}: {e}")),
        }
    }
    for name in [
        README_NAME,
        disc::sums_name(hash),
        disc::catalogue_name(false),
        disc::catalogue_name(true),
    ] {
        expected.insert(root_iso_name(name));
        expected.insert(name.to_owned());
    }
    if v01 {
        // The files odarchive 0.1 puts on every disc.
        for (name, iso_name) in crate::legacy::ROOT_FILES {
            expected.insert(if iso { iso_name } else { name }.to_owned());
        }
    }
    match source.files() {
        Ok(files) => {
            verdict.unexpected = files
                .into_iter()
                .map(|(p, _)| p)
                .filter(|p| !expected.contains(p))
                .collect()
        }
        Err(e) => verdict.problem = Some(e.to_string()),
    }
    verdict.unexpected.sort();
    verdict.damage = source.damage().to_vec();
    Ok(verdict)
}

fn view_name(view: View) -> &'static str {
    match view {
        View::Udf => "udf",
        View::Iso9660 => "iso9660",
        View::Mounted => "mounted",
    }
}
