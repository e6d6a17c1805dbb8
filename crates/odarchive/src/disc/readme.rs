//! `/README.md`: what a person with only this disc needs to know.
//!
//! Its size must be known before the plan is final, so the text is padded with spaces to the
//! length it has with the widest disc numbers ([`readme_size`]).

use discfs::Timestamp;

use super::index::INDEX_NAME;
use super::{DATA_DIR, PARITY_DIR, PARITY_NAME, catalogue_name, sums_name};
use crate::hash::HashAlgorithm;

/// What the README says about its disc.
#[derive(Debug, Clone)]
pub struct ReadmeInfo<'a> {
    /// The set id (32 hex digits).
    pub set_id: &'a str,
    /// This disc's number.
    pub number: u32,
    /// Discs in the set.
    pub total: u32,
    /// This disc's label.
    pub label: &'a str,
    /// When the plan was made, ns since the epoch.
    pub created_ns: i64,
    /// Whether the catalogue is gzipped.
    pub gzip: bool,
    /// The catalogue's hash algorithm: it names the checksum file and keys the catalogue.
    pub hash: HashAlgorithm,
    /// Parity percent of the disc (0: no parity file).
    pub parity: u8,
    /// Whether the disc has `INDEX.tsv.gz` (discs of plans made since schema 8).
    pub index: bool,
}

fn date(ns: i64) -> String {
    let c = Timestamp::from_unix_nanos(ns).to_civil();
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02} UTC",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// The README text, unpadded.
fn text(i: &ReadmeInfo<'_>) -> String {
    let cat = catalogue_name(i.gzip);
    let read_cat = if i.gzip {
        format!(
            "`{cat}` is compressed with gzip: `gunzip -c {cat} > catalogue.json` (or `zcat {cat} | less`)."
        )
    } else {
        format!("`{cat}` is plain JSON text.")
    };
    let parity = if i.parity > 0 {
        format!(
            r#"- `{PARITY_DIR}/{PARITY_NAME}` is Reed-Solomon parity ({p} % of the disc's other
  sectors) from which `odarchive repair` rebuilds the exact image when some sectors can no
  longer be read. Its format is odarchive's own, described in docs/parity.md of odarchive's
  source; no other tool reads it. You do not need it to read the files.
"#,
            p = i.parity
        )
    } else {
        String::new()
    };
    let index = if i.index {
        format!(
            r#"- `{INDEX_NAME}` lists every file of the whole archive, one line each, sorted by
  path: path, disc numbers (several for a split file), size, modification time (UTC),
  separated by tabs. To find which disc holds a file or a folder:

      zgrep 'Photos/2019' {INDEX_NAME}

  In paths, `\\` is a backslash, `\t` a tab, `\n` a newline, and `\xHH` a byte that
  was not UTF-8 text or was a control character.
"#
        )
    } else {
        String::new()
    };
    format!(
        r#"# odarchive disc {number} of {total}

Label `{label}`, archive set `{set_id}`, planned {date}.

This disc is one of a set of {total} discs written by odarchive {version}
(https://github.com/odarchive/odarchive), a tool that archives a file system onto optical
discs. You do not need odarchive to get the files back.

## What is on this disc

- `{data}/` holds files under their original paths, relative to the archived drive.
  Each distinct content is stored once in the whole set, under the first of its names;
  other names with the same content, directories, symlinks, permissions and modification
  times are listed in the catalogue.
- Names that were not valid UTF-8, or held control characters or `\`, are written with
  `%XX` escapes (a `~N` suffix avoids clashes); the catalogue has the original bytes.
- A file too large for the space left is split into parts on consecutive discs:
  `NAME.part001`, `NAME.part002`, ... Copy all parts into one folder and join them with
  `cat NAME.part* > NAME` (the numbers are zero-padded, so the shell sorts them in order).
- `{cat}` is the catalogue of the whole archive: every file of every disc.
  {read_cat}
  Under `"files"`, each content (keyed by its {hash}) lists its `"filenames"` on the drive,
  its size, and in `"parts"` the disc number and the path (`"path"`, relative to the disc
  root) of each piece. Search it for a name to find the disc that holds it.
  Paths that are not UTF-8 are written `bytes:` followed by their hex; times are
  nanoseconds since 1970-01-01 UTC.
{index}- `{sums}` lists the {hash} of every other file on this disc. To check the disc, run
  from its root folder:

      {sum_tool} -c {sums}

{parity}
## Restoring

With odarchive: `odarchive restore --from DISC_OR_IMAGE... --to DEST`.
By hand: copy `{data}/`, join split parts as above, and compare with `{sum_tool} -c`.
"#,
        number = i.number,
        total = i.total,
        label = i.label,
        set_id = i.set_id,
        date = date(i.created_ns),
        version = env!("CARGO_PKG_VERSION"),
        data = DATA_DIR,
        sums = sums_name(i.hash),
        hash = i.hash.display_name(),
        sum_tool = i.hash.sums_command(),
    )
}

/// The README's size for every disc of a plan: its length with the widest numbers.
pub fn readme_size(
    set_id: &str,
    created_ns: i64,
    gzip: bool,
    hash: HashAlgorithm,
    parity: u8,
    index: bool,
) -> u64 {
    let label = super::label(set_id, u32::MAX);
    let widest = ReadmeInfo {
        set_id,
        number: u32::MAX,
        total: u32::MAX,
        label: &label,
        created_ns,
        gzip,
        hash,
        parity,
        index,
    };
    text(&widest).len() as u64
}

/// The README of one disc, padded with spaces before its last newline to `size` bytes.
pub fn readme(info: &ReadmeInfo<'_>, size: u64) -> Vec<u8> {
    let mut t = text(info).into_bytes();
    t.pop();
    while (t.len() as u64) + 1 < size {
        t.push(b' ');
    }
    t.push(b'\n');
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn padded_to_the_widest_size() {
        for hash in HashAlgorithm::ALL {
            let size = readme_size("00ff", 1_700_000_000_000_000_000, false, hash, 0, true);
            let info = ReadmeInfo {
                set_id: "00ff",
                number: 2,
                total: 3,
                label: "ODA_00FF_002",
                created_ns: 1_700_000_000_000_000_000,
                gzip: false,
                hash,
                parity: 0,
                index: true,
            };
            let r = readme(&info, size);
            assert_eq!(r.len() as u64, size);
            let s = String::from_utf8(r).unwrap();
            assert!(s.contains("disc 2 of 3") && s.contains("2023-11-14 22:13:20 UTC"));
            let check = match hash {
                HashAlgorithm::Sha256 => "sha256sum -c SHA256SUMS",
                HashAlgorithm::Sha512 => "sha512sum -c SHA512SUMS",
            };
            assert!(s.contains(check), "{s}");
            assert!(s.contains("zgrep 'Photos/2019' INDEX.tsv.gz"), "{s}");
            let other = if hash == HashAlgorithm::Sha256 {
                "512"
            } else {
                "256"
            };
            assert!(!s.contains(other), "{s}");
        }
    }
}
