//! SHA-256 of a file being filled out of order: a thread hashes the prefix that is
//! complete while later parts still arrive, so the check costs almost nothing once the
//! last byte lands (the bytes are read back from the page cache).

use std::fs::File;
use std::io::{Seek, SeekFrom};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex};
use std::thread::JoinHandle;

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};
use crate::transfer::digest::{hex, read_some, BLOCK};

#[derive(Default)]
struct Shared {
    state: Mutex<Window>,
    wake: Condvar,
}

#[derive(Default)]
struct Window {
    /// Bytes from 0 that may be read.
    ready: u64,
    stop: bool,
}

/// The hashing thread of one download.
pub(crate) struct HashFollower {
    shared: Arc<Shared>,
    thread: Option<JoinHandle<Result<String>>>,
}

impl HashFollower {
    /// Starts hashing `path`, which will hold `size` bytes.
    pub fn start(path: &Path, size: u64) -> Result<Self> {
        let file = File::open(path)
            .map_err(|e| Error::local_io(format!("cannot read {}", path.display()), e))?;
        let shared = Arc::new(Shared::default());
        let s = shared.clone();
        let shown = path.display().to_string();
        let thread = std::thread::Builder::new()
            .name("berth-hash".into())
            .spawn(move || follow(file, size, &s, &shown))
            .map_err(|e| Error::local_io("cannot start the hashing thread", e))?;
        Ok(Self {
            shared,
            thread: Some(thread),
        })
    }

    /// Bytes `0..ready` are final.
    pub fn advance_to(&self, ready: u64) {
        let mut w = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        if ready > w.ready {
            w.ready = ready;
            self.shared.wake.notify_one();
        }
    }

    /// Waits for the hash of all `size` bytes (call after `advance_to(size)`).
    pub async fn finish(mut self) -> Result<String> {
        let thread = self.thread.take().expect("finish is called once");
        tokio::task::spawn_blocking(move || thread.join())
            .await
            .ok()
            .and_then(|r| r.ok())
            .unwrap_or_else(|| {
                Err(Error::local_io(
                    "hashing stopped",
                    std::io::Error::other("hash thread failed"),
                ))
            })
    }
}

impl Drop for HashFollower {
    fn drop(&mut self) {
        let mut w = self.shared.state.lock().unwrap_or_else(|p| p.into_inner());
        w.stop = true;
        self.shared.wake.notify_one();
    }
}

/// Written bytes are pushed to the disk every this many hashed bytes, so the final sync
/// has little left to wait for.
const SYNC_EVERY: u64 = 64 << 20;

fn follow(mut file: File, size: u64, shared: &Shared, shown: &str) -> Result<String> {
    let what = || format!("cannot read {shown}");
    let mut sha = Sha256::new();
    let mut buf = vec![0u8; BLOCK];
    let mut done = 0u64;
    file.seek(SeekFrom::Start(0))
        .map_err(|e| Error::local_io(what(), e))?;
    while done < size {
        let ready = {
            let mut w = shared.state.lock().unwrap_or_else(|p| p.into_inner());
            while w.ready <= done && !w.stop {
                w = shared.wake.wait(w).unwrap_or_else(|p| p.into_inner());
            }
            if w.stop && w.ready <= done {
                return Err(Error::cancelled());
            }
            w.ready.min(size)
        };
        while done < ready {
            let want = buf
                .len()
                .min(usize::try_from(ready - done).unwrap_or(buf.len()));
            let n =
                read_some(&mut file, &mut buf[..want]).map_err(|e| Error::local_io(what(), e))?;
            if n == 0 {
                return Err(Error::local_io(
                    what(),
                    std::io::Error::new(std::io::ErrorKind::UnexpectedEof, "partial file shrank"),
                ));
            }
            sha.update(&buf[..n]);
            let before = done;
            done += n as u64;
            if before / SYNC_EVERY != done / SYNC_EVERY {
                // Best effort: the download's own final sync reports any failure.
                let _ = file.sync_data();
            }
        }
    }
    Ok(hex(&sha.finalize()))
}
