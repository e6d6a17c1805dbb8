//! Builds a synthetic catalogue of N file entries through the library, for the scale
//! benchmarks (`scripts/bench-scale`): `synth_catalogue CATALOGUE DRIVE N [HUGE]`.
//!
//! The result is a complete snapshot as `odarchive scan` of DRIVE would have left it (the
//! snapshot row `complete` with its counters, content rows, entry rows for files and
//! directories, a completed scan job), so that `odarchive plan` and `odarchive info` run on
//! it unchanged. Deterministic: the same N and HUGE give the same catalogue (only the set id
//! and the times differ).
//!
//! Shape, a photo and document library: folders of 80–120 files at depth 3–5; photos of
//! 1–6 MB (some RAW of 15–30 MB), documents of a few KB to 1 MB (some larger PDFs), music of
//! 3–12 MB, a few videos of 20 MB–1.5 GB, and HUGE files (default 2) of 26–30 GB, larger than
//! a BD, so that planning splits. About 7 % of the files repeat an earlier content.
//!
//! No file data is written, except that every file of 64 MiB or more is created in DRIVE as a
//! sparse file of its size: the planner reads the files it splits to hash their parts. Their
//! recorded hashes are synthetic (as are all others), not those of the zeros they hold, so
//! `write` would refuse them; `plan` and `info` do not look.

use std::collections::HashSet;
use std::time::Instant;

use odarchive::catalogue::Catalogue;
use sha2::{Digest, Sha256};

/// Files at least this large exist in DRIVE (sparse), so that the planner can split them.
const SPARSE_FROM: u64 = 64 << 20;
/// Rows per transaction.
const BATCH: u64 = 200_000;
const MB: u64 = 1_000_000;

/// xorshift64*: small, fast, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.below(hi - lo)
    }
    /// Skewed towards `lo`: the smaller of two draws, squared in effect.
    fn skewed(&mut self, lo: u64, hi: u64) -> u64 {
        let a = self.range(lo, hi);
        let b = self.range(lo, hi);
        let c = self.range(lo, hi);
        a.min(b).min(c)
    }
}

#[derive(Clone, Copy)]
enum Kind {
    Photos,
    Documents,
    Music,
    Videos,
}

/// The folder of folder number `f` (relative, depth 2–4) and the kind of files it holds.
fn folder(f: u64, rng: &mut Rng) -> (String, Kind) {
    let pick = rng.below(1000);
    if pick < 550 {
        let year = 2000 + f % 25;
        (
            format!("Photos/{year}/{year}-{:02} Event {f:06}", 1 + rng.below(12)),
            Kind::Photos,
        )
    } else if pick < 930 {
        (
            format!(
                "Documents/Area {:02}/Project {:04}/Folder {f:06}",
                f % 37,
                f / 7 % 5000
            ),
            Kind::Documents,
        )
    } else if pick < 990 {
        (
            format!("Music/Artist {:04}/Album {f:06}", f / 3 % 9000),
            Kind::Music,
        )
    } else {
        (format!("Videos/Clips {f:06}"), Kind::Videos)
    }
}

fn file_name(kind: Kind, n: u64) -> String {
    match kind {
        Kind::Photos => format!("IMG_{n:08}.JPG"),
        Kind::Documents => format!("document {n:08}.pdf"),
        Kind::Music => format!("{:02} Track {n:08}.mp3", n % 100),
        Kind::Videos => format!("VID_{n:08}.mp4"),
    }
}

fn file_size(kind: Kind, rng: &mut Rng) -> u64 {
    match kind {
        Kind::Photos if rng.below(100) < 8 => rng.range(15 * MB, 30 * MB),
        Kind::Photos => rng.range(MB, 6 * MB),
        Kind::Documents if rng.below(100) < 2 => rng.range(5 * MB, 50 * MB),
        Kind::Documents => rng.skewed(1_000, MB),
        Kind::Music => rng.range(3 * MB, 12 * MB),
        Kind::Videos => rng.skewed(20 * MB, 1_500 * MB),
    }
}

/// A content hash: SHA-256 of the content number, so unique and as random as real ones.
fn content_hash(n: u64) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(b"odarchive synthetic content");
    h.update(n.to_le_bytes());
    h.finalize().into()
}

