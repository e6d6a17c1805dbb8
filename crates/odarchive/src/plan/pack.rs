//! Packing items onto discs: cheap upper bounds while filling, the image crate's exact layout
//! to decide, look-ahead for items that still fit, and splitting to fill a disc.
//!
//! Pure: items and parameters in, discs out; no I/O. [`Packer`] takes its items from an
//! iterator and holds only a window of them (the look-ahead and the disc being filled), so
//! that a plan of any size packs in bounded memory; [`pack()`] packs a slice.

use std::collections::{HashSet, VecDeque};
use std::ops::{Index, IndexMut};

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
    /// What it holds, in the order packed. From a [`Packer`], the parts of a content not yet
    /// complete when the disc closes have `parts` 0: see [`Packer::take_splits`].
    pub pieces: Vec<Piece>,
    /// Exact image size.
    pub image_size: u64,
}

/// Values by the index of their item in plan order, held from the oldest still needed to
/// the newest read (see [`Packer`]).
#[derive(Debug)]
pub struct Window<T> {
    base: usize,
    values: VecDeque<T>,
}

impl<T> Default for Window<T> {
    fn default() -> Self {
        Window {
            base: 0,
            values: VecDeque::new(),
        }
    }
}

impl<T> Window<T> {
    fn push(&mut self, value: T) -> usize {
        self.values.push_back(value);
        self.base + self.values.len() - 1
    }

    /// Forgets the values before index `keep`.
    fn drop_before(&mut self, keep: usize) {
        while self.base < keep && self.values.pop_front().is_some() {
            self.base += 1;
        }
    }

    /// How many values it holds.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl<T> Index<usize> for Window<T> {
    type Output = T;
    fn index(&self, i: usize) -> &T {
        &self.values[i - self.base]
    }
}

impl<T> IndexMut<usize> for Window<T> {
    fn index_mut(&mut self, i: usize) -> &mut T {
        &mut self.values[i - self.base]
    }
}

/// A content this plan split, complete: its last part is on a disc packed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Split {
    /// Index of the item in plan order.
    pub item: usize,
    /// The content row.
    pub content_id: i64,
    /// Its number of parts, those on written discs included.
    pub parts: u32,
    /// Whether its first parts are on written discs (the plan continues it).
    pub continued: bool,
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
    fn add(&mut self, items: &Window<Item>, piece: Piece, cost: u64) {
        let path = piece_path(&items[piece.item], &piece, self.p.capacity);
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

    fn measure(&mut self, items: &Window<Item>) -> Result<u64> {
        let (exact, parity) = exact_sizes(items, &self.pieces, self.p, self.number)?;
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

    fn cost(&self, items: &Window<Item>, item: usize, offset: u64, length: u64, part: u32) -> u64 {
        let piece = Piece {
            item,
            offset,
            length,
            part,
            parts: 0,
        };
        bound(
            &piece_path(&items[item], &piece, self.p.capacity),
            length,
            &self.dirs,
            self.p.hash,
        )
    }
}

/// What is left to place while packing: the items not yet (wholly) on a disc, in order, and
/// for every item held the bytes already placed and the parts made so far. Items are read
/// from the source as the queue needs them.
struct Placing<S> {
    source: S,
    exhausted: bool,
    items: Window<Item>,
    queue: VecDeque<usize>,
    done: Window<u64>,
    parts: Window<u32>,
    /// Items `0..first_count` are the `--first` group.
    first_count: usize,
}

impl<S: Iterator<Item = Result<Item>>> Placing<S> {
    /// Whether items `a` and `b` are of the same group (`--first`, or the rest).
    fn same_group(&self, a: usize, b: usize) -> bool {
        (a < self.first_count) == (b < self.first_count)
    }

    /// Reads items until the queue holds `n`, or the source ends: the queue then looks as
    /// it would with every item read at the start.
    fn ensure(&mut self, n: usize) -> Result<()> {
        while self.queue.len() < n && !self.exhausted {
            match self.source.next() {
                Some(item) => {
                    let item = item?;
                    self.done.push(item.written);
                    self.parts.push(item.parts_written);
                    let i = self.items.push(item);
                    self.queue.push_back(i);
                }
                None => self.exhausted = true,
            }
        }
        Ok(())
    }
}

/// Packs items onto discs one disc at a time, reading them from an iterator in plan order
/// (the first `first_count` are the `--first` group) and holding only those it still needs:
/// the queue's look-ahead and what the last disc holds.
pub struct Packer<'a, S> {
    p: &'a PackParams,
    placing: Placing<S>,
    packed: u32,
    splits: Vec<Split>,
}

