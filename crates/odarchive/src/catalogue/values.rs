//! How typed values are stored in the catalogue: `ToSql`/`FromSql` for every stored enum
//! (disc, job and snapshot states, entry kinds, hash algorithms) and for content hashes, and
//! the one error type that carries what SQLite said.
//!
//! A stored value this build does not know is never read as some default: it is a
//! [`StoredValueError`], which [`super::InCatalogue`] turns into [`Error::Corrupt`] naming the
//! catalogue and the value (or, for a hash algorithm, [`Error::UnknownHashAlgorithm`]).

use std::fmt;

use rusqlite::types::{FromSql, FromSqlError, FromSqlResult, ToSql, ToSqlOutput, Type, ValueRef};

use super::{DiscState, EntryKind, JobState, SnapshotState};
use crate::error::Error;
use crate::hash::{ContentHash, HashAlgorithm};

/// What SQLite said about the catalogue (the source of [`Error::Catalogue`]).
#[derive(Debug)]
pub struct DatabaseError(pub(super) rusqlite::Error);

impl fmt::Display for DatabaseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl std::error::Error for DatabaseError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.0.source()
    }
}

/// Which kind of stored value a [`StoredValueError`] is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Stored {
    DiscState,
    EntryKind,
    JobState,
    SnapshotState,
    HashAlgorithm,
    FirstPaths,
    ImageSha256,
}

impl Stored {
    fn name(self) -> &'static str {
        match self {
            Stored::DiscState => "disc state",
            Stored::EntryKind => "entry kind",
            Stored::JobState => "job state",
            Stored::SnapshotState => "snapshot state",
            Stored::HashAlgorithm => "hash algorithm",
            Stored::FirstPaths => "plan's --first paths",
            Stored::ImageSha256 => "image SHA-256",
        }
    }
}

/// A stored value this build cannot read as its type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct StoredValueError {
    pub what: Stored,
    /// The value as stored (text, or a number's digits).
    pub value: String,
}

impl fmt::Display for StoredValueError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "unknown {} {:?}", self.what.name(), self.value)
    }
}

impl std::error::Error for StoredValueError {}

fn unknown(what: Stored, value: impl Into<String>) -> FromSqlError {
    FromSqlError::Other(Box::new(StoredValueError {
        what,
        value: value.into(),
    }))
}

/// The [`Error`] for a failed query on the catalogue at `path`: a stored value this build
/// does not know is corruption (or an unknown hash algorithm); anything else is SQLite's.
pub(super) fn catalogue_error(path: &std::path::Path, source: rusqlite::Error) -> Error {
    if let rusqlite::Error::FromSqlConversionFailure(_, _, cause) = &source {
        if let Some(bad) = cause.downcast_ref::<StoredValueError>() {
            return stored_value_error(path, bad);
        }
    }
    Error::Catalogue {
        path: path.to_path_buf(),
        source: DatabaseError(source),
    }
}

pub(super) fn stored_value_error(path: &std::path::Path, bad: &StoredValueError) -> Error {
    match bad.what {
        Stored::HashAlgorithm => Error::UnknownHashAlgorithm {
            path: path.to_path_buf(),
            name: bad.value.clone(),
        },
        _ => Error::Corrupt {
            path: path.to_path_buf(),
            reason: bad.to_string(),
        },
    }
}

/// A stored text, or a text showing the non-text value found instead.
fn text_of(value: ValueRef<'_>) -> std::result::Result<&str, String> {
    match value {
        ValueRef::Text(t) => std::str::from_utf8(t).map_err(|_| String::from_utf8_lossy(t).into()),
        ValueRef::Null => Err("NULL".into()),
        ValueRef::Integer(i) => Err(i.to_string()),
        ValueRef::Real(r) => Err(r.to_string()),
        ValueRef::Blob(b) => Err(format!("x'{}'", crate::hex(b))),
    }
}

/// `FromSql` and `ToSql` for an enum stored as the text of its `as_str`.
macro_rules! stored_as_text {
    ($type:ty, $what:expr, $parse:path, $text:path) => {
        impl FromSql for $type {
            fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
                match text_of(value) {
                    Ok(text) => $parse(text).ok_or_else(|| unknown($what, text)),
                    Err(shown) => Err(unknown($what, shown)),
                }
            }
        }

        impl ToSql for $type {
            fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
                Ok(ToSqlOutput::Borrowed(ValueRef::Text(
                    $text(*self).as_bytes(),
                )))
            }
        }
    };
}

stored_as_text!(
    DiscState,
    Stored::DiscState,
    DiscState::parse,
    DiscState::as_str
);
stored_as_text!(
    JobState,
    Stored::JobState,
    JobState::parse,
    JobState::as_str
);
stored_as_text!(
    SnapshotState,
    Stored::SnapshotState,
    SnapshotState::parse,
    SnapshotState::as_str
);
stored_as_text!(
    HashAlgorithm,
    Stored::HashAlgorithm,
    HashAlgorithm::from_name,
    HashAlgorithm::name
);

