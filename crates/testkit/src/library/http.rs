//! Request routing and the endpoints' behaviour.
//!
//! Handlers return `Result<Response, Response>` so that `?` answers an error response at
//! once; the error is the reply itself, not something to carry around, so its size is moot.
#![allow(clippy::result_large_err)]

use std::collections::HashMap;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use axum::body::{to_bytes, Body, Bytes};
use axum::extract::{Request, State};
use axum::http::{header, HeaderMap, HeaderValue, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use futures_util::StreamExt as _;
use serde_json::{json, Value};

use super::store::{self, Image, Multipart, Part, Path3, Store, Upload};
use super::{lock, Flavour, LibraryOptions, LibraryRequest, Shared};

/// Largest metadata request body read.
const MAX_BODY: usize = 1 << 20;
/// Download chunk size.
const CHUNK: u64 = 64 << 10;

/// Who is calling, from `Authorization: Bearer <token>` (scheme in any case, empty token =
/// anonymous, §12.18).
#[derive(Debug, Clone, PartialEq, Eq)]
enum Caller {
    Anonymous,
    User(String),
    /// Unknown, expired, or not a bearer token.
    Invalid,
}

impl Caller {
    fn user(&self) -> Option<&str> {
        match self {
            Caller::User(u) => Some(u),
            _ => None,
        }
    }
}

struct Ctx {
    shared: Arc<Shared>,
    opts: LibraryOptions,
    flavour: Flavour,
    method: Method,
    params: HashMap<String, String>,
    headers: HeaderMap,
    caller: Caller,
}

type Reply = Result<Response, Response>;

pub(super) async fn dispatch(State(shared): State<Arc<Shared>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let raw_path = parts.uri.path().to_owned();
    let path = percent_encoding::percent_decode_str(&collapse_slashes(&raw_path))
        .decode_utf8_lossy()
        .into_owned();
    let query = parts.uri.query().unwrap_or_default().to_owned();
    let header_text = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let segs: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(str::to_owned)
        .collect();
    let streamed = matches!(
        (
            &parts.method,
            segs.iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
                .as_slice()
        ),
        (&Method::PUT, ["upload", _]) | (&Method::POST, ["v1", "imagefile", _])
    );
    let (bytes, stream) = if streamed {
        (Bytes::new(), Some(body))
    } else {
        match to_bytes(body, MAX_BODY).await {
            Ok(b) => (b, None),
            Err(_) => (Bytes::new(), None),
        }
    };
    lock(&shared.requests).push(LibraryRequest {
        method: parts.method.to_string(),
        path: raw_path,
        query: query.clone(),
        authorization: header_text(header::AUTHORIZATION),
        user_agent: header_text(header::USER_AGENT),
        range: header_text(header::RANGE),
        body: (!bytes.is_empty()).then(|| String::from_utf8_lossy(&bytes).into_owned()),
    });

    let opts = shared.opts();
    if opts.latency_ms > 0 {
        tokio::time::sleep(Duration::from_millis(opts.latency_ms)).await;
    }
    let flavour = shared.flavour;
    if let Some(code) = opts.fail_with {
        let matches = opts
            .fail_path_prefix
            .as_deref()
            .is_none_or(|p| path.starts_with(p));
        if matches
            && (opts.fail_times == 0
                || shared.failed.fetch_add(1, Ordering::SeqCst) < opts.fail_times)
        {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            return error(
                flavour,
                shared.base(),
                status,
                status.canonical_reason().unwrap_or("failure"),
            );
        }
    }

    let mut params: HashMap<String, String> = HashMap::new();
    for (k, v) in form_urlencoded::parse(query.as_bytes()).into_owned() {
        // Singularity 3.7.0 sent `arch%3Damd64`; Hinkskalle works around it (§4.5).
        match k.strip_prefix("arch=") {
            Some(a) if flavour == Flavour::Hinkskalle && v.is_empty() => {
                params.insert("arch".into(), a.to_owned());
            }
            _ => {
                params.insert(k, v);
            }
        }
    }
    let caller = caller(&shared, &opts, &parts.headers);
    let ctx = Ctx {
        shared,
        opts,
        flavour,
        method: parts.method,
        params,
        headers: parts.headers,
        caller,
    };
    let segs: Vec<&str> = segs.iter().map(String::as_str).collect();
    let result = match stream {
        Some(body) => upload_body(&ctx, &segs, body).await,
        None => route(&ctx, &segs, &bytes),
    };
    result.unwrap_or_else(|e| e)
}

fn route(ctx: &Ctx, segs: &[&str], body: &[u8]) -> Reply {
    let m = &ctx.method;
    let get = *m == Method::GET;
    let post = *m == Method::POST;
    match segs {
        ["assets", "config", "config.prod.json"] if get => Ok(discovery(ctx)),
        ["version"] if get => Ok(version(ctx)),
        ["v1", "token-status"] if get => token_status(ctx),
        ["v1", "rbac", "users", "current"] if get => current_user(ctx),
        ["v1", "oci-redirect"] => Err(ctx.err(StatusCode::NOT_FOUND, "Not found")),
        ["storage", id] if get || *m == Method::HEAD => storage(ctx, id),
        _ => {
            if ctx.caller == Caller::Invalid {
                return Err(ctx.unauthorized());
            }
            match segs {
                ["v1", "entities"] if get => list_entities(ctx),
                ["v1", "entities"] if post => create_entity(ctx, body),
                ["v1", "entities", e] if get => get_entity(ctx, e),
                ["v1", "collections"] if post => create_collection(ctx, body),
                ["v1", "collections", x] if get => collections_of_or_by_id(ctx, x),
                ["v1", "collections", e, c] if get => get_collection(ctx, e, c),
                ["v1", "containers", x] if get => container_by_id(ctx, x),
                ["v1", "containers", e, c] if get => containers_of(ctx, e, c),
                ["v1", "containers"] if post => create_container(ctx, body),
                ["v1", "containers", e, c, n] if get => get_container(ctx, e, c, n),
                ["v1", "containers", e, c, n, "images"]
                    if get && ctx.flavour == Flavour::Hinkskalle =>
                {
                    container_images(ctx, e, c, n)
                }
                ["v1", "images"] if post => create_image(ctx, body),
                ["v1", "images", rest @ ..] if get && !rest.is_empty() => {
                    get_image(ctx, &rest.join("/"))
                }
                ["v1", "images", rest @ ..] if *m == Method::DELETE && !rest.is_empty() => {
                    delete_image(ctx, &rest.join("/"))
                }
                ["v1", "imagefile", rest @ ..]
                    if (get || *m == Method::HEAD) && !rest.is_empty() =>
                {
                    download(ctx, &rest.join("/"))
                }
                ["v1", "tags", cid] if get => get_tags(ctx, cid, false),
                ["v2", "tags", cid] if get => get_tags(ctx, cid, true),
                ["v1", "tags", cid] if post => set_tags(ctx, cid, false, body),
                ["v2", "tags", cid] if post => set_tags(ctx, cid, true, body),
                ["v1", "search"] if get => search(ctx),
                ["v2", "imagefile", id] if post => upload_init(ctx, id, body),
                ["v2", "imagefile", id, "_complete"] if *m == Method::PUT => {
                    upload_complete(ctx, id)
                }
                ["v2", "imagefile", id, "_multipart"] if post => multipart_start(ctx, id, body),
                ["v2", "imagefile", id, "_multipart"] if *m == Method::PUT => {
                    multipart_part(ctx, id, body)
                }
                ["v2", "imagefile", id, "_multipart_complete"] if *m == Method::PUT => {
                    multipart_complete(ctx, id, body)
                }
                ["v2", "imagefile", id, "_multipart_abort"] if *m == Method::PUT => {
                    multipart_abort(ctx, id, body)
                }
                _ => Err(ctx.err(StatusCode::NOT_FOUND, "Not found")),
            }
        }
    }
}

impl Ctx {
    fn err(&self, status: StatusCode, message: &str) -> Response {
        error(self.flavour, self.shared.base(), status, message)
    }

    fn unauthorized(&self) -> Response {
        let msg = match self.flavour {
            Flavour::Sylabs => "Not authorized - please authenticate",
            Flavour::Hinkskalle => "Not Authorized",
        };
        self.err(StatusCode::UNAUTHORIZED, msg)
    }

    fn exists(&self, what: &str) -> Response {
        match self.flavour {
            Flavour::Sylabs => self.err(StatusCode::CONFLICT, &format!("{what} already exists")),
            Flavour::Hinkskalle => self.err(
                StatusCode::PRECONDITION_FAILED,
                &format!("{what} already exists"),
            ),
        }
    }

    fn bad_request(&self, message: &str) -> Response {
        self.err(StatusCode::BAD_REQUEST, message)
    }

    fn data(&self, v: Value) -> Response {
        json_response(StatusCode::OK, &json!({ "data": v }))
    }

    /// Hinkskalle answers 401 to anonymous metadata reads (§14).
    fn require_login_for_reads(&self) -> Result<(), Response> {
        if self.flavour == Flavour::Hinkskalle && self.caller == Caller::Anonymous {
            return Err(self.unauthorized());
        }
        Ok(())
    }

    fn require_user(&self) -> Result<&str, Response> {
        self.caller.user().ok_or_else(|| self.unauthorized())
    }

    fn require_owner(&self, s: &Store, entity: usize) -> Result<(), Response> {
        let user = self.require_user()?;
        if s.owns(Some(user), entity) {
            Ok(())
        } else {
            Err(self.err(StatusCode::FORBIDDEN, "Not authorized to access this entry"))
        }
    }

    /// Private containers: readable by the owner only. Others get 401 (Sylabs, anonymous),
    /// 403, or 404 with `hide_private`.
    fn check_read(&self, s: &Store, p: Path3) -> Result<(), Response> {
        if !s.is_private(p) || s.owns(self.caller.user(), p.entity) {
            return Ok(());
        }
        Err(private_denied(self))
    }

    fn quota_of(&self, s: &Store, user: &str) -> Option<u64> {
        s.user(user).and_then(|u| u.quota).or(self.opts.quota_bytes)
    }

    /// A `{path}:{tag}` reference with the flavour's defaults for short paths (§3.3).
    fn parse_ref<'a>(&self, reference: &'a str) -> Result<([String; 3], &'a str), Response> {
        let (path, tag) = reference.split_once(':').unwrap_or((reference, "latest"));
        let parts: Vec<&str> = path.split('/').filter(|p| !p.is_empty()).collect();
        let (e0, c0) = match self.flavour {
            Flavour::Sylabs => ("library", "default"),
            Flavour::Hinkskalle => ("default", "default"),
        };
        let full = match parts.as_slice() {
            [n] => [e0, c0, *n],
            [c, n] => [e0, *c, *n],
            [e, c, n] => [*e, *c, *n],
            _ => return Err(self.err(StatusCode::NOT_FOUND, "Not found")),
        };
        let tag = if tag.is_empty() { "latest" } else { tag };
        Ok((full.map(str::to_owned), tag))
    }

    fn resolve(&self, s: &Store, e: &str, c: &str, n: &str) -> Result<Path3, Response> {
        let not_found = |what: &str, name: &str| match self.flavour {
            Flavour::Sylabs => self.err(StatusCode::NOT_FOUND, "Not found"),
            Flavour::Hinkskalle => {
                self.err(StatusCode::NOT_FOUND, &format!("{what} {name} not found"))
            }
        };
        let entity = s.entity(e).ok_or_else(|| not_found("entity", e))?;
        let collection = s
            .collection(entity, c)
            .ok_or_else(|| not_found("collection", &format!("{e}/{c}")))?;
        let container = s
            .container(collection, n)
            .ok_or_else(|| not_found("container", &format!("{e}/{c}/{n}")))?;
        Ok(Path3 {
            entity,
            collection,
            container,
        })
    }

    /// The image a reference names, with read access checked.
    fn image_for(&self, s: &Store, reference: &str) -> Result<(Path3, usize), Response> {
        let ([e, c, n], tag) = self.parse_ref(reference)?;
        let p = self.resolve(s, &e, &c, &n)?;
        self.check_read(s, p)?;
        let arch = self.params.get("arch").map_or("", String::as_str);
        let i = s
            .find_image(p.container, tag, arch)
            .ok_or_else(|| match self.flavour {
                Flavour::Sylabs => self.err(StatusCode::NOT_FOUND, "Not found"),
                Flavour::Hinkskalle => self.err(
                    StatusCode::NOT_FOUND,
                    &format!("image {e}/{c}/{n}:{tag} not found"),
                ),
            })?;
        Ok((p, i))
    }

    fn storage_path(&self, image: &str) -> PathBuf {
        self.shared.images_dir().join(format!("{image}.sif"))
    }
}

