//! Signing and verification of SIF images exactly as Apptainer and `sylabs/sif` do, and
//! Apptainer's OpenPGP keyrings. The rules are in `shared/docs/sif-signing.md`.
//!
//! * [`sign`] adds modern signatures: one OpenPGP clear-signed (or DSSE) metadata document per
//!   object group, appended as ungrouped signature objects.
//! * [`verify`] checks modern, DSSE and (on request) legacy signatures and reports per
//!   signature, with the reference's error texts.
//! * [`Keyring`] reads and writes `pgp-public`/`pgp-secret` like `apptainer key`.
//!
//! Object data is streamed through the hashes; images are never loaded into memory.
//!
//! The OpenPGP backend is chosen with the `crypto-nettle` (default) or `crypto-openssl`
//! feature.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

#[cfg(not(any(feature = "crypto-nettle", feature = "crypto-openssl")))]
compile_error!(
    "berth-integrity needs an OpenPGP backend: enable `crypto-nettle` or `crypto-openssl`"
);

mod clearsign;
mod digest;
mod dsse;
mod error;
mod keyfile;
mod keypaths;
mod keyring;
mod legacy;
mod metadata;
mod packets;
mod pgp;
mod report;
mod selection;
mod sign;
mod signer;
mod tasks;
mod verify;

pub use digest::{Digest, DigestAlgorithm, DigestError, Hasher};
pub use dsse::{
    encode_envelope, verify_dsse_envelope, DsseHash, DssePrivateKey, DssePublicKey,
    METADATA_MEDIA_TYPE,
};
pub use error::{Error, Result};
pub use keypaths::{KeyPaths, PUBLIC_KEYRING, SECRET_KEYRING};
pub use keyring::{
    parse_key_material, read_certs, KeyInfo, KeySelector, KeySource, Keyring, NewKey,
    NewKeyAlgorithm,
};
pub use metadata::{HeaderMetadata, ImageMetadata, ObjectMetadata, METADATA_VERSION};
pub use report::{Linked, Scheme, SignatureReport, SignatureStatus, SignedBy, VerifyReport};
pub use selection::Selection;
pub use sign::{sign, SignOptions};
pub use signer::Signer;
pub use verify::{signed_by, verify, VerifyOptions};

/// The OpenPGP library in use, for callers that build or inspect certificates.
pub use sequoia_openpgp as openpgp;

pub(crate) use metadata::field as metadata_field;
