//! `/INDEX.tsv.gz`: the whole archive as of this disc's plan, one line a file, for a person
//! with nothing but `zgrep`: `zgrep 'Photos/2019' INDEX.tsv.gz` says which discs hold them.
//!
//! ```text
//! # path<TAB>discs<TAB>size<TAB>mtime (UTC)
//! Photos/2019/a.jpg<TAB>3<TAB>2481152<TAB>2019-06-01 12:00:00
//! Videos/big.mkv<TAB>4,5<TAB>30000000000<TAB>2021-01-02 03:04:05
//! ```
//!
//! - Every regular file of the plan's snapshot, sorted by path (bytewise), the path relative
//!   to the archived drive. `discs` are the disc numbers holding its content (several for a
//!   file split across discs; `-` for a file that could not be read, so is on no disc).
//!   A file's name on the disc is its path under `/Data` (the disc's catalogue file has the
//!   exceptions: other names of the same content, escaped and split names).
//! - Path bytes are escaped so that a line stays one line of UTF-8 text: `\\` for `\`, `\t`
//!   for a tab, `\n` for a newline, and `\xHH` for any other control character and for every
//!   byte that is not part of valid UTF-8.
//! - Gzip (a single member with the lines), padded to the plan's reserved size by empty gzip
//!   members whose header comments are spaces (`gunzip` and `zgrep` read them all and print
//!   nothing for the empty ones; see [`super::gzip`]). The size is fixed when the plan is made: every disc of a
//!   plan has the same index.
//!
//! Written as it is read from the catalogue, to a temporary file: never held whole.

use std::io::{self, BufWriter, Write};
use std::path::{Path, PathBuf};

use crate::catalogue::{Catalogue, IndexedFile, PlanRecord, StoredDiscs};
use crate::error::{Error, Result};
use crate::hash::{ContentHash, HashAlgorithm, HashingWriter};

/// Name of the index at the disc root.
pub const INDEX_NAME: &str = "INDEX.tsv.gz";
/// Its gzip level: it is written once per plan and measured a few times while planning.
const INDEX_LEVEL: flate2::Compression = flate2::Compression::new(6);
/// The first line.
const HEADER: &[u8] = b"# path\tdiscs\tsize\tmtime (UTC)\n";
use super::gzip::{PAD_MEMBER_MIN, padding};

/// What an index lists: the files of `snapshot`, on the stored discs of `stored` and on the
/// `new` discs of a plan being made (`(content id, disc number)`, sorted).
#[derive(Debug, Clone, Copy)]
pub struct IndexScope<'a> {
    /// The snapshot.
    pub snapshot: i64,
    /// The stored discs that count.
    pub stored: StoredDiscs,
    /// Discs of a plan not yet stored: which contents each holds.
    pub new: &'a [(i64, u32)],
}

/// The index of a plan as written to a temporary file, padded to `plan.index_size`.
#[derive(Debug)]
pub struct IndexFile {
    file: tempfile::NamedTempFile,
    /// Its hash, in the catalogue's algorithm (for the checksum file).
    pub hash: ContentHash,
    /// Its size.
    pub size: u64,
}

impl IndexFile {
    /// Where it is (removed when this is dropped).
    pub fn path(&self) -> &Path {
        self.file.path()
    }
}

/// The bytes to reserve for an index whose gzip is `gzipped` bytes: room for the padding
/// member, and a little more.
pub fn reserve_for(gzipped: u64) -> u64 {
    gzipped + gzipped / 1024 + PAD_MEMBER_MIN + 64
}

/// The gzipped size of the index of `scope` (unpadded), streamed.
pub fn measure(catalogue: &Catalogue, scope: IndexScope<'_>) -> Result<u64> {
    let mut gz = flate2::write::GzEncoder::new(Counted::new(io::sink()), INDEX_LEVEL);
    write_lines(catalogue, scope, &mut gz, |_| true)?;
    Ok(gz.finish().map_err(io_error)?.n)
}

