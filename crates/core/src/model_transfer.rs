//! Values about pushes, pulls, the job list and the image cache that cross to the UI
//! (TypeScript twins in `ui/src/lib/bindings`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

use crate::model::VerifyView;
use crate::ApiError;

/// What a job does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum JobKind {
    Push,
    Pull,
    Build,
}

/// Where a job is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum JobState {
    /// Working.
    Running,
    /// Finished with a result.
    Succeeded,
    /// Stopped with an error; `resumable` says whether a retry continues.
    Failed,
    /// Stopped by the user; nothing was kept.
    Cancelled,
    /// Was running when Berth quit; can be resumed (pulls) or retried.
    Interrupted,
}

/// The step a job is in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum JobPhase {
    /// Waiting to start.
    Queued,
    /// Checking the image's signatures before a push.
    Verifying,
    /// Computing the file's SHA-256.
    Hashing,
    /// Creating or looking up the library records.
    Preparing,
    /// Sending bytes.
    Uploading,
    /// Setting tags.
    Tagging,
    /// Asking the library about the image.
    Resolving,
    /// Receiving bytes.
    Downloading,
    /// Checking the received bytes' SHA-256.
    Checking,
    /// Applying image layers to the root file system.
    Unpacking,
    /// Writing the SquashFS file system.
    Squashing,
    /// Sending a definition (and its build context) to a builder.
    Submitting,
    /// A builder is running the build; its log streams in.
    Building,
    /// Putting the file in place (and checking signatures after a pull).
    Finishing,
    /// Nothing more to do.
    Done,
}

/// One push or pull, as the Transfers panel shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct JobView {
    /// Unique id.
    pub id: String,
    pub kind: JobKind,
    /// One line: "Push bwa.sif to library://lab/tools/bwa:1.0".
    pub title: String,
    /// Remote the job talks to.
    pub remote: String,
    /// File (push) or reference (pull).
    pub source: String,
    /// Reference (push) or file (pull), when known.
    pub destination: Option<String>,
    pub state: JobState,
    pub phase: JobPhase,
    /// Bytes of the current phase done.
    pub bytes_done: u64,
    /// Bytes of the current phase in all, when it moves bytes.
    pub bytes_total: Option<u64>,
    /// Bytes per second over the last seconds.
    pub rate: Option<f64>,
    /// Seconds left at the current rate.
    pub eta_seconds: Option<f64>,
    /// Unix milliseconds.
    pub started_at: u64,
    /// Unix milliseconds.
    pub finished_at: Option<u64>,
    /// What the job achieved, once it succeeded.
    pub result: Option<JobResult>,
    /// Why it stopped, when it failed.
    pub error: Option<ApiError>,
    /// A retry continues from bytes already received (pulls with a partial file).
    pub resumable: bool,
    /// Bytes a resume would start from.
    pub resume_from: Option<u64>,
    /// Remote builds: the builder's id of the build (a retry attaches to it).
    #[serde(default)]
    pub build_id: Option<String>,
    /// The current phase's parts (an image's layers while they download); empty when
    /// the phase is one piece.
    #[serde(default)]
    pub parts: Vec<JobPartView>,
}

/// One part of a job's phase: a layer being downloaded.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct JobPartView {
    /// A layer's short digest.
    pub label: String,
    pub done: u64,
    pub total: u64,
}

/// What a finished job achieved.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(tag = "kind", rename_all = "camelCase")]
pub enum JobResult {
    Pushed(PushResultView),
    Pulled(PullResultView),
    Built(crate::model_build::BuildResultView),
}

/// A finished push.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PushResultView {
    /// `library://entity/collection/container:tag1,tag2`.
    pub reference: String,
    /// `sha256.<hex>`.
    pub hash: String,
    pub size: u64,
    pub arch: String,
    pub tags: Vec<String>,
    /// False when the library already had these bytes and only tags were set.
    pub uploaded: bool,
    /// Records that were created (`entity/collection`, …).
    pub created: Vec<String>,
    /// Bytes used of the quota after the push, when the library said.
    pub quota_used: Option<u64>,
    /// The quota in bytes; 0 is unlimited.
    pub quota_total: Option<u64>,
    /// Apptainer's line: "Library storage: using 13.24 MiB out of 11.00 GiB quota (0.1% used)".
    pub quota_line: Option<String>,
    /// Absolute URL of the container's web page, when the library gave one.
    pub container_url: Option<String>,
}

