//! The one error type of the crate.

use crate::types::DataType;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong reading or writing a SIF image.
///
/// Variants are specific enough to act on: a caller can tell "not a SIF" from "damaged SIF"
/// from "the edit you asked for is not allowed".
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing the underlying file failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// The file is shorter than the 128-byte global header.
    #[error("file too small to be a SIF image ({len} bytes)")]
    TooSmall {
        /// Length of the file in bytes.
        len: u64,
    },

    /// The magic at offset 32 is not `SIF_MAGIC\0`.
    #[error("invalid SIF magic")]
    BadMagic,

    /// The version at offset 42 is not `01\0`.
    #[error("incompatible SIF version {found:?}")]
    BadVersion {
        /// The version text found, trailing NULs stripped.
        found: String,
    },

    /// A header field holds a value the requested operation cannot work with
    /// (for example a data section that starts inside the descriptor table, when editing).
    #[error("invalid header field {field}: {value}")]
    InvalidHeader {
        /// Name of the header field.
        field: &'static str,
        /// The value found.
        value: i64,
    },

    /// The descriptor table does not lie inside the file, or its declared window is smaller
    /// than `DescriptorsTotal` descriptors.
    #[error(
        "descriptor table out of bounds (offset {offset}, size {size}, needed {needed}, file length {file_len})"
    )]
    DescriptorTableOutOfBounds {
        /// `DescriptorsOffset` from the header.
        offset: i64,
        /// `DescriptorsSize` from the header.
        size: i64,
        /// Bytes needed for `DescriptorsTotal` descriptors.
        needed: u64,
        /// Length of the file.
        file_len: u64,
    },

    /// `DescriptorsTotal` is negative, or so large the table cannot fit in the file.
    #[error("absurd descriptor count {total}")]
    AbsurdDescriptorCount {
        /// `DescriptorsTotal` from the header.
        total: i64,
    },

    /// A used descriptor points at data outside the file (or has a negative offset or size).
    #[error("object {id} out of bounds (offset {offset}, size {size}, file length {file_len})")]
    ObjectOutOfBounds {
        /// ID of the object.
        id: u32,
        /// Its offset.
        offset: i64,
        /// Its size.
        size: i64,
        /// Length of the file.
        file_len: u64,
    },

    /// The data of two used objects overlap.
    #[error("objects {a} and {b} overlap")]
    OverlappingObjects {
        /// ID of the object that starts first.
        a: u32,
        /// ID of the other object.
        b: u32,
    },

    /// No used object has this ID. `id` is 0 (never a valid ID) when a selector matched
    /// nothing.
    #[error("object {id} not found")]
    ObjectNotFound {
        /// The ID looked for, or 0 for a selector.
        id: u32,
    },

    /// The image has no primary system partition.
    #[error("image has no primary partition")]
    NoPrimaryPartition,

    /// The image has more than one primary system partition.
    #[error("image has multiple primary partitions")]
    MultiplePrimaryPartitions,

    /// The object is not a file-system partition.
    #[error("data object {id} is not a partition")]
    NotAPartition {
        /// ID of the object.
        id: u32,
    },

    /// The object is a partition, but not of type `System`, so it cannot become primary.
    #[error("data object {id} is not a system partition")]
    NotASystemPartition {
        /// ID of the object.
        id: u32,
    },

    /// Adding or marking a primary partition when another one already exists.
    #[error("image already contains a primary partition")]
    PrimaryPartitionExists,

    /// Every descriptor slot is in use.
    #[error("insufficient descriptor capacity to add data object(s) to image")]
    InsufficientCapacity,

    /// An architecture name or code outside the table of known architectures.
    #[error("unknown architecture {0:?}")]
    UnknownArch(String),

    /// The launch script does not fit in 31 bytes (one NUL must terminate it).
    #[error("launch script too long (at most 31 bytes)")]
    LaunchScriptTooLong,

    /// The object name is longer than 128 bytes.
    #[error("object name too long (at most 128 bytes)")]
    NameTooLong,

    /// The object's data type does not fit the operation (e.g. reading partition metadata
    /// of a signature).
    #[error("object {id} has data type {found}, expected {expected}")]
    WrongDataType {
        /// ID of the object.
        id: u32,
        /// What the operation needs.
        expected: &'static str,
        /// What the object is.
        found: DataType,
    },

    /// The type-specific metadata ("extra") of an object cannot be decoded.
    #[error("object {id} has invalid metadata: {reason}")]
    BadExtra {
        /// ID of the object.
        id: u32,
        /// What is wrong.
        reason: String,
    },

    /// A digest is not `sha256:` followed by 64 lowercase hex digits.
    #[error("invalid digest {0:?}")]
    InvalidDigest(String),

    /// A group number does not fit in 28 bits, so it cannot be stored with the group flag.
    #[error("invalid group {group} (must be below 0x10000000)")]
    InvalidGroup {
        /// The group number.
        group: u32,
    },

    /// A link to ID 0 or to an ID that does not fit in 28 bits.
    #[error("invalid link target {target}")]
    InvalidLink {
        /// The object or group ID linked to.
        target: u32,
    },

    /// The object's data type needs metadata that was not given (partitions need
    /// file-system type, partition type and architecture).
    #[error("data type {data_type} needs metadata")]
    MissingMetadata {
        /// The data type.
        data_type: DataType,
    },

    /// Create options that cannot produce a valid image.
    #[error("invalid create options: {0}")]
    InvalidOptions(&'static str),

    /// An offset or size computation left the range of a signed 64-bit file offset.
    #[error("offset arithmetic overflow")]
    Overflow,
}
