//! 7-Zip: `7z t` (which handler opens the image, and does it test clean) and `7z x -tudf`
//! (the UDF view, extracted with names, sizes, contents and mtimes).
//!
//! Quirks (7-Zip 26.02, Debian `7zip` / `p7zip-full`):
//! - Exit status 0 does not mean clean: "There are data after the end of archive" (a
//!   truncated or oversized image), "Tail Size = N" and other WARNINGS come with status 0,
//!   so the output is scanned for warning and error markers.
//! - `7z t` without `-t` opens a bridge image with its Udf handler when UDF is sound, and
//!   silently falls back to the Iso handler when it is not (e.g. no anchor at sector 256):
//!   "Everything is Ok", status 0. So `Type = Udf` is required.
//! - A volume holding a UDF symlink is refused whole ("Unsupported feature").
//! - "Headers Error" marks structures it distrusts (e.g. genisoimage's empty volume).
//! - It restores file and directory mtimes from the UDF File Entries, to the second or better.
//! - Its summary omits `Folders:` when there are none and `Files:` when there is exactly one
//!   file and no folder; an empty volume gives "No files to process" and "Files: 0".

use std::path::Path;

use crate::error::{OracleError, ToolRun};
use crate::manifest::Manifest;
use crate::tool::Tool;

/// What `7z t` or `7z x` said about an image.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SevenZipSummary {
    /// The handler that opened the image (`Type = Udf`, `Iso`, ...).
    pub archive_type: String,
    /// `Version = ...` (for UDF: the domain's UDF revision, e.g. `1.02`).
    pub version: Option<String>,
    /// `Physical Size = N`: how many bytes of the image the handler accounts for.
    pub physical_size: Option<u64>,
    /// `Folders: N` (the root not counted; 7-Zip prints no line for 0).
    pub folders: u64,
    /// `Files: N` (7-Zip prints no line for exactly one file and no folder).
    pub files: u64,
    /// `Size: N`, total bytes of file content.
    pub size: u64,
}

/// Markers of trouble in 7-Zip's output (outside the volume comment block).
const PROBLEM_MARKERS: &[&str] = &[
    "Error",
    "ERROR",
    "Warning",
    "WARNING",
    "Unsupported",
    "Can't open",
    "Tail Size",
    "There are data after",
    "Unexpected end",
    "CRC Failed",
    "Is not archive",
];

/// Runs `7z t IMAGE`: exit 0, "Everything is Ok", no warning or error anywhere in the
/// output, opened by the Udf handler, and its physical size equal to the image's length.
pub fn seven_zip_test(image: &Path) -> Result<SevenZipSummary, OracleError> {
    let reader = "7z t";
    let run = Tool::SEVEN_ZIP.run(
        reader,
        ["t".as_ref(), "-bd".as_ref(), image.as_os_str()],
        None,
    )?;
    judge(reader, &run, image)
}

/// Runs `7z x -tudf -oOUT_DIR IMAGE` with the same checks as [`seven_zip_test`], then returns
/// the manifest of what it extracted (with mtimes of files and directories). `out_dir` must
/// be empty or absent.
pub fn seven_zip_extract_udf(image: &Path, out_dir: &Path) -> Result<Manifest, OracleError> {
    let reader = "7z x -tudf";
    let mut out_arg = std::ffi::OsString::from("-o");
    out_arg.push(out_dir);
    let args = [
        "x".as_ref(),
        "-y".as_ref(),
        "-bd".as_ref(),
        "-tudf".as_ref(),
        out_arg.as_os_str(),
        image.as_os_str(),
    ];
    let run = Tool::SEVEN_ZIP.run(reader, args, None)?;
    judge(reader, &run, image)?;
    if !out_dir.exists() {
        // 7-Zip creates nothing for a volume with no entries.
        return Ok(Manifest::new());
    }
    Manifest::of_dir(out_dir).map_err(|e| {
        OracleError::from_run(reader, format!("cannot read the extracted tree: {e}"), &run)
    })
}

