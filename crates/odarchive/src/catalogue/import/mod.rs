//! Reading catalogue JSON back into a catalogue: the exported catalogue
//! (`odarchive export-json`), the catalogue file every disc carries (so a set of discs can be
//! verified and restored when the local catalogue is lost), and the catalogues of the original
//! odarchive 0.1.
//!
//! The document is read as a stream: each content, path and placement is inserted as it is
//! parsed, inside one transaction, so that memory does not grow with the catalogue and a
//! failure leaves the catalogue as it was. Keys may come in any order; references between them
//! (disc numbers, snapshot ids) are resolved once the whole document is read.
//!
//! The catalogues of odarchive 0.1 are read by `v01`. The parts:
//! `stream` the document's shape and the visitors that stream it, `rows` the rows each
//! member becomes, `finish` the step that resolves what was left open and checks the result.

mod finish;
mod rows;
mod stream;
#[cfg(test)]
mod tests;
mod v01;

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use rusqlite::{OptionalExtension, Transaction};
use serde::de::DeserializeSeed;

use super::{Catalogue, InCatalogue};
use crate::error::{Error, Result};
use stream::DocSeed;

/// How to read a catalogue JSON.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// The time zone of odarchive 0.1's zone-less modification times: an IANA name
    /// (`Europe/London`) or a fixed offset (`+01:00`). `None`: this machine's zone.
    pub timezone: Option<String>,
    /// The JSON comes from a disc: discs it lists without a state are taken as written.
    pub from_disc: bool,
}

/// What an import brought in.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ImportSummary {
    /// The JSON shape: `odarchive 0.1` or the version number of ours.
    pub format: String,
    /// Its hash algorithm.
    pub hash_algorithm: crate::hash::HashAlgorithm,
    /// Snapshots.
    pub snapshots: u64,
    /// Unique contents.
    pub contents: u64,
    /// Entry rows (versions of paths).
    pub entries: u64,
    /// Discs.
    pub discs: u64,
    /// Files or parts on discs.
    pub placements: u64,
}

/// Indexes an import leaves out until its rows are in: entries come in content order, so each
/// would go to a random page of the path index (and placements to one of the disc index);
/// with a million files those no longer fit the page cache and every insert reads and spills
/// pages. Built once from the loaded tables, each is one sort. The indexes on the columns that
/// refer to contents stay: with deferred foreign keys outstanding, SQLite looks for the rows
/// that refer to each content inserted, through them.
const BULK_INDEXES: [&str; 2] = ["entry_by_path", "placement_by_disc"];

/// Drops [`BULK_INDEXES`] and returns the statements that make them again (as the schema
/// made them).
fn drop_bulk_indexes(tx: &Transaction<'_>) -> rusqlite::Result<Vec<String>> {
    let mut again = Vec::new();
    for name in BULK_INDEXES {
        let sql: Option<String> = tx
            .query_row(
                "SELECT sql FROM sqlite_master WHERE type = 'index' AND name = ?1",
                [name],
                |r| r.get(0),
            )
            .optional()?
            .flatten();
        if let Some(sql) = sql {
            tx.execute_batch(&format!("DROP INDEX {name}"))?;
            again.push(sql);
        }
    }
    Ok(again)
}

