//! The build context archive (§8.1): a gzip tar of the host files a definition's `%files`
//! refers to, named relative to the working directory, symlinks followed.

use std::fs;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::{Digest as _, Sha256};

use crate::error::{Error, Result};

pub(crate) struct Archive {
    pub bytes: Vec<u8>,
    /// `sha256.<hex of bytes>`.
    pub digest: String,
}

/// Packs `paths` (absolute, or relative to `base`) into a `.tar.gz` in memory. Build
/// contexts are a handful of files; holding them in memory keeps size and digest exact.
pub(crate) fn archive(paths: &[PathBuf], base: &Path) -> Result<Archive> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    let mut tar = tar::Builder::new(gz);
    // The builder sees the files, not links that would point outside the archive.
    tar.follow_symlinks(true);
    let mut seen = std::collections::BTreeSet::new();
    for path in paths {
        let full = if path.is_absolute() {
            path.clone()
        } else {
            base.join(path)
        };
        let rel = full.strip_prefix(base).map_err(|_| {
            Error::input(format!(
                "{} is outside the build directory {}",
                full.display(),
                base.display()
            ))
        })?;
        add(&mut tar, &full, rel, &mut seen)?;
    }
    let gz = tar
        .into_inner()
        .map_err(|e| Error::local_io("packing the build context", e))?;
    let mut bytes = gz
        .finish()
        .map_err(|e| Error::local_io("packing the build context", e))?;
    bytes.flush().ok();
    let digest = format!("sha256.{:x}", Sha256::digest(&bytes));
    Ok(Archive { bytes, digest })
}

fn add<W: std::io::Write>(
    tar: &mut tar::Builder<W>,
    full: &Path,
    rel: &Path,
    seen: &mut std::collections::BTreeSet<PathBuf>,
) -> Result<()> {
    // The same file named twice (or inside a directory also named) is packed once.
    if !seen.insert(rel.to_path_buf()) {
        return Ok(());
    }
    let io = |e| Error::local_io(format!("reading {}", full.display()), e);
    // `metadata` follows symlinks, as the archive does.
    let meta = fs::metadata(full).map_err(io)?;
    if meta.is_dir() {
        if !rel.as_os_str().is_empty() {
            // Directory entries end with `/`, as the reference writes them.
            let name = format!("{}/", rel.to_string_lossy().trim_end_matches('/'));
            let mut header = tar::Header::new_gnu();
            header.set_metadata(&meta);
            header.set_size(0);
            tar.append_data(&mut header, &name, std::io::empty())
                .map_err(io)?;
        }
        let mut entries: Vec<_> = fs::read_dir(full)
            .map_err(io)?
            .collect::<std::io::Result<Vec<_>>>()
            .map_err(io)?;
        // Sorted: the same tree gives the same archive order.
        entries.sort_by_key(|e| e.file_name());
        for entry in entries {
            let name = entry.file_name();
            add(tar, &full.join(&name), &rel.join(&name), seen)?;
        }
        Ok(())
    } else {
        tar.append_path_with_name(full, rel).map_err(io)
    }
}
