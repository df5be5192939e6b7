//! `berth search` and `berth delete`: the default (or named) remote's library.

use std::io::Write;
use std::sync::Arc;

use anyhow::Result;
use berth_core::libraries::Libraries;
use clap::Args;

use crate::remote_cmd::{name_or_default, remotes, runtime};

#[derive(Args)]
pub struct SearchArgs {
    /// What to look for (at least 3 characters).
    query: String,
    /// Only images for this architecture.
    #[arg(long)]
    arch: Option<String>,
    /// Only signed images.
    #[arg(long)]
    signed: bool,
    /// The remote (default: the default remote).
    #[arg(long)]
    remote: Option<String>,
    /// Print the results as JSON.
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct DeleteArgs {
    /// `library://entity/collection/container:tag` or `…:sha256.<hex>`.
    reference: String,
    /// Architecture of the image to delete.
    #[arg(long)]
    arch: Option<String>,
    /// The remote (default: the default remote).
    #[arg(long)]
    remote: Option<String>,
}

pub fn search(a: &SearchArgs) -> Result<()> {
    let r = remotes()?;
    let name = name_or_default(&r, a.remote.clone())?;
    let libs = Libraries::new(Arc::new(r));
    let found = runtime()?.block_on(libs.search(&name, &a.query, a.arch.clone(), a.signed))?;
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &found)?;
        writeln!(out)?;
        return Ok(());
    }
    let total = found.entities.len()
        + found.collections.len()
        + found.containers.len()
        + found.images.len();
    if total == 0 {
        writeln!(out, "No results for \"{}\".", a.query)?;
        return Ok(());
    }
    if !found.containers.is_empty() {
        writeln!(
            out,
            "Found {} containers for '{}'",
            found.containers.len(),
            a.query
        )?;
        for c in &found.containers {
            writeln!(out, "\t{}\n\t\t{}", c.reference, c.description)?;
        }
    }
    if !found.images.is_empty() {
        writeln!(out, "Found {} images for '{}'", found.images.len(), a.query)?;
        for i in &found.images {
            let signed = if i.signed == Some(true) {
                " (signed)"
            } else {
                ""
            };
            writeln!(
                out,
                "\t{}  {}{signed}",
                i.reference,
                i.arch.as_deref().unwrap_or("")
            )?;
        }
    }
    if !found.collections.is_empty() {
        writeln!(
            out,
            "Found {} collections for '{}'",
            found.collections.len(),
            a.query
        )?;
        for c in &found.collections {
            writeln!(out, "\t{}", c.reference)?;
        }
    }
    if !found.entities.is_empty() {
        writeln!(
            out,
            "Found {} users for '{}'",
            found.entities.len(),
            a.query
        )?;
        for e in &found.entities {
            writeln!(out, "\tlibrary://{e}")?;
        }
    }
    Ok(())
}

pub fn delete(a: &DeleteArgs) -> Result<()> {
    let r = remotes()?;
    let name = name_or_default(&r, a.remote.clone())?;
    let libs = Libraries::new(Arc::new(r));
    runtime()?.block_on(libs.delete(&name, &a.reference, a.arch.as_deref()))?;
    writeln!(std::io::stdout(), "Deleted {}", a.reference)?;
    Ok(())
}
