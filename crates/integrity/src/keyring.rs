//! Apptainer's OpenPGP keyrings (sif-signing.md §9): `pgp-public` and `pgp-secret` in the keys
//! directory, binary concatenations of transferable keys, plus a read-only global public
//! keyring.
//!
//! Safety rules: a keyring file that does not parse is never written (the operation fails with
//! [`Error::KeyringCorrupt`]); every write goes to a temporary file in the same directory that
//! is synced and renamed over the original; the directory is kept at mode 0700 and the files at
//! 0600. New keys are appended after the existing bytes, which stay untouched, as Apptainer
//! appends; merges and removals re-serialise the keyring, as Apptainer does.

use std::fs;
use std::path::Path;

use sequoia_openpgp as openpgp;
use serde::Serialize;

use openpgp::cert::prelude::*;
use openpgp::crypto::Password;
use openpgp::packet::key::SecretKeyMaterial;
use openpgp::policy::StandardPolicy;
use openpgp::serialize::SerializeInto as _;
use openpgp::types::{KeyFlags, PublicKeyAlgorithm, RevocationStatus};
use openpgp::{Cert, Packet};

use crate::error::{Error, Result};
use crate::keyfile::{
    parse_certs, public_bytes, read_keyring, tsk_bytes, write_appended, write_rewritten,
};
use crate::keypaths::KeyPaths;
use crate::signer::{primary_user_id, Signer};

/// Where a verification key came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum KeySource {
    /// The user's keyring.
    Local,
    /// The admin-managed global keyring.
    Global,
    /// Fetched from a keyserver for this verification only (not imported).
    Remote,
}

/// One key as listed by `apptainer key list`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyInfo {
    /// Position in its keyring file, counted from 0 as `--keyidx` counts.
    pub index: usize,
    /// Primary key fingerprint, 40 uppercase hex digits.
    pub fingerprint: String,
    /// Primary key ID, 16 uppercase hex digits.
    pub key_id: String,
    /// User IDs, primary first as stored.
    pub user_ids: Vec<String>,
    /// Primary key algorithm and size, e.g. "RSA 4096", "EdDSA Ed25519".
    pub algorithm: String,
    /// Creation time of the primary key, Unix seconds.
    pub created: i64,
    /// Expiry of the primary key, Unix seconds.
    pub expires: Option<i64>,
    /// Whether the certificate is revoked.
    pub revoked: bool,
    /// Whether a valid signing key is available (in a secret listing: with secret material).
    pub can_sign: bool,
    /// Whether secret key material is present.
    pub has_secret: bool,
    /// Whether the secret key material needs a passphrase.
    pub protected: bool,
    /// Whether the key comes from the global keyring.
    pub global: bool,
}

/// Algorithm for new keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum NewKeyAlgorithm {
    /// RSA 4096, Apptainer's default.
    #[default]
    Rsa4096,
    /// RSA 3072.
    Rsa3072,
    /// EdDSA (Ed25519) signing key with a Curve25519 encryption subkey.
    Ed25519,
}

/// What `apptainer key newpair` asks for.
#[derive(Debug, Clone, Default)]
pub struct NewKey {
    /// Real name.
    pub name: String,
    /// Email address.
    pub email: String,
    /// Optional comment (empty for none).
    pub comment: String,
    /// Passphrase protecting the secret keys; `None` leaves them unprotected.
    pub passphrase: Option<String>,
    /// Key algorithm.
    pub algorithm: NewKeyAlgorithm,
}

/// How to pick a secret key.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySelector {
    /// By fingerprint (40 hex digits) or key ID (16 hex digits), any case, spaces ignored.
    Fingerprint(String),
    /// By position in the secret keyring, from 0 (`--keyidx`).
    Index(usize),
}

/// The keyrings at one set of [`KeyPaths`].
#[derive(Debug, Clone)]
pub struct Keyring {
    paths: KeyPaths,
}

impl Keyring {
    /// Uses the keyrings at `paths`. Nothing is read until asked.
    pub fn open(paths: KeyPaths) -> Self {
        Keyring { paths }
    }

    /// The locations in use.
    pub fn paths(&self) -> &KeyPaths {
        &self.paths
    }

