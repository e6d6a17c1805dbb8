//! Rebuilding a lost disc of a group from any K of its K + N discs (`odarchive repair --disc
//! D --from …`).
//!
//! 1. Sort what is given (images, folders of images, parity files `*.ODS`): parity discs
//!    (a `/Parity/SET-*.ODS` found through UDF, or the file itself) and member images (by
//!    volume label).
//! 2. A member image counts only when its SHA-256 is the one the parity file records; one
//!    that is not is first repaired by its own `/Parity/PARITY.ODP` (into a temporary file)
//!    and counts if that gives the recorded image. A parity sector counts when its CRC32C
//!    matches: a parity disc with bad sectors still serves everywhere else.
//! 3. The target's covered sectors are computed column range by column range from K shards;
//!    a member is then reassembled (its own parity area encoded again), a parity disc written
//!    again as it was; the result is kept only if its SHA-256 is the one recorded.

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use discfs::parity::set::{
    Member, ParityFile, Recovery, SetCode, SetHeader, read_covered, reassemble,
};
use discfs::parity::{BadSectors, SHARD_BYTES};
use discfs::udf::read::UdfVolume;

use super::SetParityError;
use super::disc::{header_of, parity_disc_label, write_parity_disc};
use crate::atomic::{TempPath, with_suffix};
use crate::catalogue::Catalogue;
use crate::error::Result;
use crate::hash::{HashAlgorithm, hash_file};

/// Column sectors decoded at a time.
const RANGE: u64 = 256;
const S: u64 = SHARD_BYTES as u64;

/// What a group rebuild did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct GroupRepair {
    /// The group.
    pub group: u32,
    /// The disc rebuilt (its label).
    pub label: String,
    /// The image written.
    #[serde(serialize_with = "crate::progress::lossy")]
    pub image: PathBuf,
    /// Its SHA-256, hex: the one recorded when `sha256_recorded`.
    pub image_sha256: String,
    /// Whether the image's SHA-256 was recorded and matched. It is not for a parity disc
    /// rebuilt without the catalogue (only the catalogue records a parity disc's SHA-256):
    /// its parity file is then computed from K shards each proven (a member by the SHA-256
    /// the parity files record, a parity sector by its CRC32C), its file systems from the
    /// header and time stamp the other parity discs record.
    pub sha256_recorded: bool,
    /// The discs read (labels; parity discs as `P<i>` when their label is not known).
    pub used: Vec<String>,
    /// Members whose image was damaged and first repaired by their own parity.
    pub repaired_first: Vec<String>,
    /// Column sectors of parity discs that failed their CRC (rebuilt around).
    pub bad_parity_sectors: u64,
}

/// One shard the rebuild can read.
enum Shard {
    Member(PathBuf),
    Parity(ParityFile<File>),
}

fn io_err(path: &Path) -> impl Fn(std::io::Error) -> SetParityError + '_ {
    move |source| SetParityError::Io {
        path: path.to_owned(),
        source,
    }
}

/// The files given: each path, or the regular files of each folder.
fn candidates(from: &[PathBuf]) -> Result<Vec<PathBuf>> {
    let mut out = Vec::new();
    for p in from {
        let meta = fs::metadata(p).map_err(io_err(p))?;
        if meta.is_dir() {
            let mut files: Vec<PathBuf> = fs::read_dir(p)
                .map_err(io_err(p))?
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|f| f.is_file())
                .collect();
            files.sort();
            out.extend(files);
        } else {
            out.push(p.clone());
        }
    }
    Ok(out)
}

/// The parity file in `path`: the file itself (`*.ODS`) or `/Parity/SET-*.ODS` of an image.
fn parity_file(path: &Path) -> Option<ParityFile<File>> {
    let len = fs::metadata(path).ok()?.len();
    let is_ods = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("ods"));
    if is_ods {
        return ParityFile::open(File::open(path).ok()?, 0, len).ok();
    }
    let mut udf = UdfVolume::open(File::open(path).ok()?).ok()?;
    let (_, entry) = udf
        .walk()
        .ok()?
        .into_iter()
        .find(|(p, e)| !e.is_dir && p.starts_with("Parity/SET-") && p.ends_with(".ODS"))?;
    let runs = udf.data_runs(&entry)?;
    let &[(sector, bytes)] = runs.as_slice() else {
        return None;
    };
    ParityFile::open(File::open(path).ok()?, sector * S, bytes).ok()
}

