//! Planning: identifiers, order, relocation, directory and path table bytes.

use super::*;

#[test]
fn plan_maps_names_and_orders_directories() {
    let tree = sample_tree();
    let plan = IsoPlan::new(&tree).unwrap();
    assert_eq!(plan.dir_count(), 3); // root, DOCS, DOCS/EMPTY_DIR
    assert_eq!(plan.dir_node(0), Some(NodeId::ROOT));
    let map = paths(&plan, &tree);
    let expect = [
        // Tree order is UTF-8 byte order: the decomposed name comes first and keeps the base.
        ("CAFE.MD", "cafe\u{301}.md"),
        ("CAFE_1.MD", "café.md"),
        ("DOCS", "Docs"),
        ("___.TXT", "日本語.txt"),
        ("DOCS/A", "Docs/a"),
        ("DOCS/A.1", "Docs/a.1"),
        ("DOCS/EMPTY_DIR", "Docs/empty dir"),
        ("DOCS/NOTES.TXT", "Docs/Notes.TXT"),
        ("DOCS/NOTES_1.TXT", "Docs/notes.txt"),
    ];
    let expect: Vec<(String, String)> = expect
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(map, expect);
    // Root: 34 + 34 + CAFE.MD;1 (44) + CAFE_1.MD;1 (44) + DOCS (38) + ___.TXT;1 (42): 1 sector.
    assert_eq!(plan.dir_sectors(0), 1);
    // Path table: root 10, DOCS 12, EMPTY_DIR 18.
    assert_eq!(plan.path_table_bytes(), 10 + 12 + 18);
}

#[test]
fn directory_records_sort_by_name_then_extension() {
    let tree = sample_tree();
    let built = build(&tree, &volume());
    let docs = 1;
    let mut out = Vec::new();
    built.plan.write_dir(
        &tree,
        docs,
        &built.dir_extents,
        &built.file_extents,
        &mut out,
    );
    let mut ids = Vec::new();
    let mut pos = 0;
    while let Some(rec) = DirRecord::parse(&out[pos..]).unwrap() {
        pos += rec.encoded_len();
        assert_eq!(rec.volume_sequence, 3);
        ids.push(rec.identifier);
    }
    let ids: Vec<&[u8]> = ids.iter().map(Vec::as_slice).collect();
    // 9.3: "A.;1" before "A.1;1" (empty extension sorts first even though ';' > '1').
    let expect: [&[u8]; 7] = [
        &[0],
        &[1],
        b"A.;1",
        b"A.1;1",
        b"EMPTY_DIR",
        b"NOTES.TXT;1",
        b"NOTES_1.TXT;1",
    ];
    assert_eq!(ids, expect);
    // "." points at DOCS itself, ".." at the root.
    let dot = DirRecord::parse(&out).unwrap().unwrap();
    assert_eq!(dot.extent, built.dir_extents[docs]);
    assert_eq!(dot.data_length, 2048);
    assert_eq!(dot.mtime(), Some(at(1_600_000_000)));
    let dotdot = DirRecord::parse(&out[34..]).unwrap().unwrap();
    assert_eq!(dotdot.extent, built.dir_extents[0]);
    assert_eq!(dotdot.mtime(), Some(at(1_700_000_000)));
}

#[test]
fn root_dotdot_is_root_and_path_tables_match_the_standard() {
    let tree = sample_tree();
    let built = build(&tree, &volume());
    let mut root = Vec::new();
    built
        .plan
        .write_dir(&tree, 0, &built.dir_extents, &built.file_extents, &mut root);
    let dot = DirRecord::parse(&root).unwrap().unwrap();
    let dotdot = DirRecord::parse(&root[34..]).unwrap().unwrap();
    assert_eq!(
        (dot.extent, dotdot.extent),
        (built.dir_extents[0], built.dir_extents[0])
    );
    assert_eq!(dotdot.identifier, [1]);

    let [r, d, e] = [0, 1, 2].map(|i| built.dir_extents[i].to_le_bytes());
    let mut l = Vec::new();
    built
        .plan
        .write_path_table(&built.dir_extents, false, &mut l);
    let mut expect = vec![1, 0, r[0], r[1], r[2], r[3], 1, 0, 0, 0];
    expect.extend([4, 0, d[0], d[1], d[2], d[3], 1, 0]);
    expect.extend(b"DOCS");
    expect.extend([9, 0, e[0], e[1], e[2], e[3], 2, 0]);
    expect.extend(b"EMPTY_DIR\0");
    assert_eq!(l, expect);
    let mut m = Vec::new();
    built
        .plan
        .write_path_table(&built.dir_extents, true, &mut m);
    assert_eq!(&m[..10], &[1, 0, r[3], r[2], r[1], r[0], 0, 1, 0, 0]);
    assert_eq!(
        &m[28..30],
        &[0, 2],
        "EMPTY_DIR's parent is directory 2, big-endian"
    );
}