    /// Local public keys, then global ones (`global: true`); each list indexed from 0.
    pub fn public_keys(&self) -> Result<Vec<KeyInfo>> {
        let mut out: Vec<KeyInfo> = read_keyring(&self.paths.public_keyring())?
            .certs
            .iter()
            .enumerate()
            .map(|(i, c)| key_info(i, c, false, false))
            .collect();
        if let Some(global) = &self.paths.global_public {
            out.extend(
                read_keyring(global)?
                    .certs
                    .iter()
                    .enumerate()
                    .map(|(i, c)| key_info(i, c, true, false)),
            );
        }
        Ok(out)
    }

    /// Keys in the secret keyring.
    pub fn secret_keys(&self) -> Result<Vec<KeyInfo>> {
        Ok(read_keyring(&self.paths.secret_keyring())?
            .certs
            .iter()
            .enumerate()
            .map(|(i, c)| key_info(i, c, false, true))
            .collect())
    }

    /// Makes a new key pair and appends it to both keyrings, like `apptainer key newpair`:
    /// OpenPGP v4, a primary key that certifies and signs, an encryption subkey, no expiry.
    pub fn generate(&self, new: NewKey) -> Result<KeyInfo> {
        let user_id = format_user_id(&new.name, &new.comment, &new.email)?;
        // Read both first so that a damaged keyring stops us before anything is created.
        let secret = read_keyring(&self.paths.secret_keyring())?;
        let public = read_keyring(&self.paths.public_keyring())?;
        let suite = match new.algorithm {
            NewKeyAlgorithm::Rsa4096 => CipherSuite::RSA4k,
            NewKeyAlgorithm::Rsa3072 => CipherSuite::RSA3k,
            NewKeyAlgorithm::Ed25519 => CipherSuite::Cv25519,
        };
        let (cert, _revocation) = CertBuilder::new()
            .set_cipher_suite(suite)
            .set_profile(openpgp::Profile::RFC4880)
            .map_err(|e| Error::SignFailed(e.to_string()))?
            .set_primary_key_flags(KeyFlags::empty().set_certification().set_signing())
            .add_userid(user_id)
            .add_subkey(
                KeyFlags::empty()
                    .set_transport_encryption()
                    .set_storage_encryption(),
                None,
                None,
            )
            .set_validity_period(None)
            .set_password(new.passphrase.as_deref().map(Password::from))
            .generate()
            .map_err(|e| Error::SignFailed(format!("key generation failed: {e}")))?;

        self.ensure_dir()?;
        write_appended(&self.paths.secret_keyring(), &secret, &tsk_bytes(&cert)?)?;
        write_appended(&self.paths.public_keyring(), &public, &public_bytes(&cert)?)?;
        Ok(key_info(secret.certs.len(), &cert, false, true))
    }

    /// Imports keys (binary or ASCII-armoured, public and/or secret). See
    /// [`Keyring::import_with_passphrase`]; here the current passphrase of protected imported
    /// keys is taken to be `new_passphrase`.
    pub fn import(&self, bytes: &[u8], new_passphrase: Option<&str>) -> Result<Vec<KeyInfo>> {
        self.import_with_passphrase(bytes, new_passphrase, new_passphrase)
    }

    /// Imports keys. Certificates already present (same fingerprint) are merged. Secret keys
    /// go to the secret keyring and their public part to the public keyring.
    ///
    /// With `new_passphrase`, imported secret keys are stored protected by it: unprotected ones
    /// are encrypted, protected ones are first unlocked with `passphrase`
    /// ([`Error::BadPassphrase`] if it does not fit). Without it, secret keys are stored as
    /// they come. Fails with [`Error::KeyExists`] when nothing new was imported.
    pub fn import_with_passphrase(
        &self,
        bytes: &[u8],
        passphrase: Option<&str>,
        new_passphrase: Option<&str>,
    ) -> Result<Vec<KeyInfo>> {
        let imported = parse_certs(bytes)?;
        let mut secret = read_keyring(&self.paths.secret_keyring())?;
        let mut public = read_keyring(&self.paths.public_keyring())?;
        let (mut secret_changed, mut public_changed) = (false, false);
        let mut infos = Vec::new();
        let mut last_fingerprint = String::new();
        for cert in imported {
            last_fingerprint = cert.fingerprint().to_hex();
            let cert = match new_passphrase {
                Some(new) if cert.is_tsk() => reprotect(cert, passphrase, new)?,
                _ => cert,
            };
            if cert.is_tsk() {
                let (index, changed) = merge_into(&mut secret.certs, cert.clone())?;
                secret_changed |= changed;
                infos.push(key_info(index, &secret.certs[index], false, true));
            }
            let (index, changed) = merge_into(&mut public.certs, cert.strip_secret_key_material())?;
            public_changed |= changed;
            if !infos
                .iter()
                .any(|i: &KeyInfo| i.fingerprint == last_fingerprint)
            {
                infos.push(key_info(index, &public.certs[index], false, false));
            }
        }
        if !secret_changed && !public_changed {
            return Err(Error::KeyExists(last_fingerprint));
        }
        self.ensure_dir()?;
        if secret_changed {
            write_rewritten(&self.paths.secret_keyring(), &secret, true)?;
        }
        if public_changed {
            write_rewritten(&self.paths.public_keyring(), &public, false)?;
        }
        Ok(infos)
    }

