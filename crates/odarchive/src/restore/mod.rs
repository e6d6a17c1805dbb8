//! Restoring files from discs: `odarchive restore --from IMAGE_OR_DIR... --to DEST [PATH|GLOB...]`.
//!
//! The plan comes first: which entries of the snapshot are asked for, which contents they
//! need, and which discs hold those, kept in TEMP tables of the catalogue rather than in
//! memory ([`crate::catalogue::RestoreSet`]). Then each disc given is identified and read
//! once, in disc order, and every file it holds for the restore is written to a short
//! temporary name beside its destination (sparsely), hashed on the way, and renamed only when
//! the hash matches; what is wrong on one copy of a disc is read again from the other copies
//! given. Split contents are assembled part by part in `DEST/.odarchive-restore/` and moved
//! into place when complete and whole. Last come the other names of each content (copies or
//! hard links), symlinks, and the owners, modes and mtimes of directories, deepest first.
//! Existing files are never overwritten without `overwrite`; a file already in place with the
//! right content counts as done, so a second run finishes an interrupted one without reading
//! those files from disc again. A problem with one path is reported and the rest goes on;
//! only a full destination stops the restore. Discs still needed are listed.

mod attributes;
mod files;
pub mod select;
mod sparse;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::catalogue::{Catalogue, ContentState, EntryKind, RestoreSet};
use crate::disc_source::DiscSource;
use crate::error::{Error, Result};
use crate::identify::identify;

pub use select::{Selected, Selection};

/// How to restore.
#[derive(Debug, Clone, Default)]
pub struct RestoreOptions {
    /// Images or mounted discs to read, in any order.
    pub from: Vec<PathBuf>,
    /// The folder to restore into (created if missing).
    pub to: PathBuf,
    /// Paths or globs to restore; empty for everything.
    pub patterns: Vec<String>,
    /// The snapshot to restore; `None` for the latest complete one.
    pub snapshot: Option<i64>,
    /// Replace existing files that differ.
    pub overwrite: bool,
    /// Restore the other names of a content as hard links instead of copies.
    pub hardlink: bool,
    /// Read images through their ISO 9660 view only.
    pub iso9660_only: bool,
    /// Leave owners and groups alone even as root (as a user, they are always left alone).
    pub no_owner: bool,
}

/// A disc the restore needs but was not given.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct NeededDisc {
    /// Disc number.
    pub number: u32,
    /// Its label.
    pub label: String,
    /// Discs in the set.
    pub of: u32,
    /// Files of this restore on it.
    pub files: u64,
}

/// What a restore did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct RestoreReport {
    /// The snapshot restored.
    pub snapshot: i64,
    /// Entries selected.
    pub selected: u64,
    /// Discs the selection needs, by number.
    pub discs_needed: Vec<u32>,
    /// Discs read in this run.
    pub discs_read: Vec<u32>,
    /// Files written (with their content checked).
    pub files_restored: u64,
    /// Their bytes.
    pub bytes_restored: u64,
    /// Files already in place with the right content (a previous run's).
    pub files_already_done: u64,
    /// Other names of contents, copied or linked.
    pub duplicates: u64,
    /// Directories created or present.
    pub directories: u64,
    /// Symlinks created.
    pub symlinks: u64,
    /// Problems, one line each, naming the path.
    pub problems: Vec<String>,
    /// Discs still needed for what is not restored yet.
    pub missing_discs: Vec<NeededDisc>,
}

impl RestoreReport {
    /// Whether everything asked for is restored.
    pub fn complete(&self) -> bool {
        self.problems.is_empty() && self.missing_discs.is_empty()
    }
}

