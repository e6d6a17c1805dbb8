//! A generated archive (drive, catalogue, images) and a server over it on 127.0.0.1:0, and
//! a plain HTTP/1.1 client over std's TcpStream.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use odarchive::{ArchiveOptions, Catalogue, Media, NoProgress, PlanOptions, ScanOptions};
use odarchive_serve::{ServeOptions, Server};

/// A drive archived onto several small discs, with folders to restore into.
pub struct Archive {
    pub dir: tempfile::TempDir,
    pub catalogue: PathBuf,
    pub images: PathBuf,
    pub restore_to: PathBuf,
}

/// The files of the drive: (path, bytes).
pub fn files() -> Vec<(Vec<u8>, Vec<u8>)> {
    let mut out: Vec<(Vec<u8>, Vec<u8>)> = vec![
        (
            b"Photos/2019/IMG_0001.jpg".to_vec(),
            testkit::noise(1, 700_000),
        ),
        (
            b"Photos/2019/IMG_0002.jpg".to_vec(),
            testkit::noise(2, 700_000),
        ),
        (
            b"Photos/2020/summer/beach.JPG".to_vec(),
            testkit::noise(3, 900_000),
        ),
        (b"docs/notes.txt".to_vec(), b"notes\n".to_vec()),
        (b"docs/a[1]*.txt".to_vec(), b"brackets\n".to_vec()),
        (b"odd/bad\xffname".to_vec(), b"not utf-8\n".to_vec()),
    ];
    for i in 0..30 {
        out.push((
            format!("many/f{i:03}").into_bytes(),
            format!("{i}\n").into_bytes(),
        ));
    }
    out
}

/// The files of [`Archive::big`]: sixteen of 4 MB.
pub fn big_files() -> Vec<(Vec<u8>, Vec<u8>)> {
    sixteen_files(4_000_000)
}

/// Sixteen files of `size` bytes under `big/`.
pub fn sixteen_files(size: usize) -> Vec<(Vec<u8>, Vec<u8>)> {
    (0..16)
        .map(|i| {
            (
                format!("big/b{i:02}.bin").into_bytes(),
                testkit::noise(100 + i, size),
            )
        })
        .collect()
}

/// The files of [`Archive::huge`]: sixteen of 64 MB.
pub fn huge_files() -> Vec<(Vec<u8>, Vec<u8>)> {
    sixteen_files(64_000_000)
}

impl Archive {
    /// Scans, plans (2 MB discs, no parity) and writes the drive of [`files`].
    pub fn new() -> Archive {
        Archive::of(files(), "2M")
    }

    /// 64 MB in sixteen files on 20 MB discs: a restore long enough to be cancelled.
    pub fn big() -> Archive {
        Archive::of(big_files(), "20M")
    }

    /// 1 GB in sixteen files on 320 MB discs: a restore that a person can cancel from a
    /// browser, whose status page may take a second or more to show it running (64 MB were
    /// restored before the click came, on a loaded machine).
    pub fn huge() -> Archive {
        Archive::of(huge_files(), "320M")
    }

    /// 256 MB in sixteen files on one disc of 300 MB: a disc whose check takes long enough
    /// to be cancelled inside it.
    pub fn one_large_disc() -> Archive {
        Archive::of(sixteen_files(16_000_000), "300M")
    }

    /// The files of [`Archive::new`] on 4 MB discs with 40 % parity (room for a parity
    /// disc's file system) and one set-parity disc for every two discs: its images folder
    /// holds parity discs beside the data discs.
    pub fn with_set_parity() -> Archive {
        Archive::planned(files(), "4M", 40, (1, 2))
    }

    /// As [`Archive::with_set_parity`], but asked for groups of ten discs: its one group
    /// holds fewer.
    pub fn with_a_short_group() -> Archive {
        Archive::planned(files(), "4M", 40, (1, 10))
    }

    fn of(files: Vec<(Vec<u8>, Vec<u8>)>, media: &str) -> Archive {
        Archive::planned(files, media, 0, (0, 2))
    }

    fn planned(
        files: Vec<(Vec<u8>, Vec<u8>)>,
        media: &str,
        parity: u8,
        (set_parity, group): (u32, u32),
    ) -> Archive {
        let dir = tempfile::tempdir().unwrap();
        let drive = dir.path().join("drive");
        for (path, data) in files {
            let p = drive.join(std::ffi::OsStr::from_bytes(&path));
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(&p, data).unwrap();
        }
        std::fs::create_dir_all(drive.join("empty")).unwrap();
        let catalogue = dir.path().join("cat.db");
        let images = dir.path().join("images");
        let restore_to = dir.path().join("restore");
        std::fs::create_dir_all(&restore_to).unwrap();
        let mut c = Catalogue::create_or_open(&catalogue).unwrap();
        odarchive::archive(
            &mut c,
            &ArchiveOptions {
                drive: drive.clone(),
                scan: ScanOptions::default(),
                plan: PlanOptions {
                    media: Media::parse(media).unwrap(),
                    margin: 0,
                    first: Vec::new(),
                    replan: false,
                    parity,
                    set_parity: odarchive::SetParityOptions {
                        parity: set_parity,
                        group,
                    },
                },
                out: images.clone(),
            },
            &NoProgress,
        )
        .unwrap();
        Archive {
            dir,
            catalogue,
            images,
            restore_to,
        }
    }