#[derive(Default)]
struct Counts {
    files: u64,
    directories: u64,
    total_bytes: u64,
    unique_contents: u64,
    unique_bytes: u64,
    /// The largest file (size, path): by size, then the first path, as `info` orders them.
    largest: Option<(u64, String)>,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    if args.len() < 4 {
        eprintln!("usage: synth_catalogue CATALOGUE DRIVE N [HUGE]");
        std::process::exit(2);
    }
    let db = std::path::PathBuf::from(&args[1]);
    let drive = std::path::PathBuf::from(&args[2]);
    let n: u64 = args[3].parse()?;
    let huge: u64 = args.get(4).map_or(Ok(2), |a| a.parse())?;
    if db.exists() {
        return Err(format!("{} exists; remove it first", db.display()).into());
    }
    std::fs::create_dir_all(&drive)?;
    let drive = drive.canonicalize()?;
    let start = Instant::now();

    // The library creates the catalogue; the bulk load then writes its tables directly, over
    // a connection of its own.
    drop(Catalogue::create_or_open(&db)?);
    let conn = rusqlite::Connection::open(&db)?;
    // Only for building: a larger page cache for the random inserts into the hash index.
    conn.execute_batch("PRAGMA cache_size = -262144; PRAGMA synchronous = OFF;")?;
    let drive_bytes = {
        use std::os::unix::ffi::OsStrExt;
        drive.as_os_str().as_bytes().to_vec()
    };
    let started_ns = odarchive::time::now_ns();
    conn.execute(
        "INSERT INTO snapshot (drive_path, started_ns, state) VALUES (?1, ?2, 'scanning')",
        (&drive_bytes, started_ns),
    )?;
    let snapshot = conn.last_insert_rowid();

