//! Malformed input gives the exact typed error, never a panic.

mod support;

use std::io::Cursor;

use berth_sif::{
    Arch, CreateOptions, DataType, Error, FsType, Image, ImageEditor, ObjectInput, PartType,
    PartitionMeta,
};
use support::{testdata, walk::walk, Rng};

const TABLE: usize = 128;
const SLOT: usize = 585;

/// A small valid image: table right after the header, 4 slots, three objects.
fn small_image() -> Vec<u8> {
    let opts = CreateOptions {
        descriptor_capacity: 4,
        descriptor_offset: TABLE as i64,
        objects: vec![
            ObjectInput::new(DataType::Deffile, b"bootstrap: scratch\n".as_slice()),
            ObjectInput::partition(
                vec![0x68, 0x73, 0x71, 0x73, 1, 2, 3, 4],
                PartitionMeta {
                    fs: FsType::Squashfs,
                    part: PartType::PrimSys,
                    arch: Arch::AMD64,
                },
            )
            .with_alignment(64),
            ObjectInput::new(DataType::OciBlob, b"{}".as_slice()),
        ],
        ..CreateOptions::deterministic()
    };
    let mut buf = Vec::new();
    ImageEditor::create(Cursor::new(&mut buf), opts).unwrap();
    buf
}

fn load(bytes: &[u8]) -> berth_sif::Result<Image<Cursor<&[u8]>>> {
    Image::load(Cursor::new(bytes))
}

fn put_i64(buf: &mut [u8], at: usize, v: i64) {
    buf[at..at + 8].copy_from_slice(&v.to_le_bytes());
}

/// Offset of a field inside descriptor `slot` of `small_image`.
fn slot_field(slot: usize, field: usize) -> usize {
    TABLE + slot * SLOT + field
}

const D_OFFSET: usize = 17;
const D_SIZE: usize = 25;

#[test]
fn small_image_is_valid() {
    let bytes = small_image();
    let image = load(&bytes).unwrap();
    assert_eq!(image.descriptors().len(), 3);
    assert!(walk(&bytes));
}

#[test]
fn walk_accepts_every_test_image() {
    for path in support::test_images() {
        assert!(walk(&std::fs::read(&path).unwrap()), "{}", path.display());
    }
}

#[test]
fn too_small() {
    let bytes = small_image();
    for len in [0, 1, 64, 127] {
        match load(&bytes[..len]) {
            Err(Error::TooSmall { len: got }) => assert_eq!(got, len as u64),
            other => panic!("{len}: {other:?}"),
        }
    }
}

#[test]
fn bad_magic_and_version() {
    let mut bytes = small_image();
    bytes[32..41].copy_from_slice(b"NOT_MAGIC");
    assert!(matches!(load(&bytes), Err(Error::BadMagic)));

    let mut bytes = small_image();
    bytes[42..45].copy_from_slice(b"02\0");
    match load(&bytes) {
        Err(Error::BadVersion { found }) => assert_eq!(found, "02"),
        other => panic!("{other:?}"),
    }

    let image = testdata().join("images/sylabs-sif/empty.sif");
    let mut bytes = std::fs::read(image).unwrap();
    bytes[32] = b's';
    assert!(matches!(load(&bytes), Err(Error::BadMagic)));
}

#[test]
fn absurd_descriptor_counts() {
    for total in [-1, i64::MIN, i64::MAX, i64::MAX / 585, 1 << 40, 1_000_000] {
        let mut bytes = small_image();
        put_i64(&mut bytes, 88, total);
        match load(&bytes) {
            Err(Error::AbsurdDescriptorCount { total: got }) => assert_eq!(got, total),
            other => panic!("{total}: {other:?}"),
        }
    }
}

