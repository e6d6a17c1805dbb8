//! `odarchive snapshots` and `odarchive diff [A] [B]`: the catalogue's history.

use std::fmt::Write as _;

use anyhow::Result;
use indicatif::HumanBytes;
use odarchive::Catalogue;
use odarchive::diff::{diff, snapshots};

use crate::{Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct DiffArgs {
    /// The older snapshot (default: the one before the newer).
    #[arg(value_name = "A")]
    from: Option<i64>,
    /// The newer snapshot (default: the latest complete one).
    #[arg(value_name = "B")]
    to: Option<i64>,
}

pub fn run_snapshots(global: &Global) -> Result<Outcome> {
    let catalogue = Catalogue::open_read_only_upgraded(&global.catalogue)?;
    let list = snapshots(&catalogue)?;
    let mut text = String::new();
    if global.json {
        let _ = writeln!(text, "{}", serde_json::to_string(&list)?);
    } else {
        let _ = writeln!(
            text,
            "{:>4}  {:<20} {:>10} {:>11} {:>11}  drive",
            "id", "time", "files", "bytes", "new bytes"
        );
        for s in &list {
            let when = odarchive::time::format_ns(s.finished_ns.unwrap_or(s.started_ns));
            let state = if s.finished_ns.is_some() {
                ""
            } else {
                " (unfinished)"
            };
            let _ = writeln!(
                text,
                "{:>4}  {:<20} {:>10} {:>11} {:>11}  {}{state}",
                s.id,
                when,
                s.files,
                HumanBytes(s.bytes).to_string(),
                HumanBytes(s.new_bytes).to_string(),
                s.drive
            );
        }
    }
    crate::render::out(&text)?;
    Ok(Outcome::Success)
}

pub fn run_diff(args: &DiffArgs, global: &Global) -> Result<Outcome> {
    let catalogue = Catalogue::open_read_only_upgraded(&global.catalogue)?;
    let d = diff(&catalogue, args.from, args.to)?;
    let mut text = String::new();
    if global.json {
        let _ = writeln!(text, "{}", serde_json::to_string(&d)?);
    } else {
        let _ = writeln!(text, "snapshot {} → {}", d.from, d.to);
        for p in &d.added {
            let _ = writeln!(text, "+ {p}");
        }
        for p in &d.removed {
            let _ = writeln!(text, "- {p}");
        }
        for m in &d.modified {
            let _ = writeln!(text, "M {} ({})", m.path, m.changed.join(", "));
        }
        for m in &d.moved {
            let _ = writeln!(text, "R {} → {}", m.from, m.to);
        }
    }
    crate::render::out(&text)?;
    Ok(Outcome::Success)
}
