//! What an image can be edited in: anything readable, writable, seekable and resizable.

use std::fs::File;
use std::io::{self, Cursor, Read, Seek, Write};

/// A resizable `Read + Write + Seek` target: a file, or a buffer in memory.
pub trait Storage: Read + Write + Seek {
    /// Truncates or extends (with zeros) to `len` bytes.
    fn set_len(&mut self, len: u64) -> io::Result<()>;
}

impl Storage for File {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }
}

impl<S: Storage + ?Sized> Storage for &mut S {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        (**self).set_len(len)
    }
}

fn resize(buf: &mut Vec<u8>, len: u64) -> io::Result<()> {
    let len = usize::try_from(len)
        .map_err(|_| io::Error::new(io::ErrorKind::OutOfMemory, "length exceeds memory"))?;
    buf.resize(len, 0);
    Ok(())
}

impl Storage for Cursor<Vec<u8>> {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        resize(self.get_mut(), len)
    }
}

impl Storage for Cursor<&mut Vec<u8>> {
    fn set_len(&mut self, len: u64) -> io::Result<()> {
        resize(self.get_mut(), len)
    }
}
