//! The HKP machine-readable index (`op=index&options=mr`), library-api.md §9:
//!
//! ```text
//! info:1:<count>
//! pub:<fingerprint or key id>:<algo>:<bits>:<created>:<expires>:<flags>
//! uid:<url-escaped user id>:<created>:<expires>:<flags>
//! ```
//!
//! Servers differ in what they fill in, so the parser is tolerant: trailing fields may be
//! omitted, empty fields are "unknown", record types it does not know are skipped. It only
//! refuses a body with no index records at all (an HTML page from a server that ignored
//! `options=mr`), since returning "no keys" for it would hide the real problem.

use percent_encoding::percent_decode_str;
use serde::Serialize;

use crate::error::{Error, Result};

/// One key in a search result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KeyHit {
    /// Uppercase hex: the fingerprint, or only a key ID if that is all the server gives.
    pub fingerprint: String,
    /// Algorithm name ("RSA", "EdDSA", …); the server's text when the number is unknown.
    pub algorithm: String,
    /// Key size in bits, when given.
    pub bits: Option<u32>,
    /// Creation time, Unix seconds.
    pub created: Option<i64>,
    /// Expiry time, Unix seconds; `None` for no expiry (or not given).
    pub expires: Option<i64>,
    /// Flag `r`.
    pub revoked: bool,
    /// Flag `d`.
    pub disabled: bool,
    /// Flag `e`. Servers set it at their discretion; compare `expires` with the clock to be sure.
    pub expired: bool,
    /// User IDs in server order, unescaped. Revoked user IDs are included as the server lists
    /// them.
    pub user_ids: Vec<String>,
}

/// Parses a machine-readable index. See the module documentation for what is tolerated.
pub fn parse_machine_readable_index(text: &str) -> Result<Vec<KeyHit>> {
    let mut hits: Vec<KeyHit> = Vec::new();
    let mut records = 0usize;
    // Whether uid lines have a key to belong to: not before the first pub line, nor after a
    // pub line that was skipped (they would otherwise land on the key before it).
    let mut in_key = false;
    for line in text.lines() {
        let line = line.trim();
        let mut fields = line.split(':');
        match fields.next() {
            Some("info") => records += 1,
            Some("pub") => {
                records += 1;
                let hit = parse_pub(fields);
                in_key = hit.is_some();
                hits.extend(hit);
            }
            Some("uid") => {
                records += 1;
                if let (true, Some(hit), Some(uid)) = (in_key, hits.last_mut(), fields.next()) {
                    let uid = unescape(uid);
                    if !uid.is_empty() {
                        hit.user_ids.push(uid);
                    }
                }
            }
            _ => {}
        }
    }
    if records == 0 && !text.trim().is_empty() {
        return Err(Error::BadResponse(
            "not a machine-readable HKP index (the server may not support options=mr)".to_owned(),
        ));
    }
    Ok(hits)
}

fn parse_pub<'a>(mut fields: impl Iterator<Item = &'a str>) -> Option<KeyHit> {
    let id = fields.next()?.trim();
    let id = id
        .strip_prefix("0x")
        .or_else(|| id.strip_prefix("0X"))
        .unwrap_or(id);
    // A pub line without a usable key identifier cannot be fetched later; skip it.
    if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    let mut next = || fields.next().map(str::trim).filter(|f| !f.is_empty());
    let algorithm = next().map(algorithm_name).unwrap_or_default();
    let bits = next().and_then(|b| b.parse().ok());
    let created = next().and_then(|t| t.parse().ok());
    // 0 is how some servers write "never expires".
    let expires = next()
        .and_then(|t| t.parse().ok())
        .filter(|&t: &i64| t != 0);
    let flags = next().unwrap_or_default();
    Some(KeyHit {
        fingerprint: id.to_ascii_uppercase(),
        algorithm,
        bits,
        created,
        expires,
        revoked: flags.contains('r'),
        disabled: flags.contains('d'),
        expired: flags.contains('e'),
        user_ids: Vec::new(),
    })
}

/// OpenPGP public-key algorithm numbers (RFC 9580 §9.1) as names.
fn algorithm_name(field: &str) -> String {
    let name = match field.parse::<u8>() {
        Ok(1..=3) => "RSA",
        Ok(16) => "ElGamal",
        Ok(17) => "DSA",
        Ok(18) => "ECDH",
        Ok(19) => "ECDSA",
        Ok(22) => "EdDSA",
        Ok(25) => "X25519",
        Ok(26) => "X448",
        Ok(27) => "Ed25519",
        Ok(28) => "Ed448",
        _ => field,
    };
    name.to_owned()
}

