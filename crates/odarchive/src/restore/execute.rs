//! Carrying out a [`RestorePlan`]: directories, empty files, each disc given read once in
//! disc order, the other names of each content and symlinks, then the directories' owners,
//! modes and mtimes, deepest first.

use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use super::files::{self, Destination, Failure, Outcome};
use super::pipeline::{Finished, Job, Pipeline};
use super::plan::{PlannedDisc, RestorePlan};
use super::{NeededDisc, RestoreReport};
use crate::catalogue::{Catalogue, ContentState, EntryKind, RestoreSet};
use crate::error::{Error, Result};
use crate::problem::{Problem, ProblemKind};
use crate::progress::{Event, Progress};
use crate::reader::{COPY_BUFFER, DiscError, DiscSource, Expected};

/// Restores what `plan` says from the discs it found among those given, telling `progress`
/// as each disc is read. Returns the report even when some files could not be restored;
/// errors are for what stops the whole restore (the catalogue, a full destination).
pub fn execute(plan: RestorePlan<'_>, progress: &dyn Progress) -> Result<RestoreReport> {
    execute_cancellable(plan, progress, &AtomicBool::new(false))
}

/// [`execute`], stopping soon after `cancel` is set: it is looked at before each file and
/// each disc, and between the pieces of a file being read, so that a large file is cut short
/// too. The file being written then is removed (its temporary name; a part of a split content
/// stays in its staging file for the next run), no file is left under its final name unless
/// whole and checked, and the report says `cancelled` and counts the files done. Other names
/// of contents and the directories' attributes are left for the next run, which resumes.
pub fn execute_cancellable(
    plan: RestorePlan<'_>,
    progress: &dyn Progress,
    cancel: &AtomicBool,
) -> Result<RestoreReport> {
    let RestorePlan {
        snapshot,
        selected,
        files_already_done,
        discs,
        problems,
        opened,
        set,
        dest,
        options,
        catalogue,
        ..
    } = plan;
    let mut report = RestoreReport {
        snapshot,
        selected,
        discs_needed: discs.iter().map(|d| d.number).collect(),
        files_already_done,
        problems,
        ..RestoreReport::default()
    };
    dest.create()?;
    make_directories(&set, &dest, &mut report)?;
    write_empty_files(&set, &dest, &mut report)?;
    let mut buf = vec![0u8; COPY_BUFFER];
    let mut reading = Reading {
        catalogue,
        set: &set,
        dest: &dest,
        iso9660_only: options.iso9660_only,
        opened,
        cancel,
    };
    // Each disc needed in number order, read in the order of its paths, then let go of.
    for disc in discs.iter().filter(|d| !d.sources.is_empty()) {
        if cancel.load(Ordering::Relaxed) {
            break;
        }
        progress.event(&Event::RestoreDiscStarted {
            disc: disc.number,
            label: disc.label.clone(),
            files: disc.files,
            source: disc.sources[0].clone(),
        });
        reading.read_disc(disc.number, &disc.sources, &mut buf, &mut report)?;
    }
    drop(reading);
    report.missing_discs = discs_still_needed(&set, &discs)?;
    if cancel.load(Ordering::Relaxed) {
        report.cancelled = true;
        return Ok(report);
    }
    make_other_names(&set, &dest, options.hardlink, &mut report)?;
    finish_directories(&set, &dest, &mut report)?;
    drop(set);
    dest.clean_up_if_empty();
    Ok(report)
}

/// Every selected directory, shallowest first (a directory that cannot be made is reported;
/// what it holds then fails on its own).
fn make_directories(
    set: &RestoreSet<'_>,
    dest: &Destination,
    report: &mut RestoreReport,
) -> Result<()> {
    set.for_each_directory(|e| {
        match dest.dir(&e.path) {
            Ok(()) => report.directories += 1,
            Err(err) => report
                .problems
                .push(files::unwritable(&dest.path(&e.path), &err)),
        }
        Ok(())
    })
}

