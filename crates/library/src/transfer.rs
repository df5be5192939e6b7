//! Moving image files: push (§5) and pull (§6), with progress, cancel and resume.

mod digest;
mod download;
mod follower;
mod push;
mod resume;
mod upload;

pub use berth_progress::{Cancel, NoProgress, Phase, Progress};
pub use digest::{digest_file, FileDigest};
pub use download::{
    discard_partial, partial_progress, resumable_bytes, DownloadOptions, DownloadOutcome,
    DownloadSpec,
};
pub use push::{PushOutcome, PushSpec, PushTarget};
pub use upload::{Completion, UploadOptions, MULTIPART_THRESHOLD};
