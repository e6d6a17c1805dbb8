//! Several reads answered from one read transaction (for `odarchive mount`, whose each
//! request may run a few queries: a folder page re-seeks past every subfolder). Each
//! statement run on its own is a transaction of its own, and SQLite takes its file locks
//! (`fcntl`) and checks the WAL (`stat`) again for each; one transaction takes them once and
//! reads every query from the same snapshot of the catalogue.

use super::{Catalogue, InCatalogue};
use crate::error::Result;

impl Catalogue {
    /// Runs `read` inside one read transaction (or inside the one already open). The
    /// transaction ends when `read` returns, so a writer of the catalogue (another
    /// process) is held back for no longer than `read` takes.
    pub fn read_together<T, E: From<crate::error::Error>>(
        &self,
        read: impl FnOnce(&Catalogue) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E> {
        if !self.conn.is_autocommit() {
            return read(self);
        }
        self.run_cached("BEGIN")?;
        let out = read(self);
        // A read-only transaction: ending it cannot lose anything, only release its locks.
        let ended = self.run_cached("COMMIT");
        let out = out?;
        ended?;
        Ok(out)
    }

    fn run_cached(&self, sql: &str) -> Result<()> {
        self.conn
            .prepare_cached(sql)
            .and_then(|mut s| s.execute([]).map(drop))
            .in_catalogue(&self.path)
    }
}

#[cfg(test)]
mod tests {
    use crate::catalogue::Catalogue;

    #[test]
    fn reads_together_share_one_transaction_which_ends_with_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.db");
        drop(Catalogue::create_or_open(&path).unwrap());
        let c = Catalogue::open_read_only(&path).unwrap();
        let inside = c
            .read_together(|c| {
                let open = !c.conn.is_autocommit();
                // Nested: the same transaction, not a second BEGIN (which would fail).
                let nested =
                    c.read_together(|c| Ok::<_, crate::error::Error>(!c.conn.is_autocommit()))?;
                c.snapshots()?;
                Ok::<_, crate::error::Error>(open && nested)
            })
            .unwrap();
        assert!(inside, "inside a transaction");
        assert!(c.conn.is_autocommit(), "ended after");
        // An error inside still ends it.
        let failed: std::result::Result<(), crate::error::Error> = c.read_together(|c| {
            Err(crate::error::Error::NoSnapshot {
                path: c.path().to_owned(),
            })
        });
        assert!(failed.is_err());
        assert!(c.conn.is_autocommit());
    }
}
