//! The FUSE binding of `odarchive mount`: a thin translation of kernel requests into
//! [`ArchiveFs`] calls and of its answers and errors into replies and errno values. It is
//! here, in the command's crate, so that the library (and the web page to come, which
//! reads the same [`ArchiveFs`]) carries no FUSE types or dependencies.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, LockOwner,
    OpenFlags, ReplyAttr, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyXattr,
    Request,
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
}

impl Filesystem for Fuse {
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
            Ok(handle) => reply.opened(FileHandle(handle), FopenFlags::empty()),
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
        match self.fs.read(fh.0, offset, size) {
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
    /// walk of the tree asks nothing). Files' pages are not kept across opens: a read that
    /// failed its hash check must fail again, not be served from pages read before it.
    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.fs.attributes(ino.0) {
            Ok(a) if a.kind == NodeKind::Directory => reply.opened(
                FileHandle(0),
                FopenFlags::FOPEN_CACHE_DIR | FopenFlags::FOPEN_KEEP_CACHE,
            ),
            Ok(_) => reply.error(Errno::ENOTDIR),
            Err(e) => reply.error(errno(&e)),
        }
    }

    fn readdir(
        &self,
        _req: &Request,
        ino: INodeNo,
        _fh: FileHandle,
        offset: u64,
        mut reply: ReplyDirectory,
    ) {
        // `.` at cookie 0 → 1, `..` at 1 → 2, then the folder's own names from cookie 3 on.
        let own = [(1, "."), (2, "..")];
        for (next, name) in own.into_iter().filter(|(next, _)| offset < *next) {
            if reply.add(ino, next, FileType::Directory, name) {
                return reply.ok();
            }
        }
        let mut cookie = offset.max(FIRST_COOKIE);
        loop {
            let page = match self.fs.read_dir(ino.0, cookie, PAGE) {
                Ok(page) => page,
                Err(e) => return reply.error(errno(&e)),
            };
            let Some(last) = page.last() else {
                return reply.ok();
            };
            let last_next = last.next;
            for d in &page {
                let name = OsStr::from_bytes(&d.name);
                if reply.add(
                    INodeNo(d.attributes.node),
                    d.next,
                    kind(d.attributes.kind),
                    name,
                ) {
                    return reply.ok();
                }
            }
            if page.len() < PAGE {
                // A short page is the folder's end: no query to find nothing more.
                return reply.ok();
            }
            cookie = last_next;
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
