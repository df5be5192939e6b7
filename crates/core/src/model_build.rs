//! Values about definition files and builds that cross to the UI (TypeScript twins in
//! `ui/src/lib/bindings`).

use serde::{Deserialize, Serialize};
use ts_rs::TS;

/// Where a build runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, TS)]
#[serde(rename_all = "lowercase")]
pub enum BuildMode {
    /// On the remote's build service; the result is pulled back.
    Remote,
    /// In Berth, without root: only definitions that run nothing inside the image.
    Local,
}

/// A build the user asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BuildRequest {
    /// The definition file's text (what the editor holds).
    pub definition: String,
    /// The file it was opened from or saved to; relative `%files` sources are relative
    /// to its folder.
    pub definition_path: Option<String>,
    pub mode: BuildMode,
    /// Remote name (remote builds); the default remote when empty.
    pub remote: Option<String>,
    /// Builder URL instead of the one the remote advertises.
    pub builder_url: Option<String>,
    /// Architecture to build for; this machine's when empty.
    pub arch: Option<String>,
    /// The SIF to write: a file, or a folder for `<definition name>.sif`; the pull folder
    /// setting when empty.
    pub destination: Option<String>,
    /// Remote builds: the `library://` reference the builder pushes the image to; an
    /// ephemeral one chosen by the builder when empty.
    pub library_ref: Option<String>,
    /// Remote builds: submit and return without following the build.
    pub detached: bool,
    /// Replace an existing file.
    pub force: bool,
    /// Follow this already submitted remote build instead of submitting a new one.
    pub attach: Option<String>,
    /// `NAME=VALUE` values for the definition's `{{ NAME }}` placeholders (over the
    /// `%arguments` defaults).
    #[serde(default)]
    pub build_args: Vec<String>,
}

/// A finished build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BuildResultView {
    pub mode: BuildMode,
    /// The SIF written; `None` for a detached submission.
    pub path: Option<String>,
    /// `sha256.<hex>` of the SIF written.
    pub hash: Option<String>,
    pub size: u64,
    pub arch: Option<String>,
    /// Remote builds: the build's id (to attach to a detached build).
    pub build_id: Option<String>,
    /// Remote builds: where the builder put the image.
    pub library_ref: Option<String>,
    /// Submitted without being followed; attach to get the image.
    pub detached: bool,
}

/// One finding of the definition-file parser, positioned for an editor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionIssueView {
    /// 1-based.
    pub line: u32,
    /// 1-based, in characters.
    pub column: u32,
    /// Stable code, e.g. `def.unknown_section`.
    pub code: String,
    pub message: String,
    pub hint: Option<String>,
}

/// What the parser says about a definition, and where it can be built.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionCheckView {
    /// Errors: the file cannot be built until they are fixed.
    pub errors: Vec<DefinitionIssueView>,
    pub warnings: Vec<DefinitionIssueView>,
    /// The final stage's `Bootstrap:` agent.
    pub bootstrap: Option<String>,
    /// The final stage's `From:`.
    pub from: Option<String>,
    pub stages: u32,
    /// Berth can build it without a builder.
    pub local_buildable: bool,
    /// Sections that run commands at build time (`%post`, `%setup`, …), which only a
    /// builder can run.
    pub executing_sections: Vec<String>,
    /// One sentence on why a local build is not possible, when it is not.
    pub local_reason: Option<String>,
    /// The first `%files` line copying a relative host path: such a definition must be
    /// saved in a folder before it is built.
    pub relative_files_line: Option<u32>,
    /// `{{ NAME }}` placeholders a build needs values for, in order of first use.
    pub placeholders: Vec<String>,
}

/// A build's log so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BuildLogView {
    pub job_id: String,
    pub lines: Vec<String>,
    /// Older lines were dropped (the log is capped).
    pub truncated: bool,
}

/// New log lines of a running build (event `build-log`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BuildLogEvent {
    pub job_id: String,
    /// Index of the first line in the job's whole log.
    pub index: u64,
    pub lines: Vec<String>,
}

/// A remote and its build service, for the builder choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct BuilderView {
    pub remote: String,
    /// The builder's URL, when the remote has one.
    pub url: Option<String>,
    /// A token is stored for the remote (the builder refuses anonymous builds).
    pub logged_in: bool,
    pub is_default: bool,
    /// Why the builder could not be found.
    pub error: Option<crate::ApiError>,
}

/// A definition file read from disk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, TS)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionFileView {
    pub path: String,
    pub text: String,
}
