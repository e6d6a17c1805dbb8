//! `odarchive write [N...] --out DIR`: write planned discs as images.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Result;
use indicatif::HumanBytes;
use odarchive::{Catalogue, WriteOptions, WrittenDisc};

use crate::render::Reporter;
use crate::{Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Disc numbers to write (as `odarchive discs` shows them); default: every disc.
    #[arg(value_name = "N")]
    discs: Vec<u32>,

    /// The folder for the images (`<label>.iso`); created if missing.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,
}

pub fn run(args: &Args, global: &Global) -> Result<Outcome> {
    let cancel = Arc::new(AtomicBool::new(false));
    super::scan::install_interrupt_handler(Arc::clone(&cancel))?;
    let mut catalogue = Catalogue::open(&global.catalogue)?;
    let reporter = Reporter::new(global.json);
    let options = WriteOptions {
        out: args.out.clone(),
        discs: args.discs.clone(),
        cancel: Some(cancel),
    };
    let result = odarchive::write(&mut catalogue, &options, &reporter);
    reporter.finish();
    let written = result?;
    if global.json {
        let summary = serde_json::json!({ "event": "summary", "written": written });
        crate::render::out(&format!("{}\n", serde_json::to_string(&summary)?))?;
    } else {
        crate::render::out(&human(&written))?;
    }
    Ok(Outcome::Success)
}

/// One line per image.
pub fn human(written: &[WrittenDisc]) -> String {
    let mut out = String::new();
    for w in written {
        if let Some(group) = w.set_parity_group {
            out.push_str(&format!(
                "parity of group {group}  {}  {}  {}\n",
                w.path.display(),
                HumanBytes(w.image_size),
                w.sha256
            ));
            continue;
        }
        out.push_str(&format!(
            "disc {:>3}  {}  {}  {}{}\n",
            w.number,
            w.path.display(),
            HumanBytes(w.image_size),
            w.sha256,
            if w.skipped {
                "  (already written, intact)"
            } else {
                ""
            }
        ));
    }
    out
}
