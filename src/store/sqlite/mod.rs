//! The embedded SQLite store.
//!
//! WAL mode lets readers carry on while one writer writes. Every write
//! transaction starts with `BEGIN IMMEDIATE`: a deferred transaction that
//! reads before it writes cannot upgrade once another connection has
//! committed (SQLite answers "busy" at once, whatever the busy timeout), while
//! an immediate one queues politely for the write lock.
//!
//! Writers in this process also take turns on an async mutex before they
//! begin. SQLite lets one writer in at a time whatever we do; without the
//! turn, a connection that finds the lock taken sleeps in SQLite's busy
//! handler (1, 2, 5, 10… ms) rather than waking when the lock frees, and
//! eight dispatch tasks recording sends spend most of their time asleep.
//! The busy timeout still covers writers in other processes (a CLI import
//! while the daemon runs).

use std::ops::{Deref, DerefMut};
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteRow, SqliteSynchronous,
};
use sqlx::{QueryBuilder, Row, Sqlite, Transaction};

use super::{ImportOutcome, ImportRecord, NewToken, Page, Store, StoreError};
use crate::domain::{
    AppointmentKind, AppointmentStatus, Caller, Establishment, Event, EventDetail, EventId,
    EventKind, EventRef, ExternalRef, FirstName, Language, LiberationStatus, NewEvent, NewPerson,
    OrgId, OrgName, Organisation, Person, PersonId, Place, TokenHash, TokenId, UpsertOutcome,
};
use crate::vault::{Field, Vault};

mod dialect;
mod dispatch;
mod import;
mod messages;
mod rows;

use rows::{checked, optional, parsed, unsealed, unsealed_mobile};

static MIGRATOR: Migrator = sqlx::migrate!("./migrations/sqlite");

pub(super) const PERSON_COLUMNS: &str =
    "id, org_id, external_ref, first_name, mobile, language, created_at, updated_at";
pub(super) const EVENT_COLUMNS: &str = "id, org_id, person_id, event_ref, kind, status, local_date, starts_at, \
     establishment, place, appointment_type, created_at, updated_at";

#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Whose turn it is to write (see the module header).
    writer: Arc<tokio::sync::Mutex<()>>,
    /// Seals personal data on the way in and opens it on the way out.
    vault: Vault,
}

/// A write transaction that holds this process's writer turn until it
/// commits or is dropped (rolled back).
pub(super) struct WriteTx {
    tx: Transaction<'static, Sqlite>,
    _turn: tokio::sync::OwnedMutexGuard<()>,
}

impl WriteTx {
    pub(super) async fn commit(self) -> Result<(), sqlx::Error> {
        self.tx.commit().await
    }
}

impl Deref for WriteTx {
    type Target = SqliteConnection;

    fn deref(&self) -> &SqliteConnection {
        &self.tx
    }
}

impl DerefMut for WriteTx {
    fn deref_mut(&mut self) -> &mut SqliteConnection {
        &mut self.tx
    }
}

impl SqliteStore {
    /// Open (creating if missing) the database at `url`, e.g. `sqlite://homeward.db`.
    pub async fn connect(
        url: &str,
        max_connections: u32,
        busy_timeout: Duration,
        vault: Vault,
    ) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str(url)?
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(busy_timeout)
            .foreign_keys(true);
        // A file cannot drop a connection the way a server can, so the
        // pool's health check before every acquire (a round trip to the
        // connection's thread) buys nothing here.
        let pool = SqlitePoolOptions::new()
            .max_connections(max_connections)
            .test_before_acquire(false)
            .connect_with(options)
            .await?;
        Ok(Self {
            pool,
            writer: Arc::new(tokio::sync::Mutex::new(())),
            vault,
        })
    }

    /// Wait for this process's writer turn, then begin an immediate
    /// transaction. Never call while holding another `WriteTx`.
    async fn write(&self) -> Result<WriteTx, StoreError> {
        let turn = self.writer.clone().lock_owned().await;
        Ok(WriteTx {
            tx: self.pool.begin_with("BEGIN IMMEDIATE").await?,
            _turn: turn,
        })
    }
}

#[async_trait]
impl Store for SqliteStore {
    async fn migrate(&self) -> Result<(), StoreError> {
        Ok(MIGRATOR.run(&self.pool).await?)
    }

