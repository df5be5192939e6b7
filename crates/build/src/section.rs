//! Sections (`%post`, `%files from build`, `%apprun tool`, …): their kind, their arguments,
//! their body exactly as written, and structured views of the bodies that have a structure.

/// The kind of a section. App sections carry the app name on the [`Section`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SectionKind {
    /// `%setup`: runs on the host before the build (needs root there).
    Setup,
    /// `%files`: copies files into the container (optionally `from` an earlier stage).
    Files,
    /// `%post`: runs inside the container during the build.
    Post,
    /// `%environment`: sourced at run time.
    Environment,
    /// `%runscript`: what `apptainer run` executes.
    Runscript,
    /// `%startscript`: what `apptainer instance start` executes.
    Startscript,
    /// `%test`: runs inside the container at the end of the build.
    Test,
    /// `%labels`: `key value` metadata lines.
    Labels,
    /// `%help`: free text shown by `apptainer run-help`.
    Help,
    /// `%arguments`: `NAME=default` build arguments.
    Arguments,
    /// `%appinstall NAME`: like `%post`, for one app.
    AppInstall,
    /// `%appfiles NAME`: like `%files`, for one app.
    AppFiles,
    /// `%appenv NAME`: like `%environment`, for one app.
    AppEnv,
    /// `%apprun NAME`: like `%runscript`, for one app.
    AppRun,
    /// `%applabels NAME`: like `%labels`, for one app.
    AppLabels,
    /// `%apptest NAME`: like `%test`, for one app.
    AppTest,
    /// `%apphelp NAME`: like `%help`, for one app.
    AppHelp,
    /// `%appstart NAME`: like `%startscript`, for one app.
    AppStart,
}

impl SectionKind {
    /// Every kind, in the order the user docs list them.
    pub const ALL: [SectionKind; 18] = [
        Self::Setup,
        Self::Files,
        Self::Post,
        Self::Environment,
        Self::Runscript,
        Self::Startscript,
        Self::Test,
        Self::Labels,
        Self::Help,
        Self::Arguments,
        Self::AppInstall,
        Self::AppFiles,
        Self::AppEnv,
        Self::AppRun,
        Self::AppLabels,
        Self::AppTest,
        Self::AppHelp,
        Self::AppStart,
    ];

    /// The name after the `%`, lower case.
    pub fn name(self) -> &'static str {
        match self {
            Self::Setup => "setup",
            Self::Files => "files",
            Self::Post => "post",
            Self::Environment => "environment",
            Self::Runscript => "runscript",
            Self::Startscript => "startscript",
            Self::Test => "test",
            Self::Labels => "labels",
            Self::Help => "help",
            Self::Arguments => "arguments",
            Self::AppInstall => "appinstall",
            Self::AppFiles => "appfiles",
            Self::AppEnv => "appenv",
            Self::AppRun => "apprun",
            Self::AppLabels => "applabels",
            Self::AppTest => "apptest",
            Self::AppHelp => "apphelp",
            Self::AppStart => "appstart",
        }
    }

    /// The kind named `name` (without the `%`, any case).
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|k| k.name().eq_ignore_ascii_case(name))
    }

    /// Whether this is an `%app*` section, which takes an app name.
    pub fn is_app(self) -> bool {
        matches!(
            self,
            Self::AppInstall
                | Self::AppFiles
                | Self::AppEnv
                | Self::AppRun
                | Self::AppLabels
                | Self::AppTest
                | Self::AppHelp
                | Self::AppStart
        )
    }

    /// Whether the builder has to execute this section's script during the build (on the
    /// host or in the container). Such a stage cannot be assembled without root in-process.
    pub fn executes_at_build(self) -> bool {
        matches!(
            self,
            Self::Setup | Self::Post | Self::Test | Self::AppInstall | Self::AppTest
        )
    }
}

/// One section of a stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Section {
    pub(crate) kind: SectionKind,
    pub(crate) app: Option<String>,
    pub(crate) args: Vec<String>,
    pub(crate) line: usize,
    pub(crate) header_raw: String,
    pub(crate) body: String,
}

/// One `%files` line: copy `src` (on the host, or in the `from` stage) to `dest` in the
/// container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileCopy {
    /// Source path (may be a glob).
    pub src: String,
    /// Destination path; the same as `src` when the line names one path.
    pub dest: String,
    /// 1-based line number in the file.
    pub line: usize,
}

/// One `%arguments` line: `NAME=default`, or `NAME` with no default.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Argument {
    /// The argument's name.
    pub name: String,
    /// The default value after `=`, as written (quotes kept).
    pub default: Option<String>,
}

impl Section {
    /// The section's kind.
    pub fn kind(&self) -> SectionKind {
        self.kind
    }

    /// The app name of an `%app*` section.
    pub fn app(&self) -> Option<&str> {
        self.app.as_deref()
    }

    /// Words after the section name (and after the app name for app sections).
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// 1-based line number of the `%` line.
    pub fn line(&self) -> usize {
        self.line
    }

    /// The `%` line exactly as written, terminator included.
    pub fn header_line(&self) -> &str {
        &self.header_raw
    }

    /// Everything after the `%` line up to the next section or stage, byte for byte
    /// (comments, blank lines and line terminators included).
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The interpreter given with `-c` (`%post -c /bin/bash`).
    pub fn shell(&self) -> Option<&str> {
        let i = self.args.iter().position(|a| a == "-c")?;
        self.args.get(i + 1).map(String::as_str)
    }

    /// The stage a `%files from STAGE` section copies from.
    pub fn from_stage(&self) -> Option<&str> {
        match self.args.as_slice() {
            [from, stage, ..] if from.eq_ignore_ascii_case("from") => Some(stage),
            _ => None,
        }
    }

    /// Body lines that carry content: `(line number, trimmed text)`, blank lines and `#`
    /// comments left out. Used by the sections whose body is data rather than script.
    fn data_lines(&self) -> impl Iterator<Item = (usize, &str)> {
        let first = self.line + 1;
        self.body
            .split('\n')
            .enumerate()
            .map(move |(i, l)| (first + i, l.trim()))
            .filter(|(_, l)| !l.is_empty() && !l.starts_with('#'))
    }

    /// `%labels` / `%applabels` as `(key, value)`: the first run of whitespace splits the
    /// key from the value, so values may contain spaces. A key alone has an empty value.
    pub fn labels(&self) -> Vec<(String, String)> {
        self.data_lines()
            .map(|(_, l)| match l.split_once(char::is_whitespace) {
                Some((k, v)) => (k.to_string(), v.trim().to_string()),
                None => (l.to_string(), String::new()),
            })
            .collect()
    }

    /// `%files` / `%appfiles` as copies. Source and destination are split at the first
    /// whitespace; one path alone copies to the same path inside the container.
    pub fn files(&self) -> Vec<FileCopy> {
        self.data_lines()
            .map(|(line, l)| {
                let (src, dest) = match l.split_once(char::is_whitespace) {
                    Some((s, d)) => (s, d.trim()),
                    None => (l, l),
                };
                FileCopy {
                    src: src.to_string(),
                    dest: dest.to_string(),
                    line,
                }
            })
            .collect()
    }

    /// `%arguments` as `NAME=default` pairs.
    pub fn arguments(&self) -> Vec<Argument> {
        self.data_lines()
            .map(|(_, l)| match l.split_once('=') {
                Some((n, d)) => Argument {
                    name: n.trim().to_string(),
                    default: Some(d.trim().to_string()),
                },
                None => Argument {
                    name: l.to_string(),
                    default: None,
                },
            })
            .collect()
    }
}