/// The ISO 9660 volume label of an image (sector 16, bytes 40..72).
fn volume_label(path: &Path) -> Option<String> {
    let mut f = File::open(path).ok()?;
    let mut pvd = [0u8; 2048];
    f.seek(SeekFrom::Start(16 * S)).ok()?;
    f.read_exact(&mut pvd).ok()?;
    (pvd[0] == 1 && &pvd[1..6] == b"CD001")
        .then(|| String::from_utf8_lossy(&pvd[40..72]).trim_end().to_owned())
}

/// Rebuilds disc `target` (a number or label of a member, or the label of a parity disc)
/// from the discs in `from` into `out`.
pub fn rebuild(
    catalogue: Option<&Catalogue>,
    target: &str,
    from: &[PathBuf],
    out: &Path,
) -> Result<GroupRepair> {
    let files = candidates(from)?;
    let mut parity: Vec<ParityFile<File>> = Vec::new();
    let mut images: Vec<(String, PathBuf)> = Vec::new();
    for f in files {
        if let Some(p) = parity_file(&f) {
            parity.push(p);
        } else if let Some(label) = volume_label(&f) {
            images.push((label, f));
        }
    }
    // Which group and shard is the target?
    let not_in_group = || SetParityError::NotInGroup {
        target: target.to_owned(),
        catalogue: catalogue.is_some(),
    };
    let mut parity_target: Option<(u32, u32, String)> = None; // group, index, label
    let mut group_no = None;
    if let Some(c) = catalogue {
        let number = match target.parse::<u32>() {
            Ok(n) => Some(n),
            Err(_) => c
                .discs()?
                .into_iter()
                .find(|d| d.label == target)
                .map(|d| d.number),
        };
        if let Some(n) = number
            && let Some(g) = c.set_group_of(n)?
        {
            group_no = Some(g.number);
        }
        if group_no.is_none() {
            for g in c.set_groups()? {
                if let Some(p) = c
                    .set_parity_discs(g.id)?
                    .into_iter()
                    .find(|p| p.label == target)
                {
                    group_no = Some(g.number);
                    parity_target = Some((g.number, p.index, p.label));
                }
            }
        }
    } else {
        group_no = parity
            .iter()
            .find(|p| {
                p.header
                    .members
                    .iter()
                    .any(|m| m.label == target || m.number.to_string() == target)
            })
            .map(|p| p.header.group);
        if group_no.is_none() {
            // A lost parity disc: another parity disc of its group names the group and,
            // through the set id, every parity disc's label.
            parity_target = parity.iter().find_map(|p| {
                let h = &p.header;
                (0..h.parity)
                    .find(|&i| parity_disc_label(&h.set_id, h.group, i) == target)
                    .map(|i| (h.group, i, target.to_owned()))
            });
            group_no = parity_target.as_ref().map(|(g, _, _)| *g);
        }
    }
    let group_no = group_no.ok_or_else(not_in_group)?;
    parity.retain(|p| p.header.group == group_no);
    parity.sort_by_key(|p| p.header.index);
    parity.dedup_by_key(|p| p.header.index);
    let from_catalogue = parity.is_empty();
    let header: SetHeader = match (parity.first(), catalogue) {
        (Some(p), _) => p.header.clone(),
        (None, Some(c)) => {
            let g = c
                .set_groups()?
                .into_iter()
                .find(|g| g.number == group_no)
                .ok_or_else(not_in_group)?;
            let folds = c.set_folds(g.id)?;
            header_of(c, &g, &folds, 0)?
        }
        (None, None) => return Err(not_in_group().into()),
    };
    let k = header.members.len();
    let n = header.parity as usize;
    let code = SetCode::new(k, n).map_err(|source| SetParityError::Code {
        path: out.to_owned(),
        source,
    })?;
    let t = match &parity_target {
        Some((_, i, _)) => k + *i as usize,
        None => header
            .members
            .iter()
            .position(|m| m.label == target || m.number.to_string() == target)
            .ok_or_else(not_in_group)?,
    };
    let target_label = match &parity_target {
        Some((_, _, l)) => l.clone(),
        None => header.members[t].label.clone(),
    };
    // The shards present.
    let folder = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut temps: Vec<TempPath> = Vec::new();
    let mut shards: Vec<Option<Shard>> = (0..k + n).map(|_| None).collect();
    let mut used = Vec::new();
    let mut repaired_first = Vec::new();
    for (j, m) in header.members.iter().enumerate() {
        if j == t {
            continue;
        }
        for (label, path) in images.iter().filter(|(l, _)| *l == m.label) {
            if let Some(good) = member_image(m, path, folder, &mut temps)? {
                if good != *path {
                    repaired_first.push(m.label.clone());
                }
                shards[j] = Some(Shard::Member(good));
                used.push(label.clone());
                break;
            }
        }
    }
    let parity_labels: Vec<String> = match catalogue {
        Some(c) => c
            .set_groups()?
            .into_iter()
            .find(|g| g.number == group_no)
            .map(|g| c.set_parity_discs(g.id))
            .transpose()?
            .map(|ps| ps.into_iter().map(|p| p.label).collect())
            .unwrap_or_default(),
        None => Vec::new(),
    };
    let parity_name = |i: usize| {
        parity_labels
            .get(i)
            .cloned()
            .unwrap_or_else(|| format!("parity disc {} of group {group_no}", i + 1))
    };
    for p in parity {
        let i = p.header.index as usize;
        if k + i != t && p.header.members == header.members {
            used.push(parity_name(i));
            shards[k + i] = Some(Shard::Parity(p));
        }
    }
    let missing_names = |shards: &[Option<Shard>]| -> Vec<String> {
        (0..k + n)
            .filter(|&s| shards[s].is_none())
            .map(|s| {
                if s < k {
                    header.members[s].label.clone()
                } else {
                    parity_name(s - k)
                }
            })
            .collect()
    };
    let present_count = shards.iter().filter(|s| s.is_some()).count();
    if present_count < k {
        return Err(SetParityError::TooFew {
            group: group_no,
            target: target_label,
            needed: k,
            present: present_count,
            missing: missing_names(&shards),
        }
        .into());
    }
    // Decode the target's column sectors into a temporary file.
    let columns = if t < k {
        header.members[t].covered
    } else {
        header.columns
    };
    let column_temp = TempPath::beside(out, ".columns.partial", &[]);
    let mut column_file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(true)
        .open(column_temp.path())
        .map_err(io_err(column_temp.path()))?;
    let mut opened: HashMap<usize, File> = HashMap::new();
    let mut recoveries: HashMap<Vec<bool>, Recovery> = HashMap::new();
    let mut bad_parity_sectors = 0;
    let mut bufs: Vec<Vec<u8>> = vec![Vec::new(); k + n];
    let mut first = 0;
    {
        let mut w = BufWriter::with_capacity(1 << 20, &mut column_file);
        while first < columns {
            let count = (columns - first).min(RANGE);
            let len = (count * S) as usize;
            let mut present: Vec<bool> = shards.iter().map(Option::is_some).collect();
            for s in 0..k + n {
                bufs[s].resize(len, 0);
                match &mut shards[s] {
                    Some(Shard::Parity(p)) => {
                        let good = p.read_columns(first, &mut bufs[s]);
                        let bad = good.iter().filter(|g| !**g).count() as u64;
                        if bad > 0 {
                            bad_parity_sectors += bad;
                            present[s] = false;
                        }
                    }
                    Some(Shard::Member(path)) => {
                        let file = match opened.entry(s) {
                            std::collections::hash_map::Entry::Occupied(e) => e.into_mut(),
                            std::collections::hash_map::Entry::Vacant(e) => {
                                e.insert(File::open(&*path).map_err(io_err(path))?)
                            }
                        };
                        read_covered(file, &header.members[s], first, &mut bufs[s])
                            .map_err(io_err(path))?;
                    }
                    None => {}
                }
            }
            let recovery = match recoveries.get(&present) {
                Some(r) => r,
                None => {
                    let r = code.recovery(&present).map_err(|_| {
                        let mut missing = missing_names(&shards);
                        missing.push(format!(
                            "(and parity sectors that fail their CRC in column sectors {first}..{})",
                            first + count
                        ));
                        SetParityError::TooFew {
                            group: group_no,
                            target: target_label.clone(),
                            needed: k,
                            present: present.iter().filter(|p| **p).count(),
                            missing,
                        }
                    })?;
                    recoveries.entry(present.clone()).or_insert(r)
                }
            };
            let sources: Vec<&[u8]> = recovery.sources.iter().map(|&s| &bufs[s][..]).collect();
            let at = recovery
                .targets
                .iter()
                .position(|(s, _)| *s == t)
                .expect("the target is missing, so a target of the recovery");
            let mut outs: Vec<Vec<u8>> = vec![vec![0u8; len]; recovery.targets.len()];
            {
                let mut refs: Vec<&mut [u8]> = outs.iter_mut().map(|o| &mut o[..]).collect();
                recovery.apply(&sources, &mut refs);
            }
            w.write_all(&outs[at]).map_err(io_err(column_temp.path()))?;
            first += count;
        }
        w.flush().map_err(io_err(column_temp.path()))?;
    }
    drop(opened);
    let (expected, image_path) = if t < k {
        let member = &header.members[t];
        let image = TempPath::beside(out, ".partial", &[]);
        let spill = tempfile::tempfile_in(folder).map_err(io_err(folder))?;
        let file = File::create(image.path()).map_err(io_err(image.path()))?;
        let mut w = BufWriter::with_capacity(1 << 20, file);
        reassemble(member, &mut column_file, &mut w, spill).map_err(|source| {
            SetParityError::Code {
                path: out.to_owned(),
                source,
            }
        })?;
        let file = w
            .into_inner()
            .map_err(|e| io_err(image.path())(e.into_error()))?;
        file.sync_all().map_err(io_err(image.path()))?;
        (Some(member.sha256), image)
    } else {
        let Some((_, i, label)) = &parity_target else {
            return Err(not_in_group().into());
        };
        // The lost parity disc's header, its time stamp, and its SHA-256 as recorded (none
        // without a catalogue: the image is then proven by its inputs alone, the members by
        // their recorded SHA-256 and the parity sectors by their CRC32C).
        let (h, created_ns, recorded) = match catalogue {
            None => {
                // The other parity discs' header is this one's but for its index, and
                // records the time stamp the parity discs were made with.
                let mut h = header.clone();
                h.index = *i;
                if h.created_ns == 0 {
                    return Err(SetParityError::NoParityTime {
                        label: label.clone(),
                    }
                    .into());
                }
                let created_ns = h.created_ns;
                (h, created_ns, None)
            }
            Some(c) => {
                let g = c
                    .set_groups()?
                    .into_iter()
                    .find(|g| g.number == group_no)
                    .ok_or_else(not_in_group)?;
                let disc = c
                    .set_parity_discs(g.id)?
                    .into_iter()
                    .find(|p| p.index == *i)
                    .ok_or_else(not_in_group)?;
                let Some(sha) = disc.image_sha256 else {
                    return Err(not_in_group().into());
                };
                let folds = c.set_folds(g.id)?;
                let mut h = header_of(c, &g, &folds, *i)?;
                if !from_catalogue {
                    // The surviving parity discs say what the lost one holds: 0 when they
                    // were written before parity files recorded their time stamp.
                    h.created_ns = header.created_ns;
                }
                (h, g.created_ns, Some(sha))
            }
        };
        column_file
            .seek(SeekFrom::Start(0))
            .map_err(io_err(column_temp.path()))?;
        let image = TempPath::beside(out, ".partial", &[]);
        let ods = with_suffix(out, ".ods");
        write_parity_disc(&h, &mut column_file, &ods, label, created_ns, image.path())?;
        let _ = fs::remove_file(&ods);
        (recorded, image)
    };
    drop(column_file);
    drop(column_temp);
    let got =
        hash_file(HashAlgorithm::Sha256, image_path.path()).map_err(io_err(image_path.path()))?;
    if let Some(expected) = expected {
        if got.as_bytes() != expected {
            return Err(SetParityError::NotProven {
                label: target_label,
                got: got.to_string(),
                expected: crate::hex(&expected),
            }
            .into());
        }
    }
    image_path.persist().map_err(io_err(out))?;
    Ok(GroupRepair {
        group: group_no,
        label: target_label,
        image: out.to_owned(),
        image_sha256: got.to_string(),
        sha256_recorded: expected.is_some(),
        used,
        repaired_first,
        bad_parity_sectors,
    })
}