impl<S> std::fmt::Debug for Packer<'_, S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Packer")
            .field("packed", &self.packed)
            .field("held", &self.placing.items.len())
            .field("queued", &self.placing.queue.len())
            .finish()
    }
}

impl<'a, S: Iterator<Item = Result<Item>>> Packer<'a, S> {
    /// A packer of the items of `source`.
    pub fn new(source: S, first_count: usize, p: &'a PackParams) -> Self {
        Packer {
            p,
            placing: Placing {
                source,
                exhausted: false,
                items: Window::default(),
                queue: VecDeque::new(),
                done: Window::default(),
                parts: Window::default(),
                first_count,
            },
            packed: 0,
            splits: Vec::new(),
        }
    }

    /// The next disc, or `None` once every item is placed. Its pieces' items are in
    /// [`Packer::items`] until the next call.
    pub fn next_disc(&mut self) -> Result<Option<PackedDisc>> {
        let placing = &mut self.placing;
        // What the discs before hold is no longer needed, but for the items still queued.
        let keep = placing
            .queue
            .iter()
            .copied()
            .min()
            .unwrap_or(placing.items.base + placing.items.len());
        placing.items.drop_before(keep);
        placing.done.drop_before(keep);
        placing.parts.drop_before(keep);
        placing.ensure(1)?;
        if placing.queue.is_empty() {
            return Ok(None);
        }
        let number = self.p.first_number + self.packed;
        let mut disc = pack_disc(self.p, number, placing)?;
        self.packed += 1;
        for piece in &mut disc.pieces {
            let i = piece.item;
            piece.parts = if piece.part == 0 {
                1
            } else if placing.done[i] == placing.items[i].size {
                let item = &placing.items[i];
                self.splits.push(Split {
                    item: i,
                    content_id: item.content_id,
                    parts: placing.parts[i],
                    continued: item.parts_written > 0,
                });
                placing.parts[i]
            } else {
                0
            };
        }
        Ok(Some(disc))
    }

    /// The items of the last disc returned, by their index in plan order.
    pub fn items(&self) -> &Window<Item> {
        &self.placing.items
    }

    /// The contents split and completed since the last call, with their number of parts:
    /// the parts on earlier discs were returned with `parts` 0.
    pub fn take_splits(&mut self) -> Vec<Split> {
        std::mem::take(&mut self.splits)
    }

    /// How many items it read.
    pub fn items_read(&self) -> usize {
        self.placing.items.base + self.placing.items.len()
    }
}

/// Packs `items` (in plan order; the first `first_count` are the `--first` group) onto discs.
pub fn pack(items: &[Item], first_count: usize, p: &PackParams) -> Result<Vec<PackedDisc>> {
    let mut packer = Packer::new(items.iter().cloned().map(Ok), first_count, p);
    let mut discs = Vec::new();
    while let Some(d) = packer.next_disc()? {
        discs.push(d);
    }
    // Now that every item is placed, each part knows how many parts its content has.
    let mut parts = std::collections::HashMap::new();
    for s in packer.take_splits() {
        parts.insert(s.item, s.parts);
    }
    for d in &mut discs {
        for piece in &mut d.pieces {
            if let Some(&n) = parts.get(&piece.item) {
                piece.parts = n;
            }
        }
    }
    Ok(discs)
}

