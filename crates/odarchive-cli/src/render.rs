//! Turning library events and errors into terminal output: progress bars on stderr when it is
//! a terminal, JSON lines on stdout with `--json`, problems always on stderr.

use std::io::{IsTerminal, Write};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};
use odarchive::{Event, Progress, ScanSummary};

/// Renders scan events.
#[derive(Debug)]
pub struct Reporter {
    json: bool,
    bar: Option<ProgressBar>,
}

impl Reporter {
    /// A reporter for JSON output (`json`) or for humans.
    pub fn new(json: bool) -> Reporter {
        let bar = (!json && std::io::stderr().is_terminal()).then(|| {
            let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{spinner} {msg} [{bar:30}] {binary_bytes}/{binary_total_bytes} \
                     {binary_bytes_per_sec} ETA {eta}",
                )
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
            );
            bar.enable_steady_tick(Duration::from_millis(200));
            bar
        });
        Reporter { json, bar }
    }

    /// Whether events go out as JSON lines.
    pub fn is_json(&self) -> bool {
        self.json
    }

    /// Removes the progress bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }

    fn warn(&self, message: String) {
        match &self.bar {
            Some(bar) => bar.suspend(|| eprintln!("{message}")),
            None => eprintln!("{message}"),
        }
    }
}

impl Progress for Reporter {
    fn event(&self, event: &Event) {
        match event {
            Event::Skipped { path, kind } => {
                self.warn(format!("warning: skipping {kind} {}", path.display()))
            }
            Event::FileProblem(problem) => self.warn(format!("error: {problem}")),
            Event::ScanProgress(p) => {
                if let Some(bar) = &self.bar {
                    bar.set_length(p.bytes_total);
                    bar.set_position(p.bytes_done);
                    let more = if p.totals_final { "" } else { "+" };
                    bar.set_message(format!(
                        "{}/{}{more} files",
                        count(p.files_done),
                        count(p.files_total)
                    ));
                }
            }
            Event::ScanStarted {
                snapshot,
                resumed,
                drive,
            } => {
                if let Some(bar) = &self.bar {
                    let verb = if *resumed { "resuming" } else { "scanning" };
                    bar.println(format!(
                        "{verb} {} into snapshot {snapshot}",
                        drive.display()
                    ));
                }
            }
            Event::WriteStarted { disc, label, .. } => {
                if let Some(bar) = &self.bar {
                    bar.set_message(format!("writing disc {disc} ({label})"));
                }
            }
            Event::WriteProgress {
                run_done,
                run_total,
                ..
            } => {
                if let Some(bar) = &self.bar {
                    bar.set_length(*run_total);
                    bar.set_position(*run_done);
                }
            }
            Event::DiscWritten {
                disc,
                path,
                skipped,
                ..
            } => {
                if let Some(bar) = &self.bar {
                    let what = if *skipped {
                        "already written"
                    } else {
                        "written"
                    };
                    bar.println(format!("disc {disc} {what}: {}", path.display()));
                }
            }
            _ => {}
        }
        if self.json {
            if let Ok(line) = serde_json::to_string(event) {
                // An event a reader cannot take is dropped; the job goes on.
                let _ = out(&format!("{line}\n"));
            }
        }
    }
}

/// Prints the final summary object of `scan --json`.
pub fn print_json_summary(summary: &ScanSummary) -> anyhow::Result<()> {
    let mut value = serde_json::to_value(summary)?;
    if let Some(object) = value.as_object_mut() {
        object.insert("event".into(), "summary".into());
    }
    out(&format!("{}\n", serde_json::to_string(&value)?))
}

/// Writes `text` to stdout. A reader that went away (`odarchive info | head -1`) is not an
/// error, unlike with `print!`, which panics.
pub fn out(text: &str) -> anyhow::Result<()> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Whether `error` comes from writing to a reader that went away (a closed pipe): not an
/// error for a command that prints, which then ends quietly.
pub fn closed_pipe(error: &anyhow::Error) -> bool {
    use std::io::ErrorKind::BrokenPipe;
    error.chain().any(|e| {
        let Some(io) = e.downcast_ref::<std::io::Error>() else {
            return false;
        };
        // JSON written straight to stdout carries the system's error inside serde_json's.
        let in_json = io
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<serde_json::Error>())
            .and_then(serde_json::Error::io_error_kind);
        io.kind() == BrokenPipe || in_json == Some(BrokenPipe)
    })
}

/// `1234567` as `1,234,567`.
pub fn count(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `3 files`, `1 directory`: a count with its noun in the right number.
pub fn counted(n: u64, noun: &str) -> String {
    let noun = match (n, noun.strip_suffix('y')) {
        (1, _) => noun.to_string(),
        (_, Some(stem)) => format!("{stem}ies"),
        _ => format!("{noun}s"),
    };
    format!("{} {noun}", count(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_have_thousands_separators() {
        assert_eq!(count(0), "0");
        assert_eq!(count(999), "999");
        assert_eq!(count(1000), "1,000");
        assert_eq!(count(1234567), "1,234,567");
    }

    #[test]
    fn counted_nouns_agree_with_the_number() {
        assert_eq!(counted(1, "file"), "1 file");
        assert_eq!(counted(0, "file"), "0 files");
        assert_eq!(counted(2, "directory"), "2 directories");
        assert_eq!(counted(1, "directory"), "1 directory");
        assert_eq!(counted(1500, "symlink"), "1,500 symlinks");
    }

    #[test]
    fn error_chain_does_not_repeat_causes() {
        let io = std::io::Error::other("disk on fire");
        let e = anyhow::Error::new(io).context("cannot scan /x: disk on fire");
        assert_eq!(crate::hint::error_text(&e), "cannot scan /x: disk on fire");
        let e = anyhow::anyhow!("inner").context("outer");
        assert_eq!(crate::hint::error_text(&e), "outer: inner");
    }
}
