//! Secrets (remote access tokens, registry passwords) in the system keychain.
//!
//! Berth never writes a token to its own files: tokens live in the OS keychain (Secret
//! Service on Linux, Keychain on macOS, Credential Manager on Windows) under the service
//! [`SERVICE`] and an account named by [`remote_account`] or [`registry_account`].
//! In memory a secret is a [`Token`], which never prints itself and is wiped on drop.

use std::collections::HashMap;
use std::sync::Mutex;

use zeroize::Zeroize;

use crate::{Error, Result};

/// The keychain service under which Berth keeps its secrets.
pub const SERVICE: &str = "org.berth.app";

/// The keychain account of a remote endpoint's access token.
pub fn remote_account(name: &str) -> String {
    format!("remote:{name}")
}

/// The keychain account of a registry's credential, by host (`host[:port]`).
pub fn registry_account(host: &str) -> String {
    format!("registry:{}", host.to_ascii_lowercase())
}

/// A secret: `Debug` and `Display` print `<redacted>`, it cannot be serialised, and its
/// memory is zeroed when dropped. Use [`Token::expose`] only at the point of use.
#[derive(Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(transparent)]
pub struct Token(String);

impl Token {
    /// Wraps a secret.
    pub fn new(secret: impl Into<String>) -> Self {
        Self(secret.into())
    }

    /// The secret itself, for an `Authorization` header or the keychain.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// Whether the secret is empty.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Token {
    fn from(s: String) -> Self {
        Self(s)
    }
}

impl std::fmt::Debug for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl std::fmt::Display for Token {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("<redacted>")
    }
}

impl Drop for Token {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

/// Where secrets are kept. `get` of a missing entry is `Ok(None)`; `delete` of a missing
/// entry is `Ok(false)`. Errors never contain the secret.
pub trait CredentialStore: Send + Sync {
    /// The secret stored for `service`/`account`, if any.
    fn get(&self, service: &str, account: &str) -> Result<Option<Token>>;
    /// Stores (or replaces) the secret for `service`/`account`.
    fn set(&self, service: &str, account: &str, token: &Token) -> Result<()>;
    /// Deletes the secret; `Ok(true)` when there was one.
    fn delete(&self, service: &str, account: &str) -> Result<bool>;
}

/// The system keychain, through the `keyring` crate.
#[derive(Debug, Default, Clone, Copy)]
pub struct KeychainStore;

impl KeychainStore {
    /// The keychain of the current user session.
    pub fn new() -> Self {
        Self
    }
}

fn entry(service: &str, account: &str) -> Result<keyring::Entry> {
    keyring::Entry::new(service, account).map_err(keychain_error)
}

/// Maps a keychain error to a core error. `keyring` errors can carry the stored bytes
/// (`BadEncoding`) or the matching credentials (`Ambiguous`): those are never formatted.
fn keychain_error(e: keyring::Error) -> Error {
    use keyring::Error as K;
    match e {
        K::PlatformFailure(inner) => Error::KeychainUnavailable {
            reason: inner.to_string(),
        },
        K::NoStorageAccess(inner) => Error::KeychainUnavailable {
            reason: format!("it is locked or access was refused ({inner})"),
        },
        K::NoEntry => Error::KeychainFailed {
            reason: "no such entry".to_owned(),
        },
        K::BadEncoding(_) => Error::KeychainFailed {
            reason: "the stored secret is not text".to_owned(),
        },
        K::TooLong(attr, limit) => Error::KeychainFailed {
            reason: format!("the {attr} is longer than the keychain allows ({limit})"),
        },
        K::Invalid(attr, why) => Error::KeychainFailed {
            reason: format!("invalid {attr}: {why}"),
        },
        K::Ambiguous(creds) => Error::KeychainFailed {
            reason: format!("{} entries match; there should be one", creds.len()),
        },
        _ => Error::KeychainFailed {
            reason: "unknown keychain error".to_owned(),
        },
    }
}

impl CredentialStore for KeychainStore {
    fn get(&self, service: &str, account: &str) -> Result<Option<Token>> {
        match entry(service, account)?.get_password() {
            Ok(secret) => Ok(Some(Token(secret))),
            Err(keyring::Error::NoEntry) => Ok(None),
            Err(e) => Err(keychain_error(e)),
        }
    }

