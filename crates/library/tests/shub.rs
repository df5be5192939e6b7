//! `shub://` references and the Singularity Hub client against the testkit double (§11.1):
//! parsing, manifest lookup, byte-identical download with progress, 404 wording, broken
//! transfers and cancel leaving no partial file.

use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use berth_library::{Cancel, ErrorKind, NoProgress, Phase, Progress, ShubClient, ShubRef};
use berth_testkit::ShubDouble;

/// Records what a download reports.
#[derive(Default)]
struct Recorder {
    phases: Mutex<Vec<(Phase, Option<u64>)>>,
    done: AtomicU64,
}

impl Progress for Recorder {
    fn phase(&self, phase: Phase, total: Option<u64>) {
        self.phases.lock().unwrap().push((phase, total));
    }
    fn advance(&self, bytes: u64) {
        self.done.fetch_add(bytes, Ordering::SeqCst);
    }
    fn retract(&self, bytes: u64) {
        self.done.fetch_sub(bytes, Ordering::SeqCst);
    }
}

/// Cancels the transfer as soon as the first bytes arrive.
struct CancelOnFirstBytes(Cancel);

impl Progress for CancelOnFirstBytes {
    fn phase(&self, _: Phase, _: Option<u64>) {}
    fn advance(&self, _: u64) {
        self.0.cancel();
    }
    fn retract(&self, _: u64) {}
}

/// The double's `http://127.0.0.1:PORT` as a shub registry prefix.
fn shub_ref(d: &ShubDouble, path: &str) -> ShubRef {
    let host = d.url().strip_prefix("http://").unwrap().to_owned();
    ShubRef::parse(&format!("shub://{host}/{path}")).unwrap()
}

