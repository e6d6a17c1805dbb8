//! Plans made from real scans of generated trees: never over capacity (checked on the written
//! images), every content placed once or as complete contiguous parts, `--first` first,
//! deterministic, few and full discs.

use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use odarchive::{
    Catalogue, Error, Media, NoProgress, Placement, PlanOptions, ScanOptions, WriteOptions,
};
use proptest::prelude::*;
/// A small deterministic pseudo-random generator (xorshift), so trees are reproducible.
use testkit::Rng;

/// Writes an "ordinary" tree: `folders` folders of files with sizes spread from empty to
/// `max_size`, some duplicates, a few nested folders.
fn ordinary_tree(root: &Path, seed: u64, folders: usize, files: usize, max_size: u64) {
    let mut rng = Rng(seed | 1);
    for f in 0..folders {
        let dir = if f % 3 == 2 {
            root.join(format!("folder{f:02}/inner"))
        } else {
            root.join(format!("folder{f:02}"))
        };
        std::fs::create_dir_all(&dir).unwrap();
        for i in 0..files {
            let size = match rng.below(10) {
                0 => 0,
                1..=5 => rng.below(8192),
                _ => rng.below(max_size),
            };
            let mut data = vec![0u8; size as usize];
            let mut x = rng.next();
            for b in data.iter_mut() {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1);
                *b = (x >> 56) as u8;
            }
            if i % 7 == 6 {
                data = b"a duplicate".to_vec();
            }
            std::fs::write(dir.join(format!("file{i:03}.bin")), data).unwrap();
        }
    }
}

struct Setup {
    _dir: tempfile::TempDir,
    drive: std::path::PathBuf,
    out: std::path::PathBuf,
    catalogue: Catalogue,
}

fn scanned(make: impl FnOnce(&Path)) -> Setup {
    let dir = tempfile::tempdir().unwrap();
    let drive = dir.path().join("drive");
    std::fs::create_dir(&drive).unwrap();
    make(&drive);
    let mut catalogue = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
    odarchive::scan(&mut catalogue, &drive, &ScanOptions::default(), &NoProgress).unwrap();
    let out = dir.path().join("out");
    Setup {
        _dir: dir,
        drive,
        out,
        catalogue,
    }
}

fn options(media: &str, first: &[&str]) -> PlanOptions {
    PlanOptions {
        media: Media::parse(media).unwrap(),
        margin: 0,
        first: first.iter().map(|s| s.to_string()).collect(),
        replan: false,
        parity: 0,
        set_parity: Default::default(),
    }
}

fn placements(c: &Catalogue) -> Vec<Placement> {
    let mut all = Vec::new();
    c.for_each_placement(|p| {
        all.push(p);
        Ok(())
    })
    .unwrap();
    all
}

/// Every content of the snapshot is placed whole exactly once, or as parts 1..=n that are
/// contiguous, in disc order, and sum to its size.
fn assert_complete(c: &Catalogue) {
    let snapshot = c.latest_complete_snapshot().unwrap().unwrap().id;
    let mut sizes: BTreeMap<i64, u64> = BTreeMap::new();
    c.for_each_entry(snapshot, |e| {
        if let Some(id) = e.content_id {
            sizes.insert(id, e.size);
        }
        Ok(())
    })
    .unwrap();
    let mut by_content: BTreeMap<i64, Vec<Placement>> = BTreeMap::new();
    for p in placements(c) {
        by_content.entry(p.content_id).or_default().push(p);
    }
    assert_eq!(
        by_content.keys().collect::<Vec<_>>(),
        sizes.keys().collect::<Vec<_>>(),
        "every content is placed"
    );
    for (id, mut ps) in by_content {
        ps.sort_by_key(|p| p.part);
        let size = sizes[&id];
        if ps.len() == 1 && ps[0].part == 0 {
            assert_eq!((ps[0].offset, ps[0].length), (0, size));
            continue;
        }
        let mut offset = 0;
        for (i, p) in ps.iter().enumerate() {
            assert_eq!(p.part as usize, i + 1, "parts numbered 1..");
            assert_eq!(p.parts as usize, ps.len());
            assert_eq!(p.offset, offset, "parts are contiguous");
            assert!(p.length > 0);
            assert!(p.part_hash.is_some());
            if i > 0 {
                assert!(p.disc > ps[i - 1].disc, "parts on consecutive discs");
            }
            offset += p.length;
        }
        assert_eq!(offset, size, "parts sum to the content");
    }
}

