//! Writing restored bytes with holes where long runs of zeros are, like `cp --sparse=auto`:
//! a sparse virtual-machine image comes back as sparse as it went. Hashing is the caller's
//! ([`crate::hash::HashingWriter`] around it, or the reader's side of a restore).

use std::fs::File;
use std::io::{self, Write};
use std::os::unix::fs::FileExt;

/// Zeros are skipped in aligned blocks of this size (positions in the file, not in the part).
pub(super) const HOLE_BLOCK: u64 = 64 * 1024;

/// Bytes gathered before they are written (a whole number of blocks).
const BUFFER: usize = 16 * HOLE_BLOCK as usize;

/// A file being written at `start`, seeking over aligned all-zero blocks where the file held
/// nothing before (`holes`), so they stay holes.
pub(super) struct SparseFile {
    file: File,
    /// Where the next byte of `buf` goes in the file.
    at: u64,
    /// Bytes written to the sink so far.
    len: u64,
    buf: Vec<u8>,
    /// Whether zero blocks may be skipped (the range was empty before).
    holes: bool,
    /// Where the bytes of this write end, at most: the file is extended to the end of what
    /// was written, zeros skipped included, in [`SparseFile::finish`].
    start: u64,
    /// The file's length as far as this write knows it (what it had, then what was written).
    file_len: u64,
}

impl SparseFile {
    /// Writes into `file` from `start`. Zero blocks become holes only at or past the file's
    /// current length, where skipping them leaves zeros (nothing is there to overwrite).
    pub(super) fn new(file: File, start: u64) -> io::Result<SparseFile> {
        let file_len = file.metadata()?.len();
        Ok(SparseFile {
            at: start,
            start,
            holes: start >= file_len,
            file_len,
            ..SparseFile::created(file, BUFFER as u64)
        })
    }

    /// Writes into `file`, just created empty, from its start, about `expected` bytes (the
    /// buffer is no larger than that needs: most restored files are small).
    pub(super) fn created(file: File, expected: u64) -> SparseFile {
        SparseFile {
            file,
            at: 0,
            len: 0,
            buf: Vec::with_capacity(expected.min(BUFFER as u64) as usize),
            holes: true,
            start: 0,
            file_len: 0,
        }
    }

    /// Writes what is buffered, extends the file over trailing holes, and returns the file.
    pub(super) fn finish(mut self) -> io::Result<File> {
        self.write_out(self.buf.len())?;
        let end = self.start + self.len;
        if self.file_len < end {
            self.file.set_len(end)?;
        }
        Ok(self.file)
    }

    /// Writes `buf[from..to]` at `at`, keeping the file's length up to date.
    fn write_at(&mut self, from: usize, to: usize, at: u64) -> io::Result<()> {
        if from < to {
            self.file.write_all_at(&self.buf[from..to], at)?;
            self.file_len = self.file_len.max(at + (to - from) as u64);
        }
        Ok(())
    }

    /// Writes the first `upto` bytes of `buf` at `at`, leaving out the all-zero blocks of the
    /// file's `HOLE_BLOCK` grid when holes are allowed (each run of other blocks in one
    /// write); keeps the rest.
    fn write_out(&mut self, upto: usize) -> io::Result<()> {
        let mut done = 0;
        // Where the run of bytes still to write starts.
        let mut run = 0;
        while done < upto {
            let at = self.at + done as u64;
            let to_boundary = (HOLE_BLOCK - at % HOLE_BLOCK) as usize;
            let end = (done + to_boundary).min(upto);
            let block = &self.buf[done..end];
            let whole_block = block.len() as u64 == HOLE_BLOCK;
            if self.holes && whole_block && is_zero(block) {
                self.write_at(run, done, self.at + run as u64)?;
                run = end;
            }
            done = end;
        }
        self.write_at(run, upto, self.at + run as u64)?;
        self.at += upto as u64;
        self.buf.drain(..upto);
        Ok(())
    }

