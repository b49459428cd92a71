//! Persistence behind one trait, so the use cases never name a database.
//!
//! Queries are written at run time (`sqlx::query`, not `query!`): the
//! compile-time checked macros can only check against one database at a
//! time, and Homeward ships SQLite and PostgreSQL. The shared conformance
//! tests in `tests/store` guard the SQL instead.
//!
//! Every row that belongs to someone carries its organisation id, and every
//! method that reads or changes such rows takes the caller's `OrgId`, so one
//! organisation cannot reach another's data even through a guessed id.

mod sqlite;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    Caller, Event, EventDetail, EventId, ExternalRef, NewEvent, NewPerson, OrgId, OrgName,
    Organisation, Person, PersonId, Role, TokenHash, TokenId, UpsertOutcome,
};

pub use sqlite::SqliteStore;

/// What can go wrong below the use cases.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(String),
    #[error("the database holds a value Homeward cannot read: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
}

/// A new API token's stored half.
#[derive(Debug, Clone)]
pub struct NewToken {
    pub org_id: OrgId,
    pub hash: TokenHash,
    pub role: Role,
    pub label: Option<String>,
}

/// One page of a listing, in id (creation) order.
#[derive(Debug, Clone, Copy)]
pub struct Page<Id> {
    pub after: Option<Id>,
    pub limit: u32,
}

/// One row of an import, already validated.
#[derive(Debug, Clone)]
pub enum ImportRecord {
    /// A person and their liberation.
    Release {
        person: NewPerson,
        liberation: NewEvent,
    },
    /// An appointment for a person who must already exist.
    Appointment {
        person: ExternalRef,
        appointment: NewEvent,
    },
}

/// What one import row did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImportOutcome {
    Done(UpsertOutcome),
    UnknownPerson,
}

#[async_trait]
pub trait Store: Send + Sync + 'static {
    /// Apply any migrations not yet applied.
    async fn migrate(&self) -> Result<(), StoreError>;
    /// The database answers and every migration this build knows is applied.
    async fn check_ready(&self) -> Result<(), StoreError>;

    async fn create_org(
        &self,
        name: &OrgName,
        now: DateTime<Utc>,
    ) -> Result<Organisation, StoreError>;
    async fn org_by_name(&self, name: &OrgName) -> Result<Option<Organisation>, StoreError>;
    async fn orgs(&self) -> Result<Vec<Organisation>, StoreError>;

    async fn create_token(
        &self,
        token: &NewToken,
        now: DateTime<Utc>,
    ) -> Result<TokenId, StoreError>;
    /// The caller behind an unrevoked token.
    async fn caller_for_token(&self, hash: &TokenHash) -> Result<Option<Caller>, StoreError>;

    async fn upsert_person(
        &self,
        org: OrgId,
        person: &NewPerson,
        now: DateTime<Utc>,
    ) -> Result<(Person, UpsertOutcome), StoreError>;
    async fn person(&self, org: OrgId, id: PersonId) -> Result<Option<Person>, StoreError>;
    async fn people(&self, org: OrgId, page: Page<PersonId>) -> Result<Vec<Person>, StoreError>;
    /// Replace a person's details; `None` if no such person in `org`.
    async fn update_person(
        &self,
        org: OrgId,
        id: PersonId,
        person: &NewPerson,
        now: DateTime<Utc>,
    ) -> Result<Option<Person>, StoreError>;
    /// Remove a person and their events; `false` if there was none.
    async fn delete_person(&self, org: OrgId, id: PersonId) -> Result<bool, StoreError>;

    async fn upsert_event(
        &self,
        org: OrgId,
        person: PersonId,
        event: &NewEvent,
        now: DateTime<Utc>,
    ) -> Result<(Event, UpsertOutcome), StoreError>;
    async fn events(&self, org: OrgId, person: PersonId) -> Result<Vec<Event>, StoreError>;
    async fn event(
        &self,
        org: OrgId,
        person: PersonId,
        id: EventId,
    ) -> Result<Option<Event>, StoreError>;
    async fn update_event(
        &self,
        org: OrgId,
        person: PersonId,
        id: EventId,
        detail: &EventDetail,
        now: DateTime<Utc>,
    ) -> Result<Option<Event>, StoreError>;

    /// Apply validated import rows in one transaction: all of them or none.
    async fn import(
        &self,
        org: OrgId,
        records: &[ImportRecord],
        now: DateTime<Utc>,
    ) -> Result<Vec<ImportOutcome>, StoreError>;
}
