//! The one error type of this crate.
//!
//! Callers match on [`Error::kind`] / [`Error::code`] and show the text plus [`Error::hint`].
//! No error ever holds a password or token: messages come from registry error bodies,
//! reference strings and our own words; credentials only ever travel in headers.

/// What went wrong, coarse enough to act on. Each kind has a stable [`ErrorKind::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A `docker://` reference is malformed.
    RefInvalid,
    /// Caller input other than a reference: a platform name, a CA bundle, options.
    InputInvalid,
    /// The repository, tag, manifest or blob does not exist (`MANIFEST_UNKNOWN`, `NAME_UNKNOWN`, 404).
    NotFound,
    /// The image is an index and none of its entries is for the requested platform.
    NoMatchingPlatform,
    /// 401: credentials missing or rejected.
    Unauthorized,
    /// 403 / `DENIED`: authenticated but not allowed.
    Denied,
    /// 5xx or 429 from the registry.
    ServerError,
    /// Another 4xx the registry explains in its error body.
    Rejected,
    /// Connection refused, DNS failure, reset.
    Unreachable,
    /// No answer within the configured timeout.
    Timeout,
    /// The registry's TLS certificate was not accepted.
    TlsUntrusted,
    /// Received bytes do not have the digest (or size) they were asked for; nothing was kept.
    DigestMismatch,
    /// The registry answered something that is not the distribution protocol.
    BadResponse,
    /// A manifest of a kind this client cannot use (Docker schema 1, unknown artifacts).
    UnsupportedMediaType,
    /// The disk is full (ENOSPC, EDQUOT, EFBIG).
    DiskFull,
    /// Another local file error.
    LocalIo,
    /// The caller cancelled.
    Cancelled,
}

impl ErrorKind {
    /// Stable machine-readable code (CLI JSON output, UI).
    pub fn code(self) -> &'static str {
        match self {
            Self::RefInvalid => "oci.ref_invalid",
            Self::InputInvalid => "input.invalid",
            Self::NotFound => "oci.not_found",
            Self::NoMatchingPlatform => "oci.no_matching_platform",
            Self::Unauthorized => "registry.unauthorized",
            Self::Denied => "registry.denied",
            Self::ServerError => "registry.server_error",
            Self::Rejected => "registry.rejected",
            Self::Unreachable => "net.unreachable",
            Self::Timeout => "net.timeout",
            Self::TlsUntrusted => "net.tls_untrusted",
            Self::DigestMismatch => "oci.digest_mismatch",
            Self::BadResponse => "oci.bad_response",
            Self::UnsupportedMediaType => "oci.unsupported_media_type",
            Self::DiskFull => "io.disk_full",
            Self::LocalIo => "io.failed",
            Self::Cancelled => "transfer.cancelled",
        }
    }

    /// What the user can do about it, in one sentence.
    pub fn hint(self) -> &'static str {
        match self {
            Self::RefInvalid => "Use docker://[registry[:port]/]name[:tag][@sha256:digest] with a lower-case name.",
            Self::InputInvalid => "Check the architecture name and the registry settings (CA certificate, hosts).",
            Self::NotFound => "Check the image name and tag; private images also look missing until you log in.",
            Self::NoMatchingPlatform => "Pick one of the listed architectures, or use an image built for this one.",
            Self::Unauthorized => "Log in to this registry with `berth registry login HOST`, or check the stored credentials.",
            Self::Denied => "Your account may not access this repository; log in as a user who can.",
            Self::ServerError => "The registry failed or is rate-limiting; try again later.",
            Self::Rejected => "The registry refused the request; the message above says why.",
            Self::Unreachable => "Check the registry name, the network connection and the proxy settings.",
            Self::Timeout => "The registry did not answer in time; try again, or check the network.",
            Self::TlsUntrusted => "The registry's certificate is not trusted: add its CA certificate (or allow it as insecure only if you trust the network).",
            Self::DigestMismatch => "The data was damaged on the way or on the registry; try again, and tell the registry's owner if it repeats.",
            Self::BadResponse => "The answer was not understood; check that the host is an OCI/Docker registry.",
            Self::UnsupportedMediaType => "This image format is not supported; ask for an OCI or Docker schema 2 image.",
            Self::DiskFull => "Free some space on the cache's disk, then try again (finished layers are kept).",
            Self::LocalIo => "Check that the cache folder exists and that you may write to it.",
            Self::Cancelled => "Finished layers are kept in the cache; start again when you want it.",
        }
    }
}