/// Writes every disc and checks each image against its capacity and planned size.
fn write_and_check_sizes(s: &mut Setup, capacity: u64) -> Vec<(u32, std::path::PathBuf)> {
    let written = odarchive::write(
        &mut s.catalogue,
        &WriteOptions {
            out: s.out.clone(),
            ..WriteOptions::default()
        },
        &NoProgress,
    )
    .unwrap();
    for w in &written {
        let len = std::fs::metadata(&w.path).unwrap().len();
        assert_eq!(len, w.image_size);
        assert!(len <= capacity, "disc {} is {len} > {capacity}", w.number);
    }
    written.into_iter().map(|w| (w.number, w.path)).collect()
}

/// Each placement's file, looked up by its recorded UDF path and by its recorded ISO 9660 path
/// in the written image, holds the recorded bytes: the name maps restore relies on.
fn assert_views_match_placements(s: &Setup, written: &[(u32, std::path::PathBuf)]) {
    use discfs::iso9660::IsoImage;
    use discfs::udf::read::UdfVolume;
    let sha = |b: &[u8]| -> [u8; 32] {
        sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(b)).into()
    };
    for (number, image) in written {
        let mut udf = UdfVolume::open(std::fs::File::open(image).unwrap()).unwrap();
        let mut iso = IsoImage::open(std::fs::File::open(image).unwrap()).unwrap();
        for p in s.catalogue.placements_on(*number).unwrap() {
            let mut a = Vec::new();
            let entry = udf.lookup(&p.disc_path).unwrap();
            udf.copy_to(&entry, &mut a).unwrap();
            assert_eq!(sha(&a), p.stored_hash().as_bytes(), "UDF {}", p.disc_path);
            let mut b = Vec::new();
            let entry = iso
                .lookup(&p.iso_path)
                .unwrap_or_else(|e| panic!("{}: {e}", p.iso_path));
            iso.copy_to(&entry, &mut b).unwrap();
            assert_eq!(
                a, b,
                "ISO 9660 {} holds the bytes of {}",
                p.iso_path, p.disc_path
            );
        }
    }
}

#[test]
fn an_ordinary_tree_fills_few_discs_almost_full() {
    let mut s = scanned(|d| ordinary_tree(d, 7, 12, 40, 300_000));
    let media = "8M";
    let summary = odarchive::plan(&mut s.catalogue, &options(media, &[]), &NoProgress).unwrap();
    let capacity = Media::parse(media).unwrap().capacity;
    let n = summary.discs.len() as u64;
    eprintln!(
        "{n} discs, fill: {:?}, folders split {}",
        summary
            .discs
            .iter()
            .map(|d| format!("{:.2}", d.fill_percent))
            .collect::<Vec<_>>(),
        summary.folders_split
    );
    assert!(n >= 2, "the tree needs several discs: {summary:#?}");
    assert!(
        n <= summary.bytes.div_ceil(capacity) + 1,
        "{n} discs for {} bytes",
        summary.bytes
    );
    for d in &summary.discs[..summary.discs.len() - 1] {
        assert!(
            d.fill_percent >= 97.0,
            "disc {} only {:.2}% full",
            d.number,
            d.fill_percent
        );
    }
    assert_complete(&s.catalogue);
    let written = write_and_check_sizes(&mut s, capacity);
    assert_views_match_placements(&s, &written);
}