#[test]
fn descriptor_table_out_of_bounds() {
    let len = small_image().len() as i64;
    let cases: [(usize, i64); 6] = [
        (96, -1),             // negative offset
        (96, i64::MIN),       // very negative offset
        (96, len),            // starts at end of file
        (96, len - 585),      // runs past the end
        (96, i64::MAX - 100), // offset + size overflows
        (104, 585 * 4 - 1),   // window too small for the descriptors
    ];
    for (field, value) in cases {
        let mut bytes = small_image();
        put_i64(&mut bytes, field, value);
        match load(&bytes) {
            Err(Error::DescriptorTableOutOfBounds {
                needed, file_len, ..
            }) => {
                assert_eq!(needed, 4 * 585);
                assert_eq!(file_len, len as u64);
            }
            other => panic!("field {field} = {value}: {other:?}"),
        }
    }
    // A negative window size is out of bounds as well.
    let mut bytes = small_image();
    put_i64(&mut bytes, 104, -585);
    assert!(matches!(
        load(&bytes),
        Err(Error::DescriptorTableOutOfBounds { .. })
    ));
}

#[test]
fn objects_out_of_bounds() {
    let len = small_image().len() as i64;
    let cases: [(usize, i64); 6] = [
        (D_OFFSET, -1),
        (D_OFFSET, len),      // size 19 past the end
        (D_OFFSET, i64::MAX), // offset + size overflows
        (D_SIZE, -1),
        (D_SIZE, len),
        (D_SIZE, i64::MAX),
    ];
    for (field, value) in cases {
        let mut bytes = small_image();
        put_i64(&mut bytes, slot_field(0, field), value);
        match load(&bytes) {
            Err(Error::ObjectOutOfBounds { id, file_len, .. }) => {
                assert_eq!(id, 1);
                assert_eq!(file_len, len as u64);
            }
            other => panic!("field {field} = {value}: {other:?}"),
        }
    }
}

#[test]
fn overlapping_objects() {
    let bytes = small_image();
    let image = load(&bytes).unwrap();
    let second = image.descriptor(2).unwrap().offset;
    let third = image.descriptor(3).unwrap().offset;

    // Object 1 grown into object 2.
    let mut bad = bytes.clone();
    let first = image.descriptor(1).unwrap().offset;
    put_i64(&mut bad, slot_field(0, D_SIZE), second - first + 1);
    assert!(matches!(
        load(&bad),
        Err(Error::OverlappingObjects { a: 1, b: 2 })
    ));

    // Object 3 moved inside object 2 (contained, not just touching).
    let mut bad = bytes.clone();
    put_i64(&mut bad, slot_field(2, D_OFFSET), second + 1);
    put_i64(&mut bad, slot_field(2, D_SIZE), 1);
    assert!(matches!(
        load(&bad),
        Err(Error::OverlappingObjects { a: 2, b: 3 })
    ));

    // Same start.
    let mut bad = bytes.clone();
    put_i64(&mut bad, slot_field(2, D_OFFSET), second);
    assert!(matches!(load(&bad), Err(Error::OverlappingObjects { .. })));

    // Empty objects overlap nothing; adjacent objects are fine.
    let mut ok = bytes.clone();
    put_i64(&mut ok, slot_field(2, D_OFFSET), second + 2);
    put_i64(&mut ok, slot_field(2, D_SIZE), 0);
    load(&ok).unwrap();
    assert!(third >= second + 8);
}

#[test]
fn decoders_check_the_type() {
    let bytes = small_image();
    let image = load(&bytes).unwrap();
    let deffile = image.descriptor(1).unwrap();
    assert!(matches!(
        deffile.partition(),
        Err(Error::WrongDataType {
            id: 1,
            found: DataType::Deffile,
            ..
        })
    ));
    assert!(matches!(
        deffile.signature(),
        Err(Error::WrongDataType { .. })
    ));
    assert!(matches!(
        deffile.crypto_message(),
        Err(Error::WrongDataType { .. })
    ));
    assert!(matches!(deffile.sbom(), Err(Error::WrongDataType { .. })));
    assert!(matches!(
        deffile.oci_digest(),
        Err(Error::WrongDataType { .. })
    ));
    assert_eq!(
        image.descriptor(2).unwrap().partition().unwrap().arch,
        Arch::AMD64
    );

    // A garbled OCI digest is reported as bad metadata of that object.
    let mut bad = bytes.clone();
    let extra = slot_field(2, 201);
    bad[extra..extra + 7].copy_from_slice(b"md5:xyz");
    let image = load(&bad).unwrap();
    match image.descriptor(3).unwrap().oci_digest() {
        Err(Error::BadExtra { id: 3, reason }) => assert!(reason.contains("md5"), "{reason}"),
        other => panic!("{other:?}"),
    }
}

