//! DSSE envelopes signed with PEM keys (sif-signing.md §6): RSA PKCS#1 v1.5 (SHA-256/384/512),
//! ECDSA P-256 and Ed25519, as Apptainer's `sign --key`/`verify --key` use them.

use base64::Engine as _;
use ed25519_dalek::pkcs8::{DecodePrivateKey as _, DecodePublicKey as _};
use p256::ecdsa::signature::hazmat::{PrehashSigner as _, PrehashVerifier as _};
use rsa::pkcs1::DecodeRsaPrivateKey as _;
use rsa::traits::PublicKeyParts as _;
use serde_json::Value;
use sha2::Digest as _;

use crate::error::{Error, Result};
use crate::metadata_field;

/// The payload type of SIF metadata envelopes.
pub const METADATA_MEDIA_TYPE: &str = "application/vnd.sylabs.sif-metadata+json";

const B64: base64::engine::GeneralPurpose = base64::engine::general_purpose::STANDARD;

/// Hash used by RSA and ECDSA DSSE signatures (taken from the signature descriptor).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DsseHash {
    /// SHA-256 (the default).
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
}

impl DsseHash {
    fn digest(self, data: &[u8]) -> Vec<u8> {
        match self {
            DsseHash::Sha256 => sha2::Sha256::digest(data).to_vec(),
            DsseHash::Sha384 => sha2::Sha384::digest(data).to_vec(),
            DsseHash::Sha512 => sha2::Sha512::digest(data).to_vec(),
        }
    }

    fn pkcs1v15(self) -> rsa::Pkcs1v15Sign {
        match self {
            DsseHash::Sha256 => rsa::Pkcs1v15Sign::new::<sha2::Sha256>(),
            DsseHash::Sha384 => rsa::Pkcs1v15Sign::new::<sha2::Sha384>(),
            DsseHash::Sha512 => rsa::Pkcs1v15Sign::new::<sha2::Sha512>(),
        }
    }

    /// The SIF descriptor hash type for this hash.
    pub(crate) fn sif(self) -> berth_sif::HashType {
        match self {
            DsseHash::Sha256 => berth_sif::HashType::Sha256,
            DsseHash::Sha384 => berth_sif::HashType::Sha384,
            DsseHash::Sha512 => berth_sif::HashType::Sha512,
        }
    }

    /// From a SIF descriptor hash type; `None` for hashes DSSE keys cannot use.
    pub(crate) fn from_sif(hash: berth_sif::HashType) -> Option<DsseHash> {
        match hash {
            berth_sif::HashType::Sha256 => Some(DsseHash::Sha256),
            berth_sif::HashType::Sha384 => Some(DsseHash::Sha384),
            berth_sif::HashType::Sha512 => Some(DsseHash::Sha512),
            _ => None,
        }
    }
}

#[derive(Debug, Clone)]
enum PublicKind {
    Rsa(rsa::RsaPublicKey),
    Ecdsa(p256::ecdsa::VerifyingKey),
    Ed25519(ed25519_dalek::VerifyingKey),
}

/// A public key for verifying DSSE signatures.
#[derive(Debug, Clone)]
pub struct DssePublicKey {
    kind: PublicKind,
    key_id: String,
}

