//! The same operations through the path-based atomic API or through `ImageEditor` on a
//! buffer in memory, so a scenario can be checked against both.

use std::io::Cursor;
use std::path::PathBuf;

use berth_sif::{
    CreateOptions, DeleteOptions, Descriptor, EditOptions, ImageEditor, ObjectInput,
    ObjectMetadata, Result,
};

/// The operations, on disk or in memory.
pub trait Backend {
    fn create(&mut self, opts: CreateOptions) -> Result<()>;
    fn add(&mut self, object: ObjectInput, opts: &EditOptions) -> Result<u32>;
    fn delete(&mut self, id: u32, opts: &DeleteOptions) -> Result<()>;
    fn delete_where(
        &mut self,
        select: &dyn Fn(&Descriptor) -> bool,
        opts: &DeleteOptions,
    ) -> Result<()>;
    fn set_primary(&mut self, id: u32, opts: &EditOptions) -> Result<()>;
    fn set_metadata(&mut self, id: u32, meta: ObjectMetadata, opts: &EditOptions) -> Result<()>;
    fn set_digest(&mut self, id: u32, digest: &str, opts: &EditOptions) -> Result<()>;
    fn bytes(&self) -> Vec<u8>;
}

pub struct OnDisk {
    _dir: tempfile::TempDir,
    pub path: PathBuf,
}

impl OnDisk {
    pub fn new() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("image.sif");
        OnDisk { _dir: dir, path }
    }
}

impl Backend for OnDisk {
    fn create(&mut self, opts: CreateOptions) -> Result<()> {
        berth_sif::create(&self.path, opts)
    }
    fn add(&mut self, object: ObjectInput, opts: &EditOptions) -> Result<u32> {
        berth_sif::add_object(&self.path, object, opts)
    }
    fn delete(&mut self, id: u32, opts: &DeleteOptions) -> Result<()> {
        berth_sif::delete_object(&self.path, id, opts)
    }
    fn delete_where(
        &mut self,
        select: &dyn Fn(&Descriptor) -> bool,
        opts: &DeleteOptions,
    ) -> Result<()> {
        berth_sif::delete_objects(&self.path, select, opts)
    }
    fn set_primary(&mut self, id: u32, opts: &EditOptions) -> Result<()> {
        berth_sif::set_primary_partition(&self.path, id, opts)
    }
    fn set_metadata(&mut self, id: u32, meta: ObjectMetadata, opts: &EditOptions) -> Result<()> {
        berth_sif::set_metadata(&self.path, id, meta, opts)
    }
    fn set_digest(&mut self, id: u32, digest: &str, opts: &EditOptions) -> Result<()> {
        berth_sif::set_oci_blob_digest(&self.path, id, digest, opts)
    }
    fn bytes(&self) -> Vec<u8> {
        std::fs::read(&self.path).unwrap()
    }
}

#[derive(Default)]
pub struct InMemory {
    pub buf: Vec<u8>,
}

impl InMemory {
    fn edit<T>(
        &mut self,
        f: impl FnOnce(&mut ImageEditor<Cursor<&mut Vec<u8>>>) -> Result<T>,
    ) -> Result<T> {
        let mut editor = ImageEditor::open(Cursor::new(&mut self.buf))?;
        f(&mut editor)
    }
}

impl Backend for InMemory {
    fn create(&mut self, opts: CreateOptions) -> Result<()> {
        ImageEditor::create(Cursor::new(&mut self.buf), opts).map(drop)
    }
    fn add(&mut self, object: ObjectInput, opts: &EditOptions) -> Result<u32> {
        self.edit(|e| e.add_object(object, opts))
    }
    fn delete(&mut self, id: u32, opts: &DeleteOptions) -> Result<()> {
        self.edit(|e| e.delete_object(id, opts))
    }
    fn delete_where(
        &mut self,
        select: &dyn Fn(&Descriptor) -> bool,
        opts: &DeleteOptions,
    ) -> Result<()> {
        self.edit(|e| e.delete_objects(select, opts))
    }
    fn set_primary(&mut self, id: u32, opts: &EditOptions) -> Result<()> {
        self.edit(|e| e.set_primary_partition(id, opts))
    }
    fn set_metadata(&mut self, id: u32, meta: ObjectMetadata, opts: &EditOptions) -> Result<()> {
        self.edit(|e| e.set_metadata(id, meta, opts))
    }
    fn set_digest(&mut self, id: u32, digest: &str, opts: &EditOptions) -> Result<()> {
        self.edit(|e| e.set_oci_blob_digest(id, digest, opts))
    }
    fn bytes(&self) -> Vec<u8> {
        self.buf.clone()
    }
}