    /// Exports a key: the secret key (from the secret keyring) or the public key (local, then
    /// global keyring), binary or ASCII-armoured.
    pub fn export(&self, fingerprint: &str, secret: bool, armor: bool) -> Result<Vec<u8>> {
        let wanted = normalize_fingerprint(fingerprint);
        let cert = if secret {
            find(&read_keyring(&self.paths.secret_keyring())?.certs, &wanted)
        } else {
            let mut found = find(&read_keyring(&self.paths.public_keyring())?.certs, &wanted);
            if found.is_none() {
                if let Some(global) = &self.paths.global_public {
                    found = find(&read_keyring(global)?.certs, &wanted);
                }
            }
            found
        }
        .ok_or_else(|| Error::KeyNotFound(fingerprint.to_owned()))?;
        let fail = |e: anyhow::Error| Error::InvalidKey(e.to_string());
        match (secret, armor) {
            (true, true) => cert.as_tsk().armored().to_vec().map_err(fail),
            (true, false) => tsk_bytes(&cert),
            (false, true) => cert.armored().to_vec().map_err(fail),
            (false, false) => public_bytes(&cert),
        }
    }

    /// Removes a key from both local keyrings. The global keyring is never modified: a key
    /// found only there gives [`Error::ReadOnlyKeyring`].
    pub fn remove(&self, fingerprint: &str) -> Result<()> {
        let wanted = normalize_fingerprint(fingerprint);
        let mut secret = read_keyring(&self.paths.secret_keyring())?;
        let mut public = read_keyring(&self.paths.public_keyring())?;
        let before = (secret.certs.len(), public.certs.len());
        secret.certs.retain(|c| !matches_fingerprint(c, &wanted));
        public.certs.retain(|c| !matches_fingerprint(c, &wanted));
        if (secret.certs.len(), public.certs.len()) == before {
            if let Some(global) = &self.paths.global_public {
                if find(&read_keyring(global)?.certs, &wanted).is_some() {
                    return Err(Error::ReadOnlyKeyring(global.clone()));
                }
            }
            return Err(Error::KeyNotFound(fingerprint.to_owned()));
        }
        if secret.certs.len() != before.0 {
            write_rewritten(&self.paths.secret_keyring(), &secret, true)?;
        }
        if public.certs.len() != before.1 {
            write_rewritten(&self.paths.public_keyring(), &public, false)?;
        }
        Ok(())
    }

    /// Unlocks a secret key for signing.
    pub fn signer(&self, key: KeySelector, passphrase: Option<&str>) -> Result<Signer> {
        let secret = read_keyring(&self.paths.secret_keyring())?;
        let cert = match &key {
            KeySelector::Index(i) => secret.certs.get(*i).cloned(),
            KeySelector::Fingerprint(f) => find(&secret.certs, &normalize_fingerprint(f)),
        }
        .ok_or_else(|| {
            Error::KeyNotFound(match key {
                KeySelector::Index(i) => format!("index {i}"),
                KeySelector::Fingerprint(f) => f,
            })
        })?;
        Signer::from_cert(&cert, passphrase)
    }

    /// Certificates to verify with: global first, then local, as Apptainer chains them.
    pub fn verification_certs(&self) -> Result<Vec<(Cert, KeySource)>> {
        let mut out = Vec::new();
        if let Some(global) = &self.paths.global_public {
            out.extend(
                read_keyring(global)?
                    .certs
                    .into_iter()
                    .map(|c| (c, KeySource::Global)),
            );
        }
        out.extend(
            read_keyring(&self.paths.public_keyring())?
                .certs
                .into_iter()
                .map(|c| (c, KeySource::Local)),
        );
        Ok(out)
    }