#[test]
fn first_folders_lead_and_plans_are_deterministic() {
    let mut s = scanned(|d| ordinary_tree(d, 11, 8, 30, 200_000));
    let first = ["folder05", "folder02/inner"];
    let plan = |c: &mut Catalogue| {
        odarchive::plan(c, &options("3M", &first), &NoProgress).unwrap();
        placements(c)
            .into_iter()
            .map(|p| (p.disc, p.part, p.offset, p.length, p.disc_path, p.iso_path))
            .collect::<Vec<_>>()
    };
    let a = plan(&mut s.catalogue);
    let b = plan(&mut s.catalogue);
    assert_eq!(a, b, "the same catalogue and options give the same plan");
    let is_first = |path: &str| {
        first
            .iter()
            .any(|f| path.starts_with(&format!("Data/{f}/")))
    };
    let last_first = a
        .iter()
        .filter(|p| is_first(&p.4))
        .map(|p| p.0)
        .max()
        .unwrap();
    let first_other = a
        .iter()
        .filter(|p| !is_first(&p.4))
        .map(|p| p.0)
        .min()
        .unwrap();
    assert!(
        last_first <= first_other,
        "--first folders on the first discs"
    );
    assert_eq!(a.iter().map(|p| p.0).min(), Some(1));
    assert!(a.iter().filter(|p| p.0 == 1).all(|p| is_first(&p.4)));
    // folder05 before folder02/inner: the order given.
    let first_of = |f: &str| {
        a.iter()
            .find(|p| p.4.starts_with(&format!("Data/{f}/")))
            .unwrap()
            .0
    };
    assert!(first_of("folder05") <= first_of("folder02/inner"));
}

#[test]
fn rewriting_a_plan_gives_identical_images() {
    let mut s = scanned(|d| ordinary_tree(d, 3, 4, 20, 400_000));
    odarchive::plan(&mut s.catalogue, &options("2M", &[]), &NoProgress).unwrap();
    let first = write_and_check_sizes(&mut s, 2_000_000);
    s.out = s.out.with_file_name("again");
    let second = write_and_check_sizes(&mut s, 2_000_000);
    assert_eq!(first.len(), second.len());
    for ((_, a), (_, b)) in first.iter().zip(&second) {
        assert!(
            std::fs::read(a).unwrap() == std::fs::read(b).unwrap(),
            "{a:?} and {b:?} differ"
        );
    }
}

