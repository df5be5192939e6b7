//! The keystore double's wire behaviour, seen with a plain HTTP client, and its binary.

use std::io::{BufRead as _, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use berth_testkit::{KeystoreDouble, KeystoreOptions};
use reqwest::blocking::Client;
use reqwest::StatusCode;

const FPR: &str = "F34371D0ACD5D09EB9BD853A80600A5FA11BBD29";
const KEY_ID: &str = "80600A5FA11BBD29";

fn testdata(rel: &str) -> PathBuf {
    let root = match std::env::var_os("BERTH_TESTDATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/sif"),
    };
    root.join(rel)
}

fn read(rel: &str) -> Vec<u8> {
    std::fs::read(testdata(rel)).unwrap()
}

fn get(url: &str) -> (StatusCode, String, Option<String>) {
    let r = Client::new().get(url).send().unwrap();
    let token = r
        .headers()
        .get("X-HKP-Next-Page-Token")
        .map(|v| v.to_str().unwrap().to_owned());
    (r.status(), r.text().unwrap(), token)
}

fn double() -> KeystoreDouble {
    let d = KeystoreDouble::start(KeystoreOptions::default()).unwrap();
    // Written by Go (Apptainer's test key): the double must parse it as Berth does.
    d.add_armored(&read("keys/apptainer/pgp-public.asc"));
    d
}

