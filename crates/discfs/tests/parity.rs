//! Protected images: the parity file in both views, and repair of damage injected into the
//! image (zeroed runs, flipped sectors, a lost end, damaged header copies), compared by
//! SHA-256 with the image as written.

use std::cell::RefCell;
use std::io::{Cursor, Read, Seek, SeekFrom};
use std::ops::Range;
use std::sync::Arc;

use discfs::parity::{
    BadSectors, Header, ParityError, Rebuilt, RepairReport, SYSTEM_AREA_COPY, SectorRebuilder,
    header_at, rebuild_sectors, repair,
};
use discfs::{FileSource, Layout, NodeId, SECTOR, Timestamp, Tree, TreeBuilder, VolumeInfo};
use proptest::prelude::*;
use sha2::{Digest, Sha256};
use testkit::noise;

const S: usize = SECTOR as usize;

fn protected_tree(sizes: &[usize], percent: u8) -> Tree {
    let t = Timestamp::new(1_767_225_600, 0);
    let mut b = TreeBuilder::new(t);
    let data = b.dir(NodeId::ROOT, "Data", t).unwrap();
    for (i, &size) in sizes.iter().enumerate() {
        let bytes: Arc<[u8]> = Arc::from(noise(i as u64 + 1, size));
        b.file(
            data,
            &format!("file{i}.bin"),
            t,
            size as u64,
            FileSource::Bytes(bytes),
        )
        .unwrap();
    }
    let parity = b.dir(NodeId::ROOT, "Parity", t).unwrap();
    b.parity_file(parity, "PARITY.ODP", t, percent).unwrap();
    b.build().unwrap()
}

fn protected_image(sizes: &[usize], percent: u8) -> (Vec<u8>, Layout, Tree) {
    let mut tree = protected_tree(sizes, percent);
    let layout = discfs::layout_with_parity(&mut tree, &VolumeInfo::default()).unwrap();
    let mut image = Vec::new();
    let mut spill = Cursor::new(Vec::new());
    let n = discfs::write_protected_image(&tree, &layout, &mut image, &mut spill, &mut ()).unwrap();
    assert_eq!(n, layout.image_size());
    assert_eq!(image.len() as u64, layout.image_size());
    (image, layout, tree)
}

fn sha(bytes: &[u8]) -> [u8; 32] {
    Sha256::digest(bytes).into()
}

fn repaired(image: &[u8], bad: &BadSectors) -> (Vec<u8>, RepairReport) {
    let mut out = Cursor::new(Vec::new());
    let report = repair(Cursor::new(image), bad, &mut out).unwrap();
    (out.into_inner(), report)
}

fn zero(image: &mut [u8], sectors: Range<u64>) {
    image[sectors.start as usize * S..sectors.end as usize * S].fill(0);
}

/// A small image (one window) of about 1,700 sectors and its header.
fn small() -> (Vec<u8>, Header) {
    let (image, layout, _) = protected_image(&[1_000_000, 2_000_000, 300_000, 5], 10);
    let header = *layout.parity().unwrap();
    assert_eq!(header.geometry.windows, 1);
    (image, header)
}

#[test]
fn the_parity_file_is_last_in_both_views_and_the_image_is_reproducible() {
    let (image, layout, tree) = protected_image(&[70_000, 5_000], 10);
    let (again, _, _) = protected_image(&[70_000, 5_000], 10);
    assert_eq!(sha(&image), sha(&again), "same input, same bytes");
    let header = *layout.parity().unwrap();
    assert_eq!(header.image_sectors, u64::from(layout.sectors()));
    let node = tree.parity_files().next().unwrap().0;
    let (start, len) = layout.file_extent(&tree, node);
    assert_eq!(
        (u64::from(start), len),
        (header.parity_start, header.parity_sectors() * SECTOR)
    );
    for f in tree.files_depth_first().filter(|&f| f != node) {
        let (s, l) = layout.file_extent(&tree, f);
        assert!(
            u64::from(s) * SECTOR + l <= u64::from(start) * SECTOR,
            "data before parity"
        );
    }
    let area = &image[start as usize * S..start as usize * S + len as usize];
    let mut udf = discfs::udf::read::UdfVolume::open(Cursor::new(&image[..])).unwrap();
    let mut seen = Vec::new();
    let entry = udf.lookup("Parity/PARITY.ODP").unwrap();
    udf.copy_to(&entry, &mut seen).unwrap();
    assert_eq!(sha(&seen), sha(area));
    let mut iso = discfs::iso9660::IsoImage::open(Cursor::new(&image[..])).unwrap();
    let entry = iso.lookup("PARITY/PARITY.ODP").unwrap();
    let mut seen = Vec::new();
    iso.copy_to(&entry, &mut seen).unwrap();
    assert_eq!(sha(&seen), sha(area));
    assert_eq!(
        &image[SYSTEM_AREA_COPY as usize * S..][..S],
        &header.to_bytes()[..]
    );
}

