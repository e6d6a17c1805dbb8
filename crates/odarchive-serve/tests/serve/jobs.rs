//! The server's jobs beyond a plain restore: a cancel that stops a long restore with only
//! whole files left, a verify whose verdicts show on the disc map, the history of jobs, the
//! discs a basket needs; and hostile requests to each, answered 4xx with nothing done.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::support::{Archive, Request, big_files, get, job_ended, tree};

fn post(a: SocketAddr, target: &str, body: serde_json::Value) -> crate::support::Response {
    Request::post_json(a, target, &body).send()
}

/// Whether a complete (final-named) file is in `root`/big (looked at while files come and
/// go: a name that vanishes is no error).
fn a_file_is_done(root: &Path) -> bool {
    let Ok(entries) = std::fs::read_dir(root.join("big")) else {
        return false;
    };
    entries
        .flatten()
        .any(|e| !is_temporary(Path::new(&e.file_name())))
}

fn is_temporary(rel: &Path) -> bool {
    let name = rel.file_name().unwrap().to_string_lossy();
    name.starts_with(".oda-") && name.ends_with(".tmp")
}

#[test]
fn a_cancel_stops_a_long_restore_and_leaves_only_whole_files() {
    let archive = Archive::big();
    let server = archive.serve();
    let a = server.address;
    let out = archive.restore_to.join("cut");
    let started = post(a, "/api/restore", json!({"paths": ["big"], "to": "cut"}));
    assert_eq!(started.status, 202, "{}", started.text());
    let id = started.json()["job"]["id"].as_i64().unwrap();
    // Cancel as soon as the first file is in place.
    let start = Instant::now();
    while !a_file_is_done(&out) {
        assert!(start.elapsed() < Duration::from_secs(60), "no file came");
        std::thread::sleep(Duration::from_millis(1));
    }
    let cancelled = post(a, &format!("/api/jobs/{id}/cancel"), json!({}));
    assert_eq!(cancelled.status, 202, "{}", cancelled.text());
    assert_eq!(cancelled.json()["job"]["cancel_requested"], true);
    let job = job_ended(a);
    assert_eq!(job["state"], "cancelled", "{job}");
    let report = &job["report"];
    assert_eq!(report["cancelled"], true);
    let done = report["files_restored"].as_u64().unwrap();
    assert!((1..16).contains(&done), "{done} of 16 restored");

    // Only whole files, under their final names, as many as the report says; nothing
    // half-written (the staging folder of split contents aside, which the next run uses).
    let got: Vec<(PathBuf, Vec<u8>)> = tree(&out)
        .into_iter()
        .filter(|(rel, _)| !rel.starts_with(".odarchive-restore"))
        .collect();
    let names: Vec<&PathBuf> = got.iter().map(|(n, _)| n).collect();
    assert_eq!(got.len() as u64, done, "{names:?}");
    let want = big_files();
    for (rel, data) in &got {
        assert!(
            !is_temporary(rel),
            "a temporary file is left: {}",
            rel.display()
        );
        let (_, bytes) = want
            .iter()
            .find(|(p, _)| Path::new(std::str::from_utf8(p).unwrap()) == rel)
            .unwrap_or_else(|| panic!("{} was not asked for", rel.display()));
        assert!(data == bytes, "{} is not whole", rel.display());
    }

    // The job table keeps it, interrupted, saying how much was done.
    let jobs = get(a, "/api/jobs").json();
    let row = &jobs["jobs"][0];
    assert_eq!(row["id"], id);
    assert_eq!(row["kind"], "restore");
    assert_eq!(row["state"], "interrupted");
    let message = row["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("cancelled; restored {done} files")),
        "{message}"
    );
    // An ended job cannot be cancelled again.
    let again = post(a, &format!("/api/jobs/{id}/cancel"), json!({}));
    assert_eq!(again.status, 409);
    assert!(again.error().contains("has ended"), "{}", again.text());

    // Restoring again finishes the rest, the finished files counted as in place.
    let second = post(a, "/api/restore", json!({"paths": ["big"], "to": "cut"}));
    assert_eq!(second.status, 202, "{}", second.text());
    let job = job_ended(a);
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["report"]["files_already_done"], done);
    let all: Vec<(PathBuf, Vec<u8>)> = want
        .into_iter()
        .map(|(p, d)| (PathBuf::from(String::from_utf8(p).unwrap()), d))
        .collect();
    assert!(
        tree(&out) == all,
        "the second run does not give every file whole"
    );
}

