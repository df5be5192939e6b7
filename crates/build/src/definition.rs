//! The parsed definition file and its writer.

use crate::error::{ParseErrors, ParseWarning};
use crate::section::SectionKind;
use crate::stage::Stage;

/// The line terminator a file uses, taken from its first line break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineEnding {
    /// `\n`.
    Lf,
    /// `\r\n` (written on Windows).
    CrLf,
}

impl LineEnding {
    /// The terminator's bytes.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Lf => "\n",
            Self::CrLf => "\r\n",
        }
    }
}

/// A definition file: one or more stages. Every source line is kept as written, so
/// [`Definition::to_text`] gives back exactly the parsed text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    pub(crate) bom: bool,
    pub(crate) line_ending: LineEnding,
    pub(crate) stages: Vec<Stage>,
    pub(crate) warnings: Vec<ParseWarning>,
}

impl Definition {
    /// Parses a definition file, reporting every error found (with line and column).
    /// Warnings (unknown header keywords) do not fail the parse; see [`Definition::warnings`].
    pub fn parse(text: &str) -> Result<Definition, ParseErrors> {
        crate::parse::parse(text)
    }

    /// The text again, byte for byte as parsed (BOM, line endings, comments and blank
    /// lines included).
    pub fn to_text(&self) -> String {
        let mut out = String::new();
        if self.bom {
            out.push('\u{feff}');
        }
        for stage in &self.stages {
            for h in &stage.header {
                out.push_str(&h.raw);
            }
            for s in &stage.sections {
                out.push_str(&s.header_raw);
                out.push_str(&s.body);
            }
        }
        out
    }

    /// Stages in file order; there is always at least one.
    pub fn stages(&self) -> &[Stage] {
        &self.stages
    }

    /// The last stage: the one whose result is the image.
    pub fn final_stage(&self) -> &Stage {
        // parse() always produces at least one stage (a file without one fails to parse).
        self.stages.last().expect("a parsed definition has a stage")
    }

    /// The stage named `name` by its `Stage:` keyword.
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name() == Some(name))
    }

    /// Non-fatal findings (unknown header keywords).
    pub fn warnings(&self) -> &[ParseWarning] {
        &self.warnings
    }

    /// The file's line terminator (from its first line break; LF when it has none).
    pub fn line_ending(&self) -> LineEnding {
        self.line_ending
    }

    /// Whether the file starts with a UTF-8 byte-order mark.
    pub fn has_bom(&self) -> bool {
        self.bom
    }

    /// Whether any stage runs a script during the build.
    pub fn needs_execution(&self) -> bool {
        self.stages.iter().any(Stage::needs_execution)
    }

    /// Whether every stage can be assembled in-process without root.
    pub fn local_buildable(&self) -> bool {
        self.stages.iter().all(Stage::local_buildable)
    }

    /// The kinds of build-time scripts present, for the "why not locally" explanation.
    pub fn executing_sections(&self) -> Vec<SectionKind> {
        let mut out = Vec::new();
        for s in self.stages.iter().flat_map(Stage::sections) {
            if s.kind().executes_at_build() && !out.contains(&s.kind()) {
                out.push(s.kind());
            }
        }
        out
    }
}
