//! The entries and contents one restore is about, kept in TEMP tables of the catalogue's
//! connection, so that a restore holds no per-file state in memory however many files the
//! snapshot has.
//!
//! [`Catalogue::restore_set`] makes two tables in SQLite's temp database, which lives in a
//! file SQLite deletes by itself (also on a read-only connection; a connection that keeps its
//! temp store in memory is switched to a file for the set's life), so memory is bounded by
//! SQLite's page cache:
//!
//! - `restore_entry(seq, entry_id, kind)`: the selected entries; `seq` follows path byte order.
//! - `restore_content(content_id, first_entry, state)`: each content of a selected file, with
//!   its first name in path order (where its bytes go; the other names are made from it) and
//!   how far its restore is ([`ContentState`]).
//!
//! Every read is a streaming query in the order the restore needs (the outer loop pinned with
//! `CROSS JOIN`, so no query sorts the selection); the tables go with the [`RestoreSet`].

use std::cell::RefCell;
use std::collections::HashMap;

use rusqlite::{OptionalExtension, Row};

use super::placements::{PLACEMENT_COLUMNS, placement_at};
use super::{Catalogue, Entry, EntryKind, InCatalogue, Placement};
use crate::error::Result;

/// The TEMP tables of a restore set.
const CREATE: &str = "
    CREATE TEMP TABLE restore_entry (
        seq      INTEGER PRIMARY KEY,
        entry_id INTEGER NOT NULL,
        kind     INTEGER NOT NULL
    );
    CREATE TEMP TABLE restore_content (
        content_id  INTEGER PRIMARY KEY,
        first_entry INTEGER NOT NULL,
        state       INTEGER NOT NULL DEFAULT 0
    );";

const DROP: &str = "
    DROP TABLE IF EXISTS temp.restore_entry;
    DROP TABLE IF EXISTS temp.restore_content;";

/// How far the restore of one content is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ContentState {
    /// Still to be read from a disc.
    ToDo,
    /// In place under its first name (restored now, or by an earlier run).
    Done,
    /// Given up on in this run; the problem is reported.
    Failed,
}

impl ContentState {
    fn code(self) -> i64 {
        match self {
            ContentState::ToDo => 0,
            ContentState::Done => 1,
            ContentState::Failed => 2,
        }
    }

    fn from_code(code: i64) -> ContentState {
        match code {
            1 => ContentState::Done,
            2 => ContentState::Failed,
            _ => ContentState::ToDo,
        }
    }
}

/// What one disc holds of a restore set (see [`RestoreSet::discs_needed`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DiscShare {
    /// The disc's number.
    pub number: u32,
    /// Files of the selection on it (whole contents or parts).
    pub files: u64,
    /// Their bytes on the disc.
    pub bytes: u64,
}

/// The first name of a content (see [`RestoreSet::for_each_name`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FirstName {
    /// Its entry row.
    pub entry_id: i64,
    /// Its path.
    pub path: Vec<u8>,
    /// How far the content's restore is.
    pub state: ContentState,
}

/// States recorded by [`RestoreSet::set_state`] before they are stored together.
const STATE_BATCH: usize = 1024;

/// The selection of one restore, held in TEMP tables until dropped.
#[derive(Debug)]
pub struct RestoreSet<'c> {
    catalogue: &'c Catalogue,
    selected: u64,
    /// States recorded and not stored yet (at most [`STATE_BATCH`]).
    pending: RefCell<HashMap<i64, ContentState>>,
}

