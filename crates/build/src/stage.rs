//! One build stage: its header (keywords, comments and blank lines, as written) and its
//! sections, with the accessors the builders need.

use crate::keyword::LOCAL_AGENTS;
use crate::section::{Argument, FileCopy, Section, SectionKind};

/// One line of a stage header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeaderLine {
    pub(crate) line: usize,
    pub(crate) raw: String,
    pub(crate) keyword: Option<(String, String)>,
}

impl HeaderLine {
    /// 1-based line number.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The line exactly as written, terminator included.
    pub fn raw(&self) -> &str {
        &self.raw
    }

    /// `(key, value)` for a keyword line, both trimmed, the key in its original case; `None`
    /// for a comment or blank line.
    pub fn keyword(&self) -> Option<(&str, &str)> {
        self.keyword.as_ref().map(|(k, v)| (k.as_str(), v.as_str()))
    }
}

/// One stage: everything from a `Bootstrap:` keyword to the next one.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stage {
    pub(crate) header: Vec<HeaderLine>,
    pub(crate) sections: Vec<Section>,
}

impl Stage {
    /// Header lines in file order, comments and blank lines included.
    pub fn header_lines(&self) -> &[HeaderLine] {
        &self.header
    }

    /// Header keywords in file order as `(key, value)`.
    pub fn keywords(&self) -> impl Iterator<Item = (&str, &str)> {
        self.header.iter().filter_map(HeaderLine::keyword)
    }

    /// The value of header keyword `key` (any case); the first one if it is repeated.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.keywords()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    }

    /// The bootstrap agent, lower case.
    pub fn bootstrap(&self) -> Option<String> {
        self.get("bootstrap").map(str::to_ascii_lowercase)
    }

    /// The `From:` value (image reference or path for the agent).
    pub fn from(&self) -> Option<&str> {
        self.get("from")
    }

    /// The `Stage:` name, for `%files from NAME` in later stages.
    pub fn name(&self) -> Option<&str> {
        self.get("stage")
    }

    /// Sections in file order.
    pub fn sections(&self) -> &[Section] {
        &self.sections
    }

    /// The first non-app section of `kind` (for `%files`, the one without `from`).
    pub fn section(&self, kind: SectionKind) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.kind == kind && s.app.is_none() && s.from_stage().is_none())
    }

    /// The `kind` section of app `app`.
    pub fn app_section(&self, kind: SectionKind, app: &str) -> Option<&Section> {
        self.sections
            .iter()
            .find(|s| s.kind == kind && s.app.as_deref() == Some(app))
    }

    /// App names in order of first appearance.
    pub fn apps(&self) -> Vec<&str> {
        let mut out: Vec<&str> = Vec::new();
        for s in &self.sections {
            if let Some(a) = s.app.as_deref() {
                if !out.contains(&a) {
                    out.push(a);
                }
            }
        }
        out
    }

    fn body(&self, kind: SectionKind) -> Option<&str> {
        self.section(kind).map(Section::body)
    }

    /// `%setup` script.
    pub fn setup(&self) -> Option<&str> {
        self.body(SectionKind::Setup)
    }

    /// `%post` script.
    pub fn post(&self) -> Option<&str> {
        self.body(SectionKind::Post)
    }

    /// `%environment` script.
    pub fn environment(&self) -> Option<&str> {
        self.body(SectionKind::Environment)
    }

    /// `%runscript` script.
    pub fn runscript(&self) -> Option<&str> {
        self.body(SectionKind::Runscript)
    }

    /// `%startscript` script.
    pub fn startscript(&self) -> Option<&str> {
        self.body(SectionKind::Startscript)
    }

    /// `%test` script.
    pub fn test(&self) -> Option<&str> {
        self.body(SectionKind::Test)
    }

    /// `%help` text.
    pub fn help(&self) -> Option<&str> {
        self.body(SectionKind::Help)
    }

    /// Every copy of every non-app `%files` section (host and `from` stages alike), in
    /// file order; [`Section::from_stage`] on [`Stage::sections`] tells them apart.
    pub fn files(&self) -> Vec<FileCopy> {
        self.sections
            .iter()
            .filter(|s| s.kind == SectionKind::Files)
            .flat_map(Section::files)
            .collect()
    }

    /// `%labels` as `(key, value)` pairs.
    pub fn labels(&self) -> Vec<(String, String)> {
        self.section(SectionKind::Labels)
            .map(Section::labels)
            .unwrap_or_default()
    }

    /// `%arguments` as `NAME=default` pairs.
    pub fn arguments(&self) -> Vec<Argument> {
        self.section(SectionKind::Arguments)
            .map(Section::arguments)
            .unwrap_or_default()
    }

    /// Whether building this stage runs a script (`%setup`, `%post`, `%test`,
    /// `%appinstall`, `%apptest`), which needs a root-capable builder.
    pub fn needs_execution(&self) -> bool {
        self.sections.iter().any(|s| s.kind.executes_at_build())
    }

    /// Whether Berth can assemble this stage in-process without root: a base it can fetch
    /// or open (docker, library, oras, localimage, scratch) and nothing to execute.
    pub fn local_buildable(&self) -> bool {
        let agent_ok = self
            .bootstrap()
            .is_some_and(|b| LOCAL_AGENTS.contains(&b.as_str()));
        agent_ok && !self.needs_execution()
    }
}
