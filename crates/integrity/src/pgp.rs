//! OpenPGP signature packets for the cleartext framework: made byte-compatible with go-crypto's
//! clear-signer, and checked with go-crypto's `CheckDetachedSignatureAndHash` rules
//! (sif-signing.md §5).
//!
//! The packet is assembled by hand rather than with Sequoia's `SignatureBuilder`, because the
//! builder always adds its own salt notation and would make deterministic output impossible.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use sequoia_openpgp as openpgp;

use openpgp::cert::prelude::*;
use openpgp::crypto::hash::Hash as _;
use openpgp::crypto::mpi;
use openpgp::crypto::{KeyPair, Signer as _};
use openpgp::packet::signature::subpacket::{
    NotationData, NotationDataFlags, Subpacket, SubpacketArea, SubpacketValue,
};
use openpgp::packet::signature::Signature4;
use openpgp::packet::{Key, Signature};
use openpgp::parse::{PacketParser, PacketParserResult, Parse};
use openpgp::policy::StandardPolicy;
use openpgp::serialize::Serialize as _;
use openpgp::types::{
    HashAlgorithm, PublicKeyAlgorithm, RevocationStatus, SignatureType, Timestamp,
};
use openpgp::{Cert, KeyID, Packet};

use crate::error::{Error, Result};

/// Name of the per-signature salt notation go-crypto adds unless told not to.
const SALT_NOTATION: &str = "salt@notations.openpgpjs.org";
/// Length of that salt.
const SALT_LEN: usize = 16;

/// Hashes the reference accepts in data signatures; SHA-1, MD5 and RIPEMD are refused.
const ACCEPTED_HASHES: [HashAlgorithm; 4] = [
    HashAlgorithm::SHA224,
    HashAlgorithm::SHA256,
    HashAlgorithm::SHA384,
    HashAlgorithm::SHA512,
];

/// Why a PGP signature did not verify.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FailureKind {
    UnknownSigner,
    BadSignature,
    ExpiredKey,
    ExpiredSignature,
    RevokedKey,
}

/// A verification failure with the reference's message; `entity` is the index of the
/// certificate that made a cryptographically good signature, when one did.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub kind: FailureKind,
    pub message: String,
    pub entity: Option<usize>,
}

impl Failure {
    fn new(kind: FailureKind, message: impl Into<String>) -> Failure {
        Failure {
            kind,
            message: message.into(),
            entity: None,
        }
    }

    fn bad(message: impl Into<String>) -> Failure {
        Failure::new(FailureKind::BadSignature, message)
    }
}

const UNKNOWN_ENTITY: &str = "openpgp: signature made by unknown entity";

/// Checks detached signature packets over `signed` (the canonical cleartext) against `certs`.
/// Returns the index of the signing certificate.
pub(crate) fn verify_detached(
    signed: &[u8],
    packets: &[u8],
    certs: &[&Cert],
) -> std::result::Result<usize, Failure> {
    let policy = StandardPolicy::new();
    let (sig, candidates) = find_signature(packets, certs, &policy)?;

    let mut ctx = sig
        .hash_algo()
        .context()
        .map_err(|e| Failure::bad(format!("openpgp: unsupported feature: {e}")))?
        .for_signature(sig.version());
    ctx.update(signed);
    sig.hash(&mut ctx)
        .map_err(|e| Failure::bad(format!("openpgp: invalid data: {e}")))?;
    let digest = ctx
        .into_digest()
        .map_err(|e| Failure::bad(format!("openpgp: invalid data: {e}")))?;

    let mut last = Failure::new(FailureKind::UnknownSigner, UNKNOWN_ENTITY);
    for (index, key) in candidates {
        if key.pk_algo() != sig.pk_algo() {
            last = Failure::bad(
                "openpgp: invalid argument: public key and signature use different algorithms",
            );
            continue;
        }
        if digest.get(..2) != Some(sig.digest_prefix().as_slice()) {
            last = Failure::bad("openpgp: invalid signature: hash tag doesn't match");
            continue;
        }
        match sig.verify_digest(&key, &digest) {
            Ok(()) => {
                return signature_details(&sig, certs, index, &key, &policy)
                    .map(|()| index)
                    .map_err(|mut f| {
                        f.entity = Some(index);
                        f
                    });
            }
            Err(_) => {
                last = Failure::bad(format!(
                    "openpgp: invalid signature: {} verification failure",
                    go_algorithm_name(key.pk_algo())
                ));
            }
        }
    }
    Err(last)
}

