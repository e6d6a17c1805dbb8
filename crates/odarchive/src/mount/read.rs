//! Reading a file of the mounted tree ([`ArchiveFs::read`]): every byte answered is a byte of
//! a unit (a content, or a part of a split one) whose whole hash was checked first
//! ([`super::verified`]), read from its cache entry (`--cache`, see [`super::cache`]) or else
//! from the disc that holds it, through [`crate::reader`]. A mismatch fails every read of the
//! unit (an I/O error, a logged problem): never wrong bytes, whatever the order of the reads.
//! A content checked whole from its disc is kept in the cache.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use super::cache::hash_of;
use super::nodes::Node;
use super::verified::{self, CheckFail, KeptFile, Look, Piece, Sink, Source, Store, Unit, UnitKey};
use super::{ArchiveFs, FsError, State, WantedDisc, shown_path};
use crate::catalogue::{DiscState, Entry, EntryKind, Placement};
use crate::problem::{Problem, ProblemKind};
use crate::reader::{Expected, FileBytes};

/// How often a read waiting for a disc (`--wait`) looks for it again.
const WAIT_POLL: Duration = Duration::from_secs(1);

/// The files open.
#[derive(Debug, Default)]
pub(super) struct OpenFiles {
    next: u64,
    open: HashMap<u64, OpenFile>,
}

#[derive(Debug, Clone)]
struct OpenFile {
    view: u64,
    entry: Entry,
    placements: Vec<Placement>,
}

/// Why a range could not be read.
enum ReadFail {
    /// Its disc was not given.
    Wanted(WantedDisc),
    /// It cannot be read right.
    Problem(Problem),
}

/// Ends the check of a unit that a read began, if the read leaves without a verdict (an
/// error, a panic): the readers waiting for it are woken to check it themselves.
struct Checking<'a> {
    fs: &'a ArchiveFs,
    key: UnitKey,
}

impl Drop for Checking<'_> {
    fn drop(&mut self) {
        self.fs.lock().units.abandon(&self.key);
        self.fs.checking.notify_all();
    }
}

impl ArchiveFs {
    /// Opens file `number` for reading; the handle goes to [`ArchiveFs::read`].
    pub fn open(&self, number: u64) -> std::result::Result<u64, FsError> {
        let (view, id) = match self.node(number)? {
            Node::Entry { view, id } => (view, id),
            Node::Alias { .. } => return Err(FsError::NotFound),
            _ => return Err(FsError::IsADirectory),
        };
        let mut state = self.lock();
        let (entry, placements) = state.catalogue.read_together(|catalogue| {
            let entry = match self.entry(catalogue, view, id)? {
                Some(e) if e.kind == EntryKind::File => e,
                Some(e) if e.kind == EntryKind::Symlink => return Err(FsError::NotFound),
                _ => return Err(FsError::IsADirectory),
            };
            let placements = match entry.content_id {
                Some(c) => catalogue.placements_of(c)?,
                None => Vec::new(),
            };
            Ok((entry, placements))
        })?;
        if let Some(c) = entry.content_id {
            state.units.opened(c);
            // Kept in its cache entry: the entry is used now (the order the cache drops in).
            if let (Some(cache), Some(file)) = (state.cache.as_ref(), state.units.cache_entry(c)) {
                cache.used(file);
            }
        }
        let files = &mut state.files;
        files.next += 1;
        let handle = files.next;
        files.open.insert(
            handle,
            OpenFile {
                view,
                entry,
                placements,
            },
        );
        Ok(handle)
    }

    /// Closes a handle of [`ArchiveFs::open`].
    pub fn release(&self, handle: u64) {
        let mut state = self.lock();
        if let Some(file) = state.files.open.remove(&handle) {
            if let Some(c) = file.entry.content_id {
                state.units.closed(c);
            }
        }
    }

    /// Up to `size` bytes of the open file `handle` from `offset` (fewer only at its end).
    pub fn read(
        &self,
        handle: u64,
        offset: u64,
        size: u32,
    ) -> std::result::Result<Vec<u8>, FsError> {
        let bytes = self.read_shared(handle, offset, size)?;
        Ok(Arc::try_unwrap(bytes).unwrap_or_else(|shared| shared.to_vec()))
    }

