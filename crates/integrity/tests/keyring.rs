//! Apptainer keyrings: generate, list, import, export, remove, passphrases, damage, modes.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

use berth_integrity::openpgp::parse::Parse as _;
use berth_integrity::openpgp::serialize::SerializeInto as _;
use berth_integrity::openpgp::Cert;
use berth_integrity::{
    sign, verify, KeyPaths, KeySelector, KeySource, Keyring, NewKey, NewKeyAlgorithm, Selection,
    SignOptions, VerifyOptions,
};
use common::*;

const KEY1: &str = "0C5B8C9A5FFC44E2A0AC79851CD6FA281D476DD1";
const KEY2: &str = "78F8AD36B0DCB84B707F23853D608DAE21C8CA10";

fn keyring() -> (tempfile::TempDir, Keyring) {
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("keys");
    (dir, Keyring::open(KeyPaths::at(keys)))
}

fn new_key(name: &str, algorithm: NewKeyAlgorithm, passphrase: Option<&str>) -> NewKey {
    NewKey {
        name: name.to_owned(),
        email: format!("{}@example.org", name.to_lowercase()),
        comment: "test".to_owned(),
        passphrase: passphrase.map(str::to_owned),
        algorithm,
    }
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

#[test]
fn generate_list_and_modes() {
    let (_d, kr) = keyring();
    let a = kr
        .generate(new_key("Alice", NewKeyAlgorithm::Ed25519, None))
        .unwrap();
    let b = kr
        .generate(new_key("Bob", NewKeyAlgorithm::Rsa3072, Some("secret")))
        .unwrap();
    assert_eq!(a.user_ids, vec!["Alice (test) <alice@example.org>"]);
    assert_eq!(a.algorithm, "EdDSA Ed25519");
    assert_eq!(b.algorithm, "RSA 3072");
    assert_eq!((a.index, b.index), (0, 1));
    assert!(a.can_sign && a.has_secret && !a.protected && a.expires.is_none());
    assert!(b.protected);
    assert_eq!(a.fingerprint.len(), 40);

    let secret = kr.secret_keys().unwrap();
    let public = kr.public_keys().unwrap();
    assert_eq!(
        secret
            .iter()
            .map(|k| (k.index, k.fingerprint.clone()))
            .collect::<Vec<_>>(),
        vec![(0, a.fingerprint.clone()), (1, b.fingerprint.clone())]
    );
    assert_eq!(public.len(), 2);
    assert!(public
        .iter()
        .all(|k| !k.has_secret && !k.global && k.can_sign));

    let paths = kr.paths();
    assert_eq!(mode(&paths.keys_dir), 0o700);
    assert_eq!(mode(&paths.public_keyring()), 0o600);
    assert_eq!(mode(&paths.secret_keyring()), 0o600);

    // Binary concatenations of transferable keys, as Apptainer writes them.
    let bytes = std::fs::read(paths.public_keyring()).unwrap();
    assert!(bytes[0] & 0x80 != 0, "not binary OpenPGP");
    let secret_bytes = std::fs::read(paths.secret_keyring()).unwrap();
    let parsed: Vec<Cert> = berth_integrity::parse_key_material(&secret_bytes).unwrap();
    assert!(parsed.iter().all(Cert::is_tsk));
}

#[test]
fn generated_keys_sign_images() {
    let (_d, kr) = keyring();
    let info = kr
        .generate(new_key("Carol", NewKeyAlgorithm::Ed25519, Some("pw")))
        .unwrap();
    let signer = kr.signer(KeySelector::Index(0), Some("pw")).unwrap();
    assert_eq!(
        signer.fingerprint().as_deref(),
        Some(info.fingerprint.as_str())
    );
    let (_i, image) = copy_image("images/sylabs-sif/two-groups.sif");
    sign(&image, &signer, &SignOptions::default()).unwrap();
    let opts = VerifyOptions::default().with_certs(kr.verification_certs().unwrap());
    let report = verify(&image, &opts).unwrap();
    assert!(report.ok, "{report:?}");
    assert_eq!(
        report.signatures[0].signer.as_deref(),
        Some("Carol (test) <carol@example.org>")
    );
    assert_eq!(report.signatures[0].key_source, Some(KeySource::Local));
    // Without the key the signer is unknown.
    assert!(!verify(&image, &pgp_opts(Selection::AllGroups)).unwrap().ok);
}

#[test]
fn rsa_4096_default() {
    let (_d, kr) = keyring();
    let info = kr
        .generate(new_key("Dave", NewKeyAlgorithm::default(), None))
        .unwrap();
    assert_eq!(info.algorithm, "RSA 4096");
    let signer = kr
        .signer(
            KeySelector::Fingerprint(info.fingerprint.to_lowercase()),
            None,
        )
        .unwrap();
    let (_i, image) = copy_image("images/sylabs-sif/one-group.sif");
    sign(&image, &signer, &SignOptions::default()).unwrap();
    let opts = VerifyOptions::default().with_certs(kr.verification_certs().unwrap());
    assert!(verify(&image, &opts).unwrap().ok);
}

#[test]
fn passphrases() {
    let (_d, kr) = keyring();
    // The e2e keys are protected with "e2e"; import keeps them as they are.
    kr.import(&read("keys/apptainer-ecl/key1.asc"), None)
        .unwrap();
    let info = &kr.secret_keys().unwrap()[0];
    assert_eq!(info.fingerprint, KEY1);
    assert!(info.protected && info.can_sign);

    let sel = || KeySelector::Fingerprint(KEY1.to_owned());
    assert_eq!(
        kr.signer(sel(), Some("wrong")).unwrap_err().code(),
        "key.bad_passphrase"
    );
    assert_eq!(
        kr.signer(sel(), None).unwrap_err().code(),
        "key.passphrase_required"
    );
    let signer = kr.signer(sel(), Some("e2e")).unwrap();
    assert_eq!(
        signer.user_id().as_deref(),
        Some("e2e (e2e tests) <e2e@hpcng.org>")
    );

    // Re-protect on import: the current passphrase unlocks, the new one protects.
    let (_d2, kr2) = keyring();
    let err = kr2
        .import_with_passphrase(
            &read("keys/apptainer-ecl/key2.asc"),
            Some("nope"),
            Some("new"),
        )
        .unwrap_err();
    assert_eq!(err.code(), "key.bad_passphrase");
    assert!(!kr2.paths().secret_keyring().exists());
    kr2.import_with_passphrase(
        &read("keys/apptainer-ecl/key2.asc"),
        Some("e2e"),
        Some("new"),
    )
    .unwrap();
    assert_eq!(
        kr2.signer(KeySelector::Index(0), Some("e2e"))
            .unwrap_err()
            .code(),
        "key.bad_passphrase"
    );
    kr2.signer(KeySelector::Index(0), Some("new")).unwrap();

    // An unprotected key gets protected.
    let (_d3, kr3) = keyring();
    kr3.import(&read("keys/apptainer/pgp-private.asc"), Some("pw"))
        .unwrap();
    assert!(kr3.secret_keys().unwrap()[0].protected);
    kr3.signer(KeySelector::Index(0), Some("pw")).unwrap();
}

#[test]
fn import_export_remove() {
    let (_d, kr) = keyring();
    // Armoured public keys.
    let infos = kr
        .import(&read("keys/apptainer-ecl/pubkey1.asc"), None)
        .unwrap();
    assert_eq!(infos.len(), 1);
    assert_eq!(infos[0].fingerprint, KEY1);
    assert!(!infos[0].has_secret);
    assert!(kr.secret_keys().unwrap().is_empty());

    // Binary public key.
    let binary = Cert::from_bytes(&read("keys/apptainer-ecl/pubkey2.asc"))
        .unwrap()
        .to_vec()
        .unwrap();
    kr.import(&binary, None).unwrap();
    assert_eq!(
        kr.public_keys()
            .unwrap()
            .iter()
            .map(|k| k.fingerprint.as_str())
            .collect::<Vec<_>>(),
        vec![KEY1, KEY2]
    );

    // The same again: nothing new.
    assert_eq!(kr.import(&binary, None).unwrap_err().code(), "key.exists");

    // The secret key of KEY1 merges with the public one already there.
    kr.import(&read("keys/apptainer-ecl/key1.asc"), None)
        .unwrap();
    assert_eq!(kr.public_keys().unwrap().len(), 2);
    assert_eq!(kr.secret_keys().unwrap().len(), 1);

    // Export round trip, binary and armoured, public and secret.
    for (secret, armor) in [(false, false), (false, true), (true, false), (true, true)] {
        let bytes = kr.export(KEY1, secret, armor).unwrap();
        if armor {
            let head = if secret {
                "-----BEGIN PGP PRIVATE KEY BLOCK-----"
            } else {
                "-----BEGIN PGP PUBLIC KEY BLOCK-----"
            };
            assert!(String::from_utf8_lossy(&bytes).starts_with(head));
        }
        let cert = Cert::from_bytes(&bytes).unwrap();
        assert_eq!(cert.fingerprint().to_hex(), KEY1);
        assert_eq!(cert.is_tsk(), secret);
        let (_d2, other) = keyring();
        other.import(&bytes, None).unwrap();
        assert_eq!(other.public_keys().unwrap()[0].fingerprint, KEY1);
    }
    assert_eq!(
        kr.export(KEY2, true, false).unwrap_err().code(),
        "key.not_found"
    );

    // Remove from both files.
    kr.remove(KEY1).unwrap();
    assert!(kr.secret_keys().unwrap().is_empty());
    assert_eq!(kr.public_keys().unwrap().len(), 1);
    assert_eq!(kr.remove(KEY1).unwrap_err().code(), "key.not_found");
    assert_eq!(mode(&kr.paths().public_keyring()), 0o600);
}

#[test]
fn bad_import_data() {
    let (_d, kr) = keyring();
    assert_eq!(
        kr.import(b"garbage", None).unwrap_err().code(),
        "key.invalid"
    );
    assert_eq!(kr.import(b"", None).unwrap_err().code(), "key.invalid");
    assert!(!kr.paths().keys_dir.exists());
}

#[test]
fn corrupt_keyring_is_never_overwritten() {
    let (_d, kr) = keyring();
    let paths = kr.paths().clone();
    std::fs::create_dir_all(&paths.keys_dir).unwrap();
    let garbage = b"\x99\x01\x0dthis is not an OpenPGP keyring at all".to_vec();
    std::fs::write(paths.public_keyring(), &garbage).unwrap();

    assert_eq!(kr.public_keys().unwrap_err().code(), "key.keyring_corrupt");
    assert_eq!(
        kr.generate(new_key("Eve", NewKeyAlgorithm::Ed25519, None))
            .unwrap_err()
            .code(),
        "key.keyring_corrupt"
    );
    assert_eq!(
        kr.import(&read("keys/apptainer/pgp-public.asc"), None)
            .unwrap_err()
            .code(),
        "key.keyring_corrupt"
    );
    assert_eq!(kr.remove(KEY1).unwrap_err().code(), "key.keyring_corrupt");
    assert_eq!(
        kr.verification_certs().unwrap_err().code(),
        "key.keyring_corrupt"
    );
    assert_eq!(std::fs::read(paths.public_keyring()).unwrap(), garbage);
    // Nothing was written to the secret keyring either.
    assert!(!paths.secret_keyring().exists());
}

#[test]
fn global_keyring_is_read_only() {
    let dir = tempfile::tempdir().unwrap();
    let global = dir.path().join("global-pgp-public");
    let bytes = Cert::from_bytes(&read("keys/apptainer/pgp-public.asc"))
        .unwrap()
        .to_vec()
        .unwrap();
    std::fs::write(&global, &bytes).unwrap();
    std::fs::set_permissions(&global, std::fs::Permissions::from_mode(0o644)).unwrap();
    let kr = Keyring::open(KeyPaths::at(dir.path().join("keys")).with_global(global.clone()));

    kr.import(&read("keys/apptainer-ecl/pubkey1.asc"), None)
        .unwrap();
    let public = kr.public_keys().unwrap();
    assert_eq!(public.len(), 2);
    assert!(!public[0].global && public[1].global);
    assert_eq!(public[1].fingerprint, APPTAINER_FPR);
    assert_eq!(public[1].index, 0);

    let err = kr.remove(APPTAINER_FPR).unwrap_err();
    assert_eq!(err.code(), "key.read_only");
    assert_eq!(std::fs::read(&global).unwrap(), bytes);
    assert_eq!(mode(&global), 0o644);

    // Exported from the global keyring when not local.
    let exported = kr.export(APPTAINER_FPR, false, false).unwrap();
    assert_eq!(
        Cert::from_bytes(&exported).unwrap().fingerprint().to_hex(),
        APPTAINER_FPR
    );

    // Global keys verify, reported as global; they come first.
    let certs = kr.verification_certs().unwrap();
    assert_eq!(certs[0].1, KeySource::Global);
    let report = verify(
        &data("images/apptainer/one-group-signed-pgp.sif"),
        &VerifyOptions::default().with_certs(certs),
    )
    .unwrap();
    assert!(report.ok);
    assert_eq!(report.signatures[0].key_source, Some(KeySource::Global));
    assert_eq!(std::fs::read(&global).unwrap(), bytes);
}

#[test]
fn signer_selection() {
    let (_d, kr) = keyring();
    assert_eq!(
        kr.signer(KeySelector::Index(0), None).unwrap_err().code(),
        "key.not_found"
    );
    kr.import(&read("keys/sylabs-sif/private.asc"), None)
        .unwrap();
    kr.import(&read("keys/apptainer/pgp-private.asc"), None)
        .unwrap();
    let by_index = kr.signer(KeySelector::Index(1), None).unwrap();
    assert_eq!(by_index.fingerprint().as_deref(), Some(APPTAINER_FPR));
    // By key ID, lower case, spaced.
    let by_id = kr
        .signer(KeySelector::Fingerprint("a20c 27ee 7ff7 ba84".into()), None)
        .unwrap();
    assert_eq!(by_id.fingerprint().as_deref(), Some(SYLABS_FPR));
    assert_eq!(
        kr.signer(KeySelector::Index(2), None).unwrap_err().code(),
        "key.not_found"
    );
    // Public-only keys are not in the secret keyring.
    let (_d2, kr2) = keyring();
    kr2.import(&read("keys/apptainer/pgp-public.asc"), None)
        .unwrap();
    assert_eq!(
        kr2.signer(KeySelector::Index(0), None).unwrap_err().code(),
        "key.not_found"
    );

    // Signing with the keyring key reproduces the reference image.
    let (_i, image) = copy_image("images/sylabs-sif/one-group.sif");
    let opts = SignOptions {
        time: Some(1_593_475_316),
        deterministic: true,
        ..Default::default()
    };
    sign(&image, &by_id, &opts).unwrap();
    assert!(std::fs::read(&image).unwrap() == read("images/sylabs-sif/one-group-signed-pgp.sif"));
}

#[test]
fn key_info_serializes() {
    let (_d, kr) = keyring();
    kr.import(&read("keys/apptainer/pgp-public.asc"), None)
        .unwrap();
    let json = serde_json::to_value(&kr.public_keys().unwrap()[0]).unwrap();
    assert_eq!(json["fingerprint"], APPTAINER_FPR);
    assert_eq!(json["key_id"], "80600A5FA11BBD29");
    assert_eq!(json["algorithm"], "RSA 4096");
    assert_eq!(
        json["user_ids"][0],
        "SingularityCE Tests <singularityce@example.com>"
    );
}

/// Two armored key files joined end to end without a newline (Apptainer's test key files
/// end without one) still give both keys.
#[test]
fn armored_files_joined_without_a_newline_give_every_key() {
    let dir = common::testdata().join("keys/apptainer-ecl");
    let mut joined = std::fs::read(dir.join("pubkey1.asc")).unwrap();
    while joined.last() == Some(&b'\n') {
        joined.pop();
    }
    joined.extend(std::fs::read(dir.join("pubkey2.asc")).unwrap());
    let certs = berth_integrity::parse_key_material(&joined).unwrap();
    let fprs: Vec<String> = certs.iter().map(|c| c.fingerprint().to_hex()).collect();
    assert_eq!(
        fprs,
        [
            "0C5B8C9A5FFC44E2A0AC79851CD6FA281D476DD1",
            "78F8AD36B0DCB84B707F23853D608DAE21C8CA10"
        ]
    );
}
