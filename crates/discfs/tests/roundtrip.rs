//! Property tests: any tree written by our writer reads back identically through both of
//! our readers, and no damage to an image makes a reader panic.

use std::collections::BTreeMap;
use std::io::Cursor;
use std::sync::Arc;

use discfs::iso9660::IsoImage;
use discfs::udf::read::UdfVolume;
use discfs::{FileSource, NodeId, Timestamp, Tree, TreeBuilder, VolumeInfo};
use proptest::prelude::*;

/// A generated tree: paths (with the file contents, `None` for directories).
type Spec = BTreeMap<Vec<String>, Option<Vec<u8>>>;

fn name() -> impl Strategy<Value = String> {
    prop_oneof![
        "[a-zA-Z0-9 _.-]{1,20}",
        "[a-z]{1,8}\\.[a-z]{1,4}",
        "[éàüß日本語😀\u{301}A-Z]{1,12}",
        "[a-z]{200,300}",
    ]
    .prop_filter("not . or ..", |s| s != "." && s != "..")
}

fn content() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        Just(Vec::new()),
        proptest::collection::vec(any::<u8>(), 1..100),
        (2040usize..2060).prop_map(|n| (0..n).map(|i| (i % 251) as u8).collect()),
        (4090usize..4100).prop_map(|n| vec![0x5A; n]),
    ]
}

fn spec() -> impl Strategy<Value = Spec> {
    let path = proptest::collection::vec(name(), 1..12);
    proptest::collection::vec((path, proptest::option::weighted(0.8, content())), 0..40).prop_map(
        |items| {
            let mut spec = Spec::new();
            for (path, content) in items {
                // A path whose prefix is already a file would need a file to be a directory.
                let blocked =
                    (1..path.len()).any(|n| matches!(spec.get(&path[..n]), Some(Some(_))));
                if blocked || spec.contains_key(&path) {
                    continue;
                }
                if content.is_some()
                    && spec
                        .keys()
                        .any(|k| k.len() > path.len() && k.starts_with(&path))
                {
                    continue;
                }
                for n in 1..path.len() {
                    spec.entry(path[..n].to_vec()).or_insert(None);
                }
                spec.insert(path, content);
            }
            spec
        },
    )
}

fn build(spec: &Spec) -> Tree {
    let t = |i: usize| Timestamp::new(1_500_000_000 + i as i64 * 86_401, 0);
    let mut b = TreeBuilder::new(t(0));
    let mut ids: BTreeMap<Vec<String>, NodeId> = BTreeMap::new();
    for (i, (path, content)) in spec.iter().enumerate() {
        let parent = if path.len() == 1 {
            NodeId::ROOT
        } else {
            ids[&path[..path.len() - 1]]
        };
        let leaf = path.last().unwrap();
        let id = match content {
            None => b.dir(parent, leaf, t(i)).unwrap(),
            Some(c) => b
                .file(
                    parent,
                    leaf,
                    t(i),
                    c.len() as u64,
                    FileSource::Bytes(Arc::from(c.as_slice())),
                )
                .unwrap(),
        };
        ids.insert(path.clone(), id);
    }
    b.build().unwrap()
}

fn image_of(tree: &Tree) -> (Vec<u8>, discfs::Layout) {
    let layout = discfs::layout(tree, &VolumeInfo::default()).unwrap();
    let mut image = Vec::new();
    discfs::write_image(tree, &layout, &mut image, &mut ()).unwrap();
    assert_eq!(image.len() as u64, layout.image_size());
    (image, layout)
}

fn content_of(tree: &Tree, id: NodeId) -> Vec<u8> {
    match tree.source(id) {
        Some(FileSource::Bytes(b)) => b.to_vec(),
        _ => Vec::new(),
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn udf_view_reads_back_exactly(spec in spec()) {
        let tree = build(&spec);
        let (image, layout) = image_of(&tree);
        let mut vol = UdfVolume::open(Cursor::new(&image)).unwrap();
        let mut seen = 0;
        for (path, entry) in vol.walk().unwrap() {
            // Find the node by walking UDF names.
            let mut at = NodeId::ROOT;
            for part in path.split('/') {
                at = tree.children(at).find(|&c| layout.udf_name(&tree, c) == part).unwrap();
            }
            prop_assert_eq!(entry.is_dir, tree.is_dir(at));
            prop_assert_eq!(entry.mtime, Some(tree.mtime(at)));
            if !entry.is_dir {
                let mut data = Vec::new();
                vol.copy_to(&entry, &mut data).unwrap();
                prop_assert_eq!(data, content_of(&tree, at));
            }
            seen += 1;
        }
        prop_assert_eq!(seen, tree.len() - 1);
        let integrity = vol.integrity().unwrap();
        prop_assert_eq!(u64::from(integrity.files), tree.file_count());
        prop_assert_eq!(u64::from(integrity.dirs), tree.dir_count());
    }

    #[test]
    fn iso_view_reads_back_through_the_path_map(spec in spec()) {
        let tree = build(&spec);
        let (image, layout) = image_of(&tree);
        let mut iso = IsoImage::open(Cursor::new(&image)).unwrap();
        let map: BTreeMap<String, NodeId> = layout.iso_paths(&tree).collect();
        let mut files = 0;
        for (path, entry) in iso.walk().unwrap() {
            let Some(&node) = map.get(&path) else {
                // Only the directory that holds relocated deep directories has no node.
                prop_assert!(entry.is_dir, "ISO file {} not in the map", path);
                continue;
            };
            prop_assert_eq!(entry.is_dir, tree.is_dir(node), "{}", path);
            if !entry.is_dir {
                let mut data = Vec::new();
                iso.copy_to(&entry, &mut data).unwrap();
                prop_assert_eq!(data, content_of(&tree, node));
                files += 1;
            }
        }
        prop_assert_eq!(files as u64, tree.file_count());
    }

    #[test]
    fn damaged_images_give_errors_not_panics(
        spec in spec(),
        flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..24),
        cut in proptest::option::of(any::<prop::sample::Index>()),
    ) {
        let tree = build(&spec);
        let (mut image, _) = image_of(&tree);
        // Damage the metadata region, where structures live (data damage is not a reader's
        // concern): the first 300 sectors plus the partition's start.
        let meta_len = image.len().min(700 * 2048);
        for (at, byte) in flips {
            let i = at.index(meta_len);
            image[i] ^= byte | 1;
        }
        if let Some(cut) = cut {
            image.truncate(cut.index(image.len()));
        }
        if let Ok(mut vol) = UdfVolume::open(Cursor::new(&image)) {
            if let Ok(entries) = vol.walk() {
                for (_, e) in entries.iter().filter(|(_, e)| !e.is_dir).take(50) {
                    let _ = vol.copy_to(e, &mut std::io::sink());
                }
            }
        }
        if let Ok(mut iso) = IsoImage::open(Cursor::new(&image)) {
            if let Ok(entries) = iso.walk() {
                for (_, e) in entries.iter().filter(|(_, e)| !e.is_dir).take(50) {
                    let _ = iso.copy_to(e, &mut std::io::sink());
                }
            }
        }
    }
}
