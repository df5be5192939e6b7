//! The OpenPGP cleartext signature framework (RFC 4880 §7) exactly as the reference reads and
//! writes it (go-crypto `clearsign` and `armor`; sif-signing.md §5).
//!
//! Only the framing lives here; the signature packet itself is made and checked in
//! [`crate::pgp`].

use base64::Engine as _;

const START: &[u8] = b"-----BEGIN PGP SIGNED MESSAGE-----";
const SIG_START: &[u8] = b"-----BEGIN PGP SIGNATURE-----";
const SIG_END: &[u8] = b"\n-----END PGP SIGNATURE-----";
const ARMOR_START: &[u8] = b"-----BEGIN ";
const ARMOR_END: &[u8] = b"-----END ";
/// Longest base64 line the reference's armor reader accepts.
const MAX_ARMOR_LINE: usize = 96;

/// A decoded clear-signed message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cleartext {
    /// The message text: each line un-escaped, trailing spaces and tabs removed, and ended by
    /// `\n` (so the last line gets one too, as in the reference).
    pub plaintext: Vec<u8>,
    /// What the signature covers: the same lines joined by CRLF, without a final line ending.
    pub signed: Vec<u8>,
    /// The armoured signature block, from its BEGIN line to its END line.
    armored: Vec<u8>,
}

impl Cleartext {
    /// The binary signature packets inside the armour. Errors carry the reference's texts and
    /// surface as "signature object N not valid: …".
    pub fn signature_bytes(&self) -> Result<Vec<u8>, String> {
        dearmor_body(&self.armored)
    }
}