/// Fills disc `number` from what is left to place.
fn pack_disc<S: Iterator<Item = Result<Item>>>(
    p: &PackParams,
    number: u32,
    placing: &mut Placing<S>,
) -> Result<PackedDisc> {
    let mut open = Open {
        p,
        number,
        pieces: Vec::new(),
        dirs: HashSet::new(),
        touched: HashSet::new(),
        bound: 0,
    };
    let empty = open.measure(&placing.items)?;
    if empty + 2 * SECTOR > p.capacity {
        let head = placing.queue[0];
        return Err(too_small(
            &open,
            &placing.items,
            head,
            placing.done[head],
            placing.parts[head],
        ));
    }
    fill(&mut open, placing)?;
    if open.pieces.is_empty() {
        // The bounds are coarse next to a small capacity: the exact layout decides.
        let head = placing.queue[0];
        if !exact_first_piece(
            &mut open,
            &placing.items,
            &mut placing.done,
            &mut placing.parts,
            head,
        )? {
            return Err(too_small(
                &open,
                &placing.items,
                head,
                placing.done[head],
                placing.parts[head],
            ));
        }
        if placing.done[head] == placing.items[head].size {
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
fn fill<S: Iterator<Item = Result<Item>>>(
    open: &mut Open<'_>,
    placing: &mut Placing<S>,
) -> Result<()> {
    let cap = open.p.capacity;
    loop {
        placing.ensure(1)?;
        let Some(&head) = placing.queue.front() else {
            break;
        };
        let size = placing.items[head].size;
        let (offset, rest) = (placing.done[head], size - placing.done[head]);
        let whole_part = if offset == 0 {
            0
        } else {
            placing.parts[head] + 1
        };
        let cost = open.cost(&placing.items, head, offset, rest, whole_part);
        if !open.fits(cost) {
            open.measure(&placing.items)?;
        }
        if open.fits(cost) {
            placing.queue.pop_front();
            if whole_part > 0 {
                placing.parts[head] += 1;
            }
            placing.done[head] = size;
            open.add(&placing.items, piece(head, offset, rest, whole_part), cost);
            continue;
        }
        if look_ahead(open, placing, head)? {
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
fn look_ahead<S: Iterator<Item = Result<Item>>>(
    open: &mut Open<'_>,
    placing: &mut Placing<S>,
    head: usize,
) -> Result<bool> {
    let mut added = false;
    let mut i = 1;
    loop {
        placing.ensure(LOOK_AHEAD)?;
        if i >= placing.queue.len().min(LOOK_AHEAD) {
            break;
        }
        let it = placing.queue[i];
        if !placing.same_group(it, head) {
            break;
        }
        let size = placing.items[it].size;
        let c = open.cost(&placing.items, it, 0, size, 0);
        if open.fits(c) && placing.done[it] == 0 {
            placing.queue.remove(i);
            placing.done[it] = size;
            open.add(&placing.items, piece(it, 0, size, 0), c);
            added = true;
        } else {
            i += 1;
        }
    }
    Ok(added)
}

/// Adds a part of `head` that fills the `free` bytes the bounds leave, sized exactly.
fn split_head<S: Iterator<Item = Result<Item>>>(
    open: &mut Open<'_>,
    placing: &mut Placing<S>,
    head: usize,
    free: u64,
) -> Result<()> {
    let cap = open.p.capacity;
    let size = placing.items[head].size;
    let (offset, rest) = (placing.done[head], size - placing.done[head]);
    let overhead = open.cost(&placing.items, head, offset, 0, placing.parts[head] + 1);
    if free <= overhead + SECTOR {
        return Ok(());
    }
    let length = ((free - overhead) / SECTOR * SECTOR).min(rest);
    placing.parts[head] += 1;
    placing.done[head] += length;
    open.add(
        &placing.items,
        piece(head, offset, length, placing.parts[head]),
        0,
    );
    grow_last(open, &placing.items, &mut placing.done, cap)?;
    let last = open.pieces.len() - 1;
    let p = open.pieces[last];
    if p.length == 0 {
        // Nothing of it fits after all.
        open.pieces.pop();
        placing.parts[head] -= 1;
    } else if p.offset == 0 && p.length == size {
        // It all fits after all: a whole content, not a part.
        open.pieces[last].part = 0;
        placing.parts[head] -= 1;
    }
    if placing.done[head] == size {
        placing.queue.pop_front();
    }
    Ok(())
}

/// The exact size decides: drops whole items from the end of `open` (back to the queue) while
/// the bounds were wrong; returns the image size.
fn trim_to_capacity<S: Iterator<Item = Result<Item>>>(
    open: &mut Open<'_>,
    placing: &mut Placing<S>,
) -> Result<u64> {
    let (cap, number) = (open.p.capacity, open.number);
    let mut image_size = open.measure(&placing.items)?;
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
        image_size = open.measure(&placing.items)?;
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
    items: &Window<Item>,
    done: &mut Window<u64>,
    parts: &mut Window<u32>,
    head: usize,
) -> Result<bool> {
    let cap = open.p.capacity;
    let size = items[head].size;
    let (offset, rest) = (done[head], size - done[head]);
    let whole_part = if offset == 0 { 0 } else { parts[head] + 1 };
    open.add(items, piece(head, offset, rest, whole_part), 0);
    if open.measure(items)? <= cap {
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
    open.add(items, piece(head, offset, SECTOR, parts[head]), 0);
    if open.measure(items)? > cap {
        open.pieces.clear();
        open.dirs.clear();
        parts[head] -= 1;
        done[head] -= SECTOR;
        return Ok(false);
    }
    grow_last(open, items, done, cap)?;
    Ok(true)
}

/// The refusal of a capacity too small for anything of `head`, with the exact size of the
/// smallest disc that takes something of it: all of it, or its next sector as a part.
fn too_small(open: &Open<'_>, items: &Window<Item>, head: usize, offset: u64, parts: u32) -> Error {
    let (p, number) = (open.p, open.number);
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
fn grow_last(
    open: &mut Open<'_>,
    items: &Window<Item>,
    done: &mut Window<u64>,
    cap: u64,
) -> Result<()> {
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
        let exact = open.measure(items)?;
        let Some(last) = open.pieces.last_mut() else {
            return Ok(());
        };
        let size = items[last.item].size;
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
        let exact = open.measure(items)?;
        match open.pieces.last_mut() {
            Some(last) if exact > cap && last.length > 0 => cut_last(last, done, exact - cap),
            _ => return Ok(()),
        }
    }
}

/// Takes at least `over` bytes (whole sectors) off the end of piece `last`.
fn cut_last(last: &mut Piece, done: &mut Window<u64>, over: u64) {
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

    /// Packs `items` with a [`Packer`] that reads them all before packing (`eager`), as
    /// packing a whole list did, or as it needs them; the discs, with their final parts, and
    /// the most items held after a disc.
    fn packed_with(items: &[Item], p: &PackParams, eager: bool) -> (Vec<PackedDisc>, usize) {
        let mut packer = Packer::new(items.iter().cloned().map(Ok), 0, p);
        if eager {
            packer.placing.ensure(usize::MAX).unwrap();
        }
        let (mut discs, mut held) = (Vec::new(), 0);
        while let Some(d) = packer.next_disc().unwrap() {
            held = held.max(packer.items().len());
            discs.push(d);
        }
        for s in packer.take_splits() {
            for d in &mut discs {
                for piece in d.pieces.iter_mut().filter(|pc| pc.item == s.item) {
                    piece.parts = s.parts;
                }
            }
        }
        (discs, held)
    }

    /// Small files in folders of 100, with a large one every 300 that does not fit where it
    /// comes, so that look-ahead reaches far.
    fn many_items(n: usize) -> Vec<Item> {
        (0..n)
            .map(|i| {
                let size = if i % 300 == 299 {
                    900_000
                } else {
                    2_000 + (i as u64 * 7919) % 30_000
                };
                item(i, &format!("d{:03}/f{i:05}", i / 100), size)
            })
            .collect()
    }

    #[test]
    fn a_packer_holds_its_look_ahead_and_the_last_discs_not_every_item() {
        let items = many_items(20_000);
        let p = params(6_000_000 / SECTOR * SECTOR);
        let (discs, held) = packed_with(&items, &p, false);
        assert_complete(&items, &discs);
        let most = discs.iter().map(|d| d.pieces.len()).max().unwrap();
        assert!(discs.len() > 20, "{} discs", discs.len());
        assert!(
            held <= LOOK_AHEAD + 2 * most + 1,
            "held {held} items of {} ({most} at most on a disc)",
            items.len()
        );
    }

    #[test]
    fn reading_items_as_needed_packs_as_reading_them_all_first() {
        for (n, cap) in [(3_000, 3_000_000), (5_000, 20_000_000), (2_500, 1_000_000)] {
            let items = many_items(n);
            let p = params(cap / SECTOR * SECTOR);
            let (streamed, _) = packed_with(&items, &p, false);
            let (eager, _) = packed_with(&items, &p, true);
            assert_complete(&items, &streamed);
            assert_eq!(streamed, eager, "{n} items on discs of {cap}");
            assert_eq!(pack(&items, 0, &p).unwrap(), eager);
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
