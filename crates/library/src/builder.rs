//! Client of the remote build service (§8): build context, submit, status, cancel and the
//! WebSocket build log.
//!
//! The builder is a separate service (`builderAPI` in discovery) with its own quirks: the
//! reference sends the scheme word upper case (`Authorization: BEARER <token>`), uploads the
//! build context to a location that must not see the token, and streams the log as raw text
//! frames. Result delivery is the normal library pull (§8.4), so it is not repeated here.

mod context;
mod log;
mod tls;

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use reqwest::{header, Method, Url};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use crate::error::{Error, ErrorKind, Result};
use crate::http::{decode_data, seg, Reply};
use crate::options::{
    build_http, build_transfer_http, normalize_base_url, RemoteOptions, Timeouts,
};
use crate::secret::Secret;

/// The builder's own answers are small; anything bigger is not the protocol.
const MAX_BODY: usize = 1 << 20;

/// What to build and where the result goes (§8.2).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BuildRequest {
    /// The definition file's raw bytes (sent base64-encoded as `definitionRaw`).
    pub definition: Vec<u8>,
    /// Destination `library://…` reference; empty lets the server pick an ephemeral one.
    pub library_ref: String,
    /// Library the builder pushes to and pulls `Bootstrap: library` sources from.
    pub library_url: Option<String>,
    /// Architecture to build for (`builderRequirements.arch`).
    pub arch: Option<String>,
    /// Digest of an uploaded build context ([`BuilderClient::upload_context`]).
    pub context_digest: Option<String>,
    /// Directory the definition's relative `%files` paths are relative to.
    pub working_dir: Option<String>,
}

impl BuildRequest {
    /// The JSON body of `POST v1/build`: empty optional fields are left out, as the
    /// reference's `omitempty` does, while `libraryRef` is always present.
    pub fn to_json(&self) -> Value {
        let mut body = Map::new();
        body.insert(
            "definitionRaw".into(),
            base64::engine::general_purpose::STANDARD
                .encode(&self.definition)
                .into(),
        );
        body.insert("libraryRef".into(), self.library_ref.clone().into());
        let present = |v: &Option<String>| v.clone().filter(|s| !s.is_empty());
        if let Some(url) = present(&self.library_url) {
            body.insert("libraryURL".into(), url.into());
        }
        if let Some(arch) = present(&self.arch) {
            body.insert("builderRequirements".into(), json!({ "arch": arch }));
        }
        if let Some(digest) = present(&self.context_digest) {
            body.insert("contextDigest".into(), digest.into());
        }
        if let Some(dir) = present(&self.working_dir) {
            body.insert("workingDir".into(), dir.into());
        }
        Value::Object(body)
    }
}

/// A build as the service reports it. Decoded leniently: older servers add fields, and
/// sizes may come as strings.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
pub struct BuildInfo {
    /// Opaque build ID.
    #[serde(deserialize_with = "crate::de::string")]
    pub id: String,
    /// Whether the build has ended (successfully or not).
    #[serde(rename = "isComplete", deserialize_with = "crate::de::bool")]
    pub is_complete: bool,
    /// Size of the produced image; 0 means there is none.
    #[serde(rename = "imageSize", deserialize_with = "crate::de::u64")]
    pub image_size: u64,
    /// `sha256.<hex>` of the produced image.
    #[serde(rename = "imageChecksum", deserialize_with = "crate::de::string")]
    pub image_checksum: String,
    /// Where the image is (or will be) in the library.
    #[serde(rename = "libraryRef", deserialize_with = "crate::de::string")]
    pub library_ref: String,
    /// The library holding it.
    #[serde(rename = "libraryURL", deserialize_with = "crate::de::string")]
    pub library_url: String,
}

/// Whether a finished build produced an image (§8.4): there is no exit code, only
/// `isComplete` and a non-zero `imageSize`.
pub fn result_ok(info: &BuildInfo) -> Result<()> {
    if !info.is_complete {
        return Err(Error::new(
            ErrorKind::BadResponse,
            format!("the build {} has not finished", info.id),
        ));
    }
    if info.image_size == 0 {
        return Err(Error::new(
            ErrorKind::Rejected,
            format!(
                "the build did not produce an image (build {}); its log says why",
                info.id
            ),
        ));
    }
    Ok(())
}

/// Client of one build service. Cheap to clone.
#[derive(Clone)]
pub struct BuilderClient {
    base: Url,
    token: Option<Secret>,
    /// Metadata calls: 30 s per request, as the reference.
    http: reqwest::Client,
    /// Context uploads: no overall limit, a read timeout instead.
    transfer: reqwest::Client,
    connect_timeout: Duration,
    /// TLS of the log socket; `None`: the web roots.
    ws_tls: Option<tokio_tungstenite::Connector>,
}

