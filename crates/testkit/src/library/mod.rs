//! A Library API double: service discovery, token service, library metadata (entities,
//! collections, containers, images, v1 and v2 tags), search, deletion, downloads with
//! `Range` and an optional 303 redirect, and v2 single-part and multipart uploads, in the shape of Sylabs'
//! library or of Hinkskalle (`shared/docs/library-api.md` §1–§7, §10, §12, §14).
//!
//! Served endpoints (paths are relative to [`LibraryDouble::url`]; doubled slashes are
//! tolerated, §0):
//!
//! | method | path | notes |
//! | --- | --- | --- |
//! | GET | `/assets/config/config.prod.json` | discovery; every `*API.uri` is this server except `keystoreAPI` (a [`KeystoreDouble`] started alongside) |
//! | GET | `/version` | `{"data":{"version","apiVersion"}}` for every service |
//! | GET | `/v1/token-status` | 200 for a valid token |
//! | GET | `/v1/rbac/users/current` | un-enveloped user |
//! | GET | `/v1/oci-redirect` | always 404 (stay on the library protocol, §4.8) |
//! | GET, POST | `/v1/entities[/{e}]`, `/v1/collections[/{e}/{c}]`, `/v1/containers[/{e}/{c}/{n}]` | read and create |
//! | GET | `/v1/containers/{e}/{c}/{n}/images` | Hinkskalle only |
//! | GET, DELETE | `/v1/images/{ref}:{tag}?arch=` ; POST `/v1/images` | |
//! | GET, POST | `/v1/tags/{containerID}`, `/v2/tags/{containerID}` | |
//! | GET | `/v1/search?value=&arch=&signed=` | |
//! | GET, HEAD | `/v1/imagefile/{ref}:{tag}?arch=` | 200 (+`Range`) or 303 to `/storage/{imageID}` |
//! | POST | `/v1/imagefile/{imageID}` | legacy upload, raw body |
//! | POST | `/v2/imagefile/{imageID}` → PUT `/upload/{token}` → PUT `/v2/imagefile/{imageID}/_complete` | v2 single-part upload |
//! | POST | `/v2/imagefile/{imageID}/_multipart` → PUT `/v2/imagefile/{imageID}/_multipart` (per part) → PUT `/upload/{token}` → PUT `/v2/imagefile/{imageID}/_multipart_complete` | v2 multipart upload (§5.1); PUT `…/_multipart_abort` drops the parts; 404 at start with `disable_multipart` |

mod http;
mod store;

use std::path::{Path, PathBuf};
use std::str::FromStr;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

use axum::Router;

use crate::server::Background;
use crate::{KeystoreDouble, KeystoreOptions};
use store::{Image, Store};

/// Which real server the double imitates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Flavour {
    /// Sylabs' library (SCS / Singularity Enterprise): 24-hex IDs, json-resp errors
    /// `{"error":{"code","message"}}`, 409 for "already exists", `uploaded` on images,
    /// anonymous reads of public data, short refs under `library/default`.
    #[default]
    Sylabs,
    /// Hinkskalle 4.6 as observed (§14): decimal IDs, 401 as
    /// `{"errors":[{"code","detail","title"}],"status":"error"}` with `WWW-Authenticate`,
    /// other errors `{"message"}` (400: `rebar_error_code`), 412 for "already exists",
    /// `uploadState` instead of `uploaded`, no `images` array on containers, 401 for
    /// anonymous entity/collection/container/search reads, short refs under
    /// `default/default`, tags `latest`/amd64 on upload completion.
    Hinkskalle,
}

impl FromStr for Flavour {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s.to_ascii_lowercase().as_str() {
            "sylabs" => Ok(Flavour::Sylabs),
            "hinkskalle" => Ok(Flavour::Hinkskalle),
            other => Err(format!("unknown flavour {other:?} (sylabs or hinkskalle)")),
        }
    }
}

