//! `berth verify`: check an image's signatures, with Apptainer's output and exit status.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context, Result};
use berth_integrity::{
    DssePublicKey, KeyPaths, KeySource, Keyring, Scheme, Selection, VerifyOptions, VerifyReport,
};
use berth_sif::{Image, Link};
use clap::Args;
use serde_json::json;

#[derive(Args)]
pub struct VerifyArgs {
    /// The image to verify.
    file: PathBuf,
    /// Verify only this object.
    #[arg(long, conflicts_with_all = ["group_id", "all"])]
    sif_id: Option<u32>,
    /// Verify only this object group.
    #[arg(long, conflicts_with = "all")]
    group_id: Option<u32>,
    /// With --legacy-insecure: verify every object.
    #[arg(long, requires = "legacy_insecure")]
    all: bool,
    /// Also accept legacy (Singularity 3.0–3.5) signatures, which do not protect metadata.
    #[arg(long)]
    legacy_insecure: bool,
    /// Also trust the OpenPGP public keys in this file (binary or armored).
    #[arg(long)]
    keyring: Vec<PathBuf>,
    /// Verify DSSE signatures with this PEM public key.
    #[arg(long)]
    key: Vec<PathBuf>,
    /// Print the result as JSON.
    #[arg(long)]
    json: bool,
    /// Use only keys already in the keyrings: do not fetch a missing signer's key from the
    /// keyserver.
    #[arg(long)]
    local: bool,
    /// Keyserver to fetch missing signer keys from (default: Berth's keyserver setting).
    #[arg(long, conflicts_with = "local")]
    url: Option<String>,
}

/// Verifies; `Ok(false)` when the image did not verify (exit status 255, as Apptainer).
pub fn run(a: &VerifyArgs) -> Result<bool> {
    let keyring = Keyring::open(KeyPaths::from_env()?);
    let mut pgp = keyring.verification_certs()?;
    for file in &a.keyring {
        let bytes = std::fs::read(file).with_context(|| file.display().to_string())?;
        for cert in berth_integrity::parse_key_material(&bytes)
            .with_context(|| file.display().to_string())?
        {
            pgp.push((cert, KeySource::Local));
        }
    }
    let mut dsse_keys = Vec::new();
    for file in &a.key {
        let pem = std::fs::read_to_string(file).with_context(|| file.display().to_string())?;
        dsse_keys.push(DssePublicKey::from_pem(&pem).with_context(|| file.display().to_string())?);
    }
    let selection = match (a.sif_id, a.group_id) {
        (Some(id), _) => Selection::Objects(vec![id]),
        (None, Some(g)) => Selection::Group(g),
        (None, None) => Selection::AllGroups,
    };
    let opts = VerifyOptions {
        selection,
        legacy: a.legacy_insecure,
        legacy_all: a.all,
        pgp,
        dsse_keys,
    };
    if a.key.is_empty() {
        eprintln!("Verifying image with PGP key material");
    } else {
        eprintln!(
            "Verifying image with key material from {}",
            a.key[0].display()
        );
    }
    let mut report = berth_integrity::verify(&a.file, &opts)?;
    let missing = berth_core::keys::missing_signers(&report);
    if !missing.is_empty() && !a.local && a.key.is_empty() {
        let servers = crate::key_cmd::keys_with(a.url.as_deref())?.keyservers()?;
        let urls: Vec<&str> = servers.iter().map(|s| s.url()).collect();
        eprintln!(
            "Signer key not in the keyrings: fetching it from {} (--local avoids this)",
            urls.join(", ")
        );
        report = berth_core::keys::verify_with_fetched(&a.file, opts, &servers, &missing)?;
    }
    let image = Image::open_table(&a.file).with_context(|| a.file.display().to_string())?;
    let mut out = std::io::stdout().lock();
    if a.json {
        serde_json::to_writer_pretty(&mut out, &json_report(&report, &image))?;
        writeln!(out)?;
    } else {
        write_text(&mut out, &report, &image)?;
    }
    match &report.error {
        None if report.ok => eprintln!("Verified signature(s) from image '{}'", a.file.display()),
        error => eprintln!(
            "Failed to verify container: {}",
            error.as_deref().unwrap_or("verification failed")
        ),
    }
    Ok(report.ok)
}

fn source_tag(s: Option<KeySource>) -> &'static str {
    match s {
        Some(KeySource::Local) => "[LOCAL]",
        Some(KeySource::Global) => "[GLOBAL]",
        Some(KeySource::Remote) => "[REMOTE]",
        None => "[UNKNOWN]",
    }
}

fn write_text(
    out: &mut impl Write,
    report: &VerifyReport,
    image: &Image<std::fs::File>,
) -> std::io::Result<()> {
    for sig in &report.signatures {
        match sig.scheme {
            Scheme::Dsse => writeln!(
                out,
                "{:<18} Signature object {}: DSSE (key file)",
                "[KEY]", sig.signature_id
            )?,
            _ => {
                let tag = source_tag(sig.key_source);
                writeln!(
                    out,
                    "{tag:<18} Signing entity: {}",
                    sig.signer.as_deref().unwrap_or("unknown")
                )?;
                writeln!(
                    out,
                    "{tag:<18} Fingerprint: {}",
                    sig.fingerprint.as_deref().unwrap_or("")
                )?;
            }
        }
        if let Some(m) = &sig.message {
            writeln!(out, "Error encountered during signature verification: {m}")?;
        }
        writeln!(out, "Objects verified:")?;
        writeln!(out, "ID  |GROUP   |LINK    |TYPE")?;
        writeln!(out, "------------------------------------------------")?;
        for id in &sig.objects {
            if let Ok(d) = image.descriptor(*id) {
                let group = if d.group_id == 0 {
                    "NONE".to_owned()
                } else {
                    d.group_id.to_string()
                };
                let link = match d.link {
                    Link::None => "NONE".to_owned(),
                    Link::Object(i) => i.to_string(),
                    Link::Group(g) => format!("{g} (G)"),
                };
                writeln!(
                    out,
                    "{:<4}|{group:<8}|{link:<8}|{}",
                    d.id,
                    d.data_type.siftool_name()
                )?;
            }
        }
    }
    Ok(())
}

/// Apptainer's `verify --json` layout: one entry per verified object.
fn json_report(report: &VerifyReport, image: &Image<std::fs::File>) -> serde_json::Value {
    let mut keys = Vec::new();
    for sig in &report.signatures {
        for id in &sig.objects {
            let partition = image
                .descriptor(*id)
                .map(|d| d.data_type.siftool_name())
                .unwrap_or("unknown");
            keys.push(json!({ "Signer": {
                "Partition": partition,
                "Name": sig.signer.clone().unwrap_or_else(|| "unknown".into()),
                "Fingerprint": sig.fingerprint.clone().unwrap_or_default().to_lowercase(),
                "KeyLocal": matches!(sig.key_source, Some(KeySource::Local | KeySource::Global)),
                "KeyCheck": sig.message.is_none(),
                "DataCheck": sig.message.is_none(),
            }}));
        }
    }
    json!({ "Signatures": report.signatures.len(), "SignerKeys": keys })
}
