//! The streaming writer: one ascending pass over the image, to any `Write`.
//!
//! Metadata is generated as the pass reaches it; file data is read by a second thread in
//! large chunks, a bounded number of chunks ahead, and handed to an optional [`Observer`]
//! (the caller hashes it on the way) before it is written. No file's data is ever held
//! whole in memory, and a source that ends early is an error naming the file.

use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::sync::Arc;
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};

use crate::SECTOR;
use crate::error::WriteError;
use crate::feed::{Feed, Stopped};
use crate::iso9660::IsoPlan;
use crate::layout::{
    ANCHOR_SECTOR, INTEGRITY_SECTOR, ISO_PVD_SECTOR, Layout, MAIN_VDS_SECTOR, RESERVE_VDS_SECTOR,
    VDS_SECTORS, VRS_SECTOR,
};
use crate::parity::{ParityEncoder, ParityError, SYSTEM_AREA_COPY};
use crate::tree::{FileSource, NodeId, Tree};
use crate::udf::anchor::Anchor;
use crate::udf::integrity::Integrity;
use crate::udf::volume::{self, VolumeFields};
use crate::udf::{fileset, plan as udf_plan, vrs};

/// Bytes read from a source at a time: small enough that large files keep the writer's
/// memory under genisoimage's, large enough for full-speed sequential reads.
const CHUNK: usize = 128 << 10;
/// Chunks the reading threads may run ahead of the writing one, all lanes together.
const CHUNKS_AHEAD: usize = 16;
/// Threads reading sources at once. Reading is mostly waiting for the kernel (opening and
/// reading small files), so more lanes than cores still help.
const READ_LANES: usize = 4;

/// Sees every file's bytes as they are written, and may refuse a file.
pub trait Observer {
    /// The next `data` of `file`, in order.
    fn file_data(&mut self, _tree: &Tree, _file: NodeId, _data: &[u8]) {}
    /// `file` is complete. An error stops the image: the caller's check failed, and its error
    /// comes back as [`WriteError::Refused`]'s source, to be downcast to the caller's type.
    fn file_end(&mut self, _tree: &Tree, _file: NodeId) -> Result<(), Refusal> {
        Ok(())
    }
    /// `written` of `total` bytes of the image are out.
    fn progress(&mut self, _written: u64, _total: u64) {}
    /// A check of each file's bytes to run on the threads that read them, beside the one
    /// writing (a hash costs the writer nothing there). Asked once, before the first file.
    fn source_check(&mut self) -> Option<Arc<dyn SourceCheck>> {
        None
    }
}

/// Checks files as their bytes are read (see [`Observer::source_check`]).
pub trait SourceCheck: Send + Sync {
    /// A check of `file`, or `None` for a file not checked.
    fn start(&self, tree: &Tree, file: NodeId) -> Option<Box<dyn FileCheck>>;
}

/// The check of one file: sees its bytes in order, then says whether they were right. A
/// refusal stops the image as [`Observer::file_end`]'s does, once the file's bytes are out.
pub trait FileCheck: Send {
    /// The next `data` of the file.
    fn update(&mut self, data: &[u8]);
    /// Every byte of the file was seen.
    fn finish(self: Box<Self>) -> Result<(), Refusal>;
}

/// Why an [`Observer`] refused a file: the caller's own error, boxed.
pub type Refusal = Box<dyn std::error::Error + Send + Sync>;

/// An observer that watches nothing.
impl Observer for () {}

/// Writes the image of `tree` as `layout` placed it into `sink`, in one ascending pass.
/// Returns the number of bytes written, which is [`Layout::image_size`]. A layout with a
/// parity file needs [`write_protected_image`].
pub fn write_image<W: Write>(
    tree: &Tree,
    layout: &Layout,
    sink: W,
    observer: &mut dyn Observer,
) -> Result<u64, WriteError> {
    if layout.parity.is_some() {
        return Err(WriteError::NoSpill);
    }
    write(tree, layout, sink, None, observer)
}

/// Something the parity encoder can spill its window blocks to: a temporary file, or a
/// `Cursor<Vec<u8>>` for small images.
pub trait Spill: Read + Write + Seek + Send {}
impl<T: Read + Write + Seek + Send> Spill for T {}

