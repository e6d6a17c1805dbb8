//! `Catalogue::merge`: two catalogues of two scanned and written trees joined into one, and
//! every way a merge is refused without changing anything.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use odarchive::{
    ArchiveOptions, Catalogue, DiscState, Error, Media, NoProgress, PlanOptions, ScanOptions,
    WriteOptions,
};

/// A tree and its catalogue, archived (scanned, planned, written) onto 2 MB discs.
struct Archived {
    _dir: tempfile::TempDir,
    drive: PathBuf,
    out: PathBuf,
    catalogue: Catalogue,
}

/// `files`: (path, content). `shared` is written into every tree made with it.
/// A replan onto 2 MB discs without parity.
fn two_mb_plan() -> PlanOptions {
    PlanOptions {
        media: Media::parse("2M").unwrap(),
        margin: 0,
        first: Vec::new(),
        replan: true,
        parity: 0,
        set_parity: Default::default(),
    }
}

fn archived(files: &[(&str, Vec<u8>)]) -> Archived {
    let dir = tempfile::tempdir().unwrap();
    let drive = dir.path().join("drive");
    for (path, data) in files {
        let p = drive.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, data).unwrap();
    }
    let out = dir.path().join("out");
    let mut catalogue = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
    odarchive::archive(
        &mut catalogue,
        &ArchiveOptions {
            drive: drive.clone(),
            scan: ScanOptions::default(),
            plan: two_mb_plan(),
            out: out.clone(),
        },
        &NoProgress,
    )
    .unwrap();
    Archived {
        _dir: dir,
        drive,
        out,
        catalogue,
    }
}

fn bytes(seed: u8, len: usize) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed))
        .collect()
}

const SHARED: &[u8] = b"the same file in both trees";

fn tree_a() -> Archived {
    archived(&[
        ("photos/a1.jpg", bytes(1, 900_000)),
        ("photos/a2.jpg", bytes(2, 900_000)),
        ("docs/shared.txt", SHARED.to_vec()),
        ("docs/a.txt", b"only in A".to_vec()),
    ])
}

fn tree_b() -> Archived {
    archived(&[
        ("music/b1.flac", bytes(3, 1_200_000)),
        ("music/b2.flac", bytes(4, 700_000)),
        ("notes/shared copy.txt", SHARED.to_vec()),
        ("notes/b.txt", b"only in B".to_vec()),
    ])
}

/// Row counts of every table, and the whole content of the tables a merge writes, as text:
/// enough to tell that nothing changed.
fn dump(c: &Catalogue) -> String {
    let mut out = String::new();
    let conn = raw(c);
    for table in [
        "snapshot",
        "content",
        "entry",
        "scan_error",
        "plan",
        "disc",
        "placement",
    ] {
        let mut stmt = conn
            .prepare(&format!("SELECT * FROM {table} ORDER BY id"))
            .unwrap();
        let columns = stmt.column_count();
        let mut rows = stmt.query([]).unwrap();
        while let Some(r) = rows.next().unwrap() {
            out.push_str(table);
            for i in 0..columns {
                let v: rusqlite::types::Value = r.get(i).unwrap();
                out.push_str(&format!(" {v:?}"));
            }
            out.push('\n');
        }
    }
    out
}

fn count(c: &Catalogue, sql: &str) -> i64 {
    raw(c).query_row(sql, [], |r| r.get(0)).unwrap()
}

/// A connection of the test's own to `c`'s file, to read or tamper with it.
fn raw(c: &Catalogue) -> rusqlite::Connection {
    rusqlite::Connection::open(c.path()).unwrap()
}

fn refused(result: odarchive::Result<odarchive::catalogue::MergeReport>) -> String {
    match result {
        Err(e @ Error::MergeRefused { .. }) => e.to_string(),
        other => panic!("expected MergeRefused, got {other:?}"),
    }
}