fn caller(shared: &Shared, opts: &LibraryOptions, headers: &HeaderMap) -> Caller {
    let Some(value) = headers.get(header::AUTHORIZATION) else {
        return Caller::Anonymous;
    };
    let Ok(value) = value.to_str() else {
        return Caller::Invalid;
    };
    let (scheme, token) = value.trim().split_once(' ').unwrap_or((value.trim(), ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        return Caller::Invalid;
    }
    let token = token.trim();
    if token.is_empty() {
        return Caller::Anonymous;
    }
    match shared.store().user_by_token(token) {
        Some(u) if !u.expired && !opts.expired_token => Caller::User(u.name.clone()),
        _ => Caller::Invalid,
    }
}

fn discovery(ctx: &Ctx) -> Response {
    let base = ctx.shared.base();
    let mut doc = json!({
        "libraryAPI": { "uri": base },
        "keystoreAPI": { "uri": ctx.shared.keystore_url },
        "tokenAPI": { "uri": base },
    });
    if let Some(builder) = &ctx.opts.builder_url {
        doc["builderAPI"] = json!({ "uri": builder, "managerUri": builder });
    } else if ctx.flavour == Flavour::Sylabs {
        doc["builderAPI"] = json!({ "uri": base, "managerUri": base });
    }
    json_response(StatusCode::OK, &doc)
}

fn version(ctx: &Ctx) -> Response {
    let mut data = json!({
        "version": match ctx.flavour {
            Flavour::Sylabs => "v1.0.0-berth-testkit",
            Flavour::Hinkskalle => "v1.0.0",
        },
    });
    match ctx.opts.api_version.as_deref() {
        None => data["apiVersion"] = json!("2.0.0-alpha.2"),
        Some("") => {}
        Some(v) => data["apiVersion"] = json!(v),
    }
    ctx.data(data)
}

fn user_json(ctx: &Ctx, s: &Store, name: &str) -> Value {
    let quota = ctx.quota_of(s, name).unwrap_or(0);
    let used = s.usage(name);
    match ctx.flavour {
        Flavour::Sylabs => json!({
            "username": name,
            "email": format!("{name}@example.invalid"),
            "realname": name,
            "oidc_user_meta": { "secret": format!("secret-{name}") },
        }),
        Flavour::Hinkskalle => json!({
            "id": s.users.iter().position(|u| u.name == name).map_or(0, |i| i + 1).to_string(),
            "username": name,
            "email": format!("{name}@example.invalid"),
            "firstname": name,
            "lastname": "",
            "isAdmin": false,
            "isActive": true,
            "quota": quota,
            "used_quota": used,
        }),
    }
}

/// `GET /v1/token-status` (§1.5, §12.17): 200 for a valid token; without one 401; an
/// unknown or expired token 404 "Invalid Credentials" on Sylabs (what Apptainer maps to that
/// text), 401 on Hinkskalle.
fn token_status(ctx: &Ctx) -> Reply {
    match &ctx.caller {
        Caller::User(u) => {
            let s = ctx.shared.store();
            let user = user_json(ctx, &s, u);
            Ok(match ctx.flavour {
                Flavour::Sylabs => ctx.data(json!({ "status": "valid", "username": u })),
                Flavour::Hinkskalle => json_response(
                    StatusCode::OK,
                    &json!({ "status": "welcome", "data": user }),
                ),
            })
        }
        Caller::Anonymous => Err(ctx.unauthorized()),
        Caller::Invalid => Err(match ctx.flavour {
            Flavour::Sylabs => ctx.err(StatusCode::NOT_FOUND, "Invalid Credentials"),
            Flavour::Hinkskalle => ctx.unauthorized(),
        }),
    }
}

/// `GET /v1/rbac/users/current`: the user object, *not* enveloped (§1.7).
fn current_user(ctx: &Ctx) -> Reply {
    let Caller::User(u) = &ctx.caller else {
        return Err(ctx.unauthorized());
    };
    let s = ctx.shared.store();
    Ok(json_response(StatusCode::OK, &user_json(ctx, &s, u)))
}

fn list_entities(ctx: &Ctx) -> Reply {
    ctx.require_login_for_reads()?;
    let s = ctx.shared.store();
    let list: Vec<Value> = (0..s.entities.len())
        .map(|e| entity_json(ctx, &s, e))
        .collect();
    Ok(ctx.data(json!(list)))
}

fn entity_json(ctx: &Ctx, s: &Store, e: usize) -> Value {
    let quota = s.entities[e]
        .owner
        .as_deref()
        .and_then(|o| ctx.quota_of(s, o));
    s.entity_json(e, quota)
}

fn get_entity(ctx: &Ctx, e: &str) -> Reply {
    ctx.require_login_for_reads()?;
    let s = ctx.shared.store();
    let Some(ei) = s.entity(e) else {
        return Err(match ctx.flavour {
            Flavour::Sylabs => ctx.err(StatusCode::NOT_FOUND, "Not found"),
            Flavour::Hinkskalle => ctx.err(StatusCode::NOT_FOUND, &format!("entity {e} not found")),
        });
    };
    Ok(ctx.data(entity_json(ctx, &s, ei)))
}

fn get_collection(ctx: &Ctx, e: &str, c: &str) -> Reply {
    ctx.require_login_for_reads()?;
    let s = ctx.shared.store();
    let entity = s
        .entity(e)
        .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, "Not found"))?;
    let ci = s
        .collection(entity, c)
        .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, "Not found"))?;
    if s.collections[ci].private && !s.owns(ctx.caller.user(), entity) {
        // A private collection behaves as its private containers do.
        return Err(private_denied(ctx));
    }
    Ok(ctx.data(s.collection_json(ci)))
}

