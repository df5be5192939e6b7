//! Per-remote connection settings and how they become a `reqwest::Client`.

use std::time::Duration;

use reqwest::{redirect, Url};

use crate::error::{Error, Result};

/// User-Agent sent on every request. Not `singularity…`: Hinkskalle hides non-SIF images
/// from clients whose agent starts with that (§0), and Berth wants to see what is there.
pub const USER_AGENT: &str = concat!("Berth/", env!("CARGO_PKG_VERSION"));

/// Connection settings of one remote.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct RemoteOptions {
    /// Allow plain `http://` (and use it for scheme-less URLs). Never inferred: a remote
    /// must opt in, as `apptainer remote add --insecure` requires.
    pub insecure_http: bool,
    /// Extra trusted CA certificate(s), PEM, on top of the built-in web roots.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Proxy URL for all requests; `None` = the system proxy (`HTTPS_PROXY`, `NO_PROXY`, …).
    pub proxy: Option<String>,
    /// Accept any TLS certificate. Dangerous; for self-signed test servers only.
    pub accept_invalid_certs: bool,
}

impl std::fmt::Debug for RemoteOptions {
    // By hand so that a proxy URL with `user:password@` is not printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RemoteOptions")
            .field("insecure_http", &self.insecure_http)
            .field(
                "extra_ca_pem",
                &self
                    .extra_ca_pem
                    .as_ref()
                    .map(|p| format!("{} bytes", p.len())),
            )
            .field("proxy", &self.proxy.as_deref().map(redact_userinfo))
            .field("accept_invalid_certs", &self.accept_invalid_certs)
            .finish()
    }
}

/// Timeouts of one client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timeouts {
    /// TCP + TLS connect.
    pub connect: Duration,
    /// Whole request including reading the body.
    pub request: Duration,
}

impl Default for Timeouts {
    /// 10 s connect (Apptainer's discovery timeout), 30 s per request (its `/version` one).
    fn default() -> Self {
        Self {
            connect: Duration::from_secs(10),
            request: Duration::from_secs(30),
        }
    }
}

/// Retries of idempotent GETs on transport failures and 429/502/503/504.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt (0 = none).
    pub max_retries: u32,
    /// Wait before the first retry; doubled each time.
    pub initial_backoff: Duration,
    /// Upper bound of one wait (also caps a server's `Retry-After`).
    pub max_backoff: Duration,
}

impl Default for RetryPolicy {
    /// 3 retries, 250 ms doubling, at most 4 s per wait: under 2 s in total by default, so a
    /// dead server fails fast in the UI.
    fn default() -> Self {
        Self {
            max_retries: 3,
            initial_backoff: Duration::from_millis(250),
            max_backoff: Duration::from_secs(4),
        }
    }
}

impl RetryPolicy {
    /// No retries at all.
    pub fn none() -> Self {
        Self {
            max_retries: 0,
            ..Self::default()
        }
    }

    /// Wait before retry number `attempt` (0-based): exponential, capped.
    pub fn backoff(&self, attempt: u32) -> Duration {
        let factor = 1u32.checked_shl(attempt.min(16)).unwrap_or(u32::MAX);
        self.initial_backoff
            .saturating_mul(factor)
            .min(self.max_backoff)
    }
}

/// Turns a service URL as users and discovery give it into a base URL: adds the scheme
/// when missing (https, or http for insecure remotes), refuses `http://` unless the remote
/// opted in, and forces a trailing `/` so that relative paths keep any path prefix (§0).
pub fn normalize_base_url(raw: &str, insecure_http: bool) -> Result<Url> {
    let raw = raw.trim();
    if raw.is_empty() {
        return Err(Error::input("the library URL is empty"));
    }
    let with_scheme = if raw.contains("://") {
        raw.to_owned()
    } else {
        format!("{}://{raw}", if insecure_http { "http" } else { "https" })
    };
    let mut url =
        Url::parse(&with_scheme).map_err(|e| Error::input(format!("invalid URL {raw:?}: {e}")))?;
    match url.scheme() {
        "https" => {}
        "http" if insecure_http => {}
        "http" => {
            return Err(Error::input(format!(
                "{raw} uses plain http; mark the remote as insecure to allow that"
            )))
        }
        other => {
            return Err(Error::input(format!(
                "unsupported URL scheme {other:?} in {raw:?}"
            )))
        }
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::input(format!("URL {raw:?} has no host")));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::input(format!(
            "URL {raw:?} must not have a query or fragment"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::input(
            "credentials in the URL are not allowed; use a token",
        ));
    }
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    Ok(url)
}

/// Builds the HTTP client for one remote.
pub(crate) fn build_http(opts: &RemoteOptions, timeouts: Timeouts) -> Result<reqwest::Client> {
    let builder = reqwest::Client::builder()
        .timeout(timeouts.request)
        // reqwest drops Authorization on redirects to another host or port, which is the
        // reference's rule for redirect targets (§6, §12.13).
        .redirect(redirect::Policy::limited(10));
    finish_http(builder, opts, timeouts)
}

