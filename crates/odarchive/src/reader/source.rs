//! A disc given back to odarchive: an image file or a mounted disc, read the same way.
//!
//! Images are read directly (no mount needed) through discfs: the UDF view first, and file by
//! file the ISO 9660 view where UDF cannot give a file back — its volume, its directory or
//! its file entry damaged (bad tag, checksum, size or extent) — with the catalogue's ISO
//! 9660 paths standing in for the long names. Where the two views point at different data,
//! the bytes that match the catalogue's hash are the ones given. A file is lost only when
//! both views fail; what was damaged is kept ([`DiscSource::damage`]). A mounted disc is a
//! directory whose files are read with the standard library. Verify and restore use only this
//! type to get at a disc's files, and check every file's hash themselves.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use discfs::iso9660::IsoImage;
use discfs::udf::read::UdfVolume;

use super::image::ImageDisc;
use super::read_ahead::ReadAhead;

use serde::Serialize;

use crate::catalogue::Placement;
use crate::hash::{ContentHash, HashAlgorithm};
use crate::problem::{Problem, ProblemKind};

/// What a file read from a disc must be, by the catalogue: when the views disagree about a
/// file, this decides which one holds it.
#[derive(Debug, Clone, Copy)]
pub struct Expected {
    /// Its length in bytes.
    pub length: u64,
    /// Its hash.
    pub hash: ContentHash,
    /// The algorithm of `hash`.
    pub algorithm: HashAlgorithm,
}

impl Expected {
    /// What the file of placement `p` must be, hashed with the catalogue's `algorithm`.
    pub fn of(p: &Placement, algorithm: HashAlgorithm) -> Expected {
        Expected {
            length: p.length,
            hash: p.stored_hash(),
            algorithm,
        }
    }
}

/// Why a folder given is not used, in words.
const NOT_A_DISC_FOLDER: &str = "neither a mounted disc (no README.md, catalogue or Data folder \
     at its root) nor a folder of disc images (no *.iso file in it)";

/// What can go wrong reading a disc.
#[derive(Debug, thiserror::Error)]
pub enum DiscError {
    /// The path does not exist or cannot be opened.
    #[error("{}: {source}", path.display())]
    Open {
        /// The image or mount point.
        path: PathBuf,
        /// Why.
        source: io::Error,
    },
    /// Neither view could be read: not a disc image, or one damaged beyond use.
    #[error("{}: not a readable disc image (UDF: {udf}; ISO 9660: {iso})", path.display())]
    NotADisc {
        /// The image.
        path: PathBuf,
        /// Why the UDF view failed.
        udf: String,
        /// Why the ISO 9660 view failed.
        iso: String,
    },
    /// A folder given is neither a mounted disc (no disc root files in it) nor a folder of
    /// images (no `*.iso` in it).
    #[error("{}: {}", path.display(), NOT_A_DISC_FOLDER)]
    NotADiscFolder {
        /// The folder.
        path: PathBuf,
    },
    /// A file the catalogue places on this disc is not on it.
    #[error("{}: {file} is not on this disc", disc.display())]
    Missing {
        /// The image or mount point.
        disc: PathBuf,
        /// The path on the disc.
        file: String,
    },
    /// Reading a file failed (damaged or truncated image, unreadable disc).
    #[error("{}: reading {file}: {reason}", disc.display())]
    Read {
        /// The image or mount point.
        disc: PathBuf,
        /// The path on the disc.
        file: String,
        /// Why.
        reason: String,
    },
    /// Writing what was read failed (the destination, not the disc).
    #[error("writing {file} read from {}: {source}", disc.display())]
    Output {
        /// The image or mount point.
        disc: PathBuf,
        /// The path on the disc.
        file: String,
        /// Why.
        source: io::Error,
    },
}

