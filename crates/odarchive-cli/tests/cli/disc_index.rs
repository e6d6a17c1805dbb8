//! `INDEX.tsv.gz` on every disc: a person with only a disc, `7z` and `zgrep` finds which disc
//! holds a file.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{Scratch, noise};

/// Runs `program` with `args`, which must succeed; its stdout. A missing tool fails the test.
fn tool(program: &str, package: &str, args: &[&OsStr]) -> String {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| {
            panic!("required tool `{program}` is missing ({e}): install {package}")
        });
    assert!(
        out.status.success(),
        "{program} {args:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The index of `image`, extracted with 7-Zip into `dir`.
fn extract_index(image: &Path, dir: &Path) -> PathBuf {
    let to = format!("-o{}", dir.display());
    let args = ["e", "-tudf", "-y", &to].map(OsStr::new);
    let mut all: Vec<&OsStr> = args.to_vec();
    all.extend([image.as_os_str(), OsStr::new("INDEX.tsv.gz")]);
    tool("7z", "Debian package 7zip", &all);
    dir.join("INDEX.tsv.gz")
}

/// The files under `Data/` of `image`, as 7-Zip lists them.
fn listed(image: &Path) -> String {
    let args = ["l", "-tudf", "-slt"].map(OsStr::new);
    let mut all: Vec<&OsStr> = args.to_vec();
    all.push(image.as_os_str());
    tool("7z", "Debian package 7zip", &all)
}

#[test]
fn zgrep_on_a_discs_index_finds_each_files_disc() {
    let s = Scratch::new();
    s.write("Photos/2019/a.jpg", noise(1, 900_000));
    s.write("Photos/2019/tab\tname.jpg", noise(2, 1000));
    s.write("Photos/2020/b.jpg", noise(3, 900_000));
    s.write("Documents/big.bin", noise(4, 3_000_000));
    s.write(OsStr::from_bytes(b"Photos/2019/odd\xff.txt"), "odd");
    s.write("Photos/2019/empty", "");
    let images = s.archive_to_several_discs();

    let mut indexes = Vec::new();
    for (i, image) in images.iter().enumerate() {
        let dir = s.dir(&format!("index{i}"));
        let index = extract_index(image, &dir);
        tool(
            "gzip",
            "Debian package gzip",
            &[OsStr::new("-t"), index.as_os_str()],
        );
        indexes.push((index.clone(), std::fs::read(&index).unwrap()));
    }
    // Every disc of the plan carries the same index.
    assert!(indexes.iter().all(|(_, b)| *b == indexes[0].1));

    let index = &indexes.last().unwrap().0;
    let found = tool(
        "zgrep",
        "Debian package gzip",
        &[OsStr::new("Photos/2019"), index.as_os_str()],
    );
    let lines: Vec<Vec<&str>> = found.lines().map(|l| l.split('\t').collect()).collect();
    let paths: Vec<&str> = lines.iter().map(|l| l[0]).collect();
    assert_eq!(
        paths,
        [
            "Photos/2019/a.jpg",
            "Photos/2019/empty",
            "Photos/2019/odd\\xFF.txt",
            "Photos/2019/tab\\tname.jpg"
        ],
        "{found}"
    );
    for line in &lines {
        assert_eq!(line.len(), 4, "{line:?}");
    }
    assert_eq!(lines[0][2], "900000");
    assert_eq!(lines[1][2], "0", "the empty file");
    // The discs a line names hold the file (or its parts), the others do not.
    let listings: Vec<String> = images.iter().map(|i| listed(i)).collect();
    let big = tool(
        "zgrep",
        "Debian package gzip",
        &[OsStr::new("^Documents/big.bin"), index.as_os_str()],
    );
    let big: Vec<&str> = big.trim_end().split('\t').collect();
    for line in [&lines[0], &big] {
        let discs: Vec<usize> = line[1].split(',').map(|d| d.parse().unwrap()).collect();
        for (i, listing) in listings.iter().enumerate() {
            let holds = listing.contains(&format!("Path = Data/{}\n", line[0]))
                || listing.contains(&format!("Path = Data/{}.part", line[0]));
            assert_eq!(
                holds,
                discs.contains(&(i + 1)),
                "{line:?} on disc {}",
                i + 1
            );
        }
    }
    assert!(
        big[1].contains(','),
        "a split file names each disc of its parts: {big:?}"
    );
}
