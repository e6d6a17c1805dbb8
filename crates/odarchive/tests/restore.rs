//! Restore through the library, several times with one catalogue handle: a tree of deep
//! folders and many names per content comes back exactly (bytes, other names, symlinks, empty
//! folders, modes and mtimes), first in part from the discs given, then whole, then as
//! "already in place" through a read-only handle; and each restore leaves the connection as it
//! found it (no TEMP tables left, the temp store put back).

mod common;

use common::scan_plan_write;
use testkit::noise;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use filetime::FileTime;
use odarchive::Catalogue;
use odarchive::restore::{RestoreOptions, RestoreReport, execute, prepare, restore};

/// Twelve contents under 300 names, along a 30-folder chain and across 10 wide folders; a
/// file larger than a 5 MB disc (split), an empty file, an empty folder, symlinks; modes and
/// mtimes that differ from one entry to the next.
fn make_drive(root: &Path) {
    let chain: Vec<String> = (0..30).map(|i| format!("deep{i:02}")).collect();
    let mut dirs = Vec::new();
    for depth in 1..=chain.len() {
        dirs.push(chain[..depth].join("/"));
    }
    for w in 0..10 {
        dirs.push(format!("wide/w{w}"));
    }
    for d in &dirs {
        fs::create_dir_all(root.join(d)).unwrap();
    }
    let contents: Vec<Vec<u8>> = (0..12).map(|k| noise(k as u64, 100 + 997 * k)).collect();
    for i in 0..300 {
        let dir = &dirs[(i * 7) % dirs.len()];
        let path = root.join(dir).join(format!("dup-{i:03}.bin"));
        fs::write(&path, &contents[i % contents.len()]).unwrap();
        fs::set_permissions(
            &path,
            fs::Permissions::from_mode(0o600 + (i as u32 % 3) * 0o040),
        )
        .unwrap();
        let t = FileTime::from_unix_time(1_600_000_000 + i as i64 * 60, 0);
        filetime::set_file_times(&path, t, t).unwrap();
    }
    fs::write(root.join("big.bin"), noise(99, 7_300_000)).unwrap();
    fs::write(root.join(&dirs[12]).join("empty.txt"), b"").unwrap();
    fs::create_dir_all(root.join("empty folder/inside")).unwrap();
    std::os::unix::fs::symlink("../wide", root.join("empty folder/to wide")).unwrap();
    std::os::unix::fs::symlink("nowhere", root.join(&dirs[29]).join("dangling")).unwrap();
    // Folder mtimes last, deepest first, so that nothing touches them afterwards.
    let mut all_dirs: Vec<PathBuf> = vec![
        root.join("empty folder/inside"),
        root.join("empty folder"),
        root.join("wide"),
    ];
    all_dirs.extend(dirs.iter().rev().map(|d| root.join(d)));
    for (i, d) in all_dirs.iter().enumerate() {
        let t = FileTime::from_unix_time(1_500_000_000 + i as i64 * 3600, 0);
        filetime::set_file_times(d, t, t).unwrap();
    }
}

/// Everything under `root`: kind, bytes or link target, mtime, permission bits.
fn tree(root: &Path) -> BTreeMap<PathBuf, (char, Vec<u8>, i64, u32)> {
    let mut out = BTreeMap::new();
    for (rel, path, meta) in testkit::walk(root) {
        let (kind, data, mode) = if meta.is_dir() {
            ('d', Vec::new(), meta.mode() & 0o7777)
        } else if meta.is_symlink() {
            let target = fs::read_link(&path).unwrap();
            ('l', target.into_os_string().into_encoded_bytes(), 0)
        } else {
            ('f', fs::read(&path).unwrap(), meta.mode() & 0o7777)
        };
        out.insert(rel, (kind, data, meta.mtime(), mode));
    }
    out
}

/// What the connection holds in its temp database, and its temp store setting.
fn temp_state(catalogue: &Catalogue) -> (i64, i64) {
    let tables = catalogue.temp_table_count().unwrap();
    let store = catalogue.temp_store().unwrap();
    (tables, store)
}

fn run(catalogue: &Catalogue, from: &[PathBuf], to: &Path, patterns: &[&str]) -> RestoreReport {
    let before = temp_state(catalogue);
    let options = RestoreOptions {
        from: from.to_vec(),
        to: to.to_owned(),
        patterns: patterns.iter().map(|p| p.to_string()).collect(),
        ..RestoreOptions::default()
    };
    let report = restore(catalogue, &options).unwrap();
    assert_eq!(
        temp_state(catalogue),
        before,
        "a restore leaves no TEMP table and puts the temp store back"
    );
    report
}

