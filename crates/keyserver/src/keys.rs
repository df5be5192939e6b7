//! Key material checks on both sides of the wire: what a fetch returned must be the key asked
//! for, and what a submit sends must hold no secret. All parsing goes through
//! `berth_integrity::parse_key_material`, which repairs the MPI encodings of keys written by
//! Go (Apptainer, Singularity) that Sequoia alone would reject.

use berth_integrity::openpgp;
use openpgp::armor::{Kind, Writer};
use openpgp::serialize::Serialize as _;
use openpgp::Cert;

use crate::error::{Error, Result};

/// A fingerprint or key ID as given by a caller: uppercase hex without `0x` or spaces.
pub(crate) fn normalize_fingerprint(input: &str) -> Result<String> {
    let trimmed = input.trim();
    let hex = trimmed
        .strip_prefix("0x")
        .or_else(|| trimmed.strip_prefix("0X"))
        .unwrap_or(trimmed);
    let hex: String = hex.chars().filter(|c| !c.is_whitespace()).collect();
    // Short (8) and long (16) key IDs as Apptainer accepts; v4 (40) and v6 (64) fingerprints.
    if matches!(hex.len(), 8 | 16 | 40 | 64) && hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        Ok(hex.to_ascii_uppercase())
    } else {
        Err(Error::InvalidFingerprint(input.to_owned()))
    }
}

/// Whether `wanted` (normalised) names the certificate's primary key or one of its subkeys: a
/// signature may have been made by a signing subkey, and servers find certificates by those.
fn names_cert(cert: &Cert, wanted: &str) -> bool {
    cert.keys().any(|ka| {
        let key = ka.key();
        match wanted.len() {
            8 => key.keyid().to_hex().ends_with(wanted),
            16 => key.keyid().to_hex() == wanted,
            _ => key.fingerprint().to_hex() == wanted,
        }
    })
}

/// Checks a lookup answer and returns the certificate, ASCII-armoured, public parts only.
///
/// The armour is re-made from the parsed certificate rather than passed through: what the
/// caller imports is then exactly what was checked, whatever else the body held.
pub(crate) fn checked_fetch(body: &[u8], wanted: &str) -> Result<Vec<u8>> {
    let certs = berth_integrity::parse_key_material(armor_start(body))
        .map_err(|e| Error::BadResponse(format!("not OpenPGP key material: {e}")))?;
    let got = || {
        certs
            .iter()
            .map(|c| c.fingerprint().to_hex())
            .collect::<Vec<_>>()
            .join(", ")
    };
    match certs.as_slice() {
        [cert] if names_cert(cert, wanted) => armor(std::slice::from_ref(cert)),
        _ => Err(Error::WrongKey {
            expected: wanted.to_owned(),
            got: got(),
        }),
    }
}

/// Checks key material before it is submitted and returns what to send: the parsed
/// certificates re-armoured. Re-armouring means no byte the parser did not accept (a second
/// armour block, trailing data) can leave the machine.
pub(crate) fn public_for_submit(input: &[u8]) -> Result<Vec<u8>> {
    // Checked on the raw text too, before parsing, in case a private block is not parsed.
    if contains(input, b"-----BEGIN PGP PRIVATE KEY BLOCK") {
        return Err(Error::SecretKeyRefused);
    }
    let certs =
        berth_integrity::parse_key_material(input).map_err(|e| Error::InvalidKey(e.to_string()))?;
    if certs.iter().any(Cert::is_tsk) {
        return Err(Error::SecretKeyRefused);
    }
    armor(&certs)
}

/// One armoured public key block holding the certificates' public parts.
fn armor(certs: &[Cert]) -> Result<Vec<u8>> {
    let fail = |e: std::io::Error| Error::InvalidKey(format!("cannot armour key: {e}"));
    let mut w = Writer::new(Vec::new(), Kind::PublicKey).map_err(fail)?;
    for cert in certs {
        // `Cert`'s serialisation writes public parts only, whatever the certificate holds.
        cert.serialize(&mut w)
            .map_err(|e| Error::InvalidKey(format!("cannot serialise key: {e}")))?;
    }
    w.finalize().map_err(fail)
}

/// Skips anything before the first armour header (some servers wrap the key in HTML); a body
/// without one is returned whole, for the binary case.
fn armor_start(body: &[u8]) -> &[u8] {
    const BEGIN: &[u8] = b"-----BEGIN PGP ";
    body.windows(BEGIN.len())
        .position(|w| w == BEGIN)
        .map_or(body, |i| &body[i..])
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fingerprints() {
        assert_eq!(
            normalize_fingerprint(" 0xf343 71D0 ACD5 D09E B9BD  853A 8060 0A5F A11B BD29 ")
                .unwrap(),
            "F34371D0ACD5D09EB9BD853A80600A5FA11BBD29"
        );
        assert_eq!(normalize_fingerprint("a11bbd29").unwrap(), "A11BBD29");
        assert_eq!(
            normalize_fingerprint("80600A5FA11BBD29").unwrap(),
            "80600A5FA11BBD29"
        );
        for bad in ["", "0x", "xyz", "A11BBD2", "A11BBD29A", "G1234567"] {
            assert_eq!(
                normalize_fingerprint(bad).unwrap_err().code(),
                "keyserver.invalid_fingerprint",
                "{bad}"
            );
        }
    }

    #[test]
    fn armor_start_skips_wrappers() {
        assert_eq!(armor_start(b"<pre>-----BEGIN PGP x"), b"-----BEGIN PGP x");
        assert_eq!(armor_start(b"\x99\x01"), b"\x99\x01");
    }

    #[test]
    fn garbage_is_not_submitted() {
        assert_eq!(
            public_for_submit(b"hello").unwrap_err().code(),
            "keyserver.invalid_key"
        );
        let private =
            b"-----BEGIN PGP PRIVATE KEY BLOCK-----\n\nxyz\n-----END PGP PRIVATE KEY BLOCK-----\n";
        assert_eq!(
            public_for_submit(private).unwrap_err().code(),
            "keyserver.secret_key_refused"
        );
    }
}
