//! Texts people send us, the suppression list, and the staff attention list.

use std::fmt;

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::{MessageId, MobileHash, OrgId, PersonId};

/// A stored inbound text.
#[derive(Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Inbound {
    pub id: String,
    pub provider: String,
    #[serde(skip)]
    pub provider_message_id: String,
    /// The sender as E.164 where it parses, else as the provider gave it.
    pub from: String,
    pub body: String,
    pub intent: String,
    pub received_at: DateTime<Utc>,
}

impl fmt::Debug for Inbound {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Inbound")
            .field("id", &self.id)
            .field("provider", &self.provider)
            .field("from", &super::mask(&self.from))
            .field("intent", &self.intent)
            .finish()
    }
}

/// A number that must not be texted.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Suppression {
    /// Only the keyed hash of the number is kept, indefinitely.
    pub mobile_hash: MobileHash,
    /// The people of the asking organisation with this number, where the
    /// list was asked for by one.
    pub people: Vec<PersonId>,
    /// Who put it there: `reply` (the person), `staff`, or a provider's name.
    pub source: String,
    pub reason: String,
    pub since: DateTime<Utc>,
}

/// Something a person on staff should look at.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct AttentionItem {
    pub id: String,
    #[serde(skip)]
    pub org_id: OrgId,
    pub person_id: PersonId,
    pub kind: String,
    pub detail: String,
    pub inbound_id: Option<String>,
    pub message_id: Option<MessageId>,
    pub created_at: DateTime<Utc>,
    pub resolved_at: Option<DateTime<Utc>>,
    pub resolution: Option<String>,
}

/// A new attention item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewAttention {
    pub org_id: OrgId,
    pub person_id: PersonId,
    pub kind: &'static str,
    pub detail: String,
    pub inbound_id: Option<String>,
    pub message_id: Option<MessageId>,
}
