//! The JSON API: every page's data, in the shapes of the CLI's `--json` where the CLI has
//! one. Each handler reads the catalogue on a blocking thread through a read-only handle of
//! the pool in [`AppState`]; each answer is bounded (folders and searches are paged).

use std::collections::HashMap;
use std::convert::Infallible;
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, PathRejection};
use axum::extract::{Path as UrlPath, State};
use axum::http::{StatusCode, Uri};
use axum::response::sse::{Event as SseEvent, KeepAlive, Sse};
use futures_util::stream::Stream;
use odarchive::catalogue::search::SearchBudget;
use odarchive::restore::RestoreOptions;
use odarchive::{Catalogue, DiscRecord, Entry, EntryKind};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::folders::Folders;
use crate::jobs::Jobs;
use crate::wire::{ApiError, Params, WirePath};
use odarchive::catalogue::disc_checks::DiscCheck;

/// What every handler shares.
#[derive(Debug)]
pub struct AppState {
    /// The catalogue file.
    pub catalogue: PathBuf,
    /// Read-only handles not in use.
    pool: Mutex<Vec<Catalogue>>,
    /// The job this server runs.
    pub jobs: Arc<Jobs>,
    /// Folders a restore may write into.
    pub restore_to: Folders,
    /// Folders of disc images (what a restore and a verify read, where an archive writes).
    pub images: Folders,
    /// The drive an archive rescans (`--drive`), canonicalised.
    pub drive: Option<PathBuf>,
}

/// Handles kept open for reuse.
const POOL_SIZE: usize = 8;

/// The most entries of a folder or search one request returns.
pub const MAX_LIMIT: u64 = 1000;

/// The most paths one restore request takes.
const MAX_BASKET: usize = 10_000;

impl AppState {
    /// State over the catalogue at `catalogue`.
    pub fn new(
        catalogue: PathBuf,
        restore_to: Folders,
        images: Folders,
        drive: Option<PathBuf>,
    ) -> AppState {
        AppState {
            catalogue,
            pool: Mutex::new(Vec::new()),
            jobs: Arc::default(),
            restore_to,
            images,
            drive,
        }
    }

    /// Runs `f` with a read-only catalogue handle on a blocking thread.
    pub async fn read<T: Send + 'static>(
        self: &Arc<Self>,
        f: impl FnOnce(&Catalogue) -> Result<T, ApiError> + Send + 'static,
    ) -> Result<T, ApiError> {
        let state = Arc::clone(self);
        tokio::task::spawn_blocking(move || {
            let taken = state.pool.lock().unwrap_or_else(|e| e.into_inner()).pop();
            let catalogue = match taken {
                Some(c) => c,
                None => Catalogue::open_read_only(&state.catalogue)?,
            };
            let result = f(&catalogue);
            let mut pool = state.pool.lock().unwrap_or_else(|e| e.into_inner());
            if pool.len() < POOL_SIZE {
                pool.push(catalogue);
            }
            result
        })
        .await
        .map_err(|e| {
            ApiError::new(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("a reader failed: {e}"),
            )
        })?
    }
}

type Answer = Result<Json<Value>, ApiError>;

fn json_of(value: impl Serialize) -> Answer {
    serde_json::to_value(value)
        .map(Json)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))
}

/// The status object: the CLI's `status --json`, and `server_job`, the job this server runs
/// or ran last (`null` if none).
pub fn status_value(catalogue: &Catalogue, jobs: &Jobs) -> Result<Value, ApiError> {
    let status = odarchive::status(catalogue)?;
    let mut value = serde_json::to_value(status)
        .map_err(|e| ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()))?;
    value["server_job"] = serde_json::to_value(jobs.current()).unwrap_or(Value::Null);
    Ok(value)
}

/// `GET /api/status`.
pub async fn status(State(state): State<Arc<AppState>>) -> Answer {
    let jobs = Arc::clone(&state.jobs);
    state.read(move |c| status_value(c, &jobs).map(Json)).await
}

/// `GET /api/snapshots`: the CLI's `snapshots --json`.
pub async fn snapshots(State(state): State<Arc<AppState>>) -> Answer {
    let list = state.read(|c| Ok(odarchive::diff::snapshots(c)?)).await?;
    json_of(list)
}