#[test]
fn a_file_larger_than_a_disc_is_split_and_parts_hash_right() {
    let mut s = scanned(|d| {
        let data: Vec<u8> = (0..7_000_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(d.join("big.bin"), &data).unwrap();
        std::fs::write(d.join("small.txt"), b"small").unwrap();
    });
    let summary = odarchive::plan(&mut s.catalogue, &options("3M", &[]), &NoProgress).unwrap();
    assert_eq!(summary.split_contents, 1);
    assert_complete(&s.catalogue);
    let data = std::fs::read(s.drive.join("big.bin")).unwrap();
    for p in placements(&s.catalogue).iter().filter(|p| p.part > 0) {
        let region = &data[p.offset as usize..(p.offset + p.length) as usize];
        let want: [u8; 32] =
            sha2::Digest::finalize(<sha2::Sha256 as sha2::Digest>::new_with_prefix(region)).into();
        assert_eq!(
            p.part_hash.map(|h| h.as_bytes().to_vec()),
            Some(want.to_vec())
        );
        assert!(
            p.disc_path.starts_with("Data/big.bin.part00"),
            "{}",
            p.disc_path
        );
    }
    let written = write_and_check_sizes(&mut s, 3_000_000 / 2048 * 2048);
    assert_views_match_placements(&s, &written);
}

#[test]
fn bad_input_is_refused_and_changes_nothing() {
    let mut s = scanned(|d| ordinary_tree(d, 5, 2, 5, 1000));
    let err =
        odarchive::plan(&mut s.catalogue, &options("3M", &["no/such"]), &NoProgress).unwrap_err();
    assert!(matches!(err, Error::FirstNotFound { .. }), "{err}");
    let err = odarchive::plan(&mut s.catalogue, &options("100K", &[]), &NoProgress).unwrap_err();
    assert!(matches!(err, Error::CapacityTooSmall { .. }), "{err}");
    assert!(s.catalogue.discs().unwrap().is_empty());
    assert!(matches!(
        Media::parse("floppy"),
        Err(Error::BadMedia { .. })
    ));

    let dir = tempfile::tempdir().unwrap();
    let mut empty = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
    let err = odarchive::plan(&mut empty, &options("3M", &[]), &NoProgress).unwrap_err();
    assert!(matches!(err, Error::NoSnapshot { .. }), "{err}");
}

#[test]
fn written_discs_are_kept_and_replan_is_needed() {
    let mut s = scanned(|d| {
        ordinary_tree(d, 9, 4, 20, 300_000);
        // Split across discs: once the disc with its first part is written, a new plan
        // continues the split after it.
        std::fs::write(
            d.join("big.bin"),
            (0..3_500_000u32).map(|i| i as u8).collect::<Vec<_>>(),
        )
        .unwrap();
    });
    odarchive::plan(&mut s.catalogue, &options("2M", &[]), &NoProgress).unwrap();
    let split_on = placements(&s.catalogue)
        .iter()
        .find(|p| p.part == 1 && p.disc_path.starts_with("Data/big.bin"))
        .expect("big.bin is split")
        .disc;
    odarchive::write(
        &mut s.catalogue,
        &WriteOptions {
            out: s.out.clone(),
            discs: vec![split_on],
            ..WriteOptions::default()
        },
        &NoProgress,
    )
    .unwrap();
    let err = odarchive::plan(&mut s.catalogue, &options("3M", &[]), &NoProgress).unwrap_err();
    assert!(matches!(err, Error::PlanHasWrittenDiscs { .. }), "{err}");
    let disc1 = placements(&s.catalogue)
        .into_iter()
        .filter(|p| p.disc == split_on)
        .map(|p| Placement { parts: 0, ..p })
        .collect::<Vec<_>>();
    let replan = PlanOptions {
        replan: true,
        ..options("3M", &[])
    };
    let summary = odarchive::plan(&mut s.catalogue, &replan, &NoProgress).unwrap();
    assert_eq!(
        summary.discs[0].number,
        split_on + 1,
        "numbering continues after the written disc"
    );
    let after = placements(&s.catalogue);
    assert_eq!(
        after
            .iter()
            .filter(|p| p.disc == split_on)
            .map(|p| Placement {
                parts: 0,
                ..p.clone()
            })
            .collect::<Vec<_>>(),
        disc1,
        "the written disc is unchanged but for the final number of parts"
    );
    assert_complete(&s.catalogue);
    let big: Vec<_> = after
        .iter()
        .filter(|p| p.disc_path.starts_with("Data/big.bin"))
        .collect();
    assert!(big.len() >= 2 && big.iter().all(|p| p.part > 0), "{big:#?}");
}

fn arbitrary_tree() -> impl Strategy<Value = Vec<(String, u64)>> {
    let name = prop::sample::select(vec!["a", "b", "photos", "x y", "été", "deep/er", "z"]);
    let path = prop::collection::vec(name, 1..4).prop_map(|v| v.join("/"));
    prop::collection::vec((path, 0u64..1_500_000), 1..40)
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 12, ..ProptestConfig::default() })]

    #[test]
    fn plans_never_exceed_capacity_and_place_everything(
        files in arbitrary_tree(),
        media in prop::sample::select(vec!["2M", "2500K", "3MiB"]),
        margin in prop::sample::select(vec![0u64, 20_480]),
        parity in prop::sample::select(vec![0u8, 10, 25]),
    ) {
        let mut s = scanned(|d| {
            let mut made: HashMap<String, ()> = HashMap::new();
            for (i, (path, size)) in files.iter().enumerate() {
                let full = format!("{path}/f{i}");
                if made.insert(full.clone(), ()).is_some() { continue; }
                let p = d.join(&full);
                std::fs::create_dir_all(p.parent().unwrap()).unwrap();
                let data: Vec<u8> = (0..*size).map(|j| (j as u8) ^ (i as u8)).collect();
                std::fs::write(p, data).unwrap();
            }
        });
        let opts = PlanOptions { margin, parity, ..options(media, &[]) };
        let capacity = (opts.media.capacity - margin) / 2048 * 2048;
        odarchive::plan(&mut s.catalogue, &opts, &NoProgress).unwrap();
        assert_complete(&s.catalogue);
        write_and_check_sizes(&mut s, capacity);
        let _ = s.drive.as_os_str().as_bytes();
    }
}