    /// [`ArchiveFs::read`], its bytes shared.
    pub fn read_shared(
        &self,
        handle: u64,
        offset: u64,
        size: u32,
    ) -> std::result::Result<Arc<Vec<u8>>, FsError> {
        loop {
            let result = self.read_once(handle, offset, size);
            let mut problems = Vec::new();
            let outcome = match result {
                Ok(bytes) => Ok(bytes),
                Err(ReadFail::Problem(p)) => {
                    self.log.problem(&p);
                    Err(FsError::Unreadable(p))
                }
                Err(ReadFail::Wanted(w)) => {
                    if self.lock().shelf.want(w.clone(), &mut problems) {
                        self.log.disc_wanted(&w);
                    }
                    Err(FsError::DiscWanted(w))
                }
            };
            for p in &problems {
                self.log.problem(p);
            }
            match outcome {
                Err(FsError::DiscWanted(_)) if self.wait => std::thread::sleep(WAIT_POLL),
                other => return other,
            }
        }
    }

    fn read_once(
        &self,
        handle: u64,
        offset: u64,
        size: u32,
    ) -> std::result::Result<Arc<Vec<u8>>, ReadFail> {
        let (file, whole) = {
            let state = self.lock();
            let file = state.files.open.get(&handle).cloned().ok_or_else(|| {
                ReadFail::Problem(Problem::new("?", ProblemKind::Missing, "not an open file"))
            })?;
            // A content the cache can keep is checked whole, into its entry.
            let whole = state.cache.as_ref().is_some_and(|c| {
                file.entry.hash.is_some() && file.entry.size > 0 && file.entry.size <= c.bound()
            });
            (file, whole)
        };
        let entry = &file.entry;
        let shown = shown_path(file.view, entry);
        let end = (offset + u64::from(size)).min(entry.size);
        if offset >= end {
            return Ok(Arc::new(Vec::new()));
        }
        let mut out = Vec::new();
        let mut at = offset;
        while at < end {
            let unit = Unit::at(entry, &file.placements, at, whole).map_err(|why| {
                ReadFail::Problem(Problem::new(&shown, ProblemKind::Missing, why))
            })?;
            let store = self.checked(&unit, &shown, entry)?;
            let piece_end = end.min(unit.start + unit.len);
            let bytes = store.read(at - unit.start, piece_end - at).map_err(|e| {
                // Checked again from its disc by the next read.
                let mut state = self.lock();
                if state.units.forget(&unit.key) {
                    if let (Some(cache), Some(hash)) = (state.cache.as_mut(), entry.hash) {
                        cache.discard(&hash);
                    }
                }
                ReadFail::Problem(Problem::new(
                    &shown,
                    ProblemKind::Unreadable,
                    format!("its checked bytes, kept by the mount: {e}"),
                ))
            })?;
            if at == offset && piece_end == end {
                return Ok(Arc::new(bytes));
            }
            out.extend_from_slice(&bytes);
            at = piece_end;
        }
        Ok(Arc::new(out))
    }

    /// The checked bytes of `unit`: kept from an earlier check, or checked now (other reads
    /// of it wait meanwhile).
    fn checked(
        &self,
        unit: &Unit,
        shown: &str,
        entry: &Entry,
    ) -> std::result::Result<Store, ReadFail> {
        let mut state = self.lock();
        loop {
            match state.units.look(&unit.key) {
                Look::Checked(store) => return Ok(store),
                Look::Bad(why) => {
                    return Err(ReadFail::Problem(Problem::new(
                        shown,
                        ProblemKind::Corrupt,
                        why,
                    )));
                }
                Look::Checking => {
                    state = self.checking.wait(state).unwrap_or_else(|e| e.into_inner());
                }
                Look::Unchecked => break,
            }
        }
        state.units.begin(unit.key);
        drop(state);
        let guard = Checking {
            fs: self,
            key: unit.key,
        };
        let result = self.check(unit, shown, entry);
        drop(guard);
        result
    }

