//! Pull (§6): ranged, parallel, resumable download of an image file into a partial file,
//! hashed as it fills, compared with the image's hash at the end.
//!
//! Differences from the reference client, on purpose: every ranged answer's status and
//! `Content-Range` are checked (a server that ignores `Range` would otherwise corrupt the
//! file), parallel ranges are also used on servers that answer 200 with range support
//! (Hinkskalle, §14) and not only after a 303, the hash is always checked, and what was
//! received survives an interruption.

use std::fs::{File, OpenOptions};
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::StreamExt;
use reqwest::{header, Response, StatusCode, Url};

use crate::client::LibraryClient;
use crate::error::{Error, ErrorKind, Result};
use crate::r#ref::LibraryRef;
use crate::transfer::follower::HashFollower;
use crate::transfer::resume::PartMap;
use berth_progress::{Cancel, Phase, Progress};

/// How a download is split.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DownloadOptions {
    /// Ranged requests in flight at once.
    pub concurrency: usize,
    /// Bytes per ranged request.
    pub part_size: u64,
    /// Attempts per part after the first (each continues from the last byte received).
    pub part_retries: u32,
    /// Wait before the first retry of a part; doubled each time.
    pub retry_backoff: Duration,
}

impl Default for DownloadOptions {
    /// 4 parts of 8 MiB in flight: more than the reference's 3 × 5 MiB, which measured
    /// slower on fast links and no different on slow ones.
    fn default() -> Self {
        Self {
            concurrency: 4,
            part_size: 8 << 20,
            part_retries: 5,
            retry_backoff: Duration::from_millis(200),
        }
    }
}

/// The image to fetch, from its metadata (`GET v1/images/…`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadSpec {
    /// Reference whose file is fetched (`v1/imagefile/{path}:{tag}`).
    pub reference: LibraryRef,
    /// Architecture sent with it.
    pub arch: Option<String>,
    /// `sha256.<hex>` the bytes must have.
    pub hash: String,
    /// Size in bytes.
    pub size: u64,
}

/// How a finished download went.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DownloadOutcome {
    /// Bytes that were already in the partial file from an earlier attempt.
    pub resumed_from: u64,
    /// Whether parts were fetched in parallel (false: one stream).
    pub ranged: bool,
}

/// Where the bytes come from after the first answer.
#[derive(Clone)]
struct Source {
    url: Url,
    auth: bool,
}

/// Internal signal: a ranged request got the whole file.
const RANGE_IGNORED: &str = "the server ignored the byte range and sent the whole file";

impl LibraryClient {
    /// Downloads the image into `partial` (created, or continued if a matching
    /// `<partial>.state` is there). On success the file is complete, synced and has the
    /// expected hash, and the state file is gone; the caller renames it into place.
    ///
    /// On failure the partial file and its state stay for a later call to continue, except
    /// after a hash mismatch (both are deleted: the bytes are bad). Cancel returns
    /// `transfer.cancelled` and keeps them too; use [`discard_partial`] to drop them.
    pub async fn download_image(
        &self,
        spec: &DownloadSpec,
        partial: &Path,
        opts: &DownloadOptions,
        progress: Arc<dyn Progress>,
        cancel: &Cancel,
    ) -> Result<DownloadOutcome> {
        if spec.size == 0 {
            return Err(Error::bad_response(
                "the library reports a size of 0 for this image",
            ));
        }
        let expected = spec
            .hash
            .strip_prefix("sha256.")
            .filter(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
            .map(str::to_ascii_lowercase)
            .ok_or_else(|| {
                Error::bad_response(format!(
                    "the image hash {:?} is not a sha256 hash, so the download cannot be checked",
                    spec.hash
                ))
            })?;
        let map = match PartMap::load(partial, &spec.hash, spec.size) {
            Some(m) => m,
            None => {
                create_sparse(partial, spec.size)?;
                PartMap::new(&spec.hash, spec.size, opts.part_size)
            }
        };
        let resumed_from = map.done_bytes();
        progress.phase(Phase::Downloading, Some(spec.size));
        progress.advance(resumed_from);
        let file = Arc::new(
            OpenOptions::new()
                .write(true)
                .open(partial)
                .map_err(|e| Error::local_io(format!("cannot open {}", partial.display()), e))?,
        );
        let mut job = Job {
            client: self,
            spec,
            partial,
            file,
            opts,
            progress: progress.clone(),
            cancel,
            map: Arc::new(Mutex::new(map)),
        };
        let (follower, ranged) = job.fetch_all().await?;
        progress.phase(Phase::Checking, None);
        job.file
            .sync_all()
            .map_err(|e| Error::local_io(format!("cannot write {}", partial.display()), e))?;
        let got = follower.finish().await?;
        if got != expected {
            discard_partial(partial);
            return Err(Error::new(
                ErrorKind::ChecksumMismatch,
                format!(
                    "the downloaded file has sha256.{got}, the library says {}",
                    spec.hash
                ),
            ));
        }
        PartMap::remove(partial);
        Ok(DownloadOutcome {
            resumed_from,
            ranged,
        })
    }
}

/// Deletes a partial download and its state.
pub fn discard_partial(partial: &Path) {
    let _ = std::fs::remove_file(partial);
    PartMap::remove(partial);
}

/// Bytes already received in the partial file of a download of image `hash` (`size`
/// bytes), if its state file is there and matches.
pub fn partial_progress(partial: &Path, hash: &str, size: u64) -> Option<u64> {
    PartMap::load(partial, hash, size).map(|m| m.done_bytes())
}

/// Bytes already received in a partial file, whatever image it is for.
pub fn resumable_bytes(partial: &Path) -> Option<u64> {
    let text = std::fs::read(PartMap::path_for(partial)).ok()?;
    let m: PartMap = serde_json::from_slice(&text).ok()?;
    PartMap::load(partial, &m.hash, m.size).map(|m| m.done_bytes())
}

fn create_sparse(partial: &Path, size: u64) -> Result<()> {
    let what = || format!("cannot create {}", partial.display());
    let f = File::create(partial).map_err(|e| Error::local_io(what(), e))?;
    if let Err(e) = f.set_len(size) {
        // Too big for the disk or the file-size limit: leave nothing behind.
        drop(f);
        let _ = std::fs::remove_file(partial);
        return Err(Error::local_io(what(), e));
    }
    PartMap::remove(partial);
    Ok(())
}

struct Job<'a> {
    client: &'a LibraryClient,
    spec: &'a DownloadSpec,
    partial: &'a Path,
    file: Arc<File>,
    opts: &'a DownloadOptions,
    progress: Arc<dyn Progress>,
    cancel: &'a Cancel,
    map: Arc<Mutex<PartMap>>,
}