/// How the double behaves; fault knobs included. Change them while running with
/// [`LibraryDouble::update_options`] (except `flavour`, fixed at start).
#[derive(Debug, Clone, Default)]
pub struct LibraryOptions {
    /// Server flavour.
    pub flavour: Flavour,
    /// `apiVersion` reported by `/version`: `None` for `2.0.0-alpha.2` (v2 uploads and
    /// tags); `Some("")` omits the field (legacy clients, §12.2); anything else verbatim.
    pub api_version: Option<String>,
    /// Delay before every answer, in milliseconds.
    pub latency_ms: u64,
    /// Answer requests with this status (e.g. 500, 503) in the flavour's error shape.
    pub fail_with: Option<u16>,
    /// Only fail requests whose path starts with this (e.g. `/v1/imagefile`).
    pub fail_path_prefix: Option<String>,
    /// Fail only the first N matching requests, then answer normally; 0 fails all of them.
    pub fail_times: usize,
    /// Break the connection when a download body reaches this absolute file offset (only
    /// responses whose range starts before it; so resuming with `Range: bytes=N-` works).
    /// 0 breaks every download before its first byte.
    pub reset_after_bytes: Option<u64>,
    /// Answer `Range` requests with 200 and the full body (and no `Accept-Ranges`).
    pub ignore_range: bool,
    /// Send each download response at most this many bytes per second (a slow link, so a
    /// test can watch progress, cancel, or quit in the middle).
    pub throttle_bytes_per_sec: Option<u64>,
    /// `GET /v1/imagefile/…` answers 303 to `/storage/{imageID}?…` (a presigned-style URL
    /// on this server) instead of 200. Hinkskalle never redirects by itself.
    pub redirect_downloads: bool,
    /// Treat every token as expired: token-status fails, authenticated calls get 401.
    pub expired_token: bool,
    /// Storage quota in bytes for users without their own ([`LibraryDouble::set_quota`]);
    /// `None` is unlimited (reported as `quotaTotal: 0`). Exceeding it answers 507 at
    /// `POST /v2/imagefile/{id}` (before the upload) and at legacy `POST /v1/imagefile/{id}`.
    pub quota_bytes: Option<u64>,
    /// Answer 404 instead of 401/403 for private containers the caller may not read.
    pub hide_private: bool,
    /// Multipart part size in bytes offered at `_multipart` start; `None` for the
    /// flavour's default (Sylabs 64 MiB, Hinkskalle 5 MiB as observed, §5.1, §14).
    pub multipart_part_size: Option<u64>,
    /// Answer `POST /v2/imagefile/{id}/_multipart` with 404, so clients fall back to
    /// single-part (§12.7).
    pub disable_multipart: bool,
    /// The first PUT of this multipart part number (1-based) in each multipart session
    /// answers 500 (its body is read and dropped); later PUTs of it work, so client retries
    /// can be tested.
    pub fail_part: Option<u32>,
    /// The build service discovery names (`builderAPI`), e.g. a
    /// [`crate::BuilderDouble`]'s URL. `None`: the Sylabs flavour names this server (which
    /// serves no build routes), Hinkskalle none.
    pub builder_url: Option<String>,
}

/// One request as the double received it, for assertions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LibraryRequest {
    /// `GET`, `POST`, …
    pub method: String,
    /// The path as sent (before doubled slashes are collapsed or escapes decoded).
    pub path: String,
    /// The raw query string, empty if none.
    pub query: String,
    /// The `Authorization` header, if any.
    pub authorization: Option<String>,
    /// The `User-Agent` header, if any.
    pub user_agent: Option<String>,
    /// The `Range` header, if any.
    pub range: Option<String>,
    /// The request body as text for metadata calls (not for uploads); `None` if empty.
    pub body: Option<String>,
}

/// Bytes for [`LibraryDouble::add_image`]: in memory or a file to copy.
#[derive(Debug, Clone)]
pub enum ImageSource {
    /// The image's bytes.
    Bytes(Vec<u8>),
    /// A file whose bytes are copied into the double's storage.
    File(PathBuf),
}

impl From<Vec<u8>> for ImageSource {
    fn from(b: Vec<u8>) -> Self {
        ImageSource::Bytes(b)
    }
}
impl From<&[u8]> for ImageSource {
    fn from(b: &[u8]) -> Self {
        ImageSource::Bytes(b.to_vec())
    }
}
impl From<&Path> for ImageSource {
    fn from(p: &Path) -> Self {
        ImageSource::File(p.to_path_buf())
    }
}
impl From<PathBuf> for ImageSource {
    fn from(p: PathBuf) -> Self {
        ImageSource::File(p)
    }
}

