//! Verification (sif-signing.md §7–8), as `integrity.NewVerifier`/`Verify` and Apptainer's
//! `verify` command drive it, with the same task selection, check order and error texts.
//!
//! Verification failures are not `Err`: they come back in the report (`ok: false` and the
//! reference's exact message). `Err` is only for images that cannot be read.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::Read;
use std::path::Path;

use berth_sif::{DataType, Descriptor, HashType, Image};
use sequoia_openpgp::Cert;

use crate::clearsign::{self, Cleartext};
use crate::digest::{encode_hex_upper, DigestAlgorithm};
use crate::dsse::{self, DsseHash, DssePublicKey, Envelope};
use crate::error::{Error, Result};
use crate::keyring::KeySource;
use crate::legacy;
use crate::metadata::ImageMetadata;
use crate::pgp::{self, FailureKind};
use crate::report::{Scheme, SignatureReport, SignatureStatus, SignedBy, VerifyReport};
use crate::selection::{self, Selection};
use crate::signer::primary_user_id;
use crate::tasks::{self, fail, Stop, Task};

/// Buffer size for streaming object data.
const CHUNK: usize = 64 * 1024;

/// What to verify and with which keys.
///
/// PGP key material counts as provided when `pgp` holds a certificate, or when no DSSE key is
/// given (Apptainer verifies with the PGP keyring, even an empty one, unless `--key` is used).
/// DSSE key material is provided when `dsse_keys` is not empty.
#[derive(Debug, Clone, Default)]
pub struct VerifyOptions {
    /// What to verify. With `legacy` and no IDs, the primary partition (as Apptainer does).
    pub selection: Selection,
    /// Verify legacy signatures instead of modern ones (`--legacy-insecure`).
    pub legacy: bool,
    /// With `legacy`: one task per grouped non-signature object (`--all`). Ignored without
    /// `legacy`, as in Apptainer.
    pub legacy_all: bool,
    /// OpenPGP certificates and where each came from, consulted in this order (Apptainer puts
    /// the global keyring first, as [`crate::Keyring::verification_certs`] does).
    pub pgp: Vec<(Cert, KeySource)>,
    /// PEM public keys for DSSE signatures.
    pub dsse_keys: Vec<DssePublicKey>,
}

impl VerifyOptions {
    /// Adds certificates, e.g. from [`crate::Keyring::verification_certs`].
    pub fn with_certs(mut self, certs: Vec<(Cert, KeySource)>) -> Self {
        self.pgp.extend(certs);
        self
    }

    /// Adds certificates from the user's own keyring or a key file ([`KeySource::Local`]).
    pub fn with_local_certs(mut self, certs: impl IntoIterator<Item = Cert>) -> Self {
        self.pgp
            .extend(certs.into_iter().map(|c| (c, KeySource::Local)));
        self
    }

    fn pgp_provided(&self) -> bool {
        !self.pgp.is_empty() || self.dsse_keys.is_empty()
    }
}

/// Verifies the image at `path`.
pub fn verify(path: &Path, opts: &VerifyOptions) -> Result<VerifyReport> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let image = Image::load(file)?;
    let certs: Vec<&Cert> = opts.pgp.iter().map(|(c, _)| c).collect();
    let mut run = Run {
        image,
        opts,
        certs,
        reports: Vec::new(),
    };
    let outcome = run.run();
    let signatures = run.reports;
    match outcome {
        Ok(()) => Ok(VerifyReport {
            ok: true,
            error: None,
            signatures,
        }),
        Err(Stop::Fail(message)) => Ok(VerifyReport {
            ok: false,
            error: Some(message),
            signatures,
        }),
        Err(Stop::Err(e)) => Err(e),
    }
}

/// Who signed what `opts` selects (see [`SignedBy`]). A selection the reference refuses gives
/// [`Error::Selection`] with its text.
pub fn signed_by(path: &Path, opts: &VerifyOptions) -> Result<SignedBy> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let mut run = Run {
        image: Image::load(file)?,
        opts,
        certs: Vec::new(),
        reports: Vec::new(),
    };
    let unwrap_stop = |stop: Stop| match stop {
        Stop::Fail(message) => Error::Selection(message),
        Stop::Err(e) => e,
    };
    let tasks = tasks::build(&run.image, opts).map_err(unwrap_stop)?;
    let mut counts: BTreeMap<[u8; 20], usize> = BTreeMap::new();
    for task in &tasks {
        let mut seen = Vec::new();
        for (sig, _) in tasks::signatures(&mut run.image, task).map_err(unwrap_stop)? {
            if let Some(fp) = sig.signature()?.fingerprint {
                if !seen.contains(&fp) {
                    seen.push(fp);
                }
            }
        }
        for fp in seen {
            *counts.entry(fp).or_default() += 1;
        }
    }
    Ok(SignedBy {
        any: counts.keys().map(|f| encode_hex_upper(f)).collect(),
        all: counts
            .iter()
            .filter(|(_, &n)| n == tasks.len())
            .map(|(f, _)| encode_hex_upper(f))
            .collect(),
    })
}