/// Empty files need no disc: each is written as it is.
fn write_empty_files(
    set: &RestoreSet<'_>,
    dest: &Destination,
    report: &mut RestoreReport,
) -> Result<()> {
    set.for_each_first_name(|e, on_disc| {
        let Some(content) = e.content_id else {
            return Ok(());
        };
        if on_disc || e.size != 0 || set.state(content)? != ContentState::ToDo {
            return Ok(());
        }
        match dest.write_empty(&e.path, e) {
            Ok(()) => report.files_restored += 1,
            Err(Failure::Fatal(err)) => return Err(err),
            Err(Failure::Problem(p) | Failure::Disc(p)) => report.problems.push(p),
        }
        set.set_state(content, ContentState::Done)
    })
}

/// What reading discs needs: the selection, the destination, and the discs the plan opened.
struct Reading<'a, 'c> {
    catalogue: &'c Catalogue,
    set: &'a RestoreSet<'c>,
    dest: &'a Destination,
    iso9660_only: bool,
    opened: Vec<DiscSource>,
    cancel: &'a AtomicBool,
}

impl Reading<'_, '_> {
    /// Restores what disc `number` holds for the restore from its first copy; a file whose
    /// bytes are wrong or unreadable there is read again from each other copy until one gives
    /// it right, so the result does not depend on the order of the copies. Only what no copy
    /// gives is reported (with what each copy said).
    fn read_disc(
        &mut self,
        number: u32,
        copies: &[PathBuf],
        buf: &mut [u8],
        report: &mut RestoreReport,
    ) -> Result<()> {
        // Contents that failed on the copies read so far, with their problems.
        let mut retry: BTreeMap<i64, Vec<Problem>> = BTreeMap::new();
        for (i, path) in copies.iter().enumerate() {
            if (i > 0 && retry.is_empty()) || self.cancelled() {
                break;
            }
            let mut source = match self.open(path) {
                Ok(s) => s,
                Err(e) => {
                    report.problems.push(Problem::from(&e));
                    continue;
                }
            };
            if !report.discs_read.contains(&number) {
                report.discs_read.push(number);
            }
            self.read_copy(&mut source, number, i > 0, &mut retry, buf, report)?;
        }
        if self.cancelled() {
            // What was cut short is no problem of the disc: it stays to do.
            return Ok(());
        }
        for (content, problems) in retry {
            report.problems.push(joined(problems));
            self.set.set_state(content, ContentState::Failed)?;
        }
        Ok(())
    }

    /// The disc at `path`: as the plan opened it, or opened now. (Taken: it is let go of
    /// once read.)
    fn open(&mut self, path: &Path) -> Result<DiscSource, DiscError> {
        match self.opened.iter().position(|s| s.origin() == path) {
            Some(i) => Ok(self.opened.swap_remove(i)),
            None => DiscSource::open_with(path, self.iso9660_only),
        }
    }

    /// Reads from one copy of disc `number` every content still to do (on a later copy,
    /// only those in `retry`): read and hashed here, written on a second thread
    /// ([`Pipeline`]), each outcome recorded as it comes back.
    fn read_copy(
        &self,
        source: &mut DiscSource,
        number: u32,
        later_copy: bool,
        retry: &mut BTreeMap<i64, Vec<Problem>>,
        buf: &mut [u8],
        report: &mut RestoreReport,
    ) -> Result<()> {
        let set = self.set;
        let algorithm = self.dest.hash();
        std::thread::scope(|scope| {
            let mut pipe = Pipeline::start(scope, self.dest, self.cancel);
            let walked = set.for_each_placement_on(number, |entry, p| {
                if self.cancelled() {
                    // Stops the walk; told apart from other errors below.
                    return Err(Error::Interrupted);
                }
                // The parts of a split content are restored one at a time: whether an earlier
                // part failed must be known before the next is read.
                if p.parts > 1 {
                    self.settle(pipe.wait_all(), retry, report)?;
                }
                // An earlier part may have failed since the query started; a later copy reads
                // only what the earlier ones did not give.
                if set.state(p.content_id)? != ContentState::ToDo
                    || (later_copy && !retry.contains_key(&p.content_id))
                {
                    return Ok(());
                }
                let expected = Expected::of(&p, algorithm);
                let file = self.dest.path(&p.entry_path);
                let job = Job {
                    entry,
                    placement: p,
                };
                let disc_problem = |kind, detail: String| Problem::new(&file, kind, detail);
                let disc_path = job.placement.disc_path.clone();
                // Where the file lies, for its disc's parity: asked only when it fails.
                let extent = || {
                    let extent = self.catalogue.extent_of(number, &disc_path).ok()??;
                    Some((u64::from(extent.sector), extent.length))
                };
                pipe.send_file(source, job, expected, disc_problem, extent, buf);
                self.settle(pipe.finished(), retry, report)
            });
            match walked {
                Err(Error::Interrupted) if self.cancelled() => {}
                other => other?,
            }
            self.settle(pipe.wait_all(), retry, report)
        })
    }

    fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// Records what restoring each content achieved.
    fn settle(
        &self,
        finished: Vec<Finished>,
        retry: &mut BTreeMap<i64, Vec<Problem>>,
        report: &mut RestoreReport,
    ) -> Result<()> {
        let set = self.set;
        for (content, outcome, rebuilt) in finished {
            if outcome.is_ok() {
                report.rebuilt_from_parity.extend(rebuilt);
            }
            match outcome {
                Ok(Outcome::Complete(bytes)) => {
                    retry.remove(&content);
                    report.files_restored += 1;
                    report.bytes_restored += bytes;
                    set.set_state(content, ContentState::Done)?;
                }
                Ok(Outcome::PartStored) => {
                    retry.remove(&content);
                }
                Err(Failure::Disc(problem)) => {
                    retry.entry(content).or_default().push(problem);
                }
                Err(Failure::Problem(problem)) => {
                    retry.remove(&content);
                    report.problems.push(problem);
                    set.set_state(content, ContentState::Failed)?;
                }
                Err(Failure::Fatal(e)) => return Err(e),
            }
        }
        Ok(())
    }
}

/// One problem for a content no copy of its disc gave right: the first copy's, then what
/// each other copy said.
fn joined(problems: Vec<Problem>) -> Problem {
    let mut problems = problems.into_iter();
    let Some(mut first) = problems.next() else {
        return Problem::new("", ProblemKind::Unreadable, "no copy could be read");
    };
    for other in problems {
        first.detail = format!("{}; and from another copy: {other}", first.detail);
    }
    first
}

/// Discs still needed: those holding a content not yet in place, that were not given.
fn discs_still_needed(set: &RestoreSet<'_>, discs: &[PlannedDisc]) -> Result<Vec<NeededDisc>> {
    Ok(set
        .discs_still_needed()?
        .into_iter()
        .filter_map(|share| {
            let disc = discs.iter().find(|d| d.number == share.number);
            if disc.is_some_and(|d| !d.sources.is_empty()) {
                return None;
            }
            Some(NeededDisc {
                number: share.number,
                label: disc.map(|d| d.label.clone()).unwrap_or_default(),
                of: disc.map_or(0, |d| d.of),
                files: share.files,
            })
        })
        .collect())
}

/// Other names of contents (copies or hard links of their first name), and symlinks.
fn make_other_names(
    set: &RestoreSet<'_>,
    dest: &Destination,
    hardlink: bool,
    report: &mut RestoreReport,
) -> Result<()> {
    set.for_each_name(|e, first| {
        match e.kind {
            EntryKind::File => {
                let Some(first) = first else {
                    report.problems.push(Problem::new(
                        Path::new(OsStr::from_bytes(&e.path)),
                        ProblemKind::Unreadable,
                        "was not readable when scanned; nothing to restore",
                    ));
                    return Ok(());
                };
                if first.entry_id == e.id || first.state != ContentState::Done {
                    return Ok(());
                }
                match dest.duplicate(&first.path, e, hardlink) {
                    Ok(()) => report.duplicates += 1,
                    Err(problem) => report.problems.push(problem),
                }
            }
            EntryKind::Symlink => match dest.symlink(e) {
                Ok(()) => report.symlinks += 1,
                Err(problem) => report.problems.push(problem),
            },
            EntryKind::Directory => {}
        }
        Ok(())
    })
}

/// Directory owners, modes and mtimes last, deepest first: after their contents.
fn finish_directories(
    set: &RestoreSet<'_>,
    dest: &Destination,
    report: &mut RestoreReport,
) -> Result<()> {
    set.for_each_directory_deepest_first(|e| {
        if let Err(err) = dest.finish_dir(e) {
            report
                .problems
                .push(files::unwritable(&dest.path(&e.path), &err));
        }
        Ok(())
    })
}
