//! Writing planned discs as image files, and `archive` (scan, plan, write in one call).
//!
//! Each image is streamed in one pass to `DIR/<label>.iso.partial` while its SHA-256 is
//! computed; every data file is re-hashed (with the catalogue's algorithm) on its way into the
//! image and a file that no longer matches the catalogue stops that disc with its path named. A complete image is synced and
//! renamed to `DIR/<label>.iso`, and its name, SHA-256 and state are recorded. A disc already
//! written whose image is present and intact is left alone. On any error the partial image is
//! removed.
//!
//! A source that changed since it was scanned (other bytes, grown, shrunk, gone, a folder now)
//! or cannot be read stops its disc, never the run: the other discs are still written, and the
//! run then fails naming every disc not written (`sources.rs`).

mod sources;

use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use discfs::{NodeId, Refusal, Tree, WriteError};

use crate::atomic::{AtomicFile, DropBehind, with_suffix};
use crate::catalogue::{Catalogue, DiscRecord, DiscState, JobCounters, JobState};
use crate::disc::contents::{DiscContents, ExpectedSource, PlanFiles, disc_contents, plan_files};
use crate::error::{Error, Result};
use crate::hash::{HashAlgorithm, HashedBeside};
use crate::plan::{PlanOptions, PlanSummary};
use crate::problem::ProblemKind;
use crate::progress::{Event, Progress};
use crate::scan::{ScanOptions, ScanSummary};

/// What to write.
#[derive(Debug, Clone, Default)]
pub struct WriteOptions {
    /// The folder the images go to (created if missing).
    pub out: PathBuf,
    /// Disc numbers to write; empty for every disc of the catalogue.
    pub discs: Vec<u32>,
    /// Set to stop: the image being written is removed, discs already written stay written,
    /// and [`write()`] returns [`Error::Interrupted`].
    pub cancel: Option<Arc<AtomicBool>>,
}

/// One disc image of a [`write()`] run.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct WrittenDisc {
    /// Disc number.
    pub number: u32,
    /// Volume label.
    pub label: String,
    /// The image file.
    pub path: PathBuf,
    /// Its size.
    pub image_size: u64,
    /// Its SHA-256, hex.
    pub sha256: String,
    /// Whether it was already written and intact, so left alone.
    pub skipped: bool,
    /// For a parity disc of a set-parity group (`number` is then 0): the group.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_parity_group: Option<u32>,
}

/// Writes the planned discs (or those in `options.discs`) as images in `options.out`.
pub fn write(
    catalogue: &mut Catalogue,
    options: &WriteOptions,
    progress: &dyn Progress,
) -> Result<Vec<WrittenDisc>> {
    let all = catalogue.discs()?;
    if all.is_empty() {
        return Err(Error::NoPlan);
    }
    // Discs merged from another catalogue carry that catalogue's set, README and catalogue
    // file: their images cannot be made here, so they are left out (and refused by number).
    let set_id = catalogue.archive()?.set_id;
    let mut chosen: Vec<DiscRecord> = Vec::new();
    if options.discs.is_empty() {
        // Discs of odarchive 0.1 have no image here and cannot be made again.
        chosen = all
            .into_iter()
            .filter(|d| d.set_id == set_id && !crate::legacy::is_v01_disc(d))
            .collect();
    } else {
        for &n in &options.discs {
            let d = all
                .iter()
                .find(|d| d.number == n)
                .ok_or(Error::NoSuchDisc { number: n })?;
            if d.set_id != set_id {
                return Err(Error::ForeignDisc {
                    number: d.number,
                    label: d.label.clone(),
                    set_id: d.set_id.clone(),
                });
            }
            if crate::legacy::is_v01_disc(d) {
                return Err(Error::V01Disc {
                    number: d.number,
                    label: d.label.clone(),
                });
            }
            if !chosen.iter().any(|c| c.number == n) {
                chosen.push(d.clone());
            }
        }
    }
    fs::create_dir_all(&options.out).map_err(|source| Error::Output {
        path: options.out.clone(),
        source,
    })?;
    let job = catalogue.start_job("write")?;
    let result = write_discs(catalogue, &chosen, options, job, progress);
    let (state, message) = match &result {
        Ok(_) => (JobState::Completed, None),
        Err(Error::Interrupted) => (JobState::Interrupted, None),
        Err(e) => (JobState::Failed, Some(crate::error::chain(e))),
    };
    let _ = catalogue.finish_job(job, state, message.as_deref());
    result
}

