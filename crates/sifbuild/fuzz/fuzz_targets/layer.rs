//! Applies arbitrary bytes as two tar layers, then writes the tree as SquashFS: nothing may
//! panic, and whatever a layer holds stays inside the in-memory tree (there is no host path
//! to write to). Run with `cargo fuzz run layer` from `crates/sifbuild`.
#![no_main]

use std::io::Write as _;
use std::sync::Arc;

use berth_progress::{Cancel, NoProgress};
use berth_sifbuild::RootFs;

const TAR: &str = "application/vnd.oci.image.layer.v1.tar";

libfuzzer_sys::fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().expect("temp dir");
    // Two layers from one input, so whiteouts in the second can meet entries of the first.
    let cut = data.len() / 2;
    let mut root = RootFs::new(dir.path()).expect("spool");
    for (i, part) in [&data[..cut], &data[cut..]].into_iter().enumerate() {
        let blob = dir.path().join(format!("layer{i}.tar"));
        std::fs::File::create(&blob)
            .and_then(|mut f| f.write_all(part))
            .expect("write blob");
        // Errors are expected for malformed tar; only panics are bugs.
        let _ = root.apply_layer(&blob, TAR, &Cancel::new());
    }
    let out = dir.path().join("out.sqfs");
    let _ = berth_sifbuild::write_squashfs(&root, &out, Arc::new(NoProgress), &Cancel::new());
});
