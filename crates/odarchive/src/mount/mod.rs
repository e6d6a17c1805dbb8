//! The whole archive as one read-only tree (`odarchive mount`; the web page to come reads it
//! the same way): `latest/` the newest complete snapshot, `snapshots/<id>/` each complete
//! one (and `snapshots/<date>`, a symlink to it: see [`snapshots`]), every entry with its recorded name (raw bytes), size, mtime, mode and symlink
//! target, each path its own node (duplicates are the files they were, no hard links).
//!
//! [`ArchiveFs`] answers in the domain's words, with no file system binding's types: look a
//! name up, get a node's attributes, list a folder a page at a time, read a symlink, open
//! and read a file, get its extended attributes. Listing and attributes come from the
//! catalogue alone; only reading a file touches a disc, the one that holds it ([`read`]),
//! and no byte read is answered before the hash of the whole content (or part) it belongs
//! to is checked ([`verified`]).

mod cache;
mod discs;
pub mod nodes;
mod read;
mod snapshots;
mod verified;
pub mod xattr;

#[cfg(test)]
mod tests;

use std::path::PathBuf;
use std::sync::{Condvar, Mutex};

pub use discs::{MountState, WantedDisc, mount_state, state_path};
use nodes::{LATEST, Node};

use crate::catalogue::{Catalogue, Entry, EntryKind, Snapshot};
use crate::error::{Error, Result};
use crate::hash::HashAlgorithm;
use crate::problem::{Problem, ProblemKind};

/// What to mount, and from where its files are read.
#[derive(Debug, Clone, Default)]
pub struct MountOptions {
    /// Images and mounted discs to read, in any order.
    pub from: Vec<PathBuf>,
    /// A folder of images, looked at again whenever a disc is wanted that is not given.
    pub images: Option<PathBuf>,
    /// Mount this snapshot alone, at the top, instead of `latest/` and `snapshots/`.
    pub snapshot: Option<i64>,
    /// Wait for a disc that is not given instead of failing the read.
    pub wait: bool,
    /// Where the tree is mounted (recorded with the discs wanted).
    pub mountpoint: PathBuf,
    /// A folder to keep the files read whole in, so that their discs are not asked again
    /// (see [`cache`]).
    pub cache: Option<PathBuf>,
    /// The most bytes the cache holds (the least recently used files go first).
    pub cache_size: u64,
}

/// What a node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NodeKind {
    /// A folder.
    Directory,
    /// A regular file.
    File,
    /// A symbolic link.
    Symlink,
}

/// A node's attributes, as the catalogue recorded them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attributes {
    /// The node number (stable: see [`nodes`]).
    pub node: u64,
    /// What it is.
    pub kind: NodeKind,
    /// Size in bytes (of a symlink: its target's length).
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// Permission bits.
    pub mode: u32,
    /// Owner and group ids, when recorded.
    pub owner: Option<(u32, u32)>,
}

/// One name in a folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DirEntry {
    /// The name (raw bytes).
    pub name: Vec<u8>,
    /// Its node's attributes.
    pub attributes: Attributes,
    /// The cookie to list the folder on after this name ([`ArchiveFs::read_dir`]).
    pub next: u64,
}

