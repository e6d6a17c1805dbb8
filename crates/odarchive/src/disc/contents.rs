//! A planned disc made real from the catalogue: its README, catalogue file and checksum file
//! (`SHA256SUMS` or `SHA512SUMS`, in the catalogue's hash algorithm) as bytes, its data files
//! with their sources on the drive, its tree and exact layout.
//!
//! Everything comes from stored rows (plan time, placements, hashes), so the same catalogue
//! always gives the same disc, byte for byte.

use std::collections::HashMap;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use discfs::{FileSource, Layout, NodeId, Tree};

use super::index::{INDEX_NAME, IndexFile};
use super::readme::{ReadmeInfo, readme, readme_size};
use super::{DATA_DIR, DataFile, README_NAME, RootFile, build_tree, catalogue_name, sums_name};
use crate::catalogue::json::{Form, JsonScope, write_catalogue_json};
use crate::catalogue::{Catalogue, DiscRecord, Placement, PlanRecord};
use crate::error::{Error, Result};
use crate::hash::ContentHash;
use crate::{Snapshot, snapshot_path};

/// A disc ready to be written (or compared with what was read back).
#[derive(Debug)]
pub struct DiscContents {
    /// The disc row.
    pub disc: DiscRecord,
    /// Its tree.
    pub tree: Tree,
    /// Its layout, with the volume fields.
    pub layout: Layout,
    /// For each data file: what its source on the drive must still be (shared with the
    /// threads that check the sources as the image writer reads them).
    pub expected: Arc<HashMap<NodeId, ExpectedSource>>,
    /// The placements on the disc, by path on the disc.
    pub placements: Vec<Placement>,
}

impl DiscContents {
    /// Where each data file lies in the image: its disc path ([`Placement::disc_path`]) and
    /// the first sector of its data, from the layout (sector 0 for an empty file).
    pub fn extents(&self) -> Vec<(String, u32)> {
        let by_name: HashMap<&str, &str> = self
            .placements
            .iter()
            .map(|p| (p.name_path.as_str(), p.disc_path.as_str()))
            .collect();
        self.tree
            .ids()
            .filter(|&id| !self.tree.is_dir(id))
            .filter_map(|id| {
                let disc_path = by_name.get(self.tree.path(id).as_str())?;
                let (sector, _) = self.layout.file_extent(&self.tree, id);
                Some(((*disc_path).to_owned(), sector))
            })
            .collect()
    }
}

/// What the source of a data file must be when the disc is written: the file scanned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExpectedSource {
    /// The hash (in the catalogue's algorithm) the bytes on the disc must have: the content's,
    /// or the part's for a split file.
    pub hash: ContentHash,
    /// The source file on the drive.
    pub path: PathBuf,
    /// The whole source file's size as scanned (more than the bytes on this disc for a part).
    pub size: u64,
}

/// The catalogue file of a plan, padded to its reserved size (the same on every disc of the
/// plan). Gzipped files are padded with empty gzip members (see [`super::gzip`]).
pub fn catalogue_file(catalogue: &Catalogue, plan: &PlanRecord) -> Result<Vec<u8>> {
    match padded_catalogue(catalogue, plan)? {
        Ok(bytes) => Ok(bytes),
        Err(needed) => Err(Error::Internal(format!(
            "the catalogue file needs {needed} bytes but {} were reserved; plan again",
            plan.catalogue_size
        ))),
    }
}

/// The padded catalogue file, or the size it needs when that is over its reserve.
pub(crate) fn padded_catalogue(
    catalogue: &Catalogue,
    plan: &PlanRecord,
) -> Result<std::result::Result<Vec<u8>, u64>> {
    let name = PathBuf::from(catalogue_name(plan.catalogue_gzip));
    let scope = JsonScope {
        form: Form::Disc,
        snapshot: plan.snapshot,
        max_plan: plan.id,
        below_disc: u32::MAX,
        new_discs: &[],
        new_parts: Box::new(std::iter::empty()),
        sample_below: None,
    };
    let json = write_catalogue_json(catalogue, scope, Vec::new(), &name)?;
    let size = plan.catalogue_size as usize;
    if !plan.catalogue_gzip {
        if json.len() + 1 > size {
            return Ok(Err(json.len() as u64 + 1));
        }
        let mut out = json;
        out.resize(size - 1, b' ');
        out.push(b'\n');
        return Ok(Ok(out));
    }
    let gz = |comment: Option<usize>| -> Result<Vec<u8>> {
        let mut b = flate2::GzBuilder::new();
        if let Some(n) = comment {
            b = b.comment(vec![b' '; n]);
        }
        let mut enc = b.write(Vec::new(), crate::disc::GZIP_LEVEL);
        let io = |source| Error::Output {
            path: name.clone(),
            source,
        };
        enc.write_all(&json).map_err(io)?;
        enc.finish().map_err(io)
    };
    let plain = gz(None)?;
    if plain.len() > size {
        return Ok(Err(plain.len() as u64));
    }
    let room = (size - plain.len()) as u64;
    if room == 0 {
        return Ok(Ok(plain));
    }
    let padded = if room < super::gzip::PAD_MEMBER_MIN {
        // Too little room for a member of its own: a comment in the header (of `room - 1`
        // bytes and its terminating zero).
        gz(Some(room as usize - 1))?
    } else {
        let mut padded = plain;
        padded.extend_from_slice(&super::gzip::padding(room));
        padded
    };
    if padded.len() != size {
        return Err(Error::Internal(format!(
            "gzip padding gave {} bytes instead of {size}",
            padded.len()
        )));
    }
    Ok(Ok(padded))
}

