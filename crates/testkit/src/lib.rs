//! Faithful test doubles for Berth's tests, served in-process on 127.0.0.1 with an ephemeral
//! port, each on its own thread and Tokio runtime so that synchronous tests and blocking
//! clients can use them.
//!
//! * [`KeystoreDouble`]: an HKP keyserver (`shared/docs/library-api.md` §9, §12.20).
//!
//! The Library API and build service doubles will join this crate, sharing the server
//! plumbing in `server.rs`. The `berth-keystore-double` binary runs the keystore double on its
//! own, for end-to-end tests and manual use.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod keystore;
mod server;

pub use keystore::{KeystoreDouble, KeystoreOptions, RecordedRequest};
