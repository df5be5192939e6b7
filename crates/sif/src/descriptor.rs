//! The 585-byte object descriptor (spec §4) and its groups and links (spec §7).

use crate::error::{Error, Result};
use crate::metadata::{self, CryptoMessageMeta, PartitionMeta, SignatureMeta, EXTRA_LEN};
use crate::packed::{self, Reader, Writer};
use crate::types::{DataType, PartType, SbomFormat};

/// Length of one encoded descriptor.
pub const DESCRIPTOR_LEN: usize = 585;
/// Length of the name field.
pub const NAME_LEN: usize = 128;

/// High nibble that marks group numbers in GroupID and LinkedID.
pub(crate) const GROUP_FLAG: u32 = 0xF000_0000;
/// The largest group or object ID that can be stored next to the flag.
pub(crate) const MAX_GROUPED_ID: u32 = !GROUP_FLAG;

/// What an object is linked to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum Link {
    /// Not linked.
    #[default]
    None,
    /// Linked to the object with this ID.
    Object(u32),
    /// Linked to the object group with this number.
    Group(u32),
}

impl Link {
    /// Decodes a raw LinkedID as the reference does: the id is the low 28 bits (0 = no
    /// link, whatever the flag bits say) and only the full flag nibble marks a group.
    pub fn from_raw(raw: u32) -> Link {
        let id = raw & MAX_GROUPED_ID;
        if id == 0 {
            Link::None
        } else if raw & GROUP_FLAG == GROUP_FLAG {
            Link::Group(id)
        } else {
            Link::Object(id)
        }
    }

    /// The raw LinkedID; fails for targets that cannot be stored unambiguously.
    pub fn to_raw(self) -> Result<u32> {
        match self {
            Link::None => Ok(0),
            Link::Object(id) if id != 0 && id <= MAX_GROUPED_ID => Ok(id),
            Link::Group(group) if group != 0 && group <= MAX_GROUPED_ID => Ok(group | GROUP_FLAG),
            Link::Object(target) | Link::Group(target) => Err(Error::InvalidLink { target }),
        }
    }
}

#[cfg(test)]
mod link_tests {
    use super::*;

    #[test]
    fn raw_links_decode_like_the_reference() {
        assert_eq!(Link::from_raw(0), Link::None);
        assert_eq!(Link::from_raw(GROUP_FLAG), Link::None);
        assert_eq!(Link::from_raw(0x1000_0002), Link::Object(2));
        assert_eq!(Link::from_raw(0xF000_0003), Link::Group(3));
        assert_eq!(Link::from_raw(7), Link::Object(7));
    }
}

/// The raw GroupID for a group number (0 = ungrouped).
pub(crate) fn raw_group(group: u32) -> Result<u32> {
    if group > MAX_GROUPED_ID {
        return Err(Error::InvalidGroup { group });
    }
    Ok(group | GROUP_FLAG)
}

/// One object descriptor.
///
/// `raw_group_id`, `raw_link`, `raw_name` and `extra` are what gets encoded; `group_id`,
/// `link` and `name` are their decoded forms, provided for convenience.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Descriptor {
    /// Kind of object.
    pub data_type: DataType,
    /// Whether the slot is in use (always true for descriptors of a loaded image).
    pub used: bool,
    /// Object ID (slot + 1 in images written by the reference).
    pub id: u32,
    /// Group number, 0 when ungrouped.
    pub group_id: u32,
    /// GroupID as stored (group number with the 0xF0000000 flag).
    pub raw_group_id: u32,
    /// What the object is linked to.
    pub link: Link,
    /// LinkedID as stored.
    pub raw_link: u32,
    /// Absolute file offset of the data.
    pub offset: i64,
    /// Data length.
    pub size: i64,
    /// Alignment padding before the data plus `size`.
    pub size_with_padding: i64,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// Modification time, Unix seconds.
    pub modified_at: i64,
    /// Creator's uid (old writers only; 0 otherwise).
    pub uid: i64,
    /// Creator's gid (old writers only; 0 otherwise).
    pub gid: i64,
    /// Name, decoded lossily as UTF-8 with trailing NULs stripped.
    pub name: String,
    /// Name field as stored.
    pub raw_name: [u8; NAME_LEN],
    /// Type-specific metadata as stored.
    pub extra: [u8; EXTRA_LEN],
    /// Index of the descriptor in the table.
    pub slot: usize,
}

impl Descriptor {
    /// Decodes a descriptor found at `slot`.
    pub fn decode(buf: &[u8; DESCRIPTOR_LEN], slot: usize) -> Descriptor {
        let mut r = Reader::new(buf);
        let data_type = DataType::from_code(r.i32());
        let used = r.u8() != 0;
        let id = r.u32();
        let raw_group_id = r.u32();
        let raw_link = r.u32();
        let offset = r.i64();
        let size = r.i64();
        let size_with_padding = r.i64();
        let created_at = r.i64();
        let modified_at = r.i64();
        let uid = r.i64();
        let gid = r.i64();
        let raw_name: [u8; NAME_LEN] = r.bytes();
        let extra: [u8; EXTRA_LEN] = r.bytes();
        Descriptor {
            data_type,
            used,
            id,
            group_id: raw_group_id & MAX_GROUPED_ID,
            raw_group_id,
            link: Link::from_raw(raw_link),
            raw_link,
            offset,
            size,
            size_with_padding,
            created_at,
            modified_at,
            uid,
            gid,
            name: String::from_utf8_lossy(packed::trim_nuls(&raw_name)).into_owned(),
            raw_name,
            extra,
            slot,
        }
    }

