//! `odarchive plan --media M`: assign every file to discs and store the plan.

use anyhow::Result;
use indicatif::HumanBytes;
use odarchive::{Catalogue, Media, PlanOptions, PlanSummary, SetParityOptions};

use crate::render::{Reporter, count};
use crate::{Global, Outcome};

/// Parses `--media` for clap: a medium name or a size.
pub fn parse_media(text: &str) -> Result<Media, String> {
    Media::parse(text).map_err(|e| e.to_string())
}

/// Parses a size such as `--margin 10M` for clap.
pub fn parse_size(text: &str) -> Result<u64, String> {
    odarchive::media::parse_size(text).map_err(|e| e.to_string())
}

/// The options `plan` and `archive` share.
#[derive(Debug, clap::Args)]
pub struct MediaArgs {
    /// The disc medium: cd, dvd, dvd-dl, bd (bluray), bd-dl, bd-xl, bd-xx, or a size such as
    /// 700M, 4.7G, 50MiB (rounded down to whole 2048-byte sectors).
    #[arg(long, value_name = "NAME|SIZE", value_parser = parse_media)]
    pub media: Media,

    /// Space to leave unused on every disc, e.g. 10M.
    #[arg(long, value_name = "SIZE", value_parser = parse_size, default_value = "0")]
    pub margin: u64,

    /// Put this folder (relative to the drive root) on the first discs; repeatable, in order.
    #[arg(long = "first", value_name = "PATH")]
    pub first: Vec<String>,

    /// Reed-Solomon parity on every disc, in percent of its other sectors (0: none). A disc
    /// with parity can be rebuilt by `odarchive repair` when some of its sectors are lost.
    #[arg(long, value_name = "PERCENT", default_value_t = odarchive::DEFAULT_PARITY,
          value_parser = clap::value_parser!(u8).range(0..=100))]
    pub parity: u8,

    /// Parity discs across the set: N parity discs for every group of --set-group discs,
    /// so that any N discs of a group can be lost (0: none). Needs --parity 1 or more.
    #[arg(long, value_name = "N", default_value_t = 0)]
    pub set_parity: u32,

    /// Discs per set-parity group (consecutive disc numbers; the last group may be smaller).
    #[arg(long, value_name = "K", default_value_t = odarchive::set_parity::DEFAULT_GROUP,
          value_parser = clap::value_parser!(u32).range(1..=255))]
    pub set_group: u32,
}

impl MediaArgs {
    /// The plan options these give.
    pub fn plan_options(&self, replan: bool) -> PlanOptions {
        PlanOptions {
            media: self.media.clone(),
            margin: self.margin,
            first: self.first.clone(),
            replan,
            parity: self.parity,
            set_parity: SetParityOptions {
                parity: self.set_parity,
                group: self.set_group,
            },
        }
    }
}

#[derive(Debug, clap::Args)]
pub struct Args {
    #[command(flatten)]
    pub media: MediaArgs,

    /// When some discs of the current plan are written: plan the unwritten ones again.
    #[arg(long)]
    pub replan: bool,
}

pub fn run(args: &Args, global: &Global) -> Result<Outcome> {
    let mut catalogue = Catalogue::open(&global.catalogue)?;
    let options = args.media.plan_options(args.replan);
    let reporter = Reporter::new(global.json);
    let summary = odarchive::plan(&mut catalogue, &options, &Quiet(&reporter));
    reporter.finish();
    let summary = summary?;
    if global.json {
        // Through a JSON value, as before: its keys in the order `plan --json` has printed.
        let value = serde_json::to_value(&summary)?;
        crate::render::out(&format!("{}\n", serde_json::to_string_pretty(&value)?))?;
    } else {
        crate::render::out(&human(&summary))?;
    }
    Ok(Outcome::Success)
}

/// Passes events on to the reporter except in JSON mode, where `plan` prints one object.
struct Quiet<'a>(&'a Reporter);

impl odarchive::Progress for Quiet<'_> {
    fn event(&self, event: &odarchive::Event) {
        if !self.0.is_json() {
            self.0.event(event);
        }
    }
}

/// The plan as a table, one disc a line.
pub fn human(s: &PlanSummary) -> String {
    let mut out = format!(
        "Planned {} discs of {} for snapshot {}: {} contents, {}\n",
        s.discs.len(),
        s.media,
        s.snapshot,
        count(s.contents),
        HumanBytes(s.bytes)
    );
    out.push_str(&format!(
        "{:>5}  {:<16} {:>8} {:>11} {:>7}  first .. last\n",
        "disc", "label", "files", "bytes", "fill"
    ));
    for d in &s.discs {
        out.push_str(&format!(
            "{:>5}  {:<16} {:>8} {:>11} {:>6.2}%  {} .. {}\n",
            d.number,
            d.label,
            count(d.files),
            HumanBytes(d.bytes).to_string(),
            d.fill_percent,
            d.first_path,
            d.last_path
        ));
    }
    out.push_str(&format!(
        "{} contents split across discs; {} folders span more than one disc\n",
        count(s.split_contents),
        count(s.folders_split)
    ));
    if s.unhashed_files > 0 {
        out.push_str(&format!(
            "warning: {} files could not be read when scanned and are not planned (rescan)\n",
            count(s.unhashed_files)
        ));
    }
    for (g, first, last) in &s.set_parity_closed {
        out.push_str(&format!(
            "set parity: group {g} closed at its written discs {first}..{last} (its parity \
             discs are made from them at the next write)\n"
        ));
    }
    if let Some((g, first, last)) = s.set_parity_continued {
        out.push_str(&format!(
            "set parity: group {g}, left open by an interrupted write, continues with discs \
             {first}..{last}\n"
        ));
    }
    for g in &s.set_parity_groups {
        out.push_str(&format!(
            "set parity: group {}: discs {}..{} and {} parity disc{}\n",
            g.number,
            g.first_disc,
            g.last_disc,
            g.parity,
            if g.parity == 1 { "" } else { "s" }
        ));
    }
    out
}
