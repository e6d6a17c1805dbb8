//! The plan of a restore, made before anything is written: what is selected, what is
//! already in place at the destination, which disc each content still to restore comes from,
//! which discs given are which, and which discs are missing. `odarchive restore --dry-run`
//! shows it; [`super::execute`] carries it out.

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use serde::{Serialize, Serializer};

use super::files::Destination;
use super::select::{self, Selection};
use super::{NeededDisc, RestoreOptions};
use crate::catalogue::{Catalogue, ContentState, RestoreSet};
use crate::error::Result;
use crate::problem::{Problem, ProblemKind};
use crate::reader::{DiscSource, open_identified};

/// A disc the selection needs, and what it still gives.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PlannedDisc {
    /// Disc number.
    pub number: u32,
    /// Its label.
    pub label: String,
    /// Discs in the set.
    pub of: u32,
    /// Files of this restore still to read from it (whole contents or parts; 0 when all it
    /// holds of the selection is in place).
    pub files: u64,
    /// Their bytes on the disc.
    pub bytes: u64,
    /// The images or mounted discs given that are this disc, in the order given (the first
    /// is read, the others for what it gets wrong); empty when it was not given.
    #[serde(serialize_with = "lossy_paths")]
    pub sources: Vec<PathBuf>,
}

fn lossy_paths<S: Serializer>(paths: &[PathBuf], s: S) -> std::result::Result<S::Ok, S::Error> {
    s.collect_seq(paths.iter().map(|p| p.to_string_lossy()))
}

/// What a restore will do, before it writes anything. The selection itself stays in the
/// catalogue's TEMP tables (the plan borrows the catalogue): memory does not grow with the
/// number of files. Serialised (`--dry-run --json`) with its public fields.
#[derive(Debug, Serialize)]
pub struct RestorePlan<'c> {
    /// The snapshot restored.
    pub snapshot: i64,
    /// The folder restored into.
    #[serde(serialize_with = "crate::progress::lossy")]
    pub to: PathBuf,
    /// Entries selected.
    pub selected: u64,
    /// Files to restore (read from a disc, or empty files written as they are).
    pub files_to_restore: u64,
    /// Their bytes.
    pub bytes_to_restore: u64,
    /// Files already in place with the right content (a previous run's).
    pub files_already_done: u64,
    /// The discs the selection needs, in number order, given or not (also those whose files
    /// are all in place).
    pub discs: Vec<PlannedDisc>,
    /// The discs with files still to read that were not given.
    pub missing_discs: Vec<NeededDisc>,
    /// What is known already not to come back (a file in the way, a file on no disc, a
    /// disc given that cannot be read or is not of this catalogue).
    pub problems: Vec<Problem>,
    /// Discs given, as opened and identified here (their directories already read), handed
    /// to [`super::execute`] so that it does not open and index them again; at most
    /// [`HELD_OPEN`] (the others are opened again when read).
    #[serde(skip)]
    pub(super) opened: Vec<DiscSource>,
    #[serde(skip)]
    pub(super) catalogue: &'c Catalogue,
    #[serde(skip)]
    pub(super) set: RestoreSet<'c>,
    #[serde(skip)]
    pub(super) dest: Destination,
    #[serde(skip)]
    pub(super) options: RestoreOptions,
}

/// Plans the restore of `options`: selects the entries, checks what is already in place at
/// the destination, identifies the discs given (`options.from`) and works out what each
/// gives. Writes nothing at the destination. On discs of odarchive 0.1 it records in the
/// catalogue under which names they store contents (only the disc says).
pub fn prepare<'c>(catalogue: &'c Catalogue, options: &RestoreOptions) -> Result<RestorePlan<'c>> {
    prepare_selected(catalogue, options, Selection::new(&options.patterns)?)
}

