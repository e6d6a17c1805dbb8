//! The catalogue file: where it is, and what happens with one we cannot use.

use crate::support::Scratch;

#[test]
fn a_catalogue_from_a_newer_schema_is_a_clear_error() {
    let s = Scratch::new();
    s.write("f", "x");
    let conn = rusqlite::Connection::open(&s.catalogue).unwrap();
    conn.pragma_update(None, "user_version", 42).unwrap();
    drop(conn);
    for args in [&["scan"][..], &["info"], &["status"]] {
        let mut cmd = s.command(args);
        if args[0] == "scan" {
            cmd.arg(&s.drive);
        }
        let run = crate::support::Run::from(cmd.output().unwrap());
        assert_eq!(run.code, 1, "{args:?}");
        let message = &run.stderr;
        assert!(
            message.contains(&s.catalogue.display().to_string()),
            "{message}"
        );
        assert!(message.contains("schema version 42"), "{message}");
        assert!(message.contains("knows versions up to"), "{message}");
    }
    // Untouched: still version 42, no tables added.
    let conn = rusqlite::Connection::open(&s.catalogue).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert_eq!(version, 42);
}

#[test]
fn the_catalogue_path_comes_from_the_environment_or_the_default() {
    let s = Scratch::new();
    s.write("f", "x");
    let work = tempfile::tempdir().unwrap();
    // Default: ./odarchive.db in the working directory.
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("odarchive"));
    cmd.current_dir(work.path())
        .env_remove("ODARCHIVE_CATALOGUE")
        .arg("init")
        .arg(&s.drive);
    assert!(cmd.output().unwrap().status.success());
    assert!(work.path().join("odarchive.db").exists());
    // ODARCHIVE_CATALOGUE.
    let elsewhere = work.path().join("elsewhere.db");
    let mut cmd = std::process::Command::new(assert_cmd::cargo::cargo_bin("odarchive"));
    cmd.current_dir(work.path())
        .env("ODARCHIVE_CATALOGUE", &elsewhere)
        .arg("create_db")
        .arg(&s.drive);
    assert!(cmd.output().unwrap().status.success());
    assert!(elsewhere.exists());
}

#[test]
fn errors_and_usage_have_distinct_exit_codes() {
    let s = Scratch::new();
    let missing = s.run(&["info"]);
    assert_eq!(missing.code, 1);
    assert!(
        missing.stderr.contains("does not exist"),
        "{}",
        missing.stderr
    );
    assert!(!s.catalogue.exists(), "info must not create a catalogue");

    let no_drive = s.run(&["scan", "/no/such/drive"]);
    assert_eq!(no_drive.code, 1);
    assert!(
        no_drive.stderr.contains("/no/such/drive"),
        "{}",
        no_drive.stderr
    );

    let bad_glob = s
        .command(&["scan", "--exclude", "a[", "."])
        .output()
        .unwrap();
    assert_eq!(bad_glob.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&bad_glob.stderr).contains("a["));

    assert_eq!(s.run(&["frobnicate"]).code, 2);
    assert_eq!(s.run(&["scan"]).code, 2);
    assert_eq!(s.run(&["--help"]).code, 0);
}

/// The CLI says what to run next after the library's error, and each cause once: the lines are
/// whole, as a person reads them.
#[test]
fn errors_end_with_the_hint_and_name_each_cause_once() {
    let s = Scratch::new();
    let missing = s.run(&["info"]);
    assert_eq!(
        missing.stderr.trim_end(),
        format!(
            "odarchive: catalogue {} does not exist (create it with `odarchive scan DRIVE_PATH`)",
            s.catalogue.display()
        )
    );
    let no_drive = s.run(&["scan", "/no/such/drive"]);
    assert_eq!(
        no_drive.stderr.trim_end(),
        "odarchive: cannot scan /no/such/drive: No such file or directory (os error 2)"
    );
    let no_plan = s.run(&["write", "--out", s.dir("out").to_str().unwrap()]);
    assert_eq!(no_plan.code, 1);
    assert_eq!(
        no_plan.stderr.trim_end(),
        "odarchive: no discs are planned (run `odarchive plan --media M`)"
    );
}

#[test]
fn a_catalogue_of_the_previous_schema_is_upgraded_by_a_reading_command() {
    let s = Scratch::new();
    s.write("a/one", "1");
    s.write("a/big", "a larger file");
    assert_eq!(s.run(&["scan", s.drive.to_str().unwrap()]).code, 0);
    // As odarchive 0.2 before schema 9 left it: no stored `info` counters of its own (nor
    // the columns of later versions).
    let conn = rusqlite::Connection::open(&s.catalogue).unwrap();
    conn.execute_batch(
        "ALTER TABLE snapshot DROP COLUMN unhashed_files;
         ALTER TABLE snapshot DROP COLUMN largest_path;
         ALTER TABLE snapshot DROP COLUMN largest_size;
         ALTER TABLE plan DROP COLUMN set_parity;
         ALTER TABLE plan DROP COLUMN set_group;
         PRAGMA user_version = 8;",
    )
    .unwrap();
    drop(conn);
    let run = s.run(&["--json", "info"]);
    assert_eq!(run.code, 0, "{}", run.stderr);
    let info: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(info["files"], 2, "{info}");
    assert_eq!(info["largest_file"]["path"], "a/big", "{info}");
    let conn = rusqlite::Connection::open(&s.catalogue).unwrap();
    let version: i64 = conn
        .query_row("PRAGMA user_version", [], |r| r.get(0))
        .unwrap();
    assert!(version > 8, "upgraded to {version}");
}
