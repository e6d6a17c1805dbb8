//! Who may talk to the server, checked on every request before any handler runs:
//!
//! - **Host** (loopback binds): the `Host` header must name the loopback (`localhost`,
//!   `127.0.0.1`, `[::1]`, any port). A page of another site whose name was made to resolve to
//!   127.0.0.1 (DNS rebinding) sends its own name and is refused (403).
//! - **Token** (any bind that is not loopback, or `--token-file`): `Authorization: Bearer
//!   TOKEN`, or the cookie that `GET /login?token=TOKEN` sets (HttpOnly, SameSite=Strict).
//!   Compared in constant time. Without it: 401 saying how to give it.
//! - **Actions** (every method but GET and HEAD): the header `X-Odarchive-Action: 1`, which a
//!   page of another origin cannot send without a CORS preflight this server never allows, and
//!   an `Origin` (when the browser sends one) naming this server's host. Else 403.

use axum::extract::{Request, State};
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};

use crate::wire::{ApiError, Params};

/// The header an action must carry.
pub const ACTION_HEADER: &str = "x-odarchive-action";

/// The cookie `/login` sets.
pub const COOKIE: &str = "odarchive_token";

/// How requests are let in.
#[derive(Debug, Clone)]
pub struct Access {
    /// The token every request must carry, if any.
    pub token: Option<String>,
    /// Whether the server listens on a loopback address only (then the Host header is
    /// checked).
    pub loopback: bool,
}

/// A new random token: 32 bytes from the kernel, as hex.
pub fn new_token() -> std::io::Result<String> {
    use std::io::Read;
    let mut bytes = [0u8; 32];
    std::fs::File::open("/dev/urandom")?.read_exact(&mut bytes)?;
    Ok(odarchive::hex(&bytes))
}

/// Whether `a` and `b` are equal, in a time that depends on their lengths only.
pub fn same_secret(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Whether the `Host` header value names the loopback.
fn loopback_host(host: &str) -> bool {
    let name = if let Some(rest) = host.strip_prefix('[') {
        match rest.split_once(']') {
            Some((inside, port)) if port.is_empty() || port.starts_with(':') => inside,
            _ => return false,
        }
    } else {
        host.split_once(':').map_or(host, |(name, _)| name)
    };
    let name = name.to_ascii_lowercase();
    name == "localhost"
        || name == "::1"
        || name
            .parse::<std::net::Ipv4Addr>()
            .is_ok_and(|a| a.is_loopback())
}

/// The token the request carries, from `Authorization: Bearer` or the cookie.
fn presented(headers: &HeaderMap) -> Option<&str> {
    let bearer = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    bearer.or_else(|| {
        headers
            .get_all(header::COOKIE)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(';'))
            .filter_map(|c| c.trim().split_once('='))
            .find(|(name, _)| *name == COOKIE)
            .map(|(_, value)| value)
    })
}

/// The checks above, in order, for every request.
pub async fn guard(
    State(access): State<std::sync::Arc<Access>>,
    request: Request,
    next: Next,
) -> Response {
    match check(&access, &request) {
        Ok(()) => next.run(request).await,
        Err(e) => e.into_response(),
    }
}

fn check(access: &Access, request: &Request) -> Result<(), ApiError> {
    let headers = request.headers();
    let host = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if access.loopback && !loopback_host(host) {
        return Err(ApiError::forbidden(format!(
            "the Host header {host:?} does not name this machine's loopback: this server \
             answers only http://localhost or http://127.0.0.1 (a guard against DNS rebinding)"
        )));
    }
    if let Some(token) = &access.token {
        let is_login = request.uri().path() == "/login";
        let ok = presented(headers).is_some_and(|t| same_secret(t.as_bytes(), token.as_bytes()));
        if !is_login && !ok {
            let what = if presented(headers).is_some() {
                "the token given is not this server's"
            } else {
                "no token given"
            };
            return Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                format!(
                    "{what}: send `Authorization: Bearer TOKEN`, or open /login?token=TOKEN \
                     once in the browser (the token was printed when `odarchive serve` \
                     started, or is in its --token-file)"
                ),
            ));
        }
    }
    if request.method() != Method::GET && request.method() != Method::HEAD {
        if headers.get(ACTION_HEADER).and_then(|v| v.to_str().ok()) != Some("1") {
            return Err(ApiError::forbidden(format!(
                "an action needs the header `{ACTION_HEADER}: 1` (a guard against requests \
                 forged by other sites)"
            )));
        }
        if let Some(origin) = headers.get(header::ORIGIN) {
            let origin = origin.to_str().unwrap_or("");
            let origin_host = origin
                .strip_prefix("http://")
                .or_else(|| origin.strip_prefix("https://"))
                .unwrap_or("");
            if origin_host != host {
                return Err(ApiError::forbidden(format!(
                    "the request comes from the page of another site ({origin}); actions are \
                     taken only from this server's own pages"
                )));
            }
        }
    }
    Ok(())
}

/// `GET /login?token=TOKEN`: sets the cookie and goes to the status page.
pub async fn login(State(access): State<std::sync::Arc<Access>>, uri: axum::http::Uri) -> Response {
    let params = match Params::parse(uri.query()) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let Some(token) = &access.token else {
        return Redirect::to("/").into_response();
    };
    let given = params.bytes("token").unwrap_or(b"");
    if !same_secret(given, token.as_bytes()) {
        return ApiError::new(
            StatusCode::UNAUTHORIZED,
            "the token given is not this server's (it was printed when `odarchive serve` started)",
        )
        .into_response();
    }
    let cookie = format!("{COOKIE}={token}; HttpOnly; SameSite=Strict; Path=/");
    ([(header::SET_COOKIE, cookie)], Redirect::to("/")).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_names_are_told_apart_from_others() {
        for ok in [
            "localhost",
            "localhost:8080",
            "127.0.0.1:1",
            "127.9.9.9",
            "[::1]:80",
            "[::1]",
            "LOCALHOST",
        ] {
            assert!(loopback_host(ok), "{ok}");
        }
        for bad in [
            "",
            "evil.example",
            "evil.example:8080",
            "10.0.0.1:80",
            "localhost.evil.example",
            "[::2]:80",
            "[::1]x",
        ] {
            assert!(!loopback_host(bad), "{bad}");
        }
    }

    #[test]
    fn secrets_compare_whole() {
        assert!(same_secret(b"abc", b"abc"));
        assert!(!same_secret(b"abc", b"abd"));
        assert!(!same_secret(b"abc", b"abcd"));
        assert!(!same_secret(b"", b"a"));
    }

    #[test]
    fn tokens_are_long_and_differ() {
        let (a, b) = (new_token().unwrap(), new_token().unwrap());
        assert_eq!(a.len(), 64);
        assert_ne!(a, b);
    }
}
