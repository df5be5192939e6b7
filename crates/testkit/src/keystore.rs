//! A keystore (HKP keyserver) double, as library-api.md §9 and §12.20 describe real servers:
//!
//! * `GET /pks/lookup?op=get&search=0x<hex>` → one armoured public key block, 404 if none.
//! * `GET /pks/lookup?op=index|vindex&options=mr[&fingerprint=on]` → `info`/`pub`/`uid` lines,
//!   404 if none; paged with `x-pagesize`/`x-pagetoken` and the `X-HKP-Next-Page-Token`
//!   response header when [`KeystoreOptions::page_size`] is set.
//! * `POST /pks/add` with form field `keytext` → stores the public parts; 400 on bad input.
//! * `GET /version` → `{"data":{"version":"testkit"}}`.
//!
//! Paths are absolute and doubled slashes are tolerated, as clients that join strings send
//! them (§0). Errors use the json-resp envelope (§10).

mod store;

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::{to_bytes, Body};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;

use crate::server::Background;
use store::Store;

/// Largest request body read (a key with many signatures is still far below).
const MAX_BODY: usize = 16 << 20;

/// How the double behaves.
#[derive(Debug, Clone, Default)]
pub struct KeystoreOptions {
    /// Answer 401 to `/pks/add` without `Authorization: Bearer <this>` (scheme in any case).
    pub require_token: Option<String>,
    /// Also require the token on `/pks/lookup`.
    pub token_for_lookup: bool,
    /// Keys per index page; 0 for no paging. The client's `x-pagesize` can only lower it.
    pub page_size: usize,
    /// Answer every request with this status (e.g. 500), after recording it.
    pub fail_with: Option<u16>,
    /// Delay before every answer, in milliseconds.
    pub latency_ms: u64,
}

/// One request as the double received it, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path as sent (before doubled slashes are collapsed).
    pub path: String,
    /// The raw query string, empty if none.
    pub query: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The `User-Agent` header, if any.
    pub user_agent: Option<String>,
}

struct Shared {
    opts: KeystoreOptions,
    store: Mutex<Store>,
    submitted: Mutex<Vec<Vec<u8>>>,
    requests: Mutex<Vec<RecordedRequest>>,
}

/// A running keystore double on 127.0.0.1; stopped by [`KeystoreDouble::stop`] or on drop.
pub struct KeystoreDouble {
    shared: Arc<Shared>,
    server: Background,
    url: String,
}

impl KeystoreDouble {
    /// Starts the double on an ephemeral port.
    pub fn start(opts: KeystoreOptions) -> std::io::Result<Self> {
        Self::start_on(0, opts)
    }

