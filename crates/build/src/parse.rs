//! The parser: one pass over the lines, collecting every error instead of stopping at the
//! first, so the editor can mark them all.
//!
//! Line rules (Apptainer's own parser is line based too, and these match what it accepts):
//! * A line whose first non-blank character is `%` followed by a known section name (any
//!   case) and then whitespace or the end of the line starts a section, indented or not.
//!   Indentation is allowed because people indent sections inside templates.
//! * A line with `%` in column 1 followed by a letter that is *not* a section name is an
//!   error (`def.unknown_section`): it is almost always a typo such as `%enviroment`, and
//!   silently treating it as script would put the typo's whole body in the wrong section.
//!   Indented unknown `%words` (`  %define x`, `  printf '%s'` obviously) and `%` followed
//!   by anything other than a letter (`%{_libdir}`, `%%`) are ordinary body text. So a
//!   script line that must start with `%word` in column 1 has to be indented.
//! * In a section body, a line with `Bootstrap:` (any case) in column 1 starts a new stage;
//!   everything up to it (blank lines and comments included) stays in the body before it.
//! * In a header, blank lines and `#` comments are kept; every other line is `Key: value`.

use std::collections::HashMap;

use crate::definition::{Definition, LineEnding};
use crate::error::{ErrorKind, ParseError, ParseErrors, ParseWarning};
use crate::keyword::{is_known_header_key, BOOTSTRAP_AGENTS};
use crate::lines::{self, Line};
use crate::section::{Section, SectionKind};
use crate::stage::{HeaderLine, Stage};
use crate::suggest::closest;

const BOM: char = '\u{feff}';

/// What the line being read belongs to.
enum Mode {
    /// The header of the current stage.
    Header,
    /// The body of the open section.
    Body(Section),
    /// After an unknown section: its body is skipped so it does not cause a cascade of
    /// header errors; the error about the section itself is already recorded.
    Skip,
}

#[derive(Default)]
struct Parser {
    stages: Vec<Stage>,
    current: Stage,
    /// Whether the current stage has seen its `Bootstrap:` keyword.
    has_bootstrap: bool,
    /// Sections already in the current stage, for duplicates: key -> line.
    seen: HashMap<(SectionKind, Option<String>, Option<String>), usize>,
    /// `Stage:` names of all stages so far (the current one included): name -> line.
    stage_names: HashMap<String, usize>,
    errors: Vec<ParseError>,
    warnings: Vec<ParseWarning>,
}

/// A section line's name token and where it is.
struct SectionStart<'a> {
    indent: usize,
    token: &'a str,
    kind: Option<SectionKind>,
}

/// Whether `content` looks like a section line; `None` when it is plainly not one.
fn section_start(content: &str) -> Option<SectionStart<'_>> {
    let indent = lines::indent(content);
    let rest = content[indent..].strip_prefix('%')?;
    let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
    let token = &rest[..end];
    Some(SectionStart {
        indent,
        token,
        kind: SectionKind::from_name(token),
    })
}

/// Whether `content` is a `Bootstrap:` keyword line starting in column 1.
fn is_bootstrap_line(content: &str) -> bool {
    match content.split_once(':') {
        Some((key, _)) => key.trim_end().eq_ignore_ascii_case("bootstrap"),
        None => false,
    }
}

/// Whitespace-separated words after byte `from`, each with its byte offset in `content`.
fn words(content: &str, from: usize) -> Vec<(usize, &str)> {
    let mut out = Vec::new();
    let mut i = from;
    for w in content[from..].split_whitespace() {
        let at = content[i..].find(w).map_or(i, |p| i + p);
        out.push((at, w));
        i = at + w.len();
    }
    out
}

impl Parser {
    fn error(&mut self, line: usize, content: &str, byte: usize, kind: ErrorKind, message: String) {
        self.errors.push(ParseError {
            line,
            column: lines::column(content, byte),
            kind,
            message,
        });
    }

    fn finish_stage(&mut self) {
        let stage = std::mem::take(&mut self.current);
        self.stages.push(stage);
        self.has_bootstrap = false;
        self.seen.clear();
    }

