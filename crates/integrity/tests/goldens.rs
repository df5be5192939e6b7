//! The reference's metadata, digest and DSSE goldens (`expected/integrity/`).

mod common;

use berth_integrity::{
    encode_envelope, Digest, DigestAlgorithm, DsseHash, DssePrivateKey, HeaderMetadata,
    ImageMetadata, ObjectMetadata,
};
use berth_sif::Image;
use common::*;

const ALGS: [(&str, DigestAlgorithm); 6] = [
    ("SHA224", DigestAlgorithm::Sha224),
    ("SHA256", DigestAlgorithm::Sha256),
    ("SHA384", DigestAlgorithm::Sha384),
    ("SHA512", DigestAlgorithm::Sha512),
    ("SHA512_224", DigestAlgorithm::Sha512_224),
    ("SHA512_256", DigestAlgorithm::Sha512_256),
];

/// The goldens were written by a JSON encoder, which ends each value with a newline.
fn golden(rel: &str) -> String {
    read_str(&format!("expected/integrity/{rel}.golden"))
}

#[test]
fn header_metadata() {
    let header = read("expected/integrity/sources/header.bin");
    assert_eq!(header.len(), 61);
    for (name, alg) in ALGS {
        let json = HeaderMetadata::compute(&header, alg).to_json();
        assert_eq!(
            json + "\n",
            golden(&format!("TestGetHeaderMetadata/{name}")),
            "{name}"
        );
    }
}

#[test]
fn object_metadata() {
    let rid0 = read("expected/integrity/sources/descr-rid0.bin");
    let rid1 = read("expected/integrity/sources/descr-rid1.bin");
    for (name, alg) in ALGS {
        let om = ObjectMetadata::compute(0, &rid0, &b"blah"[..], alg).unwrap();
        assert_eq!(
            om.to_json() + "\n",
            golden(&format!("TestGetObjectMetadata/{name}")),
            "{name}"
        );
    }
    let om = ObjectMetadata::compute(1, &rid1, &b"blah"[..], DigestAlgorithm::Sha256).unwrap();
    assert_eq!(
        om.to_json() + "\n",
        golden("TestGetObjectMetadata/RelativeID")
    );
}

#[test]
fn image_metadata() {
    let mut image = Image::open(data("images/sylabs-sif/one-group.sif")).unwrap();
    let all = image.descriptors().to_vec();
    for (name, alg) in &ALGS[..4] {
        let im = ImageMetadata::compute(&mut image, 1, &all, *alg).unwrap();
        assert_eq!(
            im.to_json() + "\n",
            golden(&format!("TestGetImageMetadata/{name}")),
            "{name}"
        );
        // And the parser reads back what the writer wrote.
        assert_eq!(ImageMetadata::parse(im.to_json().as_bytes()).unwrap(), im);
    }
    for (i, name) in ["Object1", "Object2"].into_iter().enumerate() {
        let im =
            ImageMetadata::compute(&mut image, 1, &all[i..=i], DigestAlgorithm::Sha256).unwrap();
        assert_eq!(
            im.to_json() + "\n",
            golden(&format!("TestGetImageMetadata/{name}")),
            "{name}"
        );
    }
}

#[test]
fn signed_document_is_compact() {
    // The signed form has no trailing newline: it is exactly what one-group-signed-pgp.sif signs.
    let signed = read("images/sylabs-sif/one-group-signed-pgp.sif");
    let mut image = Image::open(data("images/sylabs-sif/one-group.sif")).unwrap();
    let all = image.descriptors().to_vec();
    let json = ImageMetadata::compute(&mut image, 1, &all, DigestAlgorithm::Sha256)
        .unwrap()
        .to_json();
    let needle = format!("\n\n{json}\n-----BEGIN PGP SIGNATURE-----");
    assert!(signed.windows(needle.len()).any(|w| w == needle.as_bytes()));
}

#[test]
fn digest_marshal() {
    for (name, alg) in ALGS {
        let want = golden(&format!("TestDigest_MarshalJSON/{name}"));
        let text = want.trim_end().trim_matches('"');
        let d = Digest::parse(text).unwrap();
        assert_eq!(d.algorithm, alg);
        assert_eq!(d.to_json() + "\n", want, "{name}");
    }
}

fn rsa() -> DssePrivateKey {
    DssePrivateKey::from_pem(&read_str("keys/sylabs-sif/rsa-private.pem")).unwrap()
}