/// Why an operation on the tree failed.
#[derive(Debug, thiserror::Error)]
pub enum FsError {
    /// No such node or name.
    #[error("no such file or folder")]
    NotFound,
    /// A folder's operation on something else.
    #[error("not a folder")]
    NotADirectory,
    /// A file's operation on a folder.
    #[error("is a folder")]
    IsADirectory,
    /// A symlink's operation on something else.
    #[error("not a symbolic link")]
    NotASymlink,
    /// The disc holding the file was not given.
    #[error("{0}")]
    DiscWanted(WantedDisc),
    /// The file could not be read right (a damaged disc, a hash mismatch): never wrong bytes.
    #[error("{0}")]
    Unreadable(Problem),
    /// The catalogue could not be read.
    #[error(transparent)]
    Catalogue(#[from] Error),
}

/// Where a mount reports what happens to the reads it serves.
pub trait MountLog: Send + Sync {
    /// A problem with a file or a disc (a damaged file, a disc given that is not of the set).
    fn problem(&self, problem: &Problem);
    /// A disc is wanted, the first time a read needs it.
    fn disc_wanted(&self, wanted: &WantedDisc);
}

/// The first cookie of a folder's own names (the binding may put `.` and `..` before).
pub const FIRST_COOKIE: u64 = 3;

/// The cookie after a folder's last name: a page from it is empty.
pub const END_COOKIE: u64 = u64::MAX;

/// The archive as a tree of nodes.
pub struct ArchiveFs {
    state: Mutex<State>,
    /// Woken when the check of a unit ends (see [`verified`]).
    checking: Condvar,
    snapshots: Vec<Snapshot>,
    /// Each snapshot's date alias in `snapshots/` (see [`snapshots`]).
    aliases: Vec<String>,
    latest: Option<i64>,
    single: Option<u64>,
    wait: bool,
    log: Box<dyn MountLog>,
    algorithm: HashAlgorithm,
}

impl std::fmt::Debug for ArchiveFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ArchiveFs")
            .field("snapshots", &self.snapshots.len())
            .field("single", &self.single)
            .finish_non_exhaustive()
    }
}

/// What reads share, behind one lock.
#[derive(Debug)]
struct State {
    catalogue: Catalogue,
    discs: Vec<crate::catalogue::DiscRecord>,
    shelf: discs::Shelf,
    files: read::OpenFiles,
    /// Each content's (or part's) check (see [`verified`]).
    units: verified::Units,
    cache: Option<cache::Cache>,
}