    /// Encodes the descriptor from its raw fields.
    pub fn encode(&self) -> [u8; DESCRIPTOR_LEN] {
        let mut buf = [0u8; DESCRIPTOR_LEN];
        Writer::new(&mut buf)
            .i32(self.data_type.code())
            .u8(u8::from(self.used))
            .u32(self.id)
            .u32(self.raw_group_id)
            .u32(self.raw_link)
            .i64(self.offset)
            .i64(self.size)
            .i64(self.size_with_padding)
            .i64(self.created_at)
            .i64(self.modified_at)
            .i64(self.uid)
            .i64(self.gid)
            .bytes(&self.raw_name)
            .bytes(&self.extra);
        buf
    }

    /// End of the object data (`offset + size`), `None` on overflow.
    pub fn end(&self) -> Option<i64> {
        self.offset.checked_add(self.size)
    }

    fn expect(&self, data_type: DataType, expected: &'static str) -> Result<()> {
        if self.data_type == data_type {
            Ok(())
        } else {
            Err(Error::WrongDataType {
                id: self.id,
                expected,
                found: self.data_type,
            })
        }
    }

    /// Partition metadata; the object must be a partition.
    pub fn partition(&self) -> Result<PartitionMeta> {
        self.expect(DataType::Partition, "FS")?;
        Ok(metadata::decode_partition(&self.extra))
    }

    /// Signature metadata; the object must be a signature. Unknown hash codes are returned
    /// as [`crate::HashType::Unknown`] for the caller to reject.
    pub fn signature(&self) -> Result<SignatureMeta> {
        self.expect(DataType::Signature, "Signature")?;
        Ok(metadata::decode_signature(&self.extra))
    }

    /// Cryptographic message metadata; the object must be a cryptographic message.
    pub fn crypto_message(&self) -> Result<CryptoMessageMeta> {
        self.expect(DataType::CryptoMessage, "Cryptographic Message")?;
        Ok(metadata::decode_crypto_message(&self.extra))
    }

    /// SBOM format; the object must be an SBOM.
    pub fn sbom(&self) -> Result<SbomFormat> {
        self.expect(DataType::Sbom, "SBOM")?;
        Ok(metadata::decode_sbom(&self.extra))
    }

    /// The `sha256:<hex>` digest of an OCI blob or root index.
    pub fn oci_digest(&self) -> Result<String> {
        if !metadata::is_oci(self.data_type) {
            return Err(Error::WrongDataType {
                id: self.id,
                expected: "OCI.RootIndex or OCI.Blob",
                found: self.data_type,
            });
        }
        metadata::decode_oci_digest(&self.extra).map_err(|reason| Error::BadExtra {
            id: self.id,
            reason,
        })
    }

    /// Whether this is the primary system partition (partition type `*System`).
    pub fn is_primary_partition(&self) -> bool {
        self.partition().is_ok_and(|p| p.part == PartType::PrimSys)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::arch::Arch;
    use crate::metadata::ObjectMetadata;
    use crate::types::FsType;

    fn sample() -> Descriptor {
        let mut raw = [0u8; DESCRIPTOR_LEN];
        raw[4] = 1;
        let mut d = Descriptor::decode(&raw, 3);
        d.data_type = DataType::Partition;
        d.id = 4;
        d.raw_group_id = 0xF000_0002;
        d.raw_link = 0xF000_0001;
        d.offset = 32768;
        d.size = 10;
        d.raw_name = packed::padded(b"name");
        d.extra = ObjectMetadata::Partition(PartitionMeta {
            fs: FsType::Squashfs,
            part: PartType::PrimSys,
            arch: Arch::AMD64,
        })
        .encode();
        Descriptor::decode(&d.encode(), 3)
    }

    #[test]
    fn round_trip_and_decoded_fields() {
        let d = sample();
        assert_eq!(d.group_id, 2);
        assert_eq!(d.link, Link::Group(1));
        assert_eq!(d.name, "name");
        assert_eq!(Descriptor::decode(&d.encode(), 3), d);
        assert!(d.is_primary_partition());
        assert!(matches!(
            d.signature(),
            Err(Error::WrongDataType { id: 4, .. })
        ));
        assert!(matches!(d.oci_digest(), Err(Error::WrongDataType { .. })));
    }

    #[test]
    fn field_offsets() {
        let bytes = sample().encode();
        assert_eq!(&bytes[0..4], &0x4004_i32.to_le_bytes());
        assert_eq!(bytes[4], 1);
        assert_eq!(&bytes[5..9], &4u32.to_le_bytes());
        assert_eq!(&bytes[17..25], &32768i64.to_le_bytes());
        assert_eq!(&bytes[73..77], b"name");
        assert_eq!(&bytes[201..205], &1i32.to_le_bytes());
    }

    #[test]
    fn links() {
        assert_eq!(Link::from_raw(0), Link::None);
        assert_eq!(Link::from_raw(5), Link::Object(5));
        assert_eq!(Link::from_raw(0xF000_0003), Link::Group(3));
        assert_eq!(Link::Group(3).to_raw().unwrap(), 0xF000_0003);
        assert!(matches!(
            Link::Object(0).to_raw(),
            Err(Error::InvalidLink { target: 0 })
        ));
        assert!(Link::Group(0x1000_0000).to_raw().is_err());
        assert!(matches!(
            raw_group(0x1000_0000),
            Err(Error::InvalidGroup { .. })
        ));
        assert_eq!(raw_group(0).unwrap(), GROUP_FLAG);
    }
}
