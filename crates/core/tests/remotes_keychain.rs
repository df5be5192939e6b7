//! Remotes and tokens against the REAL system keychain (Secret Service).
//!
//! Every test runs inside a throw-away D-Bus session with an unlocked GNOME Keyring:
//! unless `BERTH_KEYRING_SESSION=1` says such a session is already there, the test re-runs
//! itself (only itself) through `tests/with-keyring.sh`, which starts `dbus-run-session` and
//! `gnome-keyring-daemon --unlock` with its files in a temporary directory. So plain
//! `cargo test` works wherever gnome-keyring and dbus are installed, never touches the
//! person's own keyring, and FAILS (never skips) when they are missing.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use berth_core::credentials::{remote_account, CredentialStore, KeychainStore, Token, SERVICE};
use berth_core::remote_yaml::{self, SourceFile};
use berth_core::remotes::{AddOptions, Remotes};
use berth_core::{ApiError, AppDirs};

const MARKER: &str = "BERTH_KEYRING_SESSION";

/// True when the test body should run here; otherwise runs `name` again through the
/// wrapper, asserts that it passed there, and returns false.
fn in_keyring_session(name: &str) -> bool {
    if std::env::var(MARKER).as_deref() == Ok("1") {
        assert!(
            std::env::var_os("DBUS_SESSION_BUS_ADDRESS").is_some(),
            "{MARKER}=1 but DBUS_SESSION_BUS_ADDRESS is not set"
        );
        return true;
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/with-keyring.sh");
    let exe = std::env::current_exe().expect("the test binary's path");
    let out = Command::new("sh")
        .arg(&script)
        .arg(&exe)
        .args([name, "--exact", "--nocapture", "--test-threads=1"])
        .output()
        .unwrap_or_else(|e| panic!("cannot run {}: {e}", script.display()));
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "{name} failed inside {} (status {:?}).\n\
         These tests need a Secret Service: install `gnome-keyring dbus dbus-user-session`.\n\
         --- stdout ---\n{stdout}\n--- stderr ---\n{stderr}",
        script.display(),
        out.status.code(),
    );
    false
}

/// A realistic (JWT-looking, 200+ characters) token that is easy to grep for.
fn token(tag: &str) -> String {
    let mut t = format!("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.{tag}.");
    while t.len() < 240 {
        t.push_str("QmVydGhUZXN0VG9rZW4");
    }
    t
}

/// Every file under `dir` whose bytes contain `needle`.
fn files_containing(dir: &Path, needle: &str) -> Vec<PathBuf> {
    let mut hits = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if std::fs::read(&p)
                .unwrap()
                .windows(needle.len())
                .any(|w| w == needle.as_bytes())
            {
                hits.push(p);
            }
        }
    }
    hits
}

#[test]
fn keychain_round_trip() {
    if !in_keyring_session("keychain_round_trip") {
        return;
    }
    let store = KeychainStore::new();
    let account = remote_account("round-trip");
    let secret = token("roundtrip");
    assert_eq!(store.get(SERVICE, &account).unwrap(), None);
    store.set(SERVICE, &account, &Token::new(&secret)).unwrap();
    assert_eq!(
        store.get(SERVICE, &account).unwrap().unwrap().expose(),
        secret
    );
    // Replacing keeps one entry with the new value.
    store
        .set(SERVICE, &account, &Token::new("second-value"))
        .unwrap();
    assert_eq!(
        store.get(SERVICE, &account).unwrap().unwrap().expose(),
        "second-value"
    );
    assert!(store.delete(SERVICE, &account).unwrap());
    assert_eq!(store.get(SERVICE, &account).unwrap(), None);
    assert!(!store.delete(SERVICE, &account).unwrap());
}

