//! `docker://` pulls: the image resolved for the platform, its layers fetched into the
//! shared blob store (verified), applied to a virtual root file system, the Apptainer
//! skeleton added, SquashFS written and the SIF assembled — then cached by manifest and
//! platform (as Apptainer's `oci-tmp` cache) and copied into place.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use berth_oci::{
    BlobStore, CredentialSource, Credentials, ImageRef, Platform, RegistryClient, RegistryOptions,
};
use berth_progress::Phase;
use berth_sifbuild::{RootFs, SkeletonInput};
use sha2::{Digest, Sha256};

use crate::image_cache::ImageCache;
use crate::jobs::JobHandle;
use crate::model_transfer::{JobPhase, JobResult, PullRequest, PullResultView};
use crate::registries::RegistryLogins;
use crate::{Error, Result};

/// Layers downloaded at once.
const BLOB_CONCURRENCY: usize = 4;

/// Registry credentials from Berth's logins (keychain) and Docker's config.json.
struct Logins(Arc<RegistryLogins>);

impl CredentialSource for Logins {
    fn credentials(&self, host: &str) -> Option<Credentials> {
        match self.0.credentials_for(host) {
            Ok(Some((username, token))) => Some(Credentials {
                username,
                password: token.expose().to_owned(),
            }),
            Ok(None) => None,
            Err(e) => {
                tracing::warn!("registry login for {host} not readable: {e}");
                None
            }
        }
    }
}

/// A registry client for `r`: plain http only for a registry on this machine (as Docker
/// treats 127.0.0.0/8), credentials from the logins.
pub(crate) fn client_for(
    r: &ImageRef,
    logins: Option<Arc<RegistryLogins>>,
) -> Result<RegistryClient> {
    let host = r.registry().to_owned();
    let opts = RegistryOptions {
        plain_http_hosts: if crate::transfers::is_loopback_url(&host) {
            vec![host]
        } else {
            Vec::new()
        },
        credentials: logins.map(|l| Arc::new(Logins(l)) as Arc<dyn CredentialSource>),
        ..RegistryOptions::default()
    };
    Ok(RegistryClient::new(opts)?)
}

/// Runs a docker:// pull into `dest`.
pub(crate) async fn pull_docker(
    r: &ImageRef,
    req: &PullRequest,
    dest: &Path,
    cache: &ImageCache,
    logins: Option<Arc<RegistryLogins>>,
    job: &JobHandle,
) -> Result<JobResult> {
    let progress = job.progress();
    let cancel = job.cancel().clone();
    let platform = match req.arch.as_deref().map(str::trim).filter(|a| !a.is_empty()) {
        Some(a) => Platform::linux(a, None)?,
        None => Platform::host(),
    };
    let client = client_for(r, logins)?;
    progress.phase(Phase::Resolving, None);
    let image = client.resolve(r, &platform, &cancel).await?;

    // Apptainer's cache key: the manifest digest, the arch and the variant (§2 step 2).
    let digest_hex = image
        .manifest_digest
        .split_once(':')
        .map_or(image.manifest_digest.as_str(), |(_, h)| h);
    let key = hex(&Sha256::digest(format!(
        "{digest_hex}{}{}",
        platform.architecture,
        platform.variant.clone().unwrap_or_default()
    )));
    let reference = format!("docker://{r}");
    if !req.no_cache {
        if let Some(cached) = cache.converted(&key, &reference) {
            job.phase(JobPhase::Finishing, None);
            crate::transfers::place_file(&cached, dest, req.force, false).await?;
            return Ok(result(r, &image.manifest_digest, dest, true));
        }
    }
    let work = cache.build_dir()?;
    let root = fetch_and_unpack(&client, r, &image, cache, work.path(), job).await?;
    let built = build_sif(r, &image, &platform, root, work.path(), job).await?;
    job.phase(JobPhase::Finishing, None);
    cancel.check()?;
    if req.no_cache {
        crate::transfers::place_file(&built, dest, req.force, true).await?;
    } else {
        let cached = cache.commit_converted(&built, &key, &reference, &image.manifest_digest)?;
        crate::transfers::place_file(&cached, dest, req.force, false).await?;
    }
    Ok(result(r, &image.manifest_digest, dest, false))
}

