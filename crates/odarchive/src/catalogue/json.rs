//! The catalogue as JSON: the shape of the original odarchive's catalogues, extended.
//!
//! ```text
//! {"version": 3, "generator": "odarchive 0.1.0", "hash_algorithm": "sha256",
//!  "set_id": "…", "created": NS, "snapshot": ID,
//!  "snapshots": [{"id", "drive_path", "started", "finished"}],
//!  "discs": [{"number", "label", "image_size", "files", "bytes"}],
//!  "files": {"<hex hash>": {"size": N, "mtime": NS, "filenames": {"<path>": {"mtime", "mode"}},
//!            "discs": [N, …], "parts": [{"part", "disc", "offset", "length", "sha256",
//!                                         "path", "iso_path"}]}},
//!  "directories": {"<path>": {"mtime", "mode"}},
//!  "symlinks": {"<path>": {"target", "mtime", "mode"}}}
//! ```
//!
//! - Paths are relative to the drive root. A path that is valid UTF-8 (and does not start with
//!   `bytes:`) is written as it is; any other is `bytes:` followed by the hex of its bytes.
//! - Times (`mtime`, `created`, ...) are integer nanoseconds since 1970-01-01 UTC.
//! - `files` holds every content of the snapshot; `parts` has one element per file on a disc
//!   (`part` 0 is the whole content, whose `sha256` is the key; parts are 1-based), `path` is
//!   its path relative to the disc root, `iso_path` the same file in the ISO 9660 view.
//!
//! The writer streams: rows come from the database in order and go straight to the writer,
//! so memory does not grow with the number of files.

use std::io::{self, Write};

use super::{Catalogue, InCatalogue};
use crate::error::{Error, Result};

/// Version number of this JSON shape.
pub const JSON_VERSION: u32 = 3;

/// A disc as the JSON lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JsonDisc {
    /// Disc number.
    pub number: u32,
    /// Volume label.
    pub label: String,
    /// Exact image size in bytes.
    pub image_size: u64,
    /// Data files on it.
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
}

/// One stored file of a content, as the JSON lists it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct JsonPart {
    /// 0 for the whole content, else 1-based.
    pub part: u32,
    /// The disc number.
    pub disc: u32,
    /// Where the part starts in the content.
    pub offset: u64,
    /// Its length.
    pub length: u64,
    /// SHA-256 of the stored bytes, hex.
    pub sha256: String,
    /// Path relative to the disc root (UDF view).
    pub path: String,
    /// Path in the ISO 9660 view.
    pub iso_path: String,
}

impl From<super::DiscRecord> for JsonDisc {
    fn from(d: super::DiscRecord) -> JsonDisc {
        JsonDisc {
            number: d.number,
            label: d.label,
            image_size: d.image_size,
            files: d.files,
            bytes: d.bytes,
        }
    }
}

impl From<super::Placement> for JsonPart {
    fn from(p: super::Placement) -> JsonPart {
        JsonPart {
            part: p.part,
            disc: p.disc,
            offset: p.offset,
            length: p.length,
            sha256: p.stored_hash().to_string(),
            path: p.disc_path,
            iso_path: p.iso_path,
        }
    }
}

/// A path as the JSON writes it: UTF-8 as is, otherwise `bytes:` and hex.
pub fn json_path(raw: &[u8]) -> String {
    match std::str::from_utf8(raw) {
        Ok(s) if !s.starts_with("bytes:") => s.to_owned(),
        _ => format!("bytes:{}", crate::hex(raw)),
    }
}

/// The inverse of [`json_path`].
pub fn parse_json_path(text: &str) -> Option<Vec<u8>> {
    match text.strip_prefix("bytes:") {
        Some(hex) => crate::unhex(hex),
        None => Some(text.as_bytes().to_vec()),
    }
}

struct Out<W: Write> {
    w: W,
}