/// An image as the double holds it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImageInfo {
    /// Flavour-shaped ID.
    pub id: String,
    /// `entity/collection/container`.
    pub path: String,
    /// `sha256.<hex>`.
    pub hash: String,
    /// Architecture (empty if unknown).
    pub arch: String,
    /// Tags pointing at it (legacy and its arch's).
    pub tags: Vec<String>,
    /// Size in bytes (0 until uploaded).
    pub size: u64,
    /// Whether the file is present.
    pub uploaded: bool,
    /// Whether it is marked signed.
    pub signed: bool,
    /// Description.
    pub description: String,
    /// The stored file, once uploaded.
    pub file: Option<PathBuf>,
}

pub(crate) struct Shared {
    opts: Mutex<LibraryOptions>,
    flavour: Flavour,
    store: Mutex<Store>,
    requests: Mutex<Vec<LibraryRequest>>,
    failed: AtomicUsize,
    dir: tempfile::TempDir,
    url: OnceLock<String>,
    keystore_url: String,
}

impl Shared {
    fn opts(&self) -> LibraryOptions {
        lock(&self.opts).clone()
    }
    fn store(&self) -> MutexGuard<'_, Store> {
        lock(&self.store)
    }
    fn base(&self) -> &str {
        self.url.get().map_or("", String::as_str)
    }
    fn images_dir(&self) -> PathBuf {
        self.dir.path().join("images")
    }
    fn uploads_dir(&self) -> PathBuf {
        self.dir.path().join("uploads")
    }
}

/// A running Library API double on 127.0.0.1 (plus its keystore double); stopped by
/// [`LibraryDouble::stop`] or on drop. Image files live in a temporary directory removed on
/// drop.
pub struct LibraryDouble {
    shared: Arc<Shared>,
    server: Background,
    keystore: KeystoreDouble,
    url: String,
}

impl LibraryDouble {
    /// Starts the double on an ephemeral port.
    pub fn start(opts: LibraryOptions) -> std::io::Result<Self> {
        Self::start_on(0, opts)
    }