fn write_discs(
    catalogue: &mut Catalogue,
    chosen: &[DiscRecord],
    options: &WriteOptions,
    job: i64,
    progress: &dyn Progress,
) -> Result<Vec<WrittenDisc>> {
    let run_total: u64 = chosen.iter().map(|d| d.image_size).sum();
    let mut run_done = 0u64;
    let mut out = Vec::new();
    let snapshots = catalogue.snapshots()?;
    let hash = catalogue.hash_algorithm()?;
    let mut catalogue_files: HashMap<i64, Arc<PlanFiles>> = HashMap::new();
    let mut not_written = Vec::new();
    for disc in chosen {
        let target = options.out.join(format!("{}.iso", disc.label));
        if disc.state != DiscState::Planned {
            if let Some(sha) = intact(&target, disc)? {
                run_done += disc.image_size;
                progress.event(&Event::DiscWritten {
                    disc: disc.number,
                    path: target.clone(),
                    sha256: sha.clone(),
                    skipped: true,
                });
                out.push(written(disc, target.clone(), sha, true));
                fold_set_parity(catalogue, options, disc.number, target, &mut out)?;
                continue;
            }
        }
        let plan = catalogue
            .plan_record(disc.plan_id)?
            .ok_or_else(|| catalogue.corrupt(format!("disc {} has no plan", disc.number)))?;
        let snapshot = snapshots
            .iter()
            .find(|s| s.id == plan.snapshot)
            .ok_or_else(|| catalogue.corrupt(format!("plan {} has no snapshot", plan.id)))?;
        let bytes = match catalogue_files.get(&plan.id) {
            Some(b) => Arc::clone(b),
            None => {
                let b = Arc::new(plan_files(catalogue, &plan, &options.out)?);
                catalogue_files.insert(plan.id, Arc::clone(&b));
                b
            }
        };
        let contents = disc_contents(catalogue, disc, &plan, snapshot, &bytes)?;
        progress.event(&Event::WriteStarted {
            disc: disc.number,
            label: disc.label.clone(),
            image_size: disc.image_size,
            run_total,
        });
        let mut watch = Watch {
            expected: &contents.expected,
            hash,
            disc: disc.number,
            progress,
            catalogue,
            job,
            run_done,
            run_total,
            last: Instant::now(),
        };
        let written_image = sources::check_all(disc.number, &contents.expected)
            .and_then(|()| write_image(&contents, &target, options.cancel.as_ref(), &mut watch));
        run_done += disc.image_size;
        let sha = match written_image {
            Ok(sha) => sha,
            Err(e) if sources::is_one_discs_problem(&e) => {
                not_written.push(e);
                continue;
            }
            Err(e) => return Err(e),
        };
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        catalogue.mark_written(disc.number, &name, &sha, &contents.extents())?;
        let hex = crate::hex(&sha);
        progress.event(&Event::DiscWritten {
            disc: disc.number,
            path: target.clone(),
            sha256: hex.clone(),
            skipped: false,
        });
        out.push(written(disc, target.clone(), hex, false));
        fold_set_parity(catalogue, options, disc.number, target, &mut out)?;
    }
    match not_written.len() {
        0 => Ok(out),
        1 => Err(not_written.remove(0)),
        _ => Err(Error::DiscsNotWritten {
            errors: not_written,
        }),
    }
}