impl Job<'_> {
    fn map(&self) -> std::sync::MutexGuard<'_, PartMap> {
        self.map.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn save_map(&self) -> Result<()> {
        let m = self.map().clone();
        m.save(self.partial)
            .map_err(|e| Error::local_io(format!("cannot write {}", self.partial.display()), e))
    }

    /// Fetches every missing part; returns the hash follower (fed to the end) and whether
    /// ranges were used.
    async fn fetch_all(&mut self) -> Result<(HashFollower, bool)> {
        let follower = HashFollower::start(self.partial, self.spec.size)?;
        follower.advance_to(self.map().contiguous());
        let missing = self.map().missing();
        let Some(&first) = missing.first() else {
            return Ok((follower, true));
        };
        let library = self
            .client
            .imagefile_url(&self.spec.reference, self.spec.arch.as_deref())?;
        // The first part doubles as the probe: 303 → storage URL, 206 → this URL serves
        // ranges, 200 → no ranges here.
        let range = self.map().range(first);
        let resp = self.probe(&library, range).await?;
        let source = match resp.status() {
            StatusCode::SEE_OTHER => {
                let location = resp
                    .headers()
                    .get(header::LOCATION)
                    .and_then(|v| v.to_str().ok())
                    .ok_or_else(|| Error::bad_response("303 answer without a Location"))?;
                let url = library
                    .join(location)
                    .map_err(|e| Error::bad_response(format!("bad Location {location:?}: {e}")))?;
                let auth = same_origin(&url, self.client.base_url());
                Source { url, auth }
            }
            StatusCode::PARTIAL_CONTENT => {
                let source = Source {
                    url: library,
                    auth: true,
                };
                self.receive_part(first, resp).await?;
                self.part_done(first, &follower)?;
                source
            }
            StatusCode::OK => {
                let source = Source {
                    url: library,
                    auth: true,
                };
                let follower = self.stream_whole(&source, resp, follower).await?;
                return Ok((follower, false));
            }
            status => return Err(response_error(status.as_u16(), resp).await),
        };
        match self.fetch_parts(&source, &follower).await {
            Ok(()) => Ok((follower, true)),
            Err(e) if e.message() == RANGE_IGNORED => {
                drop(follower);
                let follower = HashFollower::start(self.partial, self.spec.size)?;
                let resp = self
                    .client
                    .send_get(&source.url, source.auth, None, self.cancel)
                    .await?;
                match resp.status() {
                    StatusCode::OK => {
                        Ok((self.stream_whole(&source, resp, follower).await?, false))
                    }
                    status => Err(response_error(status.as_u16(), resp).await),
                }
            }
            Err(e) => Err(e),
        }
    }

    /// The first request, retried like a part when the server fails (5xx, 429) or the
    /// connection does.
    async fn probe(&self, library: &Url, range: (u64, u64)) -> Result<Response> {
        let mut attempt = 0u32;
        loop {
            let outcome = match self
                .client
                .send_get(library, true, Some(range), self.cancel)
                .await
            {
                Ok(resp) if resp.status().is_server_error() || resp.status().as_u16() == 429 => {
                    Err(response_error(resp.status().as_u16(), resp).await)
                }
                other => other,
            };
            match outcome {
                Ok(resp) => return Ok(resp),
                Err(e) if !retryable(&e) || attempt >= self.opts.part_retries => return Err(e),
                Err(_) => {}
            }
            attempt += 1;
            let wait = self.opts.retry_backoff * 2u32.saturating_pow(attempt - 1);
            tokio::select! {
                () = tokio::time::sleep(wait.min(Duration::from_secs(10))) => {}
                () = self.cancel.cancelled() => return Err(Error::cancelled()),
            }
        }
    }

    /// Missing parts in parallel, each with its own retries.
    async fn fetch_parts(&self, source: &Source, follower: &HashFollower) -> Result<()> {
        let missing = self.map().missing();
        let mut parts = futures_util::stream::iter(missing)
            .map(|i| async move { self.fetch_part(source, i).await.map(|()| i) })
            .buffer_unordered(self.opts.concurrency.max(1));
        loop {
            let next = tokio::select! {
                next = parts.next() => next,
                () = self.cancel.cancelled() => return Err(Error::cancelled()),
            };
            match next {
                None => return Ok(()),
                Some(Ok(i)) => self.part_done(i, follower)?,
                Some(Err(e)) => return Err(e),
            }
        }
    }

    fn part_done(&self, i: u64, follower: &HashFollower) -> Result<()> {
        let contiguous = {
            let mut m = self.map();
            m.done.insert(i);
            m.contiguous()
        };
        self.save_map()?;
        follower.advance_to(contiguous);
        Ok(())
    }

    /// One part: `Range: bytes=pos-end`, continuing after a broken connection.
    async fn fetch_part(&self, source: &Source, i: u64) -> Result<()> {
        let (start, end) = self.map().range(i);
        let mut pos = start;
        let mut attempt = 0u32;
        loop {
            let outcome = async {
                let resp = self
                    .client
                    .send_get(&source.url, source.auth, Some((pos, end)), self.cancel)
                    .await?;
                match resp.status() {
                    StatusCode::PARTIAL_CONTENT => {
                        check_content_range(&resp, pos, end, self.spec.size)?;
                        self.write_body(resp, &mut pos, end + 1).await
                    }
                    StatusCode::OK => Err(Error::bad_response(RANGE_IGNORED)),
                    status => Err(response_error(status.as_u16(), resp).await),
                }
            }
            .await;
            match outcome {
                Ok(()) if pos == end + 1 => return Ok(()),
                Ok(()) => {
                    // Body ended early without an error: ask for the rest.
                }
                Err(e) if !retryable(&e) || attempt >= self.opts.part_retries => return Err(e),
                Err(_) => {}
            }
            attempt += 1;
            let wait = self.opts.retry_backoff * 2u32.saturating_pow(attempt - 1);
            tokio::select! {
                () = tokio::time::sleep(wait.min(Duration::from_secs(10))) => {}
                () = self.cancel.cancelled() => return Err(Error::cancelled()),
            }
        }
    }

    /// The probe's 206 body for the first part (retried through `fetch_part` if cut).
    async fn receive_part(&self, i: u64, resp: Response) -> Result<()> {
        let (start, end) = self.map().range(i);
        check_content_range(&resp, start, end, self.spec.size)?;
        let mut pos = start;
        match self.write_body(resp, &mut pos, end + 1).await {
            Ok(()) if pos == end + 1 => Ok(()),
            Err(e) if !retryable(&e) => Err(e),
            _ => {
                // Rewind the progress of the cut attempt: fetch_part counts from `start`.
                self.progress.retract(pos - start);
                self.fetch_part_from_scratch(i).await
            }
        }
    }

    async fn fetch_part_from_scratch(&self, i: u64) -> Result<()> {
        let library = self
            .client
            .imagefile_url(&self.spec.reference, self.spec.arch.as_deref())?;
        self.fetch_part(
            &Source {
                url: library,
                auth: true,
            },
            i,
        )
        .await
    }

    /// The server sent the whole file (no ranges): write it from byte 0, hashing as it
    /// comes. Starts again from 0 if the stream breaks: such a server cannot resume.
    async fn stream_whole(
        &self,
        source: &Source,
        first: Response,
        follower: HashFollower,
    ) -> Result<HashFollower> {
        let size = self.spec.size;
        {
            let mut m = self.map();
            self.progress.retract(m.done_bytes());
            m.done.clear();
        }
        PartMap::remove(self.partial);
        let (mut resp, mut follower) = (first, follower);
        let mut attempt = 0u32;
        loop {
            let mut pos = 0u64;
            match self
                .write_stream(resp, &mut pos, size, Some(&follower))
                .await
            {
                Ok(()) if pos == size => {
                    follower.advance_to(size);
                    return Ok(follower);
                }
                Ok(()) => {
                    return Err(Error::bad_response(format!(
                        "the server sent {pos} bytes, the library says the image has {size}"
                    )))
                }
                Err(e) if !retryable(&e) || attempt >= self.opts.part_retries => return Err(e),
                Err(_) => {}
            }
            self.progress.retract(pos);
            attempt += 1;
            // The old follower hashed bytes that are about to be written again.
            drop(follower);
            follower = HashFollower::start(self.partial, size)?;
            tokio::select! {
                () = tokio::time::sleep(self.opts.retry_backoff * attempt) => {}
                () = self.cancel.cancelled() => return Err(Error::cancelled()),
            }
            resp = self
                .client
                .send_get(&source.url, source.auth, None, self.cancel)
                .await?;
            if resp.status() != StatusCode::OK {
                return Err(response_error(resp.status().as_u16(), resp).await);
            }
        }
    }

    async fn write_body(&self, resp: Response, pos: &mut u64, end: u64) -> Result<()> {
        self.write_stream(resp, pos, end, None).await
    }

    /// Writes a body at `*pos` onwards (never past `end`), counting progress.
    async fn write_stream(
        &self,
        mut resp: Response,
        pos: &mut u64,
        end: u64,
        follower: Option<&HashFollower>,
    ) -> Result<()> {
        loop {
            let chunk = tokio::select! {
                c = resp.chunk() => c.map_err(Error::connection_lost)?,
                () = self.cancel.cancelled() => return Err(Error::cancelled()),
            };
            let Some(chunk) = chunk else { return Ok(()) };
            if *pos + chunk.len() as u64 > end {
                return Err(Error::bad_response(format!(
                    "the server sent more bytes than asked for (past byte {end})"
                )));
            }
            write_at(&self.file, &chunk, *pos).map_err(|e| {
                Error::local_io(format!("cannot write {}", self.partial.display()), e)
            })?;
            *pos += chunk.len() as u64;
            self.progress.advance(chunk.len() as u64);
            if let Some(f) = follower {
                f.advance_to(*pos);
            }
        }
    }
}

