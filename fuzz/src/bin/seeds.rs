//! Writes the seed corpora: `seeds OUT_DIR` makes `OUT_DIR/{udf,iso9660,identify}/` with one
//! compact image per sample (and a copy of each cut after sector 256) and
//! `OUT_DIR/archive/` with the catalogue the identify seeds belong to (give it to the
//! identify target as ODARCHIVE_FUZZ_ARCHIVE).

use std::path::{Path, PathBuf};

// Linked for the coverage callbacks the instrumented build refers to; its `main` is not used.
use libfuzzer_sys as _;
use odarchive_fuzz::{compact, expand, samples};

fn write_seed(dir: &Path, name: &str, image: &[u8]) {
    std::fs::create_dir_all(dir).expect("corpus folder");
    let seed = compact(image);
    // Resealing the tags of a valid image must change nothing.
    assert!(
        expand(&seed) == image,
        "{name}: the compact form does not give the image back"
    );
    std::fs::write(dir.join(name), seed).expect("seed");
    // The image cut after its first anchor: the last-sector anchor and part of the data lost.
    let cut = image.len().min(257 * 2048);
    std::fs::write(dir.join(format!("{name}-cut")), compact(&image[..cut])).expect("seed");
}

fn main() {
    let out = PathBuf::from(std::env::args_os().nth(1).expect("usage: seeds OUT_DIR"));
    for (name, tree) in samples::trees() {
        let image = samples::image(name, &tree);
        for target in ["udf", "iso9660", "identify"] {
            write_seed(&out.join(target), name, &image);
        }
    }
    let archive = out.join("archive");
    if archive.exists() {
        std::fs::remove_dir_all(&archive).expect("old archive");
    }
    for (i, image) in samples::archive(&archive).iter().enumerate() {
        let bytes = std::fs::read(image).expect("archive image");
        for target in ["udf", "iso9660", "identify"] {
            write_seed(&out.join(target), &format!("disc-{i}"), &bytes);
        }
    }
    println!("seeds written to {}", out.display());
}
