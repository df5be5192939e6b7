//! Applies layer blobs and writes a SquashFS image, printing how long each step took; for
//! measuring time and memory on real layers.
//!
//! `cargo run --release -p berth-sifbuild --example layer_to_squashfs -- OUT.sqfs LAYER:MEDIA_TYPE...`

use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use berth_progress::{Cancel, NoProgress};
use berth_sifbuild::{write_squashfs, RootFs};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (out, layers) = args
        .split_first()
        .ok_or("usage: OUT.sqfs LAYER:MEDIA_TYPE...")?;
    let out = Path::new(out);
    let spool = out
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut root = RootFs::new(spool)?;
    let cancel = Cancel::new();
    let start = Instant::now();
    for layer in layers {
        let (path, media_type) = layer.rsplit_once(':').ok_or("LAYER:MEDIA_TYPE expected")?;
        let report = root.apply_layer(Path::new(path), media_type, &cancel)?;
        eprintln!(
            "{path}: {} entries, {} warnings",
            report.entries,
            report.warnings.len()
        );
    }
    eprintln!(
        "layers applied in {:.2?} ({} bytes of file data)",
        start.elapsed(),
        root.data_size()
    );
    let start = Instant::now();
    let size = write_squashfs(&root, out, Arc::new(NoProgress), &cancel)?;
    eprintln!(
        "squashfs of {size} bytes written in {:.2?}",
        start.elapsed()
    );
    Ok(())
}
