//! What callers pass to the writer.

use std::fmt;
use std::io::Read;
use std::path::PathBuf;

use crate::descriptor::Link;
use crate::metadata::{ObjectMetadata, PartitionMeta};
use crate::types::DataType;

/// Options for creating an image (spec §8.1).
#[derive(Debug)]
pub struct CreateOptions {
    /// Launch script, at most 31 bytes (e.g. `#!/usr/bin/env run-singularity\n`).
    pub launch_script: Vec<u8>,
    /// Image UUID; default a random v4 UUID (nil in deterministic mode).
    pub id: Option<[u8; 16]>,
    /// Creation time (Unix seconds); default now ([`crate::ZERO_TIME`] in deterministic mode).
    pub time: Option<i64>,
    /// Number of descriptor slots (default 48).
    pub descriptor_capacity: i64,
    /// Offset of the descriptor table (default 4096; at least 128).
    pub descriptor_offset: i64,
    /// Nil UUID and zero time unless `id`/`time` are given, for reproducible output.
    pub deterministic: bool,
    /// Objects to write, in slot order.
    pub objects: Vec<ObjectInput>,
}

impl Default for CreateOptions {
    fn default() -> Self {
        CreateOptions {
            launch_script: Vec::new(),
            id: None,
            time: None,
            descriptor_capacity: 48,
            descriptor_offset: 4096,
            deterministic: false,
            objects: Vec::new(),
        }
    }
}

impl CreateOptions {
    /// Default options in deterministic mode.
    pub fn deterministic() -> Self {
        CreateOptions {
            deterministic: true,
            ..Self::default()
        }
    }
}

/// Options for edits of an existing image.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct EditOptions {
    /// Use zero time ([`crate::ZERO_TIME`]) instead of now. Images with nil ID and both
    /// header times zero are treated as deterministic without this flag.
    pub deterministic: bool,
    /// Explicit modification time (Unix seconds); wins over `deterministic`.
    pub time: Option<i64>,
}

/// Options for deleting objects.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DeleteOptions {
    /// Overwrite the deleted objects' data with zeros.
    pub zero: bool,
    /// Truncate the file after the last remaining object.
    pub compact: bool,
    /// Time handling.
    pub edit: EditOptions,
}

/// Where an object's data comes from. Files and readers are streamed, never held in memory.
pub enum ObjectData {
    /// Bytes in memory.
    Bytes(Vec<u8>),
    /// The contents of a file.
    File(PathBuf),
    /// Everything a reader yields.
    Reader(Box<dyn Read + Send>),
}

impl fmt::Debug for ObjectData {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ObjectData::Bytes(bytes) => write!(f, "Bytes({} bytes)", bytes.len()),
            ObjectData::File(path) => f.debug_tuple("File").field(path).finish(),
            ObjectData::Reader(_) => f.write_str("Reader(..)"),
        }
    }
}

impl From<Vec<u8>> for ObjectData {
    fn from(bytes: Vec<u8>) -> Self {
        ObjectData::Bytes(bytes)
    }
}

impl From<&[u8]> for ObjectData {
    fn from(bytes: &[u8]) -> Self {
        ObjectData::Bytes(bytes.to_vec())
    }
}

impl From<PathBuf> for ObjectData {
    fn from(path: PathBuf) -> Self {
        ObjectData::File(path)
    }
}

/// One object to write.
#[derive(Debug)]
pub struct ObjectInput {
    /// Kind of object.
    pub data_type: DataType,
    /// Its data.
    pub data: ObjectData,
    /// Group number (default 1; 0 = not in a group).
    pub group: u32,
    /// What the object is linked to.
    pub link: Link,
    /// Alignment of the data offset; `None` = the type's default (4096 for partitions,
    /// none otherwise); 0 or 1 = none.
    pub alignment: Option<i64>,
    /// Name, at most 128 bytes.
    pub name: String,
    /// Type-specific metadata; partitions need [`ObjectMetadata::Partition`].
    pub metadata: ObjectMetadata,
    /// Object time; default the image creation time (create) or modification time (add).
    pub time: Option<i64>,
}

impl ObjectInput {
    /// An object in group 1 with no link, name or metadata and the type's alignment.
    pub fn new(data_type: DataType, data: impl Into<ObjectData>) -> Self {
        ObjectInput {
            data_type,
            data: data.into(),
            group: 1,
            link: Link::None,
            alignment: None,
            name: String::new(),
            metadata: ObjectMetadata::None,
            time: None,
        }
    }

    /// A partition object with its metadata.
    pub fn partition(data: impl Into<ObjectData>, meta: PartitionMeta) -> Self {
        ObjectInput::new(DataType::Partition, data).with_metadata(ObjectMetadata::Partition(meta))
    }

    /// Sets the group (0 = not in a group).
    pub fn with_group(mut self, group: u32) -> Self {
        self.group = group;
        self
    }

    /// Sets the link.
    pub fn with_link(mut self, link: Link) -> Self {
        self.link = link;
        self
    }

    /// Sets the alignment (0 or 1 = none).
    pub fn with_alignment(mut self, alignment: i64) -> Self {
        self.alignment = Some(alignment);
        self
    }

    /// Sets the name.
    pub fn with_name(mut self, name: impl Into<String>) -> Self {
        self.name = name.into();
        self
    }

    /// Sets the metadata.
    pub fn with_metadata(mut self, metadata: ObjectMetadata) -> Self {
        self.metadata = metadata;
        self
    }

    /// Sets the object time.
    pub fn with_time(mut self, time: i64) -> Self {
        self.time = Some(time);
        self
    }

    /// The alignment the writer uses: the explicit one or the type default.
    pub(crate) fn effective_alignment(&self) -> i64 {
        self.alignment
            .unwrap_or(if self.data_type == DataType::Partition {
                4096
            } else {
                0
            })
    }
}
