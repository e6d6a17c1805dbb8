//! The archive action ("post changes via web"): a rescan of the drive given with `--drive`,
//! a plan of what changed, and the write of the planned discs into a folder under
//! `--images`, as one job of this server through the same library call as the CLI's
//! `odarchive archive` ([`odarchive::archive`]).
//!
//! The plan takes the settings of the catalogue's last plan (medium, margin, `--first`
//! paths, parity, set parity), each of which a request may replace; what a request gives is
//! checked before the job starts. The job's phase and counters follow the library's events;
//! a cancel stops it inside the scan and the write (what is done is kept, the next run
//! resumes) and between the steps.
//!
//! The job is recorded in the catalogue's job table as `archive`; the scan and the write it
//! runs record their own rows inside it ([`odarchive::Catalogue::begin_job`]), so the status
//! of the catalogue shows their progress as it shows the CLI's.

use std::path::{Component, Path, PathBuf};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};

use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use odarchive::catalogue::job_history::JobProgress;
use odarchive::{
    ArchiveOptions, Catalogue, Error, Event, Media, PlanOptions, Progress, ScanOptions,
    SetParityOptions,
};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::api::AppState;
use crate::jobs::{Ending, Jobs, ServerJob, ServerJobState, failed, lock};
use crate::wire::ApiError;

/// The settings a plan is made with.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArchiveSettings {
    /// The medium's name or size, as given.
    pub media: String,
    /// Its capacity in bytes.
    pub capacity: u64,
    /// Bytes left unused on every disc.
    pub margin: u64,
    /// Paths (relative to the drive root) put on the first discs, in order.
    pub first: Vec<String>,
    /// Parity on every disc, in percent of its other sectors (0: none).
    pub parity: u8,
    /// Parity discs for every group of `set_group` discs (0: none).
    pub set_parity: u32,
    /// Discs per set-parity group.
    pub set_group: u32,
}

/// What an archive job shows besides its phase.
#[derive(Debug, Clone, Serialize)]
pub struct ArchiveJob {
    /// The drive scanned.
    pub drive: String,
    /// The folder the images go to.
    pub out: String,
    /// The settings planned with.
    pub settings: ArchiveSettings,
    /// Where it is: `scan`, `plan` or `write`.
    pub step: &'static str,
    /// Files done in this step (scan: recorded; write: discs written).
    pub files_done: u64,
    /// Files of this step as far as known.
    pub files_total: u64,
    /// Bytes done in this step (scan: hashed or reused; write: image bytes).
    pub bytes_done: u64,
    /// Bytes of this step as far as known.
    pub bytes_total: u64,
    /// Files the scan could not read (each recorded in the catalogue).
    pub file_problems: u64,
    /// The discs written by this run (already written discs left alone are not counted).
    pub written: Vec<u32>,
    /// Once it ended well: the summary, in the shape of `archive --json`.
    pub summary: Option<Value>,
}

/// The body of `POST /api/archive`: every field may be left out.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ArchiveRequest {
    /// The folder for the images: under the first `--images` folder, or absolute under any
    /// (default: the first `--images` folder itself).
    #[serde(default)]
    pub out: String,
    /// The medium (`bd`, `dvd`, `700M`, ...).
    pub media: Option<String>,
    /// Bytes to leave unused on every disc: a number or a size (`10M`).
    pub margin: Option<Value>,
    /// Paths to put on the first discs.
    pub first: Option<Vec<String>>,
    /// Parity percent on every disc, 0..=100.
    pub parity: Option<u64>,
    /// Parity discs per group, 0 for none.
    pub set_parity: Option<u64>,
    /// Discs per group, 1..=255.
    pub set_group: Option<u64>,
}

