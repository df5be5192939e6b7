//! Content-addressed cache of pulled library images: `<cache>/library/sha256.<hex>.sif`,
//! with a small `.json` beside each (last use, the reference it came as) and the partial
//! downloads of unfinished pulls (`.partial` + `.partial.state`), so a pull of an image
//! that is already here copies it instead of downloading it, and an interrupted one resumes.
//!
//! A file only enters the cache after its SHA-256 matched the name (the download checks
//! it), so a cached file is trusted by name; a file whose size no longer matches its
//! record is dropped.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::model_transfer::{CacheCleanView, CacheEntryView, CacheView};
use crate::{atomic_file, Error, Result};

/// The image cache.
#[derive(Debug, Clone)]
pub struct ImageCache {
    dir: PathBuf,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    last_used: u64,
    reference: Option<String>,
    size: u64,
}

impl ImageCache {
    /// The cache under `root` (its `library/` folder is created on first use).
    pub fn new(root: &Path) -> Self {
        Self {
            dir: root.join("library"),
        }
    }

    /// The folder holding cached images.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn ensure_dir(&self) -> Result<()> {
        std::fs::create_dir_all(&self.dir).map_err(|e| Error::io(&self.dir, e))
    }

    /// `sha256.<hex>` → a file name part, refusing anything that is not exactly that (the
    /// hash comes from a server).
    fn stem(hash: &str) -> Option<String> {
        let hex = hash.strip_prefix("sha256.")?;
        (hex.len() == 64 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
            .then(|| format!("sha256.{}", hex.to_ascii_lowercase()))
    }

    fn file(&self, stem: &str, ext: &str) -> PathBuf {
        self.dir.join(format!("{stem}.{ext}"))
    }

    /// The cached image with this hash and size, if present (and marks it used).
    pub fn get(&self, hash: &str, size: u64, reference: &str) -> Option<PathBuf> {
        let stem = Self::stem(hash)?;
        let path = self.file(&stem, "sif");
        let len = std::fs::metadata(&path).ok()?.len();
        if len != size {
            let _ = std::fs::remove_file(&path);
            let _ = std::fs::remove_file(self.file(&stem, "json"));
            return None;
        }
        self.touch(&stem, reference, size);
        Some(path)
    }

    /// Where a download of `hash` writes its partial file.
    pub fn partial_path(&self, hash: &str) -> Result<PathBuf> {
        let stem = Self::stem(hash).ok_or_else(|| Error::InvalidImageHash {
            hash: hash.to_owned(),
        })?;
        self.ensure_dir()?;
        Ok(self.file(&stem, "partial"))
    }

    /// Moves a finished, hash-checked download into the cache; returns the cached file.
    pub fn commit(
        &self,
        partial: &Path,
        hash: &str,
        reference: &str,
        size: u64,
    ) -> Result<PathBuf> {
        let stem = Self::stem(hash).ok_or_else(|| Error::InvalidImageHash {
            hash: hash.to_owned(),
        })?;
        let path = self.file(&stem, "sif");
        std::fs::rename(partial, &path).map_err(|e| Error::io(&path, e))?;
        self.touch(&stem, reference, size);
        Ok(path)
    }

    fn touch(&self, stem: &str, reference: &str, size: u64) {
        let meta = Meta {
            last_used: now_ms(),
            reference: Some(reference.to_owned()),
            size,
        };
        if let Err(e) = atomic_file::write_json(&self.file(stem, "json"), &meta) {
            tracing::warn!("could not record cache use: {e}");
        }
    }

    /// Every cached image, most recently used first.
    pub fn list(&self) -> Result<CacheView> {
        let mut entries = Vec::new();
        let read = match std::fs::read_dir(&self.dir) {
            Ok(r) => Some(r),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
            Err(e) => return Err(Error::io(&self.dir, e)),
        };
        for item in read.into_iter().flatten().flatten() {
            let path = item.path();
            let Some(name) = path.file_name().and_then(|n| n.to_str()) else {
                continue;
            };
            let Some(stem) = name.strip_suffix(".sif") else {
                continue;
            };
            let Ok(md) = item.metadata() else { continue };
            let meta: Meta = atomic_file::read_json(&self.file(stem, "json"))
                .ok()
                .flatten()
                .unwrap_or_else(|| Meta {
                    last_used: md
                        .modified()
                        .ok()
                        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                        .map_or(0, |d| d.as_millis() as u64),
                    ..Default::default()
                });
            entries.push(CacheEntryView {
                hash: stem.to_owned(),
                size: md.len(),
                last_used: meta.last_used,
                reference: meta.reference,
                path: path.display().to_string(),
            });
        }
        entries.sort_by(|a, b| b.last_used.cmp(&a.last_used).then(a.hash.cmp(&b.hash)));
        Ok(CacheView {
            dir: self.dir.display().to_string(),
            total_bytes: entries.iter().map(|e| e.size).sum(),
            entries,
        })
    }

    /// Removes images not used for `older_than_days` days (all when `None`); on a dry run
    /// only says what would go. Partial downloads older than that go too.
    pub fn clean(&self, older_than_days: Option<u32>, dry_run: bool) -> Result<CacheCleanView> {
        let cutoff = older_than_days.map(|d| {
            now_ms().saturating_sub(Duration::from_secs(u64::from(d) * 86_400).as_millis() as u64)
        });
        let old = |t: u64| cutoff.is_none_or(|c| t < c);
        let removed: Vec<CacheEntryView> = self
            .list()?
            .entries
            .into_iter()
            .filter(|e| old(e.last_used))
            .collect();
        if !dry_run {
            for e in &removed {
                let path = PathBuf::from(&e.path);
                std::fs::remove_file(&path).map_err(|err| Error::io(&path, err))?;
                let _ = std::fs::remove_file(self.file(&e.hash, "json"));
            }
            self.clean_partials(&old);
        }
        Ok(CacheCleanView {
            freed_bytes: removed.iter().map(|e| e.size).sum(),
            removed,
            dry_run,
        })
    }

    fn clean_partials(&self, old: &dyn Fn(u64) -> bool) {
        let Ok(read) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for item in read.flatten() {
            let path = item.path();
            let is_partial = path
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.ends_with(".partial"));
            let modified = item
                .metadata()
                .ok()
                .and_then(|m| m.modified().ok())
                .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_millis() as u64);
            if is_partial && old(modified) {
                berth_library::discard_partial(&path);
            }
        }
    }
}

