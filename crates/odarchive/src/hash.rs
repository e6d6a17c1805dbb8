//! Content hashes: the algorithm a catalogue records file contents with, and the hashes.
//!
//! A catalogue keeps one [`HashAlgorithm`] for ever (`archive.hash_algorithm`): SHA-256 for
//! catalogues this odarchive creates, SHA-512 for those brought in from the original
//! odarchive. Everything that hashes contents — scan, the planner's split parts, write's
//! re-hash, the disc's checksum file, verify and restore — asks the catalogue for its
//! algorithm and hashes with it. The hash of a whole image file (`disc.image_sha256`) is our
//! own record of that file and is always SHA-256.
//!
//! ```
//! use odarchive::hash::{ContentHash, HashAlgorithm};
//!
//! let alg = HashAlgorithm::from_name("sha512").unwrap();
//! let mut hasher = alg.hasher();
//! hasher.update(b"abc");
//! let hash = hasher.finish();
//! assert_eq!(hash.as_bytes().len(), 64);
//! assert!(hash.to_string().starts_with("ddaf35a193617aba"));
//! assert_eq!(ContentHash::from_bytes(hash.as_bytes()), Some(hash));
//! assert_eq!(alg.sums_file_name(), "SHA512SUMS");
//! ```

use std::cmp::Ordering;
use std::convert::Infallible;
use std::fmt;
use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;
use std::str::FromStr;

use discfs::feed::Feed;
use sha2::{Digest, Sha256, Sha512};

/// The algorithm a catalogue hashes file contents with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashAlgorithm {
    /// SHA-256: 32-byte hashes; what new catalogues use.
    Sha256,
    /// SHA-512: 64-byte hashes; what the original odarchive's catalogues use.
    Sha512,
}

impl HashAlgorithm {
    /// Every algorithm this build knows.
    pub const ALL: [HashAlgorithm; 2] = [HashAlgorithm::Sha256, HashAlgorithm::Sha512];

    /// The algorithm stored as `name` (`sha256`, `sha512`); `None` for any other name.
    pub fn from_name(name: &str) -> Option<Self> {
        HashAlgorithm::ALL.into_iter().find(|a| a.name() == name)
    }

    /// The name stored in the catalogue and its JSON: `sha256` or `sha512`.
    pub fn name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256",
            HashAlgorithm::Sha512 => "sha512",
        }
    }

    /// The name people read: `SHA-256` or `SHA-512`.
    pub fn display_name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "SHA-256",
            HashAlgorithm::Sha512 => "SHA-512",
        }
    }

    /// Bytes of a hash: 32 or 64.
    #[allow(clippy::len_without_is_empty)] // a hash is never empty
    pub fn len(self) -> usize {
        match self {
            HashAlgorithm::Sha256 => 32,
            HashAlgorithm::Sha512 => 64,
        }
    }

    /// A new hasher.
    pub fn hasher(self) -> ContentHasher {
        ContentHasher(match self {
            HashAlgorithm::Sha256 => Inner::Sha256(Sha256::new()),
            HashAlgorithm::Sha512 => Inner::Sha512(Sha512::new()),
        })
    }

    /// The hash of `bytes`.
    pub fn digest(self, bytes: &[u8]) -> ContentHash {
        let mut h = self.hasher();
        h.update(bytes);
        h.finish()
    }

    /// The checksum file at a disc's root: `SHA256SUMS` or `SHA512SUMS`.
    pub fn sums_file_name(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "SHA256SUMS",
            HashAlgorithm::Sha512 => "SHA512SUMS",
        }
    }

    /// The command that checks that file: `sha256sum` or `sha512sum` (GNU coreutils).
    pub fn sums_command(self) -> &'static str {
        match self {
            HashAlgorithm::Sha256 => "sha256sum",
            HashAlgorithm::Sha512 => "sha512sum",
        }
    }
}

impl serde::Serialize for HashAlgorithm {
    /// As its stored name, `sha256` or `sha512`.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.name())
    }
}

impl fmt::Display for HashAlgorithm {
    /// The stored name, `sha256` or `sha512`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// Hashes bytes fed in pieces with one [`HashAlgorithm`]. Also a [`Write`] that only hashes.
#[derive(Clone)]
pub struct ContentHasher(Inner);

#[derive(Clone)]
enum Inner {
    Sha256(Sha256),
    Sha512(Sha512),
}

impl ContentHasher {
    /// Feeds `data`.
    pub fn update(&mut self, data: &[u8]) {
        match &mut self.0 {
            Inner::Sha256(h) => h.update(data),
            Inner::Sha512(h) => h.update(data),
        }
    }

