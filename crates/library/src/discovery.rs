//! Service discovery on a remote's front-end host (§1.2) and service versions (§1.7, §4.7).

use std::collections::BTreeMap;

use reqwest::{Method, Url};
use serde_json::Value;

use crate::error::{Error, ErrorKind, Result};
use crate::http::{decode_data, Call, Http};
use crate::models::VersionInfo;
use crate::options::{build_http, normalize_base_url, RemoteOptions, RetryPolicy, Timeouts};

/// Where the discovery document lives on the front-end host.
pub const CONFIG_PATH: &str = "assets/config/config.prod.json";

/// The services a remote announces. `None` = not announced (or its `uri` was not a string).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Endpoints {
    pub library: Option<Url>,
    /// `keystoreAPI`, renamed as Apptainer does.
    pub keyserver: Option<Url>,
    pub builder: Option<Url>,
    pub token: Option<Url>,
    pub consent: Option<Url>,
    /// `libraryAPI.registryUri`: the OCI registry behind the library.
    pub registry: Option<Url>,
    /// Any other `xxxAPI` service with a usable `uri`, by service name.
    pub other: BTreeMap<String, Url>,
}

impl Endpoints {
    /// `(service name, URL)` of every discovered service, sorted by name as `remote status`
    /// lists them; the registry is not a service with a `/version`.
    pub fn services(&self) -> Vec<(String, Url)> {
        let known = [
            ("builder", &self.builder),
            ("consent", &self.consent),
            ("keyserver", &self.keyserver),
            ("library", &self.library),
            ("token", &self.token),
        ];
        let mut all: Vec<(String, Url)> = known
            .into_iter()
            .filter_map(|(n, u)| u.clone().map(|u| (n.to_owned(), u)))
            .chain(self.other.iter().map(|(n, u)| (n.clone(), u.clone())))
            .collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        all
    }
}

/// Parses a `config.prod.json` document with Apptainer's rules: every top-level value must
/// be an object (else the whole document is refused, as Go's map-of-maps decode fails);
/// `XxxAPI` names service `xxx`; `keystore` becomes `keyserver`; entries whose `uri` is not a
/// non-empty string (or not a URL) are skipped.
pub fn parse_config(body: &[u8]) -> Result<Endpoints> {
    let value: Value = serde_json::from_slice(body)
        .map_err(|e| Error::bad_response(format!("discovery document is not JSON: {e}")))?;
    let map = value
        .as_object()
        .ok_or_else(|| Error::bad_response("discovery document is not a JSON object"))?;
    let mut eps = Endpoints::default();
    for (key, entry) in map {
        let entry = entry.as_object().ok_or_else(|| {
            Error::bad_response(format!("discovery document: {key:?} is not an object"))
        })?;
        let name = key.strip_suffix("API").unwrap_or(key).to_ascii_lowercase();
        let Some(url) = entry.get("uri").and_then(Value::as_str).and_then(parse_url) else {
            continue;
        };
        match name.as_str() {
            "library" => {
                eps.registry = entry
                    .get("registryUri")
                    .and_then(Value::as_str)
                    .and_then(parse_url);
                eps.library = Some(url);
            }
            "keystore" | "keyserver" => eps.keyserver = Some(url),
            "builder" => eps.builder = Some(url),
            "token" => eps.token = Some(url),
            "consent" => eps.consent = Some(url),
            _ => {
                eps.other.insert(name, url);
            }
        }
    }
    Ok(eps)
}

fn parse_url(s: &str) -> Option<Url> {
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    Url::parse(s).ok().filter(|u| u.has_host())
}

/// Fetches and parses the discovery document of a remote. `front` is the remote's URI as
/// `remote.yaml` stores it (`cloud.example.com[/path]`, no scheme) or a full URL; https is
/// used unless `opts.insecure_http`. No token is sent.
pub async fn discover(front: &str, opts: &RemoteOptions, timeouts: Timeouts) -> Result<Endpoints> {
    let base = normalize_base_url(front, opts.insecure_http)?;
    let url = base
        .join(CONFIG_PATH)
        .map_err(|e| Error::input(format!("bad remote URI {front:?}: {e}")))?;
    let http = Http {
        client: build_http(opts, timeouts)?,
        token: None,
        retry: RetryPolicy::default(),
    };
    let reply = http
        .send(Call {
            method: Method::GET,
            url,
            query: &[],
            body: None,
            auth: false,
            ok: &[200],
        })
        .await?;
    parse_config(&reply.body)
}

/// Which protocol generation a library speaks, from its `apiVersion` (§4.7).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ApiLevel {
    /// No usable `apiVersion`: `v1/imagefile` uploads, `v1/tags`.
    Legacy,
    /// `≥ 2.0.0-alpha.1`: v2 uploads, still v1 tags.
    V2Upload,
    /// `≥ 2.0.0-alpha.2`: v2 uploads and arch-aware `v2/tags`.
    V2Tags,
}

impl ApiLevel {
    /// Decides like the reference: strict semver (a leading `v` or garbage = oldest API).
    pub fn from_api_version(api_version: Option<&str>) -> Self {
        let Some(v) = api_version.and_then(|v| semver::Version::parse(v).ok()) else {
            return Self::Legacy;
        };
        let at_least = |s: &str| semver::Version::parse(s).is_ok_and(|min| v >= min);
        if at_least("2.0.0-alpha.2") {
            Self::V2Tags
        } else if at_least("2.0.0-alpha.1") {
            Self::V2Upload
        } else {
            Self::Legacy
        }
    }

