//! Parallel block compression for backhand, which compresses data blocks one at a time on
//! the writing thread (80 % of a conversion's time on one core, while mksquashfs uses all).
//!
//! We know which blocks backhand will ask for and in which order: it writes file data in
//! path order — the order of our tree — and compresses each 128 KiB chunk of every file
//! that is at least a block long (zero blocks are holes, never compressed). Worker threads
//! compress those blocks ahead, a bounded window at a time, with backhand's own compressor.
//! When backhand asks, the block's hash says whether it is the one predicted; if so the
//! precompressed bytes are handed over, otherwise (fragments of small files, or any surprise)
//! the block is compressed right there. So a wrong guess costs time, never correctness: the
//! output is byte-identical to backhand's alone, which a test checks.

use std::cell::RefCell;
use std::collections::HashMap;
use std::io::Read;
use std::sync::{Arc, Condvar, Mutex};

use backhand::compression::{CompressionAction, Compressor, DefaultCompressor};
use backhand::{BackhandError, FilesystemCompressor, SuperBlock};
use xxhash_rust::xxh3::xxh3_64;

use crate::tree::SpoolReader;

/// Blocks compressed ahead of the writer at most (bounds memory to a few MiB).
const WINDOW: usize = 16;

/// One predicted block: where its bytes are and their hash.
pub(crate) struct Planned {
    /// `None` for a copy ([`Planned::same_as`]): nothing to read.
    pub reader: Option<SpoolReader>,
    pub len: usize,
    pub hash: u64,
    /// The same spooled bytes as this earlier planned block (a hard link's data): its
    /// compressed form is reused instead of compressing again.
    pub same_as: Option<usize>,
}

/// Compressed blocks kept for later copies at most; beyond it copies are compressed again.
const KEEP_BYTES: usize = 256 << 20;

#[derive(Default)]
struct State {
    /// Next block a worker takes.
    next: usize,
    /// Next block backhand is expected to ask for.
    consumed: usize,
    done: HashMap<usize, Result<Vec<u8>, String>>,
    /// Compressed originals that later copies will ask for, with the copies still to come.
    kept: HashMap<usize, (Vec<u8>, usize)>,
    kept_bytes: usize,
    stop: bool,
}

/// The blocks ahead and their compressed forms.
pub(crate) struct Lookahead {
    hashes: Vec<u64>,
    same_as: Vec<Option<usize>>,
    /// How many later copies each original block has.
    copies: HashMap<usize, usize>,
    readers: Mutex<Vec<Option<(SpoolReader, usize)>>>,
    state: Mutex<State>,
    wake: Condvar,
    fc: FilesystemCompressor,
    block_size: u32,
}

impl Lookahead {
    pub fn new(planned: Vec<Planned>, fc: FilesystemCompressor, block_size: u32) -> Arc<Self> {
        let hashes = planned.iter().map(|p| p.hash).collect();
        let same_as: Vec<Option<usize>> = planned.iter().map(|p| p.same_as).collect();
        let mut copies: HashMap<usize, usize> = HashMap::new();
        for original in same_as.iter().flatten() {
            *copies.entry(*original).or_default() += 1;
        }
        let readers = planned
            .into_iter()
            .map(|p| p.reader.map(|r| (r, p.len)))
            .collect();
        Arc::new(Self {
            hashes,
            same_as,
            copies,
            readers: Mutex::new(readers),
            state: Mutex::new(State::default()),
            wake: Condvar::new(),
            fc,
            block_size,
        })
    }

    /// A worker: compresses planned blocks until there are none left or it is stopped.
    pub fn work(&self) {
        loop {
            let i = {
                let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
                while !s.stop && s.next < self.hashes.len() && s.next >= s.consumed + WINDOW {
                    s = self.wake.wait(s).unwrap_or_else(|p| p.into_inner());
                }
                if s.stop || s.next >= self.hashes.len() {
                    return;
                }
                s.next += 1;
                let i = s.next - 1;
                if self.same_as[i].is_some() {
                    // A copy: its original's result is reused when backhand asks.
                    continue;
                }
                i
            };
            let taken = self.readers.lock().unwrap_or_else(|p| p.into_inner())[i].take();
            let result = match taken {
                Some((mut reader, len)) => {
                    let mut buf = vec![0u8; len];
                    match reader.read_exact(&mut buf) {
                        Ok(()) => compress_block(&buf, self.fc, self.block_size)
                            .map_err(|e| e.to_string()),
                        Err(e) => Err(e.to_string()),
                    }
                }
                None => Err("block taken twice".to_owned()),
            };
            let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
            s.done.insert(i, result);
            self.wake.notify_all();
        }
    }

    /// Stops the workers (the write ended, well or not).
    pub fn stop(&self) {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        s.stop = true;
        self.wake.notify_all();
    }

    /// The precompressed form of `bytes` if they are the next planned block.
    fn take(&self, bytes: &[u8]) -> Option<Vec<u8>> {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        let i = s.consumed;
        if i >= self.hashes.len() || self.hashes[i] != xxh3_64(bytes) {
            return None;
        }
        if let Some(original) = self.same_as[i] {
            s.consumed += 1;
            self.wake.notify_all();
            let (bytes, left) = s.kept.get_mut(&original)?;
            *left -= 1;
            let out = bytes.clone();
            if *left == 0 {
                s.kept_bytes -= out.len();
                s.kept.remove(&original);
            }
            return Some(out);
        }
        loop {
            if let Some(r) = s.done.remove(&i) {
                s.consumed += 1;
                if let (Ok(bytes), Some(&n)) = (&r, self.copies.get(&i)) {
                    if s.kept_bytes + bytes.len() <= KEEP_BYTES {
                        s.kept_bytes += bytes.len();
                        s.kept.insert(i, (bytes.clone(), n));
                    }
                }
                self.wake.notify_all();
                return r.ok();
            }
            if s.stop {
                return None;
            }
            s = self.wake.wait(s).unwrap_or_else(|p| p.into_inner());
        }
    }
}

