//! The crate's error type and its stable codes.
//!
//! Verification failures are not errors: [`crate::verify`] returns them inside its report, with
//! the reference's exact wording. `Error` is for what stops an operation: bad input, missing keys,
//! wrong passphrases, damaged keyrings, I/O.

use std::path::PathBuf;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong. Each variant is something a caller can act on; [`Error::code`] gives a
/// stable machine-readable code for it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Verification found no signature for what was asked (from [`crate::VerifyReport::into_result`]).
    /// The message is the reference's, e.g. `integrity: signature not found for object group 1`.
    #[error("{0}")]
    NoSignatures(String),

    /// Verification failed (from [`crate::VerifyReport::into_result`]); reference wording.
    #[error("{0}")]
    VerifyFailed(String),

    /// The objects or groups asked for cannot be signed or verified, e.g.
    /// `integrity: group not found`, `integrity: invalid group ID`, `integrity: no groups found`.
    #[error("{0}")]
    Selection(String),

    /// Signing failed in the cryptographic layer.
    #[error("signing failed: {0}")]
    SignFailed(String),

    /// The passphrase does not unlock the secret key.
    #[error("bad passphrase for key {fingerprint}")]
    BadPassphrase {
        /// Fingerprint of the key.
        fingerprint: String,
    },

    /// The secret key is protected and no passphrase was given.
    #[error("key {fingerprint} is protected by a passphrase")]
    PassphraseRequired {
        /// Fingerprint of the key.
        fingerprint: String,
    },

    /// No key matches the fingerprint or index given.
    #[error("key not found: {0}")]
    KeyNotFound(String),

    /// The key has no usable signing key (or no secret for it).
    #[error("key {fingerprint} cannot sign: {reason}")]
    CannotSign {
        /// Fingerprint of the certificate.
        fingerprint: String,
        /// Why.
        reason: String,
    },

    /// A keyring file exists but cannot be parsed. Berth never overwrites such a file.
    #[error("keyring {path} is corrupt: {reason}")]
    KeyringCorrupt {
        /// The keyring file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },

    /// Every key offered for import is already in the keyring, unchanged.
    #[error("key {0} already exists in the keyring")]
    KeyExists(String),

    /// Key material (OpenPGP data or PEM) that cannot be used.
    #[error("invalid key material: {0}")]
    InvalidKey(String),

    /// An attempt to modify a keyring Berth only reads (the global keyring).
    #[error("keyring {0} is read-only")]
    ReadOnlyKeyring(PathBuf),

    /// No home directory to derive the keyring location from.
    #[error("cannot locate the keyring directory: {0}")]
    NoKeyDir(String),

    /// Reading or writing a file failed.
    #[error("I/O error{}: {source}", path.as_ref().map(|p| format!(" on {}", p.display())).unwrap_or_default())]
    Io {
        /// The file concerned, when known.
        path: Option<PathBuf>,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },

    /// The SIF layer refused the image or the edit.
    #[error(transparent)]
    Sif(berth_sif::Error),
}

impl Error {
    /// A stable code for the error, for the CLI's JSON output and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NoSignatures(_) => "integrity.no_signatures",
            Error::VerifyFailed(_) => "integrity.verify_failed",
            Error::Selection(_) => "integrity.bad_selection",
            Error::SignFailed(_) => "integrity.sign_failed",
            Error::BadPassphrase { .. } => "key.bad_passphrase",
            Error::PassphraseRequired { .. } => "key.passphrase_required",
            Error::KeyNotFound(_) => "key.not_found",
            Error::CannotSign { .. } => "key.cannot_sign",
            Error::KeyringCorrupt { .. } => "key.keyring_corrupt",
            Error::KeyExists(_) => "key.exists",
            Error::InvalidKey(_) => "key.invalid",
            Error::ReadOnlyKeyring(_) => "key.read_only",
            Error::NoKeyDir(_) => "key.no_key_dir",
            Error::Io { .. } => "io.failed",
            Error::Sif(e) => sif_code(e),
        }
    }

    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Error {
        Error::Io {
            path: Some(path.into()),
            source,
        }
    }
}

impl From<std::io::Error> for Error {
    fn from(source: std::io::Error) -> Self {
        Error::Io { path: None, source }
    }
}

impl From<berth_sif::Error> for Error {
    fn from(e: berth_sif::Error) -> Self {
        match e {
            // I/O is I/O whichever layer saw it, so callers need one code for it.
            berth_sif::Error::Io(source) => Error::Io { path: None, source },
            other => Error::Sif(other),
        }
    }
}

/// Codes for errors passed through from berth-sif.
fn sif_code(e: &berth_sif::Error) -> &'static str {
    use berth_sif::Error as E;
    match e {
        E::Io(_) => "io.failed",
        E::TooSmall { .. } | E::BadMagic | E::BadVersion { .. } => "sif.not_sif",
        E::InvalidHeader { .. }
        | E::DescriptorTableOutOfBounds { .. }
        | E::AbsurdDescriptorCount { .. }
        | E::ObjectOutOfBounds { .. }
        | E::OverlappingObjects { .. } => "sif.corrupt",
        E::ObjectNotFound { .. } => "sif.object_not_found",
        E::InsufficientCapacity => "sif.no_capacity",
        _ => "sif.error",
    }
}
