//! Sending the image file (§5 step 8, §5.1): legacy `POST v1/imagefile`, v2 single-part
//! to a presigned URL, and v2 multipart with parts **in parallel** (the reference sends them
//! one by one; Hinkskalle and S3 assemble them by number, §14).

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures_util::{StreamExt, TryStreamExt};
use reqwest::{header, Method, Url};
use serde::Deserialize;
use serde_json::{json, Value};

use crate::client::LibraryClient;
use crate::de;
use crate::error::{Error, ErrorKind, Result};
use crate::http::{decode_data, seg, Call};
use crate::transfer::digest::{digest_range, FileDigest};
use berth_progress::{Cancel, Progress};

/// Files above this go multipart (strictly greater, as the reference).
pub const MULTIPART_THRESHOLD: u64 = 64 << 20;

/// What the server says after an upload (§5 step 8.3).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Completion {
    /// Quota in bytes; 0 means unlimited.
    pub quota_total: u64,
    /// Bytes used, this image included.
    pub quota_usage: u64,
    /// Where to see the container in a browser, as the server gives it (may be relative).
    pub container_url: Option<String>,
}

/// How uploads behave.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UploadOptions {
    /// Multipart parts in flight at once.
    pub concurrency: usize,
    /// Attempts per part after the first.
    pub part_retries: u32,
    /// Wait before the first retry of a part; doubled each time.
    pub retry_backoff: Duration,
}