    /// Creates the keys directory if needed and forces it to 0700, as Apptainer does.
    fn ensure_dir(&self) -> Result<()> {
        let dir = &self.paths.keys_dir;
        fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            fs::set_permissions(dir, fs::Permissions::from_mode(0o700))
                .map_err(|e| Error::io(dir, e))?;
        }
        Ok(())
    }
}

/// Merges `cert` into the list (or appends it); returns its index and whether anything changed.
fn merge_into(certs: &mut Vec<Cert>, cert: Cert) -> Result<(usize, bool)> {
    let fail = |e: anyhow::Error| Error::InvalidKey(e.to_string());
    if let Some(i) = certs
        .iter()
        .position(|c| c.fingerprint() == cert.fingerprint())
    {
        let old = certs[i].clone();
        let merged = old.clone().merge_public_and_secret(cert).map_err(fail)?;
        let changed = tsk_bytes(&merged)? != tsk_bytes(&old)?;
        certs[i] = merged;
        Ok((i, changed))
    } else {
        certs.push(cert);
        Ok((certs.len() - 1, true))
    }
}

/// Re-protects all secret key material with `new`, unlocking protected keys with `current`.
fn reprotect(cert: Cert, current: Option<&str>, new: &str) -> Result<Cert> {
    let fingerprint = cert.fingerprint().to_hex();
    let new = Password::from(new);
    let mut packets: Vec<Packet> = Vec::new();
    for ka in cert.keys().secret() {
        let key = ka.key().clone();
        let unlocked = match key.optional_secret() {
            Some(SecretKeyMaterial::Encrypted(_)) => {
                let pass = current.ok_or_else(|| Error::PassphraseRequired {
                    fingerprint: fingerprint.clone(),
                })?;
                key.decrypt_secret(&Password::from(pass))
                    .map_err(|_| Error::BadPassphrase {
                        fingerprint: fingerprint.clone(),
                    })?
            }
            _ => key,
        };
        let locked = unlocked
            .encrypt_secret(&new)
            .map_err(|e| Error::InvalidKey(e.to_string()))?;
        packets.push(if ka.primary() {
            Packet::from(locked.role_into_primary())
        } else {
            Packet::from(locked.role_into_subordinate())
        });
    }
    let (cert, _) = cert
        .insert_packets(packets)
        .map_err(|e| Error::InvalidKey(e.to_string()))?;
    Ok(cert)
}

/// Uppercase hex without spaces or a `0x` prefix.
fn normalize_fingerprint(text: &str) -> String {
    let cleaned: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    let cleaned = cleaned
        .strip_prefix("0x")
        .or_else(|| cleaned.strip_prefix("0X"))
        .unwrap_or(&cleaned);
    cleaned.to_ascii_uppercase()
}

fn matches_fingerprint(cert: &Cert, wanted: &str) -> bool {
    !wanted.is_empty() && (cert.fingerprint().to_hex() == wanted || cert.keyid().to_hex() == wanted)
}

fn find(certs: &[Cert], wanted: &str) -> Option<Cert> {
    certs
        .iter()
        .find(|c| matches_fingerprint(c, wanted))
        .cloned()
}

/// `Name (Comment) <email>`, leaving out empty parts, as Go's OpenPGP library builds it.
fn format_user_id(name: &str, comment: &str, email: &str) -> Result<String> {
    let bad = |field: &str, s: &str| {
        s.contains(['(', ')', '<', '>', '\0'])
            .then(|| Error::InvalidKey(format!("{field} may not contain ()<> or NUL")))
    };
    if let Some(e) = bad("name", name)
        .or_else(|| bad("comment", comment))
        .or_else(|| bad("email", email))
    {
        return Err(e);
    }
    let (name, comment, email) = (name.trim(), comment.trim(), email.trim());
    if name.is_empty() && email.is_empty() {
        return Err(Error::InvalidKey(
            "a name or an email is required".to_owned(),
        ));
    }
    let mut uid = name.to_owned();
    for part in [
        (!comment.is_empty()).then(|| format!("({comment})")),
        (!email.is_empty()).then(|| format!("<{email}>")),
    ]
    .into_iter()
    .flatten()
    {
        if !uid.is_empty() {
            uid.push(' ');
        }
        uid.push_str(&part);
    }
    Ok(uid)
}

