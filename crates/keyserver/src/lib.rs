//! OpenPGP keyserver (HKP) client for Berth, as Apptainer's key client talks to keyservers
//! (`shared/docs/library-api.md` §9):
//!
//! * [`Keyserver::search`]: `op=index&options=mr`, paged by `X-HKP-Next-Page-Token`.
//! * [`Keyserver::fetch`]: `op=get` by fingerprint; the key must be the one asked for.
//! * [`Keyserver::submit`]: `POST /pks/add`; secret key material never leaves the machine.
//! * [`fetch_first`]: several keyservers tried in order.
//!
//! Key material is parsed with `berth_integrity::parse_key_material`, which accepts the keys
//! Apptainer and Singularity write. Errors carry stable codes ([`Error::code`]) and never the
//! access token.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod client;
mod endpoint;
mod error;
mod index;
mod keys;

pub use client::{
    check_url, fetch_first, Keyserver, KeyserverBuilder, SearchPage, DEFAULT_TIMEOUT, MAX_PAGES,
    PAGE_SIZE,
};
pub use endpoint::is_loopback;
pub use error::{Error, Result};
pub use index::{parse_machine_readable_index, KeyHit};
