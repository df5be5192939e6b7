//! The one error type of this crate (library-api.md §10).
//!
//! Servers disagree on error bodies (Sylabs' `{"error":{code,message}}`, Hinkskalle's
//! `{"message":…}` and `{"errors":[{title,detail,code}]}`, empty or HTML bodies from proxies),
//! and on statuses (409 *or* 412 for "exists"). Callers should not care: they match on
//! [`Error::kind`] / [`Error::code`] and show [`Error`]'s text plus [`Error::hint`].
//!
//! No error ever holds a token: messages come from response bodies and request paths only,
//! and the `reqwest` sources kept for `source()` never carry header values.

use std::fmt;

use crate::r#ref::RefError;

/// What went wrong, coarse enough to act on. Each kind has a stable string [`ErrorKind::code`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 404: the entity/collection/container/image (or endpoint) does not exist.
    NotFound,
    /// 409 or 412 (Hinkskalle): the object to create already exists.
    Exists,
    /// 401 (or a failed token check): token missing, expired or invalid.
    TokenInvalid,
    /// 403: authenticated but not allowed (private image, someone else's entity).
    Forbidden,
    /// 507: storage quota exhausted.
    QuotaExceeded,
    /// 5xx other than 507.
    ServerError,
    /// Another 4xx (400 validation, 406 read-only/not a SIF, 422 size mismatch, …).
    Rejected,
    /// Connection refused, DNS failure, reset, proxy failure.
    Unreachable,
    /// No answer within the configured timeout.
    Timeout,
    /// The server's TLS certificate was not accepted.
    TlsUntrusted,
    /// The server answered something that is not the documented protocol.
    BadResponse,
    /// A `library://` reference (or a name/tag/arch inside one) is malformed.
    RefInvalid,
    /// Caller-side input other than a reference: base URL, CA PEM, proxy, search query.
    InputInvalid,
    /// The transfer was cancelled by the caller.
    Cancelled,
    /// Downloaded bytes do not have the image's SHA-256 (the download was discarded).
    ChecksumMismatch,
    /// The disk is full or the file too large for it (ENOSPC, EDQUOT, EFBIG).
    DiskFull,
    /// Reading or writing a local file failed.
    LocalIo,
}

impl ErrorKind {
    /// Stable machine-readable code (used by the CLI's JSON output and the UI).
    pub fn code(self) -> &'static str {
        match self {
            Self::NotFound => "library.not_found",
            Self::Exists => "library.exists",
            Self::TokenInvalid => "auth.token_invalid",
            Self::Forbidden => "auth.forbidden",
            Self::QuotaExceeded => "quota.exceeded",
            Self::ServerError => "library.server_error",
            Self::Rejected => "library.rejected",
            Self::Unreachable => "net.unreachable",
            Self::Timeout => "net.timeout",
            Self::TlsUntrusted => "net.tls_untrusted",
            Self::BadResponse => "library.bad_response",
            Self::RefInvalid => "ref.invalid",
            Self::InputInvalid => "input.invalid",
            Self::Cancelled => "transfer.cancelled",
            Self::ChecksumMismatch => "transfer.checksum_mismatch",
            Self::DiskFull => "io.disk_full",
            Self::LocalIo => "io.failed",
        }
    }

    /// What the user can do about it, in one sentence.
    pub fn hint(self) -> &'static str {
        match self {
            Self::NotFound => "Check the reference's spelling and architecture; the library may also hide private images this way.",
            Self::Exists => "It already exists on the server: use the existing one or choose another name.",
            Self::TokenInvalid => "The access token is missing, expired or invalid: create a new token in the remote's web interface and log in again.",
            Self::Forbidden => "Your account may not access this (private, or owned by someone else); log in as a user who can.",
            Self::QuotaExceeded => "Your library storage quota is used up: delete old images or ask the administrator for more space.",
            Self::ServerError => "The library server failed; try again later or contact its administrator.",
            Self::Rejected => "The server refused the request as invalid; the message above says why.",
            Self::Unreachable => "Check the URL, the network connection and the proxy settings.",
            Self::Timeout => "The server did not answer in time; try again, or check the network and proxy.",
            Self::TlsUntrusted => "The server's certificate is not trusted: add its CA certificate to this remote (or allow invalid certificates only if you trust the network).",
            Self::BadResponse => "The server's answer was not understood; check that the URL points at a Library API server.",
            Self::RefInvalid => "Use library://[host/]entity/collection/container[:tag[,tag…]] with lower-case names.",
            Self::InputInvalid => "Check the remote's settings (URL, CA certificate, proxy) or the search text.",
            Self::Cancelled => "Nothing was kept; start the transfer again when you want it.",
            Self::ChecksumMismatch => "The data was damaged on the way or on the server; try again, and tell the library's administrator if it repeats.",
            Self::DiskFull => "Free some space on the destination's disk (or choose another folder), then resume.",
            Self::LocalIo => "Check that the file exists and that you may read (or write) it.",
        }
    }
}

