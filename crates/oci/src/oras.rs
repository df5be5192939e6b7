//! SIF images stored as OCI artifacts (`oras://`, library-api.md §11.2): one layer holding
//! the SIF file, an empty `{}` config. Pulls reuse the verified store download; pushes
//! upload monolithically with POST then PUT, because the Debian registry ignores a body
//! on the POST.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use berth_progress::{Cancel, Phase, Progress};
use reqwest::header::{CONTENT_LENGTH, CONTENT_TYPE, LOCATION};
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncReadExt;

use crate::client::{check, Access, RegistryClient};
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::{Descriptor, ImageManifest, OCI_MANIFEST};
use crate::platform::Platform;
use crate::reference::ImageRef;
use crate::resolve::{hex, sha256_digest};
use crate::store::BlobStore;

/// Media type of the one layer of an oras SIF artifact.
pub const SIF_LAYER_MEDIA_TYPE: &str = "application/vnd.sylabs.sif.layer.v1.sif";
/// A misspelling older Singularity releases pushed; still accepted on pull.
const SIF_LAYER_LEGACY: &str = "appliciation/vnd.sylabs.sif.layer.tar";
/// Media type of the (empty `{}`) config of an oras SIF artifact.
pub const SIF_CONFIG_MEDIA_TYPE: &str = "application/vnd.sylabs.sif.config.v1+json";
const TITLE: &str = "org.opencontainers.image.title";
const CHUNK: usize = 256 * 1024;

impl RegistryClient {
    /// Downloads the SIF of an oras artifact into `store` (verified like any blob) and
    /// returns its descriptor and store path; the caller copies it where it belongs. An
    /// index is searched for `platform`.
    pub async fn oras_pull_sif(
        &self,
        r: &ImageRef,
        platform: &Platform,
        store: &BlobStore,
        progress: Arc<dyn Progress>,
        cancel: &Cancel,
    ) -> Result<(Descriptor, PathBuf)> {
        progress.phase(Phase::Resolving, None);
        let (_, chosen) = self.resolve_manifest(r, platform, cancel).await?;
        let manifest: ImageManifest = serde_json::from_value(chosen.value)
            .map_err(|e| Error::bad_response(format!("manifest {}: {e}", chosen.digest)))?;
        let sif: Vec<&Descriptor> = manifest
            .layers
            .iter()
            .filter(|l| l.media_type == SIF_LAYER_MEDIA_TYPE || l.media_type == SIF_LAYER_LEGACY)
            .collect();
        let [layer] = sif[..] else {
            return Err(Error::new(
                ErrorKind::UnsupportedMediaType,
                format!(
                    "{r} is not a SIF artifact: it needs exactly one layer of type {SIF_LAYER_MEDIA_TYPE}, it has {}",
                    sif.len()
                ),
            ));
        };
        let layer = layer.clone();
        let mut paths = self
            .fetch_blobs(r, std::slice::from_ref(&layer), store, 1, progress, cancel)
            .await?;
        Ok((layer, paths.remove(0)))
    }

    /// Pushes `file` as an oras SIF artifact under `r`'s tag (`latest` when absent) and
    /// returns the manifest digest. Blobs the registry already has are not sent again.
    pub async fn oras_push_sif(
        &self,
        r: &ImageRef,
        file: &Path,
        progress: Arc<dyn Progress>,
        cancel: &Cancel,
    ) -> Result<String> {
        if r.digest().is_some() {
            return Err(Error::new(
                ErrorKind::RefInvalid,
                format!("cannot push to a digest reference ({r}); use a tag"),
            ));
        }
        let name = file
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_else(|| "image.sif".to_owned());
        let (digest, size) = hash_file(file, progress.as_ref(), cancel).await?;

        let config = b"{}".to_vec();
        let config_desc = Descriptor {
            media_type: SIF_CONFIG_MEDIA_TYPE.to_owned(),
            digest: sha256_digest(&config),
            size: config.len() as u64,
            platform: None,
            annotations: None,
        };
        let layer_desc = Descriptor {
            media_type: SIF_LAYER_MEDIA_TYPE.to_owned(),
            digest,
            size,
            platform: None,
            annotations: Some(BTreeMap::from([(TITLE.to_owned(), name)])),
        };
        progress.phase(Phase::Uploading, Some(size));
        if !self.has_blob(r, &config_desc, cancel).await? {
            self.upload(
                r,
                &config_desc,
                Source::Bytes(config),
                progress.as_ref(),
                cancel,
            )
            .await?;
        }
        if self.has_blob(r, &layer_desc, cancel).await? {
            progress.advance(size);
        } else {
            self.upload(
                r,
                &layer_desc,
                Source::File(file.to_owned()),
                progress.as_ref(),
                cancel,
            )
            .await?;
        }

        progress.phase(Phase::Tagging, None);
        let manifest = ImageManifest {
            schema_version: 2,
            media_type: OCI_MANIFEST.to_owned(),
            config: config_desc,
            layers: vec![layer_desc],
            annotations: None,
        };
        let bytes = serde_json::to_vec(&manifest).expect("a manifest serialises");
        let manifest_digest = sha256_digest(&bytes);
        let tag = r.tag().unwrap_or("latest");
        let what = format!("pushing the manifest {}:{tag}", r.repository());
        let url = format!("{}/manifests/{tag}", self.repo_url(r));
        let resp = self
            .send(r, Access::Push, &what, cancel, |http| {
                http.put(&url)
                    .header(CONTENT_TYPE, OCI_MANIFEST)
                    .body(bytes.clone())
            })
            .await?;
        check(resp, &what).await?;
        Ok(manifest_digest)
    }

