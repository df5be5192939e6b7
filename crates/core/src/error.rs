//! The core's error type and its stable, UI-facing form.

use std::path::PathBuf;

use serde::Serialize;
use ts_rs::TS;

/// What can go wrong in the core. Each variant maps to one stable [`ApiError::code`].
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The SIF library refused the file (bad magic, truncated, out-of-bounds objects...).
    #[error("{path}: {source}")]
    Sif {
        /// The image that could not be read.
        path: PathBuf,
        /// What the SIF reader found.
        #[source]
        source: berth_sif::Error,
    },
    /// The primary partition's SquashFS could not be read.
    #[error("{path}: cannot read the container file system: {reason}")]
    Squashfs {
        /// The image whose partition failed.
        path: PathBuf,
        /// What the SquashFS reader said.
        reason: String,
    },
    /// The image has a primary partition that is not SquashFS, so its metadata cannot be read.
    #[error("{path}: the primary partition is {fs_type}, not SquashFS")]
    UnsupportedPartition {
        /// The image.
        path: PathBuf,
        /// The partition's file-system type name.
        fs_type: String,
    },
    /// A file-system operation failed.
    #[error("{path}: {source}")]
    Io {
        /// The file or folder involved.
        path: PathBuf,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// A state file of Berth's own could not be parsed; it is left untouched.
    #[error("{path}: not a valid Berth state file: {reason}")]
    StateFile {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        reason: String,
    },
    /// A path that is not a regular file or folder (a FIFO, a device, a socket).
    #[error("{path}: not a regular file")]
    NotARegularFile {
        /// The path.
        path: PathBuf,
    },
    /// A path Berth cannot show or name again (not valid UTF-8).
    #[error("{}: the path is not valid UTF-8", path.display())]
    UnsupportedPath {
        /// The path.
        path: PathBuf,
    },
    /// Keys, signing or verification failed.
    #[error(transparent)]
    Integrity(#[from] berth_integrity::Error),
    /// A keyserver could not be used.
    #[error(transparent)]
    Keyserver(#[from] berth_keyserver::Error),
    /// A library call failed (the server's message is kept).
    #[error(transparent)]
    Library(#[from] berth_library::Error),
    /// A registry call (docker://, oras://) failed.
    #[error(transparent)]
    Oci(#[from] berth_oci::Error),
    /// Building a SIF from layers (docker:// conversion) failed.
    #[error(transparent)]
    SifBuild(#[from] berth_sifbuild::Error),
    /// The remote's discovery document names no library service.
    #[error("remote \"{name}\" has no library service")]
    RemoteWithoutLibrary {
        /// The remote.
        name: String,
    },
    /// The remote advertises no build service and no builder URL was given.
    #[error("remote \"{name}\" has no build service")]
    RemoteWithoutBuilder {
        /// The remote.
        name: String,
    },
    /// The definition file does not parse.
    #[error("the definition file has {count} error(s); the first, line {line}: {first}")]
    DefinitionInvalid {
        /// Errors found.
        count: usize,
        /// Line of the first.
        line: u32,
        /// The first error's message.
        first: String,
    },
    /// An unsaved definition copies files by relative path: there is no folder to read
    /// them from.
    #[error("%files on line {line} names a relative path, but the definition is not saved in a folder yet")]
    UnsavedRelativeFiles {
        /// The `%files` line.
        line: usize,
    },
    /// A base image that `Fingerprints:` pins is not signed by those keys.
    #[error("Fingerprints: {reason}")]
    BaseNotSignedAsRequired {
        /// What is missing.
        reason: String,
    },
    /// A build argument not written `NAME=VALUE`.
    #[error("build argument {text:?} is not NAME=VALUE")]
    InvalidBuildArgument {
        /// What was given.
        text: String,
    },
    /// Placeholders of the definition with no value.
    #[error("{0}")]
    BuildArgumentsMissing(#[from] berth_build::MissingArguments),
    /// The job is not a remote build with a build to follow.
    #[error("this job has no remote build to attach to")]
    NothingToAttach,
    /// A file opened as a definition file is not one (binary, or far too large).
    #[error("{path}: not a definition file ({reason})")]
    NotADefinitionFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The definition cannot be built by a build service.
    #[error("this definition cannot be built remotely: {reason}")]
    RemoteBuildUnsupported {
        /// Why.
        reason: String,
    },
    /// A local build was asked for a definition that runs scripts at build time.
    #[error(
        "the definition runs {sections} while it is built; a build without root cannot run them"
    )]
    BuildNeedsRemote {
        /// The sections, e.g. `%post, %setup`.
        sections: String,
    },
    /// A local build was asked for a bootstrap agent it cannot start from.
    #[error("Bootstrap: {agent} needs a build service; a build without root starts from docker, library, oras, localimage or scratch")]
    BuildAgentNotLocal {
        /// The agent.
        agent: String,
    },
    /// Something a local build does not do yet (named), though a build service does.
    #[error("a build without root does not support {what}")]
    BuildLocalUnsupported {
        /// What, in words.
        what: String,
    },
    /// The remote's token service refused the token (nothing was stored).
    #[error("the remote \"{name}\" refused this token")]
    TokenRefused {
        /// The remote.
        name: String,
    },
    /// The token could not be checked, so it was not stored.
    #[error("cannot check the token with \"{name}\": {reason}")]
    TokenUncheckable {
        /// The remote.
        name: String,
        /// Why.
        reason: String,
    },
    /// No keyserver is configured.
    #[error("no keyserver is configured")]
    NoKeyserver,
    /// No usable configuration directory could be found for this user.
    #[error("no configuration directory: set HOME or BERTH_CONFIG_DIR")]
    NoConfigDir,
    /// A remote name Berth does not accept.
    #[error("{name:?} is not a valid remote name: {reason}")]
    InvalidRemoteName {
        /// The name as given.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A remote address Berth cannot use.
    #[error("{uri:?} is not a usable remote address: {reason}")]
    InvalidRemoteUri {
        /// The address as given.
        uri: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A plain-http remote address without the explicit insecure choice.
    #[error("{uri} uses plain http")]
    InsecureRemoteUri {
        /// The address as given.
        uri: String,
    },
    /// Another remote already has this name.
    #[error("a remote named {name:?} already exists")]
    RemoteExists {
        /// The name.
        name: String,
    },
    /// No remote has this name.
    #[error("there is no remote named {name:?}")]
    RemoteNotFound {
        /// The name.
        name: String,
    },
    /// A token that cannot be stored (empty, several lines). The token itself is never shown.
    #[error("the token cannot be used: {reason}")]
    InvalidToken {
        /// What is wrong with it.
        reason: String,
    },
    /// The system keychain (Secret Service, macOS Keychain, Windows Credential Manager)
    /// cannot be reached or is locked. The message never contains a secret.
    #[error("the system keychain is not available: {reason}")]
    KeychainUnavailable {
        /// What the keychain said.
        reason: String,
    },
    /// The keychain answered but refused the operation. The message never contains a secret.
    #[error("the system keychain refused the operation: {reason}")]
    KeychainFailed {
        /// What the keychain said.
        reason: String,
    },
    /// An Apptainer/SingularityCE `remote.yaml` that cannot be read as one (it is left untouched).
    #[error("{path}: not a valid remote.yaml: {reason}")]
    RemoteYaml {
        /// The file.
        path: PathBuf,
        /// The parser's message, with quoted values left out.
        reason: String,
    },
    /// A registry host Berth cannot use.
    #[error("{host:?} is not a usable registry host: {reason}")]
    InvalidRegistryHost {
        /// The host as given.
        host: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A registry username or password that cannot be stored. The password is never shown.
    #[error("the registry login cannot be used: {reason}")]
    InvalidRegistryLogin {
        /// What is wrong with it.
        reason: String,
    },
    /// A folder was expected.
    #[error("{}: not a folder", path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// A pull would replace an existing file and replacing was not asked for.
    #[error("{} already exists", path.display())]
    DestinationExists {
        /// The file that is in the way.
        path: PathBuf,
    },
    /// A push of an image whose signatures do not verify, without the user's yes.
    #[error("{}: {summary}", path.display())]
    PushUnverified {
        /// The image.
        path: PathBuf,
        /// What the signature check found.
        summary: String,
    },
    /// The push would exceed the library's storage quota; nothing was sent.
    #[error("the image needs {needed} bytes but only {left} of the quota are left")]
    OverQuota {
        /// Image size.
        needed: u64,
        /// Bytes left of the quota.
        left: u64,
    },
    /// The work was cancelled.
    #[error("cancelled")]
    Cancelled,
    /// No job with this id.
    #[error("no transfer with id {id}")]
    JobNotFound {
        /// The id asked for.
        id: String,
    },
    /// The job is still running.
    #[error("the transfer is still running")]
    JobRunning,
    /// A pull without a destination and no pull folder set.
    #[error("no destination: choose a file or a folder to pull into")]
    NoPullFolder,
    /// A reference scheme this version cannot pull or push.
    #[error(
        "{reference}: Berth pulls library:// and docker:// references and pushes library:// ones"
    )]
    UnsupportedScheme {
        /// The reference.
        reference: String,
    },
    /// No remote given and none is the default.
    #[error("no remote given and no default remote is set")]
    NoDefaultRemote,
    /// The library named an image by something that is not a SHA-256 hash.
    #[error("the library gave an invalid image hash {hash:?}")]
    InvalidImageHash {
        /// What it gave.
        hash: String,
    },
    /// The image file of a push has no architecture and none was given.
    #[error("{}: the image has no primary partition, so its architecture is unknown", path.display())]
    UnknownArch {
        /// The image.
        path: PathBuf,
    },
}

/// Result with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// Wraps a SIF error with the image it concerns; plain I/O errors stay I/O errors so that
    /// "file not found" is not reported as a corrupt image.
    pub fn sif(path: impl Into<PathBuf>, source: berth_sif::Error) -> Self {
        match source {
            berth_sif::Error::Io(e) => Self::Io {
                path: path.into(),
                source: e,
            },
            source => Self::Sif {
                path: path.into(),
                source,
            },
        }
    }

    /// The message without the path: for places where the file is already on screen.
    pub fn reason(&self) -> String {
        match self {
            Error::Sif { source, .. } => source.to_string(),
            Error::Io { source, .. } => source.to_string(),
            Error::NotARegularFile { .. } => "not a regular file".to_owned(),
            Error::Squashfs { reason, .. } => {
                format!("cannot read the container file system: {reason}")
            }
            Error::UnsupportedPartition { fs_type, .. } => {
                format!("the primary partition is {fs_type}, not SquashFS")
            }
            other => other.to_string(),
        }
    }

    /// The stable code the UI branches on.
    pub fn code(&self) -> &'static str {
        use berth_sif::Error as S;
        match self {
            Error::Sif { source, .. } => match source {
                S::BadMagic => "sif.bad_magic",
                S::BadVersion { .. } => "sif.bad_version",
                S::NoPrimaryPartition => "sif.no_primary_partition",
                S::MultiplePrimaryPartitions => "sif.multiple_primary_partitions",
                S::ObjectNotFound { .. } => "sif.object_not_found",
                _ => "sif.corrupt",
            },
            Error::Squashfs { .. } => "squashfs.corrupt",
            Error::UnsupportedPartition { .. } => "sif.unsupported_partition",
            Error::Io { source, .. } => match source.kind() {
                std::io::ErrorKind::NotFound => "io.not_found",
                std::io::ErrorKind::PermissionDenied => "io.permission_denied",
                _ => "io.failed",
            },
            Error::StateFile { .. } => "state.corrupt",
            Error::Integrity(e) => e.code(),
            Error::Keyserver(e) => e.code(),
            Error::Library(e) => e.code(),
            Error::Oci(e) => e.code(),
            Error::SifBuild(e) => e.code(),
            Error::RemoteWithoutLibrary { .. } => "remote.no_library",
            Error::RemoteWithoutBuilder { .. } => "remote.no_builder",
            Error::DefinitionInvalid { .. } => "build.invalid_definition",
            Error::RemoteBuildUnsupported { .. } => "build.remote_unsupported",
            Error::NotADefinitionFile { .. } => "build.not_a_definition",
            Error::NothingToAttach => "build.nothing_to_attach",
            Error::InvalidBuildArgument { .. } => "build.invalid_argument",
            Error::BaseNotSignedAsRequired { .. } => "build.base_not_signed",
            Error::BuildArgumentsMissing(_) => "build.argument_missing",
            Error::UnsavedRelativeFiles { .. } => "build.unsaved_relative_files",
            Error::BuildNeedsRemote { .. } => "build.needs_remote",
            Error::BuildAgentNotLocal { .. } => "build.agent_not_local",
            Error::BuildLocalUnsupported { .. } => "build.local_unsupported",
            Error::TokenRefused { .. } => "auth.token_invalid",
            Error::TokenUncheckable { .. } => "net.unreachable",
            Error::NoKeyserver => "keyserver.none_configured",
            Error::NotARegularFile { .. } => "io.not_a_file",
            Error::UnsupportedPath { .. } => "io.unsupported_path",
            Error::NoConfigDir => "state.no_config_dir",
            Error::InvalidRemoteName { .. } => "remote.invalid_name",
            Error::InvalidRemoteUri { .. } => "remote.invalid_uri",
            Error::InsecureRemoteUri { .. } => "remote.insecure_uri",
            Error::RemoteExists { .. } => "remote.exists",
            Error::RemoteNotFound { .. } => "remote.not_found",
            Error::InvalidToken { .. } => "remote.invalid_token",
            Error::KeychainUnavailable { .. } => "keychain.unavailable",
            Error::KeychainFailed { .. } => "keychain.failed",
            Error::RemoteYaml { .. } => "remote_yaml.invalid",
            Error::InvalidRegistryHost { .. } => "registry.invalid_host",
            Error::InvalidRegistryLogin { .. } => "registry.invalid_login",
            Error::NotADirectory { .. } => "io.not_a_directory",
            Error::DestinationExists { .. } => "pull.destination_exists",
            Error::PushUnverified { .. } => "push.unverified",
            Error::OverQuota { .. } => "quota.exceeded",
            Error::JobNotFound { .. } => "job.not_found",
            Error::Cancelled => "transfer.cancelled",
            Error::JobRunning => "job.running",
            Error::NoPullFolder => "pull.no_destination",
            Error::UnsupportedScheme { .. } => "ref.unsupported_scheme",
            Error::NoDefaultRemote => "remote.no_default",
            Error::UnknownArch { .. } => "push.unknown_arch",
            Error::InvalidImageHash { .. } => "library.bad_response",
        }
    }

    /// What a person can do about it.
    pub fn hint(&self) -> Option<&'static str> {
        if let Error::Library(e) = self {
            return Some(e.hint());
        }
        if let Error::Oci(e) = self {
            return Some(e.hint());
        }
        if let Error::SifBuild(e) = self {
            return e.hint();
        }
        Some(match self.code() {
            "sif.bad_magic" => "This is not a SIF image. Check that you picked the right file.",
            "sif.bad_version" => "This SIF version is not supported. Rebuild the image with a current Apptainer.",
            "sif.corrupt" => "The file is damaged or incomplete (for example an interrupted download). Pull or copy it again.",
            "sif.no_primary_partition" => "The image has no root file system, so there is nothing to run or inspect.",
            "sif.object_not_found" => "List the objects to see which IDs exist.",
            "sif.multiple_primary_partitions" => "The image has more than one root file system; Apptainer cannot run it either. Rebuild it.",
            "io.not_a_file" => "Pick a SIF file or a folder.",
            "io.unsupported_path" => "Rename the file or folder so that its path is valid text (UTF-8).",
            "key.bad_passphrase" => "Type the passphrase again; it is the one chosen when the key was created or imported.",
            "key.not_found" => "The key is no longer in the keyring. Refresh the Keys page.",
            "key.cannot_sign" => "This key has no usable signing key (expired, revoked or encryption-only). Create a new key pair.",
            "key.keyring_corrupt" => "Berth left the keyring file untouched. Check it with `apptainer key list`, or move it away.",
            "integrity.no_signatures" => "Sign the image first, or ask its author for a signed copy.",
            "remote.no_library" => "This remote offers no container library; check its address.",
            "remote.no_builder" => "Pick a remote with a build service, give the builder's address (--builder URL), or build locally if the definition runs nothing at build time.",
            "build.unsaved_relative_files" => "Save the definition beside the files it copies (relative %files paths are read from its folder), or give absolute paths.",
            "build.base_not_signed" => "Import the signer's public key on the Keys page if it is missing, or check the definition's Fingerprints: line against the image's signatures.",
            "build.invalid_argument" => "Give each build argument as NAME=VALUE, the name in letters, digits and _.",
            "build.argument_missing" => "Give a value (--build-arg NAME=VALUE, or the Build arguments field), or a default in the definition's %arguments section.",
            "build.nothing_to_attach" => "Only remote builds submitted without waiting (or cut off) can be attached to.",
            "build.not_a_definition" => "Open the .def text file the image is built from.",
            "build.remote_unsupported" => "Build it on this computer, or change the base to one the builder can fetch (docker, library, oras).",
            "build.invalid_definition" => "Fix the marked lines; `berth build --check FILE` lists every error with its line and column.",
            "build.needs_remote" => "Use the remote builder (a remote with a build service), or move that work out of the definition so Berth can assemble the image itself.",
            "build.agent_not_local" => "Use the remote builder, or start from a docker, library, oras, localimage or scratch base.",
            "build.local_unsupported" => "Use the remote builder for this definition.",
            "auth.token_invalid" => "Generate a new access token on the remote's web page and log in again.",
            "keyserver.none_configured" => "Add a keyserver on the Keys page (Apptainer uses https://keys.openpgp.org).",
            "keyserver.not_found" => "Check the fingerprint, or ask the signer to publish their key.",
            "keyserver.unreachable" => "Check the keyserver address and your network, then try again.",
            "keyserver.unauthorized" => "This keyserver needs a token: log in to its remote first.",
            "keyserver.secret_key_refused" => "Only public keys are published; secret keys never leave this machine.",
            "keyserver.invalid_url" | "keyserver.insecure_url" => "Use an https:// address (plain http only for a keyserver on this machine).",
            "squashfs.corrupt" => "The image's file system is damaged. Pull or build the image again.",
            "sif.unsupported_partition" => "Only SquashFS root file systems can be inspected.",
            "io.not_found" => "The file was moved or deleted. Add it again from its new place.",
            "io.permission_denied" => "Berth may not read this file. Check its permissions.",
            "state.corrupt" => "Berth left the file as it is. Move it away to start afresh.",
            "state.no_config_dir" => "Set HOME or BERTH_CONFIG_DIR.",
            "remote.invalid_name" => "Use letters, digits, '-', '_' and '.' only, for example my-cloud.",
            "remote.invalid_uri" => "Give a host name (cloud.example.com, host:port) or an https:// address.",
            "remote.insecure_uri" => "Use https://, or allow plain http for this remote if the server really has no TLS.",
            "remote.exists" => "Pick another name, or remove the existing remote first.",
            "remote.not_found" => "Refresh the list of remotes; it may have been removed.",
            "remote.invalid_token" => "Paste the whole access token, on one line, as shown by the server.",
            "keychain.unavailable" => "Berth keeps tokens only in the system keychain. Unlock it (on Linux: start GNOME Keyring or KeePassXC with Secret Service) and try again.",
            "keychain.failed" => "Try again; if it keeps failing, remove the entry for org.berth.app in your keychain app and log in again.",
            "remote_yaml.invalid" => "Berth only reads this file and left it untouched. Fix it with `apptainer remote list`, or leave it out of the import.",
            "registry.invalid_host" => "Give the registry's host name, with its port if it has one (registry.example.com:5000, docker.io).",
            "registry.invalid_login" => "Give a non-empty username without ':' and the whole password or token, on one line.",
            "io.not_a_directory" => "Choose an existing folder.",
            "pull.destination_exists" => "Choose another file name, or allow replacing the existing file.",
            "push.unverified" => "Sign the image (Signatures tab or `berth sign`), import the signer's key, or confirm pushing it anyway (--allow-unsigned).",
            "quota.exceeded" => "Delete old images from the library or ask its administrator for more quota.",
            "job.not_found" => "The transfer list changed; refresh it.",
            "job.running" => "Wait for it to finish, or cancel it first.",
            "pull.no_destination" => "Choose a folder for pulled images once; Berth remembers it.",
            "ref.unsupported_scheme" => "Use library://entity/collection/container:tag, docker://image:tag (converted to SIF), oras://registry/name:tag or shub://user/container:tag.",
            "remote.no_default" => "Add a remote on the Remotes page (or `berth remote add`) and make it the default.",
            "push.unknown_arch" => "Give the architecture explicitly (--arch amd64).",
            _ => return None,
        })
    }
}

/// An error as the UI sees it: `code` is stable and matched on; `message` says what
/// happened; `hint` what to try.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, serde::Deserialize, TS)]
pub struct ApiError {
    /// Stable machine-readable code, e.g. `sif.corrupt`.
    pub code: String,
    /// What happened, in words.
    pub message: String,
    /// What to do next, when there is something to do.
    pub hint: Option<String>,
}

impl From<&Error> for ApiError {
    fn from(e: &Error) -> Self {
        ApiError {
            code: e.code().to_owned(),
            message: e.to_string(),
            hint: e.hint().map(str::to_owned),
        }
    }
}

impl ApiError {
    /// The error of a file the person is already looking at: the message leaves out the path.
    pub fn about_shown_file(e: &Error) -> Self {
        ApiError {
            message: capitalise(&e.reason()),
            ..ApiError::from(e)
        }
    }
}

fn capitalise(s: &str) -> String {
    let mut c = s.chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

impl From<berth_progress::Cancelled> for Error {
    fn from(_: berth_progress::Cancelled) -> Self {
        Error::Cancelled
    }
}

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        ApiError::from(&e)
    }
}

impl std::fmt::Display for ApiError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for ApiError {}
