//! `berth key …`: Apptainer's keyrings (same files, same format), from the command line.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{bail, Result};
use berth_integrity::{KeyInfo, KeyPaths, Keyring, NewKey, NewKeyAlgorithm};
use clap::{Subcommand, ValueEnum};

use crate::passphrase;

#[derive(Subcommand)]
pub enum KeyCommand {
    /// Create a new key pair (RSA 4096 by default, as Apptainer).
    Newpair {
        /// Name in the user id.
        #[arg(long)]
        name: String,
        /// E-mail in the user id.
        #[arg(long)]
        email: String,
        /// Optional comment in the user id.
        #[arg(long, default_value = "")]
        comment: String,
        /// Key algorithm.
        #[arg(long, value_enum, default_value_t = Algorithm::Rsa4096)]
        algorithm: Algorithm,
        /// Read the passphrase from this file instead of asking; an empty file means none.
        #[arg(long)]
        passphrase_file: Option<PathBuf>,
    },
    /// List keys (public by default).
    List {
        /// List secret keys.
        #[arg(long)]
        secret: bool,
    },
    /// Import keys from a file (binary or ASCII-armored, public or secret).
    Import {
        file: PathBuf,
        /// Re-encrypt imported secret keys with the passphrase in this file.
        #[arg(long)]
        new_passphrase_file: Option<PathBuf>,
    },
    /// Export a key to a file.
    Export {
        fingerprint: String,
        file: PathBuf,
        /// Export the secret key.
        #[arg(long)]
        secret: bool,
        /// ASCII-armor the output.
        #[arg(long)]
        armor: bool,
    },
    /// Remove a key (public and secret) from the local keyrings.
    Remove { fingerprint: String },
    /// Search the keyserver for keys.
    Search {
        query: String,
        /// Keyserver URL (default: Berth's keyserver setting).
        #[arg(long)]
        url: Option<String>,
    },
    /// Fetch a key from the keyserver into the local public keyring.
    Pull {
        fingerprint: String,
        /// Keyserver URL (default: Berth's keyserver setting).
        #[arg(long)]
        url: Option<String>,
    },
    /// Publish a local PUBLIC key on the keyserver.
    Push {
        fingerprint: String,
        /// Keyserver URL (default: Berth's keyserver setting).
        #[arg(long)]
        url: Option<String>,
    },
}

/// Berth's key service, with the keyservers of its settings or the one given.
pub fn keys_with(url: Option<&str>) -> Result<berth_core::Keys> {
    let settings = std::sync::Arc::new(berth_core::SettingsStore::new(
        &berth_core::AppDirs::from_env()?,
    ));
    let keys = berth_core::Keys::from_env(settings)?;
    Ok(match url {
        Some(url) => keys.with_keyservers(vec![url.to_owned()]),
        None => keys,
    })
}

#[derive(Clone, Copy, ValueEnum)]
pub enum Algorithm {
    Rsa4096,
    Rsa3072,
    Ed25519,
}