/// `%XX` escapes only. `+` stays a plus: HKP escapes with `%`, and `+` is common in addresses.
fn unescape(field: &str) -> String {
    percent_decode_str(field).decode_utf8_lossy().into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hit(fpr: &str) -> KeyHit {
        KeyHit {
            fingerprint: fpr.to_owned(),
            algorithm: String::new(),
            bits: None,
            created: None,
            expires: None,
            revoked: false,
            disabled: false,
            expired: false,
            user_ids: Vec::new(),
        }
    }

    #[test]
    fn full_records() {
        let text = "info:1:2\n\
            pub:F34371D0ACD5D09EB9BD853A80600A5FA11BBD29:1:4096:1651162830::\n\
            uid:SingularityCE%20Tests%20%3Csingularityce%40example.com%3E:1651162830::\n\
            pub:0c5b8c9a5ffc44e2a0ac79851cd6fa281d476dd1:22:256:1603195473:1703195473:re\n\
            uid:e2e%20(e2e%20tests)%20%3Ce2e%40hpcng.org%3E:::\n\
            uid:second:::r\n";
        let hits = parse_machine_readable_index(text).unwrap();
        assert_eq!(
            hits,
            vec![
                KeyHit {
                    algorithm: "RSA".into(),
                    bits: Some(4096),
                    created: Some(1651162830),
                    user_ids: vec!["SingularityCE Tests <singularityce@example.com>".into()],
                    ..hit("F34371D0ACD5D09EB9BD853A80600A5FA11BBD29")
                },
                KeyHit {
                    algorithm: "EdDSA".into(),
                    bits: Some(256),
                    created: Some(1603195473),
                    expires: Some(1703195473),
                    revoked: true,
                    expired: true,
                    user_ids: vec!["e2e (e2e tests) <e2e@hpcng.org>".into(), "second".into()],
                    ..hit("0C5B8C9A5FFC44E2A0AC79851CD6FA281D476DD1")
                },
            ]
        );
    }

    #[test]
    fn omitted_trailing_fields_and_key_ids() {
        let hits =
            parse_machine_readable_index("pub:80600a5fa11bbd29\nuid:a\npub:0xABCDEF01:1\r\n")
                .unwrap();
        assert_eq!(
            hits,
            vec![
                KeyHit {
                    user_ids: vec!["a".into()],
                    ..hit("80600A5FA11BBD29")
                },
                KeyHit {
                    algorithm: "RSA".into(),
                    ..hit("ABCDEF01")
                },
            ]
        );
    }

    #[test]
    fn flags_and_unknown_algorithms() {
        let hits = parse_machine_readable_index("pub:AA:99:x:y:0:d\npub:BB:::::rde").unwrap();
        assert_eq!(hits[0].algorithm, "99");
        assert_eq!(
            (hits[0].bits, hits[0].created, hits[0].expires),
            (None, None, None)
        );
        assert!(hits[0].disabled && !hits[0].revoked && !hits[0].expired);
        assert!(hits[1].disabled && hits[1].revoked && hits[1].expired);
        assert_eq!(hits[1].algorithm, "");
    }

    #[test]
    fn escaped_user_ids() {
        let hits = parse_machine_readable_index(
            "pub:AA\nuid:J%C3%BCrgen%20%3Cj%2Btag%40x.org%3E\nuid:a+b%3Ac\nuid:bad%ZZ%ff\nuid:",
        )
        .unwrap();
        assert_eq!(
            hits[0].user_ids,
            vec!["Jürgen <j+tag@x.org>", "a+b:c", "bad%ZZ\u{fffd}"]
        );
    }

    #[test]
    fn junk_lines_and_unknown_records_are_skipped() {
        let text =
            "\n  \ninfo:1:1\nsig:whatever\nrandom text\nuid:orphan\npub::1:2\npub:nothex:1\n\
                    pub:CAFE:1:1024\n  uid:kept  \npub:zz\nuid:lost\n";
        let hits = parse_machine_readable_index(text).unwrap();
        assert_eq!(
            hits,
            vec![KeyHit {
                algorithm: "RSA".into(),
                bits: Some(1024),
                user_ids: vec!["kept".into()],
                ..hit("CAFE")
            }]
        );
    }

    #[test]
    fn empty_and_non_index_bodies() {
        assert_eq!(parse_machine_readable_index("").unwrap(), vec![]);
        assert_eq!(parse_machine_readable_index("info:1:0\n").unwrap(), vec![]);
        let err =
            parse_machine_readable_index("<html><body>Search results</body></html>").unwrap_err();
        assert_eq!(err.code(), "keyserver.bad_response");
    }
}
