//! Real peers for the integration tests, all on 127.0.0.1 and stopped on drop: Debian's
//! `docker-registry`, test images built with `umoci` and pushed with `skopeo`, and a small
//! registry double (axum) for behaviour the real registry cannot show (lying blobs, Bearer
//! tokens, redirects, broken and slow transfers).
#![allow(dead_code)]

use std::collections::HashMap;
use std::net::TcpListener;
use std::path::PathBuf;
use std::process::Command;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use sha2::{Digest, Sha256};

/// Fails the test (never skips) when a peer tool is missing.
pub fn require(tool: &str) {
    let found = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).any(|d| d.join(tool).is_file()))
        .unwrap_or(false);
    assert!(
        found,
        "`{tool}` is not installed: apt-get install docker-registry umoci skopeo apache2-utils (see shared/docs/test-peers.md)"
    );
}

pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn run(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn sha256_hex(b: &[u8]) -> String {
    Sha256::digest(b)
        .iter()
        .map(|x| format!("{x:02x}"))
        .collect()
}

/// `docker-registry serve` on a free loopback port with its own storage (the testkit's
/// peer, shared with the core's tests).
pub struct Registry(berth_testkit::RegistryPeer);

impl Registry {
    pub fn start() -> Self {
        Self(berth_testkit::RegistryPeer::start().expect("starting docker-registry"))
    }

    /// With htpasswd basic auth for `user`/`pass`.
    pub fn start_with_auth(user: &str, pass: &str) -> Self {
        Self(
            berth_testkit::RegistryPeer::start_with_basic_auth(user, pass)
                .expect("starting docker-registry with basic auth"),
        )
    }

    pub fn host(&self) -> String {
        self.0.host()
    }

    /// The registry's own file of a blob (to tamper with it).
    pub fn blob_file(&self, digest: &str) -> PathBuf {
        let hex = digest.strip_prefix("sha256:").unwrap();
        self.0
            .storage()
            .join("docker/registry/v2/blobs/sha256")
            .join(&hex[..2])
            .join(hex)
            .join("data")
    }
}

/// An OCI image layout built with umoci.
pub struct Layout {
    dir: tempfile::TempDir,
}

impl Layout {
    pub fn new() -> Self {
        require("umoci");
        let dir = tempfile::tempdir().unwrap();
        let l = Self { dir };
        run(Command::new("umoci")
            .args(["init", "--layout"])
            .arg(l.path()));
        l
    }

    pub fn path(&self) -> PathBuf {
        self.dir.path().join("layout")
    }

    /// One-layer image `tag` for `arch` holding `files`, with a Cmd and an Env entry.
    pub fn image(&self, tag: &str, arch: &str, files: &[(&str, &[u8])]) {
        let image = format!("{}:{tag}", self.path().display());
        run(Command::new("umoci").args(["new", "--image", &image]));
        let bundle = self.dir.path().join(format!("bundle-{tag}"));
        run(Command::new("umoci")
            .args(["unpack", "--rootless", "--image", &image])
            .arg(&bundle));
        for (name, data) in files {
            let p = bundle.join("rootfs").join(name);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, data).unwrap();
        }
        run(Command::new("umoci")
            .args(["repack", "--refresh-bundle", "--image", &image])
            .arg(&bundle));
        run(Command::new("umoci").args([
            "config",
            "--image",
            &image,
            "--architecture",
            arch,
            "--os",
            "linux",
            "--config.cmd",
            "/bin/hello",
            "--config.cmd",
            arch,
            "--config.env",
            "GREETING=hi",
        ]));
    }

    fn index_json(&self) -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(self.path().join("index.json")).unwrap()).unwrap()
    }

    /// The manifest descriptor tagged `tag`.
    pub fn descriptor(&self, tag: &str) -> serde_json::Value {
        self.index_json()["manifests"]
            .as_array()
            .unwrap()
            .iter()
            .rev()
            .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
            .unwrap_or_else(|| panic!("no tag {tag} in the layout"))
            .clone()
    }

    /// Writes an index over the images `members` (tag, arch) as tag `tag`.
    pub fn index(&self, tag: &str, members: &[(&str, &str)]) -> String {
        let manifests: Vec<serde_json::Value> = members
            .iter()
            .map(|(t, arch)| {
                let mut d = self.descriptor(t);
                d.as_object_mut().unwrap().remove("annotations");
                d["platform"] = serde_json::json!({"architecture": arch, "os": "linux"});
                d
            })
            .collect();
        let index = serde_json::to_vec(&serde_json::json!({
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.index.v1+json",
            "manifests": manifests,
        }))
        .unwrap();
        let hex = sha256_hex(&index);
        std::fs::write(self.path().join("blobs/sha256").join(&hex), &index).unwrap();
        let mut top = self.index_json();
        top["manifests"]
            .as_array_mut()
            .unwrap()
            .push(serde_json::json!({
                "mediaType": "application/vnd.oci.image.index.v1+json",
                "digest": format!("sha256:{hex}"),
                "size": index.len(),
                "annotations": {"org.opencontainers.image.ref.name": tag},
            }));
        std::fs::write(
            self.path().join("index.json"),
            serde_json::to_vec(&top).unwrap(),
        )
        .unwrap();
        format!("sha256:{hex}")
    }

    /// `skopeo copy oci:LAYOUT:tag docker://dest` over plain HTTP.
    pub fn push(&self, tag: &str, dest: &str, extra: &[&str]) {
        require("skopeo");
        run(Command::new("skopeo")
            .args([
                "--insecure-policy",
                "copy",
                "--quiet",
                "--dest-tls-verify=false",
            ])
            .args(extra)
            .arg(format!("oci:{}:{tag}", self.path().display()))
            .arg(format!("docker://{dest}")));
    }
}