/// The settings of the catalogue's last plan, if it has one.
pub fn stored_settings(c: &Catalogue) -> Result<Option<ArchiveSettings>, ApiError> {
    let Some(plan) = c.plans_up_to(i64::MAX)?.pop() else {
        return Ok(None);
    };
    // A plan made before schema 12 did not record its set-parity shape: its groups say
    // what they hold (the asked group size when one is full).
    let (set_parity, set_group) = if plan.set_group > 0 {
        (plan.set_parity, plan.set_group)
    } else {
        let groups = c.plan_set_groups(plan.id)?;
        (
            groups.first().map_or(0, |g| g.parity),
            groups
                .iter()
                .map(|g| g.member_count() as u32)
                .max()
                .unwrap_or(odarchive::set_parity::DEFAULT_GROUP),
        )
    };
    Ok(Some(ArchiveSettings {
        media: plan.media,
        capacity: plan.capacity,
        margin: plan.margin,
        first: plan.first_paths,
        parity: plan.parity_percent,
        set_parity,
        set_group,
    }))
}

/// The settings `request` asks for: each field given, checked, or else the stored one.
pub fn settings_of(
    stored: Option<ArchiveSettings>,
    request: &ArchiveRequest,
) -> Result<ArchiveSettings, ApiError> {
    let (media, capacity) = match (&request.media, &stored) {
        (Some(text), _) => {
            let m = Media::parse(text)
                .map_err(|e| ApiError::bad_request(format!("`media` {text:?}: {e}")))?;
            (m.name, m.capacity)
        }
        (None, Some(s)) => (s.media.clone(), s.capacity),
        (None, None) => {
            return Err(ApiError::bad_request(
                "the catalogue has no plan to take the medium from: give `media` (bd, dvd, \
                 700M, ...)",
            ));
        }
    };
    let margin = match &request.margin {
        None => stored.as_ref().map_or(0, |s| s.margin),
        Some(Value::Number(n)) => n.as_u64().ok_or_else(|| {
            ApiError::bad_request(format!("`margin` {n} is not a whole number of bytes"))
        })?,
        Some(Value::String(text)) => odarchive::media::parse_size(text)
            .map_err(|e| ApiError::bad_request(format!("`margin` {text:?}: {e}")))?,
        Some(other) => {
            return Err(ApiError::bad_request(format!(
                "`margin` must be a number of bytes or a size such as \"10M\", not {other}"
            )));
        }
    };
    if margin >= capacity {
        return Err(ApiError::bad_request(format!(
            "`margin` {margin} leaves nothing of the {capacity} bytes of a disc"
        )));
    }
    let first = match &request.first {
        Some(paths) => {
            for p in paths {
                let path = Path::new(p);
                if p.is_empty()
                    || p.contains('\0')
                    || path.is_absolute()
                    || path.components().any(|c| c == Component::ParentDir)
                {
                    return Err(ApiError::bad_request(format!(
                        "`first` {p:?}: give a path relative to the drive root, without `..`"
                    )));
                }
            }
            paths.clone()
        }
        None => stored.as_ref().map(|s| s.first.clone()).unwrap_or_default(),
    };
    let number =
        |name: &str, given: Option<u64>, stored: u64, range: std::ops::RangeInclusive<u64>| {
            let n = given.unwrap_or(stored);
            if range.contains(&n) {
                Ok(n)
            } else {
                Err(ApiError::bad_request(format!(
                    "`{name}` {n} is out of range: {}..={}",
                    range.start(),
                    range.end()
                )))
            }
        };
    let parity = number(
        "parity",
        request.parity,
        stored
            .as_ref()
            .map_or(u64::from(odarchive::DEFAULT_PARITY), |s| {
                u64::from(s.parity)
            }),
        0..=100,
    )? as u8;
    let set_parity = number(
        "set_parity",
        request.set_parity,
        stored.as_ref().map_or(0, |s| u64::from(s.set_parity)),
        0..=255,
    )? as u32;
    let set_group = number(
        "set_group",
        request.set_group,
        stored
            .as_ref()
            .map_or(u64::from(odarchive::set_parity::DEFAULT_GROUP), |s| {
                u64::from(s.set_group)
            }),
        1..=255,
    )? as u32;
    if set_parity > 0 {
        set_parity_shape(parity, set_parity, set_group)?;
    }
    Ok(ArchiveSettings {
        media,
        capacity,
        margin,
        first,
        parity,
        set_parity,
        set_group,
    })
}

