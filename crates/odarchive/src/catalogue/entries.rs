//! Snapshots and the entries in them.

use std::ffi::OsString;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::{Path, PathBuf};

use rusqlite::{OptionalExtension, Row};

use super::{Catalogue, InCatalogue};
use crate::error::Result;
use crate::hash::ContentHash;
use crate::time::now_ns;

/// What kind of file system object an entry is. The numbers are stored in the catalogue.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum EntryKind {
    /// A regular file.
    File = 1,
    /// A directory.
    Directory = 2,
    /// A symbolic link; its target is recorded, never followed.
    Symlink = 3,
}

impl EntryKind {
    /// The code stored in `entry.kind`.
    pub fn code(self) -> i64 {
        self as i64
    }

    /// The kind for a stored code.
    pub fn from_code(code: i64) -> Option<EntryKind> {
        match code {
            1 => Some(EntryKind::File),
            2 => Some(EntryKind::Directory),
            3 => Some(EntryKind::Symlink),
            _ => None,
        }
    }
}

/// Whether a snapshot's scan has finished.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SnapshotState {
    /// The scan has not finished (it runs, or it was interrupted and the next scan resumes it).
    Scanning,
    /// The scan finished; the snapshot is the drive as it was then.
    Complete,
}

impl SnapshotState {
    /// The text stored in `snapshot.state`.
    pub fn as_str(self) -> &'static str {
        match self {
            SnapshotState::Scanning => "scanning",
            SnapshotState::Complete => "complete",
        }
    }

    /// The state stored as `s`; `None` for a text this build does not know.
    pub(super) fn parse(s: &str) -> Option<SnapshotState> {
        Some(match s {
            "scanning" => SnapshotState::Scanning,
            "complete" => SnapshotState::Complete,
            _ => return None,
        })
    }
}

/// One scan of a drive.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Snapshot {
    /// Snapshot number, increasing with time.
    pub id: i64,
    /// The absolute path of the scanned drive root.
    pub drive_path: PathBuf,
    /// When the scan started, in nanoseconds since the Unix epoch.
    pub started_ns: i64,
    /// When it finished, if it has.
    pub finished_ns: Option<i64>,
    /// Whether it finished.
    pub state: SnapshotState,
    /// The drive root's mtime when the scan began (`None` in catalogues from before it was
    /// recorded).
    pub root_mtime_ns: Option<i64>,
}

/// Who owned an entry when it was scanned: ids, and the names they had on the scanning
/// machine (when it had names for them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Owner {
    /// User id.
    pub uid: u32,
    /// Group id.
    pub gid: u32,
    /// The user's name.
    pub user: Option<String>,
    /// The group's name.
    pub group: Option<String>,
}

/// One version of a path, as recorded by a scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// Row id.
    pub id: i64,
    /// Path relative to the drive root: raw name bytes joined by `/`.
    pub path: Vec<u8>,
    /// What it is.
    pub kind: EntryKind,
    /// The content row of a hashed file; `None` for directories, symlinks, and files that could
    /// not be read.
    pub content_id: Option<i64>,
    /// The content hash (in the catalogue's algorithm) when there is a content.
    pub hash: Option<ContentHash>,
    /// Size in bytes (of a symlink: the length of its target).
    pub size: u64,
    /// Modification time in nanoseconds since the Unix epoch (negative before 1970).
    pub mtime_ns: i64,
    /// Permission bits (`st_mode & 0o7777`).
    pub mode: u32,
    /// A symlink's target, raw bytes.
    pub link_target: Option<Vec<u8>>,
    /// Device number at scan time.
    pub dev: u64,
    /// Inode number at scan time.
    pub inode: u64,
    /// Owner and group; `None` in catalogues from before they were recorded.
    pub owner: Option<Owner>,
    /// First snapshot this version is in.
    pub first_snapshot: i64,
    /// Last snapshot this version is in.
    pub last_snapshot: i64,
}

impl Entry {
    /// The relative path as a `Path` (exact bytes, also when they are not UTF-8).
    pub fn relative_path(&self) -> &Path {
        Path::new(std::ffi::OsStr::from_bytes(&self.path))
    }

