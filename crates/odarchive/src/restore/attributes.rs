//! What a restored entry gets besides its bytes: owner and group (as root), the exact mode
//! bits (0 and setuid, setgid, sticky included) and the mtime.
//!
//! Order matters: `chown` clears setuid and setgid, so it comes first; `chmod` does not touch
//! the mtime, so the mtime comes last. Directories get theirs after everything below them is
//! in place (the restore's last step), so a read-only folder can still be filled.

use std::fs::{self, File};
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use filetime::FileTime;

use crate::accounts::Accounts;
use crate::catalogue::{Entry, Owner};

/// How owners are restored.
#[derive(Debug)]
pub(super) struct Attributes {
    /// The local accounts, when owners are restored: only as root (like tar, a user's restore
    /// leaves everything theirs), and not with `--no-owner`.
    owners: Option<Accounts>,
}

impl Attributes {
    /// Restores owners when `restore_owners` and running as root.
    pub(super) fn new(restore_owners: bool) -> Attributes {
        Attributes {
            owners: (restore_owners && running_as_root()).then(Accounts::of_this_machine),
        }
    }

    /// Owner, exact mode, then mtime of the file or directory at `path`.
    pub(super) fn apply(&self, path: &Path, entry: &Entry) -> io::Result<()> {
        self.chown(path, entry)?;
        fs::set_permissions(path, fs::Permissions::from_mode(entry.mode & 0o7777))?;
        let t = mtime(entry);
        filetime::set_file_times(path, t, t)
    }

    /// Owner, exact mode, then mtime of the open regular file `file`: through the descriptor
    /// (fchown, fchmod, futimens), no reopen and no path lookup.
    pub(super) fn apply_to_open(&self, file: &File, entry: &Entry) -> io::Result<()> {
        if let (Some(accounts), Some(owner)) = (&self.owners, &entry.owner) {
            let (uid, gid) = local_ids(accounts, owner);
            std::os::unix::fs::fchown(file, Some(uid), Some(gid))?;
        }
        file.set_permissions(fs::Permissions::from_mode(entry.mode & 0o7777))?;
        let t = system_time(entry.mtime_ns);
        file.set_times(fs::FileTimes::new().set_accessed(t).set_modified(t))
    }

    /// Owner, then mtime of the symlink at `path` (a symlink's own mode means nothing on Linux).
    pub(super) fn apply_to_symlink(&self, path: &Path, entry: &Entry) -> io::Result<()> {
        self.chown(path, entry)?;
        let t = mtime(entry);
        filetime::set_symlink_file_times(path, t, t)
    }

    fn chown(&self, path: &Path, entry: &Entry) -> io::Result<()> {
        let (Some(accounts), Some(owner)) = (&self.owners, &entry.owner) else {
            return Ok(());
        };
        let (uid, gid) = local_ids(accounts, owner);
        std::os::unix::fs::lchown(path, Some(uid), Some(gid))
    }
}

/// The ids to give an entry here: those of the local accounts with the recorded names, where
/// there are such; else the recorded ids.
fn local_ids(accounts: &Accounts, owner: &Owner) -> (u32, u32) {
    let uid = owner.user.as_deref().and_then(|n| accounts.user_id(n));
    let gid = owner.group.as_deref().and_then(|n| accounts.group_id(n));
    (uid.unwrap_or(owner.uid), gid.unwrap_or(owner.gid))
}

/// Whether this process runs as root (its `/proc/self` belongs to its effective user).
fn running_as_root() -> bool {
    fs::metadata("/proc/self").is_ok_and(|m| m.uid() == 0)
}

/// The entry's mtime.
pub(super) fn mtime(entry: &Entry) -> FileTime {
    FileTime::from_unix_time(
        entry.mtime_ns.div_euclid(1_000_000_000),
        entry.mtime_ns.rem_euclid(1_000_000_000) as u32,
    )
}

/// A time in nanoseconds since the epoch (before it when negative).
fn system_time(ns: i64) -> SystemTime {
    let since = Duration::from_nanos(ns.unsigned_abs());
    if ns >= 0 {
        UNIX_EPOCH + since
    } else {
        UNIX_EPOCH - since
    }
}

/// Opens a restored file for reading, also when its restored mode forbids it to its owner
/// (0000, 0200): read permission is lent for the open and the exact mode put back, which
/// leaves the mtime alone.
pub(super) fn open_for_reading(path: &Path) -> io::Result<File> {
    match File::open(path) {
        Err(e) if e.kind() == io::ErrorKind::PermissionDenied => {
            let mode = fs::symlink_metadata(path)?.mode() & 0o7777;
            fs::set_permissions(path, fs::Permissions::from_mode(mode | 0o400))?;
            let opened = File::open(path);
            fs::set_permissions(path, fs::Permissions::from_mode(mode))?;
            opened
        }
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn local_names_win_over_recorded_ids() {
        let dir = tempfile::tempdir().unwrap();
        let (passwd, group) = (dir.path().join("p"), dir.path().join("g"));
        fs::write(&passwd, "anne:x:1500:1500::/:/bin/sh\n").unwrap();
        fs::write(&group, "staff:x:60:\n").unwrap();
        let accounts = Accounts::from_files(&passwd, &group);
        let named = Owner {
            uid: 1000,
            gid: 50,
            user: Some("anne".into()),
            group: Some("staff".into()),
        };
        assert_eq!(local_ids(&accounts, &named), (1500, 60));
        let unknown = Owner {
            uid: 1234,
            gid: 5678,
            user: Some("nobody-here".into()),
            group: None,
        };
        assert_eq!(local_ids(&accounts, &unknown), (1234, 5678));
    }

    #[test]
    fn an_unreadable_file_is_opened_and_keeps_its_mode() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("locked");
        fs::write(&path, b"secret").unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o000)).unwrap();
        let mut file = open_for_reading(&path).unwrap();
        let mut text = String::new();
        io::Read::read_to_string(&mut file, &mut text).unwrap();
        assert_eq!(text, "secret");
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o7777, 0);
    }
}
