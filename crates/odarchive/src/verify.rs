//! Checking discs against the catalogue: `odarchive verify IMAGE_OR_DIR...`.
//!
//! First the plan ([`prepare`]): which disc of the set each image or mounted disc given is,
//! and, when only one snapshot is checked, which discs holding it were not given. Then the
//! checks ([`execute`]): for each disc, the whole image's SHA-256 (images whose hash the
//! catalogue recorded when it wrote them), then every file the catalogue places on it,
//! re-read and re-hashed with the catalogue's algorithm. Problems are reported by path —
//! missing, corrupt, unexpected — never only counted, each a [`Problem`] (its path is the
//! path on the disc; a problem of the whole disc or its damaged structures names the image
//! or mount point). A disc that passes is marked verified; the verdict of every disc checked
//! whole is kept in the catalogue as its last check ([`Catalogue::disc_checks`]).

use std::collections::HashSet;
use std::io::{self, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use serde::{Serialize, Serializer};

use crate::catalogue::{Catalogue, DiscRecord, Placement};
use crate::disc::{self, README_NAME};
use crate::error::{Error, Result};
use crate::hash::{HashAlgorithm, hash_reader};
use crate::problem::{Problem, ProblemKind};
use crate::reader::{COPY_BUFFER, DiscError, DiscSource, Expected, View, identify, root_iso_name};
use crate::restore::NeededDisc;

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
    /// Which file system the files were read through (`None`: the disc could not be opened;
    /// serialised as `"none"`).
    #[serde(serialize_with = "view_or_none")]
    pub view: Option<View>,
    /// Whether the whole image's SHA-256 matched the one recorded when it was written
    /// (`None`: not an image, or no hash recorded).
    pub image_sha256_ok: Option<bool>,
    /// Files read and found intact.
    pub files_ok: u64,
    /// Their bytes.
    pub bytes_ok: u64,
    /// Files the catalogue places on the disc that are not on it.
    pub missing: Vec<Problem>,
    /// Files whose bytes do not match their hash, or could not be read, with what was found.
    pub corrupt: Vec<Problem>,
    /// Files on the disc the catalogue does not know.
    pub unexpected: Vec<Problem>,
    /// What stopped the check of this disc, if anything did.
    pub problem: Option<Problem>,
    /// Damaged structures of the image (volume descriptors, anchors, directories, file
    /// entries) that the reader met, each with where and why (see [`DiscSource::damage`]).
    /// Files they concern that the other view gave back intact count as ok; the disc itself
    /// does not pass.
    pub damage: Vec<Problem>,
    /// Of an image with parity: how much of its sectors are damaged and whether `repair`
    /// rebuilds them.
    pub parity: Option<crate::repair::Margin>,
    /// Of the files missing or corrupt, those the disc's parity gives back exactly (by their
    /// path as listed there): what `restore` rebuilds from it by itself.
    pub parity_rebuilds: Vec<String>,
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

    /// What it found, in words: `ok: N files (B bytes) intact`, or `FAILED: ` and what.
    pub fn summary(&self) -> String {
        if self.ok() {
            return format!(
                "ok: {} files ({} bytes) intact",
                self.files_ok, self.bytes_ok
            );
        }
        let mut parts = Vec::new();
        if let Some(p) = &self.problem {
            parts.push(p.to_string());
        }
        if self.image_sha256_ok == Some(false) {
            parts.push("image SHA-256 differs from the one recorded".to_owned());
        }
        for (n, what) in [
            (self.missing.len(), "missing"),
            (self.corrupt.len(), "corrupt"),
            (self.unexpected.len(), "unexpected"),
            (self.damage.len(), "damaged structures"),
        ] {
            if n > 0 {
                parts.push(format!("{n} {what}"));
            }
        }
        format!("FAILED: {}", parts.join(", "))
    }

    fn new(source: &Path) -> DiscVerdict {
        DiscVerdict {
            source: source.to_owned(),
            disc: None,
            label: None,
            view: None,
            image_sha256_ok: None,
            files_ok: 0,
            bytes_ok: 0,
            missing: Vec::new(),
            corrupt: Vec::new(),
            unexpected: Vec::new(),
            problem: None,
            damage: Vec::new(),
            parity: None,
            parity_rebuilds: Vec::new(),
        }
    }
}

fn view_or_none<S: Serializer>(view: &Option<View>, s: S) -> std::result::Result<S::Ok, S::Error> {
    s.serialize_str(view.map_or("none", View::name))
}

