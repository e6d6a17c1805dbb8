//! Planning discs: which content goes on which disc, with every image's exact size.
//!
//! [`plan()`] reads the latest complete snapshot and packs the contents that no written disc
//! holds yet with a [`Packer`] (pure: items and parameters in, discs out, each disc's size
//! computed with [`discfs::layout()`] on its real tree), computes the hash of every split
//! part (in the catalogue's algorithm), and stores plan, discs and placements in one
//! transaction. It streams: the items come from the catalogue a page of entries at a time
//! ([`input::Items`], in plan order, each content under its first name), the packer holds
//! only its look-ahead and the disc it fills, and each disc is stored as soon as it is
//! packed, so memory does not grow with the number of files. (With `--first` the items are
//! [`gather`]ed whole first: a content's first name then depends on every group.)
//!
//! The catalogue file and `INDEX.tsv.gz` ([`crate::disc::index`]) on each disc describe the
//! whole plan, so their sizes depend on the plan. Both are reserved (the files written later
//! are padded to exactly their reserves): first with an estimate measured on a sample, then,
//! once the plan is stored, checked against the real files made from the stored rows, each
//! measured once; a plan whose files need more is packed again with larger reserves (see
//! `sizing`). Split parts keep their hashes between packings.
//!
//! ```
//! use odarchive::{Catalogue, Media, NoProgress, PlanOptions, ScanOptions, WriteOptions};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let drive = tempfile::tempdir()?;
//! std::fs::write(drive.path().join("big.bin"), vec![7u8; 3_000_000])?;
//! std::fs::write(drive.path().join("small.txt"), "small")?;
//! let work = tempfile::tempdir()?;
//! let mut catalogue = Catalogue::create_or_open(work.path().join("odarchive.db"))?;
//! odarchive::scan(&mut catalogue, drive.path(), &ScanOptions::default(), &NoProgress)?;
//!
//! let options = PlanOptions {
//!     media: Media::parse("2M")?,
//!     margin: 0,
//!     first: vec![],
//!     replan: false,
//!     parity: 10,
//!     set_parity: Default::default(),
//! };
//! let plan = odarchive::plan(&mut catalogue, &options, &NoProgress)?;
//! assert_eq!(plan.split_contents, 1, "3 MB do not fit on a 2 MB disc");
//!
//! let out = work.path().join("images");
//! let write = WriteOptions { out, ..WriteOptions::default() };
//! let written = odarchive::write(&mut catalogue, &write, &NoProgress)?;
//! assert_eq!(written.len(), plan.discs.len());
//! for image in &written {
//!     assert!(std::fs::metadata(&image.path)?.len() <= options.media.capacity);
//! }
//! # Ok(())
//! # }
//! ```

pub mod input;
pub mod layout;
pub mod pack;
mod sizing;
mod store;

pub use input::{Gathered, gather};
pub use layout::{PackParams, exact_size};
pub use pack::{PackedDisc, Packer, Window, pack};

use crate::catalogue::{Catalogue, DiscState, PlanRecord};
use crate::error::{Error, Result};
use crate::hash::ContentHash;
use crate::media::{Media, SECTOR};
use crate::progress::{Event, Progress};
use crate::time::now_ns;

/// One unique content to put on discs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Item {
    /// The content row.
    pub content_id: i64,
    /// Its hash, in the catalogue's algorithm.
    pub hash: ContentHash,
    /// Its size.
    pub size: u64,
    /// Its path under `/Data` (escaped, see [`crate::disc::names`]).
    pub path: String,
    /// The stem of its part names, should it be split, where that is not `path` (other
    /// files already take `path`'s part names): see [`Item::part_stem`].
    pub split_stem: Option<Box<str>>,
    /// The catalogue path it is stored under (raw bytes, relative to the drive), where that
    /// is not the bytes of `path` (escaped or renamed on the disc): see [`Item::raw_path`].
    /// Most paths are the same in both, and a plan holds an item per content, so each keeps
    /// one copy.
    pub entry_path: Option<Box<[u8]>>,
    /// That entry's mtime.
    pub mtime_ns: i64,
    /// Bytes already on written discs (as the first `parts_written` parts); 0 for most.
    pub written: u64,
    /// Parts already on written discs.
    pub parts_written: u32,
}

impl Item {
    /// The stem of its part names, should it be split.
    pub fn part_stem(&self) -> &str {
        self.split_stem.as_deref().unwrap_or(&self.path)
    }

    /// The catalogue path it is stored under (raw bytes, relative to the drive).
    pub fn raw_path(&self) -> &[u8] {
        self.entry_path.as_deref().unwrap_or(self.path.as_bytes())
    }
}