/// `GET v1/collections/{x}`: Hinkskalle lists the collections of entity `x`; Sylabs reads
/// collection `x` by ID (how clients walk an entity's `collections` IDs). Private
/// collections of others are left out of a list.
fn collections_of_or_by_id(ctx: &Ctx, x: &str) -> Reply {
    ctx.require_login_for_reads()?;
    let s = ctx.shared.store();
    if ctx.flavour == Flavour::Sylabs {
        let ci = s
            .collections
            .iter()
            .position(|c| c.id == x)
            .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, "Not found"))?;
        let entity = s
            .entity_by_id(&s.collections[ci].entity)
            .unwrap_or_default();
        if s.collections[ci].private && !s.owns(ctx.caller.user(), entity) {
            return Err(private_denied(ctx));
        }
        return Ok(ctx.data(s.collection_json(ci)));
    }
    let entity = s
        .entity(x)
        .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, &format!("entity {x} not found")))?;
    let eid = s.entities[entity].id.clone();
    let owner = s.owns(ctx.caller.user(), entity);
    let list: Vec<Value> = (0..s.collections.len())
        .filter(|&c| s.collections[c].entity == eid && (owner || !s.collections[c].private))
        .map(|c| s.collection_json(c))
        .collect();
    Ok(ctx.data(json!(list)))
}

/// `GET v1/containers/{id}` (Sylabs): a container by ID.
fn container_by_id(ctx: &Ctx, id: &str) -> Reply {
    ctx.require_login_for_reads()?;
    let s = ctx.shared.store();
    let k = s
        .containers
        .iter()
        .position(|c| c.id == id)
        .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, "Not found"))?;
    let collection = s
        .collections
        .iter()
        .position(|c| c.id == s.containers[k].collection)
        .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, "Not found"))?;
    let entity = s
        .entity_by_id(&s.collections[collection].entity)
        .unwrap_or_default();
    ctx.check_read(
        &s,
        Path3 {
            entity,
            collection,
            container: k,
        },
    )?;
    Ok(ctx.data(s.container_json(k)))
}

/// `GET v1/containers/{e}/{c}` (Hinkskalle): the containers of a collection.
fn containers_of(ctx: &Ctx, e: &str, c: &str) -> Reply {
    ctx.require_login_for_reads()?;
    if ctx.flavour == Flavour::Sylabs {
        return Err(ctx.err(StatusCode::NOT_FOUND, "Not found"));
    }
    let s = ctx.shared.store();
    let entity = s
        .entity(e)
        .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, &format!("entity {e} not found")))?;
    let collection = s
        .collection(entity, c)
        .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, &format!("collection {c} not found")))?;
    let cid = s.collections[collection].id.clone();
    let list: Vec<Value> = (0..s.containers.len())
        .filter(|&k| s.containers[k].collection == cid)
        .filter(|&k| {
            ctx.check_read(
                &s,
                Path3 {
                    entity,
                    collection,
                    container: k,
                },
            )
            .is_ok()
        })
        .map(|k| s.container_json(k))
        .collect();
    Ok(ctx.data(json!(list)))
}

fn private_denied(ctx: &Ctx) -> Response {
    if ctx.opts.hide_private {
        return ctx.err(StatusCode::NOT_FOUND, "Not found");
    }
    match (ctx.flavour, &ctx.caller) {
        (Flavour::Sylabs, Caller::Anonymous) => ctx.unauthorized(),
        (Flavour::Sylabs, _) => {
            ctx.err(StatusCode::FORBIDDEN, "Not authorized to access this entry")
        }
        (Flavour::Hinkskalle, _) => ctx.err(StatusCode::FORBIDDEN, "Private image, access denied."),
    }
}

fn get_container(ctx: &Ctx, e: &str, c: &str, n: &str) -> Reply {
    ctx.require_login_for_reads()?;
    let s = ctx.shared.store();
    let p = ctx.resolve(&s, e, c, n)?;
    ctx.check_read(&s, p)?;
    Ok(ctx.data(s.container_json(p.container)))
}

fn container_images(ctx: &Ctx, e: &str, c: &str, n: &str) -> Reply {
    ctx.require_login_for_reads()?;
    let s = ctx.shared.store();
    let p = ctx.resolve(&s, e, c, n)?;
    ctx.check_read(&s, p)?;
    let list: Vec<Value> = s.images_of(p.container).map(|i| s.image_json(i)).collect();
    Ok(ctx.data(json!(list)))
}

fn parse_body(ctx: &Ctx, body: &[u8]) -> Result<Value, Response> {
    serde_json::from_slice::<Value>(body)
        .ok()
        .filter(Value::is_object)
        .ok_or_else(|| ctx.bad_request("invalid JSON body"))
}

/// A string field, also under its capitalised Go name (§4.6).
fn field<'a>(v: &'a Value, names: &[&str]) -> Option<&'a str> {
    let o = v.as_object()?;
    names.iter().find_map(|n| {
        o.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(n))
            .and_then(|(_, v)| v.as_str())
    })
}

