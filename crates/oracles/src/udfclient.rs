//! udfclient (Debian `udfclient` 0.8.11, the NetBSD UDF code in user space): the UDF view
//! read by a fourth implementation, driven non-interactively through its command prompt.
//!
//! Quirks:
//! - It shows each logical volume as a top-level directory named
//!   `VOLSETID:PVDID:LVID:FSID`; `ls` at the root gives that name and `mget "NAME"` into an
//!   `lcd` directory extracts the volume under it.
//! - It mangles non-ASCII names to OSTA-style ASCII (`x_y#1A2B.txt`), so only pure-ASCII paths
//!   can be compared by name; the content multiset and directory count cover the rest
//!   ([`compare_udfclient_view`]).
//! - It restores file mtimes, but directories it creates keep their extraction time, so the
//!   manifest has no directory mtimes.
//! - Extracted directories are read-only; made writable after the manifest is taken.
//! - It exits 1 when it cannot mount ("Disc size too small..."), but a failed file read within
//!   `mget` does not change the exit status: content is checked by hash.

use std::path::Path;

use crate::compare::{Difference, compare, compare_content, compare_count};
use crate::error::OracleError;
use crate::manifest::{Kind, Manifest};
use crate::tool::Tool;

/// Markers of failure at the start of a udfclient output line.
const PROBLEM_PREFIXES: &[&str] = &["Can't", "can't", "Error", "error", "Failed", "failed"];
/// Markers of failure anywhere in a line: its file system layer reports as
/// `UDF: couldn't ...` (possibly after a `UDF> ` prompt), and errno texts follow names.
const PROBLEM_TEXTS: &[&str] = &[
    "UDF: ",
    "No such file or directory",
    "Input/output error",
    "Invalid argument",
    "Permission denied",
];

/// Extracts the UDF view with udfclient into `out_dir` (created if absent) and returns its
/// manifest: names as udfclient writes them, file mtimes, no directory mtimes.
pub fn udfclient_extract(image: &Path, out_dir: &Path) -> Result<Manifest, OracleError> {
    let reader = "udfclient";
    let args = || ["-b".as_ref(), "2048".as_ref(), image.as_os_str()];
    let listing = Tool::UDFCLIENT.run(reader, args(), Some(b"ls\nquit\n"))?;
    if !listing.status.success() {
        let msg = format!("cannot mount the UDF volume: {}", listing.exit_summary());
        return Err(OracleError::from_run(reader, msg, &listing));
    }
    let Some(volume) = root_volume_name(&listing.stdout) else {
        return Err(OracleError::from_run(
            reader,
            "no UDF volume in the root listing",
            &listing,
        ));
    };
    if volume.contains('"') {
        let msg = format!("volume name `{volume}` holds a quote that udfclient's mget cannot take");
        return Err(OracleError::from_run(reader, msg, &listing));
    }
    std::fs::create_dir_all(out_dir).map_err(|e| {
        OracleError::new(reader, format!("cannot create {}: {e}", out_dir.display()))
    })?;
    if out_dir.to_string_lossy().contains('"') {
        let msg = format!(
            "{} holds a quote that udfclient's lcd cannot take",
            out_dir.display()
        );
        return Err(OracleError::new(reader, msg));
    }
    let script = format!("lcd \"{}\"\nmget \"{volume}\"\nquit\n", out_dir.display());
    let run = Tool::UDFCLIENT.run(reader, args(), Some(script.as_bytes()))?;
    if !run.status.success() {
        return Err(OracleError::from_run(reader, run.exit_summary(), &run));
    }
    let output = run.all_output();
    if !output.contains("Changing local directory to") {
        let msg = format!("udfclient did not change to {}", out_dir.display());
        return Err(OracleError::from_run(reader, msg, &run));
    }
    let problems: Vec<&str> = output
        .lines()
        .flat_map(|l| l.split('\r')) // progress lines end in carriage returns
        .filter(|l| {
            PROBLEM_PREFIXES
                .iter()
                .any(|p| l.trim_start().starts_with(p))
                || PROBLEM_TEXTS.iter().any(|t| l.contains(t))
        })
        .map(|l| l.trim())
        .collect::<Vec<_>>();
    if !problems.is_empty() {
        let msg = format!("udfclient complained: {}", problems.join(" | "));
        return Err(OracleError::from_run(reader, msg, &run));
    }
    let root = out_dir.join(&volume);
    let manifest = if root.exists() {
        Manifest::of_dir(&root)
    } else {
        Ok(Manifest::new()) // an empty volume: mget creates nothing
    };
    let _ = crate::scratch::make_writable(out_dir);
    let mut manifest = manifest.map_err(|e| {
        OracleError::from_run(reader, format!("cannot read the extracted tree: {e}"), &run)
    })?;
    for entry in manifest
        .entries
        .values_mut()
        .filter(|e| e.kind == Kind::Dir)
    {
        entry.mtime = None;
    }
    Ok(manifest)
}