struct Run<'a> {
    image: Image<File>,
    opts: &'a VerifyOptions,
    /// The certificates of `opts.pgp`, in order.
    certs: Vec<&'a Cert>,
    reports: Vec<SignatureReport>,
}

/// What the signature check of one object yields before the integrity checks.
struct Message {
    plaintext: Vec<u8>,
    entity: Option<usize>,
    dsse_key_ids: Vec<String>,
}

/// A failed signature, with its status and the message (without the `integrity: ` prefix).
struct SigFailure {
    status: SignatureStatus,
    message: String,
}

fn sig_fail(status: SignatureStatus, message: impl Into<String>) -> SigFailure {
    SigFailure {
        status,
        message: message.into(),
    }
}

enum Decoded {
    Pgp(Cleartext),
    Dsse(Envelope),
}

impl Run<'_> {
    fn run(&mut self) -> std::result::Result<(), Stop> {
        let tasks = tasks::build(&self.image, self.opts)?;

        // Every object outside a group must be a signature.
        if selection::has_no_objects(self.image.header()) {
            return Err(fail(selection::NO_OBJECTS));
        }
        if self
            .image
            .descriptors()
            .iter()
            .any(|d| d.group_id == 0 && d.data_type != DataType::Signature)
        {
            return Err(fail(
                "non-signature object not associated with object group",
            ));
        }

        for task in &tasks {
            let signatures = tasks::signatures(&mut self.image, task)?;
            if signatures.is_empty() {
                return Err(fail(tasks::not_found(task)));
            }
            for (sig, data) in signatures {
                self.check(task, &sig, &data)?;
            }
        }
        Ok(())
    }

    /// Checks one signature, records its report, and stops on failure.
    fn check(
        &mut self,
        task: &Task,
        sig: &Descriptor,
        data: &[u8],
    ) -> std::result::Result<(), Stop> {
        let meta = sig.signature()?;
        let legacy_task = !matches!(task, Task::Group { .. });
        let mut report = SignatureReport {
            signature_id: sig.id,
            scheme: if legacy_task {
                Scheme::Legacy
            } else {
                Scheme::Pgp
            },
            linked: sig.link.into(),
            fingerprint: meta.fingerprint.map(|f| encode_hex_upper(&f)),
            signer: None,
            key_source: None,
            dsse_key_ids: Vec::new(),
            objects: Vec::new(),
            status: SignatureStatus::Valid,
            message: None,
        };
        let result = self.check_inner(task, sig, data, &mut report);
        let outcome = match result {
            Ok(()) => Ok(()),
            Err(Ok(f)) => {
                let message = format!("integrity: {}", f.message);
                report.status = f.status;
                report.message = Some(message.clone());
                Err(Stop::Fail(message))
            }
            Err(Err(stop)) => Err(stop),
        };
        self.reports.push(report);
        outcome
    }

    /// The checks of one signature; `Err(Ok(_))` is a verification failure, `Err(Err(_))` an
    /// image that cannot be read.
    fn check_inner(
        &mut self,
        task: &Task,
        sig: &Descriptor,
        data: &[u8],
        report: &mut SignatureReport,
    ) -> std::result::Result<(), std::result::Result<SigFailure, Stop>> {
        let meta = sig.signature().map_err(|e| Err(e.into()))?;
        let decoded = self.decoder(data).map_err(Ok)?;
        if matches!(decoded, Decoded::Dsse(_)) {
            report.scheme = Scheme::Dsse;
        }

        match task {
            Task::Group {
                group,
                objects,
                subset,
            } => {
                // The descriptor's hash type must be known before anything else.
                if matches!(meta.hash, HashType::Unknown(_)) {
                    return Err(Ok(sig_fail(
                        SignatureStatus::Malformed,
                        "hash algorithm unsupported",
                    )));
                }
                let message = self
                    .message(sig.id, &decoded, meta.hash, report)
                    .map_err(Ok)?;
                let doc = ImageMetadata::parse(&message.plaintext).map_err(|e| {
                    Ok(sig_fail(
                        SignatureStatus::Malformed,
                        format!("signature object {} not valid: {e}", sig.id),
                    ))
                })?;
                let min_id = selection::group_min_id(&self.image, *group)
                    .map_err(|e| Ok(sig_fail(SignatureStatus::Malformed, e)))?;
                self.check_entity(&message, meta.fingerprint).map_err(Ok)?;
                if !subset {
                    ids_match(&doc, min_id, objects).map_err(Ok)?;
                }
                self.matches(&doc, min_id, objects, report)
            }
            Task::LegacyGroup { objects, .. } => {
                self.check_legacy(sig, &decoded, objects, 0, report)
            }
            Task::LegacyObject(d) => {
                self.check_legacy(sig, &decoded, std::slice::from_ref(d), d.id, report)
            }
        }
    }

    /// A legacy signature: the signed `SIFHASH` digest against the objects' data
    /// (`object_id` 0 for a group signature).
    fn check_legacy(
        &mut self,
        sig: &Descriptor,
        decoded: &Decoded,
        objects: &[Descriptor],
        object_id: u32,
        report: &mut SignatureReport,
    ) -> std::result::Result<(), std::result::Result<SigFailure, Stop>> {
        let meta = sig.signature().map_err(|e| Err(e.into()))?;
        let message = self
            .message(sig.id, decoded, HashType::Sha256, report)
            .map_err(Ok)?;
        if matches!(meta.hash, HashType::Unknown(_)) {
            return Err(Ok(sig_fail(
                SignatureStatus::Malformed,
                "hash algorithm unsupported",
            )));
        }
        self.check_entity(&message, meta.fingerprint).map_err(Ok)?;
        let (algorithm, claimed) = legacy::claimed_digest(meta.hash, &message.plaintext)
            .map_err(|e| Ok(sig_fail(SignatureStatus::Malformed, e)))?;
        let actual = self
            .hash_objects(algorithm, objects)
            .map_err(|e| Err(e.into()))?;
        if actual != claimed {
            let text = if object_id == 0 {
                "data object integrity compromised".to_owned()
            } else {
                format!("data object integrity compromised: {object_id}")
            };
            return Err(Ok(sig_fail(
                SignatureStatus::TamperedObject { id: object_id },
                text,
            )));
        }
        report.objects = objects.iter().map(|d| d.id).collect();
        Ok(())
    }

    /// Picks the decoder by content and checks key material for it is present.
    fn decoder(&self, data: &[u8]) -> std::result::Result<Decoded, SigFailure> {
        if let Some(envelope) =
            dsse::parse_envelope(data).filter(|e| e.payload_type == dsse::METADATA_MEDIA_TYPE)
        {
            if self.opts.dsse_keys.is_empty() {
                return Err(sig_fail(
                    SignatureStatus::KeyMaterialMissing,
                    "key material not provided for DSSE envelope signature",
                ));
            }
            return Ok(Decoded::Dsse(envelope));
        }
        if let Some(cleartext) = clearsign::decode(data) {
            if !self.opts.pgp_provided() {
                return Err(sig_fail(
                    SignatureStatus::KeyMaterialMissing,
                    "key material not provided for PGP clear-sign signature",
                ));
            }
            return Ok(Decoded::Pgp(cleartext));
        }
        Err(sig_fail(
            SignatureStatus::Malformed,
            "signature format not recognized",
        ))
    }

    /// Verifies the signature itself and returns the signed message.
    fn message(
        &self,
        id: u32,
        decoded: &Decoded,
        hash: HashType,
        report: &mut SignatureReport,
    ) -> std::result::Result<Message, SigFailure> {
        let not_valid =
            |status, e: &str| sig_fail(status, format!("signature object {id} not valid: {e}"));
        match decoded {
            Decoded::Pgp(cleartext) => {
                let packets = cleartext
                    .signature_bytes()
                    .map_err(|e| not_valid(SignatureStatus::BadSignature, &e))?;
                match pgp::verify_detached(&cleartext.signed, &packets, &self.certs) {
                    Ok(index) => {
                        self.describe_entity(index, report);
                        Ok(Message {
                            plaintext: cleartext.plaintext.clone(),
                            entity: Some(index),
                            dsse_key_ids: Vec::new(),
                        })
                    }
                    Err(f) => {
                        if let Some(index) = f.entity {
                            self.describe_entity(index, report);
                        }
                        let status = match f.kind {
                            FailureKind::UnknownSigner => SignatureStatus::UnknownSigner,
                            FailureKind::BadSignature => SignatureStatus::BadSignature,
                            FailureKind::ExpiredKey => SignatureStatus::ExpiredKey,
                            FailureKind::ExpiredSignature => SignatureStatus::ExpiredSignature,
                            FailureKind::RevokedKey => SignatureStatus::RevokedKey,
                        };
                        Err(not_valid(status, &f.message))
                    }
                }
            }
            Decoded::Dsse(envelope) => {
                match dsse::verify_envelope(
                    envelope,
                    &self.opts.dsse_keys,
                    DsseHash::from_sif(hash),
                ) {
                    Ok((payload, keys)) => {
                        report.dsse_key_ids.clone_from(&keys);
                        Ok(Message {
                            plaintext: payload,
                            entity: None,
                            dsse_key_ids: keys,
                        })
                    }
                    Err(e) => Err(not_valid(SignatureStatus::BadSignature, &e)),
                }
            }
        }
    }

    fn describe_entity(&self, index: usize, report: &mut SignatureReport) {
        if let Some(cert) = self.certs.get(index) {
            report.fingerprint = Some(cert.fingerprint().to_hex());
            report.signer = primary_user_id(cert);
            report.key_source = self.opts.pgp.get(index).map(|(_, source)| *source);
        }
    }

    /// The signing entity must be the one the descriptor names (PGP only).
    fn check_entity(
        &self,
        message: &Message,
        recorded: Option<[u8; 20]>,
    ) -> std::result::Result<(), SigFailure> {
        debug_assert!(message.entity.is_none() || message.dsse_key_ids.is_empty());
        let Some(cert) = message.entity.and_then(|i| self.certs.get(i)) else {
            return Ok(());
        };
        if recorded.as_ref().map(<[u8; 20]>::as_slice) != Some(cert.fingerprint().as_bytes()) {
            return Err(sig_fail(
                SignatureStatus::FingerprintMismatch,
                "fingerprint in descriptor does not correspond to signing entity",
            ));
        }
        Ok(())
    }

    /// Header, descriptor and object digests of the objects of the task.
    fn matches(
        &mut self,
        doc: &ImageMetadata,
        min_id: u32,
        objects: &[Descriptor],
        report: &mut SignatureReport,
    ) -> std::result::Result<(), std::result::Result<SigFailure, Stop>> {
        let unavailable = || {
            Ok(sig_fail(
                SignatureStatus::Malformed,
                "hash algorithm unavailable",
            ))
        };
        let header = doc.header.digest.as_ref().ok_or_else(unavailable)?;
        let header_bytes = self.image.header().integrity_bytes();
        if header.algorithm.hash_bytes(&header_bytes) != header.value {
            return Err(Ok(sig_fail(
                SignatureStatus::TamperedHeader,
                "header integrity compromised",
            )));
        }
        for d in objects {
            let Some(om) = doc
                .objects
                .iter()
                .find(|o| o.relative_id.wrapping_add(min_id) == d.id)
            else {
                return Err(Ok(sig_fail(
                    SignatureStatus::NotSigned { id: d.id },
                    format!("object {}: object not signed", d.id),
                )));
            };
            let descriptor = om.descriptor_digest.as_ref().ok_or_else(unavailable)?;
            let stream = d.integrity_bytes(self.image.relative_id(d));
            if descriptor.algorithm.hash_bytes(&stream) != descriptor.value {
                return Err(Ok(sig_fail(
                    SignatureStatus::TamperedDescriptor { id: d.id },
                    format!("data object descriptor integrity compromised: {}", d.id),
                )));
            }
            let object = om.object_digest.as_ref().ok_or_else(unavailable)?;
            let actual = self
                .hash_objects(object.algorithm, std::slice::from_ref(d))
                .map_err(|e| Err(e.into()))?;
            if actual != object.value {
                return Err(Ok(sig_fail(
                    SignatureStatus::TamperedObject { id: d.id },
                    format!("data object integrity compromised: {}", d.id),
                )));
            }
            report.objects.push(d.id);
        }
        Ok(())
    }

    /// Streams the data of `objects`, concatenated, through one hash.
    fn hash_objects(
        &mut self,
        algorithm: DigestAlgorithm,
        objects: &[Descriptor],
    ) -> Result<Vec<u8>> {
        let mut hasher = algorithm.hasher();
        let mut buf = vec![0u8; CHUNK];
        for d in objects {
            let mut reader = self.image.object_reader(d.id)?;
            loop {
                let n = match reader.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                };
                hasher.update(buf.get(..n).unwrap_or_default());
            }
        }
        Ok(hasher.finish())
    }
}

/// Outside subset mode the signed IDs must be exactly the group's IDs.
fn ids_match(
    doc: &ImageMetadata,
    min_id: u32,
    objects: &[Descriptor],
) -> std::result::Result<(), SigFailure> {
    let mut ids: BTreeMap<u32, bool> = doc
        .objects
        .iter()
        .map(|o| (o.relative_id.wrapping_add(min_id), false))
        .collect();
    for d in objects {
        match ids.get_mut(&d.id) {
            Some(seen) => *seen = true,
            None => {
                return Err(sig_fail(
                    SignatureStatus::NotSigned { id: d.id },
                    format!("object {}: object not signed", d.id),
                ))
            }
        }
    }
    if let Some((&id, _)) = ids.iter().find(|(_, &seen)| !seen) {
        return Err(sig_fail(
            SignatureStatus::SignedObjectMissing { id },
            format!("object {id}: signed object not found"),
        ));
    }
    Ok(())
}