fn now_ms() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: &str = "sha256.0000000000000000000000000000000000000000000000000000000000000abc";

    #[test]
    fn commit_get_list_and_clean() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ImageCache::new(dir.path());
        assert!(cache.list().unwrap().entries.is_empty());
        let partial = cache.partial_path(H).unwrap();
        std::fs::write(&partial, b"12345").unwrap();
        let stored = cache.commit(&partial, H, "library://a/b/c:1", 5).unwrap();
        assert_eq!(cache.get(H, 5, "library://a/b/c:2"), Some(stored.clone()));
        let view = cache.list().unwrap();
        assert_eq!(view.total_bytes, 5);
        assert_eq!(
            view.entries[0].reference.as_deref(),
            Some("library://a/b/c:2")
        );
        // Recently used: a 30-day clean keeps it; a dry run of a full clean only reports.
        assert!(cache.clean(Some(30), false).unwrap().removed.is_empty());
        let dry = cache.clean(None, true).unwrap();
        assert_eq!(dry.freed_bytes, 5);
        assert!(stored.exists());
        cache.clean(None, false).unwrap();
        assert!(!stored.exists());
        assert_eq!(cache.get(H, 5, "x"), None);
    }

    #[test]
    fn wrong_sizes_and_hostile_hashes_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ImageCache::new(dir.path());
        let partial = cache.partial_path(H).unwrap();
        std::fs::write(&partial, b"12345").unwrap();
        cache.commit(&partial, H, "r", 5).unwrap();
        assert_eq!(cache.get(H, 6, "r"), None, "a size mismatch evicts");
        assert!(cache.partial_path("sha256.../../../etc/passwd").is_err());
        assert_eq!(cache.get("sha256.xyz", 1, "r"), None);
    }
}