fn judge(reader: &str, run: &ToolRun, image: &Path) -> Result<SevenZipSummary, OracleError> {
    let fail = |problem: String| Err(OracleError::from_run(reader, problem, run));
    let output = run.all_output();
    let (summary, problems) = parse_output(&output);
    if !run.status.success() {
        return fail(match problems.is_empty() {
            true => run.status.to_string(),
            false => format!("{}: {}", run.status, problems.join(" | ")),
        });
    }
    if !problems.is_empty() {
        return fail(format!(
            "7-Zip complained (with exit status 0): {}",
            problems.join(" | ")
        ));
    }
    if !output.lines().any(|l| l.trim() == "Everything is Ok") {
        return fail("no \"Everything is Ok\" in the output".into());
    }
    if summary.archive_type != "Udf" {
        return fail(format!(
            "opened by 7-Zip's `{}` handler, not `Udf`: 7-Zip did not accept the UDF structures",
            summary.archive_type
        ));
    }
    let length = image.metadata().map(|m| m.len()).ok();
    if summary.physical_size.is_some() && summary.physical_size != length {
        return fail(format!(
            "7-Zip's physical size {:?} differs from the image length {:?}",
            summary.physical_size, length
        ));
    }
    Ok(summary)
}

/// Parses 7-Zip's output into its summary and the lines that carry a problem marker.
/// The `Comment = {...}` block (volume descriptor dump) is skipped: it holds names.
pub fn parse_output(output: &str) -> (SevenZipSummary, Vec<String>) {
    let mut summary = SevenZipSummary::default();
    let mut problems = Vec::new();
    let mut in_comment = false;
    let mut files_line = false;
    for line in output.lines() {
        let trimmed = line.trim();
        if in_comment {
            in_comment = trimmed != "}";
            continue;
        }
        if trimmed == "{" {
            in_comment = true;
            continue;
        }
        if PROBLEM_MARKERS.iter().any(|m| trimmed.contains(m)) {
            problems.push(trimmed.to_string());
            continue;
        }
        if let Some((key, value)) = trimmed.split_once(" = ") {
            match key {
                "Type" => summary.archive_type = value.to_string(),
                "Version" => summary.version = Some(value.to_string()),
                "Physical Size" => summary.physical_size = value.parse().ok(),
                _ => {}
            }
        } else if let Some((key, value)) = trimmed.split_once(':') {
            let number = value.trim().parse().ok();
            match (key, number) {
                ("Folders", Some(n)) => summary.folders = n,
                ("Files", Some(n)) => (summary.files, files_line) = (n, true),
                ("Size", Some(n)) => summary.size = n,
                _ => {}
            }
        }
    }
    if !files_line && summary.folders == 0 && output.contains("Everything is Ok") {
        summary.files = 1; // 7-Zip's summary for exactly one file
    }
    problems.dedup();
    (summary, problems)
}

#[cfg(test)]
mod tests {
    use super::*;

    const CLEAN: &str = "Testing archive: g.iso\n--\nPath = g.iso\nType = Udf\n\
        Physical Size = 901120\nVersion = 1.02\nComment = \n{\nPartitions:\n  Size: 67584\n\
        VolumeId: ERROR\n}\n\nEverything is Ok\n\nFolders: 4\nFiles: 5\nSize:       5016\n\
        Compressed: 901120\n";

    #[test]
    fn parses_a_clean_run() {
        let (s, problems) = parse_output(CLEAN);
        assert_eq!(problems, Vec::<String>::new());
        assert_eq!(s.archive_type, "Udf");
        assert_eq!(s.version.as_deref(), Some("1.02"));
        assert_eq!(s.physical_size, Some(901120));
        assert_eq!((s.folders, s.files, s.size), (4, 5, 5016));
    }

    #[test]
    fn finds_warnings_printed_with_status_zero() {
        let out = "WARNINGS:\nThere are data after the end of archive\n--\nType = Udf\n\
            Tail Size = 1280\nEverything is Ok\nArchives with Warnings: 1\n";
        let (_, problems) = parse_output(out);
        assert_eq!(
            problems,
            [
                "WARNINGS:",
                "There are data after the end of archive",
                "Tail Size = 1280",
                "Archives with Warnings: 1"
            ]
        );
    }

    #[test]
    fn a_summary_without_counts_means_one_file() {
        let (s, problems) = parse_output("Type = Udf\nEverything is Ok\n\nSize:       2\n");
        assert!(problems.is_empty());
        assert_eq!((s.folders, s.files, s.size), (0, 1, 2));
        let (s, _) = parse_output("Type = Udf\nEverything is Ok\n\nFiles: 2\nSize: 4\n");
        assert_eq!((s.folders, s.files), (0, 2));
        let (s, problems) =
            parse_output("Type = Udf\nNo files to process\nEverything is Ok\n\nFiles: 0\n");
        assert!(problems.is_empty());
        assert_eq!((s.folders, s.files), (0, 0));
    }

    #[test]
    fn finds_headers_errors() {
        let (_, problems) = parse_output("Type = Udf\nERRORS:\nHeaders Error\n");
        assert_eq!(problems, ["ERRORS:", "Headers Error"]);
    }
}
