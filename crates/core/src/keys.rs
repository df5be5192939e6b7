//! Keys and signatures for the app: Apptainer's keyrings, signing and verifying images,
//! turned into the views and plain-language verdicts the UI shows.

use std::path::Path;

use berth_integrity::{
    KeyInfo, KeyPaths, KeySelector, KeySource, Keyring, Linked, NewKey, NewKeyAlgorithm, Scheme,
    Selection, SignOptions, SignatureReport, SignatureStatus, VerifyOptions, VerifyReport,
};

use crate::model::{
    KeyAlgorithm, KeyView, NewKeyRequest, SignatureScheme, SignatureState, SignatureView,
    VerifyView,
};
use crate::{Error, Result};

/// Apptainer's keyrings (`~/.apptainer/keys` or `$APPTAINER_KEYSDIR`), shared with
/// `apptainer key` and `apptainer verify`.
pub struct Keys {
    keyring: Keyring,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys")
    }
}

impl Keys {
    /// The keyrings where Apptainer looks for them.
    pub fn from_env() -> Result<Self> {
        Ok(Self::at(KeyPaths::from_env().map_err(Error::from)?))
    }

    /// The keyrings at `paths` (tests).
    pub fn at(paths: KeyPaths) -> Self {
        Self {
            keyring: Keyring::open(paths),
        }
    }

    /// Every key: local public keys (marked when their secret is there too), secret-only
    /// keys, then the global keyring's.
    pub fn list(&self) -> Result<Vec<KeyView>> {
        let secrets = self.keyring.secret_keys()?;
        let publics = self.keyring.public_keys()?;
        let mut out: Vec<KeyView> = Vec::new();
        for k in &publics {
            if out
                .iter()
                .any(|v| v.fingerprint == k.fingerprint && v.global == k.global)
            {
                continue;
            }
            let secret = secrets
                .iter()
                .find(|s| s.fingerprint == k.fingerprint && !k.global);
            out.push(view(k, secret));
        }
        for s in &secrets {
            if !out.iter().any(|v| v.fingerprint == s.fingerprint) {
                out.push(view(s, Some(s)));
            }
        }
        Ok(out)
    }

    /// Creates a key pair, as `apptainer key newpair` does.
    pub fn generate(&self, req: NewKeyRequest) -> Result<KeyView> {
        let info = self.keyring.generate(NewKey {
            name: req.name,
            email: req.email,
            comment: req.comment,
            passphrase: req.passphrase.filter(|p| !p.is_empty()),
            algorithm: match req.algorithm {
                KeyAlgorithm::Rsa4096 => NewKeyAlgorithm::Rsa4096,
                KeyAlgorithm::Rsa3072 => NewKeyAlgorithm::Rsa3072,
                KeyAlgorithm::Ed25519 => NewKeyAlgorithm::Ed25519,
            },
        })?;
        self.find(&info.fingerprint)
    }

    /// Imports the keys in a file (binary or armored, public or secret).
    pub fn import_file(&self, path: &Path, new_passphrase: Option<&str>) -> Result<Vec<KeyView>> {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let imported = self
            .keyring
            .import(&bytes, new_passphrase.filter(|p| !p.is_empty()))?;
        imported.iter().map(|k| self.find(&k.fingerprint)).collect()
    }

    /// Writes a key to `dest` (atomically).
    pub fn export_file(
        &self,
        fingerprint: &str,
        secret: bool,
        armor: bool,
        dest: &Path,
    ) -> Result<()> {
        let bytes = self.keyring.export(fingerprint, secret, armor)?;
        crate::atomic_file::write(dest, &bytes)
    }

    /// Removes a key from the local keyrings; returns what is left.
    pub fn remove(&self, fingerprint: &str) -> Result<Vec<KeyView>> {
        self.keyring.remove(fingerprint)?;
        self.list()
    }

    fn find(&self, fingerprint: &str) -> Result<KeyView> {
        self.list()?
            .into_iter()
            .find(|k| k.fingerprint.eq_ignore_ascii_case(fingerprint))
            .ok_or_else(|| {
                Error::Integrity(berth_integrity::Error::KeyNotFound(fingerprint.to_owned()))
            })
    }

    /// Signs every object group of the image with the key, then verifies the result.
    pub fn sign_image(
        &self,
        path: &Path,
        fingerprint: &str,
        passphrase: Option<&str>,
    ) -> Result<VerifyView> {
        let signer = self
            .keyring
            .signer(KeySelector::Fingerprint(fingerprint.to_owned()), passphrase)?;
        berth_integrity::sign(
            path,
            &signer,
            &SignOptions {
                selection: Selection::AllGroups,
                time: None,
                deterministic: false,
            },
        )?;
        self.verify_image(path)
    }

