//! Creating and editing an image in any [`Storage`], following the reference writer's
//! placement rules (spec §8) so that results are byte-identical.
//!
//! Every operation checks first and writes after, so a refused edit writes nothing. Object
//! data goes in before the descriptor and header that reference it: if streaming fails
//! half-way the image still describes only its old objects.

use std::io::{self, Read, SeekFrom, Write};

use sha2::{Digest, Sha256};

use crate::arch::Arch;
use crate::descriptor::{self, Descriptor, DESCRIPTOR_LEN};
use crate::error::{Error, Result};
use crate::header::{Header, HEADER_LEN, LAUNCH_SCRIPT_LEN};
use crate::image::Image;
use crate::metadata::{self, ObjectMetadata, PartitionMeta};
use crate::packed;
use crate::types::PartType;
use crate::ZERO_TIME;

use super::options::{CreateOptions, DeleteOptions, EditOptions, ObjectData, ObjectInput};
use super::plan::{self, PrimaryChange};
use super::storage::Storage;

/// Buffer size for streaming object data and zeros.
const CHUNK: usize = 64 * 1024;

/// An image open for editing.
#[derive(Debug)]
pub struct ImageEditor<F> {
    image: Image<F>,
}

impl<F: Storage> ImageEditor<F> {
    /// Writes a new image into `storage` (which is emptied first).
    pub fn create(mut storage: F, opts: CreateOptions) -> Result<Self> {
        let header = new_header(&opts)?;
        let mut has_primary = false;
        for (slot, object) in opts.objects.iter().enumerate() {
            if i64::try_from(slot).map_or(true, |slot| slot >= header.descriptors_total) {
                return Err(Error::InsufficientCapacity);
            }
            plan::check_object(object, plan::id_for_slot(slot)?, has_primary)?;
            has_primary |= plan::is_primary_meta(&object.metadata);
        }
        storage.set_len(0)?;
        let time = header.created_at;
        let mut editor = ImageEditor {
            image: Image {
                reader: storage,
                header,
                descriptors: Vec::new(),
                file_len: 0,
                objects_checked: true,
            },
        };
        for (slot, object) in opts.objects.into_iter().enumerate() {
            editor.write_object(slot, object, time)?;
        }
        editor.write_table()?;
        editor.write_header()?;
        Ok(editor)
    }

    /// Loads an image from `storage` for editing.
    pub fn open(storage: F) -> Result<Self> {
        let image = Image::load(storage)?;
        plan::check_writable(&image)?;
        Ok(ImageEditor { image })
    }

    /// The image as it stands.
    pub fn image(&self) -> &Image<F> {
        &self.image
    }

    /// The image, for reading object data.
    pub fn image_mut(&mut self) -> &mut Image<F> {
        &mut self.image
    }

    /// Gives back the storage.
    pub fn into_inner(self) -> F {
        self.image.into_inner()
    }

    /// Adds an object in the first unused slot and returns its ID (spec §8.2).
    pub fn add_object(&mut self, object: ObjectInput, opts: &EditOptions) -> Result<u32> {
        let slot = plan::check_add(&self.image, &object)?;
        let time = edit_time(&self.image.header, opts);
        let id = self.write_object(slot, object, time)?;
        self.write_slot(slot)?;
        self.image.header.modified_at = time;
        self.write_header()?;
        Ok(id)
    }

    /// Deletes the object with this ID (spec §8.3).
    pub fn delete_object(&mut self, id: u32, opts: &DeleteOptions) -> Result<()> {
        let chosen = plan::select(&self.image, |d| d.id == id, id)?;
        self.delete(chosen, opts)
    }

    /// Deletes every object `select` picks; `ObjectNotFound` (ID 0) if it picks none.
    pub fn delete_objects(
        &mut self,
        select: impl Fn(&Descriptor) -> bool,
        opts: &DeleteOptions,
    ) -> Result<()> {
        let chosen = plan::select(&self.image, select, 0)?;
        self.delete(chosen, opts)
    }

    /// Makes a `System` partition the primary one, demoting the current primary (spec §8.4).
    pub fn set_primary_partition(&mut self, id: u32, opts: &EditOptions) -> Result<()> {
        match plan::check_set_primary(&self.image, id)? {
            Some(change) => self.apply_primary(change, opts),
            None => Ok(()),
        }
    }

    /// Replaces an object's metadata (spec §8.4). The metadata must fit the object's type;
    /// the header architecture follows the primary partition.
    pub fn set_metadata(
        &mut self,
        id: u32,
        meta: ObjectMetadata,
        opts: &EditOptions,
    ) -> Result<()> {
        let index = plan::check_set_metadata(&self.image, id, &meta)?;
        self.apply_metadata(index, &meta, opts)
    }

