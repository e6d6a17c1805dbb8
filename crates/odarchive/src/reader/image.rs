//! An image read through both its views: UDF first, file by file ISO 9660 where UDF cannot
//! give a file back, and the bytes matching the catalogue's hash where the views disagree.

use std::collections::{HashMap, HashSet};
use std::io::{self, Write};
use std::path::Path;

use discfs::iso9660::{IsoEntry, IsoImage};
use discfs::udf::read::{UdfEntry, UdfVolume};
use discfs::{ReadError, SECTOR};

use super::read_ahead::ReadAhead;
use super::source::{DiscError, Expected, FileBytes, output_err};

#[derive(Debug)]
pub(super) struct ImageDisc {
    /// The image's size in bytes (a block device's too).
    pub(super) len: u64,
    pub(super) udf: Option<UdfVolume<ReadAhead>>,
    pub(super) iso: Option<IsoImage<ReadAhead>>,
    /// Why the UDF view is not used, when it is not.
    pub(super) udf_problem: Option<String>,
    /// What was found damaged so far (and worked around where the other view could).
    pub(super) damage: Vec<String>,
    pub(super) udf_files: Option<HashMap<String, UdfEntry>>,
    /// Whether walking the UDF view lost entries: the listing then takes ISO 9660's too.
    pub(super) udf_lossy: bool,
    pub(super) iso_files: Option<HashMap<String, IsoEntry>>,
    /// The parity header, once looked up (`Some(None)`: the image has none).
    pub(super) parity: Option<Option<discfs::parity::Header>>,
    /// What rebuilds files from that parity, once one needed it (the last window read kept).
    pub(super) rebuilder: Option<discfs::parity::SectorRebuilder<'static, std::fs::File>>,
}

/// The view one file is read through.
enum Pick {
    Udf(UdfEntry),
    Iso(IsoEntry),
}

type Udf = UdfVolume<ReadAhead>;
type Iso = IsoImage<ReadAhead>;