fn create_entity(ctx: &Ctx, body: &[u8]) -> Reply {
    let user = ctx.require_user()?.to_owned();
    let v = parse_body(ctx, body)?;
    let name = field(&v, &["name"]).unwrap_or_default();
    if !store::valid_name(name) {
        return Err(ctx.bad_request("invalid entity name"));
    }
    let mut s = ctx.shared.store();
    if s.entity(name).is_some() {
        return Err(ctx.exists("entity"));
    }
    if ctx.flavour == Flavour::Hinkskalle && name != user {
        return Err(ctx.err(
            StatusCode::FORBIDDEN,
            "Only admins can create entities for others",
        ));
    }
    let e = super::ensure_entity(&mut s, name, Some(&user));
    s.entities[e].description = field(&v, &["description"]).unwrap_or_default().to_owned();
    s.entities[e].default_private = v["defaultPrivate"].as_bool().unwrap_or(false);
    Ok(ctx.data(entity_json(ctx, &s, e)))
}

fn create_collection(ctx: &Ctx, body: &[u8]) -> Reply {
    ctx.require_user()?;
    let v = parse_body(ctx, body)?;
    let name = field(&v, &["name"]).unwrap_or_default();
    if !store::valid_name(name) {
        return Err(ctx.bad_request("invalid collection name"));
    }
    let mut guard = ctx.shared.store();
    let s = &mut *guard;
    let entity = field(&v, &["entity"])
        .and_then(|id| s.entity_by_id(id))
        .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, "entity not found"))?;
    ctx.require_owner(s, entity)?;
    if s.collection(entity, name).is_some() {
        return Err(ctx.exists("collection"));
    }
    let id = s.new_id();
    let private = v["private"]
        .as_bool()
        .unwrap_or(s.entities[entity].default_private);
    s.collections.push(store::Collection {
        id,
        name: name.to_owned(),
        entity: s.entities[entity].id.clone(),
        description: field(&v, &["description"]).unwrap_or_default().to_owned(),
        private,
        created_at: store::now_rfc3339(),
        created_by: ctx.caller.user().unwrap_or_default().to_owned(),
    });
    Ok(ctx.data(s.collection_json(s.collections.len() - 1)))
}

fn create_container(ctx: &Ctx, body: &[u8]) -> Reply {
    ctx.require_user()?;
    let v = parse_body(ctx, body)?;
    let name = field(&v, &["name"]).unwrap_or_default();
    if !store::valid_name(name) {
        return Err(ctx.bad_request("invalid container name"));
    }
    let mut guard = ctx.shared.store();
    let s = &mut *guard;
    let collection = field(&v, &["collection"])
        .and_then(|id| s.collection_by_id(id))
        .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, "collection not found"))?;
    let entity = s
        .entity_by_id(&s.collections[collection].entity)
        .expect("entity");
    ctx.require_owner(s, entity)?;
    if s.container(collection, name).is_some() {
        return Err(ctx.exists("container"));
    }
    let id = s.new_id();
    s.containers.push(store::Container {
        id,
        name: name.to_owned(),
        collection: s.collections[collection].id.clone(),
        description: field(&v, &["description"]).unwrap_or_default().to_owned(),
        private: v["private"].as_bool().unwrap_or(false),
        read_only: false,
        image_tags: Default::default(),
        arch_tags: Default::default(),
        download_count: 0,
        created_at: store::now_rfc3339(),
        created_by: ctx.caller.user().unwrap_or_default().to_owned(),
    });
    Ok(ctx.data(s.container_json(s.containers.len() - 1)))
}

fn valid_hash(h: &str) -> bool {
    h.strip_prefix("sha256.").is_some_and(|hex| {
        hex.len() == 64
            && hex
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}

fn create_image(ctx: &Ctx, body: &[u8]) -> Reply {
    ctx.require_user()?;
    let v = parse_body(ctx, body)?;
    let hash = field(&v, &["hash"]).unwrap_or_default();
    if !valid_hash(hash) {
        return Err(ctx.bad_request("invalid image hash"));
    }
    let mut guard = ctx.shared.store();
    let s = &mut *guard;
    let container = field(&v, &["container"])
        .and_then(|id| s.container_by_id(id))
        .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, "container not found"))?;
    let p = s.path_of(container);
    ctx.require_owner(s, p.entity)?;
    if s.images_of(container).any(|i| s.images[i].hash == hash) {
        return Err(ctx.exists("image"));
    }
    let id = s.new_id();
    s.images.push(Image {
        id,
        container: s.containers[container].id.clone(),
        hash: hash.to_owned(),
        description: field(&v, &["description"]).unwrap_or_default().to_owned(),
        size: 0,
        uploaded: false,
        signed: false,
        arch: field(&v, &["arch"]).unwrap_or_default().to_owned(),
        fingerprints: Vec::new(),
        created_at: store::now_rfc3339(),
        created_by: ctx.caller.user().unwrap_or_default().to_owned(),
        file: None,
    });
    Ok(ctx.data(s.image_json(s.images.len() - 1)))
}

fn get_image(ctx: &Ctx, reference: &str) -> Reply {
    let s = ctx.shared.store();
    let (_, i) = ctx.image_for(&s, reference)?;
    Ok(ctx.data(s.image_json(i)))
}

fn delete_image(ctx: &Ctx, reference: &str) -> Reply {
    ctx.require_user()?;
    let mut s = ctx.shared.store();
    let (p, i) = ctx.image_for(&s, reference)?;
    ctx.require_owner(&s, p.entity)?;
    let body = s.image_json(i);
    let img = s.delete_image(i);
    if let Some(f) = img.file {
        let _ = std::fs::remove_file(f);
    }
    Ok(ctx.data(body))
}

fn container_for_tags(ctx: &Ctx, s: &Store, cid: &str) -> Result<(Path3, usize), Response> {
    let k = s
        .container_by_id(cid)
        .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, "Not found"))?;
    let p = s.path_of(k);
    ctx.check_read(s, p)?;
    Ok((p, k))
}

fn get_tags(ctx: &Ctx, cid: &str, v2: bool) -> Reply {
    let s = ctx.shared.store();
    let (_, k) = container_for_tags(ctx, &s, cid)?;
    let c = &s.containers[k];
    Ok(if v2 {
        ctx.data(json!(c.arch_tags))
    } else {
        ctx.data(json!(c.image_tags))
    })
}

/// `POST /v1|v2/tags/{containerID}` with `{Tag, ImageID[, Arch]}` in any case (§4.6, §12.5),
/// or (Hinkskalle) a map body; an empty image ID removes the tag. Answers exactly 200.
fn set_tags(ctx: &Ctx, cid: &str, v2: bool, body: &[u8]) -> Reply {
    ctx.require_user()?;
    let v = parse_body(ctx, body)?;
    let mut s = ctx.shared.store();
    let (p, k) = container_for_tags(ctx, &s, cid)?;
    ctx.require_owner(&s, p.entity)?;
    // (arch, tag, image ID)
    let mut writes: Vec<(Option<String>, String, String)> = Vec::new();
    if let Some(tag) = field(&v, &["tag"]) {
        let image = field(&v, &["imageID", "imageId"]).unwrap_or_default();
        let arch = if v2 {
            match field(&v, &["arch"]).filter(|a| !a.is_empty()) {
                Some(a) => Some(a.to_owned()),
                None => return Err(ctx.bad_request("arch is required")),
            }
        } else {
            None
        };
        writes.push((arch, tag.to_owned(), image.to_owned()));
    } else if ctx.flavour == Flavour::Hinkskalle {
        for (key, val) in v.as_object().into_iter().flatten() {
            match (v2, val) {
                (false, Value::String(id)) => writes.push((None, key.clone(), id.clone())),
                (true, Value::Object(m)) => {
                    for (tag, id) in m {
                        let id = id.as_str().unwrap_or_default();
                        writes.push((Some(key.clone()), tag.clone(), id.to_owned()));
                    }
                }
                _ => return Err(ctx.bad_request("invalid tag body")),
            }
        }
    } else {
        return Err(ctx.bad_request("missing tag"));
    }
    for (arch, tag, image) in writes {
        if !store::valid_name(&tag) {
            return Err(ctx.bad_request(&format!("invalid tag {tag:?}")));
        }
        if image.is_empty() {
            s.remove_tag(k, arch.as_deref(), &tag);
            continue;
        }
        let i = s
            .image_by_id(&image)
            .filter(|&i| s.images[i].container == cid)
            .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, "image not found"))?;
        if let Some(a) = &arch {
            if ctx.flavour == Flavour::Hinkskalle || s.images[i].arch.is_empty() {
                s.images[i].arch = a.clone();
            }
        }
        s.set_tag(k, arch.as_deref(), &tag, &image);
    }
    let c = &s.containers[k];
    Ok(if v2 {
        ctx.data(json!(c.arch_tags))
    } else {
        ctx.data(json!(c.image_tags))
    })
}