#[test]
fn a_large_catalogue_is_gzipped_on_the_disc_and_reads_back() {
    let mut s = scanned(|d| {
        for i in 0..3000 {
            let dir = d.join(format!("many/folder {:02}", i / 100));
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(
                dir.join(format!("a file with a longer name {i:05}.txt")),
                i.to_string(),
            )
            .unwrap();
        }
    });
    odarchive::plan(&mut s.catalogue, &options("30M", &[]), &NoProgress).unwrap();
    let plan = s.catalogue.discs().unwrap()[0].plan_id;
    let plan = s.catalogue.plan_record(plan).unwrap().unwrap();
    assert!(plan.catalogue_gzip, "over 1 MiB of JSON is gzipped");
    let written = write_and_check_sizes(&mut s, 30_000_000);
    let image = std::fs::File::open(&written[0].1).unwrap();
    let mut udf = discfs::udf::read::UdfVolume::open(image).unwrap();
    assert!(udf.lookup("catalogue.json").is_err());
    let entry = udf.lookup("catalogue.json.gz").unwrap();
    let mut gz = Vec::new();
    udf.copy_to(&entry, &mut gz).unwrap();
    assert_eq!(
        gz.len() as u64,
        plan.catalogue_size,
        "padded to its reserve"
    );
    let json: serde_json::Value =
        serde_json::from_reader(flate2::read::GzDecoder::new(&gz[..])).unwrap();
    assert_eq!(json["files"].as_object().unwrap().len(), 3000);
    let entry = udf.lookup("README.md").unwrap();
    let mut readme = Vec::new();
    udf.copy_to(&entry, &mut readme).unwrap();
    assert!(
        String::from_utf8(readme)
            .unwrap()
            .contains("gunzip -c catalogue.json.gz")
    );
}

#[test]
fn awkward_names_are_found_in_both_views_and_sized_exactly() {
    use std::os::unix::ffi::OsStrExt;
    let long = format!("€{}", "a".repeat(150));
    let mut s = scanned(|d| {
        let deep = d.join("1/2/3/4/5/6/7/8/9/10");
        std::fs::create_dir_all(&deep).unwrap();
        std::fs::write(deep.join("deep.txt"), b"deep").unwrap();
        let odd = d.join(std::ffi::OsStr::from_bytes(b"odd\xff dir"));
        std::fs::create_dir_all(&odd).unwrap();
        std::fs::write(odd.join("x\ny"), b"newline").unwrap();
        std::fs::write(odd.join("a%FF"), b"literal percent").unwrap();
        std::fs::write(d.join(&long), b"a name UDF must shorten").unwrap();
        std::fs::write(d.join("Ωmega"), vec![7u8; 5000]).unwrap();
    });
    odarchive::plan(&mut s.catalogue, &options("2M", &[]), &NoProgress).unwrap();
    let all = placements(&s.catalogue);
    let paths: Vec<&str> = all.iter().map(|p| p.disc_path.as_str()).collect();
    assert!(paths.contains(&"Data/odd%FF dir/x%0Ay"), "{paths:?}");
    assert!(paths.contains(&"Data/odd%FF dir/a%FF"), "{paths:?}");
    let long_one = all
        .iter()
        .find(|p| p.name_path == format!("Data/{long}"))
        .unwrap();
    assert_ne!(long_one.disc_path, long_one.name_path, "UDF shortens it");
    let written = write_and_check_sizes(&mut s, 2_000_000 / 2048 * 2048);
    assert_views_match_placements(&s, &written);
}

#[test]
fn a_cancelled_write_leaves_no_image() {
    let mut s = scanned(|d| ordinary_tree(d, 13, 2, 10, 200_000));
    odarchive::plan(&mut s.catalogue, &options("3M", &[]), &NoProgress).unwrap();
    let cancel = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let err = odarchive::write(
        &mut s.catalogue,
        &WriteOptions {
            out: s.out.clone(),
            cancel: Some(cancel),
            ..WriteOptions::default()
        },
        &NoProgress,
    )
    .unwrap_err();
    assert!(matches!(err, Error::Interrupted), "{err}");
    assert_eq!(std::fs::read_dir(&s.out).unwrap().count(), 0);
    let job = s.catalogue.latest_job().unwrap().unwrap();
    assert_eq!(
        (job.kind.as_str(), job.state),
        ("write", odarchive::JobState::Interrupted)
    );
}

