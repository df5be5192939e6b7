//! Verification tasks: what `integrity.NewVerifier` (and Apptainer's options before it) turn a
//! selection into, and which signature objects belong to each task.

use std::fs::File;
use std::io::Read;

use berth_sif::{DataType, Descriptor, Image};

use crate::clearsign;
use crate::error::Error;
use crate::selection::{self, Selection};
use crate::verify::VerifyOptions;

/// Signature objects larger than this are refused rather than read into memory.
const MAX_SIGNATURE_LEN: i64 = 64 * 1024 * 1024;

/// Why verification stopped.
pub(crate) enum Stop {
    /// A verification failure with its complete message.
    Fail(String),
    /// The image could not be read.
    Err(Error),
}

impl From<Error> for Stop {
    fn from(e: Error) -> Self {
        Stop::Err(e)
    }
}

impl From<berth_sif::Error> for Stop {
    fn from(e: berth_sif::Error) -> Self {
        Stop::Err(e.into())
    }
}

impl From<std::io::Error> for Stop {
    fn from(e: std::io::Error) -> Self {
        Stop::Err(e.into())
    }
}

pub(crate) fn fail(text: impl std::fmt::Display) -> Stop {
    Stop::Fail(format!("integrity: {text}"))
}

/// A verification task.
pub(crate) enum Task {
    /// Modern signatures of a group; `subset` when only some objects were asked for.
    Group {
        group: u32,
        objects: Vec<Descriptor>,
        subset: bool,
    },
    /// Legacy signatures of a group (digest over all its objects).
    LegacyGroup {
        group: u32,
        objects: Vec<Descriptor>,
    },
    /// Legacy signatures of one object.
    LegacyObject(Box<Descriptor>),
}

/// Builds the tasks as Apptainer's options and `NewVerifier` do.
pub(crate) fn build(
    image: &Image<File>,
    opts: &VerifyOptions,
) -> std::result::Result<Vec<Task>, Stop> {
    let legacy = opts.legacy;
    let all = legacy && opts.legacy_all;
    let (groups, mut objects) = match &opts.selection {
        Selection::AllGroups => (Vec::new(), Vec::new()),
        Selection::Group(g) => (vec![*g], Vec::new()),
        Selection::Objects(ids) => (Vec::new(), ids.clone()),
    };
    if legacy && !all && groups.is_empty() && objects.is_empty() {
        // Apptainer looks the primary partition up itself, before the integrity library
        // runs, so this error has no "integrity: " prefix.
        objects.push(primary_partition(image).map_err(|e| Stop::Fail(e.to_owned()))?);
    }
    if groups.contains(&0) {
        return Err(fail(selection::INVALID_GROUP_ID));
    }
    if objects.contains(&0) {
        return Err(fail(selection::INVALID_OBJECT_ID));
    }
    if all {
        objects.extend(
            image
                .descriptors()
                .iter()
                .filter(|d| d.data_type != DataType::Signature && d.group_id != 0)
                .map(|d| d.id),
        );
    }
    let mut groups = selection::sorted_unique(&groups);
    let objects = selection::sorted_unique(&objects);
    if groups.is_empty() && objects.is_empty() {
        groups = selection::group_ids(image).map_err(fail)?;
    }

    let mut tasks = Vec::with_capacity(groups.len() + objects.len());
    for group in groups {
        let members = selection::group_objects(image, group).map_err(fail)?;
        tasks.push(if legacy {
            Task::LegacyGroup {
                group,
                objects: members,
            }
        } else {
            Task::Group {
                group,
                objects: members,
                subset: false,
            }
        });
    }
    for id in objects {
        let d = selection::object(image, id).map_err(fail)?;
        tasks.push(if legacy {
            Task::LegacyObject(Box::new(d))
        } else {
            Task::Group {
                group: d.group_id,
                objects: vec![d],
                subset: true,
            }
        });
    }
    Ok(tasks)
}

fn primary_partition(image: &Image<File>) -> std::result::Result<u32, &'static str> {
    if selection::has_no_objects(image.header()) {
        return Err(selection::NO_OBJECTS);
    }
    let mut found = image
        .descriptors()
        .iter()
        .filter(|d| d.is_primary_partition());
    match (found.next(), found.next()) {
        (Some(d), None) => Ok(d.id),
        (None, _) => Err(selection::OBJECT_NOT_FOUND),
        (Some(_), Some(_)) => Err(selection::MULTIPLE_OBJECTS),
    }
}

/// The task's signature objects with their data, in slot order. Group tasks only take
/// signatures of their kind (legacy or not); object tasks take every linked signature.
pub(crate) fn signatures(
    image: &mut Image<File>,
    task: &Task,
) -> std::result::Result<Vec<(Descriptor, Vec<u8>)>, Stop> {
    let (linked, want_legacy) = match task {
        Task::Group { group, .. } => (
            selection::group_linked_signatures(image, *group).map_err(fail)?,
            Some(false),
        ),
        Task::LegacyGroup { group, .. } => (
            selection::group_linked_signatures(image, *group).map_err(fail)?,
            Some(true),
        ),
        Task::LegacyObject(d) => (
            selection::object_linked_signatures(image, d.id).map_err(fail)?,
            None,
        ),
    };
    let mut out = Vec::with_capacity(linked.len());
    for sig in linked {
        let data = read_signature(image, &sig)?;
        if want_legacy.is_none_or(|legacy| clearsign::is_legacy(&data) == legacy) {
            out.push((sig, data));
        }
    }
    Ok(out)
}

fn read_signature(image: &mut Image<File>, sig: &Descriptor) -> std::result::Result<Vec<u8>, Stop> {
    if sig.size > MAX_SIGNATURE_LEN {
        return Err(fail(format!("signature object {} too large", sig.id)));
    }
    let mut reader = image.object_reader(sig.id)?;
    let mut data = Vec::with_capacity(usize::try_from(reader.len()).unwrap_or(0));
    reader.read_to_end(&mut data)?;
    Ok(data)
}

/// The reference's "signature not found" text for a task.
pub(crate) fn not_found(task: &Task) -> String {
    match task {
        Task::Group { group: 0, .. } | Task::LegacyGroup { group: 0, .. } => {
            "signature not found".to_owned()
        }
        Task::Group { group, .. } | Task::LegacyGroup { group, .. } => {
            format!("signature not found for object group {group}")
        }
        Task::LegacyObject(d) => format!("signature not found for object {}", d.id),
    }
}
