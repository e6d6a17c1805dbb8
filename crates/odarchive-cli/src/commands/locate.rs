//! `odarchive locate PATH|GLOB...`: which disc holds each match.

use std::fmt::Write as _;

use anyhow::Result;
use odarchive::Catalogue;
use odarchive::locate::locate;

use crate::{Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Paths (a folder selects everything in it) or globs, relative to the drive root.
    #[arg(required = true, value_name = "PATH|GLOB")]
    patterns: Vec<String>,
    /// The snapshot to look in: its id, `latest` (the default), or a UTC date and time.
    #[arg(long, value_name = "ID|latest|DATE")]
    snapshot: Option<String>,
}

pub fn run(args: &Args, global: &Global) -> Result<Outcome> {
    let mut text = String::new();
    let catalogue = Catalogue::open_read_only_upgraded(&global.catalogue)?;
    let snapshot = super::snapshot_arg(&catalogue, args.snapshot.as_deref())?;
    let found = locate(&catalogue, &args.patterns, snapshot)?;
    if global.json {
        let _ = writeln!(text, "{}", serde_json::to_string(&found)?);
    } else {
        for f in &found {
            let discs: Vec<String> = f
                .locations
                .iter()
                .map(|l| {
                    if l.parts > 1 {
                        format!("disc {} ({}) part {}/{}", l.disc, l.label, l.part, l.parts)
                    } else {
                        format!("disc {} ({})", l.disc, l.label)
                    }
                })
                .collect();
            let place = match (f.kind, discs.is_empty()) {
                ("file", true) if f.size > 0 => "not on any disc yet".to_owned(),
                ("file", true) => "empty file (in the catalogue)".to_owned(),
                (_, true) => format!("{} (in the catalogue)", f.kind),
                (_, false) => discs.join(", "),
            };
            let _ = writeln!(text, "{}: {place}", f.path);
        }
        if found.is_empty() {
            let _ = writeln!(text, "no match");
        }
    }
    crate::render::out(&text)?;
    Ok(if found.is_empty() {
        Outcome::CompletedWithErrors
    } else {
        Outcome::Success
    })
}
