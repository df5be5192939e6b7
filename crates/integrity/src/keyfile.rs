//! Keyring files on disk: reading (damage is reported, never repaired) and atomic writing
//! (temporary file beside the target, mode 0600, synced, renamed, directory synced).

use std::fs;
use std::io::Write as _;
use std::path::Path;

use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::parse::Parse;
use openpgp::serialize::Serialize as _;
use openpgp::Cert;

use crate::error::{Error, Result};

/// A keyring file as read: its bytes and certificates.
pub(crate) struct KeyringFile {
    pub bytes: Vec<u8>,
    pub certs: Vec<Cert>,
}

/// Reads a keyring; a missing or empty file is an empty keyring, anything unparsable is
/// [`Error::KeyringCorrupt`].
pub(crate) fn read_keyring(path: &Path) -> Result<KeyringFile> {
    let bytes = match fs::read(path) {
        Ok(b) => b,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
        Err(e) => return Err(Error::io(path, e)),
    };
    if bytes.is_empty() {
        return Ok(KeyringFile {
            bytes,
            certs: Vec::new(),
        });
    }
    let corrupt = |reason: String| Error::KeyringCorrupt {
        path: path.to_path_buf(),
        reason,
    };
    let certs = CertParser::from_bytes(&crate::packets::canonical_key_material(&bytes))
        .map_err(|e| corrupt(e.to_string()))?
        .collect::<openpgp::Result<Vec<Cert>>>()
        .map_err(|e| corrupt(e.to_string()))?;
    if certs.is_empty() {
        return Err(corrupt("no OpenPGP keys found".to_owned()));
    }
    Ok(KeyringFile { bytes, certs })
}

/// Parses key material to import.
pub(crate) fn parse_certs(bytes: &[u8]) -> Result<Vec<Cert>> {
    let certs = CertParser::from_bytes(&crate::packets::canonical_key_material(bytes))
        .and_then(|p| p.collect::<openpgp::Result<Vec<Cert>>>())
        .map_err(|e| Error::InvalidKey(e.to_string()))?;
    if certs.is_empty() {
        return Err(Error::InvalidKey("no OpenPGP keys found".to_owned()));
    }
    Ok(certs)
}

pub(crate) fn public_bytes(cert: &Cert) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    cert.serialize(&mut out)
        .map_err(|e| Error::InvalidKey(e.to_string()))?;
    Ok(out)
}

pub(crate) fn tsk_bytes(cert: &Cert) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    cert.as_tsk()
        .serialize(&mut out)
        .map_err(|e| Error::InvalidKey(e.to_string()))?;
    Ok(out)
}

/// Writes the existing bytes followed by `appended`, atomically.
pub(crate) fn write_appended(path: &Path, file: &KeyringFile, appended: &[u8]) -> Result<()> {
    let mut bytes = file.bytes.clone();
    bytes.extend_from_slice(appended);
    write_atomic(path, &bytes)
}

/// Writes the certificates anew (public parts only unless `secret`), atomically.
pub(crate) fn write_rewritten(path: &Path, file: &KeyringFile, secret: bool) -> Result<()> {
    let mut bytes = Vec::new();
    for cert in &file.certs {
        bytes.extend(if secret {
            tsk_bytes(cert)?
        } else {
            public_bytes(cert)?
        });
    }
    write_atomic(path, &bytes)
}

/// Temp file beside the target, mode 0600, synced, renamed over the target, directory synced.
pub(crate) fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .filter(|d| !d.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let io = |e: std::io::Error| Error::io(path, e);
    let mut tmp = tempfile::Builder::new()
        .prefix(".berth-keyring-")
        .tempfile_in(dir)
        .map_err(io)?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        tmp.as_file()
            .set_permissions(fs::Permissions::from_mode(0o600))
            .map_err(io)?;
    }
    tmp.write_all(bytes).map_err(io)?;
    tmp.as_file().sync_all().map_err(io)?;
    tmp.persist(path).map_err(|e| io(e.error))?;
    if let Ok(d) = fs::File::open(dir) {
        // The rename is done; failing to make it durable is not a failed write.
        let _ = d.sync_all();
    }
    Ok(())
}