impl FromSql for EntryKind {
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        match value {
            ValueRef::Integer(code) => EntryKind::from_code(code)
                .ok_or_else(|| unknown(Stored::EntryKind, code.to_string())),
            other => Err(unknown(
                Stored::EntryKind,
                text_of(other).map_or_else(|shown| shown, str::to_owned),
            )),
        }
    }
}

impl ToSql for EntryKind {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::from(self.code()))
    }
}

/// The `--first` paths of a plan, stored as a JSON list of strings in column `column`.
pub(super) fn first_paths_from(text: &str, column: usize) -> rusqlite::Result<Vec<String>> {
    serde_json::from_str(text).map_err(|_| {
        let bad = StoredValueError {
            what: Stored::FirstPaths,
            value: text.to_owned(),
        };
        rusqlite::Error::FromSqlConversionFailure(column, Type::Text, Box::new(bad))
    })
}

/// A disc's image SHA-256 as stored in column `column`: 32 bytes, or none yet.
pub(super) fn image_sha256_from(
    blob: Option<Vec<u8>>,
    column: usize,
) -> rusqlite::Result<Option<[u8; 32]>> {
    let Some(blob) = blob else {
        return Ok(None);
    };
    <[u8; 32]>::try_from(blob.as_slice())
        .map(Some)
        .map_err(|_| {
            let bad = StoredValueError {
                what: Stored::ImageSha256,
                value: format!("x'{}' ({} bytes)", crate::hex(&blob), blob.len()),
            };
            rusqlite::Error::FromSqlConversionFailure(column, Type::Blob, Box::new(bad))
        })
}

impl ToSql for ContentHash {
    fn to_sql(&self) -> rusqlite::Result<ToSqlOutput<'_>> {
        Ok(ToSqlOutput::Borrowed(ValueRef::Blob(self.as_bytes())))
    }
}

impl FromSql for ContentHash {
    /// A blob of 32 or 64 bytes.
    fn column_result(value: ValueRef<'_>) -> FromSqlResult<Self> {
        let blob = value.as_blob()?;
        ContentHash::from_bytes(blob).ok_or(FromSqlError::InvalidBlobSize {
            expected_size: 32,
            blob_size: blob.len(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn hashes_are_stored_and_read_as_blobs() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch("CREATE TABLE t (h BLOB)").unwrap();
        let h = HashAlgorithm::Sha512.digest(b"x");
        conn.execute("INSERT INTO t VALUES (?1)", [h]).unwrap();
        let back: ContentHash = conn.query_row("SELECT h FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(back, h);
        let raw: Vec<u8> = conn.query_row("SELECT h FROM t", [], |r| r.get(0)).unwrap();
        assert_eq!(raw, h.as_bytes());
        conn.execute("UPDATE t SET h = x'0102'", []).unwrap();
        assert!(
            conn.query_row("SELECT h FROM t", [], |r| r.get::<_, ContentHash>(0))
                .is_err()
        );
    }

    fn read<T: FromSql>(sql_value: &str) -> rusqlite::Result<T> {
        let conn = Connection::open_in_memory().unwrap();
        conn.query_row(&format!("SELECT {sql_value}"), [], |r| r.get(0))
    }

    #[test]
    fn every_state_reads_back_as_written() {
        let conn = Connection::open_in_memory().unwrap();
        for state in [DiscState::Planned, DiscState::Written, DiscState::Verified] {
            let back: DiscState = conn.query_row("SELECT ?1", [state], |r| r.get(0)).unwrap();
            assert_eq!(back, state);
        }
        for kind in [EntryKind::File, EntryKind::Directory, EntryKind::Symlink] {
            let back: EntryKind = conn.query_row("SELECT ?1", [kind], |r| r.get(0)).unwrap();
            assert_eq!(back, kind);
        }
        for state in [SnapshotState::Scanning, SnapshotState::Complete] {
            let back: SnapshotState = conn.query_row("SELECT ?1", [state], |r| r.get(0)).unwrap();
            assert_eq!(back, state);
        }
        for algorithm in HashAlgorithm::ALL {
            let back: HashAlgorithm = conn
                .query_row("SELECT ?1", [algorithm], |r| r.get(0))
                .unwrap();
            assert_eq!(back, algorithm);
        }
    }

    #[test]
    fn an_unknown_value_is_corruption_naming_the_value() {
        let path = std::path::Path::new("/x/c.db");
        let cases = [
            (
                read::<DiscState>("'burnt'").unwrap_err(),
                "disc state \"burnt\"",
            ),
            (read::<EntryKind>("7").unwrap_err(), "entry kind \"7\""),
            (
                read::<JobState>("'paused'").unwrap_err(),
                "job state \"paused\"",
            ),
            (
                read::<SnapshotState>("NULL").unwrap_err(),
                "snapshot state \"NULL\"",
            ),
        ];
        for (err, named) in cases {
            match catalogue_error(path, err) {
                Error::Corrupt { path: p, reason } => {
                    assert_eq!(p, path);
                    assert!(reason.contains(named), "{reason}");
                }
                other => panic!("expected Corrupt, got {other:?}"),
            }
        }
        let err = read::<HashAlgorithm>("'md5'").unwrap_err();
        assert!(matches!(
            catalogue_error(path, err),
            Error::UnknownHashAlgorithm { name, .. } if name == "md5"
        ));
    }
}