impl DssePublicKey {
    /// Reads a PEM `PUBLIC KEY` (SPKI) holding an RSA, ECDSA P-256 or Ed25519 key.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let kind = if let Ok(k) = ed25519_dalek::VerifyingKey::from_public_key_pem(pem) {
            PublicKind::Ed25519(k)
        } else if let Ok(k) = p256::ecdsa::VerifyingKey::from_public_key_pem(pem) {
            PublicKind::Ecdsa(k)
        } else {
            use rsa::pkcs1::DecodeRsaPublicKey as _;
            use rsa::pkcs8::DecodePublicKey as _;
            let k = rsa::RsaPublicKey::from_public_key_pem(pem)
                .or_else(|_| rsa::RsaPublicKey::from_pkcs1_pem(pem))
                .map_err(|_| {
                    Error::InvalidKey("not a PEM RSA, ECDSA P-256 or Ed25519 public key".to_owned())
                })?;
            PublicKind::Rsa(k)
        };
        let key_id = key_id(&ssh_wire(&kind));
        Ok(DssePublicKey { kind, key_id })
    }

    /// `SHA256:<base64>` of the key's SSH wire form, as the reference writes into envelopes.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// A short description of the key type ("RSA 4096", "ECDSA P-256", "Ed25519").
    pub fn algorithm(&self) -> String {
        match &self.kind {
            PublicKind::Rsa(k) => format!("RSA {}", k.n().bits()),
            PublicKind::Ecdsa(_) => "ECDSA P-256".to_owned(),
            PublicKind::Ed25519(_) => "Ed25519".to_owned(),
        }
    }

    /// Whether `sig` is this key's signature over `message`.
    fn verifies(&self, message: &[u8], sig: &[u8], hash: DsseHash) -> bool {
        match &self.kind {
            PublicKind::Ed25519(k) => ed25519_dalek::Signature::from_slice(sig)
                .is_ok_and(|s| ed25519_dalek::Verifier::verify(k, message, &s).is_ok()),
            PublicKind::Rsa(k) => k
                .verify(hash.pkcs1v15(), &hash.digest(message), sig)
                .is_ok(),
            PublicKind::Ecdsa(k) => p256::ecdsa::Signature::from_der(sig)
                .is_ok_and(|s| k.verify_prehash(&hash.digest(message), &s).is_ok()),
        }
    }
}

#[derive(Debug, Clone)]
enum PrivateKind {
    Rsa(Box<rsa::RsaPrivateKey>),
    Ecdsa(p256::ecdsa::SigningKey),
    Ed25519(ed25519_dalek::SigningKey),
}

/// A private key for making DSSE signatures.
#[derive(Debug, Clone)]
pub struct DssePrivateKey {
    kind: PrivateKind,
    key_id: String,
}

impl DssePrivateKey {
    /// Reads a PEM private key: PKCS#8 `PRIVATE KEY` (RSA, ECDSA P-256, Ed25519), PKCS#1
    /// `RSA PRIVATE KEY` or SEC1 `EC PRIVATE KEY`.
    pub fn from_pem(pem: &str) -> Result<Self> {
        let kind = if let Ok(k) = ed25519_dalek::SigningKey::from_pkcs8_pem(pem) {
            PrivateKind::Ed25519(k)
        } else if let Ok(k) = p256::ecdsa::SigningKey::from_pkcs8_pem(pem) {
            PrivateKind::Ecdsa(k)
        } else if let Ok(k) = p256::SecretKey::from_sec1_pem(pem) {
            PrivateKind::Ecdsa(k.into())
        } else {
            use rsa::pkcs8::DecodePrivateKey as _;
            let k = rsa::RsaPrivateKey::from_pkcs8_pem(pem)
                .or_else(|_| rsa::RsaPrivateKey::from_pkcs1_pem(pem))
                .map_err(|_| {
                    Error::InvalidKey(
                        "not a PEM RSA, ECDSA P-256 or Ed25519 private key".to_owned(),
                    )
                })?;
            PrivateKind::Rsa(Box::new(k))
        };
        let key_id = key_id(&ssh_wire(&public_kind(&kind)));
        Ok(DssePrivateKey { kind, key_id })
    }

    /// The matching public key.
    pub fn public_key(&self) -> DssePublicKey {
        DssePublicKey {
            kind: public_kind(&self.kind),
            key_id: self.key_id.clone(),
        }
    }

    fn sign(&self, message: &[u8], hash: DsseHash) -> Result<Vec<u8>> {
        let fail = |e: String| Error::SignFailed(e);
        match &self.kind {
            PrivateKind::Ed25519(k) => {
                Ok(ed25519_dalek::Signer::sign(k, message).to_bytes().to_vec())
            }
            PrivateKind::Rsa(k) => k
                .sign(hash.pkcs1v15(), &hash.digest(message))
                .map_err(|e| fail(e.to_string())),
            PrivateKind::Ecdsa(k) => {
                let sig: p256::ecdsa::Signature = k
                    .sign_prehash(&hash.digest(message))
                    .map_err(|e| fail(e.to_string()))?;
                Ok(sig.to_der().as_bytes().to_vec())
            }
        }
    }
}