/// Folds disc `number`'s image into its set-parity group, if it has one, and adds the parity
/// discs this completes to `out`.
fn fold_set_parity(
    catalogue: &mut Catalogue,
    options: &WriteOptions,
    number: u32,
    image: PathBuf,
    out: &mut Vec<WrittenDisc>,
) -> Result<()> {
    let made = crate::set_parity::fold_written(catalogue, &options.out, &[(number, image)])?;
    out.extend(made.into_iter().map(|p| WrittenDisc {
        number: 0,
        label: p.label,
        path: p.path,
        image_size: p.image_size,
        sha256: p.sha256,
        skipped: false,
        set_parity_group: Some(p.group),
    }));
    Ok(())
}

fn written(disc: &DiscRecord, path: PathBuf, sha256: String, skipped: bool) -> WrittenDisc {
    WrittenDisc {
        set_parity_group: None,
        number: disc.number,
        label: disc.label.clone(),
        path,
        image_size: disc.image_size,
        sha256,
        skipped,
    }
}

/// The image's SHA-256 if `target` is the recorded image of `disc`: same size and hash.
fn intact(target: &Path, disc: &DiscRecord) -> Result<Option<String>> {
    let (Some(recorded), Ok(meta)) = (disc.image_sha256, fs::metadata(target)) else {
        return Ok(None);
    };
    if meta.len() != disc.image_size {
        return Ok(None);
    }
    let sha = crate::hash::hash_file(HashAlgorithm::Sha256, target).map_err(|source| {
        Error::SourceRead {
            path: target.to_path_buf(),
            source,
        }
    })?;
    let sha: [u8; 32] = sha.as_bytes().try_into().expect("a SHA-256 is 32 bytes");
    Ok((sha == recorded).then(|| crate::hex(&sha)))
}

/// Writes the image to `target` through `.partial` (see [`crate::atomic`]); returns its
/// SHA-256. On any error the partial image is removed.
fn write_image(
    contents: &DiscContents,
    target: &Path,
    cancel: Option<&Arc<AtomicBool>>,
    watch: &mut Watch<'_>,
) -> Result<[u8; 32]> {
    let mut image = AtomicFile::create(target, ".partial").map_err(|source| Error::Output {
        path: with_suffix(target, ".partial"),
        source,
    })?;
    let partial = image.path().to_path_buf();
    let out_err = |source| Error::Output {
        path: partial.clone(),
        source,
    };
    // The image's SHA-256 is taken on a thread of its own, beside the one writing.
    let mut sink = HashedBeside::new(
        Cancellable {
            file: DropBehind::new(image.file()),
            cancel: cancel.cloned(),
        },
        HashAlgorithm::Sha256,
    );
    let disc = contents.disc.number;
    let written = match contents.layout.parity() {
        None => discfs::write_image(&contents.tree, &contents.layout, &mut sink, watch),
        Some(_) => {
            // The parity waits here until its place in the image: an unnamed file beside the
            // image, which the system removes on every exit path (a crash included).
            let dir = target.parent().filter(|d| !d.as_os_str().is_empty());
            let mut spill =
                tempfile::tempfile_in(dir.unwrap_or(Path::new("."))).map_err(&out_err)?;
            discfs::write_protected_image(
                &contents.tree,
                &contents.layout,
                &mut sink,
                &mut spill,
                watch,
            )
        }
    };
    written.map_err(|e| {
        let cancelled = cancel.is_some_and(|c| c.load(Ordering::SeqCst));
        image_error(e, disc, watch, cancelled, &out_err)
    })?;
    let (sha, _) = sink.finish().map_err(&out_err)?;
    image.commit().map_err(out_err)?;
    Ok(sha.as_bytes().try_into().expect("a SHA-256 is 32 bytes"))
}

