//! The catalogue: an SQLite database that records snapshots of drives, their entries and the
//! unique contents behind them, plus the jobs that work on it.
//!
//! [`Catalogue`] is the handle. It opens the file in WAL mode (readers such as `odarchive
//! status` are never blocked by a running scan), applies forward [`schema`] migrations, and
//! refuses a catalogue from a newer odarchive with [`Error::NewerSchema`]. Every change happens
//! in a transaction.
//!
//! This is the only module that speaks SQL: every query is a method here (in a file named by
//! what it reads or writes) returning typed values. Stored states, kinds and algorithms are
//! read through `FromSql` (`values.rs`), and a value this build does not know is
//! [`Error::Corrupt`], never a default. Foreign keys are checked on every connection.
//!
//! The table layout is described in [`schema`].

mod browse;
mod diff;
pub mod disc_checks;
mod discs;
mod entries;
pub mod import;
mod index_rows;
mod job;
pub mod job_history;
pub mod json;
pub mod json_file;
mod legacy_names;
mod merge;
mod open_error;
mod paths;
mod placements;
mod plan_entries;
mod plans;
mod read_together;
mod restore_set;
pub mod schema;
pub mod search;
mod set_parity;
mod snapshot_info;
mod snapshot_writer;
mod values;

pub(crate) use diff::Unshared;
pub use discs::{DiscRecord, DiscState};
pub use entries::{Entry, EntryKind, Owner, Snapshot, SnapshotState};
pub use index_rows::{IndexedFile, StoredDiscs};
pub(crate) use job::JobCounters;
pub use job::{Job, JobState};
pub use merge::{MergeReport, MergedDisc, MergedSnapshot};
pub(crate) use paths::RecordedVersion;
pub use placements::{DiscExtent, Placement, WrittenExtent};
pub use plan_entries::PlanEntry;
pub use plans::{PlanRecord, PlanWriter};
pub use restore_set::{ContentState, DiscShare, FirstName, RestoreSet};
pub use set_parity::{GroupSettlement, NewSetGroups, SetFold, SetGroup, SetParityDisc};
pub(crate) use snapshot_writer::{NewEntry, SnapshotWriter};
pub use values::DatabaseError;

use std::path::{Path, PathBuf};
use std::time::Duration;

use rusqlite::{Connection, OpenFlags, OptionalExtension, TransactionBehavior};

use crate::error::{Error, Result};
use crate::hash::HashAlgorithm;
use crate::time::now_ns;

/// The hash algorithm of catalogues created without choosing one.
pub const HASH_ALGORITHM: HashAlgorithm = HashAlgorithm::Sha256;

/// How long a connection waits for another one's lock before giving up.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// An open catalogue.
#[derive(Debug)]
pub struct Catalogue {
    conn: Connection,
    path: PathBuf,
}

/// The catalogue's single `archive` row: what this disc set is.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct ArchiveRecord {
    /// Random 128-bit identifier of the disc set, as 32 hex digits.
    pub set_id: String,
    /// Hash algorithm of the `content` table (see [`Catalogue::hash_algorithm`]).
    pub hash_algorithm: HashAlgorithm,
    /// When the catalogue was created, in nanoseconds since the Unix epoch.
    pub created_ns: i64,
    /// Version of odarchive that created it.
    pub tool_version: String,
}

impl Catalogue {
    /// Opens the catalogue at `path` for reading and writing, creating it if it does not exist,
    /// and brings its schema up to date.
    /// A new catalogue made this way hashes contents with [`HASH_ALGORITHM`] (SHA-256).
    pub fn create_or_open(path: impl AsRef<Path>) -> Result<Self> {
        Self::open_with(path.as_ref(), OpenFlags::default(), HASH_ALGORITHM)
    }

    /// Creates a new catalogue at `path` (which must not exist) whose contents are hashed with
    /// `algorithm`, e.g. SHA-512 for one imported from the original odarchive. The algorithm
    /// is kept for the catalogue's whole life.
    pub fn create_with_algorithm(path: impl AsRef<Path>, algorithm: HashAlgorithm) -> Result<Self> {
        let path = path.as_ref();
        let exists = |found: Option<String>| Error::CatalogueExists {
            path: path.to_path_buf(),
            algorithm: found,
        };
        if path.exists() {
            return Err(exists(None));
        }
        let catalogue = Self::open_with(path, OpenFlags::default(), algorithm)?;
        // Another process may have created the file between the check and the open.
        let found = catalogue.archive()?.hash_algorithm;
        if found != algorithm {
            return Err(exists(Some(found.name().to_owned())));
        }
        Ok(catalogue)
    }