    /// A server on 127.0.0.1:0 with `--restore-to` and `--images`.
    pub fn serve(&self) -> Server {
        self.serve_on("127.0.0.1:0".parse().unwrap(), None)
    }

    pub fn serve_on(&self, listen: SocketAddr, token: Option<String>) -> Server {
        Server::start(ServeOptions {
            listen,
            token,
            ..self.options()
        })
        .unwrap()
    }

    /// The options [`Archive::serve`] starts a server with: its catalogue on a free port of
    /// loopback, no token, restores into `restore/`, its images, its drive.
    pub fn options(&self) -> ServeOptions {
        ServeOptions {
            catalogue: self.catalogue.clone(),
            listen: "127.0.0.1:0".parse().unwrap(),
            token: None,
            restore_to: vec![self.restore_to.clone()],
            images: vec![self.images.clone()],
            drive: Some(self.path("drive")),
        }
    }

    /// `name` beside the drive.
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

/// An HTTP response.
#[derive(Debug)]
pub struct Response {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl Response {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or_else(|e| {
            panic!(
                "not JSON ({e}), status {}: {}",
                self.status,
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }

    /// The error message of a 4xx answer, which must be JSON `{"error": ...}`.
    pub fn error(&self) -> String {
        assert!(
            (400..500).contains(&self.status),
            "expected a 4xx, got {}: {}",
            self.status,
            self.text()
        );
        self.json()["error"]
            .as_str()
            .unwrap_or_else(|| panic!("no error message: {}", self.text()))
            .to_owned()
    }
}

/// A request to the server at `address`.
pub struct Request<'a> {
    pub address: SocketAddr,
    pub method: &'a str,
    pub target: &'a str,
    pub headers: Vec<(&'a str, String)>,
    pub body: Vec<u8>,
}

impl<'a> Request<'a> {
    pub fn get(address: SocketAddr, target: &'a str) -> Request<'a> {
        Request {
            address,
            method: "GET",
            target,
            headers: vec![("Host", format!("127.0.0.1:{}", address.port()))],
            body: Vec::new(),
        }
    }

    /// A POST with a JSON body and the action header.
    pub fn post_json(
        address: SocketAddr,
        target: &'a str,
        body: &serde_json::Value,
    ) -> Request<'a> {
        let mut r = Request::get(address, target);
        r.method = "POST";
        r.body = body.to_string().into_bytes();
        r.headers.push(("Content-Type", "application/json".into()));
        r.headers.push(("X-Odarchive-Action", "1".into()));
        r
    }

    pub fn header(mut self, name: &'a str, value: impl Into<String>) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self.headers.push((name, value.into()));
        self
    }

    pub fn without(mut self, name: &str) -> Self {
        self.headers.retain(|(n, _)| !n.eq_ignore_ascii_case(name));
        self
    }

    pub fn send(&self) -> Response {
        let mut stream = TcpStream::connect(self.address).unwrap();
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .unwrap();
        let mut head = format!(
            "{} {} HTTP/1.1\r\nConnection: close\r\n",
            self.method, self.target
        );
        for (name, value) in &self.headers {
            head.push_str(&format!("{name}: {value}\r\n"));
        }
        head.push_str(&format!("Content-Length: {}\r\n\r\n", self.body.len()));
        stream.write_all(head.as_bytes()).unwrap();
        stream.write_all(&self.body).unwrap();
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw).unwrap();
        parse(&raw)
    }
}

pub fn get(address: SocketAddr, target: &str) -> Response {
    Request::get(address, target).send()
}

fn parse(raw: &[u8]) -> Response {
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end: {}", String::from_utf8_lossy(raw)));
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .unwrap()
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_owned(), v.trim().to_owned()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    let chunked = headers.iter().any(|(n, v)| {
        n.eq_ignore_ascii_case("transfer-encoding") && v.eq_ignore_ascii_case("chunked")
    });
    if chunked {
        body = unchunk(&body);
    }
    Response {
        status,
        headers,
        body,
    }
}

fn unchunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let Some(line_end) = data.windows(2).position(|w| w == b"\r\n") else {
            return out;
        };
        let size_text = String::from_utf8_lossy(&data[..line_end]);
        let size = usize::from_str_radix(size_text.split(';').next().unwrap().trim(), 16).unwrap();
        if size == 0 {
            return out;
        }
        let start = line_end + 2;
        out.extend_from_slice(&data[start..start + size]);
        data = &data[start + size + 2..];
    }
}

/// Every file below `root` (relative path → bytes).
pub fn tree(root: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out: Vec<(PathBuf, Vec<u8>)> = testkit::walk(root)
        .into_iter()
        .filter(|(_, _, meta)| meta.is_file())
        .map(|(rel, path, _)| (rel, std::fs::read(path).unwrap()))
        .collect();
    out.sort();
    out
}

/// Polls `/api/status` until the server's job has ended; returns that job.
pub fn job_ended(address: SocketAddr) -> serde_json::Value {
    let status = wait_for(address, |s| {
        !s["server_job"].is_null() && s["server_job"]["state"] != "running"
    });
    status["server_job"].clone()
}

/// Polls `/api/status` until `done` says so (at most a minute).
pub fn wait_for(
    address: SocketAddr,
    mut done: impl FnMut(&serde_json::Value) -> bool,
) -> serde_json::Value {
    let start = std::time::Instant::now();
    loop {
        let status = get(address, "/api/status").json();
        if done(&status) {
            return status;
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "gave up waiting; last status {status}"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}
