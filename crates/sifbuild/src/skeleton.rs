//! The `/.singularity.d` skeleton a docker pull adds to the root file system
//! (oci-to-sif.md §5), in Apptainer's order: base environment, runscript, Docker
//! environment, labels, then the finalisation files.

use std::time::SystemTime;

use serde_json::Value;

use crate::error::{Error, Result};
use crate::labels::{labels_json, merged_labels, BuildLabels};
use crate::runscript::{docker_env_script, oci_runscript};
use crate::scripts;
use crate::tree::{EntryKind, RootFs};

/// What the skeleton is made from.
#[derive(Debug, Clone, Copy)]
pub struct SkeletonInput<'a> {
    /// The definition text (see [`definition_for_pull`]).
    pub definition: &'a str,
    /// Bootstrap agent, `docker` for a pull.
    pub bootstrap: &'a str,
    /// The reference after the scheme, e.g. `alpine:latest`.
    pub from: &'a str,
    /// The image config's `config` member (Entrypoint, Cmd, Env, Labels…); `null` if absent.
    pub config: &'a Value,
    /// Architecture of the image, Go name.
    pub arch: &'a str,
    /// Architecture variant when one was requested.
    pub variant: Option<&'a str>,
    /// Build time for the labels (the `SOURCE_DATE_EPOCH` time in reproducible builds).
    pub build_time: SystemTime,
    /// Normalised reference of the pulled image, for `org.opencontainers.image.base.name`.
    pub base_name: Option<&'a str>,
    /// Digest the reference pointed to, for `org.opencontainers.image.base.digest`.
    pub base_digest: Option<&'a str>,
    /// Berth's version, recorded in a label.
    pub berth_version: &'a str,
}

/// The definition text of a pull: `bootstrap: docker\nfrom: REF\n\n`.
pub fn definition_for_pull(reference_after_scheme: &str) -> String {
    format!("bootstrap: docker\nfrom: {reference_after_scheme}\n\n")
}

const DIRS: [&str; 11] = [
    ".singularity.d/libs",
    ".singularity.d/actions",
    ".singularity.d/env",
    "dev",
    "proc",
    "root",
    "var/tmp",
    "tmp",
    "etc",
    "sys",
    "home",
];

const LINKS: [(&str, &str); 6] = [
    ("singularity", ".singularity.d/runscript"),
    (".run", ".singularity.d/actions/run"),
    (".exec", ".singularity.d/actions/exec"),
    (".test", ".singularity.d/actions/test"),
    (".shell", ".singularity.d/actions/shell"),
    ("environment", ".singularity.d/env/90-environment.sh"),
];

/// A string array member of the config; absent or `null` is empty.
fn strings(config: &Value, key: &str) -> Result<Vec<String>> {
    match config.get(key) {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(Value::Array(items)) => items
            .iter()
            .map(|v| {
                v.as_str().map(str::to_owned).ok_or_else(|| {
                    Error::InvalidMetadata(format!("config {key} holds a non-string"))
                })
            })
            .collect(),
        Some(_) => Err(Error::InvalidMetadata(format!(
            "config {key} is not an array"
        ))),
    }
}

/// Adds the skeleton of a pull; existing files at these paths are replaced (overwrite
/// semantics).
pub fn add_oci_skeleton(root: &mut RootFs, input: &SkeletonInput<'_>) -> Result<()> {
    add_base_skeleton(root, true)?;
    add_oci_config(root, input)?;
    insert_definition(root, input.definition.as_bytes())
}

