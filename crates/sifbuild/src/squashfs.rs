//! Writing the tree as a SquashFS image the way Apptainer's unprivileged mksquashfs call
//! does (oci-to-sif.md §7.2): gzip, 128 KiB blocks, everything owned by 0:0 (`-all-root`).

use std::fs::{self, File};
use std::io::{self, BufWriter, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use backhand::compression::Compressor;
use backhand::kind::Kind as SquashfsKind;
use backhand::{FilesystemCompressor, FilesystemWriter, NodeHeader};
use berth_progress::{Cancel, Phase, Progress};

use crate::error::{Error, Result};
use crate::prefetch::{self, Lookahead, Planned};
use crate::tree::{Kind, Node, RootFs, SpoolReader};

const BLOCK_SIZE: u32 = 128 * 1024;

/// Counts bytes as backhand pulls them and stops it once cancelled.
struct Tracked {
    inner: SpoolReader,
    progress: Arc<dyn Progress>,
    cancel: Cancel,
}

impl Read for Tracked {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.cancel.is_cancelled() {
            // Not `Interrupted`: readers retry that kind forever.
            return Err(io::Error::other("cancelled"));
        }
        let n = self.inner.read(buf)?;
        self.progress.advance(n as u64);
        Ok(n)
    }
}

fn header(node: &Node) -> NodeHeader {
    // SquashFS inode times are 32-bit; out-of-range header times are clamped like mksquashfs.
    NodeHeader::new(
        node.mode as u16,
        0,
        0,
        node.mtime.clamp(0, u32::MAX as i64) as u32,
    )
}

fn squash_err(e: impl std::fmt::Display) -> Error {
    Error::Squashfs(e.to_string())
}

/// Writes the tree to `out` and returns the image size. A failed or cancelled write leaves
/// no file at `out`.
pub fn write_squashfs(
    root: &RootFs,
    out: &Path,
    progress: Arc<dyn Progress>,
    cancel: &Cancel,
) -> Result<u64> {
    cancel.check()?;
    progress.phase(Phase::Squashing, Some(root.data_size()));
    let result = write_inner(root, out, progress, cancel, true);
    if result.is_err() {
        let _ = fs::remove_file(out);
    }
    result
}

fn write_inner(
    root: &RootFs,
    out: &Path,
    progress: Arc<dyn Progress>,
    cancel: &Cancel,
    parallel: bool,
) -> Result<u64> {
    let mut fsw = FilesystemWriter::default();
    let fc = FilesystemCompressor::new(Compressor::Gzip, None).map_err(squash_err)?;
    fsw.set_kind(SquashfsKind::new_v4(&prefetch::PREFETCHING));
    fsw.set_compressor(fc);
    fsw.set_block_size(BLOCK_SIZE);
    fsw.set_root_mode(root.root.mode as u16);
    fsw.set_time(root.root.mtime.clamp(0, u32::MAX as i64) as u32);
    let Kind::Dir(children) = &root.root.kind else {
        unreachable!("the root is always a directory")
    };
    let mut path = PathBuf::from("/");
    push_children(root, &mut fsw, children, &mut path, &progress, cancel)?;
    let file = File::create(out)?;
    let planned = if parallel {
        plan_blocks(root, &root.root)?
    } else {
        Vec::new()
    };
    let lookahead = Lookahead::new(planned, fc, BLOCK_SIZE);
    let workers = if parallel {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        0
    };
    let written = std::thread::scope(|scope| {
        for _ in 0..workers {
            let l = Arc::clone(&lookahead);
            scope.spawn(move || l.work());
        }
        let _current = prefetch::install(Arc::clone(&lookahead));
        let written = fsw.write(BufWriter::with_capacity(1 << 20, &file));
        lookahead.stop();
        written
    });
    match written {
        Ok((_, size)) => {
            file.sync_all()?;
            Ok(size)
        }
        Err(_) if cancel.is_cancelled() => Err(Error::Cancelled),
        Err(e) => Err(squash_err(e)),
    }
}

/// The data blocks backhand will compress, in its order: every full-block-or-longer file in
/// path order (the tree's order), cut in block-size chunks, all-zero chunks left out (they
/// become holes).
/// Files sharing spooled data (hard links) are planned as copies of the first one's blocks,
/// which are then compressed once.
fn plan_blocks(root: &RootFs, node: &Node) -> Result<Vec<Planned>> {
    let mut out = Vec::new();
    let mut buf = vec![0u8; BLOCK_SIZE as usize];
    let mut planned_files = std::collections::HashMap::new();
    plan_into(root, node, &mut buf, &mut out, &mut planned_files)?;
    Ok(out)
}

/// Where each spooled range's blocks start in the plan, and how many there are.
type PlannedFiles = std::collections::HashMap<(u64, u64), (usize, usize)>;

