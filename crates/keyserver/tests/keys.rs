//! Fetching and submitting keys against the keystore double, including the round trip
//! through an Apptainer keyring (`berth key pull` / `berth key push`).

mod common;

use berth_integrity::{KeyPaths, Keyring};
use berth_keyserver::Error;
use berth_testkit::{KeystoreDouble, KeystoreOptions};
use common::*;

#[test]
fn fetch_by_fingerprint_round_trips() {
    let double = double_with_keys(KeystoreOptions::default());
    let ks = client(&double);
    for (file, fpr) in [
        (SINGULARITY, SINGULARITY_FPR),
        (E2E1, E2E1_FPR),
        (E2E2, E2E2_FPR),
    ] {
        let key = ks.fetch(fpr).unwrap();
        assert!(
            key.starts_with(b"-----BEGIN PGP PUBLIC KEY BLOCK-----"),
            "{file}"
        );
        assert_eq!(fingerprint_of(&key), fpr);
    }
    // Apptainer's lookup: op=get, lowercase hex with 0x, exact.
    let p = params(&double.requests()[0].query);
    assert_eq!(param(&p, "op"), Some("get"));
    assert_eq!(param(&p, "exact"), Some("on"));
    assert_eq!(
        param(&p, "search").map(str::to_owned),
        Some(format!("0x{}", SINGULARITY_FPR.to_ascii_lowercase()))
    );
}

#[test]
fn fetch_by_key_id_subkey_and_spaced_fingerprint() {
    let double = double_with_keys(KeystoreOptions::default());
    let ks = client(&double);
    for id in [
        "80600A5FA11BBD29",
        "0xa11bbd29",
        SINGULARITY_SUBKEY_FPR,
        "F343 71D0 ACD5 D09E B9BD  853A 8060 0A5F A11B BD29",
    ] {
        assert_eq!(
            fingerprint_of(&ks.fetch(id).unwrap()),
            SINGULARITY_FPR,
            "{id}"
        );
    }
}

#[test]
fn fetched_key_imports_into_a_keyring() {
    let double = double_with_keys(KeystoreOptions::default());
    let key = client(&double).fetch(SINGULARITY_FPR).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let keyring = Keyring::open(KeyPaths::at(dir.path().join("keys")));
    let infos = keyring.import(&key, None).unwrap();
    assert_eq!(infos[0].fingerprint, SINGULARITY_FPR);
    assert_eq!(
        infos[0].user_ids,
        ["SingularityCE Tests <singularityce@example.com>"]
    );
}

#[test]
fn fetch_unknown_is_not_found() {
    let double = double_with_keys(KeystoreOptions::default());
    let err = client(&double)
        .fetch("0000000000000000000000000000000000000000")
        .unwrap_err();
    assert!(matches!(err, Error::NotFound), "{err:?}");
}

#[test]
fn fetch_refuses_malformed_fingerprints_without_asking() {
    let double = double_with_keys(KeystoreOptions::default());
    for bad in ["", "alice", "A11BBD2", "0x12345678901"] {
        let err = client(&double).fetch(bad).unwrap_err();
        assert_eq!(err.code(), "keyserver.invalid_fingerprint", "{bad}");
    }
    assert!(double.requests().is_empty());
}

