//! Reference → image manifest → config (oci-to-sif.md §2 steps 4–5).

use std::future::Future;
use std::pin::Pin;

use berth_progress::Cancel;
use reqwest::header::{ACCEPT, CONTENT_TYPE};
use sha2::{Digest as _, Sha256};

use crate::client::{check, read_limited, Access, RegistryClient};
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::{
    classify, Descriptor, ImageConfig, ImageIndex, ImageManifest, ManifestKind,
    ACCEPT as MANIFEST_ACCEPT,
};
use crate::platform::{IndexPlatform, Platform};
use crate::reference::{check_digest, ImageRef};

/// Manifests and configs are small; a bigger answer is not a manifest.
const MANIFEST_LIMIT: u64 = 4 << 20;
const CONFIG_LIMIT: u64 = 8 << 20;
/// Deeper index nesting than this is a loop or an attack.
const MAX_DEPTH: usize = 4;

/// An image manifest picked for a platform, with its verified config.
#[derive(Debug, Clone)]
pub struct ResolvedImage {
    /// The reference as asked.
    pub reference: ImageRef,
    /// Digest of what the reference points to (the index digest for multi-arch images).
    pub top_digest: String,
    /// Digest of the image manifest used.
    pub manifest_digest: String,
    /// The image manifest used.
    pub manifest: ImageManifest,
    /// The image config blob, digest-verified.
    pub config_raw: Vec<u8>,
    /// The image config, parsed.
    pub config: ImageConfig,
}

/// A manifest as fetched: its digest (computed), media type and JSON.
pub(crate) struct Fetched {
    pub digest: String,
    pub media_type: String,
    pub kind: ManifestKind,
    pub value: serde_json::Value,
}

impl RegistryClient {
    /// Resolves `r` to one image manifest for `platform` and fetches its config. An index
    /// is searched in order for the first entry matching the platform; a plain manifest is
    /// used whatever its platform, as Apptainer does.
    pub async fn resolve(
        &self,
        r: &ImageRef,
        platform: &Platform,
        cancel: &Cancel,
    ) -> Result<ResolvedImage> {
        let (top_digest, chosen) = self.resolve_manifest(r, platform, cancel).await?;
        let mut manifest: ImageManifest = serde_json::from_value(chosen.value)
            .map_err(|e| Error::bad_response(format!("manifest {}: {e}", chosen.digest)))?;
        if manifest.media_type.is_empty() {
            manifest.media_type = chosen.media_type;
        }
        let config_raw = self
            .fetch_small_blob(r, &manifest.config, CONFIG_LIMIT, cancel)
            .await?;
        let config = ImageConfig::parse(&config_raw).map_err(|e| {
            Error::bad_response(format!("image config {}: {e}", manifest.config.digest))
        })?;
        Ok(ResolvedImage {
            reference: r.clone(),
            top_digest,
            manifest_digest: chosen.digest,
            manifest,
            config_raw,
            config,
        })
    }

    /// The image manifest for `platform` (through indexes) and the top-level digest.
    pub(crate) async fn resolve_manifest(
        &self,
        r: &ImageRef,
        platform: &Platform,
        cancel: &Cancel,
    ) -> Result<(String, Fetched)> {
        let top = self
            .fetch_manifest(r, r.manifest_reference(), None, cancel)
            .await?;
        let top_digest = top.digest.clone();
        let chosen = match top.kind {
            ManifestKind::Image => top,
            ManifestKind::Index => {
                let mut seen = Vec::new();
                match self.select(r, top, platform, &mut seen, 0, cancel).await? {
                    Some(m) => m,
                    None => {
                        let mut list: Vec<String> = seen.iter().map(ToString::to_string).collect();
                        list.dedup();
                        return Err(Error::new(
                            ErrorKind::NoMatchingPlatform,
                            format!(
                                "{r} has no image for {platform}; it has: {}",
                                if list.is_empty() {
                                    "none".to_owned()
                                } else {
                                    list.join(", ")
                                }
                            ),
                        ));
                    }
                }
            }
        };
        Ok((top_digest, chosen))
    }

