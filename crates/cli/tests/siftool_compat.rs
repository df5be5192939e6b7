//! `berth sif list|header|info` print exactly what siftool prints: against the reference
//! goldens, and against Debian's real `siftool` on every shared image and on images Berth
//! itself wrote.

use std::path::{Path, PathBuf};
use std::process::Command;

fn testdata() -> PathBuf {
    std::env::var_os("BERTH_TESTDATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/sif")
        })
}

fn run(program: &str, args: &[&str]) -> (bool, String) {
    let out = Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"));
    if !out.status.success() {
        eprintln!(
            "{program} {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    (
        out.status.success(),
        String::from_utf8(out.stdout).expect("utf-8 output"),
    )
}

fn berth(args: &[&str]) -> String {
    let (ok, out) = run(env!("CARGO_BIN_EXE_berth"), args);
    assert!(ok, "berth {args:?} failed");
    out
}

/// Debian's siftool; the test suite installs it (scripts/setup.sh). Missing = failure, not skip.
fn siftool(args: &[&str]) -> (bool, String) {
    run("siftool", args)
}

fn shared_images() -> Vec<PathBuf> {
    let mut found = Vec::new();
    for dir in ["sylabs-sif", "apptainer-sif", "apptainer", "apptainer-e2e"] {
        for entry in std::fs::read_dir(testdata().join("images").join(dir)).expect("shared images")
        {
            found.push(entry.expect("dir entry").path());
        }
    }
    found.sort();
    assert!(
        found.len() >= 20,
        "expected the shared image set, found {}",
        found.len()
    );
    found
}

/// Golden name → image, as listed in the test data README.
const GOLDEN_IMAGES: &[(&str, &str)] = &[
    ("Empty", "empty.sif"),
    ("EmptyID", "empty-id.sif"),
    ("OneObjectTime", "one-object-time.sif"),
    ("OneObjectGenericJSON", "one-object-generic-json.sif"),
    ("OneObjectCryptMessage", "one-object-crypt-message.sif"),
    ("OneObjectOCIRootIndex", "one-object-oci-root-index.sif"),
    ("OneGroup", "one-group.sif"),
    ("OneGroupSignedLegacy", "one-group-signed-legacy.sif"),
    (
        "OneGroupSignedLegacyGroup",
        "one-group-signed-legacy-group.sif",
    ),
    ("OneGroupSignedPGP", "one-group-signed-pgp.sif"),
    ("TwoGroups", "two-groups.sif"),
    (
        "TwoGroupsSignedLegacyAll",
        "two-groups-signed-legacy-all.sif",
    ),
    ("TwoGroupsSignedPGP", "two-groups-signed-pgp.sif"),
];

#[test]
fn header_and_list_equal_the_reference_goldens() {
    let mut checked = 0;
    for cmd in ["Header", "List"] {
        for (name, image) in GOLDEN_IMAGES {
            let golden = testdata()
                .join("expected/siftool")
                .join(format!("TestApp_{cmd}/{name}.golden"));
            let image = testdata().join("images/sylabs-sif").join(image);
            let want = std::fs::read_to_string(&golden).expect("golden");
            let got = berth(&["sif", &cmd.to_lowercase(), image.to_str().expect("path")]);
            assert_eq!(got, want, "{cmd} of {}", image.display());
            checked += 1;
        }
    }
    assert_eq!(checked, 2 * GOLDEN_IMAGES.len());
}

#[test]
fn info_equals_the_reference_goldens() {
    let cases = [
        ("Time", "one-object-time.sif", "1"),
        ("GenericJSON", "one-object-generic-json.sif", "1"),
        ("CryptMessage", "one-object-crypt-message.sif", "1"),
        ("OCIRootIndex", "one-object-oci-root-index.sif", "1"),
        ("DataPartitionRaw", "two-groups-signed-pgp.sif", "1"),
        ("DataPartitionSquashFS", "two-groups-signed-pgp.sif", "2"),
        ("DataPartitionEXT3", "two-groups-signed-pgp.sif", "3"),
        ("DataSignature", "two-groups-signed-pgp.sif", "4"),
    ];
    for (golden, image, id) in cases {
        let want = std::fs::read_to_string(
            testdata()
                .join("expected/siftool/TestApp_Info")
                .join(format!("{golden}.golden")),
        )
        .expect("golden");
        let image = testdata().join("images/sylabs-sif").join(image);
        assert_eq!(
            berth(&["sif", "info", id, image.to_str().expect("path")]),
            want,
            "info {golden}"
        );
    }
}

#[test]
fn dump_writes_the_object_bytes() {
    let image = testdata().join("images/sylabs-sif/one-group.sif");
    for (id, golden) in [("1", "One"), ("2", "Two")] {
        let out = Command::new(env!("CARGO_BIN_EXE_berth"))
            .args(["sif", "dump", id, image.to_str().expect("path")])
            .output()
            .expect("run berth");
        let want = std::fs::read(
            testdata()
                .join("expected/siftool/TestApp_Dump")
                .join(format!("{golden}.golden")),
        )
        .expect("golden");
        assert_eq!(out.stdout, want);
    }
}

/// Debian's siftool 2.8.3 predates the OCI data types and prints `Unknown` for them (and no
/// `Digest:` line); the goldens above cover those images instead.
fn has_oci_objects(image: &Path) -> bool {
    berth(&["sif", "list", image.to_str().expect("path")]).contains("|OCI.")
}

fn assert_same_as_siftool(image: &Path) {
    let p = image.to_str().expect("path");
    for cmd in ["header", "list"] {
        let (ok, want) = siftool(&[cmd, p]);
        assert!(ok, "siftool {cmd} {p} failed");
        assert_eq!(berth(&["sif", cmd, p]), want, "{cmd} of {p}");
    }
    let list = berth(&["sif", "list", p]);
    for line in list.lines().skip(3) {
        let id = line.split_whitespace().next().expect("id column");
        let (ok, want) = siftool(&["info", id, p]);
        assert!(ok, "siftool info {id} {p} failed");
        assert_eq!(berth(&["sif", "info", id, p]), want, "info {id} of {p}");
    }
}

#[test]
fn every_shared_image_reads_the_same_as_debian_siftool() {
    let mut compared = 0;
    for image in shared_images() {
        if has_oci_objects(&image) {
            continue;
        }
        assert_same_as_siftool(&image);
        compared += 1;
    }
    assert!(compared >= 19, "compared only {compared} images");
}

#[test]
fn images_berth_writes_read_the_same_in_siftool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("built.sif");
    let img_s = img.to_str().expect("path");
    let inputs = testdata().join("inputs/sylabs-sif");
    let input = |n: &str| inputs.join(n).to_str().expect("path").to_owned();
    berth(&["sif", "new", img_s]);
    assert_same_as_siftool(&img);
    let def = dir.path().join("x.def");
    std::fs::write(&def, "Bootstrap: docker\nFrom: alpine\n").expect("write def");
    berth(&[
        "sif",
        "add",
        img_s,
        def.to_str().expect("path"),
        "--datatype",
        "1",
        "--groupid",
        "1",
        "--filename",
        "x.def",
    ]);
    berth(&[
        "sif",
        "add",
        img_s,
        &input("root.squashfs"),
        "--datatype",
        "4",
        "--parttype",
        "2",
        "--partfs",
        "1",
        "--partarch",
        "2",
        "--groupid",
        "1",
    ]);
    berth(&[
        "sif",
        "add",
        img_s,
        &input("root.ext3"),
        "--datatype",
        "4",
        "--parttype",
        "1",
        "--partfs",
        "2",
        "--partarch",
        "4",
    ]);
    berth(&[
        "sif",
        "add",
        img_s,
        &input("sbom.cdx.json"),
        "--datatype",
        "9",
        "--sbomformat",
        "cyclonedx-json",
        "--link",
        "2",
    ]);
    berth(&[
        "sif",
        "add",
        img_s,
        &input("oci-config.json"),
        "--datatype",
        "5",
        "--signhash",
        "2",
        "--signentity",
        "12045C8C0B1004D058DE4BEDA20C27EE7FF7BA84",
        "--alignment",
        "64",
    ]);
    assert_same_as_siftool(&img);
    berth(&["sif", "setprim", "3", img_s]);
    assert_same_as_siftool(&img);
    berth(&["sif", "del", "2", img_s]);
    assert_same_as_siftool(&img);
    assert!(berth(&["sif", "list", img_s]).contains("|FS (Ext3/*System/arm64)"));
    // A data partition cannot become primary: refused, and the file is left as it was.
    let before = std::fs::read(&img).expect("read");
    berth(&[
        "sif",
        "add",
        img_s,
        &input("root.squashfs"),
        "--datatype",
        "4",
        "--parttype",
        "3",
        "--partfs",
        "1",
        "--partarch",
        "2",
    ]);
    let before_setprim = std::fs::read(&img).expect("read");
    assert_ne!(before, before_setprim);
    let (ok, _) = run(env!("CARGO_BIN_EXE_berth"), &["sif", "setprim", "2", img_s]);
    assert!(!ok);
    assert_eq!(std::fs::read(&img).expect("read"), before_setprim);

    // And the other way round: what siftool writes, berth reads identically.
    let theirs = dir.path().join("theirs.sif");
    let theirs_s = theirs.to_str().expect("path");
    assert!(siftool(&["new", theirs_s]).0);
    assert!(
        siftool(&[
            "add",
            theirs_s,
            &input("root.squashfs"),
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
    assert_same_as_siftool(&theirs);
}

#[test]
fn errors_go_to_stderr_with_a_failure_status() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bad = dir.path().join("bad.sif");
    std::fs::write(&bad, vec![0u8; 4096]).expect("write");
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["sif", "list", bad.to_str().expect("path")])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(String::from_utf8_lossy(&out.stderr).contains("Error:"));
}

/// Names and launch scripts with tabs, newlines and bytes that are not UTF-8 go through
/// Go's tabwriter in siftool; berth must lay them out identically.
#[test]
fn odd_names_and_launch_scripts_read_the_same_as_siftool() {
    use std::os::unix::ffi::OsStrExt;
    use std::os::unix::fs::FileExt;

    let dir = tempfile::tempdir().expect("tempdir");
    let img = dir.path().join("odd.sif");
    let img_s = img.to_str().expect("path");
    let data = testdata().join("inputs/sylabs-sif/oci-config.json");
    let data_s = data.to_str().expect("path");
    assert!(siftool(&["new", img_s]).0);
    for name in ["tab\there", "two words", "é-accent"] {
        assert!(siftool(&["add", img_s, data_s, "--datatype", "6", "--filename", name]).0);
    }
    // A name that is not UTF-8, straight from siftool (Go passes the bytes through).
    let raw_name = std::ffi::OsStr::from_bytes(b"bad-\xff\xfe-name");
    let status = Command::new("siftool")
        .arg("add")
        .arg(&img)
        .arg(&data)
        .args(["--datatype", "7", "--filename"])
        .arg(raw_name)
        .status()
        .expect("siftool");
    assert!(status.success());
    // A launch script with a newline in the middle (siftool cannot set one; patch it in).
    let file = std::fs::OpenOptions::new()
        .write(true)
        .open(&img)
        .expect("open");
    file.write_all_at(b"#!/bin/sh\nexec run\n\0", 0)
        .expect("patch");

    let raw = |program: &str, args: &[&str]| {
        Command::new(program)
            .args(args)
            .output()
            .expect("run")
            .stdout
    };
    let berth_bin = env!("CARGO_BIN_EXE_berth");
    assert_eq!(
        raw(berth_bin, &["sif", "header", img_s]),
        raw("siftool", &["header", img_s])
    );
    assert_eq!(
        raw(berth_bin, &["sif", "list", img_s]),
        raw("siftool", &["list", img_s])
    );
    for id in ["1", "2", "3", "4"] {
        assert_eq!(
            raw(berth_bin, &["sif", "info", id, img_s]),
            raw("siftool", &["info", id, img_s]),
            "info {id}"
        );
    }
}

/// siftool lists a truncated download (it checks only magic and version); so does berth.
#[test]
fn a_truncated_image_still_lists_like_siftool() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cut = dir.path().join("cut.sif");
    let bytes =
        std::fs::read(testdata().join("images/apptainer-e2e/busybox_amd64.sif")).expect("read");
    std::fs::write(&cut, &bytes[..40_000]).expect("write");
    assert_same_as_siftool(&cut);
    // Reading an object past the end fails for that object alone, with a clear error.
    let out = Command::new(env!("CARGO_BIN_EXE_berth"))
        .args(["sif", "dump", "4", cut.to_str().expect("path")])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("out of bounds"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
