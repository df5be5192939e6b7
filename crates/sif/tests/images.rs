//! Every shared test image loads, and every header and descriptor field matches
//! `expected-derived.json` (produced by an independent parser).

mod support;

use berth_sif::{Descriptor, Header, Image, Link};
use serde_json::Value;
use support::{hex, sha256_of, test_images, testdata};

fn expected() -> serde_json::Map<String, Value> {
    let text = std::fs::read_to_string(testdata().join("expected-derived.json")).unwrap();
    match serde_json::from_str(&text).unwrap() {
        Value::Object(map) => map,
        other => panic!("unexpected JSON {other}"),
    }
}

fn int(v: &Value, key: &str) -> i64 {
    v[key]
        .as_i64()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key]
        .as_str()
        .unwrap_or_else(|| panic!("{key} missing in {v}"))
}

fn check_header(name: &str, h: &Header, e: &Value) {
    let ctx = |field: &str| format!("{name}: header.{field}");
    assert_eq!(
        h.launch_script,
        text(e, "launch_script").as_bytes(),
        "{}",
        ctx("launch_script")
    );
    assert_eq!(text(e, "magic"), "SIF_MAGIC");
    assert_eq!(h.version, text(e, "version"), "{}", ctx("version"));
    assert_eq!(
        h.arch.code(),
        text(e, "arch_bytes").as_bytes(),
        "{}",
        ctx("arch_bytes")
    );
    assert_eq!(
        h.arch.go_name(),
        text(e, "primary_arch"),
        "{}",
        ctx("primary_arch")
    );
    assert_eq!(h.id_string(), text(e, "id"), "{}", ctx("id"));
    assert_eq!(
        h.is_nil_id(),
        text(e, "id") == "00000000-0000-0000-0000-000000000000"
    );
    for (field, value) in [
        ("created_at", h.created_at),
        ("modified_at", h.modified_at),
        ("descriptors_free", h.descriptors_free),
        ("descriptors_total", h.descriptors_total),
        ("descriptors_offset", h.descriptors_offset),
        ("descriptors_size", h.descriptors_size),
        ("data_offset", h.data_offset),
        ("data_size", h.data_size),
    ] {
        assert_eq!(value, int(e, field), "{}", ctx(field));
    }
}

fn check_descriptor(name: &str, d: &Descriptor, e: &Value) {
    let ctx = |field: &str| format!("{name}: object {} {field}", d.id);
    assert_eq!(d.slot as i64, int(e, "slot"), "{}", ctx("slot"));
    assert_eq!(i64::from(d.id), int(e, "id"), "{}", ctx("id"));
    assert_eq!(
        i64::from(d.data_type.code()),
        int(e, "data_type"),
        "{}",
        ctx("data_type")
    );
    assert_eq!(
        d.data_type.siftool_name(),
        text(e, "data_type_name"),
        "{}",
        ctx("type name")
    );
    assert_eq!(
        i64::from(d.group_id),
        int(e, "group_id"),
        "{}",
        ctx("group_id")
    );
    assert_eq!(
        format!("{:#010x}", d.raw_group_id),
        text(e, "group_id_raw"),
        "{}",
        ctx("raw group")
    );
    assert_eq!(
        format!("{:#010x}", d.raw_link),
        text(e, "linked_id_raw"),
        "{}",
        ctx("raw link")
    );
    let (linked, is_group) = match d.link {
        Link::None => (0, false),
        Link::Object(id) => (id, false),
        Link::Group(group) => (group, true),
    };
    assert_eq!(
        i64::from(linked),
        int(e, "linked_id"),
        "{}",
        ctx("linked_id")
    );
    assert_eq!(
        is_group,
        e["linked_is_group"].as_bool().unwrap(),
        "{}",
        ctx("linked_is_group")
    );
    for (field, value) in [
        ("offset", d.offset),
        ("size", d.size),
        ("size_with_padding", d.size_with_padding),
        ("created_at", d.created_at),
        ("modified_at", d.modified_at),
        ("uid", d.uid),
        ("gid", d.gid),
    ] {
        assert_eq!(value, int(e, field), "{}", ctx(field));
    }
    assert_eq!(d.name, text(e, "name"), "{}", ctx("name"));
    assert!(d.used);

    if e.get("extra_all_zero")
        .is_some_and(|v| v.as_bool() == Some(true))
    {
        assert!(d.extra.iter().all(|&b| b == 0), "{}", ctx("extra"));
    }
    if e.get("fs_type").is_some() {
        let p = d.partition().unwrap();
        assert_eq!(
            i64::from(p.fs.code()),
            int(e, "fs_type"),
            "{}",
            ctx("fs_type")
        );
        assert_eq!(p.fs.siftool_name(), text(e, "fs_type_name"));
        assert_eq!(
            i64::from(p.part.code()),
            int(e, "part_type"),
            "{}",
            ctx("part_type")
        );
        assert_eq!(p.part.siftool_name(), text(e, "part_type_name"));
        assert_eq!(
            p.arch.code(),
            text(e, "arch_bytes").as_bytes(),
            "{}",
            ctx("arch")
        );
        assert_eq!(p.arch.go_name(), text(e, "arch"));
        assert_eq!(
            d.is_primary_partition(),
            p.part == berth_sif::PartType::PrimSys
        );
    } else {
        assert!(d.partition().is_err());
    }
    if e.get("hash_type").is_some() {
        let s = d.signature().unwrap();
        assert_eq!(
            i64::from(s.hash.code()),
            int(e, "hash_type"),
            "{}",
            ctx("hash_type")
        );
        assert_eq!(s.hash.siftool_name(), text(e, "hash_type_name"));
        let fingerprint = s.fingerprint.map(|fp| hex(&fp).to_uppercase());
        assert_eq!(
            fingerprint.as_deref(),
            e["entity_fingerprint"].as_str(),
            "{}",
            ctx("fp")
        );
    } else {
        assert!(d.signature().is_err());
    }
    if e.get("format_type").is_some() {
        let c = d.crypto_message().unwrap();
        assert_eq!(
            i64::from(c.format.code()),
            int(e, "format_type"),
            "{}",
            ctx("format")
        );
        assert_eq!(c.format.siftool_name(), text(e, "format_type_name"));
        assert_eq!(
            i64::from(c.message.code()),
            int(e, "message_type"),
            "{}",
            ctx("message")
        );
        assert_eq!(c.message.siftool_name(), text(e, "message_type_name"));
    } else {
        assert!(d.crypto_message().is_err());
    }
    if e.get("digest").is_some() {
        assert_eq!(
            d.oci_digest().unwrap(),
            text(e, "digest"),
            "{}",
            ctx("digest")
        );
    } else {
        assert!(d.oci_digest().is_err());
    }
}