/// "RSA 4096", "EdDSA Ed25519", "ECDSA NIST P-256", …
fn algorithm_name(cert: &Cert) -> String {
    use openpgp::crypto::mpi::PublicKey as Mpi;
    let key = cert.primary_key().key();
    #[allow(deprecated)]
    let name = match key.pk_algo() {
        PublicKeyAlgorithm::RSAEncryptSign
        | PublicKeyAlgorithm::RSASign
        | PublicKeyAlgorithm::RSAEncrypt => "RSA".to_owned(),
        PublicKeyAlgorithm::DSA => "DSA".to_owned(),
        PublicKeyAlgorithm::ECDSA => "ECDSA".to_owned(),
        PublicKeyAlgorithm::EdDSA => "EdDSA".to_owned(),
        other => other.to_string(),
    };
    let size = match key.mpis() {
        Mpi::EdDSA { curve, .. } | Mpi::ECDSA { curve, .. } | Mpi::ECDH { curve, .. } => {
            Some(curve.to_string())
        }
        Mpi::Ed25519 { .. } => None,
        mpis => mpis.bits().map(|b| b.to_string()),
    };
    match size {
        Some(size) => format!("{name} {size}"),
        None => name,
    }
}

fn unix(t: std::time::SystemTime) -> i64 {
    match t.duration_since(std::time::UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

fn key_info(index: usize, cert: &Cert, global: bool, secret_listing: bool) -> KeyInfo {
    let policy = StandardPolicy::new();
    let vc = cert.with_policy(&policy, None).ok();
    let primary_uid = primary_user_id(cert);
    let mut user_ids: Vec<String> = primary_uid.iter().cloned().collect();
    for u in cert.userids() {
        let text = String::from_utf8_lossy(u.userid().value()).into_owned();
        if !user_ids.contains(&text) {
            user_ids.push(text);
        }
    }
    let revoked = matches!(
        cert.revocation_status(&policy, None),
        RevocationStatus::Revoked(_)
    );
    let can_sign = vc.as_ref().is_some_and(|vc| {
        vc.primary_key().alive().is_ok()
            && vc
                .keys()
                .for_signing()
                .alive()
                .revoked(false)
                .any(|ka| !secret_listing || ka.key().has_secret())
    }) && !revoked;
    let has_secret = cert.keys().secret().next().is_some();
    let protected = cert.keys().secret().any(|ka| {
        matches!(
            ka.key().optional_secret(),
            Some(SecretKeyMaterial::Encrypted(_))
        )
    });
    KeyInfo {
        index,
        fingerprint: cert.fingerprint().to_hex(),
        key_id: cert.keyid().to_hex(),
        user_ids,
        algorithm: algorithm_name(cert),
        created: unix(cert.primary_key().key().creation_time()),
        expires: vc
            .as_ref()
            .and_then(|vc| vc.primary_key().key_expiration_time())
            .map(unix),
        revoked,
        can_sign,
        has_secret,
        protected,
        global,
    }
}

/// Reads the certificates of a keyring file (for callers holding a path, e.g. a global
/// keyring elsewhere).
pub fn read_certs(path: &Path) -> Result<Vec<Cert>> {
    Ok(read_keyring(path)?.certs)
}

/// Parses certificates from bytes (binary or armoured), e.g. a key file given on the command
/// line. Use this rather than Sequoia's parsers directly: it also accepts the non-canonical
/// signature encodings of keys made by Go's OpenPGP library (Apptainer, Singularity), whose
/// self-signatures Sequoia would otherwise discard.
pub fn parse_key_material(bytes: &[u8]) -> Result<Vec<Cert>> {
    parse_certs(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_ids() {
        assert_eq!(format_user_id("A", "c", "a@b").unwrap(), "A (c) <a@b>");
        assert_eq!(format_user_id("A", "", "a@b").unwrap(), "A <a@b>");
        assert_eq!(format_user_id("", "", "a@b").unwrap(), "<a@b>");
        assert!(format_user_id("A<", "", "").is_err());
        assert!(format_user_id("", "c", "").is_err());
    }

    #[test]
    fn fingerprints() {
        assert_eq!(normalize_fingerprint("0xab cd"), "ABCD");
    }
}
