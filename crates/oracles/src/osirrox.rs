//! xorriso's `osirrox`: the ISO 9660 view (Rock Ridge names if present, else the primary
//! volume's d-character names with the `;1` version stripped), read by libisofs.
//!
//! Quirks (xorriso 1.5.4):
//! - Problems come as message lines with a severity (`WARNING`, `SORRY`, `FAILURE`, ...)
//!   while the exit status may stay 0 (e.g. "ISO image size 440s larger than readable size
//!   391s" for a truncated image), so stderr is scanned for them.
//! - Extracted directories and files get the image's modes, without Rock Ridge that is
//!   read-only (`dr-xr-xr-x`): [`crate::scratch::make_writable`] before deleting them.

use std::path::Path;

use crate::error::OracleError;
use crate::manifest::Manifest;
use crate::tool::Tool;

/// Severities at which xorriso reports trouble (NOTE, UPDATE and DEBUG are information).
const PROBLEM_SEVERITIES: &[&str] = &[
    "WARNING", "HINT", "SORRY", "MISHAP", "FAILURE", "FATAL", "ABORT",
];

/// Runs `osirrox -indev IMAGE -extract / OUT_DIR`: exit 0 and no message of severity
/// WARNING or worse. Returns the manifest of the extracted ISO 9660 view (names as osirrox
/// shows them). `out_dir` must be empty or absent.
pub fn osirrox_extract(image: &Path, out_dir: &Path) -> Result<Manifest, OracleError> {
    let reader = "osirrox";
    let args = [
        "-indev".as_ref(),
        image.as_os_str(),
        "-extract".as_ref(),
        "/".as_ref(),
        out_dir.as_os_str(),
    ];
    let run = Tool::OSIRROX.run(reader, args, None)?;
    if !run.status.success() {
        return Err(OracleError::from_run(reader, run.exit_summary(), &run));
    }
    let problems = problem_lines(&run.all_output());
    if !problems.is_empty() {
        let problem = format!(
            "xorriso complained (with exit status 0): {}",
            problems.join(" | ")
        );
        return Err(OracleError::from_run(reader, problem, &run));
    }
    if !out_dir.exists() {
        return Ok(Manifest::new());
    }
    let manifest = Manifest::of_dir(out_dir).map_err(|e| {
        OracleError::from_run(reader, format!("cannot read the extracted tree: {e}"), &run)
    });
    // osirrox gives extracted directories the image's read-only modes.
    let _ = crate::scratch::make_writable(out_dir);
    manifest
}

/// xorriso message lines (`xorriso : SEVERITY : ...`, `libisoburn: SEVERITY : ...`) whose
/// severity is WARNING or worse.
pub fn problem_lines(output: &str) -> Vec<String> {
    output
        .lines()
        .filter(|line| {
            let mut parts = line.splitn(3, ':');
            let (Some(_origin), Some(severity)) = (parts.next(), parts.next()) else {
                return false;
            };
            parts.next().is_some() && PROBLEM_SEVERITIES.contains(&severity.trim())
        })
        .map(|l| l.trim().to_string())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_warnings_but_not_notes() {
        let out = "xorriso : NOTE : Loading ISO image tree from LBA 0\n\
            libisoburn: WARNING : ISO image size 440s larger than readable size 391s\n\
            xorriso : UPDATE :       9 nodes read in 1 seconds\n\
            Volume id    : 'CTRL'\n\
            xorriso : FAILURE : Cannot read\n";
        assert_eq!(
            problem_lines(out),
            [
                "libisoburn: WARNING : ISO image size 440s larger than readable size 391s",
                "xorriso : FAILURE : Cannot read"
            ]
        );
    }
}
