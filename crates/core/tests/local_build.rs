//! Definition builds without root, checked with the reference tools: Debian's `siftool`
//! lists and dumps the objects, `unsquashfs` lists and reads the file system, and
//! busybox's shell runs the scripts the build wrote. Bases: scratch, a docker:// image in a
//! local docker-registry, a SIF on disk and one pushed with oras://.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Arc, Mutex};

use berth_core::credentials::MemoryStore;
use berth_core::image_cache::ImageCache;
use berth_core::jobs::{JobRequest, JobSpec, Jobs};
use berth_core::libraries::Libraries;
use berth_core::model_transfer::{JobKind, JobResult, PullRequest};
use berth_core::remotes::Remotes;
use berth_core::transfers::Transfers;
use berth_core::{AppDirs, Keys, SettingsStore};
use berth_testkit::{OciImage, RegistryPeer};

const BUSYBOX_SIF: &str = "../../../shared/testdata/sif/images/apptainer-e2e/busybox_amd64.sif";

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

struct Built {
    result: berth_core::Result<(String, u64)>,
    log: Vec<String>,
}

/// Runs a local build of `text` (a definition in `def_dir`) into `out`.
async fn build(t: &Transfers, text: &str, def_dir: &Path, out: &Path) -> Built {
    let def = berth_build::Definition::parse(text).expect("the test definition parses");
    let pull = PullRequest {
        remote: None,
        reference: "unused".into(),
        arch: None,
        destination: None,
        force: false,
        no_cache: false,
        verify: false,
    };
    let job = t
        .jobs()
        .begin(
            JobSpec {
                kind: JobKind::Build,
                title: "Build".into(),
                remote: "local".into(),
                source: "test.def".into(),
                destination: Some(out.display().to_string()),
                request: JobRequest::Pull(pull),
            },
            None,
        )
        .unwrap();
    let lines = Mutex::new(Vec::new());
    let log = |l: &str| lines.lock().unwrap().push(l.to_owned());
    let result = t
        .build_locally(&def, def_dir, Some("amd64"), None, out, &job, &log)
        .await
        .map(|b| (b.arch, b.size));
    Built {
        result,
        log: lines.into_inner().unwrap(),
    }
}

