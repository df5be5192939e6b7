//! Push and pull against the Library API double (both flavours), with its fault knobs:
//! multipart in parallel with a failing part, fallbacks (no multipart, legacy server),
//! 303 ranged downloads, servers ignoring `Range`, broken connections and resume, hash
//! mismatch, quota, cancel.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use berth_library::{
    digest_file, Cancel, DownloadOptions, DownloadSpec, ErrorKind, FileDigest, LibraryClient,
    LibraryRef, NoProgress, Phase, Progress, PushSpec, UploadOptions,
};
use berth_testkit::{Flavour, LibraryDouble, LibraryOptions};

const TOKEN: &str = "transfer-token-0123456789";

fn double(flavour: Flavour, tweak: impl FnOnce(&mut LibraryOptions)) -> LibraryDouble {
    let mut opts = LibraryOptions {
        flavour,
        ..Default::default()
    };
    tweak(&mut opts);
    let d = LibraryDouble::start(opts).unwrap();
    d.add_user("alice", TOKEN);
    d
}

fn client(d: &LibraryDouble) -> LibraryClient {
    LibraryClient::builder(d.url())
        .token(Some(berth_library::Secret::new(TOKEN)))
        .options(berth_library::RemoteOptions {
            insecure_http: true,
            ..Default::default()
        })
        .build()
        .unwrap()
}

/// Deterministic, incompressible-looking bytes.
fn content(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

fn write(dir: &Path, name: &str, bytes: &[u8]) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, bytes).unwrap();
    p
}

/// Counts bytes and phases.
#[derive(Default)]
struct Meter {
    bytes: AtomicU64,
    phases: std::sync::Mutex<Vec<Phase>>,
}

impl Progress for Meter {
    fn phase(&self, phase: Phase, _: Option<u64>) {
        self.phases.lock().unwrap().push(phase);
        self.bytes.store(0, Ordering::SeqCst);
    }
    fn advance(&self, n: u64) {
        self.bytes.fetch_add(n, Ordering::SeqCst);
    }
    fn retract(&self, n: u64) {
        self.bytes.fetch_sub(n, Ordering::SeqCst);
    }
}

async fn digest(p: &Path) -> FileDigest {
    digest_file(p, true, Arc::new(NoProgress), Cancel::new())
        .await
        .unwrap()
}

fn spec(file: &Path, reference: &str) -> PushSpec {
    PushSpec {
        file: file.to_path_buf(),
        reference: LibraryRef::parse(reference).unwrap(),
        description: "pushed by a test".into(),
        arch: "amd64".into(),
        private: false,
        upload: UploadOptions {
            retry_backoff: Duration::from_millis(10),
            ..Default::default()
        },
    }
}

fn pull_spec(reference: &str, bytes: &[u8]) -> DownloadSpec {
    use sha2::Digest;
    DownloadSpec {
        reference: LibraryRef::parse(reference).unwrap(),
        arch: Some("amd64".into()),
        hash: format!("sha256.{:x}", sha2::Sha256::digest(bytes)),
        size: bytes.len() as u64,
    }
}

fn small_parts() -> DownloadOptions {
    DownloadOptions {
        concurrency: 3,
        part_size: 256 << 10,
        part_retries: 5,
        retry_backoff: Duration::from_millis(10),
    }
}

