//! The catalogue's schema and its forward migrations.
//!
//! `PRAGMA user_version` holds the schema version. [`MIGRATIONS`]`[i]` takes a catalogue from
//! version `i` to `i + 1`; each runs in its own transaction together with the version bump, so a
//! crash leaves the catalogue at a version it really has. Migrations are append-only: once
//! released, a step is never edited, a later step changes it.
//!
//! ## Version 1
//!
//! - `archive`: one row. `set_id` names the disc set (random, 128 bits, hex), `hash_algorithm`
//!   (`sha256` or `sha512`, see [`crate::hash::HashAlgorithm`]; every content hash of the
//!   catalogue is made with it), when and by which version the catalogue was made.
//! - `snapshot`: one scan of a drive. `state` is `scanning` until the scan completes, then
//!   `complete` with its summary counters.
//! - `content`: a unique file content (hash and size). Identical files share one row. The hash
//!   is 32 bytes (SHA-256) or 64 (SHA-512).
//! - `entry`: one *version* of a path, valid from `first_snapshot` to `last_snapshot`
//!   (inclusive). A rescan that finds a path unchanged only moves `last_snapshot` on, so a
//!   drive that barely changes costs one row per path, not one per path and snapshot. `path` is
//!   relative to the drive root, the raw bytes of the name components joined by `/`. `kind` is a
//!   [`crate::EntryKind`] code. `content_id` is NULL for directories, symlinks and files that
//!   could not be hashed (the next scan retries those).
//! - `scan_error`: what went wrong with which path in which snapshot.
//! - `job`: long-running operations (`scan`, later `write`, ...), with counters, so that
//!   `odarchive status` can tell a slow job from a dead one.
//!
//! ## Version 2: disc plans
//!
//! - `plan`: one run of `odarchive plan`: when, which snapshot, the medium, capacity and
//!   margin (bytes), the `--first` paths (JSON array of strings), how many folders span discs,
//!   and the bytes reserved for the catalogue file on each disc (`catalogue_size`, the file is
//!   padded to exactly that size) and whether it is gzipped.
//! - `disc`: one disc image. `number` is 1-based, unique, and continues across plans.
//!   `label` is the ISO 9660 volume id. `state` is `planned`, `written` or `verified`.
//!   `image_size` is the exact size from the layout; `files`/`bytes` count the data files on it.
//!   Once written: `image_name` (file name in the output folder), `image_sha256`, `written_ns`.
//! - `placement`: where a content (or a part of it) is. `part` 0 is the whole content, else
//!   1..=`parts`; `offset`/`length` locate the part in the content; `part_sha256` is NULL for a
//!   whole content (its hash is the content's). `entry_path` is the catalogue path (raw bytes)
//!   whose name the file is stored under; `name_path` the path given to the image writer
//!   (`Data/` + the escaped names, see `disc::names`); `disc_path` the UDF path under the disc
//!   root as written (`Data/Photos/a.jpg`; it differs from `name_path` only where UDF had to
//!   shorten a name over 255 bytes); `iso_path` the ISO 9660 path of the same file.
//!
//! ## Version 3: hashes follow the catalogue's algorithm
//!
//! - `placement.part_sha256` is renamed `part_hash`: a split part is hashed with the
//!   catalogue's `archive.hash_algorithm` (SHA-256, or SHA-512 for catalogues of the original
//!   odarchive), like `content.hash`. `disc.image_sha256` stays SHA-256: it is our record of
//!   the image file, whatever the contents are hashed with.
//!
//! ## Version 4: discs of merged catalogues
//!
//! - `disc.set_id`: the archive set the disc belongs to (its label and the catalogue on it
//!   name that set). NULL for discs planned in this catalogue: they belong to the archive's own
//!   set (`archive.set_id`). `odarchive merge` brings in the discs of another catalogue with
//!   their own set id, so one catalogue can describe discs of several sets.
//!
//! ## Version 5: owners
//!
//! - `entry.uid`, `entry.gid`: the owner and group ids of the entry version, and
//!   `entry.user_name`, `entry.group_name` their names on the scanning machine (NULL where it
//!   had none). All four are NULL in versions recorded before this schema version; a rescan
//!   records a new version with them (reusing the content: the file is not read again), and a
//!   restore leaves such entries' owners alone.
//!
//! ## Version 7: parity on every disc
//!
//! - `plan.parity_percent`: the Reed-Solomon parity (percent of the image's other sectors,
//!   0‥100) that every disc of the plan carries as `/Parity/PARITY.ODP` (see discfs's
//!   `parity` module and docs/parity.md). 0 (no parity) for plans made before this version.
//!
//! ## Version 8: where each file lies on its disc
//!
//! - `placement.sector`: the first logical sector (2048 bytes) of the file's data on its disc
//!   image, from the layout the disc was written with; its data is `length` contiguous bytes
//!   from `sector * 2048` (an empty file has no data: sector 0). Filled in the transaction
//!   that marks the disc written; NULL while planned, for discs written before this version
//!   and for imported discs (odarchive 0.1, merged or disc catalogues).
//! - `plan.index_size`: the exact size of `INDEX.tsv.gz` on every disc of the plan (the
//!   whole archive, one line a file, see `disc::index`); 0 for plans made before this version,
//!   whose discs have no index (so that writing them again gives the same bytes).
//!
//! ## Version 9: every counter of `odarchive info` stored with its snapshot
//!
//! - `snapshot.unhashed_files` (files recorded without a content), `largest_path` (raw bytes)
//!   and `largest_size` (the largest file, by size then path; both NULL in a snapshot without
//!   files): with the counters of version 1 they are all that `info` shows, so it reads one
//!   row instead of counting every entry (14.5 s at 10 M entries). Set by the transaction that
//!   completes a scan, and by import and merge for every complete snapshot that lacks them.
//!   NULL `unhashed_files` means "not stored" (snapshots completed before this version until
//!   an import or merge fills them): `info` counts such a snapshot from its rows.
//!
//! ## Version 10: parity discs across a set
//!
//! - `set_group`: a group of consecutive discs of one plan (`first_disc`‥=`last_disc`, the
//!   *members*) protected by `parity` parity discs (see discfs's `parity::set` and
//!   docs/parity.md); `number` is 1-based and unique; `created_ns` dates its parity discs.
//! - `set_fold`: a member folded into its group's parity accumulator (the files under
//!   `OUT/.odarchive-set-parity/`), with the image SHA-256 folded and the range of its image the
//!   set code leaves out (its own `/Parity/PARITY.ODP`). A row is added only once the fold is
//!   complete and durable in the accumulator's state file, which is what a resumed fold trusts.
//! - `set_parity_disc`: parity disc `idx` (0-based) of a group: its label, `state`
//!   (`pending` until written, then `written`), and once written its image's name, size and
//!   SHA-256.
//!
//! ## Version 11: the last check of each disc
//!
//! - `disc_check`: per disc number, the last verify that checked the whole disc (the CLI's or
//!   a server's): when (`checked_ns`), whether it passed (`ok`), what it found in words
//!   (`summary`) and the job that ran it (`job`, NULL when none was recorded). Removed with
//!   its disc. See [`crate::catalogue::disc_checks`].
//!
//! ## Version 12: a plan's set-parity shape
//!
//! - `plan.set_parity`, `plan.set_group`: the parity discs a group and the discs a group the
//!   plan was asked for (0 and 0 without set parity, and for plans made before version 12,
//!   whose shape is known only from their groups).
//!
//! Foreign keys are enforced (the bundled SQLite turns `PRAGMA foreign_keys` on by default);
//! an import that resolves references at its end defers them to its commit.

