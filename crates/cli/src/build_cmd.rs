//! `berth build`: a definition file checked (`--check`), built on this computer when it runs
//! nothing inside the image, or on the remote's build service (`--remote`) with its log
//! followed and the image pulled back; `--detached` submits only, `--attach ID` follows a
//! submitted build.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context, Result};
use berth_build::Definition;
use berth_core::model_build::{BuildMode, BuildRequest};
use berth_core::model_transfer::JobResult;
use clap::Args;

use crate::transfer_cmd::{run_job, transfers};

#[derive(Args)]
pub struct BuildArgs {
    /// Only check the definition file: every problem with its line and column.
    #[arg(long, conflicts_with_all = ["remote", "detached", "attach"])]
    check: bool,
    /// Build on the remote's build service (needed when the definition runs commands
    /// inside the image: %post, %setup, %test).
    #[arg(short = 'r', long)]
    remote: bool,
    /// The remote whose build service and library are used (default: the default remote).
    #[arg(long, value_name = "NAME")]
    remote_name: Option<String>,
    /// The build service's address, instead of the one the remote advertises.
    #[arg(long, value_name = "URL")]
    builder: Option<String>,
    /// Architecture to build for (default: this machine's).
    #[arg(long)]
    arch: Option<String>,
    /// Where the build service puts the image (`library://entity/collection/container:tag`;
    /// default: a temporary place it picks).
    #[arg(long, value_name = "REF")]
    library: Option<String>,
    /// Submit the build and return; follow it later with `--attach ID`.
    #[arg(short = 'd', long)]
    detached: bool,
    /// Follow a submitted build and pull its image to OUT.
    #[arg(long, value_name = "ID", conflicts_with = "detached")]
    attach: Option<String>,
    /// Replace an existing output file.
    #[arg(short = 'F', long)]
    force: bool,
    /// A value for the definition's `{{ NAME }}` placeholders (repeat for more; over the
    /// defaults of its %arguments section).
    #[arg(long, value_name = "NAME=VALUE")]
    build_arg: Vec<String>,
    /// `--check DEF`; `OUT.sif DEF`; `--attach ID OUT.sif`.
    #[arg(num_args = 1..=2, value_names = ["OUT", "DEF"], required = true)]
    args: Vec<String>,
}

/// `Ok(false)` when a checked file has errors.
pub fn run(a: &BuildArgs) -> Result<bool> {
    if a.check {
        let [def] = a.args.as_slice() else {
            bail!("give only the definition file to check");
        };
        return check(Path::new(def));
    }
    let (out, def_path) = match (a.args.as_slice(), &a.attach) {
        ([out], Some(_)) => (out.clone(), None),
        ([out, def], None) => (out.clone(), Some(PathBuf::from(def))),
        (_, Some(_)) => bail!("with --attach give only the output file"),
        _ => bail!("give the output file and the definition file: berth build OUT.sif DEF"),
    };
    let definition = match &def_path {
        Some(p) => read_text(p)?,
        None => String::new(),
    };
    let mode = if a.remote || a.attach.is_some() {
        BuildMode::Remote
    } else {
        berth_core::builds::parse_definition(&definition)
            .map_err(|e| anyhow::anyhow!("{e}\nHint: run `berth build --check` on it"))?;
        if let Some(why) = berth_core::builds::check_definition(&definition).local_reason {
            bail!("{why}\nHint: build it on the remote's build service with --remote");
        }
        BuildMode::Local
    };
    let req = BuildRequest {
        definition,
        definition_path: def_path.map(|p| p.display().to_string()),
        mode,
        remote: a.remote_name.clone(),
        builder_url: a.builder.clone(),
        arch: a.arch.clone(),
        destination: Some(out),
        library_ref: a.library.clone(),
        detached: a.detached,
        force: a.force,
        attach: a.attach.clone(),
        build_args: a.build_arg.clone(),
    };
    let t = transfers()?;
    let view = run_job(&t, |t| {
        let job = t.begin_build(&req, None)?;
        Ok((job, berth_core::jobs::JobRequest::Build(req.clone())))
    })?;
    let Some(JobResult::Built(b)) = view.result else {
        bail!("the build ended without a result");
    };
    let mut err = std::io::stderr().lock();
    if b.detached {
        let id = b.build_id.unwrap_or_default();
        writeln!(
            err,
            "Build {id} submitted; its image will be at {}",
            b.library_ref.unwrap_or_default()
        )?;
        writeln!(
            err,
            "Follow it and fetch the image: berth build --attach {id} OUT.sif"
        )?;
    } else if let Some(path) = &b.path {
        writeln!(err, "Built {path} ({})", b.hash.unwrap_or_default())?;
    }
    Ok(true)
}

fn read_text(path: &Path) -> Result<String> {
    let bytes = std::fs::read(path).with_context(|| format!("cannot read {}", path.display()))?;
    String::from_utf8(bytes).map_err(|_| anyhow::anyhow!("{}: not UTF-8 text", path.display()))
}

/// `Ok(true)` when the file is valid.
fn check(path: &Path) -> Result<bool> {
    let text = read_text(path)?;
    let shown = path.display();
    let mut err = std::io::stderr().lock();
    match Definition::parse(&text) {
        Err(errors) => {
            for e in errors.errors() {
                writeln!(err, "{shown}:{}:{}: {}", e.line, e.column, e.message)?;
                writeln!(err, "  hint: {}", e.hint())?;
            }
            Ok(false)
        }
        Ok(def) => {
            for w in def.warnings() {
                writeln!(
                    err,
                    "{shown}:{}:{}: warning: {}",
                    w.line, w.column, w.message
                )?;
            }
            let mut out = std::io::stdout().lock();
            let stages = def.stages();
            let bases: Vec<String> = stages
                .iter()
                .map(|s| {
                    format!(
                        "{}{}",
                        s.bootstrap().unwrap_or_default(),
                        s.from().map(|f| format!(" {f}")).unwrap_or_default()
                    )
                })
                .collect();
            writeln!(
                out,
                "{shown}: valid, {} stage{} ({})",
                stages.len(),
                if stages.len() == 1 { "" } else { "s" },
                bases.join("; ")
            )?;
            match berth_core::builds::check_definition(&text).local_reason {
                None => writeln!(
                    out,
                    "Berth builds it on this computer, without root: `berth build OUT.sif {shown}`."
                )?,
                Some(why) => writeln!(
                    out,
                    "{why}\nBuild it on the remote's build service: `berth build --remote OUT.sif {shown}`."
                )?,
            }
            Ok(true)
        }
    }
}
