//! Restores through the API: the bytes come back, and no folder outside `--restore-to` can
//! be named.

use std::path::Path;

use crate::support::{Archive, Request, files, get, tree, wait_for};

fn restore(a: std::net::SocketAddr, body: serde_json::Value) -> crate::support::Response {
    Request::post_json(a, "/api/restore", &body).send()
}

fn finished(a: std::net::SocketAddr) -> serde_json::Value {
    wait_for(a, |s| {
        !s["server_job"].is_null() && s["server_job"]["state"] != "running"
    })
}

#[test]
fn two_files_restored_through_the_api_are_byte_identical() {
    let archive = Archive::new();
    let server = archive.serve();
    let a = server.address;
    let started = restore(
        a,
        serde_json::json!({
            "snapshot": 1,
            "paths": ["Photos/2019/IMG_0002.jpg", "Photos/2020/summer/beach.JPG"],
            "to": "basket-1"
        }),
    );
    assert_eq!(started.status, 202, "{}", started.text());
    assert_eq!(started.json()["job"]["kind"], "restore");
    let status = finished(a);
    let job = &status["server_job"];
    assert_eq!(job["state"], "completed", "{job}");
    assert_eq!(job["report"]["files_restored"], 2, "{job}");
    assert!(!job["discs_read"].as_array().unwrap().is_empty());

    let out = archive.restore_to.join("basket-1");
    let got = tree(&out);
    let want: Vec<(std::path::PathBuf, Vec<u8>)> = files()
        .into_iter()
        .filter(|(p, _)| p == b"Photos/2019/IMG_0002.jpg" || p == b"Photos/2020/summer/beach.JPG")
        .map(|(p, d)| (Path::new(std::str::from_utf8(&p).unwrap()).to_path_buf(), d))
        .collect();
    assert_eq!(got.len(), 2);
    assert_eq!(got, want);
}

#[test]
fn a_name_with_glob_characters_restores_itself_only() {
    let archive = Archive::new();
    let server = archive.serve();
    let a = server.address;
    let started = restore(
        a,
        serde_json::json!({"paths": ["docs/a[1]*.txt"], "to": "glob"}),
    );
    assert_eq!(started.status, 202, "{}", started.text());
    let status = finished(a);
    assert_eq!(status["server_job"]["state"], "completed", "{status}");
    let got = tree(&archive.restore_to.join("glob"));
    assert_eq!(
        got,
        [(
            Path::new("docs/a[1]*.txt").to_path_buf(),
            b"brackets\n".to_vec()
        )]
    );
}

#[test]
fn folders_outside_restore_to_are_refused_and_nothing_is_written() {
    let archive = Archive::new();
    let outside = archive.path("outside");
    std::fs::create_dir(&outside).unwrap();
    std::os::unix::fs::symlink(&outside, archive.restore_to.join("link")).unwrap();
    let server = archive.serve();
    let a = server.address;
    let outside_text = outside.to_str().unwrap().to_owned();
    let attempts = [
        "../outside".to_owned(),
        "a/../../outside".to_owned(),
        outside_text.clone(),
        format!("{outside_text}/deeper"),
        "/tmp".to_owned(),
        "link".to_owned(),
        "link/deeper".to_owned(),
        "..".to_owned(),
    ];
    for to in &attempts {
        let r = restore(a, serde_json::json!({"paths": ["docs"], "to": to}));
        assert_eq!(r.status, 403, "{to}: {}", r.text());
        assert!(!r.error().is_empty());
    }
    // `%2e%2e` in a JSON body is a name of its own, below the folder; the URL decoding of a
    // route does not turn into a folder either.
    let r = restore(
        a,
        serde_json::json!({"paths": ["docs/notes.txt"], "to": "%2e%2e/x"}),
    );
    assert_eq!(r.status, 202, "{}", r.text());
    finished(a);
    assert!(archive.restore_to.join("%2e%2e/x/docs/notes.txt").is_file());
    let encoded = get(a, "/api/snapshots/..%2F..%2Fetc/tree");
    assert!((400..500).contains(&encoded.status), "{}", encoded.text());
    assert_eq!(get(a, "/%2e%2e/%2e%2e/etc/passwd").status, 404);
    // Nothing anywhere outside the restore folder.
    assert!(tree(&outside).is_empty(), "{:?}", tree(&outside));
    let allowed = [
        "cat.db",
        "cat.db-shm",
        "cat.db-wal",
        "drive",
        "images",
        "outside",
        "restore",
    ];
    for entry in std::fs::read_dir(archive.dir.path()).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            allowed.contains(&name.as_str()),
            "{name} was made outside the restore folder"
        );
    }
}

#[test]
fn without_restore_to_nothing_can_be_restored() {
    let archive = Archive::new();
    let server = odarchive_serve::Server::start(odarchive_serve::ServeOptions {
        restore_to: Vec::new(),
        drive: None,
        ..archive.options()
    })
    .unwrap();
    let r = restore(
        server.address,
        serde_json::json!({"paths": ["docs"], "to": "x"}),
    );
    assert_eq!(r.status, 403);
    assert!(r.error().contains("--restore-to"), "{}", r.text());
}