/// `GET /v1/search?value=&arch=a[,b]&signed=true` (§7, §14): names and descriptions
/// containing the value (case-insensitive), images also by hash prefix; `arch`/`signed`
/// restrict the answer to images.
fn search(ctx: &Ctx) -> Reply {
    ctx.require_login_for_reads()?;
    let value = ctx
        .params
        .get("value")
        .map(|v| v.trim().to_lowercase())
        .unwrap_or_default();
    if value.is_empty() {
        return Err(ctx.bad_request("search value required"));
    }
    let archs: Vec<&str> = ctx
        .params
        .get("arch")
        .map(|a| {
            a.split(',')
                .map(str::trim)
                .filter(|a| !a.is_empty())
                .collect()
        })
        .unwrap_or_default();
    let signed = ctx
        .params
        .get("signed")
        .map(|v| v.eq_ignore_ascii_case("true"));
    let images_only = !archs.is_empty() || signed.is_some();
    let s = ctx.shared.store();
    let hit = |text: &str| text.to_lowercase().contains(&value);
    let user = ctx.caller.user();

    let mut entities = Vec::new();
    let mut collections = Vec::new();
    let mut containers = Vec::new();
    if !images_only {
        for (e, ent) in s.entities.iter().enumerate() {
            if hit(&ent.name) || hit(&ent.description) {
                entities.push(entity_json(ctx, &s, e));
            }
        }
        for (c, col) in s.collections.iter().enumerate() {
            let entity = s.entity_by_id(&col.entity).expect("entity");
            if (hit(&col.name) || hit(&col.description)) && (!col.private || s.owns(user, entity)) {
                collections.push(s.collection_json(c));
            }
        }
        for (k, con) in s.containers.iter().enumerate() {
            let p = s.path_of(k);
            if (hit(&con.name) || hit(&con.description))
                && (!s.is_private(p) || s.owns(user, p.entity))
            {
                containers.push(s.container_json(k));
            }
        }
    }
    let mut images = Vec::new();
    for (i, img) in s.images.iter().enumerate() {
        let Some(k) = s.container_by_id(&img.container) else {
            continue;
        };
        let p = s.path_of(k);
        if s.is_private(p) && !s.owns(user, p.entity) {
            continue;
        }
        let hex = img.hash.strip_prefix("sha256.").unwrap_or(&img.hash);
        let matched = hit(&s.containers[k].name)
            || hit(&s.collections[p.collection].name)
            || hit(&s.entities[p.entity].name)
            || hit(&img.description)
            || img.hash.starts_with(&value)
            || hex.starts_with(&value);
        let arch_ok = archs.is_empty() || archs.contains(&img.arch.as_str());
        let signed_ok = signed.is_none_or(|want| !want || img.signed);
        if matched && arch_ok && signed_ok {
            images.push(s.image_json(i));
        }
    }
    Ok(ctx.data(json!({
        "entity": entities,
        "collection": collections,
        "container": containers,
        "image": images,
    })))
}

/// `GET|HEAD /v1/imagefile/{ref}:{tag}?arch=`: 200 with the file (honouring `Range`), or
/// 303 to `/storage/{id}` with `redirect_downloads`. Every GET counts as a download.
fn download(ctx: &Ctx, reference: &str) -> Reply {
    let mut s = ctx.shared.store();
    let (p, i) = ctx.image_for(&s, reference)?;
    let img = &s.images[i];
    let Some(file) = img.file.clone().filter(|_| img.uploaded) else {
        return Err(ctx.err(StatusCode::NOT_FOUND, "Image file not uploaded"));
    };
    let (id, size) = (img.id.clone(), img.size);
    if ctx.method == Method::GET {
        s.containers[p.container].download_count += 1;
    }
    drop(s);
    if ctx.opts.redirect_downloads {
        let location = format!(
            "{}/storage/{id}?X-Amz-Expires=300&X-Amz-Signature={}",
            ctx.shared.base(),
            &store::sha256_hex(id.as_bytes())[..16]
        );
        return Ok((
            StatusCode::SEE_OTHER,
            [(header::LOCATION, location)],
            Body::empty(),
        )
            .into_response());
    }
    Ok(serve_file(ctx, &file, size))
}

/// The redirect target: a presigned-style URL that needs no Authorization.
fn storage(ctx: &Ctx, id: &str) -> Reply {
    let s = ctx.shared.store();
    let found = s.image_by_id(id).map(|i| &s.images[i]).and_then(|img| {
        img.file
            .clone()
            .filter(|_| img.uploaded)
            .map(|f| (f, img.size))
    });
    drop(s);
    match found {
        Some((file, size)) => Ok(serve_file(ctx, &file, size)),
        None => Err(ctx.err(StatusCode::NOT_FOUND, "Not found")),
    }
}

/// `bytes=a-b`, `bytes=a-`, `bytes=-n` (single range) → inclusive `(start, end)`;
/// `Some(Err(()))` if unsatisfiable; `None` for no usable Range (multi-range is ignored,
/// as S3 does).
fn parse_range(value: &str, size: u64) -> Option<Result<(u64, u64), ()>> {
    let spec = value.trim().strip_prefix("bytes=")?;
    if spec.contains(',') {
        return None;
    }
    let (a, b) = spec.split_once('-')?;
    let (a, b) = (a.trim(), b.trim());
    if a.is_empty() {
        let n: u64 = b.parse().ok()?;
        if n == 0 || size == 0 {
            return Some(Err(()));
        }
        return Some(Ok((size.saturating_sub(n), size - 1)));
    }
    let start: u64 = a.parse().ok()?;
    let end: u64 = if b.is_empty() {
        u64::MAX
    } else {
        let e = b.parse().ok()?;
        if e < start {
            return None;
        }
        e
    };
    if start >= size {
        return Some(Err(()));
    }
    Some(Ok((start, end.min(size - 1))))
}

fn serve_file(ctx: &Ctx, file: &Path, size: u64) -> Response {
    let range = if ctx.opts.ignore_range {
        None
    } else {
        ctx.headers
            .get(header::RANGE)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| parse_range(v, size))
    };
    let mut headers = HeaderMap::new();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    if !ctx.opts.ignore_range {
        headers.insert(header::ACCEPT_RANGES, HeaderValue::from_static("bytes"));
    }
    let (status, start, end) = match range {
        Some(Err(())) => {
            headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes */{size}")).expect("header"),
            );
            return (StatusCode::RANGE_NOT_SATISFIABLE, headers, Body::empty()).into_response();
        }
        Some(Ok((a, b))) => {
            headers.insert(
                header::CONTENT_RANGE,
                HeaderValue::from_str(&format!("bytes {a}-{b}/{size}")).expect("header"),
            );
            (StatusCode::PARTIAL_CONTENT, a, b + 1)
        }
        None => (StatusCode::OK, 0, size),
    };
    headers.insert(header::CONTENT_LENGTH, HeaderValue::from(end - start));
    if ctx.method == Method::HEAD {
        return (status, headers, Body::empty()).into_response();
    }
    let body = file_body(
        file.to_path_buf(),
        start,
        end,
        ctx.opts.reset_after_bytes,
        ctx.opts.throttle_bytes_per_sec.filter(|&r| r > 0),
    );
    (status, headers, body).into_response()
}