fn plan_into(
    root: &RootFs,
    node: &Node,
    buf: &mut [u8],
    out: &mut Vec<Planned>,
    planned_files: &mut PlannedFiles,
) -> Result<()> {
    match &node.kind {
        Kind::Dir(children) => {
            for child in children.values() {
                plan_into(root, child, buf, out, planned_files)?;
            }
        }
        Kind::File { offset, len } if *len >= u64::from(BLOCK_SIZE) => {
            if let Some(&(first, count)) = planned_files.get(&(*offset, *len)) {
                for k in 0..count {
                    let original = &out[first + k];
                    let copy = Planned {
                        reader: None,
                        len: original.len,
                        hash: original.hash,
                        same_as: Some(first + k),
                    };
                    out.push(copy);
                }
                return Ok(());
            }
            let first = out.len();
            let mut at = 0u64;
            while at < *len {
                let n = (*len - at).min(u64::from(BLOCK_SIZE));
                let chunk = &mut buf[..n as usize];
                root.range_reader(offset + at, n).read_exact(chunk)?;
                if chunk.iter().any(|b| *b != 0) {
                    out.push(Planned {
                        reader: Some(root.range_reader(offset + at, n)),
                        len: n as usize,
                        hash: prefetch::block_hash(chunk),
                        same_as: None,
                    });
                }
                at += n;
            }
            planned_files.insert((*offset, *len), (first, out.len() - first));
        }
        _ => {}
    }
    Ok(())
}

fn push_children<'c>(
    root: &RootFs,
    fsw: &mut FilesystemWriter<'_, '_, 'c>,
    children: &std::collections::BTreeMap<Vec<u8>, Node>,
    path: &mut PathBuf,
    progress: &Arc<dyn Progress>,
    cancel: &Cancel,
) -> Result<()> {
    for (name, node) in children {
        path.push(std::ffi::OsStr::from_bytes(name));
        let hdr = header(node);
        match &node.kind {
            Kind::Dir(grand) => {
                fsw.push_dir(&*path, hdr).map_err(squash_err)?;
                push_children(root, fsw, grand, path, progress, cancel)?;
            }
            Kind::File { offset, len } => {
                let reader = Tracked {
                    inner: root.range_reader(*offset, *len),
                    progress: Arc::clone(progress),
                    cancel: cancel.clone(),
                };
                fsw.push_file(reader, &*path, hdr).map_err(squash_err)?;
            }
            Kind::Symlink(target) => {
                let target = PathBuf::from(std::ffi::OsStr::from_bytes(target));
                fsw.push_symlink(target, &*path, hdr).map_err(squash_err)?;
            }
            Kind::Fifo => fsw.push_fifo(&*path, hdr).map_err(squash_err)?,
        }
        path.pop();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tree::clean;
    use berth_progress::NoProgress;

    /// Deterministic bytes: random-looking or text-like.
    fn bytes(len: usize, seed: u64, text: bool) -> Vec<u8> {
        let mut x = seed | 1;
        (0..len)
            .map(|i| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                if text {
                    b"abcdefgh \n"[(x % 10) as usize] ^ ((i % 3 == 0) as u8)
                } else {
                    (x >> 24) as u8
                }
            })
            .collect()
    }

    #[test]
    fn blocks_compressed_ahead_give_the_same_image_byte_for_byte() {
        let dir = tempfile::tempdir().unwrap();
        let mut root = RootFs::new(dir.path()).unwrap();
        let block = BLOCK_SIZE as usize;
        let big_random = bytes(3 * block + 777, 1, false);
        root.add_file("a/random.bin", 0o644, &big_random).unwrap();
        root.add_file("a/text.txt", 0o644, &bytes(5 * block, 2, true))
            .unwrap();
        // A duplicate, an exact multiple of the block size, zero blocks (holes) between data.
        root.add_file("b/copy.bin", 0o644, &big_random).unwrap();
        root.add_file("b/exact.bin", 0o600, &bytes(2 * block, 3, false))
            .unwrap();
        let mut holes = vec![0u8; 3 * block];
        holes[block + 5] = 1;
        root.add_file("c/holes.bin", 0o644, &holes).unwrap();
        // Small files go to fragments, compressed between the planned blocks.
        for i in 0..40 {
            root.add_file(
                &format!("d/small{i}"),
                0o644,
                &bytes(3000 + i * 97, 10 + i as u64, i % 2 == 0),
            )
            .unwrap();
        }
        root.add_file("e/empty", 0o644, b"").unwrap();
        // Hard links: two more names for the spooled bytes of a/text.txt, one before it
        // in path order and one after, so the plan holds copies of planned blocks.
        let linked = root.lookup(&clean(b"a/text.txt")).unwrap().clone();
        for name in ["0-first-link", "z/last-link"] {
            root.place(&clean(name.as_bytes()), linked.clone()).unwrap();
        }
        root.flush().unwrap();
        let planned = plan_blocks(&root, &root.root).unwrap();
        let copies = planned.iter().filter(|p| p.same_as.is_some()).count();
        assert_eq!(copies, 2 * 5, "two links of a five-block file");
        let serial = dir.path().join("serial.sqfs");
        let parallel = dir.path().join("parallel.sqfs");
        let cancel = Cancel::new();
        write_inner(&root, &serial, Arc::new(NoProgress), &cancel, false).unwrap();
        write_inner(&root, &parallel, Arc::new(NoProgress), &cancel, true).unwrap();
        assert_eq!(
            std::fs::read(&serial).unwrap(),
            std::fs::read(&parallel).unwrap()
        );
    }
}
