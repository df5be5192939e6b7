//! A remote build service double (`shared/docs/library-api.md` §8): build contexts, build
//! submission, status, cancel and the WebSocket build log, with a scripted log and knobs
//! for failure.
//!
//! | method | path | notes |
//! | --- | --- | --- |
//! | GET | `/version` | `{"data":{"version"}}`, no auth |
//! | POST | `/v1/build-context` | `{"size","digest"}`; `Location: /v1/build-context-upload/{digest}` unless held |
//! | PUT | `/v1/build-context-upload/{digest}` | checks size and SHA-256; no auth needed |
//! | DELETE | `/v1/build-context/{digest}` | |
//! | POST | `/v1/build` | enveloped `BuildInfo` |
//! | GET | `/v1/build/{id}` | enveloped `BuildInfo` |
//! | PUT | `/v1/build/{id}/_cancel` | |
//! | GET (WebSocket) | `/v1/build-ws/{id}` | the log as text frames, one binary frame, close 1000 |
//!
//! Everything but `/version` and the upload needs `Authorization: <bearer in any case>
//! <token>` with a token from [`BuilderOptions::tokens`]. A build completes when its log
//! has been streamed to the end; [`BuilderOptions::on_complete`] then lets a test put the
//! "built" image where the build said it would go (e.g. into a `LibraryDouble`).
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::{Path, State};
use axum::http::{header, HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post, put};
use axum::Router;
use base64::Engine as _;
use serde_json::{json, Value};
use sha2::{Digest as _, Sha256};

use crate::server::Background;

/// Called when a build completes successfully, with the finished build.
pub type CompletionHook = Arc<dyn Fn(&BuildRecord) + Send + Sync>;

/// Close code the double uses when a build is cancelled while its log streams.
pub const CLOSE_CANCELLED: u16 = 4001;

/// How the double behaves.
#[derive(Clone)]
pub struct BuilderOptions {
    /// Tokens accepted (after a `bearer` scheme in any case).
    pub tokens: Vec<String>,
    /// The scripted log; each line is sent with a trailing `\n`.
    pub log_lines: Vec<String>,
    /// Pause before each log line, in milliseconds.
    pub line_delay_ms: u64,
    /// Split each line's text into two frames at this byte offset (where it falls inside
    /// the line), so clients must join partial lines.
    pub split_lines_at: Option<usize>,
    /// The build fails: it ends complete but with `imageSize` 0, and the log says so.
    pub fail: bool,
    /// `POST /v1/build` answers this status (json-resp error) instead of building.
    pub fail_submit_with: Option<u16>,
    /// The bytes the build "produces": their size and SHA-256 become `imageSize` and
    /// `imageChecksum`. `None`: a small placeholder.
    pub result_image: Option<Vec<u8>>,
    /// Called when a build completes successfully.
    pub on_complete: Option<CompletionHook>,
    /// What `/version` reports.
    pub version: String,
}

impl Default for BuilderOptions {
    fn default() -> Self {
        Self {
            tokens: Vec::new(),
            log_lines: vec![
                "INFO:    Starting build...".into(),
                "INFO:    Build complete".into(),
            ],
            line_delay_ms: 0,
            split_lines_at: None,
            fail: false,
            fail_submit_with: None,
            result_image: None,
            on_complete: None,
            version: "v0.9.9-double".into(),
        }
    }
}

impl std::fmt::Debug for BuilderOptions {
    // By hand: the hook has no Debug, and tokens are not printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuilderOptions")
            .field("tokens", &self.tokens.len())
            .field("log_lines", &self.log_lines.len())
            .field("line_delay_ms", &self.line_delay_ms)
            .field("fail", &self.fail)
            .field("has_on_complete", &self.on_complete.is_some())
            .finish_non_exhaustive()
    }
}

/// Where a build stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildState {
    /// Submitted; the log has not been streamed to the end yet.
    Running,
    /// Finished with an image.
    Succeeded,
    /// Finished without an image.
    Failed,
    /// Cancelled through `_cancel`.
    Cancelled,
}