#[test]
fn every_image_matches_expected_fields() {
    let expected = expected();
    let root = testdata();
    let images = test_images();
    assert_eq!(images.len(), expected.len(), "one expectation per image");
    for path in images {
        let key = path
            .strip_prefix(&root)
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        let e = &expected[&key];
        let mut image = Image::open(&path).unwrap_or_else(|err| panic!("{key}: {err}"));
        assert_eq!(image.file_len() as i64, int(e, "file_size"), "{key}");
        check_header(&key, image.header(), &e["header"]);

        let objects = e["objects"].as_array().unwrap();
        assert_eq!(
            image.descriptors().len(),
            objects.len(),
            "{key}: object count"
        );
        for (d, eo) in image.descriptors().to_vec().iter().zip(objects) {
            check_descriptor(&key, d, eo);
            assert_eq!(image.descriptor(d.id).unwrap(), d);
            // Streaming through the object reader yields exactly the object's bytes.
            let reader = image.object_reader(d.id).unwrap();
            assert_eq!(reader.len() as i64, d.size);
            assert_eq!(
                sha256_of(reader),
                text(eo, "object_sha256"),
                "{key}: object {}",
                d.id
            );
        }
    }
}

#[test]
fn whole_file_hashes_match() {
    // Guards against reading a different copy of the test data than the expectations.
    let expected = expected();
    let root = testdata();
    for path in test_images() {
        let key = path.strip_prefix(&root).unwrap().to_str().unwrap();
        let actual = sha256_of(std::fs::File::open(&path).unwrap());
        assert_eq!(actual, text(&expected[key], "file_sha256"), "{key}");
    }
}

#[test]
fn primary_partition_lookup() {
    let root = testdata().join("images");
    let image = Image::open(root.join("sylabs-sif/two-groups.sif")).unwrap();
    assert_eq!(image.primary_partition().unwrap().id, 2);
    let image = Image::open(root.join("sylabs-sif/empty.sif")).unwrap();
    assert!(matches!(
        image.primary_partition(),
        Err(berth_sif::Error::NoPrimaryPartition)
    ));
    assert!(matches!(
        image.descriptor(1),
        Err(berth_sif::Error::ObjectNotFound { id: 1 })
    ));
}

#[test]
fn relative_ids() {
    let image =
        Image::open(testdata().join("images/sylabs-sif/two-groups-signed-pgp.sif")).unwrap();
    let rel: Vec<u32> = image
        .descriptors()
        .iter()
        .map(|d| image.relative_id(d))
        .collect();
    // Group 1 = ids 1,2; group 2 = id 3; ungrouped signatures 4,5.
    assert_eq!(rel, [0, 1, 0, 0, 1]);
}

#[test]
fn object_dump_goldens() {
    // siftool dump of objects 1 and 2 of one-group.sif.
    let root = testdata();
    let mut image = Image::open(root.join("images/sylabs-sif/one-group.sif")).unwrap();
    for (id, golden) in [(1, "One"), (2, "Two")] {
        let want =
            std::fs::read(root.join(format!("expected/siftool/TestApp_Dump/{golden}.golden")))
                .unwrap();
        let mut got = Vec::new();
        std::io::Read::read_to_end(&mut image.object_reader(id).unwrap(), &mut got).unwrap();
        assert_eq!(got, want, "object {id}");
    }
}
