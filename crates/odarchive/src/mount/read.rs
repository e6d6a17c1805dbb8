//! Reading a file of the mounted tree: its bytes from its cache entry (`--cache`, see
//! [`super::cache`]) or else from the disc that holds each part of it, through
//! [`crate::reader`] ([`ArchiveFs::read`]). A file read whole from its start to its end
//! (pieces read ahead out of order included) is checked against the catalogue's hash
//! ([`super::hashing`]): on a mismatch the read that ends it fails (an I/O error, a logged
//! problem) and so does every later read of that content from that disc: never wrong bytes
//! for a file read whole. Read whole from a disc with its hash right, it is kept in the cache.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::sync::Arc;
use std::time::Duration;

use super::cache::hash_of;
use super::hashing::{FileHash, Hashed};
use super::nodes::Node;
use super::{ArchiveFs, FsError, State, WantedDisc, shown_path};
use crate::catalogue::{DiscState, Entry, EntryKind, Placement};
use crate::problem::{Problem, ProblemKind};
use crate::reader::{Expected, FileBytes};

/// How often a read waiting for a disc (`--wait`) looks for it again.
const WAIT_POLL: Duration = Duration::from_secs(1);

/// The files open, and the contents found damaged.
#[derive(Debug, Default)]
pub(super) struct OpenFiles {
    next: u64,
    open: HashMap<u64, OpenFile>,
    /// Contents whose bytes did not match their hash: not given again.
    bad: HashSet<i64>,
}

#[derive(Debug)]
struct OpenFile {
    view: u64,
    entry: Entry,
    placements: Vec<Placement>,
    /// The hash of bytes `0..hashed` (and the cache entry written from them), while the file
    /// is read whole.
    hash: Option<FileHash>,
    hashed: u64,
    /// Pieces read ahead of `hashed` (the kernel's read-ahead, served by several threads,
    /// can come out of order), by offset, hashed once the bytes before them are.
    ahead: BTreeMap<u64, Arc<Vec<u8>>>,
    ahead_bytes: usize,
    /// Its cache entry, when the file is read from the cache (`--cache`).
    cached: Option<File>,
}

/// How many bytes read ahead of the hash are kept for it; past that, a file is taken as
/// read out of order and its hash is not checked.
const AHEAD_LIMIT: usize = 32 << 20;

impl OpenFile {
    /// Feeds `bytes` read at `offset` to the hash, in file order.
    fn hash_piece(&mut self, offset: u64, bytes: &Arc<Vec<u8>>) {
        if self.hash.is_none() {
            return;
        }
        let end = offset + bytes.len() as u64;
        if offset > self.hashed {
            if self.ahead_bytes + bytes.len() > AHEAD_LIMIT {
                self.hash = None;
                self.ahead.clear();
            } else if !self.ahead.contains_key(&offset) {
                self.ahead_bytes += bytes.len();
                self.ahead.insert(offset, Arc::clone(bytes));
            }
            return;
        }
        if end > self.hashed {
            self.take_in(bytes, (self.hashed - offset) as usize);
            self.hashed = end;
        }
        while let Some(entry) = self.ahead.first_entry() {
            if *entry.key() > self.hashed {
                break;
            }
            let (at, piece) = entry.remove_entry();
            self.ahead_bytes -= piece.len();
            let piece_end = at + piece.len() as u64;
            if piece_end > self.hashed {
                self.take_in(&piece, (self.hashed - at) as usize);
                self.hashed = piece_end;
            }
        }
    }

    /// The next bytes of the file in order, `bytes[start..]`: to the hash, and to its cache
    /// entry if one is being written (a write that fails ends the entry, not the read).
    fn take_in(&mut self, bytes: &Arc<Vec<u8>>, start: usize) {
        if let Some(hash) = self.hash.as_mut() {
            hash.take_in(bytes, start);
        }
    }
}