#[test]
fn two_archives_merge_with_shared_contents_once_and_discs_renumbered() {
    let mut a = tree_a();
    let b = tree_b();
    let a_discs = a.catalogue.discs().unwrap();
    let b_discs = b.catalogue.discs().unwrap();
    assert!(
        a_discs.len() >= 2 && b_discs.len() >= 2,
        "several discs each"
    );
    let a_set = a.catalogue.archive().unwrap().set_id;
    let b_set = b.catalogue.archive().unwrap().set_id;
    let a_contents = count(&a.catalogue, "SELECT count(*) FROM content");
    let b_contents = count(&b.catalogue, "SELECT count(*) FROM content");
    let a_entries = count(&a.catalogue, "SELECT count(*) FROM entry");
    let b_entries = count(&b.catalogue, "SELECT count(*) FROM entry");

    let report = a.catalogue.merge(&b.catalogue).unwrap();

    assert_eq!(report.other_set_id, b_set);
    assert_eq!(report.snapshots.len(), 1);
    assert_eq!((report.snapshots[0].from, report.snapshots[0].id), (1, 2));
    assert_eq!(report.entries, b_entries as u64);
    assert_eq!(report.contents_shared, 1, "the shared file's content");
    assert_eq!(report.contents_new, b_contents as u64 - 1);
    assert_eq!(
        count(&a.catalogue, "SELECT count(*) FROM content"),
        a_contents + b_contents - 1,
        "a content both trees hold is stored once"
    );
    assert_eq!(
        count(&a.catalogue, "SELECT count(*) FROM entry"),
        a_entries + b_entries
    );
    assert_eq!(count(&a.catalogue, "SELECT count(*) FROM snapshot"), 2);

    // B's discs come after A's, keeping their labels, set, state and image hashes.
    let discs = a.catalogue.discs().unwrap();
    assert_eq!(discs.len(), a_discs.len() + b_discs.len());
    for (i, theirs) in b_discs.iter().enumerate() {
        let here = discs.iter().find(|d| d.label == theirs.label).unwrap();
        assert_eq!(here.number, a_discs.len() as u32 + 1 + i as u32);
        assert_eq!(here.set_id, b_set);
        assert_eq!(here.state, DiscState::Written);
        assert_eq!(here.image_sha256, theirs.image_sha256);
        assert_eq!(here.snapshot, 2, "B's snapshot, by its new id");
        let merged = &report.discs[i];
        assert_eq!((merged.from, merged.number), (theirs.number, here.number));
        assert!(merged.renumbered());
        // The same files in the same places, now under this catalogue's content ids.
        let there: Vec<_> = b.catalogue.placements_on(theirs.number).unwrap();
        let now: Vec<_> = a.catalogue.placements_on(here.number).unwrap();
        let key = |p: &odarchive::Placement| (p.content_hash, p.part, p.disc_path.clone());
        assert_eq!(
            there.iter().map(key).collect::<Vec<_>>(),
            now.iter().map(key).collect::<Vec<_>>()
        );
    }
    for d in &discs[..a_discs.len()] {
        assert_eq!(d.set_id, a_set, "A's own discs stay in A's set");
    }

    // Both snapshots read back as their trees.
    let mut paths = BTreeSet::new();
    a.catalogue
        .for_each_entry(2, |e| {
            paths.insert(String::from_utf8(e.path).unwrap());
            Ok(())
        })
        .unwrap();
    assert!(paths.contains("music/b1.flac") && paths.contains("notes/shared copy.txt"));
    assert!(!paths.contains("photos/a1.jpg"));

    // Every content is held by a written disc: nothing is left to plan for B's snapshot.
    match odarchive::plan(&mut a.catalogue, &two_mb_plan(), &NoProgress) {
        Err(Error::NothingToPlan { .. }) => {}
        other => panic!("expected nothing to plan, got {other:?}"),
    }
    drop(b);
}

#[test]
fn after_a_merge_a_new_scan_plans_only_new_contents_and_writing_skips_the_other_set() {
    let mut a = tree_a();
    let b = tree_b();
    a.catalogue.merge(&b.catalogue).unwrap();
    let before = a.catalogue.discs().unwrap();

    // A drive holding both trees and one new file.
    let both = a._dir.path().join("both");
    copy_tree(&a.drive, &both.join("a"));
    copy_tree(&b.drive, &both.join("b"));
    std::fs::write(both.join("new.txt"), b"written after the merge").unwrap();
    odarchive::scan(
        &mut a.catalogue,
        &both,
        &ScanOptions::default(),
        &NoProgress,
    )
    .unwrap();
    let plan = odarchive::plan(&mut a.catalogue, &two_mb_plan(), &NoProgress).unwrap();
    assert_eq!(plan.contents, 1, "only new.txt: {plan:?}");
    assert_eq!(plan.discs.len(), 1);
    assert_eq!(plan.discs[0].number, before.len() as u32 + 1);

    // Into A's folder: A's images are there and intact, B's are not (they are elsewhere).
    let written = odarchive::write(
        &mut a.catalogue,
        &WriteOptions {
            out: a.out.clone(),
            ..WriteOptions::default()
        },
        &NoProgress,
    )
    .unwrap();
    let b_set = b.catalogue.archive().unwrap().set_id;
    let fresh: Vec<_> = written.iter().filter(|w| !w.skipped).collect();
    assert_eq!(fresh.len(), 1, "only the new disc is written: {written:?}");
    assert_eq!(fresh[0].number, plan.discs[0].number);
    for w in &written {
        let d = before.iter().find(|d| d.number == w.number);
        assert!(
            d.is_none_or(|d| d.set_id != b_set),
            "a disc of the merged set is never rewritten here: {w:?}"
        );
    }
    // Asked for by number, a disc of the other set is a clear error.
    let foreign = before.iter().find(|d| d.set_id == b_set).unwrap();
    match odarchive::write(
        &mut a.catalogue,
        &WriteOptions {
            out: a.out.clone(),
            discs: vec![foreign.number],
            ..WriteOptions::default()
        },
        &NoProgress,
    ) {
        Err(Error::ForeignDisc { number, .. }) => assert_eq!(number, foreign.number),
        other => panic!("expected ForeignDisc, got {other:?}"),
    }
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).unwrap();
        }
    }
}