impl Catalogue {
    /// Fills this catalogue, which must hold no snapshot yet, from catalogue JSON read from
    /// `json` (`what` names it in errors). One transaction: all or nothing.
    pub fn import_json(
        &mut self,
        json: impl Read,
        what: &Path,
        options: &ImportOptions,
    ) -> Result<ImportSummary> {
        let corrupt = |reason: String| Error::Corrupt {
            path: what.to_path_buf(),
            reason,
        };
        let has_snapshots: bool = self
            .conn
            .query_row("SELECT EXISTS (SELECT 1 FROM snapshot)", [], |r| r.get(0))
            .in_catalogue(&self.path)?;
        if has_snapshots {
            return Err(Error::NotEmpty {
                path: self.path.clone(),
                input: what.to_path_buf(),
            });
        }
        let timezone = match &options.timezone {
            None => jiff::tz::TimeZone::system(),
            Some(name) => parse_timezone(name).ok_or_else(|| Error::BadTimezone(name.clone()))?,
        };
        let path = self.path.clone();
        let tx = self.conn.transaction().in_catalogue(&path)?;
        // References (disc numbers, the header's snapshot) are resolved after the whole
        // document is read; foreign keys are checked at the commit.
        tx.pragma_update(None, "defer_foreign_keys", true)
            .in_catalogue(&path)?;
        let indexes = drop_bulk_indexes(&tx).in_catalogue(&path)?;
        let mut imp = Importer {
            tx: &tx,
            catalogue: &path,
            options,
            timezone,
            head: Head::default(),
            legacy_discs: HashMap::new(),
            hash_len: None,
            legacy: false,
            failed: None,
            counts: Counts::default(),
            indexes,
        };
        let mut de = serde_json::Deserializer::from_reader(std::io::BufReader::new(json));
        let parsed = DocSeed { imp: &mut imp }
            .deserialize(&mut de)
            .and_then(|()| de.end());
        if let Some(e) = imp.failed.take() {
            return Err(e);
        }
        parsed.map_err(|e| corrupt(format!("catalogue JSON: {e}")))?;
        let summary = imp.finish().map_err(|e| match e {
            Fail::Db(e) => e,
            Fail::Bad(reason) => corrupt(reason),
        })?;
        tx.commit().in_catalogue(&path)?;
        Ok(summary)
    }

    /// Fills this empty catalogue from the catalogue file found on a disc.
    pub fn import_disc_json(&mut self, json: &[u8], what: &str) -> Result<ImportSummary> {
        let options = ImportOptions {
            timezone: None,
            from_disc: true,
        };
        self.import_json(json, Path::new(what), &options)
    }
}

/// A time zone by IANA name or as a fixed offset `±HH:MM`.
fn parse_timezone(name: &str) -> Option<jiff::tz::TimeZone> {
    if let Ok(tz) = jiff::tz::TimeZone::get(name) {
        return Some(tz);
    }
    let (sign, rest) = match name.as_bytes().first()? {
        b'+' => (1, &name[1..]),
        b'-' => (-1, &name[1..]),
        _ => return None,
    };
    let (h, m) = rest.split_once(':').unwrap_or((rest, "0"));
    let seconds = sign * (h.parse::<i32>().ok()? * 3600 + m.parse::<i32>().ok()? * 60);
    let offset = jiff::tz::Offset::from_seconds(seconds).ok()?;
    Some(jiff::tz::TimeZone::fixed(offset))
}

/// Why an import stopped: the database, or the document.
enum Fail {
    Db(Error),
    Bad(String),
}

impl From<Error> for Fail {
    fn from(e: Error) -> Self {
        Fail::Db(e)
    }
}

type Res<T> = std::result::Result<T, Fail>;

/// Header fields, which may come anywhere in the document.
#[derive(Default)]
struct Head {
    version: Option<u32>,
    hash_algorithm: Option<String>,
    set_id: Option<String>,
    created: Option<i64>,
    tool_version: Option<String>,
    snapshot: Option<i64>,
    /// odarchive 0.1's `date`: when its catalogue was saved, UTC without a zone.
    v01_date: Option<String>,
    /// odarchive 0.1's `source_path`: the drive it catalogued.
    v01_source_path: Option<String>,
}

#[derive(Default)]
struct Counts {
    contents: u64,
    entries: u64,
    placements: u64,
}

struct Importer<'a> {
    tx: &'a Transaction<'a>,
    catalogue: &'a Path,
    options: &'a ImportOptions,
    timezone: jiff::tz::TimeZone,
    head: Head,
    /// odarchive 0.1: `disc_num` → disc row id.
    legacy_discs: HashMap<i64, i64>,
    /// Length of the content hashes seen so far.
    hash_len: Option<usize>,
    /// The document is an odarchive 0.1 catalogue.
    legacy: bool,
    /// The error that stopped the parser (serde errors carry text only).
    failed: Option<Error>,
    counts: Counts,
    /// The statements that make [`BULK_INDEXES`] again, once the rows are in and resolved.
    indexes: Vec<String>,
}

/// A snapshot id that is not known until the whole document is read: the header's snapshot.
const HEAD_SNAPSHOT: i64 = -1;
/// A plan id to fill in at the end: a placeholder plan for discs that name none.
const NO_PLAN: i64 = -1;
