//! Definition-file sections applied to a root file system the way Apptainer's build
//! finishes every stage (`insertMetadata`): `%help`, `%labels`, the definition itself,
//! `%environment`, `%startscript`, `%runscript` and `%test`, in that order. Nothing here
//! runs a script; `%test` is only stored.

use std::collections::BTreeMap;
use std::time::SystemTime;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::labels::{add_build_labels, labels_json, BuildLabels, HELP_PATH};
use crate::skeleton::insert_definition;
use crate::tree::RootFs;

const ENV_SCRIPT: &str = ".singularity.d/env/90-environment.sh";
const LABELS: &str = ".singularity.d/labels.json";

/// A message for the build log, in Apptainer's two levels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Progress (`INFO:`).
    Info(String),
    /// Something the user may want to change (`WARNING:`).
    Warning(String),
}

/// A script section: its body exactly as written and the words after the section name
/// (`%runscript -c /bin/bash` has `["-c", "/bin/bash"]`).
#[derive(Debug, Clone, Copy)]
pub struct ScriptSection<'a> {
    /// Everything after the `%` line, line terminators included.
    pub body: &'a str,
    /// Words after the section name.
    pub args: &'a [String],
}

/// What a stage's sections contribute to its image.
#[derive(Debug, Clone, Copy)]
pub struct SectionsInput<'a> {
    /// The whole definition file, stored as `/.singularity.d/Singularity`.
    pub definition: &'a [u8],
    /// The stage's header keywords: keys lower case, values without a trailing comment.
    pub header: &'a [(&'a str, &'a str)],
    /// `%environment` body.
    pub environment: Option<&'a str>,
    /// `%runscript`.
    pub runscript: Option<ScriptSection<'a>>,
    /// `%startscript`.
    pub startscript: Option<ScriptSection<'a>>,
    /// `%test` (stored, not run).
    pub test: Option<ScriptSection<'a>>,
    /// `%help` body.
    pub help: Option<&'a str>,
    /// `%labels` as `(key, value)`.
    pub labels: &'a [(String, String)],
    /// Architecture of the image, Go name.
    pub arch: &'a str,
    /// Architecture variant when one was requested.
    pub variant: Option<&'a str>,
    /// Build time for the labels.
    pub build_time: SystemTime,
    /// Reference of the base image, for `org.opencontainers.image.base.name`.
    pub base_name: Option<&'a str>,
    /// Digest of the base image, for `org.opencontainers.image.base.digest`.
    pub base_digest: Option<&'a str>,
    /// Berth's version, recorded in a label.
    pub berth_version: &'a str,
    /// Apptainer's `--force`: `%labels` may replace labels the base or the build already
    /// set, and `%help` an existing help file.
    pub force: bool,
}

/// A section body as Apptainer's parser hands it on: lines joined with `\n` (a CR before
/// the line feed dropped), each line terminated. `None` for an empty section, which the
/// reference skips.
pub fn script_text(body: &str) -> Option<String> {
    if body.is_empty() {
        return None;
    }
    let mut out = String::with_capacity(body.len() + 1);
    for line in body.split_inclusive('\n') {
        let line = line.strip_suffix('\n').unwrap_or(line);
        out.push_str(line.strip_suffix('\r').unwrap_or(line));
        out.push('\n');
    }
    Some(out)
}

/// The interpreter line and the rest of a runscript, startscript or test: a script that
/// starts with `#!` keeps its own interpreter, otherwise `/bin/sh`; section arguments up
/// to a `#` comment are appended to the interpreter line.
pub fn shebang_script(section: &ScriptSection<'_>) -> Option<String> {
    let script = script_text(section.body)?;
    let (mut shebang, rest) = if script.trim_start().starts_with("#!") {
        let trimmed = script.trim_start();
        match trimmed.split_once('\n') {
            Some((first, rest)) => (first.trim().to_owned(), rest.to_owned()),
            None => (trimmed.trim().to_owned(), String::new()),
        }
    } else {
        ("#!/bin/sh".to_owned(), script)
    };
    let args = section.args.join(" ");
    let args = args.split('#').next().unwrap_or("").trim_end();
    if !args.is_empty() {
        shebang.push(' ');
        shebang.push_str(args);
    }
    Some(format!("{shebang}\n\n{rest}\n"))
}