/// Writes the image of a layout with a parity file, still in one ascending pass into `sink`:
/// the parity of each window of sectors is computed as they go out and waits in `spill`
/// (about a tenth of the image at 10 %) until the parity file's turn comes. The observer
/// sees no data of the parity file (it is not a file of the caller's), only progress.
pub fn write_protected_image<W: Write>(
    tree: &Tree,
    layout: &Layout,
    sink: W,
    spill: &mut dyn Spill,
    observer: &mut dyn Observer,
) -> Result<u64, WriteError> {
    let Some((_, header)) = layout.parity else {
        return write_image(tree, layout, sink, observer);
    };
    let encoder = ParityEncoder::new(header, spill)?;
    write(tree, layout, sink, Some(encoder), observer)
}

fn write<W: Write>(
    tree: &Tree,
    layout: &Layout,
    sink: W,
    parity: Option<ParityEncoder<&mut dyn Spill>>,
    observer: &mut dyn Observer,
) -> Result<u64, WriteError> {
    if !layout.fits(tree) {
        return Err(WriteError::LayoutMismatch);
    }
    std::thread::scope(|scope| {
        let parity = parity.map(|encoder| start_parity_feed(scope, encoder));
        write_in(tree, layout, sink, parity, observer)
    })
}

fn write_in<W: Write>(
    tree: &Tree,
    layout: &Layout,
    sink: W,
    parity: Option<ParityFeed<'_, '_>>,
    observer: &mut dyn Observer,
) -> Result<u64, WriteError> {
    let mut out = Sink {
        inner: BufWriter::with_capacity(CHUNK, sink),
        pos: 0,
        total: layout.image_size(),
        anchor_written: false,
        parity,
    };
    if let Some((_, header)) = &layout.parity {
        out.emit(SYSTEM_AREA_COPY as u32, &header.to_bytes())?;
    }
    write_volume_structures(tree, layout, &mut out)?;
    write_iso_directories(tree, layout, &mut out)?;
    write_udf_metadata(tree, layout, &mut out, observer)?;
    write_file_data(tree, layout, &mut out, observer)?;
    let last = layout.total_sectors - 1;
    out.emit(last, &anchor().to_bytes(last))?;
    out.inner.flush().map_err(|source| WriteError::Sink {
        offset: out.pos,
        source,
    })?;
    debug_assert_eq!(out.pos, layout.image_size());
    observer.progress(out.pos, out.total);
    Ok(out.pos)
}

fn anchor() -> Anchor {
    let len = VDS_SECTORS * SECTOR as u32;
    Anchor {
        main: (len, MAIN_VDS_SECTOR),
        reserve: (len, RESERVE_VDS_SECTOR),
    }
}

/// The output: tracks the position, pads with zeros, slips the anchor at sector 256 in
/// when the pass goes past it, and feeds the parity encoder until the parity file.
struct Sink<'f, 's, W: Write> {
    inner: BufWriter<W>,
    pos: u64,
    total: u64,
    anchor_written: bool,
    parity: Option<ParityFeed<'f, 's>>,
}

/// The covered sectors on their way to the parity encoder, which runs on a thread of its
/// own beside the writing one (Reed-Solomon and CRC32C were a sixth of the writer's time).
type ParityFeed<'f, 's> = Feed<'f, ParityEncoder<&'s mut dyn Spill>, ParityError>;

fn start_parity_feed<'f, 's: 'f>(
    scope: &'f std::thread::Scope<'f, '_>,
    encoder: ParityEncoder<&'s mut dyn Spill>,
) -> ParityFeed<'f, 's> {
    Feed::spawn_scoped(scope, encoder, |encoder, run| encoder.push(run))
}

/// Why the encoder's thread stopped taking sectors: its error.
fn parity_stopped(stopped: Stopped<ParityError>) -> WriteError {
    match stopped {
        Stopped::Failed(e) => e.into(),
        Stopped::Ended => WriteError::Parity(ParityError::Io {
            offset: 0,
            source: io::Error::other("the parity encoder's thread ended early"),
        }),
    }
}

impl<W: Write> Sink<'_, '_, W> {
    fn write(&mut self, bytes: &[u8]) -> Result<(), WriteError> {
        if let Some(feed) = &mut self.parity {
            feed.push(bytes).map_err(parity_stopped)?;
        }
        self.inner
            .write_all(bytes)
            .map_err(|source| WriteError::Sink {
                offset: self.pos,
                source,
            })?;
        self.pos += bytes.len() as u64;
        Ok(())
    }

    fn zeros(&mut self, mut n: u64) -> Result<(), WriteError> {
        static ZEROS: [u8; 64 * 1024] = [0; 64 * 1024];
        while n > 0 {
            let k = n.min(ZEROS.len() as u64) as usize;
            self.write(&ZEROS[..k])?;
            n -= k as u64;
        }
        Ok(())
    }