impl ImageDisc {
    /// Both views as opened; `Err((udf, iso))` with why each failed when neither opened.
    /// A view that is present but damaged is noted as damage; one that is simply not there
    /// (an ISO 9660-only image from another writer) is not.
    pub(super) fn new(
        len: u64,
        udf: Result<Udf, ReadError>,
        iso: Result<Iso, ReadError>,
    ) -> Result<ImageDisc, (String, String)> {
        let (udf, udf_err) = match udf {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(e)),
        };
        let (iso, iso_err) = match iso {
            Ok(v) => (Some(v), None),
            Err(e) => (None, Some(e)),
        };
        if udf.is_none() && iso.is_none() {
            let text = |e: Option<ReadError>| e.map(|e| e.to_string()).unwrap_or_default();
            return Err((text(udf_err), text(iso_err)));
        }
        let mut damage: Vec<String> = Vec::new();
        if let Some(u) = &udf {
            damage.extend(u.damage().iter().map(|d| format!("UDF: {d}")));
        }
        if let Some(i) = &iso {
            damage.extend(i.damage().iter().map(|d| format!("ISO 9660: {d}")));
        }
        let present_but_damaged = |e: &ReadError| !matches!(e, ReadError::NotFound(_));
        if let Some(e) = udf_err.as_ref().filter(|e| present_but_damaged(e)) {
            damage.push(format!(
                "UDF view unreadable ({e}); files are read through ISO 9660"
            ));
        }
        if let Some(e) = iso_err.as_ref().filter(|e| present_but_damaged(e)) {
            damage.push(format!("ISO 9660 view unreadable: {e}"));
        }
        Ok(ImageDisc {
            len,
            udf,
            iso,
            udf_problem: udf_err.map(|e| e.to_string()),
            damage,
            udf_files: None,
            udf_lossy: false,
            iso_files: None,
            parity: None,
            rebuilder: None,
        })
    }

    pub(super) fn udf_index(&mut self) -> Option<&HashMap<String, UdfEntry>> {
        if self.udf_files.is_none() {
            let udf = self.udf.as_mut()?;
            let (walked, damage) = udf.walk_salvaging();
            self.udf_lossy = !damage.is_empty();
            self.damage.extend(damage);
            self.udf_files = Some(walked.into_iter().filter(|(_, e)| !e.is_dir).collect());
        }
        self.udf_files.as_ref()
    }

    pub(super) fn iso_index(&mut self) -> Option<&HashMap<String, IsoEntry>> {
        if self.iso_files.is_none() {
            let iso = self.iso.as_mut()?;
            let (walked, damage) = iso.walk_salvaging();
            self.damage.extend(damage);
            self.iso_files = Some(walked.into_iter().filter(|(_, e)| !e.is_dir).collect());
        }
        self.iso_files.as_ref()
    }

    /// Every file with its size: UDF's paths; where UDF lost some, also the ISO 9660 files
    /// whose data no UDF file holds (and every empty one), under their ISO 9660 paths.
    pub(super) fn files(&mut self, origin: &Path) -> Result<Vec<(String, u64)>, DiscError> {
        let mut out: Vec<(String, u64)> = Vec::new();
        let mut claimed = HashSet::new();
        if let Some(files) = self.udf_index() {
            out.extend(files.iter().map(|(p, e)| (p.clone(), e.size)));
        }
        if self.udf.is_some() && !self.udf_lossy {
            return Ok(out);
        }
        if let (Some(udf), Some(files)) = (&self.udf, &self.udf_files) {
            for e in files.values() {
                if let Some(&(sector, _)) = udf.data_runs(e).as_deref().and_then(<[_]>::first) {
                    claimed.insert((sector, e.size));
                }
            }
        }
        if self.iso_index().is_none() && self.udf.is_none() {
            return Err(walk_err(origin, "ISO 9660", "no ISO 9660 view".into()));
        }
        if let Some(files) = &self.iso_files {
            out.extend(
                files
                    .iter()
                    .filter(|(_, e)| {
                        let first = e.extents.first().map_or(0, |x| u64::from(x.0));
                        e.size == 0 || !claimed.contains(&(first, e.size))
                    })
                    .map(|(p, e)| (p.clone(), e.size)),
            );
        }
        out.sort();
        out.dedup();
        Ok(out)
    }

    /// Reads one file through the view that can give it (see [`DiscSource::copy_file`]).
    pub(super) fn copy_file(
        &mut self,
        origin: &Path,
        path: &str,
        iso_path: Option<&str>,
        expected: Option<Expected>,
        w: &mut dyn Write,
        buf: &mut [u8],
    ) -> Result<u64, DiscError> {
        let read_err = |reason: String| DiscError::Read {
            disc: origin.to_owned(),
            file: path.to_owned(),
            reason,
        };
        let mut candidates = self.candidates(path, iso_path, expected);
        if candidates.is_empty() {
            return Err(match self.unreadable_reason(path) {
                Some(reason) => read_err(reason),
                None => DiscError::Missing {
                    disc: origin.to_owned(),
                    file: path.to_owned(),
                },
            });
        }
        if candidates.len() == 2 && !self.same_data(&candidates[0], &candidates[1]) {
            if let Some(want) = expected {
                let matching = (0..2).find(|&i| self.holds(&candidates[i], &want, buf));
                let chosen = matching.unwrap_or(0);
                self.damage.push(format!(
                    "{path}: the UDF and ISO 9660 views point at different data; {}",
                    match matching {
                        Some(0) => "the UDF one matches its hash",
                        Some(_) => "the ISO 9660 one matches its hash and was read",
                        None => "neither matches its hash",
                    }
                ));
                candidates.swap(0, chosen);
            }
        }
        let mut last_err = None;
        for pick in &candidates {
            let mut sink = CountingSink {
                inner: w,
                failed: None,
                written: 0,
            };
            match self.copy_pick(pick, &mut sink, buf) {
                Ok(n) => return Ok(n),
                Err(_) if sink.failed.is_some() => {
                    return Err(output_err(origin, path, sink.failed.take()));
                }
                // Bytes already passed on cannot be taken back: the other view is tried
                // only when nothing was.
                Err(e) if sink.written > 0 => return Err(read_err(e.to_string())),
                Err(e) => last_err = Some(e),
            }
        }
        Err(read_err(
            last_err.map_or_else(String::new, |e| e.to_string()),
        ))
    }

    /// Where the bytes of one file lie in the image (see [`DiscSource::file_bytes`]): the
    /// first view that can give it, as byte runs of the image, or its bytes where they lie in
    /// no sector (embedded in a UDF file entry).
    pub(super) fn file_bytes(
        &mut self,
        origin: &Path,
        path: &str,
        iso_path: Option<&str>,
        expected: Option<Expected>,
    ) -> Result<FileBytes, DiscError> {
        let candidates = self.candidates(path, iso_path, expected);
        let Some(pick) = candidates.first() else {
            return Err(match self.unreadable_reason(path) {
                Some(reason) => DiscError::Read {
                    disc: origin.to_owned(),
                    file: path.to_owned(),
                    reason,
                },
                None => DiscError::Missing {
                    disc: origin.to_owned(),
                    file: path.to_owned(),
                },
            });
        };
        if let Some(runs) = self.runs(pick) {
            let runs = runs.iter().map(|&(s, n)| (s * SECTOR, n)).collect();
            return Ok(FileBytes::Image {
                image: origin.to_owned(),
                runs,
            });
        }
        // Bytes in no sector: embedded in the entry, or extents not recorded (zeros). An
        // entry may claim any length for those; none is given back that is longer than the
        // whole image, so a hostile disc cannot make this fill memory.
        let size = match pick {
            Pick::Udf(e) => e.size,
            Pick::Iso(e) => e.size,
        };
        if size > self.len {
            return Err(DiscError::Read {
                disc: origin.to_owned(),
                file: path.to_owned(),
                reason: format!(
                    "claims {size} bytes, more than the whole image holds ({})",
                    self.len
                ),
            });
        }
        let mut bytes = Vec::new();
        self.copy_pick(pick, &mut bytes, &mut [0u8; 8192])
            .map_err(|e| DiscError::Read {
                disc: origin.to_owned(),
                file: path.to_owned(),
                reason: e.to_string(),
            })?;
        Ok(FileBytes::Embedded(bytes))
    }

    /// The views' entries for a file that are fit to read (UDF first); each one passed over
    /// is noted as damage.
    fn candidates(
        &mut self,
        path: &str,
        iso_path: Option<&str>,
        expected: Option<Expected>,
    ) -> Vec<Pick> {
        let mut out = Vec::new();
        let udf_entry = match self.udf_files.is_none() && is_root_file(path) {
            // A file at the root (the disc's README, catalogue, checksums) is looked up in
            // the root directory alone: identifying a disc must not walk all its files.
            true => {
                let found = self.udf.as_mut().map(|u| u.lookup(path));
                found.and_then(|f| root_entry(f, |e| e.is_dir, path, "UDF", &mut self.damage))
            }
            false => self.udf_index().and_then(|f| f.get(path).cloned()),
        };
        if let (Some(entry), Some(udf)) = (udf_entry, &self.udf) {
            let sector = udf.entry_sector(&entry);
            let size_ok = expected.is_none_or(|x| x.length == entry.size);
            match udf.check_extents(&entry) {
                Err(e) => self.damage.push(format!("{path}: UDF file entry: {e}")),
                Ok(()) if !size_ok => self.damage.push(format!(
                    "{path}: UDF file entry at sector {sector} records {} bytes, the catalogue {}",
                    entry.size,
                    expected.map_or(0, |x| x.length)
                )),
                Ok(()) => out.push(Pick::Udf(entry)),
            }
        }
        let iso_entry = iso_path.and_then(|p| {
            if self.iso_files.is_none() && is_root_file(p) {
                let found = self.iso.as_mut()?.lookup(p);
                root_entry(found, |e| e.is_dir, p, "ISO 9660", &mut self.damage)
            } else {
                self.iso_index().and_then(|f| f.get(p).cloned())
            }
        });
        if let Some(entry) = iso_entry {
            if expected.is_none_or(|x| x.length == entry.size) {
                out.push(Pick::Iso(entry));
            } else if let Some(x) = expected {
                self.damage.push(format!(
                    "{}: ISO 9660 record says {} bytes, the catalogue {}",
                    iso_path.unwrap_or(path),
                    entry.size,
                    x.length
                ));
            }
        }
        out
    }

    /// Why a file neither view can give is unreadable rather than missing: some view lists
    /// it but is damaged there. `None` when no view lists it.
    fn unreadable_reason(&self, path: &str) -> Option<String> {
        let listed = self
            .udf_files
            .as_ref()
            .is_some_and(|f| f.contains_key(path));
        let noted: Vec<&str> = self
            .damage
            .iter()
            .filter(|d| d.contains(&format!("{path}:")))
            .map(String::as_str)
            .collect();
        (listed || !noted.is_empty()).then(|| noted.join("; "))
    }

    /// Whether both entries name the same sectors and length (the bridge shares the data).
    fn same_data(&self, a: &Pick, b: &Pick) -> bool {
        match (self.runs(a), self.runs(b)) {
            (Some(x), Some(y)) => x == y,
            // Data embedded in a UDF entry has no sectors to compare: UDF is trusted.
            _ => true,
        }
    }

    fn runs(&self, pick: &Pick) -> Option<Vec<(u64, u64)>> {
        match pick {
            Pick::Udf(e) => self.udf.as_ref()?.data_runs(e),
            Pick::Iso(e) => {
                let mut runs: Vec<(u64, u64)> = Vec::new();
                for &(sector, len) in e.extents.iter().filter(|x| x.1 > 0) {
                    let (sector, len) = (u64::from(sector), u64::from(len));
                    match runs.last_mut() {
                        Some((s, n)) if *s * SECTOR + *n == sector * SECTOR => *n += len,
                        _ => runs.push((sector, len)),
                    }
                }
                Some(runs)
            }
        }
    }

    /// Whether the entry's bytes have the expected hash (read without passing them on).
    fn holds(&mut self, pick: &Pick, want: &Expected, buf: &mut [u8]) -> bool {
        let mut hasher = want.algorithm.hasher();
        matches!(self.copy_pick(pick, &mut hasher, buf), Ok(n) if n == want.length)
            && hasher.finish() == want.hash
    }

    fn copy_pick(
        &mut self,
        pick: &Pick,
        w: &mut dyn Write,
        buf: &mut [u8],
    ) -> Result<u64, ReadError> {
        match pick {
            Pick::Udf(e) => match self.udf.as_mut() {
                Some(udf) => udf.copy_to_with(e, w, buf),
                None => Err(ReadError::NotFound("UDF")),
            },
            Pick::Iso(e) => match self.iso.as_mut() {
                Some(iso) => iso.copy_to_with(e, &mut WriteRef(w), buf),
                None => Err(ReadError::NotFound("ISO 9660")),
            },
        }
    }
}

