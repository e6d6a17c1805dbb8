//! What travels over HTTP: errors as `{"error": "..."}` with a 4xx status, raw paths, and
//! query strings decoded to bytes.
//!
//! Paths in the catalogue are raw bytes. In responses a path is `path` (lossy UTF-8, for
//! display) and, only when the bytes are not valid UTF-8, `path_hex` (the exact bytes, lower
//! case hex): a client that has `path_hex` sends it back instead of `path`. In a query string
//! `path=` is percent-decoded to raw bytes (so `%FF` is the byte 0xFF), and `path_hex=` is the
//! hex form; JSON bodies carry strings, and `paths_hex` where bytes are not UTF-8.

use std::collections::HashMap;

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// An error answered as `{"error": message}` with `status`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    /// The HTTP status (4xx for what the request got wrong).
    pub status: StatusCode,
    /// What went wrong, naming the input and the cause.
    pub message: String,
}

impl ApiError {
    /// 400 Bad Request.
    pub fn bad_request(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::BAD_REQUEST, message)
    }

    /// 404 Not Found.
    pub fn not_found(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::NOT_FOUND, message)
    }

    /// 403 Forbidden.
    pub fn forbidden(message: impl Into<String>) -> ApiError {
        ApiError::new(StatusCode::FORBIDDEN, message)
    }

    /// An error with any status.
    pub fn new(status: StatusCode, message: impl Into<String>) -> ApiError {
        ApiError {
            status,
            message: message.into(),
        }
    }
}

impl From<odarchive::Error> for ApiError {
    /// The library's errors: what names a missing thing is 404, a bad argument 400, another
    /// job on the catalogue 409, the rest (the catalogue unreadable, a disc failing) 500 with
    /// the library's message, which names the file and the cause.
    fn from(e: odarchive::Error) -> ApiError {
        use odarchive::Error as E;
        let status = match &e {
            E::NoSnapshot { .. } | E::NoSuchSnapshot { .. } | E::NoCatalogue { .. } => {
                StatusCode::NOT_FOUND
            }
            E::Pattern { .. } | E::BadTimezone(_) => StatusCode::BAD_REQUEST,
            E::Busy { .. } => StatusCode::CONFLICT,
            _ => StatusCode::INTERNAL_SERVER_ERROR,
        };
        ApiError::new(status, e.to_string())
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        #[derive(Serialize)]
        struct Body {
            error: String,
        }
        (
            self.status,
            Json(Body {
                error: self.message,
            }),
        )
            .into_response()
    }
}

/// A raw path as JSON: `path` for display, `path_hex` with the exact bytes when they are not
/// UTF-8.
#[derive(Debug, Clone, Serialize, PartialEq, Eq)]
pub struct WirePath {
    /// The path, lossy UTF-8.
    pub path: String,
    /// The exact bytes in hex, only when they are not valid UTF-8.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
}

impl WirePath {
    /// The wire form of `raw`.
    pub fn of(raw: &[u8]) -> WirePath {
        match std::str::from_utf8(raw) {
            Ok(text) => WirePath {
                path: text.to_owned(),
                path_hex: None,
            },
            Err(_) => WirePath {
                path: String::from_utf8_lossy(raw).into_owned(),
                path_hex: Some(odarchive::hex(raw)),
            },
        }
    }
}

/// A query string's parameters, each percent-decoded to raw bytes (`+` is a space). A name
/// given twice keeps its last value.
#[derive(Debug, Default, Clone)]
pub struct Params(HashMap<String, Vec<u8>>);

/// The longest query string taken (a request with a longer one is refused).
const MAX_QUERY: usize = 16 * 1024;

impl Params {
    /// Parses `query` (the part of the URI after `?`).
    pub fn parse(query: Option<&str>) -> Result<Params, ApiError> {
        let mut out = HashMap::new();
        let Some(query) = query else {
            return Ok(Params(out));
        };
        if query.len() > MAX_QUERY {
            return Err(ApiError::bad_request(format!(
                "the query string is {} bytes; at most {MAX_QUERY} are taken",
                query.len()
            )));
        }
        for pair in query.split('&').filter(|p| !p.is_empty()) {
            let (name, value) = pair.split_once('=').unwrap_or((pair, ""));
            let name = String::from_utf8(percent_decode(name)?)
                .map_err(|_| ApiError::bad_request("a query parameter name is not UTF-8"))?;
            out.insert(name, percent_decode(value)?);
        }
        Ok(Params(out))
    }