/// Streams `[start, end)` of a file; with `reset` inside the range (or 0), the body fails
/// there, which makes the server drop the connection mid-response.
fn file_body(
    path: PathBuf,
    start: u64,
    end: u64,
    reset: Option<u64>,
    throttle: Option<u64>,
) -> Body {
    let reset = reset.filter(|&r| r == 0 || (start < r && r < end));
    let stream =
        futures_util::stream::unfold((None::<std::fs::File>, start), move |(file, pos)| {
            let path = path.clone();
            async move {
                if pos >= end {
                    return None;
                }
                if reset.is_some_and(|r| pos >= r) {
                    // Pending for a moment first, so hyper flushes what was sent so far;
                    // the client then sees exactly the bytes before the break.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    let e = std::io::Error::new(
                        std::io::ErrorKind::ConnectionReset,
                        "berth-testkit: reset_after_bytes",
                    );
                    return Some((Err(e), (file, end)));
                }
                let mut f = match file {
                    Some(f) => f,
                    None => match std::fs::File::open(&path)
                        .and_then(|mut f| f.seek(SeekFrom::Start(pos)).map(|_| f))
                    {
                        Ok(f) => f,
                        Err(e) => return Some((Err(e), (None, end))),
                    },
                };
                if let Some(rate) = throttle {
                    tokio::time::sleep(Duration::from_secs_f64(CHUNK as f64 / rate as f64)).await;
                }
                let limit = reset.unwrap_or(u64::MAX).max(pos + 1).min(end);
                let want = CHUNK.min(limit - pos);
                let mut buf = vec![0u8; usize::try_from(want).unwrap_or(64 << 10)];
                match f.read(&mut buf) {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        Some((Ok(Bytes::from(buf)), (Some(f), pos + n as u64)))
                    }
                    Err(e) => Some((Err(e), (None, end))),
                }
            }
        });
    Body::from_stream(stream)
}

/// `POST /v2/imagefile/{id}` `{"filesize","sha256sum","md5sum"}` → a presigned-style
/// `uploadURL` (§5 step 8). Quota is checked here: 507 when it would be exceeded.
fn upload_init(ctx: &Ctx, id: &str, body: &[u8]) -> Reply {
    ctx.require_user()?;
    let v = parse_body(ctx, body)?;
    let Some(filesize) = v["filesize"].as_u64() else {
        return Err(ctx.bad_request("filesize required"));
    };
    let sha256 = field(&v, &["sha256sum"]).unwrap_or_default().to_lowercase();
    let mut s = ctx.shared.store();
    let i = s
        .image_by_id(id)
        .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, "Not found"))?;
    let k = s
        .container_by_id(&s.images[i].container)
        .expect("container");
    let p = s.path_of(k);
    ctx.require_owner(&s, p.entity)?;
    check_quota(ctx, &s, p.entity, filesize)?;
    let token = s.new_token();
    s.uploads.insert(
        token.clone(),
        Upload {
            image: id.to_owned(),
            filesize,
            sha256,
            received: None,
            part: None,
        },
    );
    let url = format!(
        "{}/upload/{token}?X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature={token}",
        ctx.shared.base()
    );
    Ok(ctx.data(json!({ "uploadURL": url })))
}

fn check_quota(ctx: &Ctx, s: &Store, entity: usize, adding: u64) -> Result<(), Response> {
    let Some(owner) = s.entities[entity].owner.as_deref() else {
        return Ok(());
    };
    match ctx.quota_of(s, owner) {
        Some(q) if s.usage(owner).saturating_add(adding) > q => {
            Err(ctx.err(StatusCode::INSUFFICIENT_STORAGE, "Insufficient storage"))
        }
        _ => Ok(()),
    }
}

/// Streamed bodies: `PUT /upload/{token}` (no auth needed) and legacy
/// `POST /v1/imagefile/{id}`.
async fn upload_body(ctx: &Ctx, segs: &[&str], body: Body) -> Reply {
    let mismatch = match ctx.flavour {
        Flavour::Sylabs => StatusCode::BAD_REQUEST,
        Flavour::Hinkskalle => StatusCode::UNPROCESSABLE_ENTITY,
    };
    match segs {
        ["upload", token] => {
            let upload = ctx.shared.store().uploads.get(*token).cloned();
            let Some(upload) = upload else {
                return Err(ctx.err(StatusCode::FORBIDDEN, "invalid or expired upload URL"));
            };
            if upload.received.is_some() && ctx.flavour == Flavour::Hinkskalle {
                return Err(ctx.err(StatusCode::NOT_ACCEPTABLE, "upload already done"));
            }
            if let Some((upload_id, number)) = &upload.part {
                let fail = {
                    let mut s = ctx.shared.store();
                    let Some(mp) = s.multiparts.get_mut(upload_id) else {
                        return Err(ctx.err(StatusCode::FORBIDDEN, "invalid or expired upload URL"));
                    };
                    ctx.opts.fail_part == Some(*number) && mp.failed_parts.insert(*number)
                };
                if fail {
                    // Read the body first so the client sees the 500, not a broken pipe.
                    let mut stream = body.into_data_stream();
                    while let Some(Ok(_)) = stream.next().await {}
                    return Err(ctx.err(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &format!("part {number} failed (fail_part)"),
                    ));
                }
            }
            let dest = ctx.shared.uploads_dir().join(format!("{token}.part"));
            let (size, sha) = receive(body, &dest)
                .await
                .map_err(|e| ctx.bad_request(&format!("upload failed: {e}")))?;
            if size != upload.filesize || (!upload.sha256.is_empty() && sha != upload.sha256) {
                let _ = std::fs::remove_file(&dest);
                return Err(ctx.err(mismatch, "size or checksum mismatch"));
            }
            let etag = match (&upload.part, ctx.flavour) {
                // S3 quotes its ETags; Hinkskalle answers the bare sha256 (§14).
                (Some(_), Flavour::Sylabs) => format!("\"{sha}\""),
                _ => sha,
            };
            let mut s = ctx.shared.store();
            if let Some((upload_id, number)) = &upload.part {
                let Some(mp) = s.multiparts.get_mut(upload_id) else {
                    // Aborted while the bytes were arriving.
                    let _ = std::fs::remove_file(&dest);
                    return Err(ctx.err(StatusCode::FORBIDDEN, "invalid or expired upload URL"));
                };
                let old = mp.parts.insert(
                    *number,
                    Part {
                        file: dest.clone(),
                        etag: etag.clone(),
                    },
                );
                if let Some(old) = old.filter(|o| o.file != dest) {
                    let _ = std::fs::remove_file(old.file);
                }
            }
            if let Some(u) = s.uploads.get_mut(*token) {
                u.received = Some(dest);
            }
            Ok((StatusCode::OK, [(header::ETAG, etag)], Body::empty()).into_response())
        }
        ["v1", "imagefile", id] => {
            if ctx.caller == Caller::Invalid {
                return Err(ctx.unauthorized());
            }
            ctx.require_user()?;
            let (i, entity) = {
                let s = ctx.shared.store();
                let i = s
                    .image_by_id(id)
                    .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, "Not found"))?;
                let k = s
                    .container_by_id(&s.images[i].container)
                    .expect("container");
                let p = s.path_of(k);
                ctx.require_owner(&s, p.entity)?;
                let announced = ctx
                    .headers
                    .get(header::CONTENT_LENGTH)
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse().ok())
                    .unwrap_or(0);
                check_quota(ctx, &s, p.entity, announced)?;
                (s.images[i].id.clone(), p.entity)
            };
            let dest = ctx.shared.uploads_dir().join(format!("legacy-{i}.part"));
            let (size, sha) = receive(body, &dest)
                .await
                .map_err(|e| ctx.bad_request(&format!("upload failed: {e}")))?;
            let mut s = ctx.shared.store();
            if let Err(e) = check_quota(ctx, &s, entity, size) {
                let _ = std::fs::remove_file(&dest);
                return Err(e);
            }
            finish_upload(ctx, &mut s, &i, &dest, size, &sha, mismatch)?;
            Ok(ctx.data(json!({})))
        }
        _ => Err(ctx.err(StatusCode::NOT_FOUND, "Not found")),
    }
}

