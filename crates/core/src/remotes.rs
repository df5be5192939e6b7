//! Remote endpoints (library servers such as Sylabs Cloud or Hinkskalle), kept in
//! `remotes.json` in Berth's configuration directory. Their access tokens are never in
//! that file: they live in the system keychain (see [`crate::credentials`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::credentials::{remote_account, CredentialStore, Token, SERVICE};
use crate::{atomic_file, AppDirs, Error, Result};

/// Longest remote name accepted.
pub const MAX_NAME_LEN: usize = 64;

/// A remote endpoint.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct Remote {
    /// Unique name (letters, digits, `-`, `_`, `.`).
    pub name: String,
    /// Normalised address without scheme: `host[:port][/path]`, host in lower case, no
    /// trailing slash (as Apptainer stores it). See [`Remote::base_url`].
    pub uri: String,
    /// Talk plain http instead of https (only when chosen explicitly).
    pub insecure_http: bool,
    /// A PEM file of extra CA certificates to trust for this remote.
    pub ca_file: Option<PathBuf>,
    /// An http(s) or socks5 proxy URL for this remote.
    pub proxy: Option<String>,
    /// Whether this is the default remote.
    pub is_default: bool,
}

impl Remote {
    /// `https://<uri>`, or `http://<uri>` for an insecure remote.
    pub fn base_url(&self) -> String {
        let scheme = if self.insecure_http { "http" } else { "https" };
        format!("{scheme}://{}", self.uri)
    }
}

/// Choices for [`Remotes::add`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct AddOptions {
    /// Allow plain http: needed for an `http://` address, and makes a bare host use http.
    /// Ignored for an `https://` address.
    #[serde(default)]
    pub insecure_http: bool,
    /// Extra CA certificates (an absolute path to an existing PEM file).
    #[serde(default)]
    pub ca_file: Option<PathBuf>,
    /// Proxy URL (`http://`, `https://`, `socks5://`, `socks5h://`), without credentials.
    #[serde(default)]
    pub proxy: Option<String>,
    /// `Some(true)`: make it the default; `Some(false)`: never; `None`: only when there is
    /// no default yet.
    #[serde(default)]
    pub make_default: Option<bool>,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoreFile {
    #[serde(default = "format_version")]
    version: u32,
    #[serde(default)]
    default: Option<String>,
    #[serde(default)]
    remotes: Vec<StoredRemote>,
}

fn format_version() -> u32 {
    1
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StoredRemote {
    name: String,
    uri: String,
    #[serde(default)]
    insecure_http: bool,
    #[serde(default)]
    ca_file: Option<PathBuf>,
    #[serde(default)]
    proxy: Option<String>,
}

impl StoreFile {
    fn view(&self, r: &StoredRemote) -> Remote {
        Remote {
            name: r.name.clone(),
            uri: r.uri.clone(),
            insecure_http: r.insecure_http,
            ca_file: r.ca_file.clone(),
            proxy: r.proxy.clone(),
            is_default: self.default.as_deref() == Some(r.name.as_str()),
        }
    }

    fn find(&self, name: &str) -> Result<&StoredRemote> {
        self.remotes
            .iter()
            .find(|r| r.name == name)
            .ok_or_else(|| Error::RemoteNotFound {
                name: name.to_owned(),
            })
    }
}

/// The configured remotes, and their tokens in a [`CredentialStore`].
pub struct Remotes {
    path: PathBuf,
    creds: Arc<dyn CredentialStore>,
    lock: Mutex<()>,
}

impl std::fmt::Debug for Remotes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Remotes").field("path", &self.path).finish()
    }
}

impl Remotes {
    /// The remotes in `dirs` (`remotes.json`), tokens in `creds` (normally
    /// [`crate::credentials::KeychainStore`]).
    pub fn new(dirs: &AppDirs, creds: Arc<dyn CredentialStore>) -> Self {
        Self {
            path: dirs.config().join("remotes.json"),
            creds,
            lock: Mutex::new(()),
        }
    }

