//! Organisations, tokens, people and their events: the [`Store`] trait, the
//! row readers both backends share, and its one body, [`people_store!`].
//!
//! An upsert by the caller's reference is "read, compare, write". On SQLite
//! the write transaction's `BEGIN IMMEDIATE` already lets one writer in at a
//! time; on PostgreSQL the body first takes the organisation's ingest lock
//! (`dialect::lock_org_ingest`), because two writers creating the same new
//! person would otherwise both see nothing and one would fail on the unique
//! key, and reads the row it may change `dialect::lock_for_update()`.
//!
//! What differs wholesale stays in the backend's own `people` module: the
//! bulk writes (multi-row `VALUES` on SQLite, `unnest` over arrays on
//! PostgreSQL) and an import batch's up-front reads, whose plans each
//! database needs steering to differently.

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};
use sqlx::{ColumnIndex, Decode, Row, Type};

use super::rows::{checked, optional, parsed};
use super::{
    AccessStore, CaseworkStore, DispatchStore, ImportJournal, ImportOutcome, ImportRecord,
    InboundStore, LeaderStore, MessageStore, NewToken, Page, PrivacyStore, StaffStore, StoreError,
    UpkeepStore,
};
use crate::domain::{
    AppointmentKind, AppointmentStatus, Caller, Establishment, Event, EventDetail, EventId,
    EventKind, EventRef, ExternalRef, FirstName, Language, LiberationStatus, NewEvent, NewPerson,
    OrgId, OrgName, Organisation, Person, PersonId, Place, TokenHash, TokenId, UpsertOutcome,
};
use crate::vault::{Field, Vault};

#[async_trait]
pub trait Store:
    MessageStore
    + DispatchStore
    + InboundStore
    + LeaderStore
    + UpkeepStore
    + PrivacyStore
    + AccessStore
    + ImportJournal
    + StaffStore
    + CaseworkStore
    + Send
    + Sync
    + 'static
{
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
    /// The organisation's people among `ids`, in no order: a page's people
    /// in one read, not one each.
    async fn people_by_ids(&self, org: OrgId, ids: &[PersonId]) -> Result<Vec<Person>, StoreError>;
    async fn people(&self, org: OrgId, page: Page<PersonId>) -> Result<Vec<Person>, StoreError>;
    /// Replace a person's details; `None` if no such person in `org`.
    async fn update_person(
        &self,
        org: OrgId,
        id: PersonId,
        person: &NewPerson,
        now: DateTime<Utc>,
    ) -> Result<Option<Person>, StoreError>;
    // Removing a person is `PrivacyStore::erase_person`.

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
    /// What [`import`](Self::import) would make of these rows now, writing
    /// nothing: the check page before an upload is confirmed.
    async fn check_import(
        &self,
        org: OrgId,
        records: &[ImportRecord],
        now: DateTime<Utc>,
    ) -> Result<Vec<ImportOutcome>, StoreError>;
}

pub(crate) const PERSON_COLUMNS: &str =
    "id, org_id, external_ref, first_name, mobile, language, created_at, updated_at";
pub(crate) const EVENT_COLUMNS: &str = "id, org_id, person_id, event_ref, kind, status, local_date, starts_at, \
     establishment, place, appointment_type, created_at, updated_at";

/// A page of an organisation's people, by id ($1 the organisation, $2
/// the last id of the page before, $3 how many).
pub(super) fn people_page_sql() -> String {
    format!(
        "SELECT {PERSON_COLUMNS} FROM people WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    )
}

/// A person's events in date order ($1 the organisation, $2 the person).
/// `org_column` is as the backend's `dialect::unindexed` writes it, so the
/// walk is the person's own index, not the organisation's (in an
/// organisation of 200,000 events, that walk read them all for one
/// person's few); `day_start` is the backend's instant of a day column.
pub(super) fn person_events_sql(org_column: &str, day_start: &str) -> String {
    format!(
        "SELECT {EVENT_COLUMNS} FROM events WHERE {org_column} = $1 AND person_id = $2 \
         ORDER BY COALESCE({day_start}, starts_at), id"
    )
}

/// An event's detail spread over its nullable columns.
pub(crate) struct EventColumns<'a> {
    pub(crate) kind: &'static str,
    pub(crate) status: &'static str,
    pub(crate) local_date: Option<NaiveDate>,
    pub(crate) starts_at: Option<DateTime<Utc>>,
    pub(crate) establishment: Option<&'a str>,
    pub(crate) place: Option<&'a str>,
    pub(crate) appointment_type: Option<&'static str>,
}

