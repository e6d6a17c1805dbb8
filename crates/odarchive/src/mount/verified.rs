//! What a mount hands the kernel is checked first: one check per stored file (a *unit*), not
//! per open, so that no order of reads, no second reader and no page the kernel keeps can see
//! a byte no hash covered.
//!
//! - A unit is what the catalogue has a hash for: a whole content (its hash), or one part of
//!   a content split across discs (the part's hash). A split content is one unit when the
//!   `--cache` folder can keep it whole (then its entry is written from the check), else each
//!   part is its own, so that the first read of a part waits for that part's disc alone.
//! - The first read of any byte of a unit reads the whole unit from its disc (or its cache
//!   entry), hashing it while keeping the bytes read, and answers only once the hash is the
//!   catalogue's; every read of the unit is then served from those kept bytes, never from the
//!   disc again (a disc may read otherwise the second time). Reads of a unit being checked wait
//!   for the check; a mismatch makes every read of the unit fail for the rest of the mount.
//! - The kept bytes: in memory for a unit up to [`IN_MEMORY`]; else the `--cache` entry (a
//!   whole content the cache keeps) or an unnamed temporary file, in the cache folder if there
//!   is one, else in [`spool_dir`], gone when the mount drops it. A temporary file is
//!   written and read past the page cache where its file system allows ([`Spool`]), and a
//!   kept file is read a window at a time, the next window read meanwhile ([`KeptFile`]).
//! - Units are dropped, least recently used first, past [`KEPT_BYTES`] (and [`KEPT_MEMORY`],
//!   [`KEPT_UNITS`]); a unit of a file that is open is kept while it is. A unit dropped is
//!   checked again, from its disc, when next read (the kernel's pages of it, all checked,
//!   usually answer first).
//!
//! Why not smaller pieces: the catalogue holds one hash per content and per part, and nothing
//! finer. The disc's parity area has a CRC-32C of each sector, but a disc written with
//! `--parity 0` or read as a mounted folder has none, and a CRC-32C proves a sector is what
//! was written, not what the catalogue recorded. So a part is read whole before its first
//! byte is given (up to a disc's worth for a file larger than a disc).

use std::collections::HashMap;
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::mpsc::sync_channel;
use std::sync::{Arc, Mutex};

use super::cache::Fill;
use crate::catalogue::{Entry, Placement};
use crate::hash::{ContentHash, HashAlgorithm};

/// Units up to this many bytes are kept in memory.
pub(super) const IN_MEMORY: u64 = 4 << 20;

/// The most bytes of units kept in memory (units of open files aside).
const KEPT_MEMORY: u64 = 64 << 20;

/// The most bytes of units kept, in memory or files (units of open files aside).
const KEPT_BYTES: u64 = 2 << 30;

/// The most units kept (each kept in a file holds it open).
const KEPT_UNITS: usize = 512;

/// The bytes a check reads at a time.
const BLOCK: usize = 1 << 20;

/// Units from this size on are hashed on a thread of their own, while the next bytes are read
/// and kept.
const HASH_THREAD_FROM: u64 = 4 << 20;

/// Which stored bytes a unit is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(super) enum UnitKey {
    /// A whole content.
    Whole(i64),
    /// The part of a content at `offset`, `length` bytes long.
    Part {
        content: i64,
        offset: u64,
        length: u64,
    },
}

/// A unit of a file: where it lies in the content, and the stored files that make it, in
/// content order, each with every copy of it (on several discs) to choose from.
#[derive(Debug, Clone)]
pub(super) struct Unit {
    pub(super) key: UnitKey,
    pub(super) start: u64,
    pub(super) len: u64,
    pub(super) pieces: Vec<Vec<Placement>>,
    /// The content's hash, checked over every piece when there are several.
    pub(super) whole: Option<ContentHash>,
}

impl Unit {
    /// The unit of `entry`'s content holding byte `at`; `whole`: the content is one unit even
    /// when split (its cache entry is written from the check). `Err`: why no disc holds it.
    pub(super) fn at(
        entry: &Entry,
        placements: &[Placement],
        at: u64,
        whole: bool,
    ) -> Result<Unit, String> {
        let Some(content) = entry.content_id else {
            return Err("it could not be read when it was scanned, so no disc holds it".into());
        };
        // The stored files, by where they lie: copies of one on several discs together.
        let mut stored: Vec<Vec<Placement>> = Vec::new();
        let mut sorted = placements.to_vec();
        sorted.sort_by_key(|p| (p.offset, std::cmp::Reverse(p.length), p.disc));
        for p in sorted {
            match stored.last_mut() {
                Some(last) if last[0].offset == p.offset && last[0].length == p.length => {
                    last.push(p)
                }
                _ => stored.push(vec![p]),
            }
        }
        if stored.is_empty() {
            return Err("no disc of this catalogue holds it".into());
        }
        // A chain from byte 0 to the end, each stored file starting where the last ended.
        let mut chain: Vec<Vec<Placement>> = Vec::new();
        let mut next = 0u64;
        while next < entry.size {
            let Some(s) = stored
                .iter()
                .find(|s| s[0].offset == next && s[0].length > 0)
            else {
                return Err(format!("no part holds bytes from {next}"));
            };
            next = s[0].offset + s[0].length;
            chain.push(s.clone());
        }
        if chain.len() == 1 || whole {
            return Ok(Unit {
                key: UnitKey::Whole(content),
                start: 0,
                len: entry.size,
                whole: (chain.len() > 1).then_some(entry.hash).flatten(),
                pieces: chain,
            });
        }
        let piece = chain
            .into_iter()
            .find(|s| s[0].offset <= at && at < s[0].offset + s[0].length)
            .expect("the chain covers the content");
        let (offset, length) = (piece[0].offset, piece[0].length);
        Ok(Unit {
            key: UnitKey::Part {
                content,
                offset,
                length,
            },
            start: offset,
            len: length,
            pieces: vec![piece],
            whole: None,
        })
    }
}

