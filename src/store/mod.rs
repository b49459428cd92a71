//! Persistence behind one trait, so the use cases never name a database.
//!
//! Queries are written at run time (`sqlx::query`, not `query!`): the
//! compile-time checked macros can only check against one database at a
//! time, and Homeward ships SQLite and PostgreSQL. The shared conformance
//! tests in `tests/store` guard the SQL instead.
//!
//! **One body per operation.** An area's operations are written once, as a
//! `macro_rules!` body beside its trait (e.g. `access::access_store!`), and
//! instantiated for each backend at the end of `sqlite/mod.rs` and
//! `postgres/mod.rs` — the pattern vaultwarden's `db_run!` uses. The body is
//! type-checked once per backend, against that backend's own pool, write
//! transaction and `sqlx::Database`. We chose a macro over functions generic
//! over `sqlx::Database` because sqlx's generic bounds (an `Executor` for
//! every connection type, `Encode` and `Type` for every bound value) make a
//! generic function's signature longer than its body, and because the two
//! write transactions are different types (SQLite's holds this process's
//! writer turn). The SQL uses `$N` placeholders, which both drivers bind to
//! the Nth argument (checked by a test in `sqlite/dialect.rs`). Where the
//! databases really differ, a body calls its backend's `dialect` module
//! (same function names, e.g. how an instant reads back), and what differs
//! wholesale stays in the backend's own files: SQLite's single writer and
//! `BEGIN IMMEDIATE`; PostgreSQL's `FOR NO KEY UPDATE SKIP LOCKED`,
//! advisory-lock leads and `unnest` bulk forms.
//!
//! Every row that belongs to someone carries its organisation id, and every
//! method that reads or changes such rows takes the caller's `OrgId`, so one
//! organisation cannot reach another's data even through a guessed id.
//!
//! Two implementations: [`SqliteStore`] for one daemon, [`PostgresStore`]
//! for several sharing one database (see `postgres` for how concurrent
//! writers are kept apart).

mod access;
mod casework;
mod dispatch;
mod import_batch;
mod inbound;
mod journal;
mod messages;
mod outcome;
mod people;
mod postgres;
mod privacy;
mod rows;
mod sealed;
mod sqlite;
mod staff;

use std::collections::HashMap;

use async_trait::async_trait;

use crate::domain::{
    ExternalRef, IllegalTransition, MessageState, NewEvent, NewPerson, OrgId, PhoneNumber, Role,
    TokenHash, UpsertOutcome,
};

pub use access::{AccessStore, AuditFilter};
pub use casework::{CaseworkStore, SEARCH_LIMIT};
pub use dispatch::{ClaimedMessage, DispatchStore, SendRecord};
pub use inbound::{AttentionQuery, InboundStore};
pub use journal::{ImportJournal, ImportRun};
pub use messages::{MessageFilter, MessageStore, MessageUpdate, PlanChanges};
pub use outcome::{DeliveryMatch, Unmatched};
use outcome::{delivery_change, report_can_move};
pub use people::Store;
pub use postgres::{PostgresOptions, PostgresStore};
pub use privacy::{Erased, PrivacyStore, Reseal};
pub(crate) use sealed::{
    SEALED_COLUMNS, SEALED_REASON, SEALING_MIGRATIONS, SealedColumn, SuppressionChange, note_from,
    transition_reason,
};
pub use sqlite::SqliteStore;
pub use staff::StaffStore;

/// What can go wrong below the use cases.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{0} already exists")]
    Conflict(String),
    #[error("the database holds a value Homeward cannot read: {0}")]
    Corrupt(String),
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// From the SQLite connection that reads in place (`sqlite::in_place`).
    #[error(transparent)]
    InPlace(#[from] rusqlite::Error),
    #[error(transparent)]
    Migrate(#[from] sqlx::migrate::MigrateError),
    /// A change the message life cycle forbids: a bug in the caller, refused
    /// before the database is touched.
    #[error(transparent)]
    IllegalTransition(#[from] IllegalTransition),
    /// A change checked against a state the message had already left: another
    /// writer moved it first, and nothing was changed.
    #[error("{lost} of {of} messages were no longer {from} when they were to become {to}")]
    LostRace {
        from: MessageState,
        to: MessageState,
        lost: u64,
        of: usize,
    },
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

/// Each number by its keyed hash, for look-ups of many numbers at once.
fn by_hash(vault: &crate::vault::Vault, mobiles: &[PhoneNumber]) -> HashMap<String, PhoneNumber> {
    mobiles
        .iter()
        .map(|m| (vault.index(m).as_str().to_owned(), m.clone()))
        .collect()
}

/// Leadership among daemons sharing one database: for a given name, at most
/// one daemon's store answers `true` at a time. A daemon that dies loses its
/// leads, and another's next `try_lead` takes over.
#[async_trait]
pub trait LeaderStore: Send + Sync + 'static {
    /// Take, or keep, the lead for `name`: `true` while this store holds it.
    /// Ask again before each piece of work the lead guards: a lead can be
    /// lost (the database restarted), and an error means "not leading".
    async fn try_lead(&self, name: &str) -> Result<bool, StoreError>;
    /// Give the lead for `name` up (at shutdown), so another daemon can take
    /// over at once rather than when this one's connection closes.
    async fn release_lead(&self, name: &str) -> Result<(), StoreError>;
}

/// Keeping the database's query planner informed as the data grows.
#[async_trait]
pub trait UpkeepStore: Send + Sync + 'static {
    /// Bring the planner's statistics up to date where the data has changed
    /// enough to matter; cheap when it has not. Run on a schedule.
    async fn refresh_statistics(&self) -> Result<(), StoreError>;
}

/// SQLite is one daemon's own file: that daemon always leads.
#[async_trait]
impl LeaderStore for SqliteStore {
    async fn try_lead(&self, _name: &str) -> Result<bool, StoreError> {
        Ok(true)
    }

    async fn release_lead(&self, _name: &str) -> Result<(), StoreError> {
        Ok(())
    }
}

/// Open a sealed column of a row from either backend (see `vault`).
pub(crate) fn unsealed<R>(
    row: &R,
    column: &str,
    vault: &crate::vault::Vault,
    field: crate::vault::Field,
) -> Result<String, StoreError>
where
    R: sqlx::Row,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
{
    let raw: String = row.try_get(column)?;
    vault
        .open(field, &raw)
        .map_err(|e| StoreError::Corrupt(format!("{column}: {e}")))
}

/// Open a sealed phone number column of a row from either backend.
pub(crate) fn unsealed_mobile<R>(
    row: &R,
    column: &str,
    vault: &crate::vault::Vault,
) -> Result<PhoneNumber, StoreError>
where
    R: sqlx::Row,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
{
    unsealed(row, column, vault, crate::vault::Field::Mobile).map(PhoneNumber::from_trusted_e164)
}
