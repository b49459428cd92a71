//! The audit trail: who created, changed, cancelled, exported or deleted
//! what, and when.
//!
//! An entry names things only by kind and id: never a phone number, a name
//! or a message body, so the trail can be kept and shown to an auditor
//! without itself becoming a copy of the personal data it describes. Ids are
//! kept even after the thing they name is erased: that the erasure happened
//! is exactly what the trail must still show.

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::event::word_enum;
use super::{AuditId, Caller, Credential, EventId, MessageId, OrgId, PersonId, TokenId, UserId};

/// Who did it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(tag = "actor", rename_all = "snake_case")]
pub enum Actor {
    /// A request made with this API token.
    Token { token_id: TokenId },
    /// A staff member signed in to the web pages.
    User { user_id: UserId },
    /// The operator, with the `homeward` command line.
    Cli,
    /// The daemon itself, e.g. a housekeeping job.
    System,
}

impl Actor {
    /// How the actor is stored: `token`, `user`, `cli` or `system`.
    pub fn kind(&self) -> &'static str {
        match self {
            Self::Token { .. } => "token",
            Self::User { .. } => "user",
            Self::Cli => "cli",
            Self::System => "system",
        }
    }

    pub fn token_id(&self) -> Option<TokenId> {
        match self {
            Self::Token { token_id } => Some(*token_id),
            Self::User { .. } | Self::Cli | Self::System => None,
        }
    }

    pub fn user_id(&self) -> Option<UserId> {
        match self {
            Self::User { user_id } => Some(*user_id),
            Self::Token { .. } | Self::Cli | Self::System => None,
        }
    }

    /// The actor as stored: its kind and, for a token or a user, its id.
    pub fn from_stored(
        kind: &str,
        token_id: Option<TokenId>,
        user_id: Option<UserId>,
    ) -> Result<Self, String> {
        match (kind, token_id, user_id) {
            ("token", Some(token_id), None) => Ok(Self::Token { token_id }),
            ("user", None, Some(user_id)) => Ok(Self::User { user_id }),
            ("cli", None, None) => Ok(Self::Cli),
            ("system", None, None) => Ok(Self::System),
            _ => Err(format!(
                "actor {kind:?} with token {token_id:?} and user {user_id:?}"
            )),
        }
    }
}

impl From<&Caller> for Actor {
    fn from(caller: &Caller) -> Self {
        match caller.via {
            Credential::Token(token_id) => Self::Token { token_id },
            Credential::User(user_id) => Self::User { user_id },
        }
    }
}

word_enum!(
    /// What was done.
    AuditAction {
        Created = "created",
        Updated = "updated",
        Cancelled = "cancelled",
        Deleted = "deleted",
        Exported = "exported",
        Imported = "imported",
        Resolved = "resolved",
        Revoked = "revoked",
        SignedIn = "signed_in",
        SignedOut = "signed_out",
        SignInFailed = "sign_in_failed",
        PasswordSet = "password_set",
        Disabled = "disabled",
    }
);

word_enum!(
    /// What kind of thing it was done to.
    TargetKind {
        Organisation = "organisation",
        Token = "token",
        Person = "person",
        Event = "event",
        Message = "message",
        Outcome = "outcome",
        OptOut = "optout",
        Attention = "attention",
        Import = "import",
        User = "user",
    }
);

/// What it was done to: a kind, an id, and the person whose data it is,
/// if any, so that everything done to one person's data can be found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuditTarget {
    pub kind: TargetKind,
    pub id: String,
    pub person_id: Option<PersonId>,
}

impl AuditTarget {
    pub fn person(id: PersonId) -> Self {
        Self::of(TargetKind::Person, id.to_string(), Some(id))
    }

    pub fn event(person: PersonId, id: EventId) -> Self {
        Self::of(TargetKind::Event, id.to_string(), Some(person))
    }

    pub fn message(person: PersonId, id: MessageId) -> Self {
        Self::of(TargetKind::Message, id.to_string(), Some(person))
    }

    /// A goal reached (`gp_registered`), by the person who reached it.
    pub fn outcome(person: PersonId, goal: &str) -> Self {
        Self::of(TargetKind::Outcome, goal.to_owned(), Some(person))
    }

    /// The opt-out of a person's number.
    pub fn opt_out(person: PersonId) -> Self {
        Self::of(TargetKind::OptOut, person.to_string(), Some(person))
    }

    pub fn attention(id: &str) -> Self {
        Self::of(TargetKind::Attention, id.to_owned(), None)
    }

    pub fn token(id: TokenId) -> Self {
        Self::of(TargetKind::Token, id.to_string(), None)
    }

    pub fn user(id: UserId) -> Self {
        Self::of(TargetKind::User, id.to_string(), None)
    }

    pub fn organisation(id: OrgId) -> Self {
        Self::of(TargetKind::Organisation, id.to_string(), None)
    }

    /// A CSV import of `what` (`releases` or `appointments`).
    pub fn import(what: &str) -> Self {
        Self::of(TargetKind::Import, what.to_owned(), None)
    }

    fn of(kind: TargetKind, id: String, person_id: Option<PersonId>) -> Self {
        Self {
            kind,
            id,
            person_id,
        }
    }
}

/// An entry before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAuditEntry {
    pub org_id: OrgId,
    pub actor: Actor,
    pub action: AuditAction,
    pub target: AuditTarget,
    /// A short note built only from values that are not personal data
    /// (counts, goal and template names); never a name, number or text.
    pub detail: Option<String>,
}

/// A stored entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct AuditEntry {
    pub id: AuditId,
    #[serde(skip)]
    pub org_id: OrgId,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub actor: Actor,
    pub action: AuditAction,
    pub target: AuditTarget,
    pub detail: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_actor_round_trips_through_its_stored_form() {
        let token = Actor::Token {
            token_id: TokenId::new(),
        };
        let user = Actor::User {
            user_id: UserId::new(),
        };
        for actor in [token, user, Actor::Cli, Actor::System] {
            assert_eq!(
                Actor::from_stored(actor.kind(), actor.token_id(), actor.user_id()),
                Ok(actor)
            );
        }
        assert!(Actor::from_stored("token", None, None).is_err());
        assert!(Actor::from_stored("user", Some(TokenId::new()), None).is_err());
        assert!(Actor::from_stored("cli", Some(TokenId::new()), None).is_err());
    }

    #[test]
    fn an_entry_shows_its_actor_beside_what_was_done() {
        let token_id = TokenId::new();
        let person = PersonId::new();
        let entry = AuditEntry {
            id: AuditId::new(),
            org_id: OrgId::new(),
            at: DateTime::UNIX_EPOCH,
            actor: Actor::Token { token_id },
            action: AuditAction::Deleted,
            target: AuditTarget::person(person),
            detail: None,
        };
        let json = serde_json::to_value(&entry).unwrap();
        assert_eq!(json["actor"], "token");
        assert_eq!(json["token_id"], token_id.to_string());
        assert_eq!(json["action"], "deleted");
        assert_eq!(json["target"]["kind"], "person");
        assert_eq!(json["target"]["person_id"], person.to_string());
        assert!(json.get("org_id").is_none());
    }
}