    /// Starts the double on `port` (0 for an ephemeral one).
    pub fn start_on(port: u16, opts: KeystoreOptions) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            opts,
            store: Mutex::default(),
            submitted: Mutex::default(),
            requests: Mutex::default(),
        });
        let router = Router::new()
            .fallback(dispatch)
            .with_state(Arc::clone(&shared));
        let server = Background::start("keystore", port, router)?;
        let url = server.url();
        Ok(KeystoreDouble {
            shared,
            server,
            url,
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// Preloads keys (armoured or binary; public parts are kept). Panics on material that
    /// does not parse, since a test preloading it is broken; see [`Self::try_add_armored`].
    pub fn add_armored(&self, armored: &[u8]) {
        if let Err(e) = self.try_add_armored(armored) {
            panic!("KeystoreDouble::add_armored: {e}");
        }
    }

    /// Preloads keys; returns the fingerprints read, or the parser's complaint.
    pub fn try_add_armored(&self, armored: &[u8]) -> Result<Vec<String>, String> {
        let added = lock(&self.shared.store).add(armored)?;
        Ok([added.inserted, added.updated, added.ignored].concat())
    }

    /// The `keytext` of every `POST /pks/add` received, in order, whatever the answer was
    /// (refused for auth, failing on purpose, or invalid); the raw body if it had no
    /// `keytext`. Empty means no client sent anything.
    pub fn submitted(&self) -> Vec<Vec<u8>> {
        lock(&self.shared.submitted).clone()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Fingerprints of the keys stored, uppercase hex, in arrival order.
    pub fn fingerprints(&self) -> Vec<String> {
        lock(&self.shared.store).fingerprints()
    }

    /// Closes the port (later connections are refused). Idempotent; also done on drop.
    pub fn stop(&mut self) {
        self.server.stop();
    }
}

/// Poisoning only means another request panicked; the data is still usable for a double.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn dispatch(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let header_text = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let query = parts.uri.query().unwrap_or_default().to_owned();
    lock(&shared.requests).push(RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: query.clone(),
        authorization: header_text(header::AUTHORIZATION),
        user_agent: header_text(header::USER_AGENT),
    });
    let path = collapse_slashes(parts.uri.path());
    let body = match to_bytes(body, MAX_BODY).await {
        Ok(b) => b,
        Err(_) => return error(StatusCode::PAYLOAD_TOO_LARGE, "request body too large"),
    };
    let form: HashMap<String, String> = form_urlencoded::parse(&body).into_owned().collect();
    if parts.method == Method::POST && path == "/pks/add" {
        let sent = form
            .get("keytext")
            .map_or_else(|| body.to_vec(), |k| k.clone().into_bytes());
        lock(&shared.submitted).push(sent);
    }

    if shared.opts.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(shared.opts.latency_ms)).await;
    }
    if let Some(code) = shared.opts.fail_with {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return error(status, status.canonical_reason().unwrap_or("failure"));
    }

    let params: HashMap<String, String> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    match (path.as_str(), &parts.method) {
        ("/version", &Method::GET) => json(StatusCode::OK, r#"{"data":{"version":"testkit"}}"#),
        ("/pks/lookup", &Method::GET) => {
            if shared.opts.token_for_lookup && !authorized(&shared.opts, &parts.headers) {
                return unauthorized();
            }
            lookup(&shared, &params)
        }
        ("/pks/add", &Method::POST) => {
            if !authorized(&shared.opts, &parts.headers) {
                return unauthorized();
            }
            match form.get("keytext") {
                Some(keytext) => add(&shared, keytext.as_bytes()),
                None => error(StatusCode::BAD_REQUEST, "missing keytext"),
            }
        }
        ("/version" | "/pks/lookup" | "/pks/add", _) => {
            error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed")
        }
        _ => error(StatusCode::NOT_FOUND, "Not found"),
    }
}