    /// The raw bytes of parameter `name`.
    pub fn bytes(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).map(Vec::as_slice)
    }

    /// Parameter `name` as text; not UTF-8 is an error naming it.
    pub fn text(&self, name: &str) -> Result<Option<&str>, ApiError> {
        self.bytes(name)
            .map(|b| {
                std::str::from_utf8(b).map_err(|_| {
                    ApiError::bad_request(format!("parameter `{name}` is not valid UTF-8"))
                })
            })
            .transpose()
    }

    /// The raw path given as `NAME=` (percent-decoded bytes) or `NAME_hex=` (hex); `None`
    /// when neither is given.
    pub fn path(&self, name: &str) -> Result<Option<Vec<u8>>, ApiError> {
        let hex_name = format!("{name}_hex");
        match (self.bytes(name), self.text(&hex_name)?) {
            (Some(_), Some(_)) => Err(ApiError::bad_request(format!(
                "give `{name}` or `{hex_name}`, not both"
            ))),
            (Some(raw), None) => Ok(Some(raw.to_vec())),
            (None, Some(hex)) => odarchive::unhex(hex).map(Some).ok_or_else(|| {
                ApiError::bad_request(format!("parameter `{hex_name}` is not hex: {hex:?}"))
            }),
            (None, None) => Ok(None),
        }
    }

    /// Parameter `name` as a number in `range`, `default` when absent.
    pub fn number(
        &self,
        name: &str,
        default: u64,
        range: std::ops::RangeInclusive<u64>,
    ) -> Result<u64, ApiError> {
        let Some(text) = self.text(name)? else {
            return Ok(default);
        };
        let n: u64 = text.parse().map_err(|_| {
            ApiError::bad_request(format!("parameter `{name}` is not a number: {text:?}"))
        })?;
        if !range.contains(&n) {
            return Err(ApiError::bad_request(format!(
                "parameter `{name}` is {n}; it must be from {} to {}",
                range.start(),
                range.end()
            )));
        }
        Ok(n)
    }
}

/// The JSON body of an action that may be sent empty (all defaults): `what` names it in the
/// error when it is not one ("an archive request").
pub fn optional_body<T: DeserializeOwned + Default>(
    body: Result<Bytes, BytesRejection>,
    what: &str,
) -> Result<T, ApiError> {
    let body = body.map_err(|e| ApiError::new(e.status(), format!("cannot read the body: {e}")))?;
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(T::default());
    }
    serde_json::from_slice(&body)
        .map_err(|e| ApiError::bad_request(format!("the body is not {what}: {e}")))
}

/// `text` with `%XX` escapes turned into bytes and `+` into spaces; a `%` not followed by two
/// hex digits is an error.
pub fn percent_decode(text: &str) -> Result<Vec<u8>, ApiError> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok());
                let byte = hex
                    .and_then(|h| u8::from_str_radix(h, 16).ok())
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "bad percent escape in the query string at byte {i}: {text:?}"
                        ))
                    })?;
                out.push(byte);
                i += 3;
            }
            b'+' => {
                out.push(b' ');
                i += 1;
            }
            b => {
                out.push(b);
                i += 1;
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_raw_bytes() {
        let p = Params::parse(Some("path=a%2Fb%FF+c&limit=5&path_hex=")).unwrap();
        assert_eq!(p.bytes("path"), Some(&b"a/b\xff c"[..]));
        assert_eq!(p.number("limit", 1, 1..=10).unwrap(), 5);
        assert!(p.number("limit", 1, 1..=4).is_err());
        assert!(p.text("path").is_err(), "0xFF is not UTF-8");
        assert!(Params::parse(Some("path=%G1")).is_err());
        assert!(Params::parse(Some("path=%4")).is_err());
        let hex = Params::parse(Some("path_hex=61ff")).unwrap();
        assert_eq!(hex.path("path").unwrap(), Some(b"a\xff".to_vec()));
        let both = Params::parse(Some("path=a&path_hex=61")).unwrap();
        assert!(both.path("path").is_err());
    }

    #[test]
    fn a_path_gets_hex_only_when_it_is_not_utf8() {
        assert_eq!(WirePath::of(b"a/b").path_hex, None);
        let odd = WirePath::of(b"a\xffb");
        assert_eq!(odd.path, "a\u{fffd}b");
        assert_eq!(odd.path_hex.as_deref(), Some("61ff62"));
    }
}