/// One entry as the API shows it.
#[derive(Debug, Serialize)]
pub struct EntryJson {
    /// Its path (and `path_hex` when not UTF-8).
    #[serde(flatten)]
    pub path: WirePath,
    /// Its last name (lossy UTF-8).
    pub name: String,
    /// `file`, `directory` or `symlink`.
    pub kind: EntryKind,
    /// Bytes (of a symlink: its target's length).
    pub size: u64,
    /// Modification time, ns since the epoch.
    pub mtime_ns: i64,
    /// Permission bits.
    pub mode: u32,
    /// The content hash, hex (files that were read).
    pub hash: Option<String>,
    /// A symlink's target (lossy UTF-8).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub target: Option<String>,
    /// The discs holding the content, in part order (search only).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discs: Option<Vec<u32>>,
}

impl EntryJson {
    /// The JSON of `e`.
    pub fn of(e: &Entry) -> EntryJson {
        let name = e.path.rsplit(|&b| b == b'/').next().unwrap_or(&e.path);
        EntryJson {
            path: WirePath::of(&e.path),
            name: String::from_utf8_lossy(name).into_owned(),
            kind: e.kind,
            size: e.size,
            mtime_ns: e.mtime_ns,
            mode: e.mode,
            hash: e.hash.as_ref().map(|h| odarchive::hex(h.as_bytes())),
            target: e
                .link_target
                .as_ref()
                .map(|t| String::from_utf8_lossy(t).into_owned()),
            discs: None,
        }
    }
}

/// The snapshot `spec` names (an id, `latest`, a UTC date), or 404.
fn snapshot_of(c: &Catalogue, spec: Option<&str>) -> Result<i64, ApiError> {
    Ok(odarchive::restore::select::snapshot_named(
        c,
        spec.unwrap_or("latest"),
    )?)
}

/// A folder page.
#[derive(Debug, Serialize)]
pub struct FolderPage {
    /// The snapshot.
    pub snapshot: i64,
    /// The folder (empty: the drive root).
    #[serde(flatten)]
    pub folder: WirePath,
    /// Its children, in path byte order.
    pub entries: Vec<EntryJson>,
    /// Give this as `after` (or its `path_hex` as `after_hex`) for the next page; `null` on
    /// the last page.
    pub next_after: Option<WirePath>,
}

/// A folder's page of children; `spec` names the snapshot.
pub fn folder_page(
    c: &Catalogue,
    spec: Option<&str>,
    params: &Params,
) -> Result<FolderPage, ApiError> {
    let snapshot = snapshot_of(c, spec)?;
    let dir = params.path("path")?.unwrap_or_default();
    let dir = dir.strip_suffix(b"/").map(<[u8]>::to_vec).unwrap_or(dir);
    let after = params.path("after")?;
    let limit = params.number("limit", 200, 1..=MAX_LIMIT)? as usize;
    if !dir.is_empty() {
        match c.entry_at(snapshot, &dir)? {
            None => {
                return Err(ApiError::not_found(format!(
                    "{} is not in snapshot {snapshot}",
                    String::from_utf8_lossy(&dir)
                )));
            }
            Some(e) if e.kind != EntryKind::Directory => {
                return Err(ApiError::bad_request(format!(
                    "{} is not a folder in snapshot {snapshot}",
                    String::from_utf8_lossy(&dir)
                )));
            }
            Some(_) => {}
        }
    }
    let children = c.children_after(snapshot, &dir, after.as_deref(), limit)?;
    let next_after = (children.len() == limit)
        .then(|| children.last().map(|e| WirePath::of(&e.path)))
        .flatten();
    Ok(FolderPage {
        snapshot,
        folder: WirePath::of(&dir),
        entries: children.iter().map(EntryJson::of).collect(),
        next_after,
    })
}

fn path_param(id: Result<UrlPath<String>, PathRejection>) -> Result<String, ApiError> {
    id.map(|UrlPath(id)| id)
        .map_err(|e| ApiError::bad_request(format!("bad URL: {e}")))
}