fn lookup(shared: &Shared, params: &HashMap<String, String>) -> Response {
    let Some(search) = params.get("search").filter(|s| !s.trim().is_empty()) else {
        return error(StatusCode::BAD_REQUEST, "missing search");
    };
    let on = |name: &str| params.get(name).is_some_and(|v| v == "on");
    let certs = lock(&shared.store).find(search);
    let op = params.get("op").map_or("index", String::as_str);
    match op {
        "get" => {
            if certs.is_empty() {
                return error(StatusCode::NOT_FOUND, "No keys found");
            }
            match store::armored(&certs) {
                Ok(armored) => (
                    StatusCode::OK,
                    [(header::CONTENT_TYPE, "application/pgp-keys; charset=utf-8")],
                    armored,
                )
                    .into_response(),
                Err(e) => error(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
            }
        }
        "index" | "vindex" => {
            let Some((page, next)) = page(&shared.opts, params, certs.len()) else {
                return error(StatusCode::BAD_REQUEST, "invalid x-pagetoken or x-pagesize");
            };
            if certs.is_empty() {
                return error(StatusCode::NOT_FOUND, "No keys found");
            }
            let certs = &certs[page];
            let mut headers = HeaderMap::new();
            if let Some(next) = next.and_then(|n| n.parse().ok()) {
                headers.insert("X-HKP-Next-Page-Token", next);
            }
            if params
                .get("options")
                .is_some_and(|o| o.split(',').any(|o| o == "mr"))
            {
                let text = store::machine_readable(certs, on("fingerprint"));
                headers.insert(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                (StatusCode::OK, headers, text).into_response()
            } else {
                headers.insert(
                    header::CONTENT_TYPE,
                    header::HeaderValue::from_static("text/html; charset=utf-8"),
                );
                (StatusCode::OK, headers, store::human_readable(certs)).into_response()
            }
        }
        // What the HKP draft prescribes for an operation a server does not implement.
        _ => error(StatusCode::NOT_IMPLEMENTED, "operation not implemented"),
    }
}

/// The slice of `total` results to answer and the token for the rest. Tokens are opaque to
/// clients; here `p<offset>`. `None` for a malformed token or size.
fn page(
    opts: &KeystoreOptions,
    params: &HashMap<String, String>,
    total: usize,
) -> Option<(std::ops::Range<usize>, Option<String>)> {
    let start = match params.get("x-pagetoken").filter(|t| !t.is_empty()) {
        Some(t) => t.strip_prefix('p')?.parse::<usize>().ok()?,
        None => 0,
    };
    let asked = match params.get("x-pagesize").filter(|s| !s.is_empty()) {
        Some(s) => s.parse::<usize>().ok()?,
        None => 0,
    };
    let size = match (opts.page_size, asked) {
        (0, 0) => usize::MAX,
        (0, n) | (n, 0) => n,
        (a, b) => a.min(b),
    };
    let start = start.min(total);
    let end = start.saturating_add(size).min(total);
    let next = (end < total).then(|| format!("p{end}"));
    Some((start..end, next))
}

fn add(shared: &Shared, keytext: &[u8]) -> Response {
    match lock(&shared.store).add(keytext) {
        Ok(added) => {
            let body = serde_json::json!({
                "inserted": added.inserted,
                "updated": added.updated,
                "ignored": added.ignored,
            });
            json(StatusCode::OK, &body.to_string())
        }
        Err(e) => error(StatusCode::BAD_REQUEST, &format!("invalid keytext: {e}")),
    }
}

/// `Authorization: Bearer <token>`, the scheme in any case (§12.18).
fn authorized(opts: &KeystoreOptions, headers: &HeaderMap) -> bool {
    let Some(required) = &opts.require_token else {
        return true;
    };
    headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .is_some_and(|(scheme, token)| {
            scheme.eq_ignore_ascii_case("bearer") && token.trim() == required
        })
}

fn unauthorized() -> Response {
    error(StatusCode::UNAUTHORIZED, "Unauthorized")
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": status.as_u16(), "message": message } });
    json(status, &body.to_string())
}

fn json(status: StatusCode, body: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        Body::from(body.to_owned()),
    )
        .into_response()
}

fn collapse_slashes(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for c in path.chars() {
        if !(c == '/' && out.ends_with('/')) {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    #[test]
    fn paging() {
        let opts = KeystoreOptions {
            page_size: 2,
            ..Default::default()
        };
        assert_eq!(
            page(&opts, &params(&[]), 3),
            Some((0..2, Some("p2".into())))
        );
        assert_eq!(
            page(&opts, &params(&[("x-pagetoken", "p2")]), 3),
            Some((2..3, None))
        );
        assert_eq!(
            page(&opts, &params(&[("x-pagesize", "1")]), 3),
            Some((0..1, Some("p1".into())))
        );
        assert_eq!(
            page(
                &KeystoreOptions::default(),
                &params(&[("x-pagesize", "256")]),
                3
            ),
            Some((0..3, None))
        );
        assert_eq!(page(&opts, &params(&[("x-pagetoken", "zz")]), 3), None);
        assert_eq!(
            page(&opts, &params(&[("x-pagetoken", "p9")]), 3),
            Some((3..3, None))
        );
    }

    #[test]
    fn slashes() {
        assert_eq!(collapse_slashes("//pks///lookup"), "/pks/lookup");
    }
}
