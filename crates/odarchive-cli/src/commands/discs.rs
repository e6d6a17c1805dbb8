//! `odarchive discs` and `odarchive num-discs`: the planned discs and their state.

use anyhow::Result;
use indicatif::HumanBytes;
use odarchive::Catalogue;

use std::fmt::Write as _;

use crate::render::{count, out};
use crate::{Global, Outcome};

pub fn run(global: &Global) -> Result<Outcome> {
    let catalogue = Catalogue::open_read_only_upgraded(&global.catalogue)?;
    let discs = catalogue.discs()?;
    if global.json {
        out(&format!("{}\n", serde_json::to_string_pretty(&discs)?))?;
        return Ok(Outcome::Success);
    }
    if discs.is_empty() {
        out("no discs planned (run `odarchive plan --media M`)\n")?;
        return Ok(Outcome::Success);
    }
    let mut text = String::new();
    writeln!(
        text,
        "{:>5}  {:<16} {:<8} {:>8} {:>11} {:>11}  image, SHA-256",
        "disc", "label", "state", "files", "bytes", "image size"
    )?;
    for d in &discs {
        let image = match (&d.image_name, &d.image_sha256) {
            (Some(name), Some(sha)) => format!("{name}, {}", odarchive::hex(sha)),
            _ => "-".into(),
        };
        writeln!(
            text,
            "{:>5}  {:<16} {:<8} {:>8} {:>11} {:>11}  {image}",
            d.number,
            d.label,
            d.state.as_str(),
            count(d.files),
            HumanBytes(d.bytes).to_string(),
            HumanBytes(d.image_size).to_string(),
        )?;
    }
    out(&text)?;
    Ok(Outcome::Success)
}

pub fn run_count(global: &Global) -> Result<Outcome> {
    let catalogue = Catalogue::open_read_only_upgraded(&global.catalogue)?;
    let n = catalogue.discs()?.len();
    if global.json {
        out(&format!("{}\n", serde_json::json!({ "discs": n })))?;
    } else {
        out(&format!("{n}\n"))?;
    }
    Ok(Outcome::Success)
}
