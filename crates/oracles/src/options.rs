//! Which readers [`crate::check_all`] runs and how strictly it compares.

use std::fmt;
use std::path::PathBuf;

use crate::manifest::Manifest;

/// An independent reader that [`crate::check_all`] can run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Reader {
    /// `7z t`: the image tests clean and opens as UDF of the expected revision; physical
    /// size, file and folder counts and total bytes.
    SevenZipTest,
    /// `7z x -tudf`: the UDF view extracted; names, kinds, sizes, contents, mtimes.
    SevenZipUdf,
    /// `osirrox -extract`: the ISO 9660 view extracted; the content multiset, or the exact
    /// view with [`CheckOptions::iso_view`].
    Osirrox,
    /// `bsdtar -x` (libarchive): the ISO 9660 view extracted; as [`Reader::Osirrox`].
    Bsdtar,
    /// `isoinfo -d` and `-l`: block size, volume size against the image length, volume ids
    /// and set fields if expected; file sizes of every directory record (names too with
    /// [`CheckOptions::iso_view`]).
    Isoinfo,
    /// `udfinfo`: UDF revision, closed integrity, file and directory counts, block size,
    /// anchors at 256 and the last sector, label if expected.
    Udfinfo,
    /// pycdlib: the UDF view walked; names, kinds, sizes, contents, mtimes; descriptor
    /// checksums and CRCs, FID padding covered by the CRC, both anchors.
    Pycdlib,
    /// pycdlib on the ISO 9660 directory records (multi-extent files joined); as
    /// [`Reader::Osirrox`].
    PycdlibIso,
    /// udfclient: the UDF view extracted; ASCII names, contents, directory count.
    Udfclient,
    /// The Linux kernel's `udf` and `iso9660` drivers in a virtual machine: the UDF view
    /// exactly, the ISO 9660 view by content. Slow; not in [`Reader::ALL`].
    Kernel,
}

impl Reader {
    /// Every reader, cheapest first.
    pub const ALL: [Reader; 9] = [
        Reader::Udfinfo,
        Reader::Isoinfo,
        Reader::SevenZipTest,
        Reader::Pycdlib,
        Reader::PycdlibIso,
        Reader::SevenZipUdf,
        Reader::Osirrox,
        Reader::Bsdtar,
        Reader::Udfclient,
    ];

    /// The readers that extract files to disk (slow and space-hungry for multi-GiB images).
    pub const EXTRACTING: [Reader; 4] = [
        Reader::SevenZipUdf,
        Reader::Osirrox,
        Reader::Bsdtar,
        Reader::Udfclient,
    ];

    /// Readers in the same lane run one after another; lanes run side by side.
    pub(crate) fn lane(self) -> usize {
        match self {
            Reader::Kernel => 2,
            r if Reader::EXTRACTING.contains(&r) => 1,
            _ => 0,
        }
    }

    /// The name used in reports.
    pub fn name(self) -> &'static str {
        match self {
            Reader::SevenZipTest => "7z t",
            Reader::SevenZipUdf => "7z x -tudf",
            Reader::Osirrox => "osirrox",
            Reader::Bsdtar => "bsdtar",
            Reader::Isoinfo => "isoinfo",
            Reader::Udfinfo => "udfinfo",
            Reader::Pycdlib => "pycdlib",
            Reader::PycdlibIso => "pycdlib iso9660",
            Reader::Udfclient => "udfclient",
            Reader::Kernel => "kernel",
        }
    }
}

