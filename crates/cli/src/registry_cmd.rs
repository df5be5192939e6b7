//! `berth registry …`: OCI registry logins, with passwords only in the system keychain.

use std::io::{BufRead, Write};
use std::sync::Arc;

use anyhow::{Context, Result};
use berth_core::credentials::{KeychainStore, Token};
use berth_core::registries::{RegistryLoginSource, RegistryLogins};
use berth_core::AppDirs;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum RegistryCommand {
    /// Store a username and password (or token) for an OCI registry in the system keychain.
    Login {
        /// The registry: host[:port] (docker.io, ghcr.io, registry.example.com:5000).
        host: String,
        /// The username on the registry.
        #[arg(long, short = 'u')]
        username: String,
        /// Read the password from standard input instead of asking for it.
        #[arg(long)]
        password_stdin: bool,
    },
    /// Forget Berth's login for a registry (Docker's config.json is never changed).
    Logout { host: String },
    /// List registry logins: Berth's, then those found in Docker's config.json.
    List,
}

fn logins() -> Result<RegistryLogins> {
    Ok(RegistryLogins::new(
        &AppDirs::from_env()?,
        Arc::new(KeychainStore::new()),
    ))
}

/// The first line of standard input, without its line ending.
fn password_from_stdin() -> Result<Token> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read the password from standard input")?;
    let len = line.trim_end_matches(['\n', '\r']).len();
    line.truncate(len);
    // Moved, not copied: the Token wipes it when dropped.
    Ok(Token::from(line))
}

pub fn run(cmd: RegistryCommand) -> Result<()> {
    let r = logins()?;
    let mut out = std::io::stdout().lock();
    match cmd {
        RegistryCommand::Login {
            host,
            username,
            password_stdin,
        } => {
            let password = if password_stdin {
                password_from_stdin()?
            } else {
                Token::new(crate::passphrase::prompt(&format!(
                    "Password or token for {username} on {host}"
                ))?)
            };
            let host = r.login(&host, &username, &password)?;
            writeln!(
                out,
                "Login for {username} on {host} stored in the system keychain."
            )?;
        }
        RegistryCommand::Logout { host } => {
            if r.logout(&host)? {
                writeln!(
                    out,
                    "Logged out of {host}: its password was removed from the keychain."
                )?;
            } else {
                writeln!(out, "Berth had no login for {host}.")?;
            }
        }
        RegistryCommand::List => {
            let list = r.list()?;
            if list.is_empty() {
                writeln!(
                    out,
                    "No registry logins: add one with `berth registry login HOST --username USER`."
                )?;
                return Ok(());
            }
            writeln!(
                out,
                "{:<36} {:<24} {:<14} NOTE",
                "HOST", "USERNAME", "SOURCE"
            )?;
            for v in &list {
                let source = match v.source {
                    RegistryLoginSource::Berth => "berth",
                    RegistryLoginSource::DockerConfig => "docker-config",
                };
                writeln!(
                    out,
                    "{:<36} {:<24} {:<14} {}",
                    v.host,
                    if v.username.is_empty() {
                        "-"
                    } else {
                        &v.username
                    },
                    source,
                    v.note.as_deref().unwrap_or("")
                )?;
            }
        }
    }
    Ok(())
}