/// What the image writer's error means for disc `disc`.
fn image_error(
    e: WriteError,
    disc: u32,
    watch: &mut Watch<'_>,
    cancelled: bool,
    out_err: &dyn Fn(io::Error) -> Error,
) -> Error {
    match e {
        // Watch's own check of a source: its error, as it made it.
        WriteError::Refused { reason, file } => match reason.downcast::<Error>() {
            Ok(e) => *e,
            Err(other) => Error::Internal(format!("{file}: {other}")),
        },
        WriteError::SourceShort {
            path,
            got,
            expected,
            ..
        } => Error::source_changed(
            disc,
            path,
            ProblemKind::Changed,
            format!("it now ends after {got} of {expected} bytes"),
        ),
        WriteError::Source { path, source, .. } => match watch.source_at(&path) {
            Some(expected) => sources::read_error(disc, expected, source),
            None => Error::SourceRead { path, source },
        },
        WriteError::Sink { .. } if cancelled => Error::Interrupted,
        WriteError::Sink { source, .. } => out_err(source),
        other => Error::DiscImage {
            disc,
            source: Box::new(other),
        },
    }
}

/// The image file; writes fail once `cancel` is set.
struct Cancellable<'a> {
    file: DropBehind<&'a mut File>,
    cancel: Option<Arc<AtomicBool>>,
}

impl Write for Cancellable<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::SeqCst))
        {
            // Not `ErrorKind::Interrupted`: buffered writers retry that.
            return Err(io::Error::other("interrupted"));
        }
        self.file.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.file.flush()
    }
}

/// Has every data file re-hashed as the image writer reads it (on its reading threads), and
/// reports progress.
struct Watch<'a> {
    expected: &'a Arc<HashMap<NodeId, ExpectedSource>>,
    /// The catalogue's hash algorithm.
    hash: HashAlgorithm,
    disc: u32,
    progress: &'a dyn Progress,
    catalogue: &'a Catalogue,
    job: i64,
    run_done: u64,
    run_total: u64,
    last: Instant,
}

impl Watch<'_> {
    /// The expected source read from `path`.
    fn source_at(&self, path: &Path) -> Option<&ExpectedSource> {
        self.expected.values().find(|s| s.path == path)
    }
}

impl discfs::Observer for Watch<'_> {
    fn source_check(&mut self) -> Option<Arc<dyn discfs::SourceCheck>> {
        Some(Arc::new(Rehash {
            expected: Arc::clone(self.expected),
            hash: self.hash,
            disc: self.disc,
        }))
    }

    fn progress(&mut self, written: u64, total: u64) {
        if self.last.elapsed() < Duration::from_millis(250) && written < total {
            return;
        }
        self.last = Instant::now();
        let run_done = self.run_done + written;
        self.progress.event(&Event::WriteProgress {
            disc: self.disc,
            bytes_done: written,
            run_done,
            run_total: self.run_total,
        });
        let counters = JobCounters {
            files_done: 0,
            bytes_done: run_done,
            files_total: 0,
            bytes_total: self.run_total,
        };
        let _ =
            self.catalogue
                .update_job(self.job, &format!("writing disc {}", self.disc), counters);
    }
}

/// Re-hashes each data file as it is read for the image: the bytes on the disc must be the
/// ones the scan hashed, and the source must not have changed since.
#[derive(Clone)]
struct Rehash {
    expected: Arc<HashMap<NodeId, ExpectedSource>>,
    hash: HashAlgorithm,
    disc: u32,
}

impl discfs::SourceCheck for Rehash {
    fn start(&self, _tree: &Tree, file: NodeId) -> Option<Box<dyn discfs::FileCheck>> {
        self.expected.contains_key(&file).then(|| {
            Box::new(FileRehash {
                hasher: self.hash.hasher(),
                of: file,
                by: self.clone(),
            }) as Box<dyn discfs::FileCheck>
        })
    }
}

/// The re-hash of one file.
struct FileRehash {
    hasher: crate::hash::ContentHasher,
    of: NodeId,
    by: Rehash,
}

impl discfs::FileCheck for FileRehash {
    fn update(&mut self, data: &[u8]) {
        self.hasher.update(data);
    }

    fn finish(self: Box<Self>) -> std::result::Result<(), Refusal> {
        let got = self.hasher.finish();
        let (by, source) = (&self.by, &self.by.expected[&self.of]);
        if source.hash != got {
            let what = format!(
                "its {} is now {got} instead of {}",
                by.hash.display_name(),
                source.hash
            );
            let changed = Error::source_changed(by.disc, &source.path, ProblemKind::Changed, what);
            return Err(Box::new(changed));
        }
        // The right bytes, but it may have more now, or be gone.
        sources::check(by.disc, source).map_err(|e| Box::new(e) as Refusal)
    }
}