/// Restores the selection of `options` from the discs given. Returns the report even when
/// some files could not be restored; errors are for what stops the whole restore (the
/// catalogue, a full destination).
///
/// Nothing here grows with the number of files: the selection and the state of each content
/// live in the catalogue's TEMP tables ([`crate::catalogue::RestoreSet`]), and each step is
/// one streaming query. One disc is open at a time while files are read.
pub fn restore(catalogue: &Catalogue, options: &RestoreOptions) -> Result<RestoreReport> {
    let snapshot = select::resolve_snapshot(catalogue, options.snapshot)?;
    let selection = Selection::new(&options.patterns)?;
    let dest = files::Destination::new(
        &options.to,
        options.overwrite,
        catalogue.hash_algorithm()?,
        !options.no_owner,
    )?;
    let mut report = RestoreReport {
        snapshot,
        ..RestoreReport::default()
    };

    // One pass over the snapshot: the selection, and its directories made on the way (a
    // directory that cannot be made is reported; what it holds then fails on its own).
    let set = catalogue.restore_set(snapshot, |e| {
        if !selection.matches(&e.path) {
            return Ok(false);
        }
        if e.kind == EntryKind::Directory {
            match dest.dir(&e.path) {
                Ok(()) => report.directories += 1,
                Err(err) => report
                    .problems
                    .push(format!("{}: {err}", dest.path(&e.path).display())),
            }
        }
        Ok(true)
    })?;
    report.selected = set.selected();
    let needed: BTreeSet<u32> = set.discs_needed()?.into_iter().map(|(n, _)| n).collect();
    report.discs_needed = needed.iter().copied().collect();

    check_first_names(&set, &dest, &mut report)?;
    let given = identify_given(catalogue, options, &mut report)?;
    // Each disc needed in number order, read in the order of its paths, then let go of.
    for (&number, copies) in &given {
        if needed.contains(&number) {
            read_disc(&set, &dest, number, copies, options, &mut report)?;
        }
    }

    // Discs still needed: those holding a content not yet in place.
    let discs = catalogue.discs()?;
    let set_size = discs.len() as u32;
    let labels: HashMap<u32, String> = discs.into_iter().map(|d| (d.number, d.label)).collect();
    report.missing_discs = set
        .discs_still_needed()?
        .into_iter()
        .filter(|(number, _)| !given.contains_key(number))
        .map(|(number, files)| NeededDisc {
            number,
            label: labels.get(&number).cloned().unwrap_or_default(),
            of: set_size,
            files,
        })
        .collect();

    make_other_names(&set, &dest, options.hardlink, &mut report)?;
    // Directory owners, modes and mtimes last, deepest first: after their contents.
    set.for_each_directory_deepest_first(|e| {
        if let Err(err) = dest.finish_dir(e) {
            report
                .problems
                .push(format!("{}: {err}", dest.path(&e.path).display()));
        }
        Ok(())
    })?;
    drop(set);
    dest.clean_up_if_empty();
    Ok(report)
}

/// Each content's bytes go to its first name in the selection (in path order); other names
/// are made from it afterwards. Which are there already, or need no disc (empty files)?
fn check_first_names(
    set: &RestoreSet<'_>,
    dest: &files::Destination,
    report: &mut RestoreReport,
) -> Result<()> {
    set.for_each_first_name(|e, on_disc| {
        let Some(content) = e.content_id else {
            return Ok(());
        };
        if !on_disc {
            if e.size == 0 {
                match dest.write_empty(&e.path, e) {
                    Ok(()) => report.files_restored += 1,
                    Err(files::Failure::Fatal(err)) => return Err(err),
                    Err(files::Failure::Problem(p) | files::Failure::Disc(p)) => {
                        report.problems.push(p)
                    }
                }
                set.set_state(content, ContentState::Done)?;
            } else {
                report.problems.push(format!(
                    "{}: not on any disc of this catalogue",
                    String::from_utf8_lossy(&e.path)
                ));
            }
            return Ok(());
        }
        match dest.already_restored(&e.path, e) {
            Ok(true) => {
                report.files_already_done += 1;
                set.set_state(content, ContentState::Done)?;
            }
            Ok(false) => {}
            Err(problem) => {
                report.problems.push(problem);
                set.set_state(content, ContentState::Failed)?;
            }
        }
        Ok(())
    })
}

/// Which disc each one given is, with every copy given of it (in the order given); only paths
/// are kept (an open image holds buffers and volume structures, which would add up).
fn identify_given<'o>(
    catalogue: &Catalogue,
    options: &'o RestoreOptions,
    report: &mut RestoreReport,
) -> Result<BTreeMap<u32, Vec<&'o Path>>> {
    let mut given: BTreeMap<u32, Vec<&Path>> = BTreeMap::new();
    for path in &options.from {
        let mut source = match DiscSource::open_with(path, options.iso9660_only) {
            Ok(s) => s,
            Err(e) => {
                report.problems.push(e.to_string());
                continue;
            }
        };
        match identify(catalogue, &mut source)? {
            Ok(disc) => {
                if crate::legacy::is_v01_disc(&disc) {
                    // Which of each content's names the disc holds it under, only the disc says.
                    if let Err(e) = crate::legacy::find_stored_names(catalogue, &mut source, &disc)?
                    {
                        report.problems.push(e.to_string());
                        continue;
                    }
                }
                let copies = given.entry(disc.number).or_default();
                if !copies.contains(&path.as_path()) {
                    copies.push(path);
                }
            }
            Err(e) => report.problems.push(e.to_string()),
        }
    }
    Ok(given)
}