/// The disc map's rows: (state, last_check).
fn disc_map(a: SocketAddr) -> Vec<(String, serde_json::Value)> {
    get(a, "/api/discs")
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["state"].as_str().unwrap().to_owned(),
                d["last_check"].clone(),
            )
        })
        .collect()
}

#[test]
fn a_verify_marks_each_disc_and_the_disc_map_shows_a_damaged_one() {
    let archive = Archive::new();
    let server = archive.serve();
    let a = server.address;
    let before = disc_map(a);
    assert!(before.len() >= 2);
    assert!(before.iter().all(|(s, c)| s == "written" && c.is_null()));

    let started = post(a, "/api/verify", json!({}));
    assert_eq!(started.status, 202, "{}", started.text());
    assert_eq!(started.json()["job"]["kind"], "verify");
    let job = job_ended(a);
    assert_eq!(job["state"], "completed", "{job}");
    let verdicts = job["verdicts"].as_array().unwrap();
    assert_eq!(verdicts.len(), before.len());
    for (i, (state, check)) in disc_map(a).iter().enumerate() {
        assert_eq!(state, "verified", "disc {}", i + 1);
        assert_eq!(check["ok"], true, "{check}");
        assert_eq!(check["job"], job["id"]);
    }

    // Damage disc 2's image and check it alone: its row says what failed.
    let images: Vec<PathBuf> = {
        let mut v: Vec<PathBuf> = std::fs::read_dir(&archive.images)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "iso"))
            .collect();
        v.sort();
        v
    };
    let mut bytes = std::fs::read(&images[1]).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 4096] {
        *b ^= 0x5a;
    }
    std::fs::write(&images[1], bytes).unwrap();
    let started = post(a, "/api/verify", json!({"discs": [2]}));
    assert_eq!(started.status, 202, "{}", started.text());
    let job = job_ended(a);
    assert_eq!(job["state"], "completed_with_errors", "{job}");
    assert_eq!(job["discs"], json!([2]));
    assert_eq!(job["verdicts"].as_array().unwrap().len(), 1);
    assert_eq!(job["verdicts"][0]["disc"], 2);
    let map = disc_map(a);
    assert_eq!(map[1].1["ok"], false, "{:?}", map[1]);
    let summary = map[1].1["summary"].as_str().unwrap();
    assert!(summary.starts_with("FAILED"), "{summary}");
    assert_eq!(map[0].1["ok"], true, "disc 1 keeps its last check");
    // The page shows it too.
    let page = get(a, "/discs").text();
    assert!(page.contains("FAILED"), "{page}");
    assert!(page.contains("verify-all"));
}

