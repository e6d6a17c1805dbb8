//! `odarchive serve [--listen ADDR]`: the local web page and JSON API (odarchive-serve).

use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::{Context, Result};
use odarchive_serve::{ServeOptions, Server};

use crate::{Global, Outcome};

#[derive(Debug, clap::Args)]
pub struct Args {
    /// Address to listen on. Loopback needs no token; any other address needs one (made
    /// and printed at start, or read from --token-file).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:8080")]
    listen: SocketAddr,
    /// A file holding the token requests must carry (its first line).
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// A folder restores may write into (and folders below it); repeatable.
    #[arg(long, value_name = "DIR")]
    restore_to: Vec<PathBuf>,
    /// A folder of disc images that restores and verifies read, and that a rescan from the
    /// page writes new discs into; repeatable.
    #[arg(long, value_name = "DIR")]
    images: Vec<PathBuf>,
    /// The drive a rescan from the page (`POST /api/archive`) scans, plans and writes.
    #[arg(long, value_name = "DIR")]
    drive: Option<PathBuf>,
}

pub fn run(args: &Args, global: &Global) -> Result<Outcome> {
    let token = match &args.token_file {
        Some(file) => {
            let text = std::fs::read_to_string(file)
                .with_context(|| format!("cannot read the token file {}", file.display()))?;
            let token = text.lines().next().unwrap_or("").trim().to_owned();
            anyhow::ensure!(
                token.len() >= 16,
                "the token in {} is shorter than 16 characters",
                file.display()
            );
            Some(token)
        }
        None => None,
    };
    let server = Server::start(ServeOptions {
        catalogue: global.catalogue.clone(),
        listen: args.listen,
        token,
        restore_to: args.restore_to.clone(),
        images: args.images.clone(),
        drive: args.drive.clone(),
    })?;
    if server.token.is_some() && args.token_file.is_none() {
        eprintln!(
            "token (shown once): {}",
            server.token.as_deref().unwrap_or("")
        );
    }
    let line = serde_json::json!({ "event": "listening", "address": server.address.to_string(), "url": server.url() });
    if global.json {
        crate::render::out(&format!("{line}\n"))?;
    } else {
        crate::render::out(&format!("odarchive serve: open {}\n", server.url()))?;
    }
    server.run_until_ctrl_c()?;
    Ok(Outcome::Success)
}