    /// Starts the double on `port` (0 for an ephemeral one); its keystore double always
    /// takes an ephemeral port.
    pub fn start_on(port: u16, opts: LibraryOptions) -> std::io::Result<Self> {
        let keystore = KeystoreDouble::start(KeystoreOptions::default())?;
        let dir = tempfile::Builder::new()
            .prefix("berth-library-double-")
            .tempdir()?;
        std::fs::create_dir(dir.path().join("images"))?;
        std::fs::create_dir(dir.path().join("uploads"))?;
        let shared = Arc::new(Shared {
            flavour: opts.flavour,
            store: Mutex::new(Store::new(opts.flavour)),
            opts: Mutex::new(opts),
            requests: Mutex::default(),
            failed: AtomicUsize::new(0),
            dir,
            url: OnceLock::new(),
            keystore_url: keystore.url(),
        });
        let router = Router::new()
            .fallback(http::dispatch)
            .with_state(Arc::clone(&shared));
        let server = Background::start("library", port, router)?;
        let url = server.url();
        let _ = shared.url.set(url.clone());
        Ok(LibraryDouble {
            shared,
            server,
            keystore,
            url,
        })
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash: the discovery host and every
    /// service's base URL.
    pub fn url(&self) -> String {
        self.url.clone()
    }

    /// The keystore double that discovery's `keystoreAPI` names (to preload keys).
    pub fn keystore(&self) -> &KeystoreDouble {
        &self.keystore
    }

    /// The flavour, fixed at start.
    pub fn flavour(&self) -> Flavour {
        self.shared.flavour
    }

    /// Changes knobs while running (the flavour stays as started).
    pub fn update_options(&self, f: impl FnOnce(&mut LibraryOptions)) {
        let mut opts = lock(&self.shared.opts);
        f(&mut opts);
        opts.flavour = self.shared.flavour;
        self.shared
            .failed
            .store(0, std::sync::atomic::Ordering::SeqCst);
    }

    /// Adds a user whose bearer token is `token`, and an entity of the same name owned by
    /// them (as Hinkskalle does at first login). Re-adding replaces the token.
    pub fn add_user(&self, name: &str, token: &str) {
        let mut s = self.shared.store();
        if let Some(u) = s.users.iter_mut().find(|u| u.name == name) {
            u.token = token.to_owned();
            u.expired = false;
        } else {
            s.users.push(store::User {
                name: name.to_owned(),
                token: token.to_owned(),
                expired: false,
                quota: None,
            });
        }
        ensure_entity(&mut s, name, Some(name));
    }

    /// Marks a user's token expired (token-status fails, calls with it get 401).
    pub fn expire_token(&self, token: &str) {
        let mut s = self.shared.store();
        for u in s.users.iter_mut().filter(|u| u.token == token) {
            u.expired = true;
        }
    }

    /// Sets a user's storage quota in bytes (0 allows nothing more to be uploaded).
    /// Panics for an unknown user.
    pub fn set_quota(&self, user: &str, bytes: u64) {
        let mut s = self.shared.store();
        let Some(u) = s.users.iter_mut().find(|u| u.name == user) else {
            panic!("LibraryDouble::set_quota: no user {user:?}");
        };
        u.quota = Some(bytes);
    }

    /// Adds an entity (or changes the owner of an existing one); returns its ID.
    pub fn add_entity(&self, name: &str, owner: Option<&str>) -> String {
        let mut s = self.shared.store();
        let e = ensure_entity(&mut s, name, owner);
        if owner.is_some() {
            s.entities[e].owner = owner.map(str::to_owned);
        }
        s.entities[e].id.clone()
    }

    /// Adds `entity/collection` (creating the entity, owned by the user of that name if
    /// any); an existing one gets `private` set. Returns its ID.
    pub fn add_collection(&self, path: &str, private: bool) -> String {
        let [e, c] = split_path::<2>(path, "add_collection");
        let mut s = self.shared.store();
        let owner = s.user(e).map(|u| u.name.clone());
        let ei = ensure_entity(&mut s, e, owner.as_deref());
        let ci = ensure_collection(&mut s, ei, c);
        s.collections[ci].private = private;
        s.collections[ci].id.clone()
    }

    /// Adds `entity/collection/container` (creating parents); an existing one gets
    /// `private` set. Returns its ID.
    pub fn add_container(&self, path: &str, private: bool) -> String {
        let [e, c, n] = split_path::<3>(path, "add_container");
        let mut s = self.shared.store();
        let k = ensure_container(&mut s, e, c, n);
        s.containers[k].private = private;
        s.containers[k].id.clone()
    }

    /// Adds an uploaded image to `[library://]entity/collection/container[:tag,…]`
    /// (creating parents), tagged with `tags` (and any in the reference) for `arch`, both
    /// as v2 arch tags and legacy tags. Panics if the bytes cannot be read or stored; see
    /// [`Self::try_add_image`].
    pub fn add_image(
        &self,
        reference: &str,
        content: impl Into<ImageSource>,
        arch: &str,
        tags: &[&str],
        signed: bool,
    ) -> ImageInfo {
        match self.try_add_image(reference, content, arch, tags, signed) {
            Ok(i) => i,
            Err(e) => panic!("LibraryDouble::add_image({reference}): {e}"),
        }
    }

    /// [`Self::add_image`], returning I/O errors.
    pub fn try_add_image(
        &self,
        reference: &str,
        content: impl Into<ImageSource>,
        arch: &str,
        tags: &[&str],
        signed: bool,
    ) -> std::io::Result<ImageInfo> {
        let bytes = match content.into() {
            ImageSource::Bytes(b) => b,
            ImageSource::File(p) => std::fs::read(p)?,
        };
        let reference = reference.strip_prefix("library://").unwrap_or(reference);
        let (path, ref_tags) = reference.split_once(':').unwrap_or((reference, ""));
        let [e, c, n] = split_path::<3>(path, "add_image");
        let hash = format!("sha256.{}", store::sha256_hex(&bytes));
        let mut guard = self.shared.store();
        let s = &mut *guard;
        let k = ensure_container(s, e, c, n);
        let existing = s
            .images_of(k)
            .find(|&i| s.images[i].hash == hash && s.images[i].arch == arch);
        let i = match existing {
            Some(i) => i,
            None => {
                let id = s.new_id();
                let owner = s.entities[s.path_of(k).entity].owner.clone();
                s.images.push(Image {
                    id,
                    container: s.containers[k].id.clone(),
                    hash,
                    description: String::new(),
                    size: 0,
                    uploaded: false,
                    signed,
                    arch: arch.to_owned(),
                    fingerprints: Vec::new(),
                    created_at: store::now_rfc3339(),
                    created_by: owner.unwrap_or_default(),
                    file: None,
                });
                s.images.len() - 1
            }
        };
        let file = self
            .shared
            .images_dir()
            .join(format!("{}.sif", s.images[i].id));
        std::fs::write(&file, &bytes)?;
        let img = &mut s.images[i];
        img.file = Some(file);
        img.size = bytes.len() as u64;
        img.uploaded = true;
        img.signed = signed;
        let id = img.id.clone();
        let arch = (!arch.is_empty()).then_some(arch);
        for tag in tags
            .iter()
            .copied()
            .chain(ref_tags.split(',').filter(|t| !t.is_empty()))
        {
            s.set_tag(k, arch, tag, &id);
        }
        Ok(info(s, i))
    }

    /// Sets an image's signer fingerprints (and marks it signed when non-empty).
    pub fn set_fingerprints(&self, image_id: &str, fingerprints: &[&str]) {
        let mut s = self.shared.store();
        if let Some(i) = s.image_by_id(image_id) {
            s.images[i].fingerprints = fingerprints.iter().map(|f| (*f).to_owned()).collect();
            if !fingerprints.is_empty() {
                s.images[i].signed = true;
            }
        }
    }

    /// Every image held, in creation order.
    pub fn images(&self) -> Vec<ImageInfo> {
        let s = self.shared.store();
        (0..s.images.len()).map(|i| info(&s, i)).collect()
    }

    /// The download counter of `entity/collection/container` (every imagefile GET counts,
    /// ranged ones included, as on Hinkskalle), or `None` if there is no such container.
    pub fn download_count(&self, path: &str) -> Option<u64> {
        let [e, c, n] = split_path::<3>(path, "download_count");
        let s = self.shared.store();
        s.resolve(e, c, n)
            .map(|p| s.containers[p.container].download_count)
    }

    /// Multipart uploads started and neither completed nor aborted: a client that cleans up
    /// after a failed or cancelled push leaves none.
    pub fn open_multiparts(&self) -> usize {
        self.shared.store().multiparts.len()
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<LibraryRequest> {
        lock(&self.shared.requests).clone()
    }

    /// Forgets the recorded requests.
    pub fn clear_requests(&self) {
        lock(&self.shared.requests).clear();
    }

    /// Loads a seed directory: `DIR/seed.json` of the form
    /// `{"users":[{"name","token","quota"?}],"images":[{"ref","file","arch","tags"?,"signed"?,"private"?}]}`
    /// with `file` relative to `DIR`.
    pub fn load_seed_dir(&self, dir: &Path) -> std::io::Result<()> {
        let text = std::fs::read_to_string(dir.join("seed.json"))?;
        let seed: serde_json::Value = serde_json::from_str(&text)
            .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))?;
        let bad =
            |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
        for u in seed["users"].as_array().into_iter().flatten() {
            let name = u["name"].as_str().ok_or_else(|| bad("user without name"))?;
            let token = u["token"]
                .as_str()
                .ok_or_else(|| bad("user without token"))?;
            self.add_user(name, token);
            if let Some(q) = u["quota"].as_u64() {
                self.set_quota(name, q);
            }
        }
        for i in seed["images"].as_array().into_iter().flatten() {
            let reference = i["ref"].as_str().ok_or_else(|| bad("image without ref"))?;
            let file = i["file"]
                .as_str()
                .ok_or_else(|| bad("image without file"))?;
            let arch = i["arch"].as_str().unwrap_or("amd64");
            let tags: Vec<&str> = i["tags"]
                .as_array()
                .into_iter()
                .flatten()
                .filter_map(|t| t.as_str())
                .collect();
            let reference = reference.strip_prefix("library://").unwrap_or(reference);
            let path = reference.split(':').next().unwrap_or_default();
            if split_checked::<3>(path).is_none() {
                return Err(bad(&format!(
                    "image ref {reference:?} is not entity/collection/container"
                )));
            }
            self.try_add_image(
                reference,
                dir.join(file),
                arch,
                &tags,
                i["signed"].as_bool().unwrap_or(false),
            )?;
            if i["private"].as_bool().unwrap_or(false) {
                self.add_container(path, true);
            }
        }
        Ok(())
    }

