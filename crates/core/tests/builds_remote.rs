//! Remote builds as jobs against the Library API double and the build service double it
//! names in discovery: the log streamed into the job, the result pulled into place, the
//! build context, a failed build, cancel, detached submission then attach, and re-attaching
//! after Berth stopped in the middle.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use berth_core::credentials::MemoryStore;
use berth_core::image_cache::ImageCache;
use berth_core::jobs::Jobs;
use berth_core::libraries::Libraries;
use berth_core::model_build::{BuildMode, BuildRequest};
use berth_core::model_library::AddRemoteRequest;
use berth_core::model_transfer::{JobResult, JobState, JobView};
use berth_core::remotes::Remotes;
use berth_core::transfers::Transfers;
use berth_core::{AppDirs, Keys, SettingsStore};
use berth_testkit::builder::{BuildRecord, BuildState};
use berth_testkit::{BuilderDouble, BuilderOptions, LibraryDouble, LibraryOptions};

const TOKEN: &str = "build-token-7";
const DEF: &str = "Bootstrap: docker\nFrom: alpine:3.20\n\n%post\n    apk add --no-cache curl\n";

fn busybox() -> Vec<u8> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/sif/images/apptainer-e2e/busybox_amd64.sif");
    std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

struct World {
    library: Arc<LibraryDouble>,
    builder: BuilderDouble,
    libs: Arc<Libraries>,
    dirs: AppDirs,
    dir: tempfile::TempDir,
}

impl World {
    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn transfers(&self, jobs: Jobs) -> Arc<Transfers> {
        let settings = Arc::new(SettingsStore::new(&self.dirs));
        let keys = Arc::new(Keys::at(
            berth_integrity::KeyPaths::at(self.dir.path().join("keys")),
            settings.clone(),
        ));
        Arc::new(Transfers::new(
            self.libs.clone(),
            keys,
            settings,
            ImageCache::new(self.dirs.cache()),
            jobs,
        ))
    }

    fn request(&self, out: &str) -> BuildRequest {
        BuildRequest {
            definition: DEF.into(),
            definition_path: Some(self.path("alpine.def").display().to_string()),
            mode: BuildMode::Remote,
            remote: None,
            builder_url: None,
            arch: Some("amd64".into()),
            destination: Some(self.path(out).display().to_string()),
            library_ref: Some("library://ada/builds/alpine:1".into()),
            detached: false,
            force: false,
            attach: None,
            build_args: Vec::new(),
        }
    }
}

/// A library whose discovery names a build service; finished builds put busybox at their
/// destination in the library, as a real builder pushes its result.
async fn world(tweak: impl FnOnce(&mut BuilderOptions)) -> World {
    let library = Arc::new(LibraryDouble::start(LibraryOptions::default()).unwrap());
    library.add_user("ada", TOKEN);
    let sif = busybox();
    let hook = {
        let (library, sif) = (Arc::clone(&library), sif.clone());
        Arc::new(move |b: &BuildRecord| {
            library.add_image(&b.library_ref, sif.clone(), "amd64", &[], false);
        })
    };
    let mut opts = BuilderOptions {
        tokens: vec![TOKEN.into()],
        result_image: Some(sif),
        on_complete: Some(hook),
        ..BuilderOptions::default()
    };
    tweak(&mut opts);
    let builder = BuilderDouble::start(opts).unwrap();
    let url = builder.url();
    library.update_options(|o| o.builder_url = Some(url));
    let dir = tempfile::tempdir().unwrap();
    let dirs = AppDirs::at(dir.path().join("config"));
    std::fs::create_dir_all(dirs.config()).unwrap();
    let remotes = Arc::new(Remotes::new(&dirs, Arc::new(MemoryStore::new())));
    let libs = Arc::new(Libraries::new(remotes));
    libs.add(AddRemoteRequest {
        name: "lab".into(),
        uri: library.url(),
        insecure_http: true,
        ca_file: None,
        proxy: None,
        make_default: true,
    })
    .unwrap();
    libs.login("lab", TOKEN).await.unwrap();
    World {
        library,
        builder,
        libs,
        dirs,
        dir,
    }
}

async fn build(t: &Transfers, req: BuildRequest) -> JobView {
    let job = t.begin_build(&req, None).unwrap();
    t.run_build(req, job).await
}