#[test]
fn deep_directories_are_relocated() {
    let tree = chain(20, |l| format!("level{}", l + 1));
    let plan = IsoPlan::new(&tree).unwrap();
    check_limits(&plan, &tree);
    let map: BTreeMap<String, String> = plan.paths(&tree).map(|(p, n)| (tree.path(n), p)).collect();
    assert_eq!(
        map["level1/level2/level3/level4/level5/level6/level7"],
        "LEVEL1/LEVEL2/LEVEL3/LEVEL4/LEVEL5/LEVEL6/LEVEL7"
    );
    // Level 9 (tree depth 8) moves under _DEEP, and its subtree follows it there.
    let deep8 = (1..=8)
        .map(|l| format!("level{l}"))
        .collect::<Vec<_>>()
        .join("/");
    assert_eq!(map[&deep8], "_DEEP/LEVEL8");
    assert_eq!(map[&format!("{deep8}/file.txt")], "_DEEP/LEVEL8/FILE.TXT");
    let deep20 = (1..=20)
        .map(|l| format!("level{l}"))
        .collect::<Vec<_>>()
        .join("/");
    assert_eq!(map[&deep20], "_DEEP/LEVEL20");
    assert_eq!(map[&format!("{deep20}/file.txt")], "_DEEP/LEVEL20/FILE.TXT");
    // Relocation directory is one of the ISO directories but shows no tree node.
    assert!((0..plan.dir_count()).any(|d| plan.dir_node(d).is_none()));

    // The reader sees the same hierarchy.
    let built = build(&tree, &VolumeInfo::default());
    let mut iso = IsoImage::open(Cursor::new(built.image.to_vec())).unwrap();
    let walked: HashSet<String> = iso.walk().unwrap().into_iter().map(|(p, _)| p).collect();
    assert!(walked.iter().all(|p| p.split('/').count() <= 9));
    for path in map.values() {
        assert!(walked.contains(path), "{path}");
    }
    let path_table = iso.path_table(false).unwrap();
    assert_eq!(path_table.len(), plan.dir_count());
}

#[test]
fn relocated_names_are_unique_under_deep() {
    // Two deep chains whose level-9 directories (tree depth 8: "same8") have the same name.
    let mut b = TreeBuilder::new(T);
    for top in ["a", "b"] {
        let mut at_dir = b.dir(NodeId::ROOT, top, T).unwrap();
        for level in 2..=10 {
            at_dir = b.dir(at_dir, &format!("same{}", level.min(9)), T).unwrap();
        }
    }
    let tree = b.build().unwrap();
    let plan = IsoPlan::new(&tree).unwrap();
    check_limits(&plan, &tree);
    let shown: Vec<String> = plan
        .paths(&tree)
        .map(|(p, _)| p)
        .filter(|p| p.starts_with("_DEEP/"))
        .collect();
    assert_eq!(
        shown,
        [
            "_DEEP/SAME8",
            "_DEEP/SAME8_1",
            "_DEEP/SAME8/SAME9",
            "_DEEP/SAME8_1/SAME9",
            "_DEEP/SAME8/SAME9/SAME9",
            "_DEEP/SAME8_1/SAME9/SAME9",
        ]
    );
}

#[test]
fn long_paths_are_relocated_before_255_bytes() {
    let tree = chain(8, |l| format!("{l}{}", "x".repeat(40)));
    let plan = IsoPlan::new(&tree).unwrap();
    check_limits(&plan, &tree);
    // 31-byte identifiers: 7 levels would make a 223-byte path, over MAX_DIR_PATH (219).
    let relocated: Vec<String> = plan
        .paths(&tree)
        .map(|(p, _)| p)
        .filter(|p| p.starts_with("_DEEP/"))
        .collect();
    assert_eq!(
        relocated.len(),
        2 * 2,
        "levels 7 and 8 and their files moved"
    );
}