/// An estimate of [`measure`] from a sample: the lines of about one folder in `every` (all of
/// a folder's lines or none, so that they compress as they do in the whole index), scaled by
/// the number of lines of the whole. Exact when `every` is 1, or when the sample is empty.
pub fn estimate(catalogue: &Catalogue, scope: IndexScope<'_>, every: u64) -> Result<u64> {
    if every <= 1 {
        return measure(catalogue, scope);
    }
    let mut gz = flate2::write::GzEncoder::new(Counted::new(io::sink()), INDEX_LEVEL);
    let in_sample = |path: &[u8]| {
        let folder = path.rsplitn(2, |&b| b == b'/').nth(1).unwrap_or(b"");
        fnv1a(folder) % every == 0
    };
    let (all, kept) = write_lines(catalogue, scope, &mut gz, in_sample)?;
    let sampled = gz.finish().map_err(io_error)?.n;
    if kept == 0 {
        return measure(catalogue, scope);
    }
    Ok((u128::from(sampled) * u128::from(all) / u128::from(kept)) as u64)
}

/// FNV-1a, 64 bits: a stable hash to sample folders by.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// Writes the index of `plan` (none for a plan with no index size) to a temporary file in
/// `dir`, padded to its reserved size, hashing it with `hash`.
pub fn index_file(
    catalogue: &Catalogue,
    plan: &PlanRecord,
    dir: &Path,
    hash: HashAlgorithm,
) -> Result<Option<IndexFile>> {
    if plan.index_size == 0 {
        return Ok(None);
    }
    let output = |source| Error::Output {
        path: dir.join(INDEX_NAME),
        source,
    };
    let file = tempfile::Builder::new()
        .prefix(".odarchive-index-")
        .tempfile_in(dir)
        .map_err(output)?;
    let handle = file.as_file().try_clone().map_err(output)?;
    let sink = HashingWriter::new(BufWriter::new(handle), hash);
    let mut gz = flate2::write::GzEncoder::new(Counted::new(sink), INDEX_LEVEL);
    let scope = IndexScope {
        snapshot: plan.snapshot,
        stored: StoredDiscs {
            max_plan: plan.id,
            below_disc: u32::MAX,
        },
        new: &[],
    };
    write_lines(catalogue, scope, &mut gz, |_| true)?;
    let mut counted = gz.finish().map_err(output)?;
    let room = plan.index_size.checked_sub(counted.n);
    match room {
        Some(0) => {}
        Some(n) if n >= PAD_MEMBER_MIN => {
            counted.write_all(&padding(n)).map_err(output)?;
        }
        _ => {
            return Err(Error::Internal(format!(
                "the disc index needs {} bytes but {} were reserved; plan again",
                counted.n + PAD_MEMBER_MIN,
                plan.index_size
            )));
        }
    }
    let (hash, mut buffered) = counted.inner.finish();
    buffered.flush().map_err(output)?;
    Ok(Some(IndexFile {
        file,
        hash,
        size: plan.index_size,
    }))
}

/// Writes the header and the lines of `scope` whose path `keep` takes to `out`; how many
/// lines there are in all, and how many were written.
fn write_lines(
    catalogue: &Catalogue,
    scope: IndexScope<'_>,
    out: &mut impl Write,
    mut keep: impl FnMut(&[u8]) -> bool,
) -> Result<(u64, u64)> {
    out.write_all(HEADER).map_err(io_error)?;
    let (mut all, mut kept) = (0u64, 0u64);
    let mut line = Vec::with_capacity(256);
    catalogue.for_each_indexed_file(scope.snapshot, scope.stored, |f| {
        all += 1;
        if !keep(f.path) {
            return Ok(());
        }
        kept += 1;
        line.clear();
        index_line(&f, scope.new, &mut line);
        out.write_all(&line).map_err(io_error)
    })?;
    Ok((all, kept))
}

