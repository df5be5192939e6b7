//! The root file system as a tree in memory. File contents live in one anonymous spool
//! file, so memory stays proportional to the number of entries, not their size, and since
//! nothing is unpacked onto the real file system no entry can write outside the root.

use std::collections::{BTreeMap, VecDeque};
use std::fs::File;
use std::io::{self, BufWriter, Read, Seek, Write};
use std::os::unix::fs::FileExt;
use std::path::Path;
use std::sync::Arc;
use std::time::{SystemTime, UNIX_EPOCH};

use crate::error::{Error, Result};

/// Linux's limit; more means a loop.
const MAX_SYMLINKS: usize = 255;

/// Layer stamp of nodes no layer entry wrote (implicit parents, the skeleton).
pub(crate) const NO_LAYER: u32 = 0;

/// One file system object.
#[derive(Debug, Clone)]
pub(crate) struct Node {
    /// Permission bits including setuid/setgid/sticky (`& 0o7777`).
    pub mode: u32,
    /// Modification time, Unix seconds.
    pub mtime: i64,
    /// Which layer's entry last wrote this path; whiteouts spare what the current layer wrote.
    pub layer: u32,
    pub kind: Kind,
}

/// What a node is.
#[derive(Debug, Clone)]
pub(crate) enum Kind {
    /// Children by name; the map keeps them in the byte order SquashFS wants.
    Dir(BTreeMap<Vec<u8>, Node>),
    /// A byte range of the spool. Hard links share the range.
    File {
        offset: u64,
        len: u64,
    },
    /// Target, verbatim.
    Symlink(Vec<u8>),
    Fifo,
}

impl Node {
    pub(crate) fn dir(mode: u32, mtime: i64, layer: u32) -> Node {
        Node {
            mode,
            mtime,
            layer,
            kind: Kind::Dir(BTreeMap::new()),
        }
    }

    pub(crate) fn is_dir(&self) -> bool {
        matches!(self.kind, Kind::Dir(_))
    }
}

/// What a path names, for callers outside the crate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EntryKind {
    /// A directory.
    Dir,
    /// A regular file of this many bytes.
    File {
        /// Size in bytes.
        len: u64,
    },
    /// A symbolic link with this target.
    Symlink(String),
    /// A named pipe.
    Fifo,
}

/// Metadata of one path, see [`RootFs::stat`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EntryInfo {
    /// Permission bits including setuid/setgid/sticky.
    pub mode: u32,
    /// Modification time, Unix seconds.
    pub mtime: i64,
    /// What it is.
    pub kind: EntryKind,
}

/// A root file system held as a tree in memory, file contents spooled to one temp file.
pub struct RootFs {
    pub(crate) root: Node,
    spool: BufWriter<File>,
    /// A second handle for positioned reads, shared with SquashFS readers.
    reader: Arc<File>,
    spool_len: u64,
    /// Layers applied so far; the current layer's number stamps the nodes it writes.
    pub(crate) layers_applied: u32,
}

impl std::fmt::Debug for RootFs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RootFs")
            .field("spool_len", &self.spool_len)
            .finish_non_exhaustive()
    }
}

/// Splits a path into clean components: `.` and empty parts dropped, `..` clamped at the
/// root, absolute paths made relative (what umoci's CleanPath does).
pub(crate) fn clean(path: &[u8]) -> Vec<Vec<u8>> {
    let mut out: Vec<Vec<u8>> = Vec::new();
    for part in path.split(|b| *b == b'/') {
        match part {
            b"" | b"." => {}
            b".." => {
                out.pop();
            }
            name => out.push(name.to_vec()),
        }
    }
    out
}

pub(crate) fn display(comps: &[Vec<u8>]) -> String {
    let joined: Vec<u8> = comps.join(&b'/');
    format!("/{}", String::from_utf8_lossy(&joined))
}