impl<W: Write> Out<W> {
    fn raw(&mut self, s: &str) -> io::Result<()> {
        self.w.write_all(s.as_bytes())
    }
    fn val<T: serde::Serialize + ?Sized>(&mut self, v: &T) -> io::Result<()> {
        serde_json::to_writer(&mut self.w, v).map_err(io::Error::other)
    }
}

/// Writes the catalogue JSON of `snapshot` with `discs`, asking `parts_of(content_id)` for
/// where each content is stored. `out_name` names the output in errors.
pub fn write_catalogue_json<W: Write>(
    catalogue: &Catalogue,
    snapshot: i64,
    discs: &[JsonDisc],
    parts_of: &mut dyn FnMut(i64) -> Vec<JsonPart>,
    out: W,
    out_name: &std::path::Path,
) -> Result<W> {
    let io_err = |source: io::Error| Error::Output {
        path: out_name.to_path_buf(),
        source,
    };
    let archive = catalogue.archive()?;
    let mut o = Out { w: out };
    #[derive(serde::Serialize)]
    struct Head<'a> {
        version: u32,
        generator: String,
        hash_algorithm: &'a str,
        set_id: &'a str,
        created: i64,
        snapshot: i64,
    }
    let head = Head {
        version: JSON_VERSION,
        generator: format!("odarchive {}", env!("CARGO_PKG_VERSION")),
        hash_algorithm: &archive.hash_algorithm,
        set_id: &archive.set_id,
        created: archive.created_ns,
        snapshot,
    };
    let head = serde_json::to_string(&head).map_err(|e| io_err(io::Error::other(e)))?;
    // Leave the object open: the rest follows.
    o.raw(&head[..head.len() - 1]).map_err(io_err)?;
    o.raw(",\"snapshots\":[").map_err(io_err)?;
    for (i, s) in catalogue.snapshots()?.iter().enumerate() {
        use std::os::unix::ffi::OsStrExt;
        let v = serde_json::json!({
            "id": s.id,
            "drive_path": json_path(s.drive_path.as_os_str().as_bytes()),
            "started": s.started_ns,
            "finished": s.finished_ns,
        });
        o.raw(if i == 0 { "" } else { "," }).map_err(io_err)?;
        o.val(&v).map_err(io_err)?;
    }
    o.raw("],\"discs\":").map_err(io_err)?;
    o.val(discs).map_err(io_err)?;
    write_files(catalogue, snapshot, parts_of, &mut o).map_err(|e| match e {
        Fail::Io(e) => io_err(e),
        Fail::Db(e) => e,
    })?;
    write_others(catalogue, snapshot, &mut o).map_err(|e| match e {
        Fail::Io(e) => io_err(e),
        Fail::Db(e) => e,
    })?;
    o.raw("}").map_err(io_err)?;
    Ok(o.w)
}

enum Fail {
    Io(io::Error),
    Db(Error),
}

impl From<io::Error> for Fail {
    fn from(e: io::Error) -> Self {
        Fail::Io(e)
    }
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Db(e)
    }
}