/// One line of the index for `f`.
fn index_line(f: &IndexedFile<'_>, new: &[(i64, u32)], line: &mut Vec<u8>) {
    escape_path(f.path, line);
    line.push(b'\t');
    let added = f.content_id.map_or(&[][..], |id| new_discs(new, id));
    if added.is_empty() {
        line.extend_from_slice(if f.discs.is_empty() { "-" } else { f.discs }.as_bytes());
    } else {
        let mut discs: Vec<u32> = f.discs.split(',').filter_map(|d| d.parse().ok()).collect();
        discs.extend(added.iter().map(|&(_, d)| d));
        discs.sort_unstable();
        discs.dedup();
        let text: Vec<String> = discs.iter().map(u32::to_string).collect();
        line.extend_from_slice(text.join(",").as_bytes());
    }
    line.extend_from_slice(
        format!("\t{}\t{}\n", f.size, crate::time::format_ns(f.mtime_ns)).as_bytes(),
    );
}

/// The entries of `new` (sorted) for content `id`.
fn new_discs(new: &[(i64, u32)], id: i64) -> &[(i64, u32)] {
    let start = new.partition_point(|&(c, _)| c < id);
    let end = start + new[start..].partition_point(|&(c, _)| c == id);
    &new[start..end]
}

/// Appends `path` escaped as the module documentation says.
pub fn escape_path(path: &[u8], out: &mut Vec<u8>) {
    for chunk in path.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '\\' => out.extend_from_slice(b"\\\\"),
                '\t' => out.extend_from_slice(b"\\t"),
                '\n' => out.extend_from_slice(b"\\n"),
                c if c.is_ascii_control() => hex_byte(c as u8, out),
                c => {
                    let mut buf = [0; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
            }
        }
        for &b in chunk.invalid() {
            hex_byte(b, out);
        }
    }
}

fn hex_byte(b: u8, out: &mut Vec<u8>) {
    out.extend_from_slice(format!("\\x{b:02X}").as_bytes());
}

fn io_error(source: io::Error) -> Error {
    Error::Output {
        path: PathBuf::from(INDEX_NAME),
        source,
    }
}

/// Counts the bytes written through to `inner` (a gzip's output size, say).
pub(crate) struct Counted<W> {
    pub(crate) inner: W,
    pub(crate) n: u64,
}

impl<W> Counted<W> {
    pub(crate) fn new(inner: W) -> Self {
        Counted { inner, n: 0 }
    }
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.n += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Read;

    #[test]
    fn paths_are_escaped_to_one_line_of_utf8() {
        let mut out = Vec::new();
        escape_path(b"a\tb\nc\\d\x01\xffok/\xc3\xa9t\xc3", &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "a\\tb\\nc\\\\d\\x01\\xFFok/\u{e9}t\\xC3"
        );
    }

    #[test]
    fn the_padding_member_has_its_size_and_gunzips_to_nothing() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), INDEX_LEVEL);
        gz.write_all(b"line\n").unwrap();
        let bytes = gz.finish().unwrap();
        for n in [PAD_MEMBER_MIN, PAD_MEMBER_MIN + 1, 4000] {
            let pad = padding(n);
            assert_eq!(pad.len() as u64, n);
            let mut both = bytes.clone();
            both.extend_from_slice(&pad);
            let mut text = String::new();
            flate2::read::MultiGzDecoder::new(&both[..])
                .read_to_string(&mut text)
                .unwrap();
            assert_eq!(text, "line\n");
        }
    }

    #[test]
    fn new_discs_are_found_by_content() {
        let new = [(1, 3), (2, 3), (2, 4), (5, 4)];
        assert_eq!(new_discs(&new, 2), &[(2, 3), (2, 4)]);
        assert!(new_discs(&new, 3).is_empty());
        assert_eq!(new_discs(&new, 5), &[(5, 4)]);
    }
}
