//! Which disc of which set an image or a mounted disc is.
//!
//! An image says it by its volume label (`ODA_<set>_<NNN>`, see [`crate::disc::label`]). A
//! mounted disc has no label we can read portably, so it is recognised by the catalogue it
//! carries (its set id) and by which disc's files it holds. A catalogue knows its own set and,
//! after `odarchive merge`, the sets of the discs merged in; a disc of any other set is refused
//! with the set ids named, never mixed in.

use std::io::Read;
use std::path::PathBuf;

use discfs::{FileSource, NodeId, Timestamp, TreeBuilder};

use crate::catalogue::{Catalogue, DiscRecord};
use crate::disc::{self, DATA_DIR, README_NAME};
use crate::disc_source::{DiscError, DiscSource};
use crate::error::Result;

/// Why a given disc could not be matched to a disc of the catalogue.
#[derive(Debug, thiserror::Error)]
pub enum IdentifyError {
    /// The disc belongs to another archive set.
    #[error("{}: disc of another archive set ({found}); this catalogue {expected}", path.display())]
    OtherSet {
        /// The image or mount point.
        path: PathBuf,
        /// What the disc says (label or set id).
        found: String,
        /// The sets this catalogue knows, as a phrase: `is set X`, or after a merge
        /// `holds sets X, Y`.
        expected: String,
    },
    /// The disc is of this set but matches no disc the catalogue knows.
    #[error("{}: not a disc of this catalogue (label {label:?}); was it planned in another catalogue?", path.display())]
    Unknown {
        /// The image or mount point.
        path: PathBuf,
        /// Its label, if it has one.
        label: Option<String>,
    },
    /// The disc could not be read.
    #[error(transparent)]
    Disc(#[from] DiscError),
}

/// The ISO 9660 name of a file at the disc root, as the image writer maps it. The root is
/// laid out with every name a disc root can hold (both catalogue names, the checksum file of
/// every hash algorithm); none of them clash, so each maps as on a real disc.
pub fn root_iso_name(name: &str) -> String {
    let t = Timestamp::EPOCH;
    let mut b = TreeBuilder::new(t);
    let sizing = || FileSource::Bytes(std::sync::Arc::from(&[][..]));
    let mut names = vec![
        README_NAME,
        disc::catalogue_name(false),
        disc::catalogue_name(true),
    ];
    names.extend(crate::hash::HashAlgorithm::ALL.map(disc::sums_name));
    if !names.contains(&name) {
        names.push(name);
    }
    for root in names {
        let _ = b.file(NodeId::ROOT, root, t, 0, sizing());
    }
    let _ = b.dir(NodeId::ROOT, DATA_DIR, t);
    let Ok(tree) = b.build() else {
        return name.to_ascii_uppercase();
    };
    let Ok(plan) = discfs::iso9660::IsoPlan::new(&tree) else {
        return name.to_ascii_uppercase();
    };
    let id = tree.children(NodeId::ROOT).find(|&c| tree.name(c) == name);
    plan.paths(&tree)
        .find(|(_, node)| Some(*node) == id)
        .map_or_else(|| name.to_ascii_uppercase(), |(p, _)| p)
}

/// Reads the catalogue file at the root of a disc (gunzipped), if it has one.
pub fn disc_catalogue_json(
    source: &mut DiscSource,
) -> std::result::Result<Option<Vec<u8>>, DiscError> {
    for gzip in [true, false] {
        let name = disc::catalogue_name(gzip);
        if let Some(bytes) = source.read_root_file(name, &root_iso_name(name))? {
            if !gzip {
                return Ok(Some(bytes));
            }
            let mut out = Vec::new();
            flate2::read::GzDecoder::new(bytes.as_slice())
                .read_to_end(&mut out)
                .map_err(|e| DiscError::Read {
                    disc: source.origin().to_owned(),
                    file: name.to_owned(),
                    reason: format!("not a valid gzip file: {e}"),
                })?;
            return Ok(Some(out));
        }
    }
    Ok(None)
}

/// The set id a disc's own catalogue names.
fn disc_set_id(source: &mut DiscSource) -> std::result::Result<Option<String>, DiscError> {
    #[derive(serde::Deserialize)]
    struct Head {
        set_id: String,
    }
    let Some(json) = disc_catalogue_json(source)? else {
        return Ok(None);
    };
    Ok(serde_json::from_slice::<Head>(&json).ok().map(|h| h.set_id))
}

/// The archive's own set first, then the sets of discs merged in, each once.
fn known_sets(own: &str, discs: &[DiscRecord]) -> Vec<String> {
    let mut sets = vec![own.to_owned()];
    for d in discs {
        if !sets.contains(&d.set_id) {
            sets.push(d.set_id.clone());
        }
    }
    sets
}

/// Finds which disc of `catalogue` the opened `source` is.
pub fn identify(
    catalogue: &Catalogue,
    source: &mut DiscSource,
) -> Result<std::result::Result<DiscRecord, IdentifyError>> {
    let discs = catalogue.discs()?;
    let sets = known_sets(&catalogue.archive()?.set_id, &discs);
    let expected = || match sets.as_slice() {
        [one] => format!("is set {one}"),
        many => format!("holds sets {}", many.join(", ")),
    };
    // A disc of odarchive 0.1 says which it is in its disc_info.json.
    if let Some(found) = crate::legacy::identify(catalogue, source)? {
        return Ok(found);
    }
    let path = source.origin().to_owned();
    if let Some(label) = source.volume_label() {
        if let Some(d) = discs.iter().find(|d| d.label == label) {
            return Ok(Ok(d.clone()));
        }
        let known = sets.iter().any(|set| {
            let ours = disc::label(set, 0);
            label.starts_with(&ours[..ours.len() - 3])
        });
        if label.starts_with("ODA_") && !known {
            return Ok(Err(IdentifyError::OtherSet {
                path,
                found: format!("label {label}"),
                expected: expected(),
            }));
        }
    }
    let disc_set = match disc_set_id(source) {
        Ok(Some(found)) if !sets.contains(&found) => {
            return Ok(Err(IdentifyError::OtherSet {
                path,
                found: format!("set {found}"),
                expected: expected(),
            }));
        }
        Ok(found) => found,
        Err(e) => return Ok(Err(e.into())),
    };
    // A known set (or no catalogue on it): the disc of that set whose files it holds.
    let files = match source.files() {
        Ok(f) => f,
        Err(e) => return Ok(Err(e.into())),
    };
    let on_disc: std::collections::HashSet<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    for d in discs
        .iter()
        .filter(|d| disc_set.as_ref().is_none_or(|set| &d.set_id == set))
    {
        let placements = catalogue.placements_on(d.number)?;
        if !placements.is_empty()
            && placements.iter().all(|p| {
                on_disc.contains(p.disc_path.as_str()) || on_disc.contains(p.iso_path.as_str())
            })
        {
            return Ok(Ok(d.clone()));
        }
    }
    Ok(Err(IdentifyError::Unknown {
        path,
        label: source.volume_label(),
    }))
}
