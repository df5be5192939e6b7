//! SquashFS writing: progress, cancellation and clean-up.

mod common;

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use berth_progress::{Cancel, Phase, Progress};
use berth_sifbuild::{write_squashfs, RootFs};
use common::{run, stdout};

#[derive(Default)]
struct Recorder {
    phases: Mutex<Vec<(Phase, Option<u64>)>>,
    done: AtomicU64,
    cancel_after_first: Option<Cancel>,
}

impl Progress for Recorder {
    fn phase(&self, phase: Phase, total: Option<u64>) {
        self.phases.lock().unwrap().push((phase, total));
    }
    fn advance(&self, bytes: u64) {
        self.done.fetch_add(bytes, Ordering::SeqCst);
        if let Some(c) = &self.cancel_after_first {
            c.cancel();
        }
    }
    fn retract(&self, bytes: u64) {
        self.done.fetch_sub(bytes, Ordering::SeqCst);
    }
}

fn sample(dir: &std::path::Path) -> RootFs {
    let mut root = RootFs::new(dir).unwrap();
    root.add_file("a/big", 0o644, &vec![1u8; 400_000]).unwrap();
    root.add_file("a/small", 0o600, b"small").unwrap();
    root.add_file(
        "b/other",
        0o755,
        &(0..200_000u32).map(|i| (i % 251) as u8).collect::<Vec<_>>(),
    )
    .unwrap();
    root.add_symlink("c", "a/small").unwrap();
    root
}

#[test]
fn reports_progress_and_writes_all_root() {
    let dir = tempfile::tempdir().unwrap();
    let root = sample(dir.path());
    let rec = Arc::new(Recorder::default());
    let out = dir.path().join("x.sqfs");
    write_squashfs(&root, &out, rec.clone(), &Cancel::new()).unwrap();
    let total = 400_000 + 5 + 200_000;
    assert_eq!(
        *rec.phases.lock().unwrap(),
        [(Phase::Squashing, Some(total))]
    );
    assert_eq!(rec.done.load(Ordering::SeqCst), total);
    let listing = stdout(&run("unsquashfs", &["-lln", out.to_str().unwrap()], None));
    assert!(
        listing
            .lines()
            .all(|l| l.split_whitespace().nth(1) == Some("0/0")),
        "{listing}"
    );
    assert!(listing.contains("squashfs-root/c -> a/small"), "{listing}");
    let stats = stdout(&run("unsquashfs", &["-s", out.to_str().unwrap()], None));
    assert!(stats.contains("Compression gzip"), "{stats}");
    assert!(stats.contains("Block size 131072"), "{stats}");
    let big = run(
        "unsquashfs",
        &["-cat", out.to_str().unwrap(), "b/other"],
        None,
    )
    .stdout;
    assert_eq!(big, root.read("b/other").unwrap());
}

#[test]
fn cancel_leaves_no_output() {
    let dir = tempfile::tempdir().unwrap();
    let root = sample(dir.path());
    let out = dir.path().join("x.sqfs");

    let cancel = Cancel::new();
    let rec = Arc::new(Recorder {
        cancel_after_first: Some(cancel.clone()),
        ..Recorder::default()
    });
    let err = write_squashfs(&root, &out, rec, &cancel).unwrap_err();
    assert_eq!(err.code(), "cancelled", "{err}");
    assert!(!out.exists());

    let err =
        write_squashfs(&root, &out, Arc::new(berth_progress::NoProgress), &cancel).unwrap_err();
    assert_eq!(err.code(), "cancelled");
    assert!(!out.exists());
}

#[test]
fn unwritable_output_is_an_io_error() {
    let dir = tempfile::tempdir().unwrap();
    let root = sample(dir.path());
    let err = write_squashfs(
        &root,
        &dir.path().join("missing/x.sqfs"),
        Arc::new(berth_progress::NoProgress),
        &Cancel::new(),
    )
    .unwrap_err();
    assert_eq!(err.code(), "io", "{err}");
}