    /// The columns [`Entry::from_row_at`] reads, from `entry e LEFT JOIN content c`.
    pub(super) const COLUMNS: &'static str = "e.id, e.path, e.kind, e.content_id, c.hash, e.size, \
         e.mtime_ns, e.mode, e.link_target, e.dev, e.inode, e.first_snapshot, e.last_snapshot, \
         e.uid, e.gid, e.user_name, e.group_name";

    /// How many columns [`Entry::COLUMNS`] has.
    pub(super) const COLUMN_COUNT: usize = 17;

    fn from_row(row: &Row<'_>) -> rusqlite::Result<Entry> {
        Entry::from_row_at(row, 0)
    }

    /// Reads [`Entry::COLUMNS`] from `row`, starting at column `at`.
    pub(super) fn from_row_at(row: &Row<'_>, at: usize) -> rusqlite::Result<Entry> {
        Ok(Entry {
            id: row.get(at)?,
            path: row.get(at + 1)?,
            kind: row.get(at + 2)?,
            content_id: row.get(at + 3)?,
            hash: row.get(at + 4)?,
            size: row.get::<_, i64>(at + 5)? as u64,
            mtime_ns: row.get(at + 6)?,
            mode: row.get::<_, i64>(at + 7)? as u32,
            link_target: row.get(at + 8)?,
            dev: row.get::<_, i64>(at + 9)? as u64,
            inode: row.get::<_, i64>(at + 10)? as u64,
            first_snapshot: row.get(at + 11)?,
            last_snapshot: row.get(at + 12)?,
            owner: owner_at(row, at + 13)?,
        })
    }
}

/// The owner columns `uid, gid, user_name, group_name` from `at`; `None` when not recorded.
pub(super) fn owner_at(row: &Row<'_>, at: usize) -> rusqlite::Result<Option<Owner>> {
    let (uid, gid): (Option<i64>, Option<i64>) = (row.get(at)?, row.get(at + 1)?);
    let (Some(uid), Some(gid)) = (uid, gid) else {
        return Ok(None);
    };
    Ok(Some(Owner {
        uid: uid as u32,
        gid: gid as u32,
        user: row.get(at + 2)?,
        group: row.get(at + 3)?,
    }))
}

fn snapshot_from_row(row: &Row<'_>) -> rusqlite::Result<Snapshot> {
    let drive: Vec<u8> = row.get(1)?;
    Ok(Snapshot {
        id: row.get(0)?,
        drive_path: PathBuf::from(OsString::from_vec(drive)),
        started_ns: row.get(2)?,
        finished_ns: row.get(3)?,
        state: row.get(4)?,
        root_mtime_ns: row.get(5)?,
    })
}

const SNAPSHOT_COLUMNS: &str = "id, drive_path, started_ns, finished_ns, state, root_mtime_ns";

impl Catalogue {
    /// All snapshots, oldest first.
    pub fn snapshots(&self) -> Result<Vec<Snapshot>> {
        let sql = format!("SELECT {SNAPSHOT_COLUMNS} FROM snapshot ORDER BY id");
        let mut stmt = self.conn.prepare(&sql).in_catalogue(&self.path)?;
        let rows = stmt
            .query_map([], snapshot_from_row)
            .in_catalogue(&self.path)?;
        rows.collect::<rusqlite::Result<_>>()
            .in_catalogue(&self.path)
    }

