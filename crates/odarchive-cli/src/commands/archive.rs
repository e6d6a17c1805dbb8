//! `odarchive archive DRIVE_PATH --media M --out DIR`: scan, plan and write in one go.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use anyhow::Result;
use odarchive::{ArchiveOptions, Catalogue};

use super::plan::MediaArgs;
use super::scan::ScanArgs;
use crate::render::Reporter;
use crate::{Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// The directory to archive (the root of the drive).
    drive_path: PathBuf,

    #[command(flatten)]
    media: MediaArgs,

    /// The folder for the images (`<label>.iso`); created if missing.
    #[arg(long, value_name = "DIR")]
    out: PathBuf,

    #[command(flatten)]
    scan: ScanArgs,
}

pub fn run(args: &Args, global: &Global) -> Result<Outcome> {
    let cancel = Arc::new(AtomicBool::new(false));
    super::scan::install_interrupt_handler(Arc::clone(&cancel))?;
    let mut catalogue = Catalogue::create_or_open(&global.catalogue)?;
    let options = ArchiveOptions {
        drive: args.drive_path.clone(),
        scan: args.scan.options(cancel),
        plan: args.media.plan_options(true),
        out: args.out.clone(),
    };
    let reporter = Reporter::new(global.json);
    let result = odarchive::archive(&mut catalogue, &options, &reporter);
    reporter.finish();
    let summary = result?;
    if global.json {
        let mut value = serde_json::to_value(&summary)?;
        if let Some(object) = value.as_object_mut() {
            object.insert("event".into(), "summary".into());
        }
        crate::render::out(&format!("{}\n", serde_json::to_string(&value)?))?;
    } else {
        if let Some(plan) = &summary.plan {
            crate::render::out(&super::plan::human(plan))?;
        }
        crate::render::out(&super::write::human(&summary.written))?;
    }
    Ok(if summary.scan.info.errors > 0 {
        Outcome::CompletedWithErrors
    } else {
        Outcome::Success
    })
}
