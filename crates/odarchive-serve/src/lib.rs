//! `odarchive serve`: a local web page and JSON API over a catalogue — the status of the
//! running job (started here or by the CLI in another process), the snapshots folder by
//! folder, path search, a file's versions and the discs holding each, the disc map, and
//! restores of a basket of paths (and the discs it needs), verifies of the disc images, a
//! rescan + plan + write of the drive, the cancel of a running job, and the history of jobs.
//!
//! - [`ServeOptions`] and [`Server::start`]: bind, print where, serve until dropped (or
//!   [`Server::run_until_ctrl_c`]).
//! - [`access`]: loopback Host check, token, CSRF guard; [`folders`]: the only folders a
//!   request may name; [`wire`]: errors and raw paths over HTTP.
//! - [`api`]: the JSON API (described by `openapi.json`, served at `/api/openapi.json`);
//!   [`pages`]: the HTML pages over it; [`jobs`]: the job the server runs itself;
//!   [`archive`]: the rescan + plan + write job.
//!
//! Everything the pages show comes from the library (`odarchive::status`, the catalogue's
//! folder pages and path search, `odarchive::restore`); nothing is computed here that the
//! CLI would compute differently.

pub mod access;
pub mod api;
pub mod archive;
pub mod folders;
pub mod jobs;
pub mod pages;
pub mod wire;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;

use axum::Router;
use axum::routing::{get, post};

use crate::access::Access;
use crate::api::AppState;
use crate::folders::Folders;

/// The OpenAPI description of the JSON API.
pub const OPENAPI: &str = include_str!("../openapi.json");

/// How to serve.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// The catalogue file (it must exist; an older one is brought up to date first).
    pub catalogue: PathBuf,
    /// Where to listen. A loopback address needs no token; any other does.
    pub listen: SocketAddr,
    /// The token, if one is given (`--token-file`); one is generated for a non-loopback
    /// address without it.
    pub token: Option<String>,
    /// Folders restores may write into.
    pub restore_to: Vec<PathBuf>,
    /// Folders of disc images restores and verifies read, and archives write into.
    pub images: Vec<PathBuf>,
    /// The drive an archive (`POST /api/archive`) rescans.
    pub drive: Option<PathBuf>,
}

/// What stops the server from starting.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// The catalogue cannot be opened.
    #[error(transparent)]
    Catalogue(#[from] odarchive::Error),
    /// A folder given is not one.
    #[error("{0}")]
    Folder(std::io::Error),
    /// The address cannot be listened on.
    #[error("cannot listen on {address}: {source}")]
    Listen {
        /// The address.
        address: SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// No token could be made.
    #[error("cannot make a token from /dev/urandom: {0}")]
    Token(std::io::Error),
    /// The runtime cannot start.
    #[error("cannot start the server's threads: {0}")]
    Runtime(std::io::Error),
}

/// A running server.
#[derive(Debug)]
pub struct Server {
    /// The address it listens on (the port chosen, when 0 was asked for).
    pub address: SocketAddr,
    /// The token requests need, if any.
    pub token: Option<String>,
    runtime: Option<tokio::runtime::Runtime>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
}

/// The router: every route of the API and the pages, behind the access checks.
pub fn router(state: Arc<AppState>, access: Arc<Access>) -> Router {
    let api = Router::new()
        .route("/api/status", get(api::status))
        .route("/api/snapshots", get(api::snapshots))
        .route("/api/snapshots/{id}/tree", get(api::tree))
        .route("/api/files/versions", get(api::versions))
        .route("/api/discs", get(api::discs))
        .route("/api/search", get(api::search))
        .route("/api/diff", get(api::diff))
        .route("/api/events", get(api::events))
        .route("/api/restore", post(api::restore))
        .route("/api/basket/discs", post(api::basket))
        .route("/api/verify", post(api::verify))
        .route("/api/archive", get(archive::settings))
        .route("/api/archive", post(archive::start))
        .route("/api/jobs", get(api::jobs))
        .route("/api/jobs/{id}/cancel", post(api::cancel))
        .route("/api/openapi.json", get(api::openapi))
        .route("/", get(pages::status))
        .route("/browse", get(pages::browse))
        .route("/search", get(pages::search))
        .route("/versions", get(pages::versions))
        .route("/discs", get(pages::discs))
        .route("/diff", get(pages::diff))
        .route("/basket", get(pages::basket))
        .with_state(state);
    let login = Router::new()
        .route("/login", get(access::login))
        .with_state(Arc::clone(&access));
    api.merge(login)
        .fallback(|| async { wire::ApiError::not_found("no such page or API route") })
        .layer(axum::middleware::from_fn_with_state(access, access::guard))
}

impl Server {
    /// Opens the catalogue, binds `options.listen` and starts serving on threads of its own.
    pub fn start(options: ServeOptions) -> Result<Server, ServeError> {
        // Bring an older catalogue up to date once, so that every reader can open it.
        drop(odarchive::Catalogue::open_read_only_upgraded(
            &options.catalogue,
        )?);
        let restore_to =
            Folders::new(&options.restore_to, "--restore-to").map_err(ServeError::Folder)?;
        let images = Folders::new(&options.images, "--images").map_err(ServeError::Folder)?;
        let loopback = options.listen.ip().is_loopback();
        let token = match options.token {
            Some(t) => Some(t),
            None if !loopback => Some(access::new_token().map_err(ServeError::Token)?),
            None => None,
        };
        let access = Arc::new(Access {
            token: token.clone(),
            loopback,
        });
        let drive = match &options.drive {
            None => None,
            Some(d) => {
                let canonical = d.canonicalize().map_err(|e| {
                    ServeError::Folder(std::io::Error::new(
                        e.kind(),
                        format!("--drive {}: {e}", d.display()),
                    ))
                })?;
                if !canonical.is_dir() {
                    return Err(ServeError::Folder(std::io::Error::other(format!(
                        "--drive {}: not a folder",
                        d.display()
                    ))));
                }
                Some(canonical)
            }
        };
        let state = Arc::new(AppState::new(
            options.catalogue.clone(),
            restore_to,
            images,
            drive,
        ));
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("odarchive-serve")
            .enable_all()
            .build()
            .map_err(ServeError::Runtime)?;
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind(options.listen))
            .map_err(|source| ServeError::Listen {
                address: options.listen,
                source,
            })?;
        let address = listener.local_addr().map_err(|source| ServeError::Listen {
            address: options.listen,
            source,
        })?;
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = router(state, access);
        runtime.spawn(async move {
            let _ = axum::serve(listener, app)
                .with_graceful_shutdown(async {
                    let _ = stopped.await;
                })
                .await;
        });
        Ok(Server {
            address,
            token,
            runtime: Some(runtime),
            stop: Some(stop),
        })
    }

    /// The address to open in a browser (with the login exchange when a token is needed).
    pub fn url(&self) -> String {
        match &self.token {
            Some(token) => format!("http://{}/login?token={token}", self.address),
            None => format!("http://{}/", self.address),
        }
    }

    /// Serves until Ctrl-C or SIGTERM.
    pub fn run_until_ctrl_c(mut self) -> Result<(), ServeError> {
        if let Some(runtime) = &self.runtime {
            runtime.block_on(async {
                let mut term =
                    tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
                        .map_err(ServeError::Runtime)?;
                tokio::select! {
                    r = tokio::signal::ctrl_c() => r.map_err(ServeError::Runtime),
                    _ = term.recv() => Ok(()),
                }
            })?;
        }
        self.shut_down();
        Ok(())
    }

    fn shut_down(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_timeout(std::time::Duration::from_secs(2));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.shut_down();
    }
}