impl<'a> EventColumns<'a> {
    pub(crate) fn of(detail: &'a EventDetail) -> Self {
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

/// What upserting `new` over `existing` makes of the person, decided
/// without touching the database. `stored` cuts an instant as the backend
/// keeps it (`dialect::stored`), so what is handed back equals a later read.
pub(crate) fn person_change(
    stored: fn(DateTime<Utc>) -> DateTime<Utc>,
    org: OrgId,
    new: &NewPerson,
    existing: Option<Person>,
    now: DateTime<Utc>,
) -> (Person, UpsertOutcome) {
    let now = stored(now);
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

/// What upserting `new` over `existing` makes of the event, decided
/// without touching the database (`stored` as for [`person_change`]).
pub(crate) fn event_change(
    stored: fn(DateTime<Utc>) -> DateTime<Utc>,
    org: OrgId,
    person: PersonId,
    new: &NewEvent,
    existing: Option<Event>,
    now: DateTime<Utc>,
) -> (Event, UpsertOutcome) {
    let now = stored(now);
    // Compared as it will read back, or a sub-microsecond start time would
    // count as a change on every re-import.
    let mut detail = new.detail.clone();
    if let EventDetail::Appointment { starts_at, .. } = &mut detail {
        *starts_at = stored(*starts_at);
    }
    let (id, created_at, outcome) = match existing {
        Some(old) if old.detail == detail => return (old, UpsertOutcome::Unchanged),
        Some(old) => (old.id, old.created_at, UpsertOutcome::Updated),
        None => (EventId::new(), now, UpsertOutcome::Created),
    };
    let event = Event {
        id,
        org_id: org,
        person_id: person,
        event_ref: new.event_ref.clone(),
        detail,
        created_at,
        updated_at: now,
    };
    (event, outcome)
}

pub(crate) fn org_from_row<R>(row: &R) -> Result<Organisation, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    Ok(Organisation {
        id: parsed(row, "id")?,
        name: checked(row, "name", OrgName::parse)?,
        created_at: row.try_get("created_at")?,
    })
}

pub(crate) fn person_from_row<R>(row: &R, vault: &Vault) -> Result<Person, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    person_with_prefix(row, "", vault)
}

/// A person read from columns named with `prefix` (for joined rows).
pub(crate) fn person_with_prefix<R>(
    row: &R,
    prefix: &str,
    vault: &Vault,
) -> Result<Person, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    let col = |name: &str| format!("{prefix}{name}");
    let first_name = super::unsealed(row, &col("first_name"), vault, Field::FirstName)?;
    Ok(Person {
        id: parsed(row, &col("id"))?,
        org_id: parsed(row, &col("org_id"))?,
        external_ref: checked(row, &col("external_ref"), ExternalRef::parse)?,
        first_name: FirstName::from_stored(first_name),
        mobile: super::unsealed_mobile(row, &col("mobile"), vault)?,
        language: checked(row, &col("language"), Language::parse)?,
        created_at: row.try_get(col("created_at").as_str())?,
        updated_at: row.try_get(col("updated_at").as_str())?,
    })
}

