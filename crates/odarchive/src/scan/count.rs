//! The counter: a second, lightweight walk that runs ahead of the real one and only adds up
//! files and bytes, so progress has totals (and an ETA) long before the real walk ends. The
//! real walk is bounded by the hash workers' pace; this one is not.

use std::ffi::OsStr;
use std::fs;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use globset::GlobSet;

use super::Shared;

/// Counts regular files and their bytes below `root` into `shared`, leaving out what
/// `excludes` matches. Stops early when the scan stops or the real walk has finished (its
/// counts are exact). Errors are ignored: the real walk reports them.
pub(crate) fn count(root: &Path, excludes: &GlobSet, shared: &Shared, cancel: &AtomicBool) {
    let mut pending: Vec<(PathBuf, Vec<u8>)> = vec![(root.to_path_buf(), Vec::new())];
    while let Some((dir, rel_dir)) = pending.pop() {
        let Ok(entries) = fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if cancel.load(Ordering::Relaxed)
                || shared.stop.load(Ordering::Relaxed)
                || shared.walk_finished.load(Ordering::Relaxed)
            {
                return;
            }
            let name = entry.file_name();
            let mut rel = rel_dir.clone();
            if !rel.is_empty() {
                rel.push(b'/');
            }
            rel.extend_from_slice(name.as_bytes());
            if excludes.is_match(Path::new(OsStr::from_bytes(&rel))) {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_dir() {
                pending.push((entry.path(), rel));
            } else if meta.is_file() {
                shared.files_counted.fetch_add(1, Ordering::Relaxed);
                shared
                    .bytes_counted
                    .fetch_add(meta.len(), Ordering::Relaxed);
            }
        }
    }
    shared.count_finished.store(true, Ordering::Relaxed);
}
