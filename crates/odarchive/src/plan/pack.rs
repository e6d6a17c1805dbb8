//! Packing items onto discs: cheap upper bounds while filling, the image crate's exact layout
//! to decide, look-ahead for items that still fit, and splitting to fill a disc.
//!
//! Pure: items and parameters in, discs out; no I/O.

use std::collections::{HashSet, VecDeque};

use super::layout::{PackParams, exact_size, exact_sizes, piece_path, with_parity};
use super::{Item, Piece};
use crate::disc;
use crate::error::{Error, Result};
use crate::hash::HashAlgorithm;
use crate::media::SECTOR;

/// Items after the head that are tried when the head does not fit.
const LOOK_AHEAD: usize = 1000;
/// Sectors added to each exact size for rounding that the per-item bounds do not see (path
/// tables, the checksum file, the jump over the anchor at sector 256).
const ROUND_SLACK: u64 = 8 * SECTOR;
/// A disc that would close with more free space than 1/`SPLIT_BELOW` of its capacity splits
/// the item that does not fit.
const SPLIT_BELOW: u64 = 100;

/// The discs of a plan, as packed: each disc's pieces and exact image size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PackedDisc {
    /// Disc number.
    pub number: u32,
    /// What it holds, in the order packed.
    pub pieces: Vec<Piece>,
    /// Exact image size.
    pub image_size: u64,
}

/// The bytes a file of `length` at `path` (under `/Data`) can add to a disc whose
/// directories are `dirs`, at most: its data, its file entry, its records in both views
/// and in the checksum file (lines of `hash`), and every directory it brings.
fn bound(path: &str, length: u64, dirs: &HashSet<String>, hash: HashAlgorithm) -> u64 {
    let record = |name: &str| 44 + 2 * name.len() as u64 + 255;
    let name = path.rsplit('/').next().unwrap_or(path);
    let mut cost = length.div_ceil(SECTOR) * SECTOR
        + SECTOR
        + record(name)
        + disc::sums_line_len(hash, path) as u64
        + 6;
    let mut at = path;
    while let Some(i) = at.rfind('/') {
        at = &at[..i];
        if dirs.contains(at) {
            break;
        }
        let dir_name = at.rsplit('/').next().unwrap_or(at);
        cost += 4 * SECTOR + record(dir_name) + 2 * (9 + dir_name.len() as u64);
    }
    cost
}

fn parent(path: &str) -> &str {
    path.rfind('/').map_or("", |i| &path[..i])
}

/// A disc being filled.
struct Open<'a> {
    items: &'a [Item],
    p: &'a PackParams,
    number: u32,
    pieces: Vec<Piece>,
    dirs: HashSet<String>,
    touched: HashSet<String>,
    /// An upper bound of the image size with `pieces`, without its parity area (see
    /// [`Open::fits`]).
    bound: u64,
}

impl Open<'_> {
    fn add(&mut self, piece: Piece, cost: u64) {
        let path = piece_path(&self.items[piece.item], &piece, self.p.capacity);
        let dir = parent(&path).to_owned();
        if self.touched.insert(dir.clone()) {
            self.bound += 2 * SECTOR;
        }
        let mut at = dir.as_str();
        while !at.is_empty() && self.dirs.insert(at.to_owned()) {
            at = parent(at);
        }
        self.pieces.push(piece);
        self.bound += cost;
    }

    fn measure(&mut self) -> Result<u64> {
        let (exact, parity) = exact_sizes(self.items, &self.pieces, self.p, self.number)?;
        self.touched.clear();
        self.bound = exact - parity + ROUND_SLACK;
        Ok(exact)
    }

    /// Whether `cost` more bytes surely fit, the parity they bring included.
    fn fits(&self, cost: u64) -> bool {
        with_parity(self.bound + cost, self.p.parity) <= self.p.capacity
    }

    /// About the data bytes that still fit (the parity's share of the room taken off).
    fn free(&self) -> u64 {
        let room = self
            .p
            .capacity
            .saturating_sub(with_parity(self.bound, self.p.parity));
        room * 100 / (100 + u64::from(self.p.parity))
    }

    fn cost(&self, item: usize, offset: u64, length: u64, part: u32) -> u64 {
        let piece = Piece {
            item,
            offset,
            length,
            part,
            parts: 0,
        };
        bound(
            &piece_path(&self.items[item], &piece, self.p.capacity),
            length,
            &self.dirs,
            self.p.hash,
        )
    }
}

