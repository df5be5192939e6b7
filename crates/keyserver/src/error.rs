//! The crate's error type and its stable codes.
//!
//! No variant ever holds the access token: messages that come from the server or from the
//! transport layer pass through [`crate::client`]'s redaction before they are stored here.

/// Result alias used throughout the crate.
pub type Result<T> = std::result::Result<T, Error>;

/// What went wrong talking to a keyserver. [`Error::code`] gives a stable code for the CLI's
/// JSON output and the UI.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// 404: the server has no key matching the search (Apptainer's wording).
    #[error("no matching keys found")]
    NotFound,

    /// 401: the server wants a (valid) access token.
    #[error("{}", unauthorized_text(*token_sent))]
    Unauthorized {
        /// Whether a token was sent (then it was rejected, rather than missing).
        token_sent: bool,
    },

    /// 403: authenticated but not allowed.
    #[error("keyserver refused access: {message}")]
    Forbidden {
        /// The server's message, or the status text.
        message: String,
    },

    /// Another 4xx: the server refused the request as given (e.g. 400 for key material it
    /// cannot use).
    #[error("keyserver rejected the request: {message} ({status})")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The server's message, or the status text.
        message: String,
    },

    /// 5xx, or any other status that is not success.
    #[error("keyserver error: {message} ({status})")]
    Server {
        /// HTTP status.
        status: u16,
        /// The server's message, or the status text.
        message: String,
    },

    /// The server could not be reached or did not answer in time (connection refused, DNS,
    /// TLS, timeout).
    #[error("cannot reach keyserver: {0}")]
    Transport(String),

    /// The keyserver URL cannot be used.
    #[error("invalid keyserver URL: {0}")]
    InvalidUrl(String),

    /// A plain `http://` URL for a host that is not this machine, without `allow_http`.
    #[error("refusing plain http for keyserver {0}: use https, or allow http explicitly")]
    InsecureUrl(String),

    /// The server answered success with something that is not what HKP promises.
    #[error("unexpected keyserver response: {0}")]
    BadResponse(String),

    /// The server sent a key other than the one asked for (or several).
    #[error("keyserver returned the wrong key: asked for {expected}, got {got}")]
    WrongKey {
        /// The fingerprint or key ID asked for, uppercase hex.
        expected: String,
        /// What came back: fingerprints, comma-separated.
        got: String,
    },

    /// The input to submit contains secret key material; nothing was sent.
    #[error("refusing to send secret key material to a keyserver: export the public key only")]
    SecretKeyRefused,

    /// The key material given to submit is not usable OpenPGP data; nothing was sent.
    #[error("invalid key material: {0}")]
    InvalidKey(String),

    /// The search term cannot be sent (empty).
    #[error("invalid search: {0}")]
    InvalidQuery(String),

    /// A fingerprint or key ID argument that is not 8, 16, 40 or 64 hex digits.
    #[error("invalid fingerprint {0:?}: expected 8, 16, 40 or 64 hex digits")]
    InvalidFingerprint(String),
}

fn unauthorized_text(token_sent: bool) -> &'static str {
    if token_sent {
        "keyserver rejected the access token (401 Unauthorized): log in to the remote again"
    } else {
        "keyserver requires an access token (401 Unauthorized): log in to the remote or give a token"
    }
}

impl Error {
    /// A stable code for the error, for the CLI's JSON output and the UI.
    pub fn code(&self) -> &'static str {
        match self {
            Error::NotFound => "keyserver.not_found",
            Error::Unauthorized { .. } => "keyserver.unauthorized",
            Error::Forbidden { .. } => "keyserver.forbidden",
            Error::Rejected { .. } => "keyserver.rejected",
            Error::Server { .. } => "keyserver.server_error",
            Error::Transport(_) => "keyserver.unreachable",
            Error::InvalidUrl(_) => "keyserver.invalid_url",
            Error::InsecureUrl(_) => "keyserver.insecure_url",
            Error::BadResponse(_) => "keyserver.bad_response",
            Error::WrongKey { .. } => "keyserver.wrong_key",
            Error::SecretKeyRefused => "keyserver.secret_key_refused",
            Error::InvalidKey(_) => "keyserver.invalid_key",
            Error::InvalidFingerprint(_) => "keyserver.invalid_fingerprint",
            Error::InvalidQuery(_) => "keyserver.invalid_query",
        }
    }

    /// Whether [`crate::fetch_first`] should move on to the next keyserver. Apptainer moves on
    /// after a transport error or a non-success status; Berth also moves on after an answer
    /// that failed its checks (garbage, or another key), so that one broken mirror cannot hide
    /// a good one. Only a malformed request stops, since every server would refuse it alike.
    pub fn try_next_server(&self) -> bool {
        !matches!(
            self,
            Error::InvalidFingerprint(_)
                | Error::InvalidQuery(_)
                | Error::InvalidKey(_)
                | Error::SecretKeyRefused
                | Error::InvalidUrl(_)
                | Error::InsecureUrl(_)
        )
    }
}
