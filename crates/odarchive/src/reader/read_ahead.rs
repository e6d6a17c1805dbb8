//! How an image file is read: positioned reads (`pread`, no `lseek`) in large pieces, with a
//! read-ahead buffer that survives seeks.
//!
//! A restore reads the files of a disc in the order they lie on it: each small file's data
//! starts a few bytes past the end of the one before (its last sector is padded). A
//! `BufReader` drops its buffer on every seek, so each file cost a seek and a fresh read; here
//! a seek only moves the position, and a read within the buffer is a copy. Reads at least as
//! large as the buffer go straight into the caller's memory.

use std::fs::File;
use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::fs::FileExt;

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
        })
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
            return Ok(n);
        }
        self.filled = 0;
        self.buf_at = self.pos;
        self.filled = self.file.read_at(&mut self.buf, self.pos)?;
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
}