/// `GET /api/snapshots/{id}/tree?path=&after=&limit=`.
pub async fn tree(
    State(state): State<Arc<AppState>>,
    id: Result<UrlPath<String>, PathRejection>,
    uri: Uri,
) -> Answer {
    let id = path_param(id)?;
    let params = Params::parse(uri.query())?;
    let page = state
        .read(move |c| folder_page(c, Some(&id), &params))
        .await?;
    json_of(page)
}

/// One version of a path.
#[derive(Debug, Serialize)]
pub struct Version {
    /// The entry as recorded.
    #[serde(flatten)]
    pub entry: EntryJson,
    /// The snapshots it is in (first and last, inclusive).
    pub first_snapshot: i64,
    /// The last.
    pub last_snapshot: i64,
    /// Where its content is (empty for folders, symlinks and files on no disc yet).
    pub locations: Vec<VersionLocation>,
}

/// One disc holding (a part of) a version's content.
#[derive(Debug, Serialize)]
pub struct VersionLocation {
    /// Disc number.
    pub disc: u32,
    /// Its label.
    pub label: String,
    /// Its state: planned, written, verified.
    pub state: odarchive::DiscState,
    /// Part (0: the whole content).
    pub part: u32,
    /// Parts in all.
    pub parts: u32,
    /// Its path on the disc.
    pub disc_path: String,
}

/// Every recorded version of a path, oldest first, with the discs holding each.
pub fn versions_of(c: &Catalogue, path: &[u8]) -> Result<Vec<Version>, ApiError> {
    let discs: HashMap<u32, DiscRecord> = c.discs()?.into_iter().map(|d| (d.number, d)).collect();
    let mut out: Vec<Version> = Vec::new();
    for snapshot in c.snapshots()? {
        let Some(e) = c.entry_at(snapshot.id, path)? else {
            continue;
        };
        if out
            .last()
            .is_some_and(|v| v.first_snapshot == e.first_snapshot)
        {
            continue;
        }
        let placements = match e.content_id {
            Some(content) => c.placements_of(content)?,
            None => Vec::new(),
        };
        let locations = placements
            .into_iter()
            .filter_map(|p| {
                let d = discs.get(&p.disc)?;
                Some(VersionLocation {
                    disc: p.disc,
                    label: d.label.clone(),
                    state: d.state,
                    part: p.part,
                    parts: p.parts,
                    disc_path: p.disc_path,
                })
            })
            .collect();
        out.push(Version {
            entry: EntryJson::of(&e),
            first_snapshot: e.first_snapshot,
            last_snapshot: e.last_snapshot,
            locations,
        });
    }
    Ok(out)
}

/// `GET /api/files/versions?path=`: `{"path", "versions": [...]}`.
pub async fn versions(State(state): State<Arc<AppState>>, uri: Uri) -> Answer {
    let params = Params::parse(uri.query())?;
    let path = params
        .path("path")?
        .filter(|p| !p.is_empty())
        .ok_or_else(|| ApiError::bad_request("give the file's path as `path=` or `path_hex=`"))?;
    let shown = WirePath::of(&path);
    let versions = state.read(move |c| versions_of(c, &path)).await?;
    if versions.is_empty() {
        return Err(ApiError::not_found(format!(
            "{} is in no snapshot of this catalogue",
            shown.path
        )));
    }
    json_of(json!({ "path": shown.path, "path_hex": shown.path_hex, "versions": versions }))
}

/// A disc as the API shows it: the CLI's `discs --json` object, its fill, and what the
/// last verify that checked it found (the CLI's or this server's, kept in the catalogue).
#[derive(Debug, Serialize)]
pub struct DiscJson {
    /// The record.
    #[serde(flatten)]
    pub disc: DiscRecord,
    /// Image size in percent of the capacity.
    pub fill_percent: f64,
    /// The last check of it by a verify (`null`: never checked whole).
    pub last_check: Option<DiscCheck>,
}

/// Every disc with its fill and last check.
pub fn disc_list(c: &Catalogue) -> Result<Vec<DiscJson>, ApiError> {
    let mut checks: HashMap<u32, DiscCheck> =
        c.disc_checks()?.into_iter().map(|k| (k.disc, k)).collect();
    Ok(c.discs()?
        .into_iter()
        .map(|d| DiscJson {
            fill_percent: if d.capacity == 0 {
                0.0
            } else {
                (d.image_size as f64 * 1000.0 / d.capacity as f64).round() / 10.0
            },
            last_check: checks.remove(&d.number),
            disc: d,
        })
        .collect())
}

