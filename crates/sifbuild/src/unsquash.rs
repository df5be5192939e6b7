//! A base image for a build: the primary SquashFS partition of a SIF read into a
//! [`RootFs`], in-process (what the reference does with `unsquashfs` into a sandbox).
//! Ownership is not kept — an unprivileged build owns everything and writes it as root —
//! and devices become empty files with mode 0000, as when layers are applied unprivileged.

use std::collections::HashMap;
use std::io::{BufReader, Read, Seek};
use std::path::Path;

use backhand::{FilesystemReader, InnerNode};
use berth_progress::Cancel;
use berth_sif::{DataType, FsType, Image};

use crate::error::{Error, Result};
use crate::tree::{clean, Kind, Node, RootFs, NO_LAYER};

/// backhand builds a node for every inode before anything can be read: a superblock that
/// claims more than any real image holds is refused before it can exhaust memory.
const MAX_INODES: u32 = 4_000_000;

/// What a base SIF carries besides its tree.
#[derive(Debug, Clone, Default)]
pub struct BaseSif {
    /// Architecture of the primary partition, Go name, when known.
    pub arch: Option<String>,
    /// The `oci-config.json` object, kept by builds from this image.
    pub oci_config: Option<Vec<u8>>,
}

impl RootFs {
    /// The tree of a SquashFS image given as a reader over exactly its bytes.
    pub fn from_squashfs<R: Read + Seek + Send>(
        spool_dir: &Path,
        squashfs: R,
        cancel: &Cancel,
    ) -> Result<RootFs> {
        let mut root = RootFs::new(spool_dir)?;
        // backhand parses untrusted bytes; a panic inside it is this image's error, not
        // the application's end.
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
            fill(&mut root, squashfs, cancel)
        }))
        .unwrap_or_else(|_| Err(corrupt("the SquashFS reader failed on this image")))?;
        Ok(root)
    }

    /// The primary partition of the SIF at `path`, and what else a build keeps of it.
    pub fn from_sif(spool_dir: &Path, path: &Path, cancel: &Cancel) -> Result<(RootFs, BaseSif)> {
        let mut image = Image::open(path)?;
        let primary = image.primary_partition()?.clone();
        let part = primary.partition()?;
        if part.fs != FsType::Squashfs {
            return Err(Error::InvalidMetadata(format!(
                "{}: the primary partition is {}, not SquashFS",
                path.display(),
                part.fs
            )));
        }
        let config_id = image
            .descriptors()
            .iter()
            .find(|d| d.data_type == DataType::GenericJson && d.name == "oci-config.json")
            .map(|d| d.id);
        let oci_config = match config_id {
            Some(id) => {
                let mut data = Vec::new();
                image.object_reader(id)?.read_to_end(&mut data)?;
                Some(data)
            }
            None => None,
        };
        let reader = image.object_reader(primary.id)?;
        let root = RootFs::from_squashfs(spool_dir, reader, cancel)?;
        let base = BaseSif {
            arch: part.arch.is_known().then(|| part.arch.go_name().to_owned()),
            oci_config,
        };
        Ok((root, base))
    }
}

fn corrupt(reason: impl std::fmt::Display) -> Error {
    Error::Squashfs(format!("cannot read the base image: {reason}"))
}

fn check_superblock<R: Read + Seek>(r: &mut R) -> Result<()> {
    let mut sb = [0u8; 32];
    r.read_exact(&mut sb)
        .map_err(|_| corrupt("too small to hold a SquashFS superblock"))?;
    r.rewind()?;
    if &sb[0..4] != b"hsqs" {
        return Err(corrupt("not a SquashFS file system (no hsqs magic)"));
    }
    let inodes = u32::from_le_bytes([sb[4], sb[5], sb[6], sb[7]]);
    let major = u16::from_le_bytes([sb[28], sb[29]]);
    if major != 4 {
        return Err(corrupt(format!(
            "SquashFS version {major} (only 4 is read)"
        )));
    }
    if inodes > MAX_INODES {
        return Err(corrupt(format!(
            "it claims {inodes} files, more than Berth reads ({MAX_INODES})"
        )));
    }
    Ok(())
}

/// File data a base may unfold to, as a multiple of its SquashFS size (real images stay far
/// below: gzip rarely gains more than 10x) …
const MAX_EXPANSION: u64 = 256;
/// … or at least this much, for small images of very compressible data.
const MIN_DATA_ALLOWANCE: u64 = 4 << 30;

/// Where a file's bytes are in the SquashFS: files with equal locations have equal bytes.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct DataLocation {
    blocks_start: u64,
    frag_index: u32,
    block_offset: u32,
    file_size: u64,
    /// Stored sizes (with the uncompressed bit): holes and block boundaries included.
    blocks: Vec<(u32, bool)>,
}

