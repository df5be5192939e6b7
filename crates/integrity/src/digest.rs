//! Digests as the metadata document carries them: `"<alg>:<lowercase hex>"` (sif-signing.md §3).
//!
//! Hashing is always streamed, so object data is never held in memory.

use std::fmt;
use std::io::{self, Read};

use sha2::digest::Digest as _;

/// Buffer size for streaming data through a hash.
const CHUNK: usize = 64 * 1024;

/// The hash algorithms a metadata document may use. The signer always uses SHA-256; a verifier
/// accepts all six, as the reference does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DigestAlgorithm {
    /// SHA-224.
    Sha224,
    /// SHA-256.
    Sha256,
    /// SHA-384.
    Sha384,
    /// SHA-512.
    Sha512,
    /// SHA-512/224.
    Sha512_224,
    /// SHA-512/256.
    Sha512_256,
}

impl DigestAlgorithm {
    /// All supported algorithms.
    pub const ALL: [DigestAlgorithm; 6] = [
        DigestAlgorithm::Sha224,
        DigestAlgorithm::Sha256,
        DigestAlgorithm::Sha384,
        DigestAlgorithm::Sha512,
        DigestAlgorithm::Sha512_224,
        DigestAlgorithm::Sha512_256,
    ];

    /// The name used in digest strings.
    pub fn name(self) -> &'static str {
        match self {
            DigestAlgorithm::Sha224 => "sha224",
            DigestAlgorithm::Sha256 => "sha256",
            DigestAlgorithm::Sha384 => "sha384",
            DigestAlgorithm::Sha512 => "sha512",
            DigestAlgorithm::Sha512_224 => "sha512_224",
            DigestAlgorithm::Sha512_256 => "sha512_256",
        }
    }

    /// The algorithm with this digest-string name.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|a| a.name() == name)
    }

    /// Length of a digest in bytes.
    pub fn output_len(self) -> usize {
        match self {
            DigestAlgorithm::Sha224 | DigestAlgorithm::Sha512_224 => 28,
            DigestAlgorithm::Sha256 | DigestAlgorithm::Sha512_256 => 32,
            DigestAlgorithm::Sha384 => 48,
            DigestAlgorithm::Sha512 => 64,
        }
    }

    /// A fresh hasher.
    pub fn hasher(self) -> Hasher {
        Hasher(match self {
            DigestAlgorithm::Sha224 => Inner::Sha224(sha2::Sha224::new()),
            DigestAlgorithm::Sha256 => Inner::Sha256(sha2::Sha256::new()),
            DigestAlgorithm::Sha384 => Inner::Sha384(sha2::Sha384::new()),
            DigestAlgorithm::Sha512 => Inner::Sha512(sha2::Sha512::new()),
            DigestAlgorithm::Sha512_224 => Inner::Sha512_224(sha2::Sha512_224::new()),
            DigestAlgorithm::Sha512_256 => Inner::Sha512_256(sha2::Sha512_256::new()),
        })
    }

    /// Hashes everything `reader` yields, in fixed-size chunks.
    pub fn hash_reader(self, mut reader: impl Read) -> io::Result<Vec<u8>> {
        let mut hasher = self.hasher();
        let mut buf = vec![0u8; CHUNK];
        loop {
            let n = match reader.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            hasher.update(buf.get(..n).unwrap_or_default());
        }
        Ok(hasher.finish())
    }

    /// Hashes a byte slice.
    pub fn hash_bytes(self, bytes: &[u8]) -> Vec<u8> {
        let mut hasher = self.hasher();
        hasher.update(bytes);
        hasher.finish()
    }
}

/// An incremental hash of one of the [`DigestAlgorithm`]s.
pub struct Hasher(Inner);

enum Inner {
    Sha224(sha2::Sha224),
    Sha256(sha2::Sha256),
    Sha384(sha2::Sha384),
    Sha512(sha2::Sha512),
    Sha512_224(sha2::Sha512_224),
    Sha512_256(sha2::Sha512_256),
}

impl Hasher {
    /// Feeds bytes.
    pub fn update(&mut self, bytes: &[u8]) {
        match &mut self.0 {
            Inner::Sha224(h) => h.update(bytes),
            Inner::Sha256(h) => h.update(bytes),
            Inner::Sha384(h) => h.update(bytes),
            Inner::Sha512(h) => h.update(bytes),
            Inner::Sha512_224(h) => h.update(bytes),
            Inner::Sha512_256(h) => h.update(bytes),
        }
    }

    /// The digest.
    pub fn finish(self) -> Vec<u8> {
        match self.0 {
            Inner::Sha224(h) => h.finalize().to_vec(),
            Inner::Sha256(h) => h.finalize().to_vec(),
            Inner::Sha384(h) => h.finalize().to_vec(),
            Inner::Sha512(h) => h.finalize().to_vec(),
            Inner::Sha512_224(h) => h.finalize().to_vec(),
            Inner::Sha512_256(h) => h.finalize().to_vec(),
        }
    }
}

/// Why a digest string or value was refused; the texts are the reference's.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DigestError {
    /// `digest malformed`, optionally with the decoder's complaint.
    Malformed(Option<String>),
    /// `hash algorithm unsupported`.
    Unsupported,
}