/// `GET /api/discs`.
pub async fn discs(State(state): State<Arc<AppState>>) -> Answer {
    json_of(state.read(disc_list).await?)
}

/// A page of search results.
#[derive(Debug, Serialize)]
pub struct SearchPage {
    /// The snapshot searched.
    pub snapshot: i64,
    /// The fragment searched for (lossy UTF-8).
    pub q: String,
    /// Matches of this page, in path byte order, with the discs holding each file.
    pub entries: Vec<EntryJson>,
    /// Give this as `after` (or `after_hex`) to go on; `null` when the whole catalogue has
    /// been searched.
    pub next_after: Option<WirePath>,
    /// Index rows this request examined.
    pub examined: u64,
}

/// One bounded page of a path search.
pub fn search_page(c: &Catalogue, params: &Params) -> Result<SearchPage, ApiError> {
    let q = params
        .bytes("q")
        .filter(|q| !q.is_empty())
        .ok_or_else(|| ApiError::bad_request("give the text to search for as `q=`"))?
        .to_vec();
    if q.len() > 1000 {
        return Err(ApiError::bad_request(format!(
            "`q` is {} bytes long; at most 1000 are taken",
            q.len()
        )));
    }
    let snapshot = snapshot_of(c, params.text("snapshot")?)?;
    let after = params.path("after")?;
    let limit = params.number("limit", 100, 1..=MAX_LIMIT)? as usize;
    let found = c.search_paths(
        snapshot,
        &q,
        after.as_deref(),
        limit,
        SearchBudget::default(),
    )?;
    let mut entries = Vec::with_capacity(found.entries.len());
    for e in &found.entries {
        let mut json = EntryJson::of(e);
        if let Some(content) = e.content_id {
            json.discs = Some(c.placements_of(content)?.iter().map(|p| p.disc).collect());
        }
        entries.push(json);
    }
    Ok(SearchPage {
        snapshot,
        q: String::from_utf8_lossy(&q).into_owned(),
        entries,
        next_after: found.resume_after.as_deref().map(WirePath::of),
        examined: found.examined,
    })
}

/// `GET /api/search?q=&snapshot=&after=&limit=`.
pub async fn search(State(state): State<Arc<AppState>>, uri: Uri) -> Answer {
    let params = Params::parse(uri.query())?;
    json_of(state.read(move |c| search_page(c, &params)).await?)
}

/// `GET /api/events`: Server-Sent Events. An `status` event (the `/api/status` object) at
/// once and whenever it changes (looked at every half second), kept alive by comments.
pub async fn events(
    State(state): State<Arc<AppState>>,
) -> Sse<impl Stream<Item = Result<SseEvent, Infallible>>> {
    let stream = futures_util::stream::unfold(
        (state, None::<String>, true),
        |(state, last, first)| async move {
            loop {
                if !first {
                    tokio::time::sleep(Duration::from_millis(500)).await;
                }
                let jobs = Arc::clone(&state.jobs);
                let now = state.read(move |c| status_value(c, &jobs)).await;
                let data = match now {
                    Ok(mut v) => {
                        // The time since progress changes always; it is not a change.
                        v["seconds_since_progress"] = Value::Null;
                        v.to_string()
                    }
                    Err(e) => json!({ "error": e.message }).to_string(),
                };
                if last.as_deref() != Some(data.as_str()) {
                    let event = SseEvent::default().event("status").data(data.clone());
                    return Some((Ok(event), (state, Some(data), false)));
                }
            }
        },
    );
    Sse::new(stream).keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
}

/// The body of `POST /api/restore`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// The snapshot: an id, `latest` (the default) or a UTC date.
    #[serde(default)]
    pub snapshot: Option<Value>,
    /// Paths (UTF-8) to restore, each with everything below it.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Paths given as the hex of their bytes (those that are not UTF-8: the `path_hex` of
    /// an answer), each with everything below it.
    #[serde(default)]
    pub paths_hex: Vec<String>,
    /// Folder to restore into: under the first `--restore-to` folder, or absolute under any.
    pub to: String,
    /// Replace files in the way whose content differs.
    #[serde(default)]
    pub overwrite: bool,
}

