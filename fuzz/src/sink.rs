//! Where file data read by a target goes: counted and dropped, refused past a limit, so that
//! an image claiming a file of terabytes (holes need no sectors) cannot make a run hang.

use std::io::{self, Write};

/// Most bytes read from one file. Seeds' files are a few KiB; UDF extents not recorded read
/// as zeros and may legitimately be large, so a larger limit only costs time.
pub const MAX_FILE_BYTES: u64 = 64 << 20;

/// A writer that takes at most `left` bytes, then fails.
#[derive(Debug)]
pub struct BoundedSink {
    /// Bytes it still takes.
    pub left: u64,
    /// Bytes it took.
    pub taken: u64,
}

impl BoundedSink {
    /// A sink taking at most [`MAX_FILE_BYTES`].
    pub fn new() -> Self {
        BoundedSink {
            left: MAX_FILE_BYTES,
            taken: 0,
        }
    }
}

impl Default for BoundedSink {
    fn default() -> Self {
        Self::new()
    }
}

impl Write for BoundedSink {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if buf.len() as u64 > self.left {
            return Err(io::Error::other("file longer than the fuzz limit"));
        }
        self.left -= buf.len() as u64;
        self.taken += buf.len() as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}
