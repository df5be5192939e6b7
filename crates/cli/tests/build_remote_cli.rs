//! `berth build --remote` against the Library API double and its build service double, with
//! the token in a real Secret Service: the log on stdout, the image pulled to OUT, a
//! detached submission followed by `--attach`, a definition that needs a builder refused
//! without `--remote`, and a failed build's exit status and message.

use std::path::Path;
use std::process::Command;
use std::sync::Arc;

use berth_testkit::builder::BuildRecord;
use berth_testkit::{BuilderDouble, BuilderOptions, LibraryDouble, LibraryOptions};

const TOKEN: &str = "cli-build-token-5";

fn busybox() -> Vec<u8> {
    std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/testdata/sif/images/apptainer-e2e/busybox_amd64.sif"),
    )
    .expect("busybox")
}

#[test]
fn remote_builds_from_the_command_line() {
    let library = Arc::new(LibraryDouble::start(LibraryOptions::default()).expect("double"));
    library.add_user("ada", TOKEN);
    let sif = busybox();
    let hook = {
        let (library, sif) = (Arc::clone(&library), sif.clone());
        Arc::new(move |b: &BuildRecord| {
            library.add_image(&b.library_ref, sif.clone(), "amd64", &[], false);
        })
    };
    let builder = BuilderDouble::start(BuilderOptions {
        tokens: vec![TOKEN.into()],
        log_lines: vec!["INFO:    Starting build...".into(), "+ apk add curl".into()],
        result_image: Some(sif.clone()),
        on_complete: Some(hook),
        ..BuilderOptions::default()
    })
    .expect("builder");
    let url = builder.url();
    library.update_options(|o| o.builder_url = Some(url));

    let dir = tempfile::tempdir().expect("tempdir");
    let def = dir.path().join("alpine.def");
    std::fs::write(
        &def,
        "Bootstrap: docker\nFrom: alpine\n%post\n    apk add curl\n",
    )
    .unwrap();
    let tokenfile = dir.path().join("token");
    std::fs::write(&tokenfile, format!("{TOKEN}\n")).unwrap();
    let script = format!(
        "b={berth}; cd {dir}
         $b remote add lab {url} --insecure || exit 1
         $b remote login lab --tokenfile {token} || exit 2
         echo ---local; $b build here.sif alpine.def 2>&1 && exit 3
         echo ---remote; $b build --remote --arch amd64 --library library://ada/b/alpine:1 out.sif alpine.def || exit 4
         cmp out.sif {image} || exit 5
         echo ---detached; $b build --remote --detached later.sif alpine.def >detached.txt 2>&1 || exit 6
         cat detached.txt; test -e later.sif && exit 7
         id=$(sed -n 's/^Build \\([0-9a-f]*\\) submitted.*/\\1/p' detached.txt)
         echo ---attach; $b build --attach \"$id\" later.sif || exit 8
         cmp later.sif out.sif || exit 9
         echo ---end",
        berth = env!("CARGO_BIN_EXE_berth"),
        dir = dir.path().display(),
        url = library.url(),
        token = tokenfile.display(),
        image = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/testdata/sif/images/apptainer-e2e/busybox_amd64.sif")
            .display(),
    );
    let with_keyring = Path::new(env!("CARGO_MANIFEST_DIR")).join("../core/tests/with-keyring.sh");
    let run = |script: &str| {
        Command::new("sh")
            .arg(&with_keyring)
            .args(["sh", "-c", script])
            .env("BERTH_CONFIG_DIR", dir.path().join("config"))
            .env("APPTAINER_KEYSDIR", dir.path().join("keys"))
            .output()
            .expect("run")
    };
    let out = run(&script);
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{:?}\n{stdout}\n{stderr}", out.status);
    let part = |name: &str| {
        let rest = &stdout[stdout.find(name).expect(name) + name.len()..];
        rest[..rest.find("---").unwrap_or(rest.len())].to_owned()
    };
    let local = part("---local");
    assert!(
        local.contains("runs %post while it is built") && local.contains("--remote"),
        "{local}"
    );
    let remote = part("---remote");
    assert!(
        remote.contains("INFO:    Starting build...\n+ apk add curl\n"),
        "{remote}"
    );
    assert!(remote.contains("INFO:    Build complete: "), "{remote}");
    let detached = part("---detached");
    let id = builder.builds()[1].id.clone();
    assert!(
        detached.contains(&format!("berth build --attach {id} OUT.sif")),
        "{detached}"
    );
    assert_eq!(builder.builds()[0].auth_scheme, "BEARER");

    assert!(part("---attach").contains("INFO:    Build complete: "));
    assert_eq!(builder.builds().len(), 2, "attached, not built again");
}
