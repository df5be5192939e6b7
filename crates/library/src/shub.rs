//! `shub://` references and the Singularity Hub protocol (library-api.md §11.1): one JSON
//! manifest per `user/container[:tag][@digest]`, whose `image` field points at a plain file
//! download. No ranges, no hashes to check beyond the size, no authentication.

use std::fmt;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{StatusCode, Url};
use serde::Deserialize;
use tokio::io::AsyncWriteExt;

use crate::error::{Error, ErrorKind, Result};
use crate::options::USER_AGENT;
use berth_progress::{Cancel, Phase, Progress};

/// Registry used when a reference names only `user/container`.
pub const SHUB_DEFAULT_REGISTRY: &str = "https://singularity-hub.org";

const SCHEME: &str = "shub://";
/// The manifest is a small JSON document: 30 s is generous (§11.1).
const MANIFEST_TIMEOUT: Duration = Duration::from_secs(30);
/// Whole-image budget, as the reference client's; images are up to a few GiB.
const DOWNLOAD_TIMEOUT: Duration = Duration::from_secs(2 * 60 * 60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);
/// Manifests are a few hundred bytes; anything much larger is not one.
const MAX_MANIFEST: usize = 1 << 20;
const NOT_FOUND: &str = "the requested manifest was not found in singularity hub";

/// A parsed `shub://[registry/]user/container[:tag][@digest]` reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ShubRef {
    registry: String,
    user: String,
    container: String,
    tag: Option<String>,
    digest: Option<String>,
}

impl ShubRef {
    /// Parses and validates a reference. Without tag and digest the tag is `latest`;
    /// with only a digest there is no tag (the digest alone names the image).
    pub fn parse(s: &str) -> Result<Self> {
        let invalid = |why: &str| {
            Error::new(
                ErrorKind::RefInvalid,
                format!("invalid shub reference {s:?}: {why}"),
            )
        };
        let rest = s
            .strip_prefix(SCHEME)
            .ok_or_else(|| invalid("it must start with shub://"))?;
        let parts: Vec<&str> = rest.split('/').collect();
        if parts.len() < 2 {
            return Err(invalid("expected [registry/]user/container"));
        }
        if parts.iter().any(|p| p.is_empty()) {
            return Err(invalid("empty path component"));
        }
        let (last, user) = (parts[parts.len() - 1], parts[parts.len() - 2]);
        let registry_parts = &parts[..parts.len() - 2];

        // The digest comes last, so split it off before the tag: `name:tag@digest`.
        let (name_tag, digest) = match last.split_once('@') {
            Some((nt, d)) => {
                if !(d.len() == 32 || d.len() == 40) || !d.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(invalid(
                        "the digest must be 32 or 40 hexadecimal characters",
                    ));
                }
                (nt, Some(d.to_ascii_lowercase()))
            }
            None => (last, None),
        };
        let (container, tag) = match name_tag.split_once(':') {
            Some((c, t)) => {
                if !valid_name(t) {
                    return Err(invalid("bad tag"));
                }
                (c, Some(t.to_owned()))
            }
            None => (name_tag, None),
        };
        if !valid_name(user) {
            return Err(invalid("bad user name"));
        }
        if !valid_name(container) {
            return Err(invalid("bad container name"));
        }
        let registry = if registry_parts.is_empty() {
            SHUB_DEFAULT_REGISTRY.to_owned()
        } else {
            // The host (with port) and any path prefix are used as typed; only characters
            // that cannot appear in a URL authority/path are refused, so the manifest URL
            // built from them cannot be re-interpreted.
            if registry_parts.iter().any(|p| !valid_registry_part(p)) {
                return Err(invalid("bad registry"));
            }
            format!("https://{}", registry_parts.join("/"))
        };
        Url::parse(&registry).map_err(|e| invalid(&format!("bad registry: {e}")))?;
        let tag = match (&tag, &digest) {
            (None, None) => Some("latest".to_owned()),
            _ => tag,
        };
        Ok(Self {
            registry,
            user: user.to_owned(),
            container: container.to_owned(),
            tag,
            digest,
        })
    }

    /// `https://host[/path]` of the registry.
    pub fn registry(&self) -> &str {
        &self.registry
    }

    /// The user (or collection, on Hinkskalle).
    pub fn user(&self) -> &str {
        &self.user
    }

    /// The container name.
    pub fn container(&self) -> &str {
        &self.container
    }

    /// The tag; `latest` when the reference had neither tag nor digest.
    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    /// The digest (lower-case hex), if given.
    pub fn digest(&self) -> Option<&str> {
        self.digest.as_deref()
    }

    /// `<container>_<tag>.sif`, the name a pull saves to by default; a digest-only
    /// reference uses the digest in place of the tag.
    pub fn default_sif_name(&self) -> String {
        let version = self
            .tag
            .as_deref()
            .or(self.digest.as_deref())
            .unwrap_or("latest");
        format!("{}_{version}.sif", self.container)
    }

    /// `user/container[:tag][@digest]`, as the manifest path and the display use it.
    fn path(&self) -> String {
        let mut p = format!("{}/{}", self.user, self.container);
        if let Some(t) = &self.tag {
            p.push(':');
            p.push_str(t);
        }
        if let Some(d) = &self.digest {
            p.push('@');
            p.push_str(d);
        }
        p
    }

    fn manifest_url(&self, insecure_http: bool) -> Result<Url> {
        let registry = match (insecure_http, self.registry.strip_prefix("https://")) {
            (true, Some(host)) => format!("http://{host}"),
            _ => self.registry.clone(),
        };
        let text = format!("{registry}/api/container/{}", self.path());
        Url::parse(&text).map_err(|e| Error::input(format!("bad manifest URL {text}: {e}")))
    }
}