#[test]
fn fetch_refuses_another_key() {
    // A lying or broken server answers a key other than the one asked for.
    let server = CannedServer::start(200, read(E2E1));
    let ks = berth_keyserver::Keyserver::new(&server.url()).unwrap();
    match ks.fetch(SINGULARITY_FPR).unwrap_err() {
        Error::WrongKey { expected, got } => {
            assert_eq!(expected, SINGULARITY_FPR);
            assert_eq!(got, E2E1_FPR);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn fetch_refuses_several_keys() {
    // Even if one of them is the key asked for: Apptainer expects exactly one entity.
    let server = CannedServer::start(200, [read(SINGULARITY), read(E2E1)].concat());
    let ks = berth_keyserver::Keyserver::new(&server.url()).unwrap();
    let err = ks.fetch(SINGULARITY_FPR).unwrap_err();
    assert!(
        matches!(&err, Error::WrongKey { got, .. } if got == &format!("{SINGULARITY_FPR}, {E2E1_FPR}")),
        "{err:?}"
    );
}

#[test]
fn fetch_reports_garbage_and_accepts_wrapped_keys() {
    let server = CannedServer::start(200, b"<html>nothing here</html>".to_vec());
    let ks = berth_keyserver::Keyserver::new(&server.url()).unwrap();
    assert_eq!(
        ks.fetch(E2E1_FPR).unwrap_err().code(),
        "keyserver.bad_response"
    );

    // Old SKS servers wrap the key in an HTML page.
    let page = [
        b"<html><pre>\n".to_vec(),
        read(E2E1),
        b"</pre></html>".to_vec(),
    ]
    .concat();
    let server = CannedServer::start(200, page);
    let ks = berth_keyserver::Keyserver::new(&server.url()).unwrap();
    assert_eq!(fingerprint_of(&ks.fetch(E2E1_FPR).unwrap()), E2E1_FPR);
}

#[test]
fn submit_then_fetch() {
    let double = KeystoreDouble::start(KeystoreOptions::default()).unwrap();
    let ks = client(&double);
    let response = ks.submit(&read(E2E1)).unwrap();
    assert!(response.unwrap().contains(E2E1_FPR));
    assert_eq!(double.fingerprints(), [E2E1_FPR]);
    assert_eq!(double.submitted().len(), 1);
    assert_eq!(fingerprint_of(&ks.fetch(E2E1_FPR).unwrap()), E2E1_FPR);

    let add = &double.requests()[0];
    assert_eq!(
        (add.method.as_str(), add.path.as_str()),
        ("POST", "/pks/add")
    );
}

#[test]
fn push_from_a_keyring_then_pull() {
    // berth key push: Keyring::export(fpr, secret=false, armor=true) → submit.
    let dir = tempfile::tempdir().unwrap();
    let keyring = Keyring::open(KeyPaths::at(dir.path().join("keys")));
    keyring.import(&read(SINGULARITY), None).unwrap();
    let exported = keyring.export(SINGULARITY_FPR, false, true).unwrap();

    let double = KeystoreDouble::start(KeystoreOptions::default()).unwrap();
    let ks = client(&double);
    ks.submit(&exported).unwrap();
    let pulled = ks.fetch(SINGULARITY_FPR).unwrap();
    assert_eq!(fingerprint_of(&pulled), SINGULARITY_FPR);
    let hits = ks.search("singularityce@example.com").unwrap();
    assert_eq!(hits[0].fingerprint, SINGULARITY_FPR);
}

#[test]
fn submit_of_secret_keys_sends_nothing() {
    let double = KeystoreDouble::start(KeystoreOptions::default()).unwrap();
    let ks = client(&double);
    // A public block followed by a private one, on separate lines and glued together (the
    // test files end without a newline; then the parser sees only the first block, and the
    // check on the raw text is what catches the second).
    let public_then_secret = [read(E2E1), b"\n".to_vec(), read(SINGULARITY_SECRET)].concat();
    let glued = [read(E2E1), read(SINGULARITY_SECRET)].concat();
    for secret in [
        read(SINGULARITY_SECRET),
        generated_secret_key("Secret <secret@example.org>"),
        public_then_secret,
        glued,
    ] {
        let err = ks.submit(&secret).unwrap_err();
        assert!(matches!(err, Error::SecretKeyRefused), "{err:?}");
        assert_eq!(err.code(), "keyserver.secret_key_refused");
    }
    // Binary secret key material too (no armour header to spot).
    let binary = berth_integrity::parse_key_material(&read(SINGULARITY_SECRET)).unwrap();
    let mut bytes = Vec::new();
    {
        use berth_integrity::openpgp::serialize::Serialize as _;
        binary[0].as_tsk().serialize(&mut bytes).unwrap();
    }
    assert!(matches!(ks.submit(&bytes), Err(Error::SecretKeyRefused)));

    assert!(double.submitted().is_empty());
    assert!(double.requests().is_empty());
}

#[test]
fn submit_of_garbage_sends_nothing() {
    let double = KeystoreDouble::start(KeystoreOptions::default()).unwrap();
    let err = client(&double).submit(b"not a key").unwrap_err();
    assert_eq!(err.code(), "keyserver.invalid_key");
    assert!(double.requests().is_empty());
}

#[test]
fn submit_sends_public_parts_only_as_one_armoured_block() {
    let double = KeystoreDouble::start(KeystoreOptions::default()).unwrap();
    let two = [read(E2E1), b"\n".to_vec(), read(E2E2)].concat();
    client(&double).submit(&two).unwrap();
    let sent = double.submitted();
    assert_eq!(sent.len(), 1);
    let text = String::from_utf8(sent[0].clone()).unwrap();
    assert!(text.starts_with("-----BEGIN PGP PUBLIC KEY BLOCK-----"));
    assert_eq!(text.matches("-----BEGIN PGP").count(), 1);
    assert_eq!(double.fingerprints(), [E2E1_FPR, E2E2_FPR]);
}