/// Fetches the image's layers into the shared blob store (verified, resumable); returns
/// their paths in manifest order.
pub(crate) async fn fetch_layers(
    client: &RegistryClient,
    r: &ImageRef,
    image: &berth_oci::ResolvedImage,
    cache: &ImageCache,
    job: &JobHandle,
) -> Result<Vec<PathBuf>> {
    let store = BlobStore::new(cache.blobs_dir());
    let blobs = client
        .fetch_blobs(
            r,
            &image.manifest.layers,
            &store,
            BLOB_CONCURRENCY,
            job.progress(),
            job.cancel(),
        )
        .await?;
    touch(&blobs);
    Ok(blobs)
}

/// What the unpacking thread has done while the download phase still shows.
#[derive(Default)]
struct Unpacked {
    /// The job shows the unpack phase now: report bytes as they are applied.
    shown: bool,
    /// Layer bytes applied so far.
    bytes: u64,
}

/// Downloads the layers and applies each one, base first, as soon as it and all below it
/// are in the store — unpacking overlaps the downloads of later layers. Returns the tree.
async fn fetch_and_unpack(
    client: &RegistryClient,
    r: &ImageRef,
    image: &berth_oci::ResolvedImage,
    cache: &ImageCache,
    work: &Path,
    job: &JobHandle,
) -> Result<RootFs> {
    let store = BlobStore::new(cache.blobs_dir());
    let layers: Vec<(String, String, u64)> = image
        .manifest
        .layers
        .iter()
        .map(|d| (d.digest.clone(), d.media_type.clone(), d.size))
        .collect();
    let total: u64 = layers.iter().map(|l| l.2).sum();
    let (tx, rx) = std::sync::mpsc::channel::<(String, PathBuf)>();
    let unpacked = Arc::new(std::sync::Mutex::new(Unpacked::default()));
    let progress = job.progress();
    let cancel = job.cancel().clone();
    let work_dir = work.to_path_buf();
    let state = Arc::clone(&unpacked);
    let unpack = tokio::task::spawn_blocking(move || -> Result<RootFs> {
        let mut root = RootFs::new(&work_dir)?;
        let mut ready: std::collections::HashMap<String, PathBuf> =
            std::collections::HashMap::new();
        for (digest, media_type, size) in &layers {
            let path = loop {
                if let Some(p) = ready.get(digest) {
                    break p.clone();
                }
                // The sender goes away when the download ends, well or not.
                let Ok((d, p)) = rx.recv() else {
                    return Err(Error::Cancelled);
                };
                ready.insert(d, p);
            };
            cancel.check()?;
            root.apply_layer(&path, media_type, &cancel)?;
            let mut s = state.lock().unwrap_or_else(|p| p.into_inner());
            s.bytes += size;
            if s.shown {
                progress.advance(*size);
            }
        }
        Ok(root)
    });
    let store_ready = std::sync::Mutex::new(tx);
    let fetched = client
        .fetch_blobs_notify(
            r,
            &image.manifest.layers,
            &store,
            BLOB_CONCURRENCY,
            job.progress(),
            job.cancel(),
            &|digest, path| {
                let _ = store_ready
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .send((digest.to_owned(), path.to_path_buf()));
            },
        )
        .await;
    drop(store_ready);
    let blobs = match fetched {
        Ok(blobs) => blobs,
        Err(e) => {
            // The unpacking thread ends on the closed channel; its error is not the news.
            let _ = unpack.await;
            return Err(e.into());
        }
    };
    touch(&blobs);
    {
        let mut s = unpacked.lock().unwrap_or_else(|p| p.into_inner());
        s.shown = true;
        let progress = job.progress();
        progress.phase(Phase::Unpacking, Some(total));
        progress.advance(s.bytes);
    }
    unpack
        .await
        .map_err(|e| Error::io(work, std::io::Error::other(e)))?
}