/// `path` if it is `member`'s image as written; else the image its own parity rebuilds, in a
/// temporary file kept in `temps`, if that is; else `None`.
fn member_image(
    member: &Member,
    path: &Path,
    folder: &Path,
    temps: &mut Vec<TempPath>,
) -> Result<Option<PathBuf>> {
    let sha = |p: &Path| {
        hash_file(HashAlgorithm::Sha256, p)
            .ok()
            .map(|h| h.as_bytes() == member.sha256)
    };
    if fs::metadata(path).is_ok_and(|m| m.len() == member.image_bytes) && sha(path) == Some(true) {
        return Ok(Some(path.to_owned()));
    }
    let temp = TempPath::beside(
        folder.join(format!("{}.iso", member.label)),
        ".repaired.partial",
        &[],
    );
    let Ok(image) = File::open(path) else {
        return Ok(None);
    };
    let Ok(fixed) = File::create(temp.path()) else {
        return Ok(None);
    };
    let mut w = BufWriter::with_capacity(1 << 20, fixed);
    let repaired =
        discfs::parity::repair(image, &BadSectors::new(), &mut w).is_ok() && w.flush().is_ok();
    drop(w);
    if repaired
        && fs::metadata(temp.path()).is_ok_and(|m| m.len() == member.image_bytes)
        && sha(temp.path()) == Some(true)
    {
        let p = temp.path().to_owned();
        temps.push(temp);
        return Ok(Some(p));
    }
    Ok(None)
}

