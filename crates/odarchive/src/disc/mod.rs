//! What a disc holds, as a [`discfs::Tree`]:
//!
//! ```text
//! /README.md                 for a person who has only this disc
//! /catalogue.json[.gz]       the whole archive's catalogue (gzipped when over 1 MiB)
//! /INDEX.tsv.gz              the whole archive, one line a file, for zgrep ([`index`])
//! /SHA256SUMS                every other file on the disc, for `sha256sum -c`; SHA512SUMS
//!                            (`sha512sum -c`) on discs of a SHA-512 catalogue
//! /Data/<path>               each content once, under the path of its first name
//! /Data/<path>.part001 ...   the parts of a content split across discs
//! ```
//!
//! Names are mapped as [`names`] describes. The three metadata files have sizes fixed before
//! the plan is final (README and catalogue are padded with spaces), so the planner can lay out
//! every disc exactly before any byte of them is known.

pub mod contents;
pub mod gzip;
pub mod index;
pub mod names;
pub mod readme;

use std::collections::HashMap;

use discfs::{FileSource, NodeId, Timestamp, Tree, TreeBuilder, VolumeInfo};

use crate::error::{Error, Result};
use crate::hash::{ContentHash, HashAlgorithm};

/// Name of the README file at the disc root.
pub const README_NAME: &str = "README.md";
/// Folder at the disc root that holds the files.
pub const DATA_DIR: &str = "Data";
/// Folder at the disc root that holds the parity file.
pub const PARITY_DIR: &str = "Parity";
/// Name of the parity file in [`PARITY_DIR`] (format: docs/parity.md).
pub const PARITY_NAME: &str = "PARITY.ODP";
/// Catalogue JSON above this size is gzipped on the disc.
pub const GZIP_ABOVE: u64 = 1 << 20;
/// The gzip level of the catalogue file. The fastest: a plan measures the catalogue several
/// times, and at a million files level 6 took 2.5 times as long for a file 15 % smaller.
pub const GZIP_LEVEL: flate2::Compression = flate2::Compression::fast();

/// Name of the catalogue file at the disc root.
pub fn catalogue_name(gzip: bool) -> &'static str {
    if gzip {
        "catalogue.json.gz"
    } else {
        "catalogue.json"
    }
}

/// The volume label of disc `number` of set `set_id`: `ODA_<first 8 hex digits>_<NNN>`, all
/// ISO 9660 d-characters.
pub fn label(set_id: &str, number: u32) -> String {
    let short: String = set_id
        .chars()
        .take(8)
        .collect::<String>()
        .to_ascii_uppercase();
    format!("ODA_{short}_{number:03}")
}

/// The volume fields of a disc.
pub fn volume(set_id: &str, number: u32, set_size: u32, created_ns: i64) -> VolumeInfo {
    VolumeInfo {
        volume_id: label(set_id, number),
        volume_set_id: format!("odarchive {set_id}"),
        publisher_id: String::new(),
        application_id: format!("odarchive {}", env!("CARGO_PKG_VERSION")),
        set_size: u16::try_from(set_size).unwrap_or(u16::MAX),
        sequence_number: u16::try_from(number).unwrap_or(u16::MAX),
        created: Timestamp::from_unix_nanos(created_ns),
    }
}

/// One file under `/Data`.
#[derive(Debug, Clone)]
pub struct DataFile {
    /// Path under `/Data`, as on the disc.
    pub path: String,
    /// Bytes.
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// Where its bytes come from.
    pub source: FileSource,
}

/// One of the files at the disc root.
#[derive(Debug, Clone)]
pub struct RootFile {
    /// Its name.
    pub name: &'static str,
    /// Its size.
    pub size: u64,
    /// Its bytes (or, while planning, any source of the right size).
    pub source: FileSource,
}

