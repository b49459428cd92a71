//! People and the organisations and tokens that act for them.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::event::word_enum;
use super::{
    ExternalRef, FirstName, Language, OrgId, OrgName, PersonId, PhoneNumber, TokenId, UserId,
};

/// A person as a caller describes them, before they are stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPerson {
    pub external_ref: ExternalRef,
    pub first_name: FirstName,
    pub mobile: PhoneNumber,
    pub language: Language,
}

/// A stored person.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Person {
    pub id: PersonId,
    #[serde(skip)]
    pub org_id: OrgId,
    pub external_ref: ExternalRef,
    pub first_name: FirstName,
    pub mobile: PhoneNumber,
    pub language: Language,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Person {
    /// The person as a caller would describe them now.
    pub fn as_new(&self) -> NewPerson {
        NewPerson {
            external_ref: self.external_ref.clone(),
            first_name: self.first_name.clone(),
            mobile: self.mobile.clone(),
            language: self.language.clone(),
        }
    }
}

/// A prison, throughcare team or health board: the unit of data isolation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Organisation {
    pub id: OrgId,
    pub name: OrgName,
    pub created_at: DateTime<Utc>,
}

word_enum!(
    /// What a token may do. Staff manage people, events, texts, opt-outs and
    /// the attention list. Admins may do all that, and also what cannot be
    /// undone or reaches beyond one person's texts: erase or export a
    /// person, take a number off the opt-out list, read the audit trail, and
    /// list and revoke tokens.
    Role { Staff = "staff", Admin = "admin" }
);

/// The identity behind an authenticated request: an API token, or a staff
/// member signed in to the web pages. Both reach the same use cases with
/// the same rights for the same role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Caller {
    pub org_id: OrgId,
    pub via: Credential,
    pub role: Role,
}

/// How a caller proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Credential {
    Token(TokenId),
    User(UserId),
}

/// How a credential is named in what staff see (an opt-out's source, who
/// resolved an item): a token's id as before there were users, or
/// `user:<id>`; never a name or an address.
impl std::fmt::Display for Credential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Token(id) => write!(f, "{id}"),
            Self::User(id) => write!(f, "user:{id}"),
        }
    }
}

/// Whether an upsert changed anything: a re-sent record must change nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum UpsertOutcome {
    Created,
    Updated,
    Unchanged,
}
