//! Logins to OCI registries (`docker://`, `oras://`).
//!
//! Berth keeps the list of registry hosts it has logins for in `registries.json` in its
//! configuration directory; the username and password (or token) are ONLY in the system
//! keychain, as JSON in the entry `registry:<host>` (see [`crate::credentials`]).
//!
//! Docker's own `config.json` (`$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`)
//! is read as a fallback and never written. Credential helpers it names (`credsStore`,
//! `credHelpers`) are reported, never executed.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use ts_rs::TS;
use zeroize::Zeroizing;

use crate::credentials::{registry_account, CredentialStore, Token, SERVICE};
use crate::{atomic_file, AppDirs, Error, Result};

/// The username Docker uses for an identity (refresh) token.
pub const IDENTITY_TOKEN_USERNAME: &str = "<token>";

/// Where a login comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "kebab-case")]
pub enum RegistryLoginSource {
    /// Berth's own login (in the system keychain).
    Berth,
    /// Docker's `config.json` (read only).
    DockerConfig,
}

/// A registry login as the UI and the CLI show it. Never holds the password.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct RegistryLoginView {
    /// Normalised `host[:port]` (`docker.io` for Docker Hub).
    pub host: String,
    /// The username; empty when it is not known (a credential helper holds it).
    pub username: String,
    /// `berth` or `docker-config`.
    #[ts(inline)]
    pub source: RegistryLoginSource,
    /// Why the login is not usable by Berth, e.g. "managed by docker-credential-desktop,
    /// not read".
    pub note: Option<String>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoreFile {
    #[serde(default = "format_version")]
    version: u32,
    #[serde(default)]
    registries: Vec<StoredRegistry>,
}

fn format_version() -> u32 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredRegistry {
    host: String,
}

/// The keychain entry's content: `{"username": …, "password": …}`.
#[derive(Deserialize)]
struct Secret {
    username: String,
    password: Token,
}

#[derive(Serialize)]
struct SecretOut<'a> {
    username: &'a str,
    password: &'a str,
}

/// Registry logins: hosts in `registries.json`, secrets in a [`CredentialStore`], with
/// Docker's `config.json` as a read-only fallback.
pub struct RegistryLogins {
    path: PathBuf,
    docker_config: Option<PathBuf>,
    creds: Arc<dyn CredentialStore>,
    lock: Mutex<()>,
}

impl std::fmt::Debug for RegistryLogins {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryLogins")
            .field("path", &self.path)
            .field("docker_config", &self.docker_config)
            .finish()
    }
}

/// Docker's `config.json`: `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json`.
pub fn default_docker_config() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("DOCKER_CONFIG").filter(|d| !d.is_empty()) {
        return Some(PathBuf::from(d).join("config.json"));
    }
    directories::BaseDirs::new().map(|b| b.home_dir().join(".docker").join("config.json"))
}

impl RegistryLogins {
    /// The logins in `dirs` (`registries.json`), secrets in `creds` (normally
    /// [`crate::credentials::KeychainStore`]), Docker's file at [`default_docker_config`].
    pub fn new(dirs: &AppDirs, creds: Arc<dyn CredentialStore>) -> Self {
        Self {
            path: dirs.config().join("registries.json"),
            docker_config: default_docker_config(),
            creds,
            lock: Mutex::new(()),
        }
    }

    /// Reads Docker's configuration from `path` instead (`None`: not at all).
    pub fn with_docker_config(mut self, path: Option<PathBuf>) -> Self {
        self.docker_config = path;
        self
    }

    /// The file the hosts are kept in.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The Docker configuration file read as a fallback, if any.
    pub fn docker_config_path(&self) -> Option<&Path> {
        self.docker_config.as_deref()
    }

    fn load(&self) -> Result<StoreFile> {
        Ok(
            atomic_file::read_json(&self.path)?.unwrap_or_else(|| StoreFile {
                version: format_version(),
                ..StoreFile::default()
            }),
        )
    }

    fn save(&self, file: &StoreFile) -> Result<()> {
        atomic_file::write_json(&self.path, file)
    }

