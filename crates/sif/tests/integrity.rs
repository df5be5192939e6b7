//! Header and descriptor integrity streams match the reference goldens
//! (`writer/TestHeader_GetIntegrityReader`, `writer/TestDescriptor_GetIntegrityReader`) and
//! the sources of the integrity-metadata goldens.

mod support;

use berth_sif::{Arch, DataType, Descriptor, Header, Image, Link, DESCRIPTOR_LEN};
use support::testdata;

/// A golden name and how the base value is modified for it.
type Case<T> = (&'static str, fn(&mut T));

fn golden(dir: &str, case: &str) -> Vec<u8> {
    std::fs::read(
        testdata()
            .join("writer")
            .join(dir)
            .join(format!("{case}.golden")),
    )
    .unwrap()
}

fn base_header() -> Header {
    Header {
        launch_script: b"#!/usr/bin/env run-singularity\n".to_vec(),
        version: "01".into(),
        arch: Arch::AMD64,
        id: *uuid::Uuid::parse_str("b2659d4e-bd50-4ea5-bd17-eec5e54f918e")
            .unwrap()
            .as_bytes(),
        created_at: 1_504_657_553,
        modified_at: 1_504_657_653,
        descriptors_free: 48,
        descriptors_total: 48,
        descriptors_offset: 4096,
        descriptors_size: 48 * 585,
        data_offset: 4096 + 48 * 585,
        data_size: 0,
    }
}

/// Copies `src` over the start of `dst`, as the reference test modifies fixed fields.
fn overwrite(dst: &mut [u8], src: &[u8]) {
    dst[..src.len()].copy_from_slice(src);
}

#[test]
fn header_streams() {
    let dir = "TestHeader_GetIntegrityReader";
    let cases: Vec<Case<Header>> = vec![
        ("LaunchScript", |h| {
            overwrite(&mut h.launch_script, b"#!/usr/bin/env rm\n")
        }),
        ("Version", |h| h.version = "02".into()),
        ("Arch", |h| h.arch = Arch::S390X),
        ("ID", |h| h.id[0] += 1),
        ("CreatedAt", |h| h.created_at += 1),
        ("ModifiedAt", |h| h.modified_at += 1),
        ("DescriptorsFree", |h| h.descriptors_free += 1),
        ("DescriptorsTotal", |h| h.descriptors_total += 1),
        ("DescriptorsOffset", |h| h.descriptors_offset += 1),
        ("DescriptorsSize", |h| h.descriptors_size += 1),
        ("DataOffset", |h| h.data_offset += 1),
        ("DataSize", |h| h.data_size += 1),
    ];
    for (case, modify) in cases {
        let mut h = base_header();
        modify(&mut h);
        let got = h.integrity_bytes();
        assert_eq!(got.len(), berth_sif::HEADER_INTEGRITY_LEN);
        assert_eq!(got, golden(dir, case), "{case}");
    }
    // A loaded header always has the right magic, so the Magic case is checked on raw bytes.
    let mut raw = base_header().encode();
    overwrite(&mut raw[32..42], b"BAD_MAGIC");
    assert_eq!(Header::raw_integrity_bytes(&raw), golden(dir, "Magic"));
}

#[test]
fn header_stream_source() {
    let want = std::fs::read(testdata().join("expected/integrity/sources/header.bin")).unwrap();
    assert_eq!(base_header().integrity_bytes(), want);
}

fn base_descriptor() -> Descriptor {
    let mut d = Descriptor::decode(&[0u8; DESCRIPTOR_LEN], 0);
    d.data_type = DataType::Deffile;
    d.used = true;
    d.id = 1;
    d.group_id = 1;
    d.raw_group_id = 0xF000_0001;
    d.created_at = 1_504_657_553;
    d.modified_at = 1_504_657_553;
    overwrite(&mut d.raw_name, b"GOOD_NAME");
    d.name = "GOOD_NAME".into();
    overwrite(&mut d.extra, b"GOOD_EXTRA");
    d
}

#[test]
fn descriptor_streams() {
    let dir = "TestDescriptor_GetIntegrityReader";
    let cases: Vec<Case<Descriptor>> = vec![
        ("DataType", |d| {
            d.data_type = DataType::from_code(d.data_type.code() + 1)
        }),
        ("Used", |d| d.used = !d.used),
        ("ID", |d| d.id += 1),
        ("GroupID", |d| d.raw_group_id += 1),
        ("LinkedID", |d| {
            d.raw_link += 1;
            d.link = Link::from_raw(d.raw_link);
        }),
        ("Offset", |d| d.offset += 1),
        ("Size", |d| d.size += 1),
        ("SizeWithPadding", |d| d.size_with_padding += 1),
        ("CreatedAt", |d| d.created_at += 1),
        ("ModifiedAt", |d| d.modified_at += 1),
        ("UID", |d| d.uid += 1),
        ("GID", |d| d.gid += 1),
        ("Name", |d| overwrite(&mut d.raw_name, b"BAD_NAME")),
        ("Extra", |d| overwrite(&mut d.extra, b"BAD_EXTRA")),
    ];
    for (case, modify) in cases {
        let mut d = base_descriptor();
        modify(&mut d);
        let got = d.integrity_bytes(0);
        assert_eq!(got.len(), berth_sif::DESCRIPTOR_INTEGRITY_LEN);
        assert_eq!(got, golden(dir, case), "{case}");
    }
    assert_eq!(
        base_descriptor().integrity_bytes(1),
        golden(dir, "RelativeID")
    );
}

#[test]
fn descriptor_stream_sources() {
    // The object-metadata goldens digest a used Def.FILE descriptor with every other
    // field zero.
    let mut d = Descriptor::decode(&[0u8; DESCRIPTOR_LEN], 0);
    d.data_type = DataType::Deffile;
    d.used = true;
    let sources = testdata().join("expected/integrity/sources");
    for (relative_id, file) in [(0, "descr-rid0.bin"), (1, "descr-rid1.bin")] {
        let want = std::fs::read(sources.join(file)).unwrap();
        assert_eq!(d.integrity_bytes(relative_id), want, "{file}");
    }
}

/// The header digest recorded in the signature metadata of one-group-signed-pgp.sif
/// (sif-signing.md §3) is the SHA-256 of the header stream of a loaded image.
#[test]
fn loaded_image_header_stream_matches_signed_digest() {
    use sha2::{Digest, Sha256};
    let image = Image::open(testdata().join("images/sylabs-sif/one-group-signed-pgp.sif")).unwrap();
    let digest = support::hex(&Sha256::digest(image.header().integrity_bytes()));
    assert_eq!(
        digest,
        "635fa0a14a8ef0c0351ed3e985799ed1d4f75ce973dea3cc76c99710795cc3f1"
    );
    let d1 = image.descriptor(1).unwrap();
    let digest = support::hex(&Sha256::digest(d1.integrity_bytes(image.relative_id(d1))));
    assert_eq!(
        digest,
        "3634ad01db0dd5482ecf685267b53d6201690438ca27c3d7ea91c971a1f41f92"
    );
    let d2 = image.descriptor(2).unwrap();
    let digest = support::hex(&Sha256::digest(d2.integrity_bytes(image.relative_id(d2))));
    assert_eq!(
        digest,
        "04b5f87c9692a54f80d10fb6af00c779763aeca29d610348854bd97cd8bf66fd"
    );
}
