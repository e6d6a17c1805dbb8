//! Jobs the server runs itself (a restore, a verify, an archive), one at a time: each on a thread of its
//! own through the same library calls as the CLI, its state kept here for `/api/status` and
//! `/api/events`, and recorded in the catalogue's job table like the CLI's jobs (so that the
//! CLI refuses to start a job while one runs here, and the other way round, and the table
//! keeps the history). A running job can be cancelled: a restore stops between files and
//! inside a large file's copy, a verify between discs and inside a disc's check, an archive inside its scan and its
//! write and between its steps ([`crate::archive`]). Jobs of other processes (a scan
//! started by the CLI) are seen in the catalogue's job table.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use odarchive::catalogue::JobState;
use odarchive::catalogue::job_history::JobProgress;
use odarchive::restore::{RestoreOptions, RestoreReport};
use odarchive::verify::{DiscVerdict, VerifyOptions, VerifyPlan};
use odarchive::{Catalogue, Event, Progress};
use serde::Serialize;

use crate::wire::ApiError;

/// Where a server job is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ServerJobState {
    /// It runs.
    Running,
    /// It did everything asked.
    Completed,
    /// It ended; some files or discs had problems (listed in its report or verdicts).
    CompletedWithErrors,
    /// It restored what the discs given hold; more discs are needed (listed in its report).
    NeedsDiscs,
    /// It was cancelled; what it finished is kept (its report says how much).
    Cancelled,
    /// An error stopped it (its `error`).
    Failed,
}

/// A job run by this server.
#[derive(Debug, Clone, Serialize)]
pub struct ServerJob {
    /// Its number in the catalogue's job table (`/api/jobs`).
    pub id: i64,
    /// What it does: `restore`, `verify` or `archive`.
    pub kind: &'static str,
    /// Where it is.
    pub state: ServerJobState,
    /// When it started, ns since the epoch.
    pub started_ns: i64,
    /// When it last moved on.
    pub updated_ns: i64,
    /// When it ended.
    pub finished_ns: Option<i64>,
    /// What it does now, in words (`reading disc 2 (ODA_…_002): 14 files`).
    pub phase: String,
    /// Whether a cancel was asked for.
    pub cancel_requested: bool,
    /// The snapshot it restores (restore).
    pub snapshot: Option<i64>,
    /// The folder it restores into (restore).
    pub to: Option<String>,
    /// The paths asked for (restore).
    pub paths: Vec<String>,
    /// Discs read so far (restore), or to check (verify).
    pub discs_read: Vec<u32>,
    /// The discs asked to be checked (verify; empty: every image found).
    pub discs: Vec<u32>,
    /// The restore's report, once it ended (the shape of `restore --json`).
    pub report: Option<RestoreReport>,
    /// A verify's verdicts, one per disc checked so far (the shape of `verify --json`).
    pub verdicts: Vec<DiscVerdict>,
    /// A verify's checks of the parity discs of set-parity groups found among the images
    /// (they hold no files: `verify`'s `parity_disc` objects).
    pub parity_discs: Vec<odarchive::set_parity::ParityDiscCheck>,
    /// The error that stopped it.
    pub error: Option<String>,
    /// Once it ended: what it did, as the job table keeps it.
    pub message: Option<String>,
    /// An archive's drive, settings, counters and the discs it wrote.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub archive: Option<crate::archive::ArchiveJob>,
}

#[derive(Debug, Default)]
struct Slot {
    job: Option<ServerJob>,
    cancel: Arc<AtomicBool>,
}

/// The server's job slot.
#[derive(Debug, Default)]
pub struct Jobs {
    slot: Mutex<Slot>,
}

/// What a job's thread ends with: its state, the message kept in the job table, and the
/// error (if one stopped it).
pub(crate) struct Ending {
    pub(crate) state: ServerJobState,
    pub(crate) message: String,
    pub(crate) error: Option<String>,
}

/// What a restore is asked to do.
#[derive(Debug, Clone)]
pub struct RestoreJob {
    /// The library's options.
    pub options: RestoreOptions,
    /// Paths asked for that are not UTF-8, as raw bytes (selected besides the patterns).
    pub raw_paths: Vec<Vec<u8>>,
    /// The paths as asked (lossy UTF-8, for display).
    pub paths: Vec<String>,
    /// The snapshot.
    pub snapshot: i64,
}

