//! Key material ready to sign: an unlocked OpenPGP key (the modern scheme Apptainer uses by
//! default) or PEM keys for DSSE envelopes (`apptainer sign --key`).

use sequoia_openpgp as openpgp;

use openpgp::crypto::{KeyPair, Password};
use openpgp::packet::key::SecretKeyMaterial;
use openpgp::policy::StandardPolicy;
use openpgp::Cert;

use crate::digest::encode_hex_upper;
use crate::dsse::{DsseHash, DssePrivateKey};
use crate::error::{Error, Result};

/// Something that can sign SIF images.
pub struct Signer {
    pub(crate) kind: SignerKind,
}

pub(crate) enum SignerKind {
    Pgp(Box<PgpSigner>),
    Dsse {
        keys: Vec<DssePrivateKey>,
        hash: DsseHash,
    },
}

pub(crate) struct PgpSigner {
    pub keypair: KeyPair,
    /// The primary key's v4 fingerprint, stored in the signature descriptor.
    pub primary_fingerprint: [u8; 20],
    pub user_id: Option<String>,
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.kind {
            SignerKind::Pgp(p) => f
                .debug_struct("Signer")
                .field("fingerprint", &encode_hex_upper(&p.primary_fingerprint))
                .field("user_id", &p.user_id)
                .finish(),
            SignerKind::Dsse { keys, hash } => f
                .debug_struct("Signer")
                .field("dsse_keys", &keys.len())
                .field("hash", hash)
                .finish(),
        }
    }
}

impl Signer {
    /// Unlocks the signing key of an OpenPGP certificate that carries secret key material.
    ///
    /// Like Apptainer, the primary key signs when it may; otherwise the first valid signing
    /// subkey with secret material does. The descriptor always records the primary key's
    /// fingerprint. A protected key needs `passphrase`; a wrong one gives
    /// [`Error::BadPassphrase`].
    pub fn from_cert(cert: &Cert, passphrase: Option<&str>) -> Result<Signer> {
        let fingerprint = cert.fingerprint().to_hex();
        let cannot = |reason: &str| Error::CannotSign {
            fingerprint: fingerprint.clone(),
            reason: reason.to_owned(),
        };
        let primary_fingerprint: [u8; 20] = cert
            .fingerprint()
            .as_bytes()
            .try_into()
            .map_err(|_| cannot("only v4 keys can sign SIF images"))?;
        let policy = StandardPolicy::new();
        let vc = cert
            .with_policy(&policy, None)
            .map_err(|e| cannot(&format!("no valid self-signature: {e}")))?;
        if matches!(
            vc.revocation_status(),
            openpgp::types::RevocationStatus::Revoked(_)
        ) {
            return Err(cannot("the key is revoked"));
        }
        if vc.primary_key().alive().is_err() {
            return Err(cannot("the key has expired"));
        }
        let key = vc
            .keys()
            .for_signing()
            .alive()
            .revoked(false)
            .secret()
            .next()
            .ok_or_else(|| cannot("no signing-capable key with secret key material"))?;
        let key = key.key().clone();
        let unlocked = match key.optional_secret() {
            Some(SecretKeyMaterial::Unencrypted(_)) => key,
            Some(SecretKeyMaterial::Encrypted(_)) => {
                let pass = passphrase.ok_or_else(|| Error::PassphraseRequired {
                    fingerprint: fingerprint.clone(),
                })?;
                key.decrypt_secret(&Password::from(pass))
                    .map_err(|_| Error::BadPassphrase {
                        fingerprint: fingerprint.clone(),
                    })?
            }
            None => return Err(cannot("no secret key material")),
        };
        let keypair = unlocked
            .into_keypair()
            .map_err(|e| cannot(&e.to_string()))?;
        let user_id = primary_user_id(cert);
        Ok(Signer {
            kind: SignerKind::Pgp(Box::new(PgpSigner {
                keypair,
                primary_fingerprint,
                user_id,
            })),
        })
    }

    /// A DSSE signer: every key signs the envelope. `hash` is used by RSA and ECDSA keys and
    /// recorded in the descriptor.
    pub fn dsse(keys: Vec<DssePrivateKey>, hash: DsseHash) -> Result<Signer> {
        if keys.is_empty() {
            return Err(Error::InvalidKey("no DSSE signing key given".to_owned()));
        }
        Ok(Signer {
            kind: SignerKind::Dsse { keys, hash },
        })
    }

    /// A DSSE signer from one PEM private key, SHA-256, as `apptainer sign --key` makes.
    pub fn dsse_from_pem(pem: &str) -> Result<Signer> {
        Signer::dsse(vec![DssePrivateKey::from_pem(pem)?], DsseHash::Sha256)
    }

    /// The OpenPGP primary fingerprint (40 uppercase hex digits); `None` for DSSE.
    pub fn fingerprint(&self) -> Option<String> {
        match &self.kind {
            SignerKind::Pgp(p) => Some(encode_hex_upper(&p.primary_fingerprint)),
            SignerKind::Dsse { .. } => None,
        }
    }

    /// The primary user ID of the OpenPGP key; `None` for DSSE.
    pub fn user_id(&self) -> Option<String> {
        match &self.kind {
            SignerKind::Pgp(p) => p.user_id.clone(),
            SignerKind::Dsse { .. } => None,
        }
    }
}

/// The primary user ID under the standard policy, else the first one.
pub(crate) fn primary_user_id(cert: &Cert) -> Option<String> {
    let policy = StandardPolicy::new();
    let from_policy = cert
        .with_policy(&policy, None)
        .ok()
        .and_then(|vc| vc.primary_userid().ok().map(|u| u.userid().clone()));
    from_policy
        .or_else(|| cert.userids().next().map(|u| u.userid().clone()))
        .map(|u| String::from_utf8_lossy(u.value()).into_owned())
}