    async fn check_ready(&self) -> Result<(), StoreError> {
        let applied: Vec<i64> =
            sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = 1")
                .fetch_all(&self.pool)
                .await?;
        match MIGRATOR.iter().find(|m| !applied.contains(&m.version)) {
            Some(missing) => Err(StoreError::Corrupt(format!(
                "migration {} ({}) is not applied",
                missing.version, missing.description
            ))),
            None => Ok(()),
        }
    }

    async fn create_org(
        &self,
        name: &OrgName,
        now: DateTime<Utc>,
    ) -> Result<Organisation, StoreError> {
        let org = Organisation {
            id: OrgId::new(),
            name: name.clone(),
            created_at: now,
        };
        let mut tx = self.write().await?;
        let result =
            sqlx::query("INSERT INTO organisations (id, name, created_at) VALUES (?, ?, ?)")
                .bind(org.id.to_string())
                .bind(name.as_str())
                .bind(now)
                .execute(&mut *tx)
                .await;
        let result = match result {
            Ok(_) => tx.commit().await,
            Err(e) => Err(e),
        };
        match result {
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(StoreError::Conflict(
                format!("an organisation named {name:?}"),
            )),
            other => other.map(|_| org).map_err(Into::into),
        }
    }

    async fn org_by_name(&self, name: &OrgName) -> Result<Option<Organisation>, StoreError> {
        let row = sqlx::query("SELECT id, name, created_at FROM organisations WHERE name = ?")
            .bind(name.as_str())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(org_from_row).transpose()
    }

    async fn orgs(&self) -> Result<Vec<Organisation>, StoreError> {
        let rows = sqlx::query("SELECT id, name, created_at FROM organisations ORDER BY name")
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(org_from_row).collect()
    }

