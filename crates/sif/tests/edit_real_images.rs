//! Editing the shared real-world images (v2 and legacy layouts) keeps everything that was
//! there, byte for byte, and deleting what was added restores deterministic images exactly.

mod support;

use std::io::Read;

use berth_sif::{DataType, DeleteOptions, EditOptions, Image, ObjectInput};
use support::{sha256_of, test_images};

fn objects(image: &mut Image<std::fs::File>) -> Vec<(berth_sif::Descriptor, String)> {
    let descriptors = image.descriptors().to_vec();
    descriptors
        .into_iter()
        .map(|d| {
            let digest = sha256_of(image.object_reader(d.id).unwrap());
            (d, digest)
        })
        .collect()
}

#[test]
fn add_then_delete_on_every_image() {
    let mut exact = 0;
    for original in test_images() {
        let name = original.file_name().unwrap().to_string_lossy().into_owned();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(&name);
        std::fs::copy(&original, &path).unwrap();
        let before_bytes = std::fs::read(&path).unwrap();
        let mut before = Image::open(&path).unwrap();
        let before_objects = objects(&mut before);
        let before_header = before.header().clone();

        let payload = b"added by a test".to_vec();
        let object = ObjectInput::new(DataType::Generic, payload.clone()).with_name("extra");
        let id = berth_sif::add_object(&path, object, &EditOptions::default()).unwrap();

        let mut after = Image::open(&path).unwrap();
        let after_objects = objects(&mut after);
        assert_eq!(
            &after_objects[..before_objects.len()],
            &before_objects[..],
            "{name}"
        );
        let added = after.descriptor(id).unwrap().clone();
        assert_eq!(
            added.slot,
            before_objects
                .iter()
                .take_while(|(d, _)| d.slot == d.id as usize - 1)
                .count()
        );
        let mut data = Vec::new();
        after
            .object_reader(id)
            .unwrap()
            .read_to_end(&mut data)
            .unwrap();
        assert_eq!(data, payload, "{name}");
        let h = after.header();
        assert_eq!(
            h.integrity_bytes(),
            before_header.integrity_bytes(),
            "{name}: signed header fields"
        );
        assert_eq!(h.descriptors_free, before_header.descriptors_free - 1);
        assert_eq!(h.arch, before_header.arch);
        assert_eq!(h.created_at, before_header.created_at);

        let opts = DeleteOptions {
            compact: true,
            ..DeleteOptions::default()
        };
        berth_sif::delete_object(&path, id, &opts).unwrap();
        let mut restored = Image::open(&path).unwrap();
        assert_eq!(objects(&mut restored), before_objects, "{name}");

        // Deterministic v2 images keep zero time and need no DataSize fix-up, so they come
        // back byte for byte.
        let v2 = before_header.data_offset
            == before_header.descriptors_offset + before_header.descriptors_size;
        if before_header.is_deterministic() && v2 {
            assert_eq!(std::fs::read(&path).unwrap(), before_bytes, "{name}");
            exact += 1;
        }
    }
    assert!(exact >= 8, "only {exact} images were checked byte for byte");
}
