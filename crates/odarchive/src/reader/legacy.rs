//! Reading the discs made by the original odarchive 0.1 (the Python prototype).
//!
//! Such a disc (UDF view, volume label `CDROM`) holds `/DATA/<path>`, `/catalogue.json` (the
//! same on every disc of the set), `/readme.mkd` and `/disc_info.json`
//! (`{"date", "disc_num": "0", "num_discs": "6"}`, strings; `disc_num` is `None` on the one
//! disc of an archive 0.1 never segmented). Its ISO 9660 view flattens and anonymises every
//! file as `/DATA/00000000`, `/DATA/00000001`, … and records no mapping.
//!
//! Its catalogue is imported by [`crate::catalogue::import`] (its media and labels are in
//! [`crate::legacy`]). Two things only the disc says:
//! which disc of the set it is (its `disc_info.json`), and under which of a content's names
//! the content is stored (0.1 took the first name in the order it walked the drive, which
//! its sorted JSON does not keep). [`identify`] answers the first; [`find_stored_names`] looks
//! for each content under each of its names (in the ISO 9660 view: by size and hash) and
//! records what it finds, so verify, restore and the catalogue of later discs use the name
//! the disc really has ([`look_for_stored_names`] finds without recording, for a mount,
//! whose catalogue is read-only).

use std::collections::{HashMap, HashSet};

use super::{DiscError, DiscSource, IdentifyError, View};
use crate::catalogue::{Catalogue, DiscRecord, Placement};
use crate::error::Result;
use crate::hash::{ContentHash, HashAlgorithm};
use crate::legacy::label;

/// The files odarchive 0.1 puts at the root of every disc: (UDF name, ISO 9660 name).
pub const ROOT_FILES: [(&str, &str); 3] = [
    ("readme.mkd", "README.MKD"),
    ("catalogue.json", "CATALOGUE.JSON"),
    ("disc_info.json", "DISC_INFO.JSON"),
];

/// The folder 0.1 stores files in.
const DATA_DIR: &str = "DATA/";

/// What a 0.1 disc's `disc_info.json` says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscInfo {
    /// Its `disc_num` (from 0); `None` on the one disc of an unsegmented archive.
    pub disc_num: Option<u32>,
    /// Its `num_discs` (0.1 stores the last index, not the count).
    pub num_discs: Option<u32>,
}

/// Reads a 0.1 disc's `disc_info.json`: `None` when the disc is not one of 0.1 (no such file,
/// or no `catalogue.json` beside it).
pub fn read_disc_info(source: &mut DiscSource) -> std::result::Result<Option<DiscInfo>, DiscError> {
    #[derive(serde::Deserialize)]
    struct Raw {
        #[allow(dead_code)]
        date: String,
        disc_num: String,
        num_discs: String,
    }
    let (name, iso_name) = ROOT_FILES[2];
    let Some(bytes) = source.read_root_file(name, iso_name)? else {
        return Ok(None);
    };
    let Ok(raw) = serde_json::from_slice::<Raw>(&bytes) else {
        return Ok(None);
    };
    let (catalogue, catalogue_iso) = ROOT_FILES[1];
    let files = source.files()?;
    if !files
        .iter()
        .any(|(p, _)| p == catalogue || p == catalogue_iso)
    {
        return Ok(None);
    }
    Ok(Some(DiscInfo {
        disc_num: raw.disc_num.parse().ok(),
        num_discs: raw.num_discs.parse().ok(),
    }))
}

/// Which disc of `catalogue` a 0.1 disc is, by its `disc_info.json`; `None` when `source` is
/// not a disc of odarchive 0.1.
pub fn identify(
    catalogue: &Catalogue,
    source: &mut DiscSource,
) -> Result<Option<std::result::Result<DiscRecord, IdentifyError>>> {
    let info = match read_disc_info(source) {
        Ok(Some(info)) => info,
        Ok(None) => return Ok(None),
        Err(e) => return Ok(Some(Err(e.into()))),
    };
    let wanted = label(i64::from(info.disc_num.unwrap_or(0)));
    let found = catalogue.discs()?.into_iter().find(|d| d.label == wanted);
    Ok(Some(found.ok_or_else(|| IdentifyError::Unknown {
        path: source.origin().to_owned(),
        label: Some(wanted),
    })))
}

/// What [`find_stored_names`] found.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoredNames {
    /// Contents whose recorded name was right or was found and recorded.
    pub found: u64,
    /// Contents the disc holds under none of their names (verify reports them missing).
    pub not_found: u64,
}

/// A name [`look_for_stored_names`] found a content stored under, other than the one its
/// placement records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StoredName {
    /// In the UDF view (or on a mounted disc): `disc_path`, the file of catalogue path
    /// `entry_path`.
    Udf {
        /// The catalogue path whose name it is stored under.
        entry_path: Vec<u8>,
        /// Its path on the disc (`DATA/…`).
        disc_path: String,
    },
    /// In the ISO 9660 view: `DATA/00000003` and the like.
    Iso(String),
}