/// A `&mut dyn Write` as a sized `Write`.
struct WriteRef<'a>(&'a mut dyn Write);

impl Write for WriteRef<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        self.0.write(buf)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.0.flush()
    }
}

fn walk_err(origin: &Path, view: &str, reason: String) -> DiscError {
    DiscError::Read {
        disc: origin.to_owned(),
        file: format!("({view} directories)"),
        reason,
    }
}

/// Passes writes on and remembers a failure, so that a full destination is told apart from
/// a damaged disc.
pub(super) struct CountingSink<'a> {
    pub(super) inner: &'a mut dyn Write,
    pub(super) failed: Option<io::Error>,
    /// Bytes passed on so far.
    pub(super) written: u64,
}

impl Write for CountingSink<'_> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self.inner.write(buf) {
            Ok(n) => {
                self.written += n as u64;
                Ok(n)
            }
            Err(e) => {
                self.failed = Some(io::Error::new(e.kind(), e.to_string()));
                Err(e)
            }
        }
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// A root file's entry as `view` looked it up in the root directory alone: none for a folder
/// or a name not there; a root directory that cannot be read is noted in `damage`, and the
/// file is then not given by that view.
fn root_entry<E>(
    found: Result<E, ReadError>,
    is_dir: impl Fn(&E) -> bool,
    name: &str,
    view: &str,
    damage: &mut Vec<String>,
) -> Option<E> {
    match found {
        Ok(e) if is_dir(&e) => None,
        Ok(e) => Some(e),
        Err(ReadError::NoSuchPath(_)) => None,
        Err(e) => {
            damage.push(format!("{name}: {view} root directory unreadable: {e}"));
            None
        }
    }
}

/// Whether `path` names a file at the disc root.
fn is_root_file(path: &str) -> bool {
    !path.is_empty() && !path.contains('/')
}