    /// GETs a manifest by tag or digest with the full Accept list. The digest is always
    /// computed from the bytes: a registry's `Docker-Content-Digest` is not trusted.
    pub(crate) async fn fetch_manifest(
        &self,
        r: &ImageRef,
        reference: &str,
        expected: Option<&Descriptor>,
        cancel: &Cancel,
    ) -> Result<Fetched> {
        let what = format!("manifest {}:{reference}", r.repository());
        let url = format!("{}/manifests/{reference}", self.repo_url(r));
        let resp = self
            .send(r, Access::Pull, &what, cancel, |http| {
                http.get(&url).header(ACCEPT, MANIFEST_ACCEPT)
            })
            .await?;
        let resp = check(resp, &what).await?;
        let content_type = resp
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned);
        let bytes = read_limited(resp, MANIFEST_LIMIT, &what, cancel).await?;
        let digest = sha256_digest(&bytes);
        if check_digest(reference).is_ok() && digest != reference {
            return Err(Error::mismatch(format!(
                "{what}: the registry sent a manifest with digest {digest}"
            )));
        }
        if let Some(d) = expected {
            if d.size != bytes.len() as u64 {
                return Err(Error::mismatch(format!(
                    "{what}: {} bytes instead of {}",
                    bytes.len(),
                    d.size
                )));
            }
        }
        let value: serde_json::Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::bad_response(format!("{what}: not JSON: {e}")))?;
        let (kind, media_type) = classify(content_type.as_deref(), &value).map_err(|mt| {
            Error::new(
                ErrorKind::UnsupportedMediaType,
                format!("{what}: unsupported manifest type {mt}"),
            )
        })?;
        Ok(Fetched {
            digest,
            media_type,
            kind,
            value,
        })
    }

    /// First matching entry in index order; nested indexes are searched where they stand.
    /// Every image platform seen is recorded for the no-match message.
    fn select<'a>(
        &'a self,
        r: &'a ImageRef,
        index: Fetched,
        platform: &'a Platform,
        seen: &'a mut Vec<IndexPlatform>,
        depth: usize,
        cancel: &'a Cancel,
    ) -> Pin<Box<dyn Future<Output = Result<Option<Fetched>>> + Send + 'a>> {
        Box::pin(async move {
            if depth >= MAX_DEPTH {
                return Err(Error::bad_response(format!(
                    "{r}: image indexes nested too deeply"
                )));
            }
            let parsed: ImageIndex = serde_json::from_value(index.value)
                .map_err(|e| Error::bad_response(format!("index {}: {e}", index.digest)))?;
            for entry in &parsed.manifests {
                // An entry without a platform is linux/amd64 (go-containerregistry's rule).
                let p = entry.platform.clone().unwrap_or_else(|| IndexPlatform {
                    architecture: "amd64".into(),
                    os: "linux".into(),
                    variant: None,
                    os_version: None,
                });
                let nested = entry.media_type == crate::manifest::OCI_INDEX
                    || entry.media_type == crate::manifest::DOCKER_LIST;
                if nested {
                    if entry.platform.is_some() && !platform.matches(&p) {
                        continue;
                    }
                    check_digest(&entry.digest).map_err(Error::bad_response)?;
                    let child = self
                        .fetch_manifest(r, &entry.digest, Some(entry), cancel)
                        .await?;
                    if let ManifestKind::Index = child.kind {
                        if let Some(found) = self
                            .select(r, child, platform, seen, depth + 1, cancel)
                            .await?
                        {
                            return Ok(Some(found));
                        }
                    }
                    continue;
                }
                // Attestation manifests sit in indexes as unknown/unknown; not worth listing.
                if p.os != "unknown" {
                    seen.push(p.clone());
                }
                if platform.matches(&p) {
                    check_digest(&entry.digest).map_err(Error::bad_response)?;
                    let child = self
                        .fetch_manifest(r, &entry.digest, Some(entry), cancel)
                        .await?;
                    return match child.kind {
                        ManifestKind::Image => Ok(Some(child)),
                        ManifestKind::Index => {
                            self.select(r, child, platform, seen, depth + 1, cancel)
                                .await
                        }
                    };
                }
            }
            Ok(None)
        })
    }

    /// A blob small enough to hold in memory (configs), verified by size and digest.
    pub(crate) async fn fetch_small_blob(
        &self,
        r: &ImageRef,
        d: &Descriptor,
        limit: u64,
        cancel: &Cancel,
    ) -> Result<Vec<u8>> {
        check_digest(&d.digest).map_err(|why| Error::new(ErrorKind::UnsupportedMediaType, why))?;
        let what = format!("blob {}", d.digest);
        if d.size > limit {
            return Err(Error::bad_response(format!(
                "{what}: {} bytes is too large for a config",
                d.size
            )));
        }
        let url = format!("{}/blobs/{}", self.repo_url(r), d.digest);
        let resp = self
            .send(r, Access::Pull, &what, cancel, |http| http.get(&url))
            .await?;
        let resp = check(resp, &what).await?;
        let bytes = read_limited(resp, d.size, &what, cancel)
            .await
            .map_err(|e| {
                if e.kind() == ErrorKind::BadResponse {
                    Error::mismatch(format!("{what}: more bytes than the {} announced", d.size))
                } else {
                    e
                }
            })?;
        if bytes.len() as u64 != d.size || sha256_digest(&bytes) != d.digest {
            return Err(Error::mismatch(format!(
                "{what}: the received bytes do not match the digest"
            )));
        }
        Ok(bytes)
    }
}

pub(crate) fn sha256_digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex(&Sha256::digest(bytes)))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}
