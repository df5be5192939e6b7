//! The content-addressed blob cache shared by all pulls: `<dir>/sha256/<hex>`. A file only
//! ever appears under its digest name after its bytes were verified (see `fetch`), so
//! presence with the right size is proof enough.

use std::path::PathBuf;
use std::time::SystemTime;

use crate::error::{Error, Result};
use crate::manifest::Descriptor;
use crate::reference::check_digest;

/// One cached blob, for a cache UI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobEntry {
    /// `sha256:<hex>`.
    pub digest: String,
    /// Size in bytes.
    pub size: u64,
    /// Last write (download) time.
    pub modified: SystemTime,
}

/// The blob cache directory.
#[derive(Debug, Clone)]
pub struct BlobStore {
    dir: PathBuf,
}

impl BlobStore {
    /// A store rooted at `dir` (created on first download).
    pub fn new(dir: PathBuf) -> Self {
        Self { dir }
    }

    /// The root directory.
    pub fn dir(&self) -> &std::path::Path {
        &self.dir
    }

    /// Where `digest` lives in the store, whether or not it is there; `None` for anything
    /// but a well-formed sha256 digest (so no digest can name a path outside the store).
    pub(crate) fn target(&self, digest: &str) -> Option<PathBuf> {
        check_digest(digest).ok()?;
        Some(self.dir.join("sha256").join(&digest["sha256:".len()..]))
    }

    /// The file of `digest` if the store has it.
    pub fn path(&self, digest: &str) -> Option<PathBuf> {
        self.target(digest).filter(|p| p.is_file())
    }

    /// Whether the blob is present with the descriptor's size.
    pub fn contains(&self, d: &Descriptor) -> bool {
        self.path(&d.digest)
            .and_then(|p| std::fs::metadata(p).ok())
            .is_some_and(|m| m.len() == d.size)
    }

    /// Every blob in the store (temporary download files excluded).
    pub fn entries(&self) -> Result<Vec<BlobEntry>> {
        let dir = self.dir.join("sha256");
        let rd = match std::fs::read_dir(&dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
            Err(e) => return Err(Error::local_io(format!("reading {}", dir.display()), e)),
        };
        let mut out = Vec::new();
        for entry in rd {
            let entry =
                entry.map_err(|e| Error::local_io(format!("reading {}", dir.display()), e))?;
            let name = entry.file_name().to_string_lossy().into_owned();
            let digest = format!("sha256:{name}");
            if check_digest(&digest).is_err() {
                continue;
            }
            let Ok(meta) = entry.metadata() else { continue };
            if meta.is_file() {
                out.push(BlobEntry {
                    digest,
                    size: meta.len(),
                    modified: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                });
            }
        }
        out.sort_by(|a, b| a.digest.cmp(&b.digest));
        Ok(out)
    }

    /// Removes a blob; `false` if it was not there.
    pub fn remove(&self, digest: &str) -> Result<bool> {
        let Some(p) = self.target(digest) else {
            return Ok(false);
        };
        match std::fs::remove_file(&p) {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(Error::local_io(format!("removing {}", p.display()), e)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_and_removes() {
        let tmp = tempfile::tempdir().unwrap();
        let store = BlobStore::new(tmp.path().to_path_buf());
        assert!(store.entries().unwrap().is_empty());
        let d = format!("sha256:{}", "a".repeat(64));
        std::fs::create_dir_all(tmp.path().join("sha256")).unwrap();
        std::fs::write(store.target(&d).unwrap(), b"xyz").unwrap();
        std::fs::write(tmp.path().join("sha256/.dl-partial"), b"x").unwrap();
        let e = store.entries().unwrap();
        assert_eq!(e.len(), 1);
        assert_eq!((e[0].digest.as_str(), e[0].size), (d.as_str(), 3));
        assert!(store.target("sha256:../../etc").is_none());
        assert!(store.remove(&d).unwrap());
        assert!(!store.remove(&d).unwrap());
    }
}