/// The library's check of a set-parity shape (the one `plan` makes), said in the request's
/// field names.
fn set_parity_shape(parity: u8, set_parity: u32, set_group: u32) -> Result<(), ApiError> {
    use odarchive::set_parity::SetParityError;
    match odarchive::set_parity::check_options(parity, set_parity, set_group) {
        Ok(()) => Ok(()),
        Err(odarchive::Error::SetParity(SetParityError::NoDiscParity)) => {
            Err(ApiError::bad_request(
                "`set_parity` needs `parity` 1 or more (parity discs are made from the discs' \
                 own parity)",
            ))
        }
        Err(odarchive::Error::SetParity(SetParityError::Shape { members, parity })) => {
            Err(ApiError::bad_request(format!(
                "`set_parity` {parity} with `set_group` {members}: a group holds at most 256 \
                 discs, its members and its parity discs together"
            )))
        }
        Err(e) => Err(ApiError::bad_request(format!("`set_parity`: {e}"))),
    }
}

fn plan_options(s: &ArchiveSettings) -> PlanOptions {
    PlanOptions {
        media: Media {
            name: s.media.clone(),
            capacity: s.capacity,
        },
        margin: s.margin,
        first: s.first.clone(),
        replan: true,
        parity: s.parity,
        set_parity: SetParityOptions {
            parity: s.set_parity,
            group: s.set_group,
        },
    }
}

/// `GET /api/archive`: what an archive would do: the drive, the folders the images may go
/// to, and the settings of the catalogue's last plan (`null` if it has none).
pub async fn settings(State(state): State<Arc<AppState>>) -> Result<Json<Value>, ApiError> {
    let stored = state.read(stored_settings).await?;
    Ok(Json(json!({
        "drive": state.drive.as_ref().map(|d| d.display().to_string()),
        "out_folders": state.images.shown(),
        "settings": stored,
    })))
}

/// `POST /api/archive`: starts a rescan of `--drive`, a plan and the write of the planned
/// discs into a folder under `--images`, as a job; 202 with the job.
pub async fn start(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request: ArchiveRequest = crate::wire::optional_body(body, "an archive request")?;
    let Some(drive) = state.drive.clone() else {
        return Err(ApiError::forbidden(
            "`odarchive serve` was started without --drive: there is no drive to rescan",
        ));
    };
    let out = state.images.resolve(request.out.as_bytes())?;
    let stored = state.read(stored_settings).await?;
    let settings = settings_of(stored, &request)?;
    let (jobs, catalogue) = (Arc::clone(&state.jobs), state.catalogue.clone());
    let job =
        tokio::task::spawn_blocking(move || start_job(&jobs, &catalogue, drive, out, settings))
            .await
            .map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    format!("a worker failed: {e}"),
                )
            })??;
    Ok((StatusCode::ACCEPTED, Json(json!({ "job": job }))))
}

fn start_job(
    jobs: &Arc<Jobs>,
    catalogue: &Path,
    drive: PathBuf,
    out: PathBuf,
    settings: ArchiveSettings,
) -> Result<ServerJob, ApiError> {
    let path = catalogue.to_owned();
    let shown = ArchiveJob {
        drive: drive.display().to_string(),
        out: out.display().to_string(),
        settings: settings.clone(),
        step: "scan",
        files_done: 0,
        files_total: 0,
        bytes_done: 0,
        bytes_total: 0,
        file_problems: 0,
        written: Vec::new(),
        summary: None,
    };
    jobs.start(
        catalogue,
        "archive",
        |job| job.archive = Some(shown),
        move |jobs, recorder, id, cancel| {
            let options = ArchiveOptions {
                drive,
                scan: ScanOptions {
                    cancel: Some(Arc::clone(cancel)),
                    ..ScanOptions::default()
                },
                plan: plan_options(&settings),
                out,
            };
            run(jobs, recorder, id, &path, &options, cancel)
        },
    )
}