    /// Opens an existing catalogue for reading and writing and brings its schema up to date.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(Error::NoCatalogue {
                path: path.to_path_buf(),
            });
        }
        Self::open_with(path, OpenFlags::default(), HASH_ALGORITHM)
    }

    /// Opens an existing catalogue for reading only. Works while another process writes it.
    pub fn open_read_only(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(Error::NoCatalogue {
                path: path.to_path_buf(),
            });
        }
        Self::open_reading(path).map_err(|e| open_error::explain(path, e))
    }

    /// Opens `path` to be read, as [`Catalogue::open_read_only`], but first brings a catalogue
    /// of an older odarchive up to this schema (the one write it is given), as every command
    /// that opens a catalogue for writing would. For a catalogue a command only reads but
    /// that may come from an older odarchive (`merge OTHER.db`).
    pub fn open_read_only_upgraded(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        if !path.exists() {
            return Err(Error::NoCatalogue {
                path: path.to_path_buf(),
            });
        }
        let peek =
            Self::connect(path, Self::READ_ONLY).map_err(|e| open_error::explain(path, e))?;
        let older = peek.schema_version()? < schema::SCHEMA_VERSION;
        drop(peek);
        if older {
            drop(Self::open(path)?);
        }
        Self::open_read_only(path)
    }

    fn open_reading(path: &Path) -> Result<Self> {
        let catalogue = Self::connect(path, Self::READ_ONLY)?;
        let version = catalogue.schema_version()?;
        if version < schema::SCHEMA_VERSION {
            return Err(Error::Corrupt {
                path: path.to_path_buf(),
                reason: format!(
                    "schema version {version} needs an upgrade to {}; open it read-write first \
                     (any `odarchive scan` does)",
                    schema::SCHEMA_VERSION
                ),
            });
        }
        // Sorts and TEMP tables (a restore's selection) spill to a file, not to memory.
        catalogue
            .conn
            .pragma_update(None, "temp_store", "FILE")
            .in_catalogue(path)?;
        Ok(catalogue)
    }

    const READ_ONLY: OpenFlags =
        OpenFlags::SQLITE_OPEN_READ_ONLY.union(OpenFlags::SQLITE_OPEN_NO_MUTEX);

    /// A connection to `path` with `flags`: its busy timeout, foreign keys on, and a schema
    /// this odarchive knows (not newer than its own).
    fn connect(path: &Path, flags: OpenFlags) -> Result<Self> {
        let conn = Connection::open_with_flags(path, flags).in_catalogue(path)?;
        conn.busy_timeout(BUSY_TIMEOUT).in_catalogue(path)?;
        let catalogue = Catalogue {
            conn,
            path: path.to_path_buf(),
        };
        catalogue.enforce_foreign_keys()?;
        // Check the version before touching anything a newer schema might use differently.
        let version = catalogue.schema_version()?;
        if version > schema::SCHEMA_VERSION {
            return Err(catalogue.newer_schema(version));
        }
        Ok(catalogue)
    }

    /// Opens (creating if needed) and migrates; a new catalogue gets `algorithm`.
    fn open_with(path: &Path, flags: OpenFlags, algorithm: HashAlgorithm) -> Result<Self> {
        Self::open_writable(path, flags, algorithm).map_err(|e| open_error::explain(path, e))
    }

    fn open_writable(path: &Path, flags: OpenFlags, algorithm: HashAlgorithm) -> Result<Self> {
        let mut catalogue = Self::connect(path, flags)?;
        catalogue
            .conn
            .execute_batch(
                "PRAGMA journal_mode = WAL;
                 PRAGMA synchronous = NORMAL;
                 PRAGMA cache_size = -16384;
                 PRAGMA temp_store = FILE;",
            )
            .in_catalogue(path)?;
        catalogue.migrate(algorithm)?;
        Ok(catalogue)
    }

    /// Opens a second, read-only connection to the same file, e.g. for a thread that looks
    /// things up while this handle writes.
    pub fn reader(&self) -> Result<Catalogue> {
        Catalogue::open_read_only(&self.path)
    }

    /// The catalogue file.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How many TEMP tables this handle's connection holds (a restore leaves none behind).
    pub fn temp_table_count(&self) -> Result<i64> {
        self.conn
            .query_row("SELECT count(*) FROM temp.sqlite_master", [], |r| r.get(0))
            .in_catalogue(&self.path)
    }

    /// This handle's `PRAGMA temp_store`: 1 means a file, so a restore's sorts and TEMP
    /// tables spill to disc instead of memory.
    pub fn temp_store(&self) -> Result<i64> {
        self.conn
            .query_row("PRAGMA temp_store", [], |r| r.get(0))
            .in_catalogue(&self.path)
    }

    /// The schema version recorded in the file (`PRAGMA user_version`). A negative or absurd
    /// version is [`Error::Corrupt`].
    pub fn schema_version(&self) -> Result<i64> {
        let version = self
            .conn
            .query_row("PRAGMA user_version", [], |r| r.get(0))
            .in_catalogue(&self.path)?;
        plausible_version(&self.path, version)
    }

    /// Switches foreign key checks on for this connection, and checks that they are on (the
    /// pragma does nothing inside a transaction or in an SQLite built without them).
    fn enforce_foreign_keys(&self) -> Result<()> {
        self.conn
            .pragma_update(None, "foreign_keys", true)
            .in_catalogue(&self.path)?;
        let on: bool = self
            .conn
            .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
            .in_catalogue(&self.path)?;
        if on {
            Ok(())
        } else {
            Err(Error::Internal(format!(
                "catalogue {}: SQLite did not switch foreign key checks on",
                self.path.display()
            )))
        }
    }

    /// The catalogue's `archive` row. A hash algorithm this build does not know is
    /// [`Error::UnknownHashAlgorithm`].
    pub fn archive(&self) -> Result<ArchiveRecord> {
        self.conn
            .query_row(
                "SELECT set_id, hash_algorithm, created_ns, tool_version FROM archive",
                [],
                |r| {
                    Ok(ArchiveRecord {
                        set_id: r.get(0)?,
                        hash_algorithm: r.get(1)?,
                        created_ns: r.get(2)?,
                        tool_version: r.get(3)?,
                    })
                },
            )
            .optional()
            .in_catalogue(&self.path)?
            .ok_or_else(|| self.corrupt("the archive row is missing"))
    }

    /// The algorithm this catalogue hashes contents with (`archive.hash_algorithm`). A name
    /// this build does not know is an error naming the catalogue file.
    pub fn hash_algorithm(&self) -> Result<HashAlgorithm> {
        Ok(self.archive()?.hash_algorithm)
    }

    fn newer_schema(&self, found: i64) -> Error {
        Error::NewerSchema {
            path: self.path.clone(),
            found,
            supported: schema::SCHEMA_VERSION,
        }
    }

    pub(crate) fn corrupt(&self, reason: impl Into<String>) -> Error {
        Error::Corrupt {
            path: self.path.clone(),
            reason: reason.into(),
        }
    }

    /// Applies the migrations this file lacks, each in its own transaction. Taking the write
    /// lock first (`BEGIN IMMEDIATE`) and re-reading the version inside makes two processes
    /// opening a new catalogue at once safe. A new catalogue's archive row gets `algorithm`.
    fn migrate(&mut self, algorithm: HashAlgorithm) -> Result<()> {
        let path = self.path.clone();
        loop {
            let tx = self
                .conn
                .transaction_with_behavior(TransactionBehavior::Immediate)
                .in_catalogue(&path)?;
            let version: i64 = tx
                .query_row("PRAGMA user_version", [], |r| r.get(0))
                .in_catalogue(&path)?;
            let version = plausible_version(&path, version)?;
            if version >= schema::SCHEMA_VERSION {
                return Ok(());
            }
            let step = schema::MIGRATIONS[version as usize];
            tx.execute_batch(step).in_catalogue(&path)?;
            if version == 0 {
                tx.execute(
                    "INSERT INTO archive (id, set_id, hash_algorithm, created_ns, tool_version)
                     VALUES (1, ?1, ?2, ?3, ?4)",
                    (
                        new_set_id(),
                        algorithm.name(),
                        now_ns(),
                        env!("CARGO_PKG_VERSION"),
                    ),
                )
                .in_catalogue(&path)?;
            }
            tx.pragma_update(None, "user_version", version + 1)
                .in_catalogue(&path)?;
            tx.commit().in_catalogue(&path)?;
        }
    }
}

