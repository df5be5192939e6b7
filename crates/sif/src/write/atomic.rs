//! Replacing a file atomically: write a sibling temporary file, sync it, rename it over the
//! destination. A failure at any point leaves the destination as it was.

use std::fs::{self, File, OpenOptions};
use std::path::{Path, PathBuf};

use crate::error::Result;

/// A temporary file next to its destination, removed on drop unless persisted.
pub(crate) struct TempFile {
    path: PathBuf,
    file: File,
    persisted: bool,
}

impl TempFile {
    /// Creates a new empty file in the directory of `target`. It must be in the same
    /// directory (same file system) for the final rename to be atomic.
    pub(crate) fn beside(target: &Path) -> Result<TempFile> {
        let dir = parent_dir(target);
        let base = target.file_name().map_or_else(
            || "image".into(),
            |name| name.to_string_lossy().into_owned(),
        );
        let name = format!(".{base}.{}.tmp", uuid::Uuid::new_v4().simple());
        let path = dir.join(name);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)?;
        Ok(TempFile {
            path,
            file,
            persisted: false,
        })
    }

    pub(crate) fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Flushes the data to disk and renames the file to `target`.
    pub(crate) fn persist(mut self, target: &Path) -> Result<()> {
        self.file.sync_all()?;
        fs::rename(&self.path, target)?;
        self.persisted = true;
        // Make the rename itself durable. The new content is already in place, so a
        // failure here is not reported as a failed edit.
        if let Ok(dir) = File::open(parent_dir(target)) {
            let _ = dir.sync_all();
        }
        Ok(())
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if !self.persisted {
            let _ = fs::remove_file(&self.path);
        }
    }
}

fn parent_dir(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

/// Gives the copy the original's permissions and, where allowed, its owner, so that an
/// edit does not change who may use the image.
pub(crate) fn copy_attributes(original: &File, copy: &File) -> Result<()> {
    let meta = original.metadata()?;
    copy.set_permissions(meta.permissions())?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let ours = copy.metadata()?;
        if (ours.uid(), ours.gid()) != (meta.uid(), meta.gid()) {
            // Only privileged users may give a file away; anyone else gets a copy they own,
            // which is inherent to replacing a file by rename.
            let _ = std::os::unix::fs::fchown(copy, Some(meta.uid()), Some(meta.gid()));
        }
    }
    Ok(())
}
