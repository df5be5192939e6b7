//! A `Read + Seek` window over one object's data.

use std::io::{self, Read, Seek, SeekFrom};

/// Reads exactly the bytes `[offset, offset + size)` of an object; positions are relative to
/// the start of the object.
#[derive(Debug)]
pub struct ObjectReader<'a, R> {
    inner: &'a mut R,
    start: u64,
    len: u64,
    pos: u64,
}

impl<'a, R: Read + Seek> ObjectReader<'a, R> {
    pub(crate) fn new(inner: &'a mut R, start: u64, len: u64) -> Self {
        ObjectReader {
            inner,
            start,
            len,
            pos: 0,
        }
    }

    /// Size of the object in bytes.
    pub fn len(&self) -> u64 {
        self.len
    }

    /// Whether the object has no data.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }
}

impl<R: Read + Seek> Read for ObjectReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let remaining = self.len.saturating_sub(self.pos);
        if remaining == 0 || buf.is_empty() {
            return Ok(0);
        }
        let want = usize::try_from(remaining).map_or(buf.len(), |r| r.min(buf.len()));
        let at = self
            .start
            .checked_add(self.pos)
            .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "object offset overflow"))?;
        // Seek every time: the caller may have used the underlying reader in between, and
        // a seek is cheap next to the read it precedes.
        self.inner.seek(SeekFrom::Start(at))?;
        let buf = buf.get_mut(..want).unwrap_or_default();
        let n = self.inner.read(buf)?;
        self.pos += n as u64;
        Ok(n)
    }
}

impl<R: Read + Seek> Seek for ObjectReader<'_, R> {
    fn seek(&mut self, pos: SeekFrom) -> io::Result<u64> {
        let target = match pos {
            SeekFrom::Start(n) => Some(n),
            SeekFrom::End(delta) => self.len.checked_add_signed(delta),
            SeekFrom::Current(delta) => self.pos.checked_add_signed(delta),
        };
        let target = target.ok_or_else(|| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                "seek before start of object or overflow",
            )
        })?;
        self.pos = target;
        Ok(target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::Cursor;

    #[test]
    fn window() {
        let mut data = Cursor::new(b"0123456789".to_vec());
        let mut r = ObjectReader::new(&mut data, 2, 5);
        let mut out = String::new();
        r.read_to_string(&mut out).unwrap();
        assert_eq!(out, "23456");
        assert_eq!(r.seek(SeekFrom::End(-2)).unwrap(), 3);
        let mut two = [0u8; 4];
        assert_eq!(r.read(&mut two).unwrap(), 2);
        assert_eq!(&two[..2], b"56");
        assert!(r.seek(SeekFrom::Current(-10)).is_err());
        r.seek(SeekFrom::Start(100)).unwrap();
        assert_eq!(r.read(&mut two).unwrap(), 0);
    }
}