    let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
    // The files that are larger than a BD: spread evenly through the library.
    let huge_at: Vec<u64> = (1..=huge).map(|k| k * n / (huge + 1)).collect();
    let mut counts = Counts::default();
    let mut dirs: HashSet<String> = HashSet::new();
    // Recent contents (id, size) that duplicates copy.
    let mut recent: Vec<(i64, u64)> = Vec::with_capacity(4096);
    let mut inode = 1u64;
    let mut i = 0u64;
    let mut f = 0u64;
    conn.execute_batch("BEGIN")?;
    {
        let mut content_stmt = conn.prepare("INSERT INTO content (hash, size) VALUES (?1, ?2)")?;
        let mut entry_stmt = conn.prepare(
            "INSERT INTO entry (path, kind, content_id, size, mtime_ns, mode, link_target, dev, \
             inode, first_snapshot, last_snapshot) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, NULL, 1, ?7, ?8, ?8)",
        )?;
        let mut rows = 0u64;
        while i < n {
            let (dir, kind) = folder(f, &mut rng);
            f += 1;
            // The folder and every parent not yet recorded.
            let mut at = dir.as_str();
            let mut new_dirs = Vec::new();
            loop {
                if !dirs.insert(at.to_owned()) {
                    break;
                }
                new_dirs.push(at.to_owned());
                match at.rfind('/') {
                    Some(k) => at = &at[..k],
                    None => break,
                }
            }
            for d in new_dirs {
                let mtime = 1_500_000_000_000_000_000 + (f as i64) * 1_000_000_000;
                entry_stmt.execute(rusqlite_params(
                    d.as_bytes(),
                    2,
                    None,
                    0,
                    mtime,
                    0o755,
                    inode,
                    snapshot,
                ))?;
                inode += 1;
                counts.directories += 1;
                rows += 1;
            }
            let in_folder = rng.range(80, 121).min(n - i);
            for _ in 0..in_folder {
                let mut size = file_size(kind, &mut rng);
                if huge_at.contains(&i) {
                    size = rng.range(26_000 * MB, 30_000 * MB);
                }
                let duplicate = !recent.is_empty() && rng.below(100) < 7 && size < SPARSE_FROM;
                let (content_id, size) = if duplicate {
                    recent[rng.below(recent.len() as u64) as usize]
                } else {
                    content_stmt
                        .execute((content_hash(counts.unique_contents).as_slice(), size as i64))?;
                    let id = conn.last_insert_rowid();
                    counts.unique_contents += 1;
                    counts.unique_bytes += size;
                    if recent.len() < 4096 {
                        recent.push((id, size));
                    } else {
                        recent[rng.below(4096) as usize] = (id, size);
                    }
                    (id, size)
                };
                let path = format!("{dir}/{}", file_name(kind, i));
                if size >= SPARSE_FROM {
                    let on_disk = drive.join(&path);
                    std::fs::create_dir_all(on_disk.parent().expect("a parent"))?;
                    std::fs::File::create(&on_disk)?.set_len(size)?;
                }
                let mtime = 1_500_000_000_000_000_000 + (i as i64) * 1_000_000;
                entry_stmt.execute(rusqlite_params(
                    path.as_bytes(),
                    1,
                    Some(content_id),
                    size,
                    mtime,
                    0o644,
                    inode,
                    snapshot,
                ))?;
                inode += 1;
                counts.files += 1;
                counts.total_bytes += size;
                if counts
                    .largest
                    .as_ref()
                    .is_none_or(|(s, p)| size > *s || (size == *s && path < *p))
                {
                    counts.largest = Some((size, path));
                }
                rows += 2;
                i += 1;
            }
            if rows >= BATCH {
                conn.execute_batch("COMMIT; BEGIN")?;
                rows = 0;
                eprint!("\r{i} files");
            }
        }
    }
    let finished_ns = odarchive::time::now_ns();
    conn.execute(
        "UPDATE snapshot SET state = 'complete', finished_ns = ?2, files = ?3, directories = ?4, \
         symlinks = 0, total_bytes = ?5, unique_contents = ?6, unique_bytes = ?7, errors = 0, \
         unhashed_files = 0, largest_path = ?8, largest_size = ?9 \
         WHERE id = ?1",
        (
            snapshot,
            finished_ns,
            counts.files as i64,
            counts.directories as i64,
            counts.total_bytes as i64,
            counts.unique_contents as i64,
            counts.unique_bytes as i64,
            counts.largest.as_ref().map(|(_, p)| p.as_bytes()),
            counts.largest.as_ref().map(|(s, _)| *s as i64),
        ),
    )?;
    conn.execute(
        "INSERT INTO job (kind, state, pid, hostname, snapshot, started_ns, updated_ns, \
         finished_ns, phase, files_done, bytes_done, files_total, bytes_total) \
         VALUES ('scan', 'completed', ?1, 'synthetic', ?2, ?3, ?4, ?4, 'done', ?5, ?6, ?5, ?6)",
        (
            i64::from(std::process::id()),
            snapshot,
            started_ns,
            finished_ns,
            counts.files as i64,
            counts.total_bytes as i64,
        ),
    )?;
    conn.execute_batch("COMMIT; PRAGMA wal_checkpoint(TRUNCATE);")?;
    drop(conn);
    eprintln!("\r{n} files");

    // The library's own summary must agree with what was recorded.
    let catalogue = Catalogue::open(&db)?;
    let info = odarchive::info(&catalogue)?;
    assert_eq!(info.files, counts.files);
    assert_eq!(info.directories, counts.directories);
    assert_eq!(info.unique_contents, counts.unique_contents);
    assert_eq!(info.unique_bytes, counts.unique_bytes);
    assert_eq!(info.total_bytes, counts.total_bytes);
    println!(
        "{} files, {} directories, {} unique contents, {:.1} GB ({:.1} GB unique) in {:.1} s",
        info.files,
        info.directories,
        info.unique_contents,
        info.total_bytes as f64 / 1e9,
        info.unique_bytes as f64 / 1e9,
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

/// The parameters of the entry insert.
#[allow(clippy::too_many_arguments)]
fn rusqlite_params(
    path: &[u8],
    kind: i64,
    content_id: Option<i64>,
    size: u64,
    mtime_ns: i64,
    mode: i64,
    inode: u64,
    snapshot: i64,
) -> (&[u8], i64, Option<i64>, i64, i64, i64, i64, i64) {
    (
        path,
        kind,
        content_id,
        size as i64,
        mtime_ns,
        mode,
        inode as i64,
        snapshot,
    )
}
