//! The catalogues of the original odarchive 0.1 (`"version": 2`), as it really writes them:
//!
//! `{"version": 2, "date": "2019-05-04T12:02:11.123456", "source_path": "/media/usb",
//! "segment_size": N | null, "guid", "job_name", "client_name", "iso_path_root": "/DATA",
//! "files": {"<SHA-512 hex>": {"filenames": {"/DATA/a/b.jpg": null, …}, "size": N,
//! "mtime": "2019-05-04T13:02:11", "disc_num": 0}}}`, every key sorted.
//!
//! - Paths are the paths on the disc: `/DATA/` and the path relative to the drive.
//! - A content is stored once, under the first of its names *in the order 0.1 walked the
//!   drive*, which the sorted JSON does not keep: the name recorded here is a first guess, and
//!   the disc itself says which name it is ([`crate::legacy`] looks, and records it).
//! - `disc_num` counts from 0 and becomes disc `disc_num + 1`; an archive 0.1 never segmented
//!   has no `disc_num` at all and is one disc (its `archive` command makes exactly that).
//! - `mtime` is the local time of the machine that ran 0.1, truncated to the second, without
//!   a zone ([`super::ImportOptions::timezone`] says which); `date` (when the catalogue was
//!   saved) is UTC, also without a zone. It becomes the snapshot's time; `source_path` its
//!   drive path.
//!
//! They become one snapshot, one disc per `disc_num`, SHA-512 contents, mode 0644.

use std::collections::BTreeSet;

use super::stream::{FileIn, Mtime, VersionIn};
use super::{Fail, HEAD_SNAPSHOT, Head, Importer, NO_PLAN, Res};
use crate::catalogue::discs::insert_disc;
use crate::catalogue::{DiscRecord, DiscState, EntryKind, InCatalogue};
use crate::legacy;

/// Whether `file` (and so the document) is in odarchive 0.1's shape.
pub(super) fn is_v01_file(head: &Head, file: &FileIn) -> bool {
    head.version.is_some_and(|v| v <= 2)
        || file.disc_num.is_some()
        || matches!(file.mtime, Some(Mtime::Local(_)))
        || file.filenames.0.iter().any(|(_, v)| v.is_none())
}

/// A 0.1 file name split into its path on the disc (`DATA/a/b.jpg`) and its path relative to
/// the drive (`a/b.jpg`).
pub(super) fn split_data_path(name: &str) -> (&str, &str) {
    let on_disc = name.trim_start_matches('/');
    let rel = on_disc
        .strip_prefix("DATA/")
        .or_else(|| on_disc.strip_prefix("Data/"))
        .unwrap_or(on_disc);
    (on_disc, rel)
}

/// A zone-less date-time (`2019-05-04T13:02:11`, fractions allowed) in `zone`, as ns.
fn civil_ns(text: &str, zone: &jiff::tz::TimeZone) -> Result<i64, String> {
    let civil: jiff::civil::DateTime = text.parse().map_err(|e| format!("{text:?}: {e}"))?;
    let zoned = civil
        .to_zoned(zone.clone())
        .map_err(|e| format!("{text:?}: {e}"))?;
    i64::try_from(zoned.timestamp().as_nanosecond()).map_err(|_| format!("{text:?} out of range"))
}

impl Importer<'_> {
    /// A 0.1 modification time: local time in the import's time zone.
    pub(super) fn local_time(&self, text: &str) -> Res<i64> {
        civil_ns(text, &self.timezone).map_err(|e| Fail::Bad(format!("bad modification time {e}")))
    }

    /// When the 0.1 catalogue was saved (its `date`, UTC), if it says.
    pub(super) fn v01_snapshot_time(&self) -> Res<Option<i64>> {
        match &self.head.v01_date {
            None => Ok(None),
            Some(date) => civil_ns(date, &jiff::tz::TimeZone::UTC)
                .map(Some)
                .map_err(|e| Fail::Bad(format!("bad date {e}"))),
        }
    }

    /// The drive the 0.1 catalogue describes (its `source_path`), or empty.
    pub(super) fn v01_drive_path(&self) -> Res<Vec<u8>> {
        match &self.head.v01_source_path {
            None => Ok(Vec::new()),
            Some(p) => self.path(p),
        }
    }

    /// The placement of a 0.1 content: whole, on disc `disc_num` (disc 0 when 0.1 never
    /// segmented the archive), under its first name as a first guess.
    pub(super) fn v01_placement(
        &mut self,
        content: i64,
        file: &FileIn,
        first_path: &[u8],
        stored_as: &str,
    ) -> Res<()> {
        let disc = self.v01_disc(file.disc_num.unwrap_or(0))?;
        self.placement(
            content, disc, 0, 1, 0, file.size, None, first_path, stored_as, stored_as, "",
        )
    }

    /// The folders above a 0.1 catalogue's files, which it does not record: a snapshot's
    /// folder is listed through its own entry (`odarchive mount`, browsing), so each becomes
    /// one, mode 0755, dated when the catalogue was saved.
    pub(super) fn v01_folders(&mut self) -> Res<()> {
        let paths: Vec<Vec<u8>> = {
            let mut stmt = self
                .tx
                .prepare("SELECT path FROM entry WHERE first_snapshot = ?1 AND kind = ?2")
                .in_catalogue(self.catalogue)?;
            let rows = stmt
                .query_map(
                    rusqlite::params![HEAD_SNAPSHOT, EntryKind::File.code()],
                    |r| r.get(0),
                )
                .in_catalogue(self.catalogue)?;
            rows.collect::<rusqlite::Result<_>>()
                .in_catalogue(self.catalogue)?
        };
        let mut folders = BTreeSet::new();
        for path in &paths {
            let mut end = path.len();
            while let Some(slash) = path[..end].iter().rposition(|&b| b == b'/') {
                if !folders.insert(path[..slash].to_vec()) {
                    break; // and so are the folders above it
                }
                end = slash;
            }
        }
        let time = self.v01_snapshot_time()?.unwrap_or(0);
        let version = VersionIn {
            mtime: Some(Mtime::Ns(time)),
            ..VersionIn::default()
        };
        for folder in folders {
            self.insert_entry(&folder, EntryKind::Directory, None, 0, &version, time)?;
        }
        Ok(())
    }

    /// The disc row of odarchive 0.1's disc `n` (counted from 0), made on first use.
    fn v01_disc(&mut self, n: i64) -> Res<i64> {
        if let Some(&id) = self.legacy_discs.get(&n) {
            return Ok(id);
        }
        let number = n
            .checked_add(1)
            .filter(|&k| (1..=i64::from(u32::MAX)).contains(&k))
            .ok_or_else(|| Fail::Bad(format!("bad disc_num {n}")))?;
        let disc = DiscRecord {
            id: 0,
            number: number as u32,
            plan_id: NO_PLAN,
            snapshot: HEAD_SNAPSHOT,
            capacity: 0,
            margin: 0,
            media: legacy::MEDIA.to_owned(),
            label: legacy::label(n),
            state: DiscState::Written,
            image_size: 0,
            files: 0,
            bytes: 0,
            image_name: None,
            image_sha256: None,
            written_ns: None,
            verified_ns: None,
            set_id: String::new(),
        };
        let id = insert_disc(self.tx, &disc, None).in_catalogue(self.catalogue)?;
        self.legacy_discs.insert(n, id);
        Ok(id)
    }
}
