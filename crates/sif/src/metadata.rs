//! Type-specific descriptor metadata, the 384-byte "extra" field (spec §6).

use crate::arch::Arch;
use crate::error::{Error, Result};
use crate::packed::{Reader, Writer};
use crate::types::{DataType, FormatType, FsType, HashType, MessageType, PartType, SbomFormat};

/// Length of the extra field.
pub const EXTRA_LEN: usize = 384;

/// Metadata of a file-system partition (DataType 0x4004).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct PartitionMeta {
    /// File-system type.
    pub fs: FsType,
    /// Partition role.
    pub part: PartType,
    /// Architecture the partition's programs run on.
    pub arch: Arch,
}

/// Metadata of a signature object (DataType 0x4005).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SignatureMeta {
    /// Hash algorithm.
    pub hash: HashType,
    /// OpenPGP v4 fingerprint of the signer; `None` when not recorded (DSSE signatures).
    pub fingerprint: Option<[u8; 20]>,
}

/// Metadata of a cryptographic message (DataType 0x4008).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct CryptoMessageMeta {
    /// Message format.
    pub format: FormatType,
    /// Message kind.
    pub message: MessageType,
}

/// Metadata to store in a descriptor's extra field.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub enum ObjectMetadata {
    /// No metadata: the extra field is all zero. OCI blobs and root indexes get the digest
    /// of their data, computed while it is written.
    #[default]
    None,
    /// Partition metadata (DataType 0x4004).
    Partition(PartitionMeta),
    /// Signature metadata (DataType 0x4005).
    Signature(SignatureMeta),
    /// Cryptographic message metadata (DataType 0x4008).
    CryptoMessage(CryptoMessageMeta),
    /// SBOM format (DataType 0x4009).
    Sbom(SbomFormat),
    /// An explicit `sha256:<hex>` digest for an OCI blob or root index (0x400A/0x400B).
    /// When adding an object it replaces the digest the writer would compute.
    OciDigest(String),
}

impl ObjectMetadata {
    /// Checks that this metadata fits `data_type` and is valid, so that a writer can refuse
    /// before touching a file.
    pub(crate) fn check_for(&self, id: u32, data_type: DataType) -> Result<()> {
        let expected = match self {
            ObjectMetadata::None if data_type == DataType::Partition => {
                return Err(Error::MissingMetadata { data_type })
            }
            ObjectMetadata::None => return Ok(()),
            ObjectMetadata::Partition(meta) => {
                if !meta.arch.is_known() {
                    return Err(Error::UnknownArch(meta.arch.go_name().to_owned()));
                }
                (data_type == DataType::Partition, "FS")
            }
            ObjectMetadata::Signature(_) => (data_type == DataType::Signature, "Signature"),
            ObjectMetadata::CryptoMessage(_) => (
                data_type == DataType::CryptoMessage,
                "Cryptographic Message",
            ),
            ObjectMetadata::Sbom(_) => (data_type == DataType::Sbom, "SBOM"),
            ObjectMetadata::OciDigest(digest) => {
                validate_digest(digest)?;
                (is_oci(data_type), "OCI.RootIndex or OCI.Blob")
            }
        };
        match expected {
            (true, _) => Ok(()),
            (false, expected) => Err(Error::WrongDataType {
                id,
                expected,
                found: data_type,
            }),
        }
    }

    /// The encoded extra field.
    pub(crate) fn encode(&self) -> [u8; EXTRA_LEN] {
        let mut extra = [0u8; EXTRA_LEN];
        let mut w = Writer::new(&mut extra);
        match self {
            ObjectMetadata::None => {}
            ObjectMetadata::Partition(p) => {
                w.i32(p.fs.code())
                    .i32(p.part.code())
                    .bytes(&p.arch.to_bytes());
            }
            ObjectMetadata::Signature(s) => {
                w.i32(s.hash.code())
                    .bytes(&s.fingerprint.unwrap_or_default());
            }
            ObjectMetadata::CryptoMessage(c) => {
                w.i32(c.format.code()).i32(c.message.code());
            }
            ObjectMetadata::Sbom(format) => {
                w.i32(format.code());
            }
            ObjectMetadata::OciDigest(digest) => {
                w.bytes(digest.as_bytes());
            }
        }
        extra
    }
}

/// Whether the type carries an OCI digest.
pub(crate) fn is_oci(data_type: DataType) -> bool {
    matches!(data_type, DataType::OciBlob | DataType::OciRootIndex)
}

/// Checks the digest form writers store: `sha256:` and 64 lowercase hex digits.
pub(crate) fn validate_digest(digest: &str) -> Result<()> {
    let hex = digest.strip_prefix("sha256:").unwrap_or_default();
    if hex.len() == 64 && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        Ok(())
    } else {
        Err(Error::InvalidDigest(digest.to_owned()))
    }
}

pub(crate) fn decode_partition(extra: &[u8]) -> PartitionMeta {
    let mut r = Reader::new(extra);
    PartitionMeta {
        fs: FsType::from_code(r.i32()),
        part: PartType::from_code(r.i32()),
        arch: Arch::from_bytes(r.bytes()),
    }
}

