//! The HKP client (library-api.md §9): lookups, searches with paging, submissions.
//!
//! Blocking on purpose: callers are the CLI and Tauri commands run on the blocking pool. As
//! with any `reqwest::blocking` client, do not create, use or drop a [`Keyserver`] inside an
//! async task (reqwest panics there); use `spawn_blocking`.

use std::io::Read as _;
use std::time::Duration;

use reqwest::blocking::{Client, RequestBuilder, Response};
use reqwest::{redirect, StatusCode, Url};

use crate::endpoint::{is_loopback, origin, parse_base};
use crate::error::{Error, Result};
use crate::index::{parse_machine_readable_index, KeyHit};
use crate::keys::{checked_fetch, normalize_fingerprint, public_for_submit};

/// Apptainer's per-request timeout for keyservers.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Results asked for per search page, as Apptainer asks.
pub const PAGE_SIZE: u32 = 256;
/// Pages followed at most by [`Keyserver::search`]: a server that keeps handing out tokens
/// must not keep the caller busy forever.
pub const MAX_PAGES: usize = 20;

/// Bodies read at most: a key or an index page (flooded keys on old SKS servers ran to
/// hundreds of MiB; Berth refuses those rather than exhaust memory).
const MAX_BODY: u64 = 16 << 20;
/// An error body is only read for its message.
const MAX_ERROR_BODY: u64 = 64 << 10;
/// Longest server message kept in an error.
const MAX_MESSAGE: usize = 300;

/// One HKP keyserver. Cheap to clone; the connection pool is shared between clones.
#[derive(Clone)]
pub struct Keyserver {
    base: Url,
    token: Option<String>,
    timeout: Duration,
    client: Client,
}

/// Settings for a [`Keyserver`] beyond its URL.
#[derive(Clone)]
pub struct KeyserverBuilder {
    base: String,
    token: Option<String>,
    timeout: Duration,
    allow_http: bool,
    accept_invalid_certs: bool,
}

/// One page of search results, for callers that page themselves (e.g. a list that loads more
/// on scroll).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SearchPage {
    /// The keys on this page.
    pub hits: Vec<KeyHit>,
    /// Token for the next page (`X-HKP-Next-Page-Token`), if the server has more.
    pub next_page_token: Option<String>,
}

impl std::fmt::Debug for Keyserver {
    // Hand-written so that the token can never be printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyserver")
            .field("base", &self.base.as_str())
            .field("has_token", &self.token.is_some())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Debug for KeyserverBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeyserverBuilder")
            .field("base", &self.base)
            .field("has_token", &self.token.is_some())
            .field("timeout", &self.timeout)
            .field("allow_http", &self.allow_http)
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .finish()
    }
}

impl KeyserverBuilder {
    /// Allows plain `http://` for hosts other than this machine (loopback is always allowed).
    pub fn allow_http(mut self, allow: bool) -> Self {
        self.allow_http = allow;
        self
    }

    /// Sends `Authorization: Bearer <token>` with every request.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Per-request timeout (connect, send and read); [`DEFAULT_TIMEOUT`] unless set.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Skips TLS certificate checks, as Apptainer's `Insecure` flag on a keyserver does.
    /// Fetched keys are still checked against the fingerprint asked for.
    pub fn accept_invalid_certs(mut self, accept: bool) -> Self {
        self.accept_invalid_certs = accept;
        self
    }

    /// Checks the URL and prepares the HTTP client.
    pub fn build(self) -> Result<Keyserver> {
        let base = parse_base(&self.base, self.allow_http)?;
        let allow_http = self.allow_http;
        let client = Client::builder()
            .user_agent(concat!("Berth/", env!("CARGO_PKG_VERSION")))
            .timeout(self.timeout)
            .danger_accept_invalid_certs(self.accept_invalid_certs)
            // reqwest already drops Authorization on a redirect to another host; this also
            // refuses a redirect down to plain http, which would defeat the URL check.
            .redirect(redirect::Policy::custom(move |attempt| {
                if attempt.previous().len() >= 5 {
                    attempt.error("too many redirects")
                } else if attempt.url().scheme() == "http"
                    && !allow_http
                    && !is_loopback(attempt.url())
                {
                    attempt.error("redirect to plain http refused")
                } else {
                    attempt.follow()
                }
            }))
            .build()
            .map_err(|e| Error::Transport(format!("cannot set up the HTTP client: {e}")))?;
        Ok(Keyserver {
            base,
            token: self.token,
            timeout: self.timeout,
            client,
        })
    }
}