impl Catalogue {
    /// Makes the restore set of `snapshot`: one pass over its entries in path order, keeping
    /// those `keep` says yes to. `keep` may act on each entry it sees (make directories).
    /// One set at a time per connection; the set's tables are dropped with it.
    pub fn restore_set(
        &self,
        snapshot: i64,
        mut keep: impl FnMut(&Entry) -> Result<bool>,
    ) -> Result<RestoreSet<'_>> {
        let path = &self.path;
        // Fails, naming the table, while another set is open on this connection; that set's
        // tables are left alone. (Every catalogue connection keeps its temp store in a file,
        // see `Catalogue::open_with`, so the tables cost no memory.)
        self.conn.execute_batch(CREATE).in_catalogue(path)?;
        let mut set = RestoreSet {
            catalogue: self,
            selected: 0,
            pending: RefCell::default(),
        };
        // One transaction for the inserts; dropped unfinished, it rolls them back.
        let tx = self.conn.unchecked_transaction().in_catalogue(path)?;
        {
            let mut add_entry = tx
                .prepare("INSERT INTO temp.restore_entry (entry_id, kind) VALUES (?1, ?2)")
                .in_catalogue(path)?;
            // In path order, the first name of a content is the first insert; later ones are
            // ignored.
            let mut add_content = tx
                .prepare(
                    "INSERT OR IGNORE INTO temp.restore_content (content_id, first_entry) \
                     VALUES (?1, ?2)",
                )
                .in_catalogue(path)?;
            self.for_each_entry(snapshot, |e| {
                if !keep(&e)? {
                    return Ok(());
                }
                add_entry
                    .execute((e.id, e.kind.code()))
                    .in_catalogue(path)?;
                if let (EntryKind::File, Some(content)) = (e.kind, e.content_id) {
                    add_content.execute((content, e.id)).in_catalogue(path)?;
                }
                set.selected += 1;
                Ok(())
            })?;
        }
        tx.commit().in_catalogue(path)?;
        Ok(set)
    }
}

