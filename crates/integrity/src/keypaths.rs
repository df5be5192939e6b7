//! Where Apptainer keeps its keyrings (sif-signing.md §9, `pkg/syfs` and `sypgp`).

use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

/// Name of the public keyring file in the keys directory.
pub const PUBLIC_KEYRING: &str = "pgp-public";
/// Name of the secret keyring file in the keys directory.
pub const SECRET_KEYRING: &str = "pgp-secret";

/// Global keyrings, in the order Apptainer installations put them (`<sysconfdir>/apptainer`).
const GLOBAL_CANDIDATES: [&str; 2] = [
    "/usr/local/etc/apptainer/global-pgp-public",
    "/etc/apptainer/global-pgp-public",
];

/// The keyring locations.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyPaths {
    /// Directory holding `pgp-public` and `pgp-secret`.
    pub keys_dir: PathBuf,
    /// The admin-managed global public keyring, read only; `None` when there is none.
    pub global_public: Option<PathBuf>,
}

impl KeyPaths {
    /// The locations Apptainer uses: `$APPTAINER_KEYSDIR`, else `$SINGULARITY_SYPGPDIR`, else
    /// `<config dir>/keys` with the config dir `$APPTAINER_CONFIGDIR`, else
    /// `$SINGULARITY_CONFIGDIR`, else `~/.apptainer`. The global keyring is the first that
    /// exists of `/usr/local/etc/apptainer/global-pgp-public` and
    /// `/etc/apptainer/global-pgp-public`.
    pub fn from_env() -> Result<Self> {
        let var = |name: &str| {
            std::env::var_os(name)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from)
        };
        let keys_dir = if let Some(dir) =
            var("APPTAINER_KEYSDIR").or_else(|| var("SINGULARITY_SYPGPDIR"))
        {
            dir
        } else if let Some(dir) =
            var("APPTAINER_CONFIGDIR").or_else(|| var("SINGULARITY_CONFIGDIR"))
        {
            dir.join("keys")
        } else {
            let home = var("HOME").ok_or_else(|| Error::NoKeyDir("HOME is not set".to_owned()))?;
            home.join(".apptainer").join("keys")
        };
        let global_public = GLOBAL_CANDIDATES
            .iter()
            .map(Path::new)
            .find(|p| p.is_file())
            .map(Path::to_path_buf);
        Ok(KeyPaths {
            keys_dir,
            global_public,
        })
    }

    /// A keys directory with no global keyring (tests, portable setups).
    pub fn at(keys_dir: PathBuf) -> Self {
        KeyPaths {
            keys_dir,
            global_public: None,
        }
    }

    /// Adds a global public keyring.
    pub fn with_global(mut self, global_public: PathBuf) -> Self {
        self.global_public = Some(global_public);
        self
    }

    /// The local public keyring file.
    pub fn public_keyring(&self) -> PathBuf {
        self.keys_dir.join(PUBLIC_KEYRING)
    }

    /// The local secret keyring file.
    pub fn secret_keyring(&self) -> PathBuf {
        self.keys_dir.join(SECRET_KEYRING)
    }
}
