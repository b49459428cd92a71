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

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use crate::domain::{
    ExternalRef, Message, MessageId, NewEvent, NewPerson, OrgId, PersonId, PhoneNumber, Role,
    TokenHash, UpsertOutcome,
};

pub use access::{AccessStore, AuditFilter};
pub use inbound::InboundStore;
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

/// Each number by its keyed hash, for look-ups of many numbers at once.
fn by_hash(vault: &crate::vault::Vault, mobiles: &[PhoneNumber]) -> HashMap<String, PhoneNumber> {
    mobiles
        .iter()
        .map(|m| (vault.index(m).as_str().to_owned(), m.clone()))
        .collect()
}

/// Times keyed by hash, grouped under the numbers the hashes stand for.
fn by_number(
    by_hash: &HashMap<String, PhoneNumber>,
    rows: Vec<(String, DateTime<Utc>)>,
) -> HashMap<PhoneNumber, Vec<DateTime<Utc>>> {
    let mut found: HashMap<PhoneNumber, Vec<DateTime<Utc>>> = HashMap::new();
    for (hash, at) in rows {
        if let Some(mobile) = by_hash.get(&hash) {
            found.entry(mobile.clone()).or_default().push(at);
        }
    }
    found
}

/// How a claimed message ended, recorded right after the provider call.
#[derive(Debug, Clone)]
pub enum SendRecord {
    Sent {
        provider: String,
        provider_id: String,
    },
    /// Try again at `at` (a passing failure, or not allowed to go yet).
    Retry {
        at: DateTime<Utc>,
        reason: String,
        count_attempt: bool,
    },
    Failed {
        reason: String,
    },
    Suppressed {
        reason: String,
    },
    Expired {
        reason: String,
    },
}

/// The dispatcher's side of the store: claims with leases, outcomes, and the
/// checks made again at send time.
#[async_trait]
pub trait DispatchStore: Send + Sync + 'static {
    /// Claim up to `limit` due messages for `worker` until `lease_until`,
    /// committing before any provider is called. Waiting messages whose
    /// time has come and claims whose lease ran out (a daemon died
    /// mid-send) are both due.
    async fn claim_due(
        &self,
        now: DateTime<Utc>,
        lease_until: DateTime<Utc>,
        limit: u32,
        worker: &str,
    ) -> Result<Vec<ClaimedMessage>, StoreError>;
    /// Record the outcomes of claims held by `worker`, all in one
    /// transaction. For each, in order, `false` when the claim was no longer
    /// ours (its lease ran out and another took it).
    async fn record_sends(
        &self,
        worker: &str,
        outcomes: &[(MessageId, SendRecord)],
        now: DateTime<Utc>,
    ) -> Result<Vec<bool>, StoreError>;
    /// [`Self::record_sends`] for one claim.
    async fn record_send(
        &self,
        id: MessageId,
        worker: &str,
        record: &SendRecord,
        now: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let ours = self
            .record_sends(worker, &[(id, record.clone())], now)
            .await?;
        Ok(ours[0])
    }
    /// Put back claims not yet sent (at shutdown).
    async fn release(
        &self,
        id: MessageId,
        worker: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Add a number to the suppression list (idempotent). The reason is
    /// sealed, here and in the list's log, as staff may have typed it.
    async fn suppress(
        &self,
        mobile: &PhoneNumber,
        source: &str,
        reason: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Note that a person's number failed permanently: texts to them pause
    /// until staff change the number.
    async fn mark_number_invalid(
        &self,
        person: PersonId,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// For each of these numbers that has any, when texts to it went out
    /// (or were claimed) since `since`, leaving out the messages `except`.
    /// Replies to a person's own text are not counted.
    async fn sends_to_numbers(
        &self,
        mobiles: &[PhoneNumber],
        since: DateTime<Utc>,
        except: &[MessageId],
    ) -> Result<HashMap<PhoneNumber, Vec<DateTime<Utc>>>, StoreError>;
    /// [`Self::sends_to_numbers`] for one number.
    async fn sends_to_number(
        &self,
        mobile: &PhoneNumber,
        since: DateTime<Utc>,
        except: MessageId,
    ) -> Result<Vec<DateTime<Utc>>, StoreError> {
        let mut found = self
            .sends_to_numbers(std::slice::from_ref(mobile), since, &[except])
            .await?;
        Ok(found.remove(mobile).unwrap_or_default())
    }
    /// Apply `provider`'s delivery report to a message that provider sent,
    /// found by its provider id or else by our `reference`; idempotent (a
    /// replay or a late report changes nothing). A message that provider
    /// did not send is never touched, whatever the report names.
    async fn record_delivery(
        &self,
        provider: &str,
        provider_id: &str,
        reference: Option<MessageId>,
        delivered: Result<(), String>,
        now: DateTime<Utc>,
    ) -> Result<DeliveryMatch, StoreError>;
    /// Waiting messages due at or before `now`: the queue depth.
    async fn due_count(&self, now: DateTime<Utc>) -> Result<u64, StoreError>;
}

/// A claimed message with what the send-time checks need.
#[derive(Debug, Clone)]
pub struct ClaimedMessage {
    pub message: Message,
    pub attempts: u32,
    /// The person's number was marked invalid (a permanent failure).
    pub number_invalid: bool,
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