/// A build as the double received and ran it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuildRecord {
    /// Build ID.
    pub id: String,
    /// `definitionRaw`, base64-decoded, as text.
    pub definition: String,
    /// `builderRequirements.arch` as sent (`None` when absent).
    pub arch: Option<String>,
    /// `libraryRef` as sent, or the ephemeral one the double picked for an empty one.
    pub library_ref: String,
    /// `libraryURL`, if sent.
    pub library_url: Option<String>,
    /// `contextDigest`, if sent.
    pub context_digest: Option<String>,
    /// `workingDir`, if sent.
    pub working_dir: Option<String>,
    /// The submit request's top-level JSON keys, to check what was omitted.
    pub fields: Vec<String>,
    /// The scheme word of `Authorization` exactly as sent (e.g. `BEARER`).
    pub auth_scheme: String,
    /// Progress.
    pub state: BuildState,
    /// `imageSize` once succeeded.
    pub image_size: u64,
    /// `sha256.<hex>` of the produced image once succeeded.
    pub image_checksum: String,
}

/// A build context as the double holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContextRecord {
    /// `sha256.<hex>`.
    pub digest: String,
    /// Size announced at `POST /v1/build-context`.
    pub size: u64,
    /// The uploaded archive, once uploaded.
    pub bytes: Option<Vec<u8>>,
    /// Whether the upload carried an `Authorization` header (it should not).
    pub upload_had_authorization: bool,
    /// Number of `POST /v1/build-context` announcements.
    pub announced: u32,
    /// Whether it was deleted.
    pub deleted: bool,
}

/// One request as received, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuilderRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path as sent.
    pub path: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The `User-Agent` header, if any.
    pub user_agent: Option<String>,
    /// Whether this was a WebSocket upgrade.
    pub websocket: bool,
}

#[derive(Default)]
struct State_ {
    builds: Vec<BuildRecord>,
    contexts: BTreeMap<String, ContextRecord>,
    requests: Vec<BuilderRequest>,
}

struct Shared {
    opts: BuilderOptions,
    state: Mutex<State_>,
}

impl Shared {
    fn state(&self) -> MutexGuard<'_, State_> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn record(&self, method: &Method, uri: &Uri, headers: &HeaderMap) {
        let text = |name: header::HeaderName| {
            headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        let websocket = text(header::UPGRADE).is_some_and(|u| u.eq_ignore_ascii_case("websocket"));
        self.state().requests.push(BuilderRequest {
            method: method.to_string(),
            path: uri.path().to_owned(),
            authorization: text(header::AUTHORIZATION),
            user_agent: text(header::USER_AGENT),
            websocket,
        });
    }

    /// Records the request and checks its token: the start of every authenticated route.
    fn admit(&self, method: &Method, uri: &Uri, headers: &HeaderMap) -> Result<String, Response> {
        self.record(method, uri, headers);
        self.authorize(headers)
    }

    /// The scheme word as sent if the caller holds an accepted token, else the 401 reply.
    fn authorize(&self, headers: &HeaderMap) -> Result<String, Response> {
        let value = headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default();
        let (scheme, token) = value.split_once(' ').unwrap_or((value, ""));
        if scheme.eq_ignore_ascii_case("bearer")
            && !token.trim().is_empty()
            && self.opts.tokens.iter().any(|t| t == token.trim())
        {
            Ok(scheme.to_owned())
        } else {
            Err(error(StatusCode::UNAUTHORIZED, "invalid or missing token"))
        }
    }
}

/// A running builder double on 127.0.0.1; stopped on drop.
pub struct BuilderDouble {
    shared: Arc<Shared>,
    server: Background,
}

impl BuilderDouble {
    /// Starts the double on an ephemeral port.
    pub fn start(opts: BuilderOptions) -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            opts,
            state: Mutex::default(),
        });
        let router = Router::new()
            .route("/version", get(version))
            .route("/v1/build-context", post(announce_context))
            .route("/v1/build-context/{digest}", delete(delete_context))
            .route("/v1/build-context-upload/{digest}", put(upload_context))
            .route("/v1/build", post(submit))
            .route("/v1/build/{id}", get(status))
            .route("/v1/build/{id}/_cancel", put(cancel))
            .route("/v1/build-ws/{id}", get(log_socket))
            .with_state(Arc::clone(&shared));
        let server = Background::start("builder", 0, router)?;
        Ok(Self { shared, server })
    }

    /// `http://127.0.0.1:PORT`: the builder base URL.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Builds so far, in submission order.
    pub fn builds(&self) -> Vec<BuildRecord> {
        self.shared.state().builds.clone()
    }

    /// Build contexts announced so far.
    pub fn contexts(&self) -> Vec<ContextRecord> {
        self.shared.state().contexts.values().cloned().collect()
    }

    /// Requests received so far.
    pub fn requests(&self) -> Vec<BuilderRequest> {
        self.shared.state().requests.clone()
    }

    /// Closes the port. Idempotent.
    pub fn stop(&mut self) {
        self.server.stop();
    }
}

