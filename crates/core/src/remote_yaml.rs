//! Importing the remotes of Apptainer and SingularityCE from their `remote.yaml` files.
//!
//! Berth only ever *reads* these files: it never writes, fixes or re-formats them (the
//! CLIs reject unknown keys, and the user's file holds plaintext tokens). Reading is lenient
//! (unknown keys are ignored) so that newer or older CLI versions still import.
//!
//! Tokens found in the files are copied into the system keychain only when the person asks
//! for it ([`import`] with `move_tokens`); they are never written to Berth's own files.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::credentials::Token;
use crate::remotes::{normalise_uri, validate_name, AddOptions, Remote, Remotes};
use crate::{ApiError, Error, Result};

/// Largest `remote.yaml` Berth reads (real ones are a few hundred bytes).
const MAX_FILE_SIZE: u64 = 1 << 20;

/// A parsed `remote.yaml`. Secrets are [`Token`]s and never print.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoteYaml {
    /// The default remote's name (`Active`; `DefaultRemote` is accepted as an alias).
    #[serde(default, alias = "DefaultRemote")]
    pub active: Option<String>,
    /// Remote endpoints by name.
    #[serde(default)]
    pub remotes: Option<BTreeMap<String, YamlEndpoint>>,
    /// Keyserver and registry logins.
    #[serde(default)]
    pub credentials: Option<Vec<YamlCredential>>,
}

/// One entry of `Remotes`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct YamlEndpoint {
    /// `host[/path]`, normally without scheme.
    #[serde(rename = "URI", default)]
    pub uri: String,
    /// The access token, in plain text in the file.
    #[serde(default)]
    pub token: Option<Token>,
    /// A remote defined by the administrator (system file).
    #[serde(default)]
    pub system: bool,
    /// The administrator forces this remote as the default.
    #[serde(default)]
    pub exclusive: bool,
    /// Discovery over plain http.
    #[serde(default)]
    pub insecure: bool,
    /// Keyservers of this remote, in order.
    #[serde(default)]
    pub keyservers: Option<Vec<YamlKeyserver>>,
}

/// One entry of `Remotes.<name>.Keyservers`.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct YamlKeyserver {
    /// Keyserver URL.
    #[serde(rename = "URI", default)]
    pub uri: String,
    /// The discovered keyserver was "removed".
    #[serde(default)]
    pub skip: bool,
    /// Added with `keyserver add`.
    #[serde(default)]
    pub external: bool,
    /// TLS verification off.
    #[serde(default)]
    pub insecure: bool,
}

/// One entry of `Credentials`: a keyserver login (with an `Authorization` value) or a
/// `docker://` / `oras://` registry (whose secret is in a Docker `config.json`, not here).
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct YamlCredential {
    /// `https://keys…`, `docker://host`, `oras://host`.
    #[serde(rename = "URI", default)]
    pub uri: String,
    /// A full `Authorization` header value (`Basic …` / `Bearer …`).
    #[serde(default)]
    pub auth: Option<Token>,
    /// TLS verification off.
    #[serde(default)]
    pub insecure: bool,
}

/// A `remote.yaml` to look at, and whether it is a system-wide one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct SourceFile {
    /// The file.
    pub path: PathBuf,
    /// An administrator's file (`/etc/...`) rather than the user's own.
    pub system: bool,
}

/// The places Apptainer and SingularityCE keep `remote.yaml`, most important first:
/// the user's Apptainer file (`$APPTAINER_CONFIGDIR`, else `$SINGULARITY_CONFIGDIR`, else
/// `~/.apptainer`), the user's SingularityCE file (`~/.singularity`), then the system files.
pub fn default_sources() -> Vec<SourceFile> {
    let env_dir = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    let home = env_dir("HOME")
        .or_else(|| directories::BaseDirs::new().map(|b| b.home_dir().to_path_buf()));
    let mut out = Vec::new();
    let user = |path: PathBuf| SourceFile {
        path,
        system: false,
    };
    let system = |p: &str| SourceFile {
        path: PathBuf::from(p),
        system: true,
    };
    if let Some(dir) = env_dir("APPTAINER_CONFIGDIR").or_else(|| env_dir("SINGULARITY_CONFIGDIR")) {
        out.push(user(dir.join("remote.yaml")));
    } else if let Some(h) = &home {
        out.push(user(h.join(".apptainer/remote.yaml")));
    }
    if let Some(h) = &home {
        out.push(user(h.join(".singularity/remote.yaml")));
    }
    out.extend([
        system("/etc/apptainer/remote.yaml"),
        system("/usr/local/etc/apptainer/remote.yaml"),
        system("/etc/singularity/remote.yaml"),
        system("/usr/local/etc/singularity/remote.yaml"),
    ]);
    out
}

