//! What [`crate::check_all`] found: every reader's failures, printable at once.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use crate::options::Reader;

/// One reader's outcome.
#[derive(Debug, Clone)]
pub struct ReaderOutcome {
    /// Which reader.
    pub reader: Reader,
    /// Everything it found wrong (empty: it passed).
    pub failures: Vec<String>,
    /// How long it took.
    pub elapsed: Duration,
}

/// The outcome of [`crate::check_all`]: every reader's failures.
#[derive(Debug, Clone)]
pub struct Report {
    /// The image checked.
    pub image: PathBuf,
    /// One outcome per reader run, in run order.
    pub outcomes: Vec<ReaderOutcome>,
}

/// At most this many failures of one reader are shown by `Display`.
const SHOWN_FAILURES: usize = 30;

impl Report {
    /// Whether every reader passed.
    pub fn is_ok(&self) -> bool {
        self.outcomes.iter().all(|o| o.failures.is_empty())
    }

    /// The readers that failed.
    pub fn failed_readers(&self) -> Vec<Reader> {
        self.outcomes
            .iter()
            .filter(|o| !o.failures.is_empty())
            .map(|o| o.reader)
            .collect()
    }

    /// The failures of `reader` (empty if it passed or did not run).
    pub fn failures_of(&self, reader: Reader) -> &[String] {
        self.outcomes
            .iter()
            .find(|o| o.reader == reader)
            .map_or(&[], |o| &o.failures)
    }

    /// Panics with the whole report unless every reader passed.
    #[track_caller]
    pub fn assert_ok(&self) {
        if !self.is_ok() {
            panic!("independent readers disagree with the expected view\n{self}");
        }
    }
}

impl fmt::Display for Report {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let failed = self.failed_readers().len();
        let verdict = match failed {
            0 => "all passed".to_string(),
            n => format!("{n} of {} failed", self.outcomes.len()),
        };
        writeln!(f, "readers on {} ({verdict}):", self.image.display())?;
        for o in &self.outcomes {
            let secs = o.elapsed.as_secs_f64();
            if o.failures.is_empty() {
                writeln!(f, "  PASS {} ({secs:.1} s)", o.reader)?;
                continue;
            }
            writeln!(
                f,
                "  FAIL {} ({secs:.1} s): {} problem(s)",
                o.reader,
                o.failures.len()
            )?;
            for failure in o.failures.iter().take(SHOWN_FAILURES) {
                for (i, line) in failure.lines().enumerate() {
                    let bullet = if i == 0 { "- " } else { "  " };
                    writeln!(f, "       {bullet}{line}")?;
                }
            }
            if o.failures.len() > SHOWN_FAILURES {
                writeln!(
                    f,
                    "       ... and {} more",
                    o.failures.len() - SHOWN_FAILURES
                )?;
            }
        }
        Ok(())
    }
}