fn public_kind(kind: &PrivateKind) -> PublicKind {
    match kind {
        PrivateKind::Rsa(k) => PublicKind::Rsa(k.to_public_key()),
        PrivateKind::Ecdsa(k) => PublicKind::Ecdsa(*k.verifying_key()),
        PrivateKind::Ed25519(k) => PublicKind::Ed25519(k.verifying_key()),
    }
}

/// The SSH wire encoding of a public key (RFC 4253 §6.6, RFC 5656, RFC 8709).
fn ssh_wire(kind: &PublicKind) -> Vec<u8> {
    fn string(out: &mut Vec<u8>, bytes: &[u8]) {
        let len = u32::try_from(bytes.len()).unwrap_or(u32::MAX);
        out.extend_from_slice(&len.to_be_bytes());
        out.extend_from_slice(bytes);
    }
    fn mpint(out: &mut Vec<u8>, magnitude: &[u8]) {
        let start = magnitude
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(magnitude.len());
        let trimmed = &magnitude[start..];
        let mut v = Vec::with_capacity(trimmed.len() + 1);
        if trimmed.first().is_some_and(|&b| b & 0x80 != 0) {
            v.push(0);
        }
        v.extend_from_slice(trimmed);
        string(out, &v);
    }
    let mut out = Vec::new();
    match kind {
        PublicKind::Rsa(k) => {
            string(&mut out, b"ssh-rsa");
            mpint(&mut out, &k.e().to_bytes_be());
            mpint(&mut out, &k.n().to_bytes_be());
        }
        PublicKind::Ecdsa(k) => {
            string(&mut out, b"ecdsa-sha2-nistp256");
            string(&mut out, b"nistp256");
            string(&mut out, k.to_encoded_point(false).as_bytes());
        }
        PublicKind::Ed25519(k) => {
            string(&mut out, b"ssh-ed25519");
            string(&mut out, k.as_bytes());
        }
    }
    out
}

fn key_id(wire: &[u8]) -> String {
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(sha2::Sha256::digest(wire))
    )
}

/// DSSE pre-authentication encoding.
pub(crate) fn pae(payload_type: &str, payload: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "DSSEv1 {} {} {} ",
        payload_type.len(),
        payload_type,
        payload.len()
    )
    .into_bytes();
    out.extend_from_slice(payload);
    out
}

/// A parsed envelope.
#[derive(Debug, Clone)]
pub(crate) struct Envelope {
    pub payload_type: String,
    payload: String,
    signatures: Vec<(String, String)>,
}

/// Reads the first JSON value of the blob as an envelope (fields matched as Go does);
/// `None` when it is not one.
pub(crate) fn parse_envelope(data: &[u8]) -> Option<Envelope> {
    let value = serde_json::Deserializer::from_slice(data)
        .into_iter::<Value>()
        .next()?
        .ok()?;
    let Value::Object(map) = value else {
        return None;
    };
    let text = |v: Option<&Value>| match v {
        None | Some(Value::Null) => Some(String::new()),
        Some(Value::String(s)) => Some(s.clone()),
        Some(_) => None,
    };
    let payload_type = text(metadata_field(&map, "payloadType"))?;
    let payload = text(metadata_field(&map, "payload"))?;
    let mut signatures = Vec::new();
    match metadata_field(&map, "signatures") {
        None | Some(Value::Null) => {}
        Some(Value::Array(items)) => {
            for item in items {
                match item {
                    Value::Object(s) => signatures.push((
                        text(metadata_field(s, "keyid"))?,
                        text(metadata_field(s, "sig"))?,
                    )),
                    Value::Null => signatures.push((String::new(), String::new())),
                    _ => return None,
                }
            }
        }
        Some(_) => return None,
    }
    Some(Envelope {
        payload_type,
        payload,
        signatures,
    })
}

/// Whether the blob is a SIF metadata DSSE envelope.
#[cfg(test)]
pub(crate) fn is_dsse(data: &[u8]) -> bool {
    parse_envelope(data).is_some_and(|e| e.payload_type == METADATA_MEDIA_TYPE)
}

