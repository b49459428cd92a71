//! Messages: one planned text to one person, and the states it moves through.
//!
//! ```text
//! pending → claimed → sent → delivered | failed
//!    ↘ cancelled (event changed, goal reached, staff)   ↘ retrying → claimed
//!    ↘ suppressed (opted out, number invalid)  ↘ expired (too late to help)
//! ```
//! Every transition is recorded with its time and reason.

use std::fmt;

use chrono::{DateTime, NaiveTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

use super::event::word_enum;
use super::{EventId, Language, OrgId, PersonId, PhoneNumber, TemplateName};

super::ids::id_type!(
    /// One planned text.
    MessageId
);

word_enum!(
    /// Where a message stands.
    MessageState {
        Pending = "pending",
        Claimed = "claimed",
        Retrying = "retrying",
        Sent = "sent",
        Delivered = "delivered",
        Failed = "failed",
        Cancelled = "cancelled",
        Suppressed = "suppressed",
        Expired = "expired",
    }
);

impl MessageState {
    /// Nothing more will happen to a message in a final state.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            Self::Delivered | Self::Failed | Self::Cancelled | Self::Suppressed | Self::Expired
        )
    }

    /// Still waiting to be sent, so planning may move or cancel it.
    pub fn is_waiting(self) -> bool {
        matches!(self, Self::Pending | Self::Retrying)
    }
}

/// The rendered text of a message. It is what the person will read, so it
/// is never logged: `Debug` shows only its length.
#[derive(Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct MessageBody(String);

impl MessageBody {
    pub fn new(text: String) -> Self {
        Self(text)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

super::schema::describe!(
    MessageBody,
    super::schema::string("The text as the person reads it (one SMS segment by design).")
);

impl fmt::Debug for MessageBody {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MessageBody({} chars)", self.0.chars().count())
    }
}

/// Why a message was planned.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
#[serde(tag = "source", rename_all = "snake_case")]
pub enum MessageOrigin {
    /// A campaign rule applied to an event.
    Rule { rule_id: String, event_id: EventId },
    /// A one-off nudge from staff.
    Nudge,
    /// An answer to a text the person sent (STOP, START, HELP).
    Reply { inbound_id: String },
    /// A text staff typed to answer the person: never sent to an opted-out
    /// number and kept to sending hours, but not held back by the daily cap.
    StaffReply,
}

impl MessageOrigin {
    /// How a staff reply's dedupe key starts: the stored form of
    /// [`MessageOrigin::StaffReply`], which has no column of its own.
    pub const STAFF_REPLY_KEY: &'static str = "reply/";
}

/// A message as planned, before it is stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewMessage {
    pub id: MessageId,
    pub org_id: OrgId,
    pub person_id: PersonId,
    pub origin: MessageOrigin,
    /// At most one live message per key: a rule × event × occasion.
    pub dedupe_key: String,
    pub template: TemplateName,
    pub language: Language,
    pub body: MessageBody,
    pub mobile: PhoneNumber,
    /// When the rule (or staff) wanted it sent.
    pub due_at: DateTime<Utc>,
    /// When it will go: `due_at` moved by sending hours and caps.
    pub send_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    /// A rule's own earlier start to the sending window, if any.
    pub earliest: Option<NaiveTime>,
    /// Lower is more important when a daily cap forces a choice.
    pub priority: u8,
    pub goal: Option<String>,
}

/// A stored message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Message {
    pub id: MessageId,
    #[serde(skip)]
    pub org_id: OrgId,
    pub person_id: PersonId,
    #[serde(flatten)]
    pub origin: MessageOrigin,
    #[serde(skip)]
    pub dedupe_key: String,
    pub template: TemplateName,
    pub language: Language,
    pub body: MessageBody,
    #[serde(skip)]
    pub mobile: PhoneNumber,
    pub state: MessageState,
    pub due_at: DateTime<Utc>,
    pub send_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    #[serde(skip)]
    pub earliest: Option<NaiveTime>,
    pub priority: u8,
    pub goal: Option<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// One recorded change of state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Transition {
    pub from: Option<MessageState>,
    pub to: MessageState,
    pub reason: String,
    pub at: DateTime<Utc>,
}
