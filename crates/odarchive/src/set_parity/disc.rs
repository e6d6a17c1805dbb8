//! Parity discs: their labels, README and image, and the folding that leads to them.

use std::fs::{self, File};
use std::io::{BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use discfs::parity::set::{Member, SetHeader, covered_of_image, write_parity_file};
use discfs::{FileSource, NodeId, Timestamp, Tree, TreeBuilder, VolumeInfo};

use super::accumulator::Accumulator;
use super::{SetParityError, accumulator_dir};
use crate::atomic::AtomicFile;
use crate::catalogue::{Catalogue, DiscState, SetFold, SetGroup};
use crate::error::Result;
use crate::hash::{HashAlgorithm, hash_file};

const SECTOR: u64 = discfs::SECTOR;

/// The volume label of parity disc `index` (0-based) of group `group`:
/// `ODA_<first 8 hex digits of the set>_P<group>_<index + 1>`.
pub fn parity_disc_label(set_id: &str, group: u32, index: u32) -> String {
    let short: String = set_id
        .chars()
        .take(8)
        .collect::<String>()
        .to_ascii_uppercase();
    format!("ODA_{short}_P{group:03}_{}", index + 1)
}

/// The parity file's name on parity disc `index` of group `group`.
pub fn parity_file_name(group: u32, index: u32) -> String {
    format!("SET-{group:03}-{}.ODS", index + 1)
}

/// Covered sectors of a planned image of `image_size` bytes with `percent` % disc parity:
/// the c for which c + its parity area is the image.
pub fn planned_covered(image_size: u64, percent: u8) -> u64 {
    let sectors = image_size / SECTOR;
    let area = |c: u64| discfs::parity::parity_sectors(c, percent).unwrap_or(0);
    // The area only grows with c: the largest c that still fits.
    let (mut lo, mut hi) = (0u64, sectors);
    while lo < hi {
        let mid = (lo + hi).div_ceil(2);
        if mid + area(mid) <= sectors {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

/// The README of a parity disc.
fn readme(header: &SetHeader, label: &str) -> String {
    let k = header.members.len();
    let n = header.parity;
    let mut t = format!(
        "# {label}: parity disc {} of {n} for group {} of an odarchive set\n\n\
         This disc holds no files of the archive. It holds /Parity/{}, one share of a \
         Reed-Solomon code over the {k} discs listed below: with this disc and the other \
         parity discs of the group, any {n} of these {k} + {n} discs can be lost or unreadable \
         and every one can be rebuilt exactly, from any {k} of them.\n\n\
         Archive set: {}\n\n## The discs of the group\n\n\
         | disc | label | image bytes | image SHA-256 |\n|---|---|---|---|\n",
        header.index + 1,
        header.group,
        parity_file_name(header.group, header.index),
        header.set_id,
    );
    for m in &header.members {
        t.push_str(&format!(
            "| {} | {} | {} | {} |\n",
            m.number,
            m.label,
            m.image_bytes,
            crate::hex(&m.sha256)
        ));
    }
    t.push_str(
        "\n## Rebuilding a lost disc\n\n\
         With odarchive: copy the images of the discs you still have (this one included) into \
         a folder, then run\n\n    odarchive repair --disc LABEL --from FOLDER --out LABEL.iso\n\n\
         The rebuilt image's SHA-256 is checked against the table above.\n\n\
         By hand: the file format (a header stored at the start and at the end of the file, \
         the parity shard sector by sector, a CRC32C of each sector) and the code (a systematic \
         Cauchy Reed-Solomon code over GF(2^8), polynomial 0x11D, coefficient of disc j in parity \
         share i = 1 / (i XOR (N + j))) are described in docs/parity.md of odarchive, section \
         \"Parity discs across a set\". No other free tool reads this format today.\n",
    );
    t
}

/// The tree of a parity disc: `/README.md` and `/Parity/<file>` of `ods_bytes` bytes from
/// `ods`.
fn parity_tree(
    header: &SetHeader,
    label: &str,
    ods: FileSource,
    created: Timestamp,
) -> Result<Tree> {
    let tree_err =
        |e: discfs::TreeError| crate::error::Error::Internal(format!("parity disc tree: {e}"));
    let mut b = TreeBuilder::new(created);
    let text: Arc<[u8]> = Arc::from(readme(header, label).into_bytes());
    b.file(
        NodeId::ROOT,
        "README.md",
        created,
        text.len() as u64,
        FileSource::Bytes(text),
    )
    .map_err(tree_err)?;
    let dir = b.dir(NodeId::ROOT, "Parity", created).map_err(tree_err)?;
    b.file(
        dir,
        &parity_file_name(header.group, header.index),
        created,
        header.file_bytes(),
        ods,
    )
    .map_err(tree_err)?;
    b.build().map_err(tree_err)
}

fn volume(set_id: &str, label: &str, created: Timestamp) -> VolumeInfo {
    VolumeInfo {
        volume_id: label.to_owned(),
        volume_set_id: format!("odarchive {set_id}"),
        publisher_id: String::new(),
        application_id: format!("odarchive {}", env!("CARGO_PKG_VERSION")),
        set_size: 1,
        sequence_number: 1,
        created,
    }
}

/// The exact image size of a parity disc of a group of `members` members whose longest
/// covers `columns` sectors.
pub fn parity_disc_size(
    set_id: &str,
    group: u32,
    members: usize,
    parity: u32,
    columns: u64,
) -> Result<u64> {
    let header = SetHeader {
        set_id: set_id.to_owned(),
        group,
        index: 0,
        parity,
        columns,
        members: (0..members)
            .map(|j| Member {
                number: j as u32 + 1,
                label: crate::disc::label(set_id, 999),
                image_bytes: u64::MAX / 2,
                covered: 0,
                excluded_start: 0,
                excluded: 0,
                sha256: [0; 32],
            })
            .collect(),
        created_ns: 0,
    };
    let label = parity_disc_label(set_id, group, 0);
    // Laid out only, never read.
    let ods = FileSource::Path {
        path: PathBuf::from(parity_file_name(group, 0)),
        offset: 0,
    };
    let tree = parity_tree(&header, &label, ods, Timestamp::EPOCH)?;
    let layout = discfs::layout(&tree, &volume(set_id, &label, Timestamp::EPOCH))
        .map_err(|e| crate::error::Error::Internal(format!("parity disc layout: {e}")))?;
    Ok(layout.image_size())
}

/// A parity disc written by [`fold_written`].
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WrittenParityDisc {
    /// Its group.
    pub group: u32,
    /// Its label.
    pub label: String,
    /// The image.
    #[serde(serialize_with = "crate::progress::lossy")]
    pub path: PathBuf,
    /// Its size.
    pub image_size: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
}

/// The header of group `group`'s parity file `index`, from the catalogue's folds.
pub(super) fn header_of(
    catalogue: &Catalogue,
    group: &SetGroup,
    folds: &[SetFold],
    index: u32,
) -> Result<SetHeader> {
    let set_id = catalogue.archive()?.set_id;
    let discs = catalogue.discs()?;
    let members = group
        .members()
        .map(|n| {
            let fold = folds.iter().find(|f| f.disc == n);
            let disc = discs.iter().find(|d| d.number == n);
            match (fold, disc) {
                (Some(f), Some(d)) => Ok(Member {
                    number: n,
                    label: d.label.clone(),
                    image_bytes: f.image_size,
                    covered: f.covered,
                    excluded_start: f.excluded_start,
                    excluded: f.excluded,
                    sha256: f.image_sha256,
                }),
                _ => Err(catalogue.corrupt(format!(
                    "group {}: disc {n} is not recorded as folded",
                    group.number
                ))),
            }
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(SetHeader {
        set_id,
        group: group.number,
        index,
        parity: group.parity,
        columns: members.iter().map(|m| m.covered).max().unwrap_or(0),
        members,
        created_ns: group.created_ns,
    })
}

/// Writes parity file `header` from `shard` to `ods` (through a temporary name), then the
/// parity disc image `label` holding it to `target`; returns the image's size and SHA-256.
pub(super) fn write_parity_disc(
    header: &SetHeader,
    shard: impl std::io::Read,
    ods: &Path,
    label: &str,
    created_ns: i64,
    target: &Path,
) -> Result<(u64, [u8; 32])> {
    let io = |p: &Path| {
        let p = p.to_owned();
        move |source| SetParityError::Io { path: p, source }
    };
    let mut file = AtomicFile::create(ods, ".partial").map_err(io(ods))?;
    write_parity_file(header, shard, BufWriter::new(file.file())).map_err(|source| {
        SetParityError::Code {
            path: ods.to_owned(),
            source,
        }
    })?;
    file.commit().map_err(io(ods))?;
    let created = Timestamp::from_unix_nanos(created_ns);
    let source = FileSource::Path {
        path: ods.to_owned(),
        offset: 0,
    };
    let tree = parity_tree(header, label, source, created)?;
    let layout = discfs::layout(&tree, &volume(&header.set_id, label, created))
        .map_err(|e| crate::error::Error::Internal(format!("parity disc layout: {e}")))?;
    let mut image = AtomicFile::create(target, ".partial").map_err(io(target))?;
    {
        let mut sink = BufWriter::with_capacity(1 << 20, image.file());
        discfs::write_image(&tree, &layout, &mut sink, &mut ()).map_err(|e| {
            crate::error::Error::DiscImage {
                disc: 0,
                source: Box::new(e),
            }
        })?;
        sink.flush().map_err(io(target))?;
    }
    image.commit().map_err(io(target))?;
    let sha = hash_file(HashAlgorithm::Sha256, target).map_err(io(target))?;
    let sha: [u8; 32] = sha.as_bytes().try_into().expect("a SHA-256 is 32 bytes");
    Ok((layout.image_size(), sha))
}

/// The set-parity part of `write`: folds every written member of each group that `written`
/// (disc numbers written or found intact in this run, with their images) touches, and writes
/// the parity discs of each group whose members are all folded. Images of members written in
/// an earlier run are looked for in `out` and re-hashed before they are folded.
pub fn fold_written(
    catalogue: &mut Catalogue,
    out: &Path,
    written: &[(u32, PathBuf)],
) -> Result<Vec<WrittenParityDisc>> {
    let groups = catalogue.set_groups()?;
    let dir = accumulator_dir(out);
    let mut made = Vec::new();
    for group in groups {
        if !written.iter().any(|(n, _)| group.members().contains(n)) {
            continue;
        }
        let pending: Vec<_> = catalogue
            .set_parity_discs(group.id)?
            .into_iter()
            .filter(|p| !p.written)
            .collect();
        if pending.is_empty() {
            continue;
        }
        let k = group.member_count();
        let discs = catalogue.discs()?;
        let mut folds = catalogue.set_folds(group.id)?;
        // The accumulator is trusted only if it holds every fold the catalogue records and
        // each member it holds was folded from the image written for that disc: one left by
        // another archive or catalogue in this folder, or by a group numbered otherwise, or
        // one whose state cannot be read, is started again from the members' images.
        let trusted = match Accumulator::open(&dir, group.number, k, group.parity as usize) {
            Ok(acc) => {
                let images = acc.images();
                let image_of = |n: u32| {
                    images
                        .iter()
                        .find(|(j, _)| group.first_disc + j == n)
                        .map(|(_, sha)| *sha)
                };
                let written = |n: u32, sha: &[u8; 32]| {
                    discs.iter().any(|d| {
                        d.number == n
                            && d.state != DiscState::Planned
                            && d.image_sha256.as_ref() == Some(sha)
                    })
                };
                let ok = folds
                    .iter()
                    .all(|f| image_of(f.disc) == Some(f.image_sha256))
                    && images
                        .iter()
                        .all(|(j, sha)| written(group.first_disc + j, sha));
                ok.then_some(acc)
            }
            Err(SetParityError::Accumulator { .. }) => None,
            Err(e) => return Err(e.into()),
        };
        let mut acc = match trusted {
            Some(acc) => acc,
            None => {
                let (a, s) = Accumulator::paths(&dir, group.number);
                for p in [&s, &a] {
                    match fs::remove_file(p) {
                        Ok(()) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                        Err(source) => {
                            return Err(SetParityError::Io {
                                path: p.clone(),
                                source,
                            }
                            .into());
                        }
                    }
                }
                catalogue.clear_set_folds(group.id)?;
                folds.clear();
                Accumulator::open(&dir, group.number, k, group.parity as usize)?
            }
        };
        if discs.iter().any(|d| {
            group.members().contains(&d.number)
                && d.state == DiscState::Planned
                && d.plan_id != group.plan_id
        }) {
            // A group of a plan whose unwritten discs were planned again without
            // --set-parity (written members of an earlier plan are a group's continued by
            // this one: see settle_groups_before_plan).
            continue;
        }
        let mut order: Vec<u32> = group.members().collect();
        if let Some(j) = acc.interrupted() {
            // The member cut short goes first.
            order.retain(|&n| n != group.first_disc + j);
            order.insert(0, group.first_disc + j);
        }
        for n in order {
            let Some(disc) = discs.iter().find(|d| d.number == n) else {
                continue;
            };
            if disc.state == DiscState::Planned || folds.iter().any(|f| f.disc == n) {
                continue;
            }
            let j = n - group.first_disc;
            let (path, checked) = match written.iter().find(|(w, _)| *w == n) {
                Some((_, p)) => (p.clone(), true),
                None => (
                    out.join(
                        disc.image_name
                            .clone()
                            .unwrap_or_else(|| format!("{}.iso", disc.label)),
                    ),
                    false,
                ),
            };
            let missing = || SetParityError::MemberImage {
                group: group.number,
                disc: n,
                path: path.clone(),
            };
            let Some(sha) = disc.image_sha256 else {
                return Err(missing().into());
            };
            let intact = fs::metadata(&path).is_ok_and(|m| m.len() == disc.image_size)
                && (checked
                    || hash_file(HashAlgorithm::Sha256, &path).is_ok_and(|h| h.as_bytes() == sha));
            if !intact {
                return Err(missing().into());
            }
            let mut image = BufReader::new(File::open(&path).map_err(|_| missing())?);
            let (covered, excluded_start, excluded) = covered_of_image(&mut image, disc.image_size)
                .map_err(|source| SetParityError::Io {
                    path: path.clone(),
                    source,
                })?;
            let member = Member {
                number: n,
                label: disc.label.clone(),
                image_bytes: disc.image_size,
                covered,
                excluded_start,
                excluded,
                sha256: sha,
            };
            acc.fold(j, &member, image.get_mut())?;
            let fold = SetFold {
                disc: n,
                image_sha256: sha,
                image_size: disc.image_size,
                covered,
                excluded_start,
                excluded,
            };
            catalogue.record_set_fold(group.id, &fold)?;
            folds.push(fold);
        }
        if folds.len() < k {
            continue;
        }
        let plan = catalogue
            .plan_record(group.plan_id)?
            .ok_or_else(|| catalogue.corrupt(format!("group {} has no plan", group.number)))?;
        for p in pending {
            let header = header_of(catalogue, &group, &folds, p.index)?;
            let ods = dir.join(parity_file_name(group.number, p.index));
            let target = out.join(format!("{}.iso", p.label));
            let shard = acc.shard(p.index as usize, header.columns)?;
            let (size, sha) =
                write_parity_disc(&header, shard, &ods, &p.label, group.created_ns, &target)?;
            let room = plan.capacity.saturating_sub(plan.margin);
            if size > room {
                let _ = fs::remove_file(&target);
                return Err(SetParityError::TooLarge {
                    group: group.number,
                    bytes: size,
                    capacity: room,
                }
                .into());
            }
            let name = format!("{}.iso", p.label);
            catalogue.mark_set_parity_written(group.id, p.index, &name, size, &sha)?;
            let _ = fs::remove_file(&ods);
            made.push(WrittenParityDisc {
                group: group.number,
                label: p.label.clone(),
                path: target,
                image_size: size,
                sha256: crate::hex(&sha),
            });
        }
        acc.remove()?;
    }
    Ok(made)
}