/// Deterministic, non-repeating enough to catch misplaced chunks.
fn image_bytes(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

#[test]
fn parses_references() {
    struct Case {
        input: &'static str,
        registry: &'static str,
        user: &'static str,
        container: &'static str,
        tag: Option<&'static str>,
        digest: Option<&'static str>,
        sif: &'static str,
        display: &'static str,
    }
    let d40 = "0123456789abcdef0123456789abcdef01234567";
    let cases = [
        Case {
            input: "shub://vsoch/hello-world",
            registry: "https://singularity-hub.org",
            user: "vsoch",
            container: "hello-world",
            tag: Some("latest"),
            digest: None,
            sif: "hello-world_latest.sif",
            display: "shub://vsoch/hello-world:latest",
        },
        Case {
            input: "shub://vsoch/hello-world:v1.0",
            registry: "https://singularity-hub.org",
            user: "vsoch",
            container: "hello-world",
            tag: Some("v1.0"),
            digest: None,
            sif: "hello-world_v1.0.sif",
            display: "shub://vsoch/hello-world:v1.0",
        },
        Case {
            input: "shub://hub.example.org:8443/api-prefix/deep/user/box:dev",
            registry: "https://hub.example.org:8443/api-prefix/deep",
            user: "user",
            container: "box",
            tag: Some("dev"),
            digest: None,
            sif: "box_dev.sif",
            display: "shub://hub.example.org:8443/api-prefix/deep/user/box:dev",
        },
        Case {
            input: "shub://u/c@0123456789ABCDEF0123456789abcdef",
            registry: "https://singularity-hub.org",
            user: "u",
            container: "c",
            tag: None,
            digest: Some("0123456789abcdef0123456789abcdef"),
            sif: "c_0123456789abcdef0123456789abcdef.sif",
            display: "shub://u/c@0123456789abcdef0123456789abcdef",
        },
        Case {
            input: "shub://hub.local/u/c:t@0123456789abcdef0123456789abcdef01234567",
            registry: "https://hub.local",
            user: "u",
            container: "c",
            tag: Some("t"),
            digest: Some(d40),
            sif: "c_t.sif",
            display: "shub://hub.local/u/c:t@0123456789abcdef0123456789abcdef01234567",
        },
    ];
    for c in cases {
        let r = ShubRef::parse(c.input).unwrap_or_else(|e| panic!("{}: {e}", c.input));
        assert_eq!(r.registry(), c.registry, "{}", c.input);
        assert_eq!(r.user(), c.user, "{}", c.input);
        assert_eq!(r.container(), c.container, "{}", c.input);
        assert_eq!(r.tag(), c.tag, "{}", c.input);
        assert_eq!(r.digest(), c.digest, "{}", c.input);
        assert_eq!(r.default_sif_name(), c.sif, "{}", c.input);
        assert_eq!(r.to_string(), c.display, "{}", c.input);
        // The display form reads back as the same reference.
        assert_eq!(ShubRef::parse(&r.to_string()).unwrap(), r);
    }

    for bad in [
        "vsoch/hello-world",
        "library://vsoch/hello-world",
        "shub://",
        "shub://hello-world",
        "shub://vsoch/",
        "shub:///hello-world",
        "shub://host//u/c",
        "shub://u/c:",
        "shub://u/c@",
        "shub://u/c@abc",
        "shub://u/c@0123456789abcdef0123456789abcdeg",
        "shub://u/c@0123456789abcdef0123456789abcdef0",
        "shub://u/c:t:x",
        "shub://u/c?x=1",
        "shub://u s/c",
        "shub://ho st/u/c",
    ] {
        let err = ShubRef::parse(bad).expect_err(bad);
        assert_eq!(err.kind(), ErrorKind::RefInvalid, "{bad}");
        assert_eq!(err.code(), "ref.invalid");
        assert!(!err.hint().is_empty());
    }
}

#[tokio::test]
async fn manifest_and_download_are_byte_identical() {
    let d = ShubDouble::start().unwrap();
    let bytes = image_bytes(3 << 20);
    let commit = d.add_image("vsoch", "hello-world", "latest", bytes.clone());
    let client = ShubClient::new(true).unwrap();

    let r = shub_ref(&d, "vsoch/hello-world");
    let m = client.manifest(&r).await.unwrap();
    assert_eq!(m.commit, commit);
    assert_eq!(m.name, "vsoch/hello-world");
    assert_eq!(m.tag, "latest");
    assert_eq!(
        m.image_url.as_str(),
        format!("{}/download/{commit}", d.url())
    );

    // The same image by digest.
    let by_digest = shub_ref(&d, &format!("vsoch/hello-world@{commit}"));
    assert_eq!(client.manifest(&by_digest).await.unwrap().commit, commit);

    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join(r.default_sif_name() + ".partial");
    // A stale partial file from an earlier attempt is overwritten, not appended to.
    std::fs::write(&dest, b"stale bytes that must vanish").unwrap();
    let rec = Arc::new(Recorder::default());
    let n = client
        .download(&m, &dest, rec.clone(), &Cancel::new())
        .await
        .unwrap();
    assert_eq!(n, bytes.len() as u64);
    assert!(std::fs::read(&dest).unwrap() == bytes, "bytes differ");
    assert_eq!(
        *rec.phases.lock().unwrap(),
        vec![(Phase::Downloading, Some(bytes.len() as u64))]
    );
    assert_eq!(rec.done.load(Ordering::SeqCst), bytes.len() as u64);

    assert_eq!(
        d.requests(),
        vec![
            "/api/container/vsoch/hello-world:latest".to_owned(),
            format!("/api/container/vsoch/hello-world@{commit}"),
            format!("/download/{commit}"),
        ]
    );
}

#[tokio::test]
async fn missing_manifest_says_so() {
    let d = ShubDouble::start().unwrap();
    d.add_image("u", "c", "latest", b"x".to_vec());
    let client = ShubClient::new(true).unwrap();
    for path in [
        "u/missing",
        "u/c:nope",
        "u/c@0123456789abcdef0123456789abcdef",
    ] {
        let err = client.manifest(&shub_ref(&d, path)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::NotFound, "{path}");
        assert_eq!(err.status(), Some(404));
        assert_eq!(
            err.message(),
            "the requested manifest was not found in singularity hub"
        );
    }
}

#[tokio::test]
async fn http_is_refused_unless_asked() {
    let d = ShubDouble::start().unwrap();
    d.add_image("u", "c", "latest", b"x".to_vec());
    // Without insecure_http the client goes to https:// on the double's plain port.
    let err = ShubClient::new(false)
        .unwrap()
        .manifest(&shub_ref(&d, "u/c"))
        .await
        .unwrap_err();
    assert_ne!(err.kind(), ErrorKind::NotFound);
    // And an http image URL from a manifest is not followed either.
    let m = ShubClient::new(true)
        .unwrap()
        .manifest(&shub_ref(&d, "u/c"))
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("c.partial");
    let err = ShubClient::new(false)
        .unwrap()
        .download(&m, &dest, Arc::new(NoProgress), &Cancel::new())
        .await
        .unwrap_err();
    assert_ne!(err.kind(), ErrorKind::Cancelled);
    assert!(!dest.exists());
}

#[tokio::test]
async fn truncated_download_fails_and_leaves_nothing() {
    let d = ShubDouble::start().unwrap();
    d.add_image("u", "c", "latest", image_bytes(1 << 20));
    d.set_truncate_downloads(true);
    let client = ShubClient::new(true).unwrap();
    let m = client.manifest(&shub_ref(&d, "u/c")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dest = dir.path().join("c_latest.sif.partial");
    let err = client
        .download(&m, &dest, Arc::new(NoProgress), &Cancel::new())
        .await
        .unwrap_err();
    assert!(
        matches!(
            err.kind(),
            ErrorKind::Unreachable | ErrorKind::BadResponse | ErrorKind::Timeout
        ),
        "{err:?}"
    );
    assert_no_file(&dest);
}

#[tokio::test]
async fn cancel_stops_and_leaves_nothing() {
    let d = ShubDouble::start().unwrap();
    d.add_image("u", "c", "latest", image_bytes(8 << 20));
    let client = ShubClient::new(true).unwrap();
    let m = client.manifest(&shub_ref(&d, "u/c")).await.unwrap();
    let dir = tempfile::tempdir().unwrap();

    // Mid-transfer: the first chunk's progress report pulls the switch.
    let dest = dir.path().join("mid.partial");
    let cancel = Cancel::new();
    let progress = Arc::new(CancelOnFirstBytes(cancel.clone()));
    let err = client
        .download(&m, &dest, progress, &cancel)
        .await
        .unwrap_err();
    assert_eq!(err.code(), "transfer.cancelled");
    assert_no_file(&dest);

    // Before it starts: nothing is requested or created.
    let dest = dir.path().join("early.partial");
    let before = d.requests().len();
    let cancel = Cancel::new();
    cancel.cancel();
    let err = client
        .download(&m, &dest, Arc::new(NoProgress), &cancel)
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Cancelled);
    assert_eq!(d.requests().len(), before);
    assert_no_file(&dest);
}

fn assert_no_file(path: &Path) {
    assert!(!path.exists(), "{} was left behind", path.display());
}
