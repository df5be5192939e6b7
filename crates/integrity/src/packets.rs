//! Byte-level repair of OpenPGP packets written by Go's OpenPGP library, before Sequoia parses
//! them.

use sequoia_openpgp as openpgp;

/// Rewrites the MPIs of signature packets in their canonical form.
///
/// Older Go OpenPGP code wrote an MPI's bit count as eight times its byte length, so the
/// leading bits of many stored signatures are zero. Go reads such values as plain integers;
/// Sequoia's parser rejects them. MPIs are not covered by the signed hash, so re-encoding them
/// (same integer, correct bit count) changes nothing that is verified. Anything that does not
/// parse as expected is passed through untouched for the real parser to judge.
pub(crate) fn canonical_mpis(packets: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(packets.len());
    let mut rest = packets;
    while !rest.is_empty() {
        let Some((tag, header_len, body_len)) = packet_header(rest) else {
            out.extend_from_slice(rest);
            break;
        };
        let Some(end) = header_len
            .checked_add(body_len)
            .filter(|&e| e <= rest.len())
        else {
            out.extend_from_slice(rest);
            break;
        };
        let body = &rest[header_len..end];
        match (tag == 2).then(|| canonical_signature_body(body)).flatten() {
            Some(fixed) => {
                out.push(0xC2);
                push_new_length(&mut out, fixed.len());
                out.extend_from_slice(&fixed);
            }
            None => out.extend_from_slice(&rest[..end]),
        }
        rest = &rest[end..];
    }
    out
}

/// Key material as bytes Sequoia accepts: ASCII armour (any number of blocks) removed and the
/// MPIs of signatures canonicalised (see [`canonical_mpis`]). Keys written by Go's OpenPGP
/// library, including Apptainer keyrings, carry self-signatures Sequoia would otherwise drop.
/// Input that is not armoured is taken as binary.
pub(crate) fn canonical_key_material(bytes: &[u8]) -> Vec<u8> {
    const BEGIN: &[u8] = b"-----BEGIN PGP ";
    let starts_armored = bytes
        .iter()
        .position(|b| !b.is_ascii_whitespace())
        .is_some_and(|i| bytes[i..].starts_with(BEGIN));
    if !starts_armored {
        return canonical_mpis(bytes);
    }
    let mut binary = Vec::new();
    let mut rest = bytes;
    while let Some(start) = rest.windows(BEGIN.len()).position(|w| w == BEGIN) {
        let block = &rest[start..];
        // The block ends right after the END line's closing dashes: files joined without a
        // newline between them (Apptainer's key files end without one) must still split.
        const END: &[u8] = b"-----END PGP ";
        let end = block
            .windows(END.len())
            .position(|w| w == END)
            .and_then(|e| {
                let after = e + END.len();
                block[after..]
                    .windows(5)
                    .position(|w| w == b"-----")
                    .map(|t| after + t + 5)
            })
            .unwrap_or(block.len());
        let mut reader = openpgp::armor::Reader::from_bytes(
            &block[..end],
            openpgp::armor::ReaderMode::Tolerant(None),
        );
        let mut decoded = Vec::new();
        if std::io::Read::read_to_end(&mut reader, &mut decoded).is_err() {
            // Let the real parser report the damage.
            return bytes.to_vec();
        }
        binary.extend_from_slice(&decoded);
        rest = &block[end..];
    }
    canonical_mpis(&binary)
}

/// `(tag, header length, body length)` of a packet with a definite length.
fn packet_header(data: &[u8]) -> Option<(u8, usize, usize)> {
    let ctb = *data.first()?;
    if ctb & 0x80 == 0 {
        return None;
    }
    if ctb & 0x40 != 0 {
        let tag = ctb & 0x3F;
        let first = usize::from(*data.get(1)?);
        match first {
            0..=191 => Some((tag, 2, first)),
            192..=223 => Some((
                tag,
                3,
                ((first - 192) << 8) + usize::from(*data.get(2)?) + 192,
            )),
            255 => {
                let b = data.get(2..6)?;
                let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                Some((tag, 6, usize::try_from(len).ok()?))
            }
            _ => None, // partial body length
        }
    } else {
        let tag = (ctb >> 2) & 0x0F;
        match ctb & 3 {
            0 => Some((tag, 2, usize::from(*data.get(1)?))),
            1 => {
                let b = data.get(1..3)?;
                Some((tag, 3, usize::from(u16::from_be_bytes([b[0], b[1]]))))
            }
            2 => {
                let b = data.get(1..5)?;
                let len = u32::from_be_bytes([b[0], b[1], b[2], b[3]]);
                Some((tag, 5, usize::try_from(len).ok()?))
            }
            _ => None, // indeterminate length
        }
    }
}

fn push_new_length(out: &mut Vec<u8>, len: usize) {
    match len {
        0..=191 => out.push(len as u8),
        192..=8383 => {
            let l = len - 192;
            out.push(((l >> 8) + 192) as u8);
            out.push((l & 0xFF) as u8);
        }
        _ => {
            out.push(255);
            out.extend_from_slice(&u32::try_from(len).unwrap_or(u32::MAX).to_be_bytes());
        }
    }
}

/// A v3 or v4 signature body with canonical MPIs, or `None` if it is not one.
fn canonical_signature_body(body: &[u8]) -> Option<Vec<u8>> {
    let mpis_at = match body.first()? {
        3 => 19,
        4 => {
            let hashed = usize::from(u16::from_be_bytes([*body.get(4)?, *body.get(5)?]));
            let unhashed_at = 6 + hashed;
            let unhashed = usize::from(u16::from_be_bytes([
                *body.get(unhashed_at)?,
                *body.get(unhashed_at + 1)?,
            ]));
            unhashed_at + 2 + unhashed + 2
        }
        _ => return None,
    };
    let mut out = body.get(..mpis_at)?.to_vec();
    let mut rest = body.get(mpis_at..)?;
    if rest.is_empty() {
        return None;
    }
    while !rest.is_empty() {
        let bits = usize::from(u16::from_be_bytes([*rest.first()?, *rest.get(1)?]));
        let len = bits.div_ceil(8);
        let value = rest.get(2..2 + len)?;
        let start = value.iter().position(|&b| b != 0).unwrap_or(value.len());
        let value = &value[start..];
        let bits = match value.first() {
            None => 0,
            Some(&b) => (value.len() - 1) * 8 + (8 - b.leading_zeros() as usize),
        };
        out.extend_from_slice(&u16::try_from(bits).ok()?.to_be_bytes());
        out.extend_from_slice(value);
        rest = &rest[2 + len..];
    }
    Some(out)
}