pub(crate) fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    // A thread that panicked while holding the lock left a usable record.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Jobs {
    /// The current or last job.
    pub fn current(&self) -> Option<ServerJob> {
        lock(&self.slot).job.clone()
    }

    /// Asks job `id` to stop. `Ok(job)` when it runs here; otherwise `Err` with what to say
    /// (`None`: this server does not run or ran no job `id`).
    pub fn cancel(&self, id: i64) -> Result<ServerJob, Option<ApiError>> {
        let mut slot = lock(&self.slot);
        let cancel = Arc::clone(&slot.cancel);
        let Some(job) = slot.job.as_mut().filter(|j| j.id == id) else {
            return Err(None);
        };
        if job.state != ServerJobState::Running {
            return Err(Some(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                format!(
                    "job {id} ({}) has ended ({}); there is nothing to cancel",
                    job.kind,
                    serde_json::to_value(job.state)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_default()
                ),
            )));
        }
        cancel.store(true, Ordering::SeqCst);
        job.cancel_requested = true;
        job.phase = format!("cancelling ({})", job.phase);
        job.updated_ns = odarchive::time::now_ns();
        Ok(job.clone())
    }

    /// Starts a restore from the catalogue at `catalogue`, unless a job runs here or in
    /// another process (409). Blocks on the catalogue: call it off the async threads.
    pub fn start_restore(
        self: &Arc<Self>,
        catalogue: &Path,
        restore: RestoreJob,
    ) -> Result<ServerJob, ApiError> {
        let to = restore.options.to.to_string_lossy().into_owned();
        let path = catalogue.to_owned();
        let (snapshot, paths) = (restore.snapshot, restore.paths.clone());
        self.start(
            catalogue,
            "restore",
            |job| {
                job.snapshot = Some(snapshot);
                job.to = Some(to);
                job.paths = paths;
            },
            move |jobs, recorder, id, cancel| {
                run_restore(jobs, recorder, id, &path, &restore, cancel)
            },
        )
    }

    /// Starts a verify of the images in `images` (only the discs in `discs`, if any) against
    /// the catalogue at `catalogue`, unless a job runs (409). Blocks on the catalogue.
    pub fn start_verify(
        self: &Arc<Self>,
        catalogue: &Path,
        images: Vec<PathBuf>,
        discs: Vec<u32>,
    ) -> Result<ServerJob, ApiError> {
        let path = catalogue.to_owned();
        let asked = discs.clone();
        self.start(
            catalogue,
            "verify",
            |job| job.discs = asked,
            move |jobs, recorder, id, cancel| {
                run_verify(jobs, recorder, id, &path, &images, &discs, cancel)
            },
        )
    }

    pub(crate) fn start(
        self: &Arc<Self>,
        catalogue: &Path,
        kind: &'static str,
        fill: impl FnOnce(&mut ServerJob),
        run: impl FnOnce(&Arc<Jobs>, &Mutex<Catalogue>, i64, &Arc<AtomicBool>) -> Ending
        + Send
        + 'static,
    ) -> Result<ServerJob, ApiError> {
        let mut slot = lock(&self.slot);
        if let Some(job) = slot
            .job
            .as_ref()
            .filter(|j| j.state == ServerJobState::Running)
        {
            return Err(ApiError::new(
                axum::http::StatusCode::CONFLICT,
                format!(
                    "job {} ({}) is running; one job at a time (see /api/status)",
                    job.id, job.kind
                ),
            ));
        }
        // The job table says whether the CLI runs a job on this catalogue (409 if so).
        let mut recorder = Catalogue::open(catalogue)?;
        let id = recorder.begin_job(kind)?;
        let now = odarchive::time::now_ns();
        let mut job = ServerJob {
            id,
            kind,
            state: ServerJobState::Running,
            started_ns: now,
            updated_ns: now,
            finished_ns: None,
            phase: "starting".into(),
            cancel_requested: false,
            snapshot: None,
            to: None,
            paths: Vec::new(),
            discs_read: Vec::new(),
            discs: Vec::new(),
            report: None,
            verdicts: Vec::new(),
            parity_discs: Vec::new(),
            error: None,
            message: None,
            archive: None,
        };
        fill(&mut job);
        let cancel = Arc::new(AtomicBool::new(false));
        slot.job = Some(job.clone());
        slot.cancel = Arc::clone(&cancel);
        drop(slot);
        let recorder = Arc::new(Mutex::new(recorder));
        let jobs = Arc::clone(self);
        let thread_recorder = Arc::clone(&recorder);
        let spawned = std::thread::Builder::new()
            .name(format!("odarchive-{kind}"))
            .spawn(move || {
                let ending = run(&jobs, &thread_recorder, id, &cancel);
                jobs.finish(&thread_recorder, id, ending);
            });
        if let Err(e) = spawned {
            let message = format!("cannot start a thread: {e}");
            self.finish(
                &recorder,
                id,
                Ending {
                    state: ServerJobState::Failed,
                    message: message.clone(),
                    error: Some(message),
                },
            );
            return Err(ApiError::new(
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                format!("cannot start the {kind}: {e}"),
            ));
        }
        Ok(job)
    }

    /// Changes the running job `id`.
    pub(crate) fn update(&self, id: i64, f: impl FnOnce(&mut ServerJob)) {
        let mut slot = lock(&self.slot);
        if let Some(job) = slot.job.as_mut().filter(|j| j.id == id) {
            job.updated_ns = odarchive::time::now_ns();
            f(job);
        }
    }

    fn finish(&self, recorder: &Mutex<Catalogue>, id: i64, ending: Ending) {
        let state = match ending.state {
            ServerJobState::Running | ServerJobState::Completed => JobState::Completed,
            ServerJobState::CompletedWithErrors | ServerJobState::NeedsDiscs => {
                JobState::CompletedWithErrors
            }
            ServerJobState::Cancelled => JobState::Interrupted,
            ServerJobState::Failed => JobState::Failed,
        };
        // The job table keeps the history; a failure to write it is said in the job.
        let recorded = lock(recorder).end_job(id, state, Some(&ending.message));
        self.update(id, |job| {
            job.finished_ns = Some(job.updated_ns);
            job.phase = "done".into();
            job.state = ending.state;
            job.error = ending.error;
            job.message = Some(ending.message);
            if let Err(e) = recorded {
                job.error = Some(format!("the job table was not updated: {e}"));
            }
        });
    }
}

