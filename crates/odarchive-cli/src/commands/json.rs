//! `odarchive export-json FILE` and `odarchive import-json FILE`: the catalogue in the JSON
//! shape of the original odarchive, extended (see `odarchive::catalogue::json`).

use std::fmt::Write as _;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::Result;
use odarchive::Catalogue;
use odarchive::catalogue::import::ImportOptions;
use odarchive::catalogue::json_file::{self, ImportedJson};

use crate::{Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct ExportArgs {
    /// Where to write it; `-` is standard output. A name ending in `.gz` is gzipped.
    #[arg(value_name = "FILE")]
    file: PathBuf,
}

#[derive(Debug, clap::Args)]
pub struct ImportArgs {
    /// The catalogue JSON: exported by `export-json`, read from a disc (`catalogue.json` or
    /// `catalogue.json.gz`), or written by odarchive 0.1. `-` is standard input.
    #[arg(value_name = "FILE")]
    file: PathBuf,
    /// Time zone of odarchive 0.1's modification times (they carry none): an IANA name such
    /// as Europe/London or an offset such as +01:00. Default: this machine's.
    #[arg(long, value_name = "ZONE")]
    timezone: Option<String>,
}

pub fn run_export(args: &ExportArgs, global: &Global) -> Result<Outcome> {
    let catalogue = Catalogue::open_read_only_upgraded(&global.catalogue)?;
    if args.file.as_os_str() == "-" {
        return export_to_stdout(&catalogue);
    }
    let size = catalogue.export_json_file(&args.file)?;
    let mut text = String::new();
    if global.json {
        let _ = writeln!(
            text,
            "{}",
            serde_json::json!({ "file": args.file.to_string_lossy(), "bytes": size })
        );
    } else {
        let _ = writeln!(
            text,
            "exported {} to {} ({})",
            global.catalogue.display(),
            args.file.display(),
            indicatif::HumanBytes(size)
        );
    }
    crate::render::out(&text)?;
    Ok(Outcome::Success)
}

/// `export-json -`: a reader that went away (`export-json - | head`) ends it quietly.
fn export_to_stdout(catalogue: &Catalogue) -> Result<Outcome> {
    let stdout = std::io::stdout().lock();
    let written = catalogue
        .export_json(BufWriter::new(stdout), Path::new("standard output"))
        .map_err(anyhow::Error::new)
        .and_then(|mut out| {
            out.flush()
                .map_err(|e| anyhow::Error::new(e).context("cannot write to standard output"))
        });
    match written {
        Err(e) if !crate::render::closed_pipe(&e) => Err(e),
        _ => Ok(Outcome::Success),
    }
}

pub fn run_import(args: &ImportArgs, global: &Global) -> Result<Outcome> {
    let input: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        json_file::open_json_file(&args.file)?
    };
    let options = ImportOptions {
        timezone: args.timezone.clone(),
        from_disc: false,
    };
    let ImportedJson { summary, merged } =
        json_file::import_json_file(&global.catalogue, input, &args.file, &options)?;
    let mut text = String::new();
    if global.json {
        let mut v = serde_json::to_value(&summary)?;
        if let Some(report) = &merged {
            v["merged"] = serde_json::to_value(report)?;
        }
        let _ = writeln!(text, "{v}");
    } else {
        let _ = writeln!(
            text,
            "imported {} ({} catalogue, {}) into {}: {}, {}, {}, {}",
            args.file.display(),
            summary.format,
            summary.hash_algorithm,
            global.catalogue.display(),
            crate::render::counted(summary.snapshots, "snapshot"),
            crate::render::counted(summary.contents, "content"),
            crate::render::counted(summary.entries, "path version"),
            crate::render::counted(summary.discs, "disc"),
        );
        if let Some(report) = &merged {
            let ids: Vec<String> = report.snapshots.iter().map(|s| s.id.to_string()).collect();
            let _ = writeln!(
                text,
                "merged into {}: its snapshots are {} here, {} of its discs",
                global.catalogue.display(),
                ids.join(", "),
                crate::render::count(report.discs.len() as u64)
            );
        }
    }
    crate::render::out(&text)?;
    Ok(Outcome::Success)
}