/// What the double records.
#[derive(Default, Debug)]
pub struct Seen {
    /// Full GET paths (with query) in order.
    pub requests: Vec<String>,
    /// `Range` headers received on blob GETs.
    pub ranges: Vec<String>,
    /// Token requests' queries.
    pub token_queries: Vec<String>,
    /// Authorization headers received on registry paths.
    pub auth_headers: Vec<Option<String>>,
    /// Whether the redirect target got an Authorization header.
    pub redirected_auth: Vec<bool>,
}

/// How the double misbehaves.
#[derive(Clone, Default)]
pub struct Behaviour {
    /// Demand `Bearer <token>`, issued by `/token` (with Basic `user:pass` if set).
    pub bearer: Option<(String, Option<(String, String)>)>,
    /// Serve these blobs with one byte flipped.
    pub corrupt: Vec<String>,
    /// Cut the first transfer of each blob over 4 KiB after half its bytes (Range honoured after).
    pub break_once: bool,
    /// Redirect blob GETs to `localhost` (another host name) like object storage.
    pub redirect: bool,
    /// Send blobs 1 KiB at a time, every 50 ms.
    pub slow: bool,
}

/// A registry double serving one image `repo:tag` (manifest + blobs).
pub struct Double {
    pub port: u16,
    pub seen: Arc<Mutex<Seen>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Double {
    fn drop(&mut self) {
        self.task.abort();
    }
}

struct State {
    port: u16,
    repo: String,
    tag: String,
    manifest: Vec<u8>,
    blobs: HashMap<String, Vec<u8>>,
    behaviour: Behaviour,
    broken: Mutex<Vec<String>>,
    seen: Arc<Mutex<Seen>>,
}

/// An OCI image with one layer of `layer` bytes: (manifest bytes, blobs by digest, layer descriptor digest).
pub fn fixed_image(layer: &[u8]) -> (Vec<u8>, HashMap<String, Vec<u8>>) {
    let config = br#"{"architecture":"amd64","os":"linux","created":"2024-01-02T03:04:05Z","config":{"Cmd":["/bin/sh"],"Env":["A=1"]},"rootfs":{"type":"layers","diff_ids":[]}}"#.to_vec();
    let cd = format!("sha256:{}", sha256_hex(&config));
    let ld = format!("sha256:{}", sha256_hex(layer));
    let manifest = serde_json::to_vec(&serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": config.len()},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", "digest": ld, "size": layer.len()}],
    }))
    .unwrap();
    let mut blobs = HashMap::new();
    blobs.insert(cd, config);
    blobs.insert(ld, layer.to_vec());
    (manifest, blobs)
}

