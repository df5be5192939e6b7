//! The writer reproduces the reference writer's output byte for byte
//! (`writer/<Test>/<Case>.golden`, operations as described in the test-data README).
//!
//! Each scenario runs twice: through the path-based atomic API and through [`ImageEditor`]
//! on a buffer in memory.

mod support;

use std::collections::BTreeSet;

use berth_sif::{
    Arch, CreateOptions, DataType, DeleteOptions, EditOptions, Error, FsType, ObjectInput,
    ObjectMetadata, PartType, PartitionMeta,
};
use support::backend::{Backend, InMemory, OnDisk};
use support::testdata;

/// UUID `de170c43-36ab-44a8-bca9-1ea1a070a274`.
const U: [u8; 16] = [
    0xde, 0x17, 0x0c, 0x43, 0x36, 0xab, 0x44, 0xa8, 0xbc, 0xa9, 0x1e, 0xa1, 0xa0, 0x70, 0xa2, 0x74,
];
/// 2000-01-01T05:00:00Z.
const T: i64 = 946_702_800;

fn det() -> CreateOptions {
    CreateOptions::deterministic()
}

/// Not deterministic: ID U, time T.
fn fixed() -> CreateOptions {
    CreateOptions {
        id: Some(U),
        time: Some(T),
        ..CreateOptions::default()
    }
}

fn with(mut opts: CreateOptions, objects: Vec<ObjectInput>) -> CreateOptions {
    opts.objects = objects;
    opts
}

fn g(bytes: &[u8]) -> ObjectInput {
    ObjectInput::new(DataType::Generic, bytes)
}

fn p(bytes: &[u8], fs: FsType, part: PartType, arch: Arch) -> ObjectInput {
    ObjectInput::partition(bytes, PartitionMeta { fs, part, arch })
}

fn blob(bytes: &[u8]) -> ObjectInput {
    ObjectInput::new(DataType::OciBlob, bytes)
}

fn edit() -> EditOptions {
    EditOptions::default()
}

fn det_edit() -> EditOptions {
    EditOptions {
        deterministic: true,
        time: None,
    }
}

fn del(zero: bool, compact: bool) -> DeleteOptions {
    DeleteOptions {
        zero,
        compact,
        edit: EditOptions::default(),
    }
}

const EMPTY_DIGEST: &str =
    "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";
const SET_DIGEST: &str = "sha256:93a6ab73f77ce27501f74bb35af9b4da5b964c62f96175a1bc0e8ba2ae0dec08";

type Scenario = fn(&mut dyn Backend);

