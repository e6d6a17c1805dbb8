//! `odarchive merge OTHER.db`: bring another catalogue, and the discs it describes, into this
//! one.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use odarchive::Catalogue;

use crate::render::count;
use crate::{Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The catalogue to merge into this one (it is only read, once its schema is current).
    #[arg(value_name = "OTHER.db")]
    other: PathBuf,
}

pub fn run(args: &Args, global: &Global) -> Result<Outcome> {
    let other = Catalogue::open_read_only_upgraded(&args.other)?;
    let mut catalogue = Catalogue::create_or_open(&global.catalogue)?;
    let report = catalogue.merge(&other)?;
    let mut text = String::new();
    if global.json {
        let _ = writeln!(text, "{}", serde_json::to_string(&report)?);
    } else {
        let ids = |f: fn(&odarchive::catalogue::MergedSnapshot) -> i64| {
            report
                .snapshots
                .iter()
                .map(|s| f(s).to_string())
                .collect::<Vec<_>>()
                .join(", ")
        };
        let _ = writeln!(
            text,
            "merged {} (set {}) into {}",
            report.other.display(),
            report.other_set_id,
            global.catalogue.display()
        );
        let _ = writeln!(
            text,
            "snapshots: {} (there {}, here {})",
            report.snapshots.len(),
            ids(|s| s.from),
            ids(|s| s.id)
        );
        let _ = writeln!(
            text,
            "entries: {}; contents: {} new, {} already here (stored once)",
            count(report.entries),
            count(report.contents_new),
            count(report.contents_shared)
        );
        let _ = writeln!(text, "discs: {}", report.discs.len());
        for d in &report.discs {
            if d.renumbered() {
                let _ = writeln!(
                    text,
                    "  disc {} of set {} ({}) is disc {} here",
                    d.from, d.set_id, d.label, d.number
                );
            } else {
                let _ = writeln!(text, "  disc {} ({}), set {}", d.number, d.label, d.set_id);
            }
        }
        for label in &report.discs_already_here {
            let _ = writeln!(text, "  {label}: already here, the same disc");
        }
        if report.planned_discs_left > 0 {
            let _ = writeln!(
                text,
                "{} disc(s) the other catalogue had only planned were not merged; `odarchive \
                 plan` here plans what they held",
                report.planned_discs_left
            );
        }
    }
    crate::render::out(&text)?;
    Ok(Outcome::Success)
}
