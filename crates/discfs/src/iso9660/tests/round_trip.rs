//! Writer → reader round trips through our own reader.

use super::*;

#[test]
fn writer_to_reader_round_trip() {
    let tree = sample_tree();
    let vol = volume();
    let built = build(&tree, &vol);
    let mut iso = IsoImage::open(Cursor::new(built.image.to_vec())).unwrap();
    let v = iso.volume().clone();
    assert_eq!(v.volume_id, "ARCHIVE_2026_03");
    assert_eq!(v.volume_set_id, "MY_PHOTOS");
    assert_eq!(v.publisher_id, "ME_EXAMPLE");
    assert_eq!(v.application_id, "ODARCHIVE 0.1");
    assert_eq!((v.volume_set_size, v.volume_sequence_number), (7, 3));
    assert_eq!(v.logical_block_size, 2048);
    assert_eq!(v.volume_space_size as u64 * 2048, built.image.len);
    assert_eq!(v.created, Some(vol.created));
    assert_eq!(v.file_structure_version, 1);
    assert_eq!((v.path_table_l, v.path_table_m), built.path_tables);

    let walked = iso.walk().unwrap();
    let listed: Vec<&str> = walked.iter().map(|(p, _)| p.as_str()).collect();
    let planned: Vec<(String, NodeId)> = built.plan.paths(&tree).collect();
    let mut planned_paths: Vec<&str> = planned.iter().map(|(p, _)| p.as_str()).collect();
    let mut sorted = listed.clone();
    sorted.sort();
    planned_paths.sort();
    assert_eq!(sorted, planned_paths);
    for (path, node) in &planned {
        let entry = iso.lookup(path).unwrap();
        assert_eq!(entry.is_dir, tree.is_dir(*node), "{path}");
        let mtime = tree.mtime(*node);
        let expect_mtime = if mtime.secs() < -2_208_988_800 {
            at(-2_208_988_800) // clamped to 1900
        } else if mtime.secs() > 5_869_583_999 {
            at(5_869_583_999) // clamped to 2155
        } else {
            mtime
        };
        assert_eq!(entry.mtime, expect_mtime, "{path}");
        if !entry.is_dir {
            assert_eq!(entry.size, tree.size(*node));
            let mut data = Vec::new();
            assert_eq!(iso.copy_to(&entry, &mut data).unwrap(), tree.size(*node));
            let Some(FileSource::Bytes(b)) = tree.source(*node) else {
                panic!("sample has byte sources")
            };
            assert_eq!(&data[..], &b[..], "{path}");
        }
    }
    assert_eq!(
        iso.lookup("docs/notes.txt").unwrap().identifier,
        "NOTES.TXT;1"
    );
    assert_eq!(iso.lookup("DOCS/A.;1").unwrap().name, "A");
    assert!(matches!(
        iso.lookup("DOCS/NOPE"),
        Err(ReadError::NoSuchPath(_))
    ));
    assert!(matches!(
        iso.lookup("CAFE.MD/X"),
        Err(ReadError::NoSuchPath(_))
    ));

    // The path tables agree with the directory hierarchy.
    for big in [false, true] {
        let table = iso.path_table(big).unwrap();
        let got: Vec<(u32, u16)> = table.iter().map(|r| (r.extent, r.parent)).collect();
        assert_eq!(
            got,
            [
                (built.dir_extents[0], 1),
                (built.dir_extents[1], 1),
                (built.dir_extents[2], 2)
            ]
        );
    }
}