/// Over 16,384 contents the planner reserves the catalogue file and the index from a sample
/// and checks them against the real files once the plan is stored: the reserves hold the
/// real files (the discs are written), and the sample does not overshoot by much.
#[test]
fn a_plan_sized_from_a_sample_holds_its_real_catalogue_and_index() {
    let mut s = scanned(|d| {
        for i in 0..20_000 {
            let dir = d.join(format!("f{:03}", i / 100));
            if i % 100 == 0 {
                std::fs::create_dir_all(&dir).unwrap();
            }
            std::fs::write(dir.join(format!("n{i:05}")), i.to_string()).unwrap();
        }
    });
    odarchive::plan(&mut s.catalogue, &options("300M", &[]), &NoProgress).unwrap();
    let plan = s.catalogue.discs().unwrap()[0].plan_id;
    let plan = s.catalogue.plan_record(plan).unwrap().unwrap();
    let written = write_and_check_sizes(&mut s, 300_000_000);
    let image = std::fs::File::open(&written[0].1).unwrap();
    let mut udf = discfs::udf::read::UdfVolume::open(image).unwrap();
    let read = |udf: &mut discfs::udf::read::UdfVolume<std::fs::File>, name: &str| {
        let entry = udf.lookup(name).unwrap();
        let mut bytes = Vec::new();
        udf.copy_to(&entry, &mut bytes).unwrap();
        bytes
    };
    let name = if plan.catalogue_gzip {
        "catalogue.json.gz"
    } else {
        "catalogue.json"
    };
    let file = read(&mut udf, name);
    assert_eq!(file.len() as u64, plan.catalogue_size);
    let mut json = Vec::new();
    if plan.catalogue_gzip {
        flate2::read::GzDecoder::new(&file[..])
            .read_to_end(&mut json)
            .unwrap();
    } else {
        json = file.clone();
    }
    let doc: serde_json::Value = serde_json::from_slice(&json).unwrap();
    assert_eq!(doc["files"].as_object().unwrap().len(), 20_000);
    // The writer's own compression of that JSON: what the reserve had to hold.
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    gz.write_all(&json).unwrap();
    let need = if plan.catalogue_gzip {
        gz.finish().unwrap().len() as u64
    } else {
        json.trim_ascii_end().len() as u64
    };
    assert!(
        plan.catalogue_size < need * 3 / 2 + 20_000,
        "reserved {} for {need} bytes",
        plan.catalogue_size
    );
    let index = read(&mut udf, "INDEX.tsv.gz");
    assert_eq!(index.len() as u64, plan.index_size);
    let mut lines = String::new();
    flate2::read::MultiGzDecoder::new(&index[..])
        .read_to_string(&mut lines)
        .unwrap();
    assert_eq!(lines.lines().count(), 20_001, "a header and a line a file");
}

/// The planner reads a snapshot's entries a page at a time (4,096 rows): across pages it
/// gives every content once, under its first name in path order, as one read of every
/// entry does.
#[test]
fn items_read_page_by_page_are_the_first_names_of_every_content() {
    let s = scanned(|d| {
        for i in 0..10_000u32 {
            let dir = d.join(format!("f{:02}", i / 300));
            if i % 300 == 0 {
                std::fs::create_dir_all(&dir).unwrap();
            }
            // Names that are escaped on the disc, and contents that repeat across pages.
            let name: Vec<u8> = match i % 50 {
                0 => format!("100% {i}").into_bytes(),
                1 => [b"raw\xff".as_slice(), i.to_string().as_bytes()].concat(),
                _ => format!("n{i:05}").into_bytes(),
            };
            let content = if i % 9 == 0 {
                (i % 97).to_string()
            } else {
                i.to_string()
            };
            std::fs::write(dir.join(std::ffi::OsStr::from_bytes(&name)), content).unwrap();
        }
    });
    let snapshot = s.catalogue.latest_complete_snapshot().unwrap().unwrap().id;
    let mut want: Vec<(i64, Vec<u8>)> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    s.catalogue
        .for_each_entry(snapshot, |e| {
            if let Some(id) = e.content_id.filter(|&id| seen.insert(id)) {
                want.push((id, e.path));
            }
            Ok(())
        })
        .unwrap();
    let placed = HashMap::new();
    let got: Vec<(i64, Vec<u8>)> =
        odarchive::plan::input::Items::new(&s.catalogue, snapshot, &placed)
            .unwrap()
            .map(|item| item.map(|i| (i.content_id, i.raw_path().to_vec())))
            .collect::<Result<_, _>>()
            .unwrap();
    assert!(want.len() > 2 * 4096, "{} contents", want.len());
    assert_eq!(got, want);
}
