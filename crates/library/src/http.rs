//! Request plumbing: auth header, retries, bounded body reads, envelope decoding.

use std::time::Duration;

use reqwest::{header, Method, StatusCode, Url};
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::options::RetryPolicy;
use crate::secret::Secret;

/// JSON answers larger than this are refused rather than buffered (search results of a
/// big library are well below a MiB).
const MAX_JSON_BODY: usize = 16 << 20;
/// Error bodies are only read for their message.
const MAX_ERROR_BODY: usize = 64 << 10;

/// One request to send.
pub(crate) struct Call<'a> {
    pub method: Method,
    pub url: Url,
    pub query: &'a [(&'a str, &'a str)],
    pub body: Option<Value>,
    /// Whether to send `Authorization: Bearer` (if a token is set).
    pub auth: bool,
    /// Statuses that mean success for this call.
    pub ok: &'a [u16],
}

/// The (bounded) body of a successful exchange.
pub(crate) struct Reply {
    pub body: Vec<u8>,
}

#[derive(Clone)]
pub(crate) struct Http {
    pub client: reqwest::Client,
    pub token: Option<Secret>,
    pub retry: RetryPolicy,
}

impl Http {
    /// Sends `call`, retrying idempotent GETs, and returns the reply if its status is one of
    /// `call.ok`, else the typed error built from the body.
    pub async fn send(&self, call: Call<'_>) -> Result<Reply> {
        let ctx = format!("{} {}", call.method, call.url.path());
        let retries = if call.method == Method::GET {
            self.retry.max_retries
        } else {
            0
        };
        let mut attempt = 0;
        loop {
            let outcome = self.send_once(&call).await;
            let wait = match &outcome {
                Ok(reply) if is_retryable_status(reply.status) => Some(reply.retry_after),
                Err(e) if is_retryable_error(e) => Some(None),
                _ => None,
            };
            match wait {
                Some(after) if attempt < retries => {
                    let backoff = self.retry.backoff(attempt);
                    let delay = after.map_or(backoff, |a| a.min(self.retry.max_backoff));
                    tokio::time::sleep(delay).await;
                    attempt += 1;
                }
                _ => {
                    let raw = outcome.map_err(|e| e.with_context(ctx.clone()))?;
                    return if call.ok.contains(&raw.status.as_u16()) {
                        Ok(Reply { body: raw.body })
                    } else {
                        Err(Error::from_response(raw.status.as_u16(), &raw.body).with_context(ctx))
                    };
                }
            }
        }
    }

    /// Adds `Authorization: Bearer` when a token is set; the header is marked sensitive so
    /// HTTP-level debug logging never shows it.
    pub fn authorize(&self, req: reqwest::RequestBuilder) -> Result<reqwest::RequestBuilder> {
        let Some(token) = self.token.as_ref().filter(|t| !t.is_empty()) else {
            return Ok(req);
        };
        let mut value = header::HeaderValue::from_str(&format!("Bearer {}", token.expose()))
            .map_err(|_| {
                Error::input("the access token contains characters not allowed in a header")
            })?;
        value.set_sensitive(true);
        Ok(req.header(header::AUTHORIZATION, value))
    }

    async fn send_once(&self, call: &Call<'_>) -> Result<RawReply> {
        let mut req = self
            .client
            .request(call.method.clone(), call.url.clone())
            .header(header::ACCEPT, "application/json");
        if !call.query.is_empty() {
            req = req.query(call.query);
        }
        if call.auth {
            req = self.authorize(req)?;
        }
        if let Some(body) = &call.body {
            req = req.json(body);
        }
        let mut resp = req.send().await.map_err(Error::from_transport)?;
        let status = resp.status();
        let retry_after = resp
            .headers()
            .get(header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let limit = if status.is_success() {
            MAX_JSON_BODY
        } else {
            MAX_ERROR_BODY
        };
        let mut body = Vec::new();
        while let Some(chunk) = resp.chunk().await.map_err(Error::from_transport)? {
            if body.len() + chunk.len() > limit {
                if status.is_success() {
                    return Err(Error::bad_response(format!(
                        "answer larger than {limit} bytes"
                    )));
                }
                // An oversized error page: its start is enough for a message.
                break;
            }
            body.extend_from_slice(&chunk);
        }
        Ok(RawReply {
            status,
            body,
            retry_after,
        })
    }
}

struct RawReply {
    status: StatusCode,
    body: Vec<u8>,
    retry_after: Option<Duration>,
}

fn is_retryable_status(status: StatusCode) -> bool {
    matches!(status.as_u16(), 429 | 502 | 503 | 504)
}

/// Transport failures worth another try; an untrusted certificate will not fix itself.
fn is_retryable_error(err: &Error) -> bool {
    matches!(err.kind(), ErrorKind::Unreachable | ErrorKind::Timeout)
}

/// Decodes `{"data": T}` (json-resp envelope, §10). A non-null `error` is an error even on
/// 200, as the reference's envelope reader treats it.
pub(crate) fn decode_data<T: DeserializeOwned>(reply: &Reply) -> Result<T> {
    let value: Value = serde_json::from_slice(&reply.body)
        .map_err(|e| Error::bad_response(format!("answer is not JSON: {e}")))?;
    let obj = value
        .as_object()
        .ok_or_else(|| Error::bad_response("answer is not a JSON object"))?;
    if let Some(err) = obj.get("error").filter(|e| !e.is_null()) {
        let code = err
            .get("code")
            .and_then(Value::as_u64)
            .and_then(|c| u16::try_from(c).ok())
            .unwrap_or(500);
        return Err(Error::from_response(code, &reply.body));
    }
    let data = obj
        .get("data")
        .ok_or_else(|| Error::bad_response("answer has no \"data\""))?;
    T::deserialize(data).map_err(|e| Error::bad_response(format!("unexpected answer: {e}")))
}

/// Decodes a body that is either the object itself or enveloped in `data` (servers differ
/// for the un-enveloped calls of §1.7 and §4.8).
pub(crate) fn decode_maybe_enveloped<T: DeserializeOwned>(
    reply: &Reply,
    marker: &str,
) -> Result<T> {
    let value: Value = serde_json::from_slice(&reply.body)
        .map_err(|e| Error::bad_response(format!("answer is not JSON: {e}")))?;
    let inner = match value.get("data") {
        Some(data) if value.get(marker).is_none() && data.is_object() => data.clone(),
        _ => value,
    };
    T::deserialize(inner).map_err(|e| Error::bad_response(format!("unexpected answer: {e}")))
}

/// Percent-encodes one path segment (IDs from servers are opaque; names are validated).
pub(crate) fn seg(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, SEGMENT).to_string()
}

/// Everything but RFC 3986 unreserved characters, `:` (tag separator) and `,` (tag lists).
const SEGMENT: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~')
    .remove(b':')
    .remove(b',');