/// Applies the sections to `root` (after the base and `%files`), logging what it adds.
pub fn apply_sections(
    root: &mut RootFs,
    input: &SectionsInput<'_>,
    note: &mut dyn FnMut(Note),
) -> Result<()> {
    let help = input.help.and_then(script_text);
    if let Some(help) = &help {
        if input.force || !root.exists(HELP_PATH) {
            note(Note::Info("Adding help info".into()));
            root.add_file(HELP_PATH, 0o644, format!("{help}\n").as_bytes())?;
        } else {
            note(Note::Warning(
                "Help message already exists and force option is false, not overwriting".into(),
            ));
        }
    }

    insert_labels(root, input, help.is_some(), note)?;
    insert_definition(root, input.definition)?;

    if let Some(env) = input.environment.and_then(script_text) {
        note(Note::Info("Adding environment to container".into()));
        match root.read(ENV_SCRIPT) {
            Some(mut existing) => {
                let mode = root.stat(ENV_SCRIPT).map_or(0o755, |i| i.mode);
                existing.extend_from_slice(format!("\n{env}\n").as_bytes());
                root.add_file(ENV_SCRIPT, mode, &existing)?;
            }
            None => root.add_file(
                ENV_SCRIPT,
                0o755,
                format!("#!/bin/sh\n\n{env}\n").as_bytes(),
            )?,
        }
    }

    for (section, path, what) in [
        (
            input.startscript,
            ".singularity.d/startscript",
            "startscript",
        ),
        (input.runscript, ".singularity.d/runscript", "runscript"),
        (input.test, ".singularity.d/test", "testscript"),
    ] {
        if let Some(text) = section.as_ref().and_then(shebang_script) {
            note(Note::Info(format!("Adding {what}")));
            root.add_file(path, 0o755, text.as_bytes())?;
        }
    }
    Ok(())
}

