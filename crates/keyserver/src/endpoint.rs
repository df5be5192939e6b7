//! Which keyserver URLs are accepted.
//!
//! * `http` and `https` only (library-api.md §0; `hkp://` is the same as `http://host:11371`).
//! * Plain `http` only for this machine, or when the caller explicitly allows it: a key fetched
//!   over plain http from elsewhere could have been swapped on the way (the fingerprint check
//!   catches a swapped key, but search results and submissions have no such check), and a
//!   bearer token would travel in clear.
//! * No user name or password in the URL: they would end up in error messages and logs; the
//!   token is given separately.
//! * Requests go to the absolute paths `/pks/lookup` and `/pks/add`, so a path on the base URL
//!   is dropped, exactly as Apptainer's key client does (§0).

use reqwest::Url;

use crate::error::{Error, Result};

/// Parses and checks a keyserver base URL.
pub(crate) fn parse_base(base: &str, allow_http: bool) -> Result<Url> {
    let base = base.trim();
    let url = Url::parse(base).map_err(|e| Error::InvalidUrl(format!("{base:?}: {e}")))?;
    if !url.username().is_empty() || url.password().is_some() {
        // Do not echo the URL: it holds a credential.
        return Err(Error::InvalidUrl(
            "user name or password in the URL; give an access token instead".to_owned(),
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(Error::InvalidUrl(format!("{base:?}: no host")));
    }
    match url.scheme() {
        "https" => Ok(url),
        "http" if allow_http || is_loopback(&url) => Ok(url),
        "http" => Err(Error::InsecureUrl(origin(&url))),
        other => Err(Error::InvalidUrl(format!(
            "{base:?}: scheme {other:?} is not supported (use https:// or http://)"
        ))),
    }
}

/// Whether the URL's host is this machine: `localhost`, 127.0.0.0/8 or `::1`. Berth's one
/// rule for where plain http is acceptable without the person's say (keyservers, registries).
pub fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    }
}

/// `scheme://host[:port]`, for messages.
pub(crate) fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_hosts() {
        assert!(parse_base("https://keys.openpgp.org", false).is_ok());
        assert!(parse_base("http://127.0.0.1:8080/", false).is_ok());
        assert!(parse_base("http://127.1.2.3", false).is_ok());
        assert!(parse_base("http://[::1]:11371", false).is_ok());
        assert!(parse_base("http://LOCALHOST", false).is_ok());
        assert!(parse_base("http://keys.example.org", true).is_ok());
        let e = parse_base("http://keys.example.org/x", false).unwrap_err();
        assert_eq!(e.code(), "keyserver.insecure_url");
        assert_eq!(
            e.to_string(),
            "refusing plain http for keyserver http://keys.example.org: use https, or allow http explicitly"
        );
        for bad in [
            "hkp://keys.example.org",
            "ftp://x",
            "keys.example.org",
            "",
            "https://",
        ] {
            assert_eq!(
                parse_base(bad, true).unwrap_err().code(),
                "keyserver.invalid_url",
                "{bad}"
            );
        }
    }

    #[test]
    fn credentials_in_url_are_refused_without_echo() {
        let e = parse_base("https://me:hunter2@keys.example.org", false).unwrap_err();
        assert_eq!(e.code(), "keyserver.invalid_url");
        assert!(!e.to_string().contains("hunter2"));
        assert!(!format!("{e:?}").contains("hunter2"));
    }
}