/// The client for file bodies: no limit on a whole request (a GiB takes its time), but a
/// stalled connection fails after [`TRANSFER_READ_TIMEOUT`]; 303 is returned to the caller
/// (it starts ranged mode, §6), other redirects are followed up to 10 hops.
pub(crate) fn build_transfer_http(
    opts: &RemoteOptions,
    timeouts: Timeouts,
) -> Result<reqwest::Client> {
    let policy = redirect::Policy::custom(|attempt| {
        if attempt.status() == reqwest::StatusCode::SEE_OTHER {
            attempt.stop()
        } else if attempt.previous().len() >= 10 {
            attempt.error("too many redirects")
        } else {
            attempt.follow()
        }
    });
    let builder = reqwest::Client::builder()
        .read_timeout(TRANSFER_READ_TIMEOUT)
        .redirect(policy);
    finish_http(builder, opts, timeouts)
}

/// No byte for this long on a transfer connection counts as a dropped connection.
pub const TRANSFER_READ_TIMEOUT: Duration = Duration::from_secs(60);

fn finish_http(
    builder: reqwest::ClientBuilder,
    opts: &RemoteOptions,
    timeouts: Timeouts,
) -> Result<reqwest::Client> {
    let mut builder = builder
        .user_agent(USER_AGENT)
        .connect_timeout(timeouts.connect)
        .danger_accept_invalid_certs(opts.accept_invalid_certs);
    if let Some(pem) = &opts.extra_ca_pem {
        let certs = reqwest::Certificate::from_pem_bundle(pem)
            .map_err(|e| Error::input(format!("the extra CA certificate is not valid PEM: {e}")))?;
        if certs.is_empty() {
            return Err(Error::input(
                "the extra CA certificate PEM holds no certificate",
            ));
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    if let Some(proxy) = opts.proxy.as_deref().filter(|p| !p.trim().is_empty()) {
        let p = reqwest::Proxy::all(proxy.trim()).map_err(|e| {
            Error::input(format!(
                "invalid proxy URL {:?}: {e}",
                redact_userinfo(proxy)
            ))
        })?;
        builder = builder.proxy(p);
    }
    builder
        .build()
        .map_err(|e| Error::input(format!("could not set up HTTP: {e}")).with_source(e))
}

/// `scheme://user:pass@host` → `scheme://***@host`.
fn redact_userinfo(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(s), Some(at)) if at > s => format!("{}***{}", &url[..s + 3], &url[at..]),
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_urls() {
        let u = normalize_base_url("library.example.com", false).unwrap();
        assert_eq!(u.as_str(), "https://library.example.com/");
        let u = normalize_base_url("https://h.example/library", false).unwrap();
        assert_eq!(u.as_str(), "https://h.example/library/");
        assert_eq!(
            u.join("v1/entities/x").unwrap().as_str(),
            "https://h.example/library/v1/entities/x"
        );
        let u = normalize_base_url("127.0.0.1:8080", true).unwrap();
        assert_eq!(u.as_str(), "http://127.0.0.1:8080/");
        let e = normalize_base_url("http://h.example", false).unwrap_err();
        assert_eq!(e.code(), "input.invalid");
        assert!(e.to_string().contains("insecure"));
        assert!(normalize_base_url("ftp://h", true).is_err());
        assert!(normalize_base_url("", true).is_err());
        assert!(normalize_base_url("https://u:p@h", true).is_err());
        assert!(normalize_base_url("https://h/?q=1", true).is_err());
    }

    #[test]
    fn backoff_doubles_and_is_capped() {
        let p = RetryPolicy {
            max_retries: 10,
            initial_backoff: Duration::from_millis(100),
            max_backoff: Duration::from_millis(500),
        };
        assert_eq!(p.backoff(0), Duration::from_millis(100));
        assert_eq!(p.backoff(1), Duration::from_millis(200));
        assert_eq!(p.backoff(2), Duration::from_millis(400));
        assert_eq!(p.backoff(3), Duration::from_millis(500));
        assert_eq!(p.backoff(40), Duration::from_millis(500));
    }

    #[test]
    fn option_plumbing() {
        let t = Timeouts::default();
        assert!(build_http(&RemoteOptions::default(), t).is_ok());
        let bad_pem = RemoteOptions {
            extra_ca_pem: Some(b"not a pem".to_vec()),
            ..Default::default()
        };
        assert_eq!(build_http(&bad_pem, t).unwrap_err().code(), "input.invalid");
        let bad_proxy = RemoteOptions {
            proxy: Some("::not a url".into()),
            ..Default::default()
        };
        assert_eq!(
            build_http(&bad_proxy, t).unwrap_err().code(),
            "input.invalid"
        );
        let proxy = RemoteOptions {
            proxy: Some("http://user:pw@proxy.example:3128".into()),
            accept_invalid_certs: true,
            ..Default::default()
        };
        assert!(build_http(&proxy, t).is_ok());
        let dbg = format!("{proxy:?}");
        assert!(!dbg.contains("pw"), "{dbg}");
        assert!(dbg.contains("proxy.example"));
    }
}
