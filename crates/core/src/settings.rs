//! User settings, persisted as `settings.json` in the config directory.

use std::path::PathBuf;
use std::sync::Mutex;

use crate::model::{Settings, Theme};
use crate::{atomic_file, AppDirs, Result};

/// Reads and updates [`Settings`].
#[derive(Debug)]
pub struct SettingsStore {
    path: PathBuf,
    lock: Mutex<()>,
}

impl SettingsStore {
    /// The store for these directories.
    pub fn new(dirs: &AppDirs) -> Self {
        Self {
            path: dirs.config().join("settings.json"),
            lock: Mutex::new(()),
        }
    }

    /// Current settings (defaults when none were saved).
    pub fn get(&self) -> Result<Settings> {
        Ok(atomic_file::read_json(&self.path)?.unwrap_or_default())
    }

    /// Sets the keyservers (tried in order) and returns the new settings. Each must be an
    /// http(s) URL; plain http only for this machine (loopback).
    pub fn set_keyservers(&self, keyservers: Vec<String>) -> Result<Settings> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        for url in &keyservers {
            berth_keyserver::check_url(url, false).map_err(crate::Error::from)?;
        }
        let mut settings = self.get()?;
        settings.keyservers = keyservers;
        atomic_file::write_json(&self.path, &settings)?;
        Ok(settings)
    }

    /// Sets (or clears) the folder pulls go to; it must be an existing directory.
    pub fn set_pull_folder(&self, folder: Option<PathBuf>) -> Result<Settings> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(dir) = &folder {
            if !dir.is_dir() {
                return Err(crate::Error::NotADirectory { path: dir.clone() });
            }
        }
        let mut settings = self.get()?;
        settings.pull_folder = folder.map(|d| d.display().to_string());
        atomic_file::write_json(&self.path, &settings)?;
        Ok(settings)
    }

    /// Sets the theme and returns the new settings.
    pub fn set_theme(&self, theme: Theme) -> Result<Settings> {
        let _guard = self.lock.lock().unwrap_or_else(|p| p.into_inner());
        let mut settings = self.get()?;
        settings.theme = theme;
        atomic_file::write_json(&self.path, &settings)?;
        Ok(settings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn theme_persists() {
        let dir = tempfile::tempdir().unwrap();
        let dirs = AppDirs::at(dir.path().to_path_buf());
        assert_eq!(
            SettingsStore::new(&dirs).get().unwrap().theme,
            Theme::System
        );
        SettingsStore::new(&dirs).set_theme(Theme::Dark).unwrap();
        assert_eq!(SettingsStore::new(&dirs).get().unwrap().theme, Theme::Dark);
    }
}