impl RestoreSet<'_> {
    /// How many entries are selected.
    pub fn selected(&self) -> u64 {
        self.selected
    }

    /// The discs holding the selected contents, by number, with how many files (whole
    /// contents or parts) of the selection each holds, and their bytes.
    pub fn discs_needed(&self) -> Result<Vec<DiscShare>> {
        self.files_by_disc("")
    }

    /// The same for the contents still [`ContentState::ToDo`].
    pub fn discs_still_needed(&self) -> Result<Vec<DiscShare>> {
        self.files_by_disc("WHERE r.state = 0")
    }

    fn files_by_disc(&self, filter: &str) -> Result<Vec<DiscShare>> {
        self.flush_states()?;
        let sql = files_by_disc_sql(filter);
        let mut stmt = self.conn().prepare(&sql).in_catalogue(self.path())?;
        let rows = stmt
            .query_map([], |r| {
                Ok(DiscShare {
                    number: r.get(0)?,
                    files: r.get::<_, i64>(1)? as u64,
                    bytes: r.get::<_, i64>(2)? as u64,
                })
            })
            .in_catalogue(self.path())?;
        rows.collect::<rusqlite::Result<_>>()
            .in_catalogue(self.path())
    }

    /// How many selected contents are still [`ContentState::ToDo`], and their bytes.
    pub fn still_to_do(&self) -> Result<(u64, u64)> {
        self.flush_states()?;
        let mut stmt = self.conn().prepare(TO_DO_SQL).in_catalogue(self.path())?;
        let (files, bytes): (i64, i64) = stmt
            .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
            .in_catalogue(self.path())?;
        Ok((files as u64, bytes as u64))
    }

    /// Calls `visit(entry, on_a_disc)` for the first name of every selected content, in path
    /// order; `on_a_disc` says whether any disc holds the content.
    pub fn for_each_first_name(
        &self,
        mut visit: impl FnMut(&Entry, bool) -> Result<()>,
    ) -> Result<()> {
        let sql = first_names_sql();
        self.stream(
            &sql,
            [],
            |row| {
                let entry = Entry::from_row_at(row, 0)?;
                let on_disc: bool = row.get(Entry::COLUMN_COUNT)?;
                Ok((entry, on_disc))
            },
            |(entry, on_disc)| visit(&entry, on_disc),
        )
    }

    /// Calls `visit(first_name, placement)` for every placement on disc `number` of a content
    /// still [`ContentState::ToDo`], in the order of paths on the disc. `visit` may change
    /// states as it goes; check [`RestoreSet::state`] for the content at hand.
    pub fn for_each_placement_on(
        &self,
        number: u32,
        mut visit: impl FnMut(Entry, Placement) -> Result<()>,
    ) -> Result<()> {
        let sql = placements_on_sql();
        self.stream(
            &sql,
            [number],
            |row| {
                Ok((
                    Entry::from_row_at(row, 0)?,
                    placement_at(row, Entry::COLUMN_COUNT)?,
                ))
            },
            |(entry, placement)| visit(entry, placement),
        )
    }

    /// How far the restore of `content` is.
    pub fn state(&self, content: i64) -> Result<ContentState> {
        if let Some(&state) = self.pending.borrow().get(&content) {
            return Ok(state);
        }
        let mut stmt = self
            .conn()
            .prepare_cached("SELECT state FROM temp.restore_content WHERE content_id = ?1")
            .in_catalogue(self.path())?;
        let code: Option<i64> = stmt
            .query_row([content], |r| r.get(0))
            .optional()
            .in_catalogue(self.path())?;
        Ok(ContentState::from_code(code.unwrap_or(0)))
    }

    /// Records how far the restore of `content` is. States are kept back and stored
    /// [`STATE_BATCH`] at a time in one transaction (and before any query that reads them),
    /// not one autocommit `UPDATE` each; [`RestoreSet::state`] sees them at once.
    pub fn set_state(&self, content: i64, state: ContentState) -> Result<()> {
        let full = {
            let mut pending = self.pending.borrow_mut();
            pending.insert(content, state);
            pending.len() >= STATE_BATCH
        };
        if full {
            self.flush_states()?;
        }
        Ok(())
    }

    /// Stores the states kept back, in one transaction.
    fn flush_states(&self) -> Result<()> {
        let pending = std::mem::take(&mut *self.pending.borrow_mut());
        if pending.is_empty() {
            return Ok(());
        }
        let path = self.path();
        let tx = self.conn().unchecked_transaction().in_catalogue(path)?;
        {
            let mut stmt = tx
                .prepare_cached("UPDATE temp.restore_content SET state = ?2 WHERE content_id = ?1")
                .in_catalogue(path)?;
            for (content, state) in pending {
                stmt.execute((content, state.code())).in_catalogue(path)?;
            }
        }
        tx.commit().in_catalogue(path)
    }

    /// Calls `visit(entry, first_name)` for every selected file and symlink, in path order;
    /// a file with a content gets its content's first name (itself, for the first name).
    pub fn for_each_name(
        &self,
        mut visit: impl FnMut(&Entry, Option<&FirstName>) -> Result<()>,
    ) -> Result<()> {
        let sql = names_sql();
        let at = Entry::COLUMN_COUNT;
        self.stream(
            &sql,
            [],
            |row| {
                let entry = Entry::from_row_at(row, 0)?;
                let first = match row.get::<_, Option<i64>>(at)? {
                    Some(entry_id) => Some(FirstName {
                        entry_id,
                        state: ContentState::from_code(row.get(at + 1)?),
                        path: row.get(at + 2)?,
                    }),
                    None => None,
                };
                Ok((entry, first))
            },
            |(entry, first)| visit(&entry, first.as_ref()),
        )
    }

    /// Calls `visit` for every selected directory, in reverse path order: each directory
    /// after everything below it.
    pub fn for_each_directory_deepest_first(
        &self,
        mut visit: impl FnMut(&Entry) -> Result<()>,
    ) -> Result<()> {
        let sql = directories_sql();
        self.stream(&sql, [], |row| Entry::from_row_at(row, 0), |e| visit(&e))
    }

    /// Calls `visit` for every selected directory, in path order: each directory before
    /// everything below it.
    pub fn for_each_directory(&self, mut visit: impl FnMut(&Entry) -> Result<()>) -> Result<()> {
        let sql = directories_in_path_order_sql();
        self.stream(&sql, [], |row| Entry::from_row_at(row, 0), |e| visit(&e))
    }

    /// Runs `sql`, turning each row into a value with `read` and handing it to `visit`, one
    /// row at a time.
    fn stream<T, P: rusqlite::Params>(
        &self,
        sql: &str,
        params: P,
        read: impl Fn(&Row<'_>) -> rusqlite::Result<T>,
        mut visit: impl FnMut(T) -> Result<()>,
    ) -> Result<()> {
        self.flush_states()?;
        let mut stmt = self.conn().prepare(sql).in_catalogue(self.path())?;
        let mut rows = stmt.query(params).in_catalogue(self.path())?;
        while let Some(row) = rows.next().in_catalogue(self.path())? {
            visit(read(row).in_catalogue(self.path())?)?;
        }
        Ok(())
    }

    fn conn(&self) -> &rusqlite::Connection {
        &self.catalogue.conn
    }

    fn path(&self) -> &std::path::Path {
        &self.catalogue.path
    }
}