impl fmt::Display for ShubRef {
    /// The canonical form: the default registry is left out, the implied `latest` kept.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(SCHEME)?;
        if self.registry != SHUB_DEFAULT_REGISTRY {
            let host = self
                .registry
                .strip_prefix("https://")
                .unwrap_or(&self.registry);
            write!(f, "{host}/")?;
        }
        f.write_str(&self.path())
    }
}

/// Names, tags: what Singularity Hub's GitHub-derived names use. Anything else (`?`, `#`,
/// `%`, spaces) would change the meaning of the manifest URL.
fn valid_name(s: &str) -> bool {
    !s.is_empty()
        && s.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

fn valid_registry_part(s: &str) -> bool {
    s.bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b':' | b'[' | b']'))
}

/// A Singularity Hub manifest: where the image is and which build it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShubManifest {
    /// The `image` field as sent (often absolute, possibly relative).
    pub image: String,
    /// `image` resolved against the manifest's URL: what [`ShubClient::download`] fetches.
    pub image_url: Url,
    /// `user/container` as the hub names it.
    pub name: String,
    /// The tag the hub resolved.
    pub tag: String,
    /// The hub's version string (a file hash on Singularity Hub).
    pub version: String,
    /// The build's commit: the cache key of a pull.
    pub commit: String,
}

/// The manifest's JSON; every field but `image` is informative, so missing ones are empty
/// rather than an error (Hinkskalle's emulation leaves some out).
#[derive(Deserialize)]
struct WireManifest {
    image: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    tag: Option<String>,
    #[serde(default)]
    version: Option<String>,
    #[serde(default)]
    commit: Option<String>,
}

/// Client of a Singularity Hub (or an emulation of its API).
#[derive(Debug, Clone)]
pub struct ShubClient {
    http: reqwest::Client,
    insecure_http: bool,
}

impl ShubClient {
    /// A client speaking https only, or http when `insecure_http` (the caller asks for it
    /// for loopback registries and `--nohttps`). The refusal of http also covers `image`
    /// URLs, so a manifest cannot downgrade the download.
    pub fn new(insecure_http: bool) -> Result<Self> {
        let http = reqwest::Client::builder()
            .user_agent(USER_AGENT)
            .connect_timeout(CONNECT_TIMEOUT)
            .https_only(!insecure_http)
            .build()
            .map_err(Error::from_transport)?;
        Ok(Self {
            http,
            insecure_http,
        })
    }

    /// Fetches the manifest of `r`.
    pub async fn manifest(&self, r: &ShubRef) -> Result<ShubManifest> {
        let url = r.manifest_url(self.insecure_http)?;
        let context = format!("GET {}", url.path());
        let resp = self
            .http
            .get(url.clone())
            .timeout(MANIFEST_TIMEOUT)
            .send()
            .await
            .map_err(|e| Error::from_transport(e).with_context(context.clone()))?;
        let status = resp.status();
        let body = read_small(resp)
            .await
            .map_err(|e| e.with_context(context.clone()))?;
        if status == StatusCode::NOT_FOUND {
            return Err(Error::from_response(404, &body).with_message(NOT_FOUND));
        }
        if status != StatusCode::OK {
            return Err(Error::from_response(status.as_u16(), &body).with_context(context));
        }
        let wire: WireManifest = serde_json::from_slice(&body).map_err(|e| {
            Error::bad_response(format!("the manifest is not valid JSON: {e}"))
                .with_context(context.clone())
        })?;
        if wire.image.trim().is_empty() {
            return Err(Error::bad_response("the manifest has no image URL").with_context(context));
        }
        let image_url = url.join(wire.image.trim()).map_err(|e| {
            Error::bad_response(format!("bad image URL {:?}: {e}", wire.image))
                .with_context(context.clone())
        })?;
        Ok(ShubManifest {
            image: wire.image,
            image_url,
            name: wire.name.unwrap_or_default(),
            tag: wire.tag.unwrap_or_default(),
            version: wire.version.unwrap_or_default(),
            commit: wire.commit.unwrap_or_default(),
        })
    }