impl Keyserver {
    /// A keyserver at `base_url` with default settings. `https://` is required unless the host
    /// is this machine; see [`Keyserver::builder`] for `allow_http` and the rest.
    pub fn new(base_url: &str) -> Result<Self> {
        Self::builder(base_url).build()
    }

    /// Settings beyond the URL: token, timeout, plain http, TLS checks.
    pub fn builder(base_url: &str) -> KeyserverBuilder {
        KeyserverBuilder {
            base: base_url.to_owned(),
            token: None,
            timeout: DEFAULT_TIMEOUT,
            allow_http: false,
            accept_invalid_certs: false,
        }
    }

    /// Sends `Authorization: Bearer <token>` with every request. An empty token sends none.
    pub fn with_token(mut self, token: String) -> Self {
        self.token = Some(token);
        self
    }

    /// The base URL as given (normalised).
    pub fn url(&self) -> &str {
        self.base.as_str()
    }

    /// Searches the keyserver (`op=index&options=mr`), following `X-HKP-Next-Page-Token` for
    /// at most [`MAX_PAGES`] pages; past that the results gathered so far are returned.
    ///
    /// A term of 8 or more hex digits (spaces allowed, as fingerprints are often written) is
    /// sent as `0x<hex>`, a key ID or fingerprint search, as Apptainer does. A server with no
    /// match answers 404: [`Error::NotFound`].
    pub fn search(&self, query: &str) -> Result<Vec<KeyHit>> {
        let mut hits: Vec<KeyHit> = Vec::new();
        let mut token: Option<String> = None;
        for page_no in 0..MAX_PAGES {
            let page = match self.search_page(query, token.as_deref()) {
                // A later page vanishing (results changed between pages) ends the list.
                Err(Error::NotFound) if page_no > 0 => break,
                other => other?,
            };
            for hit in page.hits {
                // Pages that overlap (results changed between pages) would list a key twice.
                if !hits.iter().any(|h| h.fingerprint == hit.fingerprint) {
                    hits.push(hit);
                }
            }
            match page.next_page_token {
                // A server that repeats a token would loop until MAX_PAGES for nothing.
                Some(next) if token.as_deref() != Some(next.as_str()) => token = Some(next),
                _ => break,
            }
        }
        Ok(hits)
    }

