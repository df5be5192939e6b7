//! Where Berth keeps its own files on the user's machine.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Berth's configuration directory. `BERTH_CONFIG_DIR` overrides the platform default so
/// tests and portable set-ups can keep state elsewhere.
#[derive(Debug, Clone)]
pub struct AppDirs {
    config: PathBuf,
}

impl AppDirs {
    /// The directories for this user: `$BERTH_CONFIG_DIR`, else the platform config dir.
    pub fn from_env() -> Result<Self> {
        if let Some(dir) = std::env::var_os("BERTH_CONFIG_DIR").filter(|d| !d.is_empty()) {
            return Ok(Self::at(PathBuf::from(dir)));
        }
        let project =
            directories::ProjectDirs::from("org", "berth", "berth").ok_or(Error::NoConfigDir)?;
        Ok(Self::at(project.config_dir().to_path_buf()))
    }

    /// Directories rooted at `config` (used by tests).
    pub fn at(config: PathBuf) -> Self {
        Self { config }
    }

    /// The configuration directory.
    pub fn config(&self) -> &Path {
        &self.config
    }
}