type Candidate = (
    usize,
    Key<openpgp::packet::key::PublicParts, openpgp::packet::key::UnspecifiedRole>,
);

/// Walks the signature packets as go-crypto does: the first signature whose issuer has a
/// signing-capable key in the keyring is the one checked.
fn find_signature(
    packets: &[u8],
    certs: &[&Cert],
    policy: &StandardPolicy,
) -> std::result::Result<(Signature, Vec<Candidate>), Failure> {
    if packets.is_empty() {
        return Err(Failure::new(FailureKind::UnknownSigner, UNKNOWN_ENTITY));
    }
    let packets = crate::packets::canonical_mpis(packets);
    let mut ppr = PacketParser::from_bytes(&packets)
        .map_err(|e| Failure::bad(format!("openpgp: invalid data: {e}")))?;
    while let PacketParserResult::Some(pp) = ppr {
        let (packet, next) = pp
            .next()
            .map_err(|e| Failure::bad(format!("openpgp: invalid data: {e}")))?;
        ppr = next;
        let sig = match packet {
            Packet::Signature(sig) => sig,
            Packet::Unknown(u) if u.tag() == openpgp::packet::Tag::Signature => {
                return Err(Failure::bad(format!(
                    "openpgp: invalid data: {}",
                    u.error()
                )))
            }
            _ => {
                return Err(Failure::bad(
                    "openpgp: invalid data: non signature packet found",
                ))
            }
        };
        let Some(issuer) = sig.get_issuers().into_iter().next().map(KeyID::from) else {
            return Err(Failure::bad(
                "openpgp: invalid data: signature doesn't have an issuer",
            ));
        };
        if !ACCEPTED_HASHES.contains(&sig.hash_algo()) {
            return Err(Failure::bad(
                "openpgp: invalid data: hash algorithm or salt mismatch with cleartext message headers",
            ));
        }
        let candidates = signing_keys(certs, &issuer, policy);
        if !candidates.is_empty() {
            return Ok((sig, candidates));
        }
    }
    Err(Failure::new(FailureKind::UnknownSigner, UNKNOWN_ENTITY))
}

/// Keys with this ID whose binding signature allows signing, in keyring order.
fn signing_keys(certs: &[&Cert], issuer: &KeyID, policy: &StandardPolicy) -> Vec<Candidate> {
    let mut out = Vec::new();
    for (index, cert) in certs.iter().enumerate() {
        let Ok(vc) = cert.with_policy(policy, None) else {
            continue;
        };
        for ka in vc.keys().key_handle(issuer.clone()).for_signing() {
            out.push((index, ka.key().clone().role_into_unspecified()));
        }
    }
    out
}

/// go-crypto's checks after a good signature: critical notations, revocation, key expiry,
/// signature expiry, in that order.
fn signature_details(
    sig: &Signature,
    certs: &[&Cert],
    index: usize,
    key: &Key<openpgp::packet::key::PublicParts, openpgp::packet::key::UnspecifiedRole>,
    policy: &StandardPolicy,
) -> std::result::Result<(), Failure> {
    let Some(cert) = certs.get(index) else {
        return Err(Failure::new(FailureKind::UnknownSigner, UNKNOWN_ENTITY));
    };
    let vc = cert
        .with_policy(policy, None)
        .map_err(|_| Failure::new(FailureKind::UnknownSigner, UNKNOWN_ENTITY))?;
    let primary_sig = vc.primary_key().binding_signature();
    let by_subkey = key.fingerprint() != cert.fingerprint();
    let subkey = vc.keys().subkeys().key_handle(key.fingerprint()).next();

    let mut to_check = vec![sig, primary_sig];
    if let Some(ka) = &subkey {
        to_check.push(ka.binding_signature());
    }
    for s in &to_check {
        for sp in s.hashed_area().iter() {
            if let SubpacketValue::NotationData(n) = sp.value() {
                if sp.critical() {
                    return Err(Failure::bad(format!(
                        "openpgp: invalid signature: unknown critical notation: {}",
                        n.name()
                    )));
                }
            }
        }
    }

    let revoked = |status: RevocationStatus<'_>| matches!(status, RevocationStatus::Revoked(_));
    let uid_revoked = vc
        .primary_userid()
        .is_ok_and(|u| revoked(u.revocation_status()));
    if revoked(vc.revocation_status())
        || (by_subkey
            && subkey
                .as_ref()
                .is_some_and(|k| revoked(k.revocation_status())))
        || uid_revoked
    {
        return Err(Failure::new(
            FailureKind::RevokedKey,
            "openpgp: signature made by revoked key",
        ));
    }
    if vc.primary_key().alive().is_err()
        || (by_subkey && subkey.as_ref().is_some_and(|k| k.alive().is_err()))
    {
        return Err(Failure::new(
            FailureKind::ExpiredKey,
            "openpgp: key expired",
        ));
    }
    let now = SystemTime::now();
    if to_check
        .iter()
        .any(|s| s.signature_expiration_time().is_some_and(|t| now > t))
    {
        return Err(Failure::new(
            FailureKind::ExpiredSignature,
            "openpgp: signature expired",
        ));
    }
    Ok(())
}

