//! A mounted disc (or a copy of one): a directory whose files are read with the standard
//! library.

use std::io::{self, Read, Write};
use std::path::Path;

use super::source::{DiscError, output_err};

/// Copies `r` (the file at `path` of the disc at `origin`) into `w` through `buf`.
pub(super) fn copy_stream(
    r: &mut dyn Read,
    w: &mut dyn Write,
    origin: &Path,
    path: &str,
    buf: &mut [u8],
) -> Result<u64, DiscError> {
    let mut small = [0u8; 8192];
    let buf = if buf.is_empty() { &mut small[..] } else { buf };
    let mut total = 0u64;
    loop {
        let n = match r.read(buf) {
            Ok(0) => return Ok(total),
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => {
                return Err(DiscError::Read {
                    disc: origin.to_owned(),
                    file: path.to_owned(),
                    reason: e.to_string(),
                });
            }
        };
        w.write_all(&buf[..n])
            .map_err(|e| output_err(origin, path, Some(e)))?;
        total += n as u64;
    }
}

/// Every file under `root` with its size, by path relative to it, sorted.
pub(super) fn list_mounted(root: &Path) -> Result<Vec<(String, u64)>, DiscError> {
    let mut out = Vec::new();
    let mut stack = vec![(root.to_path_buf(), String::new())];
    while let Some((dir, prefix)) = stack.pop() {
        let entries = std::fs::read_dir(&dir).map_err(|e| DiscError::Read {
            disc: root.to_owned(),
            file: prefix.clone(),
            reason: e.to_string(),
        })?;
        for entry in entries {
            let entry = entry.map_err(|e| DiscError::Read {
                disc: root.to_owned(),
                file: prefix.clone(),
                reason: e.to_string(),
            })?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let path = if prefix.is_empty() {
                name
            } else {
                format!("{prefix}/{name}")
            };
            let meta = entry.metadata().map_err(|e| DiscError::Read {
                disc: root.to_owned(),
                file: path.clone(),
                reason: e.to_string(),
            })?;
            if meta.is_dir() {
                stack.push((entry.path(), path));
            } else if meta.is_file() {
                out.push((path, meta.len()));
            }
        }
    }
    out.sort();
    Ok(out)
}