    /// The file the remotes are kept in.
    pub fn path(&self) -> &Path {
        &self.path
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

    /// All remotes, sorted by name (case-insensitively).
    pub fn list(&self) -> Result<Vec<Remote>> {
        let file = self.load()?;
        let mut out: Vec<Remote> = file.remotes.iter().map(|r| file.view(r)).collect();
        out.sort_by_key(|r| (r.name.to_lowercase(), r.name.clone()));
        Ok(out)
    }

    /// The remote called `name` (`remote.not_found` if none).
    pub fn get(&self, name: &str) -> Result<Remote> {
        let file = self.load()?;
        let r = file.find(name)?;
        Ok(file.view(r))
    }

    /// The default remote, if one is set.
    pub fn default(&self) -> Result<Option<Remote>> {
        let file = self.load()?;
        Ok(file
            .default
            .as_deref()
            .and_then(|d| file.remotes.iter().find(|r| r.name == d))
            .map(|r| file.view(r)))
    }

    /// Adds a remote. The name must be new (compared without regard to case) and valid;
    /// the address is normalised (see [`normalise_uri`]).
    pub fn add(&self, name: &str, uri: &str, opts: AddOptions) -> Result<Remote> {
        validate_name(name)?;
        let (uri, insecure_http) = normalise_uri(uri, opts.insecure_http)?;
        let ca_file = opts.ca_file.map(check_ca_file).transpose()?;
        let proxy = opts.proxy.as_deref().map(normalise_proxy).transpose()?;

        let _guard = self.guard();
        let mut file = self.load()?;
        if file
            .remotes
            .iter()
            .any(|r| r.name.eq_ignore_ascii_case(name))
        {
            return Err(Error::RemoteExists {
                name: name.to_owned(),
            });
        }
        file.remotes.push(StoredRemote {
            name: name.to_owned(),
            uri,
            insecure_http,
            ca_file,
            proxy,
        });
        let has_default = file
            .default
            .as_deref()
            .is_some_and(|d| file.remotes.iter().any(|r| r.name == d));
        if opts.make_default.unwrap_or(!has_default) {
            file.default = Some(name.to_owned());
        }
        self.save(&file)?;
        let r = file.find(name)?;
        Ok(file.view(r))
    }

    /// Makes `name` the default remote.
    pub fn use_default(&self, name: &str) -> Result<Remote> {
        let _guard = self.guard();
        let mut file = self.load()?;
        file.find(name)?;
        file.default = Some(name.to_owned());
        self.save(&file)?;
        let r = file.find(name)?;
        Ok(file.view(r))
    }

    /// Removes `name` and deletes its token from the keychain. When the keychain cannot
    /// be reached the remote is kept (so no token is left behind without its remote).
    /// If it was the default, there is no default afterwards.
    pub fn remove(&self, name: &str) -> Result<()> {
        let _guard = self.guard();
        let mut file = self.load()?;
        file.find(name)?;
        self.creds.delete(SERVICE, &remote_account(name))?;
        file.remotes.retain(|r| r.name != name);
        if file.default.as_deref() == Some(name) {
            file.default = None;
        }
        self.save(&file)
    }

    /// Drops `name` from the file without touching the keychain (undoing an import).
    pub(crate) fn forget(&self, name: &str) -> Result<()> {
        let _guard = self.guard();
        let mut file = self.load()?;
        file.remotes.retain(|r| r.name != name);
        if file.default.as_deref() == Some(name) {
            file.default = None;
        }
        self.save(&file)
    }

    /// Stores `token` for the remote `name` in the keychain (after the caller has checked
    /// it with the server). Surrounding white space is dropped.
    pub fn set_token(&self, name: &str, token: &Token) -> Result<()> {
        let token = clean_token(token)?;
        let _guard = self.guard();
        self.load()?.find(name)?;
        self.creds.set(SERVICE, &remote_account(name), &token)
    }

    /// The token of the remote `name`, if one is stored.
    pub fn token(&self, name: &str) -> Result<Option<Token>> {
        self.load()?.find(name)?;
        self.creds.get(SERVICE, &remote_account(name))
    }

    /// Whether a token is stored for the remote `name`.
    pub fn has_token(&self, name: &str) -> Result<bool> {
        Ok(self.token(name)?.is_some())
    }

    /// Logs out: deletes the token of the remote `name`; `Ok(true)` if there was one.
    pub fn clear_token(&self, name: &str) -> Result<bool> {
        let _guard = self.guard();
        self.load()?.find(name)?;
        self.creds.delete(SERVICE, &remote_account(name))
    }
}

fn clean_token(token: &Token) -> Result<Token> {
    let t = token.expose().trim();
    if t.is_empty() {
        return Err(Error::InvalidToken {
            reason: "it is empty".to_owned(),
        });
    }
    if t.chars().any(char::is_control) {
        return Err(Error::InvalidToken {
            reason: "it contains line breaks or control characters".to_owned(),
        });
    }
    Ok(Token::new(t))
}

/// Checks a remote name: 1 to [`MAX_NAME_LEN`] ASCII letters, digits, `-`, `_`, `.`,
/// not starting with `-` or `.`.
pub fn validate_name(name: &str) -> Result<()> {
    let bad = |reason: &str| {
        Err(Error::InvalidRemoteName {
            name: name.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if name.is_empty() {
        return bad("it is empty");
    }
    if name.len() > MAX_NAME_LEN {
        return bad(&format!("it is longer than {MAX_NAME_LEN} characters"));
    }
    if let Some(c) = name
        .chars()
        .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
    {
        return bad(&format!("{c:?} is not allowed"));
    }
    if name.starts_with(['-', '.']) {
        return bad("it starts with '-' or '.'");
    }
    Ok(())
}

/// Normalises a remote address as Apptainer stores it: `host[:port][/path]` with no
/// scheme and no trailing slash. Accepts `host`, `host:port`, `https://…` and, only with
/// `insecure_http`, `http://…`. Returns the address and whether it uses plain http
/// (`https://` forces false, `http://` true, a bare host follows `insecure_http`).
pub fn normalise_uri(input: &str, insecure_http: bool) -> Result<(String, bool)> {
    let given = input.trim();
    let bad = |reason: &str| {
        Err(Error::InvalidRemoteUri {
            uri: given.to_owned(),
            reason: reason.to_owned(),
        })
    };
    if given.is_empty() {
        return bad("it is empty");
    }
    let (text, insecure) = match given.split_once("://") {
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("https") => (given.to_owned(), false),
        Some((scheme, _)) if scheme.eq_ignore_ascii_case("http") => {
            if !insecure_http {
                return Err(Error::InsecureRemoteUri {
                    uri: given.to_owned(),
                });
            }
            (given.to_owned(), true)
        }
        Some((scheme, _)) => return bad(&format!("the scheme {scheme:?} is not http(s)")),
        None => {
            let scheme = if insecure_http { "http" } else { "https" };
            (format!("{scheme}://{given}"), insecure_http)
        }
    };
    let url = match url::Url::parse(&text) {
        Ok(u) => u,
        Err(e) => return bad(&e.to_string()),
    };
    if !url.username().is_empty() || url.password().is_some() {
        return bad("it must not contain a user name or password");
    }
    if url.query().is_some() || url.fragment().is_some() {
        return bad("it must not contain '?' or '#'");
    }
    let Some(host) = url.host_str().filter(|h| !h.is_empty()) else {
        return bad("it has no host name");
    };
    let mut out = host.to_owned();
    if let Some(port) = url.port() {
        out.push_str(&format!(":{port}"));
    }
    let path = url.path().trim_end_matches('/');
    out.push_str(path);
    Ok((out, insecure))
}

fn normalise_proxy(input: &str) -> Result<String> {
    let given = input.trim();
    let bad = |reason: &str| {
        Err(Error::InvalidRemoteUri {
            uri: given.to_owned(),
            reason: format!("as a proxy: {reason}"),
        })
    };
    let url = match url::Url::parse(given) {
        Ok(u) => u,
        Err(e) => return bad(&e.to_string()),
    };
    if !matches!(url.scheme(), "http" | "https" | "socks5" | "socks5h") {
        return bad("use http://, https://, socks5:// or socks5h://");
    }
    if !url.username().is_empty() || url.password().is_some() {
        return bad("proxy credentials are not supported (they would be stored in plain text)");
    }
    if url.host_str().is_none_or(str::is_empty) {
        return bad("it has no host name");
    }
    Ok(url.to_string().trim_end_matches('/').to_owned())
}

fn check_ca_file(path: PathBuf) -> Result<PathBuf> {
    if path.to_str().is_none() {
        return Err(Error::UnsupportedPath { path });
    }
    if !path.is_absolute() {
        return Err(Error::InvalidRemoteUri {
            uri: path.display().to_string(),
            reason: "the CA file must be given as an absolute path".to_owned(),
        });
    }
    let meta = std::fs::metadata(&path).map_err(|e| Error::io(&path, e))?;
    if !meta.is_file() {
        return Err(Error::NotARegularFile { path });
    }
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::credentials::MemoryStore;

    fn store() -> (tempfile::TempDir, Arc<MemoryStore>, Remotes) {
        let dir = tempfile::tempdir().unwrap();
        let creds = Arc::new(MemoryStore::new());
        let remotes = Remotes::new(&AppDirs::at(dir.path().to_path_buf()), creds.clone());
        (dir, creds, remotes)
    }

    #[test]
    fn names() {
        for ok in ["a", "my-cloud", "Sylabs_Cloud.2", &"x".repeat(64)] {
            validate_name(ok).unwrap();
        }
        for bad in [
            "",
            "-x",
            ".x",
            "a b",
            "a/b",
            "é",
            "a:b",
            "x\n",
            &"x".repeat(65),
        ] {
            assert_eq!(
                validate_name(bad).unwrap_err().code(),
                "remote.invalid_name",
                "{bad:?}"
            );
        }
    }

    #[test]
    fn uris_are_normalised() {
        let n = |s: &str, i: bool| normalise_uri(s, i).unwrap();
        assert_eq!(
            n("cloud.example.com", false),
            ("cloud.example.com".into(), false)
        );
        assert_eq!(
            n(" https://Cloud.Example.com/ ", false),
            ("cloud.example.com".into(), false)
        );
        assert_eq!(
            n("https://cloud.example.com", true),
            ("cloud.example.com".into(), false)
        );
        assert_eq!(n("localhost:7660", false), ("localhost:7660".into(), false));
        assert_eq!(n("127.0.0.1:7660", true), ("127.0.0.1:7660".into(), true));
        assert_eq!(
            n("http://127.0.0.1:7660/", true),
            ("127.0.0.1:7660".into(), true)
        );
        assert_eq!(
            n("https://h.example:443/sub/", false),
            ("h.example/sub".into(), false)
        );
        assert_eq!(
            n("HTTPS://h.example:8443", false),
            ("h.example:8443".into(), false)
        );
        assert_eq!(n("[::1]:8080", false), ("[::1]:8080".into(), false));
    }

    #[test]
    fn bad_uris() {
        let code = |s: &str, i: bool| normalise_uri(s, i).unwrap_err().code();
        assert_eq!(code("http://h.example", false), "remote.insecure_uri");
        assert_eq!(code("", false), "remote.invalid_uri");
        assert_eq!(code("ftp://h.example", false), "remote.invalid_uri");
        assert_eq!(code("https://u:p@h.example", false), "remote.invalid_uri");
        assert_eq!(code("https://h.example/?q=1", false), "remote.invalid_uri");
        assert_eq!(code("https://", false), "remote.invalid_uri");
        assert_eq!(code("h.example:notaport", false), "remote.invalid_uri");
    }

    #[test]
    fn add_list_default_remove() {
        let (_d, creds, remotes) = store();
        assert!(remotes.list().unwrap().is_empty());
        assert_eq!(remotes.default().unwrap(), None);

        let a = remotes
            .add("alpha", "https://alpha.example/", AddOptions::default())
            .unwrap();
        assert!(a.is_default, "the first remote becomes the default");
        assert_eq!(a.base_url(), "https://alpha.example");
        let b = remotes
            .add(
                "Beta",
                "127.0.0.1:7660",
                AddOptions {
                    insecure_http: true,
                    proxy: Some("socks5h://127.0.0.1:1080".into()),
                    ..AddOptions::default()
                },
            )
            .unwrap();
        assert!(!b.is_default);
        assert_eq!(b.base_url(), "http://127.0.0.1:7660");
        assert_eq!(b.proxy.as_deref(), Some("socks5h://127.0.0.1:1080"));

        let e = remotes
            .add("BETA", "other.example", AddOptions::default())
            .unwrap_err();
        assert_eq!(e.code(), "remote.exists");

        let names: Vec<_> = remotes
            .list()
            .unwrap()
            .into_iter()
            .map(|r| r.name)
            .collect();
        assert_eq!(names, ["alpha", "Beta"]);

        remotes.use_default("Beta").unwrap();
        assert_eq!(remotes.default().unwrap().unwrap().name, "Beta");
        assert!(!remotes.get("alpha").unwrap().is_default);
        assert_eq!(
            remotes.use_default("nope").unwrap_err().code(),
            "remote.not_found"
        );

        remotes
            .set_token("Beta", &Token::new("  tok-123\n"))
            .unwrap();
        assert_eq!(remotes.token("Beta").unwrap().unwrap().expose(), "tok-123");
        assert_eq!(creds.len(), 1);
        remotes.remove("Beta").unwrap();
        assert!(creds.is_empty(), "remove deletes the token");
        assert_eq!(remotes.default().unwrap(), None);
        assert_eq!(remotes.get("Beta").unwrap_err().code(), "remote.not_found");

        // A fresh store over the same directory sees the same state.
        let again = Remotes::new(
            &AppDirs::at(_d.path().to_path_buf()),
            Arc::new(MemoryStore::new()),
        );
        assert_eq!(again.list().unwrap(), remotes.list().unwrap());
    }

    #[test]
    fn make_default_choices() {
        let (_d, _c, remotes) = store();
        let never = AddOptions {
            make_default: Some(false),
            ..AddOptions::default()
        };
        assert!(
            !remotes
                .add("a", "a.example", never.clone())
                .unwrap()
                .is_default
        );
        assert!(
            remotes
                .add("b", "b.example", AddOptions::default())
                .unwrap()
                .is_default
        );
        let always = AddOptions {
            make_default: Some(true),
            ..AddOptions::default()
        };
        assert!(remotes.add("c", "c.example", always).unwrap().is_default);
        assert_eq!(remotes.default().unwrap().unwrap().name, "c");
    }

    #[test]
    fn tokens_never_reach_the_config_file() {
        let (d, _c, remotes) = store();
        remotes
            .add("a", "a.example", AddOptions::default())
            .unwrap();
        remotes
            .set_token("a", &Token::new("very-secret-token"))
            .unwrap();
        let text = std::fs::read_to_string(remotes.path()).unwrap();
        assert!(!text.contains("very-secret-token"));
        assert!(text.contains("a.example"));
        assert!(d.path().join("remotes.json").is_file());
    }

    #[test]
    fn token_rules() {
        let (_d, _c, remotes) = store();
        assert_eq!(
            remotes
                .set_token("none", &Token::new("t"))
                .unwrap_err()
                .code(),
            "remote.not_found"
        );
        remotes
            .add("a", "a.example", AddOptions::default())
            .unwrap();
        for bad in ["", "   ", "a\nb"] {
            let e = remotes.set_token("a", &Token::new(bad)).unwrap_err();
            assert_eq!(e.code(), "remote.invalid_token");
        }
        assert!(!remotes.has_token("a").unwrap());
        remotes.set_token("a", &Token::new("t")).unwrap();
        assert!(remotes.has_token("a").unwrap());
        assert!(remotes.clear_token("a").unwrap());
        assert!(!remotes.clear_token("a").unwrap());
    }

    #[test]
    fn keychain_down_keeps_the_remote_and_says_so() {
        let dir = tempfile::tempdir().unwrap();
        let remotes = Remotes::new(
            &AppDirs::at(dir.path().to_path_buf()),
            Arc::new(MemoryStore::unavailable()),
        );
        remotes
            .add("a", "a.example", AddOptions::default())
            .unwrap();
        let e = remotes
            .set_token("a", &Token::new("the-token"))
            .unwrap_err();
        assert_eq!(e.code(), "keychain.unavailable");
        assert!(!format!("{e} {e:?}").contains("the-token"));
        assert_eq!(
            remotes.remove("a").unwrap_err().code(),
            "keychain.unavailable"
        );
        assert_eq!(remotes.list().unwrap().len(), 1);
    }

    #[test]
    fn unparsable_file_is_an_error_and_kept() {
        let (_d, _c, remotes) = store();
        std::fs::write(remotes.path(), b"{broken").unwrap();
        assert_eq!(remotes.list().unwrap_err().code(), "state.corrupt");
        assert_eq!(
            remotes
                .add("a", "a.example", AddOptions::default())
                .unwrap_err()
                .code(),
            "state.corrupt"
        );
        assert_eq!(std::fs::read(remotes.path()).unwrap(), b"{broken");
    }

    #[test]
    fn options_are_checked() {
        let (d, _c, remotes) = store();
        let with = |ca: Option<PathBuf>, proxy: Option<&str>| AddOptions {
            ca_file: ca,
            proxy: proxy.map(str::to_owned),
            ..AddOptions::default()
        };
        let code = |o| remotes.add("x", "x.example", o).unwrap_err().code();
        assert_eq!(
            code(with(Some("rel.pem".into()), None)),
            "remote.invalid_uri"
        );
        assert_eq!(
            code(with(Some(d.path().join("missing.pem")), None)),
            "io.not_found"
        );
        assert_eq!(
            code(with(Some(d.path().to_path_buf()), None)),
            "io.not_a_file"
        );
        assert_eq!(
            code(with(None, Some("ftp://p.example"))),
            "remote.invalid_uri"
        );
        assert_eq!(
            code(with(None, Some("http://u:pw@p.example"))),
            "remote.invalid_uri"
        );
        let pem = d.path().join("ca.pem");
        std::fs::write(&pem, b"-----BEGIN CERTIFICATE-----\n").unwrap();
        let r = remotes
            .add(
                "x",
                "x.example",
                with(Some(pem.clone()), Some("http://p.example:3128/")),
            )
            .unwrap();
        assert_eq!(r.ca_file, Some(pem));
        assert_eq!(r.proxy.as_deref(), Some("http://p.example:3128"));
    }
}