    async fn has_blob(&self, r: &ImageRef, d: &Descriptor, cancel: &Cancel) -> Result<bool> {
        let what = format!("checking blob {}", d.digest);
        let url = format!("{}/blobs/{}", self.repo_url(r), d.digest);
        let resp = self
            .send(r, Access::Push, &what, cancel, |http| http.head(&url))
            .await?;
        Ok(resp.status().is_success()
            && resp
                .headers()
                .get(CONTENT_LENGTH)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .is_none_or(|n| n == d.size))
    }

    /// POST for an upload session, then one PUT with the whole blob and its digest. The
    /// POST obtains the push token, so the streamed PUT is normally sent once.
    async fn upload(
        &self,
        r: &ImageRef,
        d: &Descriptor,
        src: Source,
        progress: &dyn Progress,
        cancel: &Cancel,
    ) -> Result<()> {
        let what = format!("uploading blob {}", d.digest);
        let base = self.repo_url(r);
        let post_url = format!("{base}/blobs/uploads/");
        let resp = self
            .send(r, Access::Push, &what, cancel, |http| {
                http.post(&post_url).header(CONTENT_LENGTH, 0)
            })
            .await?;
        let resp = check(resp, &what).await?;
        let location = resp
            .headers()
            .get(LOCATION)
            .and_then(|v| v.to_str().ok())
            .ok_or_else(|| {
                Error::bad_response(format!("{what}: the registry gave no upload location"))
            })?;
        let mut put_url = url::Url::parse(&base)
            .and_then(|b| b.join(location))
            .map_err(|_| Error::bad_response(format!("{what}: invalid upload location")))?;
        put_url.query_pairs_mut().append_pair("digest", &d.digest);

        // Count progress only for the first attempt's stream, so a 401 retry cannot count twice.
        let counted = Arc::new(AtomicBool::new(false));
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<u64>();
        let resp = {
            let send = self.send(r, Access::Push, &what, cancel, |http| {
                let body = match &src {
                    Source::Bytes(b) => reqwest::Body::from(b.clone()),
                    Source::File(p) => {
                        let report = !counted.swap(true, Ordering::SeqCst);
                        file_body(p.clone(), report.then(|| tx.clone()))
                    }
                };
                http.put(put_url.clone())
                    .header(CONTENT_TYPE, "application/octet-stream")
                    .header(CONTENT_LENGTH, d.size)
                    .body(body)
            });
            tokio::pin!(send);
            loop {
                tokio::select! {
                    res = &mut send => break res?,
                    Some(n) = rx.recv() => progress.advance(n),
                }
            }
        };
        while let Ok(n) = rx.try_recv() {
            progress.advance(n);
        }
        check(resp, &what).await?;
        Ok(())
    }
}

enum Source {
    Bytes(Vec<u8>),
    File(PathBuf),
}

/// Streams a file as a request body; read errors end the request with an error.
fn file_body(
    path: PathBuf,
    report: Option<tokio::sync::mpsc::UnboundedSender<u64>>,
) -> reqwest::Body {
    let stream =
        futures_util::stream::unfold(Some((path, None::<tokio::fs::File>)), move |state| {
            let report = report.clone();
            async move {
                let (path, file) = state?;
                let mut file = match file {
                    Some(f) => f,
                    None => match tokio::fs::File::open(&path).await {
                        Ok(f) => f,
                        Err(e) => return Some((Err(e), None)),
                    },
                };
                let mut buf = vec![0u8; CHUNK];
                match file.read(&mut buf).await {
                    Ok(0) => None,
                    Ok(n) => {
                        buf.truncate(n);
                        if let Some(tx) = &report {
                            let _ = tx.send(n as u64);
                        }
                        Some((Ok(buf), Some((path, Some(file)))))
                    }
                    Err(e) => Some((Err(e), None)),
                }
            }
        });
    reqwest::Body::wrap_stream(stream)
}

async fn hash_file(path: &Path, progress: &dyn Progress, cancel: &Cancel) -> Result<(String, u64)> {
    let what = || format!("reading {}", path.display());
    let mut f = tokio::fs::File::open(path)
        .await
        .map_err(|e| Error::local_io(what(), e))?;
    let len = f
        .metadata()
        .await
        .map_err(|e| Error::local_io(what(), e))?
        .len();
    progress.phase(Phase::Hashing, Some(len));
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut total = 0u64;
    loop {
        cancel.check()?;
        let n = f
            .read(&mut buf)
            .await
            .map_err(|e| Error::local_io(what(), e))?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        total += n as u64;
        progress.advance(n as u64);
    }
    Ok((format!("sha256:{}", hex(&hasher.finalize())), total))
}