#[test]
fn version() {
    let d = double();
    let (status, body, _) = get(&format!("{}/version", d.url()));
    assert_eq!(status, 200);
    assert_eq!(body, r#"{"data":{"version":"testkit"}}"#);
}

#[test]
fn lookup_get_by_fingerprint_and_key_ids() {
    let d = double();
    for search in [
        format!("0x{}", FPR.to_lowercase()),
        format!("0x{KEY_ID}"),
        "0xA11BBD29".into(),
    ] {
        let (status, body, _) = get(&format!(
            "{}/pks/lookup?op=get&exact=on&search={search}",
            d.url()
        ));
        assert_eq!(status, 200, "{search}");
        assert!(body.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
        let certs = berth_integrity::parse_key_material(body.as_bytes()).unwrap();
        assert_eq!(certs[0].fingerprint().to_hex(), FPR);
    }
    let (status, body, _) = get(&format!(
        "{}/pks/lookup?op=get&search=0x{}",
        d.url(),
        "0".repeat(40)
    ));
    assert_eq!(status, 404);
    assert!(body.contains(r#""code":404"#), "{body}");
}

#[test]
fn lookup_index_formats() {
    let d = double();
    let base = format!("{}/pks/lookup?op=index&search=singularityce", d.url());
    let (_, mr, _) = get(&format!("{base}&options=mr&fingerprint=on"));
    assert_eq!(
        mr,
        format!(
            "info:1:1\npub:{FPR}:1:4096:1651162830::\n\
             uid:SingularityCE%20Tests%20%3Csingularityce%40example.com%3E:1651162830::\n"
        )
    );
    let (_, mr, _) = get(&format!("{base}&options=mr"));
    assert!(mr.contains(&format!("pub:{KEY_ID}:")), "{mr}");
    let (status, html, _) = get(&base);
    assert_eq!(status, 200);
    assert!(html.starts_with("<html>") && html.contains("&lt;singularityce@example.com&gt;"));
    let (status, _, _) = get(&format!(
        "{}/pks/lookup?op=index&options=mr&search=nobody",
        d.url()
    ));
    assert_eq!(status, 404);
}

#[test]
fn lookup_errors_and_doubled_slashes() {
    let d = double();
    assert_eq!(get(&format!("{}/pks/lookup?op=index", d.url())).0, 400);
    assert_eq!(
        get(&format!("{}/pks/lookup?op=stats&search=x", d.url())).0,
        501
    );
    assert_eq!(get(&format!("{}/nothing", d.url())).0, 404);
    let (status, body, _) = get(&format!(
        "{}//pks//lookup?op=get&search=0x{KEY_ID}",
        d.url()
    ));
    assert_eq!(status, 200, "{body}");
    assert_eq!(d.requests()[3].path, "//pks//lookup");
}

#[test]
fn paging_tokens() {
    let d = double();
    d.add_armored(&read("keys/apptainer-ecl/pubkey1.asc"));
    d.add_armored(&read("keys/apptainer-ecl/pubkey2.asc"));
    let base = format!(
        "{}/pks/lookup?op=index&options=mr&search=e&x-pagesize=2",
        d.url()
    );
    let (_, first, token) = get(&base);
    assert!(first.starts_with("info:1:2\n"));
    let token = token.expect("a next page");
    let (_, second, next) = get(&format!("{base}&x-pagetoken={token}"));
    assert!(second.starts_with("info:1:1\n"));
    assert_eq!(next, None);
    assert_eq!(get(&format!("{base}&x-pagetoken=bogus")).0, 400);
}

#[test]
fn add_keeps_public_parts_only_and_checks_auth() {
    let d = KeystoreDouble::start(KeystoreOptions {
        require_token: Some("t0ken".into()),
        ..Default::default()
    })
    .unwrap();
    let secret = std::fs::read_to_string(testdata("keys/apptainer/pgp-private.asc")).unwrap();
    let add = |auth: Option<&str>, keytext: &str| {
        let mut req = Client::new()
            .post(format!("{}/pks/add", d.url()))
            .form(&[("keytext", keytext)]);
        if let Some(a) = auth {
            req = req.header("Authorization", a);
        }
        req.send().unwrap()
    };
    assert_eq!(add(None, &secret).status(), 401);
    assert_eq!(add(Some("Bearer wrong"), &secret).status(), 401);
    assert_eq!(add(Some("BEARER t0ken"), "garbage").status(), 400);
    let ok = add(Some("bearer t0ken"), &secret);
    assert_eq!(ok.status(), 200);
    assert_eq!(
        ok.text().unwrap(),
        format!(r#"{{"ignored":[],"inserted":["{FPR}"],"updated":[]}}"#)
    );
    assert_eq!(
        d.submitted().len(),
        4,
        "every add is recorded, whatever the answer"
    );
    assert_eq!(d.fingerprints(), [FPR]);

    // What is served back has no secret parts.
    let (_, body, _) = get(&format!("{}/pks/lookup?op=get&search=0x{FPR}", d.url()));
    let certs = berth_integrity::parse_key_material(body.as_bytes()).unwrap();
    assert!(!certs[0].is_tsk());
    assert!(!body.contains("PRIVATE"));

    // Adding the same key again changes nothing.
    let again = add(Some("Bearer t0ken"), &secret);
    assert!(again.text().unwrap().contains(r#""ignored":["F343"#));
}

#[test]
fn failure_and_stop() {
    let mut d = KeystoreDouble::start(KeystoreOptions {
        fail_with: Some(503),
        ..Default::default()
    })
    .unwrap();
    let (status, body, _) = get(&format!("{}/version", d.url()));
    assert_eq!(status, 503);
    assert_eq!(
        body,
        r#"{"error":{"code":503,"message":"Service Unavailable"}}"#
    );
    let url = d.url();
    d.stop();
    d.stop();
    assert!(Client::new().get(format!("{url}/version")).send().is_err());
}

/// Kills the child even when an assertion fails.
struct Child(std::process::Child);

impl Drop for Child {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn binary_serves_preloaded_keys() {
    let mut child = Child(
        Command::new(env!("CARGO_BIN_EXE_berth-keystore-double"))
            .args(["--port", "0", "--page-size", "1", "--preload"])
            .arg(testdata("keys/apptainer/pgp-public.asc"))
            .arg(testdata("keys/apptainer-ecl/pubkey1.asc"))
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap(),
    );
    let mut line = String::new();
    BufReader::new(child.0.stdout.take().unwrap())
        .read_line(&mut line)
        .unwrap();
    let url = line.trim();
    assert!(url.starts_with("http://127.0.0.1:"), "{url}");
    let (status, body, token) = get(&format!(
        "{url}/pks/lookup?op=index&options=mr&fingerprint=on&search=e"
    ));
    assert_eq!(status, 200);
    assert!(body.contains(FPR), "{body}");
    assert!(token.is_some(), "--page-size 1 pages");
}
