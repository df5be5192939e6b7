//! The cache of pulled images, below one root:
//! * `library/sha256.<hex>.sif`: library images by hash, with the partial downloads of
//!   unfinished pulls (`.partial` + `.partial.state`), so a pull of an image that is
//!   already here copies it instead of downloading it, and an interrupted one resumes;
//! * `oci-sif/<key>.sif`: docker:// images converted to SIF, keyed as Apptainer keys them
//!   (manifest digest, arch, variant), so pulling one again builds nothing;
//! * `blobs/sha256/<hex>`: OCI layers, shared by every docker:// pull.
//!
//! Each SIF has a small `.json` beside it (last use, the reference it came as).
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
    root: PathBuf,
    dir: PathBuf,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Meta {
    last_used: u64,
    reference: Option<String>,
    size: u64,
    /// What identifies a converted image to a person: its manifest digest.
    #[serde(default)]
    digest: Option<String>,
}

impl ImageCache {
    /// The cache under `root` (its `library/` folder is created on first use).
    pub fn new(root: &Path) -> Self {
        Self {
            root: root.to_path_buf(),
            dir: root.join("library"),
        }
    }

    /// The cache's root folder (library images, OCI blobs and converted images below it).
    pub fn root(&self) -> &Path {
        &self.root
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
            digest: None,
        };
        if let Err(e) = atomic_file::write_json(&self.file(stem, "json"), &meta) {
            tracing::warn!("could not record cache use: {e}");
        }
    }

    /// Folder of converted docker:// images.
    fn converted_dir(&self) -> PathBuf {
        self.root.join("oci-sif")
    }

    /// Folder of OCI layer blobs (`sha256/<hex>` below it).
    pub fn blobs_dir(&self) -> PathBuf {
        self.root.join("blobs")
    }

    /// The converted image for `key` (marked used), if cached.
    pub fn converted(&self, key: &str, reference: &str) -> Option<PathBuf> {
        let path = self.converted_dir().join(format!("{key}.sif"));
        let size = std::fs::metadata(&path).ok()?.len();
        let meta_path = self.converted_dir().join(format!("{key}.json"));
        let old: Option<Meta> = atomic_file::read_json(&meta_path).ok().flatten();
        let meta = Meta {
            last_used: now_ms(),
            reference: Some(reference.to_owned()),
            size,
            digest: old.and_then(|m| m.digest),
        };
        let _ = atomic_file::write_json(&meta_path, &meta);
        Some(path)
    }

    /// A temp folder for building a converted image, on the cache's file system.
    pub fn build_dir(&self) -> Result<tempfile::TempDir> {
        let dir = self.converted_dir();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        tempfile::Builder::new()
            .prefix(".berth-build-")
            .tempdir_in(&dir)
            .map_err(|e| Error::io(&dir, e))
    }

    /// Moves a finished conversion into the cache under `key`; returns the cached file.
    pub fn commit_converted(
        &self,
        built: &Path,
        key: &str,
        reference: &str,
        digest: &str,
    ) -> Result<PathBuf> {
        let dir = self.converted_dir();
        std::fs::create_dir_all(&dir).map_err(|e| Error::io(&dir, e))?;
        let path = dir.join(format!("{key}.sif"));
        std::fs::rename(built, &path).map_err(|e| Error::io(&path, e))?;
        let meta = Meta {
            last_used: now_ms(),
            reference: Some(reference.to_owned()),
            size: std::fs::metadata(&path).map_or(0, |m| m.len()),
            digest: Some(digest.to_owned()),
        };
        let _ = atomic_file::write_json(&dir.join(format!("{key}.json")), &meta);
        Ok(path)
    }

    /// Every cached image and layer, most recently used first.
    pub fn list(&self) -> Result<CacheView> {
        let mut entries = scan_sifs(&self.dir, |stem, _| stem.to_owned())?;
        entries.extend(scan_sifs(&self.converted_dir(), |stem, meta| {
            meta.digest.clone().unwrap_or_else(|| stem.to_owned())
        })?);
        entries.extend(scan_blobs(&self.blobs_dir().join("sha256"))?);
        entries.sort_by(|a, b| b.last_used.cmp(&a.last_used).then(a.hash.cmp(&b.hash)));
        Ok(CacheView {
            dir: self.root.display().to_string(),
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
                let _ = std::fs::remove_file(path.with_extension("json"));
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

/// The `*.sif` files of `dir` with their `.json` records; `hash` names each entry.
fn scan_sifs(dir: &Path, hash: impl Fn(&str, &Meta) -> String) -> Result<Vec<CacheEntryView>> {
    let mut out = Vec::new();
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for item in read.flatten() {
        let path = item.path();
        let Some(stem) = path
            .file_name()
            .and_then(|n| n.to_str())
            .and_then(|n| n.strip_suffix(".sif"))
            .filter(|s| !s.starts_with('.'))
        else {
            continue;
        };
        let Ok(md) = item.metadata() else { continue };
        let meta: Meta = atomic_file::read_json(&path.with_extension("json"))
            .ok()
            .flatten()
            .unwrap_or_else(|| Meta {
                last_used: modified_ms(&md),
                ..Default::default()
            });
        out.push(CacheEntryView {
            hash: hash(stem, &meta),
            size: md.len(),
            last_used: meta.last_used,
            reference: meta.reference,
            path: path.display().to_string(),
        });
    }
    Ok(out)
}

/// OCI layers: `sha256/<hex>` files, last used = modified (a pull that reuses one touches it).
fn scan_blobs(dir: &Path) -> Result<Vec<CacheEntryView>> {
    let mut out = Vec::new();
    let read = match std::fs::read_dir(dir) {
        Ok(r) => r,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(Error::io(dir, e)),
    };
    for item in read.flatten() {
        let name = item.file_name().to_string_lossy().into_owned();
        if name.len() != 64 || !name.bytes().all(|b| b.is_ascii_hexdigit()) {
            continue;
        }
        let Ok(md) = item.metadata() else { continue };
        out.push(CacheEntryView {
            hash: format!("sha256:{name}"),
            size: md.len(),
            last_used: modified_ms(&md),
            reference: Some("image layer".to_owned()),
            path: item.path().display().to_string(),
        });
    }
    Ok(out)
}

fn modified_ms(md: &std::fs::Metadata) -> u64 {
    md.modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as u64)
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
    fn converted_images_and_layers_are_listed_and_cleaned() {
        let dir = tempfile::tempdir().unwrap();
        let cache = ImageCache::new(dir.path());
        let work = cache.build_dir().unwrap();
        let built = work.path().join("x.sif");
        std::fs::write(&built, b"sif").unwrap();
        cache
            .commit_converted(&built, "k1", "docker://alpine:3", "sha256:abc")
            .unwrap();
        drop(work);
        assert!(cache.converted("k1", "docker://alpine:latest").is_some());
        assert!(cache.converted("k2", "x").is_none());
        let blobs = cache.blobs_dir().join("sha256");
        std::fs::create_dir_all(&blobs).unwrap();
        std::fs::write(blobs.join("a".repeat(64)), b"layer").unwrap();
        let view = cache.list().unwrap();
        let hashes: Vec<&str> = view.entries.iter().map(|e| e.hash.as_str()).collect();
        assert!(hashes.contains(&"sha256:abc"), "{hashes:?}");
        assert!(hashes.contains(&format!("sha256:{}", "a".repeat(64)).as_str()));
        assert_eq!(view.total_bytes, 8);
        cache.clean(None, false).unwrap();
        assert!(cache.list().unwrap().entries.is_empty());
        assert!(!dir.path().join("oci-sif/k1.json").exists());
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