    /// Sets the digest of an OCI blob or root index (`sha256:<64 lowercase hex>`).
    pub fn set_oci_blob_digest(&mut self, id: u32, digest: &str, opts: &EditOptions) -> Result<()> {
        let index = plan::check_set_oci_digest(&self.image, id, digest)?;
        self.apply_metadata(index, &ObjectMetadata::OciDigest(digest.to_owned()), opts)
    }

    fn delete(&mut self, chosen: Vec<usize>, opts: &DeleteOptions) -> Result<()> {
        let time = edit_time(&self.image.header, &opts.edit);
        for &index in &chosen {
            let d = &self.image.descriptors[index];
            let (slot, offset, size, primary) =
                (d.slot, d.offset, d.size, d.is_primary_partition());
            if opts.zero {
                self.write_zeros(offset, size)?;
            }
            let header = &mut self.image.header;
            header.descriptors_free = header
                .descriptors_free
                .checked_add(1)
                .ok_or(Error::Overflow)?;
            if primary {
                header.arch = Arch::UNKNOWN;
            }
            self.seek_slot(slot)?;
            self.image.reader.write_all(&[0u8; DESCRIPTOR_LEN])?;
        }
        let mut index = 0;
        self.image.descriptors.retain(|_| {
            let keep = !chosen.contains(&index);
            index += 1;
            keep
        });
        if opts.compact {
            let end = data_end(&self.image)?;
            let header = &mut self.image.header;
            header.data_size = end.checked_sub(header.data_offset).ok_or(Error::Overflow)?;
            let len = u64::try_from(end).map_err(|_| Error::Overflow)?;
            self.image.reader.set_len(len)?;
            self.image.file_len = len;
        }
        self.image.header.modified_at = time;
        self.write_header()
    }

    fn apply_primary(&mut self, change: PrimaryChange, opts: &EditOptions) -> Result<()> {
        let time = edit_time(&self.image.header, opts);
        let mut slots = Vec::new();
        if let Some(previous) = change.previous {
            let old = self.image.descriptors[previous].partition()?;
            let demoted = PartitionMeta {
                part: PartType::System,
                ..old
            };
            slots.push(self.set_extra(previous, &ObjectMetadata::Partition(demoted), time));
        }
        let meta = self.image.descriptors[change.target].partition()?;
        let promoted = PartitionMeta {
            part: PartType::PrimSys,
            ..meta
        };
        slots.push(self.set_extra(change.target, &ObjectMetadata::Partition(promoted), time));
        self.image.header.arch = meta.arch;
        self.image.header.modified_at = time;
        for slot in slots {
            self.write_slot(slot)?;
        }
        self.write_header()
    }

    fn apply_metadata(
        &mut self,
        index: usize,
        meta: &ObjectMetadata,
        opts: &EditOptions,
    ) -> Result<()> {
        let time = edit_time(&self.image.header, opts);
        let was_primary = self.image.descriptors[index].is_primary_partition();
        let slot = self.set_extra(index, meta, time);
        let d = &self.image.descriptors[index];
        if d.is_primary_partition() {
            self.image.header.arch = d.partition()?.arch;
        } else if was_primary {
            self.image.header.arch = Arch::UNKNOWN;
        }
        self.image.header.modified_at = time;
        self.write_slot(slot)?;
        self.write_header()
    }

    /// Replaces the extra field in memory and returns the slot to write.
    fn set_extra(&mut self, index: usize, meta: &ObjectMetadata, time: i64) -> usize {
        let d = &mut self.image.descriptors[index];
        d.extra = meta.encode();
        d.modified_at = time;
        d.slot
    }