impl From<&DiscError> for Problem {
    /// The problem a disc error is for the disc (or the file on it) it names; it prints as
    /// the error does.
    fn from(e: &DiscError) -> Problem {
        match e {
            DiscError::Open { path, source } => {
                Problem::new(path, ProblemKind::of_io(source), source.to_string())
            }
            DiscError::NotADisc { path, udf, iso } => Problem::new(
                path,
                ProblemKind::Damaged,
                format!("not a readable disc image (UDF: {udf}; ISO 9660: {iso})"),
            ),
            DiscError::NotADiscFolder { path } => {
                Problem::new(path, ProblemKind::Unexpected, NOT_A_DISC_FOLDER)
            }
            DiscError::Missing { disc, file } => Problem::new(
                disc,
                ProblemKind::Missing,
                format!("{file} is not on this disc"),
            ),
            DiscError::Read { disc, file, reason } => Problem::new(
                disc,
                ProblemKind::Unreadable,
                format!("reading {file}: {reason}"),
            ),
            DiscError::Output { disc, file, source } => Problem::new(
                file,
                ProblemKind::Unwritable,
                format!("writing it, read from {}: {source}", disc.display()),
            ),
        }
    }
}

/// The size of the buffer a reader of many files passes to [`DiscSource::copy_file`]: large
/// enough that a disc is read in long runs, allocated once per job rather than per file.
pub const COPY_BUFFER: usize = 1 << 20;

/// Which view of an image the files come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum View {
    /// The UDF file system: full names.
    Udf,
    /// The ISO 9660 file system: mapped names, found through the catalogue's ISO paths.
    Iso9660,
    /// A mounted disc read through the operating system.
    Mounted,
}

impl View {
    /// Its name, as verify prints it and `--json` gives it: `udf`, `iso9660`, `mounted`.
    pub fn name(self) -> &'static str {
        match self {
            View::Udf => "udf",
            View::Iso9660 => "iso9660",
            View::Mounted => "mounted",
        }
    }
}

impl std::fmt::Display for View {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// An opened disc.
#[derive(Debug)]
pub struct DiscSource {
    origin: PathBuf,
    pub(super) kind: Kind,
}

#[derive(Debug)]
pub(super) enum Kind {
    Image(Box<ImageDisc>),
    Mounted,
}

impl DiscSource {
    /// Opens an image file or a mounted disc (a directory).
    pub fn open(path: &Path) -> Result<DiscSource, DiscError> {
        let meta = std::fs::metadata(path).map_err(|source| DiscError::Open {
            path: path.to_owned(),
            source,
        })?;
        if meta.is_dir() {
            return Ok(DiscSource {
                origin: path.to_owned(),
                kind: Kind::Mounted,
            });
        }
        // UDF, the view files are read through, reads ahead in long runs; ISO 9660 (its
        // directories, and files only where UDF cannot give them) in short ones.
        let open = |read_ahead: usize| -> Result<ReadAhead, DiscError> {
            File::open(path)
                .and_then(|f| ReadAhead::new(f, read_ahead))
                .map_err(|source| DiscError::Open {
                    path: path.to_owned(),
                    source,
                })
        };
        let udf = open(COPY_BUFFER)?;
        let len = udf.len();
        let udf = UdfVolume::open(udf);
        let iso = IsoImage::open(open(64 * 1024)?);
        let image = ImageDisc::new(len, udf, iso).map_err(|(udf, iso)| DiscError::NotADisc {
            path: path.to_owned(),
            udf,
            iso,
        })?;
        Ok(DiscSource {
            origin: path.to_owned(),
            kind: Kind::Image(Box::new(image)),
        })
    }

    /// The image file or mount point.
    pub fn origin(&self) -> &Path {
        &self.origin
    }

    /// The view files are read from: UDF unless it is damaged (then ISO 9660), or the mount.
    pub fn view(&self) -> View {
        match &self.kind {
            Kind::Mounted => View::Mounted,
            Kind::Image(i) if i.udf.is_some() => View::Udf,
            Kind::Image(_) => View::Iso9660,
        }
    }

    /// Why the UDF view of an image is not used, if it is not.
    pub fn udf_problem(&self) -> Option<&str> {
        match &self.kind {
            Kind::Image(i) => i.udf_problem.as_deref(),
            Kind::Mounted => None,
        }
    }

