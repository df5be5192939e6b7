//! `berth sign`: sign an image with a key from the local secret keyring, as `apptainer sign`.

use std::path::PathBuf;

use anyhow::{bail, Result};
use berth_integrity::{KeyPaths, KeySelector, Keyring, Selection, SignOptions};
use clap::Args;

use crate::passphrase;

#[derive(Args)]
pub struct SignArgs {
    /// The image to sign (a signature object is appended; nothing else changes).
    file: PathBuf,
    /// Index of the secret key to use, as `berth key list --secret` numbers them.
    #[arg(long)]
    keyidx: Option<usize>,
    /// Sign only this object (and only it, within its group).
    #[arg(long, conflicts_with = "group_id")]
    sif_id: Option<u32>,
    /// Sign only this object group.
    #[arg(long)]
    group_id: Option<u32>,
    /// Read the key's passphrase from this file instead of asking.
    #[arg(long)]
    passphrase_file: Option<PathBuf>,
}

pub fn run(a: &SignArgs) -> Result<()> {
    let keyring = Keyring::open(KeyPaths::from_env()?);
    let secrets = keyring.secret_keys()?;
    let key = match (a.keyidx, secrets.len()) {
        (Some(i), _) => secrets.iter().find(|k| k.index == i).ok_or_else(|| {
            anyhow::anyhow!(
                "no secret key with index {i}; `berth key list --secret` shows the keys"
            )
        })?,
        (None, 0) => {
            bail!("no secret key in the keyring: create one with `berth key newpair` or import one")
        }
        (None, 1) => &secrets[0],
        (None, _) => {
            bail!("several secret keys: choose one with --keyidx (see `berth key list --secret`)")
        }
    };
    let pass = match (&a.passphrase_file, key.protected) {
        (Some(f), _) => Some(passphrase::from_file(f)?),
        (None, true) => Some(passphrase::prompt(&format!(
            "Passphrase for {}",
            key.fingerprint
        ))?),
        (None, false) => None,
    };
    let signer = keyring.signer(
        KeySelector::Fingerprint(key.fingerprint.clone()),
        pass.as_deref(),
    )?;
    let selection = match (a.sif_id, a.group_id) {
        (Some(id), _) => Selection::Objects(vec![id]),
        (None, Some(g)) => Selection::Group(g),
        (None, None) => Selection::AllGroups,
    };
    eprintln!("Signing image: {}", a.file.display());
    let ids = berth_integrity::sign(
        &a.file,
        &signer,
        &SignOptions {
            selection,
            time: None,
            deterministic: false,
        },
    )?;
    let ids: Vec<String> = ids.iter().map(u32::to_string).collect();
    eprintln!(
        "Signature created and applied to image '{}' (signature object {})",
        a.file.display(),
        ids.join(", ")
    );
    Ok(())
}