    /// One page of [`Keyserver::search`]; `page_token` is the previous page's
    /// `next_page_token`.
    pub fn search_page(&self, query: &str, page_token: Option<&str>) -> Result<SearchPage> {
        let term = search_term(query)?;
        let page_size = PAGE_SIZE.to_string();
        let mut params = vec![
            ("op", "index"),
            ("options", "mr"),
            ("fingerprint", "on"),
            ("search", term.as_str()),
            ("x-pagesize", page_size.as_str()),
        ];
        if let Some(t) = page_token {
            params.push(("x-pagetoken", t));
        }
        let response = self.send(
            self.client
                .get(self.endpoint("/pks/lookup")?)
                .query(&params),
        )?;
        let next_page_token = response
            .headers()
            .get("X-HKP-Next-Page-Token")
            .and_then(|v| v.to_str().ok())
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_owned);
        let body = self.read_body(response, MAX_BODY)?;
        let text = String::from_utf8_lossy(&body);
        Ok(SearchPage {
            hits: parse_machine_readable_index(&text)?,
            next_page_token,
        })
    }

    /// Fetches one public key (`op=get&search=0x<hex>&exact=on`) by fingerprint or key ID (8,
    /// 16, 40 or 64 hex digits; `0x` and spaces allowed).
    ///
    /// The answer must parse to exactly one certificate that has the fingerprint or key ID
    /// asked for (as primary key or subkey), else [`Error::WrongKey`]. Returned ASCII-armoured,
    /// public parts only, re-armoured from the checked certificate.
    pub fn fetch(&self, fingerprint: &str) -> Result<Vec<u8>> {
        let wanted = normalize_fingerprint(fingerprint)?;
        let search = format!("0x{}", wanted.to_ascii_lowercase());
        let params = [
            ("op", "get"),
            // Makes SKS-style servers answer with the bare key instead of an HTML page.
            ("options", "mr"),
            ("search", search.as_str()),
            ("exact", "on"),
        ];
        let response = self.send(
            self.client
                .get(self.endpoint("/pks/lookup")?)
                .query(&params),
        )?;
        let body = self.read_body(response, MAX_BODY)?;
        checked_fetch(&body, &wanted)
    }

    /// Submits public keys (`POST /pks/add`, form field `keytext`). Returns the server's
    /// answer text, if any (Apptainer shows it as "Key server response: …").
    ///
    /// Input holding any secret key material is refused with [`Error::SecretKeyRefused`]
    /// before any connection is made; so is input that does not parse
    /// ([`Error::InvalidKey`]). What is sent is the parsed certificates, re-armoured.
    pub fn submit(&self, armored_public_key: &[u8]) -> Result<Option<String>> {
        let armored = public_for_submit(armored_public_key)?;
        let keytext = String::from_utf8(armored)
            .map_err(|e| Error::InvalidKey(format!("armour is not text: {e}")))?;
        let request = self
            .client
            .post(self.endpoint("/pks/add")?)
            .form(&[("keytext", keytext)]);
        let response = self.send(request)?;
        let body = self.read_body(response, MAX_ERROR_BODY)?;
        let text = String::from_utf8_lossy(&body).trim().to_owned();
        Ok((!text.is_empty()).then(|| self.redact(text)))
    }

    fn endpoint(&self, path: &str) -> Result<Url> {
        self.base
            .join(path)
            .map_err(|e| Error::InvalidUrl(format!("{}: {e}", origin(&self.base))))
    }

    fn token(&self) -> Option<&str> {
        self.token.as_deref().filter(|t| !t.is_empty())
    }

    /// Sends a request with the token, maps transport failures and non-success statuses.
    fn send(&self, request: RequestBuilder) -> Result<Response> {
        let request = match self.token() {
            Some(token) => request.bearer_auth(token),
            None => request,
        };
        let response = request.send().map_err(|e| self.transport_error(&e))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        Err(match status {
            StatusCode::NOT_FOUND => Error::NotFound,
            StatusCode::UNAUTHORIZED => Error::Unauthorized {
                token_sent: self.token().is_some(),
            },
            _ => {
                let message = self.error_message(response);
                match status.as_u16() {
                    403 => Error::Forbidden { message },
                    s @ 400..=499 => Error::Rejected { status: s, message },
                    s => Error::Server { status: s, message },
                }
            }
        })
    }

    fn read_body(&self, response: Response, limit: u64) -> Result<Vec<u8>> {
        let mut body = Vec::new();
        response
            .take(limit + 1)
            .read_to_end(&mut body)
            .map_err(|e| self.transport_text(&format!("reading the answer: {e}")))?;
        if body.len() as u64 > limit {
            return Err(Error::BadResponse(format!(
                "answer larger than {limit} bytes"
            )));
        }
        Ok(body)
    }

    /// The message of an error answer, in whichever shape the server uses (library-api.md
    /// §10, §14), else its first line, else the status text.
    fn error_message(&self, response: Response) -> String {
        let status = response.status();
        let fallback = || {
            format!(
                "{} {}",
                status.as_u16(),
                status.canonical_reason().unwrap_or("error")
            )
        };
        let mut body = Vec::new();
        // A broken error body still leaves the status to report.
        let _ = response.take(MAX_ERROR_BODY).read_to_end(&mut body);
        let text = String::from_utf8_lossy(&body);
        let message = json_message(&text)
            .or_else(|| {
                text.lines()
                    .map(str::trim)
                    .find(|l| !l.is_empty())
                    .map(str::to_owned)
            })
            .unwrap_or_else(fallback);
        self.redact(truncate(message, MAX_MESSAGE))
    }

    fn transport_error(&self, e: &reqwest::Error) -> Error {
        if e.is_timeout() {
            return self.transport_text(&format!("no answer within {:?}", self.timeout));
        }
        // reqwest's own text names the URL; the innermost cause says what actually failed
        // ("Connection refused", a DNS or certificate problem).
        let mut cause: &dyn std::error::Error = e;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        self.transport_text(&cause.to_string())
    }

    fn transport_text(&self, what: &str) -> Error {
        Error::Transport(self.redact(format!("{}: {what}", origin(&self.base))))
    }

    /// Removes the token from text that came from elsewhere (a server may echo headers).
    fn redact(&self, text: String) -> String {
        match self.token() {
            Some(token) if text.contains(token) => text.replace(token, "<redacted>"),
            _ => text,
        }
    }
}

/// Checks a keyserver URL as [`Keyserver::new`] (or, with `allow_http`, the builder) would,
/// without setting up an HTTP client: for validating settings. Returns the URL normalised.
pub fn check_url(base_url: &str, allow_http: bool) -> Result<String> {
    Ok(parse_base(base_url, allow_http)?.to_string())
}