impl std::fmt::Debug for BuilderClient {
    // By hand: the token must never be printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BuilderClient")
            .field("base", &self.base.as_str())
            .field("has_token", &self.token.is_some())
            .finish_non_exhaustive()
    }
}

impl BuilderClient {
    /// A client of the builder at `base_url` (discovery's `builderAPI.uri`); no request is
    /// made. An empty token counts as none (the service will then refuse builds).
    pub fn new(base_url: &str, token: Option<Secret>, options: &RemoteOptions) -> Result<Self> {
        let timeouts = Timeouts::default();
        Ok(Self {
            base: normalize_base_url(base_url, options.insecure_http)?,
            token: token.filter(|t| !t.is_empty()),
            http: build_http(options, timeouts)?,
            transfer: build_transfer_http(options, timeouts)?,
            connect_timeout: timeouts.connect,
            ws_tls: tls::connector(options)?,
        })
    }

    /// The builder base URL (always ends in `/`).
    pub fn base_url(&self) -> &Url {
        &self.base
    }

    /// `GET version` → the service's version string.
    pub async fn version(&self) -> Result<String> {
        #[derive(Deserialize)]
        struct Version {
            #[serde(default, deserialize_with = "crate::de::string")]
            version: String,
        }
        let reply = self.call(Method::GET, "version", None).await?;
        Ok(decode_data::<Version>(&reply)?.version)
    }