    /// Writes `bytes` starting at `sector` (zeros before it, zeros after it up to the next
    /// sector boundary). Sectors must come in ascending order.
    fn emit(&mut self, sector: u32, bytes: &[u8]) -> Result<(), WriteError> {
        if !self.anchor_written && sector > ANCHOR_SECTOR {
            self.anchor_written = true;
            let anchor = anchor().to_bytes(ANCHOR_SECTOR);
            self.emit(ANCHOR_SECTOR, &anchor)?;
        }
        let at = u64::from(sector) * SECTOR;
        debug_assert!(at >= self.pos, "sectors are written in ascending order");
        self.zeros(at - self.pos)?;
        self.write(bytes)?;
        self.pad()
    }

    fn pad(&mut self) -> Result<(), WriteError> {
        let rem = self.pos % SECTOR;
        if rem != 0 {
            self.zeros(SECTOR - rem)
        } else {
            Ok(())
        }
    }
}

fn write_volume_structures<W: Write>(
    tree: &Tree,
    layout: &Layout,
    out: &mut Sink<'_, '_, W>,
) -> Result<(), WriteError> {
    let (pt_l, pt_m) = layout.path_table;
    let pvd = layout.iso.primary_volume_descriptor(
        tree,
        &layout.volume,
        layout.total_sectors,
        pt_l,
        pt_m,
        &layout.iso_dirs,
    );
    out.emit(ISO_PVD_SECTOR, &pvd)?;
    out.emit(ISO_PVD_SECTOR + 1, &IsoPlan::terminator())?;
    for (i, id) in vrs::SEQUENCE.iter().enumerate() {
        out.emit(VRS_SECTOR + i as u32, &vrs::descriptor(id))?;
    }
    let fields = volume_fields(layout);
    for first in [MAIN_VDS_SECTOR, RESERVE_VDS_SECTOR] {
        for (i, d) in volume::sequence(&fields, first).iter().enumerate() {
            out.emit(first + i as u32, d)?;
        }
    }
    let integrity = Integrity {
        recorded: layout.volume.created,
        next_unique_id: udf_plan::unique_id(NodeId((tree.len() - 1) as u32)) + 1,
        partition_length: layout.partition_length,
        files: u32::try_from(tree.file_count()).unwrap_or(u32::MAX),
        dirs: u32::try_from(tree.dir_count()).unwrap_or(u32::MAX),
        closed: true,
    };
    out.emit(INTEGRITY_SECTOR, &integrity.to_bytes(INTEGRITY_SECTOR))?;
    out.emit(
        INTEGRITY_SECTOR + 1,
        &volume::terminating(INTEGRITY_SECTOR + 1),
    )?;
    let mut table = Vec::new();
    for (big_endian, sector) in [(false, pt_l), (true, pt_m)] {
        table.clear();
        layout
            .iso
            .write_path_table(&layout.iso_dirs, big_endian, &mut table);
        out.emit(sector, &table)?;
    }
    Ok(())
}

/// The UDF volume descriptor fields: a volume set identifier that starts with 16 hex
/// digits derived from the set id (UDF 2.2.2.5 asks for a unique start) and carries the
/// caller's text.
fn volume_fields(layout: &Layout) -> VolumeFields {
    let v = &layout.volume;
    let unique =
        v.created.unix_nanos() as u64 ^ crate::udf::names::fnv1a(v.volume_set_id.as_bytes());
    VolumeFields {
        volume_id: v.volume_id.clone(),
        volume_set_id: format!("{unique:016X}{}", v.volume_set_id),
        recorded: v.created,
        partition_start: layout.partition_start,
        partition_length: layout.partition_length,
        file_set_block: 0,
        integrity_sector: INTEGRITY_SECTOR,
        info: [
            v.publisher_id.clone(),
            v.application_id.clone(),
            format!("disc {} of {}", v.sequence_number, v.set_size),
        ],
    }
}

fn write_iso_directories<W: Write>(
    tree: &Tree,
    layout: &Layout,
    out: &mut Sink<'_, '_, W>,
) -> Result<(), WriteError> {
    let mut buf = Vec::new();
    for (d, &sector) in layout.iso_dirs.iter().enumerate() {
        buf.clear();
        layout
            .iso
            .write_dir(tree, d, &layout.iso_dirs, &layout.data_sector, &mut buf);
        out.emit(sector, &buf)?;
    }
    Ok(())
}