/// Any failure of this crate.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct Error {
    kind: ErrorKind,
    status: Option<u16>,
    message: String,
    #[source]
    source: Option<Box<dyn std::error::Error + Send + Sync + 'static>>,
}

/// Result alias of this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    pub(crate) fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            status: None,
            message: message.into(),
            source: None,
        }
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub(crate) fn cancelled() -> Self {
        Self::new(ErrorKind::Cancelled, "cancelled")
    }

    pub(crate) fn bad_response(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadResponse, message)
    }

    pub(crate) fn mismatch(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::DigestMismatch, message)
    }

    /// A local file operation failed; `what` names the action and the file.
    pub(crate) fn local_io(what: impl Into<String>, err: std::io::Error) -> Self {
        let kind = match err.raw_os_error() {
            // ENOSPC, EDQUOT, EFBIG on Linux.
            Some(28 | 122 | 27) => ErrorKind::DiskFull,
            _ if err.kind() == std::io::ErrorKind::StorageFull => ErrorKind::DiskFull,
            _ => ErrorKind::LocalIo,
        };
        Self::new(kind, format!("{}: {err}", what.into())).with_source(err)
    }

    /// A non-success status: the registry's `{"errors":[{code,message,detail}]}` body decides
    /// the kind when it names one, the status otherwise. `what` says what was asked for.
    pub(crate) fn from_response(status: u16, body: &[u8], what: &str) -> Self {
        let parsed = RegistryErrors::parse(body);
        let kind = parsed
            .as_ref()
            .and_then(|e| e.first_code())
            .and_then(kind_for_registry_code)
            .unwrap_or_else(|| kind_for_status(status));
        let detail = parsed
            .map(|e| e.text())
            .filter(|t| !t.is_empty())
            .unwrap_or_else(|| status_text(status).to_owned());
        Self {
            kind,
            status: Some(status),
            message: format!("{what}: {detail} ({status})"),
            source: None,
        }
    }

    /// A transport failure (no HTTP status). reqwest errors carry the URL, never headers,
    /// and our URLs never carry secrets, so keeping them as the source is safe.
    pub(crate) fn from_transport(err: reqwest::Error, what: &str) -> Self {
        let kind = if err.is_timeout() {
            ErrorKind::Timeout
        } else if chain_mentions_certificate(&err) {
            ErrorKind::TlsUntrusted
        } else if err.is_decode() {
            ErrorKind::BadResponse
        } else if err.is_builder() {
            ErrorKind::InputInvalid
        } else {
            ErrorKind::Unreachable
        };
        let message = match kind {
            ErrorKind::Timeout => format!("{what}: the registry did not answer in time"),
            ErrorKind::TlsUntrusted => {
                format!("{what}: TLS certificate not accepted: {}", innermost(&err))
            }
            _ => format!("{what}: {}", innermost(&err)),
        };
        Self::new(kind, message).with_source(err)
    }

    /// A response body broke off (reset, truncated, read timeout). reqwest labels these
    /// "decode" errors when streaming, but they are transport failures worth another try.
    pub(crate) fn connection_lost(err: reqwest::Error, what: &str) -> Self {
        let kind = if err.is_timeout() {
            ErrorKind::Timeout
        } else {
            ErrorKind::Unreachable
        };
        let message = format!("{what}: the connection broke off: {}", innermost(&err));
        Self::new(kind, message).with_source(err)
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Stable code, e.g. `oci.not_found`; see [`ErrorKind::code`].
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// One-sentence advice for the user.
    pub fn hint(&self) -> &'static str {
        self.kind.hint()
    }

    /// HTTP status, when the registry answered.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The message without the hint.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<berth_progress::Cancelled> for Error {
    fn from(_: berth_progress::Cancelled) -> Self {
        Self::cancelled()
    }
}

