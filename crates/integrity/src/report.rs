//! What verification reports: per signature and overall, serialisable for the CLI's JSON and
//! the UI.

use berth_sif::Link;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::keyring::KeySource;

/// Signature encoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Scheme {
    /// Modern OpenPGP clear-signed metadata.
    Pgp,
    /// DSSE envelope.
    Dsse,
    /// Legacy `SIFHASH` signature.
    Legacy,
}

/// What a signature object is linked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Linked {
    /// Nothing.
    None,
    /// An object ID.
    Object(u32),
    /// An object group.
    Group(u32),
}

impl From<Link> for Linked {
    fn from(link: Link) -> Self {
        match link {
            Link::None => Linked::None,
            Link::Object(id) => Linked::Object(id),
            Link::Group(g) => Linked::Group(g),
        }
    }
}

/// Outcome of one signature.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum SignatureStatus {
    /// Signature and everything it covers check out.
    Valid,
    /// No key in the keyring made this signature.
    UnknownSigner,
    /// The signature does not verify.
    BadSignature,
    /// The signature object cannot be decoded (unknown format, bad JSON, unsupported hash).
    Malformed,
    /// The signing key has expired.
    ExpiredKey,
    /// The signature (or a binding signature) has expired.
    ExpiredSignature,
    /// The signing key is revoked.
    RevokedKey,
    /// The header changed since signing.
    TamperedHeader,
    /// An object's descriptor changed since signing.
    TamperedDescriptor {
        /// The object.
        id: u32,
    },
    /// An object's data changed since signing; `id` is 0 for a legacy group signature, whose
    /// digest covers all objects of the group together.
    TamperedObject {
        /// The object.
        id: u32,
    },
    /// An object of the group is not covered by the signature.
    NotSigned {
        /// The object.
        id: u32,
    },
    /// The signature covers an object the image no longer has.
    SignedObjectMissing {
        /// The object.
        id: u32,
    },
    /// The descriptor names a different signer than the one who signed.
    FingerprintMismatch,
    /// No key material of the signature's kind was supplied.
    KeyMaterialMissing,
}

/// Result for one signature object that verification examined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureReport {
    /// ID of the signature object.
    pub signature_id: u32,
    /// Its encoding.
    pub scheme: Scheme,
    /// What it is linked to.
    pub linked: Linked,
    /// Signer fingerprint (40 uppercase hex): the verifying key's when known, else the one
    /// recorded in the descriptor.
    pub fingerprint: Option<String>,
    /// Primary user ID of the verifying key.
    pub signer: Option<String>,
    /// Which keyring the verifying key came from.
    pub key_source: Option<KeySource>,
    /// DSSE: key IDs of the supplied keys that accepted the envelope.
    pub dsse_key_ids: Vec<String>,
    /// Objects verified by this signature.
    pub objects: Vec<u32>,
    /// Outcome.
    pub status: SignatureStatus,
    /// The reference's error text when not valid.
    pub message: Option<String>,
}

/// The result of [`crate::verify`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Whether verification succeeded.
    pub ok: bool,
    /// The reference's exact error text, e.g. `integrity: signature not found for object group 1`.
    pub error: Option<String>,
    /// Every signature examined, in order; verification stops at the first failure.
    pub signatures: Vec<SignatureReport>,
}

impl VerifyReport {
    /// The error code of a failed verification: `integrity.no_signatures` when signatures are
    /// missing, else `integrity.verify_failed`.
    pub fn error_code(&self) -> Option<&'static str> {
        self.error.as_ref().map(|e| {
            if e.contains("signature not found") {
                "integrity.no_signatures"
            } else {
                "integrity.verify_failed"
            }
        })
    }

    /// The report when verification succeeded, else the matching [`Error`].
    pub fn into_result(self) -> Result<VerifyReport> {
        match &self.error {
            None => Ok(self),
            Some(e) if self.error_code() == Some("integrity.no_signatures") => {
                Err(Error::NoSignatures(e.clone()))
            }
            Some(e) => Err(Error::VerifyFailed(e.clone())),
        }
    }

    /// Every object verified by some signature, ascending.
    pub fn verified_objects(&self) -> Vec<u32> {
        let mut ids: Vec<u32> = self
            .signatures
            .iter()
            .flat_map(|s| s.objects.iter().copied())
            .collect();
        ids.sort_unstable();
        ids.dedup();
        ids
    }
}

/// Fingerprints recorded in the signature descriptors of what `opts` selects, as the
/// reference's `AnySignedBy`/`AllSignedBy` compute them. Nothing is verified cryptographically:
/// use it after a successful [`crate::verify`], e.g. to enforce required signers (Apptainer's ECL).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct SignedBy {
    /// Fingerprints that signed at least one selected task, sorted.
    pub any: Vec<String>,
    /// Fingerprints that signed every selected task, sorted.
    pub all: Vec<String>,
}