/// Parses `remote.yaml` text. `path` only names the file in errors. Error messages leave
/// out every quoted value from the parser, so a token can never end up in one.
pub fn parse_str(text: &str, path: &Path) -> Result<RemoteYaml> {
    serde_yaml::from_str::<Option<RemoteYaml>>(text)
        .map(Option::unwrap_or_default)
        .map_err(|e| Error::RemoteYaml {
            path: path.to_path_buf(),
            reason: redact_quoted(&e.to_string()),
        })
}

/// Reads and parses a `remote.yaml`; `Ok(None)` when the file does not exist.
pub fn parse_file(path: &Path) -> Result<Option<RemoteYaml>> {
    use std::io::Read;
    let file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io(path, e)),
    };
    let meta = file.metadata().map_err(|e| Error::io(path, e))?;
    if !meta.is_file() {
        return Err(Error::NotARegularFile {
            path: path.to_path_buf(),
        });
    }
    let mut text = String::new();
    file.take(MAX_FILE_SIZE + 1)
        .read_to_string(&mut text)
        .map_err(|e| Error::io(path, e))?;
    if text.len() as u64 > MAX_FILE_SIZE {
        return Err(Error::RemoteYaml {
            path: path.to_path_buf(),
            reason: "the file is larger than 1 MiB".to_owned(),
        });
    }
    parse_str(&text, path).map(Some)
}

fn redact_quoted(msg: &str) -> String {
    let mut out = String::with_capacity(msg.len());
    let mut inside = false;
    for c in msg.chars() {
        if c == '"' {
            if inside {
                out.push_str("…\"");
            } else {
                out.push('"');
            }
            inside = !inside;
        } else if !inside {
            out.push(c);
        }
    }
    out
}

/// A remote found in a `remote.yaml`, as offered for import. It carries no token, only
/// whether there is one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportCandidate {
    /// Its name in the file.
    pub name: String,
    /// Its address, normalised as Berth stores it (as written when it cannot be used).
    pub uri: String,
    /// Discovery over plain http (`Insecure: true`).
    pub insecure: bool,
    /// Whether the file holds a token for it.
    pub has_token: bool,
    /// The file it comes from.
    pub source_file: PathBuf,
    /// A Berth remote with this name (compared without regard to case) already exists.
    pub conflicts_with_existing: bool,
    /// An administrator's remote (system file, or `System: true`).
    pub system: bool,
    /// The default remote of its file (`Active`).
    pub active: bool,
    /// Why it cannot be imported as it is (bad name or address), if so.
    pub problem: Option<ApiError>,
}

/// What [`import`] did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportReport {
    /// Remotes added.
    pub imported: Vec<ImportedRemote>,
    /// Candidates not imported, and why.
    pub failed: Vec<ImportFailure>,
}

/// A remote added by [`import`].
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportedRemote {
    /// The new remote.
    pub remote: Remote,
    /// Whether its token was copied into the keychain.
    pub token_stored: bool,
}

/// A candidate [`import`] did not add.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct ImportFailure {
    /// The candidate's name.
    pub name: String,
    /// Its file.
    pub source_file: PathBuf,
    /// Why.
    pub error: ApiError,
}

fn check_entry(name: &str, ep: &YamlEndpoint) -> Result<(String, bool)> {
    validate_name(name)?;
    normalise_uri(&ep.uri, ep.insecure)
}

fn has_token(ep: &YamlEndpoint) -> bool {
    ep.token
        .as_ref()
        .is_some_and(|t| !t.expose().trim().is_empty())
}