    /// Closes the ports (later connections are refused), the keystore's too. Idempotent;
    /// also done on drop.
    pub fn stop(&mut self) {
        self.server.stop();
        self.keystore.stop();
    }
}

fn info(s: &Store, i: usize) -> ImageInfo {
    let img = &s.images[i];
    let path = s
        .container_by_id(&img.container)
        .map(|k| {
            let p = s.path_of(k);
            format!(
                "{}/{}/{}",
                s.entities[p.entity].name, s.collections[p.collection].name, s.containers[k].name
            )
        })
        .unwrap_or_default();
    ImageInfo {
        id: img.id.clone(),
        path,
        hash: img.hash.clone(),
        arch: img.arch.clone(),
        tags: s.tags_of(i),
        size: img.size,
        uploaded: img.uploaded,
        signed: img.signed,
        description: img.description.clone(),
        file: img.file.clone(),
    }
}

fn split_checked<const N: usize>(path: &str) -> Option<[&str; N]> {
    let parts: Vec<&str> = path.split('/').collect();
    let arr: [&str; N] = parts.try_into().ok()?;
    arr.iter().all(|p| !p.is_empty()).then_some(arr)
}

fn split_path<'a, const N: usize>(path: &'a str, what: &str) -> [&'a str; N] {
    match split_checked::<N>(path) {
        Some(a) => a,
        None => panic!("LibraryDouble::{what}: {path:?} does not have {N} non-empty components"),
    }
}

