//! Tells the app when a watched folder changes, so the list updates without a refresh.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use notify::{RecommendedWatcher, RecursiveMode, Watcher};

/// OS file-system notifications for a set of folders (inotify, FSEvents, ReadDirectoryChanges).
pub struct FolderWatch {
    watcher: RecommendedWatcher,
    watched: BTreeSet<PathBuf>,
}

impl std::fmt::Debug for FolderWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FolderWatch")
            .field("watched", &self.watched)
            .finish()
    }
}

impl FolderWatch {
    /// A watch that calls `on_change` (from a background thread) whenever an entry inside a
    /// watched folder is created, removed, renamed or written. Calls come in bursts while a
    /// file is being copied; the receiver should coalesce them.
    pub fn new(on_change: impl Fn() + Send + 'static) -> notify::Result<Self> {
        let watcher = notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if event.is_ok_and(|e| !e.kind.is_access()) {
                on_change();
            }
        })?;
        Ok(Self {
            watcher,
            watched: BTreeSet::new(),
        })
    }

    /// Watches exactly `folders` from now on. A folder that cannot be watched (missing,
    /// unreadable) is skipped: the list already shows its error.
    pub fn sync<'a>(&mut self, folders: impl IntoIterator<Item = &'a Path>) {
        let wanted: BTreeSet<PathBuf> = folders.into_iter().map(Path::to_path_buf).collect();
        for gone in self.watched.difference(&wanted) {
            let _ = self.watcher.unwatch(gone);
        }
        let mut now = BTreeSet::new();
        for dir in &wanted {
            // Always (re-)add: a folder deleted and made again, or remounted, lost its watch
            // inside the OS even though it is still in our set. Re-adding a live watch is a no-op.
            if self.watcher.watch(dir, RecursiveMode::NonRecursive).is_ok() {
                now.insert(dir.clone());
            }
        }
        self.watched = now;
    }

    /// The folders currently watched.
    pub fn watched(&self) -> impl Iterator<Item = &Path> {
        self.watched.iter().map(PathBuf::as_path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::mpsc;
    use std::time::Duration;

    #[test]
    fn a_new_file_in_a_watched_folder_is_reported_and_unwatched_folders_are_not() {
        let a = tempfile::tempdir().unwrap();
        let b = tempfile::tempdir().unwrap();
        let (tx, rx) = mpsc::channel();
        let mut watch = FolderWatch::new(move || {
            let _ = tx.send(());
        })
        .unwrap();
        watch.sync([a.path(), b.path()]);
        assert_eq!(watch.watched().count(), 2);
        std::fs::write(a.path().join("new.sif"), b"x").unwrap();
        rx.recv_timeout(Duration::from_secs(5))
            .expect("change reported");

        watch.sync([a.path()]);
        while rx.recv_timeout(Duration::from_millis(200)).is_ok() {}
        std::fs::write(b.path().join("other.sif"), b"x").unwrap();
        assert!(
            rx.recv_timeout(Duration::from_millis(500)).is_err(),
            "b is no longer watched"
        );
    }

    #[test]
    fn a_missing_folder_is_skipped() {
        let mut watch = FolderWatch::new(|| {}).unwrap();
        watch.sync([Path::new("/no/such/folder")]);
        assert_eq!(watch.watched().count(), 0);
    }
}
