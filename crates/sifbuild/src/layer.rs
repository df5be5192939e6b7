//! Applying one OCI/Docker layer to the tree with umoci's extraction semantics
//! (oci-to-sif.md §4), as an unprivileged extraction would.

use std::fs::File;
use std::io::{BufReader, Read};
use std::path::Path;

use berth_progress::Cancel;
use tar::EntryType;

use crate::error::{Error, Result};
use crate::tree::{clean, display, Kind, Node, RootFs};

const WHITEOUT_PREFIX: &[u8] = b".wh.";
const OPAQUE_WHITEOUT: &[u8] = b".wh..wh..opq";

/// What applying a layer noticed without failing.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LayerReport {
    /// Entries that were skipped or changed, one human-readable line each.
    pub warnings: Vec<String>,
    /// Entries read from the tar stream.
    pub entries: u64,
}

/// How a layer blob is compressed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Compression {
    None,
    Gzip,
    Zstd,
}

/// The compression of a layer media type, or `None` when it is not a tar layer.
fn compression_of(media_type: &str) -> Option<Compression> {
    match media_type {
        "application/vnd.oci.image.layer.v1.tar"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar"
        | "application/vnd.docker.image.rootfs.diff.tar" => Some(Compression::None),
        "application/vnd.oci.image.layer.v1.tar+gzip"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip"
        | "application/vnd.docker.image.rootfs.diff.tar.gzip"
        | "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip" => Some(Compression::Gzip),
        "application/vnd.oci.image.layer.v1.tar+zstd"
        | "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd"
        | "application/vnd.docker.image.rootfs.diff.tar.zstd" => Some(Compression::Zstd),
        _ => None,
    }
}

/// Whether `media_type` names a layer [`RootFs::apply_layer`] can apply.
pub fn is_layer_media_type(media_type: &str) -> bool {
    compression_of(media_type).is_some()
}

fn malformed(e: impl std::fmt::Display) -> Error {
    Error::MalformedLayer(e.to_string())
}

impl RootFs {
    /// Applies the layer blob at `blob` (its media type decides the decompression) on top
    /// of the tree. Layers must be applied in manifest order, base first; each call is one
    /// layer for the whiteout rules. Warnings are returned, not logged.
    pub fn apply_layer(
        &mut self,
        blob: &Path,
        media_type: &str,
        cancel: &Cancel,
    ) -> Result<LayerReport> {
        let compression = compression_of(media_type)
            .ok_or_else(|| Error::UnsupportedMediaType(media_type.to_owned()))?;
        let file = BufReader::with_capacity(1 << 20, File::open(blob)?);
        let stream: Box<dyn Read> = match compression {
            Compression::None => Box::new(file),
            Compression::Gzip => Box::new(flate2::bufread::MultiGzDecoder::new(file)),
            Compression::Zstd => Box::new(zstd::stream::read::Decoder::with_buffer(file)?),
        };
        self.layers_applied += 1;
        let layer = self.layers_applied;
        let result = self.apply_tar(stream, layer, cancel);
        // Whatever happened, later readers must see every byte already spooled.
        self.flush()?;
        result
    }

    fn apply_tar(
        &mut self,
        stream: Box<dyn Read>,
        layer: u32,
        cancel: &Cancel,
    ) -> Result<LayerReport> {
        let mut report = LayerReport::default();
        let mut archive = tar::Archive::new(stream);
        for entry in archive.entries().map_err(malformed)? {
            cancel.check()?;
            let mut entry = entry.map_err(malformed)?;
            report.entries += 1;
            self.apply_entry(&mut entry, layer, &mut report)?;
        }
        Ok(report)
    }

