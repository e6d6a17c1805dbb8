//! Parity discs across a set (`plan --set-parity N`): lose any N discs of a group and lose
//! nothing.
//!
//! - [`groups_of`] cuts a plan's discs into groups of K consecutive discs (the last group may
//!   be smaller), each with N parity discs, and records them in the catalogue.
//! - [`fold_written`] (called by `write` after each image) folds a written member into its
//!   group's accumulator in `OUT/.odarchive-set-parity/` (see `accumulator`), and once every
//!   member of a group is folded writes its N parity discs (`disc`): ordinary UDF + ISO 9660
//!   images holding `/README.md` and `/Parity/SET-<g>-<i>.ODS` (discfs's `parity::set`).
//! - [`rebuild`] (`odarchive repair --disc D --from …`) rebuilds a lost member or parity disc
//!   from any K others of its group, proven by the recorded SHA-256 (a parity disc without
//!   the catalogue: from another parity disc's header, proven by its inputs).
//! - [`settle_groups_before_plan`] (called by `plan`) forgets the groups of the discs a new
//!   plan replaces, or closes a group at its written first members; a group left open by an
//!   interrupted write is completed by the new plan's first discs when the plan has its shape.
//!
//! The set code covers each member's sectors except its own `/Parity/PARITY.ODP`, which is
//! encoded again after a rebuild: a parity disc then holds about a member's size less its
//! disc parity, so it fits on the same medium. That is why `--set-parity` needs `--parity` of
//! 1 % or more: [`groups_of`] refuses otherwise (and checks each parity disc's exact size
//! against the medium), rather than have the planner keep room on every disc.

pub mod accumulator;
mod disc;
mod rebuild;

use std::path::{Path, PathBuf};

use discfs::parity::set::SetError;

pub use accumulator::{Accumulator, FoldPoint};
pub use disc::{parity_disc_label, parity_file_name};
pub use rebuild::{GroupRepair, ParityDiscCheck, check_parity_disc, rebuild};

use crate::catalogue::{Catalogue, DiscRecord, NewSetGroups, PlanRecord};
use crate::error::Result;

/// The folder, under the images' output folder, that holds the accumulators.
pub const ACCUMULATOR_DIR: &str = ".odarchive-set-parity";
/// Members per group unless told otherwise.
pub const DEFAULT_GROUP: u32 = 10;

/// Errors of set parity.
#[derive(Debug, thiserror::Error)]
pub enum SetParityError {
    /// `--set-parity` asked of a plan without parity on every disc.
    #[error(
        "--set-parity needs parity on every disc (--parity 1 or more): a parity disc holds each \
         member's sectors except its own parity area, and that area is what leaves it room on \
         a disc of the same medium"
    )]
    NoDiscParity,
    /// A group shape outside GF(2^8).
    #[error(
        "--set-parity {parity} with groups of {members}: at most 256 discs in a group, at least one of each"
    )]
    Shape { members: u32, parity: u32 },
    /// A parity disc would not fit the medium.
    #[error(
        "group {group}: its parity discs would be {bytes} bytes, more than the medium's {capacity} \
         (raise --parity so that each disc keeps more room)"
    )]
    TooLarge {
        group: u32,
        bytes: u64,
        capacity: u64,
    },
    /// A member to fold has no intact image any more.
    #[error(
        "group {group}: disc {disc} is written but not folded into the set parity, and its image \
         {} is missing or not the one written (write it again, or give its image back)",
        path.display()
    )]
    MemberImage {
        group: u32,
        disc: u32,
        path: PathBuf,
    },
    /// The accumulator or its state cannot be trusted.
    #[error("set-parity accumulator {}: {reason}", path.display())]
    Accumulator { path: PathBuf, reason: String },
    /// A fold stopped on request (a test's crash).
    #[error("the fold was stopped")]
    Stopped,
    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The code or a parity file refused.
    #[error("{}: {source}", path.display())]
    Code {
        path: PathBuf,
        #[source]
        source: SetError,
    },
    /// The disc asked for is in no group.
    #[error(
        "{target} is no disc of a set-parity group{}",
        if *.catalogue {
            ""
        } else {
            " among the parity files given (without the catalogue, a group is known only \
             from its parity discs: a lost parity disc is rebuilt only when another parity \
             disc of its group is given)"
        }
    )]
    NotInGroup { target: String, catalogue: bool },
    /// A parity disc to rebuild without the catalogue, from parity files that do not record
    /// the parity discs' time stamp.
    #[error(
        "{label}: the parity files given do not record when the parity discs were made \
         (written by an older odarchive): rebuilding this parity disc needs the catalogue"
    )]
    NoParityTime { label: String },
    /// Fewer than K discs of the group are left.
    #[error(
        "group {group}: {target} cannot be rebuilt: {present} of the {needed} discs needed are \
         present; missing or damaged: {}",
        .missing.join(", ")
    )]
    TooFew {
        group: u32,
        target: String,
        needed: usize,
        present: usize,
        missing: Vec<String>,
    },
    /// A new plan would replace discs of a group between written ones.
    #[error(
        "group {group}: disc(s) {written} are written but disc(s) {unwritten} before them are \
         not; a new plan replaces every unwritten disc, and would leave the group with holes \
         its parity cannot be made for: write those discs first (odarchive write --discs …)"
    )]
    ReplanSplitsGroup {
        group: u32,
        written: String,
        unwritten: String,
    },
    /// The rebuilt image is not the one written.
    #[error("{label}: the rebuilt image's SHA-256 {got} is not the recorded {expected}")]
    NotProven {
        label: String,
        got: String,
        expected: String,
    },
}