#[test]
fn an_undamaged_image_repairs_to_itself() {
    let (image, header) = small();
    let (out, report) = repaired(&image, &BadSectors::new());
    assert_eq!(sha(&out), sha(&image));
    assert_eq!(
        (report.rebuilt, report.corrupt, report.unreadable),
        (0, 0, 0)
    );
    assert_eq!(report.header, header);
    assert_eq!(report.header_sector, SYSTEM_AREA_COPY);
}

#[test]
fn one_long_scratch_up_to_the_budget_is_rebuilt() {
    let (image, header) = small();
    let run = header.geometry.longest_run();
    let mut damaged = image.clone();
    zero(&mut damaged, 300..300 + run);
    let (out, report) = repaired(&damaged, &BadSectors::new());
    assert!(report.is_complete(), "{report:?}");
    assert!(
        report.corrupt > run / 2,
        "zeroed sectors found by their CRC: {report:?}"
    );
    assert_eq!(sha(&out), sha(&image));

    // The same run known bad (a read error) instead of zeroed.
    let mut bad = BadSectors::new();
    bad.insert(300..300 + run);
    let (out, report) = repaired(&image, &bad);
    assert_eq!(report.unreadable, run);
    assert_eq!(sha(&out), sha(&image));
}

#[test]
fn many_short_scratches_are_rebuilt() {
    let (image, header) = small();
    let mut damaged = image.clone();
    // m scratches of S sectors each: every stripe loses exactly its m parity shards' worth.
    let g = header.geometry;
    for i in 0..g.parity_shards {
        let at = 20 + i * (3 * g.stripes + 7);
        assert!(at + g.stripes < header.parity_start);
        zero(&mut damaged, at..at + g.stripes);
    }
    let (out, report) = repaired(&damaged, &BadSectors::new());
    assert!(report.is_complete() && report.rebuilt > 0, "{report:?}");
    assert_eq!(sha(&out), sha(&image));
}

#[test]
fn random_flipped_sectors_are_found_by_their_crc() {
    let (image, header) = small();
    let mut damaged = image.clone();
    let picks = noise(99, 40);
    let mut flipped = std::collections::BTreeSet::new();
    for pair in picks.chunks(2) {
        let sector = (u64::from(pair[0]) << 8 | u64::from(pair[1])) % header.parity_start;
        if sector != SYSTEM_AREA_COPY && flipped.insert(sector) {
            damaged[sector as usize * S + usize::from(pair[1]) * 7] ^= 0x40;
        }
    }
    let (out, report) = repaired(&damaged, &BadSectors::new());
    assert_eq!(report.corrupt, flipped.len() as u64);
    assert!(report.is_complete());
    assert_eq!(sha(&out), sha(&image));
}

#[test]
fn a_missing_range_at_the_end_is_rebuilt() {
    let (image, header) = small();
    let tail = header.image_sectors - header.parity_end();
    let keep = (header.image_sectors - tail - 40) as usize * S;
    let (out, report) = repaired(&image[..keep], &BadSectors::new());
    assert!(report.is_complete(), "{report:?}");
    assert!(report.unreadable > tail, "{report:?}");
    assert!(report.rebuilt > tail, "{report:?}");
    assert_eq!(sha(&out), sha(&image));
}