    async fn create_token(
        &self,
        token: &NewToken,
        now: DateTime<Utc>,
    ) -> Result<TokenId, StoreError> {
        let id = TokenId::new();
        let mut tx = self.write().await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, org_id, token_hash, role, label, created_at) \
             VALUES (?, ?, ?, ?, ?, ?)",
        )
        .bind(id.to_string())
        .bind(token.org_id.to_string())
        .bind(token.hash.as_str())
        .bind(token.role.as_str())
        .bind(token.label.as_deref())
        .bind(now)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(id)
    }

    async fn caller_for_token(&self, hash: &TokenHash) -> Result<Option<Caller>, StoreError> {
        let row = sqlx::query(
            "SELECT id, org_id, role FROM api_tokens WHERE token_hash = ? AND revoked_at IS NULL",
        )
        .bind(hash.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(Caller {
            token_id: parsed(&row, "id")?,
            org_id: parsed(&row, "org_id")?,
            role: parsed(&row, "role")?,
        }))
    }

    async fn upsert_person(
        &self,
        org: OrgId,
        person: &NewPerson,
        now: DateTime<Utc>,
    ) -> Result<(Person, UpsertOutcome), StoreError> {
        let mut tx = self.write().await?;
        let key = ("external_ref", person.external_ref.as_str());
        let existing = find_person(&mut tx, &self.vault, org, key).await?;
        let result = upsert_person(&mut tx, &self.vault, org, person, existing, now).await?;
        tx.commit().await?;
        Ok(result)
    }

    async fn person(&self, org: OrgId, id: PersonId) -> Result<Option<Person>, StoreError> {
        let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE org_id = ? AND id = ?");
        let row = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.map(|row| person_from_row(&row, &self.vault))
            .transpose()
    }

    async fn people(&self, org: OrgId, page: Page<PersonId>) -> Result<Vec<Person>, StoreError> {
        let sql = format!(
            "SELECT {PERSON_COLUMNS} FROM people WHERE org_id = ? AND id > ? ORDER BY id LIMIT ?"
        );
        let rows = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(page.after.map(|id| id.to_string()).unwrap_or_default())
            .bind(page.limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|row| person_from_row(row, &self.vault))
            .collect()
    }

    async fn update_person(
        &self,
        org: OrgId,
        id: PersonId,
        person: &NewPerson,
        now: DateTime<Utc>,
    ) -> Result<Option<Person>, StoreError> {
        let mut tx = self.write().await?;
        let updated = sqlx::query(
            "UPDATE people SET first_name = ?, mobile = ?, mobile_hash = ?, language = ?, updated_at = ?, \
             mobile_invalid_since = CASE WHEN mobile_hash = ? THEN mobile_invalid_since ELSE NULL END \
             WHERE org_id = ? AND id = ?",
        )
        .bind(self.vault.seal(Field::FirstName, person.first_name.as_str()))
        .bind(self.vault.seal(Field::Mobile, person.mobile.as_e164()))
        .bind(self.vault.index(&person.mobile).as_str())
        .bind(person.language.as_str())
        .bind(now)
        .bind(self.vault.index(&person.mobile).as_str())
        .bind(org.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        let person = find_person(&mut tx, &self.vault, org, ("id", &id.to_string())).await?;
        tx.commit().await?;
        Ok(person)
    }

    async fn upsert_event(
        &self,
        org: OrgId,
        person: PersonId,
        event: &NewEvent,
        now: DateTime<Utc>,
    ) -> Result<(Event, UpsertOutcome), StoreError> {
        let mut tx = self.write().await?;
        let existing = find_event(&mut tx, org, person, &event.event_ref).await?;
        let result = upsert_event(&mut tx, org, person, event, existing, now).await?;
        tx.commit().await?;
        Ok(result)
    }

    async fn events(&self, org: OrgId, person: PersonId) -> Result<Vec<Event>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE org_id = ? AND person_id = ? \
             ORDER BY COALESCE(local_date, starts_at), id"
        );
        let rows = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(person.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(event_from_row).collect()
    }

    async fn event(
        &self,
        org: OrgId,
        person: PersonId,
        id: EventId,
    ) -> Result<Option<Event>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE org_id = ? AND person_id = ? AND id = ?"
        );
        let row = sqlx::query(&sql)
            .bind(org.to_string())
            .bind(person.to_string())
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(event_from_row).transpose()
    }

    async fn update_event(
        &self,
        org: OrgId,
        person: PersonId,
        id: EventId,
        detail: &EventDetail,
        now: DateTime<Utc>,
    ) -> Result<Option<Event>, StoreError> {
        let mut tx = self.write().await?;
        let columns = EventColumns::of(detail);
        let updated = sqlx::query(
            "UPDATE events SET kind = ?, status = ?, local_date = ?, starts_at = ?, establishment = ?, \
             place = ?, appointment_type = ?, updated_at = ? WHERE org_id = ? AND person_id = ? AND id = ?",
        )
        .bind(columns.kind)
        .bind(columns.status)
        .bind(columns.local_date)
        .bind(columns.starts_at)
        .bind(columns.establishment)
        .bind(columns.place)
        .bind(columns.appointment_type)
        .bind(now)
        .bind(org.to_string())
        .bind(person.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        if updated.rows_affected() == 0 {
            return Ok(None);
        }
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = ?");
        let row = sqlx::query(&sql)
            .bind(id.to_string())
            .fetch_one(&mut *tx)
            .await?;
        tx.commit().await?;
        event_from_row(&row).map(Some)
    }

    async fn import(
        &self,
        org: OrgId,
        records: &[ImportRecord],
        now: DateTime<Utc>,
    ) -> Result<Vec<ImportOutcome>, StoreError> {
        let mut tx = self.write().await?;
        let outcomes = import::import(&mut tx, &self.vault, org, records, now).await?;
        tx.commit().await?;
        Ok(outcomes)
    }
}