impl fmt::Display for DigestError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            DigestError::Malformed(None) => f.write_str("digest malformed"),
            DigestError::Malformed(Some(detail)) => write!(f, "digest malformed: {detail}"),
            DigestError::Unsupported => f.write_str("hash algorithm unsupported"),
        }
    }
}

impl std::error::Error for DigestError {}

/// A digest value with its algorithm.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Digest {
    /// The algorithm.
    pub algorithm: DigestAlgorithm,
    /// The raw digest, `algorithm.output_len()` bytes.
    pub value: Vec<u8>,
}

impl Digest {
    /// A digest from a value, which must have the algorithm's length.
    pub fn new(algorithm: DigestAlgorithm, value: Vec<u8>) -> Result<Digest, DigestError> {
        if value.len() != algorithm.output_len() {
            return Err(DigestError::Malformed(None));
        }
        Ok(Digest { algorithm, value })
    }

    /// The digest of everything `reader` yields.
    pub fn of_reader(algorithm: DigestAlgorithm, reader: impl Read) -> io::Result<Digest> {
        Ok(Digest {
            algorithm,
            value: algorithm.hash_reader(reader)?,
        })
    }

    /// The digest of a byte slice.
    pub fn of_bytes(algorithm: DigestAlgorithm, bytes: &[u8]) -> Digest {
        Digest {
            algorithm,
            value: algorithm.hash_bytes(bytes),
        }
    }

    /// Parses `"<alg>:<hex>"` with the reference's rules and error order: exactly one colon,
    /// hex first, then the algorithm name, then the length.
    pub fn parse(text: &str) -> Result<Digest, DigestError> {
        let parts: Vec<&str> = text.split(':').collect();
        let [name, hex] = parts.as_slice() else {
            return Err(DigestError::Malformed(None));
        };
        let value = decode_hex(hex).map_err(|e| DigestError::Malformed(Some(e)))?;
        let algorithm = DigestAlgorithm::from_name(name).ok_or(DigestError::Unsupported)?;
        Digest::new(algorithm, value)
    }

    /// Whether everything `reader` yields hashes to this digest.
    pub fn matches_reader(&self, reader: impl Read) -> io::Result<bool> {
        Ok(self.algorithm.hash_reader(reader)? == self.value)
    }

    /// The JSON string form (quoted), as the metadata document holds it.
    pub fn to_json(&self) -> String {
        format!("\"{self}\"")
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}", self.algorithm.name(), encode_hex(&self.value))
    }
}

/// Lowercase hex.
pub fn encode_hex(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for &b in bytes {
        out.push(char::from(DIGITS[usize::from(b >> 4)]));
        out.push(char::from(DIGITS[usize::from(b & 0x0f)]));
    }
    out
}

/// Uppercase hex, as fingerprints are shown.
pub fn encode_hex_upper(bytes: &[u8]) -> String {
    encode_hex(bytes).to_ascii_uppercase()
}

fn hex_value(b: u8) -> Option<u8> {
    match b {
        b'0'..=b'9' => Some(b - b'0'),
        b'a'..=b'f' => Some(b - b'a' + 10),
        b'A'..=b'F' => Some(b - b'A' + 10),
        _ => None,
    }
}

/// Decodes hex of either case, with the error texts of Go's `encoding/hex` (the reference's
/// messages embed them).
pub fn decode_hex(text: &str) -> Result<Vec<u8>, String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len() / 2);
    let mut pairs = bytes.chunks_exact(2);
    for pair in &mut pairs {
        let (p, q) = (pair[0], pair[1]);
        let hi = hex_value(p).ok_or_else(|| invalid_byte(p))?;
        let lo = hex_value(q).ok_or_else(|| invalid_byte(q))?;
        out.push(hi << 4 | lo);
    }
    if let [last] = pairs.remainder() {
        if hex_value(*last).is_none() {
            return Err(invalid_byte(*last));
        }
        return Err("encoding/hex: odd length hex string".to_owned());
    }
    Ok(out)
}

/// Go's `%#U` of the byte taken as a code point.
fn invalid_byte(b: u8) -> String {
    let c = char::from(b);
    let printable = (0x20..0x7f).contains(&b) || (b >= 0xa1 && b != 0xad);
    if printable {
        format!("encoding/hex: invalid byte: U+{:04X} '{c}'", u32::from(b))
    } else {
        format!("encoding/hex: invalid byte: U+{:04X}", u32::from(b))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_round_trip() {
        let d = Digest::of_bytes(DigestAlgorithm::Sha256, b"blah");
        assert_eq!(Digest::parse(&d.to_string()).unwrap(), d);
        assert_eq!(
            Digest::parse("sha256:00").unwrap_err(),
            DigestError::Malformed(None)
        );
        assert_eq!(
            Digest::parse("md5:00").unwrap_err(),
            DigestError::Unsupported
        );
        assert_eq!(
            Digest::parse("a:b:c").unwrap_err(),
            DigestError::Malformed(None)
        );
        assert_eq!(
            Digest::parse("sha256:zz").unwrap_err().to_string(),
            "digest malformed: encoding/hex: invalid byte: U+007A 'z'"
        );
        assert_eq!(
            Digest::parse("sha256:abc").unwrap_err().to_string(),
            "digest malformed: encoding/hex: odd length hex string"
        );
    }

    #[test]
    fn lengths() {
        for a in DigestAlgorithm::ALL {
            assert_eq!(a.hash_bytes(b"").len(), a.output_len());
        }
    }
}