#[test]
fn tokens_never_show_in_errors_or_debug() {
    if !in_keyring_session("tokens_never_show_in_errors_or_debug") {
        return;
    }
    let secret = token("nodebug");
    let dir = tempfile::tempdir().unwrap();
    let remotes = Remotes::new(
        &AppDirs::at(dir.path().to_path_buf()),
        Arc::new(KeychainStore::new()),
    );
    let mut shown = Vec::new();

    remotes
        .add(
            "debug-check",
            "https://cloud.example.com",
            AddOptions::default(),
        )
        .unwrap();
    remotes
        .set_token("debug-check", &Token::new(&secret))
        .unwrap();
    let back = remotes.token("debug-check").unwrap();
    assert_eq!(back.as_ref().unwrap().expose(), secret);
    shown.push(format!("{back:?} {}", back.as_ref().unwrap()));
    shown.push(format!("{remotes:?} {:?}", remotes.list().unwrap()));

    // Errors on paths that carry the token.
    let e = remotes
        .set_token("no-such-remote", &Token::new(&secret))
        .unwrap_err();
    shown.push(format!("{e} {e:?} {:?}", ApiError::from(&e)));
    let bad = format!("{secret}\nsecond line");
    let e = remotes
        .set_token("debug-check", &Token::new(&bad))
        .unwrap_err();
    assert_eq!(e.code(), "remote.invalid_token");
    shown.push(format!("{e} {e:?} {:?}", ApiError::from(&e)));

    // A remote.yaml that does not parse, with the token in the offending value.
    let yaml = dir.path().join("remote.yaml");
    std::fs::write(
        &yaml,
        format!("Remotes:\n  x:\n    URI: h.example\n    System: \"{secret}\"\n"),
    )
    .unwrap();
    let e = remote_yaml::import_preview(
        &remotes,
        &[SourceFile {
            path: yaml,
            system: false,
        }],
    )
    .unwrap_err();
    assert_eq!(e.code(), "remote_yaml.invalid");
    shown.push(format!("{e} {e:?} {:?}", ApiError::from(&e)));

    for s in &shown {
        assert!(!s.contains(&secret), "token leaked: {s}");
        assert!(
            !s.contains("eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.nodebug"),
            "{s}"
        );
    }
    remotes.remove("debug-check").unwrap();
}