/// A content, or a part of it, on a disc.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Piece {
    /// Index of the item.
    pub item: usize,
    /// Where it starts in the content.
    pub offset: u64,
    /// Its length.
    pub length: u64,
    /// 0 for the whole content, else 1-based.
    pub part: u32,
    /// Parts of the content (1 when whole).
    pub parts: u32,
}

/// The parity percent `plan` and `archive` use unless told otherwise.
pub const DEFAULT_PARITY: u8 = 10;

/// How to plan.
#[derive(Debug, Clone)]
pub struct PlanOptions {
    /// The medium.
    pub media: Media,
    /// Bytes to leave unused on every disc.
    pub margin: u64,
    /// Folders (or files) to put on the first discs, in this order; relative to the drive root.
    pub first: Vec<String>,
    /// Replan only the unwritten discs of a plan that has written ones.
    pub replan: bool,
    /// Reed-Solomon parity on every disc, in percent of its other sectors (0: none; at most
    /// 100). The CLI's default is [`DEFAULT_PARITY`].
    pub parity: u8,
    /// Parity discs across the set ([`crate::set_parity`]): none by default.
    pub set_parity: SetParityOptions,
}

/// Parity discs across a plan's discs: `parity` discs for every group of `group`
/// consecutive discs (the last group may be smaller), so that any `parity` discs of a group
/// can be lost. `parity` 0: none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SetParityOptions {
    /// Parity discs a group (N).
    pub parity: u32,
    /// Discs a group (K).
    pub group: u32,
}

impl Default for SetParityOptions {
    fn default() -> Self {
        SetParityOptions {
            parity: 0,
            group: crate::set_parity::DEFAULT_GROUP,
        }
    }
}

/// One planned disc, as reported.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DiscSummary {
    /// Disc number.
    pub number: u32,
    /// Volume label.
    pub label: String,
    /// Data files on it (whole contents and parts).
    pub files: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Exact image size.
    pub image_size: u64,
    /// Image size as a percentage of the capacity.
    pub fill_percent: f64,
    /// First path on it (under `/Data`).
    pub first_path: String,
    /// Last path on it.
    pub last_path: String,
}

/// What [`plan()`] made.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PlanSummary {
    /// The plan row.
    pub plan_id: i64,
    /// The snapshot planned.
    pub snapshot: i64,
    /// Medium name and capacity.
    pub media: Media,
    /// Margin in bytes.
    pub margin: u64,
    /// Contents planned.
    pub contents: u64,
    /// Their bytes.
    pub bytes: u64,
    /// Contents split into parts.
    pub split_contents: u64,
    /// Folders whose files span more than one disc.
    pub folders_split: u64,
    /// Files of the snapshot that could not be read when scanned, so are not archived.
    pub unhashed_files: u64,
    /// The discs of this plan.
    pub discs: Vec<DiscSummary>,
    /// Its set-parity groups (none without `set_parity`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub set_parity_groups: Vec<crate::catalogue::SetGroup>,
    /// Set-parity groups of earlier plans closed at their written members, as (group, first
    /// disc, last disc): the discs that followed them are planned again.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub set_parity_closed: Vec<(u32, u32, u32)>,
    /// The set-parity group an interrupted write left open that this plan's first discs
    /// complete, as (group, first disc, last disc of this plan in it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub set_parity_continued: Option<(u32, u32, u32)>,
}

