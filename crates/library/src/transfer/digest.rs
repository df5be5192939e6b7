//! Hashing local files for uploads: SHA-256 (the image's identity) and MD5 (only the
//! single-part v2 upload asks for it), read once in large blocks off the async runtime.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use md5::Md5;
use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use berth_progress::{Cancel, Progress};

/// Read size: large enough that syscalls do not show in a profile, small enough to keep
/// memory flat.
pub(crate) const BLOCK: usize = 1 << 20;

/// A file's size and digests.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    /// Bytes read.
    pub size: u64,
    /// Lower-case hex SHA-256.
    pub sha256: String,
    /// Lower-case hex MD5, when asked for.
    pub md5: Option<String>,
}

impl FileDigest {
    /// The library's image hash: `sha256.<hex>`.
    pub fn image_hash(&self) -> String {
        format!("sha256.{}", self.sha256)
    }
}

/// Hashes a whole file, reporting bytes to `progress` (the caller sets the phase).
pub async fn digest_file(
    path: &Path,
    with_md5: bool,
    progress: Arc<dyn Progress>,
    cancel: Cancel,
) -> Result<FileDigest> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || digest_blocking(&path, with_md5, &*progress, &cancel))
        .await
        .map_err(|e| Error::local_io("hashing stopped", std::io::Error::other(e)))?
}

fn digest_blocking(
    path: &PathBuf,
    with_md5: bool,
    progress: &dyn Progress,
    cancel: &Cancel,
) -> Result<FileDigest> {
    let mut file = File::open(path)
        .map_err(|e| Error::local_io(format!("cannot open {}", path.display()), e))?;
    let mut sha = Sha256::new();
    let mut md5 = with_md5.then(Md5::new);
    let mut buf = vec![0u8; BLOCK];
    let mut size = 0u64;
    loop {
        cancel.check()?;
        let n = read_some(&mut file, &mut buf)
            .map_err(|e| Error::local_io(format!("cannot read {}", path.display()), e))?;
        if n == 0 {
            break;
        }
        sha.update(&buf[..n]);
        if let Some(m) = md5.as_mut() {
            m.update(&buf[..n]);
        }
        size += n as u64;
        progress.advance(n as u64);
    }
    Ok(FileDigest {
        size,
        sha256: hex(&sha.finalize()),
        md5: md5.map(|m| hex(&m.finalize())),
    })
}

/// SHA-256 of `len` bytes at `offset` (a multipart part, hashed before it is announced).
pub(crate) async fn digest_range(path: &Path, offset: u64, len: u64) -> Result<String> {
    let path = path.to_path_buf();
    tokio::task::spawn_blocking(move || -> Result<String> {
        let what = || format!("cannot read {}", path.display());
        let mut file = File::open(&path).map_err(|e| Error::local_io(what(), e))?;
        file.seek(SeekFrom::Start(offset))
            .map_err(|e| Error::local_io(what(), e))?;
        let mut sha = Sha256::new();
        let mut left = len;
        let mut buf = vec![0u8; BLOCK.min(usize::try_from(len).unwrap_or(BLOCK)).max(1)];
        while left > 0 {
            let want = buf.len().min(usize::try_from(left).unwrap_or(buf.len()));
            let n =
                read_some(&mut file, &mut buf[..want]).map_err(|e| Error::local_io(what(), e))?;
            if n == 0 {
                return Err(Error::local_io(
                    what(),
                    std::io::Error::new(
                        std::io::ErrorKind::UnexpectedEof,
                        "file shrank while pushing",
                    ),
                ));
            }
            sha.update(&buf[..n]);
            left -= n as u64;
        }
        Ok(hex(&sha.finalize()))
    })
    .await
    .map_err(|e| Error::local_io("hashing stopped", std::io::Error::other(e)))?
}

/// `read` that retries on EINTR.
pub(crate) fn read_some(file: &mut impl Read, buf: &mut [u8]) -> std::io::Result<usize> {
    loop {
        match file.read(buf) {
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            other => return other,
        }
    }
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    use std::fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use berth_progress::NoProgress;

    #[tokio::test]
    async fn digests_match_known_values() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"abc").unwrap();
        let d = digest_file(&p, true, Arc::new(NoProgress), Cancel::new())
            .await
            .unwrap();
        assert_eq!(d.size, 3);
        assert_eq!(
            d.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.md5.as_deref(), Some("900150983cd24fb0d6963f7d28e17f72"));
        assert_eq!(d.image_hash(), format!("sha256.{}", d.sha256));
        assert_eq!(
            digest_range(&p, 1, 1).await.unwrap(),
            // SHA-256("b")
            "3e23e8160039594a33894f6564e1b1348bbd7a0088d42c4acb73eeaed59c009d"
        );
    }
}