    /// The hash of everything fed.
    pub fn finish(self) -> ContentHash {
        match self.0 {
            Inner::Sha256(h) => ContentHash::from(<[u8; 32]>::from(h.finalize())),
            Inner::Sha512(h) => ContentHash::from(<[u8; 64]>::from(h.finalize())),
        }
    }

    /// Its algorithm.
    pub fn algorithm(&self) -> HashAlgorithm {
        match self.0 {
            Inner::Sha256(_) => HashAlgorithm::Sha256,
            Inner::Sha512(_) => HashAlgorithm::Sha512,
        }
    }
}

impl fmt::Debug for ContentHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHasher({})", self.algorithm())
    }
}

impl Write for ContentHasher {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.update(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// A [`Write`] that hashes every byte it passes on to `inner`: a disc image hashed as it is
/// written, a restored file hashed on its way to the disk.
#[derive(Debug)]
pub struct HashingWriter<W> {
    inner: W,
    hasher: ContentHasher,
}

impl<W: Write> HashingWriter<W> {
    /// Writes to `inner`, hashing with `algorithm`.
    pub fn new(inner: W, algorithm: HashAlgorithm) -> HashingWriter<W> {
        HashingWriter {
            inner,
            hasher: algorithm.hasher(),
        }
    }

    /// The writer it writes to.
    pub fn get_mut(&mut self) -> &mut W {
        &mut self.inner
    }

    /// The hash of every byte written, and the writer.
    pub fn finish(self) -> (ContentHash, W) {
        (self.hasher.finish(), self.inner)
    }
}

impl<W: Write> Write for HashingWriter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A [`Write`] that passes every byte on to `inner` and hashes it on a thread of its own:
/// what a disc image costs its writer is a copy, not the hash. Bytes go to `inner` in runs of
/// 1 MiB (and at each flush), each run hashed after it is written (a [`Feed`] to the hashing
/// thread). [`HashedBeside::finish`] gives the hash of every byte written.
pub struct HashedBeside<W> {
    inner: W,
    feed: Feed<'static, ContentHasher, Infallible>,
}

impl<W: Write> HashedBeside<W> {
    /// Writes to `inner`, hashing with `algorithm` on a new thread.
    pub fn new(inner: W, algorithm: HashAlgorithm) -> HashedBeside<W> {
        let feed = Feed::spawn(algorithm.hasher(), |hasher: &mut ContentHasher, run| {
            hasher.update(run);
            Ok(())
        });
        HashedBeside { inner, feed }
    }

    /// Writes the run filled so far to `inner` and hands it to the hashing thread.
    fn hand_off(&mut self) -> io::Result<()> {
        self.inner.write_all(self.feed.pending())?;
        self.feed.hand_off().map_err(|_| hashing_ended())
    }

    /// Writes what is left, waits for the hash of every byte written, and gives back `inner`
    /// (not flushed).
    pub fn finish(mut self) -> io::Result<(ContentHash, W)> {
        self.hand_off()?;
        let hasher = self.feed.finish().map_err(|_| hashing_ended())?;
        Ok((hasher.finish(), self.inner))
    }
}

fn hashing_ended() -> io::Error {
    io::Error::other("the hashing thread ended early")
}

impl<W: Write> Write for HashedBeside<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.feed.fill(buf);
        if self.feed.is_full() {
            self.hand_off()?;
        }
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.hand_off()?;
        self.inner.flush()
    }
}

impl<W> fmt::Debug for HashedBeside<W> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashedBeside")
            .field("pending", &self.feed.pending().len())
            .finish_non_exhaustive()
    }
}

/// A content hash of either length (32 or 64 bytes), owned and `Copy`.
///
/// Stored inline — a `[u8; 64]` and a length, 65 bytes, no heap — rather than as a
/// `Box<[u8]>`: the planner holds one per content (millions for a large drive), and a boxed
/// hash costs a 16-byte pointer plus an allocation of 32 or 64 bytes with the allocator's own
/// overhead (about as much as the inline form for SHA-256, more for SHA-512), one
/// `malloc`/`free` per hash, and a pointer chase on every comparison.
#[derive(Clone, Copy)]
pub struct ContentHash {
    bytes: [u8; 64],
    len: u8,
}

impl ContentHash {
    /// The hash bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// A hash from its bytes; `None` unless there are 32 or 64 of them.
    pub fn from_bytes(bytes: &[u8]) -> Option<ContentHash> {
        if bytes.len() != 32 && bytes.len() != 64 {
            return None;
        }
        let mut out = ContentHash {
            bytes: [0; 64],
            len: bytes.len() as u8,
        };
        out.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(out)
    }

