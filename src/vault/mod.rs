//! Personal data at rest: phone numbers, first names, message bodies,
//! replies and words typed by staff are sealed with XChaCha20-Poly1305 before they reach the database,
//! and looked up through a keyed hash (HMAC-SHA-256) of the number, so a
//! stolen database file alone reveals none of them.
//!
//! A sealed value is text, `hw1:<key id>:<base64 of nonce and ciphertext>`,
//! so the key that sealed it travels beside it and keys can be rotated
//! (`homeward keys rotate`). Each value is bound to the field it belongs to
//! (the cipher's associated data), so a value copied into another column
//! does not open. The index key is never rotated: opt-outs keep only the
//! keyed hash of a number, and re-hashing would need the number itself.

mod keyring;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;

pub use keyring::{KeyId, KeySource, Keyring, KeyringError};

use crate::domain::{MobileHash, PhoneNumber};

const PREFIX: &str = "hw1:";
const NONCE_LEN: usize = 24;

/// The column a sealed value belongs to; it is authenticated with the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Mobile,
    FirstName,
    Body,
    /// Words typed by staff: an opt-out's reason, a resolution note, a
    /// cancellation's reason. They may name a person or give a number.
    Note,
    /// A staff member's email address.
    Email,
}

impl Field {
    fn aad(self) -> &'static [u8] {
        match self {
            Field::Mobile => b"mobile",
            Field::FirstName => b"first_name",
            Field::Body => b"body",
            Field::Note => b"note",
            Field::Email => b"email",
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum VaultError {
    #[error("a stored value is not sealed (it does not start with {PREFIX:?})")]
    NotSealed,
    #[error("a stored value is sealed under key {0:?}, which the keyring does not hold")]
    UnknownKey(String),
    #[error("a stored value does not open under key {0:?}: it was changed, or the key is wrong")]
    Tampered(String),
    #[error("a stored value is malformed: {0}")]
    Malformed(&'static str),
    #[error(transparent)]
    Keyring(#[from] KeyringError),
}

/// A vault as loaded, and whether its keys are new (not yet in any file).
pub struct Loaded {
    pub vault: Vault,
    pub fresh: bool,
}

impl Loaded {
    fn existing(vault: Vault) -> Self {
        Self {
            vault,
            fresh: false,
        }
    }
}

/// Seals and opens personal data, and hashes numbers for look-ups.
#[derive(Clone)]
pub struct Vault {
    inner: Arc<RwLock<Keyring>>,
    source: KeySource,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let active = self.active_key();
        f.debug_struct("Vault")
            .field("active", &active)
            .finish_non_exhaustive()
    }
}

impl Vault {
    pub fn new(keyring: Keyring, source: KeySource) -> Self {
        Self {
            inner: Arc::new(RwLock::new(keyring)),
            source,
        }
    }

    /// A vault with fresh keys held only in memory, for tests and previews
    /// of files that are never stored.
    pub fn ephemeral() -> Self {
        Self::new(Keyring::generate(), KeySource::Memory)
    }

    /// The keys as configured: given inline, read from `path`, or, where
    /// `path` does not exist yet, fresh ones for [`Vault::persist`] to write
    /// once the database is known to hold nothing sealed under others.
    /// Without either (an in-memory database) the keys live in memory.
    pub fn load(inline: Option<&str>, path: Option<&Path>) -> Result<Loaded, KeyringError> {
        if let Some(text) = inline {
            let keyring = Keyring::parse(text, "HOMEWARD__DATABASE__KEYS")?;
            return Ok(Loaded::existing(Self::new(keyring, KeySource::Environment)));
        }
        let Some(path) = path else {
            return Ok(Loaded::existing(Self::ephemeral()));
        };
        let source = KeySource::File(path.to_owned());
        if path.exists() {
            return Ok(Loaded::existing(Self::new(Keyring::read(path)?, source)));
        }
        Ok(Loaded {
            vault: Self::new(Keyring::generate(), source),
            fresh: true,
        })
    }

    /// Write freshly generated keys to their file, readable only by this
    /// user. If another process wrote the file first, its keys are used.
    pub fn persist(&self) -> Result<(), KeyringError> {
        let Some(path) = self.source.path() else {
            return Ok(());
        };
        match self.keyring().create(path) {
            Err(KeyringError::Write { source, .. })
                if source.kind() == std::io::ErrorKind::AlreadyExists => {}
            other => return other,
        }
        let theirs = Keyring::read(path)?;
        self.replace(theirs);
        Ok(())
    }

    /// Where the keys came from.
    pub fn source(&self) -> &KeySource {
        &self.source
    }

    pub fn active_key(&self) -> KeyId {
        self.keyring().active().clone()
    }

    /// Seal `clear` for `field` under the active key.
    pub fn seal(&self, field: Field, clear: &str) -> String {
        let keyring = self.keyring();
        let (id, key) = keyring.active_key();
        let mut nonce = [0u8; NONCE_LEN];
        rand::rng().fill_bytes(&mut nonce);
        let payload = Payload {
            msg: clear.as_bytes(),
            aad: field.aad(),
        };
        let sealed = XChaCha20Poly1305::new(key.into())
            .encrypt(XNonce::from_slice(&nonce), payload)
            .expect("XChaCha20-Poly1305 seals any length a text can have");
        let mut bytes = Vec::with_capacity(NONCE_LEN + sealed.len());
        bytes.extend_from_slice(&nonce);
        bytes.extend_from_slice(&sealed);
        format!("{PREFIX}{id}:{}", URL_SAFE_NO_PAD.encode(bytes))
    }

    /// Open a value sealed for `field`. A key id the keyring does not know
    /// makes it re-read its source once: another process (`homeward keys
    /// rotate`) may have added a key since this one started.
    pub fn open(&self, field: Field, sealed: &str) -> Result<String, VaultError> {
        match self.open_with_current(field, sealed) {
            Err(VaultError::UnknownKey(_)) if self.reload()? => {
                self.open_with_current(field, sealed)
            }
            other => other,
        }
    }

    fn open_with_current(&self, field: Field, sealed: &str) -> Result<String, VaultError> {
        let (id, bytes) = split(sealed)?;
        let keyring = self.keyring();
        let key = keyring
            .key(id)
            .ok_or_else(|| VaultError::UnknownKey(id.to_owned()))?;
        if bytes.len() < NONCE_LEN {
            return Err(VaultError::Malformed("too short"));
        }
        let (nonce, ciphertext) = bytes.split_at(NONCE_LEN);
        let payload = Payload {
            msg: ciphertext,
            aad: field.aad(),
        };
        let clear = XChaCha20Poly1305::new(key.into())
            .decrypt(XNonce::from_slice(nonce), payload)
            .map_err(|_| VaultError::Tampered(id.to_owned()))?;
        String::from_utf8(clear).map_err(|_| VaultError::Malformed("not UTF-8"))
    }

    /// The key id a sealed value names, if it is sealed at all.
    pub fn key_of(sealed: &str) -> Option<&str> {
        split(sealed).ok().map(|(id, _)| id)
    }

    /// Whether `value` is sealed under the active key (and so needs no
    /// re-sealing on rotation).
    pub fn is_current(&self, value: &str) -> bool {
        Self::key_of(value) == Some(self.keyring().active().as_str())
    }

    /// The keyed hash that finds a number without storing it.
    pub fn index(&self, mobile: &PhoneNumber) -> MobileHash {
        self.index_raw(mobile.as_e164())
    }

    /// The keyed hash of a sender as a provider gave it (E.164 where it
    /// parsed, else as it came).
    pub fn index_raw(&self, number: &str) -> MobileHash {
        let keyring = self.keyring();
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(keyring.index_key())
            .expect("HMAC takes a key of any length");
        mac.update(number.as_bytes());
        MobileHash::from_trusted(hex::encode(mac.finalize().into_bytes()))
    }

    /// The keyed hash that finds people by first name (its search key).
    pub fn index_name(&self, name: &crate::domain::FirstName) -> String {
        self.index_raw(&format!("name:{}", name.search_key()))
            .as_str()
            .to_owned()
    }

    /// The keyed hash that finds a staff account by its email. The input is
    /// tagged so that it can never equal a number's hash.
    pub fn index_email(&self, email: &crate::domain::Email) -> String {
        self.index_raw(&format!("email:{}", email.as_str()))
            .as_str()
            .to_owned()
    }

    /// Re-read the keyring from its file; `true` if it changed. The index
    /// key must not change: every stored hash depends on it.
    pub fn reload(&self) -> Result<bool, KeyringError> {
        let Some(path) = self.source.path() else {
            return Ok(false);
        };
        let fresh = Keyring::read(path)?;
        let mut current = self.inner.write().expect("keyring lock");
        if fresh.index_key() != current.index_key() {
            return Err(KeyringError::IndexKeyChanged(path.to_owned()));
        }
        if *current == fresh {
            return Ok(false);
        }
        *current = fresh;
        Ok(true)
    }

    /// Make `id` the active key after it was added to the file.
    pub fn replace(&self, keyring: Keyring) {
        *self.inner.write().expect("keyring lock") = keyring;
    }

    pub fn keyring(&self) -> std::sync::RwLockReadGuard<'_, Keyring> {
        self.inner.read().expect("keyring lock")
    }

    /// The file the keys live in, if any.
    pub fn path(&self) -> Option<&PathBuf> {
        self.source.path()
    }
}

fn split(sealed: &str) -> Result<(&str, Vec<u8>), VaultError> {
    let rest = sealed.strip_prefix(PREFIX).ok_or(VaultError::NotSealed)?;
    let (id, data) = rest
        .split_once(':')
        .ok_or(VaultError::Malformed("no key id"))?;
    let bytes = URL_SAFE_NO_PAD
        .decode(data)
        .map_err(|_| VaultError::Malformed("not base64"))?;
    Ok((id, bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn number() -> PhoneNumber {
        PhoneNumber::parse("07911 123456").unwrap()
    }

    #[test]
    fn a_sealed_value_opens_and_hides_its_text() {
        let vault = Vault::ephemeral();
        let sealed = vault.seal(Field::Mobile, "+447911123456");
        assert!(!sealed.contains("7911123456"));
        assert!(sealed.starts_with("hw1:"));
        assert_eq!(vault.open(Field::Mobile, &sealed).unwrap(), "+447911123456");
    }

    #[test]
    fn the_same_text_seals_differently_each_time() {
        let vault = Vault::ephemeral();
        assert_ne!(vault.seal(Field::Body, "hi"), vault.seal(Field::Body, "hi"));
    }

    #[test]
    fn a_value_moved_to_another_field_or_changed_does_not_open() {
        let vault = Vault::ephemeral();
        let sealed = vault.seal(Field::FirstName, "Ailsa");
        assert!(matches!(
            vault.open(Field::Body, &sealed),
            Err(VaultError::Tampered(_))
        ));
        let mut bytes = sealed.into_bytes();
        let last = bytes.len() - 2;
        bytes[last] = if bytes[last] == b'A' { b'B' } else { b'A' };
        let changed = String::from_utf8(bytes).unwrap();
        assert!(vault.open(Field::FirstName, &changed).is_err());
    }

    #[test]
    fn another_keyring_cannot_open_or_match_a_number() {
        let (a, b) = (Vault::ephemeral(), Vault::ephemeral());
        let sealed = a.seal(Field::Mobile, "+447911123456");
        assert!(matches!(
            b.open(Field::Mobile, &sealed),
            Err(VaultError::UnknownKey(_)) | Err(VaultError::Tampered(_))
        ));
        assert_eq!(a.index(&number()), a.index(&number()));
        assert_ne!(a.index(&number()), b.index(&number()));
        assert!(!a.index(&number()).as_str().contains("7911123456"));
    }

    #[test]
    fn a_rotated_keyring_opens_old_values_and_seals_under_the_new_key() {
        let vault = Vault::ephemeral();
        let old = vault.seal(Field::Body, "See you at 10:00");
        let mut rotated = vault.keyring().clone();
        let new_id = rotated.add_key();
        vault.replace(rotated);
        assert!(!vault.is_current(&old));
        let new = vault.seal(Field::Body, "See you at 10:00");
        assert_eq!(Vault::key_of(&new), Some(new_id.as_str()));
        assert_eq!(vault.open(Field::Body, &old).unwrap(), "See you at 10:00");
        assert_eq!(vault.open(Field::Body, &new).unwrap(), "See you at 10:00");
    }

    #[test]
    fn a_running_vault_follows_a_rotated_key_file_but_never_a_new_index_key() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("homeward.keys");
        let loaded = Vault::load(None, Some(&path)).unwrap();
        assert!(loaded.fresh);
        let daemon = loaded.vault;
        daemon.persist().unwrap();
        let old = daemon.seal(Field::Body, "See you at 10:00");
        // `homeward keys rotate` in another process: a new active key.
        let mut rotated = Keyring::read(&path).unwrap();
        let new_id = rotated.add_key();
        rotated.write(&path).unwrap();
        let cli = Vault::load(None, Some(&path)).unwrap().vault;
        let new = cli.seal(Field::Body, "See you at 11:00");
        assert_eq!(daemon.open(Field::Body, &new).unwrap(), "See you at 11:00");
        assert_eq!(
            daemon.active_key(),
            new_id,
            "it now seals under the new key"
        );
        assert_eq!(daemon.open(Field::Body, &old).unwrap(), "See you at 10:00");
        assert!(!daemon.reload().unwrap(), "nothing changed since");
        Keyring::generate().write(&path).unwrap();
        assert!(matches!(
            daemon.reload(),
            Err(KeyringError::IndexKeyChanged(_))
        ));
        assert_eq!(daemon.active_key(), new_id, "the keys in use stay");
    }
}
