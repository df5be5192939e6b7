//! `berth remote …`: library remotes, with tokens only in the system keychain.

use std::io::Write;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::{bail, Result};
use berth_core::credentials::KeychainStore;
use berth_core::remote_yaml::{self, SourceFile};
use berth_core::remotes::{AddOptions, Remotes};
use berth_core::AppDirs;
use clap::Subcommand;

#[derive(Subcommand)]
pub enum RemoteCommand {
    /// Add a remote endpoint (host[:port] or URL of its front end).
    Add {
        name: String,
        uri: String,
        /// Talk plain http (only for servers you trust on your own network).
        #[arg(long)]
        insecure: bool,
        /// Extra CA certificates (PEM) to trust for this remote.
        #[arg(long)]
        ca: Option<PathBuf>,
        /// Proxy for this remote (http, https, socks5).
        #[arg(long)]
        proxy: Option<String>,
        /// Make it the default remote.
        #[arg(long)]
        default: bool,
    },
    /// List remotes.
    List,
    /// Make a remote the default.
    Use { name: String },
    /// Remove a remote and its token.
    Remove { name: String },
    /// Forget the remote's token (delete it from the keychain).
    Logout { name: Option<String> },
    /// Store an access token for the remote, after checking it with the remote.
    Login {
        name: Option<String>,
        /// Read the token from this file instead of asking for it.
        #[arg(long)]
        tokenfile: Option<PathBuf>,
        /// Replace a token that is already stored (otherwise Berth asks first).
        #[arg(long)]
        replace: bool,
    },
    /// Show the remote's services, their versions, and whether the token is valid.
    Status { name: Option<String> },
    /// Import remotes from Apptainer's and SingularityCE's remote.yaml files (never modified).
    Import {
        /// A remote.yaml to read (default: the user and system files Apptainer reads).
        file: Option<PathBuf>,
        /// Also move the tokens found in the files into the system keychain.
        #[arg(long)]
        with_tokens: bool,
        /// Only show what would be imported.
        #[arg(long)]
        dry_run: bool,
    },
}

/// A small runtime for the network calls of one command.
pub fn runtime() -> Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?)
}

pub fn remotes() -> Result<Remotes> {
    Ok(Remotes::new(
        &AppDirs::from_env()?,
        Arc::new(KeychainStore::new()),
    ))
}

/// Asks a yes/no question on the terminal; anything but yes (or no terminal) is no.
fn confirm(question: &str) -> Result<bool> {
    use std::io::IsTerminal;
    if !std::io::stdin().is_terminal() {
        return Ok(false);
    }
    eprint!("{question} [y/N] ");
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes" | "Yes"))
}

pub fn name_or_default(r: &Remotes, name: Option<String>) -> Result<String> {
    match name {
        Some(n) => Ok(n),
        None => match r.default()? {
            Some(d) => Ok(d.name),
            None => bail!("no default remote: name one, or add one with `berth remote add`"),
        },
    }
}

