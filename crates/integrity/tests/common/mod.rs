//! Shared helpers for the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use berth_integrity::openpgp::Cert;
use berth_integrity::{DssePublicKey, KeySource, Selection, VerifyOptions};

/// The shared SIF vectors: `$BERTH_TESTDATA`, else `shared/testdata/sif` beside the repository.
pub fn testdata() -> PathBuf {
    match std::env::var_os("BERTH_TESTDATA") {
        Some(dir) => PathBuf::from(dir),
        None => Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/sif"),
    }
}

pub fn data(rel: &str) -> PathBuf {
    testdata().join(rel)
}

pub fn read(rel: &str) -> Vec<u8> {
    std::fs::read(data(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
}

pub fn read_str(rel: &str) -> String {
    String::from_utf8(read(rel)).unwrap()
}

pub fn cert(rel: &str) -> Cert {
    let mut certs = berth_integrity::parse_key_material(&read(rel)).unwrap();
    assert_eq!(certs.len(), 1);
    certs.remove(0)
}

/// The public part of a certificate.
pub fn public(rel: &str) -> Cert {
    cert(rel).strip_secret_key_material()
}

pub fn dsse_key(rel: &str) -> DssePublicKey {
    DssePublicKey::from_pem(&read_str(rel)).unwrap()
}

/// The README's PGP keyring: the sylabs-sif key's public part and the apptainer test key.
pub fn pgp_keyring() -> Vec<Cert> {
    vec![
        public("keys/sylabs-sif/private.asc"),
        public("keys/apptainer/pgp-public.asc"),
    ]
}

pub fn pgp_opts(selection: Selection) -> VerifyOptions {
    VerifyOptions {
        selection,
        pgp: local(pgp_keyring()),
        ..Default::default()
    }
}

pub fn dsse_opts(rel: &str) -> VerifyOptions {
    VerifyOptions {
        dsse_keys: vec![dsse_key(rel)],
        ..Default::default()
    }
}

/// A copy of a shared image in a temporary directory.
pub fn copy_image(rel: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join(Path::new(rel).file_name().unwrap());
    std::fs::copy(data(rel), &path).unwrap();
    (dir, path)
}

pub const SYLABS_FPR: &str = "12045C8C0B1004D058DE4BEDA20C27EE7FF7BA84";
pub const APPTAINER_FPR: &str = "F34371D0ACD5D09EB9BD853A80600A5FA11BBD29";

/// Certificates as the user's own.
pub fn local(certs: Vec<Cert>) -> Vec<(Cert, KeySource)> {
    certs.into_iter().map(|c| (c, KeySource::Local)).collect()
}
