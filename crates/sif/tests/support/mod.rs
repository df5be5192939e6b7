//! Helpers shared by the integration tests (each test file uses a different subset).
#![allow(dead_code)]

pub mod backend;
pub mod walk;

use std::path::PathBuf;

/// The shared SIF test data: `$BERTH_TESTDATA` if set, else `shared/testdata/sif` beside
/// the repository.
pub fn testdata() -> PathBuf {
    match std::env::var_os("BERTH_TESTDATA") {
        Some(dir) => PathBuf::from(dir),
        None => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/sif"),
    }
}

/// Every `.sif` file under `images/`, sorted.
pub fn test_images() -> Vec<PathBuf> {
    fn visit(dir: &std::path::Path, out: &mut Vec<PathBuf>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                visit(&path, out);
            } else if path.extension().is_some_and(|e| e == "sif") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    visit(&testdata().join("images"), &mut out);
    out.sort();
    assert!(
        !out.is_empty(),
        "no test images under {}",
        testdata().display()
    );
    out
}

/// Lowercase hex of a byte string.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Hex SHA-256 of everything `reader` yields.
pub fn sha256_of(mut reader: impl std::io::Read) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    std::io::copy(&mut reader, &mut hasher).unwrap();
    hex(&hasher.finalize())
}

/// A small deterministic PRNG (xorshift64*), so random tests need no extra dependency and
/// replay identically.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Rng(seed.max(1))
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// Uniform-ish in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }
}