/// One disc given, as [`prepare`] found it.
#[derive(Debug, Clone)]
pub struct PlannedCheck {
    /// The image or mount point given.
    pub source: PathBuf,
    /// The disc of the catalogue it is; `None` when it could not be opened or identified
    /// (then its verdict is already known: [`PlannedCheck::verdict`]).
    pub disc: Option<DiscRecord>,
    /// Its verdict so far: the view read and, for a disc that is not identified, why.
    pub verdict: DiscVerdict,
}

/// What a verify will check, before any file is read.
#[derive(Debug, Clone)]
pub struct VerifyPlan {
    /// The snapshot checked, when only one is.
    pub snapshot: Option<i64>,
    /// Read images through their ISO 9660 view only.
    pub iso9660_only: bool,
    /// Each disc given, in the order given.
    pub checks: Vec<PlannedCheck>,
    /// With a snapshot: the discs holding part of it that were not given.
    pub missing_discs: Vec<NeededDisc>,
}

/// What a verify found.
#[derive(Debug, Clone, Serialize)]
pub struct VerifyReport {
    /// The snapshot checked, when only one was.
    pub snapshot: Option<i64>,
    /// One verdict per disc given, in order.
    pub discs: Vec<DiscVerdict>,
    /// With a snapshot: the discs holding part of it that were not given.
    pub missing_discs: Vec<NeededDisc>,
    /// Whether a cancel stopped it ([`execute_cancellable`]): the disc being checked then
    /// has no verdict and is neither marked nor recorded; the ones before it are.
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cancelled: bool,
}

impl VerifyReport {
    /// Whether every disc given passed.
    pub fn ok(&self) -> bool {
        self.discs.iter().all(DiscVerdict::ok)
    }
}

/// Verifies every image or mounted disc in `sources` against `catalogue`, marking the ones
/// that pass as verified: [`prepare`] then [`execute`]. One verdict per source, in order; a
/// source that cannot be read or identified gets a verdict with its `problem`, and the others
/// are still checked.
pub fn verify(
    catalogue: &mut Catalogue,
    sources: &[PathBuf],
    options: &VerifyOptions,
) -> Result<Vec<DiscVerdict>> {
    let plan = prepare(catalogue, sources, options)?;
    Ok(execute(catalogue, &plan)?.discs)
}

/// Which disc each source is (reading only what identifies it: labels, README, the
/// catalogue on it; on a disc of odarchive 0.1, the names it stores contents under, which are
/// recorded in the catalogue) and, with a snapshot, which discs holding it were not given.
pub fn prepare(
    catalogue: &Catalogue,
    sources: &[PathBuf],
    options: &VerifyOptions,
) -> Result<VerifyPlan> {
    let mut checks = Vec::with_capacity(sources.len());
    for given in crate::reader::given_discs(sources) {
        checks.push(match given {
            Ok(path) => plan_check(catalogue, &path, options)?,
            Err(e) => unusable(&e),
        });
    }
    let missing_discs = match options.snapshot {
        Some(snapshot) => discs_not_given(catalogue, snapshot, &checks)?,
        None => Vec::new(),
    };
    Ok(VerifyPlan {
        snapshot: options.snapshot,
        iso9660_only: options.iso9660_only,
        checks,
        missing_discs,
    })
}

/// The check of a path given that is no disc: its verdict names why.
fn unusable(e: &DiscError) -> PlannedCheck {
    let problem = Problem::from(e);
    let mut verdict = DiscVerdict::new(&problem.path);
    let source = problem.path.clone();
    verdict.problem = Some(problem);
    PlannedCheck {
        source,
        disc: None,
        verdict,
    }
}

fn plan_check(catalogue: &Catalogue, path: &Path, options: &VerifyOptions) -> Result<PlannedCheck> {
    let mut check = PlannedCheck {
        source: path.to_owned(),
        disc: None,
        verdict: DiscVerdict::new(path),
    };
    let mut source = match DiscSource::open_with(path, options.iso9660_only) {
        Ok(s) => s,
        Err(e) => {
            check.verdict.problem = Some(Problem::from(&e));
            return Ok(check);
        }
    };
    check.verdict.view = Some(source.view());
    let disc = match identify(catalogue, &mut source)? {
        Ok(d) => d,
        Err(e) => {
            check.verdict.problem = Some(Problem::from(&e));
            check.verdict.damage = source.damage();
            return Ok(check);
        }
    };
    check.verdict.disc = Some(disc.number);
    check.verdict.label = Some(disc.label.clone());
    if crate::legacy::is_v01_disc(&disc) {
        // Which of each content's names the disc holds it under, only the disc says.
        if let Err(e) = crate::reader::legacy::find_stored_names(catalogue, &mut source, &disc)? {
            check.verdict.problem = Some(Problem::from(&e));
            return Ok(check);
        }
    }
    // What identifying it met (its root files' entries, say) counts too.
    check.verdict.damage = source.damage();
    check.disc = Some(disc);
    Ok(check)
}