    fn header_line(&mut self, line: &Line<'_>) {
        let content = line.content;
        let trimmed = content.trim();
        let mut keyword = None;
        if !trimmed.is_empty() && !trimmed.starts_with('#') {
            let start = lines::indent(content);
            match content.split_once(':') {
                Some((key, value))
                    if !key.trim().is_empty() && !key.trim().contains(char::is_whitespace) =>
                {
                    let key_t = key.trim();
                    let value_t = value.trim();
                    let value_at = key.len() + 1 + lines::indent(value);
                    self.keyword(line, key_t, start, value_t, value_at);
                    keyword = Some((key_t.to_string(), value_t.to_string()));
                }
                _ => {
                    let found = trimmed.split_whitespace().next().unwrap_or(trimmed);
                    self.error(
                        line.number,
                        content,
                        start,
                        ErrorKind::HeaderWithoutColon,
                        format!("expected a header line `Keyword: value` or a section `%name`, found `{found}` without a `:` after the keyword"),
                    );
                }
            }
        }
        self.current.header.push(HeaderLine {
            line: line.number,
            raw: line.raw.to_string(),
            keyword,
        });
    }

    /// Checks one keyword; `key_at` and `value_at` are byte offsets in the line.
    fn keyword(&mut self, line: &Line<'_>, key: &str, key_at: usize, value: &str, value_at: usize) {
        let content = line.content;
        let lower = key.to_ascii_lowercase();
        if !is_known_header_key(key) {
            self.warnings.push(ParseWarning {
                line: line.number,
                column: lines::column(content, key_at),
                code: "def.unknown_header_key",
                message: format!("unknown header keyword `{key}` (kept as written)"),
            });
        }
        match lower.as_str() {
            "bootstrap" => {
                self.has_bootstrap = true;
                let agent = value.to_ascii_lowercase();
                if !BOOTSTRAP_AGENTS.contains(&agent.as_str()) {
                    let found = if value.is_empty() {
                        "nothing".to_string()
                    } else {
                        format!("`{value}`")
                    };
                    let guess = closest(value, BOOTSTRAP_AGENTS)
                        .map(|g| format!(" (did you mean `{g}`?)"))
                        .unwrap_or_default();
                    self.error(
                        line.number,
                        content,
                        value_at,
                        ErrorKind::UnknownBootstrap,
                        format!(
                            "expected a bootstrap agent ({}), found {found}{guess}",
                            BOOTSTRAP_AGENTS.join(", ")
                        ),
                    );
                }
            }
            "stage" if !value.is_empty() => {
                if let Some(first) = self.stage_names.get(value).copied() {
                    self.error(
                        line.number,
                        content,
                        value_at,
                        ErrorKind::DuplicateStageName,
                        format!("stage name `{value}` is already used on line {first}"),
                    );
                } else {
                    self.stage_names.insert(value.to_string(), line.number);
                }
            }
            _ => {}
        }
    }

    /// Opens a section at `line`; returns it (errors recorded, the section kept anyway so
    /// parsing can go on).
    fn open_section(
        &mut self,
        line: &Line<'_>,
        start: &SectionStart<'_>,
        kind: SectionKind,
    ) -> Section {
        let content = line.content;
        let name_end = start.indent + 1 + start.token.len();
        let mut args = words(content, name_end);
        if !self.has_bootstrap && self.stages.is_empty() && self.current.sections.is_empty() {
            self.error(
                line.number,
                content,
                start.indent,
                ErrorKind::MissingBootstrap,
                "expected a `Bootstrap:` header line before the first section".to_string(),
            );
            // Reported once: later sections of the same stage would repeat it.
            self.has_bootstrap = true;
        }
        let mut app = None;
        if kind.is_app() {
            if args.is_empty() {
                self.error(
                    line.number,
                    content,
                    content.len(),
                    ErrorKind::MissingAppName,
                    format!("expected an app name after `%{}`", kind.name()),
                );
            } else {
                app = Some(args.remove(0).1.to_string());
            }
        }
        if let Some(i) = args.iter().position(|(_, w)| *w == "-c") {
            if i + 1 >= args.len() {
                self.error(
                    line.number,
                    content,
                    args[i].0,
                    ErrorKind::MissingArgumentValue,
                    "expected an interpreter path after `-c`".to_string(),
                );
            }
        }
        let mut from = None;
        if kind == SectionKind::Files {
            if let Some((at, w)) = args.first().copied() {
                if w.eq_ignore_ascii_case("from") {
                    match args.get(1).copied() {
                        None => self.error(
                            line.number,
                            content,
                            at,
                            ErrorKind::FilesFromWithoutStage,
                            "expected a stage name after `%files from`".to_string(),
                        ),
                        Some((sat, stage)) => {
                            let earlier = self.stages.iter().any(|s| s.name() == Some(stage));
                            if !earlier {
                                self.error(
                                    line.number,
                                    content,
                                    sat,
                                    ErrorKind::UnknownStage,
                                    format!(
                                        "expected the name of an earlier stage, found `{stage}`"
                                    ),
                                );
                            }
                            from = Some(stage.to_string());
                        }
                    }
                }
            }
        }
        let key = (kind, app.clone(), from);
        if let Some(first) = self.seen.get(&key).copied() {
            let what = match &app {
                Some(a) => format!("`%{} {a}`", kind.name()),
                None => format!("`%{}`", kind.name()),
            };
            self.error(
                line.number,
                content,
                start.indent,
                ErrorKind::DuplicateSection,
                format!("duplicate section {what} in this stage (first on line {first})"),
            );
        } else {
            self.seen.insert(key, line.number);
        }
        Section {
            kind,
            app,
            args: args.into_iter().map(|(_, w)| w.to_string()).collect(),
            line: line.number,
            header_raw: line.raw.to_string(),
            body: String::new(),
        }
    }

