//! Shared helpers for the keyserver tests: test keys and doubles.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::time::Duration;

use berth_keyserver::Keyserver;
use berth_testkit::{KeystoreDouble, KeystoreOptions};

/// Apptainer's test key: "SingularityCE Tests <singularityce@example.com>".
pub const SINGULARITY: &str = "keys/apptainer/pgp-public.asc";
pub const SINGULARITY_FPR: &str = "F34371D0ACD5D09EB9BD853A80600A5FA11BBD29";
pub const SINGULARITY_SUBKEY_FPR: &str = "DAA73089B6BB626514B7AE7A70C4CC6FB3C5A1DC";
pub const SINGULARITY_SECRET: &str = "keys/apptainer/pgp-private.asc";
/// "e2e (e2e tests) <e2e@hpcng.org>".
pub const E2E1: &str = "keys/apptainer-ecl/pubkey1.asc";
pub const E2E1_FPR: &str = "0C5B8C9A5FFC44E2A0AC79851CD6FA281D476DD1";
/// "e2e-test (e2e tests) <e2e-test@hpcng.org>".
pub const E2E2: &str = "keys/apptainer-ecl/pubkey2.asc";
pub const E2E2_FPR: &str = "78F8AD36B0DCB84B707F23853D608DAE21C8CA10";

pub const TOKEN: &str = "tok-3f9a1c77e2b14d0a9c55d1e0b7a4c2f6";

/// The shared SIF vectors: `$BERTH_TESTDATA`, else `shared/testdata/sif` beside the repository.
pub fn testdata() -> PathBuf {
    match std::env::var_os("BERTH_TESTDATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/sif"),
    }
}

pub fn read(rel: &str) -> Vec<u8> {
    let path = testdata().join(rel);
    std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// A double holding the three test keys.
pub fn double_with_keys(opts: KeystoreOptions) -> KeystoreDouble {
    let double = KeystoreDouble::start(opts).expect("start keystore double");
    for key in [SINGULARITY, E2E1, E2E2] {
        double.add_armored(&read(key));
    }
    double
}

pub fn client(double: &KeystoreDouble) -> Keyserver {
    Keyserver::new(&double.url()).expect("keyserver client")
}

pub fn short_timeout_client(double: &KeystoreDouble, timeout: Duration) -> Keyserver {
    Keyserver::builder(&double.url())
        .timeout(timeout)
        .build()
        .expect("keyserver client")
}

/// The fingerprint of the single certificate in `key`.
pub fn fingerprint_of(key: &[u8]) -> String {
    let certs = berth_integrity::parse_key_material(key).expect("parse key");
    assert_eq!(certs.len(), 1, "expected one certificate");
    certs[0].fingerprint().to_hex()
}

/// The query parameters of a recorded request, decoded.
pub fn params(query: &str) -> Vec<(String, String)> {
    form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect()
}

pub fn param<'a>(params: &'a [(String, String)], name: &str) -> Option<&'a str> {
    params
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

/// A fresh Ed25519 certificate for `uid`, armoured public key, optionally revoked.
pub fn generated_key(uid: &str, revoked: bool) -> Vec<u8> {
    use berth_integrity::openpgp::cert::CertBuilder;
    use berth_integrity::openpgp::serialize::SerializeInto as _;
    let (cert, revocation) = CertBuilder::general_purpose([uid]).generate().unwrap();
    let cert = if revoked {
        cert.insert_packets(revocation).unwrap().0
    } else {
        cert
    };
    let armored = cert.armored().to_vec().unwrap();
    armored
}

/// A fresh certificate with its secret keys, armoured.
pub fn generated_secret_key(uid: &str) -> Vec<u8> {
    use berth_integrity::openpgp::cert::CertBuilder;
    use berth_integrity::openpgp::serialize::SerializeInto as _;
    let (cert, _) = CertBuilder::general_purpose([uid]).generate().unwrap();
    let armored = cert.as_tsk().armored().to_vec().unwrap();
    armored
}

/// A minimal HTTP/1.1 server on 127.0.0.1 that answers every request with one fixed status
/// and body: for servers that misbehave in ways the faithful double does not.
pub struct CannedServer {
    url: String,
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl CannedServer {
    pub fn start(status: u16, body: Vec<u8>) -> Self {
        Self::start_with_header(status, "", body)
    }

    /// With one extra header line (`"Name: value"`, or empty for none).
    pub fn start_with_header(status: u16, header: &str, body: Vec<u8>) -> Self {
        use std::io::{Read as _, Write as _};
        let extra = if header.is_empty() {
            String::new()
        } else {
            format!("{header}\r\n")
        };
        use std::sync::atomic::Ordering;
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let stopping = std::sync::Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            // Bounded: polls at most for a minute, stops when the test drops the server.
            for _ in 0..6000 {
                if stopping.load(Ordering::Relaxed) {
                    return;
                }
                let Ok((mut conn, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(10));
                    continue;
                };
                let _ = conn.set_nonblocking(false);
                let _ = conn.set_read_timeout(Some(Duration::from_secs(2)));
                // Read the whole request, body included: closing a socket with unread data
                // makes the kernel reset the connection, and the client would lose the answer.
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                loop {
                    if let Some(end) = request.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&request[..end]).to_ascii_lowercase();
                        let length = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:"))
                            .and_then(|v| v.trim().parse::<usize>().ok())
                            .unwrap_or(0);
                        if request.len() >= end + 4 + length {
                            break;
                        }
                    }
                    match conn.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let head = format!(
                    "HTTP/1.1 {status} Canned\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n",
                    body.len()
                );
                let _ = conn.write_all(head.as_bytes());
                let _ = conn.write_all(&body);
            }
        });
        CannedServer {
            url,
            stop,
            thread: Some(thread),
        }
    }

    pub fn url(&self) -> String {
        self.url.clone()
    }
}

impl Drop for CannedServer {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