// The queries, each with its outer loop pinned (`CROSS JOIN`) to a scan of a TEMP table in
// `seq` (path) order or to one disc's placements in disc path order, so that none sorts.

fn files_by_disc_sql(filter: &str) -> String {
    format!(
        "SELECT d.number, count(*), coalesce(sum(p.length), 0) FROM temp.restore_content r \
         CROSS JOIN placement p ON p.content_id = r.content_id \
         JOIN disc d ON d.id = p.disc_id {filter} GROUP BY d.number ORDER BY d.number"
    )
}

fn first_names_sql() -> String {
    format!(
        "SELECT {}, EXISTS (SELECT 1 FROM placement WHERE content_id = r.content_id) \
         FROM temp.restore_entry s CROSS JOIN entry e ON e.id = s.entry_id \
         CROSS JOIN temp.restore_content r ON r.content_id = e.content_id \
         LEFT JOIN content c ON c.id = e.content_id \
         WHERE s.kind = 1 AND r.first_entry = e.id ORDER BY s.seq",
        Entry::COLUMNS
    )
}

fn placements_on_sql() -> String {
    format!(
        "SELECT {}, {PLACEMENT_COLUMNS} \
         FROM disc d CROSS JOIN placement p ON p.disc_id = d.id \
         CROSS JOIN temp.restore_content r ON r.content_id = p.content_id \
         CROSS JOIN entry e ON e.id = r.first_entry \
         CROSS JOIN content c ON c.id = p.content_id \
         WHERE d.number = ?1 AND r.state = 0 ORDER BY p.disc_path",
        Entry::COLUMNS
    )
}

fn names_sql() -> String {
    format!(
        "SELECT {}, r.first_entry, r.state, f.path \
         FROM temp.restore_entry s CROSS JOIN entry e ON e.id = s.entry_id \
         LEFT JOIN content c ON c.id = e.content_id \
         LEFT JOIN temp.restore_content r ON r.content_id = e.content_id \
         LEFT JOIN entry f ON f.id = r.first_entry \
         WHERE s.kind != 2 ORDER BY s.seq",
        Entry::COLUMNS
    )
}

/// Contents still to do and their bytes (a content's size, whatever discs its parts are on).
const TO_DO_SQL: &str = "SELECT count(*), coalesce(sum(c.size), 0) FROM temp.restore_content r \
     JOIN content c ON c.id = r.content_id WHERE r.state = 0";

fn directories_in_path_order_sql() -> String {
    format!(
        "SELECT {} FROM temp.restore_entry s CROSS JOIN entry e ON e.id = s.entry_id \
         LEFT JOIN content c ON c.id = e.content_id \
         WHERE s.kind = 2 ORDER BY s.seq",
        Entry::COLUMNS
    )
}

fn directories_sql() -> String {
    format!(
        "SELECT {} FROM temp.restore_entry s CROSS JOIN entry e ON e.id = s.entry_id \
         LEFT JOIN content c ON c.id = e.content_id \
         WHERE s.kind = 2 ORDER BY s.seq DESC",
        Entry::COLUMNS
    )
}