pub(crate) fn decode_signature(extra: &[u8]) -> SignatureMeta {
    let mut r = Reader::new(extra);
    let hash = HashType::from_code(r.i32());
    let fingerprint: [u8; 20] = r.bytes();
    SignatureMeta {
        hash,
        fingerprint: (fingerprint != [0; 20]).then_some(fingerprint),
    }
}

pub(crate) fn decode_crypto_message(extra: &[u8]) -> CryptoMessageMeta {
    let mut r = Reader::new(extra);
    CryptoMessageMeta {
        format: FormatType::from_code(r.i32()),
        message: MessageType::from_code(r.i32()),
    }
}

pub(crate) fn decode_sbom(extra: &[u8]) -> SbomFormat {
    SbomFormat::from_code(Reader::new(extra).i32())
}

/// Reads the digest text up to the first NUL and checks it is `sha256:<64 hex>`
/// (hex of either case is accepted on reading).
pub(crate) fn decode_oci_digest(extra: &[u8]) -> std::result::Result<String, String> {
    let end = extra.iter().position(|&b| b == 0).unwrap_or(extra.len());
    let text = extra.get(..end).unwrap_or_default();
    let text = std::str::from_utf8(text).map_err(|_| "digest is not text".to_owned())?;
    let (algorithm, hex) = text
        .split_once(':')
        .ok_or_else(|| format!("digest {text:?} has no algorithm"))?;
    if algorithm != "sha256" {
        return Err(format!("unsupported digest algorithm {algorithm:?}"));
    }
    if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return Err(format!("malformed sha256 digest {text:?}"));
    }
    Ok(text.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn extra_from(bytes: &[u8]) -> [u8; EXTRA_LEN] {
        crate::packed::padded(bytes)
    }

    #[test]
    fn partition_layout() {
        let meta = PartitionMeta {
            fs: FsType::Squashfs,
            part: PartType::PrimSys,
            arch: Arch::I386,
        };
        let extra = ObjectMetadata::Partition(meta).encode();
        assert_eq!(&extra[..11], b"\x01\0\0\0\x02\0\0\x0001\0");
        assert!(extra[11..].iter().all(|&b| b == 0));
        assert_eq!(decode_partition(&extra), meta);
    }

    #[test]
    fn signature_layout() {
        let fp = [0xAB; 20];
        let meta = SignatureMeta {
            hash: HashType::Sha384,
            fingerprint: Some(fp),
        };
        let extra = ObjectMetadata::Signature(meta).encode();
        assert_eq!(&extra[..4], &[2, 0, 0, 0]);
        assert_eq!(&extra[4..24], &fp);
        assert_eq!(decode_signature(&extra), meta);
        let none = SignatureMeta {
            hash: HashType::Sha256,
            fingerprint: None,
        };
        assert_eq!(
            decode_signature(&ObjectMetadata::Signature(none).encode()),
            none
        );
    }

    #[test]
    fn crypto_and_sbom() {
        let meta = CryptoMessageMeta {
            format: FormatType::Pem,
            message: MessageType::RsaOaep,
        };
        assert_eq!(
            decode_crypto_message(&ObjectMetadata::CryptoMessage(meta).encode()),
            meta
        );
        let extra = ObjectMetadata::Sbom(SbomFormat::SpdxJson).encode();
        assert_eq!(decode_sbom(&extra), SbomFormat::SpdxJson);
    }

    #[test]
    fn digests() {
        let good = format!("sha256:{}", "ab".repeat(32));
        validate_digest(&good).unwrap();
        assert_eq!(
            decode_oci_digest(&extra_from(good.as_bytes())).unwrap(),
            good
        );
        for bad in [
            "",
            "sha256:",
            "sha512:00",
            &format!("sha256:{}", "AB".repeat(32)),
        ] {
            assert!(
                matches!(validate_digest(bad), Err(Error::InvalidDigest(_))),
                "{bad}"
            );
        }
        assert!(decode_oci_digest(&[0; EXTRA_LEN]).is_err());
        assert!(decode_oci_digest(&extra_from(b"md5:00")).is_err());
        assert!(decode_oci_digest(&extra_from(b"\xff\xfe")).is_err());
    }

    #[test]
    fn metadata_must_fit_type() {
        let part = ObjectMetadata::Partition(PartitionMeta {
            fs: FsType::Raw,
            part: PartType::Data,
            arch: Arch::AMD64,
        });
        part.check_for(1, DataType::Partition).unwrap();
        assert!(matches!(
            part.check_for(1, DataType::Generic),
            Err(Error::WrongDataType { id: 1, .. })
        ));
        assert!(matches!(
            ObjectMetadata::None.check_for(1, DataType::Partition),
            Err(Error::MissingMetadata { .. })
        ));
        let no_arch = ObjectMetadata::Partition(PartitionMeta {
            fs: FsType::Raw,
            part: PartType::Data,
            arch: Arch::UNKNOWN,
        });
        assert!(matches!(
            no_arch.check_for(1, DataType::Partition),
            Err(Error::UnknownArch(_))
        ));
        ObjectMetadata::None
            .check_for(1, DataType::OciBlob)
            .unwrap();
    }
}
