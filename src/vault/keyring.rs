//! The keys: a TOML document, in a file only its owner may read or in an
//! environment variable.
//!
//! ```toml
//! active = "k20261122a1b2"
//! index = "<32 bytes, base64>"
//! [keys]
//! k20261122a1b2 = "<32 bytes, base64>"
//! ```

use std::collections::BTreeMap;
use std::fmt;
use std::io::Write;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use rand::RngCore;
use serde::{Deserialize, Serialize};

const KEY_LEN: usize = 32;

/// A key's name, stored beside every value it sealed.
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct KeyId(String);

impl KeyId {
    pub fn as_str(&self) -> &str {
        &self.0
    }

    fn fresh() -> Self {
        let date = chrono::Utc::now().format("%Y%m%d");
        let mut tag = [0u8; 3];
        rand::rng().fill_bytes(&mut tag);
        Self(format!("k{date}{}", hex::encode(tag)))
    }
}

impl TryFrom<String> for KeyId {
    type Error = String;

    fn try_from(id: String) -> Result<Self, String> {
        let fits = (1..=32).contains(&id.len())
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        if fits {
            Ok(Self(id))
        } else {
            Err(format!(
                "key id {id:?} must be 1 to 32 letters, digits, '-' or '_'"
            ))
        }
    }
}

impl From<KeyId> for String {
    fn from(id: KeyId) -> String {
        id.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:?}", self.0)
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyringError {
    #[error("cannot read the key file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the key file {path}: {source}")]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "the key file {0} may be read by other users; make it readable only by its owner (chmod 600)"
    )]
    TooOpen(PathBuf),
    #[error("the keys in {origin} are not valid: {reason}")]
    Invalid { origin: String, reason: String },
    #[error(
        "the index key in {0} changed; every stored look-up hash depends on it, so it must never change"
    )]
    IndexKeyChanged(PathBuf),
}

/// The data keys (one active, older ones kept to open what they sealed)
/// and the index key.
#[derive(Clone, PartialEq, Eq)]
pub struct Keyring {
    active: KeyId,
    keys: BTreeMap<KeyId, [u8; KEY_LEN]>,
    index: [u8; KEY_LEN],
}

/// Where a keyring came from, so that it can be re-read or rewritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    File(PathBuf),
    Environment,
    Memory,
}

impl KeySource {
    pub fn path(&self) -> Option<&PathBuf> {
        match self {
            KeySource::File(path) => Some(path),
            _ => None,
        }
    }
}

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::File(path) => write!(f, "the key file {}", path.display()),
            KeySource::Environment => f.write_str("HOMEWARD__DATABASE__KEYS"),
            KeySource::Memory => f.write_str("memory"),
        }
    }
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    active: KeyId,
    index: String,
    keys: BTreeMap<KeyId, String>,
}

impl Keyring {
    pub fn generate() -> Self {
        let id = KeyId::fresh();
        Self {
            keys: BTreeMap::from([(id.clone(), random_key())]),
            active: id,
            index: random_key(),
        }
    }

    pub fn active(&self) -> &KeyId {
        &self.active
    }

    pub(super) fn active_key(&self) -> (&KeyId, &[u8; KEY_LEN]) {
        (&self.active, &self.keys[&self.active])
    }

    pub(super) fn key(&self, id: &str) -> Option<&[u8; KEY_LEN]> {
        self.keys
            .iter()
            .find(|(k, _)| k.as_str() == id)
            .map(|(_, key)| key)
    }

    pub(super) fn index_key(&self) -> &[u8] {
        &self.index
    }

