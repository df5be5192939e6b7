//! Against Debian's docker-registry with images built by umoci and pushed by skopeo.

mod support;

use std::sync::Arc;

use berth_oci::{
    BlobStore, CredentialSource, Credentials, ImageRef, Platform, RegistryClient, RegistryOptions,
};
use berth_progress::{Cancel, NoProgress};
use support::{Layout, Registry};

fn client(host: &str, creds: Option<(&str, &str)>) -> RegistryClient {
    struct Fixed(Credentials);
    impl CredentialSource for Fixed {
        fn credentials(&self, _: &str) -> Option<Credentials> {
            Some(self.0.clone())
        }
    }
    RegistryClient::new(RegistryOptions {
        plain_http_hosts: vec![host.to_owned()],
        credentials: creds.map(|(u, p)| {
            Arc::new(Fixed(Credentials {
                username: u.into(),
                password: p.into(),
            })) as Arc<dyn CredentialSource>
        }),
        ..RegistryOptions::default()
    })
    .unwrap()
}

fn amd64() -> Platform {
    Platform::linux("amd64", None).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resolves_oci_and_docker_schema2_manifests() {
    let reg = Registry::start();
    let layout = Layout::new();
    layout.image("one", "amd64", &[("bin/hello", b"hello\n")]);
    layout.push("one", &format!("{}/t/oci:1", reg.host()), &[]);
    layout.push(
        "one",
        &format!("{}/t/docker:1", reg.host()),
        &["--format", "v2s2"],
    );
    let c = client(&reg.host(), None);

    for (name, media) in [
        ("t/oci:1", berth_oci::OCI_MANIFEST),
        ("t/docker:1", berth_oci::DOCKER_MANIFEST),
    ] {
        let r = ImageRef::parse(&format!("docker://{}/{name}", reg.host())).unwrap();
        let img = c.resolve(&r, &amd64(), &Cancel::new()).await.unwrap();
        assert_eq!(img.manifest.media_type, media, "{name}");
        assert_eq!(img.top_digest, img.manifest_digest);
        assert_eq!(img.manifest.layers.len(), 1);
        assert_eq!(img.config.architecture, "amd64");
        assert_eq!(img.config.os, "linux");
        assert_eq!(
            img.config.config.cmd.as_deref(),
            Some(&["/bin/hello".to_owned(), "amd64".to_owned()][..])
        );
        assert!(img
            .config
            .config
            .env
            .as_ref()
            .unwrap()
            .iter()
            .any(|e| e == "GREETING=hi"));
        assert_eq!(img.config.config_value["Cmd"][0], "/bin/hello");

        // Pinning the digest gives the same manifest.
        let pinned = r.with_digest(&img.manifest_digest);
        let again = c.resolve(&pinned, &amd64(), &Cancel::new()).await.unwrap();
        assert_eq!(again.manifest, img.manifest);
    }

    let missing = ImageRef::parse(&format!("{}/t/oci:nope", reg.host())).unwrap();
    let e = c
        .resolve(&missing, &amd64(), &Cancel::new())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "oci.not_found", "{e}");
    let missing = ImageRef::parse(&format!("{}/no/such", reg.host())).unwrap();
    let e = c
        .resolve(&missing, &amd64(), &Cancel::new())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "oci.not_found", "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_selects_platform_in_order() {
    let reg = Registry::start();
    let layout = Layout::new();
    layout.image("amd", "amd64", &[("bin/hello", b"amd\n")]);
    layout.image("arm", "arm64", &[("bin/hello", b"arm\n")]);
    let index_digest = layout.index("multi", &[("amd", "amd64"), ("arm", "arm64")]);
    layout.push("multi", &format!("{}/t/multi:1", reg.host()), &["--all"]);
    let c = client(&reg.host(), None);
    let r = ImageRef::parse(&format!("{}/t/multi:1", reg.host())).unwrap();

    let a = c.resolve(&r, &amd64(), &Cancel::new()).await.unwrap();
    assert_eq!(a.top_digest, index_digest);
    assert_eq!(a.config.architecture, "amd64");
    assert_eq!(a.manifest_digest, layout.descriptor("amd")["digest"]);

    let b = c
        .resolve(
            &r,
            &Platform::linux("aarch64", None).unwrap(),
            &Cancel::new(),
        )
        .await
        .unwrap();
    assert_eq!(b.top_digest, index_digest);
    assert_eq!(b.config.architecture, "arm64");
    assert_eq!(b.manifest_digest, layout.descriptor("arm")["digest"]);

    // The same index as a Docker manifest list.
    layout.push(
        "multi",
        &format!("{}/t/list:1", reg.host()),
        &["--all", "--format", "v2s2"],
    );
    let list = ImageRef::parse(&format!("{}/t/list:1", reg.host())).unwrap();
    let arm = Platform::linux("arm64", None).unwrap();
    let b2 = c.resolve(&list, &arm, &Cancel::new()).await.unwrap();
    assert_eq!(b2.manifest.media_type, berth_oci::DOCKER_MANIFEST);
    assert_eq!(b2.config.architecture, "arm64");
    assert_ne!(b2.top_digest, b2.manifest_digest);

    let e = c
        .resolve(
            &r,
            &Platform::linux("ppc64le", None).unwrap(),
            &Cancel::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "oci.no_matching_platform");
    let msg = e.to_string();
    assert!(
        msg.contains("linux/amd64") && msg.contains("linux/arm64"),
        "{msg}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blobs_download_verified_once_and_tampering_is_caught() {
    let reg = Registry::start();
    let layout = Layout::new();
    layout.image("one", "amd64", &[("bin/hello", &vec![7u8; 300_000][..])]);
    layout.push("one", &format!("{}/t/img:1", reg.host()), &[]);
    let c = client(&reg.host(), None);
    let r = ImageRef::parse(&format!("{}/t/img:1", reg.host())).unwrap();
    let img = c.resolve(&r, &amd64(), &Cancel::new()).await.unwrap();
    let cache = tempfile::tempdir().unwrap();
    let store = BlobStore::new(cache.path().to_path_buf());

    let mut blobs = img.manifest.layers.clone();
    blobs.push(img.manifest.config.clone());
    let first = Arc::new(Recorder::default());
    let paths = c
        .fetch_blobs(&r, &blobs, &store, 2, first.clone(), &Cancel::new())
        .await
        .unwrap();
    assert_eq!(paths.len(), 2);
    let total: u64 = blobs.iter().map(|d| d.size).sum();
    assert_eq!(*first.total.lock().unwrap(), Some(total));
    assert_eq!(first.done.load(std::sync::atomic::Ordering::SeqCst), total);
    for (p, d) in paths.iter().zip(&blobs) {
        let bytes = std::fs::read(p).unwrap();
        assert_eq!(format!("sha256:{}", support::sha256_hex(&bytes)), d.digest);
        assert!(store.contains(d));
    }
    assert_eq!(std::fs::read(&paths[1]).unwrap(), img.config_raw);
    let mtimes: Vec<_> = paths
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .collect();

    // Second fetch: nothing to do, files untouched, zero bytes announced.
    let progress = Arc::new(Recorder::default());
    let again = c
        .fetch_blobs(&r, &blobs, &store, 2, progress.clone(), &Cancel::new())
        .await
        .unwrap();
    assert_eq!(again, paths);
    let after: Vec<_> = paths
        .iter()
        .map(|p| std::fs::metadata(p).unwrap().modified().unwrap())
        .collect();
    assert_eq!(after, mtimes);
    assert_eq!(*progress.total.lock().unwrap(), Some(0));

    // Tamper with the registry's copy of the layer: the download must fail and leave
    // nothing under the digest name (nor a temp file).
    let layer = &img.manifest.layers[0];
    assert!(store.remove(&layer.digest).unwrap());
    let file = reg.blob_file(&layer.digest);
    let mut data = std::fs::read(&file).unwrap();
    let n = data.len();
    data[n / 2] ^= 0x55;
    std::fs::write(&file, data).unwrap();
    let e = c
        .fetch_blobs(
            &r,
            std::slice::from_ref(layer),
            &store,
            1,
            Arc::new(NoProgress),
            &Cancel::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "oci.digest_mismatch", "{e}");
    assert!(store.path(&layer.digest).is_none());
    let leftovers: Vec<_> = std::fs::read_dir(cache.path().join("sha256"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .filter(|n| n.to_string_lossy().starts_with('.'))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_auth_with_and_without_credentials() {
    let reg = Registry::start_with_auth("user", "pass");
    let layout = Layout::new();
    layout.image("one", "amd64", &[("bin/hello", b"x")]);
    layout.push(
        "one",
        &format!("{}/t/private:1", reg.host()),
        &["--dest-creds", "user:pass"],
    );
    let r = ImageRef::parse(&format!("{}/t/private:1", reg.host())).unwrap();

    let ok = client(&reg.host(), Some(("user", "pass")));
    let img = ok.resolve(&r, &amd64(), &Cancel::new()).await.unwrap();
    let cache = tempfile::tempdir().unwrap();
    ok.fetch_blobs(
        &r,
        &img.manifest.layers,
        &BlobStore::new(cache.path().to_path_buf()),
        2,
        Arc::new(NoProgress),
        &Cancel::new(),
    )
    .await
    .unwrap();

    let anon = client(&reg.host(), None);
    let e = anon
        .resolve(&r, &amd64(), &Cancel::new())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "registry.unauthorized");
    assert!(e.to_string().contains("berth registry login"), "{e}");

    let wrong = client(&reg.host(), Some(("user", "wrong-secret")));
    let e = wrong
        .resolve(&r, &amd64(), &Cancel::new())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "registry.unauthorized");
    assert!(!format!("{e} {e:?}").contains("wrong-secret"));
}

#[derive(Default)]
struct Recorder {
    total: std::sync::Mutex<Option<u64>>,
    done: std::sync::atomic::AtomicU64,
}

impl berth_progress::Progress for Recorder {
    fn phase(&self, _: berth_progress::Phase, total: Option<u64>) {
        *self.total.lock().unwrap() = total;
    }
    fn advance(&self, n: u64) {
        self.done.fetch_add(n, std::sync::atomic::Ordering::SeqCst);
    }
    fn retract(&self, n: u64) {
        self.done.fetch_sub(n, std::sync::atomic::Ordering::SeqCst);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn index_entry_without_platform_counts_as_linux_amd64() {
    let reg = Registry::start();
    let layout = Layout::new();
    layout.image("arm", "arm64", &[("a", b"arm")]);
    layout.image("plain", "amd64", &[("a", b"plain")]);
    layout.index("multi", &[("arm", "arm64"), ("plain", "amd64")]);
    // Drop the platform of the second entry in the index blob written above.
    let top = layout.descriptor("multi");
    let hex = top["digest"]
        .as_str()
        .unwrap()
        .strip_prefix("sha256:")
        .unwrap()
        .to_owned();
    let blob = layout.path().join("blobs/sha256").join(&hex);
    let mut index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&blob).unwrap()).unwrap();
    index["manifests"][1]
        .as_object_mut()
        .unwrap()
        .remove("platform");
    let bytes = serde_json::to_vec(&index).unwrap();
    let new_hex = support::sha256_hex(&bytes);
    std::fs::write(layout.path().join("blobs/sha256").join(&new_hex), &bytes).unwrap();
    let idx_path = layout.path().join("index.json");
    let text = std::fs::read_to_string(&idx_path)
        .unwrap()
        .replace(&hex, &new_hex)
        .replace(
            &format!("\"size\":{}", top["size"]),
            &format!("\"size\":{}", bytes.len()),
        );
    std::fs::write(&idx_path, text).unwrap();
    layout.push("multi", &format!("{}/t/np:1", reg.host()), &["--all"]);

    let c = client(&reg.host(), None);
    let r = ImageRef::parse(&format!("{}/t/np:1", reg.host())).unwrap();
    let img = c.resolve(&r, &amd64(), &Cancel::new()).await.unwrap();
    assert_eq!(img.config.architecture, "amd64");
    let e = c
        .resolve(&r, &Platform::linux("s390x", None).unwrap(), &Cancel::new())
        .await
        .unwrap_err();
    assert!(e.to_string().contains("linux/arm64, linux/amd64"), "{e}");
}