async fn find_person(
    conn: &mut SqliteConnection,
    vault: &Vault,
    org: OrgId,
    (key, value): (&'static str, &str),
) -> Result<Option<Person>, StoreError> {
    let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE org_id = ? AND {key} = ?");
    let row = sqlx::query(&sql)
        .bind(org.to_string())
        .bind(value)
        .fetch_optional(&mut *conn)
        .await?;
    row.map(|row| person_from_row(&row, vault)).transpose()
}

/// Write `new` unless it equals `existing`, the row with the same reference.
async fn upsert_person(
    conn: &mut SqliteConnection,
    vault: &Vault,
    org: OrgId,
    new: &NewPerson,
    existing: Option<Person>,
    now: DateTime<Utc>,
) -> Result<(Person, UpsertOutcome), StoreError> {
    let (person, outcome) = person_change(org, new, existing, now);
    if outcome != UpsertOutcome::Unchanged {
        write_people(conn, vault, std::slice::from_ref(&person)).await?;
    }
    Ok((person, outcome))
}

/// What upserting `new` over `existing` makes of the person, decided
/// without touching the database.
fn person_change(
    org: OrgId,
    new: &NewPerson,
    existing: Option<Person>,
    now: DateTime<Utc>,
) -> (Person, UpsertOutcome) {
    let (id, created_at, outcome) = match existing {
        Some(old) if old.as_new() == *new => return (old, UpsertOutcome::Unchanged),
        Some(old) => (old.id, old.created_at, UpsertOutcome::Updated),
        None => (PersonId::new(), now, UpsertOutcome::Created),
    };
    let person = Person {
        id,
        org_id: org,
        external_ref: new.external_ref.clone(),
        first_name: new.first_name.clone(),
        mobile: new.mobile.clone(),
        language: new.language.clone(),
        created_at,
        updated_at: now,
    };
    (person, outcome)
}

/// Insert or update people by id, in as few statements as SQLite's limit
/// on bound values allows. Rows are applied in order, so a person listed
/// twice ends as the later row says.
async fn write_people(
    conn: &mut SqliteConnection,
    vault: &Vault,
    people: &[Person],
) -> Result<(), StoreError> {
    for chunk in people.chunks(1000) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO people (id, org_id, external_ref, first_name, mobile, mobile_hash, language, created_at, updated_at) ",
        );
        q.push_values(chunk, |mut row, p| {
            row.push_bind(p.id.to_string())
                .push_bind(p.org_id.to_string())
                .push_bind(p.external_ref.as_str())
                .push_bind(vault.seal(Field::FirstName, p.first_name.as_str()))
                .push_bind(vault.seal(Field::Mobile, p.mobile.as_e164()))
                .push_bind(vault.index(&p.mobile).as_str().to_owned())
                .push_bind(p.language.as_str())
                .push_bind(p.created_at)
                .push_bind(p.updated_at);
        });
        q.push(
            " ON CONFLICT (id) DO UPDATE SET first_name = excluded.first_name, mobile = excluded.mobile, \
             mobile_hash = excluded.mobile_hash, language = excluded.language, updated_at = excluded.updated_at, \
             mobile_invalid_since = CASE WHEN people.mobile_hash = excluded.mobile_hash \
             THEN people.mobile_invalid_since ELSE NULL END",
        );
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

async fn find_event(
    conn: &mut SqliteConnection,
    org: OrgId,
    person: PersonId,
    event_ref: &EventRef,
) -> Result<Option<Event>, StoreError> {
    let sql = format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE org_id = ? AND person_id = ? AND event_ref = ?"
    );
    let row = sqlx::query(&sql)
        .bind(org.to_string())
        .bind(person.to_string())
        .bind(event_ref.as_str())
        .fetch_optional(&mut *conn)
        .await?;
    row.as_ref().map(event_from_row).transpose()
}

/// Write `new` unless it equals `existing`, the event with the same reference.
async fn upsert_event(
    conn: &mut SqliteConnection,
    org: OrgId,
    person: PersonId,
    new: &NewEvent,
    existing: Option<Event>,
    now: DateTime<Utc>,
) -> Result<(Event, UpsertOutcome), StoreError> {
    let (event, outcome) = event_change(org, person, new, existing, now);
    if outcome != UpsertOutcome::Unchanged {
        write_events(conn, std::slice::from_ref(&event)).await?;
    }
    Ok((event, outcome))
}

/// What upserting `new` over `existing` makes of the event, decided
/// without touching the database.
fn event_change(
    org: OrgId,
    person: PersonId,
    new: &NewEvent,
    existing: Option<Event>,
    now: DateTime<Utc>,
) -> (Event, UpsertOutcome) {
    let (id, created_at, outcome) = match existing {
        Some(old) if old.detail == new.detail => return (old, UpsertOutcome::Unchanged),
        Some(old) => (old.id, old.created_at, UpsertOutcome::Updated),
        None => (EventId::new(), now, UpsertOutcome::Created),
    };
    let event = Event {
        id,
        org_id: org,
        person_id: person,
        event_ref: new.event_ref.clone(),
        detail: new.detail.clone(),
        created_at,
        updated_at: now,
    };
    (event, outcome)
}