/// The files every disc of a plan shares: its catalogue file and its index.
#[derive(Debug)]
pub struct PlanFiles {
    /// The catalogue file ([`catalogue_file`]).
    pub catalogue: Arc<[u8]>,
    /// `INDEX.tsv.gz`, in a temporary file (none for plans made before it was written).
    pub index: Option<IndexFile>,
}

/// Makes the files every disc of `plan` shares, once for all its discs; the index goes to a
/// temporary file in `dir` (removed when the result is dropped).
pub fn plan_files(catalogue: &Catalogue, plan: &PlanRecord, dir: &Path) -> Result<PlanFiles> {
    let hash = catalogue.hash_algorithm()?;
    Ok(PlanFiles {
        catalogue: Arc::from(catalogue_file(catalogue, plan)?),
        index: super::index::index_file(catalogue, plan, dir, hash)?,
    })
}

/// Builds disc `disc` from the catalogue. `files` are the plan's shared files
/// ([`plan_files`]), made once for all discs of a plan.
pub fn disc_contents(
    catalogue: &Catalogue,
    disc: &DiscRecord,
    plan: &PlanRecord,
    snapshot: &Snapshot,
    files: &PlanFiles,
) -> Result<DiscContents> {
    let set_id = catalogue.archive()?.set_id;
    let total = discs_in_set(catalogue, disc, &set_id)?;
    let placements = catalogue.placements_on(disc.number)?;
    let root = root_files(catalogue, disc, plan, files, (&set_id, total), &placements)?;
    let (data, mut dir_mtime) = data_files(catalogue, &placements, plan, snapshot)?;
    // /Data is the drive root, with its mtime where the scan recorded it.
    if let Some(t) = snapshot.root_mtime_ns {
        dir_mtime.insert(String::new(), t);
    }
    let mut tree = build_tree(
        disc.number,
        &root,
        &data,
        &dir_mtime,
        plan.created_ns,
        plan.parity_percent,
    )?;
    let volume = super::volume(&set_id, disc.number, total, plan.created_ns);
    let layout = discfs::layout_with_parity(&mut tree, &volume).map_err(|e| Error::DiscImage {
        disc: disc.number,
        source: Box::new(e),
    })?;
    if layout.image_size() != disc.image_size {
        return Err(Error::PlanMismatch {
            disc: disc.number,
            planned: disc.image_size,
            actual: layout.image_size(),
        });
    }
    let expected = expected_sources(&tree, &placements, snapshot);
    Ok(DiscContents {
        disc: disc.clone(),
        tree,
        layout,
        expected: Arc::new(expected),
        placements,
    })
}