/// Restores what disc `number` holds for the restore from its first copy; a file whose bytes
/// are wrong or unreadable there is read again from each other copy until one gives it right,
/// so the result does not depend on the order of the copies. Only what no copy gives is
/// reported (with what each copy said).
fn read_disc(
    set: &RestoreSet<'_>,
    dest: &files::Destination,
    number: u32,
    copies: &[&Path],
    options: &RestoreOptions,
    report: &mut RestoreReport,
) -> Result<()> {
    // Contents that failed on the copies read so far, with their problems.
    let mut retry: BTreeMap<i64, Vec<String>> = BTreeMap::new();
    for (i, path) in copies.iter().enumerate() {
        if i > 0 && retry.is_empty() {
            break;
        }
        let mut source = match DiscSource::open_with(path, options.iso9660_only) {
            Ok(s) => s,
            Err(e) => {
                report.problems.push(e.to_string());
                continue;
            }
        };
        if !report.discs_read.contains(&number) {
            report.discs_read.push(number);
        }
        set.for_each_placement_on(number, |entry, p| {
            // An earlier part may have failed since the query started; a later copy reads
            // only what the earlier ones did not give.
            if set.state(p.content_id)? != ContentState::ToDo
                || (i > 0 && !retry.contains_key(&p.content_id))
            {
                return Ok(());
            }
            match dest.restore_placement(&mut source, entry, p) {
                Ok(files::Outcome::Complete(bytes)) => {
                    retry.remove(&p.content_id);
                    report.files_restored += 1;
                    report.bytes_restored += bytes;
                    set.set_state(p.content_id, ContentState::Done)
                }
                Ok(files::Outcome::PartStored) => {
                    retry.remove(&p.content_id);
                    Ok(())
                }
                Err(files::Failure::Disc(problem)) => {
                    retry.entry(p.content_id).or_default().push(problem);
                    Ok(())
                }
                Err(files::Failure::Problem(problem)) => {
                    retry.remove(&p.content_id);
                    report.problems.push(problem);
                    set.set_state(p.content_id, ContentState::Failed)
                }
                Err(files::Failure::Fatal(e)) => Err(e),
            }
        })?;
    }
    for (content, problems) in retry {
        report
            .problems
            .push(problems.join("; and from another copy: "));
        set.set_state(content, ContentState::Failed)?;
    }
    Ok(())
}

/// Other names of contents (copies or hard links of their first name), and symlinks.
fn make_other_names(
    set: &RestoreSet<'_>,
    dest: &files::Destination,
    hardlink: bool,
    report: &mut RestoreReport,
) -> Result<()> {
    set.for_each_name(|e, first| {
        match e.kind {
            EntryKind::File => {
                let Some(first) = first else {
                    report.problems.push(format!(
                        "{}: was not readable when scanned; nothing to restore",
                        String::from_utf8_lossy(&e.path)
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

/// Opens an image or mounted disc, through its ISO 9660 view alone when asked.
/// A catalogue, in `file` (created; it must not exist), made from the catalogue JSON on the
/// given discs: the one that lists the most discs (the newest). For verify and restore when
/// the local catalogue is lost.
pub fn catalogue_from_discs(discs: &[PathBuf], file: &Path) -> Result<Catalogue> {
    catalogue_from_discs_in_zone(discs, file, None)
}

/// [`catalogue_from_discs`], reading the zone-less times of an odarchive 0.1 catalogue in
/// `timezone` (an IANA name or `±HH:MM`; `None`: this machine's zone).
pub fn catalogue_from_discs_in_zone(
    discs: &[PathBuf],
    file: &Path,
    timezone: Option<&str>,
) -> Result<Catalogue> {
    let mut best: Option<(usize, Vec<u8>, PathBuf)> = None;
    let mut last_problem = None;
    for path in discs {
        let json =
            DiscSource::open(path).and_then(|mut s| crate::identify::disc_catalogue_json(&mut s));
        match json {
            Ok(Some(json)) => {
                // Only the disc list is read: the rest is skipped, not built.
                #[derive(serde::Deserialize)]
                struct Listed {
                    discs: Vec<serde::de::IgnoredAny>,
                }
                let listed = serde_json::from_slice::<Listed>(&json).map_or(0, |l| l.discs.len());
                if best.as_ref().is_none_or(|(n, _, _)| listed > *n) {
                    best = Some((listed, json, path.clone()));
                }
            }
            Ok(None) => {}
            Err(e) => last_problem = Some(e),
        }
    }
    let Some((_, json, from)) = best else {
        return Err(match last_problem {
            Some(e) => e.into(),
            None => Error::NoCatalogue {
                path: file.to_owned(),
            },
        });
    };
    let mut catalogue = Catalogue::create_or_open(file)?;
    let options = crate::catalogue::import::ImportOptions {
        timezone: timezone.map(str::to_owned),
        from_disc: true,
    };
    catalogue.import_json(json.as_slice(), &from, &options)?;
    Ok(catalogue)
}