/// Base64 as the DSSE library decodes it: standard, falling back to URL-safe.
fn b64_decode(text: &str) -> std::result::Result<Vec<u8>, String> {
    B64.decode(text)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE.decode(text))
        .map_err(|e| e.to_string())
}

/// Verifies an envelope with threshold 1 against `keys`; returns the payload and the IDs of the
/// keys that accepted it. Every key is tried against every signature (the `keyid` is a hint).
/// Errors carry the reference's wording.
pub(crate) fn verify_envelope(
    envelope: &Envelope,
    keys: &[DssePublicKey],
    hash: Option<DsseHash>,
) -> std::result::Result<(Vec<u8>, Vec<String>), String> {
    let wrap = |e: String| format!("dsse: verify envelope failed: {e}");
    if envelope.signatures.is_empty() {
        return Err(wrap("no signature found".to_owned()));
    }
    let payload = b64_decode(&envelope.payload).map_err(wrap)?;
    let message = pae(&envelope.payload_type, &payload);
    let mut unused: Vec<&DssePublicKey> = keys.iter().collect();
    let mut accepted = Vec::new();
    for (_, sig) in &envelope.signatures {
        let sig = b64_decode(sig).map_err(wrap)?;
        let Some(hash) = hash else { continue };
        if let Some(i) = unused.iter().position(|k| k.verifies(&message, &sig, hash)) {
            let key = unused.remove(i);
            if !accepted.contains(&key.key_id) {
                accepted.push(key.key_id.clone());
            }
        }
    }
    if accepted.is_empty() {
        return Err(wrap(format!(
            "accepted signatures do not match threshold, Found: {}, Expected 1",
            accepted.len()
        )));
    }
    if envelope.payload_type != METADATA_MEDIA_TYPE {
        return Err(format!(
            "unexpected DSSE payload type: {}",
            envelope.payload_type
        ));
    }
    Ok((payload, accepted))
}

/// Verifies a DSSE envelope (JSON) on its own, as the verifier does inside images: at least one
/// signature must verify with one of `keys`. Returns the payload and the IDs of the accepting
/// keys, or the reference's error text.
pub fn verify_dsse_envelope(
    envelope: &[u8],
    keys: &[DssePublicKey],
    hash: DsseHash,
) -> std::result::Result<(Vec<u8>, Vec<String>), String> {
    let envelope = parse_envelope(envelope).ok_or_else(|| "not a DSSE envelope".to_owned())?;
    verify_envelope(&envelope, keys, Some(hash))
}

/// Signs `payload` with every key and returns the envelope as compact JSON in the reference's
/// field order, without a trailing newline (the form of the reference's goldens).
pub fn encode_envelope(payload: &[u8], keys: &[DssePrivateKey], hash: DsseHash) -> Result<String> {
    let message = pae(METADATA_MEDIA_TYPE, payload);
    let mut sigs = Vec::with_capacity(keys.len());
    for key in keys {
        let sig = key.sign(&message, hash)?;
        sigs.push(format!(
            "{{\"keyid\":{},\"sig\":{}}}",
            json_string(&key.key_id),
            json_string(&B64.encode(sig))
        ));
    }
    Ok(format!(
        "{{\"payloadType\":{},\"payload\":{},\"signatures\":[{}]}}",
        json_string(METADATA_MEDIA_TYPE),
        json_string(&B64.encode(payload)),
        sigs.join(",")
    ))
}

fn json_string(s: &str) -> String {
    serde_json::Value::String(s.to_owned()).to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pae_layout() {
        assert_eq!(pae("t", b"abc"), b"DSSEv1 1 t 3 abc");
    }

    #[test]
    fn not_an_envelope() {
        assert!(!is_dsse(b"garbage"));
        assert!(!is_dsse(b"[1,2]"));
        assert!(!is_dsse(br#"{"payloadType":"other"}"#));
        assert!(is_dsse(
            br#"{"payloadType":"application/vnd.sylabs.sif-metadata+json"} trailing"#
        ));
    }
}
