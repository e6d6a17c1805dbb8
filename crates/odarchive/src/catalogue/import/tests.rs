//! Imports of catalogue JSON in every shape this odarchive reads.

use crate::catalogue::Catalogue;
use crate::hash::ContentHash;

/// A catalogue file as the first discs of this odarchive carried it (version 3: one
/// snapshot, no version ranges, a `sha256` on every part).
#[test]
fn version_3_disc_catalogues_still_import() {
    let h = |b: u8| crate::hex(&[b; 32]);
    let doc = serde_json::json!({
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
    });
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