    fn close(&mut self, mode: Mode) {
        if let Mode::Body(section) = mode {
            self.current.sections.push(section);
        }
    }

    fn run(&mut self, all: &[Line<'_>]) {
        let mut mode = Mode::Header;
        for line in all {
            let content = line.content;
            if let Some(start) = section_start(content) {
                if let Some(kind) = start.kind {
                    let section = self.open_section(line, &start, kind);
                    let old = std::mem::replace(&mut mode, Mode::Body(section));
                    self.close(old);
                    continue;
                }
                let letter = start.token.starts_with(|c: char| c.is_ascii_alphabetic());
                if start.indent == 0 && letter {
                    let names: Vec<&str> = SectionKind::ALL.iter().map(|k| k.name()).collect();
                    let guess = closest(start.token, &names)
                        .map(|g| format!("; did you mean `%{g}`?"))
                        .unwrap_or_default();
                    self.error(
                        line.number,
                        content,
                        0,
                        ErrorKind::UnknownSection,
                        format!(
                            "unknown section `%{}`: expected a section name{guess}",
                            start.token
                        ),
                    );
                    let old = std::mem::replace(&mut mode, Mode::Skip);
                    self.close(old);
                    continue;
                }
            }
            match &mut mode {
                Mode::Header => {
                    if self.has_bootstrap && is_bootstrap_line(content) {
                        self.finish_stage();
                    }
                    self.header_line(line);
                }
                Mode::Body(_) | Mode::Skip
                    if is_bootstrap_line(content) && lines::indent(content) == 0 =>
                {
                    let old = std::mem::replace(&mut mode, Mode::Header);
                    self.close(old);
                    self.finish_stage();
                    self.header_line(line);
                }
                Mode::Body(section) => section.body.push_str(line.raw),
                Mode::Skip => {}
            }
        }
        self.close(mode);
        if !self.has_bootstrap {
            self.errors.push(ParseError {
                line: 1,
                column: 1,
                kind: ErrorKind::MissingBootstrap,
                message: "expected a `Bootstrap:` header line (for example `Bootstrap: docker`)"
                    .to_string(),
            });
        }
        self.finish_stage();
    }
}

/// Parses a whole definition file.
pub(crate) fn parse(text: &str) -> Result<Definition, ParseErrors> {
    let (bom, body) = match text.strip_prefix(BOM) {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let all = lines::split(body);
    let line_ending = match all.iter().find(|l| l.raw.ends_with('\n')) {
        Some(l) if l.raw.ends_with("\r\n") => LineEnding::CrLf,
        _ => LineEnding::Lf,
    };
    let mut p = Parser::default();
    p.run(&all);
    if !p.errors.is_empty() {
        p.errors.sort_by_key(|e| (e.line, e.column));
        return Err(ParseErrors(p.errors));
    }
    Ok(Definition {
        bom,
        line_ending,
        stages: p.stages,
        warnings: p.warnings,
    })
}
