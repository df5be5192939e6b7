//! Push and pull as jobs against the Library API double: checks before sending (signatures,
//! quota, records to create), results as the seed shows them, the cache, resume after a
//! failure, cancel leaving nothing behind, and an existing destination kept.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use berth_core::credentials::MemoryStore;
use berth_core::image_cache::ImageCache;
use berth_core::jobs::Jobs;
use berth_core::libraries::Libraries;
use berth_core::model::{KeyAlgorithm, NewKeyRequest};
use berth_core::model_library::AddRemoteRequest;
use berth_core::model_transfer::{
    JobResult, JobState, JobView, PullRequest, PushRequest, PushSignature,
};
use berth_core::remotes::Remotes;
use berth_core::transfers::Transfers;
use berth_core::{AppDirs, Keys, SettingsStore};
use berth_library::DownloadOptions;
use berth_testkit::{Flavour, LibraryDouble, LibraryOptions};

const TOKEN: &str = "transfer-token-42";

fn shared(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/sif/images")
        .join(name)
}

struct World {
    double: LibraryDouble,
    transfers: Arc<Transfers>,
    keys: Arc<Keys>,
    dir: tempfile::TempDir,
}

impl World {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

async fn world(flavour: Flavour) -> World {
    world_with(flavour, 2).await
}

async fn world_with(flavour: Flavour, part_retries: u32) -> World {
    let double = LibraryDouble::start(LibraryOptions {
        flavour,
        ..LibraryOptions::default()
    })
    .unwrap();
    double.add_user("ada", TOKEN);
    let dir = tempfile::tempdir().unwrap();
    let dirs = AppDirs::at(dir.path().join("config"));
    std::fs::create_dir_all(dirs.config()).unwrap();
    let remotes = Arc::new(Remotes::new(&dirs, Arc::new(MemoryStore::new())));
    let libs = Arc::new(Libraries::new(remotes));
    libs.add(AddRemoteRequest {
        name: "lab".into(),
        uri: double.url(),
        insecure_http: true,
        ca_file: None,
        proxy: None,
        make_default: true,
    })
    .unwrap();
    libs.login("lab", TOKEN).await.unwrap();
    let settings = Arc::new(SettingsStore::new(&dirs));
    let keys = Arc::new(Keys::at(
        berth_integrity::KeyPaths::at(dir.path().join("keys")),
        settings.clone(),
    ));
    let mut t = Transfers::new(
        libs,
        keys.clone(),
        settings,
        ImageCache::new(dirs.cache()),
        Jobs::in_memory(),
    );
    t.download = DownloadOptions {
        part_size: 64 << 10,
        part_retries,
        retry_backoff: Duration::from_millis(10),
        ..DownloadOptions::default()
    };
    World {
        double,
        transfers: Arc::new(t),
        keys,
        dir,
    }
}

fn push_req(file: &Path, reference: &str, allow_unsigned: bool) -> PushRequest {
    PushRequest {
        remote: None,
        file: file.display().to_string(),
        reference: reference.into(),
        description: "BusyBox for tests".into(),
        arch: None,
        allow_unsigned,
        private: false,
    }
}

fn pull_req(reference: &str, dest: &Path) -> PullRequest {
    PullRequest {
        remote: None,
        reference: reference.into(),
        arch: Some("amd64".into()),
        destination: Some(dest.display().to_string()),
        force: false,
        no_cache: false,
        verify: true,
    }
}

async fn push(w: &World, req: PushRequest) -> JobView {
    let job = w.transfers.begin_push(&req, None).unwrap();
    w.transfers.run_push(req, job).await
}

async fn pull(w: &World, req: PullRequest) -> JobView {
    let job = w.transfers.begin_pull(&req, None).unwrap();
    w.transfers.run_pull(req, job).await
}

fn signed_copy(w: &World) -> PathBuf {
    let file = w.path("signed.sif");
    std::fs::copy(shared("sylabs-sif/one-group.sif"), &file).unwrap();
    let key = w
        .keys
        .generate(NewKeyRequest {
            name: "Ada".into(),
            email: "ada@example.invalid".into(),
            comment: String::new(),
            passphrase: None,
            algorithm: KeyAlgorithm::Ed25519,
        })
        .unwrap();
    assert!(
        w.keys
            .sign_image(&file, &key.fingerprint, None)
            .unwrap()
            .verified
    );
    file
}

async fn push_and_pull(flavour: Flavour) {
    let w = world(flavour).await;
    let busybox = w.path("busybox.sif");
    std::fs::copy(shared("apptainer-e2e/busybox_amd64.sif"), &busybox).unwrap();
    let original = std::fs::read(&busybox).unwrap();

    // The plan names what will happen before anything is sent.
    let plan = w
        .transfers
        .plan_push(None, &busybox, "library://ada/tools/busybox:1.36,latest")
        .await
        .unwrap();
    assert_eq!(plan.arch.as_deref(), Some("amd64"));
    assert_eq!(plan.size, original.len() as u64);
    assert_eq!(plan.tags, ["1.36", "latest"]);
    assert_eq!(plan.creates, ["ada/tools", "ada/tools/busybox"]);
    assert_eq!(
        plan.signature,
        PushSignature::Unknown,
        "signed by a key we lack"
    );
    assert!(!plan.over_quota);
    assert!(w.double.images().is_empty(), "planning sends nothing");

    // Not verified and no yes: refused before any byte.
    let refused = push(
        &w,
        push_req(&busybox, "ada/tools/busybox:1.36,latest", false),
    )
    .await;
    assert_eq!(refused.state, JobState::Failed);
    assert_eq!(refused.error.unwrap().code, "push.unverified");
    assert!(w.double.images().is_empty());

    let done = push(
        &w,
        push_req(&busybox, "ada/tools/busybox:1.36,latest", true),
    )
    .await;
    assert_eq!(done.state, JobState::Succeeded, "{:?}", done.error);
    let Some(JobResult::Pushed(p)) = done.result else {
        panic!("push result")
    };
    assert!(p.uploaded);
    assert_eq!(p.tags, ["1.36", "latest"]);
    assert!(p.quota_line.unwrap().starts_with("Library storage: using "));
    let url = p.container_url.unwrap();
    assert!(
        url.starts_with(&format!(
            "http://{}",
            w.double.url().trim_start_matches("http://")
        )),
        "{url}"
    );
    assert!(url.contains("busybox"));

    // Pull it back: byte-identical, verified (signature by an unknown key → reported).
    let dest = w.path("out");
    std::fs::create_dir(&dest).unwrap();
    let got = pull(&w, pull_req("library://ada/tools/busybox:1.36", &dest)).await;
    assert_eq!(got.state, JobState::Succeeded, "{:?}", got.error);
    let Some(JobResult::Pulled(r)) = got.result else {
        panic!("pull result")
    };
    assert_eq!(r.path, dest.join("busybox_1.36.sif").display().to_string());
    assert_eq!(std::fs::read(&r.path).unwrap(), original);
    assert!(!r.from_cache);
    assert!(r.verify.is_some_and(|v| !v.verified));

    // Same image again: from the cache, no download.
    let before = w.double.download_count("ada/tools/busybox").unwrap();
    let again = pull(
        &w,
        pull_req("library://ada/tools/busybox:latest", &w.path("copy.sif")),
    )
    .await;
    let Some(JobResult::Pulled(r2)) = again.result else {
        panic!("{:?}", again.error)
    };
    assert!(r2.from_cache);
    assert_eq!(std::fs::read(w.path("copy.sif")).unwrap(), original);
    assert_eq!(
        w.double.download_count("ada/tools/busybox").unwrap(),
        before
    );
    assert_eq!(w.transfers.cache().list().unwrap().entries.len(), 1);

    // An existing destination is refused before the job starts.
    let e = w
        .transfers
        .begin_pull(&pull_req("library://ada/tools/busybox:1.36", &dest), None)
        .err()
        .unwrap();
    assert_eq!(e.code(), "pull.destination_exists");

    // A verified image needs no yes; the same bytes a second time upload nothing.
    let signed = signed_copy(&w);
    let plan = w
        .transfers
        .plan_push(Some("lab"), &signed, "ada/tools/one")
        .await
        .unwrap();
    assert_eq!(plan.signature, PushSignature::Verified);
    assert_eq!(plan.creates, ["ada/tools/one"]);
    let first = push(&w, push_req(&signed, "ada/tools/one:v1", false)).await;
    assert_eq!(first.state, JobState::Succeeded, "{:?}", first.error);
    let second = push(&w, push_req(&signed, "ada/tools/one:v2", false)).await;
    let Some(JobResult::Pushed(p2)) = second.result else {
        panic!("{:?}", second.error)
    };
    assert!(!p2.uploaded, "already in the library");
    assert_eq!(w.transfers.jobs().list().len(), 6);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_and_pull_sylabs() {
    push_and_pull(Flavour::Sylabs).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn push_and_pull_hinkskalle() {
    push_and_pull(Flavour::Hinkskalle).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_pull_resumes_and_a_cancelled_one_leaves_nothing() {
    // No retries: the first broken connection fails the job.
    let w = world_with(Flavour::Hinkskalle, 0).await;
    let bytes = std::fs::read(shared("apptainer-e2e/busybox_amd64.sif")).unwrap();
    w.double
        .add_image("ada/tools/bb", bytes.clone(), "amd64", &["latest"], false);
    // The connection carrying byte 300 000 breaks there.
    w.double
        .update_options(|o| o.reset_after_bytes = Some(300_000));
    let dest = w.path("bb.sif");
    let failed = pull(&w, pull_req("library://ada/tools/bb", &dest)).await;
    assert_eq!(failed.state, JobState::Failed);
    assert!(failed.resumable, "{failed:?}");
    let from = failed.resume_from.unwrap();
    assert!(from > 0 && from < bytes.len() as u64, "{from}");
    assert!(!dest.exists(), "nothing half-written at the destination");

    w.double.update_options(|o| o.reset_after_bytes = None);
    let (req, job) = w.transfers.begin_retry(&failed.id).unwrap();
    let resumed = w.transfers.run(req, job).await;
    assert_eq!(resumed.id, failed.id);
    let Some(JobResult::Pulled(r)) = resumed.result else {
        panic!("{:?}", resumed.error)
    };
    assert_eq!(r.resumed_from, from);
    assert_eq!(std::fs::read(&dest).unwrap(), bytes);

    // Cancel while the download crawls: no destination, no partial file, state cancelled.
    w.double.update_options(|o| o.latency_ms = 200);
    let req = PullRequest {
        no_cache: true,
        ..pull_req("library://ada/tools/bb", &w.path("cancelled.sif"))
    };
    let job = w.transfers.begin_pull(&req, None).unwrap();
    let id = job.id().to_owned();
    let jobs = w.transfers.jobs().clone();
    let partial = w.path(".cancelled.sif.berth-partial");
    let (view, ()) = tokio::join!(w.transfers.run_pull(req, job), async {
        // Once the download has started writing.
        while !partial.exists() {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        jobs.cancel(&id).unwrap();
    });
    assert_eq!(view.state, JobState::Cancelled);
    let left: Vec<_> = std::fs::read_dir(w.dir.path())
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("cancelled"))
        .collect();
    assert!(left.is_empty(), "{left:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn over_quota_is_said_before_and_refused_without_upload() {
    let w = world(Flavour::Hinkskalle).await;
    w.double.set_quota("ada", 100_000);
    let file = w.path("bb.sif");
    std::fs::copy(shared("apptainer-e2e/busybox_amd64.sif"), &file).unwrap();
    let plan = w
        .transfers
        .plan_push(None, &file, "ada/q/bb")
        .await
        .unwrap();
    assert!(plan.over_quota);
    assert_eq!(plan.quota_total, Some(100_000));
    assert!(plan.quota_left_after.unwrap() < 0);
    assert!(plan.warnings.iter().any(|w| w.contains("quota")));
    let v = push(&w, push_req(&file, "ada/q/bb", true)).await;
    assert_eq!(v.error.unwrap().code, "quota.exceeded");
    assert!(w.double.images().is_empty(), "nothing created or sent");
}
