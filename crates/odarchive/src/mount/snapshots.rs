//! `snapshots/`: a folder per complete snapshot named by its id (`snapshots/3/`), and beside
//! each a symlink named by the UTC time it completed, `snapshots/2026-12-01T10.15.00 -> 3`
//! (the time `odarchive snapshots` shows). The name has no `:` (nor any other character a
//! file system of Windows or macOS refuses), so a copy of the tree keeps it; two snapshots
//! completed in the same second are told apart by their id (`…T10.15.00_4`).
//!
//! An alias is a symlink, not a second folder: each snapshot's tree has one path of nodes,
//! so a walk of the mount (`find`, `du`, a backup tool) does not go through it twice, and the
//! kernel never sees a folder under two names.

use super::nodes::Node;
use super::{ArchiveFs, Attributes, FsError, NodeKind};
use crate::catalogue::Snapshot;

/// The alias of a snapshot completed at `finished_ns`: `YYYY-MM-DDTHH.MM.SS`, UTC.
pub fn alias_name(finished_ns: i64) -> String {
    let c = discfs::Timestamp::from_unix_nanos(finished_ns).to_civil();
    format!(
        "{:04}-{:02}-{:02}T{:02}.{:02}.{:02}",
        c.year, c.month, c.day, c.hour, c.minute, c.second
    )
}

/// The alias of each of `snapshots` (complete ones), in their order; one shared by several
/// (completed in the same second) has each one's id after it.
pub(super) fn alias_names(snapshots: &[Snapshot]) -> Vec<String> {
    let plain: Vec<String> = snapshots
        .iter()
        .map(|s| alias_name(s.finished_ns.unwrap_or(s.started_ns)))
        .collect();
    plain
        .iter()
        .zip(snapshots)
        .map(|(name, s)| {
            if plain.iter().filter(|n| *n == name).count() > 1 {
                format!("{name}_{}", s.id)
            } else {
                name.clone()
            }
        })
        .collect()
}

impl ArchiveFs {
    /// The attributes of the alias symlink of snapshot `id`.
    pub(super) fn alias_attributes(&self, id: i64) -> Result<Attributes, FsError> {
        let index = self
            .snapshots
            .iter()
            .position(|s| s.id == id)
            .ok_or(FsError::NotFound)?;
        Ok(self.alias_at(index))
    }

    /// The attributes of the alias symlink of the snapshot at `index` of `self.snapshots`.
    fn alias_at(&self, index: usize) -> Attributes {
        let s = &self.snapshots[index];
        Attributes {
            node: Node::Alias { id: s.id }.number(self.single),
            kind: NodeKind::Symlink,
            size: s.id.to_string().len() as u64,
            mtime_ns: s.finished_ns.unwrap_or(s.started_ns),
            mode: 0o777,
            owner: None,
        }
    }

    /// The node named `name` in `snapshots/`: a snapshot's folder by its id, or its alias.
    pub(super) fn lookup_snapshot(&self, name: &[u8]) -> Result<Attributes, FsError> {
        let by_id = std::str::from_utf8(name)
            .ok()
            .and_then(|n| n.parse::<i64>().ok())
            .filter(|id| self.snapshots.iter().any(|s| s.id == *id));
        if let Some(id) = by_id {
            return Ok(self.view_root_attributes(id as u64));
        }
        let index = self
            .aliases
            .iter()
            .position(|a| a.as_bytes() == name)
            .ok_or(FsError::NotFound)?;
        Ok(self.alias_at(index))
    }

    /// Every name of `snapshots/`, in id order: each snapshot's folder, then its alias.
    pub(super) fn snapshot_names(&self) -> Vec<(Vec<u8>, Attributes)> {
        let mut names = Vec::with_capacity(self.snapshots.len() * 2);
        for (index, s) in self.snapshots.iter().enumerate() {
            let folder = self.view_root_attributes(s.id as u64);
            names.push((s.id.to_string().into_bytes(), folder));
            let alias = self.alias_at(index);
            names.push((self.aliases[index].clone().into_bytes(), alias));
        }
        names
    }

    /// The target of snapshot `id`'s alias: its folder's name, beside it.
    pub(super) fn alias_target(&self, id: i64) -> Result<Vec<u8>, FsError> {
        if self.snapshots.iter().any(|s| s.id == id) {
            Ok(id.to_string().into_bytes())
        } else {
            Err(FsError::NotFound)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::catalogue::SnapshotState;

    fn snapshot(id: i64, finished_ns: i64) -> Snapshot {
        Snapshot {
            id,
            drive_path: "/d".into(),
            started_ns: finished_ns - 1,
            finished_ns: Some(finished_ns),
            state: SnapshotState::Complete,
            root_mtime_ns: None,
        }
    }

    #[test]
    fn an_alias_is_the_utc_time_without_colons_and_the_id_only_when_a_second_is_shared() {
        // 2000-02-29 12:34:56 UTC.
        let t = 951_827_696_000_000_000;
        assert_eq!(alias_name(t + 999_999_999), "2000-02-29T12.34.56");
        let names = alias_names(&[
            snapshot(1, t),
            snapshot(2, t + 500_000_000),
            snapshot(3, t + 1_000_000_000),
        ]);
        assert_eq!(
            names,
            [
                "2000-02-29T12.34.56_1",
                "2000-02-29T12.34.56_2",
                "2000-02-29T12.34.57"
            ]
        );
        for n in &names {
            assert!(
                !n.contains([':', '/', '\\', '*', '?', '"', '<', '>', '|']),
                "{n}"
            );
        }
    }
}
