//! The error every reader returns: which reader, what went wrong, and everything the tool said.
//!
//! Policy: a reader function fails when the tool exits non-zero, prints a warning or error
//! it is known to print with exit status 0, or prints something we cannot parse. The tool's
//! whole stdout and stderr are kept in the error so a failing test shows why without a rerun;
//! [`Display`](std::fmt::Display) shortens very long outputs to their head and tail.

use std::fmt;
use std::process::ExitStatus;

/// Lines of each output stream shown by `Display` before the rest is elided.
const SHOWN_HEAD_LINES: usize = 40;
/// Lines at the end of each output stream shown by `Display`.
const SHOWN_TAIL_LINES: usize = 40;

/// A reader refused, complained about, or misread an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OracleError {
    /// The reader, e.g. `7z t` or `pycdlib`.
    pub reader: String,
    /// What is wrong, in one or a few lines.
    pub problem: String,
    /// The command line that was run, if any (shell-quoted for copy and paste).
    pub command: Option<String>,
    /// The exit status, when a command ran and exited.
    pub status: Option<i32>,
    /// The tool's whole standard output (lossily decoded).
    pub stdout: String,
    /// The tool's whole standard error (lossily decoded).
    pub stderr: String,
}

impl OracleError {
    /// An error that did not come from running a tool (e.g. an I/O error on the scratch dir).
    pub fn new(reader: impl Into<String>, problem: impl Into<String>) -> Self {
        OracleError {
            reader: reader.into(),
            problem: problem.into(),
            command: None,
            status: None,
            stdout: String::new(),
            stderr: String::new(),
        }
    }

    /// An error about a finished tool run, keeping its command line and outputs.
    pub fn from_run(reader: impl Into<String>, problem: impl Into<String>, run: &ToolRun) -> Self {
        OracleError {
            reader: reader.into(),
            problem: problem.into(),
            command: Some(run.command.clone()),
            status: run.status.code(),
            stdout: run.stdout.clone(),
            stderr: run.stderr.clone(),
        }
    }
}

impl fmt::Display for OracleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}: {}", self.reader, self.problem)?;
        if let Some(command) = &self.command {
            writeln!(f, "  command: {command}")?;
            match self.status {
                Some(code) => writeln!(f, "  exit status: {code}")?,
                None => writeln!(f, "  exit status: killed by a signal")?,
            }
            write_stream(f, "stdout", &self.stdout)?;
            write_stream(f, "stderr", &self.stderr)?;
        }
        Ok(())
    }
}

impl std::error::Error for OracleError {}

fn write_stream(f: &mut fmt::Formatter<'_>, name: &str, text: &str) -> fmt::Result {
    if text.trim().is_empty() {
        return writeln!(f, "  --- {name}: (empty)");
    }
    let lines: Vec<&str> = text.lines().collect();
    writeln!(f, "  --- {name} ({} lines) ---", lines.len())?;
    if lines.len() <= SHOWN_HEAD_LINES + SHOWN_TAIL_LINES {
        for line in &lines {
            writeln!(f, "  | {line}")?;
        }
    } else {
        for line in &lines[..SHOWN_HEAD_LINES] {
            writeln!(f, "  | {line}")?;
        }
        let elided = lines.len() - SHOWN_HEAD_LINES - SHOWN_TAIL_LINES;
        writeln!(
            f,
            "  | ... {elided} lines elided (the error value holds them all) ..."
        )?;
        for line in &lines[lines.len() - SHOWN_TAIL_LINES..] {
            writeln!(f, "  | {line}")?;
        }
    }
    Ok(())
}

/// One finished run of an external tool.
#[derive(Debug, Clone)]
pub struct ToolRun {
    /// The command line, shell-quoted.
    pub command: String,
    /// How the tool exited.
    pub status: ExitStatus,
    /// Its standard output, lossily decoded as UTF-8.
    pub stdout: String,
    /// Its standard error, lossily decoded as UTF-8.
    pub stderr: String,
}

impl ToolRun {
    /// "exit status: N", followed by the last non-blank line of stderr (usually the reason).
    pub fn exit_summary(&self) -> String {
        match self
            .stderr
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
        {
            Some(line) => format!("{}: {line}", self.status),
            None => self.status.to_string(),
        }
    }

    /// Refuses a run that failed, or that succeeded but wrote anything to stderr (a reader
    /// that complains about an image has found something wrong with it).
    pub fn succeeded_quietly(&self, reader: &str) -> Result<(), OracleError> {
        if !self.status.success() {
            return Err(OracleError::from_run(reader, self.exit_summary(), self));
        }
        if let Some(first) = self.stderr.lines().find(|l| !l.trim().is_empty()) {
            let why = format!("{reader} complained: {first}");
            return Err(OracleError::from_run(reader, why, self));
        }
        Ok(())
    }

    /// Standard output and standard error, one after the other (for scanning for warnings).
    pub fn all_output(&self) -> String {
        format!("{}\n{}", self.stdout, self.stderr)
    }
}