/// A source of `size` bytes for sizing only: never read.
pub fn sizing_source() -> FileSource {
    FileSource::Path {
        path: "/dev/zero".into(),
        offset: 0,
    }
}

/// Builds the tree of a disc: the root files, then `/Data` with `data`. Directories get the
/// mtime `dir_mtime` gives for their path under `/Data` (`""`: `/Data` itself, the drive
/// root), else `created_ns`. With a `parity_percent` above 0 the tree has
/// `/Parity/PARITY.ODP`, sized by [`discfs::layout_with_parity`].
pub fn build_tree(
    disc: u32,
    root: &[RootFile],
    data: &[DataFile],
    dir_mtime: &HashMap<String, i64>,
    created_ns: i64,
    parity_percent: u8,
) -> Result<Tree> {
    let image_err = |e: discfs::TreeError| Error::DiscImage {
        disc,
        source: Box::new(e),
    };
    let created = Timestamp::from_unix_nanos(created_ns);
    let mut b = TreeBuilder::new(created);
    for f in root {
        b.file(NodeId::ROOT, f.name, created, f.size, f.source.clone())
            .map_err(image_err)?;
    }
    if parity_percent > 0 {
        let dir = b
            .dir(NodeId::ROOT, PARITY_DIR, created)
            .map_err(image_err)?;
        b.parity_file(dir, PARITY_NAME, created, parity_percent)
            .map_err(image_err)?;
    }
    let data_time = dir_mtime
        .get("")
        .map_or(created, |&t| Timestamp::from_unix_nanos(t));
    let data_dir = b
        .dir(NodeId::ROOT, DATA_DIR, data_time)
        .map_err(image_err)?;
    // Directories by their path under /Data; files come in path order, so a small cache of
    // the last parent suffices most of the time.
    let mut dirs: HashMap<String, NodeId> = HashMap::new();
    for f in data {
        let (parent_path, name) = match f.path.rfind('/') {
            Some(i) => (&f.path[..i], &f.path[i + 1..]),
            None => ("", f.path.as_str()),
        };
        let parent = if parent_path.is_empty() {
            data_dir
        } else if let Some(&id) = dirs.get(parent_path) {
            id
        } else {
            let mut at = data_dir;
            let mut sofar = String::new();
            for comp in parent_path.split('/') {
                if !sofar.is_empty() {
                    sofar.push('/');
                }
                sofar.push_str(comp);
                at = match dirs.get(&sofar) {
                    Some(&id) => id,
                    None => {
                        let t = dir_mtime.get(&sofar).copied().unwrap_or(created_ns);
                        let id = b
                            .dir(at, comp, Timestamp::from_unix_nanos(t))
                            .map_err(image_err)?;
                        dirs.insert(sofar.clone(), id);
                        id
                    }
                };
            }
            at
        };
        b.file(
            parent,
            name,
            Timestamp::from_unix_nanos(f.mtime_ns),
            f.size,
            f.source.clone(),
        )
        .map_err(image_err)?;
    }
    b.build().map_err(image_err)
}

/// The paths of the parity file as a reader lists them: its UDF path, and its ISO 9660 path
/// as the image writer maps it.
pub fn parity_paths() -> [String; 2] {
    let udf = format!("{PARITY_DIR}/{PARITY_NAME}");
    let t = Timestamp::EPOCH;
    let mut b = TreeBuilder::new(t);
    let iso = b
        .dir(NodeId::ROOT, PARITY_DIR, t)
        .and_then(|dir| {
            b.file(
                dir,
                PARITY_NAME,
                t,
                0,
                FileSource::Bytes(std::sync::Arc::from(&[][..])),
            )
        })
        .and_then(|_| b.build())
        .ok()
        .and_then(|tree| {
            let plan = discfs::iso9660::IsoPlan::new(&tree).ok()?;
            plan.paths(&tree).map(|(p, _)| p).find(|p| p.contains('/'))
        });
    let iso = iso.unwrap_or_else(|| udf.to_ascii_uppercase());
    [udf, iso]
}