fn write_udf_metadata<W: Write>(
    tree: &Tree,
    layout: &Layout,
    out: &mut Sink<'_, '_, W>,
    observer: &mut dyn Observer,
) -> Result<(), WriteError> {
    let p = layout.partition_start;
    let root_block = layout.fe_block[0];
    out.emit(
        p,
        &fileset::to_bytes(
            &layout.volume.volume_id,
            layout.volume.created,
            root_block,
            0,
        ),
    )?;
    out.emit(p + 1, &volume::terminating(1))?;
    for id in tree.ids() {
        let block = layout.fe_block[id.index()];
        let data_block = if tree.is_dir(id) {
            block + 1
        } else {
            layout.data_sector[id.index()].saturating_sub(p)
        };
        out.emit(
            p + block,
            &udf_plan::file_entry(tree, &layout.udf, id, block, data_block),
        )?;
        if tree.is_dir(id) {
            let fids = udf_plan::directory(tree, &layout.udf, id, block + 1, |n| {
                layout.fe_block[n.index()]
            });
            out.emit(p + block + 1, &fids)?;
        }
        observer.progress(out.pos, out.total);
    }
    Ok(())
}

/// Writes the parity area at its place: the sectors after it (the run-out padding and the
/// last anchor, known from the layout) are given to the encoder first, so that the parity
/// covers them too.
fn write_parity_area<W: Write>(
    layout: &Layout,
    out: &mut Sink<'_, '_, W>,
) -> Result<(), WriteError> {
    let Some((_, header)) = layout.parity else {
        return Ok(());
    };
    if out.pos < header.parity_start * SECTOR {
        out.emit(header.parity_start as u32, &[])?;
    }
    let Some(feed) = out.parity.take() else {
        return Err(WriteError::NoSpill);
    };
    let mut encoder = feed.finish().map_err(parity_stopped)?;
    let last = layout.total_sectors - 1;
    encoder.push_zeros(u64::from(last) - header.parity_end())?;
    let mut anchor_sector = vec![0u8; SECTOR as usize];
    let anchor_bytes = anchor().to_bytes(last);
    anchor_sector[..anchor_bytes.len()].copy_from_slice(&anchor_bytes);
    encoder.push(&anchor_sector)?;
    let mut area = encoder.finish()?;
    let mut buf = vec![0u8; CHUNK];
    loop {
        let n = area
            .read(&mut buf)
            .map_err(|source| crate::parity::ParityError::Io {
                offset: out.pos,
                source,
            })?;
        if n == 0 {
            break;
        }
        out.write(&buf[..n])?;
    }
    debug_assert_eq!(out.pos, header.parity_end() * SECTOR);
    Ok(())
}

/// What a reading thread sends: a run of small files whole, chunks of one large file, its
/// end, or a failure.
enum Piece {
    /// The files of a batch of small ones, their bytes one after the other in `bytes`; then,
    /// if reading one of them failed, why (the files before it are complete).
    Files {
        bytes: Vec<u8>,
        files: Vec<(NodeId, usize, Checked)>,
        failed: Option<WriteError>,
    },
    Data(NodeId, Vec<u8>),
    End(Checked),
    Failed(WriteError),
}

/// What a file's [`FileCheck`] said (`Ok` for a file not checked).
type Checked = Result<(), Refusal>;

/// The lanes' view of the checks.
type Checks<'a> = Option<&'a dyn SourceCheck>;

/// Small files read together, one hand-over to the writer for the lot (a hand-over per file
/// costs two thread wake-ups, which for 20,000 small files was a fifth of the writer's time).
const BATCH_BYTES: u64 = 256 << 10;
const BATCH_FILES: usize = 256;

/// The layout's file order cut into batches: runs of consecutive small files (up to
/// [`BATCH_BYTES`] and [`BATCH_FILES`]); a file larger than [`CHUNK`], and the parity file,
/// are batches of their own, streamed in chunks.
fn batches(tree: &Tree, layout: &Layout) -> Vec<std::ops::Range<usize>> {
    let alone = |file: NodeId| {
        tree.size(file) > CHUNK as u64 || layout.parity.is_some_and(|(node, _)| node == file)
    };
    let mut out: Vec<std::ops::Range<usize>> = Vec::new();
    let mut bytes = 0u64;
    for (i, &file) in layout.file_order.iter().enumerate() {
        let size = tree.size(file);
        let joins = out.last().is_some_and(|last| {
            last.end == i
                && !alone(layout.file_order[last.start])
                && !alone(file)
                && bytes + size <= BATCH_BYTES
                && last.len() < BATCH_FILES
        });
        if joins {
            out.last_mut().expect("a batch to join").end += 1;
            bytes += size;
        } else {
            out.push(i..i + 1);
            bytes = size;
        }
    }
    out
}