    /// Downloads the manifest's image into `dest_partial` (created or truncated), synced to
    /// disk when this returns; returns the bytes written. On any failure, cancel included,
    /// the partial file is removed: without ranges there is nothing worth keeping.
    pub async fn download(
        &self,
        m: &ShubManifest,
        dest_partial: &Path,
        progress: Arc<dyn Progress>,
        cancel: &Cancel,
    ) -> Result<u64> {
        let result = self.fetch_into(m, dest_partial, &*progress, cancel).await;
        if result.is_err() {
            // May not exist yet (failed before creating it); that is fine.
            let _ = tokio::fs::remove_file(dest_partial).await;
        }
        result
    }

    async fn fetch_into(
        &self,
        m: &ShubManifest,
        dest: &Path,
        progress: &dyn Progress,
        cancel: &Cancel,
    ) -> Result<u64> {
        cancel.check()?;
        let context = format!("GET {}", m.image_url.path());
        let send = self
            .http
            .get(m.image_url.clone())
            .timeout(DOWNLOAD_TIMEOUT)
            .send();
        let resp = tokio::select! {
            biased;
            () = cancel.cancelled() => return Err(Error::cancelled()),
            r = send => r.map_err(|e| Error::from_transport(e).with_context(context.clone()))?,
        };
        let status = resp.status();
        if status != StatusCode::OK {
            let body = read_small(resp).await.unwrap_or_default();
            return Err(Error::from_response(status.as_u16(), &body).with_context(context));
        }
        let expected = resp.content_length();
        progress.phase(Phase::Downloading, expected);

        let what = || format!("cannot write {}", dest.display());
        let mut file = tokio::fs::File::create(dest)
            .await
            .map_err(|e| Error::local_io(what(), e))?;
        let mut stream = resp.bytes_stream();
        let mut written: u64 = 0;
        loop {
            // Checked first so a cancel that arrived while writing wins over a ready chunk.
            cancel.check()?;
            let next = tokio::select! {
                biased;
                () = cancel.cancelled() => return Err(Error::cancelled()),
                n = stream.next() => n,
            };
            let Some(chunk) = next else { break };
            let chunk =
                chunk.map_err(|e| Error::connection_lost(e).with_context(context.clone()))?;
            written += chunk.len() as u64;
            if expected.is_some_and(|n| written > n) {
                return Err(too_long_or_short(written, expected).with_context(context));
            }
            file.write_all(&chunk)
                .await
                .map_err(|e| Error::local_io(what(), e))?;
            progress.advance(chunk.len() as u64);
        }
        if expected.is_some_and(|n| n != written) {
            return Err(too_long_or_short(written, expected).with_context(context));
        }
        file.flush().await.map_err(|e| Error::local_io(what(), e))?;
        file.sync_all()
            .await
            .map_err(|e| Error::local_io(what(), e))?;
        Ok(written)
    }
}

fn too_long_or_short(got: u64, expected: Option<u64>) -> Error {
    Error::bad_response(format!(
        "the server sent {got} bytes but announced {}",
        expected.unwrap_or_default()
    ))
}

/// Reads a small body (manifest or error), refusing one that would not fit a manifest.
async fn read_small(resp: reqwest::Response) -> Result<Vec<u8>> {
    let mut body = Vec::new();
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(Error::connection_lost)?;
        if body.len() + chunk.len() > MAX_MANIFEST {
            return Err(Error::bad_response(
                "the answer is too large for a manifest",
            ));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifest_url_switches_scheme_only_when_asked() {
        let r = ShubRef::parse("shub://127.0.0.1:8080/prefix/u/c:t").unwrap();
        assert_eq!(
            r.manifest_url(true).unwrap().as_str(),
            "http://127.0.0.1:8080/prefix/api/container/u/c:t"
        );
        assert_eq!(
            r.manifest_url(false).unwrap().as_str(),
            "https://127.0.0.1:8080/prefix/api/container/u/c:t"
        );
    }
}