/// Checks `--set-parity parity --set-group members` with `--parity percent` before a plan
/// is made.
pub fn check_options(percent: u8, parity: u32, members: u32) -> Result<()> {
    if percent == 0 {
        return Err(SetParityError::NoDiscParity.into());
    }
    if members == 0 || parity == 0 || members + parity > 256 {
        return Err(SetParityError::Shape { members, parity }.into());
    }
    Ok(())
}

/// Cuts the discs of a plan about to be stored (`plan`, its `discs` in number order) into
/// groups of `members` discs, each with `parity` parity discs: what
/// [`Catalogue::begin_plan`] records with the plan, numbered after `numbered_after`. A
/// group an interrupted write left open (`open`, both from [`settle_groups_before_plan`])
/// takes the plan's first discs until it has its members. Refused without disc parity, or when a parity disc would not fit the
/// plan's medium.
pub fn groups_of<'a>(
    plan: &PlanRecord,
    discs: &[DiscRecord],
    parity: u32,
    members: u32,
    label: &'a dyn Fn(u32, u32) -> String,
    set_id: &str,
    (open, numbered_after): (Option<&OpenGroup>, u32),
) -> Result<NewSetGroups<'a>> {
    check_options(plan.parity_percent, parity, members)?;
    let capacity = plan.capacity.saturating_sub(plan.margin);
    let fits = |group: u32, count: usize, columns: u64| -> Result<()> {
        let bytes = disc::parity_disc_size(set_id, group, count, parity, columns)?;
        if bytes > capacity {
            return Err(SetParityError::TooLarge {
                group,
                bytes,
                capacity,
            }
            .into());
        }
        Ok(())
    };
    let covered = |chunk: &[DiscRecord]| {
        chunk
            .iter()
            .map(|d| disc::planned_covered(d.image_size, plan.parity_percent))
            .max()
            .unwrap_or(0)
    };
    let mut rest = discs;
    let mut extend = None;
    if let Some(open) = open.filter(|o| discs.first().map(|d| d.number) == Some(o.written_last + 1))
    {
        let take = (open.last_disc - open.written_last) as usize;
        let (joining, after) = discs.split_at(take.min(discs.len()));
        let last = joining[joining.len() - 1].number;
        let count = (last - open.first_disc + 1) as usize;
        fits(open.number, count, covered(joining).max(open.columns))?;
        extend = Some((open.id, last));
        rest = after;
    }
    let mut ranges = Vec::new();
    for chunk in rest.chunks(members as usize) {
        let (first, last) = (chunk[0].number, chunk[chunk.len() - 1].number);
        // The parity disc's exact size, from the members' planned images; the new groups
        // are numbered after every group there is.
        let group = numbered_after + ranges.len() as u32 + 1;
        fits(group, chunk.len(), covered(chunk))?;
        ranges.push((first, last));
    }
    Ok(NewSetGroups {
        parity,
        members: ranges,
        extend,
        label,
    })
}

/// The set-parity shape of the plan about to be made, which a group left open may continue
/// into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextPlan {
    /// `--parity` of every disc, in percent.
    pub parity_percent: u8,
    /// The medium's capacity in bytes.
    pub capacity: u64,
    /// The margin kept free on each disc.
    pub margin: u64,
    /// Parity discs a group (`--set-parity`).
    pub parity: u32,
    /// Members a group (`--set-group`).
    pub members: u32,
}

