//! Expectations quoted from the reference tests: sylabs/sif `verify_test.go` and Apptainer's
//! e2e `verify.go` (see the test data README).

mod common;

use berth_integrity::{verify, KeySource, Scheme, Selection, SignatureStatus, VerifyOptions};
use common::*;

#[test]
fn verify_test_go_pgp() {
    let image = data("images/sylabs-sif/one-group-signed-pgp.sif");
    let opts = VerifyOptions {
        pgp: local(vec![cert("keys/sylabs-sif/private.asc")]),
        ..Default::default()
    };
    let report = verify(&image, &opts).unwrap();
    assert!(report.ok, "{report:?}");
    let sig = &report.signatures[0];
    assert_eq!((sig.signature_id, sig.objects.clone()), (3, vec![1, 2]));
    assert_eq!(sig.fingerprint.as_deref(), Some(SYLABS_FPR));
    assert_eq!(sig.scheme, Scheme::Pgp);
    assert_eq!(sig.key_source, Some(KeySource::Local));

    // An empty keyring is still PGP key material: the signer is unknown.
    let report = verify(&image, &VerifyOptions::default()).unwrap();
    assert_eq!(
        report.error.as_deref(),
        Some("integrity: signature object 3 not valid: openpgp: signature made by unknown entity")
    );
    assert_eq!(report.signatures[0].status, SignatureStatus::UnknownSigner);
    assert_eq!(report.error_code(), Some("integrity.verify_failed"));

    // Only an Ed25519 verifier.
    let report = verify(&image, &dsse_opts("keys/sylabs-sif/ed25519-public.pem")).unwrap();
    assert_eq!(
        report.error.as_deref(),
        Some("integrity: key material not provided for PGP clear-sign signature")
    );
    assert_eq!(
        report.signatures[0].status,
        SignatureStatus::KeyMaterialMissing
    );
}

#[test]
fn verify_test_go_dsse() {
    let image = data("images/sylabs-sif/one-group-signed-dsse.sif");
    for key in ["ed25519", "rsa"] {
        let report = verify(
            &image,
            &dsse_opts(&format!("keys/sylabs-sif/{key}-public.pem")),
        )
        .unwrap();
        assert!(report.ok, "{key}: {report:?}");
        let sig = &report.signatures[0];
        assert_eq!((sig.signature_id, sig.objects.clone()), (3, vec![1, 2]));
        assert_eq!(sig.scheme, Scheme::Dsse);
        assert_eq!(sig.signer, None);
        assert_eq!(sig.fingerprint, None);
        assert_eq!(sig.dsse_key_ids.len(), 1);
    }
    let report = verify(&image, &dsse_opts("keys/sylabs-sif/ecdsa-public.pem")).unwrap();
    assert!(report
        .error
        .as_deref()
        .unwrap()
        .starts_with("integrity: signature object 3 not valid: "));
    let report = verify(&image, &pgp_opts(Selection::AllGroups)).unwrap();
    assert_eq!(
        report.error.as_deref(),
        Some("integrity: key material not provided for DSSE envelope signature")
    );
}

#[test]
fn verify_test_go_unsigned_and_legacy() {
    let report = verify(
        &data("images/sylabs-sif/one-group.sif"),
        &pgp_opts(Selection::AllGroups),
    )
    .unwrap();
    assert_eq!(
        report.error.as_deref(),
        Some("integrity: signature not found for object group 1")
    );
    assert_eq!(report.error_code(), Some("integrity.no_signatures"));
    assert_eq!(
        report.into_result().unwrap_err().code(),
        "integrity.no_signatures"
    );

    let opts = VerifyOptions {
        legacy: true,
        ..pgp_opts(Selection::Group(1))
    };
    let report = verify(
        &data("images/sylabs-sif/one-group-signed-legacy-group.sif"),
        &opts,
    )
    .unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.signatures[0].objects, vec![1, 2]);
    assert_eq!(report.signatures[0].scheme, Scheme::Legacy);
}

#[test]
fn e2e_verify_go() {
    let keyring = vec![public("keys/apptainer/pgp-public.asc")];
    let opts = |selection| VerifyOptions {
        selection,
        pgp: local(keyring.clone()),
        ..Default::default()
    };

    let report = verify(
        &data("images/apptainer/one-group-signed-pgp.sif"),
        &opts(Selection::AllGroups),
    )
    .unwrap();
    assert!(report.ok, "{report:?}");
    let sig = &report.signatures[0];
    assert_eq!(
        sig.signer.as_deref(),
        Some("SingularityCE Tests <singularityce@example.com>")
    );
    assert_eq!(sig.fingerprint.as_deref(), Some(APPTAINER_FPR));

    let legacy = VerifyOptions {
        legacy: true,
        ..opts(Selection::Objects(vec![2]))
    };
    let report = verify(
        &data("images/apptainer/one-group-signed-legacy.sif"),
        &legacy,
    )
    .unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(
        report.signatures[0].signer.as_deref(),
        Some("SingularityCE Tests <singularityce@example.com>")
    );
    assert_eq!(
        report.signatures[0].fingerprint.as_deref(),
        Some(APPTAINER_FPR)
    );

    let report = verify(
        &data("images/apptainer/one-group-signed-legacy.sif"),
        &opts(Selection::Objects(vec![9])),
    )
    .unwrap();
    assert_eq!(report.error.as_deref(), Some("integrity: object not found"));

    let all = VerifyOptions {
        legacy: true,
        legacy_all: true,
        ..opts(Selection::AllGroups)
    };
    let report = verify(
        &data("images/apptainer/one-group-signed-legacy-all.sif"),
        &all,
    )
    .unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(report.verified_objects(), vec![1, 2]);

    let report = verify(
        &data("images/apptainer/one-group-signed-dsse.sif"),
        &dsse_opts("keys/sylabs-sif/ed25519-public.pem"),
    )
    .unwrap();
    assert!(report.ok, "{report:?}");
    let report = verify(
        &data("images/apptainer/one-group-signed-dsse.sif"),
        &dsse_opts("keys/sylabs-sif/rsa-public.pem"),
    )
    .unwrap();
    assert!(report.ok, "{report:?}");
}

