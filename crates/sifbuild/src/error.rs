//! The one error type of the crate.

use berth_progress::Cancelled;

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// Everything that can go wrong building a SIF image from layers.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading a layer, the spool or writing an output failed.
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),

    /// A layer's media type is not a (compressed) tar layer this builder can apply.
    #[error("unsupported layer media type {0:?}")]
    UnsupportedMediaType(String),

    /// A layer is not a valid tar stream (or its compression is damaged).
    #[error("malformed layer: {0}")]
    MalformedLayer(String),

    /// A layer entry names the root directory but is not a directory.
    #[error("layer entry for the root directory is not a directory")]
    RootNotDirectory,

    /// A path needs a directory where the tree holds something else (umoci fails the same way).
    #[error("{path}: a parent is not a directory")]
    NotADirectory {
        /// The path being created.
        path: String,
    },

    /// Resolving a path followed more symbolic links than allowed (a loop).
    #[error("{path}: too many levels of symbolic links")]
    SymlinkLoop {
        /// The path being resolved.
        path: String,
    },

    /// A path given to the tree API is empty or names the root where an entry is needed.
    #[error("invalid path {0:?}")]
    InvalidPath(String),

    /// The image config or the tree holds something that cannot be encoded.
    #[error("invalid metadata: {0}")]
    InvalidMetadata(String),

    /// Writing the SquashFS file system failed.
    #[error("SquashFS writer: {0}")]
    Squashfs(String),

    /// Writing the SIF file failed.
    #[error("SIF writer: {0}")]
    Sif(#[from] berth_sif::Error),

    /// A `%files` line could not be copied into the tree.
    #[error("%files line {line}: {reason}")]
    FileCopy {
        /// 1-based line in the definition file.
        line: usize,
        /// What went wrong, with the host path.
        reason: String,
    },

    /// The caller cancelled the work.
    #[error("cancelled")]
    Cancelled,
}

impl From<Cancelled> for Error {
    fn from(_: Cancelled) -> Self {
        Error::Cancelled
    }
}

impl Error {
    /// A stable machine-readable code for the UI and logs.
    pub fn code(&self) -> &'static str {
        match self {
            Error::Io(_) => "io",
            Error::UnsupportedMediaType(_) => "unsupported-media-type",
            Error::MalformedLayer(_) => "malformed-layer",
            Error::RootNotDirectory => "root-not-directory",
            Error::NotADirectory { .. } => "not-a-directory",
            Error::SymlinkLoop { .. } => "symlink-loop",
            Error::InvalidPath(_) => "invalid-path",
            Error::InvalidMetadata(_) => "invalid-metadata",
            Error::Squashfs(_) => "squashfs",
            Error::Sif(_) => "sif",
            Error::FileCopy { .. } => "files-copy",
            Error::Cancelled => "cancelled",
        }
    }

    /// What the user can do about it, when there is something.
    pub fn hint(&self) -> Option<&'static str> {
        match self {
            Error::Io(_) => Some("Check free space and permissions of the temporary directory."),
            Error::UnsupportedMediaType(_) => {
                Some("Only tar layers (uncompressed, gzip or zstd) can be converted to SIF.")
            }
            Error::MalformedLayer(_) | Error::RootNotDirectory | Error::NotADirectory { .. } => {
                Some("The image's layers are damaged or not a valid root file system.")
            }
            Error::SymlinkLoop { .. } => Some("The image contains a symbolic link loop."),
            Error::Squashfs(_) | Error::Sif(_) => {
                Some("Check free space in the destination directory.")
            }
            Error::FileCopy { .. } => Some(
                "Check the %files line: relative sources are read from the definition file's folder, and a directory cannot replace a file (or the reverse).",
            ),
            Error::InvalidPath(_) | Error::InvalidMetadata(_) | Error::Cancelled => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_stable() {
        assert_eq!(Error::RootNotDirectory.code(), "root-not-directory");
        assert_eq!(
            Error::UnsupportedMediaType("x".into()).code(),
            "unsupported-media-type"
        );
        assert_eq!(Error::from(Cancelled).code(), "cancelled");
        assert!(Error::Cancelled.hint().is_none());
    }
}