#[test]
fn file_sizes_around_sector_and_extent_limits() {
    const GIB: u64 = 1 << 30;
    let sizes = [
        0,
        1,
        2047,
        2048,
        2049,
        GIB - 2048,
        GIB,
        4 * GIB - 2048,
        4 * GIB - 2047,
        4 * GIB - 1,
        4 * GIB,
        4 * GIB + 1,
        9 * GIB,
    ];
    let mut b = TreeBuilder::new(T);
    for (i, &size) in sizes.iter().enumerate() {
        b.file(NodeId::ROOT, &format!("f{i:02}"), T, size, sparse())
            .unwrap();
    }
    let tree = b.build().unwrap();
    let built = build(&tree, &VolumeInfo::default());

    // Raw records: one per 0xFFFFF800 bytes, all but the last flagged multi-extent.
    let mut root = Vec::new();
    built
        .plan
        .write_dir(&tree, 0, &built.dir_extents, &built.file_extents, &mut root);
    let mut records: BTreeMap<Vec<u8>, Vec<DirRecord>> = BTreeMap::new();
    let mut pos = 68;
    while pos < root.len() {
        match DirRecord::parse(&root[pos..]).unwrap() {
            Some(rec) => {
                pos += rec.encoded_len();
                records.entry(rec.identifier.clone()).or_default().push(rec);
            }
            None => pos = (pos / 2048 + 1) * 2048,
        }
    }
    let mut iso = IsoImage::open(built.image).unwrap();
    let entries = iso.read_dir(&iso.root()).unwrap();
    assert_eq!(entries.len(), sizes.len());
    for ((i, &size), entry) in sizes.iter().enumerate().zip(&entries) {
        let recs = &records[format!("F{i:02}.;1").as_bytes()];
        let count = extent_count(size);
        assert_eq!(recs.len() as u64, count, "size {size}");
        let start = built.file_extents[tree.children(NodeId::ROOT).nth(i).unwrap().index()];
        for (k, rec) in recs.iter().enumerate() {
            let last = k + 1 == recs.len();
            assert_eq!(
                rec.flags & FLAG_MULTI_EXTENT != 0,
                !last,
                "size {size} part {k}"
            );
            assert_eq!(
                rec.extent,
                start + k as u32 * 0x1F_FFFF,
                "size {size} part {k}"
            );
            let expect = if last {
                size - k as u64 * MAX_EXTENT_BYTES
            } else {
                MAX_EXTENT_BYTES
            };
            assert_eq!(u64::from(rec.data_length), expect, "size {size} part {k}");
        }
        // The reader merges them back into one entry of the right size.
        assert_eq!(entry.name, format!("F{i:02}"));
        assert_eq!(entry.size, size);
        assert_eq!(entry.extents.len() as u64, count);
        assert_eq!(entry.extents[0].0, start);
    }
    // First and last byte of the 4 GiB + 1 file come back through its two extents.
    let big = &entries[11];
    let mut file = iso.open_file(big).unwrap();
    let mut first = [0u8; 1];
    file.read_exact(&mut first).unwrap();
    assert_eq!(first, [0x5A]);
    let last_extent = *big.extents.last().unwrap();
    assert_eq!(last_extent.1, 2049, "4 GiB + 1 = 0xFFFFF800 + 2049");
    let mut tail = [0u8; 1];
    let mut reader = iso.into_inner();
    reader
        .read_at(u64::from(last_extent.0) * 2048 + 2048, &mut tail)
        .unwrap();
    assert_eq!(tail, [0xA5]);
}

#[test]
fn file_reader_follows_extents_in_order() {
    let mut image = SparseImage::default();
    image.write(
        16 * 2048,
        &IsoPlan::new(&sample_tree())
            .unwrap()
            .primary_volume_descriptor(
                &sample_tree(),
                &VolumeInfo::default(),
                40,
                18,
                19,
                &[20, 21, 22],
            ),
    );
    image.write(17 * 2048, &IsoPlan::terminator());
    image.write(30 * 2048, b"first-");
    image.write(25 * 2048, b"second");
    image.len = 40 * 2048;
    let mut iso = IsoImage::open(image).unwrap();
    let entry = IsoEntry {
        identifier: "SPLIT.;1".into(),
        name: "SPLIT".into(),
        is_dir: false,
        size: 12,
        extents: vec![(30, 6), (25, 6), (26, 0)],
        mtime: T,
    };
    let mut data = Vec::new();
    iso.open_file(&entry)
        .unwrap()
        .read_to_end(&mut data)
        .unwrap();
    assert_eq!(data, b"first-second");
    let mut small = [0u8; 4];
    let mut file = iso.open_file(&entry).unwrap();
    let n = file.read(&mut small).unwrap();
    assert_eq!(&small[..n], b"firs");
    let mut out = Vec::new();
    assert_eq!(iso.copy_to(&entry, &mut out).unwrap(), 12);
    assert_eq!(out, b"first-second");
}

#[test]
fn visit_streams_entries_and_lets_the_callback_read_files() {
    let tree = sample_tree();
    let built = build(&tree, &volume());
    let mut iso = IsoImage::open(Cursor::new(built.image.to_vec())).unwrap();
    let mut seen = Vec::new();
    let mut bytes_read = 0;
    iso.visit(|iso, path, entry| {
        seen.push(path.to_owned());
        if !entry.is_dir {
            bytes_read += iso.copy_to(entry, &mut io::sink())?;
        }
        Ok(())
    })
    .unwrap();
    assert_eq!(seen.len(), 9);
    assert!(seen.iter().position(|p| p == "DOCS") < seen.iter().position(|p| p == "DOCS/A"));
    assert_eq!(
        bytes_read,
        5 + 3 + 1 + 2 + 2049 + 2048,
        "every file, the empty one too"
    );
    // An error from the callback stops the walk and comes back as is.
    let mut calls = 0;
    let err = iso
        .visit(|_, path, _| {
            calls += 1;
            Err(ReadError::NoSuchPath(path.to_owned()))
        })
        .unwrap_err();
    assert!(matches!(err, ReadError::NoSuchPath(_)));
    assert_eq!(calls, 1);
}