fn write_file_data<W: Write>(
    tree: &Tree,
    layout: &Layout,
    out: &mut Sink<'_, '_, W>,
    observer: &mut dyn Observer,
) -> Result<(), WriteError> {
    // Lane k reads batches k, k + LANES, k + 2·LANES, ... of the layout order, so opening and
    // reading many small files overlaps; the writer takes the lanes in turn, which keeps the
    // order.
    let batches = batches(tree, layout);
    let checks = observer.source_check();
    let mut senders = Vec::with_capacity(READ_LANES);
    let mut receivers = Vec::with_capacity(READ_LANES);
    for _ in 0..READ_LANES {
        let (tx, rx) = sync_channel::<Piece>(CHUNKS_AHEAD / READ_LANES);
        senders.push(tx);
        receivers.push(rx);
    }
    std::thread::scope(|scope| {
        for (lane, tx) in senders.into_iter().enumerate() {
            let (batches, checks) = (&batches, checks.as_deref());
            scope.spawn(move || read_sources(tree, &layout.file_order, batches, checks, lane, &tx));
        }
        let result = consume(tree, layout, out, observer, &batches, &receivers);
        // Dropping the receivers stops the readers at their next send.
        drop(receivers);
        result
    })
}

fn consume<W: Write>(
    tree: &Tree,
    layout: &Layout,
    out: &mut Sink<'_, '_, W>,
    observer: &mut dyn Observer,
    batches: &[std::ops::Range<usize>],
    lanes: &[Receiver<Piece>],
) -> Result<(), WriteError> {
    let mut last_progress = 0u64;
    let mut data = |out: &mut Sink<'_, '_, W>, observer: &mut dyn Observer, file, bytes: &[u8]| {
        let (sector, _) = layout.file_extent(tree, file);
        if out.pos < u64::from(sector) * SECTOR {
            out.emit(sector, &[])?;
        }
        observer.file_data(tree, file, bytes);
        out.write(bytes)?;
        if out.pos - last_progress >= 16 * CHUNK as u64 {
            last_progress = out.pos;
            observer.progress(out.pos, out.total);
        }
        Ok::<(), WriteError>(())
    };
    let ended_early = |file: NodeId| WriteError::Source {
        file: tree.path(file),
        path: Default::default(),
        source: io::Error::other("reader thread ended early"),
    };
    for (b, batch) in batches.iter().enumerate() {
        let lane = &lanes[b % READ_LANES];
        let first = layout.file_order[batch.start];
        loop {
            let piece = lane.recv().map_err(|_| ended_early(first))?;
            let file = first;
            match piece {
                Piece::Files {
                    bytes,
                    files,
                    failed,
                } => {
                    let mut at = 0;
                    for (file, len, checked) in files {
                        data(out, observer, file, &bytes[at..at + len])?;
                        at += len;
                        end_file(tree, out, observer, file, checked)?;
                    }
                    if let Some(e) = failed {
                        return Err(e);
                    }
                    break;
                }
                Piece::Data(got, buf) => {
                    debug_assert_eq!(got, file);
                    data(out, observer, file, &buf)?;
                }
                Piece::End(_) if layout.parity.is_some_and(|(node, _)| node == file) => {
                    write_parity_area(layout, out)?;
                    break;
                }
                Piece::End(checked) => {
                    end_file(tree, out, observer, file, checked)?;
                    break;
                }
                Piece::Failed(e) => return Err(e),
            }
        }
    }
    Ok(())
}

/// Pads `file`'s last sector; what its source check said, then the observer, may refuse it.
fn end_file<W: Write>(
    tree: &Tree,
    out: &mut Sink<'_, '_, W>,
    observer: &mut dyn Observer,
    file: NodeId,
    checked: Checked,
) -> Result<(), WriteError> {
    out.pad()?;
    checked
        .and_then(|()| observer.file_end(tree, file))
        .map_err(|reason| WriteError::Refused {
            file: tree.path(file),
            reason,
        })
}

