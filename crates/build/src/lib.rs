//! Apptainer definition files (`.def`): a parser for the whole grammar and a writer that
//! round-trips.
//!
//! * [`Definition::parse`] reads a file into [`Stage`]s (header keywords, comments and blank
//!   lines as written) and [`Section`]s (kind, app name, arguments, body byte for byte). It
//!   reports every error at once, each with a 1-based line and column, a stable code and a
//!   hint ([`ParseError`]); unknown header keywords are warnings ([`ParseWarning`]).
//! * [`Definition::to_text`] writes the file back byte-identically (BOM, CRLF, comments).
//! * [`expand`] fills `{{ NAME }}` build-argument placeholders from given values and the
//!   `%arguments` defaults.
//! * [`Stage::needs_execution`] and [`Stage::local_buildable`] decide between the remote
//!   builder and an in-process build without root.
//!
//! The line rules (what starts a section, a stage, what is body) are documented in the
//! `parse` module. Malformed input gives errors, never a panic.

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod definition;
mod error;
mod keyword;
mod lines;
mod parse;
mod section;
mod stage;
mod suggest;
mod template;

pub use definition::{Definition, LineEnding};
pub use error::{ErrorKind, ParseError, ParseErrors, ParseWarning};
pub use keyword::{BOOTSTRAP_AGENTS, LOCAL_AGENTS};
pub use section::{Argument, FileCopy, Section, SectionKind};
pub use stage::{HeaderLine, Stage};
pub use template::{expand, parse_assignment, placeholder_names, Expanded, MissingArguments};