/// Errors a new attempt may fix.
fn retryable(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Unreachable | ErrorKind::Timeout | ErrorKind::ServerError
    ) || e.status() == Some(429)
}

fn check_content_range(resp: &Response, start: u64, end: u64, size: u64) -> Result<()> {
    let value = resp
        .headers()
        .get(header::CONTENT_RANGE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let parsed = value
        .strip_prefix("bytes ")
        .and_then(|r| r.split_once('/'))
        .and_then(|(range, total)| {
            let (a, b) = range.split_once('-')?;
            Some((a.parse::<u64>().ok()?, b.parse::<u64>().ok()?, total))
        });
    match parsed {
        Some((a, b, total))
            if a == start && b == end && (total == "*" || total.parse() == Ok(size)) =>
        {
            Ok(())
        }
        _ => Err(Error::bad_response(format!(
            "asked for bytes {start}-{end} of {size}, the server answered Content-Range {value:?}"
        ))),
    }
}

async fn response_error(status: u16, resp: Response) -> Error {
    let body = resp.bytes().await.unwrap_or_default();
    let limited = &body[..body.len().min(64 << 10)];
    match status {
        404 => Error::new(
            ErrorKind::NotFound,
            "requested image was not found in the library",
        ),
        _ => Error::from_response(status, limited),
    }
}

/// Same scheme, host and port: the only redirect targets that get the token (§6).
fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme()
        && a.host_str() == b.host_str()
        && a.port_or_known_default() == b.port_or_known_default()
}

#[cfg(unix)]
fn write_at(file: &File, buf: &[u8], offset: u64) -> std::io::Result<()> {
    std::os::unix::fs::FileExt::write_all_at(file, buf, offset)
}

#[cfg(windows)]
fn write_at(file: &File, mut buf: &[u8], mut offset: u64) -> std::io::Result<()> {
    use std::os::windows::fs::FileExt;
    while !buf.is_empty() {
        let n = file.seek_write(buf, offset)?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        buf = &buf[n..];
        offset += n as u64;
    }
    Ok(())
}
