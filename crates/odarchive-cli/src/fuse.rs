//! The FUSE binding of `odarchive mount`: a thin translation of kernel requests into
//! [`ArchiveFs`] calls and of its answers and errors into replies and errno values. It is
//! here, in the command's crate, so that the library (and the web page to come, which
//! reads the same [`ArchiveFs`]) carries no FUSE types or dependencies.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, InitFlags,
    KernelConfig, LockOwner, OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty,
    ReplyEntry, ReplyOpen, ReplyXattr, Request,
};
use odarchive::mount::{ArchiveFs, Attributes, FIRST_COOKIE, FsError, NodeKind};

/// How long the kernel may keep attributes and names: the tree never changes while mounted.
const TTL: Duration = Duration::from_secs(3600);

/// Names asked of [`ArchiveFs::read_dir`] at a time.
const PAGE: usize = 128;

/// [`ArchiveFs`] as a FUSE file system.
#[derive(Debug)]
pub struct Fuse {
    pub fs: Arc<ArchiveFs>,
    /// Owner of nodes whose owner the catalogue did not record (the catalogue file's).
    pub owner: (u32, u32),
    /// The kernel opens folders without asking (see [`Fuse::opendir`]).
    pub no_opendir: bool,
}

fn errno(e: &FsError) -> Errno {
    match e {
        FsError::NotFound => Errno::ENOENT,
        FsError::NotADirectory => Errno::ENOTDIR,
        FsError::IsADirectory => Errno::EISDIR,
        FsError::NotASymlink => Errno::EINVAL,
        FsError::DiscWanted(_) | FsError::Unreadable(_) | FsError::Catalogue(_) => Errno::EIO,
    }
}

fn time(ns: i64) -> SystemTime {
    if ns >= 0 {
        UNIX_EPOCH + Duration::from_nanos(ns as u64)
    } else {
        UNIX_EPOCH - Duration::from_nanos(ns.unsigned_abs())
    }
}

fn kind(k: NodeKind) -> FileType {
    match k {
        NodeKind::Directory => FileType::Directory,
        NodeKind::File => FileType::RegularFile,
        NodeKind::Symlink => FileType::Symlink,
    }
}

impl Fuse {
    fn attr(&self, a: &Attributes) -> FileAttr {
        let (uid, gid) = a.owner.unwrap_or(self.owner);
        let mtime = time(a.mtime_ns);
        FileAttr {
            ino: INodeNo(a.node),
            size: a.size,
            blocks: a.size.div_ceil(512),
            atime: mtime,
            mtime,
            ctime: mtime,
            crtime: mtime,
            kind: kind(a.kind),
            perm: (a.mode & 0o7777) as u16,
            nlink: if a.kind == NodeKind::Directory { 2 } else { 1 },
            uid,
            gid,
            rdev: 0,
            blksize: 64 * 1024,
            flags: 0,
        }
    }

    /// Fills `reply` with folder `ino`'s names from cookie `offset`: `.` at cookie 0 → 1,
    /// `..` at 1 → 2, then the folder's own names from cookie 3 on, a page of
    /// [`ArchiveFs::read_dir`] at a time until the reply is full or the folder ends.
    fn list(&self, ino: INodeNo, offset: u64, reply: &mut ReplyDirectory) -> Result<(), Errno> {
        for (next, name) in [(1, "."), (2, "..")] {
            if offset < next && reply.add(ino, next, FileType::Directory, name) {
                return Ok(());
            }
        }
        let mut cookie = offset.max(FIRST_COOKIE);
        loop {
            let page = self
                .fs
                .read_dir(ino.0, cookie, PAGE)
                .map_err(|e| errno(&e))?;
            let Some(last_next) = page.last().map(|d| d.next) else {
                return Ok(());
            };
            for d in &page {
                let name = OsStr::from_bytes(&d.name);
                if reply.add(
                    INodeNo(d.attributes.node),
                    d.next,
                    kind(d.attributes.kind),
                    name,
                ) {
                    return Ok(());
                }
            }
            if page.len() < PAGE {
                // A short page is the folder's end: no query to find nothing more.
                return Ok(());
            }
            cookie = last_next;
        }
    }
}

