//! `berth inspect` reads /.singularity.d from the primary partition in-process.

use std::path::{Path, PathBuf};
use std::process::Command;

fn testdata() -> PathBuf {
    std::env::var_os("BERTH_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/sif")
        })
}

fn berth(args: &[&str]) -> (bool, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(args)
        .output()
        .expect("run berth");
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn busybox() -> String {
    testdata()
        .join("images/apptainer-e2e/busybox_amd64.sif")
        .to_str()
        .expect("path")
        .to_owned()
}

#[test]
fn labels_of_a_real_apptainer_image() {
    let (ok, out, err) = berth(&["inspect", &busybox()]);
    assert!(ok, "{err}");
    assert_eq!(
        out,
        "org.label-schema.build-arch: amd64\n\
         org.label-schema.build-date: Monday_2_August_2021_14:9:36_CDT\n\
         org.label-schema.schema-version: 1.0\n\
         org.label-schema.usage.singularity.deffile.bootstrap: docker\n\
         org.label-schema.usage.singularity.deffile.from: busybox:1.33.1\n\
         org.label-schema.usage.singularity.version: 3.8.1\n"
    );
}

#[test]
fn deffile_runscript_and_environment_of_a_real_image() {
    let (ok, def, _) = berth(&["inspect", "--deffile", &busybox()]);
    assert!(ok);
    assert!(def.to_lowercase().contains("from: busybox:1.33.1"), "{def}");
    let (ok, run, _) = berth(&["inspect", "--runscript", &busybox()]);
    assert!(ok);
    assert!(
        run.starts_with("#!/bin/sh\n") && run.contains("OCI_CMD='\"sh\"'"),
        "{run}"
    );
    let (ok, env, _) = berth(&["inspect", "--environment", &busybox()]);
    assert!(ok);
    assert!(
        env.contains("=== /.singularity.d/env/10-docker2singularity.sh ==="),
        "{env}"
    );
    assert!(
        env.contains("=== /.singularity.d/env/90-environment.sh ==="),
        "{env}"
    );
    assert!(
        !env.contains("99-base.sh"),
        "only the docker and %environment scripts are shown"
    );
    let (ok, json, _) = berth(&["inspect", "--json", "--all", &busybox()]);
    assert!(ok);
    let v: serde_json::Value = serde_json::from_str(&json).expect("json");
    assert_eq!(v["type"], "container");
    assert_eq!(
        v["data"]["attributes"]["labels"]["org.label-schema.usage.singularity.version"],
        "3.8.1"
    );
    assert!(v["data"]["attributes"]["runscript"]
        .as_str()
        .expect("runscript")
        .contains("OCI_CMD"));
}

/// An image we build ourselves with Debian's mksquashfs, wrapped into a SIF by berth.
#[test]
fn metadata_of_an_image_built_with_mksquashfs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    let sd = root.join(".singularity.d");
    std::fs::create_dir_all(sd.join("env")).expect("mkdir");
    std::fs::write(
        sd.join("labels.json"),
        r#"{"maintainer":"Ada","version":"2","count":3}"#,
    )
    .expect("write");
    std::fs::write(
        sd.join("Singularity"),
        "Bootstrap: scratch\n%labels\n  maintainer Ada\n",
    )
    .expect("write");
    std::fs::write(sd.join("runscript"), "#!/bin/sh\nexec echo hello \"$@\"\n").expect("write");
    std::fs::write(
        sd.join("env/90-environment.sh"),
        "#!/bin/sh\nexport GREETING=hi\n",
    )
    .expect("write");
    std::fs::write(sd.join("env/99-base.sh"), "#!/bin/sh\n").expect("write");
    std::os::unix::fs::symlink(".singularity.d/runscript", root.join("singularity"))
        .expect("symlink");
    let sqfs = dir.path().join("root.sqfs");
    let status = Command::new("mksquashfs")
        .args([
            root.to_str().expect("p"),
            sqfs.to_str().expect("p"),
            "-noappend",
            "-all-root",
            "-comp",
            "xz",
            "-quiet",
        ])
        .status()
        .expect("mksquashfs is installed by scripts/setup.sh");
    assert!(status.success());
    let sif = dir.path().join("built.sif");
    let sif_s = sif.to_str().expect("p");
    assert!(berth(&["sif", "new", sif_s]).0);
    let (ok, _, err) = berth(&[
        "sif",
        "add",
        sif_s,
        sqfs.to_str().expect("p"),
        "--datatype",
        "4",
        "--parttype",
        "2",
        "--partfs",
        "1",
        "--partarch",
        "2",
    ]);
    assert!(ok, "{err}");

    let (ok, out, err) = berth(&["inspect", sif_s]);
    assert!(ok, "{err}");
    assert_eq!(out, "count: 3\nmaintainer: Ada\nversion: 2\n");
    let (_, run, _) = berth(&["inspect", "-r", sif_s]);
    assert_eq!(run, "#!/bin/sh\nexec echo hello \"$@\"\n");
    let (_, env, _) = berth(&["inspect", "-e", sif_s]);
    assert_eq!(
        env,
        "=== /.singularity.d/env/90-environment.sh ===\n#!/bin/sh\nexport GREETING=hi\n\n\n"
    );
}

#[test]
fn an_image_without_a_root_file_system_is_a_clear_error() {
    let img = testdata().join("images/sylabs-sif/one-object-generic-json.sif");
    let (ok, out, err) = berth(&["inspect", img.to_str().expect("p")]);
    assert!(!ok);
    assert!(out.is_empty());
    assert!(err.contains("Error:"), "{err}");
}

#[test]
fn a_damaged_squashfs_is_a_clear_error_not_a_crash() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sif = dir.path().join("bad.sif");
    let junk = dir.path().join("junk.sqfs");
    let mut bytes = b"hsqs".to_vec();
    bytes.extend(std::iter::repeat_n(0xA5u8, 8192));
    std::fs::write(&junk, bytes).expect("write");
    let s = sif.to_str().expect("p");
    assert!(berth(&["sif", "new", s]).0);
    assert!(
        berth(&[
            "sif",
            "add",
            s,
            junk.to_str().expect("p"),
            "--datatype",
            "4",
            "--parttype",
            "2",
            "--partfs",
            "1",
            "--partarch",
            "2"
        ])
        .0
    );
    let (ok, _, err) = berth(&["inspect", s]);
    assert!(!ok);
    assert!(
        err.contains("cannot read the container file system"),
        "{err}"
    );
}
