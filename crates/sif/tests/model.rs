//! Random sequences of create/add/delete/set-primary checked against a simple model: after
//! every step the reloaded image has exactly the model's descriptors and object bytes.

mod support;

use std::collections::BTreeMap;
use std::io::{Cursor, Read};

use berth_sif::{
    Arch, CreateOptions, DataType, DeleteOptions, EditOptions, Error, FsType, Image, Link,
    ObjectData, ObjectInput, ObjectMetadata, PartType, PartitionMeta,
};
use proptest::prelude::*;
use support::backend::{Backend, InMemory, OnDisk};

#[derive(Debug, Clone)]
enum Source {
    Bytes,
    Reader,
    File,
}

#[derive(Debug, Clone)]
struct Add {
    data_type: DataType,
    part: PartType,
    arch: Arch,
    data: Vec<u8>,
    source: Source,
    alignment: Option<i64>,
    group: u32,
    link: Link,
    name: String,
}

#[derive(Debug, Clone)]
enum Op {
    Add(Add),
    /// Index into the current objects (modulo their number), or a missing ID.
    Delete {
        pick: usize,
        zero: bool,
        compact: bool,
    },
    SetPrimary {
        pick: usize,
    },
}

fn data_type() -> impl Strategy<Value = DataType> {
    prop_oneof![
        Just(DataType::Partition),
        Just(DataType::Partition),
        Just(DataType::Generic),
        Just(DataType::Deffile),
        Just(DataType::GenericJson),
        Just(DataType::OciBlob),
        Just(DataType::Signature),
        Just(DataType::Sbom),
    ]
}

fn add() -> impl Strategy<Value = Add> {
    (
        data_type(),
        prop_oneof![
            Just(PartType::System),
            Just(PartType::PrimSys),
            Just(PartType::Data)
        ],
        prop_oneof![Just(Arch::AMD64), Just(Arch::ARM64), Just(Arch::LOONG64)],
        proptest::collection::vec(any::<u8>(), 0..300),
        prop_oneof![
            Just(Source::Bytes),
            Just(Source::Reader),
            Just(Source::File)
        ],
        prop_oneof![
            Just(None),
            Just(Some(0)),
            Just(Some(1)),
            Just(Some(8)),
            Just(Some(512)),
            Just(Some(4096))
        ],
        0u32..4,
        prop_oneof![
            Just(Link::None),
            (1u32..5).prop_map(Link::Object),
            (1u32..3).prop_map(Link::Group)
        ],
        "[a-z.]{0,12}",
    )
        .prop_map(
            |(data_type, part, arch, data, source, alignment, group, link, name)| Add {
                data_type,
                part,
                arch,
                data,
                source,
                alignment,
                group,
                link,
                name,
            },
        )
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => add().prop_map(Op::Add),
        2 => (0usize..8, any::<bool>(), any::<bool>())
            .prop_map(|(pick, zero, compact)| Op::Delete { pick, zero, compact }),
        1 => (0usize..8).prop_map(|pick| Op::SetPrimary { pick }),
    ]
}

/// What the image should contain.
#[derive(Debug, Clone, PartialEq)]
struct Object {
    data_type: DataType,
    data: Vec<u8>,
    group: u32,
    link: Link,
    name: String,
    partition: Option<PartitionMeta>,
    alignment: i64,
}

struct Model {
    capacity: usize,
    /// By slot.
    objects: BTreeMap<usize, Object>,
}

impl Model {
    fn primary(&self) -> Option<usize> {
        self.objects
            .iter()
            .find(|(_, o)| o.partition.is_some_and(|p| p.part == PartType::PrimSys))
            .map(|(slot, _)| *slot)
    }

    fn free_slot(&self) -> Option<usize> {
        (0..self.capacity).find(|slot| !self.objects.contains_key(slot))
    }