    /// [`DiscSource::open`], reading an image through its ISO 9660 view only when asked.
    pub fn open_with(path: &Path, iso9660_only: bool) -> Result<DiscSource, DiscError> {
        let mut source = DiscSource::open(path)?;
        if iso9660_only {
            source.use_iso9660_only();
        }
        Ok(source)
    }

    /// What was found damaged on the disc so far (its volume structures when opened, its
    /// directories once listed, its files once read), each with where and why; files that
    /// the other view gave back intact are still named here. Empty for an intact disc.
    ///
    /// Each is a [`ProblemKind::Damaged`] problem of the image (its path), its detail naming
    /// the structure (`UDF: …`, `ISO 9660: …`) or the file on the disc (`Data/a.jpg: …`).
    pub fn damage(&self) -> Vec<Problem> {
        match &self.kind {
            Kind::Image(i) => i
                .damage
                .iter()
                .map(|d| Problem::new(&self.origin, ProblemKind::Damaged, d.clone()))
                .collect(),
            Kind::Mounted => Vec::new(),
        }
    }

    /// Reads the image through its ISO 9660 view only, as if the UDF view were damaged.
    pub fn use_iso9660_only(&mut self) {
        if let Kind::Image(i) = &mut self.kind {
            if i.iso.is_some() {
                i.udf = None;
                i.udf_files = None;
                i.damage.retain(|d| !d.starts_with("UDF"));
                i.udf_problem
                    .get_or_insert_with(|| "not used (ISO 9660 view asked for)".into());
            }
        }
    }

    /// The volume identifier (label) of an image: ISO 9660's, else UDF's. `None` for a
    /// mounted disc (the catalogue on it says which disc it is).
    pub fn volume_label(&self) -> Option<String> {
        match &self.kind {
            Kind::Image(i) => i
                .iso
                .as_ref()
                .map(|iso| iso.volume().volume_id.trim_end().to_owned())
                .or_else(|| i.udf.as_ref().map(|u| u.volume_id().to_owned())),
            Kind::Mounted => None,
        }
    }

    /// Every file on the disc with its size, by path relative to the disc root (UDF or
    /// mounted names; ISO 9660 names when only that view is readable).
    pub fn files(&mut self) -> Result<Vec<(String, u64)>, DiscError> {
        let origin = self.origin.clone();
        match &mut self.kind {
            Kind::Mounted => super::mounted::list_mounted(&origin),
            Kind::Image(i) => i.files(&origin),
        }
    }

    /// The volume set identifiers of an image, UDF's then ISO 9660's (an odarchive disc
    /// names its set in them). Empty for a mounted disc.
    pub fn volume_set_ids(&self) -> Vec<String> {
        match &self.kind {
            Kind::Image(i) => i
                .udf
                .as_ref()
                .map(|u| u.volume_set_id().to_owned())
                .into_iter()
                .chain(
                    i.iso
                        .as_ref()
                        .map(|iso| iso.volume().volume_set_id.trim_end().to_owned()),
                )
                .collect(),
            Kind::Mounted => Vec::new(),
        }
    }

    /// Reads a file at the disc root (README.md, catalogue.json, SHA256SUMS); `None` if the
    /// disc has no such file. `iso_name` is its ISO 9660 name, used when only that view is
    /// readable.
    pub fn read_root_file(
        &mut self,
        name: &str,
        iso_name: &str,
    ) -> Result<Option<Vec<u8>>, DiscError> {
        // A file on an image cannot hold more bytes than the image: one that claims more
        // (unrecorded extents read as zeros) is refused before it fills memory.
        let limit = match &self.kind {
            Kind::Image(image) => image.len,
            Kind::Mounted => u64::MAX,
        };
        let mut out = CappedBytes {
            bytes: Vec::new(),
            limit,
            over: false,
        };
        let mut buf = vec![0u8; 64 * 1024];
        match self.copy_file(name, Some(iso_name), None, &mut out, &mut buf) {
            Ok(_) => Ok(Some(out.bytes)),
            Err(DiscError::Missing { .. }) => Ok(None),
            Err(DiscError::Output { disc, file, .. }) if out.over => Err(DiscError::Read {
                disc,
                file,
                reason: format!("claims more bytes than the whole image holds ({limit})"),
            }),
            Err(e) => Err(e),
        }
    }