/// What is left to place while packing: the items not yet (wholly) on a disc, in order, and
/// for every item the bytes already placed and the parts made so far.
struct Placing {
    queue: VecDeque<usize>,
    done: Vec<u64>,
    parts: Vec<u32>,
    /// Items `0..first_count` are the `--first` group.
    first_count: usize,
}

impl Placing {
    /// Whether items `a` and `b` are of the same group (`--first`, or the rest).
    fn same_group(&self, a: usize, b: usize) -> bool {
        (a < self.first_count) == (b < self.first_count)
    }
}

/// Packs `items` (in plan order; the first `first_count` are the `--first` group) onto discs.
pub fn pack(items: &[Item], first_count: usize, p: &PackParams) -> Result<Vec<PackedDisc>> {
    let mut placing = Placing {
        queue: (0..items.len()).collect(),
        done: items.iter().map(|i| i.written).collect(),
        parts: items.iter().map(|i| i.parts_written).collect(),
        first_count,
    };
    let mut discs = Vec::new();
    while !placing.queue.is_empty() {
        let number = p.first_number + discs.len() as u32;
        discs.push(pack_disc(items, p, number, &mut placing)?);
    }
    // Now that every item is placed, each part knows how many parts its content has.
    for d in &mut discs {
        for piece in &mut d.pieces {
            piece.parts = if piece.part == 0 {
                1
            } else {
                placing.parts[piece.item]
            };
        }
    }
    Ok(discs)
}

/// Fills disc `number` from what is left to place.
fn pack_disc(
    items: &[Item],
    p: &PackParams,
    number: u32,
    placing: &mut Placing,
) -> Result<PackedDisc> {
    let mut open = Open {
        items,
        p,
        number,
        pieces: Vec::new(),
        dirs: HashSet::new(),
        touched: HashSet::new(),
        bound: 0,
    };
    let empty = open.measure()?;
    if empty + 2 * SECTOR > p.capacity {
        let head = placing.queue[0];
        return Err(too_small(
            &open,
            head,
            placing.done[head],
            placing.parts[head],
        ));
    }
    fill(&mut open, placing)?;
    if open.pieces.is_empty() {
        // The bounds are coarse next to a small capacity: the exact layout decides.
        let head = placing.queue[0];
        if !exact_first_piece(&mut open, &mut placing.done, &mut placing.parts, head)? {
            return Err(too_small(
                &open,
                head,
                placing.done[head],
                placing.parts[head],
            ));
        }
        if placing.done[head] == items[head].size {
            placing.queue.pop_front();
        }
    }
    let image_size = trim_to_capacity(&mut open, placing)?;
    Ok(PackedDisc {
        number,
        pieces: open.pieces,
        image_size,
    })
}

/// Adds to `open` the head of the queue while it fits whole, then later items of its group
/// that fit, and last a part of the head when the disc would close well short of full.
fn fill(open: &mut Open<'_>, placing: &mut Placing) -> Result<()> {
    let (items, cap) = (open.items, open.p.capacity);
    while let Some(&head) = placing.queue.front() {
        let (offset, rest) = (placing.done[head], items[head].size - placing.done[head]);
        let whole_part = if offset == 0 {
            0
        } else {
            placing.parts[head] + 1
        };
        let cost = open.cost(head, offset, rest, whole_part);
        if !open.fits(cost) {
            open.measure()?;
        }
        if open.fits(cost) {
            placing.queue.pop_front();
            if whole_part > 0 {
                placing.parts[head] += 1;
            }
            placing.done[head] = items[head].size;
            open.add(piece(head, offset, rest, whole_part), cost);
            continue;
        }
        if look_ahead(open, placing, head) {
            continue;
        }
        // Split the head when the disc would otherwise close well short of full.
        let free = open.free();
        if open.pieces.is_empty() || free >= cap / SPLIT_BELOW {
            split_head(open, placing, head, free)?;
        }
        break;
    }
    Ok(())
}

