//! Push (§5): the records the image needs, the upload, the tags.
//!
//! Better than the reference on purpose: the upload is skipped when the server already has
//! the bytes (also on Hinkskalle, whose images have `uploadState` rather than `uploaded`,
//! §14), multipart parts go in parallel, and the caller can look at the target first
//! ([`LibraryClient::push_target`]) to show what will be created and the quota.

use std::path::PathBuf;
use std::sync::Arc;

use crate::client::LibraryClient;
use crate::error::{Error, Result};
use crate::models::{Collection, Container, Entity, Image};
use crate::r#ref::LibraryRef;
use crate::transfer::digest::FileDigest;
use crate::transfer::upload::{Completion, UploadOptions};
use berth_progress::{Cancel, Phase, Progress};

/// What exists already for a push destination (`None`: will be created).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PushTarget {
    pub entity: Option<Entity>,
    pub collection: Option<Collection>,
    pub container: Option<Container>,
}

/// One push.
#[derive(Debug, Clone)]
pub struct PushSpec {
    /// The SIF file.
    pub file: PathBuf,
    /// `entity/collection/container` with the tags to set (`latest` when none given).
    pub reference: LibraryRef,
    /// Image description; only used when the image record is new (§5 step 7).
    pub description: String,
    /// Architecture of the image (the primary partition's).
    pub arch: String,
    /// Privacy of a collection or container that has to be created.
    pub private: bool,
    /// Upload behaviour.
    pub upload: UploadOptions,
}

/// What a push did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PushOutcome {
    pub image_id: String,
    pub container_id: String,
    /// `sha256.<hex>`.
    pub hash: String,
    pub size: u64,
    /// False when the server already had these bytes and only tags were set.
    pub uploaded: bool,
    /// Records created on the way, as `entity`, `entity/collection`, `entity/collection/container`.
    pub created: Vec<String>,
    /// Tags now pointing at the image.
    pub tags: Vec<String>,
    /// Quota and container URL, when the server sent them.
    pub completion: Option<Completion>,
}

impl LibraryClient {
    /// Looks the destination up without changing anything. 404s are "will be created";
    /// any other failure (401, 403, …) is returned, as creating would fail too.
    pub async fn push_target(&self, r: &LibraryRef) -> Result<PushTarget> {
        let (e, c, n) = full_path(r)?;
        let mut t = PushTarget {
            entity: found(self.get_entity(&e).await)?,
            ..Default::default()
        };
        if t.entity.is_some() {
            t.collection = found(self.get_collection(&e, &c).await)?;
        }
        if t.collection.is_some() {
            t.container = found(self.get_container(&e, &c, &n).await)?;
        }
        Ok(t)
    }

    /// Pushes a file whose digest is known (hash it with
    /// [`crate::digest_file`] first, under the [`Phase::Hashing`] phase).
    pub async fn push(
        &self,
        spec: &PushSpec,
        digest: &FileDigest,
        progress: Arc<dyn Progress>,
        cancel: &Cancel,
    ) -> Result<PushOutcome> {
        let (e, c, n) = full_path(&spec.reference)?;
        if spec.reference.image_id().is_some() {
            return Err(Error::input(
                "a push sets tags; an image id (sha256.…) cannot be one",
            ));
        }
        progress.phase(Phase::Preparing, None);
        let mut created = Vec::new();
        let entity = match found(self.get_entity(&e).await)? {
            Some(x) => x,
            None => {
                created.push(e.clone());
                self.create_entity(&e, spec.private).await?
            }
        };
        cancel.check()?;
        let collection = match found(self.get_collection(&e, &c).await)? {
            Some(x) => x,
            None => {
                created.push(format!("{e}/{c}"));
                self.create_collection(&entity.id, &c, spec.private).await?
            }
        };
        cancel.check()?;
        let container = match found(self.get_container(&e, &c, &n).await)? {
            Some(x) => x,
            None => {
                created.push(format!("{e}/{c}/{n}"));
                self.create_container(&collection.id, &n, spec.private)
                    .await?
            }
        };
        cancel.check()?;
        let by_hash = LibraryRef::parse(&format!("{e}/{c}/{n}:{}", digest.image_hash()))?;
        let image = match found(self.get_image(&by_hash, Some(&spec.arch)).await)? {
            Some(i) => i,
            None => {
                self.create_image(&container.id, &digest.image_hash(), &spec.description)
                    .await?
            }
        };
        let already = image.is_uploaded() && image.size.is_none_or(|s| s == digest.size);
        let mut completion = None;
        if !already {
            progress.phase(Phase::Uploading, Some(digest.size));
            completion = self
                .upload_file(
                    &image.id,
                    &spec.file,
                    digest,
                    &spec.upload,
                    progress.clone(),
                    cancel,
                )
                .await?;
        }
        progress.phase(Phase::Tagging, None);
        let tags = spec.reference.tags().to_vec();
        for tag in &tags {
            self.set_tag(&container.id, tag, &image.id, Some(&spec.arch))
                .await?;
        }
        Ok(PushOutcome {
            image_id: image.id,
            container_id: container.id,
            hash: digest.image_hash(),
            size: digest.size,
            uploaded: !already,
            created,
            tags,
            completion,
        })
    }

    /// `POST v1/images` `{hash, description, container}`.
    pub async fn create_image(
        &self,
        container_id: &str,
        hash: &str,
        description: &str,
    ) -> Result<Image> {
        let body = serde_json::json!({"hash": hash, "description": description, "container": container_id});
        self.post_data("v1/images", body).await
    }
}

/// The three names of a push destination; pushes need all of them (§3.4).
fn full_path(r: &LibraryRef) -> Result<(String, String, String)> {
    match (r.entity(), r.collection()) {
        (Some(e), Some(c)) => Ok((e.to_owned(), c.to_owned(), r.container().to_owned())),
        _ => Err(Error::from(crate::r#ref::RefError {
            input: r.to_string(),
            part: crate::r#ref::RefPart::Path,
            value: r.path(),
            reason: crate::r#ref::RefReason::PushNeedsFullPath,
        })),
    }
}

fn found<T>(r: Result<T>) -> Result<Option<T>> {
    match r {
        Ok(x) => Ok(Some(x)),
        Err(e) if e.is_not_found() => Ok(None),
        Err(e) => Err(e),
    }
}
