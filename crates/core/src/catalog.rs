//! The local image list: files the user added and SIF files in watched folders.
//!
//! Only paths are persisted (`catalog.json`); everything shown is read fresh from the files
//! each time, so the list never disagrees with the disk.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::Mutex;
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};

use crate::model::{Catalog, ImageSource, LocalImage, WatchedFolder};
use crate::watch::FolderWatch;
use crate::{atomic_file, ApiError, AppDirs, Error, Result};

#[derive(Debug, Default, Serialize, Deserialize)]
struct CatalogState {
    #[serde(default)]
    images: BTreeSet<PathBuf>,
    #[serde(default)]
    folders: BTreeSet<PathBuf>,
}

/// The persisted local image list.
#[derive(Debug)]
pub struct LocalImages {
    path: PathBuf,
    // Serialises read-modify-write of the state file between concurrent commands.
    state: Mutex<()>,
    // Kept apart from `state`: syncing the OS watch waits for the watcher's thread, which
    // must never wait for the state lock in turn.
    watch: Mutex<Option<FolderWatch>>,
}

impl LocalImages {
    /// The list stored under these directories.
    pub fn new(dirs: &AppDirs) -> Self {
        Self {
            path: dirs.config().join("catalog.json"),
            state: Mutex::new(()),
            watch: Mutex::new(None),
        }
    }

    /// The same list, with OS notifications: `on_change` is called (from the watcher's
    /// thread, in bursts) whenever something changes inside a watched folder. It should
    /// only signal someone; it must not call back into this list.
    pub fn watching(self, on_change: impl Fn() + Send + 'static) -> Result<Self, notify::Error> {
        *self.watch.lock().unwrap_or_else(|p| p.into_inner()) = Some(FolderWatch::new(on_change)?);
        Ok(self)
    }

    fn load(&self) -> Result<CatalogState> {
        Ok(atomic_file::read_json(&self.path)?.unwrap_or_default())
    }

    /// Loads the state, applies `change` (saving when there is one) and keeps the watch
    /// on the resulting folders.
    fn with_state(&self, change: Option<&dyn Fn(&mut CatalogState)>) -> Result<Catalog> {
        let state = {
            let _guard = self.state.lock().unwrap_or_else(|p| p.into_inner());
            let mut state = self.load()?;
            if let Some(change) = change {
                change(&mut state);
                atomic_file::write_json(&self.path, &state)?;
            }
            state
        };
        if let Some(w) = self
            .watch
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .as_mut()
        {
            w.sync(state.folders.iter().map(PathBuf::as_path));
        }
        Ok(describe(&state))
    }

    fn update(&self, change: impl Fn(&mut CatalogState)) -> Result<Catalog> {
        self.with_state(Some(&change))
    }

    /// The list as it is on disk now (watched folders are re-read).
    pub fn list(&self) -> Result<Catalog> {
        self.with_state(None)
    }

    /// Adds files as images and directories as watched folders. Every path must exist;
    /// if one does not, nothing is added. A file that is not a valid SIF is still added:
    /// its entry carries the reason, so the person sees what is wrong with it.
    pub fn add_paths(&self, paths: &[PathBuf]) -> Result<Catalog> {
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for p in paths {
            let abs = std::fs::canonicalize(p).map_err(|e| Error::io(p, e))?;
            let meta = std::fs::metadata(&abs).map_err(|e| Error::io(&abs, e))?;
            // The UI names entries by their path as text; a path that is not valid UTF-8
            // could never be selected or removed again.
            if abs.to_str().is_none() {
                return Err(Error::UnsupportedPath { path: abs });
            }
            if meta.is_dir() {
                dirs.push(abs);
            } else if meta.is_file() {
                files.push(abs);
            } else {
                // A FIFO or device would block or stream forever when read as an image.
                return Err(Error::NotARegularFile { path: abs });
            }
        }
        self.update(|s| {
            s.images.extend(files.iter().cloned());
            s.folders.extend(dirs.iter().cloned());
        })
    }

    /// Forgets an added image (the file itself is not touched).
    pub fn remove_image(&self, path: &Path) -> Result<Catalog> {
        self.update(|s| {
            s.images.remove(path);
        })
    }

    /// Stops watching a folder.
    pub fn remove_folder(&self, path: &Path) -> Result<Catalog> {
        self.update(|s| {
            s.folders.remove(path);
        })
    }
}

fn describe(state: &CatalogState) -> Catalog {
    let mut images: Vec<LocalImage> = state
        .images
        .iter()
        .map(|p| describe_image(p, ImageSource::Added))
        .collect();
    let mut folders = Vec::new();
    for dir in &state.folders {
        match sif_files_in(dir) {
            Ok(found) => {
                folders.push(WatchedFolder {
                    path: dir.display().to_string(),
                    image_count: u32::try_from(found.len()).unwrap_or(u32::MAX),
                    error: None,
                });
                images.extend(
                    found
                        .into_iter()
                        .filter(|f| !state.images.contains(f))
                        .map(|f| describe_image(&f, ImageSource::Watched)),
                );
            }
            Err(e) => folders.push(WatchedFolder {
                path: dir.display().to_string(),
                image_count: 0,
                error: Some(ApiError::from(e)),
            }),
        }
    }
    Catalog { images, folders }
}

/// The `*.sif` files directly inside `dir`, sorted.
fn sif_files_in(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut found: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| Error::io(dir, e))?
        .filter_map(|entry| entry.ok())
        .map(|entry| entry.path())
        .filter(|p| {
            p.extension()
                .is_some_and(|ext| ext.eq_ignore_ascii_case("sif"))
                && p.metadata().is_ok_and(|m| m.is_file())
        })
        .collect();
    found.sort();
    Ok(found)
}

