//! libarchive's `bsdtar`: a second, independent reader of the ISO 9660 view (Rock Ridge
//! names if present, else Joliet, else the primary volume's names without `;1`).
//!
//! Quirks (bsdtar 3.6, Debian `libarchive-tools`):
//! - libarchive has no UDF reader: it sees only the ISO 9660 side of a bridge image.
//! - Problems are printed as `bsdtar: ...` lines on stderr; the exit status is not always
//!   non-zero for them, so anything on stderr fails the run.
//! - Without Rock Ridge, files are extracted mode 0400 and directories 0700.

use std::path::Path;

use crate::error::OracleError;
use crate::manifest::Manifest;
use crate::tool::Tool;

/// Runs `bsdtar -xf IMAGE -C OUT_DIR` (creating `out_dir`): exit 0 and nothing on stderr.
/// Returns the manifest of the extracted ISO 9660 view.
pub fn bsdtar_extract(image: &Path, out_dir: &Path) -> Result<Manifest, OracleError> {
    let reader = "bsdtar";
    std::fs::create_dir_all(out_dir).map_err(|e| {
        OracleError::new(reader, format!("cannot create {}: {e}", out_dir.display()))
    })?;
    let args = [
        "-xf".as_ref(),
        image.as_os_str(),
        "-C".as_ref(),
        out_dir.as_os_str(),
    ];
    let run = Tool::BSDTAR.run(reader, args, None)?;
    run.succeeded_quietly(reader)?;
    let manifest = Manifest::of_dir(out_dir).map_err(|e| {
        OracleError::from_run(reader, format!("cannot read the extracted tree: {e}"), &run)
    });
    let _ = crate::scratch::make_writable(out_dir);
    manifest
}