/// The discs holding part of `snapshot` that none of `checks` is.
fn discs_not_given(
    catalogue: &Catalogue,
    snapshot: i64,
    checks: &[PlannedCheck],
) -> Result<Vec<NeededDisc>> {
    let given: Vec<u32> = checks.iter().filter_map(|c| c.verdict.disc).collect();
    let discs = catalogue.discs()?;
    let of = discs.len() as u32;
    let mut out = Vec::new();
    for number in catalogue.discs_holding(snapshot)? {
        if given.contains(&number) {
            continue;
        }
        let label = discs
            .iter()
            .find(|d| d.number == number)
            .map(|d| d.label.clone())
            .unwrap_or_default();
        let files = catalogue.contents_of_snapshot_on(number, snapshot)?.len() as u64;
        out.push(NeededDisc {
            number,
            label,
            of,
            files,
        });
    }
    Ok(out)
}

/// Checks every disc of `plan` and marks the ones that pass as verified, recording each
/// disc's verdict as its last check (neither when only one snapshot was checked).
pub fn execute(catalogue: &mut Catalogue, plan: &VerifyPlan) -> Result<VerifyReport> {
    execute_cancellable(catalogue, plan, &AtomicBool::new(false))
}

/// [`execute`], stopped when `cancel` is set: between discs, between the files of a disc
/// and inside the read of a file or of the whole image. The disc being checked then gets no
/// verdict (it is neither marked verified nor recorded) and the report says `cancelled`.
pub fn execute_cancellable(
    catalogue: &mut Catalogue,
    plan: &VerifyPlan,
    cancel: &AtomicBool,
) -> Result<VerifyReport> {
    let hash = catalogue.hash_algorithm()?;
    let mut buf = vec![0u8; COPY_BUFFER];
    let mut discs = Vec::with_capacity(plan.checks.len());
    let mut cancelled = false;
    for check in &plan.checks {
        if cancel.load(Ordering::SeqCst) {
            cancelled = true;
            break;
        }
        let verdict = match &check.disc {
            Some(disc) => match check_disc(catalogue, plan, check, disc, hash, &mut buf, cancel)? {
                Some(v) => v,
                None => {
                    cancelled = true;
                    break;
                }
            },
            None => check.verdict.clone(),
        };
        if plan.snapshot.is_none() {
            if let Some(number) = verdict.disc {
                catalogue.record_disc_check(number, verdict.ok(), &verdict.summary(), true)?;
            }
        }
        discs.push(verdict);
    }
    Ok(VerifyReport {
        snapshot: plan.snapshot,
        discs,
        missing_discs: plan.missing_discs.clone(),
        cancelled,
    })
}

/// A reader, or a writer, that fails once `cancel` is set (with an error that is not
/// `Interrupted`, which readers retry).
struct UntilCancelled<'a, T> {
    inner: T,
    cancel: &'a AtomicBool,
}

impl<T> UntilCancelled<'_, T> {
    fn check(&self) -> io::Result<()> {
        if self.cancel.load(Ordering::Relaxed) {
            Err(io::Error::other("cancelled"))
        } else {
            Ok(())
        }
    }
}

impl<T: Read> Read for UntilCancelled<'_, T> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.check()?;
        self.inner.read(buf)
    }
}

impl<T: Write> Write for UntilCancelled<'_, T> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.check()?;
        self.inner.write(buf)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// The checks of one identified disc: its image hash, its files, what else is on it;
