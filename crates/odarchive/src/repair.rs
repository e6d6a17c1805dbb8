//! Rebuilding a damaged disc's exact image from its parity: `odarchive repair`.
//!
//! 1. Read what can be read. An image file is read as it is, with the sectors a GNU ddrescue
//!    map marks bad (and any that fail to read or fail their CRC) treated as lost. A block
//!    device (a drive) is first *rescued* into the temporary file in passes, as ddrescue
//!    does (discfs's [`rescue`]): no read error ends the job.
//! 2. Rebuild every sector the disc's `/Parity/PARITY.ODP` allows (discfs's
//!    [`repair`](discfs::parity::repair)) into a temporary name beside the output.
//! 3. Prove it: the rebuilt image's SHA-256 against the one the catalogue recorded when the
//!    disc was written, when the catalogue knows the disc; otherwise every shard against the
//!    parity's own CRCs, read again.
//! 4. Only a proven image is renamed to the output name. An image that could not be rebuilt
//!    whole is kept as `OUT.incomplete`, and the files lost are named: by the disc's own file
//!    systems (whose data lies on a sector not rebuilt) and by the catalogue (each file the
//!    catalogue places on the disc, re-hashed from the best image).

use std::fs::{File, OpenOptions};
use std::io::{BufWriter, Write};
use std::ops::Range;
use std::os::unix::fs::FileTypeExt;
use std::path::{Path, PathBuf};

use discfs::parity::{self, BadSectors, RescueOptions, SeekSource};
use serde::Serialize;

use crate::atomic::{TempPath, with_suffix};
use crate::catalogue::{Catalogue, DiscRecord};
use crate::error::{Error, Result};
use crate::hash::{HashAlgorithm, hash_file};
use crate::reader::{DiscSource, Expected, identify};

/// How to repair.
#[derive(Debug, Clone, Default)]
pub struct RepairOptions {
    /// A GNU ddrescue map of the image: the sectors it does not mark finished are lost.
    pub map: Option<PathBuf>,
    /// How hard a drive is read.
    pub rescue: RescueOptions,
}

/// How the rebuilt image was proven (or not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Proof {
    /// Its SHA-256 is (or is not) the one the catalogue recorded for the disc.
    CatalogueSha256 {
        /// Whether it matched.
        matches: bool,
    },
    /// No recorded hash: every shard read again matched (or not) its CRC in the parity.
    ParityCrc {
        /// Whether every shard matched.
        matches: bool,
    },
}

impl Proof {
    /// Whether the image is proven the one written.
    pub fn holds(self) -> bool {
        match self {
            Proof::CatalogueSha256 { matches } | Proof::ParityCrc { matches } => matches,
        }
    }
}

/// A file of the disc that could not be rebuilt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LostFile {
    /// Its path on the disc (UDF, or ISO 9660 where UDF is damaged).
    pub disc_path: String,
    /// The catalogue's path of it (relative to the drive), when the catalogue knows the disc.
    pub catalogue_path: Option<String>,
}

/// What a repair did.
#[derive(Debug, Clone, Serialize)]
pub struct RepairOutcome {
    /// The image or device read.
    #[serde(serialize_with = "crate::progress::lossy")]
    pub source: PathBuf,
    /// Where the image was written: the output asked for, or `OUT.incomplete`.
    #[serde(serialize_with = "crate::progress::lossy")]
    pub image: PathBuf,
    /// Whether the image was rebuilt whole and proven.
    pub complete: bool,
    /// The disc of the catalogue it is, when known.
    pub disc: Option<u32>,
    /// Its label, when known.
    pub label: Option<String>,
    /// Sectors of the image.
    pub sectors: u64,
    /// The parity percent of the disc.
    pub parity_percent: u8,
    /// Sectors that could not be read (bad in the map, read errors, past the end).
    pub unreadable: u64,
    /// Sectors read that did not match their CRC.
    pub corrupt: u64,
    /// Sectors written from the code.
    pub rebuilt: u64,
    /// Read errors of a drive's rescue (failed requests, all passes).
    pub read_errors: u64,
    /// Image sectors not rebuilt (zeros in the image written), as `[first, end)` ranges.
    pub unrecoverable: Vec<Range<u64>>,
    /// Image sectors written as read that nothing on the disc could confirm (the CRCs that
    /// would have were lost too), as `[first, end)` ranges; only a SHA-256 proves them.
    pub unverified: Vec<Range<u64>>,
    /// How the image was proven.
    pub proof: Option<Proof>,
    /// SHA-256 of the image written, hex.
    pub image_sha256: String,
    /// Files lost, by path.
    pub lost: Vec<LostFile>,
}

