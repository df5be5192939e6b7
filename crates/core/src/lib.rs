//! berth-core: the application behind both the desktop app and the `berth` command line.
//!
//! It never prints and knows nothing of Tauri: it returns values and typed errors, and
//! turns errors into [`ApiError`] (a stable `code`, a message and a hint) for the UI.

pub mod atomic_file;
pub mod bindings;
pub mod builds;
pub mod catalog;
pub mod container;
pub mod credentials;
pub mod dirs;
pub mod error;
pub mod image_cache;
pub mod inspect;
pub mod jobs;
pub mod keys;
pub mod libraries;
mod local_build;
pub mod model;
pub mod model_build;
pub mod model_library;
pub mod model_transfer;
mod oci_pull;
pub mod registries;
pub mod remote_yaml;
pub mod remotes;
pub mod settings;
pub mod transfers;
pub mod watch;

pub use catalog::LocalImages;
pub use dirs::AppDirs;
pub use error::{ApiError, Error, Result};
pub use keys::Keys;
pub use settings::SettingsStore;