impl Drop for RestoreSet<'_> {
    fn drop(&mut self) {
        let conn = self.conn();
        // Cached statements name the tables; let them go first.
        conn.flush_prepared_statement_cache();
        let _ = conn.execute_batch(DROP);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `EXPLAIN QUERY PLAN` of `sql`, its steps joined by "; ".
    fn plan_of(catalogue: &Catalogue, sql: &str) -> String {
        let conn = &catalogue.conn;
        let mut stmt = conn.prepare(&format!("EXPLAIN QUERY PLAN {sql}")).unwrap();
        let params = vec![1_i64; stmt.parameter_count()];
        let rows = stmt
            .query_map(rusqlite::params_from_iter(params), |r| {
                r.get::<_, String>(3)
            })
            .unwrap();
        rows.map(Result::unwrap).collect::<Vec<_>>().join("; ")
    }

    #[test]
    fn no_query_sorts_the_selection() {
        let dir = tempfile::tempdir().unwrap();
        let catalogue = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
        let set = catalogue.restore_set(1, |_| Ok(true)).unwrap();
        for sql in [
            first_names_sql(),
            names_sql(),
            directories_sql(),
            directories_in_path_order_sql(),
        ] {
            let plan = plan_of(&catalogue, &sql);
            assert!(plan.starts_with("SCAN s;"), "{plan}\n{sql}");
            assert!(!plan.contains("TEMP B-TREE"), "{plan}\n{sql}");
        }
        let plan = plan_of(&catalogue, &placements_on_sql());
        assert!(plan.contains("USING INDEX placement_by_disc"), "{plan}");
        assert!(!plan.contains("TEMP B-TREE"), "{plan}");
        // Counting by disc sorts only its counts; the contents are read in table order.
        let plan = plan_of(&catalogue, &files_by_disc_sql(""));
        assert!(plan.starts_with("SCAN r;"), "{plan}");
        drop(set);
    }

    #[test]
    fn states_are_recorded_and_the_tables_go_with_the_set() {
        let dir = tempfile::tempdir().unwrap();
        let catalogue = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
        let conn = &catalogue.conn;
        let set = catalogue.restore_set(1, |_| Ok(true)).unwrap();
        assert_eq!(set.selected(), 0);
        conn.execute(
            "INSERT INTO temp.restore_content (content_id, first_entry) VALUES (7, 1)",
            [],
        )
        .unwrap();
        assert_eq!(set.state(7).unwrap(), ContentState::ToDo);
        set.set_state(7, ContentState::Failed).unwrap();
        assert_eq!(set.state(7).unwrap(), ContentState::Failed);
        set.set_state(7, ContentState::Done).unwrap();
        assert_eq!(set.state(7).unwrap(), ContentState::Done);
        // The temp tables live in a file, not in memory.
        let store: i64 = conn
            .query_row("PRAGMA temp_store", [], |r| r.get(0))
            .unwrap();
        assert_eq!(store, 1, "temp_store = FILE");
        // One set at a time on a connection; a second one leaves the first alone.
        let err = catalogue.restore_set(1, |_| Ok(true)).unwrap_err();
        assert!(crate::error::chain(&err).contains("restore_entry"), "{err}");
        assert_eq!(set.state(7).unwrap(), ContentState::Done);
        drop(set);
        let tables: i64 = conn
            .query_row("SELECT count(*) FROM temp.sqlite_master", [], |r| r.get(0))
            .unwrap();
        assert_eq!(tables, 0);
        let again = catalogue.restore_set(1, |_| Ok(true)).unwrap();
        assert_eq!(again.state(7).unwrap(), ContentState::ToDo);
    }

    #[test]
    fn states_are_stored_in_batches_and_every_query_sees_them() {
        let dir = tempfile::tempdir().unwrap();
        let catalogue = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
        let conn = &catalogue.conn;
        let set = catalogue.restore_set(1, |_| Ok(true)).unwrap();
        let n = STATE_BATCH as i64 + 10;
        for id in 1..=n {
            conn.execute(
                "INSERT INTO temp.restore_content (content_id, first_entry) VALUES (?1, 1)",
                [id],
            )
            .unwrap();
        }
        let stored = |id: i64| -> i64 {
            conn.query_row(
                "SELECT state FROM temp.restore_content WHERE content_id = ?1",
                [id],
                |r| r.get(0),
            )
            .unwrap()
        };
        set.set_state(1, ContentState::Done).unwrap();
        assert_eq!(stored(1), 0, "not one UPDATE per state");
        assert_eq!(set.state(1).unwrap(), ContentState::Done);
        for id in 2..=STATE_BATCH as i64 {
            set.set_state(id, ContentState::Failed).unwrap();
        }
        assert_eq!(stored(1), 1, "a full batch is stored");
        assert_eq!(stored(STATE_BATCH as i64), 2);
        set.set_state(n, ContentState::Done).unwrap();
        assert_eq!(stored(n), 0);
        // A query that reads states stores the rest first. (No content here has a size.)
        let (left, _) = set.still_to_do().unwrap();
        assert_eq!(stored(n), 1);
        assert_eq!(left, 0, "contents without a content row are not counted");
    }
}
