//! Client of the Library API spoken by Sylabs Cloud, Singularity Enterprise and Hinkskalle
//! (see `shared/docs/library-api.md`; section numbers in comments refer to it).
//!
//! * [`LibraryRef`]: `library://` references, parsed and validated as Apptainer reads them.
//! * [`discover`] / [`Endpoints`]: a remote's services from `config.prod.json`;
//!   [`service_version`] / [`ApiLevel`]: which protocol generation a library speaks.
//! * [`LibraryClient`]: async calls (token check, user, entities … images, search, create,
//!   delete, tags) with retries, timeouts, proxy and TLS options.
//! * [`LibraryClient::push`] / [`LibraryClient::download_image`]: parallel multipart upload
//!   and parallel ranged, resumable, hash-checked download, with [`Progress`] and [`Cancel`].
//! * [`Error`]: one error for every failure, with a stable [`Error::code`] and a hint.

mod builder;
mod client;
mod de;
mod discovery;
mod error;
mod http;
mod models;
mod options;
mod r#ref;
mod secret;
mod shub;
mod transfer;

pub use builder::{result_ok, BuildInfo, BuildRequest, BuilderClient};
pub use client::{LibraryClient, LibraryClientBuilder, SearchQuery, TokenStatus, MIN_SEARCH_LEN};
pub use discovery::{discover, parse_config, service_version, ApiLevel, Endpoints, CONFIG_PATH};
pub use error::{Error, ErrorKind, Result};
pub use models::{
    Audit, Collection, Container, ContainerTags, Entity, Image, SearchResults, User, VersionInfo,
};
pub use options::{normalize_base_url, RemoteOptions, RetryPolicy, Timeouts, USER_AGENT};
pub use r#ref::{
    check_arch, check_name, host_arch, LibraryRef, RefError, RefPart, RefReason, DEFAULT_TAG,
};
pub use secret::Secret;
pub use shub::{ShubClient, ShubManifest, ShubRef, SHUB_DEFAULT_REGISTRY};
pub use transfer::{
    digest_file, discard_partial, partial_progress, resumable_bytes, Cancel, Completion,
    DownloadOptions, DownloadOutcome, DownloadSpec, FileDigest, NoProgress, Phase, Progress,
    PushOutcome, PushSpec, PushTarget, UploadOptions, MULTIPART_THRESHOLD,
};

/// `reqwest`'s URL type, re-exported so callers need not depend on `url` themselves.
pub use reqwest::Url;