#[test]
fn global_keys_are_reported_as_global() {
    let opts = VerifyOptions {
        pgp: vec![
            (public("keys/apptainer/pgp-public.asc"), KeySource::Global),
            (public("keys/sylabs-sif/private.asc"), KeySource::Local),
        ],
        ..Default::default()
    };
    let report = verify(&data("images/apptainer/one-group-signed-pgp.sif"), &opts).unwrap();
    assert!(report.ok);
    assert_eq!(report.signatures[0].key_source, Some(KeySource::Global));
    let report = verify(&data("images/sylabs-sif/one-group-signed-pgp.sif"), &opts).unwrap();
    assert_eq!(report.signatures[0].key_source, Some(KeySource::Local));
}

#[test]
fn apptainer_sif_signature_with_critical_issuer() {
    // apptainer/sif's copy marks the issuer key ID subpacket critical; it must still verify.
    let report = verify(
        &data("images/apptainer-sif/one-group-signed-pgp.sif"),
        &VerifyOptions {
            pgp: local(vec![cert("keys/apptainer-sif/private.asc")]),
            ..Default::default()
        },
    )
    .unwrap();
    assert!(report.ok, "{report:?}");
}

#[test]
fn unknown_signer_of_busybox_is_reported() {
    let report = verify(
        &data("images/apptainer-e2e/busybox_amd64.sif"),
        &pgp_opts(Selection::AllGroups),
    )
    .unwrap();
    assert_eq!(report.signatures.len(), 1);
    let sig = &report.signatures[0];
    assert_eq!(sig.status, SignatureStatus::UnknownSigner);
    assert_eq!(
        sig.fingerprint.as_deref(),
        Some("1137E72E6816BFC06D9CAA0D15F3F4F4F14B03B2")
    );
    assert_eq!(sig.signer, None);
}

#[test]
fn report_serializes() {
    let report = verify(
        &data("images/sylabs-sif/one-group-signed-pgp.sif"),
        &pgp_opts(Selection::AllGroups),
    )
    .unwrap();
    let json = serde_json::to_value(&report).unwrap();
    assert_eq!(json["ok"], true);
    assert_eq!(json["signatures"][0]["status"]["kind"], "valid");
    assert_eq!(json["signatures"][0]["linked"]["group"], 1);
    assert_eq!(json["signatures"][0]["scheme"], "pgp");
}

#[test]
fn signed_by_fingerprints() {
    use berth_integrity::signed_by;
    let two = data("images/sylabs-sif/two-groups-signed-pgp.sif");
    let by = signed_by(&two, &VerifyOptions::default()).unwrap();
    assert_eq!(by.any, vec![SYLABS_FPR.to_owned()]);
    assert_eq!(by.all, vec![SYLABS_FPR.to_owned()]);
    // Unsigned: nobody. DSSE: no fingerprint recorded.
    let none = signed_by(
        &data("images/sylabs-sif/two-groups.sif"),
        &VerifyOptions::default(),
    )
    .unwrap();
    assert!(none.any.is_empty() && none.all.is_empty());
    let dsse = signed_by(
        &data("images/sylabs-sif/one-group-signed-dsse.sif"),
        &VerifyOptions::default(),
    )
    .unwrap();
    assert!(dsse.any.is_empty());
    // Only group 1 of a partly signed image is signed: "all" is empty, "any" is not.
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("g.sif");
    std::fs::copy(data("images/sylabs-sif/two-groups.sif"), &path).unwrap();
    let signer =
        berth_integrity::Signer::from_cert(&cert("keys/sylabs-sif/private.asc"), None).unwrap();
    berth_integrity::sign(
        &path,
        &signer,
        &berth_integrity::SignOptions {
            selection: Selection::Group(1),
            ..Default::default()
        },
    )
    .unwrap();
    let partial = signed_by(&path, &VerifyOptions::default()).unwrap();
    assert_eq!(partial.any, vec![SYLABS_FPR.to_owned()]);
    assert!(partial.all.is_empty());
    assert_eq!(
        signed_by(
            &data("images/sylabs-sif/empty.sif"),
            &VerifyOptions::default()
        )
        .unwrap_err()
        .to_string(),
        "integrity: no groups found"
    );
}