/// [`prepare`] with the entries `selection` selects (`options.patterns` is not looked at):
/// for paths given as raw bytes that are not UTF-8 ([`Selection::with_paths`]).
pub fn prepare_selected<'c>(
    catalogue: &'c Catalogue,
    options: &RestoreOptions,
    selection: Selection,
) -> Result<RestorePlan<'c>> {
    let snapshot = select::resolve_snapshot(catalogue, options.snapshot)?;
    let dest = Destination::new(
        &options.to,
        options.overwrite,
        catalogue.hash_algorithm()?,
        !options.no_owner,
    );
    let set = catalogue.restore_set(snapshot, |e| Ok(selection.matches(&e.path)))?;
    let mut problems = Vec::new();
    let files_already_done = check_first_names(&set, &dest, &mut problems)?;
    let (given, opened) = identify_given(catalogue, options, &mut problems)?;
    let (files_to_restore, bytes_to_restore) = set.still_to_do()?;
    let labels = catalogue.discs()?;
    let of = labels.len() as u32;
    let label_of = |number: u32| {
        labels
            .iter()
            .find(|d| d.number == number)
            .map(|d| d.label.clone())
            .unwrap_or_default()
    };
    let still = set.discs_still_needed()?;
    let discs: Vec<PlannedDisc> = set
        .discs_needed()?
        .into_iter()
        .map(|share| {
            let left = still.iter().find(|s| s.number == share.number);
            PlannedDisc {
                number: share.number,
                label: label_of(share.number),
                of,
                files: left.map_or(0, |s| s.files),
                bytes: left.map_or(0, |s| s.bytes),
                sources: given.get(&share.number).cloned().unwrap_or_default(),
            }
        })
        .collect();
    let missing_discs = discs
        .iter()
        .filter(|d| d.sources.is_empty() && d.files > 0)
        .map(|d| NeededDisc {
            number: d.number,
            label: d.label.clone(),
            of: d.of,
            files: d.files,
        })
        .collect();
    Ok(RestorePlan {
        snapshot,
        to: options.to.clone(),
        selected: set.selected(),
        files_to_restore,
        bytes_to_restore,
        files_already_done,
        discs,
        missing_discs,
        problems,
        opened,
        catalogue,
        set,
        dest,
        options: options.clone(),
    })
}

impl RestorePlan<'_> {
    /// Whether the discs given hold everything still to restore.
    pub fn has_every_disc(&self) -> bool {
        self.missing_discs.is_empty()
    }

    /// The numbers of the discs the selection needs.
    pub fn discs_needed(&self) -> Vec<u32> {
        self.discs.iter().map(|d| d.number).collect()
    }
}

/// Each content's bytes go to its first name in the selection (in path order); other names
/// are made from it afterwards. Which are there already (marked done; counted), which can
/// come from no disc (a problem, unless the file is empty: that one is written as it is)?
fn check_first_names(
    set: &RestoreSet<'_>,
    dest: &Destination,
    problems: &mut Vec<Problem>,
) -> Result<u64> {
    let mut already = 0;
    let mut absent = AbsentFolders::default();
    set.for_each_first_name(|e, on_disc| {
        let Some(content) = e.content_id else {
            return Ok(());
        };
        if !on_disc {
            if e.size != 0 {
                problems.push(Problem::new(
                    Path::new(OsStr::from_bytes(&e.path)),
                    ProblemKind::Missing,
                    "not on any disc of this catalogue",
                ));
                set.set_state(content, ContentState::Failed)?;
            }
            return Ok(());
        }
        let path = dest.path(&e.path);
        if absent.holds(&path) {
            return Ok(());
        }
        match dest.already_restored(&e.path, e) {
            Ok(true) => {
                already += 1;
                set.set_state(content, ContentState::Done)?;
            }
            Ok(false) => absent.note(&path),
            Err(problem) => {
                problems.push(problem);
                set.set_state(content, ContentState::Failed)?;
            }
        }
        Ok(())
    })?;
    Ok(already)
}