/// The checked bytes of a unit.
#[derive(Debug, Clone)]
pub(super) enum Store {
    Memory(Arc<Vec<u8>>),
    File(Arc<KeptFile>),
}

impl Store {
    /// `len` bytes from `offset` of the unit.
    pub(super) fn read(&self, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        match self {
            Store::Memory(bytes) => {
                let from = (offset as usize).min(bytes.len());
                let to = (from + len as usize).min(bytes.len());
                if to - from != len as usize {
                    return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short"));
                }
                Ok(bytes[from..to].to_vec())
            }
            Store::File(kept) => kept.read(offset, len),
        }
    }

    fn in_memory(&self) -> bool {
        matches!(self, Store::Memory(_))
    }
}

/// Where a check keeps the bytes it reads.
#[derive(Debug)]
pub(super) enum Sink {
    /// The content's cache entry.
    Fill(Fill),
    Memory(Vec<u8>),
    /// An unnamed temporary file.
    Spool(Spool),
}

impl Sink {
    /// A sink for a unit of `len` bytes: memory, or a temporary file in `dir` (else the
    /// system's temporary folder).
    pub(super) fn new(len: u64, dir: Option<&Path>) -> io::Result<Sink> {
        if len <= IN_MEMORY {
            return Ok(Sink::Memory(Vec::with_capacity(len as usize)));
        }
        let dir = dir.map_or_else(spool_dir, Path::to_owned);
        Ok(Sink::Spool(Spool::new(dir)?))
    }

    fn write(&mut self, bytes: &[u8]) -> io::Result<()> {
        match self {
            Sink::Fill(f) => f.write(bytes),
            Sink::Memory(v) => {
                v.extend_from_slice(bytes);
                Ok(())
            }
            Sink::Spool(s) => s.write(bytes),
        }
    }

    /// Every byte given is written (a temporary file's last block too).
    fn end(&mut self) -> io::Result<()> {
        match self {
            Sink::Spool(s) => s.end(),
            Sink::Fill(_) | Sink::Memory(_) => Ok(()),
        }
    }

    /// Where it is written, for messages.
    pub(super) fn shown(&self) -> String {
        match self {
            Sink::Fill(f) => f.path().display().to_string(),
            Sink::Memory(_) => "memory".into(),
            Sink::Spool(s) => format!("a temporary file in {}", s.dir.display()),
        }
    }
}

/// The alignment of the reads and writes of a temporary file written past the page cache
/// (`O_DIRECT`): a multiple of the logical block size of the disks in use.
const ALIGN: usize = 4096;

/// A zeroed buffer of `len` bytes whose first byte's address is a multiple of [`ALIGN`]: the
/// vector, and where in it that first byte is.
fn aligned(len: usize) -> (Vec<u8>, usize) {
    let buf = vec![0u8; len + ALIGN];
    let start = (ALIGN - buf.as_ptr() as usize % ALIGN) % ALIGN;
    (buf, start)
}

/// Whether `file` is read and written past the page cache (`O_DIRECT`), set to `on`.
fn set_direct(file: &File, on: bool) -> io::Result<()> {
    use rustix::fs::{OFlags, fcntl_getfl, fcntl_setfl};
    let flags = fcntl_getfl(file)?;
    let flags = if on {
        flags | OFlags::DIRECT
    } else {
        flags - OFlags::DIRECT
    };
    fcntl_setfl(file, flags)?;
    Ok(())
}

/// The bytes a read of a kept file reads at least, to answer the reads after it (the kernel
/// asks for a few hundred KiB at a time, several at once, of a file read in order).
const WINDOW: usize = 4 << 20;

/// A file of checked bytes (a unit's temporary file, or its cache entry), read a window of
/// [`WINDOW`] bytes at a time, in blocks aligned to [`ALIGN`] into an aligned buffer, as a
/// file written past the page cache must be (any other file may be).
#[derive(Debug)]
pub(super) struct KeptFile {
    pub(super) file: File,
    /// The bytes read last, kept while the file is open ([`KeptFile::close`]).
    window: Mutex<Window>,
}

