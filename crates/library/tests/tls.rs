//! TLS trust: a loopback https server with a certificate from a throw-away CA is refused
//! by default (`net.tls_untrusted`), accepted with that CA as `extra_ca_pem`, and accepted
//! with `accept_invalid_certs`.

use std::sync::Arc;

use berth_library::{LibraryClient, RemoteOptions, RetryPolicy};
use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_rustls::rustls;

struct Pki {
    ca_pem: String,
    leaf_der: Vec<u8>,
    leaf_key_der: Vec<u8>,
}

fn pki() -> Pki {
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::new(ca_params, ca_key);
    let leaf_key = KeyPair::generate().unwrap();
    let leaf_params = CertificateParams::new(vec!["127.0.0.1".to_owned()]).unwrap();
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).unwrap();
    Pki {
        ca_pem: ca_cert.pem(),
        leaf_der: leaf.der().to_vec(),
        leaf_key_der: leaf_key.serialize_der(),
    }
}

/// A tiny https server: TLS handshake, read the request head, answer one fixed JSON body.
async fn tls_server(p: &Pki) -> String {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![p.leaf_der.clone().into()],
            rustls::pki_types::PrivateKeyDer::Pkcs8(p.leaf_key_der.clone().into()),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let mut head = Vec::new();
                let mut buf = [0u8; 1024];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let body = r#"{"data":{"id":"1","name":"tls"}}"#;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(resp.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    format!("https://{addr}")
}

fn client(base: &str, opts: RemoteOptions) -> LibraryClient {
    LibraryClient::builder(base)
        .options(opts)
        .retry(RetryPolicy::none())
        .build()
        .unwrap()
}

#[tokio::test]
async fn untrusted_then_extra_ca_then_insecure() {
    let p = pki();
    let base = tls_server(&p).await;

    let e = client(&base, RemoteOptions::default())
        .get_entity("tls")
        .await
        .unwrap_err();
    assert_eq!(e.code(), "net.tls_untrusted", "{e:?}");
    assert!(e.hint().contains("CA certificate"));

    let with_ca = RemoteOptions {
        extra_ca_pem: Some(p.ca_pem.clone().into_bytes()),
        ..Default::default()
    };
    let ent = client(&base, with_ca).get_entity("tls").await.unwrap();
    assert_eq!(ent.name, "tls");

    let insecure = RemoteOptions {
        accept_invalid_certs: true,
        ..Default::default()
    };
    assert_eq!(
        client(&base, insecure)
            .get_entity("tls")
            .await
            .unwrap()
            .name,
        "tls"
    );

    // Some other CA does not help.
    let other = pki();
    let wrong_ca = RemoteOptions {
        extra_ca_pem: Some(other.ca_pem.into_bytes()),
        ..Default::default()
    };
    let e = client(&base, wrong_ca).get_entity("tls").await.unwrap_err();
    assert_eq!(e.code(), "net.tls_untrusted");
}
