//! oras SIF artifacts: push to docker-registry and pull back.

mod support;

use std::sync::Arc;

use berth_oci::{
    BlobStore, CredentialSource, Credentials, ImageRef, Platform, RegistryClient, RegistryOptions,
    SIF_CONFIG_MEDIA_TYPE, SIF_LAYER_MEDIA_TYPE,
};
use berth_progress::{Cancel, NoProgress};
use support::Registry;

struct Fixed;
impl CredentialSource for Fixed {
    fn credentials(&self, _: &str) -> Option<Credentials> {
        Some(Credentials {
            username: "user".into(),
            password: "pass".into(),
        })
    }
}

async fn round_trip(reg: &Registry, creds: bool) {
    let c = RegistryClient::new(RegistryOptions {
        plain_http_hosts: vec![reg.host()],
        credentials: creds.then(|| Arc::new(Fixed) as Arc<dyn CredentialSource>),
        ..RegistryOptions::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sif = dir.path().join("my image.sif");
    let data: Vec<u8> = (0..700_000u32).map(|i| (i % 253) as u8).collect();
    std::fs::write(&sif, &data).unwrap();
    let r = ImageRef::parse(&format!("{}/sifs/app:1.0", reg.host())).unwrap();

    let digest = c
        .oras_push_sif(&r, &sif, Arc::new(NoProgress), &Cancel::new())
        .await
        .unwrap();
    // Again: blobs exist, only the manifest is written; same digest.
    let again = c
        .oras_push_sif(&r, &sif, Arc::new(NoProgress), &Cancel::new())
        .await
        .unwrap();
    assert_eq!(digest, again);

    let img = c
        .resolve(&r, &Platform::linux("amd64", None).unwrap(), &Cancel::new())
        .await
        .unwrap();
    assert_eq!(img.manifest_digest, digest);
    assert_eq!(img.manifest.config.media_type, SIF_CONFIG_MEDIA_TYPE);
    assert_eq!(img.config_raw, b"{}");
    let layer = &img.manifest.layers[0];
    assert_eq!(layer.media_type, SIF_LAYER_MEDIA_TYPE);
    assert_eq!(
        layer.annotations.as_ref().unwrap()["org.opencontainers.image.title"],
        "my image.sif"
    );

    let store = BlobStore::new(dir.path().join("cache"));
    let (desc, path) = c
        .oras_pull_sif(
            &r,
            &Platform::host(),
            &store,
            Arc::new(NoProgress),
            &Cancel::new(),
        )
        .await
        .unwrap();
    assert_eq!(desc.size, data.len() as u64);
    assert_eq!(std::fs::read(path).unwrap(), data);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_and_pull_sif_artifact() {
    let reg = Registry::start();
    round_trip(&reg, false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_and_pull_sif_artifact_with_basic_auth() {
    let reg = Registry::start_with_auth("user", "pass");
    round_trip(&reg, true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulling_a_container_image_as_sif_is_refused() {
    let reg = Registry::start();
    let layout = support::Layout::new();
    layout.image("one", "amd64", &[("a", b"b")]);
    layout.push("one", &format!("{}/t/img:1", reg.host()), &[]);
    let c = RegistryClient::new(RegistryOptions {
        plain_http_hosts: vec![reg.host()],
        ..RegistryOptions::default()
    })
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let r = ImageRef::parse(&format!("{}/t/img:1", reg.host())).unwrap();
    let e = c
        .oras_pull_sif(
            &r,
            &Platform::host(),
            &BlobStore::new(dir.path().into()),
            Arc::new(NoProgress),
            &Cancel::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "oci.unsupported_media_type", "{e}");
}