async fn pull(
    c: &LibraryClient,
    s: &DownloadSpec,
    partial: &Path,
    opts: &DownloadOptions,
) -> berth_library::Result<berth_library::DownloadOutcome> {
    c.download_image(s, partial, opts, Arc::new(NoProgress), &Cancel::new())
        .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_part_push_then_pull_round_trips_in_both_flavours() {
    for flavour in [Flavour::Sylabs, Flavour::Hinkskalle] {
        let d = double(flavour, |_| {});
        let c = client(&d);
        let dir = tempfile::tempdir().unwrap();
        let bytes = content(3 << 20, 1);
        let file = write(dir.path(), "a.sif", &bytes);
        let dg = digest(&file).await;
        let meter = Arc::new(Meter::default());
        let out = c
            .push(
                &spec(&file, "alice/tools/seq:1.0,latest"),
                &dg,
                meter.clone(),
                &Cancel::new(),
            )
            .await
            .unwrap();
        assert!(out.uploaded);
        assert_eq!(out.tags, ["1.0", "latest"]);
        assert_eq!(
            out.created,
            ["alice/tools", "alice/tools/seq"],
            "{flavour:?}"
        );
        let comp = out.completion.expect("completion details");
        assert_eq!(comp.quota_usage, bytes.len() as u64);
        assert!(comp.container_url.unwrap().contains("seq"));
        assert_eq!(
            *meter.phases.lock().unwrap(),
            [Phase::Preparing, Phase::Uploading, Phase::Tagging]
        );
        let img = d
            .images()
            .into_iter()
            .find(|i| i.path == "alice/tools/seq")
            .unwrap();
        assert_eq!(img.description, "pushed by a test");
        assert!(img.tags.contains(&"1.0".to_string()), "{:?}", img.tags);

        let partial = dir.path().join("pulled.partial");
        let s = pull_spec("alice/tools/seq:1.0", &bytes);
        let got = pull(&c, &s, &partial, &small_parts()).await.unwrap();
        assert!(got.ranged);
        assert_eq!(std::fs::read(&partial).unwrap(), bytes);
        assert!(!partial.with_extension("partial.state").exists());

        // Same bytes again: nothing uploaded, tags still set.
        let again = c
            .push(
                &spec(&file, "alice/tools/seq:2.0"),
                &dg,
                Arc::new(NoProgress),
                &Cancel::new(),
            )
            .await
            .unwrap();
        assert!(!again.uploaded, "{flavour:?}");
        assert_eq!(again.image_id, out.image_id);
        assert!(again.created.is_empty());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multipart_parts_go_in_parallel_and_a_failed_part_is_retried() {
    for flavour in [Flavour::Sylabs, Flavour::Hinkskalle] {
        let d = double(flavour, |o| {
            o.multipart_part_size = Some(5 << 20);
            o.fail_part = Some(3);
        });
        let c = client(&d);
        let dir = tempfile::tempdir().unwrap();
        let bytes = content((64 << 20) + 12345, 2);
        let file = write(dir.path(), "big.sif", &bytes);
        let dg = digest_file(&file, false, Arc::new(NoProgress), Cancel::new())
            .await
            .unwrap();
        let meter = Arc::new(Meter::default());
        let out = c
            .push(
                &spec(&file, "alice/big/one:v1"),
                &dg,
                meter.clone(),
                &Cancel::new(),
            )
            .await
            .unwrap();
        assert!(out.uploaded);
        assert_eq!(
            meter.bytes.load(Ordering::SeqCst),
            0,
            "tagging phase resets the count"
        );
        assert_eq!(d.open_multiparts(), 0);
        let parts: Vec<_> = d
            .requests()
            .into_iter()
            .filter(|r| r.method == "PUT" && r.path.ends_with("/_multipart"))
            .collect();
        // 13 parts, part 3 twice.
        assert_eq!(parts.len(), 14, "{flavour:?}");
        let img = d
            .images()
            .into_iter()
            .find(|i| i.path == "alice/big/one")
            .unwrap();
        assert_eq!(std::fs::read(img.file.unwrap()).unwrap(), bytes);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn falls_back_to_single_part_and_to_legacy_uploads() {
    let d = double(Flavour::Sylabs, |o| o.disable_multipart = true);
    let c = client(&d);
    let dir = tempfile::tempdir().unwrap();
    let bytes = content((64 << 20) + 1, 3);
    let file = write(dir.path(), "x.sif", &bytes);
    let dg = digest_file(&file, false, Arc::new(NoProgress), Cancel::new())
        .await
        .unwrap();
    c.push(
        &spec(&file, "alice/f/single"),
        &dg,
        Arc::new(NoProgress),
        &Cancel::new(),
    )
    .await
    .unwrap();
    let img = d
        .images()
        .into_iter()
        .find(|i| i.path == "alice/f/single")
        .unwrap();
    assert_eq!(std::fs::read(img.file.unwrap()).unwrap(), bytes);

    let legacy = double(Flavour::Sylabs, |o| o.api_version = Some(String::new()));
    let c = client(&legacy);
    let small = write(dir.path(), "s.sif", &content(100_000, 4));
    let dg = digest(&small).await;
    let out = c
        .push(
            &spec(&small, "alice/f/old:x"),
            &dg,
            Arc::new(NoProgress),
            &Cancel::new(),
        )
        .await
        .unwrap();
    assert!(out.completion.is_none(), "legacy uploads report nothing");
    assert!(legacy
        .requests()
        .iter()
        .any(|r| r.method == "POST" && r.path.starts_with("/v1/imagefile/")));
    assert!(legacy
        .requests()
        .iter()
        .any(|r| r.path.starts_with("/v1/tags/")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_quota_is_refused_before_the_upload() {
    let d = double(Flavour::Hinkskalle, |o| o.quota_bytes = Some(1000));
    let c = client(&d);
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "q.sif", &content(5000, 5));
    let dg = digest(&file).await;
    let e = c
        .push(
            &spec(&file, "alice/q/q"),
            &dg,
            Arc::new(NoProgress),
            &Cancel::new(),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::QuotaExceeded, "{e}");
    assert!(!d.requests().iter().any(|r| r.path.starts_with("/upload/")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancelling_a_multipart_push_aborts_it_on_the_server() {
    let d = double(Flavour::Hinkskalle, |o| {
        o.multipart_part_size = Some(5 << 20);
        o.latency_ms = 150;
    });
    let c = client(&d);
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), "c.sif", &content((64 << 20) + 7, 6));
    let dg = digest_file(&file, false, Arc::new(NoProgress), Cancel::new())
        .await
        .unwrap();
    let cancel = Cancel::new();
    let trigger = cancel.clone();
    let s = spec(&file, "alice/c/c");
    let push = c.push(&s, &dg, Arc::new(NoProgress), &cancel);
    let (r, ()) = tokio::join!(push, async {
        // Once parts are being sent.
        while !d
            .requests()
            .iter()
            .any(|r| r.path.ends_with("/_multipart") && r.method == "PUT")
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        trigger.cancel();
    });
    assert_eq!(r.unwrap_err().kind(), ErrorKind::Cancelled);
    assert!(d
        .requests()
        .iter()
        .any(|r| r.path.ends_with("/_multipart_abort")));
    assert_eq!(d.open_multiparts(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pulls_follow_303_to_ranged_storage_and_survive_servers_ignoring_range() {
    let bytes = content(2 << 20, 7);
    for (tweak, redirects) in [
        (
            (|o: &mut LibraryOptions| o.redirect_downloads = true) as fn(&mut LibraryOptions),
            true,
        ),
        (|o| o.ignore_range = true, false),
        (
            |o| {
                o.redirect_downloads = true;
                o.ignore_range = true;
            },
            true,
        ),
    ] {
        let d = double(Flavour::Sylabs, tweak);
        d.add_image("alice/p/img", bytes.clone(), "amd64", &["latest"], false);
        let c = client(&d);
        let dir = tempfile::tempdir().unwrap();
        let partial = dir.path().join("p.partial");
        let s = pull_spec("alice/p/img:latest", &bytes);
        pull(&c, &s, &partial, &small_parts()).await.unwrap();
        assert_eq!(std::fs::read(&partial).unwrap(), bytes);
        let storage: Vec<_> = d
            .requests()
            .into_iter()
            .filter(|r| r.path.starts_with("/storage/"))
            .collect();
        assert_eq!(
            !storage.is_empty(),
            redirects,
            "303 leads to the storage URL"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_broken_connection_is_retried_and_an_interrupted_pull_resumes() {
    let bytes = content(3 << 20, 8);
    let d = double(Flavour::Hinkskalle, |o| {
        o.reset_after_bytes = Some(1_000_000)
    });
    d.add_image("alice/r/img", bytes.clone(), "amd64", &["latest"], false);
    let c = client(&d);
    let dir = tempfile::tempdir().unwrap();
    let partial = dir.path().join("r.partial");
    let s = pull_spec("alice/r/img", &bytes);
    // Retries continue the cut part from the byte it reached.
    pull(&c, &s, &partial, &small_parts()).await.unwrap();
    assert_eq!(std::fs::read(&partial).unwrap(), bytes);
    std::fs::remove_file(&partial).unwrap();

    // No retries: the pull fails, keeping what it has; the next call continues.
    let no_retry = DownloadOptions {
        part_retries: 0,
        ..small_parts()
    };
    let e = pull(&c, &s, &partial, &no_retry).await.unwrap_err();
    assert!(
        matches!(e.kind(), ErrorKind::Unreachable | ErrorKind::BadResponse),
        "{e:?}"
    );
    let kept = berth_library::partial_progress(&partial, &s.hash, s.size).unwrap();
    assert!(kept > 0, "complete parts are recorded");
    d.update_options(|o| o.reset_after_bytes = None);
    d.clear_requests();
    let out = pull(&c, &s, &partial, &small_parts()).await.unwrap();
    assert_eq!(out.resumed_from, kept);
    assert_eq!(std::fs::read(&partial).unwrap(), bytes);
    let fetched: usize = d.requests().iter().filter(|r| r.range.is_some()).count();
    assert!(
        fetched < 12,
        "only missing parts are fetched again ({fetched})"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_bytes_are_discarded_and_errors_are_typed() {
    let bytes = content(1 << 20, 9);
    let d = double(Flavour::Sylabs, |_| {});
    d.add_image("alice/h/img", bytes.clone(), "amd64", &["latest"], false);
    let stored = d.images()[0].file.clone().unwrap();
    let mut bad = bytes.clone();
    bad[4242] ^= 1;
    std::fs::write(&stored, &bad).unwrap();
    let c = client(&d);
    let dir = tempfile::tempdir().unwrap();
    let partial = dir.path().join("h.partial");
    let s = pull_spec("alice/h/img", &bytes);
    let e = pull(&c, &s, &partial, &small_parts()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ChecksumMismatch);
    assert!(!partial.exists(), "bad bytes are not kept");

    let missing = pull_spec("alice/h/nothing", &bytes);
    let e = pull(&c, &missing, &partial, &small_parts())
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);

    d.update_options(|o| {
        o.fail_with = Some(500);
        o.fail_path_prefix = Some("/v1/imagefile".into());
    });
    let e = pull(&c, &s, &partial, &small_parts()).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::ServerError);
}