    pub fn key_ids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.keys()
    }

    /// Add a fresh key and make it the active one.
    pub fn add_key(&mut self) -> KeyId {
        let mut id = KeyId::fresh();
        while self.keys.contains_key(&id) {
            id = KeyId::fresh();
        }
        self.keys.insert(id.clone(), random_key());
        self.active = id.clone();
        id
    }

    /// Drop a key that no stored value uses any more. The active key stays.
    pub fn remove_key(&mut self, id: &KeyId) -> bool {
        id != &self.active && self.keys.remove(id).is_some()
    }

    pub fn parse(text: &str, origin: &str) -> Result<Self, KeyringError> {
        let invalid = |reason: String| KeyringError::Invalid {
            origin: origin.to_owned(),
            reason,
        };
        let doc: Document = toml::from_str(text).map_err(|e| invalid(e.message().to_owned()))?;
        let mut keys = BTreeMap::new();
        for (id, key) in &doc.keys {
            let key = decode_key(key).map_err(|r| invalid(format!("keys.{id} {r}")))?;
            keys.insert(id.clone(), key);
        }
        if !keys.contains_key(&doc.active) {
            return Err(invalid(format!(
                "active key {} is not in [keys]",
                doc.active
            )));
        }
        let index = decode_key(&doc.index).map_err(|r| invalid(format!("index {r}")))?;
        Ok(Self {
            active: doc.active,
            keys,
            index,
        })
    }

    pub fn to_toml(&self) -> String {
        let doc = Document {
            active: self.active.clone(),
            index: STANDARD.encode(self.index),
            keys: self
                .keys
                .iter()
                .map(|(id, key)| (id.clone(), STANDARD.encode(key)))
                .collect(),
        };
        let body = toml::to_string(&doc).expect("a keyring always serialises");
        format!(
            "# Homeward's data keys. Without this file the phone numbers, names and\n\
             # texts in the database cannot be read: back it up somewhere safe, apart\n\
             # from the database. Never edit `index`.\n{body}"
        )
    }

    /// Read a key file, refusing one that other users could read.
    pub fn read(path: &Path) -> Result<Self, KeyringError> {
        check_private(path)?;
        let text = std::fs::read_to_string(path).map_err(|source| KeyringError::Read {
            path: path.to_owned(),
            source,
        })?;
        Self::parse(&text, &path.display().to_string())
    }

    /// Write the key file readable only by its owner, replacing it whole (a
    /// crash leaves the old file or the new one, never half of one).
    pub fn write(&self, path: &Path) -> Result<(), KeyringError> {
        let error = |source| KeyringError::Write {
            path: path.to_owned(),
            source,
        };
        let partial = path.with_extension("keys-new");
        let mut file = private_file(&partial).map_err(error)?;
        file.write_all(self.to_toml().as_bytes()).map_err(error)?;
        file.sync_all().map_err(error)?;
        std::fs::rename(&partial, path).map_err(error)
    }

    /// Write a new key file, failing if one already exists (another process
    /// may have just made it).
    pub fn create(&self, path: &Path) -> Result<(), KeyringError> {
        let error = |source| KeyringError::Write {
            path: path.to_owned(),
            source,
        };
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(error)?;
        }
        let mut options = std::fs::OpenOptions::new();
        options.write(true).create_new(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let mut file = options.open(path).map_err(error)?;
        file.write_all(self.to_toml().as_bytes()).map_err(error)?;
        file.sync_all().map_err(error)
    }
}

fn private_file(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

#[cfg(unix)]
fn check_private(path: &Path) -> Result<(), KeyringError> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).map_err(|source| KeyringError::Read {
        path: path.to_owned(),
        source,
    })?;
    if meta.permissions().mode() & 0o077 != 0 {
        return Err(KeyringError::TooOpen(path.to_owned()));
    }
    Ok(())
}

#[cfg(not(unix))]
fn check_private(_path: &Path) -> Result<(), KeyringError> {
    Ok(())
}

fn random_key() -> [u8; KEY_LEN] {
    let mut key = [0u8; KEY_LEN];
    rand::rng().fill_bytes(&mut key);
    key
}

fn decode_key(text: &str) -> Result<[u8; KEY_LEN], String> {
    let bytes = STANDARD
        .decode(text.trim())
        .map_err(|_| "is not base64".to_owned())?;
    bytes
        .try_into()
        .map_err(|b: Vec<u8>| format!("is {} bytes; a key is {KEY_LEN}", b.len()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_written_key_file_reads_back_and_only_its_owner_may_read_it() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("homeward.keys");
        let keyring = Keyring::generate();
        keyring.create(&path).unwrap();
        assert!(Keyring::read(&path).unwrap() == keyring);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o644)).unwrap();
            assert!(matches!(
                Keyring::read(&path),
                Err(KeyringError::TooOpen(_))
            ));
        }
    }

    #[test]
    fn a_second_create_does_not_overwrite_the_first() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("homeward.keys");
        let first = Keyring::generate();
        first.create(&path).unwrap();
        assert!(Keyring::generate().create(&path).is_err());
        assert!(Keyring::read(&path).unwrap() == first);
    }

    #[test]
    fn bad_documents_name_what_is_wrong() {
        let error = |text: &str| Keyring::parse(text, "test").err().unwrap().to_string();
        let key = STANDARD.encode([7u8; 32]);
        assert!(
            error(&format!(
                "active = \"k2\"\nindex = \"{key}\"\n[keys]\nk1 = \"{key}\""
            ))
            .contains("active key k2")
        );
        assert!(
            error(&format!(
                "active = \"k1\"\nindex = \"{key}\"\n[keys]\nk1 = \"c2hvcnQ=\""
            ))
            .contains("keys.k1 is 5 bytes")
        );
        assert!(
            error(&format!(
                "active = \"k1\"\nindex = \"!!\"\n[keys]\nk1 = \"{key}\""
            ))
            .contains("index is not base64")
        );
    }
}
