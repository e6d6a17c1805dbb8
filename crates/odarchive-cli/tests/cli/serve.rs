//! `odarchive serve` through the binary: it says where it listens, shows a scan started by
//! the CLI in another process advancing and finishing, and ends cleanly on SIGTERM.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::process::Stdio;
use std::time::Duration;

use crate::support::{Scratch, many_files, signal, wait_for};

/// `GET target` on the server, as JSON.
fn get_json(address: SocketAddr, target: &str) -> serde_json::Value {
    let mut stream = TcpStream::connect(address).unwrap();
    write!(
        stream,
        "GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = String::new();
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    assert!(head.starts_with("HTTP/1.1 200"), "{raw}");
    serde_json::from_str(body).unwrap()
}

#[test]
fn the_status_shows_a_scan_of_another_process_advancing_then_finishing() {
    let s = Scratch::new();
    many_files(&s, "a", 3);
    assert_eq!(s.scan().code, 0);
    many_files(&s, "b", 40);

    let mut serve = s
        .command(&["serve", "--json", "--listen", "127.0.0.1:0"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(serve.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let listening: serde_json::Value = serde_json::from_str(&line).unwrap();
    assert_eq!(listening["event"], "listening");
    let address: SocketAddr = listening["address"].as_str().unwrap().parse().unwrap();

    let scan = s.spawn_slow_scan(100, 1);
    // Running in the other process, alive, and advancing: two different counts seen.
    let first = wait_for(Duration::from_secs(30), || {
        let st = get_json(address, "/api/status");
        (st["job"]["kind"] == "scan"
            && st["job"]["state"] == "running"
            && st["liveness"] == "alive"
            && st["job"]["pid"] == scan.id()
            && st["job"]["files_done"].as_u64()? > 0)
            .then(|| st["job"]["files_done"].as_u64().unwrap())
    });
    let later = wait_for(Duration::from_secs(30), || {
        let done = get_json(address, "/api/status")["job"]["files_done"].as_u64()?;
        (done > first).then_some(done)
    });
    assert!(later > first);
    let output = scan.wait_with_output().unwrap();
    assert!(output.status.success());
    let end = get_json(address, "/api/status");
    assert_eq!(end["job"]["state"], "completed", "{end}");
    assert_eq!(end["liveness"], "not_running");
    assert_eq!(end["latest_complete_snapshot"], 2);
    // The new snapshot is browsable at once.
    let b = get_json(address, "/api/snapshots/2/tree?path=b&limit=1000");
    assert_eq!(b["entries"].as_array().unwrap().len(), 40);

    signal(&serve, "-TERM");
    let status = serve.wait().unwrap();
    assert!(status.success(), "{status:?}");
}

#[test]
fn serve_without_a_catalogue_says_so() {
    let s = Scratch::new();
    let run = s.run(&["serve", "--listen", "127.0.0.1:0"]);
    assert_eq!(run.code, 1);
    assert!(run.stderr.contains("cat.db"), "{}", run.stderr);
}