/// The remotes in `files` (most important first; missing files are skipped). A name
/// found in several files is offered once, from the first file that has it (user files
/// win over system ones, as in Apptainer). A file that cannot be read or parsed is an error.
pub fn import_preview(remotes: &Remotes, files: &[SourceFile]) -> Result<Vec<ImportCandidate>> {
    let existing: Vec<String> = remotes
        .list()?
        .into_iter()
        .map(|r| r.name.to_lowercase())
        .collect();
    let mut seen = std::collections::HashSet::new();
    let mut out = Vec::new();
    for src in files {
        let Some(yaml) = parse_file(&src.path)? else {
            continue;
        };
        let active = yaml.active.clone().unwrap_or_default();
        for (name, ep) in yaml.remotes.iter().flatten() {
            if !seen.insert(name.clone()) {
                continue;
            }
            let (uri, insecure, problem) = match check_entry(name, ep) {
                Ok((uri, insecure)) => (uri, insecure, None),
                Err(e) => (ep.uri.clone(), ep.insecure, Some(ApiError::from(&e))),
            };
            out.push(ImportCandidate {
                name: name.clone(),
                uri,
                insecure,
                has_token: has_token(ep),
                source_file: src.path.clone(),
                conflicts_with_existing: existing.contains(&name.to_lowercase()),
                system: src.system || ep.system,
                active: *name == active,
                problem,
            });
        }
    }
    Ok(out)
}

