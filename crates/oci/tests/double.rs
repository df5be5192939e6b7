//! Against the registry double: Bearer tokens, redirects, broken and lying transfers, cancel.

mod support;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use berth_oci::{
    BlobStore, CredentialSource, Credentials, ImageRef, Platform, RegistryClient, RegistryOptions,
};
use berth_progress::{Cancel, NoProgress, Phase, Progress};
use support::{Behaviour, Double};

struct Fixed(Credentials);
impl CredentialSource for Fixed {
    fn credentials(&self, _: &str) -> Option<Credentials> {
        Some(self.0.clone())
    }
}

fn client(d: &Double, creds: Option<(&str, &str)>) -> RegistryClient {
    RegistryClient::new(RegistryOptions {
        plain_http_hosts: vec![d.host()],
        credentials: creds.map(|(u, p)| {
            Arc::new(Fixed(Credentials {
                username: u.into(),
                password: p.into(),
            })) as Arc<dyn CredentialSource>
        }),
        blob_attempts: 3,
        ..RegistryOptions::default()
    })
    .unwrap()
}

fn layer(n: usize) -> Vec<u8> {
    (0..n).map(|i| (i * 31 % 251) as u8).collect()
}

fn amd64() -> Platform {
    Platform::linux("amd64", None).unwrap()
}

async fn pull(
    c: &RegistryClient,
    r: &ImageRef,
    store: &BlobStore,
    progress: Arc<dyn Progress>,
    cancel: &Cancel,
) -> berth_oci::Result<Vec<std::path::PathBuf>> {
    let img = c.resolve(r, &amd64(), cancel).await?;
    c.fetch_blobs(r, &img.manifest.layers, store, 2, progress, cancel)
        .await
}

