//! Every read endpoint with real answers, and bad input answered 4xx with a message.

use crate::support::{Archive, Request, get};

#[test]
fn status_snapshots_discs_and_versions_answer_from_the_catalogue() {
    let archive = Archive::new();
    let server = archive.serve();
    let a = server.address;

    let status = get(a, "/api/status");
    assert_eq!(status.status, 200);
    let status = status.json();
    // The archive's last job was its write, completed, in this process.
    assert_eq!(status["job"]["kind"], "write");
    assert_eq!(status["job"]["state"], "completed");
    assert_eq!(status["liveness"], "not_running");
    assert_eq!(status["latest_complete_snapshot"], 1);
    assert!(status["server_job"].is_null());

    let snapshots = get(a, "/api/snapshots").json();
    let list = snapshots.as_array().unwrap();
    assert_eq!(list.len(), 1);
    assert_eq!(list[0]["id"], 1);
    assert_eq!(list[0]["files"], crate::support::files().len() as u64);

    let discs = get(a, "/api/discs").json();
    let discs = discs.as_array().unwrap();
    assert!(discs.len() >= 2, "{discs:?}");
    for (i, d) in discs.iter().enumerate() {
        assert_eq!(d["number"], i as u64 + 1);
        assert_eq!(d["state"], "written");
        assert!(d["label"].as_str().unwrap().starts_with("ODA_"));
        let fill = d["fill_percent"].as_f64().unwrap();
        assert!(fill > 0.0 && fill <= 100.0, "{fill}");
        assert_eq!(d["image_sha256"].as_str().unwrap().len(), 64);
    }

    let versions = get(a, "/api/files/versions?path=Photos/2019/IMG_0002.jpg").json();
    let v = &versions["versions"].as_array().unwrap()[0];
    assert_eq!(v["kind"], "file");
    assert_eq!(v["size"], 700_000);
    assert_eq!(v["first_snapshot"], 1);
    // On 2 MB discs it is split: every part, in order, each on a disc of the set.
    let locations = v["locations"].as_array().unwrap();
    let parts = locations.len() as u64;
    assert!(parts >= 1, "{v}");
    for (i, l) in locations.iter().enumerate() {
        let disc = l["disc"].as_u64().unwrap();
        assert!(disc >= 1 && disc <= discs.len() as u64);
        assert_eq!(l["state"], "written");
        assert!(l["label"].as_str().unwrap().starts_with("ODA_"));
        if parts > 1 {
            assert_eq!(l["part"], i as u64 + 1);
            assert_eq!(l["parts"], parts);
            assert_eq!(
                l["disc_path"],
                format!("Data/Photos/2019/IMG_0002.jpg.part{:03}", i + 1)
            );
        }
    }
    let small = get(a, "/api/files/versions?path=docs/notes.txt").json();
    let l = &small["versions"][0]["locations"][0];
    assert_eq!(l["part"], 0);
    assert_eq!(l["disc_path"], "Data/docs/notes.txt");
}

