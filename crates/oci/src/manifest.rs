//! Manifests, indexes and image configs: only the members Berth uses are typed; the
//! image config's `config` member is also kept verbatim for `oci-config.json`.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::platform::IndexPlatform;

/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// Docker schema 2 manifest.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// Docker schema 2 manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";

/// Every manifest kind we can use. The Debian registry answers 404 to a GET for an OCI
/// manifest when the OCI types are missing, so this list is always sent whole.
pub(crate) const ACCEPT: &str = "application/vnd.oci.image.index.v1+json, application/vnd.oci.image.manifest.v1+json, application/vnd.docker.distribution.manifest.list.v2+json, application/vnd.docker.distribution.manifest.v2+json";

/// A content descriptor: what a manifest says about a blob.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Descriptor {
    /// Media type of the blob.
    pub media_type: String,
    /// `sha256:<hex>`.
    pub digest: String,
    /// Exact size in bytes.
    pub size: u64,
    /// Index entries only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<IndexPlatform>,
    /// Free-form annotations (`org.opencontainers.image.title` for oras layers).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An image manifest (OCI or Docker schema 2; the shapes agree on what we read).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ImageManifest {
    /// Always 2.
    pub schema_version: u32,
    /// The media type it was served as (filled from `Content-Type` when the body lacks it).
    #[serde(default)]
    pub media_type: String,
    /// The image config blob.
    pub config: Descriptor,
    /// Layers, base first.
    #[serde(default)]
    pub layers: Vec<Descriptor>,
    /// Manifest annotations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<BTreeMap<String, String>>,
}

/// An image index / manifest list.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ImageIndex {
    #[serde(default)]
    pub manifests: Vec<Descriptor>,
}

/// The image config blob, parsed.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ImageConfig {
    /// `amd64`, `arm64`...
    pub architecture: String,
    /// `linux`.
    pub os: String,
    /// Arm variant, if any.
    pub variant: Option<String>,
    /// RFC 3339 creation time, as written.
    pub created: Option<String>,
    /// The runtime config (`config` member), typed.
    pub config: RuntimeConfig,
    /// The `config` member exactly as received (`Null` when absent), for `oci-config.json`.
    pub config_value: serde_json::Value,
}

/// The members of an image config's `config` object that a SIF conversion uses.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RuntimeConfig {
    /// `Entrypoint`.
    #[serde(default)]
    pub entrypoint: Option<Vec<String>>,
    /// `Cmd`.
    #[serde(default)]
    pub cmd: Option<Vec<String>>,
    /// `Env`, `K=V` strings.
    #[serde(default)]
    pub env: Option<Vec<String>>,
    /// `Labels`.
    #[serde(default)]
    pub labels: Option<BTreeMap<String, String>>,
    /// `WorkingDir`.
    #[serde(default)]
    pub working_dir: Option<String>,
    /// `User`.
    #[serde(default)]
    pub user: Option<String>,
    /// `StopSignal`.
    #[serde(default)]
    pub stop_signal: Option<String>,
}

#[derive(Deserialize)]
struct RawConfig {
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    os: String,
    #[serde(default)]
    variant: Option<String>,
    #[serde(default)]
    created: Option<String>,
    #[serde(default)]
    config: serde_json::Value,
}

impl ImageConfig {
    /// Parses the config blob; a `config` member with unexpected types is kept as a value
    /// and typed as empty rather than failing the pull.
    pub fn parse(bytes: &[u8]) -> serde_json::Result<Self> {
        let raw: RawConfig = serde_json::from_slice(bytes)?;
        let config = if raw.config.is_object() {
            serde_json::from_value(raw.config.clone()).unwrap_or_default()
        } else {
            RuntimeConfig::default()
        };
        Ok(Self {
            architecture: raw.architecture,
            os: raw.os,
            variant: raw.variant,
            created: raw.created,
            config,
            config_value: raw.config,
        })
    }
}

/// What a manifest response turned out to be.
pub(crate) enum ManifestKind {
    Image,
    Index,
}

/// Decides from `Content-Type`, then the body's `mediaType`, then its shape.
pub(crate) fn classify(
    content_type: Option<&str>,
    body: &serde_json::Value,
) -> Result<(ManifestKind, String), String> {
    let declared = content_type
        .map(|c| c.split(';').next().unwrap_or("").trim().to_owned())
        .filter(|c| !c.is_empty() && c != "application/json" && c != "text/plain")
        .or_else(|| {
            body.get("mediaType")
                .and_then(|m| m.as_str())
                .map(str::to_owned)
        });
    match declared.as_deref() {
        Some(OCI_MANIFEST | DOCKER_MANIFEST) => {
            Ok((ManifestKind::Image, declared.unwrap_or_default()))
        }
        Some(OCI_INDEX | DOCKER_LIST) => Ok((ManifestKind::Index, declared.unwrap_or_default())),
        Some(other) if other.contains("distribution.manifest.v1") => {
            Err(format!("{other} (Docker schema 1 is not supported)"))
        }
        Some(other) => Err(other.to_owned()),
        None if body.get("manifests").is_some() => Ok((ManifestKind::Index, OCI_INDEX.to_owned())),
        None if body.get("config").is_some() => Ok((ManifestKind::Image, OCI_MANIFEST.to_owned())),
        None => Err("a manifest without a media type".to_owned()),
    }
}
