//! Parse errors and warnings: each carries its 1-based line and column, a stable code for
//! the UI and CLI, and a hint that says what to write instead.

use std::fmt;

/// What went wrong, independent of where. The code is stable: the editor keys its markers
/// and the CLI its exit messages on it, so never rename one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// A line starting with `%` in column 1 names no known section.
    UnknownSection,
    /// A header line is neither `key: value`, a comment nor blank.
    HeaderWithoutColon,
    /// A stage has no `Bootstrap:` keyword (or the file starts with a section).
    MissingBootstrap,
    /// The `Bootstrap:` value is empty or names no known bootstrap agent.
    UnknownBootstrap,
    /// A section other than `%files` or an app section appears twice in one stage (or the
    /// same app section twice for one app, or `%files` twice from the same source).
    DuplicateSection,
    /// An `%app*` section has no app name after it.
    MissingAppName,
    /// `%files from` has no stage name after it.
    FilesFromWithoutStage,
    /// Two stages declare the same `Stage:` name.
    DuplicateStageName,
    /// `%files from X` names no earlier stage.
    UnknownStage,
    /// An option on a section line lacks its value (`%post -c` without a shell).
    MissingArgumentValue,
}

impl ErrorKind {
    /// Stable machine-readable code (`def.*`).
    pub fn code(self) -> &'static str {
        match self {
            Self::UnknownSection => "def.unknown_section",
            Self::HeaderWithoutColon => "def.header_without_colon",
            Self::MissingBootstrap => "def.missing_bootstrap",
            Self::UnknownBootstrap => "def.unknown_bootstrap",
            Self::DuplicateSection => "def.duplicate_section",
            Self::MissingAppName => "def.missing_app_name",
            Self::FilesFromWithoutStage => "def.files_from_without_stage",
            Self::DuplicateStageName => "def.duplicate_stage_name",
            Self::UnknownStage => "def.unknown_stage",
            Self::MissingArgumentValue => "def.missing_argument_value",
        }
    }

    /// One-sentence advice for the user.
    pub fn hint(self) -> &'static str {
        match self {
            Self::UnknownSection => "Section names are %setup, %files, %post, %environment, %runscript, %startscript, %test, %labels, %help, %arguments and the %app* sections; indent the line if it belongs to the script.",
            Self::HeaderWithoutColon => "Header lines have the form `Keyword: value`; start the first section with a `%` line.",
            Self::MissingBootstrap => "Start the file (and every stage) with a line such as `Bootstrap: docker`.",
            Self::UnknownBootstrap => "Use a bootstrap agent such as docker, library, oras, localimage or scratch.",
            Self::DuplicateSection => "Merge the two sections into one; the builder would keep only one of them.",
            Self::MissingAppName => "Name the app after the section, e.g. `%apprun myapp`.",
            Self::FilesFromWithoutStage => "Name the stage to copy from, e.g. `%files from build`.",
            Self::DuplicateStageName => "Give every stage its own `Stage:` name.",
            Self::UnknownStage => "Copy only from a stage declared earlier in the file with `Stage: NAME`.",
            Self::MissingArgumentValue => "Give the option its value, e.g. `%post -c /bin/bash`.",
        }
    }
}

/// One error at a position in the definition file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ParseError {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column, counted in characters (a byte-order mark is not counted).
    pub column: usize,
    /// What kind of error; gives the stable code and the hint.
    pub kind: ErrorKind,
    /// What was found and what was expected, in words.
    pub message: String,
}

impl ParseError {
    /// Stable machine-readable code (`def.*`).
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// One-sentence advice for the user.
    pub fn hint(&self) -> &'static str {
        self.kind.hint()
    }
}

/// Every error of one parse, in file order. The parser keeps going after an error so the
/// editor can mark all of them at once rather than one per keystroke.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct ParseErrors(pub Vec<ParseError>);

impl ParseErrors {
    /// The errors, in file order.
    pub fn errors(&self) -> &[ParseError] {
        &self.0
    }
}

impl fmt::Display for ParseErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

/// Something the builder accepts but that is probably a mistake (an unknown header keyword:
/// kept, and passed on, because newer Apptainer versions add keywords).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseWarning {
    /// 1-based line number.
    pub line: usize,
    /// 1-based column.
    pub column: usize,
    /// Stable code (`def.unknown_header_key`).
    pub code: &'static str,
    /// What was found, in words.
    pub message: String,
}

impl fmt::Display for ParseWarning {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.line, self.column, self.message)
    }
}
