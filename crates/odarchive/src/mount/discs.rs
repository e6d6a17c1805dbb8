//! The discs a mount reads from: the images and mounted discs given (`--from`), and every
//! image that appears in the images folder (`--images`), looked at again each time a disc
//! is wanted that is not there yet; and the discs wanted, recorded beside the catalogue where
//! `odarchive status` shows them.

use std::collections::{BTreeMap, HashMap};
use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use serde::{Deserialize, Serialize};

use crate::catalogue::{Catalogue, Placement};
use crate::error::Result;
use crate::problem::Problem;
use crate::reader::legacy::{StoredName, look_for_stored_names};
use crate::reader::{DiscSource, FileBytes, open_identified};

/// A disc a read needed that was not given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WantedDisc {
    /// Its number.
    pub number: u32,
    /// Discs in the set.
    pub of: u32,
    /// Its label.
    pub label: String,
    /// The file (mount path) whose read wanted it, the latest one.
    pub file: String,
    /// When it was first wanted, in ns since the epoch.
    pub since_ns: i64,
}

impl std::fmt::Display for WantedDisc {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "insert disc {} of {}, label {} (to read {})",
            self.number, self.of, self.label, self.file
        )
    }
}

/// What the state file beside the catalogue says: the mount and the discs it waits for.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MountState {
    /// Where the archive is mounted.
    pub mountpoint: PathBuf,
    /// The process serving it.
    pub pid: u32,
    /// The discs wanted and not given yet, by number.
    pub wanted: Vec<WantedDisc>,
}

/// The state file of mounts of the catalogue at `catalogue`.
pub fn state_path(catalogue: &Path) -> PathBuf {
    crate::atomic::with_suffix(catalogue, ".mount.json")
}

/// What a mount of the catalogue at `catalogue` waits for, if one recorded it (a state file
/// left by a mount that was killed is reported as it is: its pid says whose it was).
pub fn mount_state(catalogue: &Path) -> Option<MountState> {
    let text = std::fs::read(state_path(catalogue)).ok()?;
    serde_json::from_slice(&text).ok()
}

/// The discs given and found, opened once each.
#[derive(Debug)]
pub(super) struct Shelf {
    from: Vec<PathBuf>,
    images: Option<PathBuf>,
    /// Each disc number's source (the first given that is it).
    sources: HashMap<u32, DiscSource>,
    /// Paths looked at, with their mtime then: not identified again unless it changes.
    looked_at: HashMap<PathBuf, Option<SystemTime>>,
    /// The names the 0.1 discs given store contents under where their placements guess
    /// another, by (disc number, content id): found once, when the disc is first given, and
    /// kept here (the mount's catalogue is read-only).
    stored_names: HashMap<(u32, i64), StoredName>,
    /// Where each file (disc, path on the disc) lies, once asked.
    located: HashMap<(u32, String), FileBytes>,
    /// Open image and mounted files, by path.
    open: HashMap<PathBuf, File>,
    wanted: BTreeMap<u32, WantedDisc>,
    state_file: PathBuf,
    mountpoint: PathBuf,
}

/// How many file locations and open files are kept before they are forgotten.
const KEEP: usize = 4096;

impl Shelf {
    pub(super) fn new(
        catalogue: &Path,
        mountpoint: &Path,
        from: Vec<PathBuf>,
        images: Option<PathBuf>,
    ) -> Shelf {
        Shelf {
            from,
            images,
            sources: HashMap::new(),
            stored_names: HashMap::new(),
            looked_at: HashMap::new(),
            located: HashMap::new(),
            open: HashMap::new(),
            wanted: BTreeMap::new(),
            state_file: state_path(catalogue),
            mountpoint: mountpoint.to_owned(),
        }
    }

    /// Whether disc `number` is given (looking again at what is given if not).
    pub(super) fn has(
        &mut self,
        catalogue: &Catalogue,
        number: u32,
        problems: &mut Vec<Problem>,
    ) -> Result<bool> {
        if !self.sources.contains_key(&number) {
            self.look_again(catalogue, problems)?;
        }
        Ok(self.sources.contains_key(&number))
    }

