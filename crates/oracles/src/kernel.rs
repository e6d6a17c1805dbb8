//! The Linux kernel's own `udf` and `iso9660` drivers as readers, through a loop-free mount
//! inside a tiny virtual machine.
//!
//! This machine's kernel has neither driver (loop mounts fail with "unknown filesystem
//! type"), so `kernel_mount.sh` (embedded) boots Debian's 6.1 kernel under qemu with
//! software emulation and a busybox initramfs, attaches the image read-only, mounts it once
//! per view, and records every entry: kind, size, mtime, SHA-256, exact name bytes.
//!
//! Quirks (Linux 6.1, qemu TCG):
//! - Slow: about 8 s for a 20 MB image, 40 s for 20,000 files / 375 MB, minutes for
//!   multi-GiB files. Not in [`crate::Reader::ALL`]; ask for [`crate::Reader::Kernel`].
//! - KVM does not work for nested guests here, so emulation is software only.
//! - The first run downloads the kernel package (`apt-get download linux-image-...`) into
//!   `/tmp/kernel-oracle-cache` (set `KO_CACHE` to move it).
//! - The iso9660 driver shows dates from 2038 on as negative; the udf driver reads them.

use std::path::Path;

use crate::error::OracleError;
use crate::manifest::{Entry, Kind, Manifest};
use crate::tool::Tool;

/// The script that boots the kernel and records the views.
const SCRIPT: &str = include_str!("kernel_mount.sh");

/// qemu, which runs the kernel.
pub const QEMU: Tool = Tool {
    names: &["qemu-system-x86_64"],
    package: "qemu-system-x86",
};
/// A statically linked busybox, the guest's whole user space.
pub const BUSYBOX: Tool = Tool {
    names: &["busybox"],
    package: "busybox-static",
};
/// bash, which runs the script.
const BASH: Tool = Tool {
    names: &["bash"],
    package: "bash",
};

/// What the kernel's two drivers showed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KernelViews {
    /// The UDF view (`mount -t udf`): names as the driver gives them (UTF-8), mtimes.
    pub udf: Manifest,
    /// The ISO 9660 view (`mount -t iso9660`: Rock Ridge, else Joliet, else primary names).
    pub iso9660: Manifest,
}

/// Boots the kernel on `image` and returns both views. `out_dir` receives the raw records,
/// the console log and dmesg (see `kernel_mount.sh`). Fails when a view does not mount,
/// when any entry cannot be read, or when the virtual machine gives no result.
///
/// # Panics
/// When qemu, a static busybox or bash is missing.
pub fn kernel_mount(image: &Path, out_dir: &Path) -> Result<KernelViews, OracleError> {
    let reader = "kernel";
    QEMU.require();
    BUSYBOX.require();
    let io_error = |what: &str, e: std::io::Error| OracleError::new(reader, format!("{what}: {e}"));
    std::fs::create_dir_all(out_dir).map_err(|e| io_error("cannot create the output dir", e))?;
    let script = out_dir.join("kernel_mount.sh");
    std::fs::write(&script, SCRIPT).map_err(|e| io_error("cannot write the script", e))?;
    let args = [script.as_os_str(), image.as_os_str(), out_dir.as_os_str()];
    // The script has its own timeout, scaled to the image size.
    let run = BASH.run_with_timeout(reader, args, None, None)?;
    if let Some(line) = run
        .stderr
        .lines()
        .find(|l| l.starts_with("kernel_mount: missing:"))
    {
        panic!("required tool is missing for the kernel reader: {line} (scripts/test does this)");
    }
    if !run.status.success() {
        let mut problem = run.exit_summary();
        for view in ["status.txt", "udf.status", "iso9660.status"] {
            if let Ok(text) = std::fs::read_to_string(out_dir.join(view)) {
                problem.push_str(&format!("\n{view}:\n{}", text.trim_end()));
            }
        }
        return Err(OracleError::from_run(reader, problem, &run));
    }
    let view = |name: &str| -> Result<Manifest, OracleError> {
        let path = out_dir.join(format!("{name}.tsv"));
        let text = std::fs::read(&path).map_err(|e| io_error(&format!("no {name}.tsv"), e))?;
        parse_view(&text)
            .map_err(|p| OracleError::from_run(reader, format!("{name}.tsv: {p}"), &run))
    };
    Ok(KernelViews {
        udf: view("udf")?,
        iso9660: view("iso9660")?,
    })
}