/// Plans discs for everything in the latest complete snapshot that no written disc holds yet,
/// and stores the plan. Replaces a plan none of whose discs is written; with written discs,
/// `options.replan` is needed and only the unwritten ones are replanned.
pub fn plan(
    catalogue: &mut Catalogue,
    options: &PlanOptions,
    progress: &dyn Progress,
) -> Result<PlanSummary> {
    let set = options.set_parity;
    if set.parity > 0 {
        crate::set_parity::check_options(options.parity, set.parity, set.group)?;
    }
    let snapshot = catalogue
        .latest_complete_snapshot()?
        .ok_or_else(|| Error::NoSnapshot {
            path: catalogue.path().to_path_buf(),
        })?;
    let capacity = options.media.capacity.saturating_sub(options.margin) / SECTOR * SECTOR;
    let discs = catalogue.discs()?;
    let planned_plans: Vec<i64> = discs
        .iter()
        .filter(|d| d.state == DiscState::Planned)
        .map(|d| d.plan_id)
        .collect();
    let written_of_planned: Vec<String> = discs
        .iter()
        .filter(|d| d.state != DiscState::Planned && planned_plans.contains(&d.plan_id))
        .map(|d| d.number.to_string())
        .collect();
    if !written_of_planned.is_empty() && !options.replan {
        return Err(Error::PlanHasWrittenDiscs {
            discs: written_of_planned.join(", "),
        });
    }
    let first_number = discs
        .iter()
        .filter(|d| d.state != DiscState::Planned)
        .map(|d| d.number)
        .max()
        .unwrap_or(0)
        + 1;

    let first_raw: Vec<Vec<u8>> = options
        .first
        .iter()
        .map(|f| input::normalise_first(f, &snapshot.drive_path))
        .collect();
    input::check_first(catalogue, snapshot.id, &options.first, &first_raw)?;
    let placed = catalogue.written_extents()?;
    // With `--first`, a content's first name depends on every group, so the items are
    // gathered whole; without, they are read from the catalogue as packing takes them, once
    // for the census below and once a packing.
    let gathered = if first_raw.is_empty() {
        None
    } else {
        Some(gather(catalogue, snapshot.id, &first_raw, &placed)?)
    };
    let mut census = match &gathered {
        Some(g) => Census::of(g.items.iter().cloned().map(Ok), g.unhashed)?,
        None => {
            let mut items = input::Items::new(catalogue, snapshot.id, &placed)?;
            let mut census = Census::of(items.by_ref(), 0)?;
            census.unhashed = items.unhashed();
            census
        }
    };
    if census.contents == 0 {
        return Err(Error::NothingToPlan {
            reason: if placed.is_empty() {
                format!("snapshot {} holds no readable files", snapshot.id)
            } else {
                "every file of the latest snapshot is already on a written disc".into()
            },
        });
    }
    progress.event(&Event::PlanStarted {
        contents: census.contents as u64,
        bytes: census.bytes,
    });

    // The groups of the discs this plan replaces are settled first (see set_parity).
    let next = (set.parity > 0).then_some(crate::set_parity::NextPlan {
        parity_percent: options.parity,
        capacity: options.media.capacity,
        margin: options.margin,
        parity: set.parity,
        members: set.group,
    });
    let settled = crate::set_parity::settle_groups_before_plan(catalogue, next.as_ref())?;
    let catalogue: &Catalogue = catalogue;
    let created_ns = now_ns();
    let set_id = catalogue.archive()?.set_id;
    let hash = catalogue.hash_algorithm()?;
    let sizer = sizing::Sizer {
        snapshot: snapshot.id,
        contents: census.contents,
        bytes: census.bytes,
        items: &[],
        content_ids: &[],
        set_id: &set_id,
        capacity,
        hash,
        parity: options.parity,
        created_ns,
    };
    let parity_label = |g: u32, i: u32| crate::set_parity::parity_disc_label(&set_id, g, i);
    // Only the estimate needs the sample and the list of contents.
    let mut reserve = sizing::Sizer {
        items: &census.sample,
        content_ids: &census.content_ids,
        ..sizer
    }
    .estimate(catalogue, first_number)?;
    census.sample = Vec::new();
    census.content_ids = Vec::new();
    // Split parts keep their hashes from one packing to the next: most parts stay the same.
    let mut part_hashes = store::PartHashes::default();
    for _ in 0..MAX_ROUNDS {
        let params = reserve.params(capacity, first_number, hash, options.parity);
        let facts = store::PlanFacts {
            options,
            capacity,
            created_ns,
            reserve,
            set_id: &set_id,
            hash,
        };
        let record = store::plan_record(&snapshot, &facts);
        let mut writer = catalogue.begin_plan(&record)?;
        let source: Box<dyn Iterator<Item = Result<Item>> + '_> = match &gathered {
            Some(g) => Box::new(g.items.iter().cloned().map(Ok)),
            None => Box::new(input::Items::new(catalogue, snapshot.id, &placed)?),
        };
        let first_count = gathered.as_ref().map_or(0, |g| g.first_count);
        let mut packer = pack::Packer::new(source, first_count, &params);
        let mut folders = store::Folders::default();
        let mut discs = Vec::new();
        let mut summaries = Vec::new();
        let mut split_contents = 0;
        // Each disc is stored as it is packed: only its items and the look-ahead are held.
        while let Some(d) = packer.next_disc()? {
            let items = packer.items();
            let disc = store::disc_record(&snapshot, &d, &facts);
            writer.disc(&disc)?;
            folders.add(items, &d, capacity);
            store::placements(
                &snapshot,
                items,
                &d,
                &params,
                &facts,
                &mut part_hashes,
                &mut |pl| writer.placement(pl),
            )?;
            split_contents += d.pieces.iter().filter(|p| p.part == 1).count() as u64;
            summaries.push(disc_summary(items, &d, &disc, options, capacity));
            discs.push(disc);
        }
        let splits: Vec<(i64, u32, bool)> = packer
            .take_splits()
            .iter()
            .map(|s| (s.content_id, s.parts, s.continued))
            .collect();
        drop(packer);
        let record = PlanRecord {
            folders_split: folders.split(),
            ..record
        };
        // Set-parity groups are stored with the plan, in its transaction: a plan asked for
        // with parity discs is never stored without them.
        let groups = (set.parity > 0)
            .then(|| {
                crate::set_parity::groups_of(
                    &record,
                    &discs,
                    set.parity,
                    set.group,
                    &parity_label,
                    &set_id,
                    (settled.open.as_ref(), settled.numbered_after),
                )
            })
            .transpose()?;
        let plan_id = writer.finish(record.folders_split, &splits, groups.as_ref())?;
        // The real catalogue file and index (real hashes and ISO 9660 paths) must fit their
        // reserves; the estimate's slack makes that all but certain, and if not the plan is
        // packed again with larger ones.
        let need = sizing::needed(catalogue, snapshot.id, plan_id)?;
        match sizer.grown(reserve, need) {
            Some(larger) => reserve = larger,
            None => {
                return Ok(PlanSummary {
                    plan_id,
                    snapshot: snapshot.id,
                    media: options.media.clone(),
                    margin: options.margin,
                    contents: census.contents as u64,
                    bytes: census.bytes,
                    split_contents,
                    folders_split: record.folders_split,
                    unhashed_files: census.unhashed,
                    discs: summaries,
                    set_parity_groups: catalogue.plan_set_groups(plan_id)?,
                    set_parity_continued: groups
                        .as_ref()
                        .and_then(|g| g.extend)
                        .zip(settled.open)
                        .map(|((_, last), open)| (open.number, open.written_last + 1, last)),
                    set_parity_closed: settled.closed,
                });
            }
        }
    }
    Err(Error::Internal(
        "the reserve for the catalogue file and the index did not settle; please report this"
            .into(),
    ))
}