#[derive(serde::Deserialize)]
struct RegistryErrors {
    #[serde(default)]
    errors: Vec<RegistryError>,
}

#[derive(serde::Deserialize)]
struct RegistryError {
    #[serde(default)]
    code: String,
    #[serde(default)]
    message: String,
    #[serde(default)]
    detail: serde_json::Value,
}

impl RegistryErrors {
    fn parse(body: &[u8]) -> Option<Self> {
        serde_json::from_slice::<Self>(body)
            .ok()
            .filter(|e| !e.errors.is_empty())
    }

    fn first_code(&self) -> Option<&str> {
        self.errors.first().map(|e| e.code.as_str())
    }

    fn text(&self) -> String {
        let parts: Vec<String> = self
            .errors
            .iter()
            .map(|e| {
                let mut s = if e.message.is_empty() {
                    e.code.to_lowercase().replace('_', " ")
                } else {
                    e.message.clone()
                };
                // Details are often maps like {"Tag":"x"}; a short rendering helps, a huge one does not.
                let detail = match &e.detail {
                    serde_json::Value::Null => String::new(),
                    serde_json::Value::String(d) => d.clone(),
                    other => other.to_string(),
                };
                if !detail.is_empty() && detail.len() <= 200 && !s.contains(&detail) {
                    s.push_str(&format!(" ({detail})"));
                }
                s
            })
            .collect();
        truncate(&parts.join("; "))
    }
}

fn kind_for_registry_code(code: &str) -> Option<ErrorKind> {
    Some(match code {
        "MANIFEST_UNKNOWN" | "NAME_UNKNOWN" | "BLOB_UNKNOWN" | "BLOB_UPLOAD_UNKNOWN" => {
            ErrorKind::NotFound
        }
        "UNAUTHORIZED" => ErrorKind::Unauthorized,
        "DENIED" => ErrorKind::Denied,
        "TOOMANYREQUESTS" | "UNAVAILABLE" => ErrorKind::ServerError,
        _ => return None,
    })
}

fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        401 => ErrorKind::Unauthorized,
        403 => ErrorKind::Denied,
        404 => ErrorKind::NotFound,
        429 | 500..=599 => ErrorKind::ServerError,
        400..=499 => ErrorKind::Rejected,
        _ => ErrorKind::BadResponse,
    }
}

fn status_text(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("unexpected status")
}

/// An HTML error page from a proxy must not flood the UI.
fn truncate(s: &str) -> String {
    const MAX: usize = 300;
    if s.chars().count() <= MAX {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(MAX).collect();
    out.push('…');
    out
}

/// rustls reports untrusted chains deep in hyper's error chain; matching on the text avoids
/// depending on rustls' types directly.
fn chain_mentions_certificate(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = cur {
        let text = e.to_string().to_ascii_lowercase();
        if text.contains("certificate") || text.contains("unknownissuer") {
            return true;
        }
        cur = e.source();
    }
    false
}

fn innermost(err: &(dyn std::error::Error + 'static)) -> String {
    let mut last = err.to_string();
    let mut cur = err.source();
    while let Some(e) = cur {
        last = e.to_string();
        cur = e.source();
    }
    truncate(&last)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn registry_error_body_becomes_kind_and_text() {
        let body = br#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown","detail":{"Tag":"nope"}}]}"#;
        let e = Error::from_response(404, body, "manifest x:nope");
        assert_eq!(e.code(), "oci.not_found");
        assert!(e.to_string().contains("manifest unknown"), "{e}");
        assert!(e.to_string().contains("nope"), "{e}");

        let e = Error::from_response(403, br#"{"errors":[{"code":"DENIED"}]}"#, "x");
        assert_eq!(e.code(), "registry.denied");
        let e = Error::from_response(502, b"<html>bad gateway</html>", "x");
        assert_eq!(e.code(), "registry.server_error");
        assert!(e.to_string().contains("Bad Gateway"), "{e}");
    }
}
