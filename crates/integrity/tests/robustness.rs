//! Damaged input never panics: byte flips across signature objects and descriptors, truncated
//! key material, truncated DSSE envelopes.

mod common;

use berth_integrity::openpgp::serialize::SerializeInto as _;
use berth_integrity::{parse_key_material, verify, verify_dsse_envelope, DsseHash, Selection};
use berth_sif::Image;
use common::*;

#[test]
fn flips_in_signature_object_and_descriptor() {
    for (image_rel, opts) in [
        (
            "images/sylabs-sif/one-group-signed-pgp.sif",
            pgp_opts(Selection::AllGroups),
        ),
        (
            "images/sylabs-sif/one-group-signed-dsse.sif",
            dsse_opts("keys/sylabs-sif/ed25519-public.pem"),
        ),
        (
            "images/sylabs-sif/one-group-signed-legacy.sif",
            berth_integrity::VerifyOptions {
                legacy: true,
                ..pgp_opts(Selection::AllGroups)
            },
        ),
    ] {
        let original = read(image_rel);
        let (_dir, path) = copy_image(image_rel);
        let image = Image::open(&path).unwrap();
        let sig = image.descriptor(3).unwrap().clone();
        let table =
            image.header().descriptors_offset as usize + sig.slot * berth_sif::DESCRIPTOR_LEN;
        drop(image);
        let sig_range = sig.offset as usize..(sig.offset + sig.size) as usize;
        let mut accepted_in_data = Vec::new();
        for pos in sig_range
            .clone()
            .chain(table..table + berth_sif::DESCRIPTOR_LEN)
        {
            let mut bytes = original.clone();
            bytes[pos] ^= 0x20;
            std::fs::write(&path, &bytes).unwrap();
            // The file may no longer load (e.g. offsets changed); that is an Err, not a panic.
            if let Ok(report) = verify(&path, &opts) {
                if report.ok && sig_range.contains(&pos) {
                    accepted_in_data.push(pos - sig_range.start);
                }
            }
        }
        // In clear-signed data only the armour header's value may change unnoticed. A DSSE
        // envelope needs one good signature, so its second signature and the case of its keys
        // (matched case-insensitively, as in Go) are free. The signature descriptor is covered
        // by nothing but the fingerprint check, so its flips are not counted.
        if !image_rel.contains("dsse") {
            assert!(
                accepted_in_data.len() <= 8,
                "{image_rel}: flips accepted at {accepted_in_data:?}"
            );
        }
    }
}

#[test]
fn truncated_key_material() {
    for rel in [
        "keys/apptainer/pgp-private.asc",
        "keys/sylabs-sif/private.asc",
    ] {
        let armored = read(rel);
        let binary = cert(rel).as_tsk().to_vec().unwrap();
        for bytes in [&armored, &binary] {
            for len in (0..bytes.len()).step_by(13) {
                let _ = parse_key_material(&bytes[..len]);
            }
        }
    }
}

#[test]
fn truncated_envelopes() {
    let envelope = read("expected/integrity/Test_dsseEncoder_signMessage/ED25519.golden");
    let key = dsse_key("keys/sylabs-sif/ed25519-public.pem");
    for len in 0..envelope.len() {
        let result = verify_dsse_envelope(
            &envelope[..len],
            std::slice::from_ref(&key),
            DsseHash::Sha256,
        );
        assert!(result.is_err());
    }
}
