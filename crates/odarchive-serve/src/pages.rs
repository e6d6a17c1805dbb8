//! The HTML pages: plain server-rendered pages over the same functions as the JSON API,
//! readable without JavaScript; a small inline script adds live status (Server-Sent Events)
//! and the basket (kept in the browser's localStorage) with its restore. No external assets.

use std::fmt::Write as _;
use std::sync::Arc;

use axum::extract::State;
use axum::http::Uri;
use axum::response::{Html, IntoResponse, Response};
use serde_json::Value;

use crate::api::{self, AppState, EntryJson};
use crate::wire::{ApiError, Params, WirePath};

/// `text` escaped for HTML text and attribute values: the one escaping helper.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for ch in text.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(ch),
        }
    }
    out
}

/// `bytes` percent-encoded for a query string value (every byte but unreserved ones).
pub fn encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if b.is_ascii_alphanumeric() || b"-_.~/".contains(&b) {
            out.push(b as char);
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The query value of a wire path: `path=…` or, for bytes that are not UTF-8, `path_hex=…`.
fn path_query(name: &str, p: &WirePath) -> String {
    match &p.path_hex {
        Some(hex) => format!("{name}_hex={hex}"),
        None => format!("{name}={}", encode(p.path.as_bytes())),
    }
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:1rem 2rem;max-width:70rem}\
nav a{margin-right:1rem}table{border-collapse:collapse;width:100%}\
td,th{padding:.2rem .5rem;border-bottom:1px solid #ddd;text-align:left}\
td.n{text-align:right;font-variant-numeric:tabular-nums}.err{color:#a00}\
.ok{color:#070}.bar{background:#eee;width:10rem;height:.8rem}.bar div{background:#4a7;height:100%}\
code{word-break:break-all}";

/// The basket script: paths kept in localStorage, per snapshot.
const BASKET_JS: &str = r#"
function basket(){try{return JSON.parse(localStorage.getItem('odarchive-basket')||'[]')}catch(e){return[]}}
function saveBasket(b){localStorage.setItem('odarchive-basket',JSON.stringify(b))}
function same(x,box){return x.snapshot==box.dataset.snapshot&&(box.dataset.hex?x.hex==box.dataset.hex:!x.hex&&x.path==box.dataset.path)}
function toggle(box){let b=basket().filter(x=>!same(x,box));
if(box.checked){let x={snapshot:+box.dataset.snapshot,path:box.dataset.path};if(box.dataset.hex)x.hex=box.dataset.hex;b.push(x)}saveBasket(b);count()}
function wire(b){return{paths:b.filter(x=>!x.hex).map(x=>x.path),paths_hex:b.filter(x=>x.hex).map(x=>x.hex)}}
function count(){let c=document.getElementById('basket-count');if(c)c.textContent=basket().length}
async function act(url,body){let r=await fetch(url,{method:'POST',headers:{'content-type':'application/json','x-odarchive-action':'1'},body:JSON.stringify(body||{})});
let j={};try{j=await r.json()}catch(e){}return[r,j]}
async function cancelJob(id){let[r,j]=await act('/api/jobs/'+id+'/cancel');let m=document.getElementById('cancel-result');if(m)m.textContent=r.ok?'cancelling job '+id:j.error}
async function verifyDiscs(discs){let m=document.getElementById('verify-result');let[r,j]=await act('/api/verify',{discs:discs});
if(!r.ok){m.textContent=j.error;return}m.textContent='verify started (job '+j.job.id+')';
for(;;){await new Promise(f=>setTimeout(f,300));let s=await (await fetch('/api/status')).json();let k=s.server_job;
if(k&&k.id==j.job.id){m.textContent=k.phase;if(k.state!='running'){location.reload();return}}}}
async function archiveNow(){let m=document.getElementById('archive-result');let body={};
for(const[id,key,num]of[['media','media',0],['margin','margin',0],['parity','parity',1],['set-parity','set_parity',1],['set-group','set_group',1],['out','out',0]]){
let v=document.getElementById(id).value.trim();if(v!=='')body[key]=num?Number(v):v}
let[r,j]=await act('/api/archive',body);if(!r.ok){m.textContent=j.error;return}m.textContent='archive started (job '+j.job.id+')';
for(;;){await new Promise(f=>setTimeout(f,300));let s=await (await fetch('/api/status')).json();let k=s.server_job;
if(k&&k.id==j.job.id){m.textContent=k.phase;if(k.state!='running'){location.reload();return}}}}
document.addEventListener('DOMContentLoaded',()=>{let b=basket();
document.querySelectorAll('input[data-path]').forEach(x=>{x.checked=b.some(y=>same(y,x))});count()});
"#;

fn page(title: &str, body: &str) -> Response {
    let html = format!(
        "<!doctype html><html lang=en><head><meta charset=utf-8>\
         <meta name=viewport content='width=device-width'><title>{} — odarchive</title>\
         <style>{STYLE}</style><script>{BASKET_JS}</script></head><body>\
         <nav><a href='/'>Status</a><a href='/browse'>Browse</a><a href='/search'>Search</a>\
         <a href='/discs'>Discs</a><a href='/diff'>Diff</a><a href='/basket'>Basket (<span id=basket-count>0</span>)</a></nav>\
         <h1>{}</h1>{body}</body></html>",
        escape(title),
        escape(title)
    );
    Html(html).into_response()
}

fn error_page(e: ApiError) -> Response {
    let status = e.status;
    let mut response = page("Error", &format!("<p class=err>{}</p>", escape(&e.message)));
    *response.status_mut() = status;
    response
}

fn done(result: Result<Response, ApiError>) -> Response {
    result.unwrap_or_else(error_page)
}

fn time(ns: i64) -> String {
    odarchive::time::format_ns(ns)
}

/// `GET /`: the status, live, and the history of jobs.
pub async fn status(State(state): State<Arc<AppState>>) -> Response {
    let jobs = Arc::clone(&state.jobs);
    done(
        state
            .read(move |c| Ok((api::status_value(c, &jobs)?, c.jobs(None, HISTORY)?)))
            .await
            .map(|(v, history)| {
                let body = format!(
                    "<div id=status>{}{}</div>\
                     <script>const es=new EventSource('/api/events');\
                     es.addEventListener('status',e=>{{fetch('/?fragment=1').then(r=>r.text())\
                     .then(t=>{{let d=new DOMParser().parseFromString(t,'text/html');\
                     document.getElementById('status').innerHTML=d.getElementById('status').innerHTML}})}});\
                     </script>",
                    status_html(&v),
                    history_html(&history)
                );
                page("Status", &body)
            }),
    )
}

/// Jobs shown in the history on the status page.
const HISTORY: usize = 20;

fn history_html(history: &[odarchive::catalogue::Job]) -> String {
    let mut out = String::from(
        "<h2>History</h2><table id=history><tr><th>job</th><th>kind</th><th>state</th>\
         <th>started</th><th>ended</th><th>files</th><th>what it did</th></tr>",
    );
    for j in history {
        let _ = write!(
            out,
            "<tr><td class=n>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td>\
             <td class=n>{} of {}</td><td>{}</td></tr>",
            j.id,
            escape(&j.kind),
            j.state.as_str(),
            time(j.started_ns),
            j.finished_ns.map(time).unwrap_or_default(),
            j.files_done,
            j.files_total,
            escape(j.message.as_deref().unwrap_or(""))
        );
    }
    out.push_str("</table>");
    if history.is_empty() {
        out.push_str("<p>No job has run yet.</p>");
    }
    out
}

fn status_html(v: &Value) -> String {
    let mut out = String::new();
    let job = &v["job"];
    if job.is_null() {
        out.push_str("<p>No job has run on this catalogue yet.</p>");
    } else {
        let _ = write!(
            out,
            "<h2>Job {} : {} — {} ({})</h2><table>",
            job["id"],
            escape(job["kind"].as_str().unwrap_or("")),
            escape(job["state"].as_str().unwrap_or("")),
            escape(v["liveness"].as_str().unwrap_or(""))
        );
        let row = |out: &mut String, name: &str, value: String| {
            let _ = write!(out, "<tr><th>{name}</th><td>{}</td></tr>", escape(&value));
        };
        row(
            &mut out,
            "phase",
            job["phase"].as_str().unwrap_or("").to_owned(),
        );
        row(
            &mut out,
            "files",
            format!("{} of {}", job["files_done"], job["files_total"]),
        );
        row(
            &mut out,
            "bytes",
            format!("{} of {}", job["bytes_done"], job["bytes_total"]),
        );
        row(
            &mut out,
            "started",
            time(job["started_ns"].as_i64().unwrap_or(0)),
        );
        row(
            &mut out,
            "last progress",
            time(job["updated_ns"].as_i64().unwrap_or(0)),
        );
        if let Some(m) = job["message"].as_str() {
            row(&mut out, "message", m.to_owned());
        }
        out.push_str("</table>");
    }
    let server = &v["server_job"];
    if !server.is_null() {
        let _ = write!(
            out,
            "<h2>This server's job {}: {} — {}</h2><p>{}</p>",
            server["id"],
            escape(server["kind"].as_str().unwrap_or("")),
            escape(server["state"].as_str().unwrap_or("")),
            escape(server["phase"].as_str().unwrap_or(""))
        );
        if server["state"] == "running" {
            let _ = write!(
                out,
                "<p><button id=cancel onclick='cancelJob({})'>Cancel</button> \
                 <span id=cancel-result></span></p>",
                server["id"].as_i64().unwrap_or(0)
            );
        }
        for verdict in server["verdicts"].as_array().into_iter().flatten() {
            let _ = write!(
                out,
                "<p>disc {}: {}</p>",
                verdict["disc"],
                if verdict["problem"].is_null()
                    && verdict["missing"].as_array().is_some_and(Vec::is_empty)
                    && verdict["corrupt"].as_array().is_some_and(Vec::is_empty)
                {
                    format!("{} files intact", verdict["files_ok"])
                } else {
                    "problems (see /discs)".to_owned()
                }
            );
        }
        for p in server["parity_discs"].as_array().into_iter().flatten() {
            let _ = write!(
                out,
                "<p>parity disc {} of set-parity group {}: {}</p>",
                p["index"],
                p["group"],
                if p["bad_sectors"] == 0 && p["image_sha256_ok"] != false {
                    "intact"
                } else {
                    "problems (see the history)"
                }
            );
        }
        if let Some(a) = server["archive"].as_object() {
            let written: Vec<String> = a["written"]
                .as_array()
                .into_iter()
                .flatten()
                .map(Value::to_string)
                .collect();
            let _ = write!(
                out,
                "<table id=archive><tr><th>drive</th><td><code>{}</code></td></tr>                 <tr><th>images into</th><td><code>{}</code></td></tr>                 <tr><th>step</th><td>{}</td></tr><tr><th>files</th><td>{} of {}</td></tr>                 <tr><th>bytes</th><td>{} of {}</td></tr><tr><th>discs written</th><td>{}</td></tr>                 </table>",
                escape(a["drive"].as_str().unwrap_or("")),
                escape(a["out"].as_str().unwrap_or("")),
                escape(a["step"].as_str().unwrap_or("")),
                a["files_done"],
                a["files_total"],
                a["bytes_done"],
                a["bytes_total"],
                escape(&written.join(", "))
            );
            if let Some(m) = server["message"].as_str() {
                let _ = write!(out, "<p id=archive-message>{}</p>", escape(m));
            }
        }
        if let Some(e) = server["error"].as_str() {
            let _ = write!(out, "<p class=err>{}</p>", escape(e));
        }
        if let Some(report) = server["report"].as_object() {
            let _ = write!(
                out,
                "<p>{}restored {} files ({} bytes) into <code>{}</code>; {} problems; {} discs missing</p>",
                // (A map's index panics on a missing key; `cancelled` is there only when true.)
                if report.get("cancelled") == Some(&Value::Bool(true)) {
                    "cancelled: "
                } else {
                    ""
                },
                report["files_restored"],
                report["bytes_restored"],
                escape(server["to"].as_str().unwrap_or("")),
                report["problems"].as_array().map_or(0, Vec::len),
                report["missing_discs"].as_array().map_or(0, Vec::len)
            );
        }
    }
    if let Some(s) = v["latest_complete_snapshot"].as_i64() {
        let _ = write!(
            out,
            "<p>Latest complete snapshot: <a href='/browse?snapshot={s}'>{s}</a></p>"
        );
    }
    out
}

fn entry_rows(out: &mut String, snapshot: i64, entries: &[EntryJson], with_discs: bool) {
    out.push_str("<table><tr><th></th><th>name</th><th>kind</th><th>size</th><th>modified</th>");
    if with_discs {
        out.push_str("<th>discs</th>");
    }
    out.push_str("</tr>");
    for e in entries {
        let link = match e.kind {
            odarchive::EntryKind::Directory => format!(
                "/browse?snapshot={snapshot}&{}",
                path_query("path", &e.path)
            ),
            _ => format!("/versions?{}", path_query("path", &e.path)),
        };
        let shown = if with_discs { &e.path.path } else { &e.name };
        // A name that is not UTF-8 goes into the basket as the hex of its bytes.
        let hex = match &e.path.path_hex {
            Some(hex) => format!(" data-hex={hex}"),
            None => String::new(),
        };
        let box_ = format!(
            "<input type=checkbox title='in the basket' data-snapshot={snapshot} \
             data-path=\"{}\"{hex} onchange='toggle(this)'>",
            escape(&e.path.path)
        );
        let _ = write!(
            out,
            "<tr><td>{box_}</td><td><a href=\"{}\">{}</a></td><td>{:?}</td><td class=n>{}</td><td>{}</td>",
            escape(&link),
            escape(shown),
            e.kind,
            e.size,
            time(e.mtime_ns)
        );
        if with_discs {
            let discs: Vec<String> = e.discs.iter().flatten().map(u32::to_string).collect();
            let _ = write!(out, "<td>{}</td>", escape(&discs.join(", ")));
        }
        out.push_str("</tr>");
    }
    out.push_str("</table>");
}

/// `GET /browse?snapshot=&path=&after=`: a folder, a page at a time.
pub async fn browse(State(state): State<Arc<AppState>>, uri: Uri) -> Response {
    let params = match Params::parse(uri.query()) {
        Ok(p) => p,
        Err(e) => return error_page(e),
    };
    done(
        state
            .read(move |c| {
                let spec = params.text("snapshot")?.map(str::to_owned);
                api::folder_page(c, spec.as_deref(), &params)
            })
            .await
            .map(|p| {
                let mut body = format!(
                    "<p>Snapshot {} — <a href='/browse?snapshot={}'>drive root</a>",
                    p.snapshot, p.snapshot
                );
                let mut so_far = String::new();
                for part in p.folder.path.split('/').filter(|s| !s.is_empty()) {
                    if !so_far.is_empty() {
                        so_far.push('/');
                    }
                    so_far.push_str(part);
                    let _ = write!(
                        body,
                        " / <a href=\"/browse?snapshot={}&path={}\">{}</a>",
                        p.snapshot,
                        escape(&encode(so_far.as_bytes())),
                        escape(part)
                    );
                }
                body.push_str("</p>");
                entry_rows(&mut body, p.snapshot, &p.entries, false);
                if let Some(next) = &p.next_after {
                    let _ = write!(
                        body,
                        "<p><a href=\"/browse?snapshot={}&{}&{}\">next page</a></p>",
                        p.snapshot,
                        escape(&path_query("path", &p.folder)),
                        escape(&path_query("after", next))
                    );
                }
                page("Browse", &body)
            }),
    )
}

/// `GET /search?q=&snapshot=&after=`.
pub async fn search(State(state): State<Arc<AppState>>, uri: Uri) -> Response {
    let params = match Params::parse(uri.query()) {
        Ok(p) => p,
        Err(e) => return error_page(e),
    };
    let q = String::from_utf8_lossy(params.bytes("q").unwrap_or(b"")).into_owned();
    let form = format!(
        "<form action=/search><input name=q value=\"{}\" autofocus> \
         <button>Search</button></form>",
        escape(&q)
    );
    if q.is_empty() {
        return page("Search", &form);
    }
    done(
        state
            .read(move |c| api::search_page(c, &params))
            .await
            .map(|p| {
                let mut body = form;
                entry_rows(&mut body, p.snapshot, &p.entries, true);
                if let Some(next) = &p.next_after {
                    let _ = write!(
                        body,
                        "<p><a href=\"/search?q={}&snapshot={}&{}\">more</a> ({} index rows looked at)</p>",
                        escape(&encode(p.q.as_bytes())),
                        p.snapshot,
                        escape(&path_query("after", next)),
                        p.examined
                    );
                } else if p.entries.is_empty() {
                    body.push_str("<p>No match.</p>");
                }
                page("Search", &body)
            }),
    )
}

/// `GET /versions?path=`: a file's versions and the discs holding each.
pub async fn versions(State(state): State<Arc<AppState>>, uri: Uri) -> Response {
    let params = match Params::parse(uri.query()) {
        Ok(p) => p,
        Err(e) => return error_page(e),
    };
    let path = match params.path("path") {
        Ok(Some(p)) if !p.is_empty() => p,
        Ok(_) => return error_page(ApiError::bad_request("give a path")),
        Err(e) => return error_page(e),
    };
    let shown = WirePath::of(&path);
    done(
        state
            .read(move |c| api::versions_of(c, &path))
            .await
            .and_then(|versions| {
                if versions.is_empty() {
                    return Err(ApiError::not_found(format!(
                        "{} is in no snapshot",
                        shown.path
                    )));
                }
                let mut body = format!(
                    "<p><code>{}</code></p><table><tr><th>snapshots</th><th>kind</th><th>size</th>\
                     <th>modified</th><th>discs</th></tr>",
                    escape(&shown.path)
                );
                for v in &versions {
                    let discs: Vec<String> = v
                        .locations
                        .iter()
                        .map(|l| format!("{} ({}, {:?})", l.disc, l.label, l.state))
                        .collect();
                    let _ = write!(
                        body,
                        "<tr><td>{}–{}</td><td>{:?}</td><td class=n>{}</td><td>{}</td><td>{}</td></tr>",
                        v.first_snapshot,
                        v.last_snapshot,
                        v.entry.kind,
                        v.entry.size,
                        time(v.entry.mtime_ns),
                        escape(&discs.join(", "))
                    );
                }
                body.push_str("</table>");
                Ok(page("Versions", &body))
            }),
    )
}

/// The form that starts a rescan + plan + write, filled with the stored settings.
fn archive_form(state: &AppState, stored: Option<&crate::archive::ArchiveSettings>) -> String {
    let Some(drive) = &state.drive else {
        return "<p>Started without <code>--drive</code>: no rescan from here.</p>".to_owned();
    };
    let roots = state.images.shown();
    let field = |id: &str, label: &str, value: String, size: u32| {
        format!(
            "<label>{label} <input id={id} size={size} value=\"{}\"></label> ",
            escape(&value)
        )
    };
    let (media, margin, parity, set_parity, set_group) = match stored {
        Some(s) => (
            s.media.clone(),
            s.margin.to_string(),
            s.parity.to_string(),
            s.set_parity.to_string(),
            s.set_group.to_string(),
        ),
        None => Default::default(),
    };
    format!(
        "<h2>Rescan, plan and write</h2><p>Rescans <code>{}</code>, plans what changed and \
         writes the new discs into a folder under <code>{}</code>.</p><p>{}{}{}{}{}{}\
         <button id=archive onclick='archiveNow()'>Rescan and write</button> \
         <span id=archive-result></span></p>",
        escape(&drive.display().to_string()),
        escape(&roots.join(", ")),
        field("media", "medium", media, 6),
        field("margin", "margin", margin, 6),
        field("parity", "parity %", parity, 3),
        field("set-parity", "set parity discs", set_parity, 3),
        field("set-group", "per group of", set_group, 3),
        field("out", "folder", String::new(), 12),
    )
}

/// `GET /discs`: the disc map, with a verify of every image or of one disc, and a rescan +
/// plan + write.
pub async fn discs(State(state): State<Arc<AppState>>) -> Response {
    let read = state
        .read(|c| Ok((api::disc_list(c)?, crate::archive::stored_settings(c)?)))
        .await;
    done(read.map(|(discs, stored)| {
        let mut body = archive_form(&state, stored.as_ref());
        body.push_str(
            "<h2>Discs</h2><p><button id=verify-all onclick='verifyDiscs([])'>Verify all images</button> \
             <span id=verify-result></span></p>\
             <table><tr><th>disc</th><th>label</th><th>state</th><th>fill</th><th>files</th>\
             <th>bytes</th><th>written</th><th>verified</th><th>last check</th><th></th></tr>",
        );
        for d in &discs {
            let check = match &d.last_check {
                Some(c) => format!(
                    "<span class='{}'>{} ({})</span>",
                    if c.ok { "ok" } else { "err" },
                    escape(&c.summary),
                    time(c.checked_ns)
                ),
                None => String::new(),
            };
            let _ = write!(
                body,
                "<tr id=disc-{}><td class=n>{}</td><td>{}</td><td class=state>{}</td>\
                 <td><div class=bar title='{:.1} %'><div style='width:{:.1}%'></div></div></td>\
                 <td class=n>{}</td><td class=n>{}</td><td>{}</td><td>{}</td><td class=check>{}</td>\
                 <td><button onclick='verifyDiscs([{}])'>Verify</button></td></tr>",
                d.disc.number,
                d.disc.number,
                escape(&d.disc.label),
                d.disc.state.as_str(),
                d.fill_percent,
                d.fill_percent.clamp(0.0, 100.0),
                d.disc.files,
                d.disc.bytes,
                d.disc.written_ns.map(time).unwrap_or_default(),
                d.disc.verified_ns.map(time).unwrap_or_default(),
                check,
                d.disc.number
            );
        }
        body.push_str("</table>");
        if discs.is_empty() {
            body.push_str("<p>No discs planned.</p>");
        }
        page("Discs", &body)
    }))
}

/// `GET /diff?from=&to=`: what changed between two snapshots.
pub async fn diff(State(state): State<Arc<AppState>>, uri: Uri) -> Response {
    let params = match Params::parse(uri.query()) {
        Ok(p) => p,
        Err(e) => return error_page(e),
    };
    done(
        state
            .read(move |c| {
                let list = odarchive::diff::snapshots(c)?;
                let complete: Vec<i64> = list
                    .iter()
                    .filter(|s| s.finished_ns.is_some())
                    .map(|s| s.id)
                    .collect();
                if complete.len() < 2 {
                    return Ok((complete, None));
                }
                Ok((complete, Some(api::diff_page(c, &params)?)))
            })
            .await
            .map(|(complete, d)| {
                let Some(d) = d else {
                    return page(
                        "Diff",
                        "<p>A diff needs two complete snapshots; this catalogue has fewer.</p>",
                    );
                };
                let select = |name: &str, chosen: i64| {
                    let mut out = format!("<select name={name}>");
                    for id in &complete {
                        let _ = write!(
                            out,
                            "<option{}>{id}</option>",
                            if *id == chosen { " selected" } else { "" }
                        );
                    }
                    out.push_str("</select>");
                    out
                };
                let mut body = format!(
                    "<form action=/diff>From {} to {} <button>Compare</button></form>\
                     <p id=counts>{} added, {} removed, {} modified, {} moved{}</p>",
                    select("from", d.from),
                    select("to", d.to),
                    d.added_count,
                    d.removed_count,
                    d.modified_count,
                    d.moved_count,
                    if d.truncated {
                        " (the first of each shown)"
                    } else {
                        ""
                    }
                );
                let list = |body: &mut String, id: &str, title: &str, rows: Vec<String>| {
                    if rows.is_empty() {
                        return;
                    }
                    let _ = write!(body, "<h2>{title}</h2><ul id={id}>");
                    for r in rows {
                        let _ = write!(body, "<li><code>{}</code></li>", escape(&r));
                    }
                    body.push_str("</ul>");
                };
                list(&mut body, "added", "Added", d.added);
                list(&mut body, "removed", "Removed", d.removed);
                list(
                    &mut body,
                    "modified",
                    "Modified",
                    d.modified
                        .iter()
                        .map(|m| format!("{} ({})", m.path, m.changed.join(", ")))
                        .collect(),
                );
                list(
                    &mut body,
                    "moved",
                    "Moved",
                    d.moved
                        .iter()
                        .map(|m| format!("{} → {}", m.from, m.to))
                        .collect(),
                );
                page("Diff", &body)
            }),
    )
}

/// `GET /basket`: the paths chosen, and a restore of them.
pub async fn basket(State(state): State<Arc<AppState>>) -> Response {
    let roots = state.restore_to.shown();
    let body = format!(
        "<ul id=items></ul><h2>Discs needed</h2><ul id=discs></ul><p id=discs-result></p>\
         <p>Restore into a folder under <code>{}</code>: \
         <input id=to value='restored'> <button id=go>Restore</button></p><p id=result></p>\
         <script>\
         async function needed(){{let b=basket();let ul=document.getElementById('discs');ul.textContent='';if(!b.length)return;\
         let[r,j]=await act('/api/basket/discs',{{snapshot:b[0].snapshot,...wire(b.filter(x=>x.snapshot==b[0].snapshot))}});\
         if(!r.ok){{document.getElementById('discs-result').textContent=j.error;return}}\
         for(const d of j.discs){{let li=document.createElement('li');\
         li.textContent='disc '+d.number+' — '+d.label+' ('+d.state+'): '+d.files+' files, '+d.bytes+' bytes';ul.appendChild(li)}}}}\
         function show(){{let ul=document.getElementById('items');ul.textContent='';\
         for(const x of basket()){{let li=document.createElement('li');li.textContent='snapshot '+x.snapshot+': '+x.path;ul.appendChild(li)}}needed()}}\
         show();document.getElementById('go').onclick=async()=>{{let b=basket();if(!b.length)return;\
         let r=await fetch('/api/restore',{{method:'POST',headers:{{'content-type':'application/json','x-odarchive-action':'1'}},\
         body:JSON.stringify({{snapshot:b[0].snapshot,...wire(b.filter(x=>x.snapshot==b[0].snapshot)),to:document.getElementById('to').value}})}});\
         let j=await r.json();document.getElementById('result').textContent=r.ok?'restore started: see the status page':j.error;\
         if(r.ok){{saveBasket(b.filter(x=>x.snapshot!=b[0].snapshot));show();count()}}}};\
         </script>",
        escape(&roots.join(", "))
    );
    page("Basket", &body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escaping_covers_markup_and_quotes() {
        assert_eq!(
            escape("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode(b"a b/c&d\xff"), "a%20b/c%26d%FF");
    }
}