pub fn run(cmd: KeyCommand) -> Result<()> {
    let keyring = Keyring::open(KeyPaths::from_env()?);
    let mut out = std::io::stdout().lock();
    match cmd {
        KeyCommand::Newpair {
            name,
            email,
            comment,
            algorithm,
            passphrase_file,
        } => {
            let passphrase = match passphrase_file {
                Some(f) => passphrase::from_file(&f)?,
                None => {
                    let first = passphrase::prompt("Enter a passphrase (empty for none)")?;
                    if passphrase::prompt("Retype the passphrase")? != first {
                        bail!("the passphrases do not match; nothing was created");
                    }
                    first
                }
            };
            let algorithm = match algorithm {
                Algorithm::Rsa4096 => NewKeyAlgorithm::Rsa4096,
                Algorithm::Rsa3072 => NewKeyAlgorithm::Rsa3072,
                Algorithm::Ed25519 => NewKeyAlgorithm::Ed25519,
            };
            let info = keyring.generate(NewKey {
                name,
                email,
                comment,
                passphrase: (!passphrase.is_empty()).then_some(passphrase),
                algorithm,
            })?;
            writeln!(out, "Generated key pair {}", info.fingerprint)?;
        }
        KeyCommand::List { secret } => {
            let keys = if secret {
                keyring.secret_keys()?
            } else {
                keyring.public_keys()?
            };
            writeln!(
                out,
                "{} {} key(s):",
                keys.len(),
                if secret { "secret" } else { "public" }
            )?;
            for k in &keys {
                write_key(&mut out, k)?;
            }
        }
        KeyCommand::Import {
            file,
            new_passphrase_file,
        } => {
            let bytes =
                std::fs::read(&file).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            let new_pass = new_passphrase_file
                .map(|f| passphrase::from_file(&f))
                .transpose()?;
            for k in keyring.import(&bytes, new_pass.as_deref())? {
                writeln!(
                    out,
                    "Imported {}{}",
                    k.fingerprint,
                    if k.has_secret { " (secret)" } else { "" }
                )?;
            }
        }
        KeyCommand::Export {
            fingerprint,
            file,
            secret,
            armor,
        } => {
            let bytes = keyring.export(&fingerprint, secret, armor)?;
            std::fs::write(&file, bytes).map_err(|e| anyhow::anyhow!("{}: {e}", file.display()))?;
            writeln!(out, "Exported {fingerprint} to {}", file.display())?;
        }
        KeyCommand::Remove { fingerprint } => {
            keyring.remove(&fingerprint)?;
            writeln!(out, "Removed {fingerprint}")?;
        }
        KeyCommand::Search { query, url } => {
            let hits = keys_with(url.as_deref())?.search_keyservers(&query)?;
            writeln!(out, "Showing {} results", hits.len())?;
            for h in &hits {
                writeln!(out)?;
                writeln!(
                    out,
                    "F: {}{}",
                    h.fingerprint,
                    if h.revoked { " (revoked/expired)" } else { "" }
                )?;
                let bits = h.bits.map(|b| format!(" {b}")).unwrap_or_default();
                writeln!(
                    out,
                    "   {}{bits}{}",
                    h.algorithm,
                    if h.in_keyring {
                        ", in your keyring"
                    } else {
                        ""
                    }
                )?;
                for uid in &h.user_ids {
                    writeln!(out, "   U: {uid}")?;
                }
            }
        }
        KeyCommand::Pull { fingerprint, url } => {
            for k in keys_with(url.as_deref())?.pull(&fingerprint)? {
                writeln!(
                    out,
                    "Imported {} ({})",
                    k.fingerprint,
                    k.user_ids.first().map_or("", String::as_str)
                )?;
            }
        }
        KeyCommand::Push { fingerprint, url } => {
            let reply = keys_with(url.as_deref())?.push(&fingerprint)?;
            writeln!(out, "Published the public key {fingerprint}")?;
            if let Some(text) = reply.filter(|t| !t.trim().is_empty()) {
                writeln!(out, "Key server response: {}", text.trim())?;
            }
        }
    }
    Ok(())
}

fn write_key(out: &mut impl Write, k: &KeyInfo) -> std::io::Result<()> {
    writeln!(out)?;
    writeln!(
        out,
        "{})  U: {}",
        k.index,
        k.user_ids.first().map_or("(no user id)", String::as_str)
    )?;
    for uid in k.user_ids.iter().skip(1) {
        writeln!(out, "    U: {uid}")?;
    }
    writeln!(
        out,
        "    C: {}",
        crate::siftool_text::go_utc_time(k.created)
    )?;
    writeln!(out, "    F: {}", k.fingerprint)?;
    let mut flags = vec![k.algorithm.clone()];
    if k.global {
        flags.push("global".into());
    }
    if k.revoked {
        flags.push("revoked".into());
    }
    if let Some(e) = k.expires {
        flags.push(format!("expires {}", crate::siftool_text::go_utc_time(e)));
    }
    if k.has_secret {
        flags.push(
            if k.protected {
                "secret, passphrase"
            } else {
                "secret"
            }
            .into(),
        );
    }
    writeln!(out, "    L: {}", flags.join(", "))
}