/// Parses a `<view>.tsv` record: `TYPE SHA256 SIZE MTIME PATH [TARGET]`, tab-separated,
/// `\\`, `\t`, `\n`, `\r` and `\xNN` escaped in paths. The root (`r`) line is skipped.
pub fn parse_view(text: &[u8]) -> Result<Manifest, String> {
    let mut manifest = Manifest::new();
    for line in text
        .split(|&b| b == b'\n')
        .filter(|l| !l.is_empty() && l[0] != b'#')
    {
        let fields: Vec<&[u8]> = line.split(|&b| b == b'\t').collect();
        let shown = String::from_utf8_lossy(line);
        let bad = |what: &str| format!("bad {what} in `{shown}`");
        let [kind, sha, size, mtime, path, ..] = fields.as_slice() else {
            return Err(bad("line"));
        };
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let kind = match *kind {
            b"r" => continue,
            b"f" => Kind::File,
            b"d" => Kind::Dir,
            b"l" => Kind::Symlink,
            _ => Kind::Other,
        };
        let size: u64 = text(size).parse().map_err(|_| bad("size"))?;
        let mtime: i64 = text(mtime).parse().map_err(|_| bad("mtime"))?;
        let sha256 = match *sha {
            b"-" if kind == Kind::File => return Err(format!("unreadable file in `{shown}`")),
            b"-" => crate::manifest::sha256(b""),
            hex => hex_32(&text(hex)).ok_or_else(|| bad("hash"))?,
        };
        let path = unescape(path).ok_or_else(|| bad("escape"))?;
        let entry = match kind {
            // A symlink's hash and size are those of its target (see Kind::Symlink).
            Kind::Symlink => {
                let target = unescape(fields.get(5).copied().unwrap_or_default())
                    .ok_or_else(|| bad("link target"))?;
                Entry {
                    kind,
                    size: target.len() as u64,
                    sha256: crate::manifest::sha256(&target),
                    mtime: Some(mtime),
                }
            }
            Kind::Dir => Entry::dir(Some(mtime)),
            _ => Entry {
                kind,
                size,
                sha256,
                mtime: Some(mtime),
            },
        };
        manifest.insert(path, entry);
    }
    Ok(manifest)
}

fn hex_32(text: &str) -> Option<[u8; 32]> {
    if text.len() != 64 {
        return None;
    }
    let bytes: Option<Vec<u8>> = (0..64)
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect();
    bytes?.try_into().ok()
}

fn unescape(field: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(field.len());
    let mut i = 0;
    while i < field.len() {
        if field[i] != b'\\' {
            out.push(field[i]);
            i += 1;
            continue;
        }
        match field.get(i + 1)? {
            b'\\' => out.push(b'\\'),
            b't' => out.push(b'\t'),
            b'n' => out.push(b'\n'),
            b'r' => out.push(b'\r'),
            b'x' => {
                let hex = std::str::from_utf8(field.get(i + 2..i + 4)?).ok()?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            _ => return None,
        }
        i += 2;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::{hex, sha256};

    #[test]
    fn parses_a_view_record() {
        let h = hex(&sha256(b"x"));
        let text = format!(
            "# type\tsha256\tsize\tmtime\tpath\t[link_target]\nr\t-\t2048\t5\t.\n\
             d\t-\t2048\t7\ta\\tb\nf\t{h}\t1\t9\ta\\tb/caf\\xc3\\xa9\\\\\nl\t-\t3\t11\tln\tx/y\n"
        );
        let m = parse_view(text.as_bytes()).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m.get(b"a\tb").unwrap(), &Entry::dir(Some(7)));
        assert_eq!(
            m.get("a\tb/caf\u{e9}\\").unwrap(),
            &Entry::file(b"x", Some(9))
        );
        let link = m.get("ln").unwrap();
        assert_eq!(
            (link.kind, link.size, link.sha256),
            (Kind::Symlink, 3, sha256(b"x/y"))
        );
    }

    #[test]
    fn refuses_unreadable_files_and_bad_escapes() {
        assert!(parse_view(b"f\t-\t1\t9\tbroken\n").is_err());
        assert!(parse_view(b"d\t-\t0\t9\tbad\\q\n").is_err());
        assert!(parse_view(b"d\t-\tzero\t9\tx\n").is_err());
    }
}
