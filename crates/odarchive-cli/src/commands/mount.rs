//! `odarchive mount MOUNTPOINT [--from IMAGE_OR_DIR...] [--images DIR] [--snapshot ID]
//! [--wait] [--cache DIR [--cache-size SIZE]]`: the whole archive as one read-only file system, served over FUSE until it is
//! unmounted (`fusermount3 -u MOUNTPOINT`, Ctrl-C or SIGTERM).

use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context, Result, bail};
use odarchive::mount::{ArchiveFs, MountLog, MountOptions, WantedDisc};
use odarchive::{Catalogue, Problem};

use crate::fuse::Fuse;
use crate::{Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The empty folder to mount the archive on.
    #[arg(value_name = "MOUNTPOINT")]
    mountpoint: PathBuf,
    /// Disc images (.iso) or mounted discs (directories) to read files from, in any order.
    #[arg(long, num_args = 1.., value_name = "IMAGE_OR_DIR")]
    from: Vec<PathBuf>,
    /// A folder of disc images, looked at again whenever a read needs a disc not given yet:
    /// add the image there and the read succeeds, without remounting.
    #[arg(long, value_name = "DIR")]
    images: Option<PathBuf>,
    /// Mount this snapshot alone (its id, `latest` or a UTC date), at the top, instead of
    /// `latest/` and `snapshots/<id>/`.
    #[arg(long, value_name = "ID|latest|DATE")]
    snapshot: Option<String>,
    /// Wait for a disc that is not given (until it is added) instead of failing the read
    /// with an I/O error.
    #[arg(long)]
    wait: bool,
    /// A folder to keep the files read whole in (named by their hash, checked before use),
    /// so that their discs are not asked again, in this mount or a later one.
    #[arg(long, value_name = "DIR")]
    cache: Option<PathBuf>,
    /// The most the cache folder holds, e.g. 500M, 20GiB; the least recently used files go
    /// first.
    #[arg(long, value_name = "SIZE", value_parser = super::plan::parse_size,
          default_value = "1GiB", requires = "cache")]
    cache_size: u64,
}

/// Problems and wanted discs, on stderr as they happen.
struct StderrLog;

impl MountLog for StderrLog {
    fn problem(&self, problem: &Problem) {
        eprintln!("odarchive mount: {problem}");
    }
    fn disc_wanted(&self, wanted: &WantedDisc) {
        eprintln!("odarchive mount: {wanted}");
    }
}

pub fn run(args: &Args, global: &Global) -> Result<Outcome> {
    let mountpoint = std::fs::canonicalize(&args.mountpoint)
        .with_context(|| format!("mount point {}", args.mountpoint.display()))?;
    if !mountpoint.is_dir() {
        bail!("{}: the mount point is not a folder", mountpoint.display());
    }
    if let Some(what) = mounted_at(&mountpoint) {
        bail!(
            "{}: something is mounted there already ({what}); unmount it first \
             (`fusermount3 -u {}`)",
            mountpoint.display(),
            mountpoint.display()
        );
    }
    let catalogue = Catalogue::open_read_only_upgraded(&global.catalogue)?;
    let snapshot = super::snapshot_arg(&catalogue, args.snapshot.as_deref())?;
    let owner = std::fs::metadata(&global.catalogue).map_or((0, 0), |m| (m.uid(), m.gid()));
    let options = MountOptions {
        from: args.from.clone(),
        images: args.images.clone(),
        snapshot,
        wait: args.wait,
        mountpoint: mountpoint.clone(),
        cache: args.cache.clone(),
        cache_size: args.cache_size,
    };
    let fs = Arc::new(ArchiveFs::new(catalogue, &options, Box::new(StderrLog))?);
    let config = {
        let mut c = fuser::Config::default();
        c.mount_options = vec![
            fuser::MountOption::RO,
            fuser::MountOption::FSName("odarchive".into()),
            fuser::MountOption::Subtype("odarchive".into()),
            fuser::MountOption::NoDev,
            fuser::MountOption::NoSuid,
        ];
        // Folders stay listable while one read waits for a disc, or for the check of a
        // large file (the kernel's read-ahead of it waits too, several requests at once).
        c.n_threads = Some(8);
        c
    };
    let fuse = Fuse {
        fs: Arc::clone(&fs),
        owner,
        no_opendir: false,
    };
    let mut session = fuser::Session::new(fuse, &mountpoint, &config)
        .with_context(|| format!("mounting on {} (is fuse3 installed?)", mountpoint.display()))?;
    let mut unmounter = session.unmount_callable();
    ctrlc::set_handler(move || {
        let _ = unmounter.unmount();
    })
    .context("setting the Ctrl-C handler")?;
    eprintln!(
        "odarchive mount: {} mounted; unmount with `fusermount3 -u {}` or Ctrl-C",
        mountpoint.display(),
        mountpoint.display()
    );
    let served = session.run();
    fs.unmounted();
    served.with_context(|| format!("serving {}", mountpoint.display()))?;
    Ok(Outcome::Success)
}

/// What is mounted at `path`, if anything (from /proc/self/mountinfo: its file system type
/// and source).
fn mounted_at(path: &Path) -> Option<String> {
    let info = std::fs::read_to_string("/proc/self/mountinfo").ok()?;
    let wanted = path.to_string_lossy();
    info.lines().find_map(|line| {
        let fields: Vec<&str> = line.split(' ').collect();
        let at = unescape(fields.get(4)?);
        if at != wanted {
            return None;
        }
        let dash = fields.iter().position(|f| *f == "-")?;
        let fs_type = fields.get(dash + 1).copied().unwrap_or("?");
        let source = fields.get(dash + 2).copied().unwrap_or("?");
        Some(format!("{fs_type} from {source}"))
    })
}

/// A mountinfo path: spaces, tabs, newlines and backslashes are written as `\ooo`.
fn unescape(field: &str) -> String {
    let bytes = field.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'\\' && i + 4 <= bytes.len() {
            let digits = std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap_or("");
            if let Ok(v) = u8::from_str_radix(digits, 8) {
                out.push(v);
                i += 4;
                continue;
            }
        }
        out.push(bytes[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_mountinfo_path_is_unescaped() {
        assert_eq!(super::unescape(r"/mnt/a\040b\134c"), r"/mnt/a b\c");
        assert_eq!(super::unescape("/plain"), "/plain");
    }
}