/// The schema steps: `MIGRATIONS[i]` upgrades version `i` to `i + 1`.
pub const MIGRATIONS: &[&str] = &[
    V1,
    V2,
    V3_PART_HASH,
    V4_DISC_SET,
    V5_OWNERS,
    V6_ROOT_MTIME,
    V7_PARITY,
    V8_PLACEMENT_SECTOR,
    V9_INFO_COUNTERS,
    V10_SET_PARITY,
    V11_DISC_CHECK,
    V12_PLAN_SET_SHAPE,
];

/// The newest schema version this build knows.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Versions above this are no schema at all, newer or not: the file is damaged.
pub const MAX_PLAUSIBLE_VERSION: i64 = 10_000;

const V1: &str = r#"
CREATE TABLE archive (
    id             INTEGER PRIMARY KEY CHECK (id = 1),
    set_id         TEXT    NOT NULL,
    hash_algorithm TEXT    NOT NULL,
    created_ns     INTEGER NOT NULL,
    tool_version   TEXT    NOT NULL
);

CREATE TABLE snapshot (
    id              INTEGER PRIMARY KEY,
    drive_path      BLOB    NOT NULL,
    started_ns      INTEGER NOT NULL,
    finished_ns     INTEGER,
    state           TEXT    NOT NULL CHECK (state IN ('scanning', 'complete')),
    files           INTEGER,
    directories     INTEGER,
    symlinks        INTEGER,
    total_bytes     INTEGER,
    unique_contents INTEGER,
    unique_bytes    INTEGER,
    errors          INTEGER
);

