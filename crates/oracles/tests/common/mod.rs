//! Positive controls: small trees and images of them written by other tools (genisoimage,
//! pycdlib), and ways to damage an image.

#![allow(dead_code)] // each test binary uses a different part

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use oracles::{Manifest, Tool};
use testkit::noise;

/// Base mtime of the control tree (2020-09-13), whole seconds.
pub const BASE_MTIME: i64 = 1_600_000_000;

pub fn set_mtime(path: &Path, secs: i64) {
    let time = std::time::UNIX_EPOCH + std::time::Duration::from_secs(secs as u64);
    fs::File::open(path).unwrap().set_modified(time).unwrap();
}

/// Writes the control tree under `root` (which must not exist) and returns its manifest.
///
/// Plain names of at most 64 characters (genisoimage cuts longer UDF names and aborts on
/// emoji), two accented names (udfclient mangles them), sizes around the sector size,
/// duplicate contents, an empty file and an empty directory, depth 4, distinct mtimes.
pub fn control_tree(root: &Path) -> Manifest {
    let files: Vec<(&str, Vec<u8>)> = vec![
        (
            "README.txt",
            b"control tree for the oracles crate\n".to_vec(),
        ),
        ("empty.bin", Vec::new()),
        ("one.bin", noise(1, 1)),
        ("a/s2047.bin", noise(2, 2047)),
        ("a/s2048.bin", noise(3, 2048)),
        ("a/s2049.bin", noise(4, 2049)),
        ("a/b/c/deep.bin", noise(5, 100_000)),
        (
            "a/b/c/same-as-readme.txt",
            b"control tree for the oracles crate\n".to_vec(),
        ),
        ("a/b/mixed Case name with spaces.txt", noise(6, 3000)),
        ("caf\u{e9}.txt", b"accent\n".to_vec()),
        ("d\u{e9}j\u{e0}/vu.txt", b"deja vu\n".to_vec()),
    ];
    let dirs = ["a", "a/b", "a/b/c", "a/empty", "d\u{e9}j\u{e0}"];
    for dir in dirs {
        fs::create_dir_all(root.join(dir)).unwrap();
    }
    for (i, (path, content)) in files.iter().enumerate() {
        let full = root.join(path);
        fs::write(&full, content).unwrap();
        set_mtime(&full, BASE_MTIME + 1000 * i as i64);
    }
    // Directories last and deepest first, so creating children does not touch them again.
    for (i, dir) in dirs.iter().enumerate().rev() {
        set_mtime(&root.join(dir), BASE_MTIME - 1000 * (i as i64 + 1));
    }
    Manifest::of_dir(root).unwrap()
}

/// `genisoimage -iso-level 3 -udf` of `src` with volume id `CONTROL`.
pub fn genisoimage(src: &Path, out: &Path) {
    let program = Tool::GENISOIMAGE.require();
    let status = Command::new(program)
        .args([
            "-quiet",
            "-iso-level",
            "3",
            "-udf",
            "-input-charset",
            "utf-8",
            "-V",
            "CONTROL",
            "-o",
        ])
        .arg(out)
        .arg(src)
        .status()
        .unwrap();
    assert!(status.success(), "genisoimage failed on the control tree");
}

/// A control image of a fresh control tree in a temporary directory:
/// (tempdir, image path, expected manifest).
pub fn genisoimage_control() -> (tempfile::TempDir, PathBuf, Manifest) {
    let dir = tempfile::tempdir().unwrap();
    let manifest = control_tree(&dir.path().join("src"));
    let image = dir.path().join("control.iso");
    genisoimage(&dir.path().join("src"), &image);
    (dir, image, manifest)
}

/// Overwrites `bytes` at `offset` of `image`.
pub fn patch(image: &Path, offset: u64, bytes: &[u8]) {
    use std::io::{Seek, SeekFrom, Write};
    let mut f = fs::OpenOptions::new().write(true).open(image).unwrap();
    f.seek(SeekFrom::Start(offset)).unwrap();
    f.write_all(bytes).unwrap();
}

