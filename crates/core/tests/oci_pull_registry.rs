//! docker:// pulls as jobs against Debian's docker-registry with images built by umoci:
//! the SIF is written where asked, carries the Apptainer skeleton and the image's command,
//! is cached (a second pull builds nothing), and a wrong reference fails cleanly.

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
use berth_testkit::{OciImage, RegistryPeer};

fn transfers(dir: &Path) -> Arc<Transfers> {
    transfers_with(dir, None)
}

fn transfers_with(
    dir: &Path,
    logins: Option<Arc<berth_core::registries::RegistryLogins>>,
) -> Arc<Transfers> {
    let dirs = AppDirs::at(dir.join("config"));
    std::fs::create_dir_all(dirs.config()).unwrap();
    let remotes = Arc::new(Remotes::new(&dirs, Arc::new(MemoryStore::new())));
    let settings = Arc::new(SettingsStore::new(&dirs));
    let keys = Arc::new(Keys::at(
        berth_integrity::KeyPaths::at(dir.join("keys")),
        settings.clone(),
    ));
    let t = Transfers::new(
        Arc::new(Libraries::new(remotes)),
        keys,
        settings,
        ImageCache::new(dirs.cache()),
        Jobs::in_memory(),
    );
    Arc::new(match logins {
        Some(l) => t.with_registries(l),
        None => t,
    })
}

fn busybox(tag: &str) -> OciImage {
    let img = OciImage::new(tag).unwrap();
    let root = img.rootfs();
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("busybox-static");
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/motd"), "first layer\n").unwrap();
    img.layer().unwrap();
    // A second layer deletes the first layer's file (umoci writes a .wh. whiteout).
    std::fs::remove_file(root.join("etc/motd")).unwrap();
    std::fs::write(root.join("etc/greeting"), "hello from layer two\n").unwrap();
    img.layer().unwrap();
    img.config(&["--config.cmd=sh", "--config.env=GREETING=hello world"])
        .unwrap();
    img
}

