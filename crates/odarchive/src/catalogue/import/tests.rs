//! Imports of catalogue JSON in every shape this odarchive reads.

use crate::catalogue::{Catalogue, EntryKind};
use crate::hash::ContentHash;

/// A catalogue file as the first discs of this odarchive carried it (version 3: one
/// snapshot, no version ranges, a `sha256` on every part).
#[test]
fn version_3_disc_catalogues_still_import() {
    let doc = version_3_doc();
    let dir = tempfile::tempdir().unwrap();
    let mut cat = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
    let bytes = serde_json::to_vec(&doc).unwrap();
    let summary = cat.import_disc_json(&bytes, "disc").unwrap();
    assert_eq!(summary.format, "version 3");
    assert_eq!(
        (summary.contents, summary.entries, summary.discs),
        (2, 5, 1)
    );
    let snaps = cat.snapshots().unwrap();
    assert_eq!(snaps.iter().map(|s| s.id).collect::<Vec<_>>(), [2]);
    let mut entries = Vec::new();
    cat.for_each_entry(2, |e| {
        entries.push((e.path, e.mode, e.link_target));
        Ok(())
    })
    .unwrap();
    assert_eq!(
        entries.len(),
        5,
        "every entry is in snapshot 2: {entries:?}"
    );
    assert!(entries.contains(&(b"l".to_vec(), 511, Some(b"a.txt".to_vec()))));
    let placements = cat.placements_on(1).unwrap();
    assert_eq!(placements.len(), 2);
    let part = placements.iter().find(|p| p.part == 1).unwrap();
    assert_eq!(part.part_hash, Some(ContentHash::from([3u8; 32])));
    let whole = placements.iter().find(|p| p.part == 0).unwrap();
    assert_eq!(
        (whole.part_hash, whole.entry_path.as_slice()),
        (None, &b"a.txt"[..])
    );
    assert_eq!(cat.discs().unwrap()[0].state.as_str(), "written");
    assert_eq!(
        cat.archive().unwrap().set_id,
        "0123456789abcdef0123456789abcdef"
    );
}

