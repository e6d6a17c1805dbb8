//! Burning a written disc image and reading it back: `odarchive burn DISC --device DEV`.
//!
//! The image is burnt with `xorriso` (its cdrecord emulation), without defect management
//! (`stream_recording=on`: a BD-R formatted with a spare area holds fewer sectors than
//! odarchive plans for `bd`). Before burning, the loaded medium's free space (what xorriso's
//! `-tell_media_space` reports) must hold the image. After it, the disc is read back and
//! exactly the image's sectors (a burnt disc may be padded past them) are hashed and compared
//! with the SHA-256 recorded when the image was written; only then is the disc marked
//! verified. A device `stdio:FILE` is xorriso's pseudo-drive: a file standing in for a disc.
//!
//! Only xorriso is driven today; cdrskin and growisofs are not (the error says so).

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use sha2::{Digest, Sha256};

use crate::catalogue::Catalogue;
use crate::error::{Error, Result};
use crate::media::{Media, SECTOR};

/// How to burn.
#[derive(Debug, Clone)]
pub struct BurnOptions {
    /// The drive (`/dev/sr0`) or a pseudo-drive `stdio:FILE`.
    pub device: String,
    /// The folder the images were written to.
    pub images: PathBuf,
    /// A medium the image must also fit (e.g. `bd-formatted`), besides the loaded one.
    pub media: Option<Media>,
    /// Check everything and say what would be run, burning nothing.
    pub dry_run: bool,
}

/// What a burn did.
#[derive(Debug, Clone, serde::Serialize)]
pub struct BurnReport {
    /// The disc.
    pub disc: u32,
    /// Its image.
    #[serde(serialize_with = "crate::progress::lossy")]
    pub image: PathBuf,
    /// Sectors of the image.
    pub image_sectors: u64,
    /// Free sectors of the loaded medium, as xorriso reported them.
    pub medium_free_sectors: u64,
    /// The program that burns, and its arguments.
    pub command: Vec<String>,
    /// Whether it was only a dry run.
    pub dry_run: bool,
    /// Whether the disc read back with the recorded SHA-256 (`None`: a dry run).
    pub read_back_ok: Option<bool>,
}

/// Burns disc `number`'s image to `options.device`, reads it back and marks the disc verified
/// when its sectors hash to the recorded SHA-256. `progress` gets each line xorriso prints.
pub fn burn(
    catalogue: &mut Catalogue,
    number: u32,
    options: &BurnOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<BurnReport> {
    let disc = catalogue
        .discs()?
        .into_iter()
        .find(|d| d.number == number)
        .ok_or(Error::NoSuchDisc { number })?;
    let (Some(name), Some(sha)) = (&disc.image_name, disc.image_sha256) else {
        return Err(burn_err(format!("disc {number} has no image written yet")));
    };
    let image = options.images.join(name);
    let size = std::fs::metadata(&image)
        .map_err(|source| Error::Input {
            path: image.clone(),
            source,
        })?
        .len();
    let image_sectors = size.div_ceil(SECTOR);
    if let Some(media) = &options.media {
        if size > media.capacity {
            return Err(burn_err(format!(
                "{} ({size} bytes) does not fit {media}",
                image.display()
            )));
        }
    }
    let xorriso = find_program("xorriso").ok_or_else(|| {
        burn_err("xorriso is not installed (install it: apt install xorriso; cdrskin and growisofs are not driven)".into())
    })?;
    let free = medium_free_sectors(&xorriso, &options.device)?;
    if image_sectors > free {
        return Err(burn_err(format!(
            "{} needs {image_sectors} sectors; the medium in {} has {free} free",
            image.display(),
            options.device
        )));
    }
    let command = vec![
        xorriso.display().to_string(),
        "-as".into(),
        "cdrecord".into(),
        "-v".into(),
        format!("dev={}", options.device),
        "stream_recording=on".into(),
        image.display().to_string(),
    ];
    let mut report = BurnReport {
        disc: number,
        image: image.clone(),
        image_sectors,
        medium_free_sectors: free,
        command,
        dry_run: options.dry_run,
        read_back_ok: None,
    };
    if options.dry_run {
        return Ok(report);
    }
    run_burner(&report.command, progress)?;
    let ok = read_back(&options.device, size)? == sha;
    report.read_back_ok = Some(ok);
    if ok {
        catalogue.mark_verified(number)?;
    }
    Ok(report)
}

fn burn_err(reason: String) -> Error {
    Error::Burn { reason }
}

/// The program `name` on `PATH`.
fn find_program(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

/// The free sectors of the medium in `device`, from `xorriso -tell_media_space`.
fn medium_free_sectors(xorriso: &Path, device: &str) -> Result<u64> {
    let out = Command::new(xorriso)
        .args(["-outdev", device, "-tell_media_space"])
        .stdin(Stdio::null())
        .output()
        .map_err(|e| burn_err(format!("cannot run {}: {e}", xorriso.display())))?;
    let text =
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr);
    media_space(&text).ok_or_else(|| {
        burn_err(format!(
            "xorriso reported no free space for {device} (no writable medium?): {}",
            text.trim()
        ))
    })
}

/// The sectors of xorriso's `Media space  : 11595852s` line.
fn media_space(text: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix("Media space"))
        .and_then(|rest| rest.trim_start().strip_prefix(':'))
        .and_then(|n| n.trim().strip_suffix('s'))
        .and_then(|n| n.trim().parse().ok())
}

/// Runs the burner, passing each line it prints to `progress`.
fn run_burner(command: &[String], progress: &mut dyn FnMut(&str)) -> Result<()> {
    let mut child = Command::new(&command[0])
        .args(&command[1..])
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| burn_err(format!("cannot run {}: {e}", command[0])))?;
    // xorriso's progress goes to stderr; its stdout is small (read after).
    let stderr = child.stderr.take().expect("piped");
    for line in BufReader::new(stderr)
        .lines()
        .map_while(std::io::Result::ok)
    {
        progress(&line);
    }
    let mut rest = String::new();
    if let Some(mut stdout) = child.stdout.take() {
        let _ = stdout.read_to_string(&mut rest);
    }
    rest.lines().for_each(&mut *progress);
    let status = child
        .wait()
        .map_err(|e| burn_err(format!("{}: {e}", command[0])))?;
    if !status.success() {
        return Err(burn_err(format!("{} failed ({status})", command.join(" "))));
    }
    Ok(())
}

/// SHA-256 of the first `size` bytes of the disc in `device` (the file of `stdio:FILE`).
fn read_back(device: &str, size: u64) -> Result<[u8; 32]> {
    let path = Path::new(device.strip_prefix("stdio:").unwrap_or(device));
    let io = |source| Error::Io {
        path: path.to_owned(),
        source,
    };
    let file = std::fs::File::open(path).map_err(io)?;
    let mut hasher = Sha256::new();
    let mut limited = file.take(size);
    let copied = std::io::copy(&mut limited, &mut hasher).map_err(io)?;
    if copied < size {
        return Err(burn_err(format!(
            "{device} holds {copied} bytes, the image {size}: the burn is short"
        )));
    }
    Ok(hasher.finalize().into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_free_space_is_read_from_xorriso_s_report() {
        let text = "Media summary: 0 sessions, 0 data blocks, 0 data, 22.1g free\n\
                    Media space  : 11595852s\nAfter commit : 11595852s\n";
        assert_eq!(media_space(text), Some(11_595_852));
        assert_eq!(media_space("Media current: is unsuitable\n"), None);
    }
}
