//! Checks that decide whether an edit may go ahead, done before anything is written.
//!
//! They only look at the loaded header and descriptors, so the path-based operations run
//! them against the original file and refuse without copying it.

use crate::descriptor::{self, Descriptor, NAME_LEN};
use crate::error::{Error, Result};
use crate::header::HEADER_LEN;
use crate::image::Image;
use crate::metadata::{self, ObjectMetadata};
use crate::types::{DataType, PartType};

use super::options::ObjectInput;

/// The header must leave room for the table before the data, or edits would write object
/// data over descriptors (or descriptors over the header).
pub(crate) fn check_writable<R>(image: &Image<R>) -> Result<()> {
    let h = &image.header;
    if h.descriptors_offset < HEADER_LEN as i64 {
        return Err(Error::InvalidHeader {
            field: "descriptors_offset",
            value: h.descriptors_offset,
        });
    }
    let table_end = h
        .descriptors_offset
        .checked_add(h.descriptors_size)
        .ok_or(Error::Overflow)?;
    if h.data_offset < table_end {
        return Err(Error::InvalidHeader {
            field: "data_offset",
            value: h.data_offset,
        });
    }
    Ok(())
}

/// Checks one object against the image state: name, group, link, metadata, primary
/// partition uniqueness. `id` is the ID it would get.
pub(crate) fn check_object(object: &ObjectInput, id: u32, has_primary: bool) -> Result<()> {
    if object.name.len() > NAME_LEN {
        return Err(Error::NameTooLong);
    }
    descriptor::raw_group(object.group)?;
    object.link.to_raw()?;
    object.metadata.check_for(id, object.data_type)?;
    if has_primary && is_primary_meta(&object.metadata) {
        return Err(Error::PrimaryPartitionExists);
    }
    Ok(())
}

pub(crate) fn is_primary_meta(meta: &ObjectMetadata) -> bool {
    matches!(meta, ObjectMetadata::Partition(p) if p.part == PartType::PrimSys)
}

pub(crate) fn has_primary<R>(image: &Image<R>) -> bool {
    image
        .descriptors
        .iter()
        .any(Descriptor::is_primary_partition)
}

/// The first unused slot, or `InsufficientCapacity`.
pub(crate) fn free_slot<R>(image: &Image<R>) -> Result<usize> {
    // Used descriptors are kept in slot order, so the first gap is the first free slot.
    let mut slot = 0;
    for d in &image.descriptors {
        if d.slot != slot {
            break;
        }
        slot += 1;
    }
    let capacity = usize::try_from(image.header.descriptors_total).unwrap_or(0);
    if slot >= capacity {
        return Err(Error::InsufficientCapacity);
    }
    Ok(slot)
}

/// ID for a slot (slot + 1).
pub(crate) fn id_for_slot(slot: usize) -> Result<u32> {
    slot.checked_add(1)
        .and_then(|id| u32::try_from(id).ok())
        .ok_or(Error::InsufficientCapacity)
}

/// Where an added object goes: checks everything and returns its slot.
pub(crate) fn check_add<R>(image: &Image<R>, object: &ObjectInput) -> Result<usize> {
    check_writable(image)?;
    let slot = free_slot(image)?;
    check_object(object, id_for_slot(slot)?, has_primary(image))?;
    Ok(slot)
}

/// Indices (into the used descriptors) of the objects to delete; at least one.
pub(crate) fn select<R>(
    image: &Image<R>,
    select: impl Fn(&Descriptor) -> bool,
    missing_id: u32,
) -> Result<Vec<usize>> {
    check_writable(image)?;
    let chosen: Vec<usize> = image
        .descriptors
        .iter()
        .enumerate()
        .filter(|(_, d)| select(d))
        .map(|(i, _)| i)
        .collect();
    if chosen.is_empty() {
        return Err(Error::ObjectNotFound { id: missing_id });
    }
    Ok(chosen)
}

/// Index of the used descriptor with this ID.
pub(crate) fn index_of<R>(image: &Image<R>, id: u32) -> Result<usize> {
    image
        .descriptors
        .iter()
        .position(|d| d.id == id)
        .ok_or(Error::ObjectNotFound { id })
}

/// What setting the primary partition changes.
pub(crate) struct PrimaryChange {
    /// The partition to promote.
    pub(crate) target: usize,
    /// The current primary partition, demoted to `System`.
    pub(crate) previous: Option<usize>,
}

/// Checks a primary-partition change; `None` when the object already is primary.
pub(crate) fn check_set_primary<R>(image: &Image<R>, id: u32) -> Result<Option<PrimaryChange>> {
    check_writable(image)?;
    let target = index_of(image, id)?;
    let d = &image.descriptors[target];
    if d.data_type != DataType::Partition {
        return Err(Error::NotAPartition { id });
    }
    match d.partition()?.part {
        PartType::PrimSys => return Ok(None),
        PartType::System => {}
        _ => return Err(Error::NotASystemPartition { id }),
    }
    let mut primaries = image
        .descriptors
        .iter()
        .enumerate()
        .filter(|(_, d)| d.is_primary_partition());
    let previous = match (primaries.next(), primaries.next()) {
        (None, _) => None,
        (Some((i, _)), None) => Some(i),
        (Some(_), Some(_)) => return Err(Error::MultiplePrimaryPartitions),
    };
    Ok(Some(PrimaryChange { target, previous }))
}

/// Checks a metadata replacement and returns the descriptor index.
pub(crate) fn check_set_metadata<R>(
    image: &Image<R>,
    id: u32,
    meta: &ObjectMetadata,
) -> Result<usize> {
    check_writable(image)?;
    let index = index_of(image, id)?;
    let d = &image.descriptors[index];
    meta.check_for(id, d.data_type)?;
    let other_primary = image
        .descriptors
        .iter()
        .enumerate()
        .any(|(i, other)| i != index && other.is_primary_partition());
    if other_primary && is_primary_meta(meta) {
        return Err(Error::PrimaryPartitionExists);
    }
    Ok(index)
}

/// Checks an OCI digest change and returns the descriptor index.
pub(crate) fn check_set_oci_digest<R>(image: &Image<R>, id: u32, digest: &str) -> Result<usize> {
    let index = index_of(image, id)?;
    let d = &image.descriptors[index];
    if !metadata::is_oci(d.data_type) {
        return Err(Error::WrongDataType {
            id,
            expected: "OCI.RootIndex or OCI.Blob",
            found: d.data_type,
        });
    }
    check_set_metadata(image, id, &ObjectMetadata::OciDigest(digest.to_owned()))
}