/// Folders of the destination found missing while checking what is in place: nothing under
/// them is, so the files there are not looked up one by one (a restore into a new folder
/// looks up its first file and that file's folders, then nothing more).
#[derive(Default)]
struct AbsentFolders {
    folders: HashSet<PathBuf>,
    /// The last folder found present (files come folder by folder).
    present: Option<PathBuf>,
}

impl AbsentFolders {
    /// Whether a folder above `path` is known missing.
    fn holds(&self, path: &Path) -> bool {
        !self.folders.is_empty() && path.ancestors().skip(1).any(|a| self.folders.contains(a))
    }

    /// `path` is not in place: notes the highest of its missing folders, if any is.
    fn note(&mut self, path: &Path) {
        let Some(parent) = path.parent() else { return };
        if self.present.as_deref() == Some(parent) {
            return;
        }
        let mut missing = None;
        for folder in path.ancestors().skip(1) {
            if std::fs::symlink_metadata(folder).is_ok() {
                break;
            }
            missing = Some(folder);
        }
        match missing {
            Some(folder) => {
                self.folders.insert(folder.to_owned());
            }
            None => self.present = Some(parent.to_owned()),
        }
    }
}

/// Discs given that the plan keeps open for the restore. An open image holds its buffers and
/// the index of its files (a few MiB for a full disc): kept for the few discs of a usual
/// restore, so each is opened and indexed once; past these, only paths are kept (the memory
/// of a restore from many discs does not grow with them), and each is opened again when read.
pub(super) const HELD_OPEN: usize = 4;

/// The copies given of each disc, by number, in the order given.
type CopiesByDisc = BTreeMap<u32, Vec<PathBuf>>;

/// Which disc each one given is, with every copy given of it (in the order given), and the
/// first [`HELD_OPEN`] of them as opened.
fn identify_given(
    catalogue: &Catalogue,
    options: &RestoreOptions,
    problems: &mut Vec<Problem>,
) -> Result<(CopiesByDisc, Vec<DiscSource>)> {
    let mut given: BTreeMap<u32, Vec<PathBuf>> = BTreeMap::new();
    let mut opened = Vec::new();
    for path in crate::reader::given_discs(&options.from) {
        let path = match path {
            Ok(path) => path,
            Err(e) => {
                problems.push(Problem::from(&e));
                continue;
            }
        };
        let Some((mut source, disc)) =
            open_identified(catalogue, &path, options.iso9660_only, problems)?
        else {
            continue;
        };
        if crate::legacy::is_v01_disc(&disc) {
            // Which of each content's names the disc holds it under, only the disc says.
            let names = crate::reader::legacy::find_stored_names(catalogue, &mut source, &disc)?;
            if let Err(e) = names {
                problems.push(Problem::from(&e));
                continue;
            }
        }
        let copies = given.entry(disc.number).or_default();
        if !copies.contains(&path) {
            copies.push(path);
            if opened.len() < HELD_OPEN {
                opened.push(source);
            }
        }
    }
    Ok((given, opened))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_missing_folder_answers_for_everything_below_it() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("dest");
        std::fs::create_dir_all(dest.join("a/b")).unwrap();
        let mut absent = AbsentFolders::default();
        // A file missing in a folder that is there: nothing is known missing.
        absent.note(&dest.join("a/b/f1"));
        assert!(!absent.holds(&dest.join("a/b/f2")));
        // A file below two missing folders: the higher one answers for all below it.
        absent.note(&dest.join("x/y/f"));
        assert!(
            absent.folders.contains(&dest.join("x")),
            "{:?}",
            absent.folders
        );
        assert!(absent.holds(&dest.join("x/z/g")));
        assert!(absent.holds(&dest.join("x/y/f2")));
        assert!(!absent.holds(&dest.join("a/b/f3")));
        assert!(!absent.holds(&dest.join("x")));
        // A destination that is not there at all.
        let mut fresh = AbsentFolders::default();
        fresh.note(&dir.path().join("new/d/s/f"));
        assert!(fresh.holds(&dir.path().join("new/e/f")));
        assert!(!fresh.holds(&dest.join("a/b/f1")));
    }
}