CREATE TABLE content (
    id   INTEGER PRIMARY KEY,
    hash BLOB    NOT NULL UNIQUE,
    size INTEGER NOT NULL
);

CREATE TABLE entry (
    id             INTEGER PRIMARY KEY,
    path           BLOB    NOT NULL,
    kind           INTEGER NOT NULL,
    content_id     INTEGER REFERENCES content(id),
    size           INTEGER NOT NULL,
    mtime_ns       INTEGER NOT NULL,
    mode           INTEGER NOT NULL,
    link_target    BLOB,
    dev            INTEGER NOT NULL,
    inode          INTEGER NOT NULL,
    first_snapshot INTEGER NOT NULL REFERENCES snapshot(id),
    last_snapshot  INTEGER NOT NULL REFERENCES snapshot(id)
);
CREATE INDEX entry_by_path ON entry(path, last_snapshot);
CREATE INDEX entry_by_content ON entry(content_id);

CREATE TABLE scan_error (
    id       INTEGER PRIMARY KEY,
    snapshot INTEGER NOT NULL REFERENCES snapshot(id),
    path     BLOB    NOT NULL,
    cause    TEXT    NOT NULL,
    at_ns    INTEGER NOT NULL
);
CREATE INDEX scan_error_by_snapshot ON scan_error(snapshot, path);

CREATE TABLE job (
    id          INTEGER PRIMARY KEY,
    kind        TEXT    NOT NULL,
    state       TEXT    NOT NULL CHECK (state IN
                    ('running', 'completed', 'completed_with_errors', 'failed', 'interrupted')),
    pid         INTEGER NOT NULL,
    hostname    TEXT    NOT NULL,
    snapshot    INTEGER REFERENCES snapshot(id),
    started_ns  INTEGER NOT NULL,
    updated_ns  INTEGER NOT NULL,
    finished_ns INTEGER,
    phase       TEXT    NOT NULL,
    files_done  INTEGER NOT NULL DEFAULT 0,
    bytes_done  INTEGER NOT NULL DEFAULT 0,
    files_total INTEGER NOT NULL DEFAULT 0,
    bytes_total INTEGER NOT NULL DEFAULT 0,
    message     TEXT
);
"#;

const V2: &str = r#"
CREATE TABLE plan (
    id             INTEGER PRIMARY KEY,
    created_ns     INTEGER NOT NULL,
    snapshot       INTEGER NOT NULL REFERENCES snapshot(id),
    media          TEXT    NOT NULL,
    capacity       INTEGER NOT NULL,
    margin         INTEGER NOT NULL,
    first_paths    TEXT    NOT NULL,
    folders_split  INTEGER NOT NULL,
    catalogue_size INTEGER NOT NULL,
    catalogue_gzip INTEGER NOT NULL
);