    fn guard(&self) -> std::sync::MutexGuard<'_, ()> {
        self.lock.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Stores (or replaces) the login for `host`: the secret in the keychain, the host in
    /// `registries.json`. Returns the normalised host.
    pub fn login(&self, host: &str, username: &str, password: &Token) -> Result<String> {
        let host = normalise_host(host)?;
        validate_login(username, password)?;
        let json = Zeroizing::new(
            serde_json::to_string(&SecretOut {
                username,
                password: password.expose(),
            })
            .map_err(|_| Error::InvalidRegistryLogin {
                reason: "it cannot be encoded".to_owned(),
            })?,
        );
        let _guard = self.guard();
        let mut file = self.load()?;
        self.creds.set(
            SERVICE,
            &registry_account(&host),
            &Token::new(json.as_str()),
        )?;
        if !file.registries.iter().any(|r| r.host == host) {
            file.registries.push(StoredRegistry { host: host.clone() });
            file.registries.sort_by(|a, b| a.host.cmp(&b.host));
            self.save(&file)?;
        }
        Ok(host)
    }

    /// Forgets Berth's login for `host` (keychain entry and list); `Ok(true)` when there
    /// was one. Docker's file is never changed.
    pub fn logout(&self, host: &str) -> Result<bool> {
        let host = normalise_host(host)?;
        let _guard = self.guard();
        let mut file = self.load()?;
        let had_secret = self.creds.delete(SERVICE, &registry_account(&host))?;
        let before = file.registries.len();
        file.registries.retain(|r| r.host != host);
        let listed = file.registries.len() != before;
        if listed {
            self.save(&file)?;
        }
        Ok(had_secret || listed)
    }

    /// Berth's logins, then Docker's for hosts Berth has none for, sorted by host.
    /// A host listed by Berth whose keychain entry is gone is left out.
    pub fn list(&self) -> Result<Vec<RegistryLoginView>> {
        let file = self.load()?;
        let mut out = Vec::new();
        for r in &file.registries {
            if let Some(secret) = self.berth_secret(&r.host)? {
                out.push(RegistryLoginView {
                    host: r.host.clone(),
                    username: secret.username.clone(),
                    source: RegistryLoginSource::Berth,
                    note: None,
                });
            }
        }
        for e in self.docker_entries() {
            if out
                .iter()
                .any(|v| v.host == e.host && v.source == RegistryLoginSource::Berth)
            {
                continue;
            }
            let (username, note) = match &e.kind {
                DockerKind::Creds { username, .. } => (username.clone(), None),
                DockerKind::Helper(h) => (String::new(), Some(helper_note(h))),
            };
            out.push(RegistryLoginView {
                host: e.host.clone(),
                username,
                source: RegistryLoginSource::DockerConfig,
                note,
            });
        }
        out.sort_by(|a, b| a.host.cmp(&b.host));
        Ok(out)
    }

    /// The username and password (or token) for `host`: Berth's login first, then
    /// Docker's `config.json`. `None` when neither has one (or Docker's is held by a
    /// credential helper, which Berth does not run). For a Docker identity token the
    /// username is [`IDENTITY_TOKEN_USERNAME`].
    pub fn credentials_for(&self, host: &str) -> Result<Option<(String, Token)>> {
        let host = normalise_host(host)?;
        if let Some(s) = self.berth_secret(&host)? {
            return Ok(Some((s.username.clone(), s.password.clone())));
        }
        Ok(self
            .docker_entries()
            .into_iter()
            .find(|e| e.host == host)
            .and_then(|e| match e.kind {
                DockerKind::Creds { username, secret } => Some((username, secret)),
                DockerKind::Helper(_) => None,
            }))
    }

    fn berth_secret(&self, host: &str) -> Result<Option<Secret>> {
        let Some(raw) = self.creds.get(SERVICE, &registry_account(host))? else {
            return Ok(None);
        };
        // serde_json's messages can quote the input: never pass them on.
        serde_json::from_str::<Secret>(raw.expose())
            .map(Some)
            .map_err(|_| Error::KeychainFailed {
                reason: format!("the keychain entry for {host} is not a Berth registry login"),
            })
    }