/// Adds the later items of `head`'s group (within [`LOOK_AHEAD`]) that fit whole; whether
/// any did.
fn look_ahead(open: &mut Open<'_>, placing: &mut Placing, head: usize) -> bool {
    let items = open.items;
    let mut added = false;
    let mut i = 1;
    while i < placing.queue.len().min(LOOK_AHEAD) {
        let it = placing.queue[i];
        if !placing.same_group(it, head) {
            break;
        }
        let c = open.cost(it, 0, items[it].size, 0);
        if open.fits(c) && placing.done[it] == 0 {
            placing.queue.remove(i);
            placing.done[it] = items[it].size;
            open.add(piece(it, 0, items[it].size, 0), c);
            added = true;
        } else {
            i += 1;
        }
    }
    added
}

/// Adds a part of `head` that fills the `free` bytes the bounds leave, sized exactly.
fn split_head(open: &mut Open<'_>, placing: &mut Placing, head: usize, free: u64) -> Result<()> {
    let (items, cap) = (open.items, open.p.capacity);
    let (offset, rest) = (placing.done[head], items[head].size - placing.done[head]);
    let overhead = open.cost(head, offset, 0, placing.parts[head] + 1);
    if free <= overhead + SECTOR {
        return Ok(());
    }
    let length = ((free - overhead) / SECTOR * SECTOR).min(rest);
    placing.parts[head] += 1;
    placing.done[head] += length;
    open.add(piece(head, offset, length, placing.parts[head]), 0);
    grow_last(open, &mut placing.done, cap)?;
    let last = open.pieces.len() - 1;
    let p = open.pieces[last];
    if p.length == 0 {
        // Nothing of it fits after all.
        open.pieces.pop();
        placing.parts[head] -= 1;
    } else if p.offset == 0 && p.length == items[head].size {
        // It all fits after all: a whole content, not a part.
        open.pieces[last].part = 0;
        placing.parts[head] -= 1;
    }
    if placing.done[head] == items[head].size {
        placing.queue.pop_front();
    }
    Ok(())
}

/// The exact size decides: drops whole items from the end of `open` (back to the queue) while
/// the bounds were wrong; returns the image size.
fn trim_to_capacity(open: &mut Open<'_>, placing: &mut Placing) -> Result<u64> {
    let (cap, number) = (open.p.capacity, open.number);
    let mut image_size = open.measure()?;
    while image_size > cap {
        let last = open
            .pieces
            .pop()
            .ok_or_else(|| Error::Internal("an empty disc does not fit its capacity".into()))?;
        if last.part != 0 {
            return Err(Error::Internal(format!(
                "disc {number}: a part sized to fit is {} bytes over",
                image_size - cap
            )));
        }
        placing.done[last.item] = 0;
        placing.queue.push_front(last.item);
        image_size = open.measure()?;
    }
    if open.pieces.is_empty() {
        return Err(Error::Internal(format!(
            "disc {number}: the size bounds let nothing fit; please report this"
        )));
    }
    Ok(image_size)
}

fn piece(item: usize, offset: u64, length: u64, part: u32) -> Piece {
    Piece {
        item,
        offset,
        length,
        part,
        parts: 0,
    }
}

/// Puts on the empty disc `open` as much of `head` as its exact layout lets fit: all of what is
/// left of it, else a part filling the disc. `false` when not even one sector of it fits.
fn exact_first_piece(
    open: &mut Open<'_>,
    done: &mut [u64],
    parts: &mut [u32],
    head: usize,
) -> Result<bool> {
    let cap = open.p.capacity;
    let size = open.items[head].size;
    let (offset, rest) = (done[head], size - done[head]);
    let whole_part = if offset == 0 { 0 } else { parts[head] + 1 };
    open.add(piece(head, offset, rest, whole_part), 0);
    if open.measure()? <= cap {
        done[head] = size;
        parts[head] = parts[head].max(whole_part);
        return Ok(true);
    }
    open.pieces.clear();
    open.dirs.clear();
    if rest <= SECTOR {
        return Ok(false);
    }
    parts[head] += 1;
    done[head] += SECTOR;
    open.add(piece(head, offset, SECTOR, parts[head]), 0);
    if open.measure()? > cap {
        open.pieces.clear();
        open.dirs.clear();
        parts[head] -= 1;
        done[head] -= SECTOR;
        return Ok(false);
    }
    grow_last(open, done, cap)?;
    Ok(true)
}

