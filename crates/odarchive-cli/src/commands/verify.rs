//! `odarchive verify IMAGE_OR_DIR...`: check discs against the catalogue.

use std::path::PathBuf;

use std::fmt::Write as _;

use anyhow::Result;
use odarchive::verify::{VerifyOptions, verify};

use crate::{Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Disc images (.iso) or mounted discs (directories), in any order.
    #[arg(required = true, value_name = "IMAGE_OR_DIR")]
    sources: Vec<PathBuf>,
    /// Read images through their ISO 9660 view only.
    #[arg(long)]
    iso9660: bool,
}

pub fn run(args: &Args, global: &Global) -> Result<Outcome> {
    let mut text = String::new();
    let (mut catalogue, from_disc) = super::catalogue_or_discs(global, &args.sources, true)?;
    let options = VerifyOptions {
        iso9660_only: args.iso9660,
    };
    let verdicts = verify(&mut catalogue, &args.sources, &options);
    drop(catalogue);
    if let Some(temp) = from_disc {
        temp.remove();
    }
    let verdicts = verdicts?;
    let all_ok = verdicts.iter().all(|v| v.ok());
    if global.json {
        let _ = writeln!(
            text,
            "{}",
            serde_json::json!({ "ok": all_ok, "discs": verdicts })
        );
    } else {
        for v in &verdicts {
            let which = match (v.disc, &v.label) {
                (Some(n), Some(label)) => format!("disc {n} ({label})"),
                _ => "unidentified disc".to_owned(),
            };
            let verdict = if v.ok() { "OK" } else { "FAILED" };
            let _ = writeln!(
                text,
                "{}: {which}: {verdict}, {} files intact ({} bytes), read through {}",
                v.source.display(),
                v.files_ok,
                v.bytes_ok,
                v.view
            );
            match v.image_sha256_ok {
                Some(true) => {
                    let _ = writeln!(
                        text,
                        "  image SHA-256 matches the one recorded when it was written"
                    );
                }
                Some(false) => {
                    let _ = writeln!(
                        text,
                        "  image SHA-256 DIFFERS from the one recorded when it was written"
                    );
                }
                None => {}
            }
            for (what, list) in [
                ("missing", &v.missing),
                ("corrupt", &v.corrupt),
                ("unexpected", &v.unexpected),
            ] {
                for path in list {
                    let _ = writeln!(text, "  {what}: {path}");
                }
            }
            if let Some(problem) = &v.problem {
                let _ = writeln!(text, "  {problem}");
            }
        }
    }
    crate::render::out(&text)?;
    Ok(if all_ok {
        Outcome::Success
    } else {
        Outcome::CompletedWithErrors
    })
}
