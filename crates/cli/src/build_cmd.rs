//! `berth build --check DEF`: a definition file checked the way the builder will read it,
//! every problem with its line and column. (Building itself comes with the builders.)

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Context, Result};
use berth_build::Definition;
use clap::Args;

#[derive(Args)]
pub struct BuildArgs {
    /// Only check the definition file (the one mode of this version).
    #[arg(long, required = true)]
    check: bool,
    /// The definition file.
    definition: PathBuf,
}

/// `Ok(true)` when the file is valid.
pub fn run(a: &BuildArgs) -> Result<bool> {
    debug_assert!(a.check);
    let bytes = std::fs::read(&a.definition)
        .with_context(|| format!("cannot read {}", a.definition.display()))?;
    let Ok(text) = String::from_utf8(bytes) else {
        bail!("{}: not UTF-8 text", a.definition.display());
    };
    let shown = a.definition.display();
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
            let executing = def.executing_sections();
            if def.local_buildable() {
                writeln!(
                    out,
                    "Nothing in it runs inside the container: building it needs no root."
                )?;
            } else if executing.is_empty() {
                writeln!(
                    out,
                    "Its bootstrap agent needs a builder with root or a remote builder."
                )?;
            } else {
                let names: Vec<String> =
                    executing.iter().map(|k| format!("%{}", k.name())).collect();
                writeln!(
                    out,
                    "{} run{} inside the container: it needs a remote builder (or root).",
                    names.join(", "),
                    if names.len() == 1 { "s" } else { "" }
                )?;
            }
            Ok(true)
        }
    }
}