/// Reads the sources of this lane's batches in layout order and sends their bytes: a batch
/// of small files in one piece, a large file in chunks.
fn read_sources(
    tree: &Tree,
    order: &[NodeId],
    batches: &[std::ops::Range<usize>],
    checks: Checks<'_>,
    lane: usize,
    tx: &SyncSender<Piece>,
) {
    for batch in batches.iter().skip(lane).step_by(READ_LANES) {
        let files = &order[batch.clone()];
        let first = files[0];
        let sent = if files.len() > 1 || tree.size(first) <= CHUNK as u64 && !is_parity(tree, first)
        {
            let piece = read_batch(tree, files, checks);
            let failed = matches!(
                piece,
                Piece::Files {
                    failed: Some(_),
                    ..
                }
            );
            tx.send(piece).is_ok() && !failed
        } else {
            let mut check = checks.and_then(|c| c.start(tree, first));
            match send_file(tree, first, &mut check, tx) {
                Ok(sent) => sent && tx.send(Piece::End(finish(check))).is_ok(),
                Err(e) => {
                    let _ = tx.send(Piece::Failed(e));
                    false
                }
            }
        };
        if !sent {
            return;
        }
    }
}

fn is_parity(tree: &Tree, file: NodeId) -> bool {
    matches!(tree.source(file), Some(FileSource::Parity { .. }))
}

/// What `check` (if any) says of the bytes it saw.
fn finish(check: Option<Box<dyn FileCheck>>) -> Checked {
    check.map_or(Ok(()), FileCheck::finish)
}

/// Reads a batch of small files whole into one buffer, checking each.
fn read_batch(tree: &Tree, files: &[NodeId], checks: Checks<'_>) -> Piece {
    let total: u64 = files.iter().map(|&f| tree.size(f)).sum();
    let mut bytes = Vec::with_capacity(total as usize);
    let mut done = Vec::with_capacity(files.len());
    for &file in files {
        let before = bytes.len();
        if let Err(e) = read_whole(tree, file, &mut bytes) {
            bytes.truncate(before);
            return Piece::Files {
                bytes,
                files: done,
                failed: Some(e),
            };
        }
        let checked = match checks.and_then(|c| c.start(tree, file)) {
            Some(mut check) => {
                check.update(&bytes[before..]);
                check.finish()
            }
            None => Ok(()),
        };
        done.push((file, bytes.len() - before, checked));
    }
    Piece::Files {
        bytes,
        files: done,
        failed: None,
    }
}

/// Appends all `size` bytes of a small `file` to `out`.
fn read_whole(tree: &Tree, file: NodeId, out: &mut Vec<u8>) -> Result<(), WriteError> {
    let size = tree.size(file);
    match tree.source(file) {
        Some(FileSource::Bytes(bytes)) => out.extend_from_slice(bytes),
        Some(FileSource::Path { path, offset }) if size > 0 => {
            let at = out.len();
            out.resize(at + size as usize, 0);
            read_exactly(tree, file, path, *offset, &mut out[at..])?;
        }
        _ => {}
    }
    Ok(())
}

/// Sends a large file's bytes in chunks, through `check` first; `Ok(false)` when the
/// writer has gone.
fn send_file(
    tree: &Tree,
    file: NodeId,
    check: &mut Option<Box<dyn FileCheck>>,
    tx: &SyncSender<Piece>,
) -> Result<bool, WriteError> {
    let mut send = |chunk: Vec<u8>| {
        if let Some(check) = check {
            check.update(&chunk);
        }
        tx.send(Piece::Data(file, chunk)).is_ok()
    };
    Ok(match tree.source(file) {
        Some(FileSource::Bytes(bytes)) => bytes.chunks(CHUNK).all(|c| send(c.to_vec())),
        Some(FileSource::Path { path, offset }) => {
            send_path(tree, file, path, *offset, tree.size(file), &mut send)?
        }
        Some(FileSource::Parity { .. }) | None => true,
    })
}

/// Fills `buf` with the bytes of `path` from `offset`: exactly `buf.len()` of them, or a
/// [`WriteError::SourceShort`] naming how many there were.
fn read_exactly(
    tree: &Tree,
    file: NodeId,
    path: &std::path::Path,
    offset: u64,
    buf: &mut [u8],
) -> Result<(), WriteError> {
    let source_err = |source: io::Error| WriteError::Source {
        file: tree.path(file),
        path: path.to_owned(),
        source,
    };
    let mut f = File::open(path).map_err(source_err)?;
    if offset > 0 {
        f.seek(SeekFrom::Start(offset)).map_err(source_err)?;
    }
    fill(&mut f, buf, 0).map_err(|e| match e {
        Fill::Short(got) => WriteError::SourceShort {
            file: tree.path(file),
            path: path.to_owned(),
            got,
            expected: buf.len() as u64,
        },
        Fill::Io(e) => source_err(e),
    })
}

