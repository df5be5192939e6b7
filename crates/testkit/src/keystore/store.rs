//! The keystore double's keys: what is stored, how a search matches, and how results are
//! written (armoured keys, HKP machine-readable index).
//!
//! Matching follows the common HKP servers: a `0x` search is a key ID or fingerprint match
//! (primary key or subkey: 8, 16, 40 or 64 hex digits), anything else a case-insensitive
//! substring of a user ID.

use std::time::{SystemTime, UNIX_EPOCH};

use berth_integrity::openpgp;
use openpgp::armor::{Kind, Writer};
use openpgp::policy::StandardPolicy;
use openpgp::serialize::Serialize as _;
use openpgp::types::RevocationStatus;
use openpgp::Cert;
use percent_encoding::{utf8_percent_encode, AsciiSet, NON_ALPHANUMERIC};

/// What the index escapes in user IDs: all but RFC 3986 unreserved characters, so `:` (the
/// field separator), `%`, spaces and `<>@` all come out escaped.
const UID_ESCAPE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Outcome of adding key material.
#[derive(Debug, Default)]
pub(crate) struct Added {
    pub inserted: Vec<String>,
    pub updated: Vec<String>,
    pub ignored: Vec<String>,
}

/// Public certificates, in the order they first arrived.
#[derive(Default)]
pub(crate) struct Store {
    certs: Vec<Cert>,
}

impl Store {
    /// Parses key material (with Berth's parser, which accepts Go-written keys) and stores the
    /// public parts only, merging certificates already present, as keyservers do.
    pub fn add(&mut self, bytes: &[u8]) -> Result<Added, String> {
        let certs = berth_integrity::parse_key_material(bytes).map_err(|e| e.to_string())?;
        let mut added = Added::default();
        for cert in certs {
            let cert = cert.strip_secret_key_material();
            let fpr = cert.fingerprint().to_hex();
            match self
                .certs
                .iter()
                .position(|c| c.fingerprint() == cert.fingerprint())
            {
                None => {
                    self.certs.push(cert);
                    added.inserted.push(fpr);
                }
                Some(i) => {
                    let merged = self.certs[i]
                        .clone()
                        .merge_public(cert)
                        .map_err(|e| e.to_string())?;
                    if merged == self.certs[i] {
                        added.ignored.push(fpr);
                    } else {
                        self.certs[i] = merged;
                        added.updated.push(fpr);
                    }
                }
            }
        }
        Ok(added)
    }

    /// Fingerprints of the stored certificates, uppercase hex.
    pub fn fingerprints(&self) -> Vec<String> {
        self.certs
            .iter()
            .map(|c| c.fingerprint().to_hex())
            .collect()
    }

    /// The certificates a search term matches, in store order.
    pub fn find(&self, search: &str) -> Vec<Cert> {
        let search = search.trim();
        let matches: Box<dyn Fn(&Cert) -> bool> = match search
            .strip_prefix("0x")
            .or_else(|| search.strip_prefix("0X"))
        {
            Some(hex) => {
                let hex = hex.to_ascii_uppercase();
                Box::new(move |c| names_key(c, &hex))
            }
            None => {
                let needle = search.to_lowercase();
                Box::new(move |c| {
                    !needle.is_empty()
                        && c.userids().any(|u| {
                            String::from_utf8_lossy(u.userid().value())
                                .to_lowercase()
                                .contains(&needle)
                        })
                })
            }
        };
        self.certs.iter().filter(|c| matches(c)).cloned().collect()
    }
}

fn names_key(cert: &Cert, hex: &str) -> bool {
    cert.keys().any(|ka| {
        let key = ka.key();
        match hex.len() {
            8 => key.keyid().to_hex().ends_with(hex),
            16 => key.keyid().to_hex() == hex,
            40 | 64 => key.fingerprint().to_hex() == hex,
            _ => false,
        }
    })
}

/// The certificates as one ASCII-armoured public key block.
pub(crate) fn armored(certs: &[Cert]) -> std::io::Result<Vec<u8>> {
    let mut w = Writer::new(Vec::new(), Kind::PublicKey)?;
    for cert in certs {
        cert.serialize(&mut w).map_err(std::io::Error::other)?;
    }
    w.finalize()
}

/// The machine-readable index for `certs`: `pub` lines with the fingerprint when
/// `fingerprint=on` was asked, else the long key ID, as HKP servers do.
pub(crate) fn machine_readable(certs: &[Cert], fingerprint_on: bool) -> String {
    let policy = StandardPolicy::new();
    let now = SystemTime::now();
    let mut out = format!("info:1:{}\n", certs.len());
    for cert in certs {
        let key = cert.primary_key().key();
        let id = if fingerprint_on {
            cert.fingerprint().to_hex()
        } else {
            cert.keyid().to_hex()
        };
        let bits = key.mpis().bits().map(|b| b.to_string()).unwrap_or_default();
        let expires = cert
            .with_policy(&policy, None)
            .ok()
            .and_then(|vc| vc.primary_key().key_expiration_time());
        let mut flags = String::new();
        if matches!(
            cert.revocation_status(&policy, None),
            RevocationStatus::Revoked(_)
        ) {
            flags.push('r');
        }
        if expires.is_some_and(|t| t <= now) {
            flags.push('e');
        }
        out.push_str(&format!(
            "pub:{id}:{}:{bits}:{}:{}:{flags}\n",
            u8::from(key.pk_algo()),
            unix(key.creation_time()),
            expires.map(|t| unix(t).to_string()).unwrap_or_default(),
        ));
        for ua in cert.userids() {
            let uid = String::from_utf8_lossy(ua.userid().value()).into_owned();
            let created = ua
                .self_signatures()
                .next()
                .and_then(|s| s.signature_creation_time())
                .map(|t| unix(t).to_string())
                .unwrap_or_default();
            let revoked = matches!(
                ua.revocation_status(&policy, None),
                RevocationStatus::Revoked(_)
            );
            out.push_str(&format!(
                "uid:{}:{created}::{}\n",
                utf8_percent_encode(&uid, UID_ESCAPE),
                if revoked { "r" } else { "" }
            ));
        }
    }
    out
}

/// A short human-readable listing, for `op=index` without `options=mr` (real servers send an
/// HTML page; clients that forget `mr` should notice).
pub(crate) fn human_readable(certs: &[Cert]) -> String {
    let mut out = String::from("<html><head><title>Search results</title></head><body><pre>\n");
    for cert in certs {
        out.push_str(&format!("pub  {}\n", cert.fingerprint().to_hex()));
        for ua in cert.userids() {
            let uid = String::from_utf8_lossy(ua.userid().value())
                .replace('&', "&amp;")
                .replace('<', "&lt;")
                .replace('>', "&gt;");
            out.push_str(&format!("uid  {uid}\n"));
        }
    }
    out.push_str("</pre></body></html>\n");
    out
}

fn unix(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
        .unwrap_or(0)
}