/// A group whose first members are written and the rest are not (a write, or an `archive`,
/// stopped in the middle of it): the next plan's first discs complete it, when that plan has
/// the same medium, disc parity and group shape, rather than the group being closed early
/// and costing its parity discs again.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OpenGroup {
    /// Its row id.
    pub id: i64,
    /// Its number.
    pub number: u32,
    /// Its first member.
    pub first_disc: u32,
    /// Its last written member: the new plan's first disc must follow it.
    pub written_last: u32,
    /// The last member it may reach (its members: the smaller of what it had and
    /// `--set-group`).
    pub last_disc: u32,
    /// The largest number of covered sectors of its written members.
    pub columns: u64,
}

/// What [`settle_groups_before_plan`] did.
#[derive(Debug, Default)]
pub struct Settled {
    /// Groups closed at their written members, as (group number, first disc, last disc).
    pub closed: Vec<(u32, u32, u32)>,
    /// The group the new plan continues, if any (closed at its written members until the
    /// plan that extends it is stored, in the plan's transaction).
    pub open: Option<OpenGroup>,
    /// The largest number of the groups kept: the new plan's groups are numbered after it.
    pub numbered_after: u32,
}

/// Before a new plan replaces the unwritten discs: forgets the groups none of whose discs
/// is written (their numbers and labels are used again), and closes each group whose parity
/// discs are not all written at its written members, which must be its first ones (refused
/// otherwise, before anything changes). The parity already folded stays right: a member's
/// coefficient depends on its place in the group, not on the group's size.
///
/// When `next` (the new plan's set-parity shape) matches the shape of the group holding the
/// last written disc, with room left in it, that group is the [`Settled::open`] one: the new
/// plan's first discs complete it ([`groups_of`]), so an interrupted `archive` costs no
/// parity disc of its own.
pub fn settle_groups_before_plan(
    catalogue: &mut Catalogue,
    next: Option<&NextPlan>,
) -> Result<Settled> {
    let discs = catalogue.discs()?;
    let written_at = |n: u32| {
        discs
            .iter()
            .any(|d| d.number == n && d.state != crate::catalogue::DiscState::Planned)
    };
    let last_written = discs
        .iter()
        .filter(|d| d.state != crate::catalogue::DiscState::Planned)
        .map(|d| d.number)
        .max();
    let groups = catalogue.set_groups()?;
    let mut settlement = crate::catalogue::GroupSettlement::default();
    let mut settled = Settled::default();
    for g in groups {
        let parity = catalogue.set_parity_discs(g.id)?;
        let written: Vec<u32> = g.members().filter(|&n| written_at(n)).collect();
        if written.is_empty() && !parity.iter().any(|p| p.written) {
            settlement.dropped.push(g.id);
            continue;
        }
        settled.numbered_after = settled.numbered_after.max(g.number);
        if parity.iter().all(|p| p.written) {
            continue;
        }
        let Some(&last) = written.last() else {
            continue;
        };
        if written.len() == g.member_count() {
            continue;
        }
        if last - g.first_disc + 1 != written.len() as u32 {
            let list = |v: Vec<u32>| v.iter().map(u32::to_string).collect::<Vec<_>>().join(", ");
            return Err(SetParityError::ReplanSplitsGroup {
                group: g.number,
                written: list(written.clone()),
                unwritten: list(
                    (g.first_disc..last)
                        .filter(|n| !written.contains(n))
                        .collect(),
                ),
            }
            .into());
        }
        settlement.closed.push((g.id, last));
        let plan = catalogue.plan_record(g.plan_id)?;
        let continues = |next: &NextPlan| {
            let plan = plan.as_ref()?;
            let same = plan.parity_percent == next.parity_percent
                && plan.capacity == next.capacity
                && plan.margin == next.margin
                && g.parity == next.parity;
            let last_disc = g.last_disc.min(g.first_disc + next.members - 1);
            (same && Some(last) == last_written && last_disc > last).then(|| {
                let columns = discs
                    .iter()
                    .filter(|d| (g.first_disc..=last).contains(&d.number))
                    .map(|d| disc::planned_covered(d.image_size, plan.parity_percent))
                    .max()
                    .unwrap_or(0);
                OpenGroup {
                    id: g.id,
                    number: g.number,
                    first_disc: g.first_disc,
                    written_last: last,
                    last_disc,
                    columns,
                }
            })
        };
        match next.and_then(continues) {
            Some(open) => settled.open = Some(open),
            None => settled.closed.push((g.number, g.first_disc, last)),
        }
    }
    catalogue.settle_set_groups(&settlement)?;
    Ok(settled)
}

/// The accumulators' folder for images written to `out`.
pub fn accumulator_dir(out: &Path) -> PathBuf {
    out.join(ACCUMULATOR_DIR)
}

pub use disc::{WrittenParityDisc, fold_written};
