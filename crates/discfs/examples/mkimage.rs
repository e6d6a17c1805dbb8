//! Writes the UDF + ISO 9660 image of a directory: `mkimage SRC_DIR OUT.iso [VOLUME_ID]`.
//!
//! A hand tool and the benchmark's subject: it does what a caller of the crate does, with
//! symlinks and special files left out and names that are not UTF-8 refused.

use std::fs::{self, File};
use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::ExitCode;

use discfs::{FileSource, NodeId, Timestamp, TreeBuilder, VolumeInfo};

fn add_dir(b: &mut TreeBuilder, parent: NodeId, dir: &Path) -> Result<(), String> {
    let mut entries = fs::read_dir(dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("{}: {e}", dir.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for e in entries {
        let path = e.path();
        let meta = fs::symlink_metadata(&path).map_err(|e| format!("{}: {e}", path.display()))?;
        let name = e
            .file_name()
            .into_string()
            .map_err(|n| format!("{n:?}: not UTF-8"))?;
        let mtime = Timestamp::new(meta.mtime(), meta.mtime_nsec() as u32);
        if meta.is_dir() {
            let id = b.dir(parent, &name, mtime).map_err(|e| e.to_string())?;
            add_dir(b, id, &path)?;
        } else if meta.is_file() {
            let source = FileSource::Path { path, offset: 0 };
            b.file(parent, &name, mtime, meta.len(), source)
                .map_err(|e| e.to_string())?;
        }
    }
    Ok(())
}

fn run(src: &Path, out: &Path, volume_id: &str) -> Result<(), String> {
    let meta = fs::metadata(src).map_err(|e| format!("{}: {e}", src.display()))?;
    let mut b = TreeBuilder::new(Timestamp::new(meta.mtime(), 0));
    add_dir(&mut b, NodeId::ROOT, src)?;
    let tree = b.build().map_err(|e| e.to_string())?;
    let volume = VolumeInfo {
        volume_id: volume_id.to_owned(),
        ..VolumeInfo::default()
    };
    let layout = discfs::layout(&tree, &volume).map_err(|e| e.to_string())?;
    let file = File::create(out).map_err(|e| format!("{}: {e}", out.display()))?;
    discfs::write_image(&tree, &layout, file, &mut ()).map_err(|e| e.to_string())?;
    Ok(())
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 3 {
        eprintln!("usage: mkimage SRC_DIR OUT.iso [VOLUME_ID]");
        return ExitCode::from(2);
    }
    let volume_id = args.get(3).map_or("CDROM", String::as_str);
    match run(Path::new(&args[1]), Path::new(&args[2]), volume_id) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("mkimage: {e}");
            ExitCode::FAILURE
        }
    }
}