    /// Writes the buffered bytes up to the last block boundary, so that no block is cut in
    /// two by the buffer's end.
    fn write_whole_blocks(&mut self) -> io::Result<()> {
        let end = self.at + self.buf.len() as u64;
        let boundary = end - end % HOLE_BLOCK;
        let upto = boundary.saturating_sub(self.at) as usize;
        self.write_out(if upto == 0 { self.buf.len() } else { upto })
    }
}

/// Whether every byte of `block` is zero (compared 16 bytes at a time).
fn is_zero(block: &[u8]) -> bool {
    let mut words = block.chunks_exact(16);
    let tail = words.remainder();
    tail.iter().all(|&b| b == 0)
        && words.all(|w| u128::from_ne_bytes(w.try_into().unwrap_or([1; 16])) == 0)
}

impl Write for SparseFile {
    fn write(&mut self, data: &[u8]) -> io::Result<usize> {
        self.len += data.len() as u64;
        let mut rest = data;
        while !rest.is_empty() {
            let room = BUFFER - self.buf.len();
            let take = room.min(rest.len());
            self.buf.extend_from_slice(&rest[..take]);
            rest = &rest[take..];
            if self.buf.len() == BUFFER {
                self.write_whole_blocks()?;
            }
        }
        Ok(data.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hash::{HashAlgorithm, HashingWriter};
    use std::os::unix::fs::MetadataExt;

    /// Writes `data` at `start` into `path` in pieces of `piece` bytes; returns the hash.
    fn write_at(path: &std::path::Path, start: u64, data: &[u8], piece: usize) -> Vec<u8> {
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .unwrap();
        let sparse = SparseFile::new(file, start).unwrap();
        let mut sink = HashingWriter::new(sparse, HashAlgorithm::Sha256);
        for chunk in data.chunks(piece) {
            sink.write_all(chunk).unwrap();
        }
        let (hash, sparse) = sink.finish();
        sparse.finish().unwrap();
        hash.as_bytes().to_vec()
    }

    #[test]
    fn zero_runs_become_holes_and_every_byte_reads_back() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut data = vec![0u8; 5 * BUFFER + 12_345];
        data[7] = 1;
        data[BUFFER + 3] = 2;
        *data.last_mut().unwrap() = 3;
        let hash = write_at(&path, 0, &data, 100_000);
        assert_eq!(hash, HashAlgorithm::Sha256.digest(&data).as_bytes());
        assert!(std::fs::read(&path).unwrap() == data);
        let meta = std::fs::metadata(&path).unwrap();
        assert!(meta.blocks() * 512 < data.len() as u64 / 4, "{meta:?}");
    }

    #[test]
    fn a_part_written_over_old_bytes_replaces_them_zeros_included() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        // What a failed attempt left: garbage where the part goes, and a later part after it.
        std::fs::write(&path, vec![0xEEu8; 3 * BUFFER]).unwrap();
        let start = 1000;
        let part = vec![0u8; BUFFER + 77];
        write_at(&path, start, &part, 4096);
        let back = std::fs::read(&path).unwrap();
        assert_eq!(back.len(), 3 * BUFFER, "the file is not cut short");
        assert!(back[..start as usize].iter().all(|&b| b == 0xEE));
        assert!(
            back[start as usize..start as usize + part.len()]
                .iter()
                .all(|&b| b == 0)
        );
        assert!(
            back[start as usize + part.len()..]
                .iter()
                .all(|&b| b == 0xEE)
        );
    }

    #[test]
    fn a_trailing_hole_still_gives_the_full_length() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let mut data = vec![0u8; 2 * BUFFER];
        data[0] = 9;
        write_at(&path, 0, &data, BUFFER);
        assert_eq!(std::fs::metadata(&path).unwrap().len(), data.len() as u64);
        assert!(std::fs::read(&path).unwrap() == data);
    }
}
