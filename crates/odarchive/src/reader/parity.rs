//! A file of an image (or a drive) rebuilt from the disc's own parity (`/Parity/PARITY.ODP`,
//! docs/parity.md) when its bytes do not come back right: where it lies (the catalogue's
//! extent, else the image's file systems), and its sectors rebuilt by discfs's
//! [`rebuild_sectors`], which reads only the windows of the code that hold them. A mounted
//! disc has no sectors to rebuild.

use std::fs::File;
use std::io::{self, Write};
use std::ops::Range;
use std::path::Path;

use discfs::SECTOR;
use discfs::parity::{BadSectors, Header, Rebuilt, SYSTEM_AREA_COPY, SectorRebuilder, header_at};

use super::image::ImageDisc;
use super::source::{DiscError, DiscSource, Expected, FileBytes, Kind};
use crate::disc::{PARITY_DIR, PARITY_NAME};
use crate::hash::HashingWriter;

/// Where a file lies on an image that carries parity: what [`DiscSource::rebuild_file`]
/// rebuilds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParityRead {
    header: Header,
    /// The file's runs as (first sector, bytes), in file order.
    runs: Vec<(u64, u64)>,
}

/// What a rebuild of one file gave: the sums of [`Rebuilt`] over its runs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileRebuilt {
    /// Sectors of the file.
    pub sectors: u64,
    /// Sectors of it taken from the parity instead of as read.
    pub rebuilt: u64,
    /// Sectors of it nothing could rebuild (given as zeros).
    pub lost: u64,
    /// Sectors of it given as read that nothing could confirm.
    pub unverified: u64,
}

impl DiscSource {
    /// Where the file at `path` (`iso_path` in ISO 9660) lies and the parity that protects
    /// it, for [`DiscSource::rebuild_file`]: `extent` is the catalogue's (first sector,
    /// length), else the image's file systems say. `None` when the disc cannot rebuild it: a
    /// mounted disc, an image without a readable parity header, a file in no sector of its own.
    pub fn parity_read(
        &mut self,
        path: &str,
        iso_path: Option<&str>,
        extent: Option<(u64, u64)>,
    ) -> Option<ParityRead> {
        let origin = self.origin().to_owned();
        let Kind::Image(image) = &mut self.kind else {
            return None;
        };
        let header = parity_header(image, &origin)?;
        let runs = match extent {
            Some((sector, length)) => vec![(sector, length)],
            None => match image.file_bytes(&origin, path, iso_path, None).ok()? {
                FileBytes::Image { runs, .. } => {
                    runs.iter().map(|&(at, n)| (at / SECTOR, n)).collect()
                }
                FileBytes::Mounted(_) | FileBytes::Embedded(_) => return None,
            },
        };
        Some(ParityRead { header, runs })
    }

    /// Writes into `w` the bytes of the file `read` names, every sector of it rebuilt from
    /// the parity where the disc does not give it right (read errors and sectors failing
    /// their CRC are erasures). Sectors nothing rebuilds are written as zeros and counted:
    /// the caller checks the file's hash. The last window of the code read stays in memory
    /// for the next file. An error is the image failing to open, or `w`.
    pub fn rebuild_file(
        &mut self,
        path: &str,
        read: &ParityRead,
        w: &mut dyn Write,
    ) -> Result<FileRebuilt, DiscError> {
        let origin = self.origin().to_owned();
        let failed = |reason: String| DiscError::Read {
            disc: origin.clone(),
            file: path.to_owned(),
            reason: format!("rebuilding it from the disc's parity: {reason}"),
        };
        let Kind::Image(image) = &mut self.kind else {
            return Err(failed("a mounted disc has no sectors".into()));
        };
        let rebuilder = match &mut image.rebuilder {
            Some(r) if r.header() == &read.header => r,
            slot => {
                let file = File::open(&origin).map_err(|e| failed(e.to_string()))?;
                let made = SectorRebuilder::new(file, &NO_BAD_SECTORS, &read.header)
                    .map_err(|e| failed(e.to_string()))?;
                slot.insert(made)
            }
        };
        let mut total = FileRebuilt::default();
        for &(sector, length) in &read.runs {
            let sectors = sector..sector + length.div_ceil(SECTOR);
            let mut out = Limited {
                inner: w,
                left: length,
            };
            let got = rebuilder
                .rebuild(&[sectors], &mut out)
                .map_err(|e| failed(e.to_string()))?;
            total.add(&got);
        }
        Ok(total)
    }
}

/// An image read for a rebuild has no sectors known bad beforehand: read errors and CRCs
/// find them.
static NO_BAD_SECTORS: BadSectors = BadSectors::new();

impl DiscSource {
    /// Whether the disc's parity gives back the file at `path` (`iso_path`, `extent` as for
    /// [`DiscSource::parity_read`]) exactly as `expected`: what `restore` would do for a file
    /// the disc gives wrong. Reads only the stretches of the code that hold the file.
    pub fn parity_rebuilds(
        &mut self,
        path: &str,
        iso_path: Option<&str>,
        extent: Option<(u64, u64)>,
        expected: Expected,
    ) -> bool {
        let Some(read) = self.parity_read(path, iso_path, extent) else {
            return false;
        };
        let mut sink = HashingWriter::new(io::sink(), expected.algorithm);
        let rebuilt = self.rebuild_file(path, &read, &mut sink);
        let (hash, _) = sink.finish();
        let length: u64 = read.runs.iter().map(|&(_, n)| n).sum();
        rebuilt.is_ok() && length == expected.length && hash == expected.hash
    }
}

