//! The registry client: per-host transport rules and authenticated requests. Resolution,
//! downloads and oras live in their own modules and go through [`RegistryClient::send`].

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use berth_progress::Cancel;
use reqwest::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use reqwest::{RequestBuilder, Response, StatusCode};

use crate::auth::{AuthHeader, Challenge, CredentialSource, TokenResponse};
use crate::error::{Error, ErrorKind, Result};
use crate::reference::ImageRef;

/// How to reach registries.
#[derive(Clone)]
pub struct RegistryOptions {
    /// Hosts (`host:port` as in references) reached with `http://` instead of `https://`.
    pub plain_http_hosts: Vec<String>,
    /// Hosts whose TLS certificate is not checked.
    pub insecure_tls_hosts: Vec<String>,
    /// Extra CA certificates (PEM bundle) trusted for every host.
    pub extra_ca_pem: Option<Vec<u8>>,
    /// Where logins come from; anonymous access when `None`.
    pub credentials: Option<Arc<dyn CredentialSource>>,
    /// Limit for establishing a connection.
    pub connect_timeout: Duration,
    /// Limit for silence on an open connection (not for a whole download).
    pub read_timeout: Duration,
    /// Attempts per blob when its download breaks off (at least 1).
    pub blob_attempts: u32,
}

impl Default for RegistryOptions {
    fn default() -> Self {
        Self {
            plain_http_hosts: Vec::new(),
            insecure_tls_hosts: Vec::new(),
            extra_ca_pem: None,
            credentials: None,
            connect_timeout: Duration::from_secs(30),
            read_timeout: Duration::from_secs(60),
            blob_attempts: 4,
        }
    }
}

impl std::fmt::Debug for RegistryOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryOptions")
            .field("plain_http_hosts", &self.plain_http_hosts)
            .field("insecure_tls_hosts", &self.insecure_tls_hosts)
            .field("extra_ca_pem", &self.extra_ca_pem.as_ref().map(Vec::len))
            .field("credentials", &self.credentials.is_some())
            .finish_non_exhaustive()
    }
}

/// What a request needs to be allowed to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Access {
    Pull,
    Push,
}

/// A client of OCI/Docker registries. Cheap to share (`Arc` it); tokens are cached per
/// registry and scope for the client's life.
pub struct RegistryClient {
    strict: reqwest::Client,
    insecure: reqwest::Client,
    pub(crate) opts: RegistryOptions,
    auth: Mutex<HashMap<(String, String), AuthHeader>>,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("opts", &self.opts)
            .finish_non_exhaustive()
    }
}

