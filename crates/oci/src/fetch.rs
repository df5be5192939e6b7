//! Verified, resumable, cancellable blob downloads into the [`BlobStore`].
//!
//! Each blob is written to a temp file in the store directory, hashed as bytes arrive,
//! fsynced and renamed to its digest name only when size and digest both match; on any
//! failure the temp file is deleted when it is dropped. A broken transfer resumes with
//! `Range` from the bytes already written (and hashed) when the registry answers 206.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use berth_progress::{Cancel, PartInfo, Phase, Progress};
use futures_util::{StreamExt, TryStreamExt};
use reqwest::header::{CONTENT_RANGE, RANGE};
use reqwest::StatusCode;
use sha2::{Digest as _, Sha256};
use tokio::io::AsyncWriteExt;

use crate::client::{check, Access, RegistryClient};
use crate::error::{Error, ErrorKind, Result};
use crate::manifest::Descriptor;
use crate::reference::ImageRef;
use crate::resolve::hex;
use crate::store::BlobStore;

impl RegistryClient {
    /// Downloads every blob of `blobs` that `store` lacks, `concurrency` at a time, and
    /// returns their store paths in input order. Reports `Phase::Downloading` with the
    /// total of missing bytes. Duplicates in `blobs` are fetched once.
    pub async fn fetch_blobs(
        &self,
        r: &ImageRef,
        blobs: &[Descriptor],
        store: &BlobStore,
        concurrency: usize,
        progress: Arc<dyn Progress>,
        cancel: &Cancel,
    ) -> Result<Vec<PathBuf>> {
        self.fetch_blobs_notify(r, blobs, store, concurrency, progress, cancel, &|_, _| {})
            .await
    }

    /// [`RegistryClient::fetch_blobs`], calling `ready` with each blob's digest and store
    /// path as soon as it is in the store, verified (at once for those already there), so
    /// a caller can start on early layers while later ones still download.
    #[allow(clippy::too_many_arguments)]
    pub async fn fetch_blobs_notify(
        &self,
        r: &ImageRef,
        blobs: &[Descriptor],
        store: &BlobStore,
        concurrency: usize,
        progress: Arc<dyn Progress>,
        cancel: &Cancel,
        ready: &(dyn Fn(&str, &Path) + Sync),
    ) -> Result<Vec<PathBuf>> {
        let mut paths = Vec::with_capacity(blobs.len());
        for d in blobs {
            paths.push(store.target(&d.digest).ok_or_else(|| {
                Error::new(
                    ErrorKind::UnsupportedMediaType,
                    format!("blob digest {:?} is not sha256", d.digest),
                )
            })?);
        }
        // Owned, so the download futures borrow nothing with a lifetime of their own
        // (a borrowed descriptor makes the future non-`Send` for a spawning caller).
        // Each unique blob is one part of the phase; those in the store start complete.
        let mut missing: Vec<(usize, Descriptor)> = Vec::new();
        let mut parts: Vec<PartInfo> = Vec::new();
        let mut seen: Vec<&str> = Vec::new();
        for d in blobs {
            if seen.contains(&d.digest.as_str()) {
                continue;
            }
            seen.push(&d.digest);
            let present = store.contains(d);
            if present {
                if let Some(path) = store.target(&d.digest) {
                    ready(&d.digest, &path);
                }
            } else {
                missing.push((parts.len(), d.clone()));
            }
            parts.push(PartInfo {
                label: short_digest(&d.digest),
                total: d.size,
                done: if present { d.size } else { 0 },
            });
        }
        progress.phase(
            Phase::Downloading,
            Some(missing.iter().map(|(_, d)| d.size).sum()),
        );
        progress.parts(&parts);
        if missing.is_empty() {
            return Ok(paths);
        }
        let dir = store.dir().join("sha256");
        tokio::fs::create_dir_all(&dir)
            .await
            .map_err(|e| Error::local_io(format!("creating {}", dir.display()), e))?;
        // The first failure drops the stream, which drops the other downloads and their
        // temp files: nothing half-written survives.
        futures_util::stream::iter(missing.into_iter().map(|(part, d)| {
            let progress = progress.clone();
            let dir = dir.clone();
            async move {
                let tracked = PartProgress {
                    inner: progress.as_ref(),
                    part,
                    done: std::sync::atomic::AtomicU64::new(0),
                };
                self.fetch_one(r, &d, &dir, &tracked, cancel).await?;
                if let Some(path) = store.target(&d.digest) {
                    ready(&d.digest, &path);
                }
                Ok::<(), Error>(())
            }
        }))
        .buffer_unordered(concurrency.max(1))
        .try_collect::<Vec<()>>()
        .await?;
        Ok(paths)
    }