pub(crate) fn failed(error: impl ToString) -> Ending {
    let message = error.to_string();
    Ending {
        state: ServerJobState::Failed,
        message: message.clone(),
        error: Some(message),
    }
}

fn run_restore(
    jobs: &Arc<Jobs>,
    recorder: &Mutex<Catalogue>,
    id: i64,
    catalogue: &Path,
    restore: &RestoreJob,
    cancel: &AtomicBool,
) -> Ending {
    // Writable, as the CLI's: restoring from discs of odarchive 0.1 records their names.
    let catalogue = match Catalogue::open(catalogue) {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    // The parity discs of set-parity groups in the folders hold no files to restore.
    let mut options = restore.options.clone();
    match split_parity_images(&catalogue, &options.from) {
        // (With no data disc at all the folders are given as they are: the restore says
        // which discs it needs.)
        Ok((data, _)) if !data.is_empty() => options.from = data,
        Ok(_) => {}
        Err(e) => return failed(e),
    }
    let selection = odarchive::restore::Selection::new(&restore.options.patterns)
        .map(|s| s.with_paths(restore.raw_paths.clone()));
    let plan = match selection
        .and_then(|s| odarchive::restore::prepare_selected(&catalogue, &options, s))
    {
        Ok(p) => p,
        Err(e) => return failed(e),
    };
    let totals = JobProgress {
        files_total: plan.files_to_restore,
        bytes_total: plan.bytes_to_restore,
        ..JobProgress::default()
    };
    let _ = lock(recorder).note_job(id, "reading discs", totals);
    let progress = RestoreProgress {
        jobs: Arc::clone(jobs),
        recorder,
        id,
        totals,
    };
    let report = match odarchive::restore::execute_cancellable(plan, &progress, cancel) {
        Ok(r) => r,
        Err(e) => return failed(e),
    };
    let state = if report.cancelled {
        ServerJobState::Cancelled
    } else if !report.missing_discs.is_empty() {
        ServerJobState::NeedsDiscs
    } else if !report.problems.is_empty() {
        ServerJobState::CompletedWithErrors
    } else {
        ServerJobState::Completed
    };
    let mut message = format!(
        "{}restored {} files ({} bytes) into {}",
        if report.cancelled { "cancelled; " } else { "" },
        report.files_restored,
        report.bytes_restored,
        restore.options.to.display()
    );
    if !report.problems.is_empty() {
        message.push_str(&format!(
            "; {} problems, the first: {}",
            report.problems.len(),
            report.problems[0]
        ));
    }
    if !report.missing_discs.is_empty() {
        let needed: Vec<String> = report
            .missing_discs
            .iter()
            .map(|d| format!("{} ({})", d.number, d.label))
            .collect();
        message.push_str(&format!("; discs still needed: {}", needed.join(", ")));
    }
    let done = JobProgress {
        files_done: report.files_restored,
        bytes_done: report.bytes_restored,
        ..totals
    };
    let _ = lock(recorder).note_job(id, "finishing", done);
    jobs.update(id, |job| {
        job.discs_read = report.discs_read.clone();
        job.report = Some(report);
    });
    Ending {
        state,
        message,
        error: None,
    }
}

/// Turns a restore's events into its job's phase.
struct RestoreProgress<'a> {
    jobs: Arc<Jobs>,
    recorder: &'a Mutex<Catalogue>,
    id: i64,
    totals: JobProgress,
}

