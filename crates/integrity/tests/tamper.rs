//! Tampered and malformed images give the reference's errors and the right status.

mod common;

use std::path::Path;

use berth_integrity::{
    sign, verify, Scheme, Selection, SignOptions, SignatureStatus, Signer, VerifyOptions,
};
use berth_sif::{DataType, EditOptions, Image, Link, ObjectInput, ObjectMetadata, SignatureMeta};
use common::*;

fn flip(path: &Path, offset: u64) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset as usize] ^= 0x01;
    std::fs::write(path, bytes).unwrap();
}

fn poke(path: &Path, offset: usize, new: &[u8]) {
    let mut bytes = std::fs::read(path).unwrap();
    bytes[offset..offset + new.len()].copy_from_slice(new);
    std::fs::write(path, bytes).unwrap();
}

fn descriptor_offset(path: &Path, id: u32) -> usize {
    let image = Image::open(path).unwrap();
    let d = image.descriptor(id).unwrap();
    image.header().descriptors_offset as usize + d.slot * berth_sif::DESCRIPTOR_LEN
}

fn object_offset(path: &Path, id: u32) -> u64 {
    Image::open(path).unwrap().descriptor(id).unwrap().offset as u64
}

fn expect(path: &Path, opts: &VerifyOptions, error: &str, status: SignatureStatus) {
    let report = verify(path, opts).unwrap();
    assert_eq!(report.error.as_deref(), Some(error), "{report:#?}");
    let last = report.signatures.last().expect("a signature report");
    assert_eq!(last.status, status);
    assert_eq!(last.message.as_deref(), Some(error));
}

fn signed_copy() -> (tempfile::TempDir, std::path::PathBuf) {
    copy_image("images/sylabs-sif/one-group-signed-pgp.sif")
}

#[test]
fn object_data() {
    let (_d, path) = signed_copy();
    flip(&path, object_offset(&path, 2) + 100);
    expect(
        &path,
        &pgp_opts(Selection::AllGroups),
        "integrity: data object integrity compromised: 2",
        SignatureStatus::TamperedObject { id: 2 },
    );
    // Object 1 still verifies on its own before 2 is reached.
    let report = verify(&path, &pgp_opts(Selection::AllGroups)).unwrap();
    assert_eq!(report.signatures[0].objects, vec![1]);
}

#[test]
fn descriptor_name() {
    let (_d, path) = signed_copy();
    // Name starts at byte 73 of the descriptor.
    flip(&path, (descriptor_offset(&path, 1) + 73) as u64);
    expect(
        &path,
        &pgp_opts(Selection::AllGroups),
        "integrity: data object descriptor integrity compromised: 1",
        SignatureStatus::TamperedDescriptor { id: 1 },
    );
}

#[test]
fn header_launch_script() {
    let (_d, path) = signed_copy();
    poke(&path, 0, b"#!/bin/sh\n");
    expect(
        &path,
        &pgp_opts(Selection::AllGroups),
        "integrity: header integrity compromised",
        SignatureStatus::TamperedHeader,
    );
}

#[test]
fn uncovered_header_fields_do_not_matter() {
    let (_d, path) = signed_copy();
    // Arch (offset 45) and ModifiedAt (offset 72) are not covered.
    flip(&path, 45);
    flip(&path, 72);
    assert!(verify(&path, &pgp_opts(Selection::AllGroups)).unwrap().ok);
}

#[test]
fn signed_text() {
    let (_d, path) = signed_copy();
    let at = object_offset(&path, 3);
    // Inside the JSON: a digit of the header digest.
    flip(&path, at + 90);
    expect(
        &path,
        &pgp_opts(Selection::AllGroups),
        "integrity: signature object 3 not valid: openpgp: invalid signature: hash tag doesn't match",
        SignatureStatus::BadSignature,
    );
}

#[test]
fn descriptor_fingerprint() {
    let (_d, path) = signed_copy();
    // Signature extra: hash type (4 bytes) then the 20-byte fingerprint, at byte 201.
    flip(&path, (descriptor_offset(&path, 3) + 201 + 4 + 3) as u64);
    expect(
        &path,
        &pgp_opts(Selection::AllGroups),
        "integrity: fingerprint in descriptor does not correspond to signing entity",
        SignatureStatus::FingerprintMismatch,
    );
}

#[test]
fn unknown_hash_type() {
    let (_d, path) = signed_copy();
    poke(
        &path,
        descriptor_offset(&path, 3) + 201,
        &99i32.to_le_bytes(),
    );
    expect(
        &path,
        &pgp_opts(Selection::AllGroups),
        "integrity: hash algorithm unsupported",
        SignatureStatus::Malformed,
    );
}