/// The body of `POST /api/basket/discs`: a basket, without a destination.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BasketRequest {
    /// The snapshot: an id, `latest` (the default) or a UTC date.
    #[serde(default)]
    pub snapshot: Option<Value>,
    /// Paths (UTF-8), each with everything below it.
    #[serde(default)]
    pub paths: Vec<String>,
    /// Paths given as the hex of their bytes (not UTF-8).
    #[serde(default)]
    pub paths_hex: Vec<String>,
}

/// A JSON body, or 400 naming what is wrong with it (`what`: what it should be).
fn body_of<T: serde::de::DeserializeOwned>(
    body: Result<Bytes, BytesRejection>,
    what: &str,
) -> Result<T, ApiError> {
    let body = body.map_err(|e| ApiError::new(e.status(), format!("cannot read the body: {e}")))?;
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not {what}: {e}")))
}

/// The snapshot a request names (`null`: the latest), as a spec.
fn snapshot_spec(snapshot: &Option<Value>) -> Result<String, ApiError> {
    match snapshot {
        None | Some(Value::Null) => Ok("latest".to_owned()),
        Some(Value::Number(n)) => Ok(n.to_string()),
        Some(Value::String(s)) => Ok(s.clone()),
        Some(other) => Err(ApiError::bad_request(format!(
            "`snapshot` must be an id, \"latest\" or a date, not {other}"
        ))),
    }
}

/// A basket checked against the catalogue.
#[derive(Debug)]
pub struct Basket {
    /// Its snapshot.
    pub snapshot: i64,
    /// The restore patterns that select exactly its UTF-8 paths.
    pub patterns: Vec<String>,
    /// Its paths that are not UTF-8, as raw bytes (selected with
    /// `Selection::with_paths`).
    pub raw: Vec<Vec<u8>>,
    /// Every path, for display (lossy UTF-8).
    pub shown: Vec<String>,
}

impl Basket {
    /// The selection of the basket.
    pub fn selection(&self) -> Result<odarchive::restore::Selection, ApiError> {
        Ok(odarchive::restore::Selection::new(&self.patterns)?.with_paths(self.raw.clone()))
    }
}

/// A basket checked against the catalogue: each path (UTF-8 in `paths`, or the hex of its
/// bytes in `paths_hex`) must be relative and in the snapshot (404 names the first that is
/// not); each selects itself and everything below it.
pub fn basket_of(
    c: &Catalogue,
    spec: &str,
    paths: &[String],
    paths_hex: &[String],
) -> Result<Basket, ApiError> {
    let count = paths.len() + paths_hex.len();
    if count == 0 {
        return Err(ApiError::bad_request(
            "`paths` is empty: name the files or folders to restore",
        ));
    }
    if count > MAX_BASKET {
        return Err(ApiError::bad_request(format!(
            "{count} paths; at most {MAX_BASKET} are taken at once (a folder stands for all below it)"
        )));
    }
    let snapshot = snapshot_of(c, Some(spec))?;
    let mut raw_paths: Vec<Vec<u8>> = paths.iter().map(|p| p.as_bytes().to_vec()).collect();
    for hex in paths_hex {
        raw_paths
            .push(odarchive::unhex(hex).ok_or_else(|| {
                ApiError::bad_request(format!("`paths_hex`: {hex:?} is not hex"))
            })?);
    }
    let mut basket = Basket {
        snapshot,
        patterns: Vec::new(),
        raw: Vec::new(),
        shown: Vec::new(),
    };
    for given in raw_paths {
        let mut p: &[u8] = &given;
        while let Some(rest) = p.strip_prefix(b"./") {
            p = rest;
        }
        while let Some(rest) = p.strip_suffix(b"/") {
            p = rest;
        }
        let shown = String::from_utf8_lossy(p).into_owned();
        if p.is_empty() || p.starts_with(b"/") || p.contains(&0) {
            return Err(ApiError::bad_request(format!(
                "path {:?}: give paths relative to the drive root",
                String::from_utf8_lossy(&given)
            )));
        }
        let Some(entry) = c.entry_at(snapshot, p)? else {
            return Err(ApiError::not_found(format!(
                "{shown} is not in snapshot {snapshot}"
            )));
        };
        match std::str::from_utf8(p) {
            Ok(text) => {
                let literal = literal_pattern(text);
                if literal != text && entry.kind == EntryKind::Directory {
                    // As a glob it selects the folder alone; `/**` adds what is below it.
                    basket.patterns.push(format!("{literal}/**"));
                }
                basket.patterns.push(literal);
            }
            Err(_) => basket.raw.push(p.to_vec()),
        }
        basket.shown.push(shown);
    }
    Ok(basket)
}

