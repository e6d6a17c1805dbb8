//! `odarchive repair IMAGE_OR_DEVICE --out FIXED.iso`: rebuild a damaged disc's image from
//! its parity.

use std::fmt::Write as _;
use std::path::PathBuf;

use anyhow::Result;
use odarchive::Catalogue;
use odarchive::repair::{Proof, RepairOptions, repair};

use crate::{Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The damaged image, or the drive (a block device such as /dev/sr0) holding the disc.
    #[arg(value_name = "IMAGE_OR_DEVICE", required_unless_present = "from")]
    source: Option<PathBuf>,
    /// Rebuild disc D (a number or a label; a parity disc by its label) of a set-parity
    /// group from the other discs of its group given with --from.
    #[arg(long, value_name = "D", requires = "from", conflicts_with = "source")]
    disc: Option<String>,
    /// Images of the group's other discs and parity discs, folders of them, or parity files
    /// (*.ODS); repeatable. Any K of the group's K + N discs will do.
    #[arg(long, value_name = "IMAGE_OR_DIR", requires = "disc", num_args = 1..)]
    from: Vec<PathBuf>,
    /// Where to write the rebuilt image (written under a temporary name, renamed when its
    /// SHA-256 is proven; an image not rebuilt whole is left as OUT.incomplete).
    #[arg(long, value_name = "FIXED.iso")]
    out: PathBuf,
    /// A GNU ddrescue map of the image: the sectors it does not mark finished are lost.
    #[arg(long, value_name = "DDRESCUE_MAP")]
    map: Option<PathBuf>,
}

pub fn run(args: &Args, global: &Global) -> Result<Outcome> {
    // The catalogue, when there is one, says which disc it is and its SHA-256.
    let catalogue = if global.catalogue.exists() {
        Some(Catalogue::open_read_only_upgraded(&global.catalogue)?)
    } else {
        None
    };
    if let Some(disc) = &args.disc {
        let done = odarchive::set_parity::rebuild(catalogue.as_ref(), disc, &args.from, &args.out)?;
        let mut text = String::new();
        if global.json {
            writeln!(text, "{}", serde_json::to_string(&done)?)?;
        } else {
            for label in &done.repaired_first {
                writeln!(text, "{label}: damaged, repaired first by its own parity")?;
            }
            if done.bad_parity_sectors > 0 {
                writeln!(
                    text,
                    "{} parity sectors failed their CRC and were rebuilt around",
                    done.bad_parity_sectors
                )?;
            }
            let proof = if done.sha256_recorded {
                "matches the one recorded"
            } else {
                "(no catalogue records a parity disc's SHA-256: its parity is computed from \
                 the discs above, each proven by its recorded SHA-256 or CRC32C)"
            };
            writeln!(
                text,
                "{}: rebuilt from group {} ({}); SHA-256 {} {proof}",
                done.label,
                done.group,
                done.used.join(", "),
                done.image_sha256
            )?;
            writeln!(text, "repaired: {}", done.image.display())?;
        }
        crate::render::out(&text)?;
        return Ok(Outcome::Success);
    }
    let source = args
        .source
        .as_ref()
        .ok_or_else(|| anyhow::anyhow!("give the image or device to repair"))?;
    let options = RepairOptions {
        map: args.map.clone(),
        ..RepairOptions::default()
    };
    let outcome = repair(catalogue.as_ref(), source, &args.out, &options)?;
    let mut text = String::new();
    if global.json {
        writeln!(text, "{}", serde_json::to_string(&outcome)?)?;
    } else {
        let which = match (outcome.disc, &outcome.label) {
            (Some(n), Some(label)) => format!("disc {n} ({label})"),
            _ => "a disc the catalogue does not know".to_owned(),
        };
        writeln!(
            text,
            "{}: {which}, {} sectors, parity {} %: {} unreadable, {} corrupt, {} rebuilt",
            outcome.source.display(),
            outcome.sectors,
            outcome.parity_percent,
            outcome.unreadable,
            outcome.corrupt,
            outcome.rebuilt
        )?;
        if outcome.read_errors > 0 {
            writeln!(text, "  {} read errors on the drive", outcome.read_errors)?;
        }
        match outcome.proof {
            Some(Proof::CatalogueSha256 { matches: true }) => writeln!(
                text,
                "  SHA-256 {} matches the one recorded when the disc was written",
                outcome.image_sha256
            )?,
            Some(Proof::CatalogueSha256 { matches: false }) => writeln!(
                text,
                "  SHA-256 {} DIFFERS from the one recorded when the disc was written",
                outcome.image_sha256
            )?,
            Some(Proof::ParityCrc { matches: true }) => writeln!(
                text,
                "  every sector matches its parity checksum (no SHA-256 recorded for it)"
            )?,
            Some(Proof::ParityCrc { matches: false }) => {
                writeln!(text, "  some sectors still fail their parity checksum")?
            }
            None => {}
        }
        if outcome.complete {
            writeln!(text, "repaired: {}", outcome.image.display())?;
        } else {
            for r in &outcome.unrecoverable {
                writeln!(text, "  not rebuilt: sectors {}..{}", r.start, r.end)?;
            }
            for r in &outcome.unverified {
                writeln!(
                    text,
                    "  unverified (their checksums were lost too): sectors {}..{}",
                    r.start, r.end
                )?;
            }
            for lost in &outcome.lost {
                match &lost.catalogue_path {
                    Some(p) => writeln!(text, "  lost: {} ({p})", lost.disc_path)?,
                    None => writeln!(text, "  lost: {}", lost.disc_path)?,
                }
            }
            writeln!(
                text,
                "INCOMPLETE: beyond what the parity rebuilds; the best image is {}",
                outcome.image.display()
            )?;
        }
    }
    crate::render::out(&text)?;
    Ok(if outcome.complete {
        Outcome::Success
    } else {
        Outcome::CompletedWithErrors
    })
}