impl RegistryClient {
    /// Builds the HTTP clients; fails only on an unreadable CA bundle.
    pub fn new(opts: RegistryOptions) -> Result<Self> {
        let build = |insecure: bool| -> Result<reqwest::Client> {
            let mut b = reqwest::Client::builder()
                .user_agent(concat!("berth/", env!("CARGO_PKG_VERSION")))
                .connect_timeout(opts.connect_timeout)
                .read_timeout(opts.read_timeout)
                // reqwest drops Authorization when a redirect leaves the host or port, which
                // is what blob redirects to object storage need.
                .redirect(reqwest::redirect::Policy::limited(10))
                .danger_accept_invalid_certs(insecure);
            if let Some(pem) = &opts.extra_ca_pem {
                let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| {
                    Error::new(
                        ErrorKind::InputInvalid,
                        "the extra CA bundle is not valid PEM",
                    )
                    .with_source(e)
                })?;
                // An empty bundle parses "successfully"; it is almost surely the wrong file.
                if certs.is_empty() {
                    return Err(Error::new(
                        ErrorKind::InputInvalid,
                        "the extra CA bundle holds no PEM certificate",
                    ));
                }
                for c in certs {
                    b = b.add_root_certificate(c);
                }
            }
            b.build()
                .map_err(|e| Error::from_transport(e, "creating the HTTP client"))
        };
        Ok(Self {
            strict: build(false)?,
            insecure: build(true)?,
            auth: Mutex::new(HashMap::new()),
            opts,
        })
    }

    fn http_for(&self, host: &str) -> &reqwest::Client {
        if self.opts.insecure_tls_hosts.iter().any(|h| h == host) {
            &self.insecure
        } else {
            &self.strict
        }
    }

    /// `scheme://api-host/v2/repository`.
    pub(crate) fn repo_url(&self, r: &ImageRef) -> String {
        let host = r.api_host();
        let plain = self
            .opts
            .plain_http_hosts
            .iter()
            .any(|h| h == r.registry() || h == host);
        let scheme = if plain { "http" } else { "https" };
        format!("{scheme}://{host}/v2/{}", r.repository())
    }

    /// Sends the request `build` makes, authenticating on a 401 challenge and retrying
    /// once. `build` is called again for the retry, so bodies must be re-creatable (large
    /// streamed bodies go after a small request has obtained the token). Answers other than
    /// 401 are returned as they are; `what` names the request in errors.
    pub(crate) async fn send(
        &self,
        r: &ImageRef,
        access: Access,
        what: &str,
        cancel: &Cancel,
        build: impl Fn(&reqwest::Client) -> RequestBuilder,
    ) -> Result<Response> {
        let http = self.http_for(r.api_host());
        let key = (r.registry().to_owned(), scope(r, access));
        let mut retried = false;
        loop {
            cancel.check()?;
            let mut req = build(http);
            let cached = self.auth.lock().expect("auth cache").get(&key).cloned();
            if let Some(h) = &cached {
                req = req.header(AUTHORIZATION, &h.0);
            }
            let resp = tokio::select! {
                res = req.send() => res.map_err(|e| Error::from_transport(e, what))?,
                _ = cancel.cancelled() => return Err(Error::cancelled()),
            };
            if resp.status() != StatusCode::UNAUTHORIZED {
                return Ok(resp);
            }
            let challenge = resp
                .headers()
                .get(WWW_AUTHENTICATE)
                .and_then(|v| v.to_str().ok())
                .and_then(Challenge::parse);
            if retried || challenge.is_none() {
                return Err(self.unauthorized(r, resp, what, cached.is_some()).await);
            }
            let header = match challenge.expect("checked") {
                Challenge::Bearer {
                    realm,
                    service,
                    scope: challenged,
                } => {
                    let scope = challenged.unwrap_or_else(|| key.1.clone());
                    self.fetch_token(r, &realm, service.as_deref(), &scope, cancel)
                        .await?
                }
                Challenge::Basic => match self.credentials(r) {
                    Some(c) => AuthHeader(c.basic_header()),
                    None => return Err(login_needed(r)),
                },
            };
            self.auth
                .lock()
                .expect("auth cache")
                .insert(key.clone(), header);
            retried = true;
        }
    }

    fn credentials(&self, r: &ImageRef) -> Option<crate::auth::Credentials> {
        self.opts
            .credentials
            .as_ref()
            .and_then(|s| s.credentials(r.registry()))
    }

    async fn unauthorized(
        &self,
        r: &ImageRef,
        resp: Response,
        what: &str,
        had_auth: bool,
    ) -> Error {
        let status = resp.status().as_u16();
        let body = resp.bytes().await.unwrap_or_default();
        let err = Error::from_response(status, &body, what);
        if had_auth && self.credentials(r).is_some() {
            Error::new(
                ErrorKind::Unauthorized,
                format!(
                    "{}: the registry rejected the stored credentials for {}",
                    err.message(),
                    r.registry()
                ),
            )
        } else if self.credentials(r).is_none() {
            // Docker Hub answers this way for repositories that do not exist, too.
            Error::new(
                ErrorKind::Unauthorized,
                format!(
                    "{} refused anonymous access to {}: it does not exist or requires logging in: run `berth registry login {}`",
                    r.registry(),
                    r.repository(),
                    r.registry()
                ),
            )
        } else {
            err
        }
    }

    /// The registry token protocol: GET realm?service=…&scope=…, with Basic credentials
    /// when we have them (anonymous tokens otherwise).
    async fn fetch_token(
        &self,
        r: &ImageRef,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        cancel: &Cancel,
    ) -> Result<AuthHeader> {
        let what = format!("getting an access token for {}", r.registry());
        let mut url = url::Url::parse(realm).map_err(|_| {
            Error::bad_response(format!(
                "{what}: the registry named an invalid token service"
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::bad_response(format!(
                "{what}: the token service is not HTTP"
            )));
        }
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            q.append_pair("scope", scope);
        }
        let host = match url.port() {
            Some(p) => format!("{}:{p}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_owned(),
        };
        let mut req = self.http_for(&host).get(url);
        let creds = self.credentials(r);
        if let Some(c) = &creds {
            req = req.header(AUTHORIZATION, c.basic_header());
        }
        let resp = tokio::select! {
            res = req.send() => res.map_err(|e| Error::from_transport(e, &what))?,
            _ = cancel.cancelled() => return Err(Error::cancelled()),
        };
        let status = resp.status();
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(if creds.is_some() {
                Error::new(
                    ErrorKind::Unauthorized,
                    format!("{what}: the token service rejected the stored credentials"),
                )
            } else {
                login_needed(r)
            });
        }
        let body = resp
            .bytes()
            .await
            .map_err(|e| Error::from_transport(e, &what))?;
        if !status.is_success() {
            return Err(Error::from_response(status.as_u16(), &body, &what));
        }
        let token = serde_json::from_slice::<TokenResponse>(&body)
            .ok()
            .and_then(TokenResponse::into_token)
            .ok_or_else(|| Error::bad_response(format!("{what}: the answer holds no token")))?;
        Ok(AuthHeader(format!("Bearer {token}")))
    }
}

fn scope(r: &ImageRef, access: Access) -> String {
    match access {
        Access::Pull => format!("repository:{}:pull", r.repository()),
        Access::Push => format!("repository:{}:pull,push", r.repository()),
    }
}

fn login_needed(r: &ImageRef) -> Error {
    Error::new(
        ErrorKind::Unauthorized,
        format!(
            "{} requires logging in: run `berth registry login {}`",
            r.registry(),
            r.registry()
        ),
    )
}

/// Turns a non-success answer into an error, reading its body for the registry's message.
pub(crate) async fn check(resp: Response, what: &str) -> Result<Response> {
    if resp.status().is_success() {
        return Ok(resp);
    }
    let status = resp.status().as_u16();
    let body = resp.bytes().await.unwrap_or_default();
    Err(Error::from_response(status, &body, what))
}

/// Reads a whole (small) body, refusing more than `limit` bytes.
pub(crate) async fn read_limited(
    mut resp: Response,
    limit: u64,
    what: &str,
    cancel: &Cancel,
) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let chunk = tokio::select! {
            c = resp.chunk() => c.map_err(|e| Error::connection_lost(e, what))?,
            _ = cancel.cancelled() => return Err(Error::cancelled()),
        };
        let Some(chunk) = chunk else { break };
        if out.len() as u64 + chunk.len() as u64 > limit {
            return Err(Error::bad_response(format!(
                "{what}: the answer is larger than {limit} bytes"
            )));
        }
        out.extend_from_slice(&chunk);
    }
    Ok(out)
}
