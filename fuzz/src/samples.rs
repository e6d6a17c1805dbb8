//! The small images and the small archive the seed corpora are made of, so that no image
//! needs committing: each is written by discfs or odarchive as it stands.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use discfs::{FileSource, NodeId, Timestamp, Tree, TreeBuilder, VolumeInfo};
use testkit::noise;

fn bytes(data: Vec<u8>) -> (u64, FileSource) {
    (data.len() as u64, FileSource::Bytes(Arc::from(data)))
}

fn add_file(b: &mut TreeBuilder, parent: NodeId, name: &str, data: Vec<u8>, t: Timestamp) {
    let (size, source) = bytes(data);
    b.file(parent, name, t, size, source).expect("sample file");
}

/// One small tree per shape the readers must handle: a single file; nested folders with
/// names each view maps (accents, spaces, lower case, a name too long for ISO 9660 and one
/// too long for UDF), an empty file and folder, a folder deeper than ISO 9660's 8 levels; a
/// folder whose records fill several sectors.
pub fn trees() -> Vec<(&'static str, Tree)> {
    let t = Timestamp::new(1_700_000_000, 0);
    let mut out = Vec::new();

    let mut b = TreeBuilder::new(t);
    add_file(&mut b, NodeId::ROOT, "hello.txt", b"hello\n".to_vec(), t);
    out.push(("one-file", b.build().expect("sample tree")));

    let mut b = TreeBuilder::new(t);
    let photos = b.dir(NodeId::ROOT, "Photos été", t).expect("dir");
    let year = b.dir(photos, "2024 summer", t).expect("dir");
    add_file(&mut b, year, "IMG_0001.JPG", noise(1, 5000), t);
    add_file(&mut b, year, "empty.txt", Vec::new(), t);
    add_file(&mut b, photos, &"long name ".repeat(12), noise(2, 300), t);
    add_file(&mut b, photos, &"é".repeat(140), noise(3, 30), t);
    b.dir(NodeId::ROOT, "empty folder", t).expect("dir");
    let mut deep = NodeId::ROOT;
    for level in 0..10 {
        deep = b.dir(deep, &format!("level{level}"), t).expect("dir");
    }
    add_file(&mut b, deep, "bottom.bin", noise(4, 2100), t);
    out.push(("nested", b.build().expect("sample tree")));

    let mut b = TreeBuilder::new(t);
    let many = b.dir(NodeId::ROOT, "many", t).expect("dir");
    for i in 0..48 {
        // Mostly empty: the records fill two sectors, few data sectors follow.
        let len = if i % 8 == 0 { i + 1 } else { 0 };
        let name = format!("file number {i:03}.dat");
        add_file(&mut b, many, &name, noise(i as u64, len), t);
    }
    out.push(("wide", b.build().expect("sample tree")));
    out
}

/// The image of `tree`.
pub fn image(name: &str, tree: &Tree) -> Vec<u8> {
    let volume = VolumeInfo {
        volume_id: name.to_ascii_uppercase().replace('-', "_"),
        ..VolumeInfo::default()
    };
    let layout = discfs::layout(tree, &volume).expect("sample layout");
    let mut out = Vec::new();
    discfs::write_image(tree, &layout, &mut out, &mut ()).expect("sample image");
    out
}

/// Makes a small archive in `dir`: a drive (`dir/drive`), its catalogue (`dir/odarchive.db`)
/// scanned and planned on 5 MB discs, and the disc images written to `dir/images`. Returns
/// the images.
pub fn archive(dir: &Path) -> Vec<PathBuf> {
    use odarchive::{Catalogue, Media, NoProgress, PlanOptions, ScanOptions, WriteOptions};
    let drive = dir.join("drive");
    std::fs::create_dir_all(drive.join("Photos/2024")).expect("drive");
    std::fs::write(drive.join("Photos/2024/IMG_0001.JPG"), noise(7, 6000)).expect("drive");
    std::fs::write(drive.join("Photos/2024/copy.jpg"), noise(7, 6000)).expect("drive");
    std::fs::write(drive.join("notes.txt"), b"notes\n").expect("drive");
    std::fs::write(drive.join("empty"), b"").expect("drive");
    let mut catalogue = Catalogue::create_or_open(dir.join("odarchive.db")).expect("catalogue");
    odarchive::scan(&mut catalogue, &drive, &ScanOptions::default(), &NoProgress).expect("scan");
    let options = PlanOptions {
        media: Media::parse("5M").expect("media"),
        margin: 0,
        first: vec![],
        replan: false,
        parity: odarchive::DEFAULT_PARITY,
        set_parity: Default::default(),
    };
    odarchive::plan(&mut catalogue, &options, &NoProgress).expect("plan");
    let options = WriteOptions {
        out: dir.join("images"),
        ..WriteOptions::default()
    };
    let written = odarchive::write(&mut catalogue, &options, &NoProgress).expect("write");
    written.into_iter().map(|w| w.path).collect()
}
