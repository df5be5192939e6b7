//! Faithful test doubles for Berth's tests, served in-process on 127.0.0.1 with an ephemeral
//! port, each on its own thread and Tokio runtime so that synchronous tests and blocking
//! clients can use them.
//!
//! * [`KeystoreDouble`]: an HKP keyserver (`shared/docs/library-api.md` §9, §12.20).
//! * [`LibraryDouble`]: a Library API server with discovery and token service, in the
//!   flavour of Sylabs' library or of Hinkskalle (§1–§7, §10, §12, §14).
//! * [`ShubDouble`]: a Singularity Hub manifest and download server (§11.1).
//! * [`BuilderDouble`]: a remote build service with a scripted WebSocket log (§8).
//!
//! * [`RegistryPeer`] / [`OciImage`]: Debian's `docker-registry` and images built with
//!   umoci and pushed with skopeo (real peers, started by the tests).
//!
//! The build service double will join this crate, sharing the server plumbing in
//! `server.rs`. The `berth-keystore-double` and `berth-library-double` binaries run the
//! doubles on their own, for end-to-end tests and manual use.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod builder;
pub mod keystore;
pub mod library;
pub mod registry;
mod server;
pub mod shub;

pub use builder::{BuilderDouble, BuilderOptions};
pub use keystore::{KeystoreDouble, KeystoreOptions, RecordedRequest};
pub use library::{Flavour, ImageInfo, ImageSource, LibraryDouble, LibraryOptions, LibraryRequest};
pub use registry::{OciImage, RegistryPeer};
pub use shub::ShubDouble;