/// `None` when `cancel` was set before they were done.
fn check_disc(
    catalogue: &Catalogue,
    plan: &VerifyPlan,
    check: &PlannedCheck,
    disc: &DiscRecord,
    hash: HashAlgorithm,
    buf: &mut [u8],
    cancel: &AtomicBool,
) -> Result<Option<DiscVerdict>> {
    let mut verdict = check.verdict.clone();
    let path = check.source.as_path();
    let mut source = match DiscSource::open_with(path, plan.iso9660_only) {
        Ok(s) => s,
        Err(e) => {
            verdict.problem = Some(Problem::from(&e));
            return Ok(Some(verdict));
        }
    };
    let cancelled = || cancel.load(Ordering::SeqCst);
    if source.view() != View::Mounted {
        if let Some(expected) = disc.image_sha256 {
            // The image's own hash is SHA-256 whatever the contents are hashed with.
            let io_error = |source| Error::Io {
                path: path.to_owned(),
                source,
            };
            let file = std::fs::File::open(path).map_err(io_error)?;
            let read = hash_reader(
                HashAlgorithm::Sha256,
                UntilCancelled {
                    inner: file,
                    cancel,
                },
            );
            let image = match read {
                Err(_) if cancelled() => return Ok(None),
                r => r.map_err(io_error)?.0,
            };
            verdict.image_sha256_ok = Some(image.as_bytes() == expected);
        }
        verdict.parity = crate::repair::margin(path, verdict.image_sha256_ok == Some(true));
    }
    let placements = catalogue.placements_on(disc.number)?;
    let wanted = match plan.snapshot {
        Some(snapshot) => Some(catalogue.contents_of_snapshot_on(disc.number, snapshot)?),
        None => None,
    };
    let iso = source.view() == View::Iso9660;
    for p in &placements {
        if cancelled() {
            return Ok(None);
        }
        if wanted.as_ref().is_none_or(|w| w.contains(&p.content_id)) {
            let failed = check_file(&mut source, p, iso, hash, buf, &mut verdict, cancel);
            if failed && cancelled() {
                // What failed was the cancel, not the file.
                return Ok(None);
            }
            if failed && verdict.parity.is_some() {
                let extent = catalogue.extent_of(disc.number, &p.disc_path)?;
                let extent = extent.map(|e| (u64::from(e.sector), e.length));
                let want = Expected::of(p, hash);
                if source.parity_rebuilds(&p.disc_path, Some(&p.iso_path), extent, want) {
                    let shown = if iso { &p.iso_path } else { &p.disc_path };
                    verdict.parity_rebuilds.push(shown.clone());
                }
            }
        }
    }
    let expected = expected_names(&placements, hash, iso, crate::legacy::is_v01_disc(disc));
    match source.files() {
        Ok(files) => {
            verdict.unexpected = files
                .into_iter()
                .map(|(p, _)| p)
                .filter(|p| !expected.contains(p))
                .map(|p| Problem::new(p, ProblemKind::Unexpected, "not in the catalogue"))
                .collect()
        }
        Err(e) => verdict.problem = Some(Problem::from(&e)),
    }
    verdict.unexpected.sort_by(|a, b| a.path.cmp(&b.path));
    for damage in source.damage() {
        if !verdict.damage.contains(&damage) {
            verdict.damage.push(damage);
        }
    }
    Ok(Some(verdict))
}

/// Re-reads and re-hashes the file of placement `p`.
/// Checks the file of `p`, counting it in `verdict`; returns whether it is missing or corrupt.
fn check_file(
    source: &mut DiscSource,
    p: &Placement,
    iso: bool,
    hash: HashAlgorithm,
    buf: &mut [u8],
    verdict: &mut DiscVerdict,
    cancel: &AtomicBool,
) -> bool {
    let shown = if iso { &p.iso_path } else { &p.disc_path };
    let mut sink = UntilCancelled {
        inner: hash.hasher(),
        cancel,
    };
    let want = Some(Expected::of(p, hash));
    match source.copy_file(&p.disc_path, Some(&p.iso_path), want, &mut sink, buf) {
        Ok(n) if n == p.length && sink.inner.finish() == p.stored_hash() => {
            verdict.files_ok += 1;
            verdict.bytes_ok += n;
            return false;
        }
        Ok(n) => verdict.corrupt.push(Problem::new(
            shown,
            ProblemKind::Corrupt,
            format!(
                "{n} bytes, content does not match its {}",
                hash.display_name()
            ),
        )),
        Err(DiscError::Missing { .. }) => {
            verdict
                .missing
                .push(Problem::new(shown, ProblemKind::Missing, "not on the disc"))
        }
        Err(e) => {
            let kind = Problem::from(&e).kind;
            verdict
                .corrupt
                .push(Problem::new(shown, kind, e.to_string()));
        }
    }
    true
}

/// Every name the disc may hold: both names of each placement (where UDF lost a file, the
/// listing shows it by its ISO 9660 path) and the files at the root of every disc.
fn expected_names(
    placements: &[Placement],
    hash: HashAlgorithm,
    iso: bool,
    v01: bool,
) -> HashSet<String> {
    let mut expected: HashSet<String> = HashSet::new();
    for p in placements {
        expected.insert(p.disc_path.clone());
        expected.insert(p.iso_path.clone());
    }
    for name in [
        README_NAME,
        disc::sums_name(hash),
        disc::catalogue_name(false),
        disc::catalogue_name(true),
        disc::index::INDEX_NAME,
    ] {
        expected.insert(root_iso_name(name));
        expected.insert(name.to_owned());
    }
    // The parity file is no file of the catalogue's: repair reads it, verify lets it be.
    expected.extend(disc::parity_paths());
    if v01 {
        // The files odarchive 0.1 puts on every disc.
        for (name, iso_name) in crate::reader::legacy::ROOT_FILES {
            expected.insert(if iso { iso_name } else { name }.to_owned());
        }
    }
    expected
}