/// What the estimate of the disc files needs of the items, read once before packing.
#[derive(Debug, Default)]
struct Census {
    /// Items (unique contents) to plan.
    contents: usize,
    /// Their bytes.
    bytes: u64,
    /// The sample the estimate measures ([`sizing::sample_below`]).
    sample: Vec<Item>,
    /// Every item's content, sorted.
    content_ids: Vec<i64>,
    /// Files without content.
    unhashed: u64,
}

impl Census {
    fn of(items: impl Iterator<Item = Result<Item>>, unhashed: u64) -> Result<Census> {
        let mut c = Census {
            unhashed,
            ..Census::default()
        };
        let below =
            |n: usize, item: &Item| u16::from(item.hash.as_bytes()[0]) < sizing::sample_below(n);
        // The threshold only falls as items come, so the sample is what it keeps, cut down to
        // the final threshold; cut down as it goes too, to stay near its final size.
        let mut cut_at = 2 * sizing::SAMPLE;
        for item in items {
            let item = item?;
            c.contents += 1;
            c.bytes += item.size;
            c.content_ids.push(item.content_id);
            if below(c.contents, &item) {
                c.sample.push(item);
                if c.sample.len() >= cut_at {
                    let n = c.contents;
                    c.sample.retain(|i| below(n, i));
                    cut_at = cut_at.max(2 * c.sample.len());
                }
            }
        }
        let n = c.contents;
        c.sample.retain(|i| below(n, i));
        c.content_ids.sort_unstable();
        Ok(c)
    }
}

/// Rounds of packing before giving up (the reserves only grow, so two suffice in practice).
const MAX_ROUNDS: usize = 6;

fn disc_summary(
    items: &pack::Window<Item>,
    p: &PackedDisc,
    d: &crate::catalogue::DiscRecord,
    options: &PlanOptions,
    capacity: u64,
) -> DiscSummary {
    let path = |piece: Option<&Piece>| {
        piece.map_or_else(String::new, |pc| {
            layout::piece_path(&items[pc.item], pc, capacity)
        })
    };
    DiscSummary {
        number: p.number,
        label: d.label.clone(),
        files: d.files,
        bytes: d.bytes,
        image_size: p.image_size,
        fill_percent: p.image_size as f64 * 100.0 / options.media.capacity.max(1) as f64,
        first_path: path(p.pieces.first()),
        last_path: path(p.pieces.last()),
    }
}
