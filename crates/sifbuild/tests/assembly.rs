//! The whole pipeline into a SIF, read back by siftool, unsquashfs and Berth's own reader,
//! and compared in structure with a SIF Apptainer (Singularity 3.8.1) wrote.

mod common;

use std::fs;
use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use berth_progress::{Cancel, NoProgress};
use berth_sif::{DataType, Descriptor, FsType, Image, PartType};
use berth_sifbuild::{
    add_oci_skeleton, assemble_sif, definition_for_pull, detect_arch, inspect_metadata_json,
    oci_config_json, write_squashfs, SkeletonInput, LAUNCH_SCRIPT,
};
use common::{build_image, layout_layers, rootfs_from_layout, run, stdout};

fn used(image: &Image<fs::File>) -> Vec<Descriptor> {
    image
        .descriptors()
        .iter()
        .filter(|d| d.used)
        .cloned()
        .collect()
}

#[test]
fn builds_a_sif_readers_accept() {
    let dir = tempfile::tempdir().unwrap();
    build_image(dir.path());
    let mut root = rootfs_from_layout(dir.path());
    let (_, config) = layout_layers(&dir.path().join("L"), "t");

    let arch = detect_arch(&root).expect("busybox in the image is an ELF program");
    assert_eq!(arch, "amd64");
    let def = definition_for_pull("example/image:t");
    let cfg = &config["config"];
    add_oci_skeleton(
        &mut root,
        &SkeletonInput {
            definition: &def,
            bootstrap: "docker",
            from: "example/image:t",
            config: cfg,
            arch: &arch,
            variant: None,
            build_time: SystemTime::now(),
            base_name: None,
            base_digest: None,
            berth_version: "0.1.0",
        },
    )
    .unwrap();
    let squashfs = dir.path().join("rootfs.sqfs");
    write_squashfs(&root, &squashfs, Arc::new(NoProgress), &Cancel::new()).unwrap();
    let inspect = inspect_metadata_json(&root).unwrap();
    let oci = oci_config_json(cfg);
    assert!(String::from_utf8(oci.clone())
        .unwrap()
        .contains("\"Cmd\":[\"sh\"]"));
    let out = dir.path().join("out.sif");
    assemble_sif(
        &out,
        def.as_bytes(),
        &[
            ("oci-config.json", oci.clone()),
            ("inspect-metadata.json", inspect.clone()),
        ],
        &squashfs,
        &arch,
    )
    .unwrap();
    // Only the SIF and our inputs remain: no temp file beside the output.
    let mut names: Vec<String> = fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "L",
            "bundle",
            "opaque.tar",
            "out.sif",
            "rootfs.sqfs",
            "spool"
        ]
    );

    // siftool
    let list = stdout(&run("siftool", &["list", out.to_str().unwrap()], None));
    let rows: Vec<&str> = list
        .lines()
        .filter(|l| l.starts_with(|c: char| c.is_ascii_digit()))
        .collect();
    assert_eq!(rows.len(), 4, "{list}");
    assert!(rows[0].ends_with("|Def.FILE"), "{list}");
    assert!(
        rows[1].ends_with("|JSON.Generic") && rows[2].ends_with("|JSON.Generic"),
        "{list}"
    );
    assert!(rows[3].ends_with("|FS (Squashfs/*System/amd64)"), "{list}");
    let info = stdout(&run("siftool", &["info", "2", out.to_str().unwrap()], None));
    assert!(info.contains("inspect-metadata.json"), "{info}");
    let info = stdout(&run("siftool", &["info", "3", out.to_str().unwrap()], None));
    assert!(info.contains("oci-config.json"), "{info}");
    let part = dir.path().join("part.sqfs");
    let dump = run("siftool", &["dump", "4", out.to_str().unwrap()], None);
    fs::write(&part, &dump.stdout).unwrap();
    assert_eq!(fs::read(&part).unwrap(), fs::read(&squashfs).unwrap());

    // unsquashfs sees the skeleton with its modes, all owned by root.
    let listing: String = stdout(&run("unsquashfs", &["-lln", part.to_str().unwrap()], None))
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ") + "\n")
        .collect();
    let line = |p: &str| {
        listing
            .lines()
            .find(|l| {
                l.ends_with(&format!(" squashfs-root/{p}"))
                    || l.contains(&format!(" squashfs-root/{p} -> "))
            })
            .unwrap_or_else(|| panic!("{p} not in listing:\n{listing}"))
            .to_owned()
    };
    assert!(line(".singularity.d/runscript").starts_with("-rwxr-xr-x 0/0"));
    assert!(line(".singularity.d/env/10-docker2singularity.sh").starts_with("-rwxr-xr-x 0/0"));
    assert!(line(".singularity.d/labels.json").starts_with("-rw-r--r-- 0/0"));
    assert!(line("etc/hosts").starts_with("-rw-r--r-- 0/0 0 "));
    assert!(line("singularity").starts_with("lrwxrwxrwx 0/0"));
    assert!(line("singularity").ends_with("-> .singularity.d/runscript"));
    assert!(line("proc").starts_with("drwxr-xr-x 0/0"));
    assert!(line("usr/bin/su").starts_with("-rwsr-xr-x 0/0"));
    assert!(listing
        .lines()
        .all(|l| l.split_whitespace().nth(1) == Some("0/0")));
    let runscript = run(
        "unsquashfs",
        &["-cat", part.to_str().unwrap(), ".singularity.d/runscript"],
        None,
    )
    .stdout;
    assert!(String::from_utf8(runscript)
        .unwrap()
        .lines()
        .any(|l| l == "eval \"set ${SINGULARITY_OCI_RUN}\""));

    // Berth's reader.
    let image = Image::open(&out).unwrap();
    assert_eq!(image.header().launch_script, LAUNCH_SCRIPT);
    assert_eq!(image.header().arch.go_name(), "amd64");
    let ds = used(&image);
    let p = ds[3].partition().unwrap();
    assert_eq!(
        (p.fs, p.part, p.arch.go_name()),
        (FsType::Squashfs, PartType::PrimSys, "amd64")
    );
    assert_eq!(ds[0].size as usize, def.len());
    assert_eq!(ds[1].size as usize, inspect.len());
    assert_eq!(ds[2].size as usize, oci.len());
    let inspect_v: serde_json::Value = serde_json::from_slice(&inspect).unwrap();
    assert_eq!(inspect_v["type"], "container");
    assert_eq!(
        inspect_v["data"]["attributes"]["deffile"],
        "bootstrap: docker\nfrom: example/image:t"
    );

    compare_with_apptainer(&image);
}

