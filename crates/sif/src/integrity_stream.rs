//! The byte streams that modern signatures digest (sif-signing.md §2): only the fields that
//! must not change once signed, so that appending a signature does not invalidate others.

use crate::descriptor::Descriptor;
use crate::header::{Header, HEADER_LEN};
use crate::packed::Writer;

/// Length of the header integrity stream.
pub const HEADER_INTEGRITY_LEN: usize = 61;
/// Length of the descriptor integrity stream.
pub const DESCRIPTOR_INTEGRITY_LEN: usize = 557;

impl Header {
    /// LaunchScript, Magic, Version and ID as stored: encoded bytes `[0, 45)` and `[48, 64)`.
    pub fn integrity_bytes(&self) -> Vec<u8> {
        Header::raw_integrity_bytes(&self.encode())
    }

    /// The header integrity stream of raw header bytes, whatever they contain.
    pub fn raw_integrity_bytes(encoded: &[u8; HEADER_LEN]) -> Vec<u8> {
        let mut out = Vec::with_capacity(HEADER_INTEGRITY_LEN);
        out.extend_from_slice(encoded.get(..45).unwrap_or_default());
        out.extend_from_slice(encoded.get(48..64).unwrap_or_default());
        out
    }
}

impl Descriptor {
    /// DataType, Used, the relative ID, LinkedID, Size, CreatedAt, UID, GID, Name and Extra,
    /// packed little-endian. Absolute ID, GroupID, Offset, SizeWithPadding and ModifiedAt
    /// are left out so that objects may be moved and renumbered.
    pub fn integrity_bytes(&self, relative_id: u32) -> Vec<u8> {
        let mut out = vec![0u8; DESCRIPTOR_INTEGRITY_LEN];
        Writer::new(&mut out)
            .i32(self.data_type.code())
            .u8(u8::from(self.used))
            .u32(relative_id)
            .u32(self.raw_link)
            .i64(self.size)
            .i64(self.created_at)
            .i64(self.uid)
            .i64(self.gid)
            .bytes(&self.raw_name)
            .bytes(&self.extra);
        out
    }
}