fn write_files<W: Write>(
    catalogue: &Catalogue,
    snapshot: i64,
    parts_of: &mut dyn FnMut(i64) -> Vec<JsonPart>,
    o: &mut Out<W>,
) -> std::result::Result<(), Fail> {
    let path = catalogue.path();
    let mut stmt = catalogue
        .connection()
        .prepare(
            "SELECT c.id, c.hash, c.size, e.path, e.mtime_ns, e.mode FROM entry e \
             JOIN content c ON c.id = e.content_id \
             WHERE e.first_snapshot <= ?1 AND e.last_snapshot >= ?1 AND e.kind = 1 \
             ORDER BY c.hash, e.path",
        )
        .in_catalogue(path)?;
    let mut rows = stmt.query([snapshot]).in_catalogue(path)?;
    o.raw(",\"files\":{")?;
    let mut current: Option<i64> = None;
    let mut first_content = true;
    while let Some(row) = rows.next().in_catalogue(path)? {
        let id: i64 = row.get(0).in_catalogue(path)?;
        let hash: Vec<u8> = row.get(1).in_catalogue(path)?;
        let size: i64 = row.get(2).in_catalogue(path)?;
        let raw: Vec<u8> = row.get(3).in_catalogue(path)?;
        let mtime: i64 = row.get(4).in_catalogue(path)?;
        let mode: i64 = row.get(5).in_catalogue(path)?;
        if current != Some(id) {
            if let Some(prev) = current {
                close_content(prev, parts_of, o)?;
            }
            current = Some(id);
            o.raw(if first_content { "" } else { "," })?;
            first_content = false;
            o.val(&crate::hex(&hash))?;
            o.raw(&format!(
                ":{{\"size\":{size},\"mtime\":{mtime},\"filenames\":{{"
            ))?;
        } else {
            o.raw(",")?;
        }
        o.val(&json_path(&raw))?;
        o.raw(&format!(":{{\"mtime\":{mtime},\"mode\":{mode}}}"))?;
    }
    if let Some(prev) = current {
        close_content(prev, parts_of, o)?;
    }
    o.raw("}")?;
    Ok(())
}

fn close_content<W: Write>(
    id: i64,
    parts_of: &mut dyn FnMut(i64) -> Vec<JsonPart>,
    o: &mut Out<W>,
) -> io::Result<()> {
    let parts = parts_of(id);
    let mut discs: Vec<u32> = parts.iter().map(|p| p.disc).collect();
    discs.dedup();
    o.raw("},\"discs\":")?;
    o.val(&discs)?;
    o.raw(",\"parts\":")?;
    o.val(&parts)?;
    o.raw("}")
}

fn write_others<W: Write>(
    catalogue: &Catalogue,
    snapshot: i64,
    o: &mut Out<W>,
) -> std::result::Result<(), Fail> {
    let path = catalogue.path();
    let mut stmt = catalogue
        .connection()
        .prepare(
            "SELECT kind, path, mtime_ns, mode, link_target FROM entry \
             WHERE first_snapshot <= ?1 AND last_snapshot >= ?1 AND kind IN (2, 3) \
             ORDER BY kind, path",
        )
        .in_catalogue(path)?;
    let mut rows = stmt.query([snapshot]).in_catalogue(path)?;
    o.raw(",\"directories\":{")?;
    let mut in_symlinks = false;
    let mut first = true;
    while let Some(row) = rows.next().in_catalogue(path)? {
        let kind: i64 = row.get(0).in_catalogue(path)?;
        let raw: Vec<u8> = row.get(1).in_catalogue(path)?;
        let mtime: i64 = row.get(2).in_catalogue(path)?;
        let mode: i64 = row.get(3).in_catalogue(path)?;
        if kind == 3 && !in_symlinks {
            o.raw("},\"symlinks\":{")?;
            in_symlinks = true;
            first = true;
        }
        o.raw(if first { "" } else { "," })?;
        first = false;
        o.val(&json_path(&raw))?;
        if kind == 3 {
            let target: Vec<u8> = row
                .get::<_, Option<Vec<u8>>>(4)
                .in_catalogue(path)?
                .unwrap_or_default();
            o.raw(":{\"target\":")?;
            o.val(&json_path(&target))?;
            o.raw(&format!(",\"mtime\":{mtime},\"mode\":{mode}}}"))?;
        } else {
            o.raw(&format!(":{{\"mtime\":{mtime},\"mode\":{mode}}}"))?;
        }
    }
    if !in_symlinks {
        o.raw("},\"symlinks\":{")?;
    }
    o.raw("}")?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_round_trip() {
        for raw in [&b"a/b"[..], b"caf\xc3\xa9", b"bad\xff", b"bytes:x", b""] {
            assert_eq!(parse_json_path(&json_path(raw)).unwrap(), raw);
        }
        assert_eq!(json_path(b"bad\xff"), "bytes:626164ff");
    }
}