/// Splits off the first line (without `\n` or `\r\n`).
fn get_line(data: &[u8]) -> (&[u8], &[u8]) {
    match data.iter().position(|&b| b == b'\n') {
        None => (data, &data[data.len()..]),
        Some(i) => {
            let line = &data[..i];
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            (line, &data[i + 1..])
        }
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

fn trim_end(line: &[u8], chars: &[u8]) -> usize {
    line.iter()
        .rposition(|b| !chars.contains(b))
        .map_or(0, |i| i + 1)
}

/// Finds and decodes the first clear-signed message, or `None` when there is none or it is
/// malformed (the reference then treats the blob as "not a clear-sign signature").
pub(crate) fn decode(data: &[u8]) -> Option<Cleartext> {
    let mut rest = if let Some(after) = data.strip_prefix(START) {
        after
    } else {
        let mut marker = b"\n".to_vec();
        marker.extend_from_slice(START);
        let i = find(data, &marker)?;
        &data[i + marker.len()..]
    };

    let (suffix, after) = get_line(rest);
    if !suffix.is_empty() {
        return None;
    }
    rest = after;

    // Armour headers: only Hash and SaltedHash are allowed; an empty line ends them.
    loop {
        if rest.is_empty() {
            return None;
        }
        let (line, after) = get_line(rest);
        rest = after;
        if line.is_empty() {
            break;
        }
        if line.iter().any(|&b| !(0x20..=0x7e).contains(&b)) {
            return None;
        }
        let colon = line.iter().position(|&b| b == b':')?;
        let key = String::from_utf8_lossy(&line[..colon]);
        if !matches!(key.trim(), "Hash" | "SaltedHash") {
            return None;
        }
    }

    let mut plaintext = Vec::new();
    let mut signed = Vec::new();
    let mut first = true;
    loop {
        let line_start = rest;
        let (line, after) = get_line(rest);
        if line.is_empty() && after.is_empty() {
            return None;
        }
        if line == SIG_START {
            rest = line_start;
            break;
        }
        rest = after;
        if !first {
            signed.extend_from_slice(b"\r\n");
        }
        first = false;
        let line = line.strip_prefix(b"- ").unwrap_or(line);
        let line = &line[..trim_end(line, b" \t")];
        signed.extend_from_slice(line);
        plaintext.extend_from_slice(line);
        plaintext.push(b'\n');
    }

    let end = find(rest, SIG_END)? + SIG_END.len();
    let armored = rest[..end].to_vec();
    if !armor_headers_ok(&armored) {
        return None;
    }
    Some(Cleartext {
        plaintext,
        signed,
        armored,
    })
}

/// The eager part of the reference's armour decoder: a BEGIN line, then `Key: Value` header
/// lines up to an empty line. A header line without a colon makes the block unreadable.
fn armor_headers_ok(armored: &[u8]) -> bool {
    let mut lines = armored.split(|&b| b == b'\n');
    let begin_found = lines.by_ref().any(|line| {
        let line = line.trim_ascii();
        line.len() > ARMOR_START.len() + 5 && line.starts_with(ARMOR_START)
    });
    if !begin_found {
        return false;
    }
    for line in lines {
        let line = line.trim_ascii();
        if line.is_empty() {
            return true;
        }
        if !line.contains(&b':') {
            return false;
        }
    }
    false
}

/// Decodes the base64 body of an armoured block whose headers were already checked. Lines are
/// read up to the END line or a checksum line (which the reference no longer checks).
fn dearmor_body(armored: &[u8]) -> Result<Vec<u8>, String> {
    let mut lines = armored.split(|&b| b == b'\n');
    // Skip the BEGIN line and the headers up to the empty line.
    for line in lines.by_ref() {
        if line.trim_ascii().starts_with(ARMOR_START) {
            break;
        }
    }
    for line in lines.by_ref() {
        if line.trim_ascii().is_empty() {
            break;
        }
    }
    let mut b64 = Vec::new();
    for line in lines {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.starts_with(ARMOR_END) || (line.len() == 5 && line.first() == Some(&b'=')) {
            break;
        }
        if line.len() > MAX_ARMOR_LINE {
            return Err("openpgp: invalid data: armor invalid".to_owned());
        }
        b64.extend_from_slice(line);
    }
    base64::engine::general_purpose::STANDARD
        .decode(&b64)
        .map_err(|e| match e {
            base64::DecodeError::InvalidByte(at, _)
            | base64::DecodeError::InvalidLastSymbol(at, _) => {
                format!("illegal base64 data at input byte {at}")
            }
            _ => format!("illegal base64 data at input byte {}", b64.len()),
        })
}

/// The text as the reference writes it into the message: each line with trailing spaces, tabs
/// and CRs dropped, lines starting with `-` dash-escaped, and a final `\n` added when missing.
/// Returns `(written text, text the signature covers)`.
pub(crate) fn escape_text(text: &[u8]) -> (Vec<u8>, Vec<u8>) {
    let mut written = Vec::with_capacity(text.len() + 1);
    let mut signed = Vec::with_capacity(text.len());
    let mut lines: Vec<&[u8]> = text.split(|&b| b == b'\n').collect();
    // A final newline ends the last line rather than starting an empty one.
    if lines.len() > 1 && lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    for (i, line) in lines.iter().enumerate() {
        let line = &line[..trim_end(line, b" \t\r")];
        if i > 0 {
            signed.extend_from_slice(b"\r\n");
        }
        if line.first() == Some(&b'-') {
            written.extend_from_slice(b"- ");
        }
        written.extend_from_slice(line);
        written.push(b'\n');
        signed.extend_from_slice(line);
    }
    (written, signed)
}

/// Assembles a clear-signed message: header, escaped text (from [`escape_text`]) and the
/// armoured signature packet(s), with no CRC line and no trailing newline, as go-crypto writes it.
pub(crate) fn encode(hash_name: &str, written_text: &[u8], signature_packets: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(written_text.len() + signature_packets.len() * 2 + 128);
    out.extend_from_slice(START);
    out.extend_from_slice(format!("\nHash: {hash_name}\n\n").as_bytes());
    out.extend_from_slice(written_text);
    out.extend_from_slice(SIG_START);
    out.extend_from_slice(b"\n\n");
    let b64 = base64::engine::general_purpose::STANDARD.encode(signature_packets);
    for chunk in b64.as_bytes().chunks(64) {
        out.extend_from_slice(chunk);
        out.push(b'\n');
    }
    out.extend_from_slice(b"-----END PGP SIGNATURE-----");
    out
}

/// Whether the blob is a legacy signature: clear-signed text starting with `SIFHASH:\n`.
pub(crate) fn is_legacy(data: &[u8]) -> bool {
    decode(data).is_some_and(|c| c.plaintext.starts_with(b"SIFHASH:\n"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encode_decode_round_trip() {
        let text = b"-dash line  \nsecond\t\nthird";
        let (written, signed) = escape_text(text);
        assert_eq!(written, b"- -dash line\nsecond\nthird\n");
        assert_eq!(signed, b"-dash line\r\nsecond\r\nthird");
        let blob = encode("SHA256", &written, &[1, 2, 3, 4]);
        let c = decode(&blob).unwrap();
        assert_eq!(c.signed, signed);
        assert_eq!(c.plaintext, b"-dash line\nsecond\nthird\n");
        assert_eq!(c.signature_bytes().unwrap(), vec![1, 2, 3, 4]);
    }

    #[test]
    fn malformed_is_not_clearsigned() {
        let (written, _) = escape_text(b"x");
        let blob = encode("SHA256", &written, &[9; 40]);
        for cut in [10, 40, blob.len() - 3] {
            assert!(decode(&blob[..cut]).is_none(), "cut {cut}");
        }
        assert!(decode(b"garbage").is_none());
        let bad_header = String::from_utf8(blob.clone())
            .unwrap()
            .replace("Hash: SHA256", "Comment: x");
        assert!(decode(bad_header.as_bytes()).is_none());
        let prefixed = [b"junk\n".as_slice(), &blob].concat();
        assert!(decode(&prefixed).is_some());
    }

    #[test]
    fn trailing_newline_text() {
        let (written, signed) = escape_text(b"SIFHASH:\nabc\n");
        assert_eq!(written, b"SIFHASH:\nabc\n");
        assert_eq!(signed, b"SIFHASH:\r\nabc");
    }
}