/// The window of a kept file: the bytes read last, and the block after them being read
/// meanwhile (a file is mostly read in order).
#[derive(Debug, Default)]
struct Window {
    block: Option<Block>,
    next: Option<(u64, std::thread::JoinHandle<io::Result<Block>>)>,
}

/// Bytes `from..from + len` of a file, in `buf[start..start + len]`.
#[derive(Debug)]
struct Block {
    from: u64,
    len: usize,
    buf: Vec<u8>,
    start: usize,
}

impl Block {
    /// Up to `span` bytes of `file` from `from` (both aligned to [`ALIGN`]).
    fn read(file: &File, from: u64, span: usize) -> io::Result<Block> {
        let (mut buf, start) = aligned(span);
        let len = read_full(file, &mut buf[start..start + span], from)?;
        Ok(Block {
            from,
            len,
            buf,
            start,
        })
    }

    fn holds(&self, offset: u64, len: u64) -> bool {
        offset >= self.from && offset + len <= self.from + self.len as u64
    }
}

impl KeptFile {
    pub(super) fn new(file: File) -> KeptFile {
        KeptFile {
            file,
            window: Mutex::new(Window::default()),
        }
    }

    /// `len` bytes from `offset`.
    fn read(&self, offset: u64, len: u64) -> io::Result<Vec<u8>> {
        let mut w = self.window.lock().unwrap_or_else(|e| e.into_inner());
        if !w.block.as_ref().is_some_and(|b| b.holds(offset, len)) {
            let from = offset - offset % ALIGN as u64;
            let want = (offset + len - from) as usize;
            let span = want.max(WINDOW).next_multiple_of(ALIGN);
            // The block read ahead, if it starts at or before `offset` (else it is left to
            // end on its own).
            let ahead = match w.next.take() {
                Some((at, reading)) if at <= offset && offset < at + WINDOW as u64 => {
                    reading.join().ok().and_then(Result::ok)
                }
                _ => None,
            };
            let block = match ahead.filter(|b| b.holds(offset, len)) {
                Some(b) => b,
                None => Block::read(&self.file, from, span)?,
            };
            if !block.holds(offset, len) {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "short"));
            }
            // Not at the file's end: the next block is read while this one is answered.
            let end = block.from + block.len as u64;
            if block.len % ALIGN == 0 && block.len >= WINDOW {
                // No thread to be had: the next block is read when it is asked for.
                let reading = self.file.try_clone().and_then(|file| {
                    std::thread::Builder::new()
                        .name("odarchive-ahead".into())
                        .spawn(move || Block::read(&file, end, WINDOW))
                });
                if let Ok(reading) = reading {
                    w.next = Some((end, reading));
                }
            }
            w.block = Some(block);
        }
        let b = w.block.as_ref().expect("read just now");
        let at = b.start + (offset - b.from) as usize;
        Ok(b.buf[at..at + len as usize].to_vec())
    }

    /// Its file is closed: the window's memory is given back.
    fn close(&self) {
        *self.window.lock().unwrap_or_else(|e| e.into_inner()) = Window::default();
    }
}