    /// Packs `paths` (files or directories, absolute or relative to `base`) into a gzip tar
    /// with names relative to `base` and makes sure the builder has it (§8.1). Returns the
    /// context digest to put in [`BuildRequest::context_digest`]; `None` when there is
    /// nothing to send.
    pub async fn upload_context(&self, paths: &[PathBuf], base: &Path) -> Result<Option<String>> {
        if paths.is_empty() {
            return Ok(None);
        }
        let (paths, base) = (paths.to_vec(), base.to_path_buf());
        // Reading and compressing files is blocking work.
        let archive = tokio::task::spawn_blocking(move || context::archive(&paths, &base))
            .await
            .map_err(|e| Error::new(ErrorKind::LocalIo, format!("packing failed: {e}")))??;
        let body = json!({ "size": archive.bytes.len(), "digest": archive.digest });
        let ctx = "POST v1/build-context";
        let resp = self
            .request(Method::POST, "v1/build-context")?
            .json(&body)
            .send()
            .await
            .map_err(|e| Error::from_transport(e).with_context(ctx))?;
        let location = resp
            .headers()
            .get(header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        check(resp, ctx).await?;
        // No Location: the builder already holds this exact archive.
        if let Some(location) = location {
            let url = self
                .base
                .join(&location)
                .map_err(|e| Error::bad_response(format!("bad upload location: {e}")))?;
            let ctx = format!("PUT {}", url.path());
            // Deliberately without Authorization: the location may be a storage service
            // that must not see the user's token.
            let resp = self
                .transfer
                .put(url)
                .header(header::CONTENT_TYPE, "application/octet-stream")
                .body(archive.bytes)
                .send()
                .await
                .map_err(|e| Error::from_transport(e).with_context(ctx.clone()))?;
            check(resp, &ctx).await?;
        }
        Ok(Some(archive.digest))
    }

    /// `DELETE v1/build-context/{digest}`, after the build.
    pub async fn delete_context(&self, digest: &str) -> Result<()> {
        let path = format!("v1/build-context/{}", seg(digest));
        self.call(Method::DELETE, &path, None).await.map(drop)
    }

    /// `POST v1/build`: starts a build.
    pub async fn submit(&self, req: &BuildRequest) -> Result<BuildInfo> {
        let reply = self
            .call(Method::POST, "v1/build", Some(req.to_json()))
            .await?;
        decode_data(&reply)
    }

    /// `GET v1/build/{id}`.
    pub async fn status(&self, id: &str) -> Result<BuildInfo> {
        let reply = self
            .call(Method::GET, &format!("v1/build/{}", seg(id)), None)
            .await?;
        decode_data(&reply)
    }

    /// `PUT v1/build/{id}/_cancel`.
    pub async fn cancel(&self, id: &str) -> Result<()> {
        let path = format!("v1/build/{}/_cancel", seg(id));
        self.call(Method::PUT, &path, None).await.map(drop)
    }

    /// Follows the build log over `v1/build-ws/{id}`, calling `on_line` for each complete
    /// line (without its line break) as it arrives. Ends `Ok` when the server closes
    /// normally (1000); when `cancel` fires, the build is cancelled on the server and
    /// `transfer.cancelled` returned.
    pub async fn stream_log(
        &self,
        id: &str,
        on_line: impl FnMut(&str),
        cancel: &berth_progress::Cancel,
    ) -> Result<()> {
        let mut url = self.url(&format!("v1/build-ws/{}", seg(id)))?;
        let scheme = if url.scheme() == "https" { "wss" } else { "ws" };
        url.set_scheme(scheme)
            .map_err(|()| Error::input("cannot make a WebSocket URL of the builder URL"))?;
        let auth = self.auth_value()?;
        let outcome = log::follow(
            url,
            auth,
            self.ws_tls.clone(),
            self.connect_timeout,
            on_line,
            cancel,
        )
        .await;
        if matches!(&outcome, Err(e) if e.kind() == ErrorKind::Cancelled) {
            // The reference cancels the build when its user interrupts the stream; a
            // failure to do so must not hide that the stream was cancelled.
            let _ = self.cancel(id).await;
        }
        outcome
    }

    fn url(&self, path: &str) -> Result<Url> {
        self.base
            .join(path)
            .map_err(|e| Error::input(format!("bad builder path {path:?}: {e}")))
    }

    /// `Authorization` value in the reference's spelling: `BEARER <token>`.
    fn auth_value(&self) -> Result<Option<header::HeaderValue>> {
        let Some(token) = &self.token else {
            return Ok(None);
        };
        let mut value = header::HeaderValue::from_str(&format!("BEARER {}", token.expose()))
            .map_err(|_| {
                Error::input("the access token contains characters not allowed in a header")
            })?;
        value.set_sensitive(true);
        Ok(Some(value))
    }

    fn request(&self, method: Method, path: &str) -> Result<reqwest::RequestBuilder> {
        let mut req = self
            .http
            .request(method, self.url(path)?)
            .header(header::ACCEPT, "application/json");
        if let Some(auth) = self.auth_value()? {
            req = req.header(header::AUTHORIZATION, auth);
        }
        Ok(req)
    }

    /// One metadata call; not retried, since submit and cancel are not idempotent and the
    /// reference retries none of them.
    async fn call(&self, method: Method, path: &str, body: Option<Value>) -> Result<Reply> {
        let ctx = format!("{method} {}", self.url(path)?.path());
        let mut req = self.request(method, path)?;
        if let Some(body) = body {
            req = req.json(&body);
        }
        let resp = req
            .send()
            .await
            .map_err(|e| Error::from_transport(e).with_context(ctx.clone()))?;
        check(resp, &ctx).await
    }
}

/// Reads a bounded body and turns a non-2xx status into the typed error (§8.5).
async fn check(mut resp: reqwest::Response, ctx: &str) -> Result<Reply> {
    let status = resp.status();
    let mut body = Vec::new();
    while let Some(chunk) = resp
        .chunk()
        .await
        .map_err(|e| Error::connection_lost(e).with_context(ctx))?
    {
        if body.len() + chunk.len() > MAX_BODY {
            if status.is_success() {
                return Err(Error::bad_response("answer too large").with_context(ctx));
            }
            break;
        }
        body.extend_from_slice(&chunk);
    }
    if status.is_success() {
        Ok(Reply { body })
    } else {
        Err(Error::from_response(status.as_u16(), &body).with_context(ctx))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_json_omits_empty_fields() {
        let req = BuildRequest {
            definition: b"Bootstrap: docker\n".to_vec(),
            library_ref: String::new(),
            arch: Some(String::new()),
            ..Default::default()
        };
        let v = req.to_json();
        assert_eq!(v["libraryRef"], "");
        assert_eq!(v["definitionRaw"], "Qm9vdHN0cmFwOiBkb2NrZXIK");
        for absent in [
            "libraryURL",
            "builderRequirements",
            "contextDigest",
            "workingDir",
        ] {
            assert!(v.get(absent).is_none(), "{absent} in {v}");
        }
    }

    #[test]
    fn result_needs_complete_and_an_image() {
        let mut info = BuildInfo {
            id: "b1".into(),
            is_complete: true,
            ..Default::default()
        };
        let e = result_ok(&info).unwrap_err();
        assert!(e.to_string().contains("did not produce an image"), "{e}");
        info.image_size = 10;
        assert!(result_ok(&info).is_ok());
        info.is_complete = false;
        assert!(result_ok(&info).is_err());
    }
}