/// Why [`fill`] stopped short.
enum Fill {
    /// The source ended after this many bytes (counting `already`).
    Short(u64),
    Io(io::Error),
}

/// Reads into all of `buf` from `f`; `already` bytes of the source came before (for the
/// count in [`Fill::Short`]).
fn fill(f: &mut File, buf: &mut [u8], already: u64) -> Result<(), Fill> {
    let mut got = 0;
    while got < buf.len() {
        match f.read(&mut buf[got..]) {
            Ok(0) => return Err(Fill::Short(already + got as u64)),
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Fill::Io(e)),
        }
    }
    Ok(())
}

/// Sends `size` bytes of `path` from `offset`; `Ok(false)` when the writer has gone.
fn send_path(
    tree: &Tree,
    file: NodeId,
    path: &std::path::Path,
    offset: u64,
    size: u64,
    send: &mut dyn FnMut(Vec<u8>) -> bool,
) -> Result<bool, WriteError> {
    let source_err = |source: io::Error| WriteError::Source {
        file: tree.path(file),
        path: path.to_owned(),
        source,
    };
    if size == 0 {
        return Ok(true);
    }
    let mut f = File::open(path).map_err(source_err)?;
    if offset > 0 {
        f.seek(SeekFrom::Start(offset)).map_err(source_err)?;
    }
    let mut left = size;
    while left > 0 {
        let want = left.min(CHUNK as u64) as usize;
        let mut buf = vec![0u8; want];
        fill(&mut f, &mut buf, size - left).map_err(|e| match e {
            Fill::Short(got) => WriteError::SourceShort {
                file: tree.path(file),
                path: path.to_owned(),
                got,
                expected: size,
            },
            Fill::Io(e) => source_err(e),
        })?;
        left -= want as u64;
        if !send(buf) {
            return Ok(false);
        }
    }
    Ok(true)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::time::Timestamp;
    use crate::tree::TreeBuilder;
    use crate::volume::VolumeInfo;
    use std::sync::Arc;

    fn tree_with(source: FileSource, size: u64) -> Tree {
        let t = Timestamp::EPOCH;
        let mut b = TreeBuilder::new(t);
        let d = b.dir(NodeId::ROOT, "dir", t).unwrap();
        b.file(d, "ok", t, 2, FileSource::Bytes(Arc::from(&b"ok"[..])))
            .unwrap();
        b.file(d, "subject", t, size, source).unwrap();
        b.build().unwrap()
    }

    fn write(tree: &Tree, observer: &mut dyn Observer) -> Result<u64, WriteError> {
        let layout = crate::layout(tree, &VolumeInfo::default()).unwrap();
        write_image(tree, &layout, &mut Vec::new(), observer)
    }

    #[test]
    fn a_missing_source_names_the_file_and_its_path() {
        let source = FileSource::Path {
            path: "/nonexistent/x".into(),
            offset: 0,
        };
        let err = write(&tree_with(source, 10), &mut ()).unwrap_err();
        assert!(
            matches!(&err, WriteError::Source { file, .. } if file == "dir/subject"),
            "{err}"
        );
        assert!(err.to_string().contains("/nonexistent/x"));
    }

    #[test]
    fn a_short_source_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("short");
        std::fs::write(&path, b"12345").unwrap();
        let source = FileSource::Path { path, offset: 2 };
        let err = write(&tree_with(source, 5), &mut ()).unwrap_err();
        assert!(
            matches!(
                err,
                WriteError::SourceShort {
                    got: 3,
                    expected: 5,
                    ..
                }
            ),
            "{err}"
        );
    }

    #[test]
    fn the_observer_sees_every_byte_in_order_and_may_refuse() {
        struct Refuser(Vec<(String, Vec<u8>)>);
        impl Observer for Refuser {
            fn file_data(&mut self, tree: &Tree, file: NodeId, data: &[u8]) {
                let path = tree.path(file);
                match self.0.last_mut() {
                    Some((p, d)) if *p == path => d.extend_from_slice(data),
                    _ => self.0.push((path, data.to_vec())),
                }
            }
            fn file_end(&mut self, tree: &Tree, file: NodeId) -> Result<(), Refusal> {
                if tree.name(file) == "subject" {
                    Err("hash mismatch".into())
                } else {
                    Ok(())
                }
            }
        }
        let bytes: Arc<[u8]> = Arc::from(vec![7u8; 3 * CHUNK + 5]);
        let tree = tree_with(FileSource::Bytes(bytes.clone()), bytes.len() as u64);
        let mut seen = Refuser(Vec::new());
        let err = write(&tree, &mut seen).unwrap_err();
        assert!(
            matches!(&err, WriteError::Refused { file, reason } if file == "dir/subject" && reason.to_string() == "hash mismatch")
        );
        assert_eq!(seen.0[0], ("dir/ok".to_owned(), b"ok".to_vec()));
        assert_eq!(seen.0[1].1.len(), bytes.len());
    }

    #[test]
    fn a_failing_sink_reports_the_offset() {
        struct Full(u64);
        impl Write for Full {
            fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
                if self.0 < buf.len() as u64 {
                    return Err(io::Error::new(io::ErrorKind::StorageFull, "no space left"));
                }
                self.0 -= buf.len() as u64;
                Ok(buf.len())
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        let tree = tree_with(FileSource::Bytes(Arc::from(&b"abc"[..])), 3);
        let layout = crate::layout(&tree, &VolumeInfo::default()).unwrap();
        let err = write_image(&tree, &layout, Full(100 * SECTOR), &mut ()).unwrap_err();
        assert!(matches!(err, WriteError::Sink { .. }), "{err}");
    }

    /// Sees every checked file's bytes, refusing `subject` with what it saw.
    struct Counting;
    struct CountFile {
        name: String,
        seen: Vec<u8>,
    }
    impl SourceCheck for Counting {
        fn start(&self, tree: &Tree, file: NodeId) -> Option<Box<dyn FileCheck>> {
            Some(Box::new(CountFile {
                name: tree.name(file).to_owned(),
                seen: Vec::new(),
            }))
        }
    }
    impl FileCheck for CountFile {
        fn update(&mut self, data: &[u8]) {
            self.seen.extend_from_slice(data);
        }
        fn finish(self: Box<Self>) -> Result<(), Refusal> {
            match self.name.as_str() {
                "subject" => Err(format!("saw {} bytes", self.seen.len()).into()),
                _ => Ok(()),
            }
        }
    }
    struct WithCheck;
    impl Observer for WithCheck {
        fn source_check(&mut self) -> Option<Arc<dyn SourceCheck>> {
            Some(Arc::new(Counting))
        }
    }

    #[test]
    fn a_source_check_sees_every_byte_and_its_refusal_stops_the_image() {
        // A small file (read in a batch with "ok") and a large one (streamed in chunks).
        for size in [5, 3 * CHUNK + 5] {
            let bytes: Arc<[u8]> = Arc::from(vec![7u8; size]);
            let tree = tree_with(FileSource::Bytes(bytes), size as u64);
            let err = write(&tree, &mut WithCheck).unwrap_err();
            let want = format!("saw {size} bytes");
            assert!(
                matches!(&err, WriteError::Refused { file, reason } if file == "dir/subject" && reason.to_string() == want),
                "{err:?}"
            );
        }
    }

    #[test]
    fn a_failing_spill_stops_a_protected_image_with_its_error() {
        struct BrokenSpill;
        impl Read for BrokenSpill {
            fn read(&mut self, _: &mut [u8]) -> io::Result<usize> {
                Ok(0)
            }
        }
        impl Write for BrokenSpill {
            fn write(&mut self, _: &[u8]) -> io::Result<usize> {
                Err(io::Error::new(io::ErrorKind::StorageFull, "spill full"))
            }
            fn flush(&mut self) -> io::Result<()> {
                Ok(())
            }
        }
        impl Seek for BrokenSpill {
            fn seek(&mut self, _: SeekFrom) -> io::Result<u64> {
                Ok(0)
            }
        }
        let t = Timestamp::EPOCH;
        let mut b = TreeBuilder::new(t);
        let d = b.dir(NodeId::ROOT, "dir", t).unwrap();
        let bytes: Arc<[u8]> = Arc::from(vec![3u8; 8 << 20]);
        b.file(d, "big", t, bytes.len() as u64, FileSource::Bytes(bytes))
            .unwrap();
        b.parity_file(d, "PARITY.ODP", t, 10).unwrap();
        let mut tree = b.build().unwrap();
        let layout = crate::layout_with_parity(&mut tree, &VolumeInfo::default()).unwrap();
        let err = write_protected_image(&tree, &layout, io::sink(), &mut BrokenSpill, &mut ())
            .unwrap_err();
        assert!(
            matches!(&err, WriteError::Parity(ParityError::Io { source, .. }) if source.to_string() == "spill full"),
            "{err:?}"
        );
    }
}