fn run(
    jobs: &Arc<Jobs>,
    recorder: &Mutex<Catalogue>,
    id: i64,
    catalogue: &Path,
    options: &ArchiveOptions,
    cancel: &AtomicBool,
) -> Ending {
    let mut catalogue = match Catalogue::open(catalogue) {
        Ok(c) => c,
        Err(e) => return failed(e),
    };
    let progress = ArchiveProgress {
        jobs: Arc::clone(jobs),
        recorder,
        id,
    };
    let result = odarchive::archive(&mut catalogue, options, &progress);
    let step = jobs
        .current()
        .and_then(|j| j.archive.map(|a| a.step))
        .unwrap_or("scan");
    match result {
        Ok(summary) => {
            let written: Vec<&odarchive::WrittenDisc> =
                summary.written.iter().filter(|w| !w.skipped).collect();
            let numbers: Vec<String> = written
                .iter()
                .map(|w| match w.set_parity_group {
                    Some(g) => format!("{} (parity of group {g})", w.label),
                    None => w.number.to_string(),
                })
                .collect();
            let scan = &summary.scan;
            let mut message = format!(
                "scanned {} into snapshot {}: {} files, {} read, {} unchanged; ",
                options.drive.display(),
                scan.info.snapshot,
                scan.info.files,
                scan.hashed_files,
                scan.reused_files
            );
            match &summary.plan {
                Some(plan) => message.push_str(&format!("planned {} discs; ", plan.discs.len())),
                None => message.push_str("nothing new to plan; "),
            }
            message.push_str(&format!(
                "wrote {} discs{} into {}",
                written.len(),
                if numbers.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", numbers.join(", "))
                },
                options.out.display()
            ));
            let errors = scan.info.errors;
            if errors > 0 {
                message.push_str(&format!(
                    "; {errors} files could not be read (see the catalogue's scan errors)"
                ));
            }
            let value = serde_json::to_value(&summary).ok();
            jobs.update(id, |job| {
                if let Some(a) = job.archive.as_mut() {
                    a.summary = value;
                }
            });
            Ending {
                state: if errors > 0 {
                    ServerJobState::CompletedWithErrors
                } else {
                    ServerJobState::Completed
                },
                message,
                error: None,
            }
        }
        Err(Error::Interrupted) if cancel.load(std::sync::atomic::Ordering::SeqCst) => Ending {
            state: ServerJobState::Cancelled,
            message: format!(
                "cancelled during the {step}; what was done is kept, the next run goes on from it"
            ),
            error: None,
        },
        Err(e) => {
            let mut ending = failed(format!(
                "the {step} stopped: {}",
                odarchive::error::chain(&e)
            ));
            ending.message = ending.error.clone().unwrap_or_default();
            ending
        }
    }
}

/// Turns the events of a scan, plan and write into the job's phase and counters.
struct ArchiveProgress<'a> {
    jobs: Arc<Jobs>,
    recorder: &'a Mutex<Catalogue>,
    id: i64,
}

impl ArchiveProgress<'_> {
    /// Sets the phase (kept as "cancelling (…)" once a cancel was asked for) and counters.
    fn set(&self, phase: String, note: bool, f: impl FnOnce(&mut ArchiveJob)) {
        if note {
            // Steps only: the scan and the write record their own progress in their rows.
            let _ = lock(self.recorder).note_job(self.id, &phase, JobProgress::default());
        }
        self.jobs.update(self.id, |job| {
            job.phase = if job.cancel_requested {
                format!("cancelling ({phase})")
            } else {
                phase
            };
            if let Some(a) = job.archive.as_mut() {
                f(a);
            }
        });
    }
}

