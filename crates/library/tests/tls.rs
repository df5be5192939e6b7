//! TLS trust: a loopback https server with a certificate from a throw-away CA is refused
//! by default (`net.tls_untrusted`), accepted with that CA as `extra_ca_pem`, and accepted
//! with `accept_invalid_certs` — for the library's HTTP calls and for the build service's
//! WebSocket log alike.

use std::sync::Arc;

use berth_library::{
    BuildRequest, BuilderClient, Cancel, LibraryClient, RemoteOptions, RetryPolicy, Secret,
};
use berth_testkit::{BuilderDouble, BuilderOptions};
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

fn acceptor(p: &Pki) -> tokio_rustls::TlsAcceptor {
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
    tokio_rustls::TlsAcceptor::from(Arc::new(config))
}

/// Terminates TLS and forwards the bytes to a plain http server at `target` (host:port).
async fn tls_forwarder(p: &Pki, target: String) -> String {
    let acceptor = acceptor(p);
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, target) = (acceptor.clone(), target.clone());
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else {
                    return;
                };
                let Ok(mut plain) = tokio::net::TcpStream::connect(target).await else {
                    return;
                };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    format!("https://{addr}")
}

/// A tiny https server: TLS handshake, read the request head, answer one fixed JSON body.
async fn tls_server(p: &Pki) -> String {
    let acceptor = acceptor(p);
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn builder_log_socket_trusts_what_the_remote_trusts() {
    let p = pki();
    let double = BuilderDouble::start(BuilderOptions {
        tokens: vec!["tls-token".into()],
        log_lines: vec!["over wss".into()],
        ..BuilderOptions::default()
    })
    .unwrap();
    let base = tls_forwarder(&p, double.url().trim_start_matches("http://").to_owned()).await;
    let follow = |opts: RemoteOptions| {
        let base = base.clone();
        async move {
            let c = BuilderClient::new(&base, Some(Secret::new("tls-token")), &opts)?;
            let info = c.submit(&BuildRequest::default()).await?;
            let mut lines = Vec::new();
            c.stream_log(&info.id, |l| lines.push(l.to_owned()), &Cancel::new())
                .await?;
            Ok::<_, berth_library::Error>(lines)
        }
    };
    let with_ca = RemoteOptions {
        extra_ca_pem: Some(p.ca_pem.clone().into_bytes()),
        ..Default::default()
    };
    assert_eq!(follow(with_ca).await.unwrap(), ["over wss"]);
    let insecure = RemoteOptions {
        accept_invalid_certs: true,
        ..Default::default()
    };
    assert_eq!(follow(insecure).await.unwrap(), ["over wss"]);

    // The HTTP calls use the same trust, so without the CA nothing is even submitted.
    let e = follow(RemoteOptions::default()).await.unwrap_err();
    assert_eq!(e.code(), "net.tls_untrusted", "{e:?}");
    // With the CA for HTTP but another one's certificate on the socket, the socket fails.
    let other = pki();
    let c = BuilderClient::new(
        &base,
        Some(Secret::new("tls-token")),
        &RemoteOptions {
            extra_ca_pem: Some(other.ca_pem.into_bytes()),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(c
        .stream_log("000000000000000000000001", |_| {}, &Cancel::new())
        .await
        .is_err());
}
