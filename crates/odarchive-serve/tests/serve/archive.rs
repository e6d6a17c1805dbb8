//! The rescan + plan + write of the drive from the API (`POST /api/archive`): new files end
//! up on new written discs, with the stored settings or ones given; a cancel stops it and a
//! second run finishes; bad settings and folders outside `--images` are refused with nothing
//! started.

use std::net::SocketAddr;
use std::path::Path;

use serde_json::json;

use crate::support::{Archive, Request, get, job_ended};

fn post(a: SocketAddr, target: &str, body: serde_json::Value) -> crate::support::Response {
    Request::post_json(a, target, &body).send()
}

/// The disc map: (number, state).
fn discs(a: SocketAddr) -> Vec<(u64, String)> {
    get(a, "/api/discs")
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|d| {
            (
                d["number"].as_u64().unwrap(),
                d["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

/// Adds `count` files of `size` bytes under `new/` on the drive.
fn add_files(archive: &Archive, count: usize, size: usize) {
    let dir = archive.path("drive").join("new");
    std::fs::create_dir_all(&dir).unwrap();
    for i in 0..count {
        std::fs::write(
            dir.join(format!("n{i:02}.bin")),
            testkit::noise(500 + i as u64, size),
        )
        .unwrap();
    }
}

fn kinds_of_jobs(a: SocketAddr, limit: usize) -> Vec<(String, String)> {
    get(a, &format!("/api/jobs?limit={limit}")).json()["jobs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|j| {
            (
                j["kind"].as_str().unwrap().to_owned(),
                j["state"].as_str().unwrap().to_owned(),
            )
        })
        .collect()
}

#[test]
fn the_stored_settings_keep_the_group_size_asked_for_when_the_plan_fills_less() {
    let archive = Archive::with_a_short_group();
    let server = archive.serve();
    let a = server.address;
    let discs = discs(a).len();
    assert!(discs < 10, "{discs} discs: the group is not short");
    let shown = get(a, "/api/archive").json();
    assert_eq!(shown["settings"]["set_parity"], 1, "{shown}");
    assert_eq!(shown["settings"]["set_group"], 10, "{shown}");
    assert_eq!(shown["settings"]["parity"], 40, "{shown}");
}

#[test]
fn a_rescan_from_the_api_writes_the_new_files_on_new_discs_with_the_stored_settings() {
    let archive = Archive::new();
    let server = archive.serve();
    let a = server.address;
    let shown = get(a, "/api/archive").json();
    let capacity = odarchive::Media::parse("2M").unwrap().capacity;
    assert_eq!(shown["settings"]["media"], "2M", "{shown}");
    assert_eq!(shown["settings"]["capacity"], capacity, "{shown}");
    assert_eq!(shown["settings"]["parity"], 0, "{shown}");
    let before = discs(a);
    add_files(&archive, 3, 900_000);

    let started = post(a, "/api/archive", json!({}));
    assert_eq!(started.status, 202, "{}", started.text());
    assert_eq!(started.json()["job"]["kind"], "archive");
    let job = job_ended(a);
    assert_eq!(job["state"], "completed", "{job}");
    let written: Vec<u64> = job["archive"]["written"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_u64().unwrap())
        .collect();
    assert!(!written.is_empty(), "{job}");
    let after = discs(a);
    assert!(after.len() > before.len(), "{after:?}");
    // The discs written before are as they were; each new one is written, as the job says.
    assert_eq!(&after[..before.len()], &before[..]);
    let new: Vec<u64> = after[before.len()..].iter().map(|(n, _)| *n).collect();
    assert_eq!(written, new);
    assert!(after[before.len()..].iter().all(|(_, s)| s == "written"));
    for d in get(a, "/api/discs").json().as_array().unwrap() {
        if new.contains(&d["number"].as_u64().unwrap()) {
            let image = archive.images.join(d["image_name"].as_str().unwrap());
            assert!(image.is_file(), "{}", image.display());
            // Planned with the stored medium: no image is larger than 2 MB.
            assert!(std::fs::metadata(&image).unwrap().len() <= capacity);
        }
    }
    let message = job["message"].as_str().unwrap();
    assert!(
        message.contains(&format!("wrote {} discs", new.len())),
        "{message}"
    );
    // The job table: the archive, with the scan and the write it ran inside it.
    let rows = kinds_of_jobs(a, 3);
    let want = [
        ("write", "completed"),
        ("scan", "completed"),
        ("archive", "completed"),
    ];
    assert_eq!(
        rows,
        want.map(|(k, s)| (k.to_owned(), s.to_owned())),
        "{rows:?}"
    );
    // The new files are in the latest snapshot, on the new discs.
    let versions = get(a, "/api/files/versions?path=new/n01.bin").json();
    let disc = versions["versions"][0]["locations"][0]["disc"]
        .as_u64()
        .unwrap();
    assert!(new.contains(&disc), "{versions}");
    // The status page shows what it did.
    let page = get(a, "/").text();
    assert!(page.contains("id=archive-message"), "{page}");
    assert!(
        page.contains(&format!("wrote {} discs", new.len())),
        "{page}"
    );
}

#[test]
fn a_cancelled_archive_keeps_what_it_did_and_a_second_run_with_other_settings_finishes() {
    let archive = Archive::new();
    let server = archive.serve();
    let a = server.address;
    let before = discs(a);
    // 256 MB to hash: the cancel comes long before the scan ends.
    add_files(&archive, 16, 16_000_000);
    let started = post(a, "/api/archive", json!({"media": "64M", "out": "second"}));
    assert_eq!(started.status, 202, "{}", started.text());
    let id = started.json()["job"]["id"].as_i64().unwrap();
    // One job at a time: a verify is refused while the archive runs.
    let verify = post(a, "/api/verify", json!({}));
    assert_eq!(verify.status, 409, "{}", verify.text());
    let again = post(a, "/api/archive", json!({}));
    assert_eq!(again.status, 409, "{}", again.text());
    let r = post(a, &format!("/api/jobs/{id}/cancel"), json!({}));
    assert_eq!(r.status, 202, "{}", r.text());
    let job = job_ended(a);
    assert_eq!(job["state"], "cancelled", "{job}");
    assert!(
        job["message"]
            .as_str()
            .unwrap()
            .starts_with("cancelled during the scan"),
        "{job}"
    );
    assert_eq!(discs(a), before, "nothing was planned or written");
    let rows = kinds_of_jobs(a, 2);
    assert_eq!(rows[0], ("scan".to_owned(), "interrupted".to_owned()));
    assert_eq!(rows[1], ("archive".to_owned(), "interrupted".to_owned()));

    // The second run resumes the scan and writes 64 MB discs into images/second (and, as
    // `odarchive archive` does, the discs written before, whose images are not there).
    let started = post(a, "/api/archive", json!({"media": "64M", "out": "second"}));
    assert_eq!(started.status, 202, "{}", started.text());
    let job = job_ended(a);
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["archive"]["settings"]["media"], "64M");
    let after = discs(a);
    let new = &after[before.len()..];
    assert!(
        (4..=6).contains(&new.len()),
        "256 MB on 64 MB discs: {new:?}"
    );
    assert!(new.iter().all(|(_, s)| s == "written"));
    let images: Vec<_> = std::fs::read_dir(archive.images.join("second"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "iso"))
        .collect();
    assert_eq!(images.len(), after.len(), "{images:?}");
}

#[test]
fn bad_archive_requests_are_refused_and_start_nothing() {
    let archive = Archive::new();
    let outside = archive.path("outside");
    std::fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, archive.images.join("escape")).unwrap();
    let server = archive.serve();
    let a = server.address;
    let jobs_before = kinds_of_jobs(a, 200).len();
    let outside_text = outside.display().to_string();
    for (body, status, said) in [
        (json!({"out": "../outside"}), 403, "`..` is not taken"),
        (json!({"out": "x/../../outside"}), 403, "`..` is not taken"),
        (json!({"out": outside_text}), 403, "not under"),
        (json!({"out": "/etc"}), 403, "not under"),
        (json!({"out": "escape/deeper"}), 403, "not under"),
        (json!({"media": "floppy"}), 400, "`media` \"floppy\""),
        (json!({"parity": 101}), 400, "`parity` 101"),
        (json!({"set_parity": 1}), 400, "`set_parity` needs"),
        (json!({"set_group": 0}), 400, "`set_group` 0"),
        (json!({"margin": "2M"}), 400, "`margin`"),
        (json!({"margin": -1}), 400, "`margin`"),
        (json!({"first": ["/etc"]}), 400, "`first`"),
        (json!({"drive": "/"}), 400, "unknown field `drive`"),
        (json!([1]), 400, "not an archive request"),
    ] {
        let r = post(a, "/api/archive", body.clone());
        assert_eq!(r.status, status, "{body}: {}", r.text());
        assert!(r.error().contains(said), "{body}: {}", r.text());
    }
    let mut malformed = Request::post_json(a, "/api/archive", &json!({}));
    malformed.body = b"{\"media\": ".to_vec();
    let r = malformed.send();
    assert_eq!(r.status, 400, "{}", r.text());
    // Without the action header (a form of another site) it is refused.
    let r = Request::post_json(a, "/api/archive", &json!({}))
        .without("X-Odarchive-Action")
        .send();
    assert!((400..500).contains(&r.status), "{}", r.text());
    assert_eq!(
        kinds_of_jobs(a, 200).len(),
        jobs_before,
        "a job was started"
    );
    assert!(std::fs::read_dir(&outside).unwrap().next().is_none());

    // Without --drive there is nothing to rescan.
    let no_drive = odarchive_serve::Server::start(odarchive_serve::ServeOptions {
        restore_to: Vec::new(),
        drive: None,
        ..archive.options()
    })
    .unwrap();
    let r = post(no_drive.address, "/api/archive", json!({}));
    assert_eq!(r.status, 403, "{}", r.text());
    assert!(r.error().contains("--drive"), "{}", r.text());
    assert!(
        get(no_drive.address, "/discs")
            .text()
            .contains("Started without")
    );
    // A --drive that is no folder stops the server from starting.
    let e = odarchive_serve::Server::start(odarchive_serve::ServeOptions {
        restore_to: Vec::new(),
        images: Vec::new(),
        drive: Some(Path::new("/nonexistent/drive").to_owned()),
        ..archive.options()
    })
    .unwrap_err();
    assert!(e.to_string().contains("--drive /nonexistent/drive"), "{e}");
}
