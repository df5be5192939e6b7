//! Hand-built layers exercising every rule of oci-to-sif.md §4 against the tree.

mod common;

use std::path::Path;

use berth_progress::Cancel;
use berth_sifbuild::{EntryKind, Error, RootFs};
use common::{gzip, tar, zstd, E};

const TAR: &str = "application/vnd.oci.image.layer.v1.tar";
const GZ: &str = "application/vnd.oci.image.layer.v1.tar+gzip";
const ZST: &str = "application/vnd.oci.image.layer.v1.tar+zstd";

struct Fixture {
    dir: tempfile::TempDir,
    root: RootFs,
    n: usize,
}

impl Fixture {
    fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("spool")).unwrap();
        let root = RootFs::new(&dir.path().join("spool")).unwrap();
        Fixture { dir, root, n: 0 }
    }

    fn layer(&mut self, entries: &[E<'_>]) -> Vec<String> {
        self.layer_as(TAR, tar(entries)).unwrap()
    }

    fn layer_as(&mut self, media_type: &str, bytes: Vec<u8>) -> Result<Vec<String>, Error> {
        self.n += 1;
        let blob = self.dir.path().join(format!("layer{}", self.n));
        std::fs::write(&blob, bytes).unwrap();
        let report = self.root.apply_layer(&blob, media_type, &Cancel::new())?;
        Ok(report.warnings)
    }

    fn kind(&self, path: &str) -> Option<EntryKind> {
        self.root.stat(path).map(|i| i.kind)
    }

    fn mode(&self, path: &str) -> u32 {
        self.root
            .stat(path)
            .unwrap_or_else(|| panic!("{path} missing"))
            .mode
    }

    fn text(&self, path: &str) -> String {
        String::from_utf8(
            self.root
                .read(path)
                .unwrap_or_else(|| panic!("{path} not a file")),
        )
        .unwrap()
    }

    /// Nothing but the layer blobs and the (anonymous) spool's directory may exist in the
    /// temp dir: extraction never touches the real file system.
    fn assert_nothing_written(&self) {
        let mut names: Vec<String> = std::fs::read_dir(self.dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .filter(|n| !n.starts_with("layer"))
            .collect();
        names.sort();
        assert_eq!(names, ["spool"]);
        assert_eq!(
            std::fs::read_dir(self.dir.path().join("spool"))
                .unwrap()
                .count(),
            0
        );
        assert!(!Path::new(self.dir.path())
            .parent()
            .unwrap()
            .join("evil")
            .exists());
    }
}

#[test]
fn dotdot_and_absolute_paths_stay_inside() {
    let mut f = Fixture::new();
    let w = f.layer(&[
        E::File("../../evil", 0o644, b"x"),
        E::File("/abs/file", 0o600, b"abs"),
        E::File("a/../../b/./c", 0o644, b"c"),
        E::Dir("./", 0o755),
    ]);
    assert!(w.is_empty());
    assert_eq!(f.text("evil"), "x");
    assert_eq!(f.text("abs/file"), "abs");
    assert_eq!(f.mode("abs/file"), 0o600);
    assert_eq!(f.text("b/c"), "c");
    assert_eq!(f.kind("abs"), Some(EntryKind::Dir));
    f.assert_nothing_written();
}

#[test]
fn symlink_parents_cannot_escape() {
    let mut f = Fixture::new();
    f.layer(&[
        E::Dir("etc/", 0o755),
        E::Symlink("a", "/etc"),
        E::File("a/passwd", 0o644, b"root:x:0:0"),
        E::Symlink("up", "../../.."),
        E::File("up/evil", 0o644, b"e"),
        E::Symlink("rel", "../../../etc"),
        E::File("rel/group", 0o644, b"g"),
    ]);
    assert_eq!(f.kind("a"), Some(EntryKind::Symlink("/etc".into())));
    assert_eq!(f.text("etc/passwd"), "root:x:0:0");
    assert_eq!(f.kind("up"), Some(EntryKind::Symlink("../../..".into())));
    assert_eq!(f.text("evil"), "e");
    assert_eq!(f.text("etc/group"), "g");
    f.assert_nothing_written();
}

#[test]
fn hard_links() {
    let mut f = Fixture::new();
    let w = f.layer(&[
        E::File("bin/busybox", 0o4755, b"ELF"),
        E::Hardlink("bin/sh", "bin/busybox"),
        E::Hardlink("bin/abs", "/bin/busybox"),
        E::Hardlink("escape", "../../../etc/shadow"),
        E::Hardlink("missing", "no/such/file"),
        E::Hardlink("todir", "bin"),
    ]);
    assert_eq!(f.text("bin/sh"), "ELF");
    assert_eq!(f.mode("bin/sh"), 0o4755);
    assert_eq!(f.text("bin/abs"), "ELF");
    assert!(!f.root.exists("escape"));
    assert!(!f.root.exists("missing"));
    assert!(!f.root.exists("todir"));
    assert_eq!(w.len(), 3, "{w:?}");
    assert!(
        w[0].contains("/escape") && w[0].contains("/etc/shadow"),
        "{w:?}"
    );
    f.assert_nothing_written();
}

#[test]
fn devices_fifos_and_special_bits() {
    let mut f = Fixture::new();
    f.layer(&[
        E::Char("dev/null"),
        E::Block("dev/sda"),
        E::Fifo("run/pipe", 0o620),
        E::File("usr/bin/su", 0o4755, b"su"),
        E::File("usr/bin/wall", 0o2755, b"w"),
        E::Dir("tmp/", 0o1777),
    ]);
    assert_eq!(f.kind("dev/null"), Some(EntryKind::File { len: 0 }));
    assert_eq!(f.mode("dev/null"), 0);
    assert_eq!(f.kind("dev/sda"), Some(EntryKind::File { len: 0 }));
    assert_eq!(f.mode("dev/sda"), 0);
    assert_eq!(f.kind("run/pipe"), Some(EntryKind::Fifo));
    assert_eq!(f.mode("run/pipe"), 0o620);
    assert_eq!(f.mode("usr/bin/su"), 0o4755);
    assert_eq!(f.mode("usr/bin/wall"), 0o2755);
    assert_eq!(f.mode("tmp"), 0o1777);
}

#[test]
fn clobbering() {
    let mut f = Fixture::new();
    f.layer(&[
        E::File("d/child", 0o644, b"c"),
        E::File("f", 0o644, b"file"),
        E::File("keep/child", 0o644, b"k"),
        E::Symlink("link", "keep"),
    ]);
    f.layer(&[
        E::File("d", 0o600, b"now a file"),
        E::Dir("f/", 0o700),
        E::File("f/x", 0o644, b"x"),
        E::Dir("keep/", 0o700),
        E::Dir("link/", 0o750),
    ]);
    assert_eq!(f.text("d"), "now a file");
    assert_eq!(f.mode("d"), 0o600);
    assert_eq!(f.kind("f"), Some(EntryKind::Dir));
    assert_eq!(f.text("f/x"), "x");
    assert_eq!(f.mode("keep"), 0o700);
    assert_eq!(f.text("keep/child"), "k");
    // A directory entry over a symlink replaces the link; it is not followed.
    assert_eq!(f.kind("link"), Some(EntryKind::Dir));
    assert_eq!(f.mode("link"), 0o750);
    assert_eq!(f.root.list("link").unwrap(), Vec::<String>::new());
}

#[test]
fn whiteouts() {
    let mut f = Fixture::new();
    f.layer(&[
        E::File("a/x", 0o644, b"x"),
        E::File("a/y", 0o644, b"y"),
        E::File("b/deep/z", 0o644, b"z"),
    ]);
    f.layer(&[
        E::File("a/.wh.x", 0o644, b""),
        E::Dir(".wh.b", 0o755),
        E::File(".wh.nothing-here", 0o644, b""),
        E::File("nodir/.wh.x", 0o644, b""),
        E::File("new", 0o644, b"mine"),
        E::File(".wh.new", 0o644, b""),
    ]);
    assert!(!f.root.exists("a/x"));
    assert_eq!(f.text("a/y"), "y");
    assert!(!f.root.exists("b"));
    // Parts created earlier in the same layer survive its whiteouts.
    assert_eq!(f.text("new"), "mine");
    assert!(!f.root.exists("nodir"));
    assert!(!f
        .root
        .list("")
        .unwrap()
        .iter()
        .any(|n| n.starts_with(".wh.")));
}

#[test]
fn opaque_directories() {
    let mut f = Fixture::new();
    f.layer(&[
        E::File("o/old1", 0o644, b"1"),
        E::File("o/sub/old2", 0o644, b"2"),
        E::File("o/sub/kept-later", 0o644, b"3"),
        E::Dir("o/", 0o711),
    ]);
    f.layer(&[
        E::File("o/new", 0o644, b"n"),
        E::File("o/sub/kept-later", 0o600, b"4"),
        E::File("o/.wh..wh..opq", 0o644, b""),
        E::File("o/after", 0o644, b"a"),
        E::File("missing/.wh..wh..opq", 0o644, b""),
    ]);
    assert_eq!(f.root.list("o").unwrap(), ["after", "new"]);
    // The directory itself stays, with its earlier metadata.
    assert_eq!(f.mode("o"), 0o711);
    assert!(!f.root.exists("missing"));
}

#[test]
fn opaque_keeps_same_layer_subtrees() {
    let mut f = Fixture::new();
    f.layer(&[E::File("o/sub/old", 0o644, b"1")]);
    f.layer(&[
        E::Dir("o/sub/", 0o755),
        E::File("o/sub/new", 0o644, b"n"),
        E::File("o/.wh..wh..opq", 0o644, b""),
    ]);
    assert_eq!(f.root.list("o/sub").unwrap(), ["new"]);
}

#[test]
fn root_entry_must_be_a_directory() {
    let mut f = Fixture::new();
    f.layer(&[E::Dir("./", 0o700)]);
    assert_eq!(f.root.stat("/").unwrap().mode, 0o700);
    let err = f
        .layer_as(TAR, tar(&[E::File("./", 0o644, b"")]))
        .unwrap_err();
    assert!(matches!(err, Error::RootNotDirectory), "{err}");
    assert_eq!(err.code(), "root-not-directory");
    let err = f.layer_as(TAR, tar(&[E::Symlink("/", "x")])).unwrap_err();
    assert!(matches!(err, Error::RootNotDirectory), "{err}");
}

#[test]
fn duplicate_entries_last_wins() {
    let mut f = Fixture::new();
    f.layer(&[
        E::File("dup", 0o644, b"first"),
        E::File("dup", 0o600, b"second"),
        E::Dir("dd/", 0o755),
        E::Dir("dd/", 0o700),
    ]);
    assert_eq!(f.text("dup"), "second");
    assert_eq!(f.mode("dup"), 0o600);
    assert_eq!(f.mode("dd"), 0o700);
}

#[test]
fn parent_that_is_a_file_is_an_error() {
    let mut f = Fixture::new();
    let err = f
        .layer_as(
            TAR,
            tar(&[E::File("f", 0o644, b""), E::File("f/x", 0o644, b"")]),
        )
        .unwrap_err();
    assert_eq!(err.code(), "not-a-directory", "{err}");
}

#[test]
fn symlink_loops_are_an_error() {
    let mut f = Fixture::new();
    let err = f
        .layer_as(
            TAR,
            tar(&[
                E::Symlink("a", "b"),
                E::Symlink("b", "a"),
                E::File("a/x", 0o644, b""),
            ]),
        )
        .unwrap_err();
    assert_eq!(err.code(), "symlink-loop", "{err}");
}

#[test]
fn compressed_layers_and_media_types() {
    let mut f = Fixture::new();
    f.layer_as(GZ, gzip(&tar(&[E::File("gz", 0o644, b"gzip")])))
        .unwrap();
    f.layer_as(ZST, zstd(&tar(&[E::File("zst", 0o644, b"zstd")])))
        .unwrap();
    f.layer_as(
        "application/vnd.docker.image.rootfs.diff.tar.gzip",
        gzip(&tar(&[E::File("docker", 0o644, b"d")])),
    )
    .unwrap();
    assert_eq!(f.text("gz"), "gzip");
    assert_eq!(f.text("zst"), "zstd");
    assert_eq!(f.text("docker"), "d");

    let err = f
        .layer_as("application/vnd.oci.image.config.v1+json", b"{}".to_vec())
        .unwrap_err();
    assert_eq!(err.code(), "unsupported-media-type");
    let err = f.layer_as(GZ, b"not gzip at all".to_vec()).unwrap_err();
    assert!(
        matches!(err, Error::MalformedLayer(_) | Error::Io(_)),
        "{err}"
    );
}

#[test]
fn cancelled_before_any_entry() {
    let f = Fixture::new();
    let blob = f.dir.path().join("layer1");
    std::fs::write(&blob, tar(&[E::File("x", 0o644, b"x")])).unwrap();
    let cancel = Cancel::new();
    cancel.cancel();
    let mut root = f.root;
    let err = root.apply_layer(&blob, TAR, &cancel).unwrap_err();
    assert_eq!(err.code(), "cancelled");
}