/// Tries keyservers in order (Apptainer's multiple-keyserver rule, library-api.md §9) and
/// returns the index of the one that answered with the key, and the key. Moves on after a
/// failure that concerns that server ([`Error::try_next_server`]); if all fail, returns the
/// last error.
pub fn fetch_first(servers: &[Keyserver], fingerprint: &str) -> Result<(usize, Vec<u8>)> {
    let mut last = Error::InvalidUrl("no keyserver configured".to_owned());
    for (i, server) in servers.iter().enumerate() {
        match server.fetch(fingerprint) {
            Ok(key) => return Ok((i, key)),
            Err(e) if e.try_next_server() => last = e,
            Err(e) => return Err(e),
        }
    }
    Err(last)
}

/// The `search` value for a query: hex of 8+ digits becomes `0x<hex>` as in Apptainer.
fn search_term(query: &str) -> Result<String> {
    let query = query.trim();
    if query.is_empty() {
        return Err(Error::InvalidQuery("empty search term".to_owned()));
    }
    let groups: Vec<&str> = query.split_whitespace().collect();
    // Spaces only as in a printed fingerprint (groups of four), so that a name made of the
    // letters a-f ("Bead Cafe Face") stays a name.
    let spaced_like_fingerprint = groups.len() == 1 || groups.iter().all(|g| g.len() == 4);
    let compact = groups.concat();
    if spaced_like_fingerprint
        && compact.len() >= 8
        && compact.bytes().all(|b| b.is_ascii_hexdigit())
    {
        Ok(format!("0x{compact}"))
    } else {
        Ok(query.to_owned())
    }
}

/// `error.message` (json-resp), `message` (Hinkskalle handlers), `errors[0].detail`
/// (Hinkskalle auth).
fn json_message(text: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(text).ok()?;
    let s = v
        .pointer("/error/message")
        .or_else(|| v.get("message"))
        .or_else(|| v.pointer("/errors/0/detail"))?
        .as_str()?
        .trim();
    (!s.is_empty()).then(|| s.to_owned())
}

fn truncate(mut s: String, max: usize) -> String {
    if s.len() > max {
        let mut cut = max;
        while !s.is_char_boundary(cut) {
            cut -= 1;
        }
        s.truncate(cut);
        s.push('…');
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_terms() {
        assert_eq!(search_term(" alice ").unwrap(), "alice");
        assert_eq!(search_term("a11bbd29").unwrap(), "0xa11bbd29");
        assert_eq!(search_term("A11B BD29").unwrap(), "0xA11BBD29");
        assert_eq!(search_term("0xA11BBD29").unwrap(), "0xA11BBD29");
        assert_eq!(search_term("cafe").unwrap(), "cafe");
        assert_eq!(search_term("deadbeefs").unwrap(), "deadbeefs");
        assert_eq!(search_term("Bead Cafe Face1").unwrap(), "Bead Cafe Face1");
        assert_eq!(search_term("Bead Cafe").unwrap(), "0xBeadCafe");
        assert_eq!(search_term("Be Ad Cafe Face").unwrap(), "Be Ad Cafe Face");
        assert_eq!(
            search_term("  ").unwrap_err().code(),
            "keyserver.invalid_query"
        );
    }

    #[test]
    fn error_bodies() {
        assert_eq!(
            json_message(r#"{"error":{"code":500,"message":"boom"}}"#).as_deref(),
            Some("boom")
        );
        assert_eq!(
            json_message(r#"{"message":"Private"}"#).as_deref(),
            Some("Private")
        );
        assert_eq!(
            json_message(r#"{"errors":[{"code":401,"detail":"Not Authorized"}],"status":"error"}"#)
                .as_deref(),
            Some("Not Authorized")
        );
        assert_eq!(json_message("plain"), None);
        assert_eq!(truncate("ééé".into(), 3), "é…");
    }

    #[test]
    fn debug_hides_the_token() {
        let ks = Keyserver::builder("http://127.0.0.1:1")
            .token("s3cr3t-token")
            .build()
            .unwrap();
        assert!(!format!("{ks:?}").contains("s3cr3t"));
        let ks = ks.with_token("other-s3cr3t".into());
        assert!(!format!("{ks:?}").contains("s3cr3t"));
        let b = Keyserver::builder("http://127.0.0.1:1").token("s3cr3t");
        assert!(!format!("{b:?}").contains("s3cr3t"));
    }
}
