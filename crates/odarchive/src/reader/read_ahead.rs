//! How an image file is read: positioned reads (`pread`, no `lseek`) in large pieces, with a
//! read-ahead buffer that survives seeks.
//!
//! A restore reads the files of a disc in the order they lie on it: each small file's data
//! starts a few bytes past the end of the one before (its last sector is padded). A
//! `BufReader` drops its buffer on every seek, so each file cost a seek and a fresh read; here
//! a seek only moves the position, and a read within the buffer is a copy. Reads at least as
//! large as the buffer go straight into the caller's memory.
//!
//! How far it reads ahead adapts, as the kernel's read-ahead does: a read that misses the
//! buffer far from where the last one ended (a walk of the file system's entries, which
//! jumps between a folder's identifiers and its files' entries) fills [`MIN_WINDOW`]; each
//! miss that continues the run doubles that, up to the whole buffer. Filling the whole
//! buffer at every jump made a walk of a disc's 20,000 file entries copy about a gigabyte.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

/// The least a miss reads ahead (or the whole buffer, if smaller).
const MIN_WINDOW: usize = 64 * 1024;

/// An image file read through a read-ahead buffer of a fixed size.
#[derive(Debug)]
pub(super) struct ReadAhead {
    file: File,
    /// The file's length, for seeks from the end.
    len: u64,
    buf: Box<[u8]>,
    /// Where `buf[..filled]` starts in the file.
    buf_at: u64,
    filled: usize,
    pos: u64,
    /// How much the next miss reads: [`MIN_WINDOW`] after a jump, growing along a run.
    window: usize,
    /// Bytes read from the file so far.
    read_from_file: u64,
}

impl ReadAhead {
    /// The file's size in bytes when it was opened.
    pub(super) fn len(&self) -> u64 {
        self.len
    }

    /// Reads `file` through a buffer of `capacity` bytes.
    pub(super) fn new(mut file: File, capacity: usize) -> io::Result<ReadAhead> {
        // Seeking finds the size of a block device too (a drive's disc), where the file's
        // metadata says 0.
        let len = file.seek(SeekFrom::End(0))?;
        Ok(ReadAhead {
            file,
            len,
            buf: vec![0u8; capacity.max(1)].into_boxed_slice(),
            buf_at: 0,
            filled: 0,
            pos: 0,
            window: MIN_WINDOW.min(capacity.max(1)),
            read_from_file: 0,
        })
    }

    /// The size of the next fill at the position: the window doubled when the position
    /// continues the run the buffer holds (at its end, or a gap shorter than the window
    /// past it), else back to the least.
    fn next_window(&mut self) -> usize {
        let end = self.buf_at + self.filled as u64;
        let continues = self.filled > 0 && self.pos >= end && self.pos - end < self.window as u64;
        self.window = if continues {
            (self.window * 2).min(self.buf.len())
        } else {
            MIN_WINDOW.min(self.buf.len())
        };
        self.window
    }

    /// The buffered bytes from the position on (empty when the position is not in them).
    fn buffered(&self) -> &[u8] {
        let end = self.buf_at + self.filled as u64;
        if self.pos >= self.buf_at && self.pos < end {
            &self.buf[(self.pos - self.buf_at) as usize..self.filled]
        } else {
            &[]
        }
    }
}

impl Read for ReadAhead {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        if out.is_empty() {
            return Ok(0);
        }
        let have = self.buffered();
        if !have.is_empty() {
            let n = have.len().min(out.len());
            out[..n].copy_from_slice(&have[..n]);
            self.pos += n as u64;
            return Ok(n);
        }
        if out.len() >= self.buf.len() {
            let n = self.file.read_at(out, self.pos)?;
            self.pos += n as u64;
            self.read_from_file += n as u64;
            return Ok(n);
        }
        let window = self.next_window();
        self.filled = 0;
        self.buf_at = self.pos;
        self.filled = self.file.read_at(&mut self.buf[..window], self.pos)?;
        self.read_from_file += self.filled as u64;
        let n = self.filled.min(out.len());
        out[..n].copy_from_slice(&self.buf[..n]);
        self.pos += n as u64;
        Ok(n)
    }
}

impl Seek for ReadAhead {
    fn seek(&mut self, to: SeekFrom) -> io::Result<u64> {
        let base = match to {
            SeekFrom::Start(at) => Some(at),
            SeekFrom::Current(by) => self.pos.checked_add_signed(by),
            SeekFrom::End(by) => self.len.checked_add_signed(by),
        };
        self.pos = base
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "seek before the start"))?;
        Ok(self.pos)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_anywhere_give_the_file_s_bytes_whatever_the_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("img");
        let bytes: Vec<u8> = (0..300_001u32).map(|i| (i * 31 % 253) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let mut r = ReadAhead::new(File::open(&path).unwrap(), 4096).unwrap();
        // Forward with gaps (within and past the buffer), backward, a read larger than the
        // buffer, one across its end, and one at the end of the file.
        for (at, len) in [
            (0u64, 10usize),
            (100, 2000),
            (5000, 3000),
            (4000, 50),
            (7000, 20_000),
            (299_990, 11),
            (123_456, 4096),
        ] {
            r.seek(SeekFrom::Start(at)).unwrap();
            let mut out = vec![0u8; len];
            r.read_exact(&mut out).unwrap();
            assert!(out[..] == bytes[at as usize..at as usize + len], "at {at}");
        }
        assert_eq!(r.seek(SeekFrom::End(-1)).unwrap(), 300_000);
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).unwrap();
        assert_eq!(rest, [bytes[300_000]]);
        assert!(r.seek(SeekFrom::Current(-400_000)).is_err());
    }

    #[test]
    fn jumps_read_a_little_ahead_and_a_run_reads_the_whole_buffer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("img");
        let bytes: Vec<u8> = (0..16 << 20).map(|i: u32| (i * 7 % 251) as u8).collect();
        std::fs::write(&path, &bytes).unwrap();
        let mut r = ReadAhead::new(File::open(&path).unwrap(), 1 << 20).unwrap();
        // 64 reads of one sector, each far from the last (a walk of file entries): each
        // fills the least window, not the whole buffer.
        let mut sector = [0u8; 2048];
        for k in 0..64u64 {
            let at = (k * 7919 % 64) * 200_000;
            r.seek(SeekFrom::Start(at)).unwrap();
            r.read_exact(&mut sector).unwrap();
            assert!(sector[..] == bytes[at as usize..at as usize + 2048]);
        }
        assert!(
            r.read_from_file <= 64 * MIN_WINDOW as u64,
            "{} bytes read for 64 scattered sectors",
            r.read_from_file
        );
        // Small files one after another, each a few bytes past the last (padded to its
        // sector): the window grows to the whole buffer, so the run costs few reads.
        let before = r.read_from_file;
        let mut at = 4 << 20;
        let mut fills = 0;
        let mut out = [0u8; 3000];
        while at + 3000 < 12 << 20 {
            r.seek(SeekFrom::Start(at)).unwrap();
            let had = r.read_from_file;
            r.read_exact(&mut out).unwrap();
            fills += u64::from(r.read_from_file != had);
            assert!(out[..] == bytes[at as usize..at as usize + 3000]);
            at += 4096;
        }
        assert_eq!(r.window, 1 << 20);
        // 8 MiB in 1 MiB fills, and the few smaller ones of the start of the run.
        assert!(fills <= 8 + 6, "{fills} fills for an 8 MiB run");
        assert!(r.read_from_file - before <= (8 << 20) + (2 << 20));
    }
}