    fn set(&self, service: &str, account: &str, token: &Token) -> Result<()> {
        entry(service, account)?
            .set_password(token.expose())
            .map_err(keychain_error)
    }

    fn delete(&self, service: &str, account: &str) -> Result<bool> {
        match entry(service, account)?.delete_credential() {
            Ok(()) => Ok(true),
            Err(keyring::Error::NoEntry) => Ok(false),
            Err(e) => Err(keychain_error(e)),
        }
    }
}

/// Secrets in process memory: for tests only (nothing survives the process). It can
/// pretend to be an unavailable keychain to exercise error paths.
#[derive(Debug, Default)]
pub struct MemoryStore {
    entries: Mutex<HashMap<(String, String), Token>>,
    unavailable: bool,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// A store whose every call fails with `keychain.unavailable`.
    pub fn unavailable() -> Self {
        Self {
            unavailable: true,
            ..Self::default()
        }
    }

    /// How many secrets it holds.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether it holds no secret.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<(String, String), Token>> {
        self.entries.lock().unwrap_or_else(|p| p.into_inner())
    }

    fn check(&self) -> Result<()> {
        if self.unavailable {
            return Err(Error::KeychainUnavailable {
                reason: "the test keychain is switched off".to_owned(),
            });
        }
        Ok(())
    }
}

impl CredentialStore for MemoryStore {
    fn get(&self, service: &str, account: &str) -> Result<Option<Token>> {
        self.check()?;
        Ok(self
            .lock()
            .get(&(service.to_owned(), account.to_owned()))
            .cloned())
    }

    fn set(&self, service: &str, account: &str, token: &Token) -> Result<()> {
        self.check()?;
        self.lock()
            .insert((service.to_owned(), account.to_owned()), token.clone());
        Ok(())
    }

    fn delete(&self, service: &str, account: &str) -> Result<bool> {
        self.check()?;
        Ok(self
            .lock()
            .remove(&(service.to_owned(), account.to_owned()))
            .is_some())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_never_prints_itself() {
        let t = Token::new("s3cret-value");
        assert_eq!(format!("{t:?}"), "<redacted>");
        assert_eq!(format!("{t}"), "<redacted>");
        assert_eq!(format!("{:?}", Some(t.clone())), "Some(<redacted>)");
        assert_eq!(t.expose(), "s3cret-value");
    }

    #[test]
    fn memory_store_round_trip() {
        let s = MemoryStore::new();
        let acct = remote_account("a");
        assert_eq!(s.get(SERVICE, &acct).unwrap(), None);
        s.set(SERVICE, &acct, &Token::new("x")).unwrap();
        assert_eq!(s.get(SERVICE, &acct).unwrap(), Some(Token::new("x")));
        assert!(s.delete(SERVICE, &acct).unwrap());
        assert!(!s.delete(SERVICE, &acct).unwrap());
        assert!(s.is_empty());
    }

    #[test]
    fn unavailable_store_has_code_and_hint() {
        let e = MemoryStore::unavailable()
            .set(SERVICE, "remote:a", &Token::new("tok"))
            .unwrap_err();
        assert_eq!(e.code(), "keychain.unavailable");
        assert!(e.hint().is_some());
        assert!(!e.to_string().contains("tok"));
    }

    #[test]
    fn keyring_errors_never_show_secret_bytes() {
        let e = keychain_error(keyring::Error::BadEncoding(b"secret-bytes".to_vec()));
        assert_eq!(e.code(), "keychain.failed");
        assert!(!format!("{e} {e:?}").contains("secret-bytes"));
    }

    #[test]
    fn accounts() {
        assert_eq!(remote_account("my-cloud"), "remote:my-cloud");
        assert_eq!(
            registry_account("Registry.Example.com:5000"),
            "registry:registry.example.com:5000"
        );
    }
}