    /// Checks `unit` (this read began its check): from its cache entry if it has a right
    /// one, else from its discs, keeping the bytes read.
    fn check(
        &self,
        unit: &Unit,
        shown: &str,
        entry: &Entry,
    ) -> std::result::Result<Store, ReadFail> {
        let mut problems = Vec::new();
        let mut use_cache = true;
        let result = loop {
            match self.check_once(unit, shown, entry, use_cache, &mut problems) {
                // The cache entry could not be written: checked again, kept by the mount alone.
                Err(None) if use_cache => use_cache = false,
                Err(None) => unreachable!("only a cache entry is written again"),
                Err(Some(fail)) => break Err(fail),
                Ok(store) => break Ok(store),
            }
        };
        for p in &problems {
            self.log.problem(p);
        }
        result
    }

    /// One attempt of [`ArchiveFs::check`]; `Err(None)`: the cache entry could not be kept.
    fn check_once(
        &self,
        unit: &Unit,
        shown: &str,
        entry: &Entry,
        use_cache: bool,
        problems: &mut Vec<Problem>,
    ) -> std::result::Result<Store, Option<ReadFail>> {
        let cache_hash = match (unit.key, entry.hash) {
            (UnitKey::Whole(_), Some(h)) if use_cache => Some(h),
            _ => None,
        };
        let mut state = self.lock();
        if let (Some(hash), Some(cache)) = (cache_hash, state.cache.as_mut()) {
            if let Some(found) = cache.find(&hash, entry.size, problems) {
                // Its whole hash is checked (each time the mount takes it up: it may have
                // changed since) without holding up the other requests.
                drop(state);
                let hashed = hash_of(&found.file, self.algorithm);
                state = self.lock();
                let file = state
                    .cache
                    .as_mut()
                    .and_then(|cache| cache.verdict(found, hashed, &hash, problems));
                if let Some(file) = file {
                    if let Some(cache) = state.cache.as_ref() {
                        cache.used(&file);
                    }
                    let store = Store::File(Arc::new(KeptFile::new(file)));
                    state.units.checked(unit.key, store.clone(), unit.len, true);
                    return Ok(store);
                }
            }
        }
        let pieces = self.pieces(&mut state, shown, unit).map_err(Some)?;
        let fill = match (cache_hash, state.cache.as_mut()) {
            (Some(hash), Some(cache)) => cache.fill(&hash, entry.size).unwrap_or_else(|e| {
                problems.push(Problem::new(
                    shown,
                    ProblemKind::Unwritable,
                    format!(
                        "making its cache entry in {}: {e}; kept by the mount alone",
                        cache.dir().display()
                    ),
                ));
                None
            }),
            _ => None,
        };
        let spool_dir = state.cache.as_ref().map(|c| c.dir().to_owned());
        drop(state);
        let mut sink = match fill {
            Some(fill) => Sink::Fill(fill),
            None => Sink::new(unit.len, spool_dir.as_deref()).map_err(|e| {
                Some(ReadFail::Problem(Problem::new(
                    shown,
                    ProblemKind::Unwritable,
                    format!(
                        "no room to keep its bytes while they are checked ({} bytes, in {}): {e}",
                        unit.len,
                        spool_dir.unwrap_or_else(verified::spool_dir).display()
                    ),
                )))
            })?,
        };
        let checked = verified::check(&pieces, unit.whole, self.algorithm, unit.len, &mut sink);
        let mut state = self.lock();
        match checked {
            Ok(()) => {}
            Err(CheckFail::Mismatch(why)) => {
                state.units.bad(unit.key, why.clone());
                return Err(Some(ReadFail::Problem(Problem::new(
                    shown,
                    ProblemKind::Corrupt,
                    why,
                ))));
            }
            Err(CheckFail::Unreadable(why)) => {
                return Err(Some(ReadFail::Problem(Problem::new(
                    shown,
                    ProblemKind::Unreadable,
                    why,
                ))));
            }
            Err(CheckFail::Keep(at, e)) => {
                let writing = format!("writing the cache entry {at}: {e}");
                if matches!(sink, Sink::Fill(_)) {
                    problems.push(Problem::new(shown, ProblemKind::Unwritable, writing));
                    return Err(None);
                }
                return Err(Some(ReadFail::Problem(Problem::new(
                    shown,
                    ProblemKind::Unwritable,
                    format!("no room to keep its bytes while they are checked: {e} ({at})"),
                ))));
            }
        }
        let (store, cache_entry) = match sink {
            Sink::Memory(bytes) => (Store::Memory(Arc::new(bytes)), false),
            Sink::Spool(spool) => (Store::File(Arc::new(KeptFile::new(spool.file))), false),
            Sink::Fill(fill) => {
                let hash = cache_hash.expect("a fill is of a hash");
                let kept = state.cache.as_mut().map(|cache| {
                    cache
                        .keep(fill)
                        .and_then(|()| cache.open_entry(&hash))
                        .map_err(|e| (e, cache.dir().to_owned()))
                });
                match kept {
                    Some(Ok(file)) => (Store::File(Arc::new(KeptFile::new(file))), true),
                    Some(Err((e, dir))) => {
                        problems.push(Problem::new(
                            shown,
                            ProblemKind::Unwritable,
                            format!("keeping its cache entry in {}: {e}", dir.display()),
                        ));
                        return Err(None);
                    }
                    None => return Err(None),
                }
            }
        };
        state
            .units
            .checked(unit.key, store.clone(), unit.len, cache_entry);
        Ok(store)
    }