#[test]
fn the_history_lists_the_jobs_of_the_cli_and_of_the_server_newest_first() {
    let archive = Archive::new();
    let server = archive.serve();
    let a = server.address;
    let first = get(a, "/api/jobs").json();
    let kinds: Vec<&str> = first["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| j["kind"].as_str().unwrap())
        .collect();
    // The archive's own jobs (through the library, as the CLI runs them).
    assert_eq!(kinds.first(), Some(&"write"), "{kinds:?}");
    assert!(kinds.contains(&"scan"), "{kinds:?}");

    let r = post(
        a,
        "/api/restore",
        json!({"paths": ["docs/notes.txt"], "to": "h"}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    job_ended(a);
    let r = post(a, "/api/verify", json!({"discs": [1]}));
    assert_eq!(r.status, 202, "{}", r.text());
    job_ended(a);

    let page = get(a, "/api/jobs?limit=2").json();
    let rows = page["jobs"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["kind"], "verify");
    assert_eq!(rows[0]["state"], "completed");
    assert!(
        rows[0]["message"]
            .as_str()
            .unwrap()
            .contains("1 of 1 discs passed"),
        "{}",
        rows[0]
    );
    assert_eq!(rows[1]["kind"], "restore");
    assert!(
        rows[1]["message"]
            .as_str()
            .unwrap()
            .starts_with("restored 1 files"),
        "{}",
        rows[1]
    );
    assert!(rows[1]["finished_ns"].as_i64().unwrap() >= rows[1]["started_ns"].as_i64().unwrap());
    // The next page goes on below the last id.
    let next = page["next_before"].as_i64().unwrap();
    assert_eq!(next, rows[1]["id"].as_i64().unwrap());
    let rest = get(a, &format!("/api/jobs?before={next}&limit=200")).json();
    assert_eq!(rest["jobs"][0]["kind"], "write");
    assert!(rest["next_before"].is_null());
    // And the status page shows the history.
    let status = get(a, "/").text();
    assert!(status.contains("id=history"), "{status}");
    assert!(status.contains("1 of 1 discs passed"), "{status}");
}

#[test]
fn a_basket_says_which_discs_it_needs_with_their_labels() {
    let archive = Archive::new();
    let server = archive.serve();
    let a = server.address;
    // What the versions say of each file: the discs of its parts.
    let discs_of = |path: &str| -> Vec<u64> {
        let v = get(a, &format!("/api/files/versions?path={path}")).json();
        v["versions"][0]["locations"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["disc"].as_u64().unwrap())
            .collect()
    };
    let mut want: Vec<u64> = discs_of("Photos/2019/IMG_0002.jpg");
    want.extend(discs_of("docs/notes.txt"));
    want.sort();
    want.dedup();
    let r = post(
        a,
        "/api/basket/discs",
        json!({"snapshot": 1, "paths": ["Photos/2019/IMG_0002.jpg", "docs/notes.txt"]}),
    );
    assert_eq!(r.status, 200, "{}", r.text());
    let answer = r.json();
    let got: Vec<u64> = answer["discs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["number"].as_u64().unwrap())
        .collect();
    assert_eq!(got, want);
    assert_eq!(answer["selected_files"], 2);
    assert_eq!(answer["selected_bytes"], 700_000 + 6);
    for d in answer["discs"].as_array().unwrap() {
        assert!(d["label"].as_str().unwrap().starts_with("ODA_"), "{d}");
        assert_eq!(d["state"], "written");
        assert!(d["files"].as_u64().unwrap() >= 1);
    }
    // A folder stands for all below it: the whole drive needs every disc.
    let all = post(
        a,
        "/api/basket/discs",
        json!({"paths": ["Photos", "docs", "many", "odd"]}),
    )
    .json();
    let discs = get(a, "/api/discs").json();
    assert_eq!(
        all["discs"].as_array().unwrap().len(),
        discs.as_array().unwrap().len()
    );
    // Nothing was restored or written by asking.
    assert!(tree(&archive.restore_to).is_empty());
}

#[test]
fn hostile_requests_to_the_job_endpoints_are_refused_and_change_nothing() {
    let archive = Archive::new();
    let server = archive.serve();
    let a = server.address;
    let cases: &[(&str, serde_json::Value, u16, &str)] = &[
        ("/api/jobs/abc/cancel", json!({}), 400, "a job is a number"),
        ("/api/jobs/999/cancel", json!({}), 404, "no job 999"),
        // The archive's write ended long ago.
        ("/api/jobs/1/cancel", json!({}), 409, "has ended"),
        ("/api/verify", json!({"discs": [99]}), 404, "no disc 99"),
        (
            "/api/verify",
            json!({"discs": "1"}),
            400,
            "not a verify request",
        ),
        (
            "/api/verify",
            json!({"discs": [-1]}),
            400,
            "not a verify request",
        ),
        (
            "/api/verify",
            json!({"images": ["/etc"]}),
            400,
            "unknown field",
        ),
        (
            "/api/basket/discs",
            json!({"paths": []}),
            400,
            "`paths` is empty",
        ),
        (
            "/api/basket/discs",
            json!({"paths": ["../../etc/passwd"]}),
            404,
            "is not in snapshot",
        ),
        (
            "/api/basket/discs",
            json!({"paths": ["/etc/passwd"]}),
            400,
            "relative to the drive root",
        ),
        (
            "/api/basket/discs",
            json!({"paths": ["docs"], "snapshot": 9}),
            404,
            "no complete snapshot",
        ),
        (
            "/api/basket/discs",
            json!({"paths": ["docs"], "to": "/tmp"}),
            400,
            "unknown field",
        ),
    ];
    for (target, body, status, message) in cases {
        let r = post(a, target, body.clone());
        assert_eq!(r.status, *status, "{target} {body}: {}", r.text());
        assert!(r.error().contains(message), "{target} {body}: {}", r.text());
    }
    let mut malformed = Request::post_json(a, "/api/verify", &serde_json::Value::Null);
    malformed.body = b"{not json".to_vec();
    assert_eq!(malformed.send().status, 400);
    for bad in [
        "/api/jobs?before=x",
        "/api/jobs?limit=0",
        "/api/jobs?limit=201",
    ] {
        assert_eq!(get(a, bad).status, 400, "{bad}");
    }
    // Actions without the header, or from another site, are refused before anything runs.
    for target in ["/api/verify", "/api/jobs/1/cancel", "/api/basket/discs"] {
        let r = Request::post_json(a, target, &json!({}))
            .without("X-Odarchive-Action")
            .send();
        assert_eq!(r.status, 403, "{target}");
        let r = Request::post_json(a, target, &json!({}))
            .header("Origin", "http://evil.example")
            .send();
        assert_eq!(r.status, 403, "{target}");
    }
    // Nothing ran: no server job, and the discs are as written.
    assert!(get(a, "/api/status").json()["server_job"].is_null());
    assert!(
        disc_map(a)
            .iter()
            .all(|(s, c)| s == "written" && c.is_null())
    );

    // Without --images there is nothing to verify.
    let no_images = odarchive_serve::Server::start(odarchive_serve::ServeOptions {
        images: Vec::new(),
        drive: None,
        ..archive.options()
    })
    .unwrap();
    let r = post(no_images.address, "/api/verify", json!({}));
    assert_eq!(r.status, 403);
    assert!(r.error().contains("--images"), "{}", r.text());
    // With a token, the new endpoints need it too.
    let token = "00112233445566778899aabbccddeeff".to_owned();
    let guarded = archive.serve_on("127.0.0.1:0".parse().unwrap(), Some(token));
    assert_eq!(get(guarded.address, "/api/jobs").status, 401);
    assert_eq!(post(guarded.address, "/api/verify", json!({})).status, 401);
}

#[test]
fn one_job_at_a_time() {
    let archive = Archive::big();
    let server = archive.serve();
    let a = server.address;
    let first = post(a, "/api/restore", json!({"paths": ["big"], "to": "one"}));
    assert_eq!(first.status, 202, "{}", first.text());
    // 64 MB take far longer to restore than this request takes to come.
    let second = post(a, "/api/verify", json!({}));
    assert_eq!(second.status, 409, "{}", second.text());
    assert!(
        second.error().contains("one job at a time"),
        "{}",
        second.text()
    );
    assert_eq!(job_ended(a)["state"], "completed");
}

#[test]
fn a_diff_between_two_snapshots_lists_what_changed() {
    let archive = Archive::new();
    // A second scan: one file changed, one removed, one added.
    let drive = archive.path("drive");
    std::fs::write(drive.join("docs/notes.txt"), b"notes, changed\n").unwrap();
    std::fs::remove_file(drive.join("many/f000")).unwrap();
    std::fs::write(drive.join("docs/new <file>.txt"), b"new\n").unwrap();
    let mut c = odarchive::Catalogue::open(&archive.catalogue).unwrap();
    odarchive::scan(
        &mut c,
        &drive,
        &odarchive::ScanOptions::default(),
        &odarchive::NoProgress,
    )
    .unwrap();
    drop(c);
    let server = archive.serve();
    let a = server.address;
    let d = get(a, "/api/diff").json();
    assert_eq!((d["from"].as_i64(), d["to"].as_i64()), (Some(1), Some(2)));
    assert_eq!(d["added"], json!(["docs/new <file>.txt"]));
    assert_eq!(d["removed"], json!(["many/f000"]));
    let notes = d["modified"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["path"] == "docs/notes.txt")
        .unwrap_or_else(|| panic!("docs/notes.txt is not modified: {d}"));
    assert!(
        notes["changed"]
            .as_array()
            .unwrap()
            .contains(&json!("content"))
    );
    assert_eq!(d["truncated"], false);
    // The other way round, and cut to one of each.
    let back = get(a, "/api/diff?from=2&to=1&limit=1").json();
    assert_eq!(back["added"], json!(["many/f000"]));
    assert_eq!(back["removed_count"], 1);
    // The page escapes the name.
    let page = get(a, "/diff?from=1&to=2").text();
    assert!(page.contains("docs/new &lt;file&gt;.txt"), "{page}");
    assert!(page.contains("1 added, 1 removed"), "{page}");
    // With one snapshot only, it is compared with itself: nothing changed.
    let single = Archive::new();
    let server = single.serve();
    let same = get(server.address, "/api/diff").json();
    assert_eq!(
        (same["from"].as_i64(), same["to"].as_i64()),
        (Some(1), Some(1))
    );
    assert_eq!(same["added_count"], 0);
    for (bad, status) in [
        ("/api/diff?from=7", 404),
        ("/api/diff?to=x", 404),
        ("/api/diff?limit=0", 400),
        ("/api/diff?from=%FF", 400),
    ] {
        let r = get(a, bad);
        assert_eq!(r.status, status, "{bad}: {}", r.text());
        assert!(!r.error().is_empty());
    }
}

#[test]
fn a_name_that_is_not_utf8_goes_into_a_basket_as_hex_and_comes_back_exact() {
    let archive = Archive::new();
    let server = archive.serve();
    let a = server.address;
    let odd = odarchive::hex(b"odd/bad\xffname");
    let discs = post(
        a,
        "/api/basket/discs",
        json!({"paths_hex": [odd.clone()], "paths": ["docs/notes.txt"]}),
    );
    assert_eq!(discs.status, 200, "{}", discs.text());
    assert_eq!(discs.json()["selected_files"], 2);
    let r = post(
        a,
        "/api/restore",
        json!({"paths_hex": [odd.clone()], "to": "raw"}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let job = job_ended(a);
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["paths"], json!(["odd/bad\u{fffd}name"]));
    use std::os::unix::ffi::OsStrExt;
    let want = PathBuf::from(std::ffi::OsStr::from_bytes(b"odd/bad\xffname"));
    assert_eq!(
        tree(&archive.restore_to.join("raw")),
        [(want, b"not utf-8\n".to_vec())],
        "that file alone, under its exact name"
    );
    // Bad hex, a hex path that climbs or is absolute, one not in the snapshot.
    for (hex, status, message) in [
        ("zz".to_owned(), 400, "not hex"),
        (
            odarchive::hex(b"/etc/passwd"),
            400,
            "relative to the drive root",
        ),
        (
            odarchive::hex(b"../odd/bad\xffname"),
            404,
            "is not in snapshot",
        ),
        (
            odarchive::hex(b"odd/missing\xfe"),
            404,
            "is not in snapshot",
        ),
    ] {
        let r = post(a, "/api/basket/discs", json!({"paths_hex": [hex]}));
        assert_eq!(r.status, status, "{}", r.text());
        assert!(r.error().contains(message), "{}", r.text());
    }
}

#[test]
fn a_cancelled_verify_stops_between_discs() {
    let archive = Archive::big();
    let server = archive.serve();
    let a = server.address;
    let discs = get(a, "/api/discs").json().as_array().unwrap().len();
    assert!(discs >= 4, "{discs} discs");
    let started = post(a, "/api/verify", json!({}));
    assert_eq!(started.status, 202, "{}", started.text());
    let id = started.json()["job"]["id"].as_i64().unwrap();
    // Cancel once the first disc's verdict is in.
    crate::support::wait_for(a, |s| {
        s["server_job"]["verdicts"]
            .as_array()
            .is_some_and(|v| !v.is_empty())
    });
    let r = post(a, &format!("/api/jobs/{id}/cancel"), json!({}));
    assert_eq!(r.status, 202, "{}", r.text());
    let job = job_ended(a);
    assert_eq!(job["state"], "cancelled", "{job}");
    let checked = job["verdicts"].as_array().unwrap().len();
    assert!(
        (1..discs).contains(&checked),
        "{checked} of {discs} checked"
    );
    // The discs checked are verified; the others are as they were.
    let states: Vec<String> = get(a, "/api/discs")
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["state"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        states.iter().filter(|s| *s == "verified").count(),
        checked,
        "{states:?}"
    );
    let row = &get(a, "/api/jobs?limit=1").json()["jobs"][0];
    assert_eq!(row["state"], "interrupted");
    assert!(
        row["message"]
            .as_str()
            .unwrap()
            .starts_with(&format!("cancelled; {checked} of {checked} discs passed")),
        "{row}"
    );
}

#[test]
fn the_last_check_of_each_disc_is_kept_across_a_restart_and_the_cli_verify_records_it_too() {
    let archive = Archive::new();
    let server = archive.serve();
    let a = server.address;
    let started = post(a, "/api/verify", json!({"discs": [1]}));
    assert_eq!(started.status, 202, "{}", started.text());
    let id = job_ended(a)["id"].clone();
    drop(server);

    // A new server on the same catalogue shows the check of disc 1, and none of the others.
    let server = archive.serve();
    let a = server.address;
    let map = disc_map(a);
    assert_eq!(map[0].0, "verified");
    assert_eq!(map[0].1["ok"], true, "{:?}", map[0]);
    assert_eq!(map[0].1["job"], id, "{:?}", map[0]);
    assert!(
        map[0].1["summary"].as_str().unwrap().starts_with("ok: "),
        "{:?}",
        map[0]
    );
    assert!(map[1..].iter().all(|(s, c)| s == "written" && c.is_null()));
    assert!(get(a, "/discs").text().contains("ok: "));
    drop(server);

    // The library's verify (what the CLI's `verify` runs) records a damaged disc's verdict.
    let mut images: Vec<PathBuf> = std::fs::read_dir(&archive.images)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "iso"))
        .collect();
    images.sort();
    let mut bytes = std::fs::read(&images[1]).unwrap();
    let middle = bytes.len() / 2;
    for b in &mut bytes[middle..middle + 4096] {
        *b ^= 0x5a;
    }
    std::fs::write(&images[1], bytes).unwrap();
    let mut catalogue = odarchive::Catalogue::open(&archive.catalogue).unwrap();
    let verdicts = odarchive::verify::verify(
        &mut catalogue,
        &images[1..2],
        &odarchive::verify::VerifyOptions::default(),
    )
    .unwrap();
    assert!(!verdicts[0].ok());
    drop(catalogue);
    let server = archive.serve();
    let map = disc_map(server.address);
    assert_eq!(map[1].0, "written");
    assert_eq!(map[1].1["ok"], false, "{:?}", map[1]);
    assert!(map[1].1["job"].is_null(), "{:?}", map[1]);
    let summary = map[1].1["summary"].as_str().unwrap();
    assert!(summary.starts_with("FAILED"), "{summary}");
    assert_eq!(map[0].1["ok"], true, "disc 1 keeps its check");
}

#[test]
fn a_cancel_stops_the_verify_of_one_large_disc_inside_it() {
    let archive = Archive::one_large_disc();
    let server = archive.serve();
    let a = server.address;
    assert_eq!(disc_map(a).len(), 1);
    let started = post(a, "/api/verify", json!({}));
    assert_eq!(started.status, 202, "{}", started.text());
    let id = started.json()["job"]["id"].as_i64().unwrap();
    crate::support::wait_for(a, |s| {
        s["server_job"]["phase"]
            .as_str()
            .is_some_and(|p| p.starts_with("checking disc 1"))
    });
    let asked = Instant::now();
    let r = post(a, &format!("/api/jobs/{id}/cancel"), json!({}));
    assert_eq!(r.status, 202, "{}", r.text());
    let job = job_ended(a);
    let took = asked.elapsed();
    // With one disc, a cancel checked only between discs would let it finish.
    assert_eq!(job["state"], "cancelled", "{job}");
    assert_eq!(job["verdicts"], json!([]), "{job}");
    // It says it was cancelled, not that the folder held no image.
    let message = job["message"].as_str().unwrap();
    assert!(
        message.contains("cancelled before the check of a disc ended"),
        "{message}"
    );
    assert!(took < Duration::from_secs(5), "the cancel took {took:?}");
    // The disc is as it was: not verified, no check recorded.
    let map = disc_map(a);
    assert_eq!(map[0].0, "written");
    assert!(map[0].1.is_null(), "{:?}", map[0]);
    let row = &get(a, "/api/jobs?limit=1").json()["jobs"][0];
    assert_eq!(row["state"], "interrupted", "{row}");
}

#[test]
fn set_parity_discs_in_the_images_folder_are_checked_as_what_they_are() {
    let archive = Archive::with_set_parity();
    let parity_images: Vec<PathBuf> = std::fs::read_dir(&archive.images)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().contains("_P0"))
        .collect();
    assert!(!parity_images.is_empty(), "no parity disc was written");
    let server = archive.serve();
    let a = server.address;
    let started = post(a, "/api/verify", json!({}));
    assert_eq!(started.status, 202, "{}", started.text());
    let job = job_ended(a);
    assert_eq!(job["state"], "completed", "{job}");
    // Each data disc has its verdict; each parity disc its own check, saying what it is.
    let data = disc_map(a);
    assert_eq!(
        job["verdicts"].as_array().unwrap().len(),
        data.len(),
        "{job}"
    );
    assert!(data.iter().all(|(s, c)| s == "verified" && c["ok"] == true));
    let parity = job["parity_discs"].as_array().unwrap();
    assert_eq!(parity.len(), parity_images.len(), "{job}");
    assert!(
        parity
            .iter()
            .all(|p| p["bad_sectors"] == 0 && p["group"] == 1)
    );
    let message = job["message"].as_str().unwrap();
    let all = data.len() + parity.len();
    assert!(
        message.starts_with(&format!("{all} of {all} discs passed")),
        "{message}"
    );
    assert!(
        message.contains("parity disc 1 of set-parity group 1"),
        "{message}"
    );

    // A damaged parity disc is said to be one, and to have failed.
    let mut bytes = std::fs::read(&parity_images[0]).unwrap();
    let at = bytes.len() - 100_000;
    for b in &mut bytes[at..at + 8192] {
        *b ^= 0x5a;
    }
    std::fs::write(&parity_images[0], bytes).unwrap();
    let started = post(a, "/api/verify", json!({}));
    assert_eq!(started.status, 202, "{}", started.text());
    let job = job_ended(a);
    assert_eq!(job["state"], "completed_with_errors", "{job}");
    let message = job["message"].as_str().unwrap();
    assert!(
        message.contains(&format!(
            "parity disc 1 of set-parity group 1 ({} discs): FAILED",
            data.len()
        )),
        "{message}"
    );
    // Verifying one data disc leaves the parity discs alone.
    let started = post(a, "/api/verify", json!({"discs": [1]}));
    assert_eq!(started.status, 202, "{}", started.text());
    let job = job_ended(a);
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["parity_discs"], json!([]));
    // A restore reads the data discs of the folder; its parity disc is no problem.
    let r = post(
        a,
        "/api/restore",
        json!({"paths": ["docs/notes.txt"], "to": "beside-parity"}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    let job = job_ended(a);
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["report"]["problems"], json!([]), "{job}");
}