impl Progress for ArchiveProgress<'_> {
    fn event(&self, event: &Event) {
        match event {
            Event::ScanStarted {
                snapshot,
                resumed,
                drive,
            } => self.set(
                format!(
                    "scanning {} into snapshot {snapshot}{}",
                    drive.display(),
                    if *resumed { " (resumed)" } else { "" }
                ),
                true,
                |a| a.step = "scan",
            ),
            Event::ScanProgress(p) => self.set(
                format!(
                    "scanning: {} of {}{} files, {} of {} bytes",
                    p.files_done,
                    p.files_total,
                    if p.totals_final { "" } else { "+" },
                    p.bytes_done,
                    p.bytes_total
                ),
                false,
                |a| {
                    a.files_done = p.files_done;
                    a.files_total = p.files_total;
                    a.bytes_done = p.bytes_done;
                    a.bytes_total = p.bytes_total;
                },
            ),
            Event::FileProblem(_) => self.jobs.update(self.id, |job| {
                if let Some(a) = job.archive.as_mut() {
                    a.file_problems += 1;
                }
            }),
            Event::PlanStarted { contents, bytes } => self.set(
                format!("planning {contents} contents ({bytes} bytes)"),
                true,
                |a| {
                    a.step = "plan";
                    (a.files_done, a.files_total) = (0, *contents);
                    (a.bytes_done, a.bytes_total) = (0, *bytes);
                },
            ),
            Event::WriteStarted {
                disc,
                label,
                image_size,
                run_total,
            } => self.set(
                format!("writing disc {disc} ({label}): {image_size} bytes"),
                true,
                |a| {
                    a.step = "write";
                    a.bytes_total = *run_total;
                },
            ),
            Event::WriteProgress {
                disc,
                bytes_done,
                run_done,
                run_total,
            } => self.set(
                format!("writing disc {disc}: {bytes_done} bytes written"),
                false,
                |a| {
                    a.step = "write";
                    (a.bytes_done, a.bytes_total) = (*run_done, *run_total);
                },
            ),
            Event::DiscWritten { disc, skipped, .. } => self.jobs.update(self.id, |job| {
                if let Some(a) = job.archive.as_mut() {
                    a.files_done += 1;
                    if !skipped {
                        a.written.push(*disc);
                    }
                }
            }),
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stored() -> ArchiveSettings {
        ArchiveSettings {
            media: "2m".into(),
            capacity: 2 * 1024 * 1024,
            margin: 0,
            first: vec!["docs".into()],
            parity: 5,
            set_parity: 1,
            set_group: 4,
        }
    }

    #[test]
    fn a_request_takes_the_stored_settings_and_replaces_what_it_gives() {
        let same = settings_of(Some(stored()), &ArchiveRequest::default()).unwrap();
        assert_eq!(same, stored());
        let asked = ArchiveRequest {
            media: Some("dvd".into()),
            margin: Some(json!("1M")),
            parity: Some(0),
            set_parity: Some(0),
            ..ArchiveRequest::default()
        };
        let s = settings_of(Some(stored()), &asked).unwrap();
        assert_eq!(
            (s.media.as_str(), s.margin, s.parity),
            ("dvd", 1_000_000, 0)
        );
        assert_eq!(s.first, ["docs"]);
    }

    #[test]
    fn bad_settings_are_refused_naming_the_field() {
        let bad = [
            (ArchiveRequest::default(), None, "give `media`"),
            (
                ArchiveRequest {
                    media: Some("floppy".into()),
                    ..ArchiveRequest::default()
                },
                Some(stored()),
                "`media`",
            ),
            (
                ArchiveRequest {
                    parity: Some(101),
                    ..ArchiveRequest::default()
                },
                Some(stored()),
                "`parity` 101",
            ),
            (
                ArchiveRequest {
                    parity: Some(0),
                    ..ArchiveRequest::default()
                },
                Some(stored()),
                "`set_parity` needs",
            ),
            (
                ArchiveRequest {
                    set_parity: Some(2),
                    set_group: Some(255),
                    ..ArchiveRequest::default()
                },
                Some(stored()),
                "`set_parity` 2 with `set_group` 255",
            ),
            (
                ArchiveRequest {
                    set_group: Some(0),
                    ..ArchiveRequest::default()
                },
                Some(stored()),
                "`set_group` 0",
            ),
            (
                ArchiveRequest {
                    margin: Some(json!("3M")),
                    ..ArchiveRequest::default()
                },
                Some(stored()),
                "`margin`",
            ),
            (
                ArchiveRequest {
                    first: Some(vec!["../etc".into()]),
                    ..ArchiveRequest::default()
                },
                Some(stored()),
                "`first`",
            ),
        ];
        for (request, stored, said) in bad {
            let e = settings_of(stored, &request).unwrap_err();
            assert_eq!(e.status, 400, "{request:?}");
            assert!(e.message.contains(said), "{said}: {}", e.message);
        }
    }
}