    /// Whether uploads use `v2/imagefile`.
    pub fn v2_upload(self) -> bool {
        self >= Self::V2Upload
    }

    /// Whether tags are set/read with `v2/tags` (per arch).
    pub fn v2_tags(self) -> bool {
        self >= Self::V2Tags
    }
}

/// `GET <service>/version` → `{"data":{"version","apiVersion"?}}` (no auth). A non-null
/// `error` in the envelope is an error even with status 200.
pub async fn service_version(
    service: &Url,
    opts: &RemoteOptions,
    timeouts: Timeouts,
) -> Result<VersionInfo> {
    let http = Http {
        client: build_http(opts, timeouts)?,
        token: None,
        retry: RetryPolicy::default(),
    };
    fetch_version(&http, service).await
}

pub(crate) async fn fetch_version(http: &Http, service: &Url) -> Result<VersionInfo> {
    let base = normalize_base_url(service.as_str(), service.scheme() == "http")?;
    let url = base
        .join("version")
        .map_err(|e| Error::input(format!("bad service URL: {e}")))?;
    let reply = http
        .send(Call {
            method: Method::GET,
            url,
            query: &[],
            body: None,
            auth: false,
            ok: &[200],
        })
        .await?;
    decode_data(&reply)
}

/// The level from a `/version` outcome: a missing endpoint or an unreadable answer means the
/// oldest API (§12.2); other failures (network, 5xx) are passed on.
pub(crate) fn level_from(outcome: Result<VersionInfo>) -> Result<ApiLevel> {
    match outcome {
        Ok(v) => Ok(ApiLevel::from_api_version(v.api_version.as_deref())),
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::BadResponse) => {
            Ok(ApiLevel::Legacy)
        }
        Err(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn example_document() {
        let eps = parse_config(
            br#"{
              "libraryAPI":  { "uri": "https://library.example.com", "registryUri": "https://registry.example.com" },
              "keystoreAPI": { "uri": "https://keys.example.com" },
              "builderAPI":  { "uri": "https://build.example.com", "managerUri": "https://build.example.com" },
              "consentAPI":  { "uri": "https://auth.example.com/consent" },
              "tokenAPI":    { "uri": "https://auth.example.com/token" }
            }"#,
        )
        .unwrap();
        assert_eq!(
            eps.library.unwrap().as_str(),
            "https://library.example.com/"
        );
        assert_eq!(
            eps.registry.unwrap().as_str(),
            "https://registry.example.com/"
        );
        assert_eq!(eps.keyserver.unwrap().as_str(), "https://keys.example.com/");
        assert_eq!(eps.builder.unwrap().as_str(), "https://build.example.com/");
        assert_eq!(
            eps.consent.unwrap().as_str(),
            "https://auth.example.com/consent"
        );
        assert_eq!(
            eps.token.unwrap().as_str(),
            "https://auth.example.com/token"
        );
    }

    #[test]
    fn hinkskalle_minimal_and_skips() {
        let eps = parse_config(
            br#"{"libraryAPI":{"uri":"http://127.0.0.1:5000"},"keystoreAPI":{"uri":"http://127.0.0.1:5000"},
                 "tokenAPI":{"uri":"http://127.0.0.1:5000"},"builderAPI":{"uri":null},
                 "consentAPI":{},"fancyAPI":{"uri":"https://f.example"},"weirdAPI":{"uri":42}}"#,
        )
        .unwrap();
        assert!(eps.library.is_some() && eps.keyserver.is_some() && eps.token.is_some());
        assert!(eps.builder.is_none() && eps.consent.is_none() && eps.registry.is_none());
        assert_eq!(eps.other.len(), 1);
        let names: Vec<_> = eps.services().into_iter().map(|(n, _)| n).collect();
        assert_eq!(names, ["fancy", "keyserver", "library", "token"]);
    }

    #[test]
    fn non_object_top_level_refuses_document() {
        let e = parse_config(br#"{"libraryAPI":{"uri":"https://l"},"version":"1"}"#).unwrap_err();
        assert_eq!(e.code(), "library.bad_response");
        assert!(e.to_string().contains("\"version\""));
        assert!(parse_config(b"[]").is_err());
        assert!(parse_config(b"<html>").is_err());
    }

    #[test]
    fn api_levels() {
        use ApiLevel::*;
        for (v, want) in [
            (None, Legacy),
            (Some(""), Legacy),
            (Some("v2.0.0"), Legacy),
            (Some("garbage"), Legacy),
            (Some("1.9.9"), Legacy),
            (Some("2.0.0-alpha.0"), Legacy),
            (Some("2.0.0-alpha.1"), V2Upload),
            (Some("2.0.0-alpha.2"), V2Tags),
            (Some("2.0.0-beta.1"), V2Tags),
            (Some("2.0.0"), V2Tags),
            (Some("3.1.0"), V2Tags),
        ] {
            assert_eq!(ApiLevel::from_api_version(v), want, "{v:?}");
        }
        assert!(V2Tags.v2_upload() && V2Tags.v2_tags());
        assert!(V2Upload.v2_upload() && !V2Upload.v2_tags());
        assert!(!Legacy.v2_upload());
    }
}