pub fn run(cmd: RemoteCommand) -> Result<()> {
    let r = remotes()?;
    let mut out = std::io::stdout().lock();
    match cmd {
        RemoteCommand::Add {
            name,
            uri,
            insecure,
            ca,
            proxy,
            default,
        } => {
            let opts = AddOptions {
                insecure_http: insecure,
                ca_file: ca,
                proxy,
                make_default: default.then_some(true),
            };
            let remote = r.add(&name, &uri, opts)?;
            writeln!(
                out,
                "Remote \"{}\" added ({}).",
                remote.name,
                remote.base_url()
            )?;
        }
        RemoteCommand::List => {
            let list = r.list()?;
            if list.is_empty() {
                writeln!(out, "No remotes yet: add one with `berth remote add NAME URI` or `berth remote import`.")?;
                return Ok(());
            }
            writeln!(
                out,
                "{:<16} {:<32} {:<8} {:<9} LOGGED IN",
                "NAME", "URI", "DEFAULT", "INSECURE"
            )?;
            for remote in &list {
                let logged_in = match r.has_token(&remote.name) {
                    Ok(true) => "yes",
                    Ok(false) => "no",
                    Err(_) => "unknown (keychain unavailable)",
                };
                writeln!(
                    out,
                    "{:<16} {:<32} {:<8} {:<9} {}",
                    remote.name,
                    remote.uri,
                    if remote.is_default { "YES" } else { "NO" },
                    if remote.insecure_http { "YES" } else { "NO" },
                    logged_in
                )?;
            }
        }
        RemoteCommand::Use { name } => {
            let remote = r.use_default(&name)?;
            writeln!(out, "Remote \"{}\" is now the default.", remote.name)?;
        }
        RemoteCommand::Remove { name } => {
            r.remove(&name)?;
            writeln!(out, "Remote \"{name}\" removed.")?;
        }
        RemoteCommand::Logout { name } => {
            let name = name_or_default(&r, name)?;
            if r.clear_token(&name)? {
                writeln!(
                    out,
                    "Logged out of \"{name}\": its token was removed from the keychain."
                )?;
            } else {
                writeln!(out, "\"{name}\" had no token stored.")?;
            }
        }
        RemoteCommand::Login {
            name,
            tokenfile,
            replace,
        } => {
            let name = name_or_default(&r, name)?;
            if r.has_token(&name)?
                && !replace
                && !confirm(&format!("\"{name}\" already has a token. Replace it?"))?
            {
                bail!("kept the stored token of \"{name}\" (use --replace to replace it without asking)");
            }
            let token = match tokenfile {
                Some(f) => crate::passphrase::from_file(&f)?,
                None => crate::passphrase::prompt(&format!(
                    "Access token for {name} (generate one on its web page)"
                ))?,
            };
            let libs = berth_core::libraries::Libraries::new(Arc::new(r));
            let status = runtime()?.block_on(libs.login(&name, &token))?;
            writeln!(
                out,
                "Token checked and stored in the system keychain for \"{name}\"."
            )?;
            if let Some(user) = status.user {
                writeln!(out, "Logged in as {user}.")?;
            }
        }
        RemoteCommand::Status { name } => {
            use berth_core::model_library::TokenState;
            let name = name_or_default(&r, name)?;
            let libs = berth_core::libraries::Libraries::new(Arc::new(r));
            let st = runtime()?.block_on(libs.status(&name))?;
            writeln!(out, "Remote {} ({})", st.remote.name, st.remote.base_url)?;
            if let Some(e) = &st.discovery_error {
                writeln!(out, "Service discovery failed: {}", e.message)?;
            }
            writeln!(out, "{:<12} {:<44} STATUS", "SERVICE", "URI")?;
            for svc in &st.services {
                let state = match (&svc.version, &svc.error) {
                    (Some(v), _) => format!("OK (version {v})"),
                    (None, Some(e)) => format!("error: {}", e.message),
                    (None, None) => "OK".to_owned(),
                };
                writeln!(out, "{:<12} {:<44} {state}", svc.name, svc.url)?;
            }
            let token = match st.token {
                TokenState::None => "none stored (berth remote login)".to_owned(),
                TokenState::Valid => format!(
                    "valid{}",
                    st.user
                        .map(|u| format!(", logged in as {u}"))
                        .unwrap_or_default()
                ),
                TokenState::Invalid => "rejected: expired or revoked (log in again)".to_owned(),
                TokenState::Unknown => "could not be checked".to_owned(),
            };
            writeln!(out, "Token: {token}")?;
        }
        RemoteCommand::Import {
            file,
            with_tokens,
            dry_run,
        } => {
            let sources = match file {
                Some(path) => vec![SourceFile {
                    path,
                    system: false,
                }],
                None => remote_yaml::default_sources(),
            };
            let candidates = remote_yaml::import_preview(&r, &sources)?;
            if candidates.is_empty() {
                writeln!(
                    out,
                    "No remotes found in {}.",
                    sources
                        .iter()
                        .map(|s| s.path.display().to_string())
                        .collect::<Vec<_>>()
                        .join(", ")
                )?;
                return Ok(());
            }
            for c in &candidates {
                let mut notes = Vec::new();
                if c.has_token {
                    notes.push(if with_tokens {
                        "token → keychain"
                    } else {
                        "token left behind"
                    });
                }
                if c.conflicts_with_existing {
                    notes.push("name already used");
                }
                if let Some(p) = &c.problem {
                    notes.push(p.message.as_str());
                }
                writeln!(
                    out,
                    "{:<16} {:<32} from {} {}",
                    c.name,
                    c.uri,
                    c.source_file.display(),
                    notes.join("; ")
                )?;
            }
            if dry_run {
                return Ok(());
            }
            let usable: Vec<_> = candidates
                .into_iter()
                .filter(|c| c.problem.is_none() && !c.conflicts_with_existing)
                .collect();
            let report = remote_yaml::import(&r, &usable, with_tokens)?;
            for i in &report.imported {
                writeln!(
                    out,
                    "Imported \"{}\"{}",
                    i.remote.name,
                    if i.token_stored {
                        " with its token"
                    } else {
                        ""
                    }
                )?;
            }
            for f in &report.failed {
                writeln!(out, "Not imported \"{}\": {}", f.name, f.error.message)?;
            }
        }
    }
    Ok(())
}
