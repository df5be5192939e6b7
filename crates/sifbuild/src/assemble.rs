//! The SIF file (oci-to-sif.md §7.3): definition, JSON metadata, the SquashFS system
//! partition.

use std::path::Path;

use berth_sif::{Arch, CreateOptions, DataType, FsType, ObjectInput, PartType, PartitionMeta};

use crate::error::{Error, Result};

/// Launch script of every image a pull writes.
pub const LAUNCH_SCRIPT: &[u8] = b"#!/usr/bin/env run-singularity\n";

/// Writes the SIF at `out`. The writer builds it in a temp file beside `out`, syncs it and
/// renames it into place, so `out` is never half-written. `json_objects` are
/// `(name, data)`; they are stored sorted by name and empty ones are left out. `arch` is a
/// Go architecture name.
pub fn assemble_sif(
    out: &Path,
    definition: &[u8],
    json_objects: &[(&str, Vec<u8>)],
    squashfs: &Path,
    arch: &str,
) -> Result<()> {
    let arch = Arch::from_go_name(arch)
        .map_err(|_| Error::InvalidMetadata(format!("unknown architecture {arch:?}")))?;
    let mut objects = Vec::new();
    if !definition.is_empty() {
        objects.push(ObjectInput::new(DataType::Deffile, definition.to_vec()));
    }
    let mut json: Vec<&(&str, Vec<u8>)> =
        json_objects.iter().filter(|(_, d)| !d.is_empty()).collect();
    json.sort_by(|a, b| a.0.cmp(b.0));
    for (name, data) in json {
        objects.push(ObjectInput::new(DataType::GenericJson, data.clone()).with_name(*name));
    }
    objects.push(
        ObjectInput::partition(
            squashfs.to_path_buf(),
            PartitionMeta {
                fs: FsType::Squashfs,
                part: PartType::PrimSys,
                arch,
            },
        )
        .with_alignment(4096),
    );
    let opts = CreateOptions {
        launch_script: LAUNCH_SCRIPT.to_vec(),
        objects,
        ..CreateOptions::default()
    };
    berth_sif::create(out, opts)?;
    Ok(())
}