/// Reads what the list shows about one file: only the header and descriptors, never data.
pub fn describe_image(path: &Path, source: ImageSource) -> LocalImage {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let mut image = LocalImage {
        path: path.display().to_string(),
        name,
        size: 0,
        arch: None,
        signed: false,
        modified: None,
        source,
        error: None,
    };
    match std::fs::metadata(path) {
        Ok(meta) if !meta.is_file() => {
            image.error = Some(ApiError::about_shown_file(&Error::NotARegularFile {
                path: path.to_path_buf(),
            }));
            return image;
        }
        Ok(meta) => {
            image.size = meta.len();
            image.modified = meta
                .modified()
                .ok()
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .and_then(|d| i64::try_from(d.as_secs()).ok());
        }
        Err(e) => {
            image.error = Some(ApiError::about_shown_file(&Error::io(path, e)));
            return image;
        }
    }
    match berth_sif::Image::open(path) {
        Ok(sif) => {
            let arch = sif.header().arch;
            image.arch = arch.is_known().then(|| arch.go_name().to_owned());
            image.signed = sif
                .descriptors()
                .iter()
                .any(|d| d.data_type == berth_sif::DataType::Signature);
        }
        Err(e) => image.error = Some(ApiError::about_shown_file(&Error::sif(path, e))),
    }
    image
}

#[cfg(test)]
mod tests {
    use super::*;

    fn shared(rel: &str) -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/testdata/sif")
            .join(rel)
    }

    #[test]
    fn added_images_and_folders_persist_and_describe_real_files() {
        let cfg = tempfile::tempdir().unwrap();
        let dirs = AppDirs::at(cfg.path().to_path_buf());
        let folder = tempfile::tempdir().unwrap();
        std::fs::copy(
            shared("images/sylabs-sif/two-groups-signed-pgp.sif"),
            folder.path().join("a.sif"),
        )
        .unwrap();
        std::fs::write(folder.path().join("notes.txt"), b"x").unwrap();
        std::fs::write(folder.path().join("broken.SIF"), b"not a sif at all").unwrap();

        let busybox = shared("images/apptainer-e2e/busybox_amd64.sif");
        let cat = LocalImages::new(&dirs)
            .add_paths(&[busybox.clone(), folder.path().to_path_buf()])
            .unwrap();
        assert_eq!(cat.folders.len(), 1);
        assert_eq!(cat.folders[0].image_count, 2);
        assert_eq!(cat.images.len(), 3);
        let bb = &cat.images[0];
        assert_eq!(bb.name, "busybox_amd64.sif");
        assert_eq!(bb.source, ImageSource::Added);
        assert_eq!(bb.arch.as_deref(), Some("amd64"));
        assert!(bb.signed);
        assert_eq!(bb.size, 792293);
        let a = cat.images.iter().find(|i| i.name == "a.sif").unwrap();
        assert_eq!(
            (a.arch.as_deref(), a.signed, a.source),
            (Some("386"), true, ImageSource::Watched)
        );
        let broken = cat.images.iter().find(|i| i.name == "broken.SIF").unwrap();
        assert!(
            broken.error.as_ref().unwrap().code.starts_with("sif."),
            "{broken:?}"
        );

        // A new store on the same directory sees the same list (persistence).
        let again = LocalImages::new(&dirs).list().unwrap();
        assert_eq!(again, cat);

        let after = LocalImages::new(&dirs)
            .remove_image(Path::new(&bb.path))
            .unwrap();
        assert_eq!(after.images.len(), 2);
        assert!(busybox.exists(), "forgetting never deletes the file");
        let after = LocalImages::new(&dirs)
            .remove_folder(&std::fs::canonicalize(folder.path()).unwrap())
            .unwrap();
        assert!(after.images.is_empty() && after.folders.is_empty());
    }

    #[test]
    fn a_watching_list_reports_changes_in_its_folders() {
        let cfg = tempfile::tempdir().unwrap();
        let dirs = AppDirs::at(cfg.path().to_path_buf());
        let folder = tempfile::tempdir().unwrap();
        let (tx, rx) = std::sync::mpsc::channel();
        let images = LocalImages::new(&dirs)
            .watching(move || {
                let _ = tx.send(());
            })
            .unwrap();
        images.add_paths(&[folder.path().to_path_buf()]).unwrap();
        std::fs::copy(
            shared("images/sylabs-sif/one-group.sif"),
            folder.path().join("new.sif"),
        )
        .unwrap();
        rx.recv_timeout(std::time::Duration::from_secs(5))
            .expect("change reported");
        assert_eq!(images.list().unwrap().images.len(), 1);
    }

    #[test]
    fn missing_path_adds_nothing() {
        let cfg = tempfile::tempdir().unwrap();
        let dirs = AppDirs::at(cfg.path().to_path_buf());
        let ok = shared("images/sylabs-sif/empty.sif");
        let err = LocalImages::new(&dirs)
            .add_paths(&[ok, PathBuf::from("/no/such/file.sif")])
            .unwrap_err();
        assert_eq!(err.code(), "io.not_found");
        assert!(LocalImages::new(&dirs).list().unwrap().images.is_empty());
    }

    #[test]
    fn a_vanished_file_shows_an_error_in_place() {
        let cfg = tempfile::tempdir().unwrap();
        let dirs = AppDirs::at(cfg.path().to_path_buf());
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("gone.sif");
        std::fs::copy(shared("images/sylabs-sif/empty.sif"), &p).unwrap();
        LocalImages::new(&dirs)
            .add_paths(std::slice::from_ref(&p))
            .unwrap();
        std::fs::remove_file(&p).unwrap();
        let cat = LocalImages::new(&dirs).list().unwrap();
        assert_eq!(cat.images[0].error.as_ref().unwrap().code, "io.not_found");
    }
}