impl FileRebuilt {
    fn add(&mut self, r: &Rebuilt) {
        let count = |ranges: &[Range<u64>]| ranges.iter().map(|r| r.end - r.start).sum::<u64>();
        self.sectors += r.sectors;
        self.rebuilt += r.rebuilt;
        self.lost += count(&r.lost);
        self.unverified += count(&r.unverified);
    }
}

/// The image's parity header, looked up once: its system-area copy, else the first or last
/// sector of the parity file as the file systems place it. `None` for an image without one.
fn parity_header(image: &mut ImageDisc, origin: &Path) -> Option<Header> {
    if let Some(known) = image.parity {
        return known;
    }
    let mut candidates = vec![SYSTEM_AREA_COPY];
    let parity_path = format!("{PARITY_DIR}/{PARITY_NAME}");
    let iso_path = format!("{}/{PARITY_NAME}", PARITY_DIR.to_uppercase());
    if let Ok(FileBytes::Image { runs, .. }) =
        image.file_bytes(origin, &parity_path, Some(&iso_path), None)
    {
        if let (Some(first), Some(last)) = (runs.first(), runs.last()) {
            candidates.push(first.0 / SECTOR);
            candidates.push((last.0 + last.1).div_ceil(SECTOR).saturating_sub(1));
        }
    }
    let found = File::open(origin)
        .ok()
        .and_then(|f| header_at(f, &BadSectors::new(), &candidates))
        .map(|(h, _)| h);
    image.parity = Some(found);
    found
}

/// A writer that passes on the first `left` bytes and drops the rest (the end of a file's
/// last sector).
struct Limited<'w> {
    inner: &'w mut dyn Write,
    left: u64,
}

impl Write for Limited<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let keep = buf
            .len()
            .min(usize::try_from(self.left).unwrap_or(usize::MAX));
        self.inner.write_all(&buf[..keep])?;
        self.left -= keep as u64;
        Ok(buf.len())
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use std::io::Cursor;
    use std::sync::Arc;

    use discfs::{FileSource, NodeId, Timestamp, TreeBuilder, VolumeInfo};

    use super::*;

    /// An image with `Data/photo.bin` (`bytes`) and parity at 10 %, in a file of `dir`.
    fn protected_image(dir: &Path, bytes: &[u8]) -> std::path::PathBuf {
        let t = Timestamp::new(1_767_225_600, 0);
        let mut b = TreeBuilder::new(t);
        let data = b.dir(NodeId::ROOT, "Data", t).unwrap();
        let source = FileSource::Bytes(Arc::from(bytes));
        b.file(data, "photo.bin", t, bytes.len() as u64, source)
            .unwrap();
        let parity = b.dir(NodeId::ROOT, PARITY_DIR, t).unwrap();
        b.parity_file(parity, PARITY_NAME, t, 10).unwrap();
        let mut tree = b.build().unwrap();
        let layout = discfs::layout_with_parity(&mut tree, &VolumeInfo::default()).unwrap();
        let mut image = Vec::new();
        let mut spill = Cursor::new(Vec::new());
        discfs::write_protected_image(&tree, &layout, &mut image, &mut spill, &mut ()).unwrap();
        let path = dir.join("disc.iso");
        std::fs::write(&path, image).unwrap();
        path
    }

    #[test]
    fn without_the_catalogues_extent_the_file_systems_say_where_the_file_lies() {
        let dir = tempfile::tempdir().unwrap();
        let bytes = testkit::noise(3, 300_000);
        let path = protected_image(dir.path(), &bytes);
        let mut image = std::fs::read(&path).unwrap();
        let first = image
            .chunks(SECTOR as usize)
            .position(|s| s == &bytes[..SECTOR as usize])
            .unwrap();
        // A scratch of 20 sectors inside the file, zeroed.
        let at = (first + 3) * SECTOR as usize;
        image[at..at + 20 * SECTOR as usize].fill(0);
        std::fs::write(&path, &image).unwrap();

        let mut source = DiscSource::open(&path).unwrap();
        let found = source.parity_read("Data/photo.bin", Some("DATA/PHOTO.BIN"), None);
        let found = found.expect("an image with parity");
        let given = source.parity_read("Data/photo.bin", None, Some((first as u64, 300_000)));
        assert_eq!(Some(&found), given.as_ref(), "the same runs either way");
        let mut out = Vec::new();
        let rebuilt = source
            .rebuild_file("Data/photo.bin", &found, &mut out)
            .unwrap();
        assert!(
            out == bytes,
            "exact bytes, the last sector cut to the file's length"
        );
        assert_eq!((rebuilt.rebuilt, rebuilt.lost), (20, 0), "{rebuilt:?}");
        assert_eq!(rebuilt.sectors, 300_000u64.div_ceil(SECTOR));
    }

    #[test]
    fn a_mounted_disc_or_an_image_without_parity_has_nothing_to_rebuild_from() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("Data")).unwrap();
        std::fs::write(dir.path().join("Data/a"), b"a").unwrap();
        let mut mounted = DiscSource::open(dir.path()).unwrap();
        assert_eq!(mounted.parity_read("Data/a", None, Some((20, 1))), None);

        let bytes = testkit::noise(4, 10_000);
        let path = protected_image(dir.path(), &bytes);
        let mut image = std::fs::read(&path).unwrap();
        // Every copy of the header gone: sector 15 and the parity file's first and last.
        let mut source = DiscSource::open(&path).unwrap();
        let header = source
            .parity_read("Data/photo.bin", None, None)
            .unwrap()
            .header;
        for s in header.copies() {
            let at = s as usize * SECTOR as usize;
            image[at..at + SECTOR as usize].fill(0);
        }
        std::fs::write(&path, &image).unwrap();
        let mut source = DiscSource::open(&path).unwrap();
        assert_eq!(source.parity_read("Data/photo.bin", None, None), None);
    }
}
