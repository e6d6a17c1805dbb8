//! Damaged images: errors, never panics.

use super::*;

#[test]
fn truncated_and_corrupt_images_give_errors() {
    let tree = sample_tree();
    let image = build(&tree, &volume()).image.to_vec();
    // Nothing at all, or cut inside the descriptors.
    for cut in [0, 100, 16 * 2048, 16 * 2048 + 100] {
        assert!(
            IsoImage::open(Cursor::new(image[..cut].to_vec())).is_err(),
            "cut {cut}"
        );
    }
    // Cut after the descriptors: opens, but the walk reports truncation.
    let mut iso = IsoImage::open(Cursor::new(image[..18 * 2048].to_vec())).unwrap();
    assert!(matches!(iso.walk(), Err(ReadError::Truncated { .. })));

    // A subdirectory whose record points back at the root: a loop.
    let root_sector =
        u32::from_le_bytes(image[16 * 2048 + 158..16 * 2048 + 162].try_into().unwrap());
    let mut looped = image.clone();
    let root_at = root_sector as usize * 2048;
    let mut pos = root_at + 68;
    loop {
        let rec = DirRecord::parse(&looped[pos..]).unwrap().unwrap();
        if rec.is_dir() {
            looped[pos + 2..pos + 10].copy_from_slice(&encode::both_u32(root_sector));
            break;
        }
        pos += rec.encoded_len();
    }
    let mut iso = IsoImage::open(Cursor::new(looped)).unwrap();
    assert!(matches!(iso.walk(), Err(ReadError::Corrupt { .. })));

    // A malformed record length.
    let mut bad = image.clone();
    bad[root_at + 68] = 7;
    let mut iso = IsoImage::open(Cursor::new(bad)).unwrap();
    assert!(matches!(iso.walk(), Err(ReadError::Corrupt { .. })));

    // A file whose extent lies past the end.
    let mut iso = IsoImage::open(Cursor::new(image.clone())).unwrap();
    let mut entry = iso.lookup("CAFE.MD").unwrap();
    entry.extents[0].0 = u32::MAX;
    assert!(matches!(
        iso.open_file(&entry),
        Err(ReadError::Truncated { .. })
    ));

    // Another block size.
    let mut odd = image;
    odd[16 * 2048 + 128..16 * 2048 + 132].copy_from_slice(&encode::both_u16(512));
    assert!(IsoImage::open(Cursor::new(odd)).is_err());
}

mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Names drawn from pieces that collide a lot once mapped.
    fn name() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "a",
            "A",
            "é",
            "e\u{301}",
            "ß",
            "SS",
            "日本",
            "😀",
            ".",
            "..x",
            "txt",
            " ",
            "_",
            "1",
            "long-name-part-",
            "Ω",
            "ﬁ",
            "\u{200D}",
        ]);
        prop::collection::vec(piece, 1..12)
            .prop_map(|p| p.concat())
            .prop_filter("valid tree name", |n| n != "." && n != "..")
    }

    /// A random tree: each entry names its parent among the directories made so far.
    fn tree() -> impl Strategy<Value = Tree> {
        prop::collection::vec((name(), any::<bool>(), any::<prop::sample::Index>()), 0..60)
            .prop_map(|entries| {
                let mut b = TreeBuilder::new(T);
                let mut dirs = vec![NodeId::ROOT];
                for (name, is_dir, parent) in entries {
                    let parent = dirs[parent.index(dirs.len())];
                    if is_dir {
                        if let Ok(d) = b.dir(parent, &name, T) {
                            dirs.push(d);
                        }
                    } else if b.child_dir(parent, &name).is_none() {
                        let _ = b.file(parent, &name, T, name.len() as u64, sparse());
                    }
                }
                b.build()
                    .unwrap_or_else(|_| TreeBuilder::new(T).build().unwrap())
            })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(200))]

        #[test]
        fn plans_keep_limits_and_never_collide(tree in tree()) {
            let plan = IsoPlan::new(&tree).unwrap();
            check_limits(&plan, &tree);
            // Deterministic: the same tree plans the same.
            let again: Vec<(String, NodeId)> = IsoPlan::new(&tree).unwrap().paths(&tree).collect();
            prop_assert_eq!(plan.paths(&tree).collect::<Vec<_>>(), again);
        }

        #[test]
        fn reader_never_panics_on_damaged_images(
            flips in prop::collection::vec((0usize..40 * 2048, any::<u8>()), 1..40)
        ) {
            let tree = sample_tree();
            let mut image = build(&tree, &volume()).image.to_vec();
            let span = image.len() - 16 * 2048;
            for (at, value) in flips {
                if let Some(b) = image.get_mut(16 * 2048 + at % span) {
                    *b = value;
                }
            }
            if let Ok(mut iso) = IsoImage::open(Cursor::new(image)) {
                let _ = iso.path_table(false);
                let _ = iso.path_table(true);
                if let Ok(all) = iso.walk() {
                    for (_, entry) in all.iter().filter(|(_, e)| !e.is_dir).take(20) {
                        let _ = iso.copy_to(entry, &mut io::sink());
                    }
                }
            }
        }
    }
}