    /// Streams an object's data after the current end of data and records its descriptor
    /// in memory (spec §8 steps 2–6). Returns the new ID.
    fn write_object(&mut self, slot: usize, object: ObjectInput, time: i64) -> Result<u32> {
        let id = plan::id_for_slot(slot)?;
        let end = data_end(&self.image)?;
        let start = align_up(end, object.effective_alignment())?;
        let hash = metadata::is_oci(object.data_type) && object.metadata == ObjectMetadata::None;
        self.image.reader.seek(SeekFrom::Start(
            u64::try_from(start).map_err(|_| Error::Overflow)?,
        ))?;
        let (size, digest) = stream(object.data, &mut self.image.reader, hash)?;
        let size = i64::try_from(size).map_err(|_| Error::Overflow)?;
        let new_end = start.checked_add(size).ok_or(Error::Overflow)?;
        let metadata = match digest {
            Some(digest) => ObjectMetadata::OciDigest(digest),
            None => object.metadata,
        };
        let time = object.time.unwrap_or(time);
        let fresh = Descriptor {
            data_type: object.data_type,
            used: true,
            id,
            group_id: object.group,
            raw_group_id: descriptor::raw_group(object.group)?,
            link: object.link,
            raw_link: object.link.to_raw()?,
            offset: start,
            size,
            size_with_padding: new_end.checked_sub(end).ok_or(Error::Overflow)?,
            created_at: time,
            modified_at: time,
            uid: 0,
            gid: 0,
            name: String::new(),
            raw_name: packed::padded(object.name.as_bytes()),
            extra: metadata.encode(),
            slot,
        };
        // Decoding the encoded form fills the derived fields exactly as a reader sees them.
        let fresh = Descriptor::decode(&fresh.encode(), slot);

        let header = &mut self.image.header;
        if fresh.is_primary_partition() {
            header.arch = fresh.partition()?.arch;
        }
        header.descriptors_free = header
            .descriptors_free
            .checked_sub(1)
            .ok_or(Error::Overflow)?;
        header.data_size = new_end
            .checked_sub(header.data_offset)
            .ok_or(Error::Overflow)?;
        let position = self.image.descriptors.partition_point(|d| d.slot < slot);
        self.image.descriptors.insert(position, fresh);
        self.image.file_len = self.image.file_len.max(new_end.unsigned_abs());
        Ok(id)
    }

    fn seek_slot(&mut self, slot: usize) -> Result<()> {
        let at = u64::try_from(slot)
            .ok()
            .and_then(|slot| slot.checked_mul(DESCRIPTOR_LEN as u64))
            .and_then(|rel| rel.checked_add(self.image.header.descriptors_offset.unsigned_abs()))
            .ok_or(Error::Overflow)?;
        self.image.reader.seek(SeekFrom::Start(at))?;
        Ok(())
    }

    /// Writes the in-memory descriptor of `slot` to the table.
    fn write_slot(&mut self, slot: usize) -> Result<()> {
        let encoded = self
            .image
            .descriptors
            .iter()
            .find(|d| d.slot == slot)
            .map_or([0u8; DESCRIPTOR_LEN], Descriptor::encode);
        self.seek_slot(slot)?;
        self.image.reader.write_all(&encoded)?;
        Ok(())
    }

    /// Writes the whole table, unused slots as zeros (only when creating).
    fn write_table(&mut self) -> Result<()> {
        let total =
            usize::try_from(self.image.header.descriptors_total).map_err(|_| Error::Overflow)?;
        self.seek_slot(0)?;
        let mut used = self.image.descriptors.iter().peekable();
        let mut batch = Vec::with_capacity(CHUNK);
        for slot in 0..total {
            match used.next_if(|d| d.slot == slot) {
                Some(d) => batch.extend_from_slice(&d.encode()),
                None => batch.extend_from_slice(&[0u8; DESCRIPTOR_LEN]),
            }
            if batch.len() >= CHUNK {
                self.image.reader.write_all(&batch)?;
                batch.clear();
            }
        }
        self.image.reader.write_all(&batch)?;
        let table_end = self.image.reader.stream_position()?;
        self.image.file_len = self.image.file_len.max(table_end);
        Ok(())
    }

    fn write_header(&mut self) -> Result<()> {
        self.image.reader.seek(SeekFrom::Start(0))?;
        self.image.reader.write_all(&self.image.header.encode())?;
        self.image.reader.flush()?;
        self.image.file_len = self.image.file_len.max(HEADER_LEN as u64);
        Ok(())
    }

    fn write_zeros(&mut self, offset: i64, size: i64) -> Result<()> {
        self.image
            .reader
            .seek(SeekFrom::Start(offset.unsigned_abs()))?;
        let zeros = vec![0u8; CHUNK];
        let mut left = size.unsigned_abs();
        while left > 0 {
            let n = usize::try_from(left).map_or(CHUNK, |left| left.min(CHUNK));
            self.image
                .reader
                .write_all(zeros.get(..n).unwrap_or_default())?;
            left -= n as u64;
        }
        Ok(())
    }
}