#[test]
fn restores_in_one_process_give_the_exact_tree_and_leave_no_temp_tables() {
    let work = tempfile::tempdir().unwrap();
    let drive = work.path().join("drive");
    make_drive(&drive);
    let db = work.path().join("odarchive.db");
    let mut catalogue = Catalogue::create_or_open(&db).unwrap();
    let images = scan_plan_write(&mut catalogue, &drive, &work.path().join("images"));
    assert!(images.len() >= 2, "{images:?}");
    // Temp tables and sorts spill to a file (temp_store = FILE), never to memory.
    assert_eq!(temp_state(&catalogue), (0, 1));
    let want = tree(&drive);

    // The first disc alone: a partial restore that names the others.
    let dest = work.path().join("restored");
    let first = run(&catalogue, &images[..1], &dest, &[]);
    assert!(!first.complete());
    assert_eq!(first.discs_read, [1]);
    let missing: Vec<u32> = first.missing_discs.iter().map(|d| d.number).collect();
    let rest: Vec<u32> = (2..=images.len() as u32).collect();
    assert_eq!(missing, rest, "{first:?}");
    assert!(first.problems.is_empty(), "{:?}", first.problems);

    // Every disc, same handle: the rest, and the tree exactly.
    let second = run(&catalogue, &images, &dest, &[]);
    assert!(second.complete(), "{second:?}");
    assert!(second.files_already_done > 0, "{second:?}");
    assert_eq!(
        second.files_already_done + second.files_restored,
        14,
        "12 contents, big.bin and the empty file: {second:?}"
    );
    assert_eq!(second.duplicates, 300 - 12);
    assert_eq!(second.symlinks, 2);
    assert_eq!(tree(&dest), want);
    assert!(!dest.join(".odarchive-restore").exists());

    // Once more, through a read-only handle: everything is in place, nothing is read.
    let reader = Catalogue::open_read_only(&db).unwrap();
    let third = run(&reader, &images, &dest, &[]);
    assert!(third.complete(), "{third:?}");
    assert_eq!((third.files_restored, third.files_already_done), (0, 14));
    assert_eq!(third.bytes_restored, 0);
    assert_eq!(tree(&dest), want);

    // A glob into a new folder: its matches and the folders above them, nothing else.
    let some = work.path().join("some");
    let fourth = run(&reader, &images, &some, &["deep00/deep01/**/dup-*"]);
    assert!(fourth.complete(), "{fourth:?}");
    let got = tree(&some);
    let files: Vec<&PathBuf> = got.keys().filter(|p| got[*p].0 == 'f').collect();
    let expected: Vec<&PathBuf> = want
        .keys()
        .filter(|p| {
            let s = p.to_str().unwrap();
            s.starts_with("deep00/deep01/") && s.contains("/dup-")
        })
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(files, expected);
    for f in files {
        assert_eq!(got[f], want[f], "{f:?}");
    }
    assert_eq!(temp_state(&catalogue), (0, 1));
}

/// Records which disc a restore reads, from which image.
#[derive(Default)]
struct DiscsRead(std::sync::Mutex<Vec<(u32, PathBuf)>>);

impl odarchive::Progress for DiscsRead {
    fn event(&self, event: &odarchive::Event) {
        if let odarchive::Event::RestoreDiscStarted { disc, source, .. } = event {
            self.0.lock().unwrap().push((*disc, source.clone()));
        }
    }
}

#[test]
fn a_plan_writes_nothing_and_its_execution_does_what_it_said() {
    let work = tempfile::tempdir().unwrap();
    let drive = work.path().join("drive");
    make_drive(&drive);
    let mut catalogue = Catalogue::create_or_open(work.path().join("odarchive.db")).unwrap();
    let images = scan_plan_write(&mut catalogue, &drive, &work.path().join("images"));
    let dest = work.path().join("restored");
    let options = |from: &[PathBuf]| RestoreOptions {
        from: from.to_vec(),
        to: dest.clone(),
        ..RestoreOptions::default()
    };

    // The first disc alone: the others are missing, with labels, and nothing is written.
    let plan = prepare(&catalogue, &options(&images[..1])).unwrap();
    assert!(!plan.has_every_disc());
    let missing: Vec<u32> = plan.missing_discs.iter().map(|d| d.number).collect();
    let rest: Vec<u32> = (2..=images.len() as u32).collect();
    assert_eq!(missing, rest);
    assert!(
        plan.missing_discs
            .iter()
            .all(|d| d.label.starts_with("ODA_"))
    );
    assert_eq!(plan.discs[0].sources, [images[0].clone()]);
    assert_eq!(
        plan.files_to_restore, 14,
        "12 contents, big.bin and the empty file"
    );
    drop(plan);
    assert!(!dest.exists(), "a plan makes no destination");

    // Every disc: each is read once, in number order, and the counts are the plan's.
    let plan = prepare(&catalogue, &options(&images)).unwrap();
    assert!(plan.has_every_disc() && plan.problems.is_empty());
    let (files, bytes) = (plan.files_to_restore, plan.bytes_to_restore);
    let per_disc: u64 = plan.discs.iter().map(|d| d.bytes).sum();
    assert_eq!(per_disc, bytes, "each disc's share adds up to the whole");
    let progress = DiscsRead::default();
    let report = execute(plan, &progress).unwrap();
    assert!(report.complete(), "{report:?}");
    assert_eq!(
        (report.files_restored, report.bytes_restored),
        (files, bytes)
    );
    let read = progress.0.into_inner().unwrap();
    let expected: Vec<(u32, PathBuf)> = (1..).zip(images.iter().cloned()).collect();
    assert_eq!(read, expected);
    assert_eq!(tree(&dest), tree(&drive));
    assert_eq!(temp_state(&catalogue), (0, 1));
}
