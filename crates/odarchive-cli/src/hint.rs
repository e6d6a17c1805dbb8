//! What to do next, after a library error: the one place that turns an error into advice on
//! what to run (jj's `command_error.rs` keeps its hints the same way). The library's messages
//! say what happened; the CLI adds the rest, so another front end can give its own advice.

use odarchive::Error;

/// The hint to print after `error`'s message, with the punctuation that joins them
/// (` (run …)` or `; …`), if there is one.
pub fn hint(error: &Error) -> Option<String> {
    let text = match error {
        Error::NoCatalogue { .. } => " (create it with `odarchive scan DRIVE_PATH`)".to_owned(),
        Error::NewerSchema { .. } | Error::UnknownHashAlgorithm { .. } => {
            "; use a newer odarchive".to_owned()
        }
        Error::NoSnapshot { .. } => " (run `odarchive scan DRIVE_PATH`)".to_owned(),
        Error::PlanHasWrittenDiscs { .. } => {
            "; `plan --replan` replans only the unwritten ones".to_owned()
        }
        Error::NoPlan => " (run `odarchive plan --media M`)".to_owned(),
        Error::NoSuchDisc { .. } => " (see `odarchive discs`)".to_owned(),
        Error::SourceChanged { .. } => "; rescan and plan again".to_owned(),
        Error::PlanMismatch { .. } => "; plan again".to_owned(),
        Error::NotEmpty { input, .. } => format!(
            ": import {} into a new catalogue (--catalogue NEW.db) and `odarchive merge NEW.db` \
             it into this one",
            input.display()
        ),
        Error::BadTimezone(_) => {
            ": give an IANA name (Europe/London) or an offset (+01:00)".to_owned()
        }
        Error::V01Disc { .. } => " (verify or restore from the disc itself)".to_owned(),
        _ => return None,
    };
    Some(text)
}

/// The line verify prints of an image's parity margin, with what to run when the image is
/// damaged but recoverable: `3 sectors unreadable/corrupt (0.3 %), parity 10 %: recoverable
/// (run `odarchive repair IMAGE --out FIXED.iso`)`.
pub fn margin(m: &odarchive::repair::Margin, source: &std::path::Path) -> String {
    let damaged = m.unreadable + m.corrupt;
    let verdict = if m.recoverable {
        "recoverable"
    } else {
        "NOT recoverable (some sectors are beyond the parity)"
    };
    let mut text = format!(
        "{damaged} sectors unreadable/corrupt ({:.1} %), parity {} %: {verdict}",
        m.damaged_percent, m.parity_percent
    );
    if damaged > 0 {
        let what = if m.recoverable {
            "rebuilds it exactly"
        } else {
            "rebuilds the rest and names the files lost"
        };
        text.push_str(&format!(
            "; `odarchive repair {} --out FIXED.iso` {what}",
            source.display()
        ));
    }
    text
}

/// The line `odarchive: …` says for a failed command: the error, each of its causes once, and
/// the hint of the library error in it. The discs a `write` run could not write are listed one
/// a line, each with its hint.
pub fn error_text(error: &anyhow::Error) -> String {
    let chain = odarchive::error::chain(error.as_ref());
    let Some(ours) = error.chain().find_map(|e| e.downcast_ref::<Error>()) else {
        return chain;
    };
    if let Error::DiscsNotWritten { errors } = ours {
        let mut text = format!("{} discs not written:", errors.len());
        for e in errors {
            text.push_str("\n  ");
            text.push_str(&with_hint(e));
        }
        return text;
    }
    match hint(ours) {
        Some(hint) => chain + &hint,
        None => chain,
    }
}

/// `error` with its causes and its hint.
fn with_hint(error: &Error) -> String {
    odarchive::error::chain(error) + &hint(error).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    #[test]
    fn the_library_says_what_happened_and_the_cli_what_to_run() {
        let e = Error::NoPlan;
        assert_eq!(e.to_string(), "no discs are planned");
        assert_eq!(
            error_text(&e.into()),
            "no discs are planned (run `odarchive plan --media M`)"
        );
        let e = Error::NoCatalogue {
            path: PathBuf::from("/c.db"),
        };
        assert!(!e.to_string().contains("odarchive scan"), "{e}");
        assert_eq!(
            error_text(&e.into()),
            "catalogue /c.db does not exist (create it with `odarchive scan DRIVE_PATH`)"
        );
    }

    #[test]
    fn a_cause_is_printed_once_and_the_hint_after_context() {
        let io = std::io::Error::from_raw_os_error(28);
        let e = Error::Output {
            path: PathBuf::from("/out/a.iso.partial"),
            source: io,
        };
        assert_eq!(e.to_string(), "cannot write /out/a.iso.partial");
        let text = error_text(&e.into());
        assert_eq!(text.matches("No space left on device").count(), 1, "{text}");
        assert!(
            text.starts_with("cannot write /out/a.iso.partial: No space"),
            "{text}"
        );

        let e = anyhow::Error::new(Error::PlanHasWrittenDiscs {
            discs: "1, 2".into(),
        })
        .context("archive");
        assert_eq!(
            error_text(&e),
            "archive: discs 1, 2 of the current plan are already written; `plan --replan` \
             replans only the unwritten ones"
        );
    }
}