/// The refusal of a capacity too small for anything of `head`, with the exact size of the
/// smallest disc that takes something of it: all of it, or its next sector as a part.
fn too_small(open: &Open<'_>, head: usize, offset: u64, parts: u32) -> Error {
    let (items, p, number) = (open.items, open.p, open.number);
    let rest = items[head].size - offset;
    let whole_part = if offset == 0 { 0 } else { parts + 1 };
    let whole = exact_size(items, &[piece(head, offset, rest, whole_part)], p, number);
    let sector = exact_size(
        items,
        &[piece(head, offset, rest.min(SECTOR), parts + 1)],
        p,
        number,
    );
    match (whole, sector) {
        (Ok(whole), Ok(sector)) => Error::CapacityTooSmall {
            capacity: p.capacity,
            needed: whole.min(sector),
        },
        (Err(e), _) | (_, Err(e)) => e,
    }
}

/// Makes the last piece (a part just split off) exactly fill the disc: shrink it when the
/// exact size is over, grow it into what the bounds left free.
fn grow_last(open: &mut Open<'_>, done: &mut [u64], cap: u64) -> Result<()> {
    // With parity the image grows by more than the bytes added: grow by a share of the room.
    let parity = u64::from(open.p.parity);
    let share = |room: u64| {
        if parity == 0 {
            room
        } else {
            room * 100 / (101 + parity) / SECTOR * SECTOR
        }
    };
    for _ in 0..8 {
        let exact = open.measure()?;
        let Some(last) = open.pieces.last_mut() else {
            return Ok(());
        };
        let size = open.items[last.item].size;
        if exact > cap {
            cut_last(last, done, exact - cap);
        } else {
            let more = share((cap - exact) / SECTOR * SECTOR).min(size - done[last.item]);
            if more == 0 {
                return Ok(());
            }
            last.length += more;
            done[last.item] += more;
        }
    }
    // Still over after those rounds (the parity's geometry moves in steps): cut until it fits.
    loop {
        let exact = open.measure()?;
        match open.pieces.last_mut() {
            Some(last) if exact > cap && last.length > 0 => cut_last(last, done, exact - cap),
            _ => return Ok(()),
        }
    }
}

