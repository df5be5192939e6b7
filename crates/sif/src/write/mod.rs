//! Creating and editing images on disk.
//!
//! Every function here writes a temporary copy next to the image, syncs it and renames it
//! over the original, so the image at `path` is always either the old or the new one, byte
//! for byte. Edits that are refused are refused before anything is copied.
//!
//! The same operations work on any [`Storage`] (a file, a buffer in memory) through
//! [`ImageEditor`]; those edit in place.

mod atomic;
mod editor;
mod options;
mod plan;
mod storage;

use std::fs::{self, File, OpenOptions};
use std::io::{self, Seek, SeekFrom};
use std::path::{Path, PathBuf};

use crate::descriptor::Descriptor;
use crate::error::Result;
use crate::image::Image;
use crate::metadata::ObjectMetadata;

pub use editor::ImageEditor;
pub use options::{CreateOptions, DeleteOptions, EditOptions, ObjectData, ObjectInput};
pub use storage::Storage;

use atomic::TempFile;

/// Creates an image at `path`, replacing any file there only once it is complete.
pub fn create(path: &Path, opts: CreateOptions) -> Result<()> {
    // Like the reference (which truncates the file it opens), write through a symlink
    // rather than replace it.
    let target = fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let mut temp = TempFile::beside(&target)?;
    ImageEditor::create(temp.file(), opts)?;
    temp.persist(&target)
}

/// Adds an object and returns its ID.
pub fn add_object(path: &Path, object: ObjectInput, opts: &EditOptions) -> Result<u32> {
    let original = Original::open(path)?;
    plan::check_add(&original.image, &object)?;
    original.edit_copy(|editor| editor.add_object(object, opts))
}

/// Deletes the object with this ID.
pub fn delete_object(path: &Path, id: u32, opts: &DeleteOptions) -> Result<()> {
    let original = Original::open(path)?;
    plan::select(&original.image, |d| d.id == id, id)?;
    original.edit_copy(|editor| editor.delete_object(id, opts))
}

/// Deletes every object `select` picks; `ObjectNotFound` (ID 0) if it picks none.
pub fn delete_objects(
    path: &Path,
    select: impl Fn(&Descriptor) -> bool,
    opts: &DeleteOptions,
) -> Result<()> {
    let original = Original::open(path)?;
    plan::select(&original.image, &select, 0)?;
    original.edit_copy(|editor| editor.delete_objects(&select, opts))
}

/// Makes a `System` partition the primary partition, demoting the current one. Nothing is
/// written if it already is primary.
pub fn set_primary_partition(path: &Path, id: u32, opts: &EditOptions) -> Result<()> {
    let original = Original::open(path)?;
    if plan::check_set_primary(&original.image, id)?.is_none() {
        return Ok(());
    }
    original.edit_copy(|editor| editor.set_primary_partition(id, opts))
}

/// Replaces an object's metadata; it must fit the object's data type.
pub fn set_metadata(path: &Path, id: u32, meta: ObjectMetadata, opts: &EditOptions) -> Result<()> {
    let original = Original::open(path)?;
    plan::check_set_metadata(&original.image, id, &meta)?;
    original.edit_copy(|editor| editor.set_metadata(id, meta, opts))
}

/// Sets the `sha256:<hex>` digest of an OCI blob or root index.
pub fn set_oci_blob_digest(path: &Path, id: u32, digest: &str, opts: &EditOptions) -> Result<()> {
    let original = Original::open(path)?;
    plan::check_set_oci_digest(&original.image, id, digest)?;
    original.edit_copy(|editor| editor.set_oci_blob_digest(id, digest, opts))
}

/// An image about to be edited: loaded and checked, so that refusals happen before the
/// copy is made.
struct Original {
    target: PathBuf,
    image: Image<File>,
}

impl Original {
    fn open(path: &Path) -> Result<Original> {
        // Edit the file a symlink points to, not the link.
        let target = fs::canonicalize(path)?;
        // Opened for writing although only read, so that an image the caller may not
        // modify is refused as an in-place edit would be.
        let file = OpenOptions::new().read(true).write(true).open(&target)?;
        let image = Image::load(file)?;
        plan::check_writable(&image)?;
        Ok(Original { target, image })
    }

    /// Applies `apply` to a copy of the image and renames the copy over the original.
    fn edit_copy<T>(
        self,
        apply: impl FnOnce(&mut ImageEditor<&mut File>) -> Result<T>,
    ) -> Result<T> {
        let mut original = self.image.into_inner();
        original.seek(SeekFrom::Start(0))?;
        let mut temp = TempFile::beside(&self.target)?;
        // On Linux this copies with copy_file_range, without moving data through user space.
        io::copy(&mut original, temp.file())?;
        atomic::copy_attributes(&original, temp.file())?;
        let out = {
            let mut editor = ImageEditor::open(temp.file())?;
            apply(&mut editor)?
        };
        temp.persist(&self.target)?;
        Ok(out)
    }
}