    /// Docker's logins, or none when its file is missing or unreadable (logged, never
    /// with its content).
    fn docker_entries(&self) -> Vec<DockerEntry> {
        let Some(path) = &self.docker_config else {
            return Vec::new();
        };
        match std::fs::read(path) {
            Ok(bytes) => {
                let bytes = Zeroizing::new(bytes);
                match parse_docker_config(&bytes) {
                    Some(entries) => entries,
                    None => {
                        tracing::warn!(path = %path.display(), "Docker config is not valid JSON; ignored");
                        Vec::new()
                    }
                }
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => {
                tracing::warn!(path = %path.display(), error = %e, "cannot read Docker config");
                Vec::new()
            }
        }
    }
}

fn helper_note(helper: &str) -> String {
    format!("managed by docker-credential-{helper}, not read")
}

fn validate_login(username: &str, password: &Token) -> Result<()> {
    let bad = |reason: &str| {
        Err(Error::InvalidRegistryLogin {
            reason: reason.to_owned(),
        })
    };
    if username.trim().is_empty() {
        return bad("the username is empty");
    }
    if username.contains(':') {
        return bad("the username contains ':'");
    }
    if username.chars().any(char::is_control) {
        return bad("the username contains control characters");
    }
    if password.is_empty() {
        return bad("the password is empty");
    }
    if password.expose().contains(['\n', '\r']) {
        return bad("the password has several lines");
    }
    Ok(())
}

/// `host[:port]` in lower case, without scheme or path; Docker Hub's names
/// (`docker.io`, `index.docker.io`, `registry-1.docker.io`) become `docker.io`.
pub fn normalise_host(input: &str) -> Result<String> {
    let invalid = |reason: &str| Error::InvalidRegistryHost {
        host: input.to_owned(),
        reason: reason.to_owned(),
    };
    let mut s = input.trim();
    for scheme in ["docker://", "oras://", "https://", "http://"] {
        if s.len() >= scheme.len() && s[..scheme.len()].eq_ignore_ascii_case(scheme) {
            s = &s[scheme.len()..];
            break;
        }
    }
    let s = s.split('/').next().unwrap_or_default().to_ascii_lowercase();
    if s.is_empty() {
        return Err(invalid("it is empty"));
    }
    if s.contains('@') {
        return Err(invalid("it contains credentials"));
    }
    if !s
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'))
    {
        return Err(invalid("it contains characters a host name cannot have"));
    }
    // The port, if any: after the last ':' that is not inside an IPv6 literal.
    let (name, port) = if let Some(rest) = s.strip_prefix('[') {
        let end = rest
            .find(']')
            .ok_or_else(|| invalid("unclosed '[' in the address"))?;
        let after = &rest[end + 1..];
        match after.strip_prefix(':') {
            Some(p) => (&s[..end + 2], Some(p)),
            None if after.is_empty() => (s.as_str(), None),
            None => return Err(invalid("unexpected text after the address")),
        }
    } else {
        match s.split_once(':') {
            Some((n, p)) => (n, Some(p)),
            None => (s.as_str(), None),
        }
    };
    if name.is_empty() || name == "[]" {
        return Err(invalid("the host name is empty"));
    }
    if let Some(p) = port {
        if p.parse::<u16>().map_or(true, |n| n == 0) {
            return Err(invalid("the port is not a number from 1 to 65535"));
        }
    }
    Ok(match s.as_str() {
        "index.docker.io" | "registry-1.docker.io" => "docker.io".to_owned(),
        _ => s,
    })
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DockerConfigFile {
    auths: BTreeMap<String, DockerAuth>,
    #[serde(rename = "credsStore")]
    creds_store: Option<String>,
    #[serde(rename = "credHelpers")]
    cred_helpers: BTreeMap<String, String>,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct DockerAuth {
    auth: Option<Token>,
    username: Option<String>,
    password: Option<Token>,
    identitytoken: Option<Token>,
}

impl DockerAuth {
    fn has_fields(&self) -> bool {
        let set = |t: &Option<Token>| t.as_ref().is_some_and(|t| !t.is_empty());
        set(&self.auth)
            || set(&self.password)
            || set(&self.identitytoken)
            || self.username.as_ref().is_some_and(|u| !u.is_empty())
    }
}

#[derive(Debug)]
enum DockerKind {
    Creds { username: String, secret: Token },
    Helper(String),
}

#[derive(Debug)]
struct DockerEntry {
    host: String,
    kind: DockerKind,
}

/// The usable entries of a Docker `config.json`, one per normalised host (`None` when it
/// is not JSON of that shape). `credHelpers` win over `auths`, as in Docker; an `auths`
/// entry without credentials belongs to `credsStore`.
fn parse_docker_config(bytes: &[u8]) -> Option<Vec<DockerEntry>> {
    let cfg: DockerConfigFile = serde_json::from_slice(bytes).ok()?;
    let mut out: BTreeMap<String, DockerKind> = BTreeMap::new();
    for (key, a) in &cfg.auths {
        let Ok(host) = normalise_host(key) else {
            continue;
        };
        let kind = match docker_creds(a) {
            Some((username, secret)) => DockerKind::Creds { username, secret },
            // An entry with credential fields that cannot be used is skipped; an empty
            // one means the credentials are in the credsStore.
            None if a.has_fields() => continue,
            None => match &cfg.creds_store {
                Some(store) if !store.is_empty() => DockerKind::Helper(store.clone()),
                _ => continue,
            },
        };
        // Two keys for one host (docker.io and https://index.docker.io/v1/): credentials
        // win over a helper, the first credentials win over later ones.
        match out.get(&host) {
            Some(DockerKind::Creds { .. }) => {}
            _ => {
                out.insert(host, kind);
            }
        }
    }
    for (key, helper) in &cfg.cred_helpers {
        if let Ok(host) = normalise_host(key) {
            if !helper.is_empty() {
                out.insert(host, DockerKind::Helper(helper.clone()));
            }
        }
    }
    Some(
        out.into_iter()
            .map(|(host, kind)| DockerEntry { host, kind })
            .collect(),
    )
}

/// Username and secret of one `auths` entry: `auth` (base64 of `user:pass`), else the
/// `username`/`password` fields, else an `identitytoken`.
fn docker_creds(a: &DockerAuth) -> Option<(String, Token)> {
    if let Some(auth) = a.auth.as_ref().filter(|t| !t.is_empty()) {
        let decoded = Zeroizing::new(
            base64::engine::general_purpose::STANDARD
                .decode(auth.expose().trim())
                .ok()?,
        );
        let text = std::str::from_utf8(&decoded).ok()?;
        let (user, pass) = text.split_once(':')?;
        if !user.is_empty() && !pass.is_empty() {
            return Some((user.to_owned(), Token::new(pass)));
        }
    }
    if let (Some(u), Some(p)) = (&a.username, &a.password) {
        if !u.is_empty() && !p.is_empty() {
            return Some((u.clone(), p.clone()));
        }
    }
    if let Some(t) = a.identitytoken.as_ref().filter(|t| !t.is_empty()) {
        return Some((IDENTITY_TOKEN_USERNAME.to_owned(), t.clone()));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::MemoryStore;
    use crate::ApiError;

    const PASSWORD: &str = "pw-7c1e5a90-not-a-real-secret";

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    fn setup(docker: Option<&str>) -> (tempfile::TempDir, Arc<MemoryStore>, RegistryLogins) {
        let dir = tempfile::tempdir().unwrap();
        let store = Arc::new(MemoryStore::new());
        let docker_path = dir.path().join("docker/config.json");
        if let Some(text) = docker {
            std::fs::create_dir_all(docker_path.parent().unwrap()).unwrap();
            std::fs::write(&docker_path, text).unwrap();
        }
        let logins = RegistryLogins::new(&AppDirs::at(dir.path().join("berth")), store.clone())
            .with_docker_config(Some(docker_path));
        (dir, store, logins)
    }

    #[test]
    fn hosts_are_normalised() {
        for (input, want) in [
            ("docker.io", "docker.io"),
            ("index.docker.io", "docker.io"),
            ("Registry-1.Docker.IO", "docker.io"),
            ("https://index.docker.io/v1/", "docker.io"),
            ("docker://ghcr.io/owner/img", "ghcr.io"),
            (
                "oras://Registry.Example.com:5000",
                "registry.example.com:5000",
            ),
            ("localhost:5000", "localhost:5000"),
            ("[::1]:5000", "[::1]:5000"),
            ("  quay.io  ", "quay.io"),
        ] {
            assert_eq!(normalise_host(input).unwrap(), want, "{input}");
        }
        for bad in [
            "",
            "https://",
            "user@host",
            "host:port",
            "host:0",
            "ho st",
            ":5000",
        ] {
            let e = normalise_host(bad).unwrap_err();
            assert_eq!(e.code(), "registry.invalid_host", "{bad}");
            assert!(e.hint().is_some());
        }
    }

    #[test]
    fn login_list_logout_with_the_secret_only_in_the_store() {
        let (dir, store, logins) = setup(None);
        let host = logins
            .login("Index.Docker.io", "alice", &Token::new(PASSWORD))
            .unwrap();
        assert_eq!(host, "docker.io");
        assert_eq!(store.len(), 1);
        let raw = store.get(SERVICE, "registry:docker.io").unwrap().unwrap();
        let v: serde_json::Value = serde_json::from_str(raw.expose()).unwrap();
        assert_eq!(v["username"], "alice");
        assert_eq!(v["password"], PASSWORD);

        let file = std::fs::read_to_string(logins.path()).unwrap();
        assert!(file.contains("docker.io") && !file.contains(PASSWORD) && !file.contains("alice"));

        assert_eq!(
            logins.list().unwrap(),
            vec![RegistryLoginView {
                host: "docker.io".into(),
                username: "alice".into(),
                source: RegistryLoginSource::Berth,
                note: None,
            }]
        );
        let (u, p) = logins
            .credentials_for("registry-1.docker.io")
            .unwrap()
            .unwrap();
        assert_eq!((u.as_str(), p.expose()), ("alice", PASSWORD));

        // Replacing keeps one entry.
        logins
            .login("docker.io", "bob", &Token::new("other"))
            .unwrap();
        assert_eq!(logins.list().unwrap().len(), 1);
        assert_eq!(
            logins.credentials_for("docker.io").unwrap().unwrap().0,
            "bob"
        );

        assert!(logins.logout("docker.io").unwrap());
        assert!(!logins.logout("docker.io").unwrap());
        assert!(store.is_empty());
        assert!(logins.list().unwrap().is_empty());
        assert_eq!(logins.credentials_for("docker.io").unwrap(), None);
        drop(dir);
    }

    #[test]
    fn bad_logins_are_refused_without_showing_the_password() {
        let (_dir, store, logins) = setup(None);
        for (user, pass) in [
            ("", PASSWORD),
            ("a:b", PASSWORD),
            ("alice", ""),
            ("alice", "pw-7c1e5a90-not-a-real-secret\nmore"),
        ] {
            let e = logins
                .login("ghcr.io", user, &Token::new(pass))
                .unwrap_err();
            assert_eq!(e.code(), "registry.invalid_login");
            let shown = format!("{e} {e:?} {:?}", ApiError::from(&e));
            assert!(!shown.contains(PASSWORD), "{shown}");
        }
        assert!(store.is_empty());
        assert!(!logins.path().exists());
        let e = logins
            .login("bad host", "alice", &Token::new(PASSWORD))
            .unwrap_err();
        assert!(!format!("{e} {e:?}").contains(PASSWORD));
    }

    #[test]
    fn keychain_unavailable_is_an_error_and_nothing_is_listed() {
        let dir = tempfile::tempdir().unwrap();
        let logins = RegistryLogins::new(
            &AppDirs::at(dir.path().to_path_buf()),
            Arc::new(MemoryStore::unavailable()),
        )
        .with_docker_config(None);
        let e = logins
            .login("ghcr.io", "alice", &Token::new(PASSWORD))
            .unwrap_err();
        assert_eq!(e.code(), "keychain.unavailable");
        assert!(!format!("{e} {e:?}").contains(PASSWORD));
        assert!(!logins.path().exists());
    }

    #[test]
    fn docker_config_auth_fields_identity_token_and_helpers() {
        let config = format!(
            r#"{{
              "auths": {{
                "https://index.docker.io/v1/": {{ "auth": "{}" }},
                "ghcr.io": {{ "username": "gh-user", "password": "{PASSWORD}-gh" }},
                "myregistry.azurecr.io": {{ "identitytoken": "{PASSWORD}-id" }},
                "quay.io": {{}},
                "Registry.Example.com:5000": {{ "auth": "{}" }},
                "broken.example": {{ "auth": "!!!not base64" }}
              }},
              "credsStore": "desktop",
              "credHelpers": {{ "123.dkr.ecr.us-east-1.amazonaws.com": "ecr-login" }},
              "currentContext": "default"
            }}"#,
            b64(&format!("hubuser:{PASSWORD}-hub")),
            b64(&format!("local:{PASSWORD}:with-colon")),
        );
        let (_dir, store, logins) = setup(Some(&config));
        let got = |h: &str| {
            logins
                .credentials_for(h)
                .unwrap()
                .map(|(u, t)| (u, t.expose().to_owned()))
        };
        assert_eq!(
            got("docker.io"),
            Some(("hubuser".into(), format!("{PASSWORD}-hub")))
        );
        assert_eq!(
            got("ghcr.io"),
            Some(("gh-user".into(), format!("{PASSWORD}-gh")))
        );
        assert_eq!(
            got("myregistry.azurecr.io"),
            Some((IDENTITY_TOKEN_USERNAME.into(), format!("{PASSWORD}-id")))
        );
        assert_eq!(
            got("registry.example.com:5000"),
            Some(("local".into(), format!("{PASSWORD}:with-colon")))
        );
        assert_eq!(got("quay.io"), None);
        assert_eq!(got("123.dkr.ecr.us-east-1.amazonaws.com"), None);
        assert_eq!(got("broken.example"), None);
        assert_eq!(got("unknown.example"), None);

        let list = logins.list().unwrap();
        let rows: Vec<_> = list
            .iter()
            .map(|v| {
                (
                    v.host.as_str(),
                    v.username.as_str(),
                    v.source,
                    v.note.as_deref(),
                )
            })
            .collect();
        use RegistryLoginSource::DockerConfig as D;
        assert_eq!(
            rows,
            vec![
                (
                    "123.dkr.ecr.us-east-1.amazonaws.com",
                    "",
                    D,
                    Some("managed by docker-credential-ecr-login, not read")
                ),
                ("docker.io", "hubuser", D, None),
                ("ghcr.io", "gh-user", D, None),
                ("myregistry.azurecr.io", IDENTITY_TOKEN_USERNAME, D, None),
                (
                    "quay.io",
                    "",
                    D,
                    Some("managed by docker-credential-desktop, not read")
                ),
                ("registry.example.com:5000", "local", D, None),
            ]
        );
        let shown = format!("{list:?} {}", serde_json::to_string(&list).unwrap());
        assert!(!shown.contains(PASSWORD), "{shown}");
        assert!(store.is_empty(), "reading Docker's file stores nothing");
    }

    #[test]
    fn berth_login_wins_over_docker_config() {
        let config = format!(
            r#"{{"auths":{{"ghcr.io":{{"auth":"{}"}}}}}}"#,
            b64("docker-user:docker-pass")
        );
        let (dir, _store, logins) = setup(Some(&config));
        let docker_file = dir.path().join("docker/config.json");
        let before = std::fs::read(&docker_file).unwrap();
        logins
            .login("GHCR.io", "berth-user", &Token::new(PASSWORD))
            .unwrap();
        let (u, p) = logins.credentials_for("ghcr.io").unwrap().unwrap();
        assert_eq!((u.as_str(), p.expose()), ("berth-user", PASSWORD));
        let list = logins.list().unwrap();
        assert_eq!(list.len(), 1);
        assert_eq!(list[0].source, RegistryLoginSource::Berth);
        assert_eq!(list[0].username, "berth-user");
        // After logout Docker's login shows through again; its file never changes.
        assert!(logins.logout("ghcr.io").unwrap());
        assert_eq!(
            logins.credentials_for("ghcr.io").unwrap().unwrap().0,
            "docker-user"
        );
        assert_eq!(std::fs::read(&docker_file).unwrap(), before);
    }

    #[test]
    fn unreadable_docker_config_is_ignored_without_its_content() {
        let (_dir, _store, logins) = setup(Some(&format!("{{\"auths\": {PASSWORD}")));
        assert!(logins.list().unwrap().is_empty());
        assert_eq!(logins.credentials_for("docker.io").unwrap(), None);
    }

    #[test]
    fn a_foreign_keychain_entry_is_reported_without_its_content() {
        let (_dir, store, logins) = setup(None);
        store
            .set(
                SERVICE,
                "registry:ghcr.io",
                &Token::new(format!("\"{PASSWORD}\"")),
            )
            .unwrap();
        let e = logins.credentials_for("ghcr.io").unwrap_err();
        assert_eq!(e.code(), "keychain.failed");
        assert!(!format!("{e} {e:?}").contains(PASSWORD));
    }

    #[test]
    fn debug_never_shows_secrets() {
        let (_dir, _store, logins) = setup(Some(&format!(
            r#"{{"auths":{{"ghcr.io":{{"auth":"{}"}}}}}}"#,
            b64(&format!("u:{PASSWORD}"))
        )));
        logins
            .login("quay.io", "alice", &Token::new(PASSWORD))
            .unwrap();
        let entries = logins.docker_entries();
        let creds = logins.credentials_for("quay.io").unwrap();
        let shown = format!("{logins:?} {entries:?} {creds:?}");
        assert!(!shown.contains(PASSWORD), "{shown}");
        assert!(shown.contains("<redacted>"));
    }
}
