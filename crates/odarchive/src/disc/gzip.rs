//! Gzip as the disc's catalogue file and index use it: padded to an exact size with empty
//! members, and read back whatever the length of a header comment.
//!
//! A disc's gzipped files have sizes fixed when the plan is made, larger than their data
//! needs. The room left is filled with empty gzip members (RFC 1952 allows any number of
//! members; `gunzip`, `zcat` and `zgrep` read them all and print nothing for the empty ones)
//! whose header comment is spaces, at most [`MAX_COMMENT`] bytes each: flate2, for one, refuses
//! a header field of 64 KiB or more. Discs written before this padding carried the whole room
//! in one header comment of the first member, so [`decoder`] reads a header of any length.

use std::io::{self, BufRead, Read};

/// The longest header comment written in a padding member.
const MAX_COMMENT: u64 = 60_000;
/// The smallest padding member: header (10), comment terminator (1), empty deflate block (2),
/// CRC-32 and size (8).
pub const PAD_MEMBER_MIN: u64 = 21;

/// Empty gzip members of exactly `n` bytes in all: none for 0, else `n` must be at least
/// [`PAD_MEMBER_MIN`].
pub fn padding(mut n: u64) -> Vec<u8> {
    debug_assert!(n == 0 || n >= PAD_MEMBER_MIN);
    let mut out = Vec::with_capacity(n as usize);
    while n > 0 {
        let mut m = n.min(PAD_MEMBER_MIN + MAX_COMMENT);
        if n - m > 0 && n - m < PAD_MEMBER_MIN {
            // Leave enough for a last member.
            m = n - PAD_MEMBER_MIN;
        }
        member(m, &mut out);
        n -= m;
    }
    out
}

/// Appends an empty gzip member of exactly `n` (≥ [`PAD_MEMBER_MIN`]) bytes: its comment is
/// spaces.
fn member(n: u64, out: &mut Vec<u8>) {
    let comment = (n - PAD_MEMBER_MIN) as usize;
    // ID1 ID2 CM=deflate FLG=FCOMMENT MTIME=0 XFL=0 OS=unknown.
    out.extend_from_slice(&[0x1f, 0x8b, 8, 0x10, 0, 0, 0, 0, 0, 255]);
    out.resize(out.len() + comment, b' ');
    out.push(0);
    // A final fixed-Huffman block holding only its end: no data.
    out.extend_from_slice(&[0x03, 0x00]);
    // CRC-32 and length of no data.
    out.extend_from_slice(&[0; 8]);
}

/// The data of the first gzip member of `input`, checked against its CRC-32 and length at
/// its end (an error if they differ). Header fields of any length are skipped.
pub fn decoder<R: BufRead>(mut input: R) -> io::Result<Member<R>> {
    let bad = |what: &str| io::Error::new(io::ErrorKind::InvalidData, format!("gzip: {what}"));
    let mut head = [0u8; 10];
    input.read_exact(&mut head)?;
    if head[..3] != [0x1f, 0x8b, 8] {
        return Err(bad("not a gzip file (or not deflate)"));
    }
    let flags = head[3];
    if flags & 0xe0 != 0 {
        return Err(bad("reserved header flags are set"));
    }
    if flags & 0x04 != 0 {
        let mut len = [0u8; 2];
        input.read_exact(&mut len)?;
        skip(&mut input, u64::from(u16::from_le_bytes(len)))?;
    }
    for field in [0x08, 0x10] {
        if flags & field != 0 {
            skip_until_zero(&mut input)?;
        }
    }
    if flags & 0x02 != 0 {
        skip(&mut input, 2)?;
    }
    Ok(Member {
        inflate: flate2::bufread::DeflateDecoder::new(input),
        crc: flate2::Crc::new(),
        done: false,
    })
}

fn skip(input: &mut impl Read, n: u64) -> io::Result<()> {
    let skipped = io::copy(&mut input.take(n), &mut io::sink())?;
    if skipped < n {
        return Err(io::ErrorKind::UnexpectedEof.into());
    }
    Ok(())
}