impl Progress for RestoreProgress<'_> {
    fn event(&self, event: &Event) {
        if let Event::RestoreDiscStarted {
            disc, label, files, ..
        } = event
        {
            let phase = format!("reading disc {disc} ({label}): {files} files");
            let _ = lock(self.recorder).note_job(self.id, &phase, self.totals);
            self.jobs.update(self.id, |job| {
                job.phase = if job.cancel_requested {
                    format!("cancelling ({phase})")
                } else {
                    phase
                };
                job.discs_read.push(*disc);
            });
        }
    }
}

/// The images in `folders` (as a verify takes them) split into data discs and the parity
/// discs of set-parity groups: those whose file name the catalogue records for one.
fn split_parity_images(
    catalogue: &Catalogue,
    folders: &[PathBuf],
) -> odarchive::Result<(Vec<PathBuf>, Vec<PathBuf>)> {
    let mut names = Vec::new();
    for group in catalogue.set_groups()? {
        for disc in catalogue.set_parity_discs(group.id)? {
            names.extend(disc.image_name);
        }
    }
    let (mut data, mut parity) = (Vec::new(), Vec::new());
    for folder in folders {
        for given in odarchive::reader::given_discs(std::slice::from_ref(folder)) {
            match given {
                Ok(path)
                    if path.is_file()
                        && path
                            .file_name()
                            .is_some_and(|n| names.iter().any(|m| n == m.as_str())) =>
                {
                    parity.push(path)
                }
                Ok(path) => data.push(path),
                // Given as it is, the verify's plan says what it is not.
                Err(_) => data.push(folder.clone()),
            }
        }
    }
    Ok((data, parity))
}

