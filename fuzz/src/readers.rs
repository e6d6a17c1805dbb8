//! Reading everything of one view of an image, as a restore would: open, walk every
//! directory, read every file (each into a [`BoundedSink`]), look paths up again. Errors are
//! the expected outcome for most inputs and are dropped; what is checked is that nothing
//! panics and that what the reader says agrees with itself.

use std::collections::{HashMap, HashSet};
use std::io::{Cursor, Read};

use discfs::iso9660::IsoImage;
use discfs::udf::read::UdfVolume;

use crate::sink::BoundedSink;

/// Paths looked up again after a walk (each lookup reads every directory on its way).
const LOOKUPS: usize = 32;
/// Entries of the ISO 9660 view kept for the lookups (the first ones visited).
const MAX_LISTED: usize = 4096;

/// One entry a walk listed: its path, its name, and the names a lookup matches it by.
struct Listed {
    path: String,
    name: String,
    keys: Vec<String>,
}

/// The listed paths that a lookup must find again: each part a non-empty name without `/`
/// that no sibling shares (by any of its keys), below a parent that is itself such a path.
/// Entries come parents first, as both walks give them.
fn lookable(listed: &[Listed]) -> Vec<&str> {
    let parent = |l: &Listed| -> String {
        let cut = l.path.len().saturating_sub(l.name.len() + 1);
        l.path.get(..cut).unwrap_or_default().to_owned()
    };
    let mut counts: HashMap<(String, &str), usize> = HashMap::new();
    for l in listed {
        let mut keys: Vec<&str> = l.keys.iter().map(String::as_str).collect();
        keys.sort_unstable();
        keys.dedup();
        for k in keys {
            *counts.entry((parent(l), k)).or_default() += 1;
        }
    }
    let mut ok: HashSet<&str> = HashSet::from([""]);
    let mut out = Vec::new();
    for l in listed {
        let p = parent(l);
        let unique = l
            .keys
            .iter()
            .all(|k| counts.get(&(p.clone(), k.as_str())) == Some(&1));
        let plain = !l.name.is_empty() && !l.name.contains('/') && !l.name.contains('\0');
        if unique && plain && ok.contains(p.as_str()) && l.path.ends_with(&l.name) {
            ok.insert(&l.path);
            out.push(l.path.as_str());
        }
    }
    out
}

/// Opens the UDF view of `image`, walks it, reads every file and looks paths up again.
pub fn exercise_udf(image: &[u8]) {
    let Ok(mut udf) = UdfVolume::open(Cursor::new(image)) else {
        return;
    };
    let _ = (udf.volume_id().len(), udf.volume_set_id().len());
    let _ = udf.integrity().map(|i| format!("{i:?}"));
    let root = udf.root().clone();
    assert!(
        root.is_dir,
        "UdfVolume::open gave a root that is not a directory"
    );
    let _ = udf.read_dir(&root);
    let Ok(entries) = udf.walk() else {
        return;
    };
    for (_, entry) in &entries {
        if entry.is_dir {
            continue;
        }
        let mut sink = BoundedSink::new();
        if let Ok(n) = udf.copy_to(entry, &mut sink) {
            assert_eq!(
                n, sink.taken,
                "UDF copy_to's count differs from the bytes written"
            );
            assert_eq!(
                n, entry.size,
                "UDF copy_to read other than the file's length"
            );
        }
    }
    let listed: Vec<Listed> = entries
        .iter()
        .map(|(path, e)| Listed {
            path: path.clone(),
            name: e.name.clone(),
            keys: vec![e.name.clone()],
        })
        .collect();
    for path in lookable(&listed).into_iter().take(LOOKUPS) {
        if let Err(e) = udf.lookup(path) {
            panic!("UDF walk listed {path:?} but lookup says: {e}");
        }
    }
}

/// Opens the ISO 9660 view of `image`, visits it reading every file as it goes, reads the
/// path tables and looks paths up again.
pub fn exercise_iso(image: &[u8]) {
    let Ok(mut iso) = IsoImage::open(Cursor::new(image)) else {
        return;
    };
    let _ = format!("{:?}", iso.volume());
    let root = iso.root();
    let _ = iso.read_dir(&root);
    let mut listed = Vec::new();
    let _ = iso.visit(|iso, path, entry| {
        if listed.len() < MAX_LISTED {
            listed.push(Listed {
                path: path.to_owned(),
                name: entry.name.clone(),
                keys: vec![
                    entry.name.to_ascii_lowercase(),
                    entry.identifier.to_ascii_lowercase(),
                ],
            });
        }
        if entry.is_dir {
            return Ok(());
        }
        let mut sink = BoundedSink::new();
        if let Ok(n) = iso.copy_to(entry, &mut sink) {
            assert_eq!(
                n, sink.taken,
                "ISO copy_to's count differs from the bytes written"
            );
            assert_eq!(
                n, entry.size,
                "ISO copy_to read other than the file's length"
            );
        }
        // The same data through Read, in odd-sized pieces.
        if let Ok(mut file) = iso.open_file(entry) {
            let mut buf = [0u8; 777];
            let mut total = 0u64;
            while let Ok(n) = file.read(&mut buf) {
                if n == 0 || total > crate::sink::MAX_FILE_BYTES {
                    break;
                }
                total += n as u64;
            }
        }
        Ok(())
    });
    let _ = iso.path_table(false);
    let _ = iso.path_table(true);
    if listed.len() >= MAX_LISTED {
        return; // siblings past the cut are unknown: uniqueness cannot be told
    }
    for path in lookable(&listed).into_iter().take(LOOKUPS) {
        if let Err(e) = iso.lookup(path) {
            panic!("ISO 9660 visit listed {path:?} but lookup says: {e}");
        }
    }
}
