//! Which files of an image lie on given sectors, by the image's own file systems: what a
//! repair that could not rebuild every sector says is lost, without any catalogue.

use std::collections::BTreeSet;
use std::fs::File;
use std::io::BufReader;
use std::ops::Range;
use std::path::Path;

use discfs::SECTOR;
use discfs::iso9660::IsoImage;
use discfs::udf::read::UdfVolume;

/// The files (UDF paths; where UDF is damaged, ISO 9660 paths too) whose data
/// overlaps `ranges` of image sectors, in path order; a file system that cannot be read
/// names none. What a damaged directory loses is not listed here (the catalogue says it).
pub fn files_on_sectors(image: &Path, ranges: &[Range<u64>]) -> Vec<String> {
    let mut lost = BTreeSet::new();
    if ranges.is_empty() {
        return Vec::new();
    }
    let touches = |runs: &[(u64, u64)]| -> bool {
        runs.iter().any(|&(first, bytes)| {
            let end = first + bytes.div_ceil(SECTOR);
            ranges.iter().any(|r| r.start < end && first < r.end)
        })
    };
    let open = || File::open(image).map(|f| BufReader::with_capacity(64 * 1024, f));
    if let Ok(Ok(mut udf)) = open().map(UdfVolume::open) {
        let (files, damage) = udf.walk_salvaging();
        for (path, entry) in files.iter().filter(|(_, e)| !e.is_dir) {
            if udf
                .data_runs(entry)
                .is_some_and(|runs: Vec<(u64, u64)>| touches(&runs))
            {
                lost.insert(path.clone());
            }
        }
        if damage.is_empty() {
            return lost.into_iter().collect();
        }
    }
    if let Ok(Ok(mut iso)) = open().map(IsoImage::open) {
        let (files, _) = iso.walk_salvaging();
        for (path, entry) in files.iter().filter(|(_, e)| !e.is_dir) {
            let runs: Vec<(u64, u64)> = entry
                .extents
                .iter()
                .map(|&(s, len)| (u64::from(s), u64::from(len)))
                .collect();
            if touches(&runs) {
                lost.insert(path.clone());
            }
        }
    }
    lost.into_iter().collect()
}