/// Runs `f` (which blocks on the catalogue) off the async threads.
async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, ApiError> + Send + 'static,
) -> Result<T, ApiError> {
    tokio::task::spawn_blocking(f).await.map_err(|e| {
        ApiError::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("a worker failed: {e}"),
        )
    })?
}

/// `POST /api/restore`: starts a restore of the paths from the `--images` folders into a
/// folder under `--restore-to`; 202 with the job, which `/api/status` follows.
pub async fn restore(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request: RestoreRequest = body_of(body, "a restore request")?;
    if request.paths.is_empty() && request.paths_hex.is_empty() {
        return Err(ApiError::bad_request(
            "`paths` is empty: name the files or folders to restore",
        ));
    }
    let to = state.restore_to.resolve(request.to.as_bytes())?;
    if state.images.roots().is_empty() {
        return Err(ApiError::forbidden(
            "`odarchive serve` was started without --images: there are no discs to restore from",
        ));
    }
    let spec = snapshot_spec(&request.snapshot)?;
    let (paths, paths_hex) = (request.paths, request.paths_hex);
    let basket = state
        .read(move |c| {
            let basket = basket_of(c, &spec, &paths, &paths_hex)?;
            basket.selection()?;
            Ok(basket)
        })
        .await?;
    let options = RestoreOptions {
        from: state.images.roots().to_vec(),
        to,
        patterns: basket.patterns,
        snapshot: Some(basket.snapshot),
        overwrite: request.overwrite,
        ..RestoreOptions::default()
    };
    let job = crate::jobs::RestoreJob {
        options,
        raw_paths: basket.raw,
        paths: basket.shown,
        snapshot: basket.snapshot,
    };
    let (jobs, catalogue) = (Arc::clone(&state.jobs), state.catalogue.clone());
    let job = blocking(move || jobs.start_restore(&catalogue, job)).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "job": job }))))
}

/// One disc a basket needs.
#[derive(Debug, Serialize)]
pub struct BasketDisc {
    /// Disc number.
    pub number: u32,
    /// Its label (what is written on it).
    pub label: String,
    /// Its state: planned, written, verified.
    pub state: odarchive::DiscState,
    /// Files of the basket on it (whole contents or parts).
    pub files: u64,
    /// Their bytes on the disc.
    pub bytes: u64,
}

/// The discs a basket needs, in number order.
pub fn basket_discs(c: &Catalogue, spec: &str, request: &BasketRequest) -> Result<Value, ApiError> {
    let basket = basket_of(c, spec, &request.paths, &request.paths_hex)?;
    let (snapshot, selection) = (basket.snapshot, basket.selection()?);
    let records: HashMap<u32, DiscRecord> = c.discs()?.into_iter().map(|d| (d.number, d)).collect();
    let set = c.restore_set(snapshot, |e| Ok(selection.matches(&e.path)))?;
    let (files, bytes) = set.still_to_do()?;
    let mut discs = Vec::new();
    for share in set.discs_needed()? {
        let Some(d) = records.get(&share.number) else {
            continue;
        };
        discs.push(BasketDisc {
            number: share.number,
            label: d.label.clone(),
            state: d.state,
            files: share.files,
            bytes: share.bytes,
        });
    }
    drop(set);
    Ok(json!({
        "snapshot": snapshot,
        "selected_files": files,
        "selected_bytes": bytes,
        "discs": discs,
    }))
}