/// Repairs `source` (an image file or a block device) into `out`; `catalogue`, when given,
/// says which disc it is and the SHA-256 the rebuilt image must have. An image that cannot be
/// rebuilt whole is written as `OUT.incomplete` and reported, not an error; an error is what
/// makes any image impossible (no parity header, an unreadable map, a full disk).
pub fn repair(
    catalogue: Option<&Catalogue>,
    source: &Path,
    out: &Path,
    options: &RepairOptions,
) -> Result<RepairOutcome> {
    let io_err = |path: &Path| {
        let path = path.to_owned();
        move |source| Error::Io { path, source }
    };
    let mut bad = match &options.map {
        Some(map) => read_map(map)?,
        None => BadSectors::new(),
    };
    let meta = std::fs::metadata(source).map_err(io_err(source))?;
    let temp = TempPath::beside(out, ".partial", &[]);
    temp.clear();
    let mut read_errors = 0;
    let report = if meta.file_type().is_block_device() {
        let rescued = rescue_drive(source, temp.path(), options.rescue)?;
        read_errors = rescued.read_errors;
        for r in rescued.bad.ranges() {
            bad.insert(r.clone());
        }
        let image = File::open(temp.path()).map_err(io_err(temp.path()))?;
        let fixed = OpenOptions::new()
            .write(true)
            .open(temp.path())
            .map_err(io_err(temp.path()))?;
        // In place: each window is read whole before its own sectors are written.
        rebuild(image, &bad, fixed, source)?
    } else {
        let image = File::open(source).map_err(io_err(source))?;
        let fixed = File::create(temp.path()).map_err(io_err(temp.path()))?;
        rebuild(image, &bad, fixed, source)?
    };
    let sha = hash_file(HashAlgorithm::Sha256, temp.path()).map_err(io_err(temp.path()))?;
    let disc = catalogue.and_then(|c| which_disc(c, temp.path()));
    let proof = if !report.unrecoverable.is_empty() {
        None
    } else if let Some(expected) = disc.as_ref().and_then(|d| d.image_sha256) {
        Some(Proof::CatalogueSha256 {
            matches: sha.as_bytes() == expected,
        })
    } else if !report.unverified.is_empty() {
        None
    } else {
        let file = File::open(temp.path()).map_err(io_err(temp.path()))?;
        let check = parity::check(file, &BadSectors::new()).map_err(|e| parity_err(source, e))?;
        Some(Proof::ParityCrc {
            matches: check.unreadable == 0 && check.corrupt == 0 && check.is_complete(),
        })
    };
    let complete = proof.is_some_and(Proof::holds);
    let image = if complete {
        out.to_owned()
    } else {
        with_suffix(out, ".incomplete")
    };
    let lost = if complete {
        Vec::new()
    } else {
        lost_files(catalogue, disc.as_ref(), temp.path(), &report.unrecoverable)
    };
    if complete {
        temp.persist().map_err(io_err(&image))?;
    } else {
        std::fs::rename(temp.path(), &image).map_err(io_err(&image))?;
        crate::atomic::sync_folder(&image);
    }
    Ok(RepairOutcome {
        source: source.to_owned(),
        image,
        complete,
        disc: disc.as_ref().map(|d| d.number),
        label: disc.map(|d| d.label),
        sectors: report.header.image_sectors,
        parity_percent: report.header.geometry.percent,
        unreadable: report.unreadable,
        corrupt: report.corrupt,
        rebuilt: report.rebuilt,
        read_errors,
        unrecoverable: report.unrecoverable,
        unverified: report.unverified,
        proof,
        image_sha256: sha.to_string(),
        lost,
    })
}

fn read_map(map: &Path) -> Result<BadSectors> {
    let text = std::fs::read_to_string(map).map_err(|source| Error::Input {
        path: map.to_owned(),
        source,
    })?;
    BadSectors::from_ddrescue_map(&text).map_err(|reason| Error::BadMap {
        path: map.to_owned(),
        reason,
    })
}

fn parity_err(source: &Path, e: parity::ParityError) -> Error {
    Error::Repair {
        path: source.to_owned(),
        source: e,
    }
}

/// Reads a drive into `temp` in passes; what could not be read comes back as bad sectors.
fn rescue_drive(source: &Path, temp: &Path, options: RescueOptions) -> Result<parity::Rescued> {
    let drive = File::open(source).map_err(|e| Error::Io {
        path: source.to_owned(),
        source: e,
    })?;
    let mut drive = SeekSource::new(drive).map_err(|e| Error::Io {
        path: source.to_owned(),
        source: e,
    })?;
    let file = File::create(temp).map_err(|e| Error::Io {
        path: temp.to_owned(),
        source: e,
    })?;
    let mut out = BufWriter::with_capacity(1 << 20, file);
    let rescued = parity::rescue(&mut drive, &mut out, options, &mut |_, _| {})
        .map_err(|e| parity_err(source, e))?;
    out.flush().map_err(|e| Error::Io {
        path: temp.to_owned(),
        source: e,
    })?;
    Ok(rescued)
}