/// The files at the root of disc `disc` (of `total` in set `set_id`): README, catalogue file,
/// checksum file over every other file of the disc (`placements` and the root files), index.
fn root_files(
    catalogue: &Catalogue,
    disc: &DiscRecord,
    plan: &PlanRecord,
    files: &PlanFiles,
    (set_id, total): (&str, u32),
    placements: &[Placement],
) -> Result<Vec<RootFile>> {
    let catalogue_bytes = &files.catalogue;
    let hash = catalogue.hash_algorithm()?;
    let info = ReadmeInfo {
        set_id,
        number: disc.number,
        total,
        label: &disc.label,
        created_ns: plan.created_ns,
        gzip: plan.catalogue_gzip,
        hash,
        parity: plan.parity_percent,
        index: plan.index_size > 0,
    };
    let readme: Arc<[u8]> = Arc::from(readme(
        &info,
        readme_size(
            set_id,
            plan.created_ns,
            plan.catalogue_gzip,
            hash,
            plan.parity_percent,
            plan.index_size > 0,
        ),
    ));
    let cat_name = catalogue_name(plan.catalogue_gzip);
    let mut lines: Vec<(&str, ContentHash)> = vec![
        (README_NAME, hash.digest(&readme)),
        (cat_name, hash.digest(catalogue_bytes)),
    ];
    if let Some(index) = &files.index {
        lines.push((INDEX_NAME, index.hash));
    }
    lines.extend(
        placements
            .iter()
            .map(|p| (p.disc_path.as_str(), p.stored_hash())),
    );
    let sums: Arc<[u8]> = Arc::from(super::sums(hash, lines));
    let mut root = vec![
        RootFile {
            name: README_NAME,
            size: readme.len() as u64,
            source: FileSource::Bytes(readme),
        },
        RootFile {
            name: cat_name,
            size: catalogue_bytes.len() as u64,
            source: FileSource::Bytes(Arc::clone(catalogue_bytes)),
        },
        RootFile {
            name: sums_name(hash),
            size: sums.len() as u64,
            source: FileSource::Bytes(sums),
        },
    ];
    if let Some(index) = &files.index {
        root.push(RootFile {
            name: INDEX_NAME,
            size: index.size,
            source: FileSource::Path {
                path: index.path().to_path_buf(),
                offset: 0,
            },
        });
    }
    Ok(root)
}

/// "Disc k of n": the discs of this archive's own set as it stood when `disc` was planned.
/// Discs merged from another catalogue (another set) and later plans do not change what a
/// disc says about itself, so writing it again gives the same bytes.
fn discs_in_set(catalogue: &Catalogue, disc: &DiscRecord, set_id: &str) -> Result<u32> {
    Ok(catalogue
        .discs()?
        .iter()
        .filter(|d| d.set_id == set_id && d.plan_id <= disc.plan_id)
        .map(|d| d.number)
        .max()
        .unwrap_or(1)
        .max(disc.number))
}

/// The data files of `placements`, with their sources on the drive, and the mtimes of the
/// folders above them (by path under `/Data`), from the entries of `snapshot`.
fn data_files(
    catalogue: &Catalogue,
    placements: &[Placement],
    plan: &PlanRecord,
    snapshot: &Snapshot,
) -> Result<(Vec<DataFile>, HashMap<String, i64>)> {
    let mtime_of = |raw: &[u8]| catalogue.entry_mtime(raw, snapshot.id);
    let prefix = format!("{DATA_DIR}/");
    let mut data = Vec::with_capacity(placements.len());
    let mut dir_mtime: HashMap<String, i64> = HashMap::new();
    for p in placements {
        let under_data = p.name_path.strip_prefix(&prefix).unwrap_or(&p.name_path);
        // Directories: the k-th folder of the disc path is the k-th of the entry path.
        let raw_dirs: Vec<usize> = p
            .entry_path
            .iter()
            .enumerate()
            .filter(|(_, b)| **b == b'/')
            .map(|(i, _)| i)
            .collect();
        let disc_dirs = under_data.match_indices('/').map(|(i, _)| i);
        for (raw_end, disc_end) in raw_dirs.into_iter().zip(disc_dirs) {
            let key = &under_data[..disc_end];
            if !dir_mtime.contains_key(key) {
                if let Some(t) = mtime_of(&p.entry_path[..raw_end])? {
                    dir_mtime.insert(key.to_owned(), t);
                }
            }
        }
        data.push(DataFile {
            path: under_data.to_owned(),
            size: p.length,
            mtime_ns: mtime_of(&p.entry_path)?.unwrap_or(plan.created_ns),
            source: FileSource::Path {
                path: snapshot_path(snapshot, &p.entry_path),
                offset: p.offset,
            },
        });
    }
    Ok((data, dir_mtime))
}

/// For each data file of `tree`: what its source on the drive must still be.
fn expected_sources(
    tree: &Tree,
    placements: &[Placement],
    snapshot: &Snapshot,
) -> HashMap<NodeId, ExpectedSource> {
    let by_name: HashMap<&str, &Placement> = placements
        .iter()
        .map(|p| (p.name_path.as_str(), p))
        .collect();
    let mut expected = HashMap::new();
    for id in tree.ids() {
        if tree.is_dir(id) {
            continue;
        }
        if let Some(p) = by_name.get(tree.path(id).as_str()) {
            let source = ExpectedSource {
                hash: p.stored_hash(),
                path: snapshot_path(snapshot, &p.entry_path),
                size: p.content_size,
            };
            expected.insert(id, source);
        }
    }
    expected
}