/// The algorithm word go-crypto uses in "… verification failure".
fn go_algorithm_name(algo: PublicKeyAlgorithm) -> &'static str {
    #[allow(deprecated)]
    match algo {
        PublicKeyAlgorithm::RSAEncryptSign | PublicKeyAlgorithm::RSASign => "RSA",
        PublicKeyAlgorithm::DSA => "DSA",
        PublicKeyAlgorithm::ECDSA => "ECDSA",
        PublicKeyAlgorithm::EdDSA => "EdDSA",
        PublicKeyAlgorithm::Ed25519 => "ed25519",
        PublicKeyAlgorithm::Ed448 => "ed448",
        _ => "signature",
    }
}

/// Converts Unix seconds to an OpenPGP timestamp.
pub(crate) fn timestamp(unix: i64) -> Result<Timestamp> {
    u32::try_from(unix)
        .map(Timestamp::from)
        .map_err(|_| Error::SignFailed(format!("time {unix} does not fit an OpenPGP timestamp")))
}

/// The current time in Unix seconds.
pub(crate) fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or(Duration::ZERO)
        .as_secs()
        .try_into()
        .unwrap_or(i64::MAX)
}

/// Makes a v4 canonical-text signature packet over `signed` (already canonical), laid out as
/// go-crypto lays it out: hashed creation time (critical), issuer key ID, issuer fingerprint,
/// then the optional salt notation; nothing unhashed.
pub(crate) fn sign_packet(
    keypair: &KeyPair,
    signed: &[u8],
    time: i64,
    salted: bool,
) -> Result<Vec<u8>> {
    let fail = |e: anyhow::Error| Error::SignFailed(e.to_string());
    let public = keypair.public();
    let hash = HashAlgorithm::SHA256;
    let mut hashed = vec![
        Subpacket::new(
            SubpacketValue::SignatureCreationTime(timestamp(time)?),
            true,
        )
        .map_err(fail)?,
        Subpacket::new(SubpacketValue::Issuer(public.keyid()), false).map_err(fail)?,
        Subpacket::new(
            SubpacketValue::IssuerFingerprint(public.fingerprint()),
            false,
        )
        .map_err(fail)?,
    ];
    if salted {
        let mut salt = [0u8; SALT_LEN];
        openpgp::crypto::random(&mut salt).map_err(fail)?;
        let notation = NotationData::new(SALT_NOTATION, salt, NotationDataFlags::empty());
        hashed.push(Subpacket::new(SubpacketValue::NotationData(notation), false).map_err(fail)?);
    }
    let hashed = SubpacketArea::new(hashed).map_err(fail)?;
    let build = |prefix: [u8; 2], mpis: mpi::Signature| {
        Signature::from(Signature4::new(
            SignatureType::Text,
            public.pk_algo(),
            hash,
            hashed.clone(),
            SubpacketArea::default(),
            prefix,
            mpis,
        ))
    };

    // The trailer hashed after the text depends only on the hashed fields, so a template with
    // placeholder values gives the digest to sign.
    let template = build(
        [0, 0],
        mpi::Signature::RSA {
            s: mpi::MPI::new(&[]),
        },
    );
    let mut ctx = hash.context().map_err(fail)?.for_signature(4);
    ctx.update(signed);
    template.hash(&mut ctx).map_err(fail)?;
    let digest = ctx.into_digest().map_err(fail)?;
    let mpis = keypair.clone().sign(hash, &digest).map_err(fail)?;
    let prefix = [
        digest.first().copied().unwrap_or_default(),
        digest.get(1).copied().unwrap_or_default(),
    ];
    let packet = Packet::from(build(prefix, mpis));
    let mut out = Vec::new();
    packet.serialize(&mut out).map_err(fail)?;
    Ok(out)
}