fn skip_until_zero(input: &mut impl BufRead) -> io::Result<()> {
    loop {
        let buf = input.fill_buf()?;
        if buf.is_empty() {
            return Err(io::ErrorKind::UnexpectedEof.into());
        }
        if let Some(i) = buf.iter().position(|&b| b == 0) {
            input.consume(i + 1);
            return Ok(());
        }
        let n = buf.len();
        input.consume(n);
    }
}

/// The data of one gzip member (see [`decoder`]).
#[derive(Debug)]
pub struct Member<R> {
    inflate: flate2::bufread::DeflateDecoder<R>,
    crc: flate2::Crc,
    done: bool,
}

impl<R: BufRead> Read for Member<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.done || buf.is_empty() {
            return Ok(0);
        }
        let n = self.inflate.read(buf)?;
        if n > 0 {
            self.crc.update(&buf[..n]);
            return Ok(n);
        }
        self.done = true;
        let mut tail = [0u8; 8];
        self.inflate.get_mut().read_exact(&mut tail)?;
        let crc = u32::from_le_bytes(tail[..4].try_into().expect("4 bytes"));
        let len = u32::from_le_bytes(tail[4..].try_into().expect("4 bytes"));
        if crc != self.crc.sum() || len != self.crc.amount() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "gzip: the data does not match its CRC-32 or length",
            ));
        }
        Ok(0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Write;

    fn gzipped(data: &[u8], comment: Option<usize>) -> Vec<u8> {
        let mut b = flate2::GzBuilder::new();
        if let Some(n) = comment {
            b = b.comment(vec![b' '; n]);
        }
        let mut enc = b.write(Vec::new(), flate2::Compression::fast());
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn all_members(bytes: &[u8]) -> io::Result<Vec<u8>> {
        let mut out = Vec::new();
        flate2::read::MultiGzDecoder::new(bytes).read_to_end(&mut out)?;
        Ok(out)
    }

    #[test]
    fn padding_has_its_size_and_every_reader_sees_only_the_data() {
        let data = b"{\"files\": {}}".repeat(100);
        let first = gzipped(&data, None);
        for n in [
            0,
            PAD_MEMBER_MIN,
            PAD_MEMBER_MIN + 1,
            4000,
            60_021,
            60_030,
            60_041,
            1 << 20,
        ] {
            let pad = padding(n);
            assert_eq!(pad.len() as u64, n, "{n}");
            let mut both = first.clone();
            both.extend_from_slice(&pad);
            assert_eq!(all_members(&both).unwrap(), data, "{n}");
            let mut one = Vec::new();
            flate2::read::GzDecoder::new(&both[..])
                .read_to_end(&mut one)
                .unwrap();
            assert_eq!(one, data, "{n}");
            let mut ours = Vec::new();
            decoder(&both[..]).unwrap().read_to_end(&mut ours).unwrap();
            assert_eq!(ours, data, "{n}");
        }
    }

    #[test]
    fn a_header_comment_over_64_kib_is_read() {
        let data = b"an older disc's catalogue".repeat(10);
        let old = gzipped(&data, Some(200_000));
        let mut flate2 = Vec::new();
        assert!(
            flate2::read::GzDecoder::new(&old[..])
                .read_to_end(&mut flate2)
                .is_err(),
            "flate2 refuses it, which is why this reader exists"
        );
        let mut ours = Vec::new();
        decoder(&old[..]).unwrap().read_to_end(&mut ours).unwrap();
        assert_eq!(ours, data);
    }

    #[test]
    fn damaged_data_is_an_error_not_wrong_bytes() {
        let data = b"0123456789".repeat(1000);
        let mut bytes = gzipped(&data, None);
        let n = bytes.len();
        bytes[n - 6] ^= 1; // the stored length
        let mut out = Vec::new();
        assert!(decoder(&bytes[..]).unwrap().read_to_end(&mut out).is_err());
        assert!(decoder(&b"not gzip at all"[..]).is_err());
        assert!(
            decoder(&bytes[..5]).is_err(),
            "a header cut short is an error"
        );
    }
}
