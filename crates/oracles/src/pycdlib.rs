//! pycdlib (Python, Debian `python3-pycdlib` 1.12): the UDF view parsed by a third,
//! independent implementation, with file contents hashed as they stream, no extraction; and
//! the ISO 9660 view's directory records as pycdlib parses them.
//!
//! The walker is `pycdlib_walk.py`, embedded in this crate and run with `/usr/bin/python3`
//! (Debian's Python, the one that has pycdlib). Its docstring lists the pycdlib bugs it works
//! around: files over 4 GiB truncated on bridge images, mixed 8/16-bit names breaking its
//! walk, short_ad extent types masked away, inline data. pycdlib itself checks the tag
//! checksum and CRC of every descriptor it parses; the walker adds that a File Identifier
//! Descriptor's CRC covers its padding and that anchors sit at sector 256 and at the last
//! sector of the image. In the ISO 9660 view it joins multi-extent files itself (pycdlib
//! lists their records separately).
//!
//! pycdlib 1.12 *writes* wrong UDF timestamps (the day field holds the month), but reads them
//! as stored: mtimes read here are trustworthy for images written by others.

use std::path::Path;

use crate::error::{OracleError, ToolRun};
use crate::manifest::{Entry, Kind, Manifest};
use crate::tool::Tool;

/// The walker script.
const SCRIPT: &str = include_str!("pycdlib_walk.py");

/// Opens `image` with pycdlib and walks its UDF view: every path with kind, size, SHA-256 of
/// the content and mtime (whole seconds, UTC). Fails when pycdlib cannot open the image or
/// finds no UDF, when a descriptor's checksum or CRC is wrong, when a File Identifier
/// Descriptor's CRC does not cover its padding, when the anchor at sector 256 or at the last
/// sector is missing, or when a file's extents do not cover its length or run past the image.
pub fn pycdlib_udf_manifest(image: &Path) -> Result<Manifest, OracleError> {
    walk("pycdlib", image, "udf")
}

/// Opens `image` with pycdlib and walks the primary volume's ISO 9660 directory records:
/// names as osirrox shows them (no `;1` version, no trailing dot), sizes and SHA-256 of
/// multi-extent files joined, mtimes from the records. Fails when pycdlib cannot open the
/// image, when a multi-extent file has no last extent, or when an extent runs past the image.
pub fn pycdlib_iso_manifest(image: &Path) -> Result<Manifest, OracleError> {
    walk("pycdlib iso9660", image, "iso")
}

fn walk(reader: &str, image: &Path, view: &str) -> Result<Manifest, OracleError> {
    let args = ["-".as_ref(), image.as_os_str(), view.as_ref()];
    let run = Tool::PYTHON.run(reader, args, Some(SCRIPT.as_bytes()))?;
    if run.stderr.contains("No module named 'pycdlib'") {
        panic!(
            "required tool `pycdlib` is missing: install Debian package python3-pycdlib \
             (scripts/test does this)"
        );
    }
    let parsed = parse(&run.stdout);
    if !run.status.success() {
        let last = run.stderr.lines().last().unwrap_or_default();
        let mut problem = format!("pycdlib failed: {last}");
        if let Ok((_, problems)) = &parsed {
            for p in problems {
                problem.push_str(&format!(" | {p}"));
            }
        }
        return Err(OracleError::from_run(reader, problem, &run));
    }
    let (manifest, problems) =
        parsed.map_err(|problem| OracleError::from_run(reader, problem, &run))?;
    if !problems.is_empty() {
        return Err(problems_error(reader, &problems, &run));
    }
    Ok(manifest)
}

fn problems_error(reader: &str, problems: &[String], run: &ToolRun) -> OracleError {
    let shown: Vec<&str> = problems.iter().take(20).map(String::as_str).collect();
    let more = problems.len().saturating_sub(shown.len());
    let mut text = format!(
        "{} problem(s) in the UDF structures: {}",
        problems.len(),
        shown.join(" | ")
    );
    if more > 0 {
        text.push_str(&format!(" | ... and {more} more"));
    }
    OracleError::from_run(reader, text, run)
}

/// Parses the walker's output into the manifest and its problem lines.
pub fn parse(stdout: &str) -> Result<(Manifest, Vec<String>), String> {
    let mut manifest = Manifest::new();
    let mut problems = Vec::new();
    for line in stdout.lines() {
        let fields: Vec<&str> = line.split('\t').collect();
        match fields.as_slice() {
            ["E", kind, size, sha, mtime, path] => {
                let bad = |what: &str| format!("bad {what} in walker line `{line}`");
                let kind = match *kind {
                    "d" => Kind::Dir,
                    "f" => Kind::File,
                    "l" => Kind::Symlink,
                    _ => Kind::Other,
                };
                let size = size.parse().map_err(|_| bad("size"))?;
                let sha256 = match *sha {
                    "-" => [0; 32],
                    _ => from_hex(sha)
                        .and_then(|v| v.try_into().ok())
                        .ok_or_else(|| bad("hash"))?,
                };
                let mtime = if *mtime == "-" {
                    None
                } else {
                    Some(mtime.parse().map_err(|_| bad("mtime"))?)
                };
                let path: Vec<u8> = from_hex(path).ok_or_else(|| bad("path"))?;
                if manifest.entries.contains_key(&path) {
                    problems.push(format!(
                        "`{}` appears twice",
                        crate::manifest::show_path(&path)
                    ));
                }
                manifest.insert(
                    path,
                    Entry {
                        kind,
                        size,
                        sha256,
                        mtime,
                    },
                );
            }
            ["P", message] => problems.push(message.to_string()),
            ["I", ..] => {}
            _ => return Err(format!("cannot parse walker line `{line}`")),
        }
    }
    Ok((manifest, problems))
}

/// Bytes from lower- or upper-case hex; `None` for odd lengths or non-hex characters.
fn from_hex(text: &str) -> Option<Vec<u8>> {
    if text.len() % 2 != 0 {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::manifest::sha256;

    #[test]
    fn parses_entries_and_problems() {
        let sha = crate::manifest::hex(&sha256(b"x"));
        let out = format!(
            "I\tpartition_start\t257\nE\td\t0\t{sha}\t100\t61\nE\tf\t1\t{sha}\t-\t612fc3a9\n\
             P\tFile Entry of a: descriptor CRC mismatch\n"
        );
        let (m, problems) = parse(&out).unwrap();
        assert_eq!(m.get("a").unwrap().kind, Kind::Dir);
        assert_eq!(m.get("a").unwrap().mtime, Some(100));
        let f = m.get("a/\u{e9}").unwrap();
        assert_eq!(
            (f.kind, f.size, f.sha256, f.mtime),
            (Kind::File, 1, sha256(b"x"), None)
        );
        assert_eq!(problems, ["File Entry of a: descriptor CRC mismatch"]);
    }

    #[test]
    fn refuses_garbage() {
        assert!(parse("Traceback (most recent call last):\n").is_err());
        assert!(parse("E\tf\tnot-a-size\t-\t-\t61\n").is_err());
        assert_eq!(from_hex("6"), None);
        assert_eq!(from_hex("zz"), None);
        assert_eq!(from_hex("00fF"), Some(vec![0, 255]));
    }
}