    /// Opens a file at the disc root for reading as a stream, never held whole (the catalogue
    /// file, which grows with the archive); `None` if the disc has no such file. `iso_name`
    /// as for [`DiscSource::read_root_file`]. The bytes are not checked here: a gzipped file
    /// checks its own CRC-32, and the caller checks what it parses.
    pub fn open_root_file(
        &mut self,
        name: &str,
        iso_name: &str,
    ) -> Result<Option<RootFile>, DiscError> {
        let bytes = match self.file_bytes(name, Some(iso_name), None) {
            Ok(bytes) => bytes,
            Err(DiscError::Missing { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        let open = |path: &Path| {
            File::open(path).map_err(|e| DiscError::Read {
                disc: self.origin.clone(),
                file: name.to_owned(),
                reason: e.to_string(),
            })
        };
        let inner = match bytes {
            FileBytes::Image { image, runs } => RootInner::Runs {
                file: open(&image)?,
                runs: runs.into_iter().rev().collect(),
            },
            FileBytes::Mounted(path) => RootInner::File(open(&path)?),
            FileBytes::Embedded(bytes) => RootInner::Bytes(io::Cursor::new(bytes)),
        };
        Ok(Some(RootFile { inner }))
    }

    /// Copies the file at `path` (UDF or mounted path under the disc root) into `w`;
    /// `iso_path` is the same file's ISO 9660 path, read when UDF cannot give the file, and
    /// `expected` what the catalogue says it is (see [`Expected`]). The bytes pass through
    /// `buf`, the caller's, reused from file to file (see [`COPY_BUFFER`]; an empty one is
    /// replaced by a small one). Returns the bytes copied; the caller checks their hash.
    pub fn copy_file(
        &mut self,
        path: &str,
        iso_path: Option<&str>,
        expected: Option<Expected>,
        w: &mut dyn Write,
        buf: &mut [u8],
    ) -> Result<u64, DiscError> {
        let origin = self.origin.clone();
        match &mut self.kind {
            Kind::Mounted => {
                let full = origin.join(path);
                let mut f = match File::open(&full) {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => {
                        return Err(DiscError::Missing {
                            disc: origin,
                            file: path.to_owned(),
                        });
                    }
                    Err(e) => {
                        return Err(DiscError::Read {
                            disc: origin,
                            file: path.to_owned(),
                            reason: e.to_string(),
                        });
                    }
                };
                super::mounted::copy_stream(&mut f, w, &origin, path, buf)
            }
            Kind::Image(image) => image.copy_file(&origin, path, iso_path, expected, w, buf),
        }
    }

    /// Where the bytes of the file at `path` lie, for a reader that reads parts of it in any
    /// order (`odarchive mount`) rather than copying it whole: `iso_path` and `expected` as
    /// for [`DiscSource::copy_file`]. The first view fit to give the file is used; the
    /// caller checks the hash of what it reads.
    pub fn file_bytes(
        &mut self,
        path: &str,
        iso_path: Option<&str>,
        expected: Option<Expected>,
    ) -> Result<FileBytes, DiscError> {
        let origin = self.origin.clone();
        match &mut self.kind {
            Kind::Mounted => {
                let full = origin.join(path);
                match std::fs::symlink_metadata(&full) {
                    Ok(m) if m.is_file() => Ok(FileBytes::Mounted(full)),
                    Ok(_) => Err(DiscError::Missing {
                        disc: origin,
                        file: path.to_owned(),
                    }),
                    Err(e) if e.kind() == io::ErrorKind::NotFound => Err(DiscError::Missing {
                        disc: origin,
                        file: path.to_owned(),
                    }),
                    Err(e) => Err(DiscError::Read {
                        disc: origin,
                        file: path.to_owned(),
                        reason: e.to_string(),
                    }),
                }
            }
            Kind::Image(image) => image.file_bytes(&origin, path, iso_path, expected),
        }
    }
}

/// Where one file's bytes lie on a disc ([`DiscSource::file_bytes`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FileBytes {
    /// In the image file `image`, as (byte offset, length) runs in file order.
    Image {
        /// The image file.
        image: PathBuf,
        /// The runs.
        runs: Vec<(u64, u64)>,
    },
    /// The file of a mounted disc at this path.
    Mounted(PathBuf),
    /// Its bytes, which lie in no sector of their own (embedded in a UDF file entry).
    Embedded(Vec<u8>),
}

/// A file at a disc's root read as a stream ([`DiscSource::open_root_file`]).
#[derive(Debug)]
pub struct RootFile {
    inner: RootInner,
}

#[derive(Debug)]
enum RootInner {
    /// Runs of an image (or drive), as (byte offset, length), the next one last.
    Runs { file: File, runs: Vec<(u64, u64)> },
    /// A mounted disc's file.
    File(File),
    /// Bytes that lie in no sector of their own.
    Bytes(io::Cursor<Vec<u8>>),
}

impl io::Read for RootFile {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        use std::os::unix::fs::FileExt;
        match &mut self.inner {
            RootInner::Runs { file, runs } => loop {
                let Some((offset, left)) = runs.last_mut() else {
                    return Ok(0);
                };
                if *left == 0 {
                    runs.pop();
                    continue;
                }
                let want = buf.len().min(usize::try_from(*left).unwrap_or(usize::MAX));
                let n = file.read_at(&mut buf[..want], *offset)?;
                if n == 0 {
                    return Err(io::Error::new(
                        io::ErrorKind::UnexpectedEof,
                        format!("the image ends inside the file (at byte {offset})"),
                    ));
                }
                *offset += n as u64;
                *left -= n as u64;
                return Ok(n);
            },
            RootInner::File(f) => f.read(buf),
            RootInner::Bytes(c) => c.read(buf),
        }
    }
}

/// Bytes gathered in memory up to `limit`; a write past it fails.
struct CappedBytes {
    bytes: Vec<u8>,
    limit: u64,
    /// Whether a write went past `limit`.
    over: bool,
}

impl Write for CappedBytes {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        if self.bytes.len() as u64 + buf.len() as u64 > self.limit {
            self.over = true;
            return Err(io::Error::other("more bytes than the image holds"));
        }
        self.bytes.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

pub(super) fn output_err(origin: &Path, path: &str, e: Option<io::Error>) -> DiscError {
    DiscError::Output {
        disc: origin.to_owned(),
        file: path.to_owned(),
        source: e.unwrap_or_else(|| io::Error::other("output failed")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_comes_whole_through_any_buffer_the_caller_gives() {
        let disc = tempfile::tempdir().unwrap();
        let bytes: Vec<u8> = (0..100_003u32).map(|i| (i * 7 % 251) as u8).collect();
        std::fs::create_dir(disc.path().join("Data")).unwrap();
        std::fs::write(disc.path().join("Data/a.bin"), &bytes).unwrap();
        let mut source = DiscSource::open(disc.path()).unwrap();
        let mut reused = vec![0u8; 4096];
        for buf in [&mut reused[..], &mut [0u8; 7][..], &mut [][..]] {
            let mut out = Vec::new();
            let n = source
                .copy_file("Data/a.bin", None, None, &mut out, buf)
                .unwrap();
            assert_eq!(n, bytes.len() as u64);
            assert!(out == bytes, "{} bytes differ", out.len());
        }
        // The caller's buffer was used: it holds the file's last bytes.
        let tail = bytes.len() % 4096;
        assert_eq!(reused[..tail], bytes[bytes.len() - tail..]);
    }
}