fn add_signature_object(path: &Path, data: Vec<u8>) -> u32 {
    let input = ObjectInput::new(DataType::Signature, data)
        .with_group(0)
        .with_link(Link::Group(1))
        .with_metadata(ObjectMetadata::Signature(SignatureMeta {
            hash: berth_sif::HashType::Sha256,
            fingerprint: None,
        }));
    berth_sif::add_object(path, input, &EditOptions::default()).unwrap()
}

#[test]
fn garbage_signature_object() {
    let (_d, path) = signed_copy();
    let id = add_signature_object(&path, b"this is not a signature".to_vec());
    assert_eq!(id, 4);
    // The good signature verifies first; every signature of the group must verify.
    let report = verify(&path, &pgp_opts(Selection::AllGroups)).unwrap();
    assert_eq!(report.signatures[0].status, SignatureStatus::Valid);
    expect(
        &path,
        &pgp_opts(Selection::AllGroups),
        "integrity: signature format not recognized",
        SignatureStatus::Malformed,
    );
}

fn signature_text() -> String {
    let bytes = read("images/sylabs-sif/one-group-signed-pgp.sif");
    String::from_utf8(bytes[40960..40960 + 1048].to_vec()).unwrap()
}

#[test]
fn truncated_armor() {
    let text = signature_text();
    let cut = text.find("-----END").unwrap();
    let (_d, path) = copy_image("images/sylabs-sif/one-group.sif");
    add_signature_object(&path, text.as_bytes()[..cut - 10].to_vec());
    expect(
        &path,
        &pgp_opts(Selection::AllGroups),
        "integrity: signature format not recognized",
        SignatureStatus::Malformed,
    );
}

#[test]
fn corrupt_base64() {
    let text = signature_text().replacen("wsBz", "ws*z", 1);
    let (_d, path) = copy_image("images/sylabs-sif/one-group.sif");
    add_signature_object(&path, text.into_bytes());
    let report = verify(&path, &pgp_opts(Selection::AllGroups)).unwrap();
    assert_eq!(
        report.error.as_deref(),
        Some("integrity: signature object 3 not valid: illegal base64 data at input byte 2")
    );
    assert_eq!(report.signatures[0].status, SignatureStatus::BadSignature);
}

#[test]
fn not_json_payload() {
    // A valid signature over something that is not a metadata document. (With PGP a changed
    // text fails the hash tag first, as in the reference; DSSE lets the payload be anything.)
    let ed =
        berth_integrity::DssePrivateKey::from_pem(&read_str("keys/sylabs-sif/ed25519-private.pem"))
            .unwrap();
    let envelope =
        berth_integrity::encode_envelope(b"not json", &[ed], berth_integrity::DsseHash::Sha256)
            .unwrap();
    let (_d, path) = copy_image("images/sylabs-sif/one-group.sif");
    add_signature_object(&path, envelope.into_bytes());
    let report = verify(&path, &dsse_opts("keys/sylabs-sif/ed25519-public.pem")).unwrap();
    let error = report.error.unwrap();
    assert!(
        error.starts_with("integrity: signature object 3 not valid: json"),
        "{error}"
    );
    assert_eq!(report.signatures[0].status, SignatureStatus::Malformed);
    assert_eq!(report.signatures[0].scheme, Scheme::Dsse);
}

#[test]
fn ungrouped_data_object() {
    let (_d, path) = signed_copy();
    let input = ObjectInput::new(DataType::Generic, vec![1, 2, 3]).with_group(0);
    berth_sif::add_object(&path, input, &EditOptions::default()).unwrap();
    let report = verify(&path, &pgp_opts(Selection::AllGroups)).unwrap();
    assert_eq!(
        report.error.as_deref(),
        Some("integrity: non-signature object not associated with object group")
    );
    assert!(report.signatures.is_empty());
}

#[test]
fn new_object_in_group() {
    // An object added to a signed group afterwards is not signed.
    let (_d, path) = signed_copy();
    berth_sif::add_object(
        &path,
        ObjectInput::new(DataType::Generic, vec![7]),
        &EditOptions::default(),
    )
    .unwrap();
    expect(
        &path,
        &pgp_opts(Selection::AllGroups),
        "integrity: object 4: object not signed",
        SignatureStatus::NotSigned { id: 4 },
    );
}