/// Any failure of a library call.
pub struct Error {
    kind: ErrorKind,
    status: Option<u16>,
    /// The server's own message when it sent one, else ours.
    message: String,
    /// `METHOD path` of the failing request, for context (never the query's secrets: there are none).
    context: Option<String>,
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
            context: None,
            source: None,
        }
    }

    pub(crate) fn with_context(mut self, context: impl Into<String>) -> Self {
        self.context = Some(context.into());
        self
    }

    pub(crate) fn with_source(
        mut self,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        self.source = Some(Box::new(source));
        self
    }

    pub(crate) fn input(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InputInvalid, message)
    }

    pub(crate) fn bad_response(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::BadResponse, message)
    }

    /// A response body broke off (reset, truncated, read timeout): worth another try.
    pub(crate) fn connection_lost(err: reqwest::Error) -> Self {
        let kind = if err.is_timeout() {
            ErrorKind::Timeout
        } else {
            ErrorKind::Unreachable
        };
        let msg = format!("the connection broke off: {}", innermost_message(&err));
        Self::new(kind, msg).with_source(err)
    }

    /// The same error with another message (a caller that knows better words).
    pub fn with_message(mut self, message: impl Into<String>) -> Self {
        self.message = message.into();
        self
    }

    /// The image record exists but its file was never uploaded.
    pub fn not_uploaded(path: &str) -> Self {
        Self::new(
            ErrorKind::NotFound,
            format!("the image {path} has no file in the library (its upload never finished)"),
        )
    }

    /// The caller cancelled.
    pub fn cancelled() -> Self {
        Self::new(ErrorKind::Cancelled, "cancelled")
    }

    /// A local file operation failed; `what` names the action and the file. Full disks and
    /// file-size limits get their own kind, so a UI can say "free some space".
    pub fn local_io(what: impl Into<String>, err: std::io::Error) -> Self {
        let kind = match err.raw_os_error() {
            // ENOSPC, EDQUOT, EFBIG on Linux.
            Some(28 | 122 | 27) => ErrorKind::DiskFull,
            _ if err.kind() == std::io::ErrorKind::StorageFull => ErrorKind::DiskFull,
            _ => ErrorKind::LocalIo,
        };
        Self::new(kind, format!("{}: {err}", what.into())).with_source(err)
    }

    /// Builds the error for a non-success HTTP status from the response body, whatever
    /// shape the server used.
    pub fn from_response(status: u16, body: &[u8]) -> Self {
        let kind = kind_for_status(status);
        let message = server_message(body).unwrap_or_else(|| status_text(status).to_owned());
        Self {
            kind,
            status: Some(status),
            message,
            context: None,
            source: None,
        }
    }

    /// Maps a transport failure (no HTTP status) to a kind.
    pub(crate) fn from_transport(err: reqwest::Error) -> Self {
        let kind = transport_kind(&err);
        let message = match kind {
            ErrorKind::Timeout => "the server did not answer in time".to_owned(),
            ErrorKind::TlsUntrusted => {
                format!("TLS certificate not accepted: {}", innermost_message(&err))
            }
            ErrorKind::BadResponse => {
                format!("could not read the answer: {}", innermost_message(&err))
            }
            _ => format!("could not connect: {}", innermost_message(&err)),
        };
        // reqwest's Display includes the URL; the URL never holds a token (bearer only
        // travels in headers), so keeping it as the source is safe.
        Self::new(kind, message).with_source(err)
    }

    /// What went wrong.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Stable code, e.g. `library.not_found`; see [`ErrorKind::code`].
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// One-sentence advice for the user.
    pub fn hint(&self) -> &'static str {
        self.kind.hint()
    }

    /// HTTP status, when the server answered.
    pub fn status(&self) -> Option<u16> {
        self.status
    }

    /// The server's message (or ours when it sent none).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// True for `library.not_found`: drives create-if-missing in the push flow.
    pub fn is_not_found(&self) -> bool {
        self.kind == ErrorKind::NotFound
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(ctx) = &self.context {
            write!(f, "{ctx}: ")?;
        }
        f.write_str(&self.message)?;
        if let Some(status) = self.status {
            // The reference renders "<message> (<code> <StatusText>)"; skip it when the
            // message already is the status text.
            if !self.message.eq_ignore_ascii_case(status_text(status)) {
                write!(f, " ({status} {})", status_text(status))?;
            } else {
                write!(f, " ({status})")?;
            }
        }
        Ok(())
    }
}