/// labels.json: what the base has, then the build labels, then `%labels` — which only
/// replaces an existing key with `force`, as in the reference.
fn insert_labels(
    root: &mut RootFs,
    input: &SectionsInput<'_>,
    help: bool,
    note: &mut dyn FnMut(Note),
) -> Result<()> {
    let mut labels = BTreeMap::new();
    if let Some(bytes) = root.read(LABELS) {
        let value: Value = serde_json::from_slice(&bytes)
            .map_err(|e| Error::InvalidMetadata(format!("the base's labels.json: {e}")))?;
        match value {
            Value::Object(map) => {
                for (k, v) in map {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    labels.insert(k, v);
                }
            }
            // A pull of an image without labels writes `null`.
            Value::Null => {}
            _ => {
                return Err(Error::InvalidMetadata(
                    "the base's labels.json is not a JSON object".into(),
                ))
            }
        }
    }
    add_build_labels(
        &mut labels,
        &BuildLabels {
            header: input.header,
            arch: input.arch,
            variant: input.variant,
            build_time: input.build_time,
            base_name: input.base_name,
            base_digest: input.base_digest,
            berth_version: input.berth_version,
            help,
        },
    );
    if !input.labels.is_empty() {
        note(Note::Info("Adding labels".into()));
        // A key given twice in %labels keeps its last value, as the reference's map does.
        let mut wanted: Vec<(&String, &String)> = Vec::new();
        for (key, value) in input.labels {
            match wanted.iter_mut().find(|(k, _)| *k == key) {
                Some(slot) => slot.1 = value,
                None => wanted.push((key, value)),
            }
        }
        for (key, value) in wanted {
            if labels.contains_key(key) && !input.force {
                note(Note::Warning(format!(
                    "Label: {key} already exists and force option is false, not overwriting"
                )));
                continue;
            }
            labels.insert(key.clone(), value.clone());
        }
    }
    root.add_file(LABELS, 0o644, labels_json(&labels).as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, UNIX_EPOCH};

    fn script<'a>(body: &'a str, args: &'a [String]) -> ScriptSection<'a> {
        ScriptSection { body, args }
    }

    fn input<'a>(labels: &'a [(String, String)]) -> SectionsInput<'a> {
        SectionsInput {
            definition: b"Bootstrap: scratch\n",
            header: &[("bootstrap", "scratch")],
            environment: None,
            runscript: None,
            startscript: None,
            test: None,
            help: None,
            labels,
            arch: "amd64",
            variant: None,
            build_time: UNIX_EPOCH + Duration::from_secs(1_627_931_376),
            base_name: None,
            base_digest: None,
            berth_version: "0.1.0",
            force: false,
        }
    }

    fn text(root: &RootFs, path: &str) -> String {
        String::from_utf8(root.read(path).unwrap()).unwrap()
    }

    #[test]
    fn bodies_are_normalised_as_the_reference_parser_does() {
        assert_eq!(script_text(""), None);
        assert_eq!(script_text("  echo a\r\n\r\n").unwrap(), "  echo a\n\n");
        assert_eq!(script_text("echo a").unwrap(), "echo a\n");
    }

    #[test]
    fn scripts_get_an_interpreter_line() {
        let none: [String; 0] = [];
        assert_eq!(
            shebang_script(&script("    echo hi\n\n", &none)).unwrap(),
            "#!/bin/sh\n\n    echo hi\n\n\n"
        );
        assert_eq!(
            shebang_script(&script("#!/bin/bash -e\necho hi\n", &none)).unwrap(),
            "#!/bin/bash -e\n\necho hi\n\n"
        );
        let args = ["-x".to_owned(), "#".to_owned(), "trace".to_owned()];
        assert_eq!(
            shebang_script(&script("echo hi\n", &args)).unwrap(),
            "#!/bin/sh -x\n\necho hi\n\n"
        );
    }

    #[test]
    fn sections_land_where_apptainer_puts_them() {
        let dir = tempfile::tempdir().unwrap();
        let mut root = RootFs::new(dir.path()).unwrap();
        crate::skeleton::add_base_skeleton(&mut root, true).unwrap();
        let none: [String; 0] = [];
        let labels = [("Maintainer".to_owned(), "Ada".to_owned())];
        let mut i = input(&labels);
        i.environment = Some("    export A=1\n");
        i.runscript = Some(script("    echo run \"$@\"\n", &none));
        i.startscript = Some(script("    echo start\n", &none));
        i.test = Some(script("    true\n", &none));
        i.help = Some("Usage: run it.\n");
        let mut notes = Vec::new();
        apply_sections(&mut root, &i, &mut |n| notes.push(n)).unwrap();

        assert_eq!(
            text(&root, ".singularity.d/runscript"),
            "#!/bin/sh\n\n    echo run \"$@\"\n\n"
        );
        assert_eq!(
            text(&root, ".singularity.d/startscript"),
            "#!/bin/sh\n\n    echo start\n\n"
        );
        assert_eq!(
            text(&root, ".singularity.d/test"),
            "#!/bin/sh\n\n    true\n\n"
        );
        assert_eq!(root.stat(".singularity.d/test").unwrap().mode, 0o755);
        assert_eq!(text(&root, HELP_PATH), "Usage: run it.\n\n");
        assert_eq!(root.stat(HELP_PATH).unwrap().mode, 0o644);
        let env = text(&root, ENV_SCRIPT);
        assert!(
            env.ends_with("# Custom environment shell code should follow\n\n    export A=1\n\n"),
            "{env}"
        );
        assert_eq!(
            text(&root, ".singularity.d/Singularity"),
            "Bootstrap: scratch\n"
        );

        let labels: BTreeMap<String, String> = serde_json::from_str(&text(&root, LABELS)).unwrap();
        assert_eq!(labels["Maintainer"], "Ada");
        assert_eq!(
            labels["org.label-schema.usage.singularity.deffile.bootstrap"],
            "scratch"
        );
        assert_eq!(labels["org.label-schema.usage"], HELP_PATH);
        assert_eq!(labels["org.label-schema.build-arch"], "amd64");
        assert_eq!(
            labels["org.label-schema.build-date"],
            "Monday_2_August_2021_19:9:36_UTC"
        );
        assert!(notes.contains(&Note::Info("Adding runscript".into())));
    }

    #[test]
    fn a_missing_env_script_is_created_and_labels_do_not_override_without_force() {
        let dir = tempfile::tempdir().unwrap();
        let mut root = RootFs::new(dir.path()).unwrap();
        root.add_file(LABELS, 0o644, b"{\"a\": \"base\", \"n\": 3}")
            .unwrap();
        root.add_file(HELP_PATH, 0o644, b"old help\n").unwrap();
        let labels = [
            ("a".to_owned(), "mine".to_owned()),
            ("b".to_owned(), "new".to_owned()),
        ];
        let mut i = input(&labels);
        i.environment = Some("export B=2");
        i.help = Some("new help");
        let mut notes = Vec::new();
        apply_sections(&mut root, &i, &mut |n| notes.push(n)).unwrap();
        assert_eq!(text(&root, ENV_SCRIPT), "#!/bin/sh\n\nexport B=2\n\n");
        assert_eq!(text(&root, HELP_PATH), "old help\n");
        let out: BTreeMap<String, String> = serde_json::from_str(&text(&root, LABELS)).unwrap();
        assert_eq!(out["a"], "base");
        assert_eq!(out["n"], "3");
        assert_eq!(out["b"], "new");
        assert_eq!(
            notes
                .iter()
                .filter(|n| matches!(n, Note::Warning(_)))
                .count(),
            2
        );

        i.force = true;
        apply_sections(&mut root, &i, &mut |_| {}).unwrap();
        let out: BTreeMap<String, String> = serde_json::from_str(&text(&root, LABELS)).unwrap();
        assert_eq!(out["a"], "mine");
        assert_eq!(text(&root, HELP_PATH), "new help\n\n");
    }

    #[test]
    fn a_label_given_twice_keeps_its_last_value() {
        let dir = tempfile::tempdir().unwrap();
        let mut root = RootFs::new(dir.path()).unwrap();
        let labels = [
            ("Version".to_owned(), "1".to_owned()),
            ("Version".to_owned(), "2".to_owned()),
        ];
        let mut notes = Vec::new();
        apply_sections(&mut root, &input(&labels), &mut |n| notes.push(n)).unwrap();
        let out: BTreeMap<String, String> = serde_json::from_str(&text(&root, LABELS)).unwrap();
        assert_eq!(out["Version"], "2");
        assert!(
            !notes.iter().any(|n| matches!(n, Note::Warning(_))),
            "{notes:?}"
        );
    }

    #[test]
    fn an_earlier_definition_moves_to_the_history() {
        let dir = tempfile::tempdir().unwrap();
        let mut root = RootFs::new(dir.path()).unwrap();
        root.add_file(".singularity.d/Singularity", 0o644, b"old\n")
            .unwrap();
        root.add_file(
            ".singularity.d/bootstrap_history/Apptainer0",
            0o644,
            b"older\n",
        )
        .unwrap();
        apply_sections(&mut root, &input(&[]), &mut |_| {}).unwrap();
        assert_eq!(
            text(&root, ".singularity.d/bootstrap_history/Apptainer1"),
            "old\n"
        );
        assert_eq!(
            text(&root, ".singularity.d/bootstrap_history/Apptainer0"),
            "older\n"
        );
        assert_eq!(
            text(&root, ".singularity.d/Singularity"),
            "Bootstrap: scratch\n"
        );
    }

    #[test]
    fn a_broken_base_labels_file_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        let mut root = RootFs::new(dir.path()).unwrap();
        root.add_file(LABELS, 0o644, b"[1]").unwrap();
        let err = apply_sections(&mut root, &input(&[]), &mut |_| {}).unwrap_err();
        assert_eq!(err.code(), "invalid-metadata");
    }
}
