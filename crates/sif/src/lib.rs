//! Reader and writer for the Singularity Image Format (SIF), byte-compatible with the
//! reference implementation (`sylabs/sif` v2 and Apptainer's fork).
//!
//! * [`Image`] loads an image (header and descriptors, never object data) and streams object
//!   data through [`ObjectReader`].
//! * [`create`], [`add_object`], [`delete_object`], [`delete_objects`],
//!   [`set_primary_partition`], [`set_metadata`] and [`set_oci_blob_digest`] edit files on
//!   disk atomically; [`ImageEditor`] does the same on any [`Storage`].
//! * [`Header::integrity_bytes`] and [`Descriptor::integrity_bytes`] give the streams that
//!   modern signatures digest.
//!
//! Malformed input gives an [`Error`], never a panic.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod arch;
mod descriptor;
mod error;
mod header;
mod image;
mod integrity_stream;
mod metadata;
mod object_reader;
mod packed;
mod types;
mod write;

pub use arch::Arch;
pub use descriptor::{Descriptor, Link, DESCRIPTOR_LEN, NAME_LEN};
pub use error::{Error, Result};
pub use header::{Header, HEADER_LEN, LAUNCH_SCRIPT_LEN};
pub use image::Image;
pub use integrity_stream::{DESCRIPTOR_INTEGRITY_LEN, HEADER_INTEGRITY_LEN};
pub use metadata::{CryptoMessageMeta, ObjectMetadata, PartitionMeta, SignatureMeta, EXTRA_LEN};
pub use object_reader::ObjectReader;
pub use types::{DataType, FormatType, FsType, HashType, MessageType, PartType, SbomFormat};
pub use write::{
    add_object, create, delete_object, delete_objects, set_metadata, set_oci_blob_digest,
    set_primary_partition, CreateOptions, DeleteOptions, EditOptions, ImageEditor, ObjectData,
    ObjectInput, Storage,
};

/// The "zero time" (0001-01-01T00:00:00Z in Unix seconds) that deterministic images store
/// and tools treat as unset.
pub const ZERO_TIME: i64 = -62_135_596_800;