#[test]
fn dsse_envelopes_reproduced() {
    let payload = b"{\"One\":1,\"Two\":2}\n";
    let ed = DssePrivateKey::from_pem(&read_str("keys/sylabs-sif/ed25519-private.pem")).unwrap();
    let cases: [(&str, Vec<DssePrivateKey>, DsseHash); 5] = [
        ("ED25519", vec![ed], DsseHash::Sha256),
        ("RSA_SHA256", vec![rsa()], DsseHash::Sha256),
        ("RSA_SHA384", vec![rsa()], DsseHash::Sha384),
        ("RSA_SHA512", vec![rsa()], DsseHash::Sha512),
        ("Multi", vec![rsa(), rsa()], DsseHash::Sha256),
    ];
    for (name, keys, hash) in cases {
        let envelope = encode_envelope(payload, &keys, hash).unwrap();
        assert_eq!(
            envelope,
            golden(&format!("Test_dsseEncoder_signMessage/{name}")),
            "{name}"
        );
    }
}

#[test]
fn dsse_key_ids() {
    for (key, id) in [
        (
            "ed25519",
            "SHA256:x6l8ZblpSSXGaPMCzySedWg88BwIFcz8jlPb6el0mFs",
        ),
        ("rsa", "SHA256:BhCwr7qZulYcOMSl2Jt2DuYHxHNnN6th4NdMqR/PGa4"),
    ] {
        assert_eq!(
            dsse_key(&format!("keys/sylabs-sif/{key}-public.pem")).key_id(),
            id
        );
    }
    assert_eq!(
        dsse_key("keys/sylabs-sif/rsa-public.pem").algorithm(),
        "RSA 4096"
    );
    assert_eq!(
        dsse_key("keys/sylabs-sif/ecdsa-public.pem").algorithm(),
        "ECDSA P-256"
    );
}

#[test]
fn dsse_envelopes_verify() {
    use berth_integrity::verify_dsse_envelope;
    let ed = dsse_key("keys/sylabs-sif/ed25519-public.pem");
    let rsa_pub = dsse_key("keys/sylabs-sif/rsa-public.pem");
    let ecdsa = dsse_key("keys/sylabs-sif/ecdsa-public.pem");
    let cases = [
        ("ED25519", &ed, DsseHash::Sha256),
        ("RSA_SHA256", &rsa_pub, DsseHash::Sha256),
        ("RSA_SHA384", &rsa_pub, DsseHash::Sha384),
        ("RSA_SHA512", &rsa_pub, DsseHash::Sha512),
        ("Multi", &rsa_pub, DsseHash::Sha256),
    ];
    for (name, key, hash) in cases {
        let envelope = golden(&format!("Test_dsseEncoder_signMessage/{name}"));
        let (payload, ids) =
            verify_dsse_envelope(envelope.as_bytes(), std::slice::from_ref(key), hash)
                .unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(payload, b"{\"One\":1,\"Two\":2}\n");
        assert_eq!(ids, vec![key.key_id().to_owned()]);
        // The wrong key, or the wrong hash for RSA, does not verify.
        let err = verify_dsse_envelope(envelope.as_bytes(), std::slice::from_ref(&ecdsa), hash)
            .unwrap_err();
        assert_eq!(
            err,
            "dsse: verify envelope failed: accepted signatures do not match threshold, Found: 0, Expected 1"
        );
        if name.starts_with("RSA_SHA3") || name.starts_with("RSA_SHA5") {
            assert!(verify_dsse_envelope(
                envelope.as_bytes(),
                std::slice::from_ref(&rsa_pub),
                DsseHash::Sha256
            )
            .is_err());
        }
    }
}

#[test]
fn ecdsa_dsse_round_trip() {
    use berth_integrity::verify_dsse_envelope;
    let key = DssePrivateKey::from_pem(&read_str("keys/sylabs-sif/ecdsa-private.pem")).unwrap();
    let envelope = encode_envelope(b"{}", std::slice::from_ref(&key), DsseHash::Sha256).unwrap();
    let (payload, ids) = verify_dsse_envelope(
        envelope.as_bytes(),
        &[
            dsse_key("keys/sylabs-sif/ed25519-public.pem"),
            key.public_key(),
        ],
        DsseHash::Sha256,
    )
    .unwrap();
    assert_eq!(payload, b"{}");
    assert_eq!(
        ids,
        vec![dsse_key("keys/sylabs-sif/ecdsa-public.pem")
            .key_id()
            .to_owned()]
    );
}
