//! TLS for the build log's WebSocket, with the same trust rules as the remote's HTTP
//! clients: the public web roots plus the remote's extra CA, or no verification at all
//! when the person opted out for this remote.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{verify_tls12_signature, verify_tls13_signature, CryptoProvider};
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use tokio_tungstenite::Connector;

use crate::error::{Error, Result};
use crate::options::RemoteOptions;

/// The connector for `wss` under `opts`; `None` when the defaults apply (web roots).
pub(crate) fn connector(opts: &RemoteOptions) -> Result<Option<Connector>> {
    if opts.extra_ca_pem.is_none() && !opts.accept_invalid_certs {
        return Ok(None);
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let builder = ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::input(format!("TLS setup failed: {e}")))?;
    let config = if opts.accept_invalid_certs {
        builder
            .dangerous()
            .with_custom_certificate_verifier(Arc::new(AnyCertificate(provider)))
            .with_no_client_auth()
    } else {
        let mut roots = RootCertStore::empty();
        roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
        let pem = opts.extra_ca_pem.as_deref().unwrap_or_default();
        let mut added = 0;
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| Error::input(format!("the CA file is not PEM: {e}")))?;
            roots
                .add(cert)
                .map_err(|e| Error::input(format!("the CA file has a bad certificate: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(Error::input("the CA file holds no PEM certificate"));
        }
        builder.with_root_certificates(roots).with_no_client_auth()
    };
    Ok(Some(Connector::Rustls(Arc::new(config))))
}

/// Accepts any certificate but still checks that the handshake is signed by it, as the
/// HTTP clients do with `danger_accept_invalid_certs`.
#[derive(Debug)]
struct AnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp: &[u8],
        _now: UnixTime,
    ) -> std::result::Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> std::result::Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