    /// The newest snapshot whose scan completed.
    pub fn latest_complete_snapshot(&self) -> Result<Option<Snapshot>> {
        let sql = format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM snapshot WHERE state = 'complete' \
             ORDER BY id DESC LIMIT 1"
        );
        self.conn
            .query_row(&sql, [], snapshot_from_row)
            .optional()
            .in_catalogue(&self.path)
    }

    /// Calls `visit` for every entry in `snapshot`, in path byte order, streaming from the
    /// database (memory does not grow with the number of entries).
    pub fn for_each_entry(
        &self,
        snapshot: i64,
        mut visit: impl FnMut(Entry) -> Result<()>,
    ) -> Result<()> {
        let sql = format!(
            "SELECT {} FROM entry e LEFT JOIN content c ON c.id = e.content_id \
             WHERE e.first_snapshot <= ?1 AND e.last_snapshot >= ?1 ORDER BY e.path",
            Entry::COLUMNS
        );
        let mut stmt = self.conn.prepare(&sql).in_catalogue(&self.path)?;
        let mut rows = stmt.query([snapshot]).in_catalogue(&self.path)?;
        while let Some(row) = rows.next().in_catalogue(&self.path)? {
            visit(Entry::from_row(row).in_catalogue(&self.path)?)?;
        }
        Ok(())
    }

    /// The newest recorded version of `path` (relative, raw bytes), in any snapshot.
    pub fn latest_version(&self, path: &[u8]) -> Result<Option<Entry>> {
        let sql = format!(
            "SELECT {} FROM entry e LEFT JOIN content c ON c.id = e.content_id \
             WHERE e.path = ?1 ORDER BY e.last_snapshot DESC LIMIT 1",
            Entry::COLUMNS
        );
        let mut stmt = self.conn.prepare_cached(&sql).in_catalogue(&self.path)?;
        stmt.query_row([path], Entry::from_row)
            .optional()
            .in_catalogue(&self.path)
    }

    /// Calls `visit(path, cause)` for every error recorded in `snapshot`.
    pub fn for_each_scan_error(
        &self,
        snapshot: i64,
        mut visit: impl FnMut(&[u8], &str),
    ) -> Result<()> {
        let mut stmt = self
            .conn
            .prepare("SELECT path, cause FROM scan_error WHERE snapshot = ?1 ORDER BY path")
            .in_catalogue(&self.path)?;
        let mut rows = stmt.query([snapshot]).in_catalogue(&self.path)?;
        while let Some(row) = rows.next().in_catalogue(&self.path)? {
            let path: Vec<u8> = row.get(0).in_catalogue(&self.path)?;
            let cause: String = row.get(1).in_catalogue(&self.path)?;
            visit(&path, &cause);
        }
        Ok(())
    }

    /// Finds the unfinished snapshot of `drive` to resume, or starts a new one (the drive
    /// root's mtime being `root_mtime_ns`), and attaches it to `job`. Returns the snapshot and
    /// whether it is resumed.
    pub(crate) fn begin_snapshot(
        &mut self,
        drive: &Path,
        root_mtime_ns: Option<i64>,
        job: i64,
    ) -> Result<(Snapshot, bool)> {
        let path = self.path.clone();
        let drive_bytes = drive.as_os_str().as_bytes();
        let tx = self.conn.transaction().in_catalogue(&path)?;
        let sql = format!(
            "SELECT {SNAPSHOT_COLUMNS} FROM snapshot WHERE state = 'scanning' AND drive_path = ?1 \
             ORDER BY id DESC LIMIT 1"
        );
        let unfinished = tx
            .query_row(&sql, [drive_bytes], snapshot_from_row)
            .optional()
            .in_catalogue(&path)?;
        if let Some(snapshot) = unfinished {
            tx.execute(
                "UPDATE job SET snapshot = ?2 WHERE id = ?1",
                (job, snapshot.id),
            )
            .in_catalogue(&path)?;
            tx.commit().in_catalogue(&path)?;
            return Ok((snapshot, true));
        }
        let started_ns = now_ns();
        tx.execute(
            "INSERT INTO snapshot (drive_path, started_ns, state, root_mtime_ns) \
             VALUES (?1, ?2, 'scanning', ?3)",
            (drive_bytes, started_ns, root_mtime_ns),
        )
        .in_catalogue(&path)?;
        let id = tx.last_insert_rowid();
        tx.execute("UPDATE job SET snapshot = ?2 WHERE id = ?1", (job, id))
            .in_catalogue(&path)?;
        tx.commit().in_catalogue(&path)?;
        let snapshot = Snapshot {
            id,
            drive_path: drive.to_path_buf(),
            started_ns,
            finished_ns: None,
            state: SnapshotState::Scanning,
            root_mtime_ns,
        };
        Ok((snapshot, false))
    }
}