/// Runs the code over `image` into `fixed`, synced.
fn rebuild(
    image: File,
    bad: &BadSectors,
    fixed: File,
    source: &Path,
) -> Result<parity::RepairReport> {
    let mut out = BufWriter::with_capacity(1 << 20, fixed);
    let report = parity::repair(image, bad, &mut out).map_err(|e| parity_err(source, e))?;
    let file = out.into_inner().map_err(|e| {
        parity_err(
            source,
            parity::ParityError::Io {
                offset: 0,
                source: e.into_error(),
            },
        )
    })?;
    file.sync_all().map_err(|e| Error::Io {
        path: source.to_owned(),
        source: e,
    })?;
    Ok(report)
}

/// The disc of `catalogue` the image is, if it can be told.
fn which_disc(catalogue: &Catalogue, image: &Path) -> Option<DiscRecord> {
    let mut source = DiscSource::open(image).ok()?;
    identify(catalogue, &mut source).ok()?.ok()
}

/// The files lost: those the image's file systems place on a sector not rebuilt, and those
/// of the catalogue's placements on the disc that do not read back with their hash.
fn lost_files(
    catalogue: Option<&Catalogue>,
    disc: Option<&DiscRecord>,
    image: &Path,
    unrecoverable: &[Range<u64>],
) -> Vec<LostFile> {
    let mut lost: Vec<LostFile> = crate::reader::lost::files_on_sectors(image, unrecoverable)
        .into_iter()
        .map(|disc_path| LostFile {
            disc_path,
            catalogue_path: None,
        })
        .collect();
    if let (Some(catalogue), Some(disc)) = (catalogue, disc) {
        for (disc_path, entry) in catalogue_lost(catalogue, disc, image) {
            match lost.iter_mut().find(|l| l.disc_path == disc_path) {
                Some(l) => l.catalogue_path = Some(entry),
                None => lost.push(LostFile {
                    disc_path,
                    catalogue_path: Some(entry),
                }),
            }
        }
    }
    lost.sort_by(|a, b| a.disc_path.cmp(&b.disc_path));
    lost
}

/// (disc path, catalogue path) of each placement on `disc` that does not read back from
/// `image` whole with its hash.
fn catalogue_lost(catalogue: &Catalogue, disc: &DiscRecord, image: &Path) -> Vec<(String, String)> {
    let (Ok(placements), Ok(hash)) = (
        catalogue.placements_on(disc.number),
        catalogue.hash_algorithm(),
    ) else {
        return Vec::new();
    };
    let mut source = match DiscSource::open(image) {
        Ok(s) => s,
        Err(_) => {
            return placements
                .into_iter()
                .map(|p| (p.disc_path.clone(), lossy(&p.entry_path)))
                .collect();
        }
    };
    let mut buf = vec![0u8; crate::reader::COPY_BUFFER];
    let mut lost = Vec::new();
    for p in placements {
        let mut sink = hash.hasher();
        let want = Some(Expected::of(&p, hash));
        let read = source.copy_file(&p.disc_path, Some(&p.iso_path), want, &mut sink, &mut buf);
        let intact = matches!(read, Ok(n) if n == p.length) && sink.finish() == p.stored_hash();
        if !intact {
            lost.push((p.disc_path.clone(), lossy(&p.entry_path)));
        }
    }
    lost
}

fn lossy(raw: &[u8]) -> String {
    String::from_utf8_lossy(raw).into_owned()
}

/// How much of an image's parity budget its damage uses: what `verify` reports.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Margin {
    /// Sectors of the image.
    pub sectors: u64,
    /// Sectors that could not be read, or are missing at the end.
    pub unreadable: u64,
    /// Sectors read that do not match their CRC.
    pub corrupt: u64,
    /// Both, in percent of the image's sectors.
    pub damaged_percent: f64,
    /// The disc's parity percent.
    pub parity_percent: u8,
    /// Whether `repair` rebuilds every sector.
    pub recoverable: bool,
}

/// The margin of the image at `image`: `None` when it carries no parity (or cannot be
/// read). With `intact` (its SHA-256 already matched), only the header is read.
pub fn margin(image: &Path, intact: bool) -> Option<Margin> {
    let mut file = File::open(image).ok()?;
    let (header, unreadable, corrupt, recoverable) = if intact {
        use std::io::{Read, Seek, SeekFrom};
        let mut sector = vec![0u8; parity::SHARD_BYTES];
        let at = parity::SYSTEM_AREA_COPY;
        file.seek(SeekFrom::Start(at * parity::SHARD_BYTES as u64))
            .ok()?;
        file.read_exact(&mut sector).ok()?;
        (parity::Header::parse(&sector, at)?, 0, 0, true)
    } else {
        let report = parity::check(file, &BadSectors::new()).ok()?;
        let complete = report.is_complete();
        (report.header, report.unreadable, report.corrupt, complete)
    };
    let sectors = header.image_sectors;
    Some(Margin {
        sectors,
        unreadable,
        corrupt,
        damaged_percent: (unreadable + corrupt) as f64 * 100.0 / sectors.max(1) as f64,
        parity_percent: header.geometry.percent,
        recoverable,
    })
}