    /// The ID an op refers to: an existing object for small picks, else a missing one.
    fn pick(&self, pick: usize) -> u32 {
        let ids: Vec<u32> = self.objects.keys().map(|slot| *slot as u32 + 1).collect();
        if ids.is_empty() || pick >= ids.len() + 2 {
            99
        } else {
            ids[pick % ids.len()]
        }
    }
}

fn input(add: &Add, dir: &std::path::Path, n: usize) -> ObjectInput {
    let data = match add.source {
        Source::Bytes => ObjectData::Bytes(add.data.clone()),
        Source::Reader => ObjectData::Reader(Box::new(Cursor::new(add.data.clone()))),
        Source::File => {
            let path = dir.join(format!("object-{n}"));
            std::fs::write(&path, &add.data).unwrap();
            ObjectData::File(path)
        }
    };
    let mut object = ObjectInput::new(add.data_type, data)
        .with_group(add.group)
        .with_link(add.link)
        .with_name(add.name.clone());
    object.alignment = add.alignment;
    if add.data_type == DataType::Partition {
        let meta = PartitionMeta {
            fs: FsType::Squashfs,
            part: add.part,
            arch: add.arch,
        };
        object = object.with_metadata(ObjectMetadata::Partition(meta));
    }
    object
}

fn check(backend: &dyn Backend, model: &Model) {
    let bytes = backend.bytes();
    let mut image = Image::load(Cursor::new(bytes.as_slice())).expect("image stays loadable");
    let h = image.header().clone();
    assert_eq!(h.descriptors_total as usize, model.capacity);
    assert_eq!(
        h.descriptors_free as usize,
        model.capacity - model.objects.len()
    );
    let want_arch = model.primary().map_or(Arch::UNKNOWN, |slot| {
        model.objects[&slot].partition.map(|p| p.arch).unwrap()
    });
    assert_eq!(h.arch, want_arch);
    let descriptors = image.descriptors().to_vec();
    let slots: Vec<usize> = descriptors.iter().map(|d| d.slot).collect();
    assert_eq!(slots, model.objects.keys().copied().collect::<Vec<_>>());
    let mut max_end = h.data_offset;
    for d in &descriptors {
        let o = &model.objects[&d.slot];
        assert_eq!(d.id as usize, d.slot + 1);
        assert_eq!(d.data_type, o.data_type);
        assert_eq!(d.group_id, o.group);
        assert_eq!(d.raw_group_id, o.group | 0xF000_0000);
        assert_eq!(d.link, o.link);
        assert_eq!(d.name, o.name);
        assert_eq!(d.size as usize, o.data.len());
        assert!(d.offset >= h.data_offset);
        if o.alignment > 1 {
            assert_eq!(d.offset % o.alignment, 0, "object {} alignment", d.id);
        }
        assert!(d.size_with_padding >= d.size);
        match o.partition {
            Some(meta) => assert_eq!(d.partition().unwrap(), meta),
            None => assert!(d.partition().is_err()),
        }
        if o.data_type == DataType::OciBlob {
            use sha2::{Digest, Sha256};
            let want = format!("sha256:{}", support::hex(&Sha256::digest(&o.data)));
            assert_eq!(d.oci_digest().unwrap(), want);
        }
        let mut data = Vec::new();
        image
            .object_reader(d.id)
            .unwrap()
            .read_to_end(&mut data)
            .unwrap();
        assert_eq!(data, o.data, "object {} bytes", d.id);
        max_end = max_end.max(d.offset + d.size);
    }
    assert!(
        h.data_offset + h.data_size >= max_end,
        "DataSize covers every object"
    );
}

