//! Writing the tree as a SquashFS image the way Apptainer's unprivileged mksquashfs call
//! does (oci-to-sif.md §7.2): gzip, 128 KiB blocks, everything owned by 0:0 (`-all-root`).

use std::fs::{self, File};
use std::io::{self, BufWriter, Read};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use backhand::compression::Compressor;
use backhand::{FilesystemCompressor, FilesystemWriter, NodeHeader};
use berth_progress::{Cancel, Phase, Progress};

use crate::error::{Error, Result};
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
    let result = write_inner(root, out, progress, cancel);
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
) -> Result<u64> {
    let mut fsw = FilesystemWriter::default();
    fsw.set_compressor(FilesystemCompressor::new(Compressor::Gzip, None).map_err(squash_err)?);
    fsw.set_block_size(BLOCK_SIZE);
    fsw.set_root_mode(root.root.mode as u16);
    fsw.set_time(root.root.mtime.clamp(0, u32::MAX as i64) as u32);
    let Kind::Dir(children) = &root.root.kind else {
        unreachable!("the root is always a directory")
    };
    let mut path = PathBuf::from("/");
    push_children(root, &mut fsw, children, &mut path, &progress, cancel)?;
    let file = File::create(out)?;
    let written = fsw.write(BufWriter::with_capacity(1 << 20, &file));
    match written {
        Ok((_, size)) => {
            file.sync_all()?;
            Ok(size)
        }
        Err(_) if cancel.is_cancelled() => Err(Error::Cancelled),
        Err(e) => Err(squash_err(e)),
    }
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
