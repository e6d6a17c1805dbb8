//! `odarchive discs` and `odarchive num-discs`: the planned discs and their state.

use anyhow::Result;
use indicatif::HumanBytes;
use odarchive::Catalogue;

use crate::render::count;
use crate::{Global, Outcome};

pub fn run(global: &Global) -> Result<Outcome> {
    let catalogue = Catalogue::open_read_only(&global.catalogue)?;
    let discs = catalogue.discs()?;
    if global.json {
        println!("{}", serde_json::to_string_pretty(&discs)?);
        return Ok(Outcome::Success);
    }
    if discs.is_empty() {
        println!("no discs planned (run `odarchive plan --media M`)");
        return Ok(Outcome::Success);
    }
    println!(
        "{:>5}  {:<16} {:<8} {:>8} {:>11} {:>11}  image, SHA-256",
        "disc", "label", "state", "files", "bytes", "image size"
    );
    for d in &discs {
        let image = match (&d.image_name, &d.image_sha256) {
            (Some(name), Some(sha)) => format!("{name}, {}", odarchive::hex(sha)),
            _ => "-".into(),
        };
        println!(
            "{:>5}  {:<16} {:<8} {:>8} {:>11} {:>11}  {image}",
            d.number,
            d.label,
            d.state.as_str(),
            count(d.files),
            HumanBytes(d.bytes).to_string(),
            HumanBytes(d.image_size).to_string(),
        );
    }
    Ok(Outcome::Success)
}

pub fn run_count(global: &Global) -> Result<Outcome> {
    let catalogue = Catalogue::open_read_only(&global.catalogue)?;
    let n = catalogue.discs()?.len();
    if global.json {
        println!("{}", serde_json::json!({ "discs": n }));
    } else {
        println!("{n}");
    }
    Ok(Outcome::Success)
}
