//! How long work (pushes, pulls, conversions) reports what it is doing, and how callers stop
//! it. Shared by the library client, the OCI client and the SIF builder, so one job in the
//! core follows any of them.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use tokio::sync::Notify;

/// A step of a push or pull, in the order they happen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Phase {
    /// Reading the local file to compute its SHA-256 (and MD5 for single-part uploads).
    Hashing,
    /// Looking up or creating the entity, collection, container and image records.
    Preparing,
    /// Sending the file.
    Uploading,
    /// Pointing the tags at the image.
    Tagging,
    /// Asking the library which image a reference names.
    Resolving,
    /// Receiving the file.
    Downloading,
    /// Checking the received bytes against the image's SHA-256.
    Checking,
    /// Applying image layers to the root file system.
    Unpacking,
    /// Writing the SquashFS file system.
    Squashing,
    /// Writing the SIF file.
    Assembling,
}

/// Receives progress of a transfer. Called from several tasks at once, so implementations
/// must be cheap and thread-safe; they should throttle whatever they forward to a UI.
pub trait Progress: Send + Sync {
    /// A new phase starts; `total` is its size in bytes when it moves bytes.
    fn phase(&self, phase: Phase, total: Option<u64>);
    /// `bytes` more bytes of the current phase are done.
    fn advance(&self, bytes: u64);
    /// `bytes` reported earlier must be taken back (a failed part that will be re-sent).
    fn retract(&self, bytes: u64);
    /// The current phase is made of these parts (an image's layers), in order. Optional:
    /// watchers that only show the whole phase ignore it.
    fn parts(&self, _parts: &[PartInfo]) {}
    /// Part `index` of [`Progress::parts`] has `done` bytes done (absolute, so a restarted
    /// part simply reports less).
    fn part(&self, _index: usize, _done: u64) {}
}

/// One part of a phase, e.g. one layer of an image being downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartInfo {
    /// What it is, shortly (a layer's short digest).
    pub label: String,
    /// Its size in bytes.
    pub total: u64,
    /// Bytes already there when the phase starts (a layer in the cache).
    pub done: u64,
}

/// Progress nobody watches.
#[derive(Debug, Clone, Copy, Default)]
pub struct NoProgress;

impl Progress for NoProgress {
    fn phase(&self, _: Phase, _: Option<u64>) {}
    fn advance(&self, _: u64) {}
    fn retract(&self, _: u64) {}
}

/// A cancel switch shared by the caller and the transfer's tasks. Cancelling is
/// cooperative: a push then aborts its multipart upload on the server before it returns,
/// so no orphan upload is left behind.
#[derive(Debug, Clone, Default)]
pub struct Cancel {
    inner: Arc<CancelInner>,
}

#[derive(Debug, Default)]
struct CancelInner {
    flag: AtomicBool,
    notify: Notify,
}

impl Cancel {
    /// A switch that is not yet cancelled.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every holder to stop.
    pub fn cancel(&self) {
        self.inner.flag.store(true, Ordering::SeqCst);
        self.inner.notify.notify_waiters();
    }

    /// Whether [`Cancel::cancel`] was called.
    pub fn is_cancelled(&self) -> bool {
        self.inner.flag.load(Ordering::SeqCst)
    }

    /// Resolves once cancelled (immediately if already).
    pub async fn cancelled(&self) {
        loop {
            let notified = self.inner.notify.notified();
            if self.is_cancelled() {
                return;
            }
            notified.await;
        }
    }

    /// `Err(Cancelled)` once cancelled: a check between steps. Callers convert it into
    /// their own error type.
    pub fn check(&self) -> Result<(), Cancelled> {
        if self.is_cancelled() {
            Err(Cancelled)
        } else {
            Ok(())
        }
    }
}

/// The work was cancelled by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("cancelled")]
pub struct Cancelled;

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn cancel_wakes_waiters_and_checks() {
        let c = Cancel::new();
        assert!(c.check().is_ok());
        let waiter = c.clone();
        let t = tokio::spawn(async move { waiter.cancelled().await });
        tokio::task::yield_now().await;
        c.cancel();
        t.await.unwrap();
        assert_eq!(c.check(), Err(Cancelled));
        // Already cancelled: resolves at once.
        c.cancelled().await;
    }
}