/// Name of the checksum file at the disc root of a catalogue hashing with `algorithm`:
/// `SHA256SUMS` or `SHA512SUMS`.
pub fn sums_name(algorithm: HashAlgorithm) -> &'static str {
    algorithm.sums_file_name()
}

/// The checksum file ([`sums_name`]): one `HASH  PATH` line per file, sorted by path, as
/// `sha256sum -c` or `sha512sum -c` reads it; every hash is of `algorithm`. Disc names never
/// hold `\` or newlines ([`names`] escapes them), so no line needs the tools' escapes.
pub fn sums<'a>(
    algorithm: HashAlgorithm,
    files: impl IntoIterator<Item = (&'a str, ContentHash)>,
) -> Vec<u8> {
    let mut lines: Vec<(&str, ContentHash)> = files.into_iter().collect();
    lines.sort_unstable_by(|a, b| a.0.cmp(b.0));
    let size = lines.iter().map(|(p, _)| sums_line_len(algorithm, p)).sum();
    let mut out = Vec::with_capacity(size);
    for (path, hash) in lines {
        debug_assert_eq!(hash.len(), algorithm.len(), "{path}");
        out.extend_from_slice(hash.to_string().as_bytes());
        out.extend_from_slice(b"  ");
        out.extend_from_slice(path.as_bytes());
        out.push(b'\n');
    }
    out
}

/// Bytes of one checksum file line for `path`.
pub fn sums_line_len(algorithm: HashAlgorithm, path: &str) -> usize {
    2 * algorithm.len() + 2 + path.len() + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_are_d_characters() {
        let l = label("0123abcdef", 7);
        assert_eq!(l, "ODA_0123ABCD_007");
        assert!(l.len() <= 32);
        assert!(
            l.bytes()
                .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        );
    }

    #[test]
    fn sums_are_sorted_and_sized() {
        let sha256 = HashAlgorithm::Sha256;
        let s = sums(sha256, [("b", [1; 32].into()), ("a/x", [2; 32].into())]);
        let text = String::from_utf8(s.clone()).unwrap();
        assert!(text.starts_with(&format!("{}  a/x\n", "02".repeat(32))));
        assert_eq!(
            s.len(),
            sums_line_len(sha256, "b") + sums_line_len(sha256, "a/x")
        );
        let sha512 = HashAlgorithm::Sha512;
        let s = sums(sha512, [("b", [1; 64].into()), ("a/x", [2; 64].into())]);
        let text = String::from_utf8(s.clone()).unwrap();
        assert_eq!(
            text,
            format!("{}  a/x\n{}  b\n", "02".repeat(64), "01".repeat(64))
        );
        assert_eq!(
            s.len(),
            sums_line_len(sha512, "b") + sums_line_len(sha512, "a/x")
        );
        assert_eq!(sums_name(sha512), "SHA512SUMS");
    }

    #[test]
    fn tree_has_root_files_and_data() {
        let root = [RootFile {
            name: README_NAME,
            size: 3,
            source: FileSource::Bytes(std::sync::Arc::from(&b"abc"[..])),
        }];
        let data = [DataFile {
            path: "x/y/z.txt".into(),
            size: 1,
            mtime_ns: 5,
            source: sizing_source(),
        }];
        let mut times = HashMap::new();
        times.insert("x".to_owned(), 1_000_000_000);
        let tree = build_tree(1, &root, &data, &times, 0, 0).unwrap();
        let paths: Vec<String> = tree.ids().map(|i| tree.path(i)).collect();
        assert!(paths.contains(&"Data/x/y/z.txt".to_owned()));
        assert!(paths.contains(&"README.md".to_owned()));
        let x = tree.ids().find(|&i| tree.path(i) == "Data/x").unwrap();
        assert_eq!(tree.mtime(x).secs(), 1);
    }
}