/// Same objects, types, order, groups and partition alignment as a SIF Apptainer wrote;
/// offsets of the small objects differ (3.8.1 aligned them, newer versions do not).
fn compare_with_apptainer(ours: &Image<fs::File>) {
    let golden = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../../shared/testdata/sif/images/apptainer-e2e/busybox_amd64.sif");
    let golden = Image::open(&golden).unwrap_or_else(|e| panic!("{}: {e}", golden.display()));
    assert_eq!(ours.header().launch_script, golden.header().launch_script);
    assert_eq!(
        ours.header().descriptors_total,
        golden.header().descriptors_total
    );
    assert_eq!(
        ours.header().descriptors_offset,
        golden.header().descriptors_offset
    );
    // The golden image is signed afterwards; compare the objects a pull writes.
    let theirs: Vec<Descriptor> = used(&golden)
        .into_iter()
        .filter(|d| d.data_type != DataType::Signature)
        .collect();
    let mine = used(ours);
    let shape = |ds: &[Descriptor]| {
        ds.iter()
            .map(|d| (d.data_type, d.group_id, d.id, d.link, d.uid, d.gid))
            .collect::<Vec<_>>()
    };
    assert_eq!(shape(&mine), shape(&theirs));
    let (a, b) = (mine[3].partition().unwrap(), theirs[3].partition().unwrap());
    assert_eq!((a.fs, a.part, a.arch), (b.fs, b.part, b.arch));
    assert_eq!(mine[3].offset % 4096, 0);
    assert_eq!(theirs[3].offset % 4096, 0);
    assert_eq!(mine[1].name, "inspect-metadata.json");
    assert_eq!(mine[2].name, "oci-config.json");
    assert!(
        mine[0].offset < mine[1].offset
            && mine[1].offset < mine[2].offset
            && mine[2].offset < mine[3].offset
    );
}