    /// Identifies every path given or in the images folder not looked at yet (or changed
    /// since); what cannot be read or is of another set is a problem, once.
    fn look_again(&mut self, catalogue: &Catalogue, problems: &mut Vec<Problem>) -> Result<()> {
        let mut paths = self.from.clone();
        if let Some(dir) = &self.images {
            if let Ok(read) = std::fs::read_dir(dir) {
                let mut found: Vec<PathBuf> = read.flatten().map(|e| e.path()).collect();
                found.sort();
                paths.extend(found.into_iter().filter(|p| !is_partial(p)));
            }
        }
        for path in paths {
            let mtime = std::fs::metadata(&path).and_then(|m| m.modified()).ok();
            if self.looked_at.get(&path) == Some(&mtime) {
                continue;
            }
            self.looked_at.insert(path.clone(), mtime);
            let Some((mut source, disc)) = open_identified(catalogue, &path, false, problems)?
            else {
                continue;
            };
            if self.sources.contains_key(&disc.number) {
                continue;
            }
            if crate::legacy::is_v01_disc(&disc) {
                // Which of each content's names the disc holds it under, only the disc says.
                match look_for_stored_names(catalogue, &mut source, &disc)? {
                    Ok(found) => {
                        for (content, name) in found.renamed {
                            self.stored_names.insert((disc.number, content), name);
                        }
                    }
                    Err(e) => {
                        problems.push(Problem::from(&e));
                        continue;
                    }
                }
            }
            self.sources.insert(disc.number, source);
            if self.wanted.remove(&disc.number).is_some() {
                self.write_state(problems);
            }
        }
        Ok(())
    }

    /// Where the file of placement `p` lies (its disc must be [`Shelf::has`]): under the
    /// name its 0.1 disc really stores it under, if that is another.
    pub(super) fn locate(
        &mut self,
        p: &Placement,
        expected: crate::reader::Expected,
    ) -> std::result::Result<&FileBytes, crate::reader::DiscError> {
        let number = p.disc;
        let (disc_path, iso_path) = match self.stored_names.get(&(number, p.content_id)) {
            Some(StoredName::Udf { disc_path, .. }) if p.part == 0 => {
                (disc_path.as_str(), p.iso_path.as_str())
            }
            Some(StoredName::Iso(iso_path)) if p.part == 0 => {
                (p.disc_path.as_str(), iso_path.as_str())
            }
            _ => (p.disc_path.as_str(), p.iso_path.as_str()),
        };
        let key = (number, disc_path.to_owned());
        if !self.located.contains_key(&key) {
            let source = self.sources.get_mut(&number).expect("the disc is given");
            let bytes = source.file_bytes(disc_path, Some(iso_path), Some(expected))?;
            if self.located.len() >= KEEP {
                self.located.clear();
            }
            self.located.insert(key.clone(), bytes);
        }
        Ok(&self.located[&key])
    }

    /// The open file at `path` (an image, or a file of a mounted disc).
    pub(super) fn file(&mut self, path: &Path) -> std::io::Result<&File> {
        if !self.open.contains_key(path) {
            let f = File::open(path)?;
            if self.open.len() >= KEEP {
                self.open.clear();
            }
            self.open.insert(path.to_owned(), f);
        }
        Ok(&self.open[path])
    }

    /// Records that disc `want` is wanted (in the state file too); `true` the first time.
    pub(super) fn want(&mut self, want: WantedDisc, problems: &mut Vec<Problem>) -> bool {
        let first = !self.wanted.contains_key(&want.number);
        let since = self
            .wanted
            .get(&want.number)
            .map_or(want.since_ns, |w| w.since_ns);
        self.wanted.insert(
            want.number,
            WantedDisc {
                since_ns: since,
                ..want
            },
        );
        if first {
            self.write_state(problems);
        }
        first
    }

    /// Writes the state file (atomically); a failure is a problem, not an error of the read.
    pub(super) fn write_state(&self, problems: &mut Vec<Problem>) {
        let state = MountState {
            mountpoint: self.mountpoint.clone(),
            pid: std::process::id(),
            wanted: self.wanted.values().cloned().collect(),
        };
        let write = || -> std::io::Result<()> {
            let mut f = crate::atomic::AtomicFile::create(&self.state_file, ".partial")?;
            f.file().write_all(&serde_json::to_vec_pretty(&state)?)?;
            f.commit()
        };
        if let Err(e) = write() {
            problems.push(Problem::new(
                &self.state_file,
                crate::problem::ProblemKind::Unwritable,
                format!("recording the discs wanted: {e}"),
            ));
        }
    }

    /// Removes the state file (the mount ends).
    pub(super) fn forget_state(&self) {
        let _ = std::fs::remove_file(&self.state_file);
    }
}

/// An image still being written (`…iso.partial`) is not looked at.
fn is_partial(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "partial")
}