/// What [`look_for_stored_names`] found on one disc.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FoundNames {
    /// How many were found, how many not.
    pub counts: StoredNames,
    /// The contents stored under another name than their placement's, by content id.
    pub renamed: Vec<(i64, StoredName)>,
}

/// Looks on the 0.1 disc `source` (which is `disc`) for the name each content it holds is
/// stored under, and records it in the catalogue (see [`look_for_stored_names`]).
pub fn find_stored_names(
    catalogue: &Catalogue,
    source: &mut DiscSource,
    disc: &DiscRecord,
) -> Result<std::result::Result<StoredNames, DiscError>> {
    let found = match look_for_stored_names(catalogue, source, disc)? {
        Ok(found) => found,
        Err(e) => return Ok(Err(e)),
    };
    for (content_id, name) in &found.renamed {
        match name {
            StoredName::Udf {
                entry_path,
                disc_path,
            } => catalogue.record_stored_name(disc.id, *content_id, entry_path, disc_path)?,
            StoredName::Iso(iso_path) => {
                catalogue.record_stored_iso_path(disc.id, *content_id, iso_path)?;
            }
        }
    }
    Ok(Ok(found.counts))
}

/// Looks on the 0.1 disc `source` (which is `disc`) for the name each content it holds is
/// stored under, recording nothing (`odarchive mount`, whose catalogue is read-only, keeps
/// what it finds): in the UDF view or on a mounted disc, each of the content's names until
/// one exists; in the ISO 9660 view, whose names are anonymous, the file of the content's
/// size (and, among several, of its hash).
pub fn look_for_stored_names(
    catalogue: &Catalogue,
    source: &mut DiscSource,
    disc: &DiscRecord,
) -> Result<std::result::Result<FoundNames, DiscError>> {
    let files = match source.files() {
        Ok(f) => f,
        Err(e) => return Ok(Err(e)),
    };
    let placements: Vec<Placement> = catalogue
        .placements_on(disc.number)?
        .into_iter()
        .filter(|p| p.part == 0)
        .collect();
    if source.view() == View::Iso9660 {
        let hash = catalogue.hash_algorithm()?;
        return Ok(by_size_and_hash(source, &placements, &files, hash));
    }
    let on_disc: HashSet<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    let mut found = FoundNames::default();
    for p in &placements {
        if on_disc.contains(p.disc_path.as_str()) {
            found.counts.found += 1;
            continue;
        }
        let mut name = None;
        for path in catalogue.paths_of_content(disc.snapshot, p.content_id)? {
            let Ok(text) = std::str::from_utf8(&path) else {
                continue;
            };
            let disc_path = format!("{DATA_DIR}{text}");
            if on_disc.contains(disc_path.as_str()) {
                name = Some(StoredName::Udf {
                    entry_path: path,
                    disc_path,
                });
                break;
            }
        }
        match name {
            Some(name) => {
                found.counts.found += 1;
                found.renamed.push((p.content_id, name));
            }
            None => found.counts.not_found += 1,
        }
    }
    Ok(Ok(found))
}

/// The ISO 9660 view: each content is the file under `DATA/` of its size not yet taken;
/// where several are, the one whose bytes have its hash.
fn by_size_and_hash(
    source: &mut DiscSource,
    placements: &[Placement],
    files: &[(String, u64)],
    hash: HashAlgorithm,
) -> std::result::Result<FoundNames, DiscError> {
    let mut by_size: HashMap<u64, Vec<&str>> = HashMap::new();
    for (path, size) in files {
        if path.starts_with(DATA_DIR) {
            by_size.entry(*size).or_default().push(path);
        }
    }
    let mut taken: HashSet<&str> = HashSet::new();
    let mut hashes: HashMap<&str, ContentHash> = HashMap::new();
    let mut found = FoundNames::default();
    let mut buf = vec![0u8; super::COPY_BUFFER];
    for p in placements {
        let candidates: Vec<&str> = by_size
            .get(&p.length)
            .map(|c| c.iter().copied().filter(|c| !taken.contains(c)).collect())
            .unwrap_or_default();
        let mut chosen = None;
        if let [only] = candidates.as_slice() {
            chosen = Some(*only);
        } else {
            for c in candidates {
                let h = match hashes.get(c) {
                    Some(h) => *h,
                    None => {
                        let mut sink = hash.hasher();
                        source.copy_file(c, Some(c), None, &mut sink, &mut buf)?;
                        let h = sink.finish();
                        hashes.insert(c, h);
                        h
                    }
                };
                if h == p.stored_hash() {
                    chosen = Some(c);
                    break;
                }
            }
        }
        match chosen {
            Some(c) => {
                taken.insert(c);
                if p.iso_path != c {
                    found
                        .renamed
                        .push((p.content_id, StoredName::Iso(c.to_owned())));
                }
                found.counts.found += 1;
            }
            None => found.counts.not_found += 1,
        }
    }
    Ok(found)
}
