//! `odarchive info`: what the latest complete snapshot holds.

use anyhow::Result;
use indicatif::HumanBytes;
use odarchive::{Catalogue, Info};

use crate::render::{count, out};
use crate::{Global, Outcome};

pub fn run(global: &Global) -> Result<Outcome> {
    let catalogue = Catalogue::open_read_only_upgraded(&global.catalogue)?;
    let info = odarchive::info(&catalogue)?;
    if global.json {
        out(&format!("{}\n", serde_json::to_string_pretty(&info)?))?;
    } else {
        out(&human(&info))?;
    }
    Ok(Outcome::Success)
}

fn human(info: &Info) -> String {
    let bytes = |n: u64| format!("{} ({} bytes)", HumanBytes(n), count(n));
    let mut out = format!("Snapshot {} of {}\n", info.snapshot, info.drive_path);
    let mut line = |label: &str, value: String| out.push_str(&format!("  {label:<17}{value}\n"));
    line("files", count(info.files));
    line("directories", count(info.directories));
    line("symlinks", count(info.symlinks));
    line("unique contents", count(info.unique_contents));
    line("total size", bytes(info.total_bytes));
    line("unique size", bytes(info.unique_bytes));
    line("saved by dedupe", bytes(info.bytes_saved));
    match &info.largest_file {
        Some(f) => line(
            "largest file",
            format!("{} ({})", f.path, HumanBytes(f.size)),
        ),
        None => line("largest file", "none".into()),
    }
    line("errors", count(info.errors));
    if info.unhashed_files > 0 {
        line(
            "unread files",
            format!(
                "{} (the next scan retries them)",
                count(info.unhashed_files)
            ),
        );
    }
    out
}