/// A finished pull.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PullResultView {
    /// Where the image is now.
    pub path: String,
    pub reference: String,
    /// `sha256.<hex>`, checked.
    pub hash: String,
    pub size: u64,
    /// Copied from the cache: nothing was downloaded.
    pub from_cache: bool,
    /// Bytes an earlier, interrupted attempt had already received.
    pub resumed_from: u64,
    /// Signature check after the pull (when asked for).
    pub verify: Option<VerifyView>,
    /// Why the signature check could not run.
    pub verify_error: Option<ApiError>,
}

/// A push the user asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PushRequest {
    /// Remote name; the default remote when empty.
    pub remote: Option<String>,
    /// SIF file.
    pub file: String,
    /// `library://entity/collection/container[:tag1,tag2]`.
    pub reference: String,
    /// Description of a new image.
    pub description: String,
    /// Architecture; the image's own when empty.
    pub arch: Option<String>,
    /// Push even if the image is unsigned or its signatures do not verify.
    pub allow_unsigned: bool,
    /// Make a new collection and container private.
    pub private: bool,
}

/// What the push dialog shows before anything is sent.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PushPlanView {
    pub remote: String,
    pub file: String,
    pub size: u64,
    /// Architecture of the image's primary partition (`None` if it has none).
    pub arch: Option<String>,
    /// Normalised destination `library://e/c/n:tags`.
    pub reference: String,
    pub tags: Vec<String>,
    /// Records the push would create (`entity/collection`, `entity/collection/container`).
    pub creates: Vec<String>,
    /// Signature state of the file.
    pub signature: PushSignature,
    /// One sentence on the signatures, for the dialog.
    pub signature_summary: String,
    /// Quota in bytes (0: unlimited), when the library tells.
    pub quota_total: Option<u64>,
    /// Bytes used now, when known.
    pub quota_used: Option<u64>,
    /// Bytes left after this push (`None`: unlimited or unknown).
    pub quota_left_after: Option<i64>,
    /// The push would go over the quota: it will be refused.
    pub over_quota: bool,
    /// Things to tell before sending besides the signature state (over quota, unknown arch).
    pub warnings: Vec<String>,
}

/// Signatures of a file about to be pushed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum PushSignature {
    /// Signed, and every signature verifies with keys you have.
    Verified,
    /// Signed, but a signer's key is not in your keyring.
    Unknown,
    /// A signature does not verify (the file changed after signing).
    Invalid,
    /// No signatures.
    Unsigned,
}

/// A pull the user asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct PullRequest {
    /// Remote name; the default remote when empty.
    pub remote: Option<String>,
    /// `library://…` reference (tag or `sha256.` id).
    pub reference: String,
    /// Architecture; this machine's when empty.
    pub arch: Option<String>,
    /// A file, or a folder to put `<container>_<tag>.sif` in; the pull folder setting
    /// when empty.
    pub destination: Option<String>,
    /// Replace an existing file.
    pub force: bool,
    /// Neither use nor fill the cache.
    pub no_cache: bool,
    /// Check signatures after the pull.
    pub verify: bool,
}

/// One image in the cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CacheEntryView {
    /// `sha256.<hex>`.
    pub hash: String,
    pub size: u64,
    /// Unix milliseconds of the last pull that used it.
    pub last_used: u64,
    /// The reference it was last pulled as.
    pub reference: Option<String>,
    pub path: String,
}

/// The cache.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CacheView {
    pub dir: String,
    pub entries: Vec<CacheEntryView>,
    pub total_bytes: u64,
}

/// What a clean removed (or would remove, on a dry run).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct CacheCleanView {
    pub removed: Vec<CacheEntryView>,
    pub freed_bytes: u64,
    pub dry_run: bool,
}