#[test]
fn beyond_the_budget_the_exact_lost_ranges_are_reported() {
    let (image, header) = small();
    let g = header.geometry;
    let lost = 200..200 + (g.parity_shards + 1) * g.stripes;
    let mut bad = BadSectors::new();
    bad.insert(lost.clone());
    let (out, report) = repaired(&image, &bad);
    assert_eq!(report.unrecoverable, vec![lost.clone()]);
    let mut expected = image.clone();
    zero(&mut expected, lost);
    assert_eq!(sha(&out), sha(&expected), "everything else as written");
}

#[test]
fn a_damaged_header_copy_is_passed_over() {
    let (image, header) = small();
    let mut damaged = image.clone();
    damaged[SYSTEM_AREA_COPY as usize * S + 30] ^= 1;
    let (out, report) = repaired(&damaged, &BadSectors::new());
    assert_eq!(report.header_sector, header.parity_end() - 1);
    assert_eq!(sha(&out), sha(&image), "the system-area copy rewritten");

    zero(&mut damaged, header.parity_end() - 1..header.parity_end());
    let (out, report) = repaired(&damaged, &BadSectors::new());
    assert_eq!(report.header_sector, header.parity_start);
    assert_eq!(sha(&out), sha(&image));

    zero(&mut damaged, header.parity_start..header.parity_start + 1);
    let err = repair(
        Cursor::new(&damaged),
        &BadSectors::new(),
        Cursor::new(Vec::new()),
    );
    assert!(matches!(err, Err(ParityError::NoHeader)), "{err:?}");
}

#[test]
fn a_scratch_across_two_windows_is_rebuilt() {
    let (image, layout, _) = protected_image(&[40 << 20, 30 << 20], 5);
    let header = *layout.parity().unwrap();
    let g = header.geometry;
    assert!(g.windows >= 2, "{g:?}");
    let boundary = g.window_sectors();
    let mut damaged = image.clone();
    zero(
        &mut damaged,
        boundary - g.longest_run() / 2..boundary + g.longest_run() / 2,
    );
    zero(
        &mut damaged,
        header.parity_start + 10..header.parity_start + 500,
    );
    let (out, report) = repaired(&damaged, &BadSectors::new());
    assert!(report.is_complete(), "{report:?}");
    let diff: Vec<usize> = (0..image.len() / S)
        .filter(|&i| out[i * S..(i + 1) * S] != image[i * S..(i + 1) * S])
        .collect();
    assert!(
        diff.is_empty(),
        "{header:?} {report:?} {:?}",
        &diff[..diff.len().min(20)]
    );
    assert_eq!(sha(&out), sha(&image));
}

/// Zeroes both copies of every CRC sector of window 0 of `header`'s image.
fn zero_crcs(image: &mut [u8], header: &Header) {
    let g = header.geometry;
    for first in [g.block_at(0), g.crc_copy_at(0)] {
        let at = header.parity_start + first;
        zero(image, at..at + g.crc_sectors());
    }
}

#[test]
fn lost_crcs_alone_are_proven_by_the_code_and_rebuilt() {
    let (image, header) = small();
    let mut damaged = image.clone();
    zero_crcs(&mut damaged, &header);
    // A scratch too, within what the code rebuilds with a shard to spare.
    zero(&mut damaged, 400..400 + header.geometry.stripes);
    let (out, report) = repaired(&damaged, &BadSectors::new());
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(sha(&out), sha(&image));
}

#[test]
fn a_window_whose_crcs_are_lost_is_searched_in_bounded_decodings() {
    // Ten zeroed sectors in every stripe, more than its parity: no set of them left out
    // proves the stripe, and each stripe alone could try 256 sets (7,936 decodings for these 31 stripes).
    // The window's search stops at 1,024 decodings (found by the identify fuzz target).
    let (image, header) = small();
    let stripes = header.geometry.stripes;
    assert!(header.geometry.parity_shards < 10, "{header:?}");
    let mut damaged = image.clone();
    zero_crcs(&mut damaged, &header);
    zero(&mut damaged, 400..400 + 10 * stripes);
    let (_, report) = repaired(&damaged, &BadSectors::new());
    assert!(
        report.decodings <= 1024 + stripes,
        "{} decodings for {stripes} stripes",
        report.decodings
    );
    let unverified: BadSectors = report.unverified.iter().cloned().collect();
    assert!(
        (400..400 + 10 * stripes).all(|s| unverified.contains(s)),
        "{report:?}"
    );
    assert!(report.unrecoverable.is_empty(), "{report:?}");
}