/// Adds the `selected` candidates (as returned by [`import_preview`]) to `remotes`,
/// reading each again from its file. With `move_tokens`, a remote's token is copied into
/// the keychain; if that fails the remote is not added. Without it, no token is stored
/// (log in afterwards). The YAML files are never modified. When Berth has no default
/// remote afterwards, the imported one that was `Active` in its file (else the first
/// imported) becomes the default.
pub fn import(
    remotes: &Remotes,
    selected: &[ImportCandidate],
    move_tokens: bool,
) -> Result<ImportReport> {
    let mut files: HashMap<PathBuf, RemoteYaml> = HashMap::new();
    let mut report = ImportReport {
        imported: Vec::new(),
        failed: Vec::new(),
    };
    let mut default_pick: Option<String> = None;
    for cand in selected {
        let fail = |error: Error| ImportFailure {
            name: cand.name.clone(),
            source_file: cand.source_file.clone(),
            error: ApiError::from(&error),
        };
        if !files.contains_key(&cand.source_file) {
            match parse_file(&cand.source_file) {
                Ok(Some(y)) => {
                    files.insert(cand.source_file.clone(), y);
                }
                Ok(None) => {
                    report.failed.push(fail(Error::io(
                        &cand.source_file,
                        std::io::ErrorKind::NotFound.into(),
                    )));
                    continue;
                }
                Err(e) => {
                    report.failed.push(fail(e));
                    continue;
                }
            }
        }
        let yaml = &files[&cand.source_file];
        let Some(ep) = yaml.remotes.as_ref().and_then(|m| m.get(&cand.name)) else {
            report.failed.push(fail(Error::RemoteNotFound {
                name: cand.name.clone(),
            }));
            continue;
        };
        let opts = AddOptions {
            insecure_http: ep.insecure,
            make_default: Some(false),
            ..AddOptions::default()
        };
        let added = match remotes.add(&cand.name, &ep.uri, opts) {
            Ok(r) => r,
            Err(e) => {
                report.failed.push(fail(e));
                continue;
            }
        };
        let mut token_stored = false;
        if move_tokens && has_token(ep) {
            if let Some(token) = &ep.token {
                if let Err(e) = remotes.set_token(&cand.name, token) {
                    // Keep the store as it was: no remote without the token asked for.
                    if let Err(rollback) = remotes.forget(&cand.name) {
                        tracing::warn!("could not undo the import of {}: {rollback}", cand.name);
                    }
                    report.failed.push(fail(e));
                    continue;
                }
                token_stored = true;
            }
        }
        if yaml.active.as_deref() == Some(cand.name.as_str()) && default_pick.is_none() {
            default_pick = Some(cand.name.clone());
        }
        report.imported.push(ImportedRemote {
            remote: added,
            token_stored,
        });
    }
    if remotes.default()?.is_none() {
        let pick = default_pick.or_else(|| report.imported.first().map(|i| i.remote.name.clone()));
        if let Some(name) = pick {
            let chosen = remotes.use_default(&name)?;
            for i in &mut report.imported {
                i.remote.is_default = i.remote.name == chosen.name;
            }
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::credentials::{remote_account, CredentialStore, MemoryStore, SERVICE};
    use crate::AppDirs;

    const USER: &str = r#"
Active: hinkskalle
Remotes:
  DefaultRemote:
    URI: cloud.apptainer.org
    System: true
    Exclusive: false
  hinkskalle:
    URI: 127.0.0.1:7660
    Token: tok-hink-123
    System: false
    Exclusive: false
    Insecure: true
  "bad name":
    URI: x.example
Credentials:
  - URI: https://keys.other.org
    Auth: "Bearer tok-keys-456"
    Insecure: false
  - URI: docker://registry.example.com
    Insecure: false
"#;

    const SYSTEM: &str = r#"
Active: DefaultRemote
Remotes:
  DefaultRemote:
    URI: cloud.apptainer.org
    System: true
    Exclusive: false
  site:
    URI: library.site.example
    System: true
    Exclusive: true
    Keyservers:
      - URI: https://keys.site.example
        Skip: false
        External: false
        Insecure: false
"#;

    fn setup() -> (
        tempfile::TempDir,
        Arc<MemoryStore>,
        Remotes,
        Vec<SourceFile>,
    ) {
        let dir = tempfile::tempdir().unwrap();
        let creds = Arc::new(MemoryStore::new());
        let remotes = Remotes::new(&AppDirs::at(dir.path().join("config")), creds.clone());
        std::fs::write(dir.path().join("user.yaml"), USER).unwrap();
        std::fs::write(dir.path().join("system.yaml"), SYSTEM).unwrap();
        let files = vec![
            SourceFile {
                path: dir.path().join("user.yaml"),
                system: false,
            },
            SourceFile {
                path: dir.path().join("missing.yaml"),
                system: false,
            },
            SourceFile {
                path: dir.path().join("system.yaml"),
                system: true,
            },
        ];
        (dir, creds, remotes, files)
    }

    #[test]
    fn parses_every_field() {
        let y = parse_str(USER, Path::new("u")).unwrap();
        assert_eq!(y.active.as_deref(), Some("hinkskalle"));
        let r = y.remotes.as_ref().unwrap();
        let h = &r["hinkskalle"];
        assert_eq!(h.uri, "127.0.0.1:7660");
        assert!(h.insecure && !h.system && !h.exclusive);
        assert_eq!(h.token.as_ref().unwrap().expose(), "tok-hink-123");
        let creds = y.credentials.as_ref().unwrap();
        assert_eq!(
            creds[0].auth.as_ref().unwrap().expose(),
            "Bearer tok-keys-456"
        );
        assert!(creds[1].auth.is_none());
        let dbg = format!("{y:?}");
        assert!(
            !dbg.contains("tok-hink") && !dbg.contains("tok-keys"),
            "{dbg}"
        );

        let s = parse_str(SYSTEM, Path::new("s")).unwrap();
        let site = &s.remotes.as_ref().unwrap()["site"];
        assert!(site.exclusive && site.system);
        assert_eq!(
            site.keyservers.as_ref().unwrap()[0].uri,
            "https://keys.site.example"
        );

        let legacy = parse_str("DefaultRemote: a\n", Path::new("l")).unwrap();
        assert_eq!(legacy.active.as_deref(), Some("a"));
        assert!(parse_str("", Path::new("e")).unwrap().remotes.is_none());
        assert!(parse_str("# only a comment\n", Path::new("e"))
            .unwrap()
            .active
            .is_none());
    }

    #[test]
    fn parse_errors_never_quote_values() {
        let text = "Remotes:\n  a:\n    URI: h\n    System: \"tok-secret\"\n";
        let e = parse_str(text, Path::new("/x/remote.yaml")).unwrap_err();
        assert_eq!(e.code(), "remote_yaml.invalid");
        let shown = format!("{e} {e:?} {:?}", ApiError::from(&e));
        assert!(!shown.contains("tok-secret"), "{shown}");
        assert!(shown.contains("line 4"), "{shown}");
        let e = parse_str("Remotes:\n  a: \"tok-secret\"\n", Path::new("f")).unwrap_err();
        assert!(!e.to_string().contains("tok-secret"));
    }

    #[test]
    fn preview_lists_candidates_once_user_first() {
        let (_d, _c, remotes, files) = setup();
        remotes
            .add("Site", "other.example", AddOptions::default())
            .unwrap();
        let c = import_preview(&remotes, &files).unwrap();
        let names: Vec<_> = c.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["DefaultRemote", "bad name", "hinkskalle", "site"]);
        let by = |n: &str| c.iter().find(|c| c.name == n).unwrap();
        let h = by("hinkskalle");
        assert_eq!(
            (h.uri.as_str(), h.insecure, h.has_token),
            ("127.0.0.1:7660", true, true)
        );
        assert!(h.active && !h.system && !h.conflicts_with_existing && h.problem.is_none());
        assert_eq!(h.source_file, files[0].path);
        let d = by("DefaultRemote");
        assert_eq!(d.source_file, files[0].path, "the user file wins");
        assert!(d.system && !d.has_token && !d.active);
        let s = by("site");
        assert!(s.system && s.conflicts_with_existing);
        assert_eq!(
            by("bad name").problem.as_ref().unwrap().code,
            "remote.invalid_name"
        );
    }

    #[test]
    fn import_with_and_without_tokens() {
        let (d, creds, remotes, files) = setup();
        let c = import_preview(&remotes, &files).unwrap();
        let pick: Vec<_> = c
            .iter()
            .filter(|c| c.name == "hinkskalle" || c.name == "site")
            .cloned()
            .collect();
        let report = import(&remotes, &pick, false).unwrap();
        assert_eq!(report.imported.len(), 2);
        assert!(report.imported.iter().all(|i| !i.token_stored));
        assert!(creds.is_empty());
        let h = remotes.get("hinkskalle").unwrap();
        assert!(h.is_default, "Active in its file and no default yet");
        assert_eq!(h.base_url(), "http://127.0.0.1:7660");

        remotes.remove("hinkskalle").unwrap();
        let report = import(&remotes, &pick, true).unwrap();
        assert_eq!(report.imported.len(), 1);
        assert!(report.imported[0].token_stored);
        assert_eq!(report.failed.len(), 1);
        assert_eq!(report.failed[0].error.code, "remote.exists");
        assert_eq!(
            creds
                .get(SERVICE, &remote_account("hinkskalle"))
                .unwrap()
                .unwrap()
                .expose(),
            "tok-hink-123"
        );
        // The YAML files are untouched and Berth's files hold no token.
        assert_eq!(std::fs::read_to_string(&files[0].path).unwrap(), USER);
        for entry in std::fs::read_dir(d.path().join("config")).unwrap() {
            let text = std::fs::read_to_string(entry.unwrap().path()).unwrap();
            assert!(!text.contains("tok-hink-123"));
        }
    }

    #[test]
    fn import_rolls_back_when_the_keychain_is_down() {
        let (d, _c, _r, files) = setup();
        let remotes = Remotes::new(
            &AppDirs::at(d.path().join("config2")),
            Arc::new(MemoryStore::unavailable()),
        );
        let c = import_preview(&remotes, &files).unwrap();
        let pick: Vec<_> = c.into_iter().filter(|c| c.name == "hinkskalle").collect();
        let report = import(&remotes, &pick, true).unwrap();
        assert!(report.imported.is_empty());
        assert_eq!(report.failed[0].error.code, "keychain.unavailable");
        assert!(remotes.list().unwrap().is_empty());
    }

    #[test]
    fn redaction() {
        assert_eq!(
            redact_quoted(r#"invalid type: string "abc", expected x"#),
            r#"invalid type: string "…", expected x"#
        );
    }

    #[test]
    fn default_sources_order() {
        let s = default_sources();
        assert!(s.iter().take_while(|f| !f.system).count() >= 1);
        assert_eq!(
            s.last().unwrap().path,
            Path::new("/usr/local/etc/singularity/remote.yaml")
        );
        assert!(s
            .iter()
            .any(|f| f.path == Path::new("/etc/apptainer/remote.yaml") && f.system));
    }
}
