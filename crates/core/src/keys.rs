//! Keys and signatures for the app: Apptainer's keyrings, signing and verifying images,
//! turned into the views and plain-language verdicts the UI shows.

use std::path::Path;
use std::sync::Arc;

use berth_keyserver::Keyserver;

use berth_integrity::{
    KeyInfo, KeyPaths, KeySelector, KeySource, Keyring, Linked, NewKey, NewKeyAlgorithm, Scheme,
    Selection, SignOptions, SignatureReport, SignatureStatus, VerifyOptions, VerifyReport,
};

use crate::model::{
    KeyAlgorithm, KeyHitView, KeyView, NewKeyRequest, SignatureScheme, SignatureState,
    SignatureView, VerifyView,
};
use crate::{Error, Result, SettingsStore};

/// Apptainer's keyrings (`~/.apptainer/keys` or `$APPTAINER_KEYSDIR`), shared with
/// `apptainer key` and `apptainer verify`, and the keyservers from the settings.
pub struct Keys {
    keyring: Keyring,
    // The keyservers to use are a setting the person can change at any time.
    settings: Arc<SettingsStore>,
    // A command line's `--url`: used instead of the setting, never saved.
    keyserver_override: Option<Vec<String>>,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keys")
    }
}

impl Keys {
    /// The keyrings where Apptainer looks for them; keyservers from `settings`.
    pub fn from_env(settings: Arc<SettingsStore>) -> Result<Self> {
        Ok(Self::at(KeyPaths::from_env()?, settings))
    }

    /// The keyrings at `paths` (tests).
    pub fn at(paths: KeyPaths, settings: Arc<SettingsStore>) -> Self {
        Self {
            keyring: Keyring::open(paths),
            settings,
            keyserver_override: None,
        }
    }

    /// Uses these keyservers instead of the configured ones (not saved).
    pub fn with_keyservers(mut self, urls: Vec<String>) -> Self {
        self.keyserver_override = Some(urls);
        self
    }

