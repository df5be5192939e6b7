//! Passphrases for secret keys: from a file for scripts, else asked on the terminal.
//! Never echoed, never logged, never kept after the operation.

use std::path::Path;

use anyhow::{Context, Result};

/// The passphrase in `file` (first line, without its newline).
pub fn from_file(file: &Path) -> Result<String> {
    let text = std::fs::read_to_string(file).with_context(|| file.display().to_string())?;
    Ok(text.lines().next().unwrap_or_default().to_owned())
}

/// Asks on the terminal, without echo.
pub fn prompt(what: &str) -> Result<String> {
    rpassword::prompt_password(format!("{what}: "))
        .context("cannot read a passphrase from the terminal (use --passphrase-file)")
}