/// Why a range could not be read.
enum ReadFail {
    /// Its disc was not given.
    Wanted(WantedDisc),
    /// It cannot be read right.
    Problem(Problem),
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
        let shown = shown_path(view, &entry);
        let mut problems = Vec::new();
        let mut cached = None;
        if let (Some(cache), Some(hash)) = (state.cache.as_mut(), entry.hash.as_ref()) {
            if let Some(found) = cache.find(hash, entry.size, &mut problems) {
                if cache.checked(&found) {
                    cached = Some(found.file);
                } else {
                    // Its whole hash is checked without holding up the other requests.
                    drop(state);
                    let hashed = hash_of(&found.file, self.algorithm);
                    state = self.lock();
                    if let Some(cache) = state.cache.as_mut() {
                        cached = cache.verdict(found, hashed, hash, &mut problems);
                    }
                }
            }
        }
        let fill = match (&cached, state.cache.as_mut(), entry.hash.as_ref()) {
            (None, Some(cache), Some(hash)) => cache.fill(hash, entry.size).unwrap_or_else(|e| {
                problems.push(Problem::new(
                    &shown,
                    ProblemKind::Unwritable,
                    format!(
                        "making its cache entry in {}: {e}; read from its disc only",
                        cache.dir().display()
                    ),
                ));
                None
            }),
            (Some(file), Some(cache), _) => {
                cache.used(file);
                None
            }
            _ => None,
        };
        let hash = FileHash::new(self.algorithm.hasher(), fill, entry.size);
        let files = &mut state.files;
        files.next += 1;
        let handle = files.next;
        files.open.insert(
            handle,
            OpenFile {
                view,
                entry,
                placements,
                hash: Some(hash),
                hashed: 0,
                ahead: BTreeMap::new(),
                ahead_bytes: 0,
                cached,
            },
        );
        drop(state);
        for p in &problems {
            self.log.problem(p);
        }
        Ok(handle)
    }

    /// Bytes `offset..end` of open file `handle` from its cache entry, if it is read from
    /// one; an entry that cannot be read is dropped (and reported), and the file read from
    /// its disc from then on.
    fn read_cached(
        &self,
        state: &mut State,
        handle: u64,
        shown: &str,
        offset: u64,
        end: u64,
    ) -> Option<Vec<u8>> {
        let file = state.files.open.get_mut(&handle)?;
        let mut out = vec![0u8; (end - offset) as usize];
        match file.cached.as_ref()?.read_exact_at(&mut out, offset) {
            Ok(()) => Some(out),
            Err(e) => {
                file.cached = None;
                if let (Some(cache), Some(hash)) = (state.cache.as_mut(), file.entry.hash) {
                    cache.discard(&hash);
                }
                self.log.problem(&Problem::new(
                    shown,
                    ProblemKind::Unreadable,
                    format!("its cache entry: {e}; read from its disc instead"),
                ));
                None
            }
        }
    }

    /// Closes a handle of [`ArchiveFs::open`].
    pub fn release(&self, handle: u64) {
        self.lock().files.open.remove(&handle);
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

    /// [`ArchiveFs::read`], its bytes shared with the thread that hashes them (the reply
    /// to a read of a large file needs no copy of them).
    pub fn read_shared(
        &self,
        handle: u64,
        offset: u64,
        size: u32,
    ) -> std::result::Result<Arc<Vec<u8>>, FsError> {
        loop {
            let mut state = self.lock();
            let result = self.read_once(&mut state, handle, offset, size);
            let mut problems = Vec::new();
            let outcome = match result {
                Ok(bytes) => Ok(bytes),
                Err(ReadFail::Problem(p)) => {
                    self.log.problem(&p);
                    Err(FsError::Unreadable(p))
                }
                Err(ReadFail::Wanted(w)) => {
                    if state.shelf.want(w.clone(), &mut problems) {
                        self.log.disc_wanted(&w);
                    }
                    Err(FsError::DiscWanted(w))
                }
            };
            drop(state);
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
        state: &mut State,
        handle: u64,
        offset: u64,
        size: u32,
    ) -> std::result::Result<Arc<Vec<u8>>, ReadFail> {
        let file = state.files.open.get(&handle).ok_or_else(|| {
            ReadFail::Problem(Problem::new("?", ProblemKind::Missing, "not an open file"))
        })?;
        let (view, entry) = (file.view, file.entry.clone());
        let shown = shown_path(view, &entry);
        if entry
            .content_id
            .is_some_and(|c| state.files.bad.contains(&c))
        {
            return Err(ReadFail::Problem(Problem::new(
                &shown,
                ProblemKind::Corrupt,
                "its bytes on the disc do not match the catalogue's hash",
            )));
        }
        let end = (offset + u64::from(size)).min(entry.size);
        let bytes = if offset >= end {
            Vec::new()
        } else if let Some(bytes) = self.read_cached(state, handle, &shown, offset, end) {
            bytes
        } else {
            let file = &state.files.open[&handle];
            let placements = file.placements.clone();
            self.read_range(state, &shown, &entry, &placements, offset, end)?
        };
        let bytes = Arc::new(bytes);
        self.check_hash(state, handle, &shown, offset, &bytes)?;
        Ok(bytes)
    }

    /// Feeds the bytes read at `offset` to the open file's hash while it is read in order;
    /// when the whole file has been, its hash must be the catalogue's.
    fn check_hash(
        &self,
        state: &mut State,
        handle: u64,
        shown: &str,
        offset: u64,
        bytes: &Arc<Vec<u8>>,
    ) -> std::result::Result<(), ReadFail> {
        let Some(file) = state.files.open.get_mut(&handle) else {
            return Ok(());
        };
        file.hash_piece(offset, bytes);
        if file.hash.is_none() || file.hashed < file.entry.size {
            return Ok(());
        }
        let Some(Hashed {
            hash,
            fill,
            fill_failed,
        }) = file.hash.take().and_then(FileHash::finish)
        else {
            return Err(ReadFail::Problem(Problem::new(
                shown,
                ProblemKind::Unreadable,
                "its hash could not be computed (the hashing thread failed)",
            )));
        };
        if let Some(p) = fill_failed {
            self.log.problem(&p);
        }
        if Some(hash) == file.entry.hash {
            if let (Some(fill), Some(cache)) = (fill, state.cache.as_mut()) {
                if let Err(e) = cache.keep(fill) {
                    self.log.problem(&Problem::new(
                        shown,
                        ProblemKind::Unwritable,
                        format!("keeping its cache entry: {e}"),
                    ));
                }
            }
            return Ok(());
        }
        if file.cached.take().is_some() {
            // The cache entry went bad after it was checked: it goes, the disc stays trusted.
            if let (Some(cache), Some(hash)) = (state.cache.as_mut(), file.entry.hash) {
                cache.discard(&hash);
            }
            return Err(ReadFail::Problem(Problem::new(
                shown,
                ProblemKind::Corrupt,
                "its bytes in the cache do not match the catalogue's hash (the entry is removed)",
            )));
        }
        if let Some(c) = file.entry.content_id {
            state.files.bad.insert(c);
        }
        let discs: Vec<String> = file.placements.iter().map(|p| p.disc.to_string()).collect();
        Err(ReadFail::Problem(Problem::new(
            shown,
            ProblemKind::Corrupt,
            format!(
                "its bytes read from disc {} do not match the catalogue's hash",
                discs.join(", ")
            ),
        )))
    }

    /// Bytes `offset..end` of the content of `entry`, from the parts that hold them.
    fn read_range(
        &self,
        state: &mut State,
        shown: &str,
        entry: &Entry,
        placements: &[Placement],
        offset: u64,
        end: u64,
    ) -> std::result::Result<Vec<u8>, ReadFail> {
        if placements.is_empty() {
            let why = if entry.content_id.is_none() {
                "it could not be read when it was scanned, so no disc holds it"
            } else {
                "no disc of this catalogue holds it"
            };
            return Err(ReadFail::Problem(Problem::new(
                shown,
                ProblemKind::Missing,
                why,
            )));
        }
        let mut out = Vec::new();
        let mut at = offset;
        while at < end {
            let holding: Vec<&Placement> = placements
                .iter()
                .filter(|p| p.offset <= at && at < p.offset + p.length)
                .collect();
            let Some(&first) = holding.first() else {
                return Err(ReadFail::Problem(Problem::new(
                    shown,
                    ProblemKind::Missing,
                    format!("no part holds bytes from {at}"),
                )));
            };
            let p = self
                .given_placement(state, shown, &holding)?
                .unwrap_or(first);
            let piece_end = end.min(p.offset + p.length);
            let bytes = self.read_part(state, shown, p, at - p.offset, piece_end - at)?;
            if at == offset && piece_end == end {
                return Ok(bytes); // one part holds it all: not copied again
            }
            out.extend_from_slice(&bytes);
            at = piece_end;
        }
        Ok(out)
    }

    /// The placement of `holding` whose disc is given; `Err(Wanted)` if none is.
    fn given_placement<'p>(
        &self,
        state: &mut State,
        shown: &str,
        holding: &[&'p Placement],
    ) -> std::result::Result<Option<&'p Placement>, ReadFail> {
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
                found = Some(*p);
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

    /// `len` bytes from `offset` of the file placement `p` stores (its disc is given).
    fn read_part(
        &self,
        state: &mut State,
        shown: &str,
        p: &Placement,
        offset: u64,
        len: u64,
    ) -> std::result::Result<Vec<u8>, ReadFail> {
        let unreadable = |detail: String| {
            ReadFail::Problem(Problem::new(shown, ProblemKind::Unreadable, detail))
        };
        let expected = Expected::of(p, self.algorithm);
        let located = state
            .shelf
            .locate(p, expected)
            .map_err(|e| unreadable(format!("disc {}: {e}", p.disc)))?
            .clone();
        let mut out = vec![0u8; len as usize];
        let (path, runs) = match located {
            FileBytes::Embedded(bytes) => {
                let from = (offset as usize).min(bytes.len());
                let to = (from + len as usize).min(bytes.len());
                if to - from != len as usize {
                    return Err(unreadable(format!("disc {}: the file is short", p.disc)));
                }
                return Ok(bytes[from..to].to_vec());
            }
            FileBytes::Mounted(path) => (path, vec![(0, p.length)]),
            FileBytes::Image { image, runs } => (image, runs),
        };
        let io_err = |e: std::io::Error| unreadable(format!("{}: {e}", path.display()));
        let file = state.shelf.file(&path).map_err(io_err)?;
        let mut run_start = 0u64;
        let mut filled = 0usize;
        for (at, n) in runs {
            let want_from = offset + filled as u64;
            if filled == out.len() {
                break;
            }
            if want_from < run_start + n {
                let inside = want_from - run_start;
                let take = ((n - inside) as usize).min(out.len() - filled);
                file.read_exact_at(&mut out[filled..filled + take], at + inside)
                    .map_err(io_err)?;
                filled += take;
            }
            run_start += n;
        }
        if filled != out.len() {
            return Err(unreadable(format!(
                "disc {}: {} holds fewer bytes than the catalogue records",
                p.disc, p.disc_path
            )));
        }
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::HashAlgorithm;

    fn open_file(size: u64) -> OpenFile {
        OpenFile {
            view: 1,
            entry: crate::fixtures::file_entry(1, b"f", size, None),
            placements: Vec::new(),
            hash: Some(FileHash::new(HashAlgorithm::Sha256.hasher(), None, size)),
            hashed: 0,
            ahead: BTreeMap::new(),
            ahead_bytes: 0,
            cached: None,
        }
    }

    #[test]
    fn pieces_read_ahead_out_of_order_or_twice_hash_as_the_whole_file() {
        let bytes: Vec<u8> = (0..100u8).collect();
        let want = HashAlgorithm::Sha256.digest(&bytes);
        let orders: [&[(usize, usize)]; 3] = [
            &[(0, 30), (30, 60), (60, 100)],
            &[(60, 100), (30, 60), (0, 30)],
            &[(0, 30), (0, 30), (50, 100), (20, 60)],
        ];
        for order in orders {
            let mut f = open_file(100);
            for &(a, b) in order {
                f.hash_piece(a as u64, &Arc::new(bytes[a..b].to_vec()));
            }
            assert_eq!(f.hashed, 100, "{order:?}");
            let hashed = f.hash.take().and_then(FileHash::finish).unwrap();
            assert_eq!(hashed.hash, want);
        }
        // A gap never filled: the hash is never complete.
        let mut f = open_file(100);
        f.hash_piece(50, &Arc::new(bytes[50..].to_vec()));
        assert_eq!(f.hashed, 0);
    }
}
