//! Where Berth keeps its own files on the user's machine.

use std::path::{Path, PathBuf};

use crate::{Error, Result};

/// Berth's configuration directory. `BERTH_CONFIG_DIR` overrides the platform default so
/// tests and portable set-ups can keep state elsewhere.
#[derive(Debug, Clone)]
pub struct AppDirs {
    config: PathBuf,
    cache: PathBuf,
}

impl AppDirs {
    /// The directories for this user: `$BERTH_CONFIG_DIR`, else the platform config dir.
    /// The cache is `$BERTH_CACHE_DIR`, else `cache/` inside `$BERTH_CONFIG_DIR` when that is
    /// set (tests and portable set-ups keep everything together), else the platform cache dir.
    pub fn from_env() -> Result<Self> {
        let env = |name| std::env::var_os(name).filter(|d: &std::ffi::OsString| !d.is_empty());
        let project = directories::ProjectDirs::from("org", "berth", "berth");
        let config = match env("BERTH_CONFIG_DIR") {
            Some(dir) => PathBuf::from(dir),
            None => project
                .as_ref()
                .ok_or(Error::NoConfigDir)?
                .config_dir()
                .to_path_buf(),
        };
        let cache = match (env("BERTH_CACHE_DIR"), env("BERTH_CONFIG_DIR"), &project) {
            (Some(dir), _, _) => PathBuf::from(dir),
            (None, Some(_), _) | (None, None, None) => config.join("cache"),
            (None, None, Some(p)) => p.cache_dir().to_path_buf(),
        };
        Ok(Self { config, cache })
    }

    /// Directories rooted at `config`, with the cache inside it (used by tests).
    pub fn at(config: PathBuf) -> Self {
        let cache = config.join("cache");
        Self { config, cache }
    }

    /// Where downloaded images are cached.
    pub fn cache(&self) -> &Path {
        &self.cache
    }

    /// The configuration directory.
    pub fn config(&self) -> &Path {
        &self.config
    }
}
