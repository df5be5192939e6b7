//! Keyring location from the environment. One test, so that no other test in this process
//! sees the variables change.

use std::path::PathBuf;

use berth_integrity::KeyPaths;

#[test]
fn keys_dir_precedence() {
    let vars = [
        "APPTAINER_KEYSDIR",
        "SINGULARITY_SYPGPDIR",
        "APPTAINER_CONFIGDIR",
        "SINGULARITY_CONFIGDIR",
    ];
    for v in vars {
        std::env::remove_var(v);
    }
    std::env::set_var("HOME", "/home/u");
    assert_eq!(
        KeyPaths::from_env().unwrap().keys_dir,
        PathBuf::from("/home/u/.apptainer/keys")
    );
    std::env::set_var("SINGULARITY_CONFIGDIR", "/s");
    assert_eq!(
        KeyPaths::from_env().unwrap().keys_dir,
        PathBuf::from("/s/keys")
    );
    std::env::set_var("APPTAINER_CONFIGDIR", "/a");
    assert_eq!(
        KeyPaths::from_env().unwrap().keys_dir,
        PathBuf::from("/a/keys")
    );
    std::env::set_var("SINGULARITY_SYPGPDIR", "/sy");
    assert_eq!(KeyPaths::from_env().unwrap().keys_dir, PathBuf::from("/sy"));
    std::env::set_var("APPTAINER_KEYSDIR", "/k");
    assert_eq!(KeyPaths::from_env().unwrap().keys_dir, PathBuf::from("/k"));
    std::env::remove_var("APPTAINER_KEYSDIR");
    std::env::remove_var("SINGULARITY_SYPGPDIR");
    std::env::remove_var("APPTAINER_CONFIGDIR");
    std::env::remove_var("SINGULARITY_CONFIGDIR");
    std::env::remove_var("HOME");
    assert_eq!(KeyPaths::from_env().unwrap_err().code(), "key.no_key_dir");

    let at = KeyPaths::at(PathBuf::from("/x"));
    assert_eq!(at.public_keyring(), PathBuf::from("/x/pgp-public"));
    assert_eq!(at.secret_keyring(), PathBuf::from("/x/pgp-secret"));
    assert_eq!(at.global_public, None);
}
