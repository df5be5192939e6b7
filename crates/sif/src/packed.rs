//! Sequential little-endian access to packed structures.
//!
//! SIF structures have no alignment padding and several fields at odd offsets, so they are
//! read and written field by field in declaration order rather than by casting.

/// Reads consecutive fields from a byte buffer. Reading past the end yields zeros; callers
/// only use fixed-size buffers whose length matches the layout.
pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn bytes<const N: usize>(&mut self) -> [u8; N] {
        let mut out = [0u8; N];
        let end = self.pos.saturating_add(N);
        if let Some(src) = self.buf.get(self.pos..end) {
            out.copy_from_slice(src);
        }
        self.pos = end;
        out
    }

    pub(crate) fn u8(&mut self) -> u8 {
        self.bytes::<1>()[0]
    }

    pub(crate) fn i32(&mut self) -> i32 {
        i32::from_le_bytes(self.bytes())
    }

    pub(crate) fn u32(&mut self) -> u32 {
        u32::from_le_bytes(self.bytes())
    }

    pub(crate) fn i64(&mut self) -> i64 {
        i64::from_le_bytes(self.bytes())
    }
}

/// Writes consecutive fields into a byte buffer; bytes not written stay as they were
/// (zero for a fresh buffer).
pub(crate) struct Writer<'a> {
    buf: &'a mut [u8],
    pos: usize,
}

impl<'a> Writer<'a> {
    pub(crate) fn new(buf: &'a mut [u8]) -> Self {
        Writer { buf, pos: 0 }
    }

    pub(crate) fn bytes(&mut self, src: &[u8]) -> &mut Self {
        let end = self.pos.saturating_add(src.len());
        if let Some(dst) = self.buf.get_mut(self.pos..end) {
            dst.copy_from_slice(src);
        }
        self.pos = end;
        self
    }

    pub(crate) fn u8(&mut self, v: u8) -> &mut Self {
        self.bytes(&[v])
    }

    pub(crate) fn i32(&mut self, v: i32) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    pub(crate) fn u32(&mut self, v: u32) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }

    pub(crate) fn i64(&mut self, v: i64) -> &mut Self {
        self.bytes(&v.to_le_bytes())
    }
}

/// Copies `src` into a zero-filled fixed field, truncating if it is longer.
pub(crate) fn padded<const N: usize>(src: &[u8]) -> [u8; N] {
    let mut out = [0u8; N];
    for (dst, byte) in out.iter_mut().zip(src) {
        *dst = *byte;
    }
    out
}

/// The field content with trailing NULs removed, as readers of text fields do.
pub(crate) fn trim_nuls(field: &[u8]) -> &[u8] {
    let end = field.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
    field.get(..end).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip() {
        let mut buf = [0u8; 17];
        Writer::new(&mut buf).u8(1).i32(-2).u32(3).i64(i64::MIN);
        let mut r = Reader::new(&buf);
        assert_eq!((r.u8(), r.i32(), r.u32(), r.i64()), (1, -2, 3, i64::MIN));
        assert_eq!(r.u8(), 0, "reading past the end gives zeros");
    }

    #[test]
    fn trimming() {
        assert_eq!(trim_nuls(b"ab\0c\0\0"), b"ab\0c");
        assert_eq!(trim_nuls(b"\0\0"), b"");
        assert_eq!(padded::<4>(b"abcdef"), *b"abcd");
        assert_eq!(padded::<4>(b"a"), *b"a\0\0\0");
    }
}