/// What `verify` found on a parity disc.
#[derive(Debug, Clone, serde::Serialize)]
pub struct ParityDiscCheck {
    /// The image given.
    #[serde(serialize_with = "crate::progress::lossy")]
    pub source: PathBuf,
    /// Its group.
    pub group: u32,
    /// Its parity index, 1-based.
    pub index: u32,
    /// Members of its group.
    pub members: usize,
    /// Column sectors whose CRC32C does not match (or cannot be checked).
    pub bad_sectors: u64,
    /// Whether the image's SHA-256 is the one recorded when it was written (`None`: the
    /// catalogue does not know it).
    pub image_sha256_ok: Option<bool>,
}

impl ParityDiscCheck {
    /// Whether the disc is intact.
    pub fn ok(&self) -> bool {
        self.bad_sectors == 0 && self.image_sha256_ok != Some(false)
    }
}

/// The check of `image` as a parity disc: `None` when it is not one (no readable
/// `/Parity/SET-*.ODS`).
pub fn check_parity_disc(
    catalogue: Option<&Catalogue>,
    image: &Path,
) -> Result<Option<ParityDiscCheck>> {
    let Some(mut file) = parity_file(image) else {
        return Ok(None);
    };
    let header = file.header.clone();
    let mut bad = 0;
    let mut first = 0;
    let mut buf = vec![0u8; (RANGE * S) as usize];
    while first < header.columns {
        let count = (header.columns - first).min(RANGE);
        let buf = &mut buf[..(count * S) as usize];
        bad += file
            .read_columns(first, buf)
            .iter()
            .filter(|g| !**g)
            .count() as u64;
        first += count;
    }
    let mut recorded = None;
    if let (Some(c), Some(label)) = (catalogue, volume_label(image)) {
        for g in c.set_groups()? {
            if let Some(p) = c
                .set_parity_discs(g.id)?
                .into_iter()
                .find(|p| p.label == label)
            {
                recorded = p.image_sha256;
            }
        }
    }
    let image_sha256_ok = match recorded {
        Some(sha) => Some(
            hash_file(HashAlgorithm::Sha256, image)
                .map_err(io_err(image))?
                .as_bytes()
                == sha,
        ),
        None => None,
    };
    Ok(Some(ParityDiscCheck {
        source: image.to_owned(),
        group: header.group,
        index: header.index + 1,
        members: header.members.len(),
        bad_sectors: bad,
        image_sha256_ok,
    }))
}