impl Default for UploadOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            part_retries: 4,
            retry_backoff: Duration::from_millis(250),
        }
    }
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct CompletionWire {
    #[serde(deserialize_with = "de::string")]
    container_url: String,
    quota: QuotaWire,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct QuotaWire {
    #[serde(deserialize_with = "de::u64")]
    quota_total: u64,
    #[serde(deserialize_with = "de::u64")]
    quota_usage: u64,
}

#[derive(Deserialize, Default)]
#[serde(default, rename_all = "camelCase")]
struct MultipartStart {
    #[serde(rename = "uploadID", deserialize_with = "de::string")]
    upload_id: String,
    #[serde(deserialize_with = "de::u64")]
    total_parts: u64,
    #[serde(deserialize_with = "de::u64")]
    part_size: u64,
    options: Value,
}

/// One part as the server acknowledged it.
struct DonePart {
    number: u64,
    token: String,
}

impl LibraryClient {
    /// Uploads `file` into the image record `image_id`, choosing the protocol from the
    /// server's API level and the file size.
    pub(crate) async fn upload_file(
        &self,
        image_id: &str,
        file: &Path,
        digest: &FileDigest,
        opts: &UploadOptions,
        progress: Arc<dyn Progress>,
        cancel: &Cancel,
    ) -> Result<Option<Completion>> {
        let level = self.api_level().await?;
        if !level.v2_upload() {
            self.upload_legacy(image_id, file, digest, progress, cancel)
                .await?;
            return Ok(None);
        }
        if digest.size > MULTIPART_THRESHOLD {
            match self
                .upload_multipart(image_id, file, digest, opts, progress.clone(), cancel)
                .await
            {
                Err(e) if e.kind() == ErrorKind::NotFound && e.message() == NO_MULTIPART => {}
                other => return other,
            }
        }
        self.upload_single(image_id, file, digest, progress, cancel)
            .await
    }

    /// `POST v1/imagefile/{id}` with the raw file (servers older than 2.0.0-alpha.1).
    async fn upload_legacy(
        &self,
        image_id: &str,
        file: &Path,
        digest: &FileDigest,
        progress: Arc<dyn Progress>,
        cancel: &Cancel,
    ) -> Result<()> {
        let url = self.url(&format!("v1/imagefile/{}", seg(image_id)))?;
        let sent = Arc::new(AtomicU64::new(0));
        let body = file_body(file, 0, digest.size, progress.clone(), sent.clone()).await?;
        let req = self
            .transfer_request(Method::POST, url, true)?
            .header(header::CONTENT_LENGTH, digest.size)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(body);
        let r = self.send_body(req, &[200], cancel).await;
        if r.is_err() {
            progress.retract(sent.load(Ordering::Relaxed));
        }
        r.map(|_| ())
    }

    /// v2 single-part: presign, PUT, complete.
    async fn upload_single(
        &self,
        image_id: &str,
        file: &Path,
        digest: &FileDigest,
        progress: Arc<dyn Progress>,
        cancel: &Cancel,
    ) -> Result<Option<Completion>> {
        let md5 = match &digest.md5 {
            Some(m) => m.clone(),
            None => {
                // Only single-part uploads need MD5; multipart-sized files that end up here
                // (server without multipart) pay for it now.
                let d = crate::transfer::digest::digest_file(
                    file,
                    true,
                    Arc::new(berth_progress::NoProgress),
                    cancel.clone(),
                )
                .await?;
                d.md5.unwrap_or_default()
            }
        };
        let init = self
            .call_json(
                Method::POST,
                &format!("v2/imagefile/{}", seg(image_id)),
                json!({"filesize": digest.size, "sha256sum": digest.sha256, "md5sum": md5}),
                &[200, 201],
            )
            .await?;
        #[derive(Deserialize, Default)]
        #[serde(default, rename_all = "camelCase")]
        struct Init {
            #[serde(rename = "uploadURL", deserialize_with = "de::string")]
            upload_url: String,
        }
        let init: Init = decode_data(&init)?;
        if init.upload_url.is_empty() {
            return Err(Error::bad_response("the server gave no upload URL"));
        }
        let url = Url::parse(&init.upload_url)
            .or_else(|_| self.base_url().join(&init.upload_url))
            .map_err(|e| Error::bad_response(format!("bad upload URL: {e}")))?;
        // §5 8.2: the checksum header only when the presigned URL signs it.
        let signs_sha = url
            .query_pairs()
            .any(|(k, v)| k == "X-Amz-SignedHeaders" && v.contains("x-amz-content-sha256"));
        let sent = Arc::new(AtomicU64::new(0));
        let body = file_body(file, 0, digest.size, progress.clone(), sent.clone()).await?;
        let mut req = self
            .transfer_request(Method::PUT, url, false)?
            .header(header::CONTENT_LENGTH, digest.size)
            .header(header::CONTENT_TYPE, "application/octet-stream")
            .body(body);
        if signs_sha {
            req = req.header("x-amz-content-sha256", &digest.sha256);
        }
        if let Err(e) = self.send_body(req, &[200], cancel).await {
            progress.retract(sent.load(Ordering::Relaxed));
            return Err(e);
        }
        let done = self
            .call_json(
                Method::PUT,
                &format!("v2/imagefile/{}/_complete", seg(image_id)),
                json!({}),
                &[200, 201, 204],
            )
            .await?;
        completion_from(&done.body)
    }

    /// v2 multipart (§5.1), parts in parallel; aborted on the server on any failure or cancel.
    async fn upload_multipart(
        &self,
        image_id: &str,
        file: &Path,
        digest: &FileDigest,
        opts: &UploadOptions,
        progress: Arc<dyn Progress>,
        cancel: &Cancel,
    ) -> Result<Option<Completion>> {
        let base = format!("v2/imagefile/{}", seg(image_id));
        let start = match self
            .call_json(
                Method::POST,
                &format!("{base}/_multipart"),
                json!({"filesize": digest.size}),
                &[200, 201],
            )
            .await
        {
            Ok(reply) => decode_data::<MultipartStart>(&reply)?,
            // §5: a 404 here means "no multipart on this server": single-part instead.
            Err(e) if e.status() == Some(404) => {
                return Err(Error::new(ErrorKind::NotFound, NO_MULTIPART))
            }
            Err(e) => return Err(e),
        };
        if start.upload_id.is_empty() || start.part_size == 0 {
            return Err(Error::bad_response(
                "the server started a multipart upload without an ID or part size",
            ));
        }
        let parts = digest.size.div_ceil(start.part_size);
        if start.total_parts != 0 && start.total_parts != parts {
            self.abort_multipart(&base, &start.upload_id).await;
            return Err(Error::bad_response(format!(
                "the server wants {} parts of {} bytes for {} bytes",
                start.total_parts, start.part_size, digest.size
            )));
        }
        // §5.1: s3compliant unless the literal "false".
        let s3 = start.options.get("s3compliant").and_then(Value::as_str) != Some("false");
        let upload_id = start.upload_id.clone();
        let run = async {
            let mut done: Vec<DonePart> = futures_util::stream::iter(1..=parts)
                .map(|n| {
                    let offset = (n - 1) * start.part_size;
                    let len = start.part_size.min(digest.size - offset);
                    self.send_part(
                        &base,
                        &upload_id,
                        n,
                        offset,
                        len,
                        file,
                        s3,
                        opts,
                        progress.clone(),
                        cancel,
                    )
                })
                .buffer_unordered(opts.concurrency.max(1))
                .try_collect()
                .await?;
            done.sort_by_key(|p| p.number);
            let completed: Vec<Value> = done
                .iter()
                .map(|p| json!({"partNumber": p.number, "token": p.token}))
                .collect();
            cancel.check()?;
            self.call_json(
                Method::PUT,
                &format!("{base}/_multipart_complete"),
                json!({"uploadID": upload_id, "completedParts": completed}),
                &[200, 201, 204],
            )
            .await
        };
        let outcome = tokio::select! {
            r = run => r,
            () = cancel.cancelled() => Err(Error::cancelled()),
        };
        match outcome {
            Ok(reply) => {
                // §5.1: an empty containerUrl in multipart completion means "no details".
                Ok(completion_from(&reply.body)?.filter(|c| c.container_url.is_some()))
            }
            Err(e) => {
                self.abort_multipart(&base, &upload_id).await;
                Err(e)
            }
        }
    }

    /// Best effort: the upload failed already; an abort failure must not hide why.
    async fn abort_multipart(&self, base: &str, upload_id: &str) {
        let _ = self
            .call_json(
                Method::PUT,
                &format!("{base}/_multipart_abort"),
                json!({"uploadID": upload_id}),
                &[200, 201, 204],
            )
            .await;
    }

    /// Hash, presign and PUT one part, with retries.
    #[allow(clippy::too_many_arguments)]
    async fn send_part(
        &self,
        base: &str,
        upload_id: &str,
        number: u64,
        offset: u64,
        len: u64,
        file: &Path,
        s3: bool,
        opts: &UploadOptions,
        progress: Arc<dyn Progress>,
        cancel: &Cancel,
    ) -> Result<DonePart> {
        let sha = if s3 {
            digest_range(file, offset, len).await?
        } else {
            String::new()
        };
        let mut attempt = 0u32;
        loop {
            cancel.check()?;
            let sent = Arc::new(AtomicU64::new(0));
            let r = self
                .put_part(
                    base,
                    upload_id,
                    number,
                    offset,
                    len,
                    file,
                    &sha,
                    progress.clone(),
                    sent.clone(),
                    cancel,
                )
                .await;
            match r {
                Ok(token) => {
                    return Ok(DonePart { number, token });
                }
                Err(e) => {
                    progress.retract(sent.load(Ordering::Relaxed));
                    if !retryable(&e) || attempt >= opts.part_retries {
                        return Err(e.with_context(format!("part {number}")));
                    }
                }
            }
            attempt += 1;
            tokio::select! {
                () = tokio::time::sleep(opts.retry_backoff * 2u32.saturating_pow(attempt - 1)) => {}
                () = cancel.cancelled() => return Err(Error::cancelled()),
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    async fn put_part(
        &self,
        base: &str,
        upload_id: &str,
        number: u64,
        offset: u64,
        len: u64,
        file: &Path,
        sha: &str,
        progress: Arc<dyn Progress>,
        sent: Arc<AtomicU64>,
        cancel: &Cancel,
    ) -> Result<String> {
        let reply = self
            .call_json(
                Method::PUT,
                &format!("{base}/_multipart"),
                json!({"uploadID": upload_id, "partNumber": number, "partSize": len, "sha256sum": sha}),
                &[200, 201],
            )
            .await?;
        #[derive(Deserialize, Default)]
        #[serde(default)]
        struct Presigned {
            #[serde(rename = "presignedURL", deserialize_with = "de::string")]
            url: String,
        }
        let p: Presigned = decode_data(&reply)?;
        let url = Url::parse(&p.url)
            .or_else(|_| self.base_url().join(&p.url))
            .map_err(|e| Error::bad_response(format!("bad part URL {:?}: {e}", p.url)))?;
        let body = file_body(file, offset, len, progress, sent).await?;
        let mut req = self
            .transfer_request(Method::PUT, url, false)?
            .header(header::CONTENT_LENGTH, len)
            .body(body);
        if !sha.is_empty() {
            req = req.header("x-amz-content-sha256", sha);
        }
        let resp = self.send_body(req, &[200], cancel).await?;
        let etag = resp
            .headers()
            .get(header::ETAG)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
            .ok_or_else(|| {
                Error::bad_response(format!("part {number} was stored without an ETag"))
            })?;
        Ok(etag)
    }

    /// A metadata call (JSON in, JSON out) with the token.
    async fn call_json(
        &self,
        method: Method,
        path: &str,
        body: Value,
        ok: &[u16],
    ) -> Result<crate::http::Reply> {
        let url = self.url(path)?;
        self.http
            .send(Call {
                method,
                url,
                query: &[],
                body: Some(body),
                auth: true,
                ok,
            })
            .await
    }

    /// Sends a request with a streamed body; the status must be one of `ok`.
    async fn send_body(
        &self,
        req: reqwest::RequestBuilder,
        ok: &[u16],
        cancel: &Cancel,
    ) -> Result<reqwest::Response> {
        let resp = tokio::select! {
            r = req.send() => r.map_err(Error::from_transport)?,
            () = cancel.cancelled() => return Err(Error::cancelled()),
        };
        let status = resp.status();
        if ok.contains(&status.as_u16()) {
            return Ok(resp);
        }
        let body = resp.bytes().await.unwrap_or_default();
        Err(Error::from_response(
            status.as_u16(),
            &body[..body.len().min(64 << 10)],
        ))
    }
}

/// Marker message for "start multipart said 404".
const NO_MULTIPART: &str = "the server has no multipart upload";

fn retryable(e: &Error) -> bool {
    matches!(
        e.kind(),
        ErrorKind::Unreachable | ErrorKind::Timeout | ErrorKind::ServerError
    ) || e.status() == Some(429)
}

/// The completion body; empty (204) means no details.
fn completion_from(body: &[u8]) -> Result<Option<Completion>> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let reply = crate::http::Reply {
        body: body.to_vec(),
    };
    let wire: CompletionWire = decode_data(&reply)?;
    Ok(Some(Completion {
        quota_total: wire.quota.quota_total,
        quota_usage: wire.quota.quota_usage,
        container_url: Some(wire.container_url).filter(|u| !u.is_empty()),
    }))
}

/// `len` bytes of `file` from `offset` as a request body, counting what is sent.
async fn file_body(
    file: &Path,
    offset: u64,
    len: u64,
    progress: Arc<dyn Progress>,
    sent: Arc<AtomicU64>,
) -> Result<reqwest::Body> {
    use tokio::io::{AsyncReadExt, AsyncSeekExt};
    let what = format!("cannot read {}", file.display());
    let mut f = tokio::fs::File::open(file)
        .await
        .map_err(|e| Error::local_io(what.clone(), e))?;
    f.seek(std::io::SeekFrom::Start(offset))
        .await
        .map_err(|e| Error::local_io(what, e))?;
    let stream = tokio_util::io::ReaderStream::with_capacity(f.take(len), 256 << 10).inspect_ok(
        move |chunk| {
            progress.advance(chunk.len() as u64);
            sent.fetch_add(chunk.len() as u64, Ordering::Relaxed);
        },
    );
    Ok(reqwest::Body::wrap_stream(stream))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completion_variants() {
        assert_eq!(completion_from(b"").unwrap(), None);
        let c = completion_from(
            br#"{"data":{"containerUrl":"entities/a/collections/b/containers/c","quota":{"quotaTotal":0,"quotaUsage":800517}}}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.quota_total, 0);
        assert_eq!(c.quota_usage, 800_517);
        assert_eq!(
            c.container_url.as_deref(),
            Some("entities/a/collections/b/containers/c")
        );
        let c = completion_from(
            br#"{"data":{"containerUrl":"","quota":{"quotaTotal":5,"quotaUsage":1}}}"#,
        )
        .unwrap()
        .unwrap();
        assert_eq!(c.container_url, None);
    }
}