/// Reads `buf.len()` bytes of `file` from `offset`, fewer at its end: how many.
fn read_full(file: &File, buf: &mut [u8], offset: u64) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match file.read_at(&mut buf[got..], offset + got as u64) {
            Ok(n) => {
                got += n;
                // Short only at the file's end.
                if n == 0 || got % ALIGN != 0 {
                    break;
                }
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

/// An unnamed temporary file keeping a unit's bytes while they are checked, and after.
///
/// Written and read past the page cache (`O_DIRECT`) where its file system allows: the
/// kernel keeps the pages it was answered with already (the mount tells it to), so a copy of
/// them in the page cache would be a second one; and writing a unit through the page cache
/// costs the check more than the hash (a fresh page for every 4 KiB: measured on a 500 MB
/// file, see BENCHMARKS.md, issue 17). Its bytes go through an aligned block ([`BLOCK`]
/// bytes), the last one padded, the file cut to the bytes given at the end.
#[derive(Debug)]
pub(super) struct Spool {
    pub(super) file: File,
    dir: PathBuf,
    /// Written past the page cache.
    direct: bool,
    /// The aligned block of bytes given and not written yet: `block[start..start + filled]`.
    block: Vec<u8>,
    start: usize,
    filled: usize,
    /// The bytes written to the file.
    written: u64,
}

impl Spool {
    fn new(dir: PathBuf) -> io::Result<Spool> {
        let file = tempfile::tempfile_in(&dir)?;
        // A file system that does not take the flag (tmpfs before Linux 6.6): the page cache.
        let direct = set_direct(&file, true).is_ok();
        let (block, start) = if direct {
            aligned(BLOCK)
        } else {
            (Vec::new(), 0)
        };
        Ok(Spool {
            file,
            dir,
            direct,
            block,
            start,
            filled: 0,
            written: 0,
        })
    }

    /// Whether it is written past the page cache.
    #[cfg(test)]
    fn direct(&self) -> bool {
        self.direct
    }

    fn write(&mut self, mut bytes: &[u8]) -> io::Result<()> {
        if !self.direct {
            self.file.write_all_at(bytes, self.written)?;
            self.written += bytes.len() as u64;
            return Ok(());
        }
        while !bytes.is_empty() {
            let k = (BLOCK - self.filled).min(bytes.len());
            let at = self.start + self.filled;
            self.block[at..at + k].copy_from_slice(&bytes[..k]);
            self.filled += k;
            bytes = &bytes[k..];
            if self.filled == BLOCK {
                self.flush()?;
            }
        }
        Ok(())
    }

    /// Writes the block (a last one padded to [`ALIGN`]).
    fn flush(&mut self) -> io::Result<()> {
        if self.filled == 0 {
            return Ok(());
        }
        let padded = self.filled.next_multiple_of(ALIGN);
        self.block[self.start + self.filled..self.start + padded].fill(0);
        let given = self.start..self.start + self.filled;
        match self
            .file
            .write_all_at(&self.block[self.start..self.start + padded], self.written)
        {
            Ok(()) => {}
            // A file system that takes the flag but not the writes: the page cache.
            Err(e) if e.kind() == io::ErrorKind::InvalidInput && self.written == 0 => {
                set_direct(&self.file, false)?;
                self.direct = false;
                self.file.write_all_at(&self.block[given], self.written)?;
            }
            Err(e) => return Err(e),
        }
        self.written += self.filled as u64;
        self.filled = 0;
        Ok(())
    }

    /// Writes what is left; the file holds the bytes given, no padding.
    fn end(&mut self) -> io::Result<()> {
        self.flush()?;
        if self.file.metadata()?.len() != self.written {
            self.file.set_len(self.written)?;
        }
        Ok(())
    }
}

/// Where checked bytes are kept without a cache folder: `TMPDIR` if set, else `/var/tmp`
/// (on disk, where `/tmp` is often memory), else the system's temporary folder.
pub(super) fn spool_dir() -> PathBuf {
    if std::env::var_os("TMPDIR").is_none() && Path::new("/var/tmp").is_dir() {
        return PathBuf::from("/var/tmp");
    }
    std::env::temp_dir()
}

/// Where a check reads one stored file from.
#[derive(Debug)]
pub(super) enum Source {
    /// Bytes the disc embeds in the file's entry.
    Embedded(Vec<u8>),
    /// `runs` (byte offset, length) of `file`.
    Runs {
        file: File,
        path: PathBuf,
        runs: Vec<(u64, u64)>,
    },
}

/// One stored file to read in a check, and what it must be.
#[derive(Debug)]
pub(super) struct Piece {
    pub(super) source: Source,
    pub(super) placement: Placement,
}

/// Why a check failed.
#[derive(Debug)]
pub(super) enum CheckFail {
    /// The bytes read are not the catalogue's: never to be given.
    Mismatch(String),
    /// The disc could not be read (a read error, a short file): it may read another time.
    Unreadable(String),
    /// The bytes could not be kept (`sink`: where).
    Keep(String, io::Error),
}

/// Reads `pieces` in order into `sink`, checking each against its hash and (`whole`) all of
/// them against the content's.
pub(super) fn check(
    pieces: &[Piece],
    whole: Option<ContentHash>,
    algorithm: HashAlgorithm,
    len: u64,
    sink: &mut Sink,
) -> Result<(), CheckFail> {
    if len < HASH_THREAD_FROM {
        let mut inline = Inline {
            hashes: Hashes::new(algorithm, whole.is_some()),
            spare: Vec::new(),
        };
        read_pieces(pieces, sink, &mut inline)?;
        return verdict(pieces, whole, inline.hashes.finish());
    }
    // Hashed on a thread of its own while the next block is read and kept; its buffers
    // come back to be read into again.
    let (to, from) = sync_channel::<Option<(Vec<u8>, usize)>>(QUEUED);
    let (back, spares) = sync_channel::<Vec<u8>>(QUEUED + 2);
    std::thread::scope(|scope| {
        let hasher = scope.spawn(move || {
            let mut hashes = Hashes::new(algorithm, whole.is_some());
            while let Ok(msg) = from.recv() {
                match msg {
                    Some((buf, n)) => {
                        hashes.take(&buf[..n]);
                        let _ = back.try_send(buf);
                    }
                    None => hashes.end(),
                }
            }
            hashes.finish()
        });
        let read = read_pieces(pieces, sink, &mut Threaded { to, spares });
        let hashed = hasher
            .join()
            .map_err(|_| CheckFail::Unreadable("the hashing thread failed".into()))?;
        read?;
        verdict(pieces, whole, hashed)
    })
}

/// Blocks handed to the hashing thread and not hashed yet, at most (a bound on the memory
/// when the hash falls behind the reads, which then wait for it).
const QUEUED: usize = 8;

/// Where [`read_pieces`] gets its buffers and hands each block read (`None`: a piece ends).
trait Feed {
    fn buffer(&mut self) -> Vec<u8>;
    fn feed(&mut self, block: Option<(Vec<u8>, usize)>);
}

/// Hashed as read.
struct Inline {
    hashes: Hashes,
    spare: Vec<u8>,
}

impl Feed for Inline {
    fn buffer(&mut self) -> Vec<u8> {
        match std::mem::take(&mut self.spare) {
            b if b.len() == BLOCK => b,
            _ => vec![0; BLOCK],
        }
    }

    fn feed(&mut self, block: Option<(Vec<u8>, usize)>) {
        match block {
            Some((buf, n)) => {
                self.hashes.take(&buf[..n]);
                self.spare = buf;
            }
            None => self.hashes.end(),
        }
    }
}

/// Sent to the hashing thread.
struct Threaded {
    to: std::sync::mpsc::SyncSender<Option<(Vec<u8>, usize)>>,
    spares: std::sync::mpsc::Receiver<Vec<u8>>,
}

impl Feed for Threaded {
    fn buffer(&mut self) -> Vec<u8> {
        match self.spares.try_recv() {
            Ok(b) if b.len() == BLOCK => b,
            _ => vec![0; BLOCK],
        }
    }

    fn feed(&mut self, block: Option<(Vec<u8>, usize)>) {
        // A thread that ended early (it cannot, but if) hashes nothing more: the verdict
        // then finds a piece without its hash.
        let _ = self.to.send(block);
    }
}

/// Whether the hashes of the pieces (and of them all) are the catalogue's.
fn verdict(
    pieces: &[Piece],
    whole: Option<ContentHash>,
    (parts, all): (Vec<ContentHash>, Option<ContentHash>),
) -> Result<(), CheckFail> {
    for (piece, got) in pieces.iter().zip(&parts) {
        if *got != piece.placement.stored_hash() {
            return Err(CheckFail::Mismatch(format!(
                "its bytes read from disc {} do not match the catalogue's hash",
                piece.placement.disc
            )));
        }
    }
    if parts.len() != pieces.len() {
        return Err(CheckFail::Unreadable("not every part was hashed".into()));
    }
    if let (Some(want), Some(got)) = (whole, all) {
        if want != got {
            let discs: Vec<String> = pieces
                .iter()
                .map(|p| p.placement.disc.to_string())
                .collect();
            return Err(CheckFail::Mismatch(format!(
                "its bytes read from discs {} do not match the catalogue's hash",
                discs.join(", ")
            )));
        }
    }
    Ok(())
}

/// Reads each piece's bytes in order: each block to `sink` and `feed`, `None` to `feed` after
/// each piece.
fn read_pieces(pieces: &[Piece], sink: &mut Sink, feed: &mut dyn Feed) -> Result<(), CheckFail> {
    let keep = |sink: &mut Sink, bytes: &[u8]| {
        sink.write(bytes)
            .map_err(|e| CheckFail::Keep(sink.shown(), e))
    };
    for piece in pieces {
        let p = &piece.placement;
        let short = || {
            CheckFail::Unreadable(format!(
                "disc {}: {} holds fewer bytes than the catalogue records",
                p.disc, p.disc_path
            ))
        };
        match &piece.source {
            Source::Embedded(bytes) => {
                if (bytes.len() as u64) < p.length {
                    return Err(short());
                }
                let bytes = &bytes[..p.length as usize];
                keep(sink, bytes)?;
                feed.feed(Some((bytes.to_vec(), bytes.len())));
            }
            Source::Runs { file, path, runs } => {
                let mut left = p.length;
                for &(at, n) in runs {
                    let mut done = 0u64;
                    while done < n && left > 0 {
                        let k = (n - done).min(left).min(BLOCK as u64) as usize;
                        let mut buf = feed.buffer();
                        file.read_exact_at(&mut buf[..k], at + done).map_err(|e| {
                            CheckFail::Unreadable(format!(
                                "disc {}: {}: {e}",
                                p.disc,
                                path.display()
                            ))
                        })?;
                        keep(sink, &buf[..k])?;
                        feed.feed(Some((buf, k)));
                        done += k as u64;
                        left -= k as u64;
                    }
                }
                if left > 0 {
                    return Err(short());
                }
            }
        }
        feed.feed(None);
    }
    sink.end().map_err(|e| CheckFail::Keep(sink.shown(), e))
}

/// The hash of each piece, and of all of them.
struct Hashes {
    algorithm: HashAlgorithm,
    part: crate::hash::ContentHasher,
    all: Option<crate::hash::ContentHasher>,
    done: Vec<ContentHash>,
}

impl Hashes {
    fn new(algorithm: HashAlgorithm, all: bool) -> Hashes {
        Hashes {
            algorithm,
            part: algorithm.hasher(),
            all: all.then(|| algorithm.hasher()),
            done: Vec::new(),
        }
    }

    fn take(&mut self, bytes: &[u8]) {
        self.part.update(bytes);
        if let Some(all) = self.all.as_mut() {
            all.update(bytes);
        }
    }

    fn end(&mut self) {
        let part = std::mem::replace(&mut self.part, self.algorithm.hasher());
        self.done.push(part.finish());
    }

    fn finish(self) -> (Vec<ContentHash>, Option<ContentHash>) {
        (self.done, self.all.map(|a| a.finish()))
    }
}

/// Where a unit stands.
#[derive(Debug)]
enum UnitState {
    /// A read is checking it; the others wait.
    Checking,
    Checked(Kept),
    /// Its bytes did not match: why.
    Bad(String),
}

#[derive(Debug)]
struct Kept {
    store: Store,
    len: u64,
    used: u64,
    /// Kept in its cache entry (used again: the entry's last use is now).
    cache_entry: bool,
}

/// What a read finds of a unit.
#[derive(Debug)]
pub(super) enum Look {
    Checked(Store),
    Checking,
    Bad(String),
    Unchecked,
}

/// Every unit checked, being checked or found bad in this mount.
#[derive(Debug, Default)]
pub(super) struct Units {
    states: HashMap<UnitKey, UnitState>,
    /// Open handles, by content.
    open: HashMap<i64, usize>,
    kept: u64,
    in_memory: u64,
    clock: u64,
}

fn content_of(key: &UnitKey) -> i64 {
    match *key {
        UnitKey::Whole(c) => c,
        UnitKey::Part { content, .. } => content,
    }
}

impl Units {
    /// Where unit `key` stands (a checked one counts as used now).
    pub(super) fn look(&mut self, key: &UnitKey) -> Look {
        self.clock += 1;
        match self.states.get_mut(key) {
            None => Look::Unchecked,
            Some(UnitState::Checking) => Look::Checking,
            Some(UnitState::Bad(why)) => Look::Bad(why.clone()),
            Some(UnitState::Checked(kept)) => {
                kept.used = self.clock;
                Look::Checked(kept.store.clone())
            }
        }
    }

    /// A read starts checking `key` (it was [`Look::Unchecked`]).
    pub(super) fn begin(&mut self, key: UnitKey) {
        self.states.insert(key, UnitState::Checking);
    }

    /// The check of `key` ended without a verdict (its disc is wanted, a read error): the
    /// next read checks it again.
    pub(super) fn abandon(&mut self, key: &UnitKey) {
        if matches!(self.states.get(key), Some(UnitState::Checking)) {
            self.states.remove(key);
        }
    }

    /// `key`'s bytes do not match: no read of it is answered in this mount.
    pub(super) fn bad(&mut self, key: UnitKey, why: String) {
        self.states.insert(key, UnitState::Bad(why));
    }

    /// `key` is checked and kept in `store`; the least recently used units past the bounds
    /// are dropped.
    pub(super) fn checked(&mut self, key: UnitKey, store: Store, len: u64, cache_entry: bool) {
        self.clock += 1;
        self.kept += len;
        if store.in_memory() {
            self.in_memory += len;
        }
        self.states.insert(
            key,
            UnitState::Checked(Kept {
                store,
                len,
                used: self.clock,
                cache_entry,
            }),
        );
        self.drop_past_bounds();
    }

    fn drop_past_bounds(&mut self) {
        loop {
            let kept_units = self
                .states
                .values()
                .filter(|s| matches!(s, UnitState::Checked(_)))
                .count();
            let over_memory = self.in_memory > KEPT_MEMORY;
            if self.kept <= KEPT_BYTES && !over_memory && kept_units <= KEPT_UNITS {
                return;
            }
            let oldest = self
                .states
                .iter()
                .filter_map(|(key, s)| match s {
                    UnitState::Checked(k)
                        if self.open.get(&content_of(key)).copied().unwrap_or(0) == 0
                            && (!over_memory
                                || self.kept > KEPT_BYTES
                                || kept_units > KEPT_UNITS
                                || k.store.in_memory()) =>
                    {
                        Some((k.used, *key))
                    }
                    _ => None,
                })
                .min();
            let Some((_, key)) = oldest else { return };
            if let Some(UnitState::Checked(k)) = self.states.remove(&key) {
                self.kept -= k.len;
                if k.store.in_memory() {
                    self.in_memory -= k.len;
                }
            }
        }
    }

    /// Forgets the kept bytes of `key` (they could not be read): checked again when next read.
    pub(super) fn forget(&mut self, key: &UnitKey) -> bool {
        match self.states.get(key) {
            Some(UnitState::Checked(_)) => {}
            _ => return false,
        }
        let Some(UnitState::Checked(k)) = self.states.remove(key) else {
            return false;
        };
        self.kept -= k.len;
        if k.store.in_memory() {
            self.in_memory -= k.len;
        }
        k.cache_entry
    }

    /// A handle of content `content` is opened.
    pub(super) fn opened(&mut self, content: i64) {
        *self.open.entry(content).or_default() += 1;
    }

    /// A handle of content `content` is closed.
    pub(super) fn closed(&mut self, content: i64) {
        if let Some(n) = self.open.get_mut(&content) {
            *n -= 1;
            if *n == 0 {
                self.open.remove(&content);
                for (key, state) in &self.states {
                    if let UnitState::Checked(Kept {
                        store: Store::File(kept),
                        ..
                    }) = state
                    {
                        if content_of(key) == content {
                            kept.close();
                        }
                    }
                }
                self.drop_past_bounds();
            }
        }
    }

    /// The cache entry content `content` is kept in, if it is checked and kept in one.
    pub(super) fn cache_entry(&self, content: i64) -> Option<&File> {
        match self.states.get(&UnitKey::Whole(content)) {
            Some(UnitState::Checked(Kept {
                store: Store::File(f),
                cache_entry: true,
                ..
            })) => Some(&f.file),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALG: HashAlgorithm = HashAlgorithm::Sha256;

    /// The placement of bytes `offset..offset + bytes.len()` of content 1 (of `size` bytes)
    /// on disc `disc`, part `part` of `parts`.
    fn placement(disc: u32, part: u32, parts: u32, offset: u64, bytes: &[u8]) -> Placement {
        Placement {
            content_id: 1,
            content_hash: ALG.digest(b"whole"),
            content_size: 0,
            disc,
            part,
            parts,
            offset,
            length: bytes.len() as u64,
            part_hash: (parts > 1).then(|| ALG.digest(bytes)),
            entry_path: b"f".to_vec(),
            name_path: String::new(),
            disc_path: "Data/f".into(),
            iso_path: "DATA/F".into(),
        }
    }

    #[test]
    fn a_split_content_is_one_unit_a_part_or_whole_and_a_gap_is_no_unit() {
        let bytes: Vec<u8> = (0..300u32).map(|i| i as u8).collect();
        let whole = ALG.digest(&bytes);
        let entry = crate::fixtures::file_entry(1, b"f", 300, Some(whole));
        let ps = vec![
            placement(3, 3, 3, 200, &bytes[200..]),
            placement(1, 1, 3, 0, &bytes[..100]),
            placement(2, 2, 3, 100, &bytes[100..200]),
            placement(4, 2, 3, 100, &bytes[100..200]), // a copy of part 2
        ];
        let u = Unit::at(&entry, &ps, 150, false).unwrap();
        assert_eq!(
            u.key,
            UnitKey::Part {
                content: 1,
                offset: 100,
                length: 100
            }
        );
        assert_eq!((u.start, u.len, u.whole), (100, 100, None));
        let discs: Vec<u32> = u.pieces[0].iter().map(|p| p.disc).collect();
        assert_eq!(discs, vec![2, 4], "both copies to choose from");
        let u = Unit::at(&entry, &ps, 150, true).unwrap();
        assert_eq!((u.key, u.start, u.len), (UnitKey::Whole(1), 0, 300));
        assert_eq!(u.whole, Some(whole));
        let firsts: Vec<u32> = u.pieces.iter().map(|c| c[0].disc).collect();
        assert_eq!(firsts, vec![1, 2, 3], "in content order");
        // Part 2 on no disc: no byte from 100 on can be read, as a unit.
        let err = Unit::at(&entry, &[ps[0].clone(), ps[1].clone()], 0, true).unwrap_err();
        assert!(err.contains("from 100"), "{err}");
    }

    #[test]
    fn a_check_keeps_the_bytes_of_right_pieces_and_fails_on_one_wrong_byte() {
        // Below and above the size hashed on a thread of its own.
        for size in [300usize, HASH_THREAD_FROM as usize + 3000] {
            let bytes: Vec<u8> = (0..size).map(|i| (i * 7 % 251) as u8).collect();
            let third = size / 3;
            let cuts = [0, third, 2 * third, size];
            let pieces = |bytes: &[u8]| -> Vec<Piece> {
                (0..3)
                    .map(|i| Piece {
                        source: Source::Embedded(bytes[cuts[i]..cuts[i + 1]].to_vec()),
                        placement: placement(
                            i as u32 + 1,
                            i as u32 + 1,
                            3,
                            cuts[i] as u64,
                            &bytes[cuts[i]..cuts[i + 1]],
                        ),
                    })
                    .collect()
            };
            let right = pieces(&bytes);
            let whole = Some(ALG.digest(&bytes));
            let mut sink = Sink::new(size as u64, None).unwrap();
            check(&right, whole, ALG, size as u64, &mut sink).unwrap();
            let kept = match sink {
                Sink::Memory(v) => v,
                Sink::Spool(s) => Store::File(Arc::new(KeptFile::new(s.file)))
                    .read(0, size as u64)
                    .unwrap(),
                Sink::Fill(_) => unreachable!(),
            };
            assert!(kept == bytes, "{size}: the bytes kept are the bytes read");
            // One byte of the second piece changed on its disc.
            let mut damaged = bytes.clone();
            damaged[third + 5] ^= 1;
            let mut wrong = pieces(&damaged);
            for (w, r) in wrong.iter_mut().zip(&right) {
                w.placement = r.placement.clone();
            }
            let mut sink = Sink::new(size as u64, None).unwrap();
            match check(&wrong, whole, ALG, size as u64, &mut sink) {
                Err(CheckFail::Mismatch(why)) => assert!(why.contains("disc 2"), "{why}"),
                other => panic!("{size}: {other:?}"),
            }
            // A piece shorter than the catalogue records cannot be read.
            let mut short = pieces(&bytes);
            short[2].source = Source::Embedded(bytes[cuts[2]..size - 1].to_vec());
            let mut sink = Sink::new(size as u64, None).unwrap();
            assert!(matches!(
                check(&short, whole, ALG, size as u64, &mut sink),
                Err(CheckFail::Unreadable(_))
            ));
        }
    }

    #[test]
    fn a_temporary_file_keeps_the_bytes_given_past_the_page_cache_where_it_can() {
        let dir = spool_dir();
        let bytes: Vec<u8> = (0..3 * BLOCK + 2048 + 5)
            .map(|i| (i * 13 % 251) as u8)
            .collect();
        let mut spool = Spool::new(dir.clone()).unwrap();
        // Where the spool folder's file system takes `O_DIRECT` (ext4, xfs; tmpfs from Linux
        // 6.6), the spool is written past the page cache.
        let probe = tempfile::tempfile_in(&dir).unwrap();
        let takes_direct = set_direct(&probe, true).is_ok();
        assert_eq!(spool.direct(), takes_direct, "in {}", dir.display());
        // Given in pieces of any size (a disc's runs are of 2048-byte sectors, an embedded
        // file of any length).
        for chunk in bytes.chunks(3 * 2048 + 1) {
            spool.write(chunk).unwrap();
        }
        spool.end().unwrap();
        let flags = rustix::fs::fcntl_getfl(&spool.file).unwrap();
        assert_eq!(flags.contains(rustix::fs::OFlags::DIRECT), spool.direct());
        assert_eq!(spool.file.metadata().unwrap().len(), bytes.len() as u64);
        let store = Store::File(Arc::new(KeptFile::new(spool.file)));
        let n = bytes.len();
        for (offset, len) in [
            (0, n),
            (1, 4095),
            (4095, 2),
            (BLOCK - 3, 4100),
            (4096, 256 << 10),
            (n - 7, 7),
        ] {
            let got = store.read(offset as u64, len as u64).unwrap();
            assert!(
                got == bytes[offset..offset + len],
                "{len} bytes from {offset}"
            );
        }
        assert!(store.read(n as u64 - 2, 3).is_err(), "past the end");
    }

    #[test]
    fn a_kept_file_read_in_order_or_not_gives_its_bytes() {
        let n = 2 * WINDOW + 5000;
        let bytes: Vec<u8> = (0..n).map(|i| (i * 31 % 253) as u8).collect();
        let mut spool = Spool::new(spool_dir()).unwrap();
        spool.write(&bytes).unwrap();
        spool.end().unwrap();
        let store = Store::File(Arc::new(KeptFile::new(spool.file)));
        // In order, a kernel's request at a time (the block after each window read ahead),
        // then out of order and across the windows' ends.
        let piece = 256 << 10;
        let mut ranges: Vec<(usize, usize)> = (0..n)
            .step_by(piece)
            .map(|o| (o, piece.min(n - o)))
            .collect();
        ranges.extend([
            (WINDOW - 10, 20),
            (3, 5),
            (WINDOW + piece, piece),
            (WINDOW - 4096, 8192),
            (2 * WINDOW, 5000),
            (n - 1, 1),
            (0, n),
        ]);
        for (offset, len) in ranges {
            let got = store.read(offset as u64, len as u64).unwrap();
            assert!(
                got == bytes[offset..offset + len],
                "{len} bytes from {offset}"
            );
        }
    }

    fn memory(n: usize) -> Store {
        Store::Memory(Arc::new(vec![0; n]))
    }

    #[test]
    fn units_past_the_bounds_go_least_recently_used_first_but_not_those_of_open_files() {
        let mut units = Units::default();
        let unit = IN_MEMORY as usize;
        let count = (KEPT_MEMORY / IN_MEMORY) as i64;
        units.opened(0);
        for c in 0..count {
            units.checked(UnitKey::Whole(c), memory(unit), unit as u64, false);
        }
        assert!(matches!(units.look(&UnitKey::Whole(1)), Look::Checked(_)));
        // One more than the memory holds: the least recently used unused one goes (not 0,
        // which is open, nor 1, used just now).
        units.checked(UnitKey::Whole(count), memory(unit), unit as u64, false);
        assert!(matches!(units.look(&UnitKey::Whole(0)), Look::Checked(_)));
        assert!(matches!(units.look(&UnitKey::Whole(1)), Look::Checked(_)));
        assert!(matches!(units.look(&UnitKey::Whole(2)), Look::Unchecked));
        assert!(units.in_memory <= KEPT_MEMORY);
        // A bad unit stays bad; an abandoned check is unchecked again.
        units.bad(UnitKey::Whole(99), "no".into());
        assert!(matches!(units.look(&UnitKey::Whole(99)), Look::Bad(_)));
        units.begin(UnitKey::Whole(98));
        assert!(matches!(units.look(&UnitKey::Whole(98)), Look::Checking));
        units.abandon(&UnitKey::Whole(98));
        assert!(matches!(units.look(&UnitKey::Whole(98)), Look::Unchecked));
    }
}