/// json-resp error body (§10), which the Sylabs builder shares with the library.
fn error(status: StatusCode, message: &str) -> Response {
    let body = json!({ "error": { "code": status.as_u16(), "message": message } });
    json_reply(status, &body)
}

fn data(value: Value) -> Response {
    json_reply(StatusCode::OK, &json!({ "data": value }))
}

fn json_reply(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn info_json(b: &BuildRecord) -> Value {
    json!({
        "id": b.id,
        "isComplete": b.state != BuildState::Running,
        "imageSize": b.image_size,
        "imageChecksum": b.image_checksum,
        "libraryRef": b.library_ref,
        "libraryURL": b.library_url.clone().unwrap_or_default(),
    })
}

async fn version(
    State(s): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    s.record(&method, &uri, &headers);
    data(json!({ "version": s.opts.version }))
}

async fn announce_context(
    State(s): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    if let Err(r) = s.admit(&method, &uri, &headers) {
        return r;
    }
    let v: Value = serde_json::from_slice(&body).unwrap_or_default();
    let (Some(size), Some(digest)) = (v["size"].as_u64(), v["digest"].as_str()) else {
        return error(StatusCode::BAD_REQUEST, "size and digest are required");
    };
    if !digest.starts_with("sha256.") {
        return error(StatusCode::BAD_REQUEST, "digest must be sha256.<hex>");
    }
    let mut st = s.state();
    let ctx = st
        .contexts
        .entry(digest.to_owned())
        .or_insert_with(|| ContextRecord {
            digest: digest.to_owned(),
            size,
            bytes: None,
            upload_had_authorization: false,
            announced: 0,
            deleted: false,
        });
    ctx.announced += 1;
    if ctx.bytes.is_some() && !ctx.deleted {
        // Already held: no Location, nothing to upload.
        return StatusCode::OK.into_response();
    }
    ctx.size = size;
    ctx.deleted = false;
    (
        StatusCode::OK,
        [(
            header::LOCATION,
            format!("/v1/build-context-upload/{digest}"),
        )],
    )
        .into_response()
}

async fn upload_context(
    State(s): State<Arc<Shared>>,
    Path(digest): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    s.record(&method, &uri, &headers);
    let mut st = s.state();
    let Some(ctx) = st.contexts.get_mut(&digest) else {
        return error(StatusCode::NOT_FOUND, "no such build context announced");
    };
    let actual = format!("sha256.{:x}", Sha256::digest(&body));
    if actual != digest || body.len() as u64 != ctx.size {
        return error(StatusCode::BAD_REQUEST, "size or digest mismatch");
    }
    ctx.upload_had_authorization = headers.contains_key(header::AUTHORIZATION);
    ctx.bytes = Some(body.to_vec());
    StatusCode::OK.into_response()
}

async fn delete_context(
    State(s): State<Arc<Shared>>,
    Path(digest): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = s.admit(&method, &uri, &headers) {
        return r;
    }
    match s.state().contexts.get_mut(&digest) {
        Some(ctx) if !ctx.deleted => {
            ctx.deleted = true;
            StatusCode::OK.into_response()
        }
        _ => error(StatusCode::NOT_FOUND, "no such build context"),
    }
}

async fn submit(
    State(s): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let scheme = match s.admit(&method, &uri, &headers) {
        Ok(scheme) => scheme,
        Err(r) => return r,
    };
    if let Some(status) = s.opts.fail_submit_with {
        let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return error(status, "the build farm is on fire");
    }
    let Ok(Value::Object(req)) = serde_json::from_slice::<Value>(&body) else {
        return error(StatusCode::BAD_REQUEST, "body is not a JSON object");
    };
    let text = |key: &str| req.get(key).and_then(Value::as_str).map(str::to_owned);
    let Some(definition) = text("definitionRaw")
        .and_then(|d| base64::engine::general_purpose::STANDARD.decode(d).ok())
    else {
        return error(StatusCode::BAD_REQUEST, "definitionRaw must be base64");
    };
    let Some(library_ref) = text("libraryRef") else {
        return error(StatusCode::BAD_REQUEST, "libraryRef is required");
    };
    let mut st = s.state();
    let id = format!("{:024x}", st.builds.len() + 1);
    let library_ref = if library_ref.is_empty() {
        format!("library://builder/ephemeral/{id}:latest")
    } else {
        library_ref
    };
    let record = BuildRecord {
        id,
        definition: String::from_utf8_lossy(&definition).into_owned(),
        arch: req
            .get("builderRequirements")
            .and_then(|r| r.get("arch"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        library_ref,
        library_url: text("libraryURL"),
        context_digest: text("contextDigest"),
        working_dir: text("workingDir"),
        fields: req.keys().cloned().collect(),
        auth_scheme: scheme,
        state: BuildState::Running,
        image_size: 0,
        image_checksum: String::new(),
    };
    let reply = info_json(&record);
    st.builds.push(record);
    data(reply)
}

async fn status(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = s.admit(&method, &uri, &headers) {
        return r;
    }
    match s.state().builds.iter().find(|b| b.id == id) {
        Some(b) => data(info_json(b)),
        None => error(StatusCode::NOT_FOUND, "no such build"),
    }
}

async fn cancel(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    if let Err(r) = s.admit(&method, &uri, &headers) {
        return r;
    }
    let mut st = s.state();
    let Some(b) = st.builds.iter_mut().find(|b| b.id == id) else {
        return error(StatusCode::NOT_FOUND, "no such build");
    };
    if b.state == BuildState::Running {
        b.state = BuildState::Cancelled;
    }
    StatusCode::OK.into_response()
}

async fn log_socket(
    State(s): State<Arc<Shared>>,
    Path(id): Path<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    upgrade: WebSocketUpgrade,
) -> Response {
    if let Err(r) = s.admit(&method, &uri, &headers) {
        return r;
    }
    if !s.state().builds.iter().any(|b| b.id == id) {
        return error(StatusCode::NOT_FOUND, "no such build");
    }
    upgrade.on_upgrade(move |socket| stream_log(s, id, socket))
}

/// Streams the scripted log, then finishes the build and closes normally; a cancel seen
/// between lines closes with [`CLOSE_CANCELLED`] instead.
async fn stream_log(s: Arc<Shared>, id: String, mut socket: WebSocket) {
    let cancelled = |s: &Shared| {
        s.state()
            .builds
            .iter()
            .any(|b| b.id == id && b.state == BuildState::Cancelled)
    };
    let mut lines = s.opts.log_lines.clone();
    if s.opts.fail {
        lines.push("FATAL:   While performing build: %post failed: exit status 1".into());
    }
    for (n, line) in lines.iter().enumerate() {
        if s.opts.line_delay_ms > 0 {
            tokio::time::sleep(Duration::from_millis(s.opts.line_delay_ms)).await;
        }
        if cancelled(&s) {
            let frame = CloseFrame {
                code: CLOSE_CANCELLED,
                reason: "build cancelled".into(),
            };
            let _ = socket.send(Message::Close(Some(frame))).await;
            return;
        }
        let text = format!("{line}\n");
        let frames = match s.opts.split_lines_at {
            Some(at) if at < text.len() && text.is_char_boundary(at) => {
                vec![text[..at].to_owned(), text[at..].to_owned()]
            }
            _ => vec![text],
        };
        for frame in frames {
            if socket.send(Message::Text(frame.into())).await.is_err() {
                // The client went away; the build goes on without a watcher.
                return;
            }
        }
        if n == 0 {
            // Not log text: clients must skip it.
            let _ = socket
                .send(Message::Binary(Bytes::from_static(b"\x00\x01binary")))
                .await;
        }
    }
    let finished = {
        let mut st = s.state();
        let Some(b) = st.builds.iter_mut().find(|b| b.id == id) else {
            return;
        };
        if b.state == BuildState::Running {
            if s.opts.fail {
                b.state = BuildState::Failed;
            } else {
                let image: &[u8] = s
                    .opts
                    .result_image
                    .as_deref()
                    .unwrap_or(b"SIF-double-image");
                b.state = BuildState::Succeeded;
                b.image_size = image.len() as u64;
                b.image_checksum = format!("sha256.{:x}", Sha256::digest(image));
            }
        }
        b.clone()
    };
    // Outside the lock: the hook may take its time (e.g. copying an image).
    if finished.state == BuildState::Succeeded {
        if let Some(hook) = &s.opts.on_complete {
            hook(&finished);
        }
    }
    let frame = CloseFrame {
        code: 1000,
        reason: "".into(),
    };
    let _ = socket.send(Message::Close(Some(frame))).await;
}