thread_local! {
    /// The lookahead of the write running on this thread (backhand wants a `'static`
    /// compressor, so per-write state lives here).
    static CURRENT: RefCell<Option<Arc<Lookahead>>> = const { RefCell::new(None) };
}

/// Makes `lookahead` the one [`PREFETCHING`] uses on this thread until the guard drops.
pub(crate) fn install(lookahead: Arc<Lookahead>) -> impl Drop {
    struct Guard;
    impl Drop for Guard {
        fn drop(&mut self) {
            CURRENT.with(|c| c.borrow_mut().take());
        }
    }
    CURRENT.with(|c| *c.borrow_mut() = Some(lookahead));
    Guard
}

/// Backhand's gzip (or whatever the filesystem compressor is), from the lookahead when the
/// block was predicted.
pub(crate) struct Prefetching;

pub(crate) static PREFETCHING: Prefetching = Prefetching;

impl CompressionAction for Prefetching {
    type Error = BackhandError;
    type Compressor = Compressor;
    type FilesystemCompressor = FilesystemCompressor;
    type SuperBlock = SuperBlock;

    fn decompress(
        &self,
        bytes: &[u8],
        out: &mut Vec<u8>,
        compressor: Self::Compressor,
    ) -> Result<(), Self::Error> {
        DefaultCompressor.decompress(bytes, out, compressor)
    }

    fn compress(
        &self,
        bytes: &[u8],
        fc: Self::FilesystemCompressor,
        block_size: u32,
    ) -> Result<Vec<u8>, Self::Error> {
        let ready = CURRENT.with(|c| c.borrow().as_ref().and_then(|l| l.take(bytes)));
        match ready {
            Some(out) => Ok(out),
            None => compress_block(bytes, fc, block_size),
        }
    }

    fn compression_options(
        &self,
        superblock: &mut Self::SuperBlock,
        kind: &backhand::kind::Kind,
        fs_compressor: Self::FilesystemCompressor,
    ) -> Result<Option<Vec<u8>>, Self::Error> {
        DefaultCompressor.compression_options(superblock, kind, fs_compressor)
    }
}

/// A block saving less than this share of its size at the fastest level is stored as is.
const WORTHWHILE_PERCENT: usize = 3;

/// Backhand's compression, except that a block the fastest deflate level cannot shrink
/// (random data, already-compressed files) is not run through level 9 at all: it would be
/// stored uncompressed anyway, and level 9 on such data is most of a conversion's time.
/// Backhand stores a block uncompressed when the "compressed" bytes are longer than the
/// block, so that is what this answers; those bytes are never written.
fn compress_block(
    bytes: &[u8],
    fc: FilesystemCompressor,
    block_size: u32,
) -> Result<Vec<u8>, BackhandError> {
    // Whatever the compressor (ours is gzip), a block too long "compressed" is stored raw.
    if !worth_compressing(bytes) {
        return Ok(vec![0; bytes.len() + 1]);
    }
    DefaultCompressor.compress(bytes, fc, block_size)
}

/// Whether level-1 deflate saves at least [`WORTHWHILE_PERCENT`] of `bytes`. The output
/// buffer is capped at that size, so incompressible data stops the trial early.
fn worth_compressing(bytes: &[u8]) -> bool {
    use flate2::{Compress, Compression, FlushCompress, Status};
    if bytes.len() < 1024 {
        // Metadata and tiny fragments: cheap to compress properly, and often compressible.
        return true;
    }
    let budget = bytes.len() - bytes.len() * WORTHWHILE_PERCENT / 100;
    let mut out = Vec::with_capacity(budget);
    let mut z = Compress::new(Compression::fast(), true);
    matches!(
        z.compress_vec(bytes, &mut out, FlushCompress::Finish),
        Ok(Status::StreamEnd)
    ) && out.len() < budget
}

/// The hash used to recognise a planned block.
pub(crate) fn block_hash(bytes: &[u8]) -> u64 {
    xxh3_64(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(n: usize, seed: u64) -> Vec<u8> {
        // xorshift: incompressible enough for deflate, reproducible.
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 24) as u8
            })
            .collect()
    }

    #[test]
    fn only_data_deflate_can_shrink_goes_through_level_9() {
        let gzip = FilesystemCompressor::new(Compressor::Gzip, None).unwrap();
        let random = noise(128 << 10, 7);
        assert!(!worth_compressing(&random));
        let stored = compress_block(&random, gzip, 128 << 10).unwrap();
        assert!(
            stored.len() > random.len(),
            "backhand stores it uncompressed"
        );

        let text: Vec<u8> = (0..8000)
            .flat_map(|i| format!("line of text {i}\n").into_bytes())
            .take(128 << 10)
            .collect();
        assert!(worth_compressing(&text));
        assert_eq!(
            compress_block(&text, gzip, 128 << 10).unwrap(),
            DefaultCompressor.compress(&text, gzip, 128 << 10).unwrap(),
            "compressible blocks are compressed exactly as backhand does"
        );

        // Random bytes repeated: no byte-level redundancy, but LZ77 finds the repeats.
        let chunk = noise(4096, 9);
        let repeated: Vec<u8> = chunk.iter().copied().cycle().take(128 << 10).collect();
        assert!(worth_compressing(&repeated));
        // Small blocks (metadata) are always compressed properly.
        assert!(worth_compressing(&noise(512, 3)));
    }
}