/// `version` if it can be the schema version of the catalogue at `path`: not negative, and
/// not beyond any odarchive's.
fn plausible_version(path: &Path, version: i64) -> Result<i64> {
    if (0..=schema::MAX_PLAUSIBLE_VERSION).contains(&version) {
        Ok(version)
    } else {
        Err(Error::Corrupt {
            path: path.to_path_buf(),
            reason: format!(
                "its schema version (user_version) is {version}, which no odarchive writes"
            ),
        })
    }
}

/// A fresh random disc-set identifier: 128 bits from the kernel, as hex. Falls back to the
/// clock and process id where `/dev/urandom` is missing (uniqueness, not secrecy, matters).
fn new_set_id() -> String {
    use std::io::Read;
    let mut bytes = [0u8; 16];
    let random = std::fs::File::open("/dev/urandom").and_then(|mut f| f.read_exact(&mut bytes));
    if random.is_err() {
        let seed = (now_ns() as u128) << 32 | u128::from(std::process::id());
        bytes = seed.to_le_bytes();
    }
    crate::hex(&bytes)
}

/// Attaches the catalogue path to SQLite errors.
pub(crate) trait InCatalogue<T> {
    fn in_catalogue(self, path: &Path) -> Result<T>;
}

impl<T> InCatalogue<T> for rusqlite::Result<T> {
    fn in_catalogue(self, path: &Path) -> Result<T> {
        self.map_err(|source| values::catalogue_error(path, source))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn new_catalogue_is_at_the_current_version_with_an_archive_row() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let catalogue = Catalogue::create_or_open(&path).unwrap();
        assert_eq!(catalogue.schema_version().unwrap(), schema::SCHEMA_VERSION);
        let archive = catalogue.archive().unwrap();
        assert_eq!(archive.set_id.len(), 32);
        assert_eq!(archive.hash_algorithm, HashAlgorithm::Sha256);
        drop(catalogue);
        // Reopening keeps the same set id.
        let again = Catalogue::open(&path).unwrap();
        assert_eq!(again.archive().unwrap(), archive);
    }