async fn pull(t: &Arc<Transfers>, reference: &str, dest: &Path) -> JobView {
    let req = PullRequest {
        remote: None,
        reference: reference.into(),
        arch: Some("amd64".into()),
        destination: Some(dest.display().to_string()),
        force: false,
        no_cache: false,
        verify: false,
    };
    let job = t.begin_pull(&req, None).unwrap();
    t.run_pull(req, job).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docker_image_becomes_a_sif_that_carries_its_command() {
    let registry = RegistryPeer::start().unwrap();
    let img = busybox("1.36");
    registry
        .push(&img.layout(), img.tag(), "test/busybox", false, false)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = transfers(dir.path());
    let reference = format!("docker://{}/test/busybox:1.36", registry.host());
    let out = dir.path().join("out");
    std::fs::create_dir(&out).unwrap();

    let done = pull(&t, &reference, &out).await;
    assert_eq!(done.state, JobState::Succeeded, "{:?}", done.error);
    let Some(JobResult::Pulled(p)) = done.result else {
        panic!("pull result")
    };
    assert_eq!(p.path, out.join("busybox_1.36.sif").display().to_string());
    assert!(!p.from_cache);
    assert!(p.hash.starts_with("sha256:"), "{}", p.hash);

    // Berth's own reader: the partition is amd64 (from the busybox ELF), and the container
    // metadata shows the skeleton: runscript with the command, env from the config.
    let details = berth_core::inspect::inspect(Path::new(&p.path)).unwrap();
    let meta = details.container.expect("container metadata");
    let runscript = meta.runscript.expect("runscript");
    assert!(runscript.contains("OCI_CMD='\"sh\"'"), "{runscript}");
    assert!(runscript.contains("eval \"set ${SINGULARITY_OCI_RUN}\""));
    let env: String = meta.environment.iter().map(|e| e.content.clone()).collect();
    assert!(env.contains("GREETING"), "{env}");

    // The whiteout removed etc/motd; the second layer's file is there.
    let listing = std::process::Command::new("sh")
        .arg("-c")
        .arg(format!(
            "siftool dump 4 '{}' > '{dir}/p.sqfs' && unsquashfs -lln '{dir}/p.sqfs'",
            p.path,
            dir = dir.path().display()
        ))
        .output()
        .unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    assert!(listing.contains("/etc/greeting"), "{listing}");
    assert!(!listing.contains("/etc/motd"), "{listing}");
    assert!(listing.contains("/.singularity.d/runscript"), "{listing}");

    // A second pull of the same image and platform builds nothing.
    let again = pull(&t, &reference, &dir.path().join("again.sif")).await;
    let Some(JobResult::Pulled(p2)) = again.result else {
        panic!("{:?}", again.error)
    };
    assert!(p2.from_cache);
    assert_eq!(
        std::fs::read(&p.path).unwrap(),
        std::fs::read(dir.path().join("again.sif")).unwrap()
    );

    // A tag that does not exist fails with a code, and leaves no file.
    let missing = dir.path().join("missing.sif");
    let failed = pull(
        &t,
        &format!("docker://{}/test/busybox:nope", registry.host()),
        &missing,
    )
    .await;
    assert_eq!(failed.state, JobState::Failed);
    assert_eq!(failed.error.unwrap().code, "oci.not_found");
    assert!(!missing.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sif_pushed_with_oras_comes_back_identical() {
    let registry = RegistryPeer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = transfers(dir.path());
    let sif = dir.path().join("busybox.sif");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/testdata/sif/images/apptainer-e2e/busybox_amd64.sif"),
        &sif,
    )
    .unwrap();
    let reference = format!("oras://{}/sifs/busybox:1.36", registry.host());
    let req = berth_core::model_transfer::PushRequest {
        remote: None,
        file: sif.display().to_string(),
        reference: reference.clone(),
        description: String::new(),
        arch: None,
        allow_unsigned: false,
        private: false,
    };
    let job = t.begin_push(&req, None).unwrap();
    let pushed = t.run_push(req, job).await;
    let Some(JobResult::Pushed(p)) = pushed.result else {
        panic!("{:?}", pushed.error)
    };
    assert!(p.hash.starts_with("sha256:"));
    assert_eq!(p.arch, "amd64");
    assert_eq!(
        p.reference,
        format!("oras://{}/sifs/busybox:1.36", registry.host())
    );

    let back = dir.path().join("back.sif");
    let pulled = pull(&t, &reference, &back).await;
    let Some(JobResult::Pulled(r)) = pulled.result else {
        panic!("{:?}", pulled.error)
    };
    assert_eq!(std::fs::read(&back).unwrap(), std::fs::read(&sif).unwrap());
    assert_eq!(r.size, std::fs::metadata(&sif).unwrap().len());
    assert!(r.verify.is_none(), "verify was not asked for");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_private_registry_needs_the_login_kept_in_the_keychain() {
    let registry = RegistryPeer::start_with_basic_auth("ada", "s3cret-pw").unwrap();
    let img = busybox("v1");
    registry
        .push(&img.layout(), img.tag(), "private/busybox", false, true)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let dirs = AppDirs::at(dir.path().join("config"));
    let logins = Arc::new(
        berth_core::registries::RegistryLogins::new(&dirs, Arc::new(MemoryStore::new()))
            .with_docker_config(None),
    );
    let t = transfers_with(dir.path(), Some(logins.clone()));
    let reference = format!("docker://{}/private/busybox:v1", registry.host());

    let refused = pull(&t, &reference, &dir.path().join("no.sif")).await;
    assert_eq!(refused.state, JobState::Failed);
    let e = refused.error.unwrap();
    assert_eq!(e.code, "registry.unauthorized");
    assert!(e.hint.unwrap().contains("registry login"));
    assert!(!e.message.contains("s3cret"));

    logins
        .login(
            &registry.host(),
            "ada",
            &berth_core::credentials::Token::new("s3cret-pw"),
        )
        .unwrap();
    let done = pull(&t, &reference, &dir.path().join("yes.sif")).await;
    assert_eq!(done.state, JobState::Succeeded, "{:?}", done.error);
}

/// The manifest's layer digests of an OCI layout's only image.
fn layer_digests(layout: &Path) -> Vec<String> {
    let read = |p: &Path| -> serde_json::Value {
        serde_json::from_slice(&std::fs::read(p).unwrap()).unwrap()
    };
    let blob = |digest: &str| layout.join("blobs/sha256").join(&digest["sha256:".len()..]);
    let index = read(&layout.join("index.json"));
    let manifest = read(&blob(index["manifests"][0]["digest"].as_str().unwrap()));
    manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["digest"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_layer_fails_the_pull_with_its_digest_error_and_keeps_nothing() {
    let registry = RegistryPeer::start().unwrap();
    let img = busybox("bad");
    registry
        .push(&img.layout(), img.tag(), "test/damaged", false, false)
        .unwrap();
    // Layers unpack as soon as they arrive; the second one's bytes are damaged in the
    // registry's storage, so its digest check fails after the first may be applied.
    let digests = layer_digests(&img.layout());
    assert_eq!(digests.len(), 2);
    let hex = &digests[1]["sha256:".len()..];
    let data = registry
        .storage()
        .join("docker/registry/v2/blobs/sha256")
        .join(&hex[..2])
        .join(hex)
        .join("data");
    let mut bytes = std::fs::read(&data).unwrap();
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(&data, bytes).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let t = transfers(dir.path());
    let dest = dir.path().join("damaged.sif");
    let done = pull(
        &t,
        &format!("docker://{}/test/damaged:bad", registry.host()),
        &dest,
    )
    .await;
    assert_eq!(done.state, JobState::Failed);
    assert_eq!(done.error.unwrap().code, "oci.digest_mismatch");
    assert!(!dest.exists());
    // The damaged bytes never enter the shared store (the first failure stops the other
    // downloads, so whether the first layer got there depends on timing).
    let store = t.cache().blobs_dir().join("sha256");
    assert!(!store.join(hex).exists());
}