#[test]
fn a_lost_parity_file_leaves_the_image_as_written_but_unverified() {
    // Nothing can confirm the data now, but it is kept as read and the parity computed from
    // it again: the image is the one written, which only a SHA-256 of it can tell.
    let (image, header) = small();
    let mut damaged = image.clone();
    zero(
        &mut damaged,
        header.parity_start + 1..header.parity_end() - 1,
    );
    let (out, report) = repaired(&damaged, &BadSectors::new());
    assert!(!report.is_complete(), "{report:?}");
    assert!(report.unrecoverable.is_empty(), "{report:?}");
    assert!(!report.unverified.is_empty(), "{report:?}");
    assert_eq!(sha(&out), sha(&image));
}

#[test]
fn sectors_whose_crcs_are_lost_are_never_taken_as_good() {
    // A scratch over the parity file takes both CRC copies and every parity shard; a zeroed
    // data sector can then be told by nothing, and must not come back as repaired.
    let (image, header) = small();
    let mut damaged = image.clone();
    zero(
        &mut damaged,
        header.parity_start + 1..header.parity_end() - 1,
    );
    zero(&mut damaged, 500..501);
    let (out, report) = repaired(&damaged, &BadSectors::new());
    assert!(!report.is_complete(), "{report:?}");
    let unverified: BadSectors = report.unverified.iter().cloned().collect();
    assert!(unverified.contains(500), "{report:?}");
    assert!(report.unrecoverable.is_empty(), "{report:?}");
    // Kept as read: everything but the zeroed sector and the parity area is as written.
    for s in (0..header.parity_start).filter(|&s| s != 500) {
        let at = s as usize * S;
        assert_eq!(&out[at..at + S], &image[at..at + S], "sector {s}");
    }
}

#[test]
fn a_tree_sized_without_layout_with_parity_is_refused() {
    let tree = protected_tree(&[10], 10);
    let err = discfs::layout(&tree, &VolumeInfo::default()).unwrap_err();
    assert!(err.to_string().contains("Parity/PARITY.ODP"), "{err}");
    let mut tree = protected_tree(&[10], 10);
    let layout = discfs::layout_with_parity(&mut tree, &VolumeInfo::default()).unwrap();
    let err = discfs::write_image(&tree, &layout, &mut Vec::new(), &mut ()).unwrap_err();
    assert!(matches!(err, discfs::WriteError::NoSpill), "{err}");
}

/// The image sectors of the file `name` of `tree` as laid out.
fn extent(layout: &Layout, tree: &Tree, name: &str) -> Range<u64> {
    let node = tree
        .files_depth_first()
        .find(|&f| tree.name(f) == name)
        .unwrap();
    let (start, len) = layout.file_extent(tree, node);
    u64::from(start)..u64::from(start) + len.div_ceil(SECTOR)
}

/// An image that remembers which sectors were read from it.
struct Watched<'a> {
    image: Cursor<&'a [u8]>,
    read: &'a RefCell<BadSectors>,
}

impl Read for Watched<'_> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let at = self.image.position();
        let n = self.image.read(buf)?;
        let end = (at + n as u64).div_ceil(SECTOR);
        self.read.borrow_mut().insert(at / SECTOR..end);
        Ok(n)
    }
}

impl Seek for Watched<'_> {
    fn seek(&mut self, pos: SeekFrom) -> std::io::Result<u64> {
        self.image.seek(pos)
    }
}

/// Rebuilds `wanted` of `image`, returning the bytes, the report and the sectors read.
fn rebuilt(image: &[u8], wanted: &[Range<u64>]) -> (Vec<u8>, Rebuilt, BadSectors) {
    let read = RefCell::new(BadSectors::new());
    let watched = || Watched {
        image: Cursor::new(image),
        read: &read,
    };
    let (header, at) = header_at(watched(), &BadSectors::new(), &[SYSTEM_AREA_COPY]).unwrap();
    assert_eq!(at, SYSTEM_AREA_COPY);
    let mut out = Vec::new();
    let report = rebuild_sectors(watched(), &BadSectors::new(), &header, wanted, &mut out).unwrap();
    (out, report, read.into_inner())
}