fn built(v: &JobView) -> berth_core::model_build::BuildResultView {
    match &v.result {
        Some(JobResult::Built(b)) => b.clone(),
        other => panic!("no build result: {other:?} ({:?})", v.error),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn remote_build_streams_its_log_and_lands_the_image() {
    let script: Vec<String> = (1..=6).map(|i| format!("INFO:    step {i} of 6")).collect();
    let w = world(|o| {
        o.log_lines = script.clone();
        o.line_delay_ms = 5;
        // Lines arrive split over frames: the job must still log whole lines.
        o.split_lines_at = Some(4);
    })
    .await;
    let t = w.transfers(Jobs::in_memory());
    let v = build(&t, w.request("alpine.sif")).await;
    assert_eq!(v.state, JobState::Succeeded, "{:?}", v.error);
    let b = built(&v);
    let out = w.path("alpine.sif");
    assert_eq!(b.path.as_deref(), Some(out.to_str().unwrap()));
    assert_eq!(std::fs::read(&out).unwrap(), busybox());
    assert_eq!(
        b.library_ref.as_deref(),
        Some("library://ada/builds/alpine:1")
    );
    assert!(!b.detached);

    let log = t.jobs().log(&v.id).unwrap().lines;
    let streamed: Vec<&String> = log.iter().filter(|l| l.contains("step")).collect();
    assert_eq!(streamed, script.iter().collect::<Vec<_>>(), "{log:#?}");
    assert!(log
        .iter()
        .any(|l| l.starts_with("INFO:    Build submitted: ")));
    assert!(log.last().unwrap().starts_with("INFO:    Build complete: "));

    let rec = &w.builder.builds()[0];
    assert_eq!(rec.auth_scheme, "BEARER");
    assert_eq!(rec.arch.as_deref(), Some("amd64"));
    assert_eq!(rec.definition, DEF);
    assert_eq!(rec.library_url.as_deref(), Some(w.library.url().as_str()));
    assert!(rec.context_digest.is_none(), "no %files, no context");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_from_the_definition_folder_travel_as_the_build_context() {
    let w = world(|_| {}).await;
    std::fs::write(w.path("data.txt"), b"numbers\n").unwrap();
    let t = w.transfers(Jobs::in_memory());
    let req = BuildRequest {
        definition: format!("{DEF}\n%files\n    data.txt /opt/data.txt\n"),
        ..w.request("with-files.sif")
    };
    let v = build(&t, req).await;
    assert_eq!(v.state, JobState::Succeeded, "{:?}", v.error);
    let contexts = w.builder.contexts();
    assert_eq!(contexts.len(), 1);
    let ctx = &contexts[0];
    assert!(ctx.bytes.is_some() && !ctx.upload_had_authorization);
    assert!(ctx.deleted, "the context is deleted after the build");
    let rec = &w.builder.builds()[0];
    assert_eq!(rec.context_digest.as_deref(), Some(ctx.digest.as_str()));
    let wd = rec.working_dir.clone().unwrap();
    assert_eq!(
        Path::new(&wd),
        std::fs::canonicalize(w.dir.path()).unwrap().as_path()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_build_says_so_and_leaves_nothing_to_attach_to() {
    let w = world(|o| o.fail = true).await;
    let t = w.transfers(Jobs::in_memory());
    let v = build(&t, w.request("fails.sif")).await;
    assert_eq!(v.state, JobState::Failed);
    let e = v.error.unwrap();
    assert!(e.message.contains("did not produce an image"), "{e:?}");
    assert!(!v.resumable && v.build_id.is_none(), "nothing to attach to");
    let log = t.jobs().log(&v.id).unwrap().lines;
    assert!(log.iter().any(|l| l.contains("%post failed")), "{log:?}");
    assert!(!w.path("fails.sif").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cancel_stops_the_build_on_the_builder() {
    let w = world(|o| {
        o.log_lines = (0..50).map(|i| format!("line {i}")).collect();
        o.line_delay_ms = 100;
    })
    .await;
    let t = w.transfers(Jobs::in_memory());
    let req = w.request("cancelled.sif");
    let (id, run) = start_until_logged(&t, req, "line 1").await;
    t.jobs().cancel(&id).unwrap();
    let v = run.await.unwrap();
    assert_eq!(v.state, JobState::Cancelled);
    assert_eq!(w.builder.builds()[0].state, BuildState::Cancelled);
    assert!(!w.path("cancelled.sif").exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn detached_build_is_attached_to_later() {
    let w = world(|o| o.log_lines = vec!["INFO:    building".into()]).await;
    let t = w.transfers(Jobs::in_memory());
    let v = build(
        &t,
        BuildRequest {
            detached: true,
            destination: None,
            ..w.request("")
        },
    )
    .await;
    assert_eq!(v.state, JobState::Succeeded, "{:?}", v.error);
    let b = built(&v);
    assert!(b.detached && b.path.is_none());
    let id = b.build_id.unwrap();
    assert_eq!(w.builder.builds()[0].state, BuildState::Running);

    // Attaching from the job itself gives the request back with the build to follow.
    let from_job = t.attach_request(&v.id).unwrap();
    assert_eq!(from_job.attach.as_deref(), Some(id.as_str()));
    assert!(!from_job.detached);
    assert_eq!(from_job.definition, DEF);
    let v = build(
        &t,
        BuildRequest {
            destination: Some(w.path("attached.sif").display().to_string()),
            ..from_job
        },
    )
    .await;
    assert_eq!(v.state, JobState::Succeeded, "{:?}", v.error);
    assert_eq!(built(&v).build_id.as_deref(), Some(id.as_str()));
    assert_eq!(std::fs::read(w.path("attached.sif")).unwrap(), busybox());
    assert_eq!(w.builder.builds().len(), 1, "attached, not built again");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_build_interrupted_by_quitting_is_reattached_on_retry() {
    let w = world(|o| {
        o.log_lines = (0..30).map(|i| format!("line {i}")).collect();
        o.line_delay_ms = 40;
    })
    .await;
    let store = w.dirs.config().join("jobs.json");
    let t = w.transfers(Jobs::persisted(store.clone()));
    let req = w.request("reattached.sif");
    let (id, run) = start_until_logged(&t, req, "line 2").await;
    // Berth stops: the task is gone mid-stream, the builder goes on.
    run.abort();
    let _ = run.await;
    drop(t);

    let again = w.transfers(Jobs::persisted(store));
    let before = again.jobs().get(&id).unwrap();
    assert!(before.resumable, "{before:?}");
    assert!(before.build_id.is_some());
    assert!(
        again
            .jobs()
            .log(&id)
            .unwrap()
            .lines
            .iter()
            .any(|l| l == "line 2"),
        "the log survives in its file"
    );
    let (request, job) = again.begin_retry(&id).unwrap();
    let v = again.run(request, job).await;
    assert_eq!(v.state, JobState::Succeeded, "{:?}", v.error);
    assert_eq!(w.builder.builds().len(), 1, "attached, not submitted again");
    assert_eq!(std::fs::read(w.path("reattached.sif")).unwrap(), busybox());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refusals_come_before_anything_is_sent() {
    let w = world(|_| {}).await;
    let t = w.transfers(Jobs::in_memory());
    let bad = BuildRequest {
        definition: "Bootstrap: docker\nFrom: alpine\n%postt\n".into(),
        ..w.request("bad.sif")
    };
    let e = t.begin_build(&bad, None).err().unwrap();
    assert_eq!(e.code(), "build.invalid_definition");
    assert!(e.to_string().contains("line 3"), "{e}");
    let local = BuildRequest {
        definition: "Bootstrap: localimage\nFrom: base.sif\n".into(),
        ..w.request("local.sif")
    };
    let e = t.begin_build(&local, None).err().unwrap();
    assert_eq!(e.code(), "build.remote_unsupported");
    let unsaved = BuildRequest {
        definition: format!("{DEF}%files\n    data.txt /opt/\n"),
        definition_path: None,
        ..w.request("unsaved.sif")
    };
    let e = t.begin_build(&unsaved, None).err().unwrap();
    assert_eq!(e.code(), "build.unsaved_relative_files");
    std::fs::write(w.path("taken.sif"), b"keep me").unwrap();
    let e = t.begin_build(&w.request("taken.sif"), None).err().unwrap();
    assert_eq!(e.code(), "pull.destination_exists");
    assert_eq!(std::fs::read(w.path("taken.sif")).unwrap(), b"keep me");
    assert!(w.builder.builds().is_empty());
}

/// Starts a build in the background and returns once its log has `line`.
async fn start_until_logged(
    t: &Arc<Transfers>,
    req: BuildRequest,
    line: &str,
) -> (String, tokio::task::JoinHandle<JobView>) {
    let job = t.begin_build(&req, None).unwrap();
    let id = job.id().to_owned();
    let run = tokio::spawn({
        let t = t.clone();
        async move { t.run_build(req, job).await }
    });
    wait_for(|| t.jobs().log(&id).unwrap().lines.iter().any(|l| l == line)).await;
    (id, run)
}

async fn wait_for(mut ok: impl FnMut() -> bool) {
    for _ in 0..300 {
        if ok() {
            return;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    panic!("timed out");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_library_base_is_fetched_from_the_remote_and_built_on_this_computer() {
    let w = world(|_| {}).await;
    w.library.add_image(
        "library://ada/base/busybox:1.36",
        busybox(),
        "amd64",
        &[],
        false,
    );
    let t = w.transfers(Jobs::in_memory());
    let req = BuildRequest {
        definition: "Bootstrap: library\nFrom: ada/base/busybox:1.36\n\n%runscript\n    echo from the library\n"
            .into(),
        mode: BuildMode::Local,
        library_ref: None,
        ..w.request("from-library.sif")
    };
    let v = build(&t, req).await;
    assert_eq!(v.state, JobState::Succeeded, "{:?}", v.error);
    let b = built(&v);
    assert_eq!(b.mode, BuildMode::Local);
    assert!(b.build_id.is_none());
    assert!(w.builder.builds().is_empty(), "no build service involved");
    let spool = tempfile::tempdir().unwrap();
    let (root, _) = berth_sifbuild::RootFs::from_sif(
        spool.path(),
        &w.path("from-library.sif"),
        &berth_progress::Cancel::new(),
    )
    .unwrap();
    assert!(root.exists("bin/busybox"), "the base's files are kept");
    let runscript = String::from_utf8(root.read(".singularity.d/runscript").unwrap()).unwrap();
    assert!(runscript.contains("echo from the library"), "{runscript}");
    // The base's own definition is kept in the history.
    assert!(root.exists(".singularity.d/bootstrap_history/Apptainer0"));
    let log = t.jobs().log(&v.id).unwrap().lines;
    assert!(
        log.iter().any(|l| l.contains("Downloading library image")),
        "{log:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn build_arguments_fill_the_definition_for_both_kinds_of_build() {
    let w = world(|_| {}).await;
    let t = w.transfers(Jobs::in_memory());
    let template = "Bootstrap: scratch\n\n%arguments\n    GREETING=hello\n    WHO\n\n%runscript\n    echo {{ GREETING }} {{ WHO }} '{{ .Go }}'\n";
    let local = BuildRequest {
        definition: template.into(),
        mode: BuildMode::Local,
        library_ref: None,
        build_args: vec!["WHO=world".into(), "EXTRA=1".into()],
        ..w.request("args.sif")
    };
    let v = build(&t, local.clone()).await;
    assert_eq!(v.state, JobState::Succeeded, "{:?}", v.error);
    let spool = tempfile::tempdir().unwrap();
    let (root, _) = berth_sifbuild::RootFs::from_sif(
        spool.path(),
        &w.path("args.sif"),
        &berth_progress::Cancel::new(),
    )
    .unwrap();
    let runscript = String::from_utf8(root.read(".singularity.d/runscript").unwrap()).unwrap();
    assert!(
        runscript.contains("echo hello world '{{ .Go }}'"),
        "{runscript}"
    );
    // The image keeps the definition it was built from, placeholders filled.
    let stored = String::from_utf8(root.read(".singularity.d/Singularity").unwrap()).unwrap();
    assert!(stored.contains("echo hello world") && !stored.contains("{{ WHO }}"));
    let log = t.jobs().log(&v.id).unwrap().lines;
    assert!(
        log.contains(&"WARNING: Unused build variables: EXTRA".to_owned()),
        "{log:?}"
    );

    // A placeholder without a value is refused before anything runs.
    let e = t
        .begin_build(
            &BuildRequest {
                build_args: vec![],
                ..local.clone()
            },
            None,
        )
        .err()
        .unwrap();
    assert_eq!(e.code(), "build.argument_missing");
    assert!(e.to_string().contains("WHO"), "{e}");
    let e = t
        .begin_build(
            &BuildRequest {
                build_args: vec!["no equals".into()],
                ..local
            },
            None,
        )
        .err()
        .unwrap();
    assert_eq!(e.code(), "build.invalid_argument");

    // The build service gets the filled file.
    let remote = BuildRequest {
        definition: "Bootstrap: docker\nFrom: alpine:{{ TAG }}\n%post\n    true\n".into(),
        build_args: vec!["TAG=3.20".into()],
        ..w.request("remote-args.sif")
    };
    let v = build(&t, remote).await;
    assert_eq!(v.state, JobState::Succeeded, "{:?}", v.error);
    assert!(w.builder.builds()[0]
        .definition
        .contains("From: alpine:3.20\n"));
}
