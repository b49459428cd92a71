//! Homeward's vocabulary: value types that are valid by construction, and the
//! records built from them. Nothing here does I/O; every other module depends
//! on this one and it depends on none of them.

mod audit;
mod event;
mod ids;
mod inbound;
mod lifecycle;
mod message;
mod person;
mod phone;
mod region;
pub(crate) mod schema;
mod staff;
mod template;
mod text;
mod token;

pub use audit::{Actor, AuditAction, AuditEntry, AuditTarget, NewAuditEntry, TargetKind};
pub use event::{
    AppointmentKind, AppointmentStatus, Event, EventDetail, EventKind, LiberationStatus, NewEvent,
    UnknownWord,
};
pub use ids::{AuditId, EventId, ImportRunId, OrgId, PersonId, TokenId, UserId};
pub use inbound::{AttentionItem, Inbound, NewAttention, Suppression};
pub use lifecycle::IllegalTransition;
pub use message::{
    Message, MessageBody, MessageId, MessageOrigin, MessageState, NewMessage, Transition,
};
pub use person::{Caller, Credential, NewPerson, Organisation, Person, Role, UpsertOutcome};
pub use phone::{MobileHash, MobilePolicy, PhoneError, PhoneNumber, mask};
pub use region::{Region, UnknownRegion};
pub use staff::{Email, EmailError, LinkPurpose, Secret, SecretHash, StaffSession, User};
pub use template::TemplateName;
pub use text::{
    Establishment, EventRef, ExternalRef, FirstName, Language, OrgName, Place, PlainText, TextError,
};
pub use token::{ApiToken, TokenHash, TokenSecret};