#[test]
fn multiple_primary_partitions() {
    let opts = CreateOptions {
        objects: vec![
            ObjectInput::partition(
                vec![1],
                PartitionMeta {
                    fs: FsType::Squashfs,
                    part: PartType::PrimSys,
                    arch: Arch::AMD64,
                },
            ),
            ObjectInput::partition(
                vec![2],
                PartitionMeta {
                    fs: FsType::Squashfs,
                    part: PartType::System,
                    arch: Arch::AMD64,
                },
            ),
        ],
        ..CreateOptions::deterministic()
    };
    let mut bytes = Vec::new();
    ImageEditor::create(Cursor::new(&mut bytes), opts).unwrap();
    // Mark the second partition primary by hand; the writer would refuse to.
    let part_type = 4096 + 585 + 201 + 4;
    bytes[part_type] = 2;
    let image = load(&bytes).unwrap();
    assert!(matches!(
        image.primary_partition(),
        Err(Error::MultiplePrimaryPartitions)
    ));
}

/// Spec §9: DataOffset 32768, page-aligned objects (65536 on ppc64le), uid/gid set.
#[test]
fn legacy_layout_loads() {
    let opts = CreateOptions {
        objects: vec![
            ObjectInput::new(DataType::Deffile, b"bootstrap: docker\n".as_slice())
                .with_alignment(65536)
                .with_name("."),
            ObjectInput::partition(
                vec![7; 100],
                PartitionMeta {
                    fs: FsType::Squashfs,
                    part: PartType::PrimSys,
                    arch: Arch::PPC64LE,
                },
            )
            .with_alignment(65536)
            .with_name("."),
        ],
        ..CreateOptions::default()
    };
    let mut bytes = Vec::new();
    ImageEditor::create(Cursor::new(&mut bytes), opts).unwrap();
    put_i64(&mut bytes, 112, 32768);
    for slot in 0..2 {
        let base = 4096 + slot * SLOT;
        put_i64(&mut bytes, base + 57, 1000);
        put_i64(&mut bytes, base + 65, 1000);
    }
    let mut image = load(&bytes).unwrap();
    assert_eq!(image.header().data_offset, 32768);
    let d = image.descriptor(2).unwrap().clone();
    assert_eq!(
        (d.offset, d.uid, d.gid, d.name.as_str()),
        (131072, 1000, 1000, ".")
    );
    assert_eq!(image.header().arch.go_name(), "ppc64le");
    let mut data = Vec::new();
    std::io::Read::read_to_end(&mut image.object_reader(2).unwrap(), &mut data).unwrap();
    assert_eq!(data, vec![7; 100]);
}

/// Cutting a valid image anywhere gives an error until every object is complete, and the
/// error says what is missing.
#[test]
fn truncation_at_every_length() {
    let bytes = small_image();
    let image = load(&bytes).unwrap();
    let table_end = TABLE + 4 * SLOT;
    let data_end = image
        .descriptors()
        .iter()
        .map(|d| (d.offset + d.size) as usize)
        .max()
        .unwrap();
    for cut in 0..=bytes.len() {
        let result = load(&bytes[..cut]);
        match result {
            Err(Error::TooSmall { .. }) => assert!(cut < 128, "{cut}"),
            Err(Error::AbsurdDescriptorCount { .. } | Error::DescriptorTableOutOfBounds { .. }) => {
                assert!((128..table_end).contains(&cut), "{cut}")
            }
            Err(Error::ObjectOutOfBounds { .. }) => assert!((table_end..data_end).contains(&cut)),
            Ok(image) => {
                assert!(cut >= data_end, "{cut}");
                assert_eq!(image.descriptors().len(), 3);
            }
            Err(other) => panic!("cut at {cut}: unexpected {other:?}"),
        }
        walk(&bytes[..cut]);
    }
}

