//! Helpers shared by the integration tests: hand-built layers and checks for real tools.

#![allow(dead_code)]

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use berth_progress::Cancel;
use berth_sifbuild::RootFs;

/// One entry of a hand-built layer. Names and link targets are written into the header
/// verbatim (no validation), so escaping paths can be expressed.
pub enum E<'a> {
    File(&'a str, u32, &'a [u8]),
    Dir(&'a str, u32),
    Symlink(&'a str, &'a str),
    Hardlink(&'a str, &'a str),
    Char(&'a str),
    Block(&'a str),
    Fifo(&'a str, u32),
}

pub const MTIME: u64 = 1_600_000_000;

/// A tar stream of `entries`.
pub fn tar(entries: &[E<'_>]) -> Vec<u8> {
    let mut b = tar::Builder::new(Vec::new());
    for e in entries {
        let mut h = tar::Header::new_gnu();
        h.set_mtime(MTIME);
        h.set_uid(0);
        h.set_gid(0);
        let (name, data): (&str, &[u8]) = match e {
            E::File(n, m, d) => {
                h.set_entry_type(tar::EntryType::Regular);
                h.set_mode(*m);
                h.set_size(d.len() as u64);
                (n, d)
            }
            E::Dir(n, m) => {
                h.set_entry_type(tar::EntryType::Directory);
                h.set_mode(*m);
                (n, b"")
            }
            E::Symlink(n, t) | E::Hardlink(n, t) => {
                h.set_entry_type(if matches!(e, E::Symlink(..)) {
                    tar::EntryType::Symlink
                } else {
                    tar::EntryType::Link
                });
                h.set_mode(0o777);
                set_bytes(&mut h.as_old_mut().linkname, t);
                (n, b"")
            }
            E::Char(n) | E::Block(n) => {
                h.set_entry_type(if matches!(e, E::Char(..)) {
                    tar::EntryType::Char
                } else {
                    tar::EntryType::Block
                });
                h.set_mode(0o666);
                (n, b"")
            }
            E::Fifo(n, m) => {
                h.set_entry_type(tar::EntryType::Fifo);
                h.set_mode(*m);
                (n, b"")
            }
        };
        if !matches!(e, E::File(..)) {
            h.set_size(0);
        }
        set_bytes(&mut h.as_old_mut().name, name);
        h.set_cksum();
        b.append(&h, data).unwrap();
    }
    b.into_inner().unwrap()
}

fn set_bytes(field: &mut [u8], s: &str) {
    assert!(
        s.len() < field.len(),
        "name too long for a test header: {s}"
    );
    field.fill(0);
    field[..s.len()].copy_from_slice(s.as_bytes());
}

pub fn gzip(data: &[u8]) -> Vec<u8> {
    let mut enc = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    enc.write_all(data).unwrap();
    enc.finish().unwrap()
}

pub fn zstd(data: &[u8]) -> Vec<u8> {
    zstd::stream::encode_all(data, 3).unwrap()
}

/// Runs a required tool; fails the test with a clear message if it is missing or fails.
pub fn run(program: &str, args: &[&str], dir: Option<&Path>) -> Output {
    let mut cmd = Command::new(program);
    cmd.args(args);
    if let Some(d) = dir {
        cmd.current_dir(d);
    }
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("required tool `{program}` could not be run ({e}); install it (see shared/docs/test-peers.md)")
    });
    assert!(
        out.status.success(),
        "`{program} {}` failed: {}\n{}",
        args.join(" "),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Layer blobs of the image tagged `tag` in an OCI layout, base first, with media types.
pub fn layout_layers(layout: &Path, tag: &str) -> (Vec<(PathBuf, String)>, serde_json::Value) {
    let blob = |digest: &str| {
        layout
            .join("blobs/sha256")
            .join(digest.trim_start_matches("sha256:"))
    };
    let index: serde_json::Value =
        serde_json::from_slice(&std::fs::read(layout.join("index.json")).unwrap()).unwrap();
    let desc = index["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["annotations"]["org.opencontainers.image.ref.name"] == tag)
        .expect("tag in index.json");
    let manifest: serde_json::Value =
        serde_json::from_slice(&std::fs::read(blob(desc["digest"].as_str().unwrap())).unwrap())
            .unwrap();
    let config: serde_json::Value = serde_json::from_slice(
        &std::fs::read(blob(manifest["config"]["digest"].as_str().unwrap())).unwrap(),
    )
    .unwrap();
    let layers = manifest["layers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| {
            (
                blob(l["digest"].as_str().unwrap()),
                l["mediaType"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    (layers, config)
}

/// Builds an OCI layout with four layers: a base tree, a layer deleting a file and a
/// directory (umoci writes `.wh.` entries), a layer with a hard link and a FIFO, and a
/// hand-built layer with an opaque whiteout.
pub fn build_image(dir: &Path) {
    let layout = dir.join("L");
    let bundle = dir.join("bundle");
    let l = layout.to_str().unwrap();
    let b = bundle.to_str().unwrap();
    run("umoci", &["init", "--layout", l], None);
    run("umoci", &["new", "--image", &format!("{l}:t")], None);
    run(
        "umoci",
        &["unpack", "--rootless", "--image", &format!("{l}:t"), b],
        None,
    );
    let r = bundle.join("rootfs");
    let repack = || {
        run(
            "umoci",
            &[
                "repack",
                "--refresh-bundle",
                "--image",
                &format!("{l}:t"),
                b,
            ],
            None,
        )
    };

    for d in ["bin", "etc", "usr/bin", "del/sub", "opq/sub", "ro"] {
        fs::create_dir_all(r.join(d)).unwrap();
    }
    fs::copy("/bin/busybox", r.join("bin/busybox"))
        .expect("busybox-static must be installed (/bin/busybox)");
    std::os::unix::fs::symlink("busybox", r.join("bin/sh")).unwrap();
    std::os::unix::fs::symlink("/bin/busybox", r.join("usr/bin/abs")).unwrap();
    fs::write(r.join("etc/passwd"), "root:x:0:0:root:/root:/bin/sh\n").unwrap();
    fs::write(r.join("usr/bin/su"), "not really su").unwrap();
    fs::set_permissions(r.join("usr/bin/su"), fs::Permissions::from_mode(0o4755)).unwrap();
    fs::write(r.join("todel"), "bye").unwrap();
    fs::write(r.join("del/sub/f"), "gone").unwrap();
    fs::write(r.join("opq/old"), "old").unwrap();
    fs::write(r.join("opq/sub/old2"), "old2").unwrap();
    fs::write(r.join("ro/file"), "read only").unwrap();
    fs::set_permissions(r.join("ro/file"), fs::Permissions::from_mode(0o400)).unwrap();
    fs::set_permissions(r.join("ro"), fs::Permissions::from_mode(0o555)).unwrap();
    fs::write(r.join("big"), vec![7u8; 300_000]).unwrap();
    repack();

    fs::remove_file(r.join("todel")).unwrap();
    fs::remove_dir_all(r.join("del")).unwrap();
    fs::write(r.join("etc/new"), "new").unwrap();
    repack();

    fs::hard_link(r.join("etc/passwd"), r.join("etc/passwd-hl")).unwrap();
    run(
        "mkfifo",
        &["-m", "0620", r.join("fifo").to_str().unwrap()],
        None,
    );
    repack();

    let opaque = dir.join("opaque.tar");
    fs::write(
        &opaque,
        tar(&[
            E::File("opq/.wh..wh..opq", 0o644, b""),
            E::File("opq/fresh", 0o644, b"fresh"),
        ]),
    )
    .unwrap();
    run(
        "umoci",
        &[
            "raw",
            "add-layer",
            "--image",
            &format!("{l}:t"),
            opaque.to_str().unwrap(),
        ],
        None,
    );
    run(
        "umoci",
        &["config", "--image", &format!("{l}:t"), "--config.cmd", "sh"],
        None,
    );
}

/// Applies the layout's layers to a fresh tree.
pub fn rootfs_from_layout(dir: &Path) -> RootFs {
    let spool = dir.join("spool");
    fs::create_dir_all(&spool).unwrap();
    let mut root = RootFs::new(&spool).unwrap();
    let (layers, _) = layout_layers(&dir.join("L"), "t");
    assert_eq!(layers.len(), 4);
    for (blob, media_type) in layers {
        let report = root
            .apply_layer(&blob, &media_type, &Cancel::new())
            .unwrap();
        assert!(report.warnings.is_empty(), "{:?}", report.warnings);
    }
    root
}