/// `POST /api/basket/discs`: which discs a basket needs, with their labels, before any
/// restore (a POST: a basket may be longer than a URL).
pub async fn basket(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Answer {
    let request: BasketRequest = body_of(body, "a basket")?;
    let spec = snapshot_spec(&request.snapshot)?;
    state
        .read(move |c| basket_discs(c, &spec, &request))
        .await
        .map(Json)
}

/// The body of `POST /api/verify`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifyRequest {
    /// Disc numbers to check; empty or absent: every image in the `--images` folders.
    #[serde(default)]
    pub discs: Vec<u32>,
}

/// `POST /api/verify`: starts a verify of the images in the `--images` folders (or of the
/// discs named), as a job; 202 with the job. Each disc that passes is marked verified; the
/// verdicts come in the job, and per disc in `/api/discs` `last_check`.
pub async fn verify(
    State(state): State<Arc<AppState>>,
    body: Result<Bytes, BytesRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let request: VerifyRequest = crate::wire::optional_body(body, "a verify request")?;
    if state.images.roots().is_empty() {
        return Err(ApiError::forbidden(
            "`odarchive serve` was started without --images: there are no disc images to verify",
        ));
    }
    if request.discs.len() > 10_000 {
        return Err(ApiError::bad_request("at most 10000 discs at once"));
    }
    let asked = request.discs.clone();
    state
        .read(move |c| {
            let known: Vec<u32> = c.discs()?.iter().map(|d| d.number).collect();
            match asked.iter().find(|n| !known.contains(n)) {
                Some(n) => Err(ApiError::not_found(format!(
                    "the catalogue has no disc {n} (it has {} discs)",
                    known.len()
                ))),
                None => Ok(()),
            }
        })
        .await?;
    let (jobs, catalogue) = (Arc::clone(&state.jobs), state.catalogue.clone());
    let images = state.images.roots().to_vec();
    let job = blocking(move || jobs.start_verify(&catalogue, images, request.discs)).await?;
    Ok((StatusCode::ACCEPTED, Json(json!({ "job": job }))))
}

/// `POST /api/jobs/{id}/cancel`: asks the job this server runs to stop; 202 with the job,
/// which ends `cancelled` soon (a restore keeps the files it finished, whole).
pub async fn cancel(
    State(state): State<Arc<AppState>>,
    id: Result<UrlPath<String>, PathRejection>,
) -> Result<(StatusCode, Json<Value>), ApiError> {
    let id = path_param(id)?;
    let id: i64 = id
        .parse()
        .map_err(|_| ApiError::bad_request(format!("job {id:?}: a job is a number")))?;
    match state.jobs.cancel(id) {
        Ok(job) => Ok((StatusCode::ACCEPTED, Json(json!({ "job": job })))),
        Err(Some(e)) => Err(e),
        Err(None) => {
            let job = state.read(move |c| Ok(c.job(id)?)).await?;
            Err(match job {
                None => ApiError::not_found(format!("there is no job {id}")),
                Some(j) if j.state == odarchive::catalogue::JobState::Running => ApiError::new(
                    StatusCode::CONFLICT,
                    format!(
                        "job {id} ({}) is run by process {} on {}, not by this server: stop \
                             it there (Ctrl-C)",
                        j.kind, j.pid, j.hostname
                    ),
                ),
                Some(j) => ApiError::new(
                    StatusCode::CONFLICT,
                    format!(
                        "job {id} ({}) has ended ({}); there is nothing to cancel",
                        j.kind,
                        j.state.as_str()
                    ),
                ),
            })
        }
    }
}

/// `GET /api/jobs?before=&limit=`: the catalogue's jobs (the CLI's and this server's),
/// newest first: `{"jobs": [...], "next_before": id or null}`.
pub async fn jobs(State(state): State<Arc<AppState>>, uri: Uri) -> Answer {
    let params = Params::parse(uri.query())?;
    let limit = params.number("limit", 20, 1..=200)? as usize;
    let before = match params.text("before")? {
        None => None,
        Some(t) => Some(t.parse::<i64>().map_err(|_| {
            ApiError::bad_request(format!("parameter `before` is not a job number: {t:?}"))
        })?),
    };
    let list = state.read(move |c| Ok(c.jobs(before, limit)?)).await?;
    let next_before = (list.len() == limit)
        .then(|| list.last().map(|j| j.id))
        .flatten();
    json_of(json!({ "jobs": list, "next_before": next_before }))
}