fn scenarios() -> Vec<(&'static str, Scenario)> {
    use FsType::{Raw, Squashfs};
    use PartType::{PrimSys, System};
    vec![
        ("TestCreateContainer/Empty", |b| b.create(det()).unwrap()),
        ("TestCreateContainer/EmptyLaunchScript", |b| {
            let opts = CreateOptions {
                launch_script: b"#!/usr/bin/env launch-script\n".to_vec(),
                ..det()
            };
            b.create(opts).unwrap()
        }),
        ("TestCreateContainer/EmptyWithID", |b| {
            b.create(CreateOptions {
                id: Some(U),
                ..det()
            })
            .unwrap()
        }),
        ("TestCreateContainer/EmptyDescriptorLimitedCapacity", |b| {
            b.create(CreateOptions {
                descriptor_capacity: 1,
                ..det()
            })
            .unwrap()
        }),
        ("TestCreateContainer/OneDescriptor", |b| {
            b.create(with(det(), vec![g(&[0xfa, 0xce])])).unwrap()
        }),
        ("TestCreateContainer/TwoDescriptors", |b| {
            let objects = vec![
                g(&[0xfa, 0xce]),
                p(&[0xfe, 0xed], Squashfs, PrimSys, Arch::I386),
            ];
            b.create(with(det(), objects)).unwrap()
        }),
        ("TestCreateContainer/TwoDescriptorsNotAligned", |b| {
            let objects = vec![
                g(&[0xfa, 0xce]).with_alignment(0),
                p(&[0xfe, 0xed], Squashfs, PrimSys, Arch::I386).with_alignment(0),
            ];
            b.create(with(det(), objects)).unwrap()
        }),
        ("TestAddObject/Empty", |b| {
            b.create(det()).unwrap();
            assert_eq!(b.add(g(&[0xfa, 0xce]), &edit()).unwrap(), 1);
        }),
        ("TestAddObject/EmptyNotAligned", |b| {
            b.create(det()).unwrap();
            b.add(g(&[0xfa, 0xce]).with_alignment(0), &edit()).unwrap();
        }),
        ("TestAddObject/NotEmpty", |b| {
            b.create(with(det(), vec![g(&[0xfa, 0xce])])).unwrap();
            let id = b
                .add(p(&[0xfe, 0xed], Squashfs, PrimSys, Arch::I386), &edit())
                .unwrap();
            assert_eq!(id, 2);
        }),
        ("TestAddObject/NotEmptyNotAligned", |b| {
            b.create(with(det(), vec![g(&[0xfa, 0xce])])).unwrap();
            let part = p(&[0xfe, 0xed], Squashfs, PrimSys, Arch::I386).with_alignment(0);
            b.add(part, &edit()).unwrap();
        }),
        ("TestAddObject/Deterministic", |b| {
            b.create(fixed()).unwrap();
            b.add(g(&[0xfa, 0xce]), &det_edit()).unwrap();
        }),
        ("TestAddObject/ErrPrimaryPartition", |b| {
            b.create(with(
                det(),
                vec![p(&[0xfa, 0xce], Squashfs, PrimSys, Arch::I386)],
            ))
            .unwrap();
            let before = b.bytes();
            let err = b
                .add(p(&[0xfe, 0xed], Squashfs, PrimSys, Arch::AMD64), &edit())
                .unwrap_err();
            assert!(matches!(err, Error::PrimaryPartitionExists), "{err:?}");
            assert_eq!(
                b.bytes(),
                before,
                "a refused add leaves the image unchanged"
            );
        }),
        ("TestDeleteObject/Compact", |b| {
            b.create(with(det(), vec![g(&[0xfa, 0xce]), g(&[0xfe, 0xed])]))
                .unwrap();
            b.delete(1, &del(false, true)).unwrap();
            b.delete(2, &del(false, true)).unwrap();
        }),
        ("TestDeleteObject/OneZero", |b| {
            b.create(with(det(), vec![g(&[0xfa, 0xce]), g(&[0xfe, 0xed])]))
                .unwrap();
            b.delete(1, &del(true, false)).unwrap();
        }),
        ("TestDeleteObject/OneCompact", |b| {
            b.create(with(det(), vec![g(&[0xfa, 0xce]), g(&[0xfe, 0xed])]))
                .unwrap();
            b.delete(1, &del(false, true)).unwrap();
        }),
        ("TestDeleteObject/TwoZero", |b| {
            b.create(with(det(), vec![g(&[0xfa, 0xce]), g(&[0xfe, 0xed])]))
                .unwrap();
            b.delete(2, &del(true, false)).unwrap();
        }),
        ("TestDeleteObject/PrimaryPartition", |b| {
            b.create(with(
                det(),
                vec![p(&[0xfa, 0xce], Squashfs, PrimSys, Arch::I386)],
            ))
            .unwrap();
            b.delete(1, &del(false, false)).unwrap();
        }),
        ("TestDeleteObject/Deterministic", |b| {
            b.create(with(fixed(), vec![g(&[0xfa, 0xce])])).unwrap();
            b.delete(
                1,
                &DeleteOptions {
                    edit: det_edit(),
                    ..DeleteOptions::default()
                },
            )
            .unwrap();
        }),
        ("TestDeleteObjects/DataType", |b| {
            b.create(with(det(), vec![g(&[0xfa, 0xce]), g(&[0xfe, 0xed])]))
                .unwrap();
            b.delete_where(&|d| d.data_type == DataType::Generic, &del(false, false))
                .unwrap();
        }),
        ("TestDeleteObjects/DataTypeCompact", |b| {
            b.create(with(det(), vec![g(&[0xfa, 0xce]), g(&[0xfe, 0xed])]))
                .unwrap();
            b.delete_where(&|d| d.data_type == DataType::Generic, &del(false, true))
                .unwrap();
        }),
        ("TestDeleteObjectAndAddObject/NoCompact", |b| {
            b.create(with(det(), vec![g(b"abc"), g(b"def")])).unwrap();
            b.delete(2, &del(false, false)).unwrap();
            assert_eq!(b.add(g(b"ghi"), &edit()).unwrap(), 2);
        }),
        ("TestDeleteObjectAndAddObject/Compact", |b| {
            b.create(with(det(), vec![g(b"abc"), g(b"def")])).unwrap();
            b.delete(2, &del(false, true)).unwrap();
            assert_eq!(b.add(g(b"ghi"), &edit()).unwrap(), 2);
        }),
        ("TestSetPrimPart/One", |b| {
            b.create(with(det(), vec![p(&[0xfa, 0xce], Raw, System, Arch::I386)]))
                .unwrap();
            b.set_primary(1, &edit()).unwrap();
        }),
        ("TestSetPrimPart/Two", |b| {
            let objects = vec![
                p(&[0xfa, 0xce], Raw, PrimSys, Arch::I386),
                p(&[0xfe, 0xed], Raw, System, Arch::AMD64),
            ];
            b.create(with(det(), objects)).unwrap();
            b.set_primary(2, &edit()).unwrap();
        }),
        ("TestSetPrimPart/Deterministic", |b| {
            b.create(with(
                fixed(),
                vec![p(&[0xfa, 0xce], Raw, System, Arch::I386)],
            ))
            .unwrap();
            b.set_primary(1, &det_edit()).unwrap();
        }),
        ("TestSetMetadata/One", |b| {
            b.create(with(det(), vec![blob(&[0xfa, 0xce])])).unwrap();
            b.set_metadata(1, ObjectMetadata::OciDigest(EMPTY_DIGEST.into()), &edit())
                .unwrap();
        }),
        ("TestSetMetadata/Deterministic", |b| {
            b.create(with(fixed(), vec![blob(&[0xfa, 0xce])])).unwrap();
            b.set_metadata(
                1,
                ObjectMetadata::OciDigest(EMPTY_DIGEST.into()),
                &det_edit(),
            )
            .unwrap();
        }),
        ("TestFileImage_SetOCIBlobDigest/One", |b| {
            b.create(with(det(), vec![blob(&[0xfa, 0xce])])).unwrap();
            b.set_digest(1, SET_DIGEST, &edit()).unwrap();
        }),
        ("TestFileImage_SetOCIBlobDigest/Deterministic", |b| {
            b.create(with(fixed(), vec![blob(&[0xfa, 0xce])])).unwrap();
            b.set_digest(1, SET_DIGEST, &det_edit()).unwrap();
        }),
    ]
}