/// The part of the skeleton every build has, whatever its base (Apptainer's base
/// environment plus the empty SCIF apps script). With `overwrite` false, files the base
/// image already has are kept — a base SIF keeps its runscript, environment and actions.
pub fn add_base_skeleton(root: &mut RootFs, overwrite: bool) -> Result<()> {
    // §5.1: the build must be able to write into the root.
    if let Some(info) = root.stat("/") {
        root.set_mode("/", info.mode | 0o200);
    }
    // §5.2: only missing paths; an existing symlink such as var/tmp -> /tmp stays.
    for dir in DIRS {
        if !root.exists(dir) {
            root.add_dir(dir, 0o755)?;
        }
    }
    // §5.3: an existing non-symlink stays; a link pointing elsewhere is replaced.
    for (link, target) in LINKS {
        match root.stat(link).map(|i| i.kind) {
            Some(EntryKind::Symlink(t)) if t == target => {}
            Some(EntryKind::Symlink(_)) | None => root.add_symlink(link, target)?,
            Some(_) => {}
        }
    }
    let mut put = |path: &str, mode: u32, data: &[u8]| -> Result<()> {
        if overwrite || !root.exists(path) {
            root.add_file(path, mode, data)?;
        }
        Ok(())
    };
    // §5.4: bind targets, empty at build time.
    put("etc/hosts", 0o644, b"")?;
    put("etc/resolv.conf", 0o644, b"")?;

    let exe = 0o755;
    put(".singularity.d/actions/exec", exe, scripts::EXEC.as_bytes())?;
    put(".singularity.d/actions/run", exe, scripts::RUN.as_bytes())?;
    put(
        ".singularity.d/actions/shell",
        exe,
        scripts::SHELL.as_bytes(),
    )?;
    put(
        ".singularity.d/actions/start",
        exe,
        scripts::START.as_bytes(),
    )?;
    put(".singularity.d/actions/test", exe, scripts::TEST.as_bytes())?;
    put(
        ".singularity.d/env/01-base.sh",
        exe,
        scripts::base_env().as_bytes(),
    )?;
    put(
        ".singularity.d/env/90-environment.sh",
        exe,
        scripts::environment().as_bytes(),
    )?;
    put(
        ".singularity.d/env/95-apps.sh",
        exe,
        scripts::APPS_ENV.as_bytes(),
    )?;
    put(
        ".singularity.d/env/99-base.sh",
        exe,
        scripts::LATE_BASE_ENV.as_bytes(),
    )?;
    put(
        ".singularity.d/env/99-runtimevars.sh",
        exe,
        scripts::RUNTIME_VARS.as_bytes(),
    )?;
    put(
        ".singularity.d/runscript",
        exe,
        scripts::PLACEHOLDER_RUNSCRIPT.as_bytes(),
    )?;
    put(
        ".singularity.d/startscript",
        exe,
        scripts::startscript().as_bytes(),
    )?;
    // Written by the SCIF apps step of every build, apps or not.
    put(".singularity.d/env/94-appsbase.sh", exe, b"")
}

/// What an OCI image's config turns into (§5.5–§5.7): the runscript from ENTRYPOINT/CMD,
/// the Docker environment script and labels.json (config labels, build labels winning).
pub fn add_oci_config(root: &mut RootFs, input: &SkeletonInput<'_>) -> Result<()> {
    let entrypoint = strings(input.config, "Entrypoint")?;
    let cmd = strings(input.config, "Cmd")?;
    let env = strings(input.config, "Env")?;
    let exe = 0o755;
    root.add_file(
        ".singularity.d/runscript",
        exe,
        oci_runscript(&entrypoint, &cmd).as_bytes(),
    )?;
    root.add_file(
        ".singularity.d/env/10-docker2singularity.sh",
        exe,
        docker_env_script(&env).as_bytes(),
    )?;
    let header = [("bootstrap", input.bootstrap), ("from", input.from)];
    let build = BuildLabels {
        header: &header,
        arch: input.arch,
        variant: input.variant,
        build_time: input.build_time,
        base_name: input.base_name,
        base_digest: input.base_digest,
        berth_version: input.berth_version,
        help: false,
    };
    let labels = merged_labels(input.config.get("Labels"), &build);
    root.add_file(
        ".singularity.d/labels.json",
        0o644,
        labels_json(&labels).as_bytes(),
    )
}

/// Writes the definition to `/.singularity.d/Singularity`; an earlier one (a base that was
/// itself built from a definition) moves to `bootstrap_history/Apptainer<N>` first, N
/// counting what the history already holds.
pub fn insert_definition(root: &mut RootFs, definition: &[u8]) -> Result<()> {
    if let Some(old) = root.read(".singularity.d/Singularity") {
        let n = root
            .list(".singularity.d/bootstrap_history")
            .map_or(0, |l| l.len());
        root.add_file(
            &format!(".singularity.d/bootstrap_history/Apptainer{n}"),
            0o644,
            &old,
        )?;
    }
    root.add_file(".singularity.d/Singularity", 0o644, definition)
}
