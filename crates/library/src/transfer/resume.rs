//! What a partial download already holds, kept in `<partial>.state` beside the partial
//! file so an interrupted pull (lost connection, app quit, crash) continues where it
//! stopped, also in a new process.
//!
//! Only whole parts are recorded, after their last byte was written; a part cut short is
//! fetched again. Nothing here is trusted for integrity: the finished file's SHA-256 is
//! always compared with the image hash.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

/// Parts of one download and which are on disk.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct PartMap {
    /// `sha256.<hex>` of the image being downloaded.
    pub hash: String,
    pub size: u64,
    pub part_size: u64,
    /// Indexes of complete parts.
    pub done: BTreeSet<u64>,
}

impl PartMap {
    pub fn new(hash: &str, size: u64, part_size: u64) -> Self {
        Self {
            hash: hash.to_owned(),
            size,
            part_size: part_size.max(1),
            done: BTreeSet::new(),
        }
    }

    /// The state file of a partial download.
    pub fn path_for(partial: &Path) -> PathBuf {
        let mut name = partial.as_os_str().to_owned();
        name.push(".state");
        PathBuf::from(name)
    }

    /// The saved map if it belongs to this image and the partial file is still there with
    /// the right length; otherwise `None` (start over).
    pub fn load(partial: &Path, hash: &str, size: u64) -> Option<Self> {
        let text = std::fs::read(Self::path_for(partial)).ok()?;
        let map: Self = serde_json::from_slice(&text).ok()?;
        let len = std::fs::metadata(partial).ok()?.len();
        let sane = map.hash == hash
            && map.size == size
            && map.part_size > 0
            && len == size
            && map.done.iter().all(|&i| i < map.parts());
        sane.then_some(map)
    }

    /// Writes the map (temp file + rename, so a crash leaves the old or the new one).
    pub fn save(&self, partial: &Path) -> std::io::Result<()> {
        let path = Self::path_for(partial);
        let mut tmp = path.as_os_str().to_owned();
        tmp.push(".tmp");
        let tmp = PathBuf::from(tmp);
        std::fs::write(
            &tmp,
            serde_json::to_vec(self).map_err(std::io::Error::other)?,
        )?;
        std::fs::rename(&tmp, &path)
    }

    /// Removes the state file (done, or discarded).
    pub fn remove(partial: &Path) {
        let _ = std::fs::remove_file(Self::path_for(partial));
    }

    pub fn parts(&self) -> u64 {
        self.size.div_ceil(self.part_size)
    }

    /// Inclusive byte range of part `i`.
    pub fn range(&self, i: u64) -> (u64, u64) {
        let start = i * self.part_size;
        (start, (start + self.part_size).min(self.size) - 1)
    }

    pub fn missing(&self) -> Vec<u64> {
        (0..self.parts())
            .filter(|i| !self.done.contains(i))
            .collect()
    }

    #[cfg(test)]
    pub fn is_complete(&self) -> bool {
        self.done.len() as u64 == self.parts()
    }

    /// Bytes in complete parts.
    pub fn done_bytes(&self) -> u64 {
        self.done
            .iter()
            .map(|&i| {
                let (a, b) = self.range(i);
                b - a + 1
            })
            .sum()
    }

    /// Bytes from the start that are all present: how far the hash can run.
    pub fn contiguous(&self) -> u64 {
        let mut next = 0;
        for &i in &self.done {
            if i != next {
                break;
            }
            next += 1;
        }
        (next * self.part_size).min(self.size)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_cover_the_file_once() {
        let m = PartMap::new("sha256.x", 10, 4);
        assert_eq!(m.parts(), 3);
        assert_eq!(m.range(0), (0, 3));
        assert_eq!(m.range(2), (8, 9));
        assert_eq!(m.missing(), vec![0, 1, 2]);
    }

    #[test]
    fn contiguous_stops_at_first_gap() {
        let mut m = PartMap::new("sha256.x", 10, 4);
        m.done.insert(1);
        assert_eq!(m.contiguous(), 0);
        m.done.insert(0);
        assert_eq!(m.contiguous(), 8);
        m.done.insert(2);
        assert_eq!(m.contiguous(), 10);
        assert!(m.is_complete());
        assert_eq!(m.done_bytes(), 10);
    }

    #[test]
    fn saved_map_is_only_reused_for_the_same_image() {
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("x.partial");
        std::fs::write(&partial, vec![0u8; 10]).unwrap();
        let mut m = PartMap::new("sha256.a", 10, 4);
        m.done.insert(0);
        m.save(&partial).unwrap();
        assert_eq!(PartMap::load(&partial, "sha256.a", 10), Some(m));
        assert_eq!(PartMap::load(&partial, "sha256.b", 10), None);
        assert_eq!(PartMap::load(&partial, "sha256.a", 11), None);
        std::fs::write(&partial, vec![0u8; 9]).unwrap();
        assert_eq!(PartMap::load(&partial, "sha256.a", 10), None);
        PartMap::remove(&partial);
        assert!(!PartMap::path_for(&partial).exists());
    }
}