    /// The folder holding the local keyrings.
    pub fn location(&self) -> String {
        self.keyring.paths().keys_dir.display().to_string()
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

    /// The configured keyservers, in order.
    pub fn keyservers(&self) -> Result<Vec<Keyserver>> {
        let urls = match &self.keyserver_override {
            Some(urls) => urls.clone(),
            None => self.settings.get()?.keyservers,
        };
        if urls.is_empty() {
            return Err(Error::NoKeyserver);
        }
        urls.iter()
            .map(|u| Keyserver::new(u).map_err(Error::from))
            .collect()
    }

    /// Searches the keyservers (the first that answers) for keys matching `query`.
    pub fn search_keyservers(&self, query: &str) -> Result<Vec<KeyHitView>> {
        let local = self.keyring.public_keys()?;
        let mut last = None;
        for server in &self.keyservers()? {
            match server.search(query) {
                Ok(hits) => {
                    return Ok(hits
                        .into_iter()
                        .map(|h| KeyHitView {
                            in_keyring: local.iter().any(|k| {
                                k.fingerprint.eq_ignore_ascii_case(&h.fingerprint)
                                    || k.key_id.eq_ignore_ascii_case(&h.fingerprint)
                            }),
                            fingerprint: h.fingerprint,
                            algorithm: h.algorithm,
                            bits: h.bits,
                            created: h.created,
                            expires: h.expires,
                            revoked: h.revoked || h.disabled || h.expired,
                            user_ids: h.user_ids,
                        })
                        .collect())
                }
                Err(e) if e.try_next_server() => last = Some(e),
                Err(e) => return Err(e.into()),
            }
        }
        Err(last.map_or(Error::NoKeyserver, Error::from))
    }

    /// Fetches a key from the keyservers into the local public keyring.
    pub fn pull(&self, fingerprint: &str) -> Result<Vec<KeyView>> {
        let (_, armored) = berth_keyserver::fetch_first(&self.keyservers()?, fingerprint)?;
        let imported = self.keyring.import(&armored, None)?;
        imported.iter().map(|k| self.find(&k.fingerprint)).collect()
    }

    /// Publishes the public part of a local key on the first keyserver; returns what the
    /// server said. Secret key material never leaves the machine.
    pub fn push(&self, fingerprint: &str) -> Result<Option<String>> {
        let public = self.keyring.export(fingerprint, false, true)?;
        let servers = self.keyservers()?;
        Ok(servers[0].submit(&public)?)
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
        let opts = SignOptions {
            selection: Selection::AllGroups,
            time: None,
            deterministic: false,
        };
        berth_integrity::sign(path, &signer, &opts)?;
        self.verify_image(path, false)
    }

    /// Verifies every object group of the image against the local and global keyrings.
    /// With `fetch_missing`, signers whose keys are not there are looked up on the
    /// keyservers for this check only (reported as "keyserver"; nothing is imported).
    pub fn verify_image(&self, path: &Path, fetch_missing: bool) -> Result<VerifyView> {
        let opts = VerifyOptions {
            selection: Selection::AllGroups,
            legacy: false,
            legacy_all: false,
            pgp: self.keyring.verification_certs()?,
            dsse_keys: Vec::new(),
        };
        let report = if fetch_missing {
            verify_fetching_missing(path, opts, &self.keyservers()?)?
        } else {
            berth_integrity::verify(path, &opts)?
        };
        Ok(verify_view(&report))
    }
}

/// Verifies; signers whose keys are not in `opts` are then looked up on `servers` (in
/// order) for this check only, and the image verified again with them, reported as
/// [`KeySource::Remote`]. Nothing is imported.
pub fn verify_fetching_missing(
    path: &Path,
    opts: VerifyOptions,
    servers: &[Keyserver],
) -> Result<VerifyReport> {
    let report = berth_integrity::verify(path, &opts)?;
    let missing = missing_signers(&report);
    if missing.is_empty() {
        return Ok(report);
    }
    verify_with_fetched(path, opts, servers, &missing)
}

/// Fingerprints of signers whose keys were not available.
pub fn missing_signers(report: &VerifyReport) -> Vec<String> {
    report
        .signatures
        .iter()
        .filter(|s| s.status == SignatureStatus::UnknownSigner)
        .filter_map(|s| s.fingerprint.clone())
        .collect()
}

/// Fetches `missing` signer keys from `servers` and verifies again with them.
pub fn verify_with_fetched(
    path: &Path,
    mut opts: VerifyOptions,
    servers: &[Keyserver],
    missing: &[String],
) -> Result<VerifyReport> {
    for fpr in missing {
        // A key no keyserver has leaves that signer unknown; the others still count.
        let armored = match berth_keyserver::fetch_first(servers, fpr) {
            Ok((_, armored)) => armored,
            Err(berth_keyserver::Error::NotFound) => continue,
            Err(e) => return Err(e.into()),
        };
        for cert in berth_integrity::parse_key_material(&armored)? {
            opts.pgp.push((cert, KeySource::Remote));
        }
    }
    Ok(berth_integrity::verify(path, &opts)?)
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
            KeySource::Remote => "keyserver".to_owned(),
        }),
        objects: s.objects.clone(),
        state,
        explanation,
        detail: s.message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_testkit::{KeystoreDouble, KeystoreOptions};

    fn testdata(rel: &str) -> std::path::PathBuf {
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/testdata/sif")
            .join(rel)
    }

    struct Fixture {
        _dirs: tempfile::TempDir,
        keys: Keys,
        image: std::path::PathBuf,
        double: KeystoreDouble,
    }

    /// An image signed by the "SingularityCE Tests" key, which only the keyserver has.
    fn fixture() -> Fixture {
        let dirs = tempfile::tempdir().unwrap();
        let double = KeystoreDouble::start(KeystoreOptions::default()).unwrap();
        double.add_armored(&std::fs::read(testdata("keys/apptainer/pgp-public.asc")).unwrap());
        let settings = Arc::new(SettingsStore::new(&crate::AppDirs::at(
            dirs.path().join("config"),
        )));
        settings.set_keyservers(vec![double.url()]).unwrap();
        let keys = Keys::at(KeyPaths::at(dirs.path().join("keys")), settings);
        let image = dirs.path().join("signed.sif");
        std::fs::copy(
            testdata("images/apptainer/one-group-signed-pgp.sif"),
            &image,
        )
        .unwrap();
        Fixture {
            _dirs: dirs,
            keys,
            image,
            double,
        }
    }

    #[test]
    fn a_missing_signer_key_is_fetched_only_when_asked_and_not_imported() {
        let f = fixture();
        let local = f.keys.verify_image(&f.image, false).unwrap();
        assert!(!local.verified);
        assert_eq!(local.signatures[0].state, SignatureState::UnknownSigner);

        let fetched = f.keys.verify_image(&f.image, true).unwrap();
        assert!(fetched.verified, "{fetched:?}");
        assert_eq!(
            fetched.signatures[0].key_source.as_deref(),
            Some("keyserver")
        );
        assert_eq!(
            fetched.signatures[0].signer.as_deref(),
            Some("SingularityCE Tests <singularityce@example.com>")
        );
        assert!(
            f.keys.list().unwrap().is_empty(),
            "fetching for a check imports nothing"
        );
    }

    #[test]
    fn search_pull_then_verify_locally_and_push_a_new_key() {
        let f = fixture();
        let hits = f.keys.search_keyservers("singularityce").unwrap();
        assert_eq!(hits.len(), 1);
        assert!(!hits[0].in_keyring);
        let pulled = f.keys.pull(&hits[0].fingerprint).unwrap();
        assert_eq!(
            pulled[0].fingerprint,
            "F34371D0ACD5D09EB9BD853A80600A5FA11BBD29"
        );
        assert!(f.keys.search_keyservers("singularityce").unwrap()[0].in_keyring);
        let v = f.keys.verify_image(&f.image, false).unwrap();
        assert!(v.verified);
        assert_eq!(v.signatures[0].key_source.as_deref(), Some("local"));

        let mine = f
            .keys
            .generate(NewKeyRequest {
                name: "Pusher".into(),
                email: "push@example.org".into(),
                comment: String::new(),
                passphrase: None,
                algorithm: KeyAlgorithm::Ed25519,
            })
            .unwrap();
        f.keys.push(&mine.fingerprint).unwrap();
        let sent = f.double.submitted();
        assert_eq!(sent.len(), 1);
        let certs = berth_integrity::parse_key_material(&sent[0]).unwrap();
        assert!(!certs[0].is_tsk(), "only the public key leaves the machine");
        assert_eq!(
            f.keys.search_keyservers("push@example.org").unwrap().len(),
            1
        );
    }

    #[test]
    fn an_unreachable_keyserver_is_a_clear_error() {
        let mut f = fixture();
        f.double.stop();
        let err = f.keys.verify_image(&f.image, true).unwrap_err();
        assert_eq!(err.code(), "keyserver.unreachable");
    }
}
