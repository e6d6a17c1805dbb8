//! Properties over random trees and damaged images: limits and uniqueness of the mapping,
//! writer → reader round trips, and a reader that never panics.

use std::collections::HashMap;

use proptest::prelude::*;

use super::*;

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
        "_deep",
    ]);
    prop::collection::vec(piece, 1..12)
        .prop_map(|p| p.concat())
        .prop_filter("valid tree name", |n| n != "." && n != "..")
}

/// One entry of a random tree: its name, whether it is a directory, where it goes (under
/// the directory made last, to grow deep chains, or under any one made so far), and its
/// mtime.
type Spec = (String, bool, bool, prop::sample::Index, i64);

/// A random tree whose files hold their own name as content.
fn tree() -> impl Strategy<Value = Tree> {
    let spec = (
        name(),
        any::<bool>(),
        any::<bool>(),
        any::<prop::sample::Index>(),
        -3_000_000_000i64..7_000_000_000,
    );
    prop::collection::vec(spec, 0..80).prop_map(|entries: Vec<Spec>| {
        let mut b = TreeBuilder::new(T);
        let mut dirs = vec![NodeId::ROOT];
        let mut taken: HashMap<NodeId, HashSet<String>> = HashMap::new();
        for (name, is_dir, deepen, parent, mtime) in entries {
            let parent = if deepen {
                *dirs.last().unwrap()
            } else {
                dirs[parent.index(dirs.len())]
            };
            if !taken.entry(parent).or_default().insert(name.clone()) {
                continue;
            }
            if is_dir {
                dirs.push(b.dir(parent, &name, at(mtime)).unwrap());
            } else {
                let size = name.len() as u64;
                b.file(parent, &name, at(mtime), size, bytes(name.as_bytes()))
                    .unwrap();
            }
        }
        b.build().unwrap()
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
    fn what_is_written_reads_back(tree in tree()) {
        let built = build(&tree, &volume());
        let mut iso = IsoImage::open(Cursor::new(built.image.to_vec())).unwrap();
        let walked: HashMap<String, IsoEntry> = iso.walk().unwrap().into_iter().collect();
        let planned: Vec<(String, NodeId)> = built.plan.paths(&tree).collect();
        let deep = usize::from(walked.contains_key(RELOCATION_DIR));
        prop_assert_eq!(walked.len(), planned.len() + deep);
        for (path, node) in planned {
            let entry = &walked[&path];
            prop_assert_eq!(entry.is_dir, tree.is_dir(node));
            if !entry.is_dir {
                let mut data = Vec::new();
                iso.copy_to(entry, &mut data).unwrap();
                prop_assert_eq!(data, tree.name(node).as_bytes());
                let written = encode::short_date(tree.mtime(node));
                prop_assert_eq!(Some(entry.mtime), encode::parse_short_date(&written));
            }
        }
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