/// What `archive` does: scan `drive`, plan what is not on written discs, write.
#[derive(Debug, Clone)]
pub struct ArchiveOptions {
    /// The drive to scan.
    pub drive: PathBuf,
    /// How to scan.
    pub scan: ScanOptions,
    /// How to plan (`replan` is implied: written discs are kept, the rest planned again).
    pub plan: PlanOptions,
    /// Where the images go.
    pub out: PathBuf,
}

/// What `archive` did.
#[derive(Debug, serde::Serialize)]
pub struct ArchiveSummary {
    /// The scan.
    pub scan: ScanSummary,
    /// The plan, unless every file was already on written discs.
    pub plan: Option<PlanSummary>,
    /// The images.
    pub written: Vec<WrittenDisc>,
}

/// Scans, plans and writes in one call: the whole job for a drive. Running it again after an
/// interruption rescans (reading only what changed), keeps written discs, and finishes.
/// `options.scan.cancel` stops it inside the scan and the write, and between the steps.
pub fn archive(
    catalogue: &mut Catalogue,
    options: &ArchiveOptions,
    progress: &dyn Progress,
) -> Result<ArchiveSummary> {
    // A cancel between the steps stops before the next one.
    let cancelled = || {
        options
            .scan
            .cancel
            .as_ref()
            .is_some_and(|c| c.load(Ordering::SeqCst))
    };
    let scan = crate::scan(catalogue, &options.drive, &options.scan, progress)?;
    if cancelled() {
        return Err(Error::Interrupted);
    }
    let plan_options = PlanOptions {
        replan: true,
        ..options.plan.clone()
    };
    let plan = match crate::plan(catalogue, &plan_options, progress) {
        Ok(p) => Some(p),
        Err(Error::NothingToPlan { .. }) if !catalogue.discs()?.is_empty() => None,
        Err(e) => return Err(e),
    };
    if cancelled() {
        return Err(Error::Interrupted);
    }
    let written = write(
        catalogue,
        &WriteOptions {
            out: options.out.clone(),
            discs: Vec::new(),
            cancel: options.scan.cancel.clone(),
        },
        progress,
    )?;
    Ok(ArchiveSummary {
        scan,
        plan,
        written,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::Media;

    /// Sets the cancel flag when the plan starts, as a person's cancel during the plan.
    struct CancelAtPlan(Arc<AtomicBool>);

    impl Progress for CancelAtPlan {
        fn event(&self, event: &Event) {
            if matches!(event, Event::PlanStarted { .. }) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
    }

    #[test]
    fn a_cancel_during_the_plan_stops_an_archive_before_its_write() {
        let dir = tempfile::tempdir().unwrap();
        let drive = dir.path().join("drive");
        fs::create_dir_all(&drive).unwrap();
        fs::write(drive.join("a.txt"), "a").unwrap();
        let mut catalogue = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
        let cancel = Arc::new(AtomicBool::new(false));
        let options = ArchiveOptions {
            drive,
            scan: ScanOptions {
                cancel: Some(Arc::clone(&cancel)),
                ..ScanOptions::default()
            },
            plan: PlanOptions {
                media: Media::parse("2M").unwrap(),
                margin: 0,
                first: Vec::new(),
                replan: false,
                parity: 0,
                set_parity: Default::default(),
            },
            out: dir.path().join("images"),
        };
        let result = archive(&mut catalogue, &options, &CancelAtPlan(cancel));
        assert!(matches!(result, Err(Error::Interrupted)), "{result:?}");
        // The plan is kept; no write was started.
        assert_eq!(catalogue.discs().unwrap().len(), 1);
        assert_eq!(catalogue.latest_job().unwrap().unwrap().kind, "scan");
        assert!(!options.out.exists());
    }
}