pub(crate) fn now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Reads until `buf` is full or the data ends; returns the bytes read.
fn read_full(data: &mut dyn Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut got = 0;
    while got < buf.len() {
        match data.read(&mut buf[got..]) {
            Ok(0) => break,
            Ok(n) => got += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(got)
}

impl RootFs {
    /// An empty root (a 0755 directory) whose file data is spooled to an anonymous file in
    /// `spool_dir`; the spool disappears with the value, or with the process.
    pub fn new(spool_dir: &Path) -> Result<Self> {
        let file = tempfile::tempfile_in(spool_dir)?;
        let reader = Arc::new(file.try_clone()?);
        Ok(RootFs {
            root: Node::dir(0o755, now(), NO_LAYER),
            spool: BufWriter::with_capacity(1 << 20, file),
            reader,
            spool_len: 0,
            layers_applied: NO_LAYER,
        })
    }

    /// Looks a clean path up without following any symlink.
    pub(crate) fn lookup(&self, comps: &[Vec<u8>]) -> Option<&Node> {
        let mut node = &self.root;
        for c in comps {
            match &node.kind {
                Kind::Dir(children) => node = children.get(c)?,
                _ => return None,
            }
        }
        Some(node)
    }

    pub(crate) fn lookup_mut(&mut self, comps: &[Vec<u8>]) -> Option<&mut Node> {
        let mut node = &mut self.root;
        for c in comps {
            match &mut node.kind {
                Kind::Dir(children) => node = children.get_mut(c)?,
                _ => return None,
            }
        }
        Some(node)
    }

    /// Resolves `comps` inside the root the way securejoin does: symlinks are followed with
    /// absolute targets re-rooted at the root and `..` clamped there, so the result can never
    /// leave the tree. Missing components are kept literally. With `follow_last` false the
    /// final component is not followed (lstat semantics).
    pub(crate) fn resolve(&self, comps: &[Vec<u8>], follow_last: bool) -> Result<Vec<Vec<u8>>> {
        let mut resolved: Vec<Vec<u8>> = Vec::new();
        let mut pending: VecDeque<Vec<u8>> = comps.iter().cloned().collect();
        let mut links = 0;
        while let Some(c) = pending.pop_front() {
            match c.as_slice() {
                b"" | b"." => continue,
                b".." => {
                    resolved.pop();
                    continue;
                }
                _ => {}
            }
            resolved.push(c);
            if pending.is_empty() && !follow_last {
                break;
            }
            if let Some(Node {
                kind: Kind::Symlink(target),
                ..
            }) = self.lookup(&resolved)
            {
                links += 1;
                if links > MAX_SYMLINKS {
                    return Err(Error::SymlinkLoop {
                        path: display(comps),
                    });
                }
                let target = target.clone();
                resolved.pop();
                if target.first() == Some(&b'/') {
                    resolved.clear();
                }
                for part in target.split(|b| *b == b'/').rev() {
                    pending.push_front(part.to_vec());
                }
            }
        }
        Ok(resolved)
    }

    /// The children of the directory at the resolved path `dir`, creating missing
    /// directories (0755, not stamped by any layer, like umoci's MkdirAll).
    pub(crate) fn dir_all(&mut self, dir: &[Vec<u8>]) -> Result<&mut BTreeMap<Vec<u8>, Node>> {
        let mtime = now();
        let mut node = &mut self.root;
        for c in dir {
            let Kind::Dir(children) = &mut node.kind else {
                return Err(Error::NotADirectory { path: display(dir) });
            };
            node = children
                .entry(c.clone())
                .or_insert_with(|| Node::dir(0o755, mtime, NO_LAYER));
        }
        match &mut node.kind {
            Kind::Dir(children) => Ok(children),
            _ => Err(Error::NotADirectory { path: display(dir) }),
        }
    }

    /// Appends everything `data` yields to the spool; returns (offset, length). Runs of
    /// zeros a block long become holes in the spool, so sparse files cost no disk.
    pub(crate) fn spool_from(&mut self, data: &mut dyn Read) -> Result<(u64, u64)> {
        const BLOCK: usize = 128 * 1024;
        let offset = self.spool_len;
        let mut buf = vec![0u8; BLOCK];
        let mut len = 0u64;
        let mut hole_at_end = false;
        loop {
            let n = read_full(data, &mut buf)?;
            if n == 0 {
                break;
            }
            if n == BLOCK && buf.iter().all(|b| *b == 0) {
                // Seeking a buffered writer flushes it first, then moves past the hole.
                self.spool.seek(io::SeekFrom::Current(BLOCK as i64))?;
                hole_at_end = true;
            } else {
                self.spool.write_all(&buf[..n])?;
                hole_at_end = false;
            }
            len += n as u64;
        }
        self.spool_len += len;
        if hole_at_end {
            // A file ending in a hole: the spool must still reach its end for readers.
            self.spool.flush()?;
            self.spool.get_ref().set_len(self.spool_len)?;
        }
        Ok((offset, len))
    }

    /// Makes spooled data visible to positioned reads; every public mutating method ends
    /// with it, so readers taking `&self` never see a partly buffered file.
    pub(crate) fn flush(&mut self) -> Result<()> {
        self.spool.flush()?;
        Ok(())
    }

    /// A reader for a spooled byte range that shares the spool handle (no file descriptor
    /// per file).
    pub(crate) fn range_reader(&self, offset: u64, len: u64) -> SpoolReader {
        SpoolReader {
            file: Arc::clone(&self.reader),
            pos: offset,
            remaining: len,
        }
    }

    /// Places `node` at the clean path `comps`: parents resolved inside the root and created
    /// as needed, whatever was there replaced.
    pub(crate) fn place(&mut self, comps: &[Vec<u8>], node: Node) -> Result<()> {
        let Some((name, parent)) = comps.split_last() else {
            return Err(Error::InvalidPath(display(comps)));
        };
        let parent = self.resolve(parent, true)?;
        self.dir_all(&parent)?.insert(name.clone(), node);
        Ok(())
    }

    /// Adds (or replaces) a regular file; parents are created 0755.
    pub fn add_file(&mut self, path: &str, mode: u32, data: &[u8]) -> Result<()> {
        let comps = clean(path.as_bytes());
        let (offset, len) = self.spool_from(&mut &data[..])?;
        self.flush()?;
        let node = Node {
            mode: mode & 0o7777,
            mtime: now(),
            layer: NO_LAYER,
            kind: Kind::File { offset, len },
        };
        self.place(&comps, node)
    }

    /// Adds a directory, or only updates the mode of one that exists.
    pub fn add_dir(&mut self, path: &str, mode: u32) -> Result<()> {
        let comps = clean(path.as_bytes());
        let Some((name, parent)) = comps.split_last() else {
            self.root.mode = mode & 0o7777;
            return Ok(());
        };
        let parent = self.resolve(parent, true)?;
        let children = self.dir_all(&parent)?;
        match children.get_mut(name) {
            Some(existing) if existing.is_dir() => existing.mode = mode & 0o7777,
            _ => {
                children.insert(name.clone(), Node::dir(mode & 0o7777, now(), NO_LAYER));
            }
        }
        Ok(())
    }

    /// Adds (or replaces) a symbolic link; the target is stored verbatim.
    pub fn add_symlink(&mut self, path: &str, target: &str) -> Result<()> {
        let comps = clean(path.as_bytes());
        let node = Node {
            mode: 0o777,
            mtime: now(),
            layer: NO_LAYER,
            kind: Kind::Symlink(target.as_bytes().to_vec()),
        };
        self.place(&comps, node)
    }

    /// Whether something exists at `path` (the last component not followed).
    pub fn exists(&self, path: &str) -> bool {
        self.stat(path).is_some()
    }

    /// Metadata of `path`; parents are resolved inside the root, the last component is not
    /// followed.
    pub fn stat(&self, path: &str) -> Option<EntryInfo> {
        let resolved = self.resolve(&clean(path.as_bytes()), false).ok()?;
        let node = self.lookup(&resolved)?;
        let kind = match &node.kind {
            Kind::Dir(_) => EntryKind::Dir,
            Kind::File { len, .. } => EntryKind::File { len: *len },
            Kind::Symlink(t) => EntryKind::Symlink(String::from_utf8_lossy(t).into_owned()),
            Kind::Fifo => EntryKind::Fifo,
        };
        Some(EntryInfo {
            mode: node.mode,
            mtime: node.mtime,
            kind,
        })
    }

    /// Names in the directory at `path` (symlinks followed), sorted; `None` if not a directory.
    pub fn list(&self, path: &str) -> Option<Vec<String>> {
        let resolved = self.resolve(&clean(path.as_bytes()), true).ok()?;
        match &self.lookup(&resolved)?.kind {
            Kind::Dir(children) => Some(
                children
                    .keys()
                    .map(|k| String::from_utf8_lossy(k).into_owned())
                    .collect(),
            ),
            _ => None,
        }
    }

    /// The contents of the regular file at `path` (symlinks followed); meant for small
    /// files such as scripts and labels.
    pub fn read(&self, path: &str) -> Option<Vec<u8>> {
        let resolved = self.resolve(&clean(path.as_bytes()), true).ok()?;
        match self.lookup(&resolved)?.kind {
            Kind::File { offset, len } => {
                let mut out = Vec::with_capacity(len as usize);
                self.range_reader(offset, len).read_to_end(&mut out).ok()?;
                Some(out)
            }
            _ => None,
        }
    }

    /// Sets the mode of whatever is at `path` (last component not followed); false if absent.
    pub fn set_mode(&mut self, path: &str, mode: u32) -> bool {
        let Ok(resolved) = self.resolve(&clean(path.as_bytes()), false) else {
            return false;
        };
        match self.lookup_mut(&resolved) {
            Some(node) => {
                node.mode = mode & 0o7777;
                true
            }
            None => false,
        }
    }

    /// Total bytes of regular-file data in the tree (hard links counted per link).
    pub fn data_size(&self) -> u64 {
        fn walk(node: &Node) -> u64 {
            match &node.kind {
                Kind::Dir(children) => children.values().map(walk).sum(),
                Kind::File { len, .. } => *len,
                _ => 0,
            }
        }
        walk(&self.root)
    }
}

/// Reads one byte range of the spool with positioned reads.
pub(crate) struct SpoolReader {
    file: Arc<File>,
    pos: u64,
    remaining: u64,
}

impl Read for SpoolReader {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.remaining == 0 {
            return Ok(0);
        }
        let want = buf
            .len()
            .min(self.remaining.min(usize::MAX as u64) as usize);
        let n = self.file.read_at(&mut buf[..want], self.pos)?;
        if n == 0 {
            return Err(io::Error::new(
                io::ErrorKind::UnexpectedEof,
                "spool shorter than recorded",
            ));
        }
        self.pos += n as u64;
        self.remaining -= n as u64;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_blocks_are_holes_in_the_spool_and_read_back_as_zeros() {
        use std::os::unix::fs::MetadataExt as _;
        let dir = tempfile::tempdir().unwrap();
        let mut root = RootFs::new(dir.path()).unwrap();
        let size = 64u64 << 20;
        // Data, then 64 MiB of zeros ending the file, then more data after it.
        let (_, a) = root.spool_from(&mut &b"head"[..]).unwrap();
        let (offset, len) = root.spool_from(&mut std::io::repeat(0).take(size)).unwrap();
        let (tail_at, _) = root.spool_from(&mut &b"tail"[..]).unwrap();
        root.flush().unwrap();
        assert_eq!((a, len, tail_at), (4, size, 4 + size));
        let spool = dir.path().read_dir().unwrap().count();
        assert_eq!(spool, 0, "the spool is anonymous");
        let meta = root.reader.metadata().unwrap();
        assert_eq!(meta.len(), 4 + size + 4);
        assert!(
            meta.blocks() * 512 < 1 << 20,
            "{} bytes on disk",
            meta.blocks() * 512
        );
        let mut back = Vec::new();
        root.range_reader(offset, len)
            .read_to_end(&mut back)
            .unwrap();
        assert!(back.len() as u64 == size && back.iter().all(|b| *b == 0));
        let mut tail = Vec::new();
        root.range_reader(tail_at, 4)
            .read_to_end(&mut tail)
            .unwrap();
        assert_eq!(tail, b"tail");
    }
}