fn temp_files(dir: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(dir.join("sha256"))
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.starts_with('.'))
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bearer_token_flow_with_scope_service_and_credentials() {
    let d = Double::start(
        "team/app",
        "v1",
        &layer(50_000),
        Behaviour {
            bearer: Some(("tok-123".into(), Some(("alice".into(), "pw-secret".into())))),
            ..Behaviour::default()
        },
    )
    .await;
    let r = ImageRef::parse(&format!("{}/team/app:v1", d.host())).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let store = BlobStore::new(cache.path().to_path_buf());
    let c = client(&d, Some(("alice", "pw-secret")));
    let img = c.resolve(&r, &amd64(), &Cancel::new()).await.unwrap();
    assert_eq!(img.config.created.as_deref(), Some("2024-01-02T03:04:05Z"));
    c.fetch_blobs(
        &r,
        &img.manifest.layers,
        &store,
        2,
        Arc::new(NoProgress),
        &Cancel::new(),
    )
    .await
    .unwrap();
    {
        let seen = d.seen.lock().unwrap();
        // One token for the whole pull: cached per scope.
        assert_eq!(seen.token_queries.len(), 1, "{seen:?}");
        let q = &seen.token_queries[0];
        assert!(q.contains("service=double-registry"), "{q}");
        assert!(q.contains("scope=repository%3Ateam%2Fapp%3Apull"), "{q}");
        assert!(
            seen.auth_headers
                .iter()
                .filter(|h| h.as_deref() == Some("Bearer tok-123"))
                .count()
                >= 3
        );
    }

    // Without credentials the token service refuses: a login hint, no secret anywhere.
    let anon = client(&d, None);
    let e = anon
        .resolve(&r, &amd64(), &Cancel::new())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "registry.unauthorized");
    assert!(e.to_string().contains("berth registry login"), "{e}");
    let wrong = client(&d, Some(("alice", "nope-secret")));
    let e = wrong
        .resolve(&r, &amd64(), &Cancel::new())
        .await
        .unwrap_err();
    assert_eq!(e.code(), "registry.unauthorized");
    assert!(!format!("{e} {e:?}").contains("nope-secret"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redirected_blobs_do_not_get_the_token_and_second_fetch_is_free() {
    let d = Double::start(
        "x/y",
        "t",
        &layer(70_000),
        Behaviour {
            bearer: Some(("tok".into(), None)),
            redirect: true,
            ..Behaviour::default()
        },
    )
    .await;
    let r = ImageRef::parse(&format!("{}/x/y:t", d.host())).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let store = BlobStore::new(cache.path().to_path_buf());
    let c = client(&d, None);
    let paths = pull(&c, &r, &store, Arc::new(NoProgress), &Cancel::new())
        .await
        .unwrap();
    assert_eq!(std::fs::read(&paths[0]).unwrap(), layer(70_000));
    // Config and layer both went through the redirect, neither with the token.
    assert_eq!(d.seen.lock().unwrap().redirected_auth, vec![false, false]);

    let before = d.blob_gets();
    pull(&c, &r, &store, Arc::new(NoProgress), &Cancel::new())
        .await
        .unwrap();
    // Only the config blob (resolve) is fetched again; no layer download.
    assert_eq!(d.blob_gets(), before + 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_transfer_resumes_with_range() {
    let data = layer(200_000);
    let d = Double::start(
        "x/y",
        "t",
        &data,
        Behaviour {
            break_once: true,
            ..Behaviour::default()
        },
    )
    .await;
    let r = ImageRef::parse(&format!("{}/x/y:t", d.host())).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let store = BlobStore::new(cache.path().to_path_buf());
    let progress = Arc::new(Counter::default());
    let c = client(&d, None);
    let paths = pull(&c, &r, &store, progress.clone(), &Cancel::new())
        .await
        .unwrap();
    assert_eq!(std::fs::read(&paths[0]).unwrap(), data);
    let ranges = d.seen.lock().unwrap().ranges.clone();
    assert_eq!(ranges, vec![format!("bytes={}-", data.len() / 2)]);
    assert_eq!(progress.done.load(Ordering::SeqCst), data.len() as u64);
    // The layer is a part of the download with its short digest, complete at the end.
    let digest = support::sha256_hex(&data);
    let parts = progress.parts.lock().unwrap().clone();
    let layer = parts
        .iter()
        .find(|p| p.0 == digest[..12])
        .unwrap_or_else(|| panic!("{parts:?}"));
    assert_eq!((layer.1, layer.2), (data.len() as u64, data.len() as u64));
    assert!(temp_files(cache.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lying_blob_is_rejected_and_not_stored() {
    let data = layer(40_000);
    let digest = format!("sha256:{}", support::sha256_hex(&data));
    let d = Double::start(
        "x/y",
        "t",
        &data,
        Behaviour {
            corrupt: vec![digest.clone()],
            ..Behaviour::default()
        },
    )
    .await;
    let r = ImageRef::parse(&format!("{}/x/y:t", d.host())).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let store = BlobStore::new(cache.path().to_path_buf());
    let e = pull(
        &client(&d, None),
        &r,
        &store,
        Arc::new(NoProgress),
        &Cancel::new(),
    )
    .await
    .unwrap_err();
    assert_eq!(e.code(), "oci.digest_mismatch", "{e}");
    assert!(store.path(&digest).is_none());
    assert!(temp_files(cache.path()).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_mid_download_keeps_nothing() {
    let d = Double::start(
        "x/y",
        "t",
        &layer(500_000),
        Behaviour {
            slow: true,
            ..Behaviour::default()
        },
    )
    .await;
    let r = ImageRef::parse(&format!("{}/x/y:t", d.host())).unwrap();
    let cache = tempfile::tempdir().unwrap();
    let store = BlobStore::new(cache.path().to_path_buf());
    let cancel = Cancel::new();
    let progress = Arc::new(Counter {
        cancel_after: Some((2048, cancel.clone())),
        ..Counter::default()
    });
    let started = std::time::Instant::now();
    let e = pull(&client(&d, None), &r, &store, progress.clone(), &cancel)
        .await
        .unwrap_err();
    assert_eq!(e.code(), "transfer.cancelled");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
    assert!(store.entries().unwrap().is_empty());
    assert!(temp_files(cache.path()).is_empty());
    assert_eq!(*progress.phases.lock().unwrap(), vec![Phase::Downloading]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_names_map_to_not_found() {
    let d = Double::start("x/y", "t", &layer(10), Behaviour::default()).await;
    let c = client(&d, None);
    for name in ["x/y:other", "a/b:t"] {
        let r = ImageRef::parse(&format!("{}/{name}", d.host())).unwrap();
        let e = c.resolve(&r, &amd64(), &Cancel::new()).await.unwrap_err();
        assert_eq!(e.code(), "oci.not_found", "{name}: {e}");
        assert_eq!(e.status(), Some(404));
    }
    // Nothing listens here (the port was free a moment ago).
    let r = ImageRef::parse(&format!("127.0.0.1:{}/x/y", support::free_port())).unwrap();
    let c = RegistryClient::new(RegistryOptions {
        plain_http_hosts: vec![r.registry().to_owned()],
        ..RegistryOptions::default()
    })
    .unwrap();
    let e = c.resolve(&r, &amd64(), &Cancel::new()).await.unwrap_err();
    assert_eq!(e.code(), "net.unreachable", "{e}");
}

#[derive(Default)]
struct Counter {
    done: AtomicU64,
    phases: std::sync::Mutex<Vec<Phase>>,
    cancel_after: Option<(u64, Cancel)>,
    /// Per-layer (label, done, total).
    parts: std::sync::Mutex<Vec<(String, u64, u64)>>,
}

impl Progress for Counter {
    fn phase(&self, p: Phase, _: Option<u64>) {
        self.phases.lock().unwrap().push(p);
    }
    fn advance(&self, n: u64) {
        let now = self.done.fetch_add(n, Ordering::SeqCst) + n;
        if let Some((limit, c)) = &self.cancel_after {
            if now >= *limit {
                c.cancel();
            }
        }
    }
    fn retract(&self, n: u64) {
        self.done.fetch_sub(n, Ordering::SeqCst);
    }
    fn parts(&self, parts: &[berth_progress::PartInfo]) {
        *self.parts.lock().unwrap() = parts
            .iter()
            .map(|p| (p.label.clone(), p.done, p.total))
            .collect();
    }
    fn part(&self, i: usize, done: u64) {
        self.parts.lock().unwrap()[i].1 = done;
    }
}
