//! `odarchive export-json FILE` and `odarchive import-json FILE`: the catalogue in the JSON
//! shape of the original odarchive, extended (see `odarchive::catalogue::json`).

use std::fmt::Write as _;
use std::fs::File;
use std::io::{BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use odarchive::Catalogue;
use odarchive::catalogue::import::ImportOptions;

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

fn gzipped(path: &Path) -> bool {
    path.extension().is_some_and(|e| e == "gz")
}

pub fn run_export(args: &ExportArgs, global: &Global) -> Result<Outcome> {
    let catalogue = Catalogue::open_read_only(&global.catalogue)?;
    if args.file.as_os_str() == "-" {
        let stdout = std::io::stdout().lock();
        let mut out =
            catalogue.export_json(BufWriter::new(stdout), Path::new("standard output"))?;
        out.flush().context("cannot write to standard output")?;
        return Ok(Outcome::Success);
    }
    // Written beside the target and renamed when complete: an interrupted export leaves no
    // truncated catalogue behind.
    let mut partial = args.file.clone().into_os_string();
    partial.push(".partial");
    let partial = PathBuf::from(partial);
    let result = (|| -> Result<()> {
        let file = File::create(&partial)
            .with_context(|| format!("cannot create {}", partial.display()))?;
        let file = if gzipped(&args.file) {
            let gz =
                flate2::write::GzEncoder::new(BufWriter::new(file), flate2::Compression::default());
            let gz = catalogue.export_json(gz, &args.file)?;
            gz.finish()
                .and_then(|w| w.into_inner().map_err(|e| e.into_error()))
                .with_context(|| format!("cannot write {}", partial.display()))?
        } else {
            let w = catalogue.export_json(BufWriter::new(file), &args.file)?;
            w.into_inner()
                .map_err(|e| e.into_error())
                .with_context(|| format!("cannot write {}", partial.display()))?
        };
        file.sync_all()
            .with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::rename(&partial, &args.file).with_context(|| {
            format!(
                "cannot rename {} to {}",
                partial.display(),
                args.file.display()
            )
        })
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&partial);
    }
    result?;
    let size = std::fs::metadata(&args.file).map(|m| m.len()).unwrap_or(0);
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

pub fn run_import(args: &ImportArgs, global: &Global) -> Result<Outcome> {
    let input: Box<dyn Read> = if args.file.as_os_str() == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        let file = File::open(&args.file)
            .with_context(|| format!("cannot open {}", args.file.display()))?;
        if gzipped(&args.file) {
            Box::new(flate2::read::GzDecoder::new(std::io::BufReader::new(file)))
        } else {
            Box::new(file)
        }
    };
    let options = ImportOptions {
        timezone: args.timezone.clone(),
        from_disc: false,
    };
    // A catalogue that holds snapshots gets the document merged in.
    let mut existing = match global.catalogue.exists() {
        true => Some(Catalogue::open(&global.catalogue)?),
        false => None,
    };
    if let Some(c) = &existing {
        if c.snapshots()?.is_empty() {
            existing = None;
        }
    }
    // The document is imported into a catalogue of its own, made under a temporary name: a
    // failed import leaves nothing behind. It then becomes the catalogue, or, when the
    // catalogue already holds snapshots, is merged into it (`odarchive merge`: conflicting
    // discs or sets are refused, nothing changes).
    let mut temp = global.catalogue.clone().into_os_string();
    temp.push(".importing");
    let temp = super::TempCatalogue(PathBuf::from(temp));
    temp.remove();
    let result = (|| -> Result<_> {
        let mut imported = Catalogue::create_or_open(&temp.0)?;
        let summary = imported.import_json(input, &args.file, &options)?;
        if let Some(catalogue) = existing.as_mut() {
            let report = catalogue.merge(&imported).with_context(|| {
                format!(
                    "cannot merge {} into {}",
                    args.file.display(),
                    global.catalogue.display()
                )
            })?;
            return Ok((summary, Some(report)));
        }
        drop(imported);
        std::fs::rename(&temp.0, &global.catalogue).with_context(|| {
            format!(
                "cannot rename {} to {}",
                temp.0.display(),
                global.catalogue.display()
            )
        })?;
        Ok((summary, None))
    })();
    temp.remove();
    let (summary, merged) = result?;
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