    async fn fetch_one(
        &self,
        r: &ImageRef,
        d: &Descriptor,
        dir: &Path,
        progress: &dyn Progress,
        cancel: &Cancel,
    ) -> Result<()> {
        let what = format!("blob {}", d.digest);
        let hex_name = &d.digest["sha256:".len()..];
        let final_path = dir.join(hex_name);
        let tmp = tempfile::Builder::new()
            .prefix(&format!(".dl-{}-", &hex_name[..12]))
            .tempfile_in(dir)
            .map_err(|e| {
                Error::local_io(format!("creating a temp file in {}", dir.display()), e)
            })?;
        let std_file = tmp
            .as_file()
            .try_clone()
            .map_err(|e| Error::local_io("opening the temp file", e))?;
        let mut file = tokio::fs::File::from_std(std_file);
        let mut hasher = Sha256::new();
        let mut written: u64 = 0;
        let url = format!("{}/blobs/{}", self.repo_url(r), d.digest);
        let attempts = self.opts.blob_attempts.max(1);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let outcome = self
                .transfer(
                    r,
                    d,
                    &url,
                    &what,
                    &mut file,
                    &mut hasher,
                    &mut written,
                    progress,
                    cancel,
                )
                .await;
            match outcome {
                Ok(()) => break,
                Err(e) if attempt < attempts && retryable(&e) => {
                    cancel.check()?;
                    tokio::time::sleep(std::time::Duration::from_millis(200 * u64::from(attempt)))
                        .await;
                }
                Err(e) => return Err(e),
            }
        }
        if written != d.size {
            return Err(Error::mismatch(format!(
                "{what}: received {written} bytes, expected {}",
                d.size
            )));
        }
        let got = format!("sha256:{}", hex(&hasher.finalize()));
        if got != d.digest {
            return Err(Error::mismatch(format!(
                "{what}: the received bytes have digest {got}"
            )));
        }
        file.flush()
            .await
            .map_err(|e| Error::local_io("writing the temp file", e))?;
        file.sync_all()
            .await
            .map_err(|e| Error::local_io("syncing the temp file", e))?;
        drop(file);
        tmp.persist(&final_path).map_err(|e| {
            Error::local_io(format!("renaming into {}", final_path.display()), e.error)
        })?;
        // Make the rename itself durable; not every platform can open a directory.
        if let Ok(dirf) = std::fs::File::open(dir) {
            let _ = dirf.sync_all();
        }
        Ok(())
    }

    /// One HTTP attempt, continuing from `written` bytes. On a 200 to a ranged request the
    /// file and hash restart from zero and the progress already reported is taken back.
    #[allow(clippy::too_many_arguments)]
    async fn transfer(
        &self,
        r: &ImageRef,
        d: &Descriptor,
        url: &str,
        what: &str,
        file: &mut tokio::fs::File,
        hasher: &mut Sha256,
        written: &mut u64,
        progress: &dyn Progress,
        cancel: &Cancel,
    ) -> Result<()> {
        let offset = *written;
        let resp = self
            .send(r, Access::Pull, what, cancel, |http| {
                let req = http.get(url);
                if offset > 0 {
                    req.header(RANGE, format!("bytes={offset}-"))
                } else {
                    req
                }
            })
            .await?;
        let resp = check(resp, what).await?;
        let resumed = resp.status() == StatusCode::PARTIAL_CONTENT
            && resp
                .headers()
                .get(CONTENT_RANGE)
                .and_then(|v| v.to_str().ok())
                .and_then(range_start)
                == Some(offset);
        if offset > 0 && !resumed {
            use tokio::io::AsyncSeekExt;
            file.set_len(0)
                .await
                .map_err(|e| Error::local_io("truncating the temp file", e))?;
            file.seek(std::io::SeekFrom::Start(0))
                .await
                .map_err(|e| Error::local_io("rewinding the temp file", e))?;
            *hasher = Sha256::new();
            progress.retract(offset);
            *written = 0;
        }
        let mut body = resp.bytes_stream();
        loop {
            let next = tokio::select! {
                n = body.next() => n,
                _ = cancel.cancelled() => return Err(Error::cancelled()),
            };
            let Some(chunk) = next else { return Ok(()) };
            let chunk = chunk.map_err(|e| Error::connection_lost(e, what))?;
            if *written + chunk.len() as u64 > d.size {
                return Err(Error::mismatch(format!(
                    "{what}: the registry sent more than the {} bytes announced",
                    d.size
                )));
            }
            file.write_all(&chunk)
                .await
                .map_err(|e| Error::local_io("writing the temp file", e))?;
            hasher.update(&chunk);
            *written += chunk.len() as u64;
            progress.advance(chunk.len() as u64);
        }
    }
}

/// Forwards a blob's progress to the phase and to its part.
struct PartProgress<'a> {
    inner: &'a dyn Progress,
    part: usize,
    done: std::sync::atomic::AtomicU64,
}

impl Progress for PartProgress<'_> {
    fn phase(&self, phase: Phase, total: Option<u64>) {
        self.inner.phase(phase, total);
    }

    fn advance(&self, bytes: u64) {
        use std::sync::atomic::Ordering;
        let done = self.done.fetch_add(bytes, Ordering::Relaxed) + bytes;
        self.inner.advance(bytes);
        self.inner.part(self.part, done);
    }

    fn retract(&self, bytes: u64) {
        use std::sync::atomic::Ordering;
        let done = self
            .done
            .fetch_sub(bytes, Ordering::Relaxed)
            .saturating_sub(bytes);
        self.inner.retract(bytes);
        self.inner.part(self.part, done);
    }
}

/// `sha256:0123456789ab…` → `0123456789ab`, as registries and docker show layers.
fn short_digest(digest: &str) -> String {
    let hex = digest.split_once(':').map_or(digest, |(_, h)| h);
    hex.chars().take(12).collect()
}

fn retryable(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Unreachable | ErrorKind::Timeout | ErrorKind::ServerError
    )
}

/// `bytes START-END/TOTAL` → START.
fn range_start(v: &str) -> Option<u64> {
    v.strip_prefix("bytes ")?
        .split('-')
        .next()?
        .trim()
        .parse()
        .ok()
}
