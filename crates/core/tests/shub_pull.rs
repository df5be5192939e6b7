//! shub:// pulls as jobs against the Singularity Hub double: the file lands where asked,
//! byte-identical, a second pull of the same commit comes from the cache, a missing image
//! fails with a clear code and leaves no file.

use std::path::Path;
use std::sync::Arc;

use berth_core::credentials::MemoryStore;
use berth_core::image_cache::ImageCache;
use berth_core::jobs::Jobs;
use berth_core::libraries::Libraries;
use berth_core::model_transfer::{JobResult, JobState, JobView, PullRequest};
use berth_core::remotes::Remotes;
use berth_core::transfers::Transfers;
use berth_core::{AppDirs, Keys, SettingsStore};
use berth_testkit::ShubDouble;

fn transfers(dir: &Path) -> Arc<Transfers> {
    let dirs = AppDirs::at(dir.join("config"));
    std::fs::create_dir_all(dirs.config()).unwrap();
    let remotes = Arc::new(Remotes::new(&dirs, Arc::new(MemoryStore::new())));
    let settings = Arc::new(SettingsStore::new(&dirs));
    let keys = Arc::new(Keys::at(
        berth_integrity::KeyPaths::at(dir.join("keys")),
        settings.clone(),
    ));
    Arc::new(Transfers::new(
        Arc::new(Libraries::new(remotes)),
        keys,
        settings,
        ImageCache::new(dirs.cache()),
        Jobs::in_memory(),
    ))
}

async fn pull(t: &Arc<Transfers>, reference: &str, dest: &Path) -> JobView {
    let req = PullRequest {
        remote: None,
        reference: reference.into(),
        arch: None,
        destination: Some(dest.display().to_string()),
        force: false,
        no_cache: false,
        verify: true,
    };
    let job = t.begin_pull(&req, None).unwrap();
    t.run_pull(req, job).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_shub_image_is_pulled_verified_and_cached() {
    let hub = ShubDouble::start().unwrap();
    let bytes = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/testdata/sif/images/apptainer-e2e/busybox_amd64.sif"),
    )
    .unwrap();
    hub.add_image("vsoch", "hello", "latest", bytes.clone());
    let host = hub.url().trim_start_matches("http://").to_owned();
    let dir = tempfile::tempdir().unwrap();
    let t = transfers(dir.path());

    let reference = format!("shub://{host}/vsoch/hello");
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();
    let done = pull(&t, &reference, &out).await;
    assert_eq!(done.state, JobState::Succeeded, "{:?}", done.error);
    let Some(JobResult::Pulled(p)) = done.result else {
        panic!("pull result")
    };
    assert_eq!(p.path, out.join("hello_latest.sif").display().to_string());
    assert_eq!(std::fs::read(&p.path).unwrap(), bytes);
    assert!(!p.from_cache);
    // Signed by a key this test does not have: checked and reported, not fatal.
    assert!(p.verify.is_some_and(|v| !v.verified));

    let again = pull(&t, &reference, &dir.path().join("again.sif")).await;
    let Some(JobResult::Pulled(p2)) = again.result else {
        panic!("{:?}", again.error)
    };
    assert!(p2.from_cache);
    assert_eq!(std::fs::read(dir.path().join("again.sif")).unwrap(), bytes);

    let missing = dir.path().join("missing.sif");
    let failed = pull(&t, &format!("shub://{host}/vsoch/nothing:1.0"), &missing).await;
    assert_eq!(failed.state, JobState::Failed);
    let e = failed.error.unwrap();
    assert_eq!(e.code, "library.not_found");
    assert!(e.message.contains("singularity hub"), "{}", e.message);
    assert!(!missing.exists());
}
