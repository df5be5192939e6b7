//! Per-host TLS rules against a loopback https listener whose certificate comes from a
//! throw-away CA: refused by default, trusted with the CA as `extra_ca_pem`, and accepted
//! unchecked for a host listed in `insecure_tls_hosts`.

use std::sync::Arc;

use berth_oci::{ImageRef, Platform, RegistryClient, RegistryOptions};
use berth_progress::Cancel;
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

/// Starts the listener; every request gets a registry `MANIFEST_UNKNOWN` 404, which proves
/// the TLS handshake succeeded. Returns the CA PEM and the `host:port`.
async fn https_registry() -> (String, String) {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_pem = ca.self_signed(&ca_key).unwrap().pem();
    let issuer = Issuer::new(ca, ca_key);
    let key = KeyPair::generate().unwrap();
    let leaf = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(
        vec![leaf.der().to_vec().into()],
        rustls::pki_types::PrivateKeyDer::Pkcs8(key.serialize_der().into()),
    )
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let host = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 2048];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let body =
                    r#"{"errors":[{"code":"MANIFEST_UNKNOWN","message":"manifest unknown"}]}"#;
                let reply = format!(
                    "HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(reply.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    (ca_pem, host)
}

async fn code(opts: RegistryOptions, host: &str) -> &'static str {
    let r = ImageRef::parse(&format!("{host}/x/y:1")).unwrap();
    let c = RegistryClient::new(opts).unwrap();
    let p = Platform::linux("amd64", None).unwrap();
    c.resolve(&r, &p, &Cancel::new()).await.unwrap_err().code()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tls_trust_rules() {
    let (ca_pem, host) = https_registry().await;
    assert_eq!(
        code(RegistryOptions::default(), &host).await,
        "net.tls_untrusted"
    );
    let with_ca = RegistryOptions {
        extra_ca_pem: Some(ca_pem.into_bytes()),
        ..RegistryOptions::default()
    };
    assert_eq!(code(with_ca, &host).await, "oci.not_found");
    let insecure = RegistryOptions {
        insecure_tls_hosts: vec![host.clone()],
        ..RegistryOptions::default()
    };
    assert_eq!(code(insecure, &host).await, "oci.not_found");
    let other_insecure = RegistryOptions {
        insecure_tls_hosts: vec!["127.0.0.1:1".to_owned()],
        ..RegistryOptions::default()
    };
    assert_eq!(code(other_insecure, &host).await, "net.tls_untrusted");

    let bad = RegistryClient::new(RegistryOptions {
        extra_ca_pem: Some(b"not pem".to_vec()),
        ..RegistryOptions::default()
    });
    assert_eq!(bad.unwrap_err().code(), "input.invalid");
}
