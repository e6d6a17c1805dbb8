//! Whether a rescan may trust a file's recorded hash without reading it again.
//!
//! A rescan re-reads a file whose size, mtime, inode or mode changed. That alone misses a file
//! rewritten at the same size within the same timestamp tick as the scan that hashed it: its
//! mtime, taken at the file system's granularity (1 s on ext4 with 128-byte inodes, HFS+ and
//! many NFS servers, 2 s on FAT, a few milliseconds of kernel clock elsewhere), does not move,
//! and the old hash would be kept for ever. As git does with its "racy" index entries, a hash is
//! trusted only when the file's mtime is safely older than the clock of the scan that took the
//! hash: the snapshot's start, which is at or before the moment the file was read (a resumed
//! scan keeps its snapshot's start, which only makes the test stricter). Otherwise the file is
//! read again on the next scan; once its mtime is safely in the past, its hash settles.
//!
//! The scan's clock is this machine's and mtimes are the file system's (a network server's):
//! - a file system clock ahead of the scan's makes recent mtimes look newer: they are re-read
//!   (safe);
//! - a file system clock behind the scan's makes them look older: [`CLOCK_SKEW_NS`] of
//!   allowance covers clocks that disagree by up to that much. A clock wrong by more than that
//!   cannot be told from a settled file; scan such a drive from a machine whose clock agrees
//!   with it.

use crate::catalogue::EntryKind;

/// The coarsest timestamp granularity of file systems in use (FAT: 2 s).
pub(crate) const TIMESTAMP_GRANULARITY_NS: i64 = 2_000_000_000;

/// How far the file system's clock may be behind the scan's (network file systems) and still
/// be caught. Costs only this: a file modified this long before a scan is read once more by
/// the next one.
pub(crate) const CLOCK_SKEW_NS: i64 = 5 * 60 * 1_000_000_000;

/// How much older than the hashing scan's clock an mtime must be for its hash to be trusted.
pub(crate) const RACY_WINDOW_NS: i64 = TIMESTAMP_GRANULARITY_NS + CLOCK_SKEW_NS;

/// Whether the recorded hash of an entry of `kind` whose mtime is `mtime_ns` (unchanged since
/// it was hashed) can be reused. `hashed_clock_ns` is the start of the scan that recorded the
/// entry, `None` when unknown. Only files have hashes: other kinds are compared field by field.
pub(crate) fn hash_is_settled(
    kind: EntryKind,
    mtime_ns: i64,
    hashed_clock_ns: Option<i64>,
) -> bool {
    if kind != EntryKind::File {
        return true;
    }
    match hashed_clock_ns {
        Some(clock) => mtime_ns < clock.saturating_sub(RACY_WINDOW_NS),
        None => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECOND: i64 = 1_000_000_000;
    const SCAN: i64 = 1_700_000_000 * SECOND;

    #[test]
    fn a_file_written_in_the_same_second_as_its_scan_is_read_again() {
        // 1-second timestamps: the mtime is the start of the second the scan ran in.
        let mtime = SCAN / SECOND * SECOND;
        assert!(!hash_is_settled(EntryKind::File, mtime, Some(SCAN)));
        // Written during the scan, after it started: also racy.
        assert!(!hash_is_settled(EntryKind::File, SCAN + SECOND, Some(SCAN)));
    }

    #[test]
    fn a_file_older_than_the_window_is_trusted() {
        let old = SCAN - RACY_WINDOW_NS - 1;
        assert!(hash_is_settled(EntryKind::File, old, Some(SCAN)));
        assert!(!hash_is_settled(EntryKind::File, old + 1, Some(SCAN)));
        assert!(hash_is_settled(EntryKind::File, 0, Some(SCAN)));
    }

    #[test]
    fn a_file_system_clock_behind_the_scan_is_allowed_for() {
        // Written just before the scan by a server whose clock is 4 minutes behind.
        let mtime = SCAN - SECOND - 4 * 60 * SECOND;
        assert!(!hash_is_settled(EntryKind::File, mtime, Some(SCAN)));
    }

    #[test]
    fn an_unknown_clock_trusts_nothing_and_only_files_have_hashes() {
        assert!(!hash_is_settled(EntryKind::File, 0, None));
        assert!(hash_is_settled(EntryKind::Directory, SCAN, Some(SCAN)));
        assert!(hash_is_settled(EntryKind::Symlink, SCAN, None));
    }

    #[test]
    fn clocks_near_the_ends_of_time_do_not_overflow() {
        assert!(!hash_is_settled(EntryKind::File, i64::MIN, Some(i64::MIN)));
        assert!(hash_is_settled(EntryKind::File, 0, Some(i64::MAX)));
    }
}