/// Byte offset of the first UDF descriptor with tag identifier `tag` at or after `from`
/// (descriptors start 4-byte aligned; the tag checksum must hold, so data is not mistaken).
pub fn find_descriptor(image: &Path, tag: u16, from: u64) -> u64 {
    let data = fs::read(image).unwrap();
    let start = (from as usize).next_multiple_of(4);
    (start..data.len().saturating_sub(16))
        .step_by(4)
        .find(|&i| {
            let d = &data[i..i + 16];
            let checksum = d
                .iter()
                .enumerate()
                .filter(|&(k, _)| k != 4)
                .fold(0u8, |s, (_, b)| s.wrapping_add(*b));
            u16::from_le_bytes([d[0], d[1]]) == tag && d[4] == checksum && d[5] == 0
        })
        .map(|i| i as u64)
        .expect("descriptor present")
}

/// A pycdlib-written ISO 9660 + UDF image of `src` (volume id `PYCONTROL`; symlinks become
/// UDF symlinks; mtimes are wrong, see make_control_iso.py).
pub fn pycdlib_image(src: &Path, out: &Path) {
    use std::io::Write;
    let python = Tool::PYTHON.require();
    let mut child = Command::new(python)
        .arg("-")
        .arg(src)
        .arg(out)
        .stdin(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(include_bytes!("make_control_iso.py"))
        .unwrap();
    assert!(
        child.wait().unwrap().success(),
        "pycdlib could not write the control image"
    );
}

/// CRC-ITU-T (x^16 + x^12 + x^5 + 1, initial 0), the UDF descriptor CRC.
pub fn crc_itu_t(data: &[u8]) -> u16 {
    let mut crc = 0u16;
    for &byte in data {
        crc ^= u16::from(byte) << 8;
        for _ in 0..8 {
            crc = if crc & 0x8000 != 0 {
                (crc << 1) ^ 0x1021
            } else {
                crc << 1
            };
        }
    }
    crc
}

/// Rewrites the descriptor tag at `offset`: CRC length `crc_len`, CRC and checksum recomputed
/// so the damage is only what the caller chose.
pub fn retag(image: &Path, offset: u64, crc_len: u16) {
    let data = fs::read(image).unwrap();
    let start = offset as usize;
    let mut tag: [u8; 16] = data[start..start + 16].try_into().unwrap();
    let crc = crc_itu_t(&data[start + 16..start + 16 + usize::from(crc_len)]);
    tag[8..10].copy_from_slice(&crc.to_le_bytes());
    tag[10..12].copy_from_slice(&crc_len.to_le_bytes());
    tag[4] = tag
        .iter()
        .enumerate()
        .filter(|&(k, _)| k != 4)
        .fold(0u8, |s, (_, b)| s.wrapping_add(*b));
    patch(image, offset, &tag);
}

/// A tree whose names are already ISO 9660 d-character names, so the ISO view holds them
/// unchanged; returns its manifest.
pub fn d_character_tree(root: &Path) -> Manifest {
    fs::create_dir_all(root.join("DOCS/OLD")).unwrap();
    fs::create_dir_all(root.join("EMPTY")).unwrap();
    let files: [(&str, Vec<u8>); 4] = [
        ("README.TXT", b"iso view control\n".to_vec()),
        ("DOCS/A.BIN", noise(7, 4096)),
        ("DOCS/OLD/B_2.DAT", noise(8, 10_000)),
        ("NOEXT", Vec::new()),
    ];
    for (i, (path, content)) in files.iter().enumerate() {
        fs::write(root.join(path), content).unwrap();
        set_mtime(&root.join(path), BASE_MTIME + 100 * i as i64);
    }
    for (i, dir) in ["DOCS/OLD", "DOCS", "EMPTY"].iter().enumerate() {
        set_mtime(&root.join(dir), BASE_MTIME - 100 * i as i64);
    }
    Manifest::of_dir(root).unwrap()
}