impl fmt::Debug for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Error")
            .field("code", &self.code())
            .field("status", &self.status)
            .field("message", &self.message)
            .field("context", &self.context)
            .field("source", &self.source.as_ref().map(|s| s.to_string()))
            .finish()
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|s| s as &(dyn std::error::Error + 'static))
    }
}

impl From<berth_progress::Cancelled> for Error {
    fn from(_: berth_progress::Cancelled) -> Self {
        Self::cancelled()
    }
}

impl From<RefError> for Error {
    fn from(err: RefError) -> Self {
        Self::new(ErrorKind::RefInvalid, err.to_string()).with_source(err)
    }
}

/// Status → kind; 409 and 412 both mean "exists" (Sylabs vs Hinkskalle).
pub(crate) fn kind_for_status(status: u16) -> ErrorKind {
    match status {
        401 => ErrorKind::TokenInvalid,
        403 => ErrorKind::Forbidden,
        404 => ErrorKind::NotFound,
        409 | 412 => ErrorKind::Exists,
        507 => ErrorKind::QuotaExceeded,
        500..=599 => ErrorKind::ServerError,
        400..=499 => ErrorKind::Rejected,
        _ => ErrorKind::BadResponse,
    }
}

/// Longest server message kept: an HTML error page must not flood the UI.
const MAX_MESSAGE: usize = 300;

/// Extracts the human message from any of the error body shapes servers use; `None` for
/// empty, non-JSON or message-less bodies.
pub(crate) fn server_message(body: &[u8]) -> Option<String> {
    let value: serde_json::Value = serde_json::from_slice(body).ok()?;
    let msg = json_message(&value)?;
    let msg = msg.trim();
    if msg.is_empty() {
        return None;
    }
    Some(truncate(msg))
}

fn json_message(value: &serde_json::Value) -> Option<String> {
    let obj = value.as_object()?;
    // json-resp (Sylabs): {"error":{"code":404,"message":"…"}}
    if let Some(err) = obj.get("error") {
        if let Some(m) = err.get("message").and_then(|m| m.as_str()) {
            return Some(m.to_owned());
        }
        if let Some(m) = err.as_str() {
            return Some(m.to_owned());
        }
    }
    // Hinkskalle 401: {"errors":[{"title":"Fail!","detail":"Not Authorized","code":401}]}
    if let Some(list) = obj.get("errors").and_then(|e| e.as_array()) {
        let parts: Vec<String> = list
            .iter()
            .filter_map(|e| {
                e.get("detail")
                    .or_else(|| e.get("title"))
                    .or_else(|| e.get("message"))
                    .and_then(|m| m.as_str())
                    .map(str::to_owned)
            })
            .collect();
        if !parts.is_empty() {
            return Some(parts.join("; "));
        }
    }
    // Hinkskalle handler errors {"message":"…"}, optionally with validation details
    // {"errors":{field:msg},"message":"JSON body parameters are invalid."}.
    if let Some(m) = obj.get("message").and_then(|m| m.as_str()) {
        if let Some(fields) = obj.get("errors").and_then(|e| e.as_object()) {
            let details: Vec<String> = fields
                .iter()
                .map(|(k, v)| format!("{k}: {}", flatten_text(v)))
                .collect();
            if !details.is_empty() {
                return Some(format!("{m} ({})", details.join("; ")));
            }
        }
        return Some(m.to_owned());
    }
    None
}

fn flatten_text(v: &serde_json::Value) -> String {
    match v {
        serde_json::Value::String(s) => s.clone(),
        serde_json::Value::Array(a) => a.iter().map(flatten_text).collect::<Vec<_>>().join(", "),
        other => other.to_string(),
    }
}

fn truncate(s: &str) -> String {
    if s.chars().count() <= MAX_MESSAGE {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(MAX_MESSAGE).collect();
    out.push('…');
    out
}

pub(crate) fn status_text(status: u16) -> &'static str {
    reqwest::StatusCode::from_u16(status)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Unknown Status")
}

fn transport_kind(err: &reqwest::Error) -> ErrorKind {
    if err.is_timeout() {
        return ErrorKind::Timeout;
    }
    if chain_mentions_certificate(err) {
        return ErrorKind::TlsUntrusted;
    }
    if err.is_decode() || err.is_body() {
        return ErrorKind::BadResponse;
    }
    if err.is_builder() {
        return ErrorKind::InputInvalid;
    }
    ErrorKind::Unreachable
}

