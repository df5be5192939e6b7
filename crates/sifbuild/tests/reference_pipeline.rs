//! The rootfs built by `apply_layer` + `write_squashfs` against the reference pipeline:
//! `umoci unpack --rootless` + `mksquashfs -all-root`, compared through `unsquashfs`.

mod common;

use std::fs;
use std::path::Path;
use std::sync::Arc;

use berth_progress::{Cancel, NoProgress};
use berth_sifbuild::write_squashfs;
use common::{build_image, rootfs_from_layout, run, stdout};

/// `unsquashfs -lln` lines split into (mode, owner, size, mtime, path); the listing root
/// `squashfs-root` is reported separately.
fn listing(image: &Path) -> Vec<(String, String, String, String, String)> {
    let out = stdout(&run("unsquashfs", &["-lln", image.to_str().unwrap()], None));
    out.lines()
        .filter(|l| !l.is_empty())
        .map(|l| {
            let f: Vec<&str> = l.split_whitespace().collect();
            // perms owner size date time path [-> target]
            let path = f[5..].join(" ");
            (
                f[0].to_owned(),
                f[1].to_owned(),
                f[2].to_owned(),
                format!("{} {}", f[3], f[4]),
                path,
            )
        })
        .collect()
}

#[test]
fn matches_umoci_and_mksquashfs() {
    let dir = tempfile::tempdir().unwrap();
    build_image(dir.path());

    let root = rootfs_from_layout(dir.path());
    let ours = dir.path().join("ours.sqfs");
    let size = write_squashfs(&root, &ours, Arc::new(NoProgress), &Cancel::new()).unwrap();
    assert_eq!(size, fs::metadata(&ours).unwrap().len());

    let bundle = dir.path().join("ref");
    run(
        "umoci",
        &[
            "unpack",
            "--rootless",
            "--image",
            &format!("{}:t", dir.path().join("L").display()),
            bundle.to_str().unwrap(),
        ],
        None,
    );
    let reference = dir.path().join("ref.sqfs");
    run(
        "mksquashfs",
        &[
            bundle.join("rootfs").to_str().unwrap(),
            reference.to_str().unwrap(),
            "-noappend",
            "-comp",
            "gzip",
            "-all-root",
            "-quiet",
        ],
        None,
    );

    let a = listing(&ours);
    let b = listing(&reference);
    let paths = |l: &[(String, String, String, String, String)]| {
        l.iter().map(|e| e.4.clone()).collect::<Vec<_>>()
    };
    assert_eq!(paths(&a), paths(&b), "same paths (and symlink targets)");
    for (x, y) in a.iter().zip(&b) {
        assert_eq!(
            (&x.0, &x.1, &x.2, &x.4),
            (&y.0, &y.1, &y.2, &y.4),
            "mode, owner, size of {}",
            x.4
        );
        assert_eq!(x.1, "0/0");
        // Directory mtimes in the reference are those umoci restores from the layers, except
        // the bundle root which umoci creates itself; every other mtime must match.
        if x.4 != "squashfs-root" {
            assert_eq!(x.3, y.3, "mtime of {}", x.4);
        }
    }
    let has = |p: &str| {
        a.iter()
            .any(|e| e.4 == p || e.4.starts_with(&format!("{p} ->")))
    };
    assert!(
        has("squashfs-root/etc/passwd-hl")
            && has("squashfs-root/opq/fresh")
            && has("squashfs-root/fifo")
    );
    assert!(
        !has("squashfs-root/todel") && !has("squashfs-root/del") && !has("squashfs-root/opq/old")
    );

    for (mode, _, _, _, path) in &a {
        if mode.starts_with('-') {
            let inner = path.trim_start_matches("squashfs-root");
            let x = run("unsquashfs", &["-cat", ours.to_str().unwrap(), inner], None).stdout;
            let y = run(
                "unsquashfs",
                &["-cat", reference.to_str().unwrap(), inner],
                None,
            )
            .stdout;
            assert!(x == y, "contents of {inner} differ");
        }
    }
}