    /// Where each stored file of `unit` is read from: a copy on a disc that is given.
    fn pieces(
        &self,
        state: &mut State,
        shown: &str,
        unit: &Unit,
    ) -> std::result::Result<Vec<Piece>, ReadFail> {
        let mut pieces = Vec::new();
        for copies in &unit.pieces {
            let refs: Vec<&Placement> = copies.iter().collect();
            let p = self
                .given_placement(state, shown, &refs)?
                .unwrap_or(copies[0].clone());
            let unreadable = |detail: String| {
                ReadFail::Problem(Problem::new(shown, ProblemKind::Unreadable, detail))
            };
            let located = state
                .shelf
                .locate(&p, Expected::of(&p, self.algorithm))
                .map_err(|e| unreadable(format!("disc {}: {e}", p.disc)))?
                .clone();
            let source = match located {
                FileBytes::Embedded(bytes) => Source::Embedded(bytes),
                FileBytes::Mounted(path) => Source::Runs {
                    file: self.opened(state, &path, shown)?,
                    runs: vec![(0, p.length)],
                    path,
                },
                FileBytes::Image { image, runs } => Source::Runs {
                    file: self.opened(state, &image, shown)?,
                    path: image,
                    runs,
                },
            };
            pieces.push(Piece {
                source,
                placement: p,
            });
        }
        Ok(pieces)
    }

    /// The image or disc file at `path`, opened for a check of its own.
    fn opened(
        &self,
        state: &mut State,
        path: &std::path::Path,
        shown: &str,
    ) -> std::result::Result<std::fs::File, ReadFail> {
        state
            .shelf
            .file(path)
            .and_then(|f| f.try_clone())
            .map_err(|e| {
                ReadFail::Problem(Problem::new(
                    shown,
                    ProblemKind::Unreadable,
                    format!("{}: {e}", path.display()),
                ))
            })
    }

    /// The placement of `holding` whose disc is given; `Err(Wanted)` if none is.
    fn given_placement(
        &self,
        state: &mut State,
        shown: &str,
        holding: &[&Placement],
    ) -> std::result::Result<Option<Placement>, ReadFail> {
        let mut problems = Vec::new();
        let mut found = None;
        for p in holding {
            let has = state
                .shelf
                .has(&state.catalogue, p.disc, &mut problems)
                .map_err(|e| {
                    ReadFail::Problem(Problem::new(shown, ProblemKind::Unreadable, e.to_string()))
                })?;
            if has {
                found = Some((*p).clone());
                break;
            }
        }
        for problem in &problems {
            self.log.problem(problem);
        }
        if found.is_some() {
            return Ok(found);
        }
        let number = holding[0].disc;
        let record = state.discs.iter().find(|d| d.number == number);
        if record.is_some_and(|d| d.state == DiscState::Planned) {
            return Err(ReadFail::Problem(Problem::new(
                shown,
                ProblemKind::Missing,
                format!("its disc {number} is planned but not written yet"),
            )));
        }
        Err(ReadFail::Wanted(WantedDisc {
            number,
            of: state.discs.len() as u32,
            label: record.map(|d| d.label.clone()).unwrap_or_default(),
            file: shown.to_owned(),
            since_ns: crate::time::now_ns(),
        }))
    }
}