/// rustls reports untrusted chains as `invalid peer certificate: UnknownIssuer` (or
/// `…: Expired`, `NotValidForName`) deep inside hyper's error chain; matching on the text
/// avoids depending on rustls' types directly (a second rustls version would not match).
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

fn innermost_message(err: &(dyn std::error::Error + 'static)) -> String {
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

    fn err(status: u16, body: &str) -> Error {
        Error::from_response(status, body.as_bytes())
    }

    #[test]
    fn sylabs_envelope() {
        let e = err(404, r#"{"error":{"code":404,"message":"Not found"}}"#);
        assert_eq!(e.code(), "library.not_found");
        assert_eq!(e.message(), "Not found");
        assert_eq!(e.to_string(), "Not found (404)");
        let e = err(
            401,
            r#"{"error":{"code":401,"message":"Not authorized - please authenticate"}}"#,
        );
        assert_eq!(e.code(), "auth.token_invalid");
        assert_eq!(
            e.to_string(),
            "Not authorized - please authenticate (401 Unauthorized)"
        );
        let e = err(
            403,
            r#"{"error":{"code":403,"message":"Not authorized to access this entry"}}"#,
        );
        assert_eq!(e.code(), "auth.forbidden");
        let e = err(
            507,
            r#"{"error":{"code":507,"message":"Insufficient storage"}}"#,
        );
        assert_eq!(e.code(), "quota.exceeded");
        assert_eq!(e.message(), "Insufficient storage");
    }

    #[test]
    fn hinkskalle_shapes() {
        let e = err(
            401,
            r#"{"errors":[{"code":401,"detail":"Not Authorized","title":"Fail!"}],"status":"error"}"#,
        );
        assert_eq!(e.code(), "auth.token_invalid");
        assert_eq!(e.message(), "Not Authorized");
        let e = err(403, r#"{"message":"Private image, access denied."}"#);
        assert_eq!(e.code(), "auth.forbidden");
        assert_eq!(e.message(), "Private image, access denied.");
        let e = err(412, r#"{"message":"Entity test already exists"}"#);
        assert_eq!(e.code(), "library.exists");
        let e = err(409, r#"{"error":{"code":409,"message":"exists"}}"#);
        assert_eq!(e.code(), "library.exists");
        let e = err(
            400,
            r#"{"errors":{"name":["Invalid"]},"message":"JSON body parameters are invalid.","rebar_error_code":"body_validation_failed"}"#,
        );
        assert_eq!(e.code(), "library.rejected");
        assert_eq!(
            e.message(),
            "JSON body parameters are invalid. (name: Invalid)"
        );
        let e = err(
            404,
            r#"{"status":"error","errors":[{"title":"Fail!","code":404}]}"#,
        );
        assert_eq!(e.message(), "Fail!");
    }

    #[test]
    fn empty_and_non_json_bodies() {
        let e = err(500, "");
        assert_eq!(e.code(), "library.server_error");
        assert_eq!(e.message(), "Internal Server Error");
        assert_eq!(e.to_string(), "Internal Server Error (500)");
        let e = err(502, "<html><body>Bad Gateway</body></html>");
        assert_eq!(e.code(), "library.server_error");
        assert_eq!(e.message(), "Bad Gateway");
        let e = err(404, "{}");
        assert_eq!(e.message(), "Not Found");
        let e = err(406, r#"{"message":""}"#);
        assert_eq!(e.code(), "library.rejected");
        assert_eq!(e.message(), "Not Acceptable");
        let e = err(302, "");
        assert_eq!(e.code(), "library.bad_response");
    }

    #[test]
    fn long_messages_are_cut() {
        let long = "x".repeat(1000);
        let e = err(500, &format!(r#"{{"message":"{long}"}}"#));
        assert_eq!(e.message().chars().count(), MAX_MESSAGE + 1);
    }

    #[test]
    fn every_kind_has_code_and_hint() {
        use ErrorKind::*;
        let all = [
            NotFound,
            Exists,
            TokenInvalid,
            Forbidden,
            QuotaExceeded,
            ServerError,
            Rejected,
            Unreachable,
            Timeout,
            TlsUntrusted,
            BadResponse,
            RefInvalid,
            InputInvalid,
        ];
        let mut codes: Vec<_> = all.iter().map(|k| k.code()).collect();
        codes.sort_unstable();
        codes.dedup();
        assert_eq!(codes.len(), all.len());
        assert!(all.iter().all(|k| !k.hint().is_empty()));
    }

    #[test]
    fn context_is_prefixed() {
        let e = err(404, "").with_context("GET v1/entities/x");
        assert_eq!(e.to_string(), "GET v1/entities/x: Not Found (404)");
    }
}
