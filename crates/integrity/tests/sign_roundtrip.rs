//! Signing shared images and verifying the result; deterministic signing reproduces the
//! reference's signed images byte for byte.

mod common;

use berth_integrity::{sign, verify, Selection, SignOptions, SignatureStatus, Signer};
use common::*;

/// 2020-06-30T00:01:56Z, the time the reference test images were signed at.
const IMAGE_TIME: i64 = 1_593_475_316;

fn sylabs_signer() -> Signer {
    Signer::from_cert(&cert("keys/sylabs-sif/private.asc"), None).unwrap()
}

fn deterministic(selection: Selection) -> SignOptions {
    SignOptions {
        selection,
        time: Some(IMAGE_TIME),
        deterministic: true,
    }
}

#[test]
fn one_group_is_byte_identical_to_reference() {
    let (_dir, path) = copy_image("images/sylabs-sif/one-group.sif");
    let ids = sign(
        &path,
        &sylabs_signer(),
        &deterministic(Selection::AllGroups),
    )
    .unwrap();
    assert_eq!(ids, vec![3]);
    let ours = std::fs::read(&path).unwrap();
    let reference = read("images/sylabs-sif/one-group-signed-pgp.sif");
    assert_eq!(ours.len(), reference.len());
    assert!(
        ours == reference,
        "signed image differs from one-group-signed-pgp.sif"
    );
}

#[test]
fn two_groups_is_byte_identical_to_reference() {
    let (_dir, path) = copy_image("images/sylabs-sif/two-groups.sif");
    let ids = sign(
        &path,
        &sylabs_signer(),
        &deterministic(Selection::AllGroups),
    )
    .unwrap();
    assert_eq!(ids, vec![4, 5]);
    let ours = std::fs::read(&path).unwrap();
    assert!(ours == read("images/sylabs-sif/two-groups-signed-pgp.sif"));
}

#[test]
fn sign_then_verify_groups_and_objects() {
    let signer = sylabs_signer();
    // One group, default selection, with the current time and a salt.
    let (_d1, one) = copy_image("images/sylabs-sif/one-group.sif");
    sign(&one, &signer, &SignOptions::default()).unwrap();
    let report = verify(&one, &pgp_opts(Selection::AllGroups)).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.signatures[0].objects, vec![1, 2]);
    assert_eq!(
        report.signatures[0].fingerprint.as_deref(),
        Some(SYLABS_FPR)
    );
    assert_eq!(
        report.signatures[0].signer.as_deref(),
        Some("Unit Test <unit@test.com>")
    );

    // Two groups, one signature each.
    let (_d2, two) = copy_image("images/sylabs-sif/two-groups.sif");
    assert_eq!(
        sign(&two, &signer, &SignOptions::default()).unwrap(),
        vec![4, 5]
    );
    let report = verify(&two, &pgp_opts(Selection::AllGroups)).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.verified_objects(), vec![1, 2, 3]);

    // --group-id 2 only: group 1 stays unsigned.
    let (_d3, g2) = copy_image("images/sylabs-sif/two-groups.sif");
    assert_eq!(
        sign(&g2, &signer, &deterministic(Selection::Group(2))).unwrap(),
        vec![4]
    );
    assert!(verify(&g2, &pgp_opts(Selection::Group(2))).unwrap().ok);
    assert_eq!(
        verify(&g2, &pgp_opts(Selection::AllGroups))
            .unwrap()
            .error
            .as_deref(),
        Some("integrity: signature not found for object group 1")
    );

    // --sif-id 1: the signature covers only object 1, so group verification finds object 2
    // unsigned, while object verification of 1 succeeds.
    let (_d4, o1) = copy_image("images/sylabs-sif/one-group.sif");
    assert_eq!(
        sign(&o1, &signer, &deterministic(Selection::Objects(vec![1]))).unwrap(),
        vec![3]
    );
    let report = verify(&o1, &pgp_opts(Selection::Objects(vec![1]))).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.signatures[0].objects, vec![1]);
    let report = verify(&o1, &pgp_opts(Selection::AllGroups)).unwrap();
    assert_eq!(
        report.error.as_deref(),
        Some("integrity: object 2: object not signed")
    );
    assert_eq!(
        report.signatures[0].status,
        SignatureStatus::NotSigned { id: 2 }
    );

    // --sif-id 1,3 across groups: one signature per group.
    let (_d5, o13) = copy_image("images/sylabs-sif/two-groups.sif");
    assert_eq!(
        sign(
            &o13,
            &signer,
            &deterministic(Selection::Objects(vec![3, 1]))
        )
        .unwrap(),
        vec![4, 5]
    );
    assert!(
        verify(&o13, &pgp_opts(Selection::Objects(vec![1, 3])))
            .unwrap()
            .ok
    );
}

