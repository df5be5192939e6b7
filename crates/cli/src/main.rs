//! `berth`: Berth's command line, over the same core as the desktop app.

mod build_cmd;
mod inspect_cmd;
mod key_cmd;
mod library_cmd;
mod passphrase;
mod registry_cmd;
mod remote_cmd;
mod sif_cmd;
mod siftool_text;
mod sign_cmd;
mod tabwriter;
mod transfer_cmd;
mod verify_cmd;

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "berth",
    version,
    about = "Manage Apptainer/Singularity SIF images and container libraries"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Read and edit SIF files (the same commands, options and output as siftool).
    #[command(subcommand)]
    Sif(sif_cmd::SifCommand),
    /// Show the metadata of a container (labels by default), like `apptainer inspect`.
    Inspect(inspect_cmd::InspectArgs),
    /// Manage OpenPGP keys in Apptainer's keyrings (~/.apptainer/keys).
    #[command(subcommand)]
    Key(key_cmd::KeyCommand),
    /// Manage library remotes (tokens live only in the system keychain).
    #[command(subcommand)]
    Remote(remote_cmd::RemoteCommand),
    /// Manage OCI registry logins (passwords live only in the system keychain).
    #[command(subcommand)]
    Registry(registry_cmd::RegistryCommand),
    /// Search the library of a remote (as `apptainer search`).
    Search(library_cmd::SearchArgs),
    /// Delete an image from the library of a remote (as `apptainer delete`).
    Delete(library_cmd::DeleteArgs),
    /// Upload a SIF image to a library (as `apptainer push`).
    Push(transfer_cmd::PushArgs),
    /// Download an image from a library, checked and resumable (as `apptainer pull`).
    Pull(transfer_cmd::PullArgs),
    /// List or clean the cache of pulled images.
    #[command(subcommand)]
    Cache(transfer_cmd::CacheCommand),
    /// Sign an image with a key from the secret keyring (as `apptainer sign`).
    Sign(sign_cmd::SignArgs),
    /// Verify an image's signatures (as `apptainer verify`; exit status 0 only when verified).
    Verify(verify_cmd::VerifyArgs),
    /// Build a SIF from a definition file: here when nothing runs inside the image, else on
    /// the remote's build service (--remote); --check only checks it (exit status 1 on errors).
    Build(build_cmd::BuildArgs),
    /// Developer tasks.
    #[command(subcommand, hide = true)]
    Dev(DevCommand),
}

#[derive(Subcommand)]
enum DevCommand {
    /// Regenerate the UI's TypeScript bindings into DIR.
    Bindings { dir: PathBuf },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Sif(cmd) => sif_cmd::run(cmd),
        Command::Inspect(args) => inspect_cmd::run(&args),
        Command::Key(cmd) => key_cmd::run(cmd),
        Command::Remote(cmd) => remote_cmd::run(cmd),
        Command::Registry(cmd) => registry_cmd::run(cmd),
        Command::Search(args) => library_cmd::search(&args),
        Command::Delete(args) => library_cmd::delete(&args),
        Command::Push(args) => transfer_cmd::push(&args),
        Command::Pull(args) => transfer_cmd::pull(&args),
        Command::Cache(cmd) => transfer_cmd::cache(cmd),
        Command::Sign(args) => sign_cmd::run(&args),
        Command::Verify(args) => match verify_cmd::run(&args) {
            // Apptainer's status for "did not verify", so scripts can tell it from usage errors.
            Ok(false) => return ExitCode::from(255),
            other => other.map(|_| ()),
        },
        Command::Build(args) => match build_cmd::run(&args) {
            Ok(false) => return ExitCode::FAILURE,
            other => other.map(|_| ()),
        },
        Command::Dev(DevCommand::Bindings { dir }) => berth_core::bindings::write_all(&dir)
            .map_err(|e| anyhow::anyhow!("{}: {e}", dir.display())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // A closed pipe (`berth sif dump … | head`) is not an error worth a message.
            if e.downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
            {
                return ExitCode::SUCCESS;
            }
            let _ = writeln!(std::io::stderr(), "Error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
