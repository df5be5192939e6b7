//! Legacy (Singularity 3.0–3.5) signatures: clear-signed `SIFHASH:\n<hex>` over raw object data
//! (sif-signing.md §8). Only accepted when the caller asks for insecure legacy verification.

use berth_sif::HashType;

use crate::digest::{decode_hex, DigestAlgorithm, DigestError};

/// The digest a legacy plaintext claims, checked against the descriptor's hash type with the
/// reference's rules and messages: prefix and one trailing newline stripped, hex decoded, the
/// algorithm must be SHA-256/384/512 and the length must match.
pub(crate) fn claimed_digest(
    hash: HashType,
    plaintext: &[u8],
) -> Result<(DigestAlgorithm, Vec<u8>), String> {
    let text = plaintext.strip_prefix(b"SIFHASH:\n").unwrap_or(plaintext);
    let text = text.strip_suffix(b"\n").unwrap_or(text);
    let value = decode_hex(&String::from_utf8_lossy(text))?;
    let algorithm = match hash {
        HashType::Sha256 => DigestAlgorithm::Sha256,
        HashType::Sha384 => DigestAlgorithm::Sha384,
        HashType::Sha512 => DigestAlgorithm::Sha512,
        _ => return Err(DigestError::Unsupported.to_string()),
    };
    if value.len() != algorithm.output_len() {
        return Err(DigestError::Malformed(None).to_string());
    }
    Ok((algorithm, value))
}

/// The plaintext a legacy signer signs for a digest.
#[cfg(test)]
pub(crate) fn plaintext(value: &[u8]) -> String {
    format!("SIFHASH:\n{}", crate::digest::encode_hex(value))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn claimed() {
        let d = DigestAlgorithm::Sha384.hash_bytes(b"x");
        let text = format!("{}\n", plaintext(&d));
        assert_eq!(
            claimed_digest(HashType::Sha384, text.as_bytes()).unwrap(),
            (DigestAlgorithm::Sha384, d)
        );
        assert_eq!(
            claimed_digest(HashType::Sha256, text.as_bytes()).unwrap_err(),
            "digest malformed"
        );
        assert_eq!(
            claimed_digest(HashType::Blake2s256, text.as_bytes()).unwrap_err(),
            "hash algorithm unsupported"
        );
        assert!(claimed_digest(HashType::Sha384, b"SIFHASH:\nxyz\n")
            .unwrap_err()
            .starts_with("encoding/hex: invalid byte"));
    }
}
