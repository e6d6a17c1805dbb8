//! `odarchive burn DISC --device DEV`: burn a written image with xorriso and read it back.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use odarchive::Catalogue;
use odarchive::burn::{BurnOptions, burn};

use crate::{Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The disc number (see `odarchive discs`).
    disc: u32,
    /// The drive (/dev/sr0), or `stdio:FILE` (xorriso's pseudo-drive: a file as the disc).
    #[arg(long, value_name = "DEV")]
    device: String,
    /// The folder the images were written to.
    #[arg(long, value_name = "DIR", default_value = ".")]
    out: PathBuf,
    /// A medium the image must also fit (e.g. bd-formatted), besides the loaded one.
    #[arg(long, value_name = "M")]
    media: Option<String>,
    /// Check the image and the medium and print the burn command, burning nothing.
    #[arg(long)]
    dry_run: bool,
}

pub fn run(args: &Args, global: &Global) -> Result<Outcome> {
    let mut catalogue = Catalogue::open(&global.catalogue)?;
    let options = BurnOptions {
        device: args.device.clone(),
        images: args.out.clone(),
        media: args
            .media
            .as_deref()
            .map(odarchive::Media::parse)
            .transpose()?,
        dry_run: args.dry_run,
    };
    let report = burn(&mut catalogue, args.disc, &options, &mut |line| {
        eprintln!("burn: {line}");
    })?;
    let mut text = String::new();
    if global.json {
        writeln!(text, "{}", serde_json::to_string(&report)?)?;
    } else {
        writeln!(
            text,
            "disc {}: {} ({} sectors), medium in {} has {} free",
            report.disc,
            report.image.display(),
            report.image_sectors,
            args.device,
            report.medium_free_sectors
        )?;
        match report.read_back_ok {
            None => writeln!(text, "dry run: would run {}", report.command.join(" "))?,
            Some(true) => writeln!(
                text,
                "burnt and read back: the disc's sectors match the image's SHA-256; disc {} verified",
                report.disc
            )?,
            Some(false) => writeln!(
                text,
                "burnt, but the disc read back DIFFERS from the image's SHA-256: do not trust it"
            )?,
        }
    }
    crate::render::out(&text)?;
    Ok(match report.read_back_ok {
        Some(false) => Outcome::CompletedWithErrors,
        _ => Outcome::Success,
    })
}