#[test]
fn deleted_signed_object() {
    let (_d, path) = signed_copy();
    berth_sif::delete_object(&path, 1, &Default::default()).unwrap();
    // Group min ID becomes 2, so relative IDs shift: the descriptor of 2 is now checked as
    // relative ID 0 and the signed relative ID 1 maps to a missing object 3.
    let report = verify(&path, &pgp_opts(Selection::AllGroups)).unwrap();
    assert_eq!(
        report.error.as_deref(),
        Some("integrity: object 3: signed object not found")
    );
    assert_eq!(
        report.signatures[0].status,
        SignatureStatus::SignedObjectMissing { id: 3 }
    );
}

#[test]
fn legacy_object_and_group_tamper() {
    let (_d, path) = copy_image("images/sylabs-sif/two-groups-signed-legacy-all.sif");
    flip(&path, object_offset(&path, 2));
    let opts = VerifyOptions {
        legacy: true,
        ..pgp_opts(Selection::AllGroups)
    };
    expect(
        &path,
        &opts,
        "integrity: data object integrity compromised: 2",
        SignatureStatus::TamperedObject { id: 2 },
    );

    let (_d2, path) = copy_image("images/sylabs-sif/one-group-signed-legacy-group.sif");
    flip(&path, object_offset(&path, 1));
    let opts = VerifyOptions {
        legacy: true,
        ..pgp_opts(Selection::Group(1))
    };
    expect(
        &path,
        &opts,
        "integrity: data object integrity compromised",
        SignatureStatus::TamperedObject { id: 0 },
    );
}

#[test]
fn legacy_selection_errors() {
    let opts = |selection| VerifyOptions {
        legacy: true,
        ..pgp_opts(selection)
    };
    // No primary partition: Apptainer's own lookup, no prefix.
    let report = verify(
        &data("images/sylabs-sif/one-object-time.sif"),
        &opts(Selection::AllGroups),
    )
    .unwrap();
    assert_eq!(report.error.as_deref(), Some("object not found"));
    let report = verify(
        &data("images/sylabs-sif/empty.sif"),
        &opts(Selection::AllGroups),
    )
    .unwrap();
    assert_eq!(report.error.as_deref(), Some("no objects in image"));
    let report = verify(
        &data("images/sylabs-sif/one-group.sif"),
        &opts(Selection::Group(0)),
    )
    .unwrap();
    assert_eq!(report.error.as_deref(), Some("integrity: invalid group ID"));
    let report = verify(
        &data("images/sylabs-sif/one-group.sif"),
        &pgp_opts(Selection::Objects(vec![0])),
    )
    .unwrap();
    assert_eq!(
        report.error.as_deref(),
        Some("integrity: invalid object ID")
    );
}

#[test]
fn failed_sign_leaves_image_untouched() {
    use berth_sif::{create, Arch, CreateOptions, FsType, PartType, PartitionMeta};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("small.sif");
    let part = |g: u32| {
        ObjectInput::partition(
            vec![g as u8; 8],
            PartitionMeta {
                fs: FsType::Raw,
                part: PartType::Data,
                arch: Arch::AMD64,
            },
        )
        .with_group(g)
    };
    // Room for exactly one more object: the second group's signature cannot be added.
    create(
        &path,
        CreateOptions {
            descriptor_capacity: 3,
            objects: vec![part(1), part(2)],
            ..CreateOptions::deterministic()
        },
    )
    .unwrap();
    let before = std::fs::read(&path).unwrap();
    let signer = Signer::from_cert(&cert("keys/sylabs-sif/private.asc"), None).unwrap();
    let err = sign(&path, &signer, &SignOptions::default()).unwrap_err();
    assert_eq!(err.code(), "sif.no_capacity");
    assert_eq!(std::fs::read(&path).unwrap(), before);
    let leftovers: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
    assert_eq!(leftovers.len(), 1, "temporary files left behind");
    // One group still fits.
    sign(
        &path,
        &signer,
        &SignOptions {
            selection: Selection::Group(2),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(verify(&path, &pgp_opts(Selection::Group(2))).unwrap().ok);
}

#[test]
fn signing_needs_a_signing_key() {
    use berth_integrity::openpgp::cert::CertBuilder;
    // Certification-only primary and an encryption subkey: nothing can sign.
    let (cert, _) = CertBuilder::new()
        .add_userid("nosign <n@example.org>")
        .add_transport_encryption_subkey()
        .generate()
        .unwrap();
    let err = Signer::from_cert(&cert, None).unwrap_err();
    assert_eq!(err.code(), "key.cannot_sign");
    // A public key cannot sign either.
    let err = Signer::from_cert(&public("keys/sylabs-sif/private.asc"), None).unwrap_err();
    assert_eq!(err.code(), "key.cannot_sign");
}