/// What changed between two snapshots, each list cut to `limit` (the counts are whole).
#[derive(Debug, Serialize)]
pub struct DiffPage {
    /// The older snapshot (as asked: `from`).
    pub from: i64,
    /// The newer snapshot (`to`).
    pub to: i64,
    /// Paths only in `to` (moves left out), in path order; how many in all.
    pub added: Vec<String>,
    /// How many paths were added.
    pub added_count: usize,
    /// Paths only in `from`.
    pub removed: Vec<String>,
    /// How many were removed.
    pub removed_count: usize,
    /// Paths in both whose entry changed, with what changed.
    pub modified: Vec<odarchive::diff::Modified>,
    /// How many were modified.
    pub modified_count: usize,
    /// Contents that moved from one path to another.
    pub moved: Vec<odarchive::diff::Moved>,
    /// How many moved.
    pub moved_count: usize,
    /// Whether a list was cut to `limit`.
    pub truncated: bool,
}

/// The diff of the snapshots `from` and `to` name (ids, `latest` or dates; by default the
/// two newest complete ones, or the only one with itself): the CLI's `diff --json`, each list
/// cut to `limit`.
pub fn diff_page(c: &Catalogue, params: &Params) -> Result<DiffPage, ApiError> {
    let limit = params.number("limit", 500, 1..=MAX_LIMIT)? as usize;
    let named = |name: &str| -> Result<Option<i64>, ApiError> {
        params
            .text(name)?
            .filter(|t| !t.is_empty())
            .map(|t| snapshot_of(c, Some(t)))
            .transpose()
    };
    let (mut from, to) = (named("from")?, named("to")?);
    if from.is_none() {
        // With one complete snapshot (or none before `to`), it is compared with itself.
        let to = match to {
            Some(t) => t,
            None => snapshot_of(c, None)?,
        };
        let earlier = c
            .snapshots()?
            .iter()
            .any(|s| s.finished_ns.is_some() && s.id < to);
        if !earlier {
            from = Some(to);
        }
    }
    let d = odarchive::diff::diff(c, from, to)?;
    let cut = |n: usize| n > limit;
    let truncated =
        cut(d.added.len()) || cut(d.removed.len()) || cut(d.modified.len()) || cut(d.moved.len());
    let first = |mut v: Vec<String>| {
        v.truncate(limit);
        v
    };
    Ok(DiffPage {
        from: d.from,
        to: d.to,
        added_count: d.added.len(),
        removed_count: d.removed.len(),
        modified_count: d.modified.len(),
        moved_count: d.moved.len(),
        added: first(d.added),
        removed: first(d.removed),
        modified: d.modified.into_iter().take(limit).collect(),
        moved: d.moved.into_iter().take(limit).collect(),
        truncated,
    })
}

/// `GET /api/diff?from=&to=&limit=`.
pub async fn diff(State(state): State<Arc<AppState>>, uri: Uri) -> Answer {
    let params = Params::parse(uri.query())?;
    json_of(state.read(move |c| diff_page(c, &params)).await?)
}

/// A path as a restore pattern that selects just it: the characters a selection takes for
/// a glob are put in brackets (`[*]`), so a name holding them is matched as itself.
fn literal_pattern(path: &str) -> String {
    if !path.contains(['*', '?', '[', '{']) {
        return path.to_owned();
    }
    let mut out = String::with_capacity(path.len() + 8);
    for ch in path.chars() {
        match ch {
            '*' | '?' | '[' | '{' => {
                out.push('[');
                out.push(ch);
                out.push(']');
            }
            _ => out.push(ch),
        }
    }
    out
}

/// `GET /api/openapi.json`.
pub async fn openapi() -> ([(axum::http::HeaderName, &'static str); 1], &'static str) {
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        crate::OPENAPI,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literal_patterns_bracket_glob_characters() {
        assert_eq!(literal_pattern("a/b.txt"), "a/b.txt");
        assert_eq!(literal_pattern("a/[x]*.txt"), "a/[[]x][*].txt");
    }
}