impl Double {
    pub async fn start(repo: &str, tag: &str, layer: &[u8], behaviour: Behaviour) -> Self {
        let (manifest, blobs) = fixed_image(layer);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let state = Arc::new(State {
            port,
            repo: repo.into(),
            tag: tag.into(),
            manifest,
            blobs,
            behaviour,
            broken: Mutex::new(Vec::new()),
            seen: seen.clone(),
        });
        let app = axum::Router::new().fallback(move |req: axum::extract::Request| {
            let state = state.clone();
            async move { handle(state, req).await }
        });
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self { port, seen, task }
    }

    pub fn host(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    pub fn blob_gets(&self) -> usize {
        self.seen
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|p| p.contains("/blobs/"))
            .count()
    }
}

async fn handle(state: Arc<State>, req: axum::extract::Request) -> axum::response::Response {
    use axum::body::Body;
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;

    let path = req.uri().path().to_owned();
    let query = req.uri().query().unwrap_or("").to_owned();
    let auth = req
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let range = req
        .headers()
        .get(header::RANGE)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    state
        .seen
        .lock()
        .unwrap()
        .requests
        .push(format!("{path}?{query}"));

    if path == "/token" {
        state.seen.lock().unwrap().token_queries.push(query.clone());
        let Some((token, creds)) = &state.behaviour.bearer else {
            return StatusCode::NOT_FOUND.into_response();
        };
        if let Some((u, p)) = creds {
            use base64::Engine;
            let want = format!(
                "Basic {}",
                base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"))
            );
            if auth.as_deref() != Some(want.as_str()) {
                return StatusCode::UNAUTHORIZED.into_response();
            }
        }
        return json(serde_json::json!({"token": token})).into_response();
    }
    if let Some(digest) = path.strip_prefix("/s3/") {
        state
            .seen
            .lock()
            .unwrap()
            .redirected_auth
            .push(auth.is_some());
        return blob_response(&state, digest, range.as_deref());
    }
    state.seen.lock().unwrap().auth_headers.push(auth.clone());
    if let Some((token, _)) = &state.behaviour.bearer {
        if auth.as_deref() != Some(format!("Bearer {token}").as_str()) {
            let challenge = format!(
                "Bearer realm=\"http://127.0.0.1:{}/token\",service=\"double-registry\",scope=\"repository:{}:pull\"",
                state.port, state.repo
            );
            return (
                StatusCode::UNAUTHORIZED,
                [(header::WWW_AUTHENTICATE, challenge)],
                json(serde_json::json!({"errors":[{"code":"UNAUTHORIZED","message":"authentication required"}]})),
            )
                .into_response();
        }
    }
    if path == "/v2/" {
        return StatusCode::OK.into_response();
    }
    let prefix = format!("/v2/{}/", state.repo);
    let Some(rest) = path.strip_prefix(&prefix) else {
        return not_found("NAME_UNKNOWN");
    };
    if let Some(reference) = rest.strip_prefix("manifests/") {
        let digest = format!("sha256:{}", sha256_hex(&state.manifest));
        if reference != state.tag && reference != digest {
            return not_found("MANIFEST_UNKNOWN");
        }
        return (
            [(
                header::CONTENT_TYPE,
                "application/vnd.oci.image.manifest.v1+json".to_owned(),
            )],
            Body::from(state.manifest.clone()),
        )
            .into_response();
    }
    if let Some(digest) = rest.strip_prefix("blobs/") {
        state.seen.lock().unwrap().ranges.extend(range.clone());
        if state.behaviour.redirect {
            let to = format!("http://localhost:{}/s3/{digest}", state.port);
            return (StatusCode::TEMPORARY_REDIRECT, [(header::LOCATION, to)]).into_response();
        }
        return blob_response(&state, digest, range.as_deref());
    }
    not_found("NAME_UNKNOWN")
}