fn data_location(file: &backhand::SquashfsFileReader) -> DataLocation {
    use backhand::SquashfsFileReader as F;
    let (blocks_start, frag_index, block_offset, file_size, sizes) = match file {
        F::Basic(b) => (
            u64::from(b.blocks_start),
            b.frag_index,
            b.block_offset,
            u64::from(b.file_size),
            &b.block_sizes,
        ),
        F::Extended(e) => (
            e.blocks_start,
            e.frag_index,
            e.block_offset,
            e.file_size,
            &e.block_sizes,
        ),
    };
    DataLocation {
        blocks_start,
        frag_index,
        block_offset,
        file_size,
        blocks: sizes.iter().map(|d| (d.size(), d.uncompressed())).collect(),
    }
}

/// Refuses file data out of all proportion to the file system holding it.
fn check_expansion(declared: u64, size: u64) -> Result<()> {
    let allowed = size.saturating_mul(MAX_EXPANSION).max(MIN_DATA_ALLOWANCE);
    if declared > allowed {
        return Err(corrupt(format!(
            "its files claim {declared} bytes from a {size}-byte file system, more than Berth unfolds ({allowed})"
        )));
    }
    Ok(())
}

fn fill<R: Read + Seek + Send>(root: &mut RootFs, mut squashfs: R, cancel: &Cancel) -> Result<()> {
    check_superblock(&mut squashfs)?;
    let size = squashfs.seek(std::io::SeekFrom::End(0))?;
    squashfs.rewind()?;
    let fs = FilesystemReader::from_reader(BufReader::new(squashfs)).map_err(corrupt)?;
    // Holes cost a SquashFS nothing: a few bytes can declare terabytes of file data, which
    // would take that long to copy. Refuse before copying anything.
    let declared: u64 = fs
        .files()
        .filter_map(|n| match &n.inner {
            InnerNode::File(f) => Some(f.file_len() as u64),
            _ => None,
        })
        .fold(0u64, u64::saturating_add);
    check_expansion(declared, size)?;
    let mut spooled: HashMap<DataLocation, (u64, u64)> = HashMap::new();
    for node in fs.files() {
        cancel.check()?;
        let comps = clean(node.fullpath.as_os_str().as_encoded_bytes());
        let mode = u32::from(node.header.permissions) & 0o7777;
        let mtime = i64::from(node.header.mtime);
        let Some((name, parent)) = comps.split_last() else {
            root.root.mode = mode;
            root.root.mtime = mtime;
            continue;
        };
        let kind = match &node.inner {
            InnerNode::Dir(_) => Kind::Dir(Default::default()),
            InnerNode::File(file) => {
                // Hard links (and data mksquashfs deduplicated) point at the same blocks:
                // spool them once, so they are also compressed once when written again.
                let key = data_location(file);
                let (offset, len) = match spooled.get(&key) {
                    Some(range) => *range,
                    None => {
                        let mut reader = fs.file(file).reader_checked().map_err(corrupt)?;
                        let range = root.spool_from(&mut reader)?;
                        spooled.insert(key, range);
                        range
                    }
                };
                Kind::File { offset, len }
            }
            InnerNode::Symlink(link) => {
                Kind::Symlink(link.link.as_os_str().as_encoded_bytes().to_vec())
            }
            InnerNode::NamedPipe => Kind::Fifo,
            InnerNode::CharacterDevice(_) | InnerNode::BlockDevice(_) => {
                let (offset, len) = root.spool_from(&mut std::io::empty())?;
                root.dir_all(parent)?.insert(
                    name.clone(),
                    Node {
                        mode: 0,
                        mtime,
                        layer: NO_LAYER,
                        kind: Kind::File { offset, len },
                    },
                );
                continue;
            }
            // A socket is a runtime object; nothing to keep.
            InnerNode::Socket => continue,
        };
        // The listing is sorted, so a directory always comes before what it holds, and
        // SquashFS parents are real directories: no symlink is followed here.
        root.dir_all(parent)?.insert(
            name.clone(),
            Node {
                mode,
                mtime,
                layer: NO_LAYER,
                kind,
            },
        );
    }
    root.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_base_may_not_unfold_out_of_all_proportion() {
        let mib = 1u64 << 20;
        // A 100 MiB file system may hold 25 GiB of file data, a 1 MiB one the floor's 4 GiB.
        assert!(check_expansion(25 << 30, 100 * mib).is_ok());
        assert!(check_expansion(4 << 30, mib).is_ok());
        let e = check_expansion(1 << 40, 4096).unwrap_err();
        assert!(e.to_string().contains("claim 1099511627776 bytes"), "{e}");
    }
}