    fn apply_entry(
        &mut self,
        entry: &mut tar::Entry<'_, Box<dyn Read>>,
        layer: u32,
        report: &mut LayerReport,
    ) -> Result<()> {
        let raw_path = entry.path_bytes().into_owned();
        let comps = clean(&raw_path);
        let header = entry.header();
        let kind = header.entry_type();
        let mode = header.mode().map_err(malformed)? & 0o7777;
        let mtime = header.mtime().map_err(malformed)? as i64;

        let Some((name, parent)) = comps.split_last() else {
            // The root itself: only its metadata can change.
            if kind != EntryType::Directory {
                return Err(Error::RootNotDirectory);
            }
            self.root.mode = mode;
            self.root.mtime = mtime;
            self.root.layer = layer;
            return Ok(());
        };

        if name.as_slice() == OPAQUE_WHITEOUT {
            let dir = self.resolve(parent, true)?;
            if let Some(Node {
                kind: Kind::Dir(children),
                ..
            }) = self.lookup_mut(&dir)
            {
                prune_children(children, layer);
            }
            return Ok(());
        }
        if let Some(target) = name.strip_prefix(WHITEOUT_PREFIX) {
            let dir = self.resolve(parent, true)?;
            if let Some(Node {
                kind: Kind::Dir(children),
                ..
            }) = self.lookup_mut(&dir)
            {
                prune_child(children, target, layer);
            }
            return Ok(());
        }

        let new_kind = match kind {
            EntryType::Regular | EntryType::Continuous | EntryType::GNUSparse => {
                let (offset, len) = self.spool_from(entry)?;
                Kind::File { offset, len }
            }
            EntryType::Directory => Kind::Dir(Default::default()),
            EntryType::Symlink => {
                let target = entry
                    .link_name_bytes()
                    .map(|t| t.into_owned())
                    .unwrap_or_default();
                Kind::Symlink(target)
            }
            EntryType::Fifo => Kind::Fifo,
            EntryType::Char | EntryType::Block => {
                // Unprivileged extraction cannot mknod; umoci leaves an empty 0000 file.
                let node = Node {
                    mode: 0,
                    mtime,
                    layer,
                    kind: Kind::File { offset: 0, len: 0 },
                };
                return self.put(&comps, node);
            }
            EntryType::Link => return self.hard_link(entry, &comps, layer, report),
            EntryType::XGlobalHeader | EntryType::XHeader => return Ok(()),
            other => {
                report.warnings.push(format!(
                    "{}: unsupported tar entry type {:?}, skipped",
                    display(&comps),
                    other.as_byte() as char
                ));
                return Ok(());
            }
        };
        let mode = if matches!(new_kind, Kind::Symlink(_)) {
            0o777
        } else {
            mode
        };
        self.put(
            &comps,
            Node {
                mode,
                mtime,
                layer,
                kind: new_kind,
            },
        )
    }

    /// Places an entry with the clobbering rule: a directory over a directory only updates
    /// metadata (its children stay); anything else replaces what was there.
    fn put(&mut self, comps: &[Vec<u8>], node: Node) -> Result<()> {
        let (name, parent) = comps.split_last().expect("caller checked for the root");
        let parent = self.resolve(parent, true)?;
        let children = self.dir_all(&parent)?;
        if let (Some(existing), Kind::Dir(_)) = (children.get_mut(name), &node.kind) {
            if existing.is_dir() {
                existing.mode = node.mode;
                existing.mtime = node.mtime;
                existing.layer = node.layer;
                return Ok(());
            }
        }
        children.insert(name.clone(), node);
        Ok(())
    }

    /// A hard link shares the target's data and metadata. The target is resolved inside the
    /// root; a missing target or a directory cannot be linked and is skipped.
    fn hard_link(
        &mut self,
        entry: &tar::Entry<'_, Box<dyn Read>>,
        comps: &[Vec<u8>],
        layer: u32,
        report: &mut LayerReport,
    ) -> Result<()> {
        let link = entry
            .link_name_bytes()
            .map(|t| t.into_owned())
            .unwrap_or_default();
        let link_comps = clean(&link);
        let target = match link_comps.split_last() {
            Some((base, dir)) => {
                let mut resolved = self.resolve(dir, true)?;
                resolved.push(base.clone());
                self.lookup(&resolved).cloned()
            }
            None => None,
        };
        match target {
            Some(node) if !node.is_dir() => self.put(comps, Node { layer, ..node }),
            Some(_) => {
                report.warnings.push(format!(
                    "{}: hard link to directory {} skipped",
                    display(comps),
                    display(&link_comps)
                ));
                Ok(())
            }
            None => {
                report.warnings.push(format!(
                    "{}: hard link target {} does not exist, skipped",
                    display(comps),
                    display(&link_comps)
                ));
                Ok(())
            }
        }
    }
}

/// Whiteout of one child: everything under it goes except what this layer wrote
/// (umoci keeps its "upper" paths and removes the rest).
fn prune_child(children: &mut std::collections::BTreeMap<Vec<u8>, Node>, name: &[u8], layer: u32) {
    let keep = match children.get_mut(name) {
        None => return,
        Some(node) if node.layer == layer => {
            if let Kind::Dir(grand) = &mut node.kind {
                prune_children(grand, layer);
            }
            true
        }
        Some(_) => false,
    };
    if !keep {
        children.remove(name);
    }
}

/// Opaque whiteout: every child not written by this layer goes; the directory stays.
fn prune_children(children: &mut std::collections::BTreeMap<Vec<u8>, Node>, layer: u32) {
    let names: Vec<Vec<u8>> = children.keys().cloned().collect();
    for name in names {
        prune_child(children, &name, layer);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn media_types() {
        assert_eq!(
            compression_of("application/vnd.oci.image.layer.v1.tar+gzip"),
            Some(Compression::Gzip)
        );
        assert_eq!(
            compression_of("application/vnd.docker.image.rootfs.diff.tar.gzip"),
            Some(Compression::Gzip)
        );
        assert_eq!(
            compression_of("application/vnd.oci.image.layer.v1.tar+zstd"),
            Some(Compression::Zstd)
        );
        assert_eq!(
            compression_of("application/vnd.oci.image.layer.v1.tar"),
            Some(Compression::None)
        );
        assert_eq!(
            compression_of("application/vnd.oci.image.config.v1+json"),
            None
        );
    }
}