fn not_found(code: &str) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        axum::http::StatusCode::NOT_FOUND,
        json(serde_json::json!({"errors":[{"code": code, "message": code.to_lowercase().replace('_', " ")}]})),
    )
        .into_response()
}

fn blob_response(state: &State, digest: &str, range: Option<&str>) -> axum::response::Response {
    use axum::body::Body;
    use axum::http::{header, StatusCode};
    use axum::response::IntoResponse;

    let Some(data) = state.blobs.get(digest) else {
        return not_found("BLOB_UNKNOWN");
    };
    let mut data = data.clone();
    if state.behaviour.corrupt.iter().any(|d| d == digest) {
        let last = data.len() - 1;
        data[last] ^= 0xff;
    }
    let start: usize = range
        .and_then(|r| r.strip_prefix("bytes="))
        .and_then(|r| r.trim_end_matches('-').parse().ok())
        .unwrap_or(0);
    let status = if start > 0 {
        StatusCode::PARTIAL_CONTENT
    } else {
        StatusCode::OK
    };
    let total = data.len();
    let body = data[start..].to_vec();
    let mut headers = vec![(header::CONTENT_TYPE, "application/octet-stream".to_owned())];
    if start > 0 {
        headers.push((
            header::CONTENT_RANGE,
            format!("bytes {start}-{}/{total}", total - 1),
        ));
    }
    let first_time = {
        let mut broken = state.broken.lock().unwrap();
        let first = !broken.iter().any(|d| d == digest);
        if first {
            broken.push(digest.to_owned());
        }
        first
    };
    let chunk = if state.behaviour.slow {
        1024
    } else {
        16 * 1024
    };
    // Only layers break: the config comes through `resolve`, which does not resume.
    let cut = state.behaviour.break_once && first_time && start == 0 && body.len() > 4096;
    let half = body.len() / 2;
    let slow = state.behaviour.slow;
    let chunks: Vec<Vec<u8>> = if cut { body[..half].to_vec() } else { body }
        .chunks(chunk)
        .map(<[u8]>::to_vec)
        .collect();
    let stream = async_stream(chunks, cut, slow);
    let mut resp = (status, Body::from_stream(stream)).into_response();
    for (k, v) in headers {
        resp.headers_mut().insert(k, v.parse().unwrap());
    }
    if !cut {
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, total.saturating_sub(start).into());
    } else {
        // Announce the whole length, then stop short: the client sees a broken transfer.
        resp.headers_mut()
            .insert(header::CONTENT_LENGTH, total.into());
    }
    resp
}

fn async_stream(
    chunks: Vec<Vec<u8>>,
    fail_at_end: bool,
    slow: bool,
) -> impl futures_util::Stream<Item = Result<Vec<u8>, std::io::Error>> + Send {
    let mut items: Vec<Result<Vec<u8>, std::io::Error>> = chunks.into_iter().map(Ok).collect();
    if fail_at_end {
        items.push(Err(std::io::Error::other("cut")));
    }
    futures_util::stream::unfold(items.into_iter(), move |mut it| async move {
        if slow {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        let item = it.next()?;
        if item.is_err() {
            // Let hyper flush what was sent before it drops the connection; an immediate
            // error would lose the headers too and look like a refused request.
            tokio::time::sleep(Duration::from_millis(200)).await;
        }
        Some((item, it))
    })
}

fn json(v: serde_json::Value) -> axum::response::Response {
    use axum::response::IntoResponse;
    (
        [(axum::http::header::CONTENT_TYPE, "application/json")],
        v.to_string(),
    )
        .into_response()
}
