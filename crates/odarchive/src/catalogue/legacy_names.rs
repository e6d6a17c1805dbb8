//! The names odarchive 0.1's discs store their files under, found by looking at the discs
//! ([`crate::legacy`]) and recorded in their placements.

use rusqlite::params;

use super::{Catalogue, InCatalogue};

impl Catalogue {
    /// Every path of snapshot `snapshot` whose content is `content_id`, in path order: the
    /// names a 0.1 disc may have stored that content under.
    pub fn paths_of_content(&self, snapshot: i64, content_id: i64) -> crate::Result<Vec<Vec<u8>>> {
        let mut stmt = self
            .conn
            .prepare_cached(
                "SELECT path FROM entry WHERE content_id = ?1 \
                 AND first_snapshot <= ?2 AND last_snapshot >= ?2 ORDER BY path",
            )
            .in_catalogue(&self.path)?;
        let rows = stmt
            .query_map(params![content_id, snapshot], |r| r.get(0))
            .in_catalogue(&self.path)?;
        rows.collect::<rusqlite::Result<_>>()
            .in_catalogue(&self.path)
    }

    /// Records that disc `disc_id` holds content `content_id` (whole) as `disc_path` in its
    /// UDF view, the file of catalogue path `entry_path`.
    pub fn record_stored_name(
        &self,
        disc_id: i64,
        content_id: i64,
        entry_path: &[u8],
        disc_path: &str,
    ) -> crate::Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE placement SET entry_path = ?3, name_path = ?4, disc_path = ?4 \
                 WHERE disc_id = ?1 AND content_id = ?2 AND part = 0",
            )
            .and_then(|mut s| s.execute(params![disc_id, content_id, entry_path, disc_path]))
            .in_catalogue(&self.path)?;
        Ok(())
    }

    /// Records that disc `disc_id` holds content `content_id` (whole) as `iso_path` in its
    /// ISO 9660 view.
    pub fn record_stored_iso_path(
        &self,
        disc_id: i64,
        content_id: i64,
        iso_path: &str,
    ) -> crate::Result<()> {
        self.conn
            .prepare_cached(
                "UPDATE placement SET iso_path = ?3 WHERE disc_id = ?1 AND content_id = ?2 \
                 AND part = 0",
            )
            .and_then(|mut s| s.execute(params![disc_id, content_id, iso_path]))
            .in_catalogue(&self.path)?;
        Ok(())
    }
}
