//! The 128-byte global header (spec §3).

use crate::arch::Arch;
use crate::error::{Error, Result};
use crate::packed::{self, Reader, Writer};
use crate::ZERO_TIME;

/// Length of the encoded header.
pub const HEADER_LEN: usize = 128;
/// Length of the launch-script field.
pub const LAUNCH_SCRIPT_LEN: usize = 32;

pub(crate) const MAGIC: [u8; 10] = *b"SIF_MAGIC\0";
pub(crate) const VERSION: [u8; 3] = *b"01\0";

/// The global header of an image.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Header {
    /// Text run when the file is executed (`#!...`), trailing NULs stripped.
    pub launch_script: Vec<u8>,
    /// Format version ("01", the only one that exists).
    pub version: String,
    /// Architecture of the primary partition, `00` when there is none.
    pub arch: Arch,
    /// Image UUID in network byte order.
    pub id: [u8; 16],
    /// Creation time, Unix seconds ([`ZERO_TIME`] when unset).
    pub created_at: i64,
    /// Last modification time, Unix seconds.
    pub modified_at: i64,
    /// Number of unused descriptor slots.
    pub descriptors_free: i64,
    /// Capacity of the descriptor table.
    pub descriptors_total: i64,
    /// Byte offset of the descriptor table.
    pub descriptors_offset: i64,
    /// Byte size of the descriptor table.
    pub descriptors_size: i64,
    /// Start of the data section.
    pub data_offset: i64,
    /// Bytes from the data section start to the end of the last object.
    pub data_size: i64,
}

impl Header {
    /// Decodes a header, checking magic and version (the only checks the reference
    /// loader makes; bounds are checked by [`crate::Image::load`]).
    pub fn decode(buf: &[u8; HEADER_LEN]) -> Result<Header> {
        let mut r = Reader::new(buf);
        let launch_script = packed::trim_nuls(&r.bytes::<LAUNCH_SCRIPT_LEN>()).to_vec();
        if r.bytes::<10>() != MAGIC {
            return Err(Error::BadMagic);
        }
        let version = r.bytes::<3>();
        if version != VERSION {
            let found = String::from_utf8_lossy(packed::trim_nuls(&version)).into_owned();
            return Err(Error::BadVersion { found });
        }
        Ok(Header {
            launch_script,
            version: "01".to_owned(),
            arch: Arch::from_bytes(r.bytes()),
            id: r.bytes(),
            created_at: r.i64(),
            modified_at: r.i64(),
            descriptors_free: r.i64(),
            descriptors_total: r.i64(),
            descriptors_offset: r.i64(),
            descriptors_size: r.i64(),
            data_offset: r.i64(),
            data_size: r.i64(),
        })
    }

    /// Encodes the header. The magic is always `SIF_MAGIC`; launch script and version are
    /// NUL-padded (and cut to their field sizes).
    pub fn encode(&self) -> [u8; HEADER_LEN] {
        let mut buf = [0u8; HEADER_LEN];
        Writer::new(&mut buf)
            .bytes(&packed::padded::<LAUNCH_SCRIPT_LEN>(&self.launch_script))
            .bytes(&MAGIC)
            .bytes(&packed::padded::<3>(self.version.as_bytes()))
            .bytes(&self.arch.to_bytes())
            .bytes(&self.id)
            .i64(self.created_at)
            .i64(self.modified_at)
            .i64(self.descriptors_free)
            .i64(self.descriptors_total)
            .i64(self.descriptors_offset)
            .i64(self.descriptors_size)
            .i64(self.data_offset)
            .i64(self.data_size);
        buf
    }

    /// The image ID as canonical hyphenated UUID text.
    pub fn id_string(&self) -> String {
        uuid::Uuid::from_bytes(self.id).hyphenated().to_string()
    }

    /// Whether the ID is the nil UUID (as in deterministic images).
    pub fn is_nil_id(&self) -> bool {
        self.id == [0; 16]
    }

    /// Whether later edits default to zero time: nil ID and both times zero (spec §8.1).
    pub fn is_deterministic(&self) -> bool {
        self.is_nil_id() && self.created_at == ZERO_TIME && self.modified_at == ZERO_TIME
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Header {
        Header {
            launch_script: b"#!/bin/sh\n".to_vec(),
            version: "01".into(),
            arch: Arch::AMD64,
            id: [7; 16],
            created_at: 1,
            modified_at: 2,
            descriptors_free: 3,
            descriptors_total: 4,
            descriptors_offset: 4096,
            descriptors_size: 4 * 585,
            data_offset: 4096 + 4 * 585,
            data_size: 0,
        }
    }

    #[test]
    fn round_trip() {
        let h = sample();
        let bytes = h.encode();
        assert_eq!(&bytes[32..45], b"SIF_MAGIC\x0001\0");
        assert_eq!(&bytes[45..48], b"02\0");
        assert_eq!(Header::decode(&bytes).unwrap(), h);
    }

    #[test]
    fn rejects_magic_and_version() {
        let mut bytes = sample().encode();
        bytes[35] = b'X';
        assert!(matches!(Header::decode(&bytes), Err(Error::BadMagic)));
        let mut bytes = sample().encode();
        bytes[43] = b'2';
        match Header::decode(&bytes) {
            Err(Error::BadVersion { found }) => assert_eq!(found, "02"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn id_text() {
        let mut h = sample();
        h.id = *uuid::Uuid::parse_str("b2659d4e-bd50-4ea5-bd17-eec5e54f918e")
            .unwrap()
            .as_bytes();
        assert_eq!(h.id_string(), "b2659d4e-bd50-4ea5-bd17-eec5e54f918e");
        assert!(!h.is_nil_id());
    }
}
