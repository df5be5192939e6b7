//! What to sign or verify, and the group/object lookups both need (sif-signing.md §4, §7).
//!
//! Error texts are the reference's (`sylabs/sif` select.go and `pkg/sif` selectors), without the
//! `integrity: ` prefix, which the callers add.

use berth_sif::{DataType, Descriptor, Header, Image, Link};
use serde::Serialize;

/// Which objects an operation covers.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Selection {
    /// Every object group (the reference default).
    #[default]
    AllGroups,
    /// One group (`--group-id`).
    Group(u32),
    /// These objects (`--sif-id`).
    Objects(Vec<u32>),
}

/// Reference texts of selection failures.
pub(crate) const NO_OBJECTS: &str = "no objects in image";
pub(crate) const OBJECT_NOT_FOUND: &str = "object not found";
pub(crate) const MULTIPLE_OBJECTS: &str = "multiple objects found";
pub(crate) const GROUP_NOT_FOUND: &str = "group not found";
pub(crate) const NO_GROUPS: &str = "no groups found";
pub(crate) const INVALID_GROUP_ID: &str = "invalid group ID";
pub(crate) const INVALID_OBJECT_ID: &str = "invalid object ID";

/// The reference decides "the image has no objects" from the header counts, before looking at
/// any descriptor.
pub(crate) fn has_no_objects(header: &Header) -> bool {
    header.descriptors_free == header.descriptors_total
}

/// The used descriptor with this ID (`GetDescriptor(WithID(id))`).
pub(crate) fn object<R>(image: &Image<R>, id: u32) -> Result<Descriptor, &'static str> {
    if has_no_objects(image.header()) {
        return Err(NO_OBJECTS);
    }
    if id == 0 {
        return Err(INVALID_OBJECT_ID);
    }
    let mut found = image.descriptors().iter().filter(|d| d.id == id);
    match (found.next(), found.next()) {
        (Some(d), None) => Ok(d.clone()),
        (None, _) => Err(OBJECT_NOT_FOUND),
        (Some(_), Some(_)) => Err(MULTIPLE_OBJECTS),
    }
}

/// All used objects of a group, in slot order (`getGroupObjects`).
pub(crate) fn group_objects<R>(
    image: &Image<R>,
    group: u32,
) -> Result<Vec<Descriptor>, &'static str> {
    if group == 0 {
        return Err(INVALID_GROUP_ID);
    }
    if has_no_objects(image.header()) {
        return Err(NO_OBJECTS);
    }
    let objects: Vec<Descriptor> = image
        .descriptors()
        .iter()
        .filter(|d| d.group_id == group)
        .cloned()
        .collect();
    if objects.is_empty() {
        return Err(GROUP_NOT_FOUND);
    }
    Ok(objects)
}

/// Smallest ID among the used objects of a group (`getGroupMinObjectID`); the group number
/// is compared with the flag bits cleared.
pub(crate) fn group_min_id<R>(image: &Image<R>, group: u32) -> Result<u32, &'static str> {
    image
        .descriptors()
        .iter()
        .filter(|d| d.group_id == group)
        .map(|d| d.id)
        .min()
        .ok_or(GROUP_NOT_FOUND)
}

/// Every non-zero group with used objects, ascending (`getGroupIDs`).
pub(crate) fn group_ids<R>(image: &Image<R>) -> Result<Vec<u32>, &'static str> {
    let mut ids: Vec<u32> = image
        .descriptors()
        .iter()
        .map(|d| d.group_id)
        .filter(|&g| g != 0)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    if ids.is_empty() {
        return Err(NO_GROUPS);
    }
    Ok(ids)
}

/// Signature objects linked to a group, in slot order, without looking at their content.
/// Linking to group 0 is an invalid request as soon as any signature object exists, as with
/// the reference's selector chain.
pub(crate) fn group_linked_signatures<R>(
    image: &Image<R>,
    group: u32,
) -> Result<Vec<Descriptor>, &'static str> {
    if has_no_objects(image.header()) {
        return Err(NO_OBJECTS);
    }
    let mut out = Vec::new();
    for d in image.descriptors() {
        if d.data_type != DataType::Signature {
            continue;
        }
        if group == 0 {
            return Err(INVALID_GROUP_ID);
        }
        if d.link == Link::Group(group) {
            out.push(d.clone());
        }
    }
    Ok(out)
}

/// Signature objects linked to an object (not a group), in slot order.
pub(crate) fn object_linked_signatures<R>(
    image: &Image<R>,
    id: u32,
) -> Result<Vec<Descriptor>, &'static str> {
    if has_no_objects(image.header()) {
        return Err(NO_OBJECTS);
    }
    if id == 0 {
        return Err(INVALID_OBJECT_ID);
    }
    Ok(image
        .descriptors()
        .iter()
        .filter(|d| d.data_type == DataType::Signature && d.link == Link::Object(id))
        .cloned()
        .collect())
}

/// Sorted, de-duplicated IDs, as the reference's `insertSorted` keeps them.
pub(crate) fn sorted_unique(ids: &[u32]) -> Vec<u32> {
    let mut out = ids.to_vec();
    out.sort_unstable();
    out.dedup();
    out
}