CREATE TABLE disc (
    id           INTEGER PRIMARY KEY,
    number       INTEGER NOT NULL UNIQUE,
    plan_id      INTEGER NOT NULL REFERENCES plan(id),
    snapshot     INTEGER NOT NULL REFERENCES snapshot(id),
    capacity     INTEGER NOT NULL,
    margin       INTEGER NOT NULL,
    media        TEXT    NOT NULL,
    label        TEXT    NOT NULL,
    state        TEXT    NOT NULL CHECK (state IN ('planned', 'written', 'verified')),
    image_size   INTEGER NOT NULL,
    files        INTEGER NOT NULL,
    bytes        INTEGER NOT NULL,
    image_name   TEXT,
    image_sha256 BLOB,
    written_ns   INTEGER,
    verified_ns  INTEGER
);

CREATE TABLE placement (
    id          INTEGER PRIMARY KEY,
    content_id  INTEGER NOT NULL REFERENCES content(id),
    disc_id     INTEGER NOT NULL REFERENCES disc(id),
    part        INTEGER NOT NULL,
    parts       INTEGER NOT NULL,
    offset      INTEGER NOT NULL,
    length      INTEGER NOT NULL,
    part_sha256 BLOB,
    entry_path  BLOB    NOT NULL,
    name_path   TEXT    NOT NULL,
    disc_path   TEXT    NOT NULL,
    iso_path    TEXT    NOT NULL
);
CREATE INDEX placement_by_disc ON placement(disc_id, disc_path);
CREATE INDEX placement_by_content ON placement(content_id, part);
"#;

/// Version 3: a part's hash is in the catalogue's algorithm, so its column no longer says
/// SHA-256.
const V3_PART_HASH: &str = r#"
ALTER TABLE placement RENAME COLUMN part_sha256 TO part_hash;
"#;

/// Version 4: the set of a disc merged from another catalogue.
const V4_DISC_SET: &str = r#"
ALTER TABLE disc ADD COLUMN set_id TEXT;
"#;

/// Version 5: who owned each entry version.
const V5_OWNERS: &str = r#"
ALTER TABLE entry ADD COLUMN uid INTEGER;
ALTER TABLE entry ADD COLUMN gid INTEGER;
ALTER TABLE entry ADD COLUMN user_name TEXT;
ALTER TABLE entry ADD COLUMN group_name TEXT;
"#;

/// The drive root's mtime when a snapshot's scan began (NULL for snapshots scanned before
/// it was recorded): each disc's `/Data` folder carries it, as the drive root had it.
const V6_ROOT_MTIME: &str = r#"
ALTER TABLE snapshot ADD COLUMN root_mtime_ns INTEGER;
"#;

const V7_PARITY: &str = r#"
ALTER TABLE plan ADD COLUMN parity_percent INTEGER NOT NULL DEFAULT 0;
"#;

/// Version 8: the first sector of each written file, so a reader can go straight to it, and
/// the size of each plan's per-disc index.
const V8_PLACEMENT_SECTOR: &str = r#"
ALTER TABLE placement ADD COLUMN sector INTEGER;
ALTER TABLE plan ADD COLUMN index_size INTEGER NOT NULL DEFAULT 0;
"#;

/// Version 9: the counters `info` shows that version 1 did not store.
const V9_INFO_COUNTERS: &str = r#"
ALTER TABLE snapshot ADD COLUMN unhashed_files INTEGER;
ALTER TABLE snapshot ADD COLUMN largest_path BLOB;
ALTER TABLE snapshot ADD COLUMN largest_size INTEGER;
"#;

