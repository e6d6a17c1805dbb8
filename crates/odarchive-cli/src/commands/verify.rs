//! `odarchive verify IMAGE_OR_DIR...`: check discs against the catalogue.

use std::path::PathBuf;

use std::fmt::Write as _;

use anyhow::Result;
use odarchive::verify::{VerifyOptions, execute, prepare};

use crate::{Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Disc images (.iso) or mounted discs (directories), in any order.
    #[arg(required = true, value_name = "IMAGE_OR_DIR")]
    sources: Vec<PathBuf>,
    /// Read images through their ISO 9660 view only.
    #[arg(long)]
    iso9660: bool,
    /// Time zone of odarchive 0.1's modification times, when the catalogue is read from 0.1
    /// discs (no local catalogue): an IANA name such as Europe/London or an offset such as
    /// +01:00. Default: this machine's.
    #[arg(long, value_name = "ZONE")]
    timezone: Option<String>,
    /// Check only the files of this snapshot (an id, `latest`, or a UTC date and time) and
    /// say which discs holding it were not given.
    #[arg(long, value_name = "ID|latest|DATE")]
    snapshot: Option<String>,
}

pub fn run(args: &Args, global: &Global) -> Result<Outcome> {
    let mut text = String::new();
    // Parity discs of set-parity groups are checked on their own: they hold no files.
    let known = if global.catalogue.exists() {
        Some(odarchive::Catalogue::open_read_only_upgraded(
            &global.catalogue,
        )?)
    } else {
        None
    };
    let mut sources = Vec::new();
    let mut parity_ok = true;
    for source in &args.sources {
        match odarchive::set_parity::check_parity_disc(known.as_ref(), source)? {
            Some(check) => {
                parity_ok &= check.ok();
                if global.json {
                    let _ = writeln!(text, "{}", serde_json::json!({ "parity_disc": check }));
                } else {
                    let _ = writeln!(
                        text,
                        "{}: parity disc {} of group {} ({} members): {}, {} bad sectors{}",
                        check.source.display(),
                        check.index,
                        check.group,
                        check.members,
                        if check.ok() { "OK" } else { "FAILED" },
                        check.bad_sectors,
                        match check.image_sha256_ok {
                            Some(true) => ", image SHA-256 matches the one recorded",
                            Some(false) => ", image SHA-256 DIFFERS from the one recorded",
                            None => "",
                        }
                    );
                }
            }
            None => sources.push(source.clone()),
        }
    }
    drop(known);
    if sources.is_empty() {
        crate::render::out(&text)?;
        return Ok(if parity_ok {
            Outcome::Success
        } else {
            Outcome::CompletedWithErrors
        });
    }
    let args = &Args {
        sources,
        iso9660: args.iso9660,
        timezone: args.timezone.clone(),
        snapshot: args.snapshot.clone(),
    };
    let (mut catalogue, from_disc) =
        super::catalogue_or_discs(global, &args.sources, true, args.timezone.as_deref())?;
    let checked = (|| {
        let options = VerifyOptions {
            iso9660_only: args.iso9660,
            snapshot: super::snapshot_arg(&catalogue, args.snapshot.as_deref())?,
        };
        let plan = prepare(&catalogue, &args.sources, &options)?;
        anyhow::Ok(execute(&mut catalogue, &plan)?)
    })();
    drop(catalogue);
    if let Some(temp) = from_disc {
        temp.remove();
    }
    let report = checked?;
    let (snapshot, verdicts) = (report.snapshot, &report.discs);
    // With a snapshot: the discs that hold part of it and were not given.
    let needed: Vec<(u32, &str)> = report
        .missing_discs
        .iter()
        .map(|d| (d.number, d.label.as_str()))
        .collect();
    let all_ok = report.ok() && parity_ok;
    if global.json {
        let mut v = serde_json::json!({ "ok": all_ok, "discs": verdicts });
        if let Some(s) = snapshot {
            v["snapshot"] = s.into();
            v["needs_discs"] = needed.iter().map(|(n, _)| *n).collect::<Vec<u32>>().into();
        }
        let _ = writeln!(text, "{v}");
    } else {
        for v in verdicts {
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
                v.view.map_or("none", |view| view.name())
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
            if let Some(m) = &v.parity {
                let _ = writeln!(text, "  {}", crate::hint::margin(m, &v.source));
            }
            // Missing and unexpected files by their path; corrupt ones and damage with why.
            for p in &v.missing {
                let _ = writeln!(text, "  missing: {}", p.path.display());
            }
            for p in &v.corrupt {
                let _ = writeln!(text, "  corrupt: {p}");
            }
            for path in &v.parity_rebuilds {
                let _ = writeln!(
                    text,
                    "  parity rebuilds: {path} (restore does it by itself)"
                );
            }
            for p in &v.unexpected {
                let _ = writeln!(text, "  unexpected: {}", p.path.display());
            }
            for p in &v.damage {
                let _ = writeln!(text, "  damaged: {}", p.detail);
            }
            if let Some(problem) = &v.problem {
                let _ = writeln!(text, "  {problem}");
            }
        }
    }
    if let (Some(s), false) = (snapshot, global.json) {
        if needed.is_empty() {
            let _ = writeln!(text, "snapshot {s}: every disc holding it was given");
        } else {
            let list: Vec<String> = needed
                .iter()
                .map(|(n, label)| format!("{n} ({label})"))
                .collect();
            let _ = writeln!(
                text,
                "snapshot {s}: also held on discs not given: {}",
                list.join(", ")
            );
        }
    }
    crate::render::out(&text)?;
    Ok(if !all_ok {
        Outcome::CompletedWithErrors
    } else if !needed.is_empty() {
        Outcome::NeedsDiscs
    } else {
        Outcome::Success
    })
}