/// Applies the fetched layers to `root`, base first, reporting bytes of layer blobs.
pub(crate) fn apply_layers(
    root: &mut RootFs,
    image: &berth_oci::ResolvedImage,
    blobs: &[PathBuf],
    progress: &dyn berth_progress::Progress,
    cancel: &berth_progress::Cancel,
) -> Result<()> {
    let total: u64 = image.manifest.layers.iter().map(|d| d.size).sum();
    progress.phase(Phase::Unpacking, Some(total));
    for (d, path) in image.manifest.layers.iter().zip(blobs) {
        cancel.check()?;
        root.apply_layer(path, &d.media_type, cancel)?;
        progress.advance(d.size);
    }
    Ok(())
}

/// Marks reused layers as used now, so cleaning by age keeps what pulls still need.
fn touch(blobs: &[PathBuf]) {
    for b in blobs {
        if let Ok(f) = std::fs::File::options().append(true).open(b) {
            let _ = f.set_modified(SystemTime::now());
        }
    }
}

fn result(r: &ImageRef, digest: &str, dest: &Path, from_cache: bool) -> JobResult {
    let size = std::fs::metadata(dest).map_or(0, |m| m.len());
    JobResult::Pulled(PullResultView {
        path: dest.display().to_string(),
        reference: format!("docker://{r}"),
        hash: digest.to_owned(),
        size,
        from_cache,
        resumed_from: 0,
        verify: None,
        verify_error: None,
    })
}

/// Root file system → skeleton → SquashFS → SIF, in `work` (a temp dir on the cache's
/// file system); returns the finished SIF inside it, for the caller to move.
async fn build_sif(
    r: &ImageRef,
    image: &berth_oci::ResolvedImage,
    platform: &Platform,
    mut root: RootFs,
    work: &Path,
    job: &JobHandle,
) -> Result<PathBuf> {
    let progress = job.progress();
    let cancel = job.cancel().clone();
    let from = r.to_string();
    let config = image.config.config_value.clone();
    let arch_wanted = platform.architecture.clone();
    let variant = platform.variant.clone();
    let top_digest = image.top_digest.clone();
    let work_dir = work.to_path_buf();
    let out = tokio::task::spawn_blocking(move || -> Result<PathBuf> {
        cancel.check()?;
        let definition = berth_sifbuild::definition_for_pull(&from);
        let arch = berth_sifbuild::detect_arch(&root).unwrap_or_else(|| arch_wanted.clone());
        berth_sifbuild::add_oci_skeleton(
            &mut root,
            &SkeletonInput {
                definition: &definition,
                bootstrap: "docker",
                from: &from,
                config: &config,
                arch: &arch_wanted,
                variant: variant.as_deref(),
                build_time: build_time(),
                base_name: Some(&from),
                base_digest: Some(&top_digest),
                berth_version: env!("CARGO_PKG_VERSION"),
            },
        )?;
        let inspect = berth_sifbuild::inspect_metadata_json(&root)?;
        let oci_config = berth_sifbuild::oci_config_json(&config);
        let squashfs = work_dir.join("rootfs.squashfs");
        berth_sifbuild::write_squashfs(&root, &squashfs, progress.clone(), &cancel)?;
        drop(root);
        progress.phase(Phase::Assembling, None);
        let sif = work_dir.join("image.sif");
        berth_sifbuild::assemble_sif(
            &sif,
            definition.as_bytes(),
            &[
                ("inspect-metadata.json", inspect),
                ("oci-config.json", oci_config),
            ],
            &squashfs,
            &arch,
        )?;
        Ok(sif)
    })
    .await
    .map_err(|e| Error::io(work, std::io::Error::other(e)))??;
    Ok(out)
}

/// `SOURCE_DATE_EPOCH` when set (reproducible builds), else now.
pub(crate) fn build_time() -> SystemTime {
    std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map_or_else(SystemTime::now, |s| {
            SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(s)
        })
}

fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes.iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}