impl ArchiveFs {
    /// The tree of `catalogue` (opened for reading: a mount never writes it), its files read
    /// from the discs of `options`; what happens to reads goes to `log`.
    pub fn new(
        catalogue: Catalogue,
        options: &MountOptions,
        log: Box<dyn MountLog>,
    ) -> Result<ArchiveFs> {
        let snapshots: Vec<Snapshot> = catalogue
            .snapshots()?
            .into_iter()
            .filter(|s| s.finished_ns.is_some())
            .collect();
        let latest = snapshots.last().map(|s| s.id);
        if latest.is_none() {
            return Err(Error::NoSnapshot {
                path: catalogue.path().to_owned(),
            });
        }
        let single = match options.snapshot {
            Some(id) if snapshots.iter().any(|s| s.id == id) => Some(id as u64),
            Some(id) => {
                return Err(Error::NoSuchSnapshot {
                    path: catalogue.path().to_owned(),
                    spec: id.to_string(),
                    reason: "no complete snapshot has this id (see `odarchive snapshots`)".into(),
                });
            }
            None => None,
        };
        let shelf = discs::Shelf::new(
            catalogue.path(),
            &options.mountpoint,
            options.from.clone(),
            options.images.clone(),
        );
        // A cache folder that cannot be used costs the cache, not the mount: files are read
        // from their discs.
        let cache = options.cache.as_ref().and_then(|dir| {
            cache::Cache::open(dir, options.cache_size)
                .map_err(|e| {
                    log.problem(&Problem::new(
                        dir,
                        ProblemKind::Unwritable,
                        format!(
                            "the cache folder cannot be used ({e}); files are read from their discs"
                        ),
                    ))
                })
                .ok()
        });
        Ok(ArchiveFs {
            algorithm: catalogue.hash_algorithm()?,
            aliases: snapshots::alias_names(&snapshots),
            state: Mutex::new(State {
                discs: catalogue.discs()?,
                catalogue,
                shelf,
                files: read::OpenFiles::default(),
                units: verified::Units::default(),
                cache,
            }),
            checking: Condvar::new(),
            snapshots,
            latest,
            single,
            wait: options.wait,
            log,
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn node(&self, number: u64) -> std::result::Result<Node, FsError> {
        Node::of(number, self.single).ok_or(FsError::NotFound)
    }

    /// The snapshot a view shows.
    fn snapshot_of(&self, view: u64) -> i64 {
        if view == LATEST {
            self.latest.unwrap_or(0)
        } else {
            view as i64
        }
    }

    /// The entry of an entry node in its snapshot (`None` for a view root).
    fn entry(
        &self,
        catalogue: &Catalogue,
        view: u64,
        id: i64,
    ) -> std::result::Result<Option<Entry>, FsError> {
        if id == 0 {
            return Ok(None);
        }
        let snapshot = self.snapshot_of(view);
        match catalogue.entry_by_id(id)? {
            Some(e) if e.first_snapshot <= snapshot && e.last_snapshot >= snapshot => Ok(Some(e)),
            _ => Err(FsError::NotFound),
        }
    }

    fn folder_attributes(&self, node: Node, mtime_ns: i64) -> Attributes {
        Attributes {
            node: node.number(self.single),
            kind: NodeKind::Directory,
            size: 0,
            mtime_ns,
            mode: 0o555,
            owner: None,
        }
    }

    fn view_root_attributes(&self, view: u64) -> Attributes {
        let snapshot = self.snapshot_of(view);
        let s = self.snapshots.iter().find(|s| s.id == snapshot);
        let mtime = s.and_then(|s| s.root_mtime_ns.or(s.finished_ns));
        let mut a = self.folder_attributes(Node::Entry { view, id: 0 }, mtime.unwrap_or(0));
        a.mode = 0o755;
        a
    }

    fn entry_attributes(&self, view: u64, e: &Entry) -> Attributes {
        Attributes {
            node: Node::Entry { view, id: e.id }.number(self.single),
            kind: match e.kind {
                EntryKind::File => NodeKind::File,
                EntryKind::Directory => NodeKind::Directory,
                EntryKind::Symlink => NodeKind::Symlink,
            },
            size: match e.kind {
                EntryKind::Directory => 0,
                EntryKind::Symlink => e.link_target.as_ref().map_or(e.size, |t| t.len() as u64),
                EntryKind::File => e.size,
            },
            mtime_ns: e.mtime_ns,
            mode: e.mode & 0o7777,
            owner: e.owner.as_ref().map(|o| (o.uid, o.gid)),
        }
    }

    /// The attributes of node `number`.
    pub fn attributes(&self, number: u64) -> std::result::Result<Attributes, FsError> {
        let newest = self
            .snapshots
            .last()
            .and_then(|s| s.finished_ns)
            .unwrap_or(0);
        match self.node(number)? {
            n @ (Node::Top | Node::Snapshots) => Ok(self.folder_attributes(n, newest)),
            Node::Alias { id } => self.alias_attributes(id),
            Node::Entry { view, id } => {
                let state = self.lock();
                match self.entry(&state.catalogue, view, id)? {
                    None => Ok(self.view_root_attributes(view)),
                    Some(e) => Ok(self.entry_attributes(view, &e)),
                }
            }
        }
    }

    /// The node named `name` in folder `parent`.
    pub fn lookup(&self, parent: u64, name: &[u8]) -> std::result::Result<Attributes, FsError> {
        match self.node(parent)? {
            Node::Top => match name {
                b"latest" => Ok(self.view_root_attributes(LATEST)),
                b"snapshots" => self.attributes(nodes::SNAPSHOTS),
                _ => Err(FsError::NotFound),
            },
            Node::Snapshots => self.lookup_snapshot(name),
            Node::Alias { .. } => Err(FsError::NotADirectory),
            Node::Entry { view, id } => self.lock().catalogue.read_together(|catalogue| {
                let dir = match self.entry(catalogue, view, id)? {
                    None => Vec::new(),
                    Some(e) if e.kind == EntryKind::Directory => e.path,
                    Some(_) => return Err(FsError::NotADirectory),
                };
                if name.contains(&b'/') || name.is_empty() {
                    return Err(FsError::NotFound);
                }
                let path = if dir.is_empty() {
                    name.to_vec()
                } else {
                    [&dir[..], b"/", name].concat()
                };
                let e = catalogue
                    .entry_at(self.snapshot_of(view), &path)?
                    .ok_or(FsError::NotFound)?;
                Ok(self.entry_attributes(view, &e))
            }),
        }
    }

    /// Up to `max` names of folder `number` from cookie `cookie` (anything below
    /// [`FIRST_COOKIE`]: from the first), in byte order; each names the cookie after it,
    /// the folder's last name [`END_COOKIE`] (a page from there is empty, found without a
    /// query). Fewer than `max` only at the folder's end. A page costs a few index seeks: a
    /// folder is never built whole.
    pub fn read_dir(
        &self,
        number: u64,
        cookie: u64,
        max: usize,
    ) -> std::result::Result<Vec<DirEntry>, FsError> {
        if cookie == END_COOKIE {
            return Ok(Vec::new());
        }
        let listed = |names: Vec<(Vec<u8>, Attributes)>| -> Vec<DirEntry> {
            let count = names.len();
            names
                .into_iter()
                .enumerate()
                .map(|(i, (name, attributes))| DirEntry {
                    name,
                    attributes,
                    next: if i + 1 == count {
                        END_COOKIE
                    } else {
                        FIRST_COOKIE + i as u64 + 1
                    },
                })
                .skip(cookie.saturating_sub(FIRST_COOKIE) as usize)
                .take(max)
                .collect()
        };
        match self.node(number)? {
            Node::Top => Ok(listed(vec![
                (b"latest".to_vec(), self.view_root_attributes(LATEST)),
                (b"snapshots".to_vec(), self.attributes(nodes::SNAPSHOTS)?),
            ])),
            Node::Snapshots => Ok(listed(self.snapshot_names())),
            Node::Alias { .. } => Err(FsError::NotADirectory),
            Node::Entry { view, id } => self.read_entry_dir(view, id, cookie, max),
        }
    }

    /// A page of a snapshot folder: the cookie after a name is its entry's id (shifted past
    /// the binding's own), so the next page starts right after it.
    fn read_entry_dir(
        &self,
        view: u64,
        id: i64,
        cookie: u64,
        max: usize,
    ) -> std::result::Result<Vec<DirEntry>, FsError> {
        self.lock().catalogue.read_together(|catalogue| {
            let dir = match self.entry(catalogue, view, id)? {
                None => Vec::new(),
                Some(e) if e.kind == EntryKind::Directory => e.path,
                Some(_) => return Err(FsError::NotADirectory),
            };
            let after = if cookie <= FIRST_COOKIE {
                None
            } else {
                match catalogue.entry_by_id((cookie - FIRST_COOKIE) as i64)? {
                    Some(e) => Some(e.path),
                    None => return Ok(Vec::new()),
                }
            };
            let snapshot = self.snapshot_of(view);
            // One more than asked: whether the page ends the folder.
            let mut children =
                catalogue.children_after(snapshot, &dir, after.as_deref(), max + 1)?;
            let ends = children.len() <= max;
            children.truncate(max);
            let count = children.len();
            Ok(children
                .into_iter()
                .enumerate()
                .map(|(i, e)| DirEntry {
                    name: e.path[e.path.iter().rposition(|&b| b == b'/').map_or(0, |i| i + 1)..]
                        .to_vec(),
                    attributes: self.entry_attributes(view, &e),
                    next: if ends && i + 1 == count {
                        END_COOKIE
                    } else {
                        e.id as u64 + FIRST_COOKIE
                    },
                })
                .collect())
        })
    }

    /// The target of symlink `number` (raw bytes).
    pub fn read_link(&self, number: u64) -> std::result::Result<Vec<u8>, FsError> {
        let (view, id) = match self.node(number)? {
            Node::Entry { view, id } => (view, id),
            Node::Alias { id } => return self.alias_target(id),
            _ => return Err(FsError::NotASymlink),
        };
        let state = self.lock();
        match self.entry(&state.catalogue, view, id)? {
            Some(e) if e.kind == EntryKind::Symlink => e.link_target.ok_or(FsError::NotASymlink),
            _ => Err(FsError::NotASymlink),
        }
    }

    /// Ends the mount: the record of discs wanted is removed.
    pub fn unmounted(&self) {
        self.lock().shelf.forget_state();
    }

    /// The catalogue's path.
    pub fn catalogue_path(&self) -> PathBuf {
        self.lock().catalogue.path().to_owned()
    }
}

/// The mount path of an entry for messages: `latest/a/b`, `snapshots/3/a/b`.
fn shown_path(view: u64, entry: &Entry) -> String {
    let top = if view == LATEST {
        "latest".to_owned()
    } else {
        format!("snapshots/{view}")
    };
    format!("{top}/{}", String::from_utf8_lossy(&entry.path))
}
