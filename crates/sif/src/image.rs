//! Loading an image: header, descriptor table and the safety checks on both.

use std::fs::File;
use std::io::{Read, Seek, SeekFrom};
use std::path::Path;

use crate::descriptor::{Descriptor, DESCRIPTOR_LEN};
use crate::error::{Error, Result};
use crate::header::{Header, HEADER_LEN};
use crate::object_reader::ObjectReader;

/// Descriptors read per batch while scanning the table.
const SLOTS_PER_READ: usize = 64;

/// A loaded image: the header and the used descriptors. Object data is only read on
/// demand, through [`Image::object_reader`].
#[derive(Debug)]
pub struct Image<R> {
    pub(crate) reader: R,
    pub(crate) header: Header,
    pub(crate) descriptors: Vec<Descriptor>,
    pub(crate) file_len: u64,
    /// False for images loaded with [`Image::load_table`]: each object is then checked
    /// when it is read.
    pub(crate) objects_checked: bool,
}

impl Image<File> {
    /// Opens and loads the image at `path`.
    pub fn open(path: impl AsRef<Path>) -> Result<Self> {
        Image::load(File::open(path)?)
    }

    /// Opens the image at `path` with [`Image::load_table`].
    pub fn open_table(path: impl AsRef<Path>) -> Result<Self> {
        Image::load_table(File::open(path)?)
    }
}

impl<R: Read + Seek> Image<R> {
    /// Loads an image from `reader`.
    ///
    /// Besides the reference checks (magic, version, descriptor table readable) this refuses
    /// what would be unsafe to act on: a table that does not fit in the file, used objects
    /// whose data lies outside the file, and used objects whose data overlap. It never reads
    /// object data.
    pub fn load(reader: R) -> Result<Self> {
        let image = Image::load_table(reader)?;
        check_objects(&image.descriptors, image.file_len)?;
        Ok(Image {
            objects_checked: true,
            ..image
        })
    }

    /// Loads only what the reference loader checks — header and descriptor table — so that
    /// a truncated or damaged image can still be listed, as `siftool list` lists it. Objects
    /// are checked one at a time when [`Image::object_reader`] is asked for them.
    pub fn load_table(mut reader: R) -> Result<Self> {
        let file_len = reader.seek(SeekFrom::End(0))?;
        if file_len < HEADER_LEN as u64 {
            return Err(Error::TooSmall { len: file_len });
        }
        reader.seek(SeekFrom::Start(0))?;
        let mut buf = [0u8; HEADER_LEN];
        reader.read_exact(&mut buf)?;
        let header = Header::decode(&buf)?;
        let descriptors = read_used_descriptors(&mut reader, &header, file_len)?;
        Ok(Image {
            reader,
            header,
            descriptors,
            file_len,
            objects_checked: false,
        })
    }

    /// A reader over the data of object `id`.
    pub fn object_reader(&mut self, id: u32) -> Result<ObjectReader<'_, R>> {
        let d = self.descriptor(id)?;
        if !self.objects_checked {
            check_objects(std::slice::from_ref(d), self.file_len)?;
        }
        // Both are now known to be non-negative and inside the file.
        let (start, len) = (d.offset.unsigned_abs(), d.size.unsigned_abs());
        Ok(ObjectReader::new(&mut self.reader, start, len))
    }
}

impl<R> Image<R> {
    /// The global header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// The used descriptors, in slot order.
    pub fn descriptors(&self) -> &[Descriptor] {
        &self.descriptors
    }

    /// The used descriptor with this ID (the first, should several claim it).
    pub fn descriptor(&self, id: u32) -> Result<&Descriptor> {
        self.descriptors
            .iter()
            .find(|d| d.id == id)
            .ok_or(Error::ObjectNotFound { id })
    }

    /// The primary system partition; there must be exactly one.
    pub fn primary_partition(&self) -> Result<&Descriptor> {
        let mut primaries = self.descriptors.iter().filter(|d| d.is_primary_partition());
        match (primaries.next(), primaries.next()) {
            (Some(d), None) => Ok(d),
            (None, _) => Err(Error::NoPrimaryPartition),
            (Some(_), Some(_)) => Err(Error::MultiplePrimaryPartitions),
        }
    }

    /// The ID of `d` relative to the lowest ID among used objects with the same raw GroupID,
    /// as covered by signatures (spec §7).
    pub fn relative_id(&self, d: &Descriptor) -> u32 {
        let min = self
            .descriptors
            .iter()
            .filter(|other| other.raw_group_id == d.raw_group_id)
            .map(|other| other.id)
            .min()
            .unwrap_or(d.id);
        d.id.saturating_sub(min)
    }