fn run(backend: &mut dyn Backend, capacity: usize, ops: &[Op]) {
    let scratch = tempfile::tempdir().unwrap();
    let opts = CreateOptions {
        descriptor_capacity: capacity as i64,
        ..CreateOptions::deterministic()
    };
    backend.create(opts).unwrap();
    let mut model = Model {
        capacity,
        objects: BTreeMap::new(),
    };
    check(backend, &model);
    let edit = EditOptions::default();
    for (n, op) in ops.iter().enumerate() {
        let before = backend.bytes();
        let refused = match op {
            Op::Add(add) => {
                let object = input(add, scratch.path(), n);
                let primary = add.data_type == DataType::Partition && add.part == PartType::PrimSys;
                let result = backend.add(object, &edit);
                match model.free_slot() {
                    None => {
                        assert!(
                            matches!(result, Err(Error::InsufficientCapacity)),
                            "{result:?}"
                        );
                        true
                    }
                    Some(_) if primary && model.primary().is_some() => {
                        assert!(
                            matches!(result, Err(Error::PrimaryPartitionExists)),
                            "{result:?}"
                        );
                        true
                    }
                    Some(slot) => {
                        assert_eq!(result.unwrap() as usize, slot + 1);
                        let partition =
                            (add.data_type == DataType::Partition).then_some(PartitionMeta {
                                fs: FsType::Squashfs,
                                part: add.part,
                                arch: add.arch,
                            });
                        let default_alignment = if partition.is_some() { 4096 } else { 0 };
                        model.objects.insert(
                            slot,
                            Object {
                                data_type: add.data_type,
                                data: add.data.clone(),
                                group: add.group,
                                link: add.link,
                                name: add.name.clone(),
                                partition,
                                alignment: add.alignment.unwrap_or(default_alignment),
                            },
                        );
                        false
                    }
                }
            }
            Op::Delete {
                pick,
                zero,
                compact,
            } => {
                let id = model.pick(*pick);
                let opts = DeleteOptions {
                    zero: *zero,
                    compact: *compact,
                    edit,
                };
                let result = backend.delete(id, &opts);
                if model.objects.remove(&(id as usize - 1)).is_some() {
                    result.unwrap();
                    if *compact {
                        let image = Image::load(Cursor::new(backend.bytes())).unwrap();
                        let h = image.header();
                        assert_eq!(backend.bytes().len() as i64, h.data_offset + h.data_size);
                    }
                    false
                } else {
                    assert!(matches!(result, Err(Error::ObjectNotFound { id: got }) if got == id));
                    true
                }
            }
            Op::SetPrimary { pick } => {
                let id = model.pick(*pick);
                let result = backend.set_primary(id, &edit);
                let slot = id as usize - 1;
                match model.objects.get(&slot).map(|o| o.partition) {
                    None => {
                        assert!(
                            matches!(result, Err(Error::ObjectNotFound { .. })),
                            "{result:?}"
                        );
                        true
                    }
                    Some(None) => {
                        assert!(
                            matches!(result, Err(Error::NotAPartition { .. })),
                            "{result:?}"
                        );
                        true
                    }
                    Some(Some(meta)) => match meta.part {
                        PartType::PrimSys => {
                            result.unwrap();
                            true
                        }
                        PartType::System => {
                            result.unwrap();
                            if let Some(old) = model.primary() {
                                let p = model
                                    .objects
                                    .get_mut(&old)
                                    .unwrap()
                                    .partition
                                    .as_mut()
                                    .unwrap();
                                p.part = PartType::System;
                            }
                            let p = model
                                .objects
                                .get_mut(&slot)
                                .unwrap()
                                .partition
                                .as_mut()
                                .unwrap();
                            p.part = PartType::PrimSys;
                            false
                        }
                        _ => {
                            assert!(matches!(result, Err(Error::NotASystemPartition { .. })));
                            true
                        }
                    },
                }
            }
        };
        if refused {
            assert_eq!(
                backend.bytes(),
                before,
                "a refused or no-op edit changes nothing"
            );
        }
        check(backend, &model);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn in_memory_matches_model(capacity in 1usize..7, ops in proptest::collection::vec(op(), 1..30)) {
        run(&mut InMemory::default(), capacity, &ops);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn on_disk_matches_model(capacity in 1usize..5, ops in proptest::collection::vec(op(), 1..15)) {
        run(&mut OnDisk::new(), capacity, &ops);
    }
}