    #[test]
    fn a_catalogue_keeps_the_algorithm_it_was_created_with() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let catalogue = Catalogue::create_with_algorithm(&path, HashAlgorithm::Sha512).unwrap();
        assert_eq!(catalogue.hash_algorithm().unwrap(), HashAlgorithm::Sha512);
        assert_eq!(
            catalogue.archive().unwrap().hash_algorithm,
            HashAlgorithm::Sha512
        );
        drop(catalogue);
        // Opening it again, even with the call that would create a SHA-256 one, keeps it.
        let again = Catalogue::create_or_open(&path).unwrap();
        assert_eq!(again.hash_algorithm().unwrap(), HashAlgorithm::Sha512);
        drop(again);
        // It is never created over an existing file.
        assert!(matches!(
            Catalogue::create_with_algorithm(&path, HashAlgorithm::Sha256),
            Err(Error::CatalogueExists { .. })
        ));
        let plain = Catalogue::create_or_open(dir.path().join("d.db")).unwrap();
        assert_eq!(plain.hash_algorithm().unwrap(), HashAlgorithm::Sha256);
    }

    #[test]
    fn an_unknown_algorithm_is_an_error_naming_the_catalogue() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let catalogue = Catalogue::create_or_open(&path).unwrap();
        catalogue
            .conn
            .execute("UPDATE archive SET hash_algorithm = 'md5'", [])
            .unwrap();
        let err = catalogue.hash_algorithm().unwrap_err();
        assert!(
            matches!(&err, Error::UnknownHashAlgorithm { name, .. } if name == "md5"),
            "{err:?}"
        );
        let text = err.to_string();
        assert!(
            text.contains(&path.display().to_string()) && text.contains("md5"),
            "{text}"
        );
    }

    #[test]
    fn foreign_keys_are_enforced_on_every_handle() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let writer = Catalogue::create_or_open(&path).unwrap();
        let reader = Catalogue::open_read_only(&path).unwrap();
        for handle in [&writer, &reader] {
            let on: bool = handle
                .conn
                .query_row("PRAGMA foreign_keys", [], |r| r.get(0))
                .unwrap();
            assert!(on);
        }
        // An entry of a snapshot that does not exist is refused.
        let orphan = writer.conn.execute(
            "INSERT INTO entry (path, kind, size, mtime_ns, mode, dev, inode, first_snapshot, \
             last_snapshot) VALUES (x'61', 1, 0, 0, 0, 0, 0, 7, 7)",
            [],
        );
        assert!(orphan.is_err(), "{orphan:?}");
    }

    #[test]
    fn set_ids_differ() {
        assert_ne!(new_set_id(), new_set_id());
    }

    #[test]
    fn newer_schema_is_refused_with_both_versions() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        let conn = Connection::open(&path).unwrap();
        conn.pragma_update(None, "user_version", 99).unwrap();
        drop(conn);
        for result in [Catalogue::open(&path), Catalogue::open_read_only(&path)] {
            match result {
                Err(Error::NewerSchema {
                    found: 99,
                    supported,
                    ..
                }) => {
                    assert_eq!(supported, schema::SCHEMA_VERSION)
                }
                other => panic!("expected NewerSchema, got {other:?}"),
            }
        }
    }

    #[test]
    fn missing_catalogue_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("nope.db");
        assert!(matches!(
            Catalogue::open_read_only(&path),
            Err(Error::NoCatalogue { .. })
        ));
        assert!(
            !path.exists(),
            "opening for reading must not create the file"
        );
    }
}