#[test]
fn a_real_top_level_deep_name_never_meets_the_relocation_dir() {
    let mut b = TreeBuilder::new(T);
    b.dir(NodeId::ROOT, "_deep", T).unwrap();
    let tree = b.build().unwrap();
    let plan = IsoPlan::new(&tree).unwrap();
    assert_eq!(
        paths(&plan, &tree),
        [("_DEEP_1".to_owned(), "_deep".to_owned())]
    );
    assert_eq!(
        plan.dir_count(),
        2,
        "no relocation directory when nothing is deep"
    );
}

#[test]
fn empty_volume() {
    let tree = TreeBuilder::new(T).build().unwrap();
    let built = build(&tree, &VolumeInfo::default());
    assert_eq!(built.plan.dir_count(), 1);
    assert_eq!(built.plan.dir_sectors(0), 1);
    assert_eq!(built.plan.path_table_bytes(), 10);
    let mut iso = IsoImage::open(Cursor::new(built.image.to_vec())).unwrap();
    assert!(iso.walk().unwrap().is_empty());
    assert_eq!(iso.volume().volume_id, "CDROM");
}

#[test]
fn many_files_fill_many_sectors_without_straddling() {
    let mut b = TreeBuilder::new(T);
    for i in 0..10_000 {
        b.file(
            NodeId::ROOT,
            &format!("file number {i}.dat"),
            T,
            0,
            bytes(b""),
        )
        .unwrap();
    }
    let tree = b.build().unwrap();
    let built = build(&tree, &VolumeInfo::default());
    // FILE_NUMBER_1234.DAT;1 is 22 bytes: records of 56 bytes, 36 to a sector.
    let sectors = built.plan.dir_sectors(0);
    assert!(sectors >= 10_002 / 36, "{sectors}");
    let mut iso = IsoImage::open(Cursor::new(built.image.to_vec())).unwrap();
    let entries = iso.read_dir(&iso.root()).unwrap();
    assert_eq!(entries.len(), 10_000);
    let names: HashSet<&str> = entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names.len(), 10_000);
}

/// `cargo test --release -p discfs plan_a_million_files -- --ignored --nocapture`
#[test]
#[ignore = "timing; run in release"]
fn plan_a_million_files() {
    let mut b = TreeBuilder::new(T);
    for d in 0..1000 {
        let dir = b.dir(NodeId::ROOT, &format!("folder {d}"), T).unwrap();
        for f in 0..1000 {
            b.file(
                dir,
                &format!("Photo été {f:04}.jpeg"),
                T,
                3_000_000,
                sparse(),
            )
            .unwrap();
        }
    }
    let tree = b.build().unwrap();
    let start = std::time::Instant::now();
    let plan = IsoPlan::new(&tree).unwrap();
    let planned = start.elapsed();
    let mut out = Vec::new();
    let extents = vec![0u32; plan.dir_count()];
    let files = vec![0u32; tree.len()];
    for d in 0..plan.dir_count() {
        out.clear();
        plan.write_dir(&tree, d, &extents, &files, &mut out);
    }
    let written = start.elapsed() - planned;
    let per_node = plan.memory_bytes() / tree.len();
    eprintln!("plan {planned:?} ({per_node} bytes a node), write all directories {written:?}");
    assert!(planned.as_secs_f64() < 2.0, "{planned:?}");
    assert!(per_node <= 100, "{per_node} bytes a node");
}

#[test]
fn parent_numbers_past_65535_are_clamped_in_path_tables() {
    let mut b = TreeBuilder::new(T);
    let mut last = NodeId::ROOT;
    for i in 0..66_000 {
        last = b.dir(NodeId::ROOT, &format!("d{i:05}"), T).unwrap();
    }
    b.dir(last, "child", T).unwrap();
    let tree = b.build().unwrap();
    let plan = IsoPlan::new(&tree).unwrap();
    assert_eq!(plan.dir_count(), 66_002);
    let extents: Vec<u32> = (0..plan.dir_count() as u32).collect();
    let mut table = Vec::new();
    plan.write_path_table(&extents, false, &mut table);
    assert_eq!(table.len(), plan.path_table_bytes() as usize);
    // The last record is CHILD, whose parent D65999 is directory number 66,001.
    let child = &table[table.len() - 14..];
    assert_eq!(&child[8..13], b"CHILD");
    assert_eq!(u16::from_le_bytes([child[6], child[7]]), u16::MAX);
    // Directory records need no such number: CHILD's ".." points at its real parent.
    let mut dir = Vec::new();
    plan.write_dir(&tree, 66_001, &extents, &[], &mut dir);
    let dotdot = DirRecord::parse(&dir[34..]).unwrap().unwrap();
    assert_eq!(dotdot.extent, 66_000);
}