fn sectors(image: &[u8], range: Range<u64>) -> &[u8] {
    &image[range.start as usize * S..range.end as usize * S]
}

#[test]
fn a_files_sectors_are_rebuilt_exactly_from_the_windows_they_lie_in() {
    let (image, layout, tree) = protected_image(&[40 << 20, 4 << 20, 30 << 20], 5);
    let header = *layout.parity().unwrap();
    let g = header.geometry;
    // file1 lies in window 1 only; a scratch inside it, as long as the budget.
    let file = extent(&layout, &tree, "file1.bin");
    let window_of = |sector: u64| sector / g.window_sectors();
    assert!(
        window_of(file.start) == 1 && window_of(file.end) == 1,
        "{g:?}"
    );
    let scratch = file.start + 100..file.start + 100 + g.longest_run();
    assert_eq!(window_of(scratch.start), window_of(scratch.end - 1));
    let mut damaged = image.clone();
    zero(&mut damaged, scratch.clone());
    let (out, report, read) = rebuilt(&damaged, std::slice::from_ref(&file));
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(report.rebuilt, scratch.end - scratch.start);
    assert_eq!(report.sectors, file.end - file.start);
    assert!(
        out == sectors(&image, file.clone()),
        "the file's exact bytes"
    );
    // Nothing but the header, the windows of the file and their part of the parity file.
    let windows = window_of(file.start)..=window_of(file.end - 1);
    for range in read.ranges() {
        for s in range.clone() {
            let in_parity = (header.parity_start..header.parity_end()).contains(&s);
            // Covered sectors after the parity file belong to the last window.
            let covered = if s < header.parity_start {
                s
            } else {
                s - header.parity_sectors()
            };
            let in_window = !in_parity && windows.contains(&window_of(covered));
            assert!(
                in_window || in_parity || s == SYSTEM_AREA_COPY,
                "sector {s} read"
            );
        }
    }
    assert!(read.contains(file.start) && !read.contains(SYSTEM_AREA_COPY + 1));
}

#[test]
fn beyond_the_budget_only_the_sectors_lost_are_named() {
    let (image, layout, tree) = protected_image(&[1_000_000, 2_000_000, 300_000, 5], 10);
    let header = *layout.parity().unwrap();
    let g = header.geometry;
    let file = extent(&layout, &tree, "file1.bin");
    let lost = file.start + 10..file.start + 10 + (g.parity_shards + 1) * g.stripes;
    assert!(lost.end < file.end);
    let mut damaged = image.clone();
    zero(&mut damaged, lost.clone());
    let (out, report, _) = rebuilt(&damaged, std::slice::from_ref(&file));
    assert!(!report.is_complete());
    assert_eq!(report.lost, vec![lost.clone()]);
    assert!(report.unverified.is_empty(), "{report:?}");
    let mut expected = sectors(&image, file.clone()).to_vec();
    let at = (lost.start - file.start) as usize * S;
    expected[at..at + (lost.end - lost.start) as usize * S].fill(0);
    assert!(
        out == expected,
        "everything else as written, the lost as zeros"
    );

    // Within the budget again (one stripe's worth less), the same file comes back whole;
    // and a sector of the parity file itself is never given as rebuilt.
    let mut damaged = image.clone();
    zero(&mut damaged, lost.start..lost.end - 2 * g.stripes);
    let parity = header.parity_start + 3..header.parity_start + 4;
    let (out, report, _) = rebuilt(&damaged, &[file.clone(), parity.clone()]);
    assert_eq!(report.lost, vec![parity]);
    assert!(out[..out.len() - S] == *sectors(&image, file));
}