impl fmt::Display for Reader {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// What to run and how strictly to compare. [`CheckOptions::default`] runs every reader,
/// compares mtimes exactly (to the second), and expects UDF revision 1.02.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckOptions {
    /// Readers to run, in this order.
    pub readers: Vec<Reader>,
    /// `Some(seconds)`: mtimes must agree within this many seconds wherever the reader
    /// gives them; `None`: mtimes are not compared.
    pub mtime_tolerance: Option<u64>,
    /// Where extraction directories go (default: the image's directory, the same disk).
    pub scratch_dir: Option<PathBuf>,
    /// The UDF revision udfinfo and 7-Zip must report.
    pub udf_revision: String,
    /// The ISO 9660 volume identifier isoinfo must report, if given.
    pub iso_volume_id: Option<String>,
    /// The UDF logical volume identifier udfinfo must report (`label`), if given.
    pub udf_volume_id: Option<String>,
    /// The volume set size and sequence number isoinfo must report, if given.
    pub volume_set: Option<(u32, u32)>,
    /// The exact ISO 9660 view, when the caller knows it (names as osirrox shows them:
    /// d-characters, no `;1` version, no trailing dot). Given, osirrox, bsdtar, `isoinfo -l`
    /// and the kernel compare path by path (the kernel in ASCII lower case); else by content.
    pub iso_view: Option<Manifest>,
    /// Run three lanes side by side: the extracting readers (one after another, so at most
    /// one extracted copy exists at a time), the kernel, and the rest. Off: every reader in
    /// turn.
    pub parallel: bool,
}

impl Default for CheckOptions {
    fn default() -> Self {
        CheckOptions {
            readers: Reader::ALL.to_vec(),
            mtime_tolerance: Some(0),
            scratch_dir: None,
            udf_revision: "1.02".into(),
            iso_volume_id: None,
            udf_volume_id: None,
            volume_set: None,
            iso_view: None,
            parallel: true,
        }
    }
}

impl CheckOptions {
    /// Adds the kernel reader (boots a virtual machine: seconds to minutes).
    pub fn with_kernel(mut self) -> Self {
        if !self.readers.contains(&Reader::Kernel) {
            self.readers.push(Reader::Kernel);
        }
        self
    }

    /// Runs only `readers`.
    pub fn only(mut self, readers: &[Reader]) -> Self {
        self.readers = readers.to_vec();
        self
    }

    /// Leaves out `readers`.
    pub fn without(mut self, readers: &[Reader]) -> Self {
        self.readers.retain(|r| !readers.contains(r));
        self
    }

    /// Sets the mtime tolerance (`None`: do not compare mtimes).
    pub fn mtime_tolerance(mut self, seconds: Option<u64>) -> Self {
        self.mtime_tolerance = seconds;
        self
    }

    /// Puts extraction directories in `dir`.
    pub fn scratch_in(mut self, dir: impl Into<PathBuf>) -> Self {
        self.scratch_dir = Some(dir.into());
        self
    }

    /// Expects these volume identifiers (ISO 9660 d-characters, UDF label).
    pub fn volume_ids(mut self, iso: impl Into<String>, udf: impl Into<String>) -> Self {
        self.iso_volume_id = Some(iso.into());
        self.udf_volume_id = Some(udf.into());
        self
    }

    /// Runs the extracting readers alongside the others (`true`, the default) or every
    /// reader in turn.
    pub fn parallel(mut self, parallel: bool) -> Self {
        self.parallel = parallel;
        self
    }

    /// Compares the ISO 9660 view path by path with `view` (see [`CheckOptions::iso_view`]).
    pub fn iso_view(mut self, view: Manifest) -> Self {
        self.iso_view = Some(view);
        self
    }

    /// Expects disc `sequence` of a set of `size`.
    pub fn volume_set(mut self, size: u32, sequence: u32) -> Self {
        self.volume_set = Some((size, sequence));
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_select_readers() {
        let o = CheckOptions::default().without(&Reader::EXTRACTING);
        assert_eq!(
            o.readers,
            [
                Reader::Udfinfo,
                Reader::Isoinfo,
                Reader::SevenZipTest,
                Reader::Pycdlib,
                Reader::PycdlibIso
            ]
        );
        let o = o.with_kernel().with_kernel();
        assert_eq!(
            o.readers.iter().filter(|&&r| r == Reader::Kernel).count(),
            1
        );
        assert_eq!(
            CheckOptions::default().only(&[Reader::Bsdtar]).readers,
            [Reader::Bsdtar]
        );
    }
}