/// Moves a received file into place and marks the image uploaded.
fn finish_upload(
    ctx: &Ctx,
    s: &mut Store,
    id: &str,
    received: &Path,
    size: u64,
    sha: &str,
    mismatch: StatusCode,
) -> Result<usize, Response> {
    let i = s
        .image_by_id(id)
        .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, "Not found"))?;
    if s.images[i].hash != format!("sha256.{sha}") {
        let _ = std::fs::remove_file(received);
        return Err(ctx.err(mismatch, "image hash does not match the uploaded file"));
    }
    let dest = ctx.storage_path(id);
    std::fs::rename(received, &dest)
        .map_err(|e| ctx.err(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()))?;
    let img = &mut s.images[i];
    img.file = Some(dest);
    img.size = size;
    img.uploaded = true;
    Ok(i)
}

/// `PUT /v2/imagefile/{id}/_complete`: the quota and container URL (§5, §14).
fn upload_complete(ctx: &Ctx, id: &str) -> Reply {
    let user = ctx.require_user()?.to_owned();
    let mut s = ctx.shared.store();
    let i = s
        .image_by_id(id)
        .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, "Not found"))?;
    let k = s
        .container_by_id(&s.images[i].container)
        .expect("container");
    let p = s.path_of(k);
    ctx.require_owner(&s, p.entity)?;
    let token = s
        .uploads
        .iter()
        .find(|(_, u)| u.image == id && u.part.is_none() && u.received.is_some())
        .map(|(t, _)| t.clone())
        .ok_or_else(|| ctx.bad_request("no completed upload for this image"))?;
    let upload = s.uploads.remove(&token).expect("upload");
    let received = upload.received.expect("received");
    let sha = upload.sha256.clone();
    let sha = if sha.is_empty() {
        std::fs::read(&received)
            .map(|b| store::sha256_hex(&b))
            .unwrap_or_default()
    } else {
        sha
    };
    let mismatch = match ctx.flavour {
        Flavour::Sylabs => StatusCode::BAD_REQUEST,
        Flavour::Hinkskalle => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let i = finish_upload(ctx, &mut s, id, &received, upload.filesize, &sha, mismatch)?;
    Ok(completion(ctx, &mut s, i, &user))
}

/// After a v2 upload completed: Hinkskalle's tagging, and the quota and container URL
/// (§5, §14).
fn completion(ctx: &Ctx, s: &mut Store, i: usize, user: &str) -> Response {
    let id = s.images[i].id.clone();
    let k = s
        .container_by_id(&s.images[i].container)
        .expect("container");
    let p = s.path_of(k);
    if ctx.flavour == Flavour::Hinkskalle {
        // §14: completion tags `latest` for amd64 and rewrites the image's arch.
        s.images[i].arch = "amd64".into();
        s.set_tag(k, Some("amd64"), "latest", &id);
    }
    let (e, c, n) = (
        &s.entities[p.entity].name,
        &s.collections[p.collection].name,
        &s.containers[k].name,
    );
    let container_url = match ctx.flavour {
        Flavour::Sylabs => format!("/library/{e}/{c}/{n}"),
        Flavour::Hinkskalle => format!("entities/{e}/collections/{c}/containers/{n}"),
    };
    let quota = ctx.quota_of(s, user).unwrap_or(0);
    ctx.data(json!({
        "containerUrl": container_url,
        "quota": { "quotaTotal": quota, "quotaUsage": s.usage(user) },
    }))
}

/// The image `id` names, with the caller required to own its entity (for uploads).
fn owned_image(ctx: &Ctx, s: &Store, id: &str) -> Result<(usize, Path3), Response> {
    ctx.require_user()?;
    let i = s
        .image_by_id(id)
        .ok_or_else(|| ctx.err(StatusCode::NOT_FOUND, "Not found"))?;
    let k = s
        .container_by_id(&s.images[i].container)
        .expect("container");
    let p = s.path_of(k);
    ctx.require_owner(s, p.entity)?;
    Ok((i, p))
}

/// The multipart session a body's `uploadID` names, for image `id`.
fn session_id(ctx: &Ctx, s: &Store, id: &str, v: &Value) -> Result<String, Response> {
    let upload_id = field(v, &["uploadID"])
        .filter(|u| !u.is_empty())
        .ok_or_else(|| ctx.bad_request("uploadID required"))?;
    match s.multiparts.get(upload_id) {
        Some(mp) if mp.image == id => Ok(upload_id.to_owned()),
        _ => Err(ctx.err(StatusCode::NOT_FOUND, "upload not found")),
    }
}

/// `POST /v2/imagefile/{id}/_multipart` `{"filesize"}` → uploadID, part size and count
/// (§5.1). Quota is checked here (507), as for single-part; `disable_multipart` answers 404.
fn multipart_start(ctx: &Ctx, id: &str, body: &[u8]) -> Reply {
    if ctx.opts.disable_multipart {
        return Err(ctx.err(StatusCode::NOT_FOUND, "Not found"));
    }
    ctx.require_user()?;
    let v = parse_body(ctx, body)?;
    let Some(filesize) = v["filesize"].as_u64() else {
        return Err(ctx.bad_request("filesize required"));
    };
    let mut s = ctx.shared.store();
    let (_, p) = owned_image(ctx, &s, id)?;
    check_quota(ctx, &s, p.entity, filesize)?;
    let part_size = ctx
        .opts
        .multipart_part_size
        .filter(|&n| n > 0)
        .unwrap_or(match ctx.flavour {
            Flavour::Sylabs => 64 << 20,
            Flavour::Hinkskalle => 5 << 20,
        });
    let total_parts = u32::try_from(filesize.div_ceil(part_size).max(1))
        .map_err(|_| ctx.bad_request("too many parts"))?;
    let upload_id = s.new_token();
    s.multiparts.insert(
        upload_id.clone(),
        Multipart {
            image: id.to_owned(),
            filesize,
            part_size,
            total_parts,
            parts: Default::default(),
            failed_parts: Default::default(),
        },
    );
    let options = match ctx.flavour {
        Flavour::Sylabs => json!({ "s3compliant": "true" }),
        Flavour::Hinkskalle => json!({}),
    };
    Ok(ctx.data(json!({
        "uploadID": upload_id,
        "totalParts": total_parts,
        "partSize": part_size,
        "options": options,
    })))
}