#[test]
fn files_of_one_window_are_rebuilt_with_one_read_of_it() {
    let (image, layout, tree) = protected_image(&[1_000_000, 2_000_000, 300_000, 5], 10);
    let header = *layout.parity().unwrap();
    let (a, b) = (
        extent(&layout, &tree, "file0.bin"),
        extent(&layout, &tree, "file2.bin"),
    );
    let mut damaged = image.clone();
    zero(&mut damaged, a.start + 1..a.start + 11);
    zero(&mut damaged, b.start + 2..b.start + 12);
    let read = RefCell::new(BadSectors::new());
    let watched = Watched {
        image: Cursor::new(&damaged),
        read: &read,
    };
    let no_bad = BadSectors::new();
    let mut rebuilder = SectorRebuilder::new(watched, &no_bad, &header).unwrap();
    let mut out = Vec::new();
    let first = rebuilder
        .rebuild(std::slice::from_ref(&a), &mut out)
        .unwrap();
    assert!(first.is_complete() && first.rebuilt == 10, "{first:?}");
    assert!(out == sectors(&image, a.clone()));
    let after_first = read.replace(BadSectors::new());
    assert!(after_first.contains(b.start), "the whole window was read");
    let mut out = Vec::new();
    let second = rebuilder
        .rebuild(std::slice::from_ref(&b), &mut out)
        .unwrap();
    assert!(second.is_complete() && second.rebuilt == 10, "{second:?}");
    assert!(out == sectors(&image, b));
    assert_eq!(read.into_inner().count(), 0, "nothing read again");
}

#[test]
fn a_sector_read_intact_is_never_rewritten_from_a_guess() {
    // Two scratches over the data's end, the header, the parity and the CRC sectors of both
    // copies (all but their last one, then all of them). Where the data cannot be proven,
    // a CRC read intact is kept, and so is a parity shard read intact (not zeros): repair
    // once wrote both again from parity guessed from the zeroed data.
    let (image, header) = small();
    assert_eq!(
        header.parity_start, 1884,
        "the layout these runs were found for"
    );
    for runs in [[1993..2111, 1778..1889], [1994..2112, 1779..1890]] {
        let mut damaged = image.clone();
        for r in &runs {
            zero(&mut damaged, r.clone());
        }
        let hit: BadSectors = runs.iter().cloned().collect();
        let (out, report) = repaired(&damaged, &BadSectors::new());
        assert!(report.unrecoverable.is_empty(), "{report:?}");
        let changed: Vec<u64> = (0..header.image_sectors)
            .filter(|&s| !hit.contains(s))
            .filter(|&s| out[s as usize * S..][..S] != image[s as usize * S..][..S])
            .collect();
        assert!(
            changed.is_empty(),
            "{runs:?}: undamaged sectors changed: {changed:?}"
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    /// Whatever the damage, sectors not damaged come out as written, what is reported lost
    /// was damaged, and a repair that reports nothing lost gives the image back exactly.
    #[test]
    fn repair_never_invents_and_never_loses_what_it_had(
        runs in prop::collection::vec((0u64..2_300, 1u64..120), 1..6),
    ) {
        let (image, header) = small();
        let mut damaged = image.clone();
        let mut hit = BadSectors::new();
        for (start, len) in runs {
            let end = (start + len).min(header.image_sectors);
            let start = start.min(end);
            zero(&mut damaged, start..end);
            hit.insert(start..end);
        }
        let (out, report) = repaired(&damaged, &BadSectors::new());
        for r in &report.unrecoverable {
            for s in r.clone() {
                prop_assert!(hit.contains(s), "sector {} reported lost but not damaged", s);
            }
        }
        if report.is_complete() {
            prop_assert_eq!(sha(&out), sha(&image));
        }
        // Undamaged sectors come out as written unless reported lost; damaged ones too
        // unless reported lost or unverified (kept as read because nothing could tell).
        let lost: BadSectors = report.unrecoverable.iter().cloned().collect();
        let unverified: BadSectors = report.unverified.iter().cloned().collect();
        for s in 0..header.image_sectors {
            if !lost.contains(s) && (!hit.contains(s) || !unverified.contains(s)) {
                let at = s as usize * S;
                prop_assert_eq!(&out[at..at + S], &image[at..at + S], "sector {}", s);
            }
        }
    }
}