/// Insert or update events by id, in as few statements as SQLite's limit
/// on bound values allows, in order.
async fn write_events(conn: &mut SqliteConnection, events: &[Event]) -> Result<(), StoreError> {
    for chunk in events.chunks(1000) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO events (id, org_id, person_id, event_ref, kind, status, local_date, starts_at, \
             establishment, place, appointment_type, created_at, updated_at) ",
        );
        q.push_values(chunk, |mut row, e| {
            let c = EventColumns::of(&e.detail);
            row.push_bind(e.id.to_string())
                .push_bind(e.org_id.to_string())
                .push_bind(e.person_id.to_string())
                .push_bind(e.event_ref.as_str())
                .push_bind(c.kind)
                .push_bind(c.status)
                .push_bind(c.local_date)
                .push_bind(c.starts_at)
                .push_bind(c.establishment)
                .push_bind(c.place)
                .push_bind(c.appointment_type)
                .push_bind(e.created_at)
                .push_bind(e.updated_at);
        });
        q.push(
            " ON CONFLICT (id) DO UPDATE SET kind = excluded.kind, status = excluded.status, \
             local_date = excluded.local_date, starts_at = excluded.starts_at, \
             establishment = excluded.establishment, place = excluded.place, \
             appointment_type = excluded.appointment_type, updated_at = excluded.updated_at",
        );
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// An event's detail spread over its nullable columns.
struct EventColumns<'a> {
    kind: &'static str,
    status: &'static str,
    local_date: Option<NaiveDate>,
    starts_at: Option<DateTime<Utc>>,
    establishment: Option<&'a str>,
    place: Option<&'a str>,
    appointment_type: Option<&'static str>,
}

impl<'a> EventColumns<'a> {
    fn of(detail: &'a EventDetail) -> Self {
        match detail {
            EventDetail::Liberation {
                date,
                establishment,
                status,
            } => Self {
                kind: EventKind::Liberation.as_str(),
                status: status.as_str(),
                local_date: Some(*date),
                starts_at: None,
                establishment: establishment.as_ref().map(Establishment::as_str),
                place: None,
                appointment_type: None,
            },
            EventDetail::Appointment {
                starts_at,
                place,
                appointment_type,
                status,
            } => Self {
                kind: EventKind::Appointment.as_str(),
                status: status.as_str(),
                local_date: None,
                starts_at: Some(*starts_at),
                establishment: None,
                place: place.as_ref().map(Place::as_str),
                appointment_type: Some(appointment_type.as_str()),
            },
        }
    }
}

fn org_from_row(row: &SqliteRow) -> Result<Organisation, StoreError> {
    Ok(Organisation {
        id: parsed(row, "id")?,
        name: checked(row, "name", OrgName::parse)?,
        created_at: row.try_get("created_at")?,
    })
}

pub(super) fn person_from_row(row: &SqliteRow, vault: &Vault) -> Result<Person, StoreError> {
    let first_name = unsealed(row, "first_name", vault, Field::FirstName)?;
    Ok(Person {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        external_ref: checked(row, "external_ref", ExternalRef::parse)?,
        first_name: FirstName::from_stored(first_name),
        mobile: unsealed_mobile(row, "mobile", vault)?,
        language: checked(row, "language", Language::parse)?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

pub(super) fn event_from_row(row: &SqliteRow) -> Result<Event, StoreError> {
    let kind: EventKind = parsed(row, "kind")?;
    let detail = match kind {
        EventKind::Liberation => EventDetail::Liberation {
            date: row.try_get("local_date")?,
            establishment: optional(row, "establishment", Establishment::parse)?,
            status: parsed::<LiberationStatus, _>(row, "status")?,
        },
        EventKind::Appointment => EventDetail::Appointment {
            starts_at: row.try_get("starts_at")?,
            place: row
                .try_get::<Option<String>, _>("place")?
                .map(Place::from_stored),
            appointment_type: parsed::<AppointmentKind, _>(row, "appointment_type")?,
            status: parsed::<AppointmentStatus, _>(row, "status")?,
        },
    };
    Ok(Event {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        person_id: parsed(row, "person_id")?,
        event_ref: checked(row, "event_ref", EventRef::parse)?,
        detail,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

crate::store::access::access_store!(SqliteStore, sqlx::Sqlite);
crate::store::journal::import_journal!(SqliteStore);
crate::store::privacy::privacy_store!(SqliteStore, sqlx::Sqlite);
crate::store::inbound::inbound_store!(SqliteStore, sqlx::Sqlite);
crate::store::messages::message_store!(SqliteStore, sqlx::Sqlite);
crate::store::dispatch::dispatch_store!(SqliteStore, sqlx::Sqlite);
