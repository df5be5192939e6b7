//! A Singularity Hub double (library-api.md §11.1):
//!
//! * `GET /api/container/{user}/{container}[:tag][@digest]` → the manifest JSON
//!   `{"image","name","tag","version","commit"}`, `image` being an absolute URL on this
//!   double; 404 if no image matches. Without tag and digest the tag is `latest`.
//! * `GET /download/{commit}` → the image bytes with `Content-Length`; 404 if unknown.
//!
//! A commit is the first 40 hex digits of the image's SHA-256: SHA-1 sized like the git
//! commits the real hub reports, so a test can also address an image by `@<commit>`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use axum::body::{Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use sha2::{Digest, Sha256};

use crate::server::Background;

struct Image {
    user: String,
    container: String,
    tag: String,
    commit: String,
    version: String,
    bytes: Bytes,
}

struct Shared {
    url: Mutex<String>,
    images: Mutex<Vec<Image>>,
    requests: Mutex<Vec<String>>,
    truncate_downloads: AtomicBool,
}

/// A running Singularity Hub double on 127.0.0.1; stopped on drop.
pub struct ShubDouble {
    shared: Arc<Shared>,
    server: Background,
}

impl ShubDouble {
    /// Starts the double on an ephemeral port.
    pub fn start() -> std::io::Result<Self> {
        let shared = Arc::new(Shared {
            url: Mutex::default(),
            images: Mutex::default(),
            requests: Mutex::default(),
            truncate_downloads: AtomicBool::new(false),
        });
        let router = Router::new()
            .fallback(dispatch)
            .with_state(Arc::clone(&shared));
        let server = Background::start("shub", 0, router)?;
        // Manifests carry absolute download URLs, so the handler needs the bound address.
        *lock(&shared.url) = server.url();
        Ok(Self { shared, server })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn url(&self) -> String {
        self.server.url()
    }

    /// Publishes `bytes` as `user/container:tag` (replacing an image of that tag); returns
    /// its commit.
    pub fn add_image(&self, user: &str, container: &str, tag: &str, bytes: Vec<u8>) -> String {
        let version = hex(&Sha256::digest(&bytes));
        let commit = version[..40].to_owned();
        let mut images = lock(&self.shared.images);
        images.retain(|i| !(i.user == user && i.container == container && i.tag == tag));
        images.push(Image {
            user: user.to_owned(),
            container: container.to_owned(),
            tag: tag.to_owned(),
            commit: commit.clone(),
            version,
            bytes: Bytes::from(bytes),
        });
        commit
    }

    /// When on, downloads announce the full `Content-Length` but break off after half the
    /// bytes, as a dropped connection does.
    pub fn set_truncate_downloads(&self, on: bool) {
        self.shared.truncate_downloads.store(on, Ordering::SeqCst);
    }

    /// Paths of every request received, in order, percent-decoded.
    pub fn requests(&self) -> Vec<String> {
        lock(&self.shared.requests).clone()
    }
}

/// Poisoning only means another request panicked; the data is still usable for a double.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}

async fn dispatch(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let path = percent_encoding::percent_decode_str(req.uri().path())
        .decode_utf8_lossy()
        .into_owned();
    lock(&shared.requests).push(path.clone());
    if req.method() != axum::http::Method::GET {
        return error(StatusCode::METHOD_NOT_ALLOWED, "method not allowed");
    }
    if let Some(rest) = path.strip_prefix("/api/container/") {
        return manifest(&shared, rest);
    }
    if let Some(commit) = path.strip_prefix("/download/") {
        return download(&shared, commit);
    }
    error(StatusCode::NOT_FOUND, "Not found")
}

fn manifest(shared: &Shared, rest: &str) -> Response {
    let Some((user, last)) = rest.split_once('/') else {
        return error(StatusCode::NOT_FOUND, "Not found");
    };
    let (name_tag, digest) = match last.split_once('@') {
        Some((nt, d)) => (nt, Some(d.to_ascii_lowercase())),
        None => (last, None),
    };
    let (container, tag) = match name_tag.split_once(':') {
        Some((c, t)) => (c, Some(t)),
        None => (name_tag, None),
    };
    let tag = match (tag, &digest) {
        (None, None) => Some("latest"),
        (t, _) => t,
    };
    let images = lock(&shared.images);
    let found = images.iter().rev().find(|i| {
        i.user == user
            && i.container == container
            && tag.is_none_or(|t| t == i.tag)
            && digest.as_deref().is_none_or(|d| d == i.commit)
    });
    let Some(image) = found else {
        return error(StatusCode::NOT_FOUND, "Container not found");
    };
    let body = serde_json::json!({
        "image": format!("{}/download/{}", lock(&shared.url), image.commit),
        "name": format!("{}/{}", image.user, image.container),
        "tag": image.tag,
        "version": image.version,
        "commit": image.commit,
    });
    (
        StatusCode::OK,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn download(shared: &Shared, commit: &str) -> Response {
    let bytes = lock(&shared.images)
        .iter()
        .find(|i| i.commit == commit)
        .map(|i| i.bytes.clone());
    let Some(bytes) = bytes else {
        return error(StatusCode::NOT_FOUND, "Not found");
    };
    let len = bytes.len();
    let body = if shared.truncate_downloads.load(Ordering::SeqCst) {
        // A stream that fails half-way makes hyper abort the connection with the announced
        // length unmet, which is what the client sees when a real transfer drops.
        let half = bytes.slice(..len / 2);
        let parts: Vec<Result<Bytes, std::io::Error>> = vec![
            Ok(half),
            Err(std::io::Error::new(
                std::io::ErrorKind::ConnectionReset,
                "truncated on purpose",
            )),
        ];
        Body::from_stream(futures_util::stream::iter(parts))
    } else {
        Body::from(bytes)
    };
    (
        StatusCode::OK,
        [
            (header::CONTENT_TYPE, "application/octet-stream".to_owned()),
            (header::CONTENT_LENGTH, len.to_string()),
        ],
        body,
    )
        .into_response()
}

fn error(status: StatusCode, message: &str) -> Response {
    let body = serde_json::json!({ "error": { "code": status.as_u16(), "message": message } });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn serves_manifest_and_bytes() {
        let d = ShubDouble::start().unwrap();
        let commit = d.add_image("u", "c", "latest", b"hello".to_vec());
        assert_eq!(commit.len(), 40);
        let get = |path: &str| reqwest::blocking::get(format!("{}{path}", d.url())).unwrap();
        let m: serde_json::Value =
            serde_json::from_slice(&get("/api/container/u/c").bytes().unwrap()).unwrap();
        assert_eq!(m["commit"], commit.as_str());
        assert_eq!(m["image"], format!("{}/download/{commit}", d.url()));
        let by_digest = get(&format!("/api/container/u/c@{commit}"));
        assert_eq!(by_digest.status(), 200);
        assert_eq!(get("/api/container/u/c:other").status(), 404);
        let file = get(&format!("/download/{commit}"));
        assert_eq!(file.content_length(), Some(5));
        assert_eq!(file.bytes().unwrap().as_ref(), b"hello");
        assert_eq!(d.requests().len(), 4);
    }
}