    /// A hash from its hex (either case); `None` unless it is 64 or 128 hex digits.
    pub fn from_hex(text: &str) -> Option<ContentHash> {
        ContentHash::from_bytes(&crate::unhex(text)?)
    }

    /// Bytes of the hash: 32 or 64.
    #[allow(clippy::len_without_is_empty)] // a hash is never empty
    pub fn len(&self) -> usize {
        usize::from(self.len)
    }
}

impl From<[u8; 32]> for ContentHash {
    fn from(bytes: [u8; 32]) -> Self {
        let mut out = ContentHash {
            bytes: [0; 64],
            len: 32,
        };
        out.bytes[..32].copy_from_slice(&bytes);
        out
    }
}

impl From<[u8; 64]> for ContentHash {
    fn from(bytes: [u8; 64]) -> Self {
        ContentHash { bytes, len: 64 }
    }
}

impl PartialEq for ContentHash {
    fn eq(&self, other: &Self) -> bool {
        self.as_bytes() == other.as_bytes()
    }
}

impl Eq for ContentHash {}

impl PartialOrd for ContentHash {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for ContentHash {
    /// By bytes, as SQLite orders the `content.hash` blobs.
    fn cmp(&self, other: &Self) -> Ordering {
        self.as_bytes().cmp(other.as_bytes())
    }
}

impl std::hash::Hash for ContentHash {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.as_bytes().hash(state);
    }
}

impl fmt::Display for ContentHash {
    /// Lower-case hex.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        crate::hex_to(f, self.as_bytes())
    }
}

impl fmt::Debug for ContentHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ContentHash({self})")
    }
}

/// Why a text is not a [`ContentHash`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("not a hash: {0:?} (64 or 128 hex digits expected)")]
pub struct BadHash(pub String);

impl FromStr for ContentHash {
    type Err = BadHash;
    fn from_str(s: &str) -> Result<Self, BadHash> {
        ContentHash::from_hex(s).ok_or_else(|| BadHash(s.to_owned()))
    }
}

