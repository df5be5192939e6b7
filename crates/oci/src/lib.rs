//! Client of OCI/Docker registries: references, auth, platform selection, verified blob
//! downloads into a content-addressed cache.
//!
//! Written on reqwest rather than a registry crate: the parts that matter here (verify as
//! bytes arrive, never a wrong blob under its name, resume with Range, cancel, per-host
//! TLS) are most of the code either way.
//!
//! A pull is [`RegistryClient::resolve`] (reference → manifest for a [`Platform`] →
//! verified config) followed by [`RegistryClient::fetch_blobs`] into a shared
//! [`BlobStore`]. `oras://` SIF artifacts use [`RegistryClient::oras_pull_sif`] and
//! [`RegistryClient::oras_push_sif`].

mod auth;
mod client;
mod error;
mod fetch;
mod manifest;
mod oras;
mod platform;
mod reference;
mod resolve;
mod store;

pub use auth::{CredentialSource, Credentials};
pub use client::{RegistryClient, RegistryOptions};
pub use error::{Error, ErrorKind, Result};
pub use manifest::{
    Descriptor, ImageConfig, ImageManifest, RuntimeConfig, DOCKER_LIST, DOCKER_MANIFEST, OCI_INDEX,
    OCI_MANIFEST,
};
pub use oras::{SIF_CONFIG_MEDIA_TYPE, SIF_LAYER_MEDIA_TYPE};
pub use platform::{IndexPlatform, Platform};
pub use reference::{ImageRef, DOCKER_HUB};
pub use resolve::ResolvedImage;
pub use store::{BlobEntry, BlobStore};