/// The header of a new image, after checking the options.
fn new_header(opts: &CreateOptions) -> Result<Header> {
    if opts.launch_script.len() >= LAUNCH_SCRIPT_LEN {
        return Err(Error::LaunchScriptTooLong);
    }
    let capacity = opts.descriptor_capacity;
    if !(0..i64::from(u32::MAX)).contains(&capacity) {
        return Err(Error::InvalidOptions(
            "descriptor capacity must be in 0..2^32-1",
        ));
    }
    if opts.descriptor_offset < HEADER_LEN as i64 {
        return Err(Error::InvalidOptions(
            "descriptor table must start after the header",
        ));
    }
    let table_size = capacity
        .checked_mul(DESCRIPTOR_LEN as i64)
        .ok_or(Error::Overflow)?;
    let data_offset = opts
        .descriptor_offset
        .checked_add(table_size)
        .ok_or(Error::Overflow)?;
    let time = opts
        .time
        .unwrap_or(if opts.deterministic { ZERO_TIME } else { now() });
    let id = opts.id.unwrap_or_else(|| {
        if opts.deterministic {
            [0; 16]
        } else {
            uuid::Uuid::new_v4().into_bytes()
        }
    });
    Ok(Header {
        launch_script: opts.launch_script.clone(),
        version: "01".to_owned(),
        arch: Arch::UNKNOWN,
        id,
        created_at: time,
        modified_at: time,
        descriptors_free: capacity,
        descriptors_total: capacity,
        descriptors_offset: opts.descriptor_offset,
        descriptors_size: table_size,
        data_offset,
        data_size: 0,
    })
}

/// The time an edit records: explicit, else zero for deterministic edits or images, else now.
fn edit_time(header: &Header, opts: &EditOptions) -> i64 {
    opts.time.unwrap_or_else(|| {
        if opts.deterministic || header.is_deterministic() {
            ZERO_TIME
        } else {
            now()
        }
    })
}

fn now() -> i64 {
    match std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH) {
        Ok(since) => i64::try_from(since.as_secs()).unwrap_or(i64::MAX),
        Err(before) => i64::try_from(before.duration().as_secs()).map_or(i64::MIN, |s| -s),
    }
}

/// End of the data section: DataOffset or the end of the furthest object, whichever is
/// later. Recomputed on every write, as the reference does, so stale DataSize values in
/// the header do not matter.
fn data_end<R>(image: &Image<R>) -> Result<i64> {
    image
        .descriptors
        .iter()
        .try_fold(image.header.data_offset, |end, d| {
            d.end().map(|e| end.max(e)).ok_or(Error::Overflow)
        })
}

/// Rounds `offset` up to a multiple of `alignment` (values of 1 or less mean none).
fn align_up(offset: i64, alignment: i64) -> Result<i64> {
    if alignment <= 1 {
        return Ok(offset);
    }
    let rem = offset.rem_euclid(alignment);
    if rem == 0 {
        Ok(offset)
    } else {
        offset.checked_add(alignment - rem).ok_or(Error::Overflow)
    }
}

/// Copies object data to `out` with a fixed buffer; returns the byte count and, if asked,
/// the `sha256:` digest of the data.
fn stream<W: Write>(data: ObjectData, out: &mut W, hash: bool) -> Result<(u64, Option<String>)> {
    let mut source: Box<dyn Read> = match data {
        ObjectData::Bytes(bytes) => Box::new(io::Cursor::new(bytes)),
        ObjectData::File(path) => Box::new(std::fs::File::open(path)?),
        ObjectData::Reader(reader) => reader,
    };
    let mut hasher = hash.then(Sha256::new);
    let mut buf = vec![0u8; CHUNK];
    let mut total: u64 = 0;
    loop {
        let n = match source.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e.into()),
        };
        let chunk = buf.get(..n).unwrap_or_default();
        out.write_all(chunk)?;
        if let Some(hasher) = hasher.as_mut() {
            hasher.update(chunk);
        }
        total += n as u64;
    }
    let digest = hasher.map(|h| {
        let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
        format!("sha256:{hex}")
    });
    Ok((total, digest))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn alignment() {
        assert_eq!(align_up(32176, 4096).unwrap(), 32768);
        assert_eq!(align_up(32768, 4096).unwrap(), 32768);
        assert_eq!(align_up(32176, 0).unwrap(), 32176);
        assert_eq!(align_up(32176, 1).unwrap(), 32176);
        assert_eq!(align_up(32176, -8).unwrap(), 32176);
        assert!(align_up(i64::MAX - 1, 4096).is_err());
    }

    #[test]
    fn oci_digest_is_computed_while_streaming() {
        let mut out = Vec::new();
        let (n, digest) = stream(ObjectData::Bytes(Vec::new()), &mut out, true).unwrap();
        assert_eq!(n, 0);
        assert_eq!(
            digest.unwrap(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }
}