    /// Verifies every object group of the image against the local and global keyrings.
    pub fn verify_image(&self, path: &Path) -> Result<VerifyView> {
        let certs = self.keyring.verification_certs()?;
        let opts = VerifyOptions {
            selection: Selection::AllGroups,
            legacy: false,
            legacy_all: false,
            pgp: certs,
            dsse_keys: Vec::new(),
        };
        Ok(verify_view(&berth_integrity::verify(path, &opts)?))
    }
}

fn view(k: &KeyInfo, secret: Option<&KeyInfo>) -> KeyView {
    KeyView {
        fingerprint: k.fingerprint.clone(),
        key_id: k.key_id.clone(),
        user_ids: k.user_ids.clone(),
        algorithm: k.algorithm.clone(),
        created: k.created,
        expires: k.expires,
        revoked: k.revoked,
        can_sign: k.can_sign,
        has_secret: secret.is_some(),
        protected: secret.is_some_and(|s| s.protected),
        global: k.global,
        secret_index: secret.and_then(|s| u32::try_from(s.index).ok()),
    }
}

/// The report in words: a summary, and for each signature what it means and what to do.
pub fn verify_view(r: &VerifyReport) -> VerifyView {
    let signatures: Vec<SignatureView> = r.signatures.iter().map(signature_view).collect();
    let summary = if r.ok {
        let signers: Vec<&str> = signatures
            .iter()
            .filter_map(|s| s.signer.as_deref())
            .collect();
        match signers.first() {
            Some(first) if signers.iter().all(|s| s == first) => {
                format!("Verified: signed by {first}, nothing changed since.")
            }
            _ => "Verified: every signature is valid and nothing changed since signing.".to_owned(),
        }
    } else if r.signatures.is_empty() {
        "Not signed: this image carries no signature Berth can check.".to_owned()
    } else if signatures
        .iter()
        .any(|s| s.state == SignatureState::Tampered)
    {
        "Not verified: the image was changed after it was signed.".to_owned()
    } else if signatures
        .iter()
        .any(|s| s.state == SignatureState::UnknownSigner)
    {
        "Not verified: the signer's key is not in your keyrings.".to_owned()
    } else {
        "Not verified: a signature is not valid.".to_owned()
    };
    VerifyView {
        verified: r.ok,
        summary,
        error: r.error.clone(),
        signatures,
    }
}

fn signature_view(s: &SignatureReport) -> SignatureView {
    let (state, explanation) = match &s.status {
        SignatureStatus::Valid => (SignatureState::Valid, "Valid: made by this key over the objects listed, none changed since.".to_owned()),
        SignatureStatus::UnknownSigner => (
            SignatureState::UnknownSigner,
            "The signer's public key is not in your keyrings. Import it (Keys page) if you trust its owner, then verify again.".to_owned(),
        ),
        SignatureStatus::TamperedHeader => (SignatureState::Tampered, "The image header changed after signing.".to_owned()),
        SignatureStatus::TamperedDescriptor { id } => {
            (SignatureState::Tampered, format!("The description of object {id} changed after signing."))
        }
        SignatureStatus::TamperedObject { id: 0 } => {
            (SignatureState::Tampered, "The data of the signed group changed after signing. Do not run this image.".to_owned())
        }
        SignatureStatus::TamperedObject { id } => {
            (SignatureState::Tampered, format!("The data of object {id} changed after signing. Do not run this image."))
        }
        SignatureStatus::NotSigned { id } => {
            (SignatureState::Tampered, format!("Object {id} was added to the group after signing."))
        }
        SignatureStatus::SignedObjectMissing { id } => {
            (SignatureState::Tampered, format!("Signed object {id} has been removed from the image."))
        }
        SignatureStatus::ExpiredKey | SignatureStatus::ExpiredSignature | SignatureStatus::RevokedKey => (
            SignatureState::KeyNotValid,
            "The signing key has expired or was revoked: ask the signer for a current signature.".to_owned(),
        ),
        SignatureStatus::KeyMaterialMissing => (
            SignatureState::NoKeyMaterial,
            "This signature needs key material Berth was not given (a PEM public key for DSSE signatures).".to_owned(),
        ),
        SignatureStatus::FingerprintMismatch | SignatureStatus::BadSignature | SignatureStatus::Malformed => (
            SignatureState::Invalid,
            "The signature does not verify: it is damaged or was not made by the key it names.".to_owned(),
        ),
    };
    SignatureView {
        signature_id: s.signature_id,
        scheme: match s.scheme {
            Scheme::Pgp => SignatureScheme::Pgp,
            Scheme::Dsse => SignatureScheme::Dsse,
            Scheme::Legacy => SignatureScheme::Legacy,
        },
        group: match s.linked {
            Linked::Group(g) => Some(g),
            Linked::Object(_) | Linked::None => None,
        },
        fingerprint: s.fingerprint.clone(),
        signer: s.signer.clone(),
        key_source: s.key_source.map(|k| match k {
            KeySource::Local => "local".to_owned(),
            KeySource::Global => "global".to_owned(),
        }),
        objects: s.objects.clone(),
        state,
        explanation,
        detail: s.message.clone(),
    }
}