fn sh(cmd: &str) -> String {
    let out = Command::new("sh").arg("-c").arg(cmd).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The image's objects and file system, through the reference tools.
struct Sif {
    path: PathBuf,
    squashfs: PathBuf,
}

impl Sif {
    fn open(path: &Path, scratch: &Path) -> Sif {
        let image = berth_sif::Image::open(path).unwrap();
        let id = image.primary_partition().unwrap().id;
        let squashfs = scratch.join(format!(
            "{}.sqfs",
            path.file_name().unwrap().to_string_lossy()
        ));
        sh(&format!(
            "siftool dump {id} '{}' > '{}'",
            path.display(),
            squashfs.display()
        ));
        Sif {
            path: path.to_path_buf(),
            squashfs,
        }
    }

    fn siftool_list(&self) -> String {
        sh(&format!("siftool list '{}'", self.path.display()))
    }

    /// Object `id` as `siftool dump` writes it.
    fn object(&self, id: u32) -> Vec<u8> {
        let out = Command::new("siftool")
            .args(["dump", &id.to_string()])
            .arg(&self.path)
            .output()
            .unwrap();
        assert!(out.status.success());
        out.stdout
    }

    /// The id of the JSON object named `name`.
    fn json_id(&self, name: &str) -> Option<u32> {
        let image = berth_sif::Image::open(&self.path).unwrap();
        image
            .descriptors()
            .iter()
            .find(|d| d.name == name)
            .map(|d| d.id)
    }

    /// `(permissions, path[ -> target])` of every entry, from `unsquashfs -lln`.
    fn listing(&self) -> BTreeSet<(String, String)> {
        sh(&format!("unsquashfs -lln '{}'", self.squashfs.display()))
            .lines()
            .filter_map(|l| {
                let perm = l.split_whitespace().next()?.to_owned();
                let at = l.find("squashfs-root")?;
                let path = l[at + "squashfs-root".len()..].to_owned();
                Some((perm, if path.is_empty() { "/".into() } else { path }))
            })
            .collect()
    }

    fn paths(&self) -> BTreeSet<String> {
        self.listing().into_iter().map(|(_, p)| p).collect()
    }

    fn cat(&self, path: &str) -> String {
        sh(&format!(
            "unsquashfs -cat '{}' '{path}'",
            self.squashfs.display()
        ))
    }

    fn labels(&self) -> serde_json::Map<String, serde_json::Value> {
        serde_json::from_str(&self.cat("/.singularity.d/labels.json")).unwrap()
    }
}

const SCRATCH_DEF: &str = r#"Bootstrap: scratch

%files
    hello.txt /opt/hello.txt
    data /opt/
    "two words.txt" /opt/two.txt
    bin/*box

%environment
    export GREETING="hello from env"

%labels
    Maintainer Berth Tests
    Version 1.0

%runscript
    echo "runscript says $GREETING" "$@"

%help
    Run it to get greeted.

%test
    test -f /opt/hello.txt
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_scratch_build_carries_files_scripts_labels_and_its_definition() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path().join("ctx");
    std::fs::create_dir_all(ctx.join("data/sub")).unwrap();
    std::fs::create_dir_all(ctx.join("bin")).unwrap();
    std::fs::write(ctx.join("hello.txt"), "hello\n").unwrap();
    std::fs::write(ctx.join("two words.txt"), "two\n").unwrap();
    std::fs::write(ctx.join("data/a"), "a\n").unwrap();
    std::fs::write(ctx.join("data/sub/b"), "b\n").unwrap();
    std::fs::copy("/bin/busybox", ctx.join("bin/busybox")).expect("busybox-static");
    let t = transfers(dir.path());
    let out = dir.path().join("out.sif");

    let built = build(&t, SCRATCH_DEF, &ctx, &out).await;
    let (arch, size) = built.result.expect("the build succeeds");
    assert_eq!(arch, "amd64", "the arch comes from the busybox ELF");
    assert_eq!(size, std::fs::metadata(&out).unwrap().len());
    for line in [
        "INFO:    Starting build...",
        "INFO:    Copying hello.txt to /opt/hello.txt",
        "INFO:    Copying bin/*box to ",
        "INFO:    Adding labels",
        "INFO:    Adding runscript",
        "INFO:    Creating SIF file...",
    ] {
        assert!(
            built.log.iter().any(|l| l == line),
            "{line:?} in {:#?}",
            built.log
        );
    }
    assert!(built.log.iter().any(|l| l.starts_with("WARNING: %test")));

    let sif = Sif::open(&out, dir.path());
    let list = sif.siftool_list();
    assert!(list.contains("Def.FILE"), "{list}");
    assert!(list.contains("FS (Squashfs/*System/amd64)"), "{list}");
    assert_eq!(
        sif.object(1),
        SCRATCH_DEF.as_bytes(),
        "Def.FILE holds the definition"
    );
    assert!(sif.json_id("inspect-metadata.json").is_some());
    assert!(
        sif.json_id("oci-config.json").is_none(),
        "no OCI config without an OCI base"
    );

    let listing = sif.listing();
    for (perm, path) in [
        ("-rw-r--r--", "/opt/hello.txt"),
        ("-rw-r--r--", "/opt/two.txt"),
        ("drwxr-xr-x", "/opt/data"),
        ("-rw-r--r--", "/opt/data/a"),
        ("-rw-r--r--", "/opt/data/sub/b"),
        ("-rwxr-xr-x", "/bin/busybox"),
        ("-rwxr-xr-x", "/.singularity.d/runscript"),
        ("-rwxr-xr-x", "/.singularity.d/test"),
        ("-rw-r--r--", "/.singularity.d/runscript.help"),
        ("-rw-r--r--", "/.singularity.d/labels.json"),
        ("-rw-r--r--", "/.singularity.d/Singularity"),
        ("-rwxr-xr-x", "/.singularity.d/env/90-environment.sh"),
        ("-rwxr-xr-x", "/.singularity.d/actions/run"),
        (
            "lrwxrwxrwx",
            "/environment -> .singularity.d/env/90-environment.sh",
        ),
    ] {
        assert!(
            listing.contains(&(perm.to_owned(), path.to_owned())),
            "{perm} {path} in {listing:#?}"
        );
    }
    assert_eq!(sif.cat("/opt/hello.txt"), "hello\n");
    assert_eq!(sif.cat("/opt/data/sub/b"), "b\n");
    assert_eq!(sif.cat("/.singularity.d/Singularity"), SCRATCH_DEF);
    assert_eq!(
        sif.cat("/.singularity.d/runscript"),
        "#!/bin/sh\n\n    echo \"runscript says $GREETING\" \"$@\"\n\n\n"
    );
    assert_eq!(
        sif.cat("/.singularity.d/test"),
        "#!/bin/sh\n\n    test -f /opt/hello.txt\n\n"
    );
    assert_eq!(
        sif.cat("/.singularity.d/runscript.help"),
        "    Run it to get greeted.\n\n\n"
    );
    let labels = sif.labels();
    assert_eq!(labels["Maintainer"], "Berth Tests");
    assert_eq!(labels["Version"], "1.0");
    assert_eq!(
        labels["org.label-schema.usage.singularity.deffile.bootstrap"],
        "scratch"
    );
    assert_eq!(
        labels["org.label-schema.usage"],
        "/.singularity.d/runscript.help"
    );
    assert_eq!(labels["org.label-schema.build-arch"], "amd64");

    // The environment and the runscript as a shell runs them.
    let scripts = dir.path().join("scripts");
    std::fs::create_dir(&scripts).unwrap();
    std::fs::write(
        scripts.join("env.sh"),
        sif.cat("/.singularity.d/env/90-environment.sh"),
    )
    .unwrap();
    std::fs::write(scripts.join("run"), sif.cat("/.singularity.d/runscript")).unwrap();
    let said = sh(&format!(
        "cd '{}' && /bin/busybox sh -c '. ./env.sh && /bin/busybox sh ./run one two'",
        scripts.display()
    ));
    assert_eq!(said, "runscript says hello from env one two\n");
}

fn busybox_image(tag: &str) -> OciImage {
    let img = OciImage::new(tag).unwrap();
    let root = img.rootfs();
    std::fs::create_dir_all(root.join("bin")).unwrap();
    std::fs::copy("/bin/busybox", root.join("bin/busybox")).expect("busybox-static");
    std::os::unix::fs::symlink("busybox", root.join("bin/sh")).unwrap();
    std::fs::create_dir_all(root.join("etc")).unwrap();
    std::fs::write(root.join("etc/greeting"), "hello from the image\n").unwrap();
    img.layer().unwrap();
    img.config(&[
        "--config.cmd=sh",
        "--config.env=GREETING=hello world",
        "--config.label=org.example.base=yes",
    ])
    .unwrap();
    img
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_docker_base_gives_the_pulled_tree_plus_the_sections() {
    let registry = RegistryPeer::start().unwrap();
    let img = busybox_image("1.36");
    registry
        .push(&img.layout(), img.tag(), "test/busybox", false, false)
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = transfers(dir.path());
    let reference = format!("{}/test/busybox:1.36", registry.host());

    // The same image pulled the ordinary way, to compare with.
    let pulled = dir.path().join("pulled.sif");
    let req = PullRequest {
        remote: None,
        reference: format!("docker://{reference}"),
        arch: Some("amd64".into()),
        destination: Some(pulled.display().to_string()),
        force: false,
        no_cache: false,
        verify: false,
    };
    let job = t.begin_pull(&req, None).unwrap();
    let done = t.run_pull(req, job).await;
    assert!(
        matches!(done.result, Some(JobResult::Pulled(_))),
        "{:?}",
        done.error
    );

    let ctx = dir.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("hello.txt"), "added\n").unwrap();
    let def = format!(
        "Bootstrap: docker\nFrom: {reference}   # the test image\n\n%files\n    hello.txt /etc/hello.txt\n\n%environment\n    export EXTRA=1\n\n%labels\n    org.example.base no\n    org.example.mine yes\n"
    );
    let out = dir.path().join("built.sif");
    let built = build(&t, &def, &ctx, &out).await;
    let (arch, _) = built.result.expect("the build succeeds");
    assert_eq!(arch, "amd64");
    assert!(built
        .log
        .iter()
        .any(|l| l.starts_with("WARNING: Label: org.example.base already exists")));

    let base = Sif::open(&pulled, dir.path());
    let sif = Sif::open(&out, dir.path());
    let mut expected = base.listing();
    expected.insert(("-rw-r--r--".into(), "/etc/hello.txt".into()));
    assert_eq!(sif.listing(), expected, "the pulled tree plus the %files");
    assert_eq!(sif.cat("/etc/hello.txt"), "added\n");
    // No %runscript: the image's command stays the runscript.
    assert_eq!(
        sif.cat("/.singularity.d/runscript"),
        base.cat("/.singularity.d/runscript")
    );
    assert_eq!(
        sif.cat("/.singularity.d/env/10-docker2singularity.sh"),
        base.cat("/.singularity.d/env/10-docker2singularity.sh")
    );
    assert!(sif
        .cat("/.singularity.d/env/90-environment.sh")
        .ends_with("\n    export EXTRA=1\n\n\n"));
    assert_eq!(sif.cat("/.singularity.d/Singularity"), def);
    assert_eq!(sif.object(1), def.as_bytes());
    let labels = sif.labels();
    assert_eq!(
        labels["org.example.base"], "yes",
        "base labels win without force"
    );
    assert_eq!(labels["org.example.mine"], "yes");
    assert_eq!(
        labels["org.label-schema.usage.singularity.deffile.from"],
        reference
    );
    // The image config travels as in a pull.
    let config_id = sif.json_id("oci-config.json").expect("oci-config.json");
    let base_config = base.json_id("oci-config.json").unwrap();
    assert_eq!(sif.object(config_id), base.object(base_config));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_local_sif_base_keeps_its_files_and_its_history() {
    let dir = tempfile::tempdir().unwrap();
    let base_path = Path::new(env!("CARGO_MANIFEST_DIR")).join(BUSYBOX_SIF);
    let ctx = dir.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("hello.txt"), "local\n").unwrap();
    std::fs::copy(&base_path, ctx.join("base.sif")).unwrap();
    let def = "Bootstrap: localimage\nFrom: base.sif\n\n%files\n    hello.txt\n\n%runscript\n    exec /bin/echo local \"$@\"\n";
    let t = transfers(dir.path());
    let out = dir.path().join("built.sif");
    let built = build(&t, def, &ctx, &out).await;
    let (arch, _) = built.result.expect("the build succeeds");
    assert_eq!(arch, "amd64");
    assert!(built
        .log
        .iter()
        .any(|l| l == "INFO:    Extracting local image..."));

    let base = Sif::open(&base_path, dir.path());
    let sif = Sif::open(&out, dir.path());
    let paths = sif.paths();
    let missing: Vec<_> = base.paths().difference(&paths).cloned().collect();
    assert!(missing.is_empty(), "base entries lost: {missing:?}");
    assert!(paths.contains("/hello.txt"));
    assert_eq!(sif.cat("/hello.txt"), "local\n");
    // The base's own definition moved to the history; ours took its place.
    assert_eq!(
        sif.cat("/.singularity.d/bootstrap_history/Apptainer0"),
        base.cat("/.singularity.d/Singularity")
    );
    assert_eq!(sif.cat("/.singularity.d/Singularity"), def);
    assert_eq!(
        sif.cat("/.singularity.d/runscript"),
        "#!/bin/sh\n\n    exec /bin/echo local \"$@\"\n\n"
    );
    // Kept from the base: its Docker environment and its image config.
    assert_eq!(
        sif.cat("/.singularity.d/env/10-docker2singularity.sh"),
        base.cat("/.singularity.d/env/10-docker2singularity.sh")
    );
    let id = sif
        .json_id("oci-config.json")
        .expect("kept oci-config.json");
    assert_eq!(
        sif.object(id),
        base.object(base.json_id("oci-config.json").unwrap())
    );
    let labels = sif.labels();
    assert_eq!(
        labels["org.label-schema.usage.singularity.deffile.bootstrap"],
        "localimage"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oras_base_is_fetched_and_read_like_a_local_one() {
    let registry = RegistryPeer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let t = transfers(dir.path());
    let sif = dir.path().join("busybox.sif");
    std::fs::copy(
        Path::new(env!("CARGO_MANIFEST_DIR")).join(BUSYBOX_SIF),
        &sif,
    )
    .unwrap();
    let reference = format!("{}/sifs/busybox:1.33", registry.host());
    let req = berth_core::model_transfer::PushRequest {
        remote: None,
        file: sif.display().to_string(),
        reference: format!("oras://{reference}"),
        description: String::new(),
        arch: None,
        allow_unsigned: true,
        private: false,
    };
    let job = t.begin_push(&req, None).unwrap();
    let pushed = t.run_push(req, job).await;
    assert!(pushed.error.is_none(), "{:?}", pushed.error);

    let def = format!("Bootstrap: oras\nFrom: {reference}\n\n%labels\n    via oras\n");
    let out = dir.path().join("built.sif");
    let built = build(&t, &def, dir.path(), &out).await;
    built.result.expect("the build succeeds");
    let built = Sif::open(&out, dir.path());
    assert!(built.paths().contains("/bin/busybox"));
    assert_eq!(built.labels()["via"], "oras");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn definitions_that_run_scripts_are_refused_with_the_sections_named() {
    let dir = tempfile::tempdir().unwrap();
    let t = transfers(dir.path());
    let out = dir.path().join("never.sif");
    let def = "Bootstrap: docker\nFrom: alpine\n\n%setup\n    touch x\n\n%post\n    apk add curl\n";
    let built = build(&t, def, dir.path(), &out).await;
    let err = built.result.unwrap_err();
    let api = berth_core::ApiError::from(&err);
    assert_eq!(api.code, "build.needs_remote");
    assert!(api.message.contains("%setup, %post"), "{}", api.message);
    assert!(api.hint.unwrap().contains("remote builder"));
    assert!(!out.exists());
    assert!(built.log.is_empty(), "refused before anything starts");

    let def = "Bootstrap: yum\nOSVersion: 9\n\n%labels\n    a b\n";
    let err = build(&t, def, dir.path(), &out).await.result.unwrap_err();
    assert_eq!(err.code(), "build.agent_not_local");

    // Any stage that runs a script stops the build, not only the last one.
    let def = "Bootstrap: scratch\nStage: one\n%post\n    make\n\nBootstrap: scratch\n\n%files from one\n    /x /x\n";
    let err = build(&t, def, dir.path(), &out).await.result.unwrap_err();
    assert_eq!(err.code(), "build.needs_remote");

    assert!(!out.exists());
}

/// A base SIF whose tree holds `/escape -> <host dir>` (absolute) and `/up -> ../../..`.
fn base_with_escaping_links(dir: &Path, host_target: &Path) -> PathBuf {
    let mut root = berth_sifbuild::RootFs::new(dir).unwrap();
    root.add_symlink("escape", &host_target.display().to_string())
        .unwrap();
    root.add_symlink("up", "../../..").unwrap();
    root.add_file("bin/placeholder", 0o644, b"x").unwrap();
    let sqfs = dir.join("base.sqfs");
    berth_sifbuild::write_squashfs(
        &root,
        &sqfs,
        Arc::new(berth_progress::NoProgress),
        &berth_progress::Cancel::new(),
    )
    .unwrap();
    let sif = dir.join("links.sif");
    berth_sifbuild::assemble_sif(&sif, b"", &[], &sqfs, "amd64").unwrap();
    sif
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn files_never_leave_the_tree_and_host_loops_are_errors() {
    let dir = tempfile::tempdir().unwrap();
    let host_target = dir.path().join("host-target");
    std::fs::create_dir(&host_target).unwrap();
    let ctx = dir.path().join("ctx");
    std::fs::create_dir_all(&ctx).unwrap();
    std::fs::write(ctx.join("hello.txt"), "payload\n").unwrap();
    let base = base_with_escaping_links(dir.path(), &host_target);
    std::fs::copy(&base, ctx.join("links.sif")).unwrap();
    let t = transfers(dir.path());

    let def = "Bootstrap: localimage\nFrom: links.sif\n\n%files\n    hello.txt /escape/through-link.txt\n    hello.txt /up/up.txt\n    hello.txt ../../../../dotdot.txt\n";
    let out = dir.path().join("safe.sif");
    build(&t, def, &ctx, &out)
        .await
        .result
        .expect("the build succeeds");
    // Nothing was written on the host through the links or the `..`.
    assert_eq!(std::fs::read_dir(&host_target).unwrap().count(), 0);
    assert!(!Path::new("/up.txt").exists() && !Path::new("/dotdot.txt").exists());
    let sif = Sif::open(&out, dir.path());
    let paths = sif.paths();
    // The absolute link is re-rooted at the image's root; `..` stops there.
    let inside = format!("{}/through-link.txt", host_target.display());
    assert!(paths.contains(&inside), "{inside} in {paths:#?}");
    assert!(paths.contains("/up.txt"));
    assert!(paths.contains("/dotdot.txt"));
    assert_eq!(sif.cat(&inside), "payload\n");

    // A host directory that links into itself: an error that names the line.
    std::fs::create_dir_all(ctx.join("tree/sub")).unwrap();
    std::os::unix::fs::symlink("..", ctx.join("tree/sub/loop")).unwrap();
    let def = "Bootstrap: scratch\n\n%files\n    hello.txt /ok.txt\n    tree /tree\n";
    let out = dir.path().join("loop.sif");
    let err = build(&t, def, &ctx, &out).await.result.unwrap_err();
    let api = berth_core::ApiError::from(&err);
    assert_eq!(api.code, "files-copy");
    assert!(api.message.starts_with("%files line 5:"), "{}", api.message);
    assert!(api.message.contains("loop"), "{}", api.message);

    // A source that does not exist, likewise.
    let def = "Bootstrap: scratch\n\n%files\n    nothing-here.txt\n";
    let err = build(&t, def, &ctx, &out).await.result.unwrap_err();
    assert!(err.to_string().starts_with("%files line 4:"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fingerprints_pin_the_signers_of_a_sif_base() {
    let dir = tempfile::tempdir().unwrap();
    let t = transfers(dir.path());
    // A base built here, then signed with a new key.
    let base = dir.path().join("base.sif");
    let built = build(
        &t,
        "Bootstrap: scratch\n%runscript\n    echo base\n",
        dir.path(),
        &base,
    )
    .await;
    built.result.unwrap();
    let keys = berth_core::Keys::at(
        berth_integrity::KeyPaths::at(dir.path().join("keys")),
        Arc::new(berth_core::SettingsStore::new(&AppDirs::at(
            dir.path().join("config"),
        ))),
    );
    let unsigned = dir.path().join("unsigned.sif");
    std::fs::copy(&base, &unsigned).unwrap();
    let key = keys
        .generate(berth_core::model::NewKeyRequest {
            name: "Base Signer".into(),
            email: "signer@example.invalid".into(),
            comment: String::new(),
            passphrase: None,
            algorithm: berth_core::model::KeyAlgorithm::Ed25519,
        })
        .unwrap();
    assert!(
        keys.sign_image(&base, &key.fingerprint, None)
            .unwrap()
            .verified
    );

    let def = |from: &str, fpr: &str| {
        format!(
            "Bootstrap: localimage\nFrom: {from}\nFingerprints: {fpr}\n%labels\n    pinned yes\n"
        )
    };
    let out = dir.path().join("pinned.sif");
    let ok = build(
        &t,
        &def("base.sif", &key.fingerprint.to_lowercase()),
        dir.path(),
        &out,
    )
    .await;
    ok.result.unwrap();
    assert!(ok
        .log
        .iter()
        .any(|l| l.contains("Checking the base image's signatures")));

    let other = "0123456789ABCDEF0123456789ABCDEF01234567";
    let wrong = build(
        &t,
        &def("base.sif", other),
        dir.path(),
        &dir.path().join("w.sif"),
    )
    .await;
    let e = wrong.result.unwrap_err();
    assert_eq!(e.code(), "build.base_not_signed");
    assert!(e.to_string().contains(other), "{e}");

    let bare = build(
        &t,
        &def("unsigned.sif", &key.fingerprint),
        dir.path(),
        &dir.path().join("u.sif"),
    )
    .await;
    let e = bare.result.unwrap_err();
    assert_eq!(e.code(), "build.base_not_signed");
    assert!(e.to_string().contains("not signed"), "{e}");
    assert!(!dir.path().join("w.sif").exists() && !dir.path().join("u.sif").exists());
}

/// Stage one's base: a SIF whose tree holds links only its own tree can resolve — one to a
/// sibling the host `%files` brings, one absolute to its own /etc/passwd, one dangling.
fn stage_one_base(dir: &Path) -> PathBuf {
    let mut root = berth_sifbuild::RootFs::new(dir).unwrap();
    root.add_symlink("srv/data/link.txt", "b.txt").unwrap();
    root.add_symlink("srv/data/passwd", "/etc/passwd").unwrap();
    root.add_file("etc/passwd", 0o644, b"root:x:0:0:stage one:/root:/bin/sh\n")
        .unwrap();
    root.add_symlink("srv/dangling", "/etc/nowhere").unwrap();
    root.add_file("srv/only-in-one.txt", 0o644, b"stays behind\n")
        .unwrap();
    let sqfs = dir.join("one.sqfs");
    berth_sifbuild::write_squashfs(
        &root,
        &sqfs,
        Arc::new(berth_progress::NoProgress),
        &berth_progress::Cancel::new(),
    )
    .unwrap();
    let sif = dir.join("one.sif");
    berth_sifbuild::assemble_sif(&sif, b"", &[], &sqfs, "amd64").unwrap();
    sif
}

const TWO_STAGE_DEF: &str = r#"Bootstrap: localimage
From: one.sif
Stage: one

%files
    data /srv/

Bootstrap: scratch
Stage: two

%files from one
    /srv/data/*.txt /opt/txt/
    /srv/data /opt/copied
    /srv/data/passwd /etc/from-one

%files
    hello.txt /opt/hello.txt

%runscript
    echo "stage two"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_later_stage_copies_from_an_earlier_stages_tree() {
    let dir = tempfile::tempdir().unwrap();
    let ctx = dir.path().join("ctx");
    std::fs::create_dir_all(ctx.join("data")).unwrap();
    std::fs::write(ctx.join("data/a.txt"), "a\n").unwrap();
    std::fs::write(ctx.join("data/b.txt"), "b\n").unwrap();
    std::fs::write(ctx.join("data/notes.md"), "notes\n").unwrap();
    std::fs::write(ctx.join("hello.txt"), "hello\n").unwrap();
    let base = stage_one_base(dir.path());
    std::fs::copy(&base, ctx.join("one.sif")).unwrap();
    let t = transfers(dir.path());
    let out = dir.path().join("two.sif");

    let built = build(&t, TWO_STAGE_DEF, &ctx, &out).await;
    built.result.expect("the build succeeds");
    for line in [
        "INFO:    Building stage one",
        "INFO:    Copying data to /srv/",
        "INFO:    Building stage two",
        "INFO:    Copying /srv/data/*.txt to /opt/txt/",
        "INFO:    Copying hello.txt to /opt/hello.txt",
        "INFO:    Creating SIF file...",
    ] {
        assert!(
            built.log.iter().any(|l| l == line),
            "{line:?} in {:#?}",
            built.log
        );
    }

    let sif = Sif::open(&out, dir.path());
    assert_eq!(
        sif.object(1),
        TWO_STAGE_DEF.as_bytes(),
        "Def.FILE holds the whole definition"
    );
    assert_eq!(sif.cat("/.singularity.d/Singularity"), TWO_STAGE_DEF);
    let (image, _) =
        berth_sifbuild::RootFs::from_sif(dir.path(), &out, &berth_progress::Cancel::new()).unwrap();
    let read = |p: &str| {
        image
            .read(p)
            .map(|b| String::from_utf8(b).unwrap())
            .unwrap_or_else(|| panic!("{p} in the image"))
    };
    // The pattern matched in stage one's tree, where link.txt leads to b.txt beside it.
    assert_eq!(
        image.list("opt/txt").unwrap(),
        ["a.txt", "b.txt", "link.txt"]
    );
    assert_eq!(read("opt/txt/a.txt"), "a\n");
    assert_eq!(read("opt/txt/link.txt"), "b\n");
    assert_eq!(
        image.stat("opt/txt/link.txt").unwrap().kind,
        berth_sifbuild::EntryKind::File { len: 2 },
        "cp -L: the link's target is copied, not the link"
    );
    // The directory under its new name, the host's files merged into the base's.
    assert_eq!(
        image.list("opt/copied").unwrap(),
        ["a.txt", "b.txt", "link.txt", "notes.md", "passwd"]
    );
    assert_eq!(read("opt/copied/notes.md"), "notes\n");
    // The absolute link means stage one's own /etc/passwd, never the host's.
    let theirs = "root:x:0:0:stage one:/root:/bin/sh\n";
    assert_eq!(read("opt/copied/passwd"), theirs);
    assert_eq!(read("etc/from-one"), theirs);
    assert_eq!(read("opt/hello.txt"), "hello\n");
    // Only what the lines name comes over; the image is stage two's.
    assert!(!image.exists("srv"));
    assert!(!image.exists("etc/passwd"));
    assert_eq!(
        read(".singularity.d/runscript"),
        "#!/bin/sh\n\n    echo \"stage two\"\n\n"
    );

    // A source whose link dangles in stage one is missing, whatever the host holds; the
    // error names the line.
    let def = "Bootstrap: localimage\nFrom: one.sif\nStage: one\n\nBootstrap: scratch\n\n%files from one\n    /srv/only-in-one.txt /ok.txt\n    /srv/dangling /x\n";
    let out = dir.path().join("dangling.sif");
    let err = build(&t, def, &ctx, &out).await.result.unwrap_err();
    let api = berth_core::ApiError::from(&err);
    assert_eq!(api.code, "files-copy");
    assert!(
        api.message.starts_with("%files line 9: /srv/dangling:"),
        "{}",
        api.message
    );
    assert!(api.message.contains("no such file"), "{}", api.message);
    assert!(!out.exists());
}