pub(crate) fn event_from_row<R>(row: &R) -> Result<Event, StoreError>
where
    R: Row,
    for<'r> String: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> DateTime<Utc>: Decode<'r, R::Database> + Type<R::Database>,
    for<'r> NaiveDate: Decode<'r, R::Database> + Type<R::Database>,
    for<'a> &'a str: ColumnIndex<R>,
{
    let kind: EventKind = parsed(row, "kind")?;
    let detail = match kind {
        EventKind::Liberation => EventDetail::Liberation {
            date: row.try_get("local_date")?,
            establishment: optional(row, "establishment", Establishment::parse)?,
            status: parsed::<LiberationStatus, _>(row, "status")?,
        },
        EventKind::Appointment => EventDetail::Appointment {
            starts_at: row.try_get("starts_at")?,
            place: optional(row, "place", |s| {
                Ok::<_, std::convert::Infallible>(Place::from_stored(s.to_owned()))
            })?,
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

/// The one body of [`Store`], instantiated per backend (see the `store`
/// module header): `$store` is the store type, `$db` its `sqlx::Database`.
/// The expansion site must have `MIGRATOR`, inherent `run_migrations`, a
/// `dialect` module (`stored`, `lock_for_update`, `lock_org_ingest`,
/// `day_start`, `write_people`, `write_events`, `load_batch`) and
/// `self.write()`.
macro_rules! people_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::Store for $store {
            async fn migrate(&self) -> Result<(), $crate::store::StoreError> {
                self.run_migrations().await
            }

            async fn check_ready(&self) -> Result<(), $crate::store::StoreError> {
                let applied: Vec<i64> =
                    sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success = TRUE")
                        .fetch_all(&self.pool)
                        .await?;
                match MIGRATOR.iter().find(|m| !applied.contains(&m.version)) {
                    Some(missing) => Err($crate::store::StoreError::Corrupt(format!(
                        "migration {} ({}) is not applied",
                        missing.version, missing.description
                    ))),
                    None => Ok(()),
                }
            }

            async fn create_org(
                &self,
                name: &$crate::domain::OrgName,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::domain::Organisation, $crate::store::StoreError> {
                let org = $crate::domain::Organisation {
                    id: $crate::domain::OrgId::new(),
                    name: name.clone(),
                    created_at: dialect::stored(now),
                };
                let mut tx = self.write().await?;
                let result = sqlx::query(
                    "INSERT INTO organisations (id, name, created_at) VALUES ($1, $2, $3)",
                )
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
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(
                        $crate::store::StoreError::Conflict(format!("an organisation named {name:?}")),
                    ),
                    other => other.map(|_| org).map_err(Into::into),
                }
            }

            async fn org_by_name(
                &self,
                name: &$crate::domain::OrgName,
            ) -> Result<Option<$crate::domain::Organisation>, $crate::store::StoreError> {
                let row =
                    sqlx::query("SELECT id, name, created_at FROM organisations WHERE name = $1")
                        .bind(name.as_str())
                        .fetch_optional(&self.pool)
                        .await?;
                row.as_ref()
                    .map($crate::store::people::org_from_row)
                    .transpose()
            }

            async fn orgs(
                &self,
            ) -> Result<Vec<$crate::domain::Organisation>, $crate::store::StoreError> {
                let rows =
                    sqlx::query("SELECT id, name, created_at FROM organisations ORDER BY name")
                        .fetch_all(&self.pool)
                        .await?;
                rows.iter().map($crate::store::people::org_from_row).collect()
            }

            async fn create_token(
                &self,
                token: &$crate::store::NewToken,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::domain::TokenId, $crate::store::StoreError> {
                let id = $crate::domain::TokenId::new();
                let mut tx = self.write().await?;
                sqlx::query(
                    "INSERT INTO api_tokens (id, org_id, token_hash, role, label, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6)",
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

            async fn caller_for_token(
                &self,
                hash: &$crate::domain::TokenHash,
            ) -> Result<Option<$crate::domain::Caller>, $crate::store::StoreError> {
                use $crate::store::rows::parsed;
                let row = sqlx::query(
                    "SELECT id, org_id, role FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL",
                )
                .bind(hash.as_str())
                .fetch_optional(&self.pool)
                .await?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some($crate::domain::Caller {
                    via: $crate::domain::Credential::Token(parsed(&row, "id")?),
                    org_id: parsed(&row, "org_id")?,
                    role: parsed(&row, "role")?,
                }))
            }

            async fn upsert_person(
                &self,
                org: $crate::domain::OrgId,
                person: &$crate::domain::NewPerson,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<($crate::domain::Person, $crate::domain::UpsertOutcome), $crate::store::StoreError>
            {
                let mut tx = self.write().await?;
                dialect::lock_org_ingest(&mut tx, org).await?;
                let key = ("external_ref", person.external_ref.as_str());
                let existing = find_person(&mut tx, &self.vault, org, key).await?;
                let (person, outcome) = $crate::store::people::person_change(
                    dialect::stored,
                    org,
                    person,
                    existing,
                    now,
                );
                if outcome != $crate::domain::UpsertOutcome::Unchanged {
                    dialect::write_people(&mut tx, &self.vault, std::slice::from_ref(&person))
                        .await?;
                }
                tx.commit().await?;
                Ok((person, outcome))
            }

            async fn person(
                &self,
                org: $crate::domain::OrgId,
                id: $crate::domain::PersonId,
            ) -> Result<Option<$crate::domain::Person>, $crate::store::StoreError> {
                use $crate::store::people::{PERSON_COLUMNS, person_from_row};
                let sql =
                    format!("SELECT {PERSON_COLUMNS} FROM people WHERE org_id = $1 AND id = $2");
                let row = sqlx::query(&sql)
                    .bind(org.to_string())
                    .bind(id.to_string())
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|row| person_from_row(&row, &self.vault))
                    .transpose()
            }

            async fn people_by_ids(
                &self,
                org: $crate::domain::OrgId,
                ids: &[$crate::domain::PersonId],
            ) -> Result<Vec<$crate::domain::Person>, $crate::store::StoreError> {
                use $crate::store::people::{PERSON_COLUMNS, person_from_row};
                let mut out = Vec::with_capacity(ids.len());
                for chunk in ids.chunks(dialect::LIST_CHUNK) {
                    let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                        "SELECT {PERSON_COLUMNS} FROM people WHERE org_id = "
                    ));
                    q.push_bind(org.to_string()).push(" AND id IN (");
                    dialect::push_list(&mut q, chunk.iter().map(ToString::to_string).collect());
                    for row in q.build().fetch_all(&self.pool).await? {
                        out.push(person_from_row(&row, &self.vault)?);
                    }
                }
                Ok(out)
            }

            async fn people(
                &self,
                org: $crate::domain::OrgId,
                page: $crate::store::Page<$crate::domain::PersonId>,
            ) -> Result<Vec<$crate::domain::Person>, $crate::store::StoreError> {
                use $crate::store::people::person_from_row;
                let sql = $crate::store::people::people_page_sql();
                let rows = sqlx::query(&sql)
                    .bind(org.to_string())
                    .bind(page.after.map(|id| id.to_string()).unwrap_or_default())
                    .bind(i64::from(page.limit))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter()
                    .map(|row| person_from_row(row, &self.vault))
                    .collect()
            }

            async fn update_person(
                &self,
                org: $crate::domain::OrgId,
                id: $crate::domain::PersonId,
                person: &$crate::domain::NewPerson,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<$crate::domain::Person>, $crate::store::StoreError> {
                use $crate::vault::Field;
                let mut tx = self.write().await?;
                let updated = sqlx::query(
                    "UPDATE people SET first_name = $1, mobile = $2, language = $3, updated_at = $4, \
                     mobile_invalid_since = CASE WHEN mobile_hash = $7 THEN mobile_invalid_since ELSE NULL END, \
                     mobile_hash = $7, name_hash = $8 WHERE org_id = $5 AND id = $6",
                )
                .bind(self.vault.seal(Field::FirstName, person.first_name.as_str()))
                .bind(self.vault.seal(Field::Mobile, person.mobile.as_e164()))
                .bind(person.language.as_str())
                .bind(now)
                .bind(org.to_string())
                .bind(id.to_string())
                .bind(self.vault.index(&person.mobile).as_str())
                .bind(self.vault.index_name(&person.first_name))
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
                org: $crate::domain::OrgId,
                person: $crate::domain::PersonId,
                event: &$crate::domain::NewEvent,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<($crate::domain::Event, $crate::domain::UpsertOutcome), $crate::store::StoreError>
            {
                let mut tx = self.write().await?;
                dialect::lock_org_ingest(&mut tx, org).await?;
                let existing = find_event(&mut tx, org, person, &event.event_ref).await?;
                let (event, outcome) = $crate::store::people::event_change(
                    dialect::stored,
                    org,
                    person,
                    event,
                    existing,
                    now,
                );
                if outcome != $crate::domain::UpsertOutcome::Unchanged {
                    dialect::write_events(&mut tx, std::slice::from_ref(&event)).await?;
                }
                tx.commit().await?;
                Ok((event, outcome))
            }

            async fn events(
                &self,
                org: $crate::domain::OrgId,
                person: $crate::domain::PersonId,
            ) -> Result<Vec<$crate::domain::Event>, $crate::store::StoreError> {
                use $crate::store::people::event_from_row;
                let sql = $crate::store::people::person_events_sql(
                    &dialect::unindexed("org_id"),
                    &dialect::day_start("local_date"),
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
                org: $crate::domain::OrgId,
                person: $crate::domain::PersonId,
                id: $crate::domain::EventId,
            ) -> Result<Option<$crate::domain::Event>, $crate::store::StoreError> {
                use $crate::store::people::{EVENT_COLUMNS, event_from_row};
                let sql = format!(
                    "SELECT {EVENT_COLUMNS} FROM events WHERE org_id = $1 AND person_id = $2 AND id = $3"
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
                org: $crate::domain::OrgId,
                person: $crate::domain::PersonId,
                id: $crate::domain::EventId,
                detail: &$crate::domain::EventDetail,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<$crate::domain::Event>, $crate::store::StoreError> {
                use $crate::store::people::{EVENT_COLUMNS, EventColumns, event_from_row};
                let mut tx = self.write().await?;
                let c = EventColumns::of(detail);
                let sql = format!(
                    "UPDATE events SET kind = $1, status = $2, local_date = $3, starts_at = $4, \
                     establishment = $5, place = $6, appointment_type = $7, updated_at = $8 \
                     WHERE org_id = $9 AND person_id = $10 AND id = $11 RETURNING {EVENT_COLUMNS}"
                );
                let row = sqlx::query(&sql)
                    .bind(c.kind)
                    .bind(c.status)
                    .bind(c.local_date)
                    .bind(c.starts_at)
                    .bind(c.establishment)
                    .bind(c.place)
                    .bind(c.appointment_type)
                    .bind(now)
                    .bind(org.to_string())
                    .bind(person.to_string())
                    .bind(id.to_string())
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                tx.commit().await?;
                event_from_row(&row).map(Some)
            }

            /// The batch's people and their events are read (and, on
            /// PostgreSQL, locked) with two queries up front; each row is
            /// then decided in memory (created, updated or unchanged) in
            /// file order, and what changed is written with one statement
            /// per table. A statement per row cost a round trip each, which
            /// was most of an import's time.
            async fn import(
                &self,
                org: $crate::domain::OrgId,
                records: &[$crate::store::ImportRecord],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<$crate::store::ImportOutcome>, $crate::store::StoreError> {
                use $crate::store::import_batch::decide_all;
                let mut tx = self.write().await?;
                dialect::lock_org_ingest(&mut tx, org).await?;
                let known = dialect::load_batch(&mut tx, &self.vault, org, records).await?;
                let (outcomes, changed) = decide_all(org, records, known, batch_changes(), now);
                dialect::write_people(&mut tx, &self.vault, &changed.people).await?;
                dialect::write_events(&mut tx, &changed.events).await?;
                tx.commit().await?;
                Ok(outcomes)
            }

            async fn check_import(
                &self,
                org: $crate::domain::OrgId,
                records: &[$crate::store::ImportRecord],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<$crate::store::ImportOutcome>, $crate::store::StoreError> {
                use $crate::store::import_batch::decide_all;
                let mut conn = self.pool.acquire().await?;
                let known = dialect::load_batch(&mut conn, &self.vault, org, records).await?;
                Ok(decide_all(org, records, known, batch_changes(), now).0)
            }
        }

        /// How an import row changes what is stored, with this backend's
        /// idea of a stored time.
        fn batch_changes() -> (
            $crate::store::import_batch::PersonChange,
            $crate::store::import_batch::EventChange,
        ) {
            use $crate::store::people::{event_change, person_change};
            (
                |org, new, existing, now| person_change(dialect::stored, org, new, existing, now),
                |org, person, new, existing, now| {
                    event_change(dialect::stored, org, person, new, existing, now)
                },
            )
        }

        /// The person whose `key` column is `value`, locked until the
        /// transaction ends where the backend locks rows.
        async fn find_person(
            conn: &mut <$db as sqlx::Database>::Connection,
            vault: &$crate::vault::Vault,
            org: $crate::domain::OrgId,
            (key, value): (&'static str, &str),
        ) -> Result<Option<$crate::domain::Person>, $crate::store::StoreError> {
            use $crate::store::people::{PERSON_COLUMNS, person_from_row};
            let sql = format!(
                "SELECT {PERSON_COLUMNS} FROM people WHERE org_id = $1 AND {key} = $2{}",
                dialect::lock_for_update()
            );
            let row = sqlx::query(&sql)
                .bind(org.to_string())
                .bind(value)
                .fetch_optional(&mut *conn)
                .await?;
            row.map(|row| person_from_row(&row, vault)).transpose()
        }

        /// The person's event with this reference, locked as [`find_person`].
        async fn find_event(
            conn: &mut <$db as sqlx::Database>::Connection,
            org: $crate::domain::OrgId,
            person: $crate::domain::PersonId,
            event_ref: &$crate::domain::EventRef,
        ) -> Result<Option<$crate::domain::Event>, $crate::store::StoreError> {
            use $crate::store::people::{EVENT_COLUMNS, event_from_row};
            let sql = format!(
                "SELECT {EVENT_COLUMNS} FROM events \
                 WHERE org_id = $1 AND person_id = $2 AND event_ref = $3{}",
                dialect::lock_for_update()
            );
            let row = sqlx::query(&sql)
                .bind(org.to_string())
                .bind(person.to_string())
                .bind(event_ref.as_str())
                .fetch_optional(&mut *conn)
                .await?;
            row.as_ref().map(event_from_row).transpose()
        }
    };
}
pub(super) use people_store;