fn run_verify(
    jobs: &Arc<Jobs>,
    recorder: &Mutex<Catalogue>,
    id: i64,
    catalogue: &Path,
    images: &[PathBuf],
    discs: &[u32],
    cancel: &AtomicBool,
) -> Ending {
    let mut catalogue = match Catalogue::open(catalogue) {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    jobs.update(id, |job| job.phase = "identifying the images".into());
    // The parity discs of set-parity groups hold no files of the catalogue: they are checked
    // as what they are (after the data discs, and only when every image is checked).
    let (sources, parity_images) = match split_parity_images(&catalogue, images) {
        Ok(split) => split,
        Err(e) => return failed(e),
    };
    let parity_images = if discs.is_empty() {
        parity_images
    } else {
        Vec::new()
    };
    let plan = match odarchive::verify::prepare(&catalogue, &sources, &VerifyOptions::default()) {
        Ok(p) => p,
        Err(e) => return failed(e),
    };
    let checks: Vec<_> = plan
        .checks
        .into_iter()
        .filter(|c| discs.is_empty() || c.verdict.disc.is_some_and(|d| discs.contains(&d)))
        .collect();
    let not_found: Vec<u32> = discs
        .iter()
        .copied()
        .filter(|d| !checks.iter().any(|c| c.verdict.disc == Some(*d)))
        .collect();
    let total = (checks.len() + parity_images.len()) as u64;
    let (mut passed, mut lines) = (0u64, Vec::new());
    let mut cancelled = false;
    for (k, check) in checks.into_iter().enumerate() {
        if cancel.load(Ordering::SeqCst) {
            cancelled = true;
            break;
        }
        let which = match (check.verdict.disc, &check.verdict.label) {
            (Some(n), Some(label)) => format!("disc {n} ({label})"),
            _ => check.source.display().to_string(),
        };
        let phase = format!("checking {which}: {} of {total}", k + 1);
        let progress = JobProgress {
            files_done: k as u64,
            files_total: total,
            ..JobProgress::default()
        };
        let _ = lock(recorder).note_job(id, &phase, progress);
        jobs.update(id, |job| {
            job.phase = phase;
            job.discs_read.extend(check.verdict.disc);
        });
        let one = VerifyPlan {
            snapshot: None,
            iso9660_only: false,
            checks: vec![check],
            missing_discs: Vec::new(),
        };
        let report = match odarchive::verify::execute_cancellable(&mut catalogue, &one, cancel) {
            Ok(r) => r,
            Err(e) => return failed(e),
        };
        if report.cancelled {
            // Stopped inside this disc: it has no verdict.
            cancelled = true;
            break;
        }
        for verdict in report.discs {
            let said = verdict.summary();
            lines.push(format!("{which}: {said}"));
            passed += u64::from(verdict.ok());
            jobs.update(id, |job| job.verdicts.push(verdict));
        }
    }
    let data_discs = lines.len() as u64;
    for (k, image) in parity_images.iter().enumerate() {
        if cancelled || cancel.load(Ordering::SeqCst) {
            cancelled = true;
            break;
        }
        let name = image.file_name().unwrap_or_default().to_string_lossy();
        let phase = format!(
            "checking the parity disc {name}: {} of {total}",
            data_discs + k as u64 + 1
        );
        let _ = lock(recorder).note_job(id, &phase, JobProgress::default());
        jobs.update(id, |job| job.phase = phase);
        match odarchive::set_parity::check_parity_disc(Some(&catalogue), image) {
            Ok(Some(check)) => {
                let ok = check.ok();
                lines.push(format!(
                    "{name}: parity disc {} of set-parity group {} ({} discs): {}, {} bad \
                     sectors{}",
                    check.index,
                    check.group,
                    check.members,
                    if ok { "ok" } else { "FAILED" },
                    check.bad_sectors,
                    match check.image_sha256_ok {
                        Some(true) => ", image SHA-256 as recorded",
                        Some(false) => ", image SHA-256 differs from the one recorded",
                        None => "",
                    }
                ));
                passed += u64::from(ok);
                jobs.update(id, |job| job.parity_discs.push(check));
            }
            Ok(None) => lines.push(format!(
                "{name}: FAILED: the catalogue records it as a set-parity disc, but it holds no \
                 readable parity file"
            )),
            Err(e) => lines.push(format!("{name}: FAILED: {e}")),
        }
    }
    let checked = lines.len() as u64;
    if !not_found.is_empty() {
        let list: Vec<String> = not_found.iter().map(u32::to_string).collect();
        lines.push(format!(
            "no image of disc {} in the --images folders",
            list.join(", ")
        ));
    }
    let state = if cancelled {
        ServerJobState::Cancelled
    } else if checked > 0 && passed == checked && not_found.is_empty() {
        ServerJobState::Completed
    } else {
        ServerJobState::CompletedWithErrors
    };
    let head = format!(
        "{}{passed} of {checked} discs passed",
        if cancelled { "cancelled; " } else { "" }
    );
    Ending {
        state,
        message: if lines.is_empty() && cancelled {
            format!("{head}; cancelled before the check of a disc ended")
        } else if lines.is_empty() {
            format!("{head}; no disc image found in the --images folders")
        } else {
            format!("{head}; {}", lines.join("; "))
        },
        error: None,
    }
}
