//! Staff accounts for the web pages: who they are, what they may do, and the
//! secrets that sign them in (session ids and one-time links), of which the
//! store keeps only hashes.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chrono::{DateTime, Utc};
use rand::RngCore;
use sha2::{Digest, Sha256};

use super::{OrgId, Role, UserId};

/// A staff member's email address, trimmed and lower-cased, so that
/// "Sam@Example.org " and "sam@example.org" are one account.
///
/// Only the shape an address must have is checked (one `@`, something
/// either side, a dot in the domain, no spaces): whether mail reaches it is
/// not Homeward's business, as no mail is sent.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Email(String);

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("Enter an email address")]
    Empty,
    #[error("Enter an email address in the correct format, like name@example.org")]
    Shape,
}

impl Email {
    pub const MAX: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let email = raw.trim().to_lowercase();
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        let Some((local, domain)) = email.split_once('@') else {
            return Err(EmailError::Shape);
        };
        let shaped = !local.is_empty()
            && domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains('@')
            && email.len() <= Self::MAX
            && !email.chars().any(|c| c.is_whitespace() || c.is_control());
        if shaped {
            Ok(Self(email))
        } else {
            Err(EmailError::Shape)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Personal data: shown on the pages, never in logs.
impl fmt::Debug for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Email([personal])")
    }
}

/// A staff account, as the pages and the command line see it.
#[derive(Clone, PartialEq, Eq)]
pub struct User {
    pub id: UserId,
    pub org_id: OrgId,
    pub email: Email,
    pub role: Role,
    /// An Argon2id PHC string; `None` until the user follows their link.
    pub password_hash: Option<String>,
    pub created_at: DateTime<Utc>,
    pub disabled_at: Option<DateTime<Utc>>,
}

/// Never the password hash: a debug print may reach a log.
impl fmt::Debug for User {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("User")
            .field("id", &self.id)
            .field("org_id", &self.org_id)
            .field("email", &self.email)
            .field("role", &self.role)
            .field("has_password", &self.password_hash.is_some())
            .field("created_at", &self.created_at)
            .field("disabled_at", &self.disabled_at)
            .finish()
    }
}

impl User {
    pub fn is_active(&self) -> bool {
        self.disabled_at.is_none()
    }
}

/// A secret handed to a browser or printed once: a session id or a
/// one-time link's token. 256 random bits, so a plain SHA-256 is enough to
/// store (as for API tokens): a copy of the database signs no one in.
pub struct Secret(String);

impl Secret {
    pub fn generate() -> Self {
        let mut bytes = [0u8; 32];
        rand::rng().fill_bytes(&mut bytes);
        Self(URL_SAFE_NO_PAD.encode(bytes))
    }

    /// A secret as a browser or a link presented it.
    pub fn presented(value: &str) -> Self {
        Self(value.to_owned())
    }

    pub fn expose(&self) -> &str {
        &self.0
    }

    pub fn hash(&self) -> SecretHash {
        SecretHash(hex::encode(Sha256::digest(self.0.as_bytes())))
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

/// The stored form of a [`Secret`].
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SecretHash(String);

impl SecretHash {
    pub fn from_stored(hex: String) -> Self {
        Self(hex)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// What a one-time link lets its holder do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LinkPurpose {
    /// Create the first organisation and its first admin (empty database).
    Setup,
    /// Choose a password for this user (new account, or a reset).
    SetPassword(UserId),
}

/// A signed-in browser, as the store keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StaffSession {
    pub user: User,
    /// Sent with every form and checked on every change.
    pub csrf_token: String,
    pub created_at: DateTime<Utc>,
    pub last_seen_at: DateTime<Utc>,
}

impl StaffSession {
    /// The signed-in user as the use cases see every caller.
    #[must_use]
    pub fn caller(&self) -> super::Caller {
        super::Caller {
            org_id: self.user.org_id,
            via: super::Credential::User(self.user.id),
            role: self.user.role,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_email_is_one_account_whatever_its_case_and_spaces() {
        let a = Email::parse(" Sam.Jones@Example.ORG ").unwrap();
        assert_eq!(a.as_str(), "sam.jones@example.org");
        assert_eq!(a, Email::parse("sam.jones@example.org").unwrap());
    }

    #[test]
    fn an_email_without_its_parts_is_refused_with_a_reason() {
        assert_eq!(Email::parse("  "), Err(EmailError::Empty));
        for bad in [
            "sam",
            "@example.org",
            "sam@",
            "sam@example",
            "sam@.org",
            "s am@example.org",
            "a@b@c.org",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Shape), "{bad}");
        }
        assert_eq!(
            format!("{:?}", Email::parse("a@b.org").unwrap()),
            "Email([personal])"
        );
    }

    #[test]
    fn secrets_differ_and_are_stored_as_hashes() {
        let (a, b) = (Secret::generate(), Secret::generate());
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.hash(), Secret::presented(a.expose()).hash());
        assert_ne!(a.hash().as_str(), a.expose());
        assert_eq!(format!("{a:?}"), "Secret([redacted])");
    }

    #[test]
    fn a_user_never_prints_their_password_hash_or_email() {
        let user = User {
            id: UserId::new(),
            org_id: OrgId::new(),
            email: Email::parse("sam@example.org").unwrap(),
            role: Role::Staff,
            password_hash: Some("$argon2id$v=19$secret".into()),
            created_at: DateTime::UNIX_EPOCH,
            disabled_at: None,
        };
        let printed = format!("{user:?}");
        assert!(
            !printed.contains("argon2") && !printed.contains("sam@"),
            "{printed}"
        );
        assert!(printed.contains("has_password: true"), "{printed}");
    }
}