/// Takes at least `over` bytes (whole sectors) off the end of piece `last`.
fn cut_last(last: &mut Piece, done: &mut [u64], over: u64) {
    let cut = over.div_ceil(SECTOR).max(1) * SECTOR;
    let cut = cut.min(last.length);
    last.length -= cut;
    done[last.item] -= cut;
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn item(i: usize, path: &str, size: u64) -> Item {
        Item {
            content_id: i as i64,
            hash: [i as u8; 32].into(),
            size,
            path: path.to_owned(),
            split_stem: None,
            entry_path: None,
            mtime_ns: 0,
            written: 0,
            parts_written: 0,
        }
    }

    fn params(capacity: u64) -> PackParams {
        PackParams {
            capacity,
            readme_size: 3000,
            catalogue: ("catalogue.json", 20_000),
            index_size: 0,
            first_number: 1,
            hash: HashAlgorithm::Sha256,
            parity: 0,
        }
    }

    /// Every item whole once, or in parts 1..=n that are contiguous and sum to its size.
    fn assert_complete(items: &[Item], discs: &[PackedDisc]) {
        let mut seen: Vec<Vec<&Piece>> = vec![Vec::new(); items.len()];
        for d in discs {
            for p in &d.pieces {
                seen[p.item].push(p);
            }
        }
        for (i, pieces) in seen.iter().enumerate() {
            if pieces.len() == 1 && pieces[0].part == 0 {
                assert_eq!(pieces[0].length, items[i].size);
                continue;
            }
            let mut offset = 0;
            for (k, p) in pieces.iter().enumerate() {
                assert_eq!(p.part as usize, k + 1);
                assert_eq!(p.parts as usize, pieces.len());
                assert_eq!(p.offset, offset);
                offset += p.length;
            }
            assert_eq!(offset, items[i].size, "item {i}");
        }
    }

    #[test]
    fn a_file_larger_than_a_disc_is_split_and_fills_each_disc() {
        let cap = 4_000_000 / SECTOR * SECTOR;
        let items = [item(0, "big", 10_000_000), item(1, "z/small", 10)];
        let discs = pack(&items, 0, &params(cap)).unwrap();
        assert_complete(&items, &discs);
        assert_eq!(discs.len(), 4);
        for d in &discs[..discs.len() - 1] {
            assert!(
                d.image_size <= cap && d.image_size + SECTOR > cap,
                "{}",
                d.image_size
            );
        }
    }

    #[test]
    fn look_ahead_fills_a_disc_with_later_small_files() {
        let cap = 2_000_000 / SECTOR * SECTOR;
        let items = [
            item(0, "a/1", 900_000),
            item(1, "a/2", 1_000_000),
            item(2, "b/3", 50_000),
        ];
        let discs = pack(&items, 0, &params(cap)).unwrap();
        // a/2 does not fit after a/1 (the disc would be under 99 % full, so it is split)...
        assert_complete(&items, &discs);
        assert!(discs[0].pieces.iter().any(|p| p.item == 0));
    }

    #[test]
    fn the_first_group_is_not_mixed_with_the_rest_by_look_ahead() {
        let cap = 1_500_000 / SECTOR * SECTOR;
        let items = [
            item(0, "first/1", 700_000),
            item(1, "first/2", 700_000),
            item(2, "rest/3", 1_000),
        ];
        let discs = pack(&items, 2, &params(cap)).unwrap();
        let disc_of = |i: usize| {
            discs
                .iter()
                .find(|d| d.pieces.iter().any(|p| p.item == i))
                .unwrap()
                .number
        };
        let last_first = disc_of(0).max(disc_of(1));
        assert!(disc_of(2) >= last_first);
    }

    #[test]
    fn a_capacity_below_the_metadata_is_refused() {
        let items = [item(0, "a", 1)];
        assert!(matches!(
            pack(&items, 0, &params(400 * SECTOR)),
            Err(Error::CapacityTooSmall { .. })
        ));
    }

    #[test]
    fn the_figure_of_a_refusal_is_the_smallest_capacity_that_works() {
        for items in [vec![item(0, "a", 1)], vec![item(0, "dir/big", 3_000_000)]] {
            let Err(Error::CapacityTooSmall { needed, .. }) = pack(&items, 0, &params(0)) else {
                panic!("a capacity of 0 is refused");
            };
            assert_eq!(needed % SECTOR, 0);
            let discs = pack(&items, 0, &params(needed)).unwrap();
            assert!(discs.iter().all(|d| d.image_size <= needed));
            assert_eq!(discs[0].image_size, needed);
            assert!(matches!(
                pack(&items, 0, &params(needed - SECTOR)),
                Err(Error::CapacityTooSmall { needed: n, .. }) if n == needed
            ));
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 40, ..ProptestConfig::default() })]

        #[test]
        fn packs_are_exact_complete_and_deterministic(
            sizes in prop::collection::vec(0u64..3_000_000, 1..30),
            folders in prop::collection::vec(0usize..4, 30),
            cap_kib in 1_200u64..4_000,
        ) {
            let cap = cap_kib * 1024 / SECTOR * SECTOR;
            let items: Vec<Item> = sizes
                .iter()
                .enumerate()
                .map(|(i, &s)| item(i, &format!("d{}/f{i:02}", folders[i]), s))
                .collect();
            let p = params(cap);
            let discs = pack(&items, 0, &p).unwrap();
            assert_complete(&items, &discs);
            for d in &discs {
                prop_assert!(d.image_size <= cap);
                prop_assert_eq!(exact_size(&items, &d.pieces, &p, d.number).unwrap(), d.image_size);
            }
            prop_assert_eq!(pack(&items, 0, &p).unwrap(), discs);
        }
    }
}
