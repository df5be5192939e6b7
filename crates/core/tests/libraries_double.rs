//! Remotes and libraries against Berth's faithful Library API double, both server flavours:
//! login checks the token before storing it, status names services and the user, browse,
//! search and delete work, and a refused token stores nothing.

use std::sync::Arc;

use berth_core::credentials::MemoryStore;
use berth_core::libraries::Libraries;
use berth_core::model_library::{AddRemoteRequest, TokenState};
use berth_core::remotes::Remotes;
use berth_core::AppDirs;
use berth_testkit::{Flavour, LibraryDouble, LibraryOptions};

const TOKEN: &str = "good-token-7d1e";

fn sif() -> Vec<u8> {
    let p = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/sif/images/sylabs-sif/one-group.sif");
    std::fs::read(p).expect("shared test image")
}

fn setup(flavour: Flavour) -> (LibraryDouble, Libraries, tempfile::TempDir) {
    let double = LibraryDouble::start(LibraryOptions {
        flavour,
        ..LibraryOptions::default()
    })
    .expect("double");
    double.add_user("ada", TOKEN);
    double.add_image(
        "library://ada/tools/hello:latest",
        sif(),
        "amd64",
        &["latest", "1.0"],
        true,
    );
    double.add_image(
        "library://ada/tools/other:v2",
        sif(),
        "arm64",
        &["v2"],
        false,
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let remotes = Arc::new(Remotes::new(
        &AppDirs::at(dir.path().to_path_buf()),
        Arc::new(MemoryStore::new()),
    ));
    let libs = Libraries::new(remotes);
    libs.add(AddRemoteRequest {
        name: "lab".into(),
        uri: double.url(),
        insecure_http: true,
        ca_file: None,
        proxy: None,
        make_default: true,
    })
    .expect("add");
    (double, libs, dir)
}

async fn flow(flavour: Flavour) {
    let (_double, libs, _dir) = setup(flavour);

    let err = libs.login("lab", "wrong-token").await.expect_err("refused");
    assert_eq!(err.code(), "auth.token_invalid");
    assert!(
        !libs.list().expect("list")[0].logged_in,
        "a refused token is not stored"
    );

    let status = libs.login("lab", TOKEN).await.expect("login");
    assert_eq!(status.token, TokenState::Valid);
    assert_eq!(status.entity.as_deref(), Some("ada"));
    assert!(
        status
            .services
            .iter()
            .any(|s| s.name == "library" && s.version.is_some()),
        "{status:?}"
    );
    assert!(libs.list().expect("list")[0].logged_in);
    assert!(!format!("{status:?}").contains(TOKEN));

    let collections = libs.collections("lab", "ada").await.expect("collections");
    assert!(
        collections.iter().any(|c| c.name == "tools"),
        "{collections:?}"
    );
    let containers = libs
        .containers("lab", "ada", "tools")
        .await
        .expect("containers");
    assert_eq!(containers.len(), 2, "{containers:?}");
    let hello = libs
        .container("lab", "ada", "tools", "hello")
        .await
        .expect("container");
    assert_eq!(hello.images.len(), 1);
    let img = &hello.images[0];
    assert_eq!(img.arch.as_deref(), Some("amd64"));
    assert!(
        img.tags.contains(&"latest".to_owned()) && img.tags.contains(&"1.0".to_owned()),
        "{img:?}"
    );
    assert!(img
        .hash_reference
        .ends_with(&format!("/ada/tools/hello:{}", img.hash)));

    let found = libs
        .search("lab", "hello", None, false)
        .await
        .expect("search");
    assert!(
        found.containers.iter().any(|c| c.name == "hello"),
        "{found:?}"
    );
    let arm = libs
        .search("lab", "other", Some("arm64".into()), false)
        .await
        .expect("search");
    assert!(arm
        .images
        .iter()
        .all(|i| i.arch.as_deref() == Some("arm64")));

    libs.delete("lab", &img.hash_reference, Some("amd64"))
        .await
        .expect("delete");
    let after = libs
        .container("lab", "ada", "tools", "hello")
        .await
        .expect("container");
    assert!(after.images.is_empty(), "{after:?}");

    libs.logout("lab").expect("logout");
    let status = libs.status("lab").await.expect("status");
    assert_eq!(status.token, TokenState::None);
}

#[tokio::test]
async fn sylabs_flavour() {
    flow(Flavour::Sylabs).await;
}

#[tokio::test]
async fn hinkskalle_flavour() {
    flow(Flavour::Hinkskalle).await;
}