/// `PUT /v2/imagefile/{id}/_multipart` `{"uploadID","partNumber","partSize","sha256sum"}`
/// → a presigned-style `presignedURL` for that part (§5.1). A part number outside
/// `1..=totalParts` answers 406 (Hinkskalle, §14) or 400 (Sylabs); so does a `partSize`
/// other than the part's.
fn multipart_part(ctx: &Ctx, id: &str, body: &[u8]) -> Reply {
    ctx.require_user()?;
    let v = parse_body(ctx, body)?;
    let mut s = ctx.shared.store();
    owned_image(ctx, &s, id)?;
    let upload_id = session_id(ctx, &s, id, &v)?;
    let mp = &s.multiparts[&upload_id];
    let bad_part = |msg: &str| match ctx.flavour {
        Flavour::Sylabs => ctx.bad_request(msg),
        Flavour::Hinkskalle => ctx.err(StatusCode::NOT_ACCEPTABLE, msg),
    };
    let number = v["partNumber"]
        .as_u64()
        .and_then(|n| u32::try_from(n).ok())
        .filter(|n| (1..=mp.total_parts).contains(n))
        .ok_or_else(|| bad_part("invalid partNumber"))?;
    let start = u64::from(number - 1) * mp.part_size;
    let expected = mp.part_size.min(mp.filesize.saturating_sub(start));
    if v["partSize"].as_u64() != Some(expected) {
        return Err(bad_part(&format!("partSize must be {expected}")));
    }
    let sha256 = field(&v, &["sha256sum"]).unwrap_or_default().to_lowercase();
    let token = s.new_token();
    s.uploads.insert(
        token.clone(),
        Upload {
            image: id.to_owned(),
            filesize: expected,
            sha256,
            received: None,
            part: Some((upload_id, number)),
        },
    );
    let url = format!(
        "{}/upload/{token}?partNumber={number}&X-Amz-Expires=300&X-Amz-SignedHeaders=host&X-Amz-Signature={token}",
        ctx.shared.base()
    );
    Ok(ctx.data(json!({ "presignedURL": url })))
}

/// Forgets a multipart session: its part URLs and received parts.
fn drop_session(s: &mut Store, upload_id: &str) -> Option<Multipart> {
    let mp = s.multiparts.remove(upload_id)?;
    s.uploads
        .retain(|_, u| u.part.as_ref().is_none_or(|(u_id, _)| u_id != upload_id));
    for part in mp.parts.values() {
        let _ = std::fs::remove_file(&part.file);
    }
    Some(mp)
}

/// `PUT /v2/imagefile/{id}/_multipart_complete`
/// `{"uploadID","completedParts":[{"partNumber","token"}]}`: every part must be listed once
/// with its ETag and received (else 400); the assembled file must have the announced size
/// and the image's hash (else 400 on Sylabs, 422 on Hinkskalle, as for single-part). Answers
/// the single-part completion object (§5.1).
fn multipart_complete(ctx: &Ctx, id: &str, body: &[u8]) -> Reply {
    let user = ctx.require_user()?.to_owned();
    let v = parse_body(ctx, body)?;
    let mut s = ctx.shared.store();
    owned_image(ctx, &s, id)?;
    let upload_id = session_id(ctx, &s, id, &v)?;
    let mp = &s.multiparts[&upload_id];
    let listed: Vec<(u64, &str)> = v["completedParts"]
        .as_array()
        .ok_or_else(|| ctx.bad_request("completedParts required"))?
        .iter()
        .map(|p| {
            let n = p["partNumber"].as_u64().unwrap_or(0);
            (n, field(p, &["token"]).unwrap_or_default())
        })
        .collect();
    let unquote = |t: &str| t.trim().trim_matches('"').to_owned();
    for n in 1..=mp.total_parts {
        let Some(part) = mp.parts.get(&n) else {
            return Err(ctx.bad_request(&format!("part {n} was not uploaded")));
        };
        let mut tokens = listed.iter().filter(|(m, _)| *m == u64::from(n));
        match (tokens.next(), tokens.next()) {
            (Some((_, t)), None) if unquote(t) == unquote(&part.etag) => {}
            (None, _) => return Err(ctx.bad_request(&format!("part {n} missing"))),
            (Some(_), Some(_)) => return Err(ctx.bad_request(&format!("part {n} listed twice"))),
            (Some(_), None) => {
                return Err(ctx.bad_request(&format!("part {n}: token does not match")))
            }
        }
    }
    if listed.len() != mp.total_parts as usize {
        return Err(ctx.bad_request("completedParts lists unknown parts"));
    }
    let mismatch = match ctx.flavour {
        Flavour::Sylabs => StatusCode::BAD_REQUEST,
        Flavour::Hinkskalle => StatusCode::UNPROCESSABLE_ENTITY,
    };
    let internal = |e: std::io::Error| ctx.err(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string());
    let dest = ctx
        .shared
        .uploads_dir()
        .join(format!("multipart-{upload_id}.part"));
    let (size, sha) = {
        use sha2::Digest as _;
        let mut out = std::fs::File::create(&dest).map_err(internal)?;
        let mut hasher = sha2::Sha256::new();
        let mut size = 0u64;
        for part in mp.parts.values() {
            let bytes = std::fs::read(&part.file).map_err(internal)?;
            out.write_all(&bytes).map_err(internal)?;
            hasher.update(&bytes);
            size += bytes.len() as u64;
        }
        out.flush().map_err(internal)?;
        (size, store::hex(&hasher.finalize()))
    };
    let filesize = mp.filesize;
    drop_session(&mut s, &upload_id);
    if size != filesize {
        let _ = std::fs::remove_file(&dest);
        return Err(ctx.err(mismatch, "assembled size does not match filesize"));
    }
    let i = finish_upload(ctx, &mut s, id, &dest, size, &sha, mismatch)?;
    Ok(completion(ctx, &mut s, i, &user))
}

/// `PUT /v2/imagefile/{id}/_multipart_abort` `{"uploadID"}`: drops the session's parts;
/// its part URLs answer 403 afterwards.
fn multipart_abort(ctx: &Ctx, id: &str, body: &[u8]) -> Reply {
    ctx.require_user()?;
    let v = parse_body(ctx, body)?;
    let mut s = ctx.shared.store();
    owned_image(ctx, &s, id)?;
    let upload_id = session_id(ctx, &s, id, &v)?;
    drop_session(&mut s, &upload_id);
    Ok(ctx.data(json!({})))
}

async fn receive(body: Body, dest: &Path) -> std::io::Result<(u64, String)> {
    use sha2::Digest as _;
    let mut stream = body.into_data_stream();
    let mut file = std::fs::File::create(dest)?;
    let mut hasher = sha2::Sha256::new();
    let mut size = 0u64;
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(std::io::Error::other)?;
        file.write_all(&chunk)?;
        hasher.update(&chunk);
        size += chunk.len() as u64;
    }
    file.flush()?;
    Ok((size, store::hex(&hasher.finalize())))
}

/// The flavour's error body (§10, §14).
fn error(flavour: Flavour, base: &str, status: StatusCode, message: &str) -> Response {
    let code = status.as_u16();
    match flavour {
        Flavour::Sylabs => json_response(
            status,
            &json!({ "error": { "code": code, "message": message } }),
        ),
        Flavour::Hinkskalle => {
            if status == StatusCode::UNAUTHORIZED {
                let mut r = json_response(
                    status,
                    &json!({
                        "errors": [{ "code": code, "detail": message, "title": "Fail!" }],
                        "status": "error",
                    }),
                );
                if let Ok(v) = HeaderValue::from_str(&format!("bearer realm=\"{base}/v2/\"")) {
                    r.headers_mut().insert(header::WWW_AUTHENTICATE, v);
                }
                r
            } else if status == StatusCode::BAD_REQUEST {
                json_response(
                    status,
                    &json!({
                        "errors": { "_body": [message] },
                        "message": "JSON body parameters are invalid.",
                        "rebar_error_code": "body_validation_failed",
                    }),
                )
            } else {
                json_response(status, &json!({ "message": message }))
            }
        }
    }
}

fn json_response(status: StatusCode, body: &Value) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
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

    #[test]
    fn ranges() {
        assert_eq!(parse_range("bytes=0-9", 100), Some(Ok((0, 9))));
        assert_eq!(parse_range("bytes=90-", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=90-200", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=-10", 100), Some(Ok((90, 99))));
        assert_eq!(parse_range("bytes=100-", 100), Some(Err(())));
        assert_eq!(parse_range("bytes=0-1,5-6", 100), None);
        assert_eq!(parse_range("items=0-1", 100), None);
        assert_eq!(parse_range("bytes=5-1", 100), None);
    }
}