    /// The checks [`Image::load`] makes on objects, for an image loaded with
    /// [`Image::load_table`]: every object inside the file, no two overlapping.
    pub fn validate_objects(&self) -> Result<()> {
        check_objects(&self.descriptors, self.file_len)
    }

    /// Length of the file when it was loaded.
    pub fn file_len(&self) -> u64 {
        self.file_len
    }

    /// Gives back the reader.
    pub fn into_inner(self) -> R {
        self.reader
    }
}

/// Where the descriptor table is: `(offset, number of slots)`, checked to lie in the file.
pub(crate) fn table_bounds(header: &Header, file_len: u64) -> Result<(u64, usize)> {
    let total = header.descriptors_total;
    let absurd = Error::AbsurdDescriptorCount { total };
    // Checked before any allocation: a table that cannot fit in the file is rejected on
    // arithmetic alone.
    let count = u64::try_from(total).map_err(|_| Error::AbsurdDescriptorCount { total })?;
    let needed = count.checked_mul(DESCRIPTOR_LEN as u64).ok_or(absurd)?;
    if needed > file_len || count > u64::from(u32::MAX) {
        return Err(Error::AbsurdDescriptorCount { total });
    }
    let out_of_bounds = Error::DescriptorTableOutOfBounds {
        offset: header.descriptors_offset,
        size: header.descriptors_size,
        needed,
        file_len,
    };
    if needed == 0 {
        // Nothing is read, so where the (empty) table would be does not matter.
        return Ok((0, 0));
    }
    let offset = u64::try_from(header.descriptors_offset).ok();
    let window = u64::try_from(header.descriptors_size).ok();
    match (offset, window) {
        (Some(offset), Some(window))
            if window >= needed && offset.checked_add(needed).is_some_and(|e| e <= file_len) =>
        {
            let count =
                usize::try_from(count).map_err(|_| Error::AbsurdDescriptorCount { total })?;
            Ok((offset, count))
        }
        _ => Err(out_of_bounds),
    }
}

fn read_used_descriptors<R: Read + Seek>(
    reader: &mut R,
    header: &Header,
    file_len: u64,
) -> Result<Vec<Descriptor>> {
    let (offset, count) = table_bounds(header, file_len)?;
    reader.seek(SeekFrom::Start(offset))?;
    let mut used = Vec::new();
    let mut batch = vec![0u8; SLOTS_PER_READ * DESCRIPTOR_LEN];
    let mut slot = 0;
    while slot < count {
        let n = (count - slot).min(SLOTS_PER_READ);
        let bytes = batch.get_mut(..n * DESCRIPTOR_LEN).unwrap_or_default();
        reader.read_exact(bytes)?;
        for raw in bytes.chunks_exact(DESCRIPTOR_LEN) {
            let mut one = [0u8; DESCRIPTOR_LEN];
            one.copy_from_slice(raw);
            // Byte 4 is the Used flag; unused slots are skipped without decoding.
            if one[4] != 0 {
                used.push(Descriptor::decode(&one, slot));
            }
            slot += 1;
        }
    }
    Ok(used)
}

/// Every used object must lie inside the file and no two may share bytes.
pub(crate) fn check_objects(descriptors: &[Descriptor], file_len: u64) -> Result<()> {
    let mut ranges = Vec::with_capacity(descriptors.len());
    for d in descriptors {
        // An empty object may sit past the end: the reference writer leaves it there when
        // alignment padding would be its only content, and there is nothing to read.
        let in_file = d.offset >= 0
            && d.size >= 0
            && (d.size == 0
                || d.end()
                    .and_then(|end| u64::try_from(end).ok())
                    .is_some_and(|end| end <= file_len));
        if !in_file {
            return Err(Error::ObjectOutOfBounds {
                id: d.id,
                offset: d.offset,
                size: d.size,
                file_len,
            });
        }
        if d.size > 0 {
            ranges.push((d.offset, d.offset + d.size, d.id));
        }
    }
    ranges.sort_unstable();
    let mut furthest: Option<(i64, u32)> = None;
    for (start, end, id) in ranges {
        if let Some((prev_end, prev_id)) = furthest {
            if start < prev_end {
                return Err(Error::OverlappingObjects { a: prev_id, b: id });
            }
        }
        if furthest.is_none_or(|(prev_end, _)| end > prev_end) {
            furthest = Some((end, id));
        }
    }
    Ok(())
}
