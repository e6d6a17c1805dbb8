//! The machine's user and group names (`/etc/passwd`, `/etc/group`): the scan records the
//! names of an entry's owner and group beside their ids, and a restore run as root gives a
//! file back to the local account of the same name where there is one (as tar does), else to
//! the recorded id.
//!
//! Only the files are read (no NSS modules): accounts that live elsewhere (LDAP) are kept and
//! restored by id alone.

use std::collections::HashMap;
use std::path::Path;

/// The names and ids of the local accounts.
#[derive(Debug, Clone, Default)]
pub struct Accounts {
    user_names: HashMap<u32, String>,
    group_names: HashMap<u32, String>,
    user_ids: HashMap<String, u32>,
    group_ids: HashMap<String, u32>,
}

impl Accounts {
    /// The accounts of this machine; none when the files cannot be read.
    pub fn of_this_machine() -> Accounts {
        Accounts::from_files(Path::new("/etc/passwd"), Path::new("/etc/group"))
    }

    /// The accounts listed in a `passwd` and a `group` file (missing files list none).
    pub fn from_files(passwd: &Path, group: &Path) -> Accounts {
        let (user_names, user_ids) = read_table(passwd);
        let (group_names, group_ids) = read_table(group);
        Accounts {
            user_names,
            group_names,
            user_ids,
            group_ids,
        }
    }

    /// The name of user `uid`.
    pub fn user_name(&self, uid: u32) -> Option<&str> {
        self.user_names.get(&uid).map(String::as_str)
    }

    /// The name of group `gid`.
    pub fn group_name(&self, gid: u32) -> Option<&str> {
        self.group_names.get(&gid).map(String::as_str)
    }

    /// The local id of user `name`.
    pub fn user_id(&self, name: &str) -> Option<u32> {
        self.user_ids.get(name).copied()
    }

    /// The local id of group `name`.
    pub fn group_id(&self, name: &str) -> Option<u32> {
        self.group_ids.get(name).copied()
    }
}

/// `name:x:id:...` lines: id → name (the first name of an id) and name → id.
fn read_table(path: &Path) -> (HashMap<u32, String>, HashMap<String, u32>) {
    let mut by_id = HashMap::new();
    let mut by_name = HashMap::new();
    let text = std::fs::read(path).unwrap_or_default();
    for line in String::from_utf8_lossy(&text).lines() {
        let mut fields = line.split(':');
        let (Some(name), Some(_), Some(id)) = (fields.next(), fields.next(), fields.next()) else {
            continue;
        };
        let Ok(id) = id.trim().parse::<u32>() else {
            continue;
        };
        if name.is_empty() || name.starts_with('#') {
            continue;
        }
        by_id.entry(id).or_insert_with(|| name.to_owned());
        by_name.entry(name.to_owned()).or_insert(id);
    }
    (by_id, by_name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_ids_are_read_both_ways() {
        let dir = tempfile::tempdir().unwrap();
        let passwd = dir.path().join("passwd");
        let group = dir.path().join("group");
        std::fs::write(
            &passwd,
            "root:x:0:0:root:/root:/bin/sh\n# comment\nbroken\nanne:x:1000:1000::/home/anne:/bin/sh\ntoor:x:0:0::/:/bin/sh\n",
        )
        .unwrap();
        std::fs::write(&group, "root:x:0:\nstaff:x:50:anne\n").unwrap();
        let a = Accounts::from_files(&passwd, &group);
        assert_eq!(a.user_name(1000), Some("anne"));
        assert_eq!(a.user_name(0), Some("root"), "the first name of an id");
        assert_eq!(a.user_id("toor"), Some(0));
        assert_eq!(a.group_name(50), Some("staff"));
        assert_eq!(a.group_id("staff"), Some(50));
        assert_eq!(a.user_name(4242), None);
        let none = Accounts::from_files(&dir.path().join("no"), &dir.path().join("no"));
        assert_eq!(none.user_id("root"), None);
    }
}