#[test]
fn object_subset_of_reference_image() {
    let report = verify(
        &data("images/sylabs-sif/one-group-signed-pgp.sif"),
        &pgp_opts(Selection::Objects(vec![2])),
    )
    .unwrap();
    assert!(report.ok);
    assert_eq!(report.signatures[0].objects, vec![2]);
}

#[test]
fn selection_errors() {
    let signer = sylabs_signer();
    let (_dir, path) = copy_image("images/sylabs-sif/one-group.sif");
    let before = std::fs::read(&path).unwrap();
    for (selection, text) in [
        (Selection::Group(0), "integrity: invalid group ID"),
        (Selection::Group(7), "integrity: group not found"),
        (Selection::Objects(vec![9]), "integrity: object not found"),
        (
            Selection::Objects(vec![]),
            "integrity: no objects specified",
        ),
    ] {
        let err = sign(&path, &signer, &deterministic(selection)).unwrap_err();
        assert_eq!(err.to_string(), text);
        assert_eq!(err.code(), "integrity.bad_selection");
    }
    let (_dir2, empty) = copy_image("images/sylabs-sif/empty.sif");
    let err = sign(&empty, &signer, &SignOptions::default()).unwrap_err();
    assert_eq!(err.to_string(), "integrity: no groups found");
    assert_eq!(std::fs::read(&path).unwrap(), before);
}

#[test]
fn dsse_sign_and_verify() {
    let (_dir, path) = copy_image("images/sylabs-sif/one-group.sif");
    let signer = Signer::dsse_from_pem(&read_str("keys/sylabs-sif/ed25519-private.pem")).unwrap();
    assert_eq!(
        sign(&path, &signer, &deterministic(Selection::AllGroups)).unwrap(),
        vec![3]
    );
    let report = verify(&path, &dsse_opts("keys/sylabs-sif/ed25519-public.pem")).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(
        report.signatures[0].dsse_key_ids,
        vec!["SHA256:x6l8ZblpSSXGaPMCzySedWg88BwIFcz8jlPb6el0mFs".to_owned()]
    );
    let report = verify(&path, &dsse_opts("keys/sylabs-sif/rsa-public.pem")).unwrap();
    assert_eq!(
        report.error.as_deref(),
        Some("integrity: signature object 3 not valid: dsse: verify envelope failed: accepted signatures do not match threshold, Found: 0, Expected 1")
    );
    assert_eq!(report.signatures[0].status, SignatureStatus::BadSignature);
}

#[test]
fn dsse_two_keys_is_byte_identical_to_apptainer_image() {
    use berth_integrity::{DsseHash, DssePrivateKey};
    let keys = [
        "keys/sylabs-sif/ed25519-private.pem",
        "keys/sylabs-sif/rsa-private.pem",
    ]
    .map(|k| DssePrivateKey::from_pem(&read_str(k)).unwrap());
    let signer = Signer::dsse(keys.to_vec(), DsseHash::Sha256).unwrap();
    let (_dir, path) = copy_image("images/sylabs-sif/one-group.sif");
    sign(&path, &signer, &deterministic(Selection::AllGroups)).unwrap();
    // Apptainer's writer ends the envelope with a newline; sylabs' newer one does not.
    assert!(std::fs::read(&path).unwrap() == read("images/apptainer/one-group-signed-dsse.sif"));
    for key in ["ed25519", "rsa"] {
        let report = verify(
            &path,
            &dsse_opts(&format!("keys/sylabs-sif/{key}-public.pem")),
        )
        .unwrap();
        assert!(report.ok, "{key}: {report:?}");
    }
}