#[test]
fn a_folder_is_listed_a_page_at_a_time() {
    let archive = Archive::new();
    let server = archive.serve();
    let a = server.address;

    let root = get(a, "/api/snapshots/latest/tree").json();
    let names: Vec<&str> = root["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["Photos", "docs", "empty", "many", "odd"]);
    assert!(root["next_after"].is_null());

    // 30 files, 12 at a time: 12, 12, 6, each page after the last.
    let mut seen = Vec::new();
    let mut target = "/api/snapshots/1/tree?path=many&limit=12".to_owned();
    loop {
        let page = get(a, &target).json();
        let entries = page["entries"].as_array().unwrap();
        assert!(entries.len() <= 12);
        seen.extend(
            entries
                .iter()
                .map(|e| e["path"].as_str().unwrap().to_owned()),
        );
        match page["next_after"]["path"].as_str() {
            Some(after) => {
                target = format!("/api/snapshots/1/tree?path=many&limit=12&after={after}")
            }
            None => break,
        }
    }
    let expected: Vec<String> = (0..30).map(|i| format!("many/f{i:03}")).collect();
    assert_eq!(seen, expected);

    // A name that is not UTF-8 travels as path_hex, and is asked for the same way.
    let odd = get(a, "/api/snapshots/1/tree?path=odd").json();
    let e = &odd["entries"][0];
    assert_eq!(e["path_hex"], odarchive::hex(b"odd/bad\xffname"));
    assert_eq!(e["path"], "odd/bad\u{fffd}name");
    let by_hex = get(
        a,
        &format!(
            "/api/files/versions?path_hex={}",
            e["path_hex"].as_str().unwrap()
        ),
    )
    .json();
    assert_eq!(by_hex["versions"][0]["size"], 10);
    // Percent-encoded raw bytes work too.
    let by_bytes = get(a, "/api/files/versions?path=odd/bad%FFname").json();
    assert_eq!(by_bytes["versions"][0]["size"], 10);
}

#[test]
fn search_finds_paths_in_either_case_with_their_discs() {
    let archive = Archive::new();
    let server = archive.serve();
    let a = server.address;
    let found = get(a, "/api/search?q=jpg").json();
    let paths: Vec<&str> = found["entries"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["path"].as_str().unwrap())
        .collect();
    assert_eq!(
        paths,
        [
            "Photos/2019/IMG_0001.jpg",
            "Photos/2019/IMG_0002.jpg",
            "Photos/2020/summer/beach.JPG"
        ]
    );
    assert!(found["next_after"].is_null());
    for e in found["entries"].as_array().unwrap() {
        assert!(!e["discs"].as_array().unwrap().is_empty(), "{e}");
    }
    // Paged: one at a time, the next page after the first match.
    let first = get(a, "/api/search?q=jpg&limit=1").json();
    assert_eq!(first["entries"].as_array().unwrap().len(), 1);
    let after = first["next_after"]["path"].as_str().unwrap();
    let second = get(a, &format!("/api/search?q=jpg&limit=1&after={after}")).json();
    assert_eq!(second["entries"][0]["path"], "Photos/2019/IMG_0002.jpg");
    // Nothing found is an empty page, not an error.
    let none = get(a, "/api/search?q=no-such-thing").json();
    assert_eq!(none["entries"].as_array().unwrap().len(), 0);
}

#[test]
fn bad_input_is_a_4xx_naming_the_cause() {
    let archive = Archive::new();
    let server = archive.serve();
    let a = server.address;
    let cases: &[(&str, u16, &str)] = &[
        (
            "/api/snapshots/99/tree",
            404,
            "no complete snapshot has this id",
        ),
        ("/api/snapshots/abc/tree", 404, "expected an id"),
        (
            "/api/snapshots/1/tree?path=nope",
            404,
            "nope is not in snapshot 1",
        ),
        (
            "/api/snapshots/1/tree?path=docs/notes.txt",
            400,
            "not a folder",
        ),
        ("/api/snapshots/1/tree?limit=100000000", 400, "`limit`"),
        ("/api/snapshots/1/tree?limit=-1", 400, "not a number"),
        ("/api/snapshots/1/tree?path=%ZZ", 400, "percent escape"),
        ("/api/snapshots/1/tree?path_hex=xyz", 400, "not hex"),
        ("/api/files/versions", 400, "give the file's path"),
        (
            "/api/files/versions?path=missing.txt",
            404,
            "missing.txt is in no snapshot",
        ),
        ("/api/search", 400, "`q=`"),
        ("/api/search?q=a&snapshot=7", 404, "no complete snapshot"),
        ("/api/search?q=a&snapshot=%FF", 400, "not valid UTF-8"),
        ("/api/nothing-here", 404, "no such page"),
    ];
    for (target, status, message) in cases {
        let r = get(a, target);
        assert_eq!(r.status, *status, "{target}: {}", r.text());
        let error = r.error();
        assert!(error.contains(message), "{target}: {error}");
    }
    // Malformed and wrong JSON bodies.
    for (body, message) in [
        ("{not json", "not a restore request"),
        ("{\"paths\": 3, \"to\": \"x\"}", "not a restore request"),
        ("{\"paths\": [], \"to\": \"x\"}", "`paths` is empty"),
        (
            "{\"paths\": [\"docs\"], \"to\": \"x\", \"bogus\": 1}",
            "unknown field",
        ),
        (
            "{\"paths\": [\"nope\"], \"to\": \"x\"}",
            "nope is not in snapshot",
        ),
        (
            "{\"paths\": [\"/etc\"], \"to\": \"x\"}",
            "relative to the drive root",
        ),
        (
            "{\"paths\": [\"docs\"], \"to\": \"x\", \"snapshot\": 42}",
            "no complete snapshot",
        ),
        (
            "{\"paths\": [\"docs\"], \"to\": \"x\", \"snapshot\": [1]}",
            "`snapshot` must be",
        ),
    ] {
        let mut r = Request::post_json(a, "/api/restore", &serde_json::Value::Null);
        r.body = body.as_bytes().to_vec();
        let r = r.send();
        let error = r.error();
        assert!(error.contains(message), "{body}: {error}");
    }
    // Huge inputs: a query string over 16 KiB, one over what the HTTP layer takes, a body
    // over 2 MB.
    let long = format!("/api/search?q={}", "a".repeat(20_000));
    let r = get(a, &long);
    assert_eq!(r.status, 400);
    assert!(r.error().contains("at most 16384"), "{}", r.text());
    let longer = format!("/api/search?q={}", "a".repeat(70_000));
    assert_eq!(get(a, &longer).status, 414);
    let mut big = Request::post_json(a, "/api/restore", &serde_json::Value::Null);
    big.body = vec![b' '; 3_000_000];
    let r = big.send();
    assert_eq!(r.status, 413, "{}", r.text());
    assert!(r.error().contains("cannot read the body"), "{}", r.text());
    // The server is still there.
    assert_eq!(get(a, "/api/status").status, 200);
}

#[test]
fn events_stream_the_status() {
    use std::io::{Read, Write};
    let archive = Archive::new();
    let server = archive.serve();
    let mut stream = std::net::TcpStream::connect(server.address).unwrap();
    stream
        .set_read_timeout(Some(std::time::Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "GET /api/events HTTP/1.1\r\nHost: localhost\r\nAccept: text/event-stream\r\n\r\n"
    )
    .unwrap();
    let mut got = Vec::new();
    let mut buf = [0u8; 4096];
    while !String::from_utf8_lossy(&got).contains("\"latest_complete_snapshot\"") {
        let n = stream.read(&mut buf).unwrap();
        assert!(n > 0, "stream ended: {}", String::from_utf8_lossy(&got));
        got.extend_from_slice(&buf[..n]);
    }
    let text = String::from_utf8_lossy(&got);
    assert!(text.contains("text/event-stream"), "{text}");
    assert!(text.contains("event: status"), "{text}");
    assert!(text.contains("\"kind\":\"write\""), "{text}");
}

#[test]
fn pages_render_the_same_data() {
    let archive = Archive::new();
    let server = archive.serve();
    let a = server.address;
    let status = get(a, "/");
    assert_eq!(status.status, 200);
    assert!(status.text().contains("write"), "{}", status.text());
    let browse = get(a, "/browse?snapshot=1&path=Photos/2019");
    assert!(browse.text().contains("IMG_0001.jpg"));
    let search = get(a, "/search?q=beach");
    assert!(search.text().contains("Photos/2020/summer/beach.JPG"));
    let discs = get(a, "/discs");
    assert!(discs.text().contains("ODA_"));
    let versions = get(a, "/versions?path=docs/notes.txt");
    assert!(versions.text().contains("ODA_"), "{}", versions.text());
    // Names are escaped: the bracket file shows as text.
    let docs = get(a, "/browse?snapshot=1&path=docs");
    assert!(docs.text().contains("a[1]*.txt"));
    let missing = get(a, "/browse?snapshot=1&path=%3Cscript%3E");
    assert_eq!(missing.status, 404);
    assert!(
        missing.text().contains("&lt;script&gt;"),
        "{}",
        missing.text()
    );
    assert!(
        !missing.text().contains("<script>alert"),
        "{}",
        missing.text()
    );
}