#[test]
fn keychain_down_is_reported_without_the_token() {
    // Runs in a child process whose session bus address leads nowhere: no Secret Service.
    const CHILD: &str = "BERTH_TEST_NO_KEYCHAIN_CHILD";
    let secret = token("down");
    if std::env::var_os(CHILD).is_none() {
        let dir = tempfile::tempdir().unwrap();
        let out = Command::new(std::env::current_exe().unwrap())
            .args([
                "keychain_down_is_reported_without_the_token",
                "--exact",
                "--nocapture",
            ])
            .env(CHILD, "1")
            .env(
                "DBUS_SESSION_BUS_ADDRESS",
                format!("unix:path={}/no-bus", dir.path().display()),
            )
            .env_remove("DISPLAY")
            .env_remove(MARKER)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && stdout.contains("1 passed"),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let remotes = Remotes::new(
        &AppDirs::at(dir.path().to_path_buf()),
        Arc::new(KeychainStore::new()),
    );
    remotes
        .add("down", "cloud.example.com", AddOptions::default())
        .unwrap();
    let e = remotes.set_token("down", &Token::new(&secret)).unwrap_err();
    assert_eq!(e.code(), "keychain.unavailable", "{e}");
    let api = ApiError::from(&e);
    assert!(api.hint.as_deref().unwrap_or("").contains("keychain"));
    let shown = format!("{e} {e:?} {api:?}");
    assert!(!shown.contains(&secret), "{shown}");
    println!("unavailable keychain reported as: {api:?}");
    assert_eq!(
        remotes.token("down").unwrap_err().code(),
        "keychain.unavailable"
    );
    // The remote stays (its token could not be deleted either).
    assert_eq!(
        remotes.remove("down").unwrap_err().code(),
        "keychain.unavailable"
    );
    assert_eq!(remotes.list().unwrap().len(), 1);
}

#[test]
fn add_login_logout_remove_leaves_no_token() {
    if !in_keyring_session("add_login_logout_remove_leaves_no_token") {
        return;
    }
    let secret = token("flow");
    let dir = tempfile::tempdir().unwrap();
    let keychain = KeychainStore::new();
    let remotes = Remotes::new(&AppDirs::at(dir.path().to_path_buf()), Arc::new(keychain));
    let account = remote_account("flow-cloud");

    let r = remotes
        .add(
            "flow-cloud",
            "http://127.0.0.1:7660/",
            AddOptions {
                insecure_http: true,
                ..AddOptions::default()
            },
        )
        .unwrap();
    assert!(r.is_default);
    assert_eq!(r.base_url(), "http://127.0.0.1:7660");
    assert!(!remotes.has_token("flow-cloud").unwrap());

    // Log in: the token is in the keychain, not in Berth's files.
    remotes
        .set_token("flow-cloud", &Token::new(&secret))
        .unwrap();
    assert_eq!(
        keychain.get(SERVICE, &account).unwrap().unwrap().expose(),
        secret
    );
    assert!(files_containing(dir.path(), &secret).is_empty());

    // Log out.
    assert!(remotes.clear_token("flow-cloud").unwrap());
    assert_eq!(keychain.get(SERVICE, &account).unwrap(), None);

    // Log in again, then remove: the token goes with the remote.
    remotes
        .set_token("flow-cloud", &Token::new(&secret))
        .unwrap();
    assert!(remotes.has_token("flow-cloud").unwrap());
    remotes.remove("flow-cloud").unwrap();
    assert_eq!(keychain.get(SERVICE, &account).unwrap(), None);
    assert!(remotes.list().unwrap().is_empty());
    assert_eq!(remotes.default().unwrap(), None);
    assert!(files_containing(dir.path(), &secret).is_empty());
}

#[test]
fn import_remote_yaml_tokens_only_in_keychain() {
    if !in_keyring_session("import_remote_yaml_tokens_only_in_keychain") {
        return;
    }
    let sylabs_token = token("sylabs");
    let hink_token = token("hinkskalle");
    let keys_auth = token("keyserverauth");
    let root = tempfile::tempdir().unwrap();
    let config = root.path().join("berth-config");

    // ~/.singularity/remote.yaml of a SingularityCE user logged in to Sylabs Cloud.
    let sylabs = root.path().join("home/.singularity/remote.yaml");
    let sylabs_text = format!(
        "Active: SylabsCloud\n\
         Remotes:\n  \
           SylabsCloud:\n    \
             URI: cloud.sylabs.io\n    \
             Token: {sylabs_token}\n    \
             System: true\n    \
             Exclusive: false\n"
    );
    // ~/.apptainer/remote.yaml of an Apptainer user with a local Hinkskalle.
    let hink = root.path().join("home/.apptainer/remote.yaml");
    let hink_text = format!(
        "Active: hinkskalle\n\
         Remotes:\n  \
           DefaultRemote:\n    \
             URI: cloud.apptainer.org\n    \
             System: true\n    \
             Exclusive: false\n  \
           hinkskalle:\n    \
             URI: 127.0.0.1:7660\n    \
             Token: {hink_token}\n    \
             System: false\n    \
             Exclusive: false\n    \
             Insecure: true\n\
         Credentials:\n\
         - URI: https://keys.other.org\n  \
           Auth: Bearer {keys_auth}\n  \
           Insecure: false\n\
         - URI: docker://registry.example.com\n  \
           Insecure: false\n"
    );
    // /etc/apptainer/remote.yaml of a site.
    let system = root.path().join("etc/apptainer/remote.yaml");
    let system_text = "Active: site\n\
         Remotes:\n  \
           DefaultRemote:\n    \
             URI: cloud.apptainer.org\n    \
             System: true\n    \
             Exclusive: false\n  \
           site:\n    \
             URI: library.site.example\n    \
             System: true\n    \
             Exclusive: true\n    \
             Keyservers:\n    \
             - URI: https://keys.site.example\n      \
               Skip: false\n      \
               External: false\n      \
               Insecure: false\n";
    for (p, text) in [
        (&sylabs, sylabs_text.as_str()),
        (&hink, hink_text.as_str()),
        (&system, system_text),
    ] {
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    let before: Vec<_> = [&sylabs, &hink, &system]
        .iter()
        .map(|p| {
            (
                std::fs::read(p).unwrap(),
                std::fs::metadata(p).unwrap().modified().unwrap(),
            )
        })
        .collect();

    let keychain = KeychainStore::new();
    let remotes = Remotes::new(&AppDirs::at(config.clone()), Arc::new(keychain));
    // An existing Berth remote whose name clashes with the system file's.
    remotes
        .add("site", "https://other.example", AddOptions::default())
        .unwrap();

    let files = [
        SourceFile {
            path: hink.clone(),
            system: false,
        },
        SourceFile {
            path: sylabs.clone(),
            system: false,
        },
        SourceFile {
            path: root.path().join("usr/local/etc/apptainer/remote.yaml"),
            system: true,
        },
        SourceFile {
            path: system.clone(),
            system: true,
        },
    ];
    let cands = remote_yaml::import_preview(&remotes, &files).unwrap();
    let summary: Vec<_> = cands
        .iter()
        .map(|c| {
            (
                c.name.as_str(),
                c.uri.as_str(),
                c.insecure,
                c.has_token,
                c.source_file.clone(),
                c.conflicts_with_existing,
                c.system,
                c.active,
            )
        })
        .collect();
    assert_eq!(
        summary,
        [
            (
                "DefaultRemote",
                "cloud.apptainer.org",
                false,
                false,
                hink.clone(),
                false,
                true,
                false
            ),
            (
                "hinkskalle",
                "127.0.0.1:7660",
                true,
                true,
                hink.clone(),
                false,
                false,
                true
            ),
            (
                "SylabsCloud",
                "cloud.sylabs.io",
                false,
                true,
                sylabs.clone(),
                false,
                true,
                true
            ),
            (
                "site",
                "library.site.example",
                false,
                false,
                system.clone(),
                true,
                true,
                true
            ),
        ]
    );
    assert!(cands.iter().all(|c| c.problem.is_none()));
    let shown = format!("{cands:?} {}", serde_json::to_string(&cands).unwrap());
    for t in [&sylabs_token, &hink_token, &keys_auth] {
        assert!(!shown.contains(t.as_str()));
    }

    // Import everything, copying tokens into the keychain.
    let report = remote_yaml::import(&remotes, &cands, true).unwrap();
    let imported: Vec<_> = report
        .imported
        .iter()
        .map(|i| (i.remote.name.as_str(), i.token_stored))
        .collect();
    assert_eq!(
        imported,
        [
            ("DefaultRemote", false),
            ("hinkskalle", true),
            ("SylabsCloud", true)
        ]
    );
    assert_eq!(report.failed.len(), 1);
    assert_eq!(report.failed[0].name, "site");
    assert_eq!(report.failed[0].error.code, "remote.exists");
    assert_eq!(
        remotes.get("hinkskalle").unwrap().base_url(),
        "http://127.0.0.1:7660"
    );
    assert_eq!(
        remotes.default().unwrap().unwrap().name,
        "site",
        "an existing default stays"
    );

    // Tokens landed in the keychain ...
    let kc = |name: &str| keychain.get(SERVICE, &remote_account(name)).unwrap();
    assert_eq!(kc("hinkskalle").unwrap().expose(), hink_token);
    assert_eq!(kc("SylabsCloud").unwrap().expose(), sylabs_token);
    assert_eq!(kc("DefaultRemote"), None);
    // ... and nowhere in Berth's config directory.
    for t in [&sylabs_token, &hink_token, &keys_auth] {
        assert_eq!(files_containing(&config, t), Vec::<PathBuf>::new());
    }
    let json = std::fs::read_to_string(config.join("remotes.json")).unwrap();
    assert!(json.contains("127.0.0.1:7660") && !json.contains("eyJ"));

    // The YAML files were only read.
    for (p, (bytes, mtime)) in [&sylabs, &hink, &system].iter().zip(&before) {
        assert_eq!(&std::fs::read(p).unwrap(), bytes, "{} changed", p.display());
        assert_eq!(&std::fs::metadata(p).unwrap().modified().unwrap(), mtime);
    }
    assert_eq!(
        std::fs::read_dir(hink.parent().unwrap()).unwrap().count(),
        1,
        "nothing new next to remote.yaml"
    );

    // Without move_tokens nothing goes to the keychain.
    for name in ["hinkskalle", "SylabsCloud", "DefaultRemote"] {
        remotes.remove(name).unwrap();
        assert_eq!(kc(name), None);
    }
    let report = remote_yaml::import(&remotes, &cands[..3], false).unwrap();
    assert_eq!(report.imported.len(), 3);
    assert!(report.imported.iter().all(|i| !i.token_stored));
    for name in ["hinkskalle", "SylabsCloud"] {
        assert_eq!(kc(name), None);
        remotes.remove(name).unwrap();
    }
    remotes.remove("DefaultRemote").unwrap();
    remotes.remove("site").unwrap();
}