fn golden(name: &str) -> Vec<u8> {
    std::fs::read(testdata().join("writer").join(format!("{name}.golden"))).unwrap()
}

/// Index of the first differing byte, for readable failures.
fn first_difference(a: &[u8], b: &[u8]) -> Option<usize> {
    a.iter()
        .zip(b)
        .position(|(x, y)| x != y)
        .or((a.len() != b.len()).then(|| a.len().min(b.len())))
}

fn run_all(make: fn() -> Box<dyn Backend>, label: &str) {
    for (name, scenario) in scenarios() {
        let mut backend = make();
        scenario(backend.as_mut());
        let got = backend.bytes();
        let want = golden(name);
        assert!(
            got == want,
            "{label} {name}: {} bytes vs golden {}; first difference at {:?}",
            got.len(),
            want.len(),
            first_difference(&got, &want)
        );
    }
}

#[test]
fn goldens_on_disk() {
    run_all(|| Box::new(OnDisk::new()), "on disk");
}

#[test]
fn goldens_in_memory() {
    run_all(|| Box::<InMemory>::default(), "in memory");
}

#[test]
fn every_writer_golden_is_covered() {
    let covered: BTreeSet<&str> = scenarios().iter().map(|(name, _)| *name).collect();
    let dirs = [
        "TestCreateContainer",
        "TestAddObject",
        "TestDeleteObject",
        "TestDeleteObjects",
        "TestDeleteObjectAndAddObject",
        "TestSetPrimPart",
        "TestSetMetadata",
        "TestFileImage_SetOCIBlobDigest",
    ];
    for dir in dirs {
        for entry in std::fs::read_dir(testdata().join("writer").join(dir)).unwrap() {
            let file = entry.unwrap().file_name().into_string().unwrap();
            let case = file.strip_suffix(".golden").unwrap();
            let name = format!("{dir}/{case}");
            assert!(
                covered.contains(name.as_str()),
                "golden {name} has no scenario"
            );
        }
    }
}