/// A catalogue as odarchive 0.1's `archive` really writes it: never segmented, so no
/// `disc_num`; `date` (UTC) and `source_path` say when and of what.
#[test]
fn unsegmented_v01_catalogue_is_one_disc_of_its_date_and_drive() {
    let h = |b: u8| crate::hex(&[b; 64]);
    let doc = serde_json::json!({
        "client_name": "Unknown client", "date": "2024-03-30T12:00:00.500000",
        "guid": "9ed44def-3e39-4291-ac3f-d280b2ef80e1", "iso_path_root": "/DATA",
        "job_id": "7c9d6737-9551-4524-854b-190039edb169", "job_name": "Unamed job",
        "segment_size": null, "source_path": "/media/usb", "version": 2,
        "files": {
            h(1): {"filenames": {"/DATA/a/x.txt": null, "/DATA/b/y.txt": null},
                   "mtime": "2024-03-30T12:00:00", "size": 6},
            h(2): {"filenames": {"/DATA/z.txt": null}, "mtime": "2024-04-02T16:30:00", "size": 7}
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut cat = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
    let options = super::ImportOptions {
        timezone: Some("Europe/London".into()),
        from_disc: false,
    };
    let bytes = serde_json::to_vec(&doc).unwrap();
    let summary = cat
        .import_json(bytes.as_slice(), std::path::Path::new("c.json"), &options)
        .unwrap();
    assert_eq!(
        (summary.format.as_str(), summary.discs),
        ("odarchive 0.1", 1)
    );
    let discs = cat.discs().unwrap();
    assert_eq!((discs[0].number, discs[0].files), (1, 2));
    assert!(crate::legacy::is_v01_disc(&discs[0]));
    let snap = &cat.snapshots().unwrap()[0];
    assert_eq!(snap.drive_path, std::path::Path::new("/media/usb"));
    assert_eq!(snap.started_ns, 1_711_800_000_500_000_000);
    // Local times on both sides of London's change to summer time (2024-03-31).
    let mut mtimes = Vec::new();
    let mut folders = Vec::new();
    cat.for_each_entry(snap.id, |e| {
        match e.kind {
            EntryKind::Directory => folders.push((e.path, e.mtime_ns, e.mode)),
            _ => mtimes.push((e.path, e.mtime_ns)),
        }
        Ok(())
    })
    .unwrap();
    mtimes.sort();
    let s = 1_000_000_000;
    assert_eq!(mtimes[0], (b"a/x.txt".to_vec(), 1_711_800_000 * s));
    assert_eq!(mtimes[2], (b"z.txt".to_vec(), 1_712_071_800 * s));
    // 0.1 records no folders: the ones above its files are made, dated as the snapshot.
    folders.sort();
    let t = snap.started_ns;
    assert_eq!(
        folders,
        [(b"a".to_vec(), t, 0o755), (b"b".to_vec(), t, 0o755)]
    );
}

/// The import builds the path and disc indexes once its rows are in: after it, the catalogue
/// has every index a new one has, defined alike, and a failed import leaves them too.
#[test]
fn an_import_leaves_every_index_of_the_schema() {
    let indexes = |cat: &Catalogue| -> Vec<(String, String)> {
        cat.conn
            .prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL ORDER BY name")
            .unwrap()
            .query_map([], |r| Ok((r.get(0).unwrap(), r.get(1).unwrap())))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    let dir = tempfile::tempdir().unwrap();
    let fresh = Catalogue::create_or_open(dir.path().join("fresh.db")).unwrap();
    let want = indexes(&fresh);
    assert!(want.iter().any(|(n, _)| n == "entry_by_path"), "{want:?}");
    assert!(
        want.iter().any(|(n, _)| n == "placement_by_disc"),
        "{want:?}"
    );

    let mut source = Catalogue::create_or_open(dir.path().join("s.db")).unwrap();
    source
        .import_disc_json(&serde_json::to_vec(&version_3_doc()).unwrap(), "disc")
        .unwrap();
    let json = source
        .export_json(Vec::new(), std::path::Path::new("x"))
        .unwrap();
    let mut cat = Catalogue::create_or_open(dir.path().join("c.db")).unwrap();
    cat.import_json(
        json.as_slice(),
        std::path::Path::new("x"),
        &Default::default(),
    )
    .unwrap();
    assert_eq!(indexes(&cat), want);

    let mut failed = Catalogue::create_or_open(dir.path().join("f.db")).unwrap();
    let cut = &json[..json.len() / 2];
    assert!(
        failed
            .import_json(cut, std::path::Path::new("x"), &Default::default())
            .is_err()
    );
    assert_eq!(indexes(&failed), want);
}

/// A catalogue file as the first discs of this odarchive carried it.
fn version_3_doc() -> serde_json::Value {
    let h = |b: u8| crate::hex(&[b; 32]);
    serde_json::json!({
        "version": 3, "generator": "odarchive 0.1.0", "hash_algorithm": "sha256",
        "set_id": "0123456789abcdef0123456789abcdef", "created": 5, "snapshot": 2,
        "snapshots": [{"id": 2, "drive_path": "/drive", "started": 3, "finished": 4}],
        "discs": [{"number": 1, "label": "ODA_01234567_001", "image_size": 4096,
                   "files": 2, "bytes": 30}],
        "files": {
            h(1): {"size": 10, "mtime": 7, "filenames": {"a.txt": {"mtime": 7, "mode": 420},
                                                         "b.txt": {"mtime": 8, "mode": 384}},
                   "discs": [1], "parts": [{"part": 0, "disc": 1, "offset": 0, "length": 10,
                   "sha256": h(1), "path": "Data/a.txt", "iso_path": "DATA/A.TXT;1"}]},
            h(2): {"size": 20, "mtime": 9, "filenames": {"big": {"mtime": 9, "mode": 420}},
                   "discs": [1], "parts": [{"part": 1, "disc": 1, "offset": 0, "length": 20,
                   "sha256": h(3), "path": "Data/big.part001", "iso_path": "DATA/BIG.PAR;1"}]}
        },
        "directories": {"d": {"mtime": 1, "mode": 493}},
        "symlinks": {"l": {"target": "a.txt", "mtime": 2, "mode": 511}}
    })
}
