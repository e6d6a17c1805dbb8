//! A disc given back to odarchive: an image file or a mounted disc, read the same way.
//!
//! Images are read directly (no mount needed) through discfs: the UDF view first; when it is
//! damaged, the ISO 9660 view, with the catalogue's ISO 9660 paths standing in for the lost
//! long names. A mounted disc is a directory whose files are read with the standard library.
//! Verify and restore use only this type to get at a disc's files.

use std::collections::HashMap;
use std::fs::File;
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};

use discfs::ReadError;
use discfs::iso9660::{IsoEntry, IsoImage};
use discfs::udf::read::{UdfEntry, UdfVolume};

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

/// Which view of an image the files come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum View {
    /// The UDF file system: full names.
    Udf,
    /// The ISO 9660 file system: mapped names, found through the catalogue's ISO paths.
    Iso9660,
    /// A mounted disc read through the operating system.
    Mounted,
}

/// An opened disc.
#[derive(Debug)]
pub struct DiscSource {
    origin: PathBuf,
    kind: Kind,
}

#[derive(Debug)]
enum Kind {
    Image(Box<ImageDisc>),
    Mounted,
}

#[derive(Debug)]
struct ImageDisc {
    udf: Option<UdfVolume<BufReader<File>>>,
    iso: Option<IsoImage<BufReader<File>>>,
    /// Why the UDF view is not used, when it is not.
    udf_problem: Option<String>,
    udf_files: Option<HashMap<String, UdfEntry>>,
    iso_files: Option<HashMap<String, IsoEntry>>,
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
        let open = || -> Result<BufReader<File>, DiscError> {
            File::open(path)
                .map(|f| BufReader::with_capacity(64 * 1024, f))
                .map_err(|source| DiscError::Open {
                    path: path.to_owned(),
                    source,
                })
        };
        let (udf, udf_problem) = match UdfVolume::open(open()?) {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(e.to_string())),
        };
        let (iso, iso_problem) = match IsoImage::open(open()?) {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(e.to_string())),
        };
        if udf.is_none() && iso.is_none() {
            return Err(DiscError::NotADisc {
                path: path.to_owned(),
                udf: udf_problem.unwrap_or_default(),
                iso: iso_problem.unwrap_or_default(),
            });
        }
        let image = ImageDisc {
            udf,
            iso,
            udf_problem,
            udf_files: None,
            iso_files: None,
        };
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

    /// Reads the image through its ISO 9660 view only, as if the UDF view were damaged.
    pub fn use_iso9660_only(&mut self) {
        if let Kind::Image(i) = &mut self.kind {
            if i.iso.is_some() {
                i.udf = None;
                i.udf_files = None;
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
            Kind::Mounted => list_mounted(&origin),
            Kind::Image(i) => {
                if i.udf.is_some() {
                    let files = i.udf_index(&origin)?;
                    Ok(files.iter().map(|(p, e)| (p.clone(), e.size)).collect())
                } else {
                    let files = i.iso_index(&origin)?;
                    Ok(files.iter().map(|(p, e)| (p.clone(), e.size)).collect())
                }
            }
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
        let mut out = Vec::new();
        match self.copy_file(name, Some(iso_name), &mut out) {
            Ok(_) => Ok(Some(out)),
            Err(DiscError::Missing { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Copies the file at `path` (UDF or mounted path under the disc root) into `w`;
    /// `iso_path` is the same file's ISO 9660 path, used when the UDF view is damaged.
    /// Returns the bytes copied.
    pub fn copy_file(
        &mut self,
        path: &str,
        iso_path: Option<&str>,
        w: &mut dyn Write,
    ) -> Result<u64, DiscError> {
        let origin = self.origin.clone();
        let read_err = |reason: String| DiscError::Read {
            disc: origin.clone(),
            file: path.to_owned(),
            reason,
        };
        let missing = || DiscError::Missing {
            disc: origin.clone(),
            file: path.to_owned(),
        };
        match &mut self.kind {
            Kind::Mounted => {
                let full = origin.join(path);
                let mut f = match File::open(&full) {
                    Ok(f) => f,
                    Err(e) if e.kind() == io::ErrorKind::NotFound => return Err(missing()),
                    Err(e) => return Err(read_err(e.to_string())),
                };
                copy_stream(&mut f, w, &origin, path)
            }
            Kind::Image(image) => {
                if image.udf.is_some() {
                    let entry = image
                        .udf_index(&origin)?
                        .get(path)
                        .cloned()
                        .ok_or_else(missing)?;
                    let udf = image.udf.as_mut().expect("checked above");
                    let mut sink = CountingSink {
                        inner: w,
                        failed: None,
                    };
                    match udf.copy_to(&entry, &mut sink) {
                        Ok(n) => Ok(n),
                        Err(_) if sink.failed.is_some() => {
                            Err(output_err(&origin, path, sink.failed.take()))
                        }
                        Err(e) => Err(read_err(e.to_string())),
                    }
                } else {
                    let iso_path = iso_path.ok_or_else(missing)?;
                    let entry = image
                        .iso_index(&origin)?
                        .get(iso_path)
                        .cloned()
                        .ok_or_else(missing)?;
                    let iso = image.iso.as_mut().expect("an image has one view at least");
                    let mut sink = CountingSink {
                        inner: w,
                        failed: None,
                    };
                    match iso.copy_to(&entry, &mut sink) {
                        Ok(n) => Ok(n),
                        Err(_) if sink.failed.is_some() => {
                            Err(output_err(&origin, path, sink.failed.take()))
                        }
                        Err(e) => Err(read_err(e.to_string())),
                    }
                }
            }
        }
    }
}

impl ImageDisc {
    fn udf_index(&mut self, origin: &Path) -> Result<&HashMap<String, UdfEntry>, DiscError> {
        if self.udf_files.is_none() {
            let udf = self.udf.as_mut().expect("only called with a UDF view");
            let walked = udf.walk().map_err(|e| walk_err(origin, "UDF", e))?;
            self.udf_files = Some(walked.into_iter().filter(|(_, e)| !e.is_dir).collect());
        }
        Ok(self.udf_files.as_ref().expect("filled above"))
    }

    fn iso_index(&mut self, origin: &Path) -> Result<&HashMap<String, IsoEntry>, DiscError> {
        if self.iso_files.is_none() {
            let iso = self.iso.as_mut().expect("only called with an ISO view");
            let walked = iso.walk().map_err(|e| walk_err(origin, "ISO 9660", e))?;
            self.iso_files = Some(walked.into_iter().filter(|(_, e)| !e.is_dir).collect());
        }
        Ok(self.iso_files.as_ref().expect("filled above"))
    }
}

fn walk_err(origin: &Path, view: &str, e: ReadError) -> DiscError {
    DiscError::Read {
        disc: origin.to_owned(),
        file: format!("({view} directories)"),
        reason: e.to_string(),
    }
}

fn output_err(origin: &Path, path: &str, e: Option<io::Error>) -> DiscError {
    DiscError::Output {
        disc: origin.to_owned(),
        file: path.to_owned(),
        source: e.unwrap_or_else(|| io::Error::other("output failed")),
    }
}

/// Passes writes on and remembers a failure, so that a full destination is told apart from
/// a damaged disc.
struct CountingSink<'a> {
    inner: &'a mut dyn Write,
    failed: Option<io::Error>,
}

impl Write for CountingSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.inner.write(buf).inspect_err(|e| {
            self.failed = Some(io::Error::new(e.kind(), e.to_string()));
        })
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

fn copy_stream(
    r: &mut dyn Read,
    w: &mut dyn Write,
    origin: &Path,
    path: &str,
) -> Result<u64, DiscError> {
    let mut buf = vec![0u8; 1 << 20];
    let mut total = 0u64;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(DiscError::Read {
                    disc: origin.to_owned(),
                    file: path.to_owned(),
                    reason: e.to_string(),
                });
            }
        };
        w.write_all(&buf[..n])
            .map_err(|e| output_err(origin, path, Some(e)))?;
        total += n as u64;
    }
}

fn list_mounted(root: &Path) -> Result<Vec<(String, u64)>, DiscError> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| DiscError::Read {
            disc: root.to_owned(),
            file: prefix.clone(),
            reason: e.to_string(),
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| DiscError::Read {
                disc: root.to_owned(),
                file: prefix.clone(),
                reason: e.to_string(),
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let meta = entry.metadata().map_err(|e| DiscError::Read {
                disc: root.to_owned(),
                file: path.clone(),
                reason: e.to_string(),
            })?;
            if meta.is_dir() {
                stack.push((entry.path(), path));
            } else if meta.is_file() {
                out.push((path, meta.len()));
            }
        }
    }
    out.sort();
    Ok(out)
}