/// Version 10: parity discs across a set. `IF NOT EXISTS`: tests that make an older
/// catalogue by dropping later columns from a new one keep these tables.
const V10_SET_PARITY: &str = r#"
CREATE TABLE IF NOT EXISTS set_group (
    id          INTEGER PRIMARY KEY,
    number      INTEGER NOT NULL UNIQUE,
    plan_id     INTEGER NOT NULL REFERENCES plan(id),
    parity      INTEGER NOT NULL,
    first_disc  INTEGER NOT NULL,
    last_disc   INTEGER NOT NULL,
    created_ns  INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS set_fold (
    group_id        INTEGER NOT NULL REFERENCES set_group(id) ON DELETE CASCADE,
    disc_number     INTEGER NOT NULL,
    image_sha256    BLOB NOT NULL,
    image_size      INTEGER NOT NULL,
    covered         INTEGER NOT NULL,
    excluded_start  INTEGER NOT NULL,
    excluded        INTEGER NOT NULL,
    folded_ns       INTEGER NOT NULL,
    PRIMARY KEY (group_id, disc_number)
);
CREATE TABLE IF NOT EXISTS set_parity_disc (
    group_id      INTEGER NOT NULL REFERENCES set_group(id) ON DELETE CASCADE,
    idx           INTEGER NOT NULL,
    label         TEXT NOT NULL UNIQUE,
    state         TEXT NOT NULL DEFAULT 'pending',
    image_name    TEXT,
    image_size    INTEGER,
    image_sha256  BLOB,
    written_ns    INTEGER,
    PRIMARY KEY (group_id, idx)
);
"#;

/// Version 11: the last check of each disc, kept across restarts.
const V11_DISC_CHECK: &str = r#"
CREATE TABLE IF NOT EXISTS disc_check (
    disc_number  INTEGER PRIMARY KEY REFERENCES disc(number) ON DELETE CASCADE,
    job          INTEGER,
    checked_ns   INTEGER NOT NULL,
    ok           INTEGER NOT NULL,
    summary      TEXT NOT NULL
);
"#;

/// Version 12: the set-parity shape a plan was asked for, which its groups do not say when the
/// plan's discs fill less than one group.
const V12_PLAN_SET_SHAPE: &str = r#"
ALTER TABLE plan ADD COLUMN set_parity INTEGER NOT NULL DEFAULT 0;
ALTER TABLE plan ADD COLUMN set_group INTEGER NOT NULL DEFAULT 0;
"#;

#[cfg(test)]
mod tests {
    use super::*;
    use rusqlite::Connection;

    #[test]
    fn every_migration_applies_to_an_empty_database() {
        let conn = Connection::open_in_memory().unwrap();
        for step in MIGRATIONS {
            conn.execute_batch(step).unwrap();
        }
        let tables: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE type = 'table'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(tables, 13);
    }

    #[test]
    fn version_3_keeps_part_hashes_under_their_new_name() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(V1).unwrap();
        conn.execute_batch(V2).unwrap();
        // A lone placement row: its disc and content do not matter here.
        conn.pragma_update(None, "foreign_keys", false).unwrap();
        conn.execute(
            "INSERT INTO placement (content_id, disc_id, part, parts, offset, length, \
             part_sha256, entry_path, name_path, disc_path, iso_path) \
             VALUES (1, 1, 1, 2, 0, 10, x'abcd', x'61', 'Data/a', 'Data/a', 'DATA/A;1')",
            [],
        )
        .unwrap();
        conn.execute_batch(V3_PART_HASH).unwrap();
        let kept: Vec<u8> = conn
            .query_row("SELECT part_hash FROM placement", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, [0xab, 0xcd]);
        assert!(
            conn.prepare("SELECT part_sha256 FROM placement").is_err(),
            "the old name is gone"
        );
    }

    #[test]
    fn path_lookup_uses_the_index() {
        let conn = Connection::open_in_memory().unwrap();
        conn.execute_batch(V1).unwrap();
        let plan: String = conn
            .query_row(
                "EXPLAIN QUERY PLAN SELECT id FROM entry WHERE path = ?1 \
                 ORDER BY last_snapshot DESC LIMIT 1",
                [b"a".as_slice()],
                |r| r.get(3),
            )
            .unwrap();
        assert!(plan.contains("entry_by_path"), "{plan}");
    }
}
