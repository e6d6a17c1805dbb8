//! Which disc of which set an image or a mounted disc is.
//!
//! An image says it by its volume label (`ODA_<set>_<NNN>`, see [`crate::disc::label`]). A
//! mounted disc has no label we can read portably, so it is recognised by its README (which
//! names its label and set), else by the catalogue it carries (its set id) and by which
//! disc's files it holds. Each way is one function, tried in that order; a disc identified
//! by label or README is that disc even with files missing (verify then names them). A catalogue knows its own set and,
//! after `odarchive merge`, the sets of the discs merged in; a disc of any other set is refused
//! with the set ids named, never mixed in.

use std::path::PathBuf;

use discfs::{FileSource, NodeId, Timestamp, TreeBuilder};

use super::{DiscError, DiscSource, disc_catalogue_head};
use crate::catalogue::{Catalogue, DiscRecord};
use crate::disc::{self, DATA_DIR, README_NAME};
use crate::error::Result;
use crate::problem::{Problem, ProblemKind};

/// Why a given disc could not be matched to a disc of the catalogue.
#[derive(Debug, thiserror::Error)]
pub enum IdentifyError {
    /// The disc belongs to another archive set.
    #[error("{}: disc of another archive set ({found}); this catalogue {expected}", path.display())]
    OtherSet {
        /// The image or mount point.
        path: PathBuf,
        /// What the disc says: its set id (and label).
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

impl From<&IdentifyError> for Problem {
    /// The problem an identification error is for the disc it names; it prints as the error
    /// does.
    fn from(e: &IdentifyError) -> Problem {
        match e {
            IdentifyError::OtherSet {
                path,
                found,
                expected,
            } => Problem::new(
                path,
                ProblemKind::Unexpected,
                format!("disc of another archive set ({found}); this catalogue {expected}"),
            ),
            IdentifyError::Unknown { path, label } => Problem::new(
                path,
                ProblemKind::Unexpected,
                format!(
                    "not a disc of this catalogue (label {label:?}); was it planned in another \
                     catalogue?"
                ),
            ),
            IdentifyError::Disc(e) => Problem::from(e),
        }
    }
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
        disc::index::INDEX_NAME,
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

/// The set id a disc's own catalogue names.
fn disc_set_id(source: &mut DiscSource) -> std::result::Result<Option<String>, DiscError> {
    // Only the head is read: the catalogue file grows with the archive.
    Ok(disc_catalogue_head(source)?.and_then(|h| h.set_id))
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

/// The discs and sets a catalogue knows, and the disc being identified.
struct Known<'a> {
    discs: Vec<DiscRecord>,
    sets: Vec<String>,
    path: &'a std::path::Path,
}

/// What one way of identifying a disc concluded: which disc it is, that it is of another
/// set, or nothing (the next way is tried).
type Found = Option<std::result::Result<DiscRecord, IdentifyError>>;

impl Known<'_> {
    fn other_set(&self, disc_set: &str, label: Option<&str>) -> IdentifyError {
        let expected = match self.sets.as_slice() {
            [one] => format!("is set {one}"),
            many => format!("holds sets {}", many.join(", ")),
        };
        IdentifyError::OtherSet {
            path: self.path.to_owned(),
            found: match label {
                Some(label) => format!("set {disc_set}, label {label}"),
                None => format!("set {disc_set}"),
            },
            expected,
        }
    }

    /// Whether a label is of a set this catalogue knows (by its set prefix).
    fn knows_label_set(&self, label: &str) -> bool {
        self.sets.iter().any(|set| {
            let ours = disc::label(set, 0);
            label.starts_with(&ours[..ours.len() - 3])
        })
    }
}

/// The set id in a volume set identifier: the 32 hex digits after `odarchive` and one
/// separator (UDF keeps `odarchive <set id>`, ISO 9660 its d-character form).
fn set_id_in(volume_set_id: &str) -> Option<String> {
    let at = volume_set_id.to_ascii_lowercase().find("odarchive")? + "odarchive".len() + 1;
    let hex = volume_set_id.get(at..at + 32)?;
    hex.bytes()
        .all(|b| b.is_ascii_hexdigit())
        .then(|| hex.to_ascii_lowercase())
}

/// By the image's volume label (`ODA_<set>_<NNN>`); a label of an unknown set is refused,
/// naming the set the volume set id gives (`odarchive <set id>`).
fn by_label(known: &Known<'_>, source: &DiscSource) -> Found {
    let label = source.volume_label()?;
    if let Some(d) = known.discs.iter().find(|d| d.label == label) {
        return Some(Ok(d.clone()));
    }
    if !label.starts_with("ODA_") || known.knows_label_set(&label) {
        return None;
    }
    let set = source
        .volume_set_ids()
        .iter()
        .find_map(|v| set_id_in(v))
        .unwrap_or_else(|| label.clone());
    Some(Err(known.other_set(&set, Some(&label))))
}

/// By the README at the disc root, which names the disc's label and set: how a mounted
/// disc, whose volume label cannot be read portably, says which it is.
fn by_readme(known: &Known<'_>, source: &mut DiscSource) -> Found {
    let readme = source
        .read_root_file(README_NAME, &root_iso_name(README_NAME))
        .ok()??;
    let text = String::from_utf8_lossy(&readme);
    let quoted = |after: &str| -> Option<String> {
        let rest = &text[text.find(after)? + after.len()..];
        Some(rest[..rest.find('`')?].to_owned())
    };
    let label = quoted("Label `")?;
    let set = quoted("archive set `")?;
    if !known.sets.contains(&set) {
        return Some(Err(known.other_set(&set, Some(&label))));
    }
    known
        .discs
        .iter()
        .find(|d| d.label == label && d.set_id == set)
        .map(|d| Ok(d.clone()))
}

/// By the files it holds: the disc of `set` (any known set when `None`) all of whose files
/// are on it.
fn by_files(
    catalogue: &Catalogue,
    known: &Known<'_>,
    source: &mut DiscSource,
    set: Option<&str>,
) -> Result<Found> {
    let files = match source.files() {
        Ok(f) => f,
        Err(e) => return Ok(Some(Err(e.into()))),
    };
    let on_disc: std::collections::HashSet<&str> = files.iter().map(|(p, _)| p.as_str()).collect();
    for d in known
        .discs
        .iter()
        .filter(|d| set.is_none_or(|set| d.set_id == set))
    {
        let placements = catalogue.placements_on(d.number)?;
        if !placements.is_empty()
            && placements.iter().all(|p| {
                on_disc.contains(p.disc_path.as_str()) || on_disc.contains(p.iso_path.as_str())
            })
        {
            return Ok(Some(Ok(d.clone())));
        }
    }
    Ok(None)
}

/// Finds which disc of `catalogue` the opened `source` is: by its label, by its README, by
/// the set its own catalogue names, then by the files it holds. A disc of a set the
/// catalogue does not know is refused naming both sets.
pub fn identify(
    catalogue: &Catalogue,
    source: &mut DiscSource,
) -> Result<std::result::Result<DiscRecord, IdentifyError>> {
    // A disc of odarchive 0.1 says which it is in its disc_info.json.
    if let Some(found) = super::legacy::identify(catalogue, source)? {
        return Ok(found);
    }
    let discs = catalogue.discs()?;
    let sets = known_sets(&catalogue.archive()?.set_id, &discs);
    let path = source.origin().to_owned();
    let known = Known {
        discs,
        sets,
        path: &path,
    };
    if let Some(found) = by_label(&known, source) {
        return Ok(found);
    }
    if let Some(found) = by_readme(&known, source) {
        return Ok(found);
    }
    let disc_set = match disc_set_id(source) {
        Ok(Some(found)) if !known.sets.contains(&found) => {
            return Ok(Err(known.other_set(&found, None)));
        }
        Ok(found) => found,
        Err(e) => return Ok(Err(e.into())),
    };
    if let Some(found) = by_files(catalogue, &known, source, disc_set.as_deref())? {
        return Ok(found);
    }
    Ok(Err(IdentifyError::Unknown {
        path,
        label: source.volume_label(),
    }))
}

/// Opens the disc at `path` (through ISO 9660 alone if `iso9660_only`) and finds which disc
/// of `catalogue` it is. A disc that cannot be opened or identified is a problem pushed to
/// `problems`, and `None`; only the catalogue's own errors end the search.
pub fn open_identified(
    catalogue: &Catalogue,
    path: &std::path::Path,
    iso9660_only: bool,
    problems: &mut Vec<Problem>,
) -> Result<Option<(DiscSource, DiscRecord)>> {
    let mut source = match DiscSource::open_with(path, iso9660_only) {
        Ok(s) => s,
        Err(e) => {
            problems.push(Problem::from(&e));
            return Ok(None);
        }
    };
    match identify(catalogue, &mut source)? {
        Ok(disc) => Ok(Some((source, disc))),
        Err(e) => {
            problems.push(Problem::from(&e));
            Ok(None)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identification_problem_prints_as_its_error() {
        let errors = [
            IdentifyError::OtherSet {
                path: "/m/d1.iso".into(),
                found: "set abc".into(),
                expected: "is set def".into(),
            },
            IdentifyError::Unknown {
                path: "/m/d2.iso".into(),
                label: Some("ODA_x_001".into()),
            },
            IdentifyError::Disc(DiscError::Missing {
                disc: "/m/d3".into(),
                file: "Data/a".into(),
            }),
            IdentifyError::Disc(DiscError::Read {
                disc: "/m/d4".into(),
                file: "Data/b".into(),
                reason: "bad tag".into(),
            }),
            IdentifyError::Disc(DiscError::NotADisc {
                path: "/m/d5".into(),
                udf: "u".into(),
                iso: "i".into(),
            }),
        ];
        for e in &errors {
            let p = Problem::from(e);
            assert_eq!(p.to_string(), e.to_string());
            assert!(p.path.starts_with("/m"), "{p:?}");
            assert!(!p.detail.contains("/m/"), "path and cause apart: {p:?}");
        }
    }
}