/// A real image, cut at a coarse stride and around its boundaries.
#[test]
fn truncation_of_a_real_image() {
    let bytes = std::fs::read(testdata().join("images/sylabs-sif/one-group.sif")).unwrap();
    let mut cuts: Vec<usize> = (0..bytes.len()).step_by(97).collect();
    cuts.extend([127, 128, 4096, 32175, 32176, 32771, 32772, 40959, 40960]);
    for cut in cuts {
        let loaded = walk(&bytes[..cut]);
        assert_eq!(loaded, cut >= 40960, "cut at {cut}");
    }
}

/// Thousands of mutated and random buffers: errors are fine, panics are not. Deterministic
/// seed so a failure replays.
#[test]
fn random_mutations_never_panic() {
    let seeds: Vec<Vec<u8>> = vec![
        small_image(),
        std::fs::read(testdata().join("images/sylabs-sif/one-object-oci-root-index.sif")).unwrap(),
        std::fs::read(testdata().join("images/sylabs-sif/one-group-signed-pgp.sif")).unwrap(),
    ];
    let interesting: [i64; 10] = [0, 1, -1, 128, 585, 4096, i64::MAX, i64::MIN, 1 << 32, 32176];
    let mut rng = Rng::new(0x5EED_51F0);
    let mut loaded = 0;
    for round in 0..3000 {
        let mut buf = seeds[round % seeds.len()].clone();
        for _ in 0..=rng.below(6) {
            if buf.len() < 136 {
                break;
            }
            // Most damage goes where the structure is: the header and the descriptor table.
            let hot = buf.len().min(4096 + 8 * SLOT);
            match rng.below(4) {
                0 => {
                    let at = rng.below(128) as usize;
                    buf[at] = rng.next_u64() as u8;
                }
                1 => {
                    let at = (rng.below(hot as u64 - 8)) as usize;
                    let v = interesting[rng.below(interesting.len() as u64) as usize];
                    put_i64(&mut buf, at, v);
                }
                2 => {
                    let at = rng.below(buf.len() as u64) as usize;
                    buf[at] ^= 1 << rng.below(8);
                }
                _ => {
                    let cut = rng.below(buf.len() as u64 + 1) as usize;
                    buf.truncate(cut);
                }
            }
        }
        loaded += usize::from(walk(&buf));
    }
    // Pure noise, with and without a valid magic and version in front.
    for _ in 0..1000 {
        let len = rng.below(6000) as usize;
        let mut buf: Vec<u8> = (0..len).map(|_| rng.next_u64() as u8).collect();
        if len >= 128 && rng.below(2) == 0 {
            buf[32..45].copy_from_slice(b"SIF_MAGIC\x0001\0");
        }
        walk(&buf);
    }
    assert!(
        loaded > 100,
        "mutations should not all be fatal ({loaded} loaded)"
    );
}

/// `load_table` lists what `load` refuses, and still refuses to read what is not there.
#[test]
fn a_truncated_image_lists_with_load_table_but_its_cut_object_cannot_be_read() {
    let bytes = std::fs::read(testdata().join("images/apptainer-e2e/busybox_amd64.sif")).unwrap();
    let cut = bytes[..40_000].to_vec();
    assert!(matches!(
        berth_sif::Image::load(std::io::Cursor::new(cut.clone())),
        Err(berth_sif::Error::ObjectOutOfBounds { id: 3, .. })
    ));
    let mut image = berth_sif::Image::load_table(std::io::Cursor::new(cut)).unwrap();
    assert_eq!(image.descriptors().len(), 5);
    let mut first = Vec::new();
    std::io::Read::read_to_end(&mut image.object_reader(1).unwrap(), &mut first).unwrap();
    assert_eq!(first.len(), 39);
    assert!(matches!(
        image.object_reader(4),
        Err(berth_sif::Error::ObjectOutOfBounds { id: 4, .. })
    ));
}
