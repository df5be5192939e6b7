//! Loads bytes as an image and exercises every read path. Shared by the no-panic test and
//! the cargo-fuzz target, so both check the same thing: malformed input must give errors,
//! never panics or unbounded allocation.

use std::io::{Cursor, Read, Seek, SeekFrom};

/// Returns whether the bytes loaded as an image.
pub fn walk(data: &[u8]) -> bool {
    let Ok(mut image) = berth_sif::Image::load(Cursor::new(data)) else {
        return false;
    };
    let header = image.header().clone();
    let _ = header.integrity_bytes();
    let _ = (
        header.id_string(),
        header.arch.go_name(),
        header.is_deterministic(),
    );
    let _ = image.primary_partition();
    let descriptors = image.descriptors().to_vec();
    for d in &descriptors {
        let _ = d.integrity_bytes(image.relative_id(d));
        let _ = (
            d.partition(),
            d.signature(),
            d.crypto_message(),
            d.sbom(),
            d.oci_digest(),
        );
        let _ = (d.is_primary_partition(), d.data_type.siftool_name(), d.link);
        let mut reader = image
            .object_reader(d.id)
            .expect("a listed object has a reader");
        let mut sink = Vec::new();
        reader
            .read_to_end(&mut sink)
            .expect("object data lies inside the data");
        assert_eq!(sink.len() as u64, reader.len(), "object reads are exact");
        let _ = reader.seek(SeekFrom::End(-1));
        let _ = reader.read(&mut [0u8; 8]);
    }
    true
}