impl serde::Serialize for ContentHash {
    /// As lower-case hex.
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for ContentHash {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// The hash of a whole file with `alg`, read in 1 MiB pieces.
pub fn hash_file(alg: HashAlgorithm, path: &Path) -> io::Result<ContentHash> {
    hash_reader(alg, File::open(path)?).map(|(hash, _)| hash)
}

/// The hash of everything `reader` gives, and how many bytes that was.
pub fn hash_reader(alg: HashAlgorithm, reader: impl Read) -> io::Result<(ContentHash, u64)> {
    hash_reader_with(alg, reader, &mut vec![0u8; 1 << 20])
}

/// [`hash_reader`] with the caller's buffer, for a caller that hashes many files (a scan's
/// hash worker keeps one for all of them). `buf` must not be empty.
pub fn hash_reader_with(
    alg: HashAlgorithm,
    mut reader: impl Read,
    buf: &mut [u8],
) -> io::Result<(ContentHash, u64)> {
    let mut hasher = alg.hasher();
    let mut total = 0u64;
    loop {
        match reader.read(buf) {
            Ok(0) => return Ok((hasher.finish(), total)),
            Ok(n) => {
                hasher.update(&buf[..n]);
                total += n as u64;
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Bytes a [`HashedBeside`] hands to its hashing thread at a time.
    const BESIDE_CHUNK: usize = discfs::feed::RUN;
    const SHA256_EMPTY: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
    const SHA512_EMPTY: &str = "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce\
                                47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e";
    const SHA256_ABC: &str = "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad";
    const SHA512_ABC: &str = "ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a\
                              2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f";

    #[test]
    fn hashed_beside_writes_and_hashes_every_byte_in_order() {
        // Odd sizes across the 1 MiB runs, a flush in the middle, and an empty image.
        let data = testkit::noise(5, 5 * BESIDE_CHUNK + 12_345);
        let mut w = HashedBeside::new(Vec::new(), HashAlgorithm::Sha256);
        let mut at = 0;
        for (i, size) in [1, 4095, BESIDE_CHUNK + 7, 3, 2 * BESIDE_CHUNK]
            .iter()
            .enumerate()
        {
            w.write_all(&data[at..at + size]).unwrap();
            at += size;
            if i == 2 {
                w.flush().unwrap();
            }
        }
        w.write_all(&data[at..]).unwrap();
        let (hash, out) = w.finish().unwrap();
        assert!(out == data, "every byte passed on, in order");
        assert_eq!(hash, HashAlgorithm::Sha256.digest(&data));
        let (empty, out) = HashedBeside::new(Vec::new(), HashAlgorithm::Sha512)
            .finish()
            .unwrap();
        assert!(out.is_empty());
        assert_eq!(empty.to_string(), SHA512_EMPTY);
    }

    #[test]
    fn known_vectors() {
        for (alg, input, want) in [
            (HashAlgorithm::Sha256, &b""[..], SHA256_EMPTY),
            (HashAlgorithm::Sha512, b"", SHA512_EMPTY),
            (HashAlgorithm::Sha256, b"abc", SHA256_ABC),
            (HashAlgorithm::Sha512, b"abc", SHA512_ABC),
        ] {
            let got = alg.digest(input);
            assert_eq!(got.to_string(), want, "{alg} of {input:?}");
            assert_eq!(got.len(), alg.len());
            assert_eq!(got.as_bytes().len(), alg.len());
        }
    }

    #[test]
    fn pieces_hash_like_the_whole() {
        for alg in HashAlgorithm::ALL {
            let mut h = alg.hasher();
            h.update(b"a");
            h.write_all(b"b").unwrap();
            h.update(b"c");
            assert_eq!(h.algorithm(), alg);
            assert_eq!(h.finish(), alg.digest(b"abc"));
        }
    }

    #[test]
    fn names_round_trip_and_unknown_names_are_refused() {
        for alg in HashAlgorithm::ALL {
            assert_eq!(HashAlgorithm::from_name(alg.name()), Some(alg));
        }
        assert_eq!(
            HashAlgorithm::from_name("sha512"),
            Some(HashAlgorithm::Sha512)
        );
        assert_eq!(HashAlgorithm::from_name("SHA256"), None);
        assert_eq!(HashAlgorithm::from_name("md5"), None);
        assert_eq!(HashAlgorithm::Sha256.sums_file_name(), "SHA256SUMS");
        assert_eq!(HashAlgorithm::Sha512.sums_file_name(), "SHA512SUMS");
        assert_eq!(HashAlgorithm::Sha512.len(), 64);
    }

    #[test]
    fn from_bytes_takes_32_or_64_bytes_only() {
        assert!(ContentHash::from_bytes(&[1; 32]).is_some());
        assert!(ContentHash::from_bytes(&[1; 64]).is_some());
        for n in [0, 1, 31, 33, 48, 63, 65, 128] {
            assert!(ContentHash::from_bytes(&vec![1; n]).is_none(), "{n} bytes");
        }
        let h = ContentHash::from_bytes(&[7; 32]).unwrap();
        assert_eq!(h.as_bytes(), &[7; 32]);
        assert_eq!(h, ContentHash::from([7; 32]));
    }

    #[test]
    fn equality_and_order_follow_the_bytes() {
        let short = ContentHash::from([1; 32]);
        let mut long = [1; 64];
        long[63] = 0;
        let long = ContentHash::from(long);
        assert_ne!(short, long);
        // A prefix sorts first, as SQLite sorts blobs.
        assert!(short < long);
        assert!(ContentHash::from([0; 64]) < short);
        let set: std::collections::HashSet<ContentHash> = [short, long, short].into();
        assert_eq!(set.len(), 2);
    }

    #[test]
    fn hex_and_serde_round_trip() {
        let h = HashAlgorithm::Sha512.digest(b"abc");
        assert_eq!(h.to_string().parse::<ContentHash>().unwrap(), h);
        assert_eq!(
            SHA256_ABC.to_uppercase().parse::<ContentHash>().unwrap(),
            HashAlgorithm::Sha256.digest(b"abc")
        );
        assert!("abcd".parse::<ContentHash>().is_err());
        let json = serde_json::to_string(&h).unwrap();
        assert_eq!(json, format!("\"{SHA512_ABC}\""));
        assert_eq!(serde_json::from_str::<ContentHash>(&json).unwrap(), h);
    }

    #[test]
    fn a_hashing_writer_hashes_what_it_passes_on() {
        let mut w = HashingWriter::new(Vec::new(), HashAlgorithm::Sha256);
        w.write_all(b"a").unwrap();
        w.write_all(b"bc").unwrap();
        let (hash, bytes) = w.finish();
        assert_eq!(bytes, b"abc");
        assert_eq!(hash.to_string(), SHA256_ABC);
    }

    #[test]
    fn hash_file_reads_the_whole_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("f");
        let data: Vec<u8> = (0..(3 << 20) + 5).map(|i| (i % 251) as u8).collect();
        std::fs::write(&path, &data).unwrap();
        for alg in HashAlgorithm::ALL {
            assert_eq!(hash_file(alg, &path).unwrap(), alg.digest(&data));
        }
        let want: [u8; 64] = Sha512::digest(&data).into();
        assert_eq!(
            hash_file(HashAlgorithm::Sha512, &path).unwrap().as_bytes(),
            want
        );
    }
}