pub(crate) fn ensure_entity(s: &mut Store, name: &str, owner: Option<&str>) -> usize {
    if let Some(e) = s.entity(name) {
        return e;
    }
    let id = s.new_id();
    s.entities.push(store::Entity {
        id,
        name: name.to_owned(),
        description: String::new(),
        owner: owner.map(str::to_owned),
        default_private: false,
        created_at: store::now_rfc3339(),
    });
    s.entities.len() - 1
}

fn ensure_collection(s: &mut Store, entity: usize, name: &str) -> usize {
    if let Some(c) = s.collection(entity, name) {
        return c;
    }
    let id = s.new_id();
    s.collections.push(store::Collection {
        id,
        name: name.to_owned(),
        entity: s.entities[entity].id.clone(),
        description: String::new(),
        private: false,
        created_at: store::now_rfc3339(),
        created_by: s.entities[entity].owner.clone().unwrap_or_default(),
    });
    s.collections.len() - 1
}

fn ensure_container(s: &mut Store, e: &str, c: &str, n: &str) -> usize {
    let owner = s.user(e).map(|u| u.name.clone());
    let ei = ensure_entity(s, e, owner.as_deref());
    let ci = ensure_collection(s, ei, c);
    if let Some(k) = s.container(ci, n) {
        return k;
    }
    let id = s.new_id();
    s.containers.push(store::Container {
        id,
        name: n.to_owned(),
        collection: s.collections[ci].id.clone(),
        description: String::new(),
        private: false,
        read_only: false,
        image_tags: Default::default(),
        arch_tags: Default::default(),
        download_count: 0,
        created_at: store::now_rfc3339(),
        created_by: s.entities[ei].owner.clone().unwrap_or_default(),
    });
    s.containers.len() - 1
}

/// Poisoning only means another request panicked; the data is still usable for a double.
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|p| p.into_inner())
}