/// The first entry of the root listing (`Directory listing of /` then
/// `drwxrwxrwx -1 -1 212  NAME`).
pub fn root_volume_name(stdout: &str) -> Option<String> {
    let mut lines = stdout
        .lines()
        .skip_while(|l| !l.ends_with("Directory listing of /"));
    lines.next()?;
    let line = lines.next()?;
    let mut rest = line.trim_start();
    for _ in 0..4 {
        let end = rest.find(char::is_whitespace)?;
        rest = rest[end..].trim_start();
    }
    (!rest.is_empty()).then(|| rest.to_string())
}

/// Whether a path holds udfclient's mangled form of a non-ASCII name (`#` and 4 hex digits).
fn is_mangled(path: &[u8]) -> bool {
    path.windows(5)
        .any(|w| w[0] == b'#' && w[1..].iter().all(|b| b.is_ascii_hexdigit()))
}

/// Compares udfclient's view with the expected UDF view: pure-ASCII paths exactly (kind,
/// size, content, and mtime within `mtime_tolerance` where given), all files as a content
/// multiset, and the number of directories.
pub fn compare_udfclient_view(
    expected: &Manifest,
    got: &Manifest,
    mtime_tolerance: Option<u64>,
) -> Vec<Difference> {
    let ascii_expected = expected.filtered(|p, _| p.is_ascii());
    let ascii_got = got.filtered(|p, _| p.is_ascii() && !is_mangled(p));
    let mut out = compare(&ascii_expected, &ascii_got, mtime_tolerance);
    // An ASCII name that udfclient showed mangled is not missing: the multiset covers it.
    out.retain(|d| !matches!(d, Difference::Missing { path, .. } if is_mangled(path)));
    out.extend(compare_content(expected, got));
    out.extend(compare_count(expected, got, Kind::Dir));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_volume_in_the_root_listing() {
        let out = "Resulting list\n\nDirectory listing of /\n\
            drwxrwxrwx     -1     -1         212  6B07F9F900001005:MY DISC:MY DISC:MY DISC\n\
            UDF working directory is     /\n";
        assert_eq!(
            root_volume_name(out).as_deref(),
            Some("6B07F9F900001005:MY DISC:MY DISC:MY DISC")
        );
        assert_eq!(root_volume_name("nothing here\n"), None);
    }

    #[test]
    fn compares_ascii_names_and_content_of_the_rest() {
        let mut expected = Manifest::new();
        expected
            .insert_dir("caf\u{e9}", None)
            .insert_file("caf\u{e9}/x", b"1", None);
        expected.insert_file("plain", b"2", Some(10));
        let mut got = Manifest::new();
        got.insert_dir("caf_#00E9", None)
            .insert_file("caf_#00E9/x", b"1", None);
        got.insert_file("plain", b"2", Some(10));
        assert_eq!(compare_udfclient_view(&expected, &got, Some(0)), []);

        got.insert_file("plain", b"3", Some(10));
        got.insert_dir("stray", None);
        let text: Vec<String> = compare_udfclient_view(&expected, &got, Some(0))
            .iter()
            .map(|d| d.to_string())
            .collect();
        assert_eq!(text.len(), 5, "{text:#?}");
        assert!(
            text.iter()
                .any(|t| t.starts_with("`plain` has other content"))
        );
        assert!(text.iter().any(|t| t == "unexpected directory `stray`"));
        assert!(
            text.iter()
                .any(|t| t == "2 entries of kind directory, expected 1")
        );
    }
}