impl Filesystem for Fuse {
    /// Plain listings, not `readdirplus`: with names' attributes in the listing, the kernel
    /// makes an inode and a name entry for every file listed, which a walk by name (`find`)
    /// never needs; measured on 100,000 files, a cold `find` took 0.9–2.0 s with it and
    /// 0.4–0.6 s without (find's own system time 0.5–0.65 s against 0.12 s). A walk that
    /// stats every file (`ls -lR`) looks each up instead.
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        self.no_opendir = config
            .capabilities()
            .contains(InitFlags::FUSE_NO_OPENDIR_SUPPORT);
        Ok(())
    }

    fn destroy(&mut self) {
        self.fs.unmounted();
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        match self.fs.lookup(parent.0, name.as_bytes()) {
            Ok(a) => reply.entry(&TTL, &self.attr(&a), Generation(0)),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, _fh: Option<FileHandle>, reply: ReplyAttr) {
        match self.fs.attributes(ino.0) {
            Ok(a) => reply.attr(&TTL, &self.attr(&a)),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn readlink(&self, _req: &Request, ino: INodeNo, reply: ReplyData) {
        match self.fs.read_link(ino.0) {
            Ok(target) => reply.data(&target),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        if flags.0 & libc_accmode() != 0 {
            return reply.error(Errno::EROFS);
        }
        match self.fs.open(ino.0) {
            // Every byte the mount answers was checked against its hash first (see
            // `odarchive::mount`), so the kernel may keep the pages across opens: no page it
            // holds was left unchecked.
            Ok(handle) => reply.opened(FileHandle(handle), FopenFlags::FOPEN_KEEP_CACHE),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        match self.fs.read_shared(fh.0, offset, size) {
            Ok(bytes) => reply.data(&bytes),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        self.fs.release(fh.0);
        reply.ok();
    }

    /// Folders never change while mounted: the kernel may keep their listings (a second
    /// walk of the tree asks nothing).
    ///
    /// A kernel that can (Linux 5.1 on) is told that folders need no opening (`ENOSYS`
    /// once): it then opens them itself, keeping their listings, and sends neither an
    /// `opendir` nor a `releasedir` again, two requests less a folder. Otherwise nothing is
    /// asked of the catalogue here: the kernel opens only what it was told is a folder (a
    /// node gone from the catalogue fails the listing).
    fn opendir(&self, _req: &Request, _ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        if self.no_opendir {
            return reply.error(Errno::ENOSYS);
        }
        reply.opened(
            FileHandle(0),
            FopenFlags::FOPEN_CACHE_DIR | FopenFlags::FOPEN_KEEP_CACHE,
        )
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        match self.list(ino, offset, &mut reply) {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn getxattr(&self, _req: &Request, ino: INodeNo, name: &OsStr, size: u32, reply: ReplyXattr) {
        match self.fs.xattr(ino.0, name.as_bytes()) {
            Ok(Some(value)) => xattr_reply(reply, size, &value),
            Ok(None) => reply.error(Errno::NO_XATTR),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn listxattr(&self, _req: &Request, ino: INodeNo, size: u32, reply: ReplyXattr) {
        match self.fs.xattr_names(ino.0) {
            Ok(names) => {
                let mut list = Vec::new();
                for n in names {
                    list.extend_from_slice(n.as_bytes());
                    list.push(0);
                }
                xattr_reply(reply, size, &list)
            }
            Err(e) => reply.error(errno(&e)),
        }
    }
}

/// The size asked for (`size` 0), the value if it fits, else ERANGE.
fn xattr_reply(reply: ReplyXattr, size: u32, value: &[u8]) {
    if size == 0 {
        reply.size(value.len() as u32);
    } else if value.len() <= size as usize {
        reply.data(value);
    } else {
        reply.error(Errno::ERANGE);
    }
}

/// `O_WRONLY | O_RDWR`: an open for writing, refused on this read-only tree.
fn libc_accmode() -> i32 {
    0o3
}