#[test]
fn a_catalogue_cannot_be_merged_into_itself() {
    let mut a = tree_a();
    let again = Catalogue::open_read_only(a.catalogue.path()).unwrap();
    let before = dump(&a.catalogue);
    let message = refused(a.catalogue.merge(&again));
    assert!(message.contains("itself"), "{message}");
    assert_eq!(dump(&a.catalogue), before);
}

#[test]
fn a_copy_of_this_catalogue_is_refused_and_nothing_changes() {
    let mut a = tree_a();
    let copy_path = a._dir.path().join("copy.db");
    raw(&a.catalogue)
        .execute("VACUUM INTO ?1", [copy_path.to_str().unwrap()])
        .unwrap();
    let copy = Catalogue::open_read_only(&copy_path).unwrap();
    let before = dump(&a.catalogue);
    let message = refused(a.catalogue.merge(&copy));
    assert!(message.contains("copy of this catalogue"), "{message}");
    assert!(message.contains("already here"), "{message}");
    assert_eq!(dump(&a.catalogue), before);
}

#[test]
fn merging_the_same_catalogue_twice_is_refused() {
    let mut a = tree_a();
    let b = tree_b();
    a.catalogue.merge(&b.catalogue).unwrap();
    let before = dump(&a.catalogue);
    let message = refused(a.catalogue.merge(&b.catalogue));
    assert!(message.contains("merged into it before"), "{message}");
    assert_eq!(dump(&a.catalogue), before);
}

#[test]
fn a_label_naming_another_disc_here_is_a_conflict_listed_with_the_others() {
    let mut a = tree_a();
    let b = tree_b();
    // Make B's set share A's label prefix (as two sets whose ids start alike would), and
    // change B's algorithm name: both conflicts are reported at once.
    let a_label = a.catalogue.discs().unwrap()[0].label.clone();
    raw(&b.catalogue)
        .execute("UPDATE disc SET label = ?1 WHERE number = 1", [&a_label])
        .unwrap();
    raw(&b.catalogue)
        .execute("UPDATE archive SET hash_algorithm = 'sha512'", [])
        .unwrap();
    let before = dump(&a.catalogue);
    let message = refused(a.catalogue.merge(&b.catalogue));
    assert!(
        message.contains(&format!(
            "label {a_label} names disc 1 here and disc 1 there"
        )),
        "{message}"
    );
    assert!(
        message.contains("sha256") && message.contains("sha512"),
        "{message}"
    );
    assert!(
        message.contains(&a.catalogue.path().display().to_string())
            && message.contains(&b.catalogue.path().display().to_string()),
        "both files are named: {message}"
    );
    assert_eq!(dump(&a.catalogue), before);
}

#[test]
fn a_disc_both_catalogues_hold_is_not_copied_twice() {
    // C is A's discs' catalogue continued elsewhere: a catalogue made from A's discs, that
    // then scanned something else. Its copy of A's disc 1 is the same disc.
    let mut a = tree_a();
    let b = tree_b();
    let a_first = a.catalogue.discs().unwrap()[0].clone();
    // Give B a disc row that is A's disc 1: same label, set, size and image hash.
    let conn = raw(&b.catalogue);
    conn.execute(
        "INSERT INTO disc (number, plan_id, snapshot, capacity, margin, media, label, state, \
         image_size, files, bytes, image_name, image_sha256, written_ns, set_id) \
         SELECT 99, plan_id, snapshot, capacity, margin, media, ?1, 'written', ?2, files, \
         bytes, image_name, ?3, written_ns, ?4 FROM disc WHERE number = 1",
        rusqlite::params![
            a_first.label,
            a_first.image_size as i64,
            a_first.image_sha256.unwrap().to_vec(),
            a_first.set_id
        ],
    )
    .unwrap();
    let report = a.catalogue.merge(&b.catalogue).unwrap();
    assert_eq!(report.discs_already_here, vec![a_first.label.clone()]);
    let discs = a.catalogue.discs().unwrap();
    assert_eq!(
        discs.iter().filter(|d| d.label == a_first.label).count(),
        1,
        "one row for the one disc"
    );
    let _ = (a.out, a.drive);
}

#[test]
fn merged_entries_keep_their_owners() {
    let mut a = tree_a();
    let b = tree_b();
    let owned = "SELECT count(*) FROM entry WHERE uid IS NOT NULL AND gid IS NOT NULL";
    let named = "SELECT count(*) FROM entry WHERE user_name IS NOT NULL OR group_name IS NOT NULL";
    let a_before = (count(&a.catalogue, owned), count(&a.catalogue, named));
    let b_rows = (count(&b.catalogue, owned), count(&b.catalogue, named));
    assert_eq!(b_rows.0, count(&b.catalogue, "SELECT count(*) FROM entry"));
    a.catalogue.merge(&b.catalogue).unwrap();
    let after = (count(&a.catalogue, owned), count(&a.catalogue, named));
    assert_eq!(after, (a_before.0 + b_rows.0, a_before.1 + b_rows.1));
}
