//! Values the unit tests of several modules build alike.

use crate::catalogue::{Entry, EntryKind};
use crate::hash::ContentHash;

/// The entry of a regular file `path` of snapshot 1, with row and content id `id`: mtime 0,
/// mode 0o644, no owner, no device or inode.
pub(crate) fn file_entry(id: i64, path: &[u8], size: u64, hash: Option<ContentHash>) -> Entry {
    Entry {
        id,
        path: path.to_vec(),
        kind: EntryKind::File,
        content_id: Some(id),
        hash,
        size,
        mtime_ns: 0,
        mode: 0o644,
        link_target: None,
        dev: 0,
        inode: 0,
        owner: None,
        first_snapshot: 1,
        last_snapshot: 1,
    }
}
