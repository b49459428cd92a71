//! What SQLite does differently for people and events (see
//! `store::people`): the bulk writes, one multi-row upsert per table, and
//! an import batch's up-front reads.

use sqlx::sqlite::{SqliteConnection, SqliteRow};
use sqlx::{QueryBuilder, Sqlite};

use crate::domain::{Event, OrgId, Person};
use crate::store::ImportRecord;
use crate::store::StoreError;
use crate::store::import_batch::Known;
use crate::store::people::{
    EVENT_COLUMNS, EventColumns, PERSON_COLUMNS, event_from_row, person_from_row,
};
use crate::vault::{Field, Vault};

/// Insert or update people by id, in as few statements as SQLite's limit
/// on bound values allows. Rows are applied in order, so a person listed
/// twice ends as the later row says.
pub(super) async fn write_people(
    conn: &mut SqliteConnection,
    vault: &Vault,
    people: &[Person],
) -> Result<(), StoreError> {
    // 10 binds a row keeps each statement under SQLite's 32,766.
    for chunk in people.chunks(1000) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT INTO people (id, org_id, external_ref, first_name, mobile, mobile_hash, language, created_at, updated_at, name_hash) ",
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
                .push_bind(p.updated_at)
                .push_bind(vault.index_name(&p.first_name));
        });
        q.push(
            " ON CONFLICT (id) DO UPDATE SET first_name = excluded.first_name, name_hash = excluded.name_hash, mobile = excluded.mobile, \
             mobile_hash = excluded.mobile_hash, language = excluded.language, updated_at = excluded.updated_at, \
             mobile_invalid_since = CASE WHEN people.mobile_hash = excluded.mobile_hash \
             THEN people.mobile_invalid_since ELSE NULL END",
        );
        q.build().execute(&mut *conn).await?;
    }
    Ok(())
}

/// Insert or update events by id, in as few statements as SQLite's limit
/// on bound values allows, in order.
pub(super) async fn write_events(
    conn: &mut SqliteConnection,
    events: &[Event],
) -> Result<(), StoreError> {
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

/// The batch's people and their events, read with two queries up front so
/// that an unchanged row costs no query at all.
pub(super) async fn load_batch(
    conn: &mut SqliteConnection,
    vault: &Vault,
    org: OrgId,
    records: &[ImportRecord],
) -> Result<Known, StoreError> {
    let refs = records.iter().map(|r| match r {
        ImportRecord::Release { person, .. } => person.external_ref.as_str(),
        ImportRecord::Appointment { person, .. } => person.as_str(),
    });
    let org_key = ("org_id", org);
    let rows = select_in(
        conn,
        PERSON_COLUMNS,
        "people",
        org_key,
        "external_ref",
        refs,
    )
    .await?;
    let people: Vec<Person> = rows
        .iter()
        .map(|row| person_from_row(row, vault))
        .collect::<Result<_, _>>()?;
    let ids: Vec<String> = people.iter().map(|p| p.id.to_string()).collect();
    // `+org_id`: with the organisation's index SQLite would read every
    // event the organisation has, once per batch.
    let rows = select_in(
        conn,
        EVENT_COLUMNS,
        "events",
        ("+org_id", org),
        "person_id",
        ids.iter().map(String::as_str),
    )
    .await?;
    let events = rows.iter().map(event_from_row).collect::<Result<_, _>>()?;
    Ok(Known::new(people, events))
}

async fn select_in<'v>(
    conn: &mut SqliteConnection,
    columns: &str,
    table: &str,
    (org_column, org): (&str, OrgId),
    key: &str,
    values: impl Iterator<Item = &'v str>,
) -> Result<Vec<SqliteRow>, StoreError> {
    let mut query = QueryBuilder::<Sqlite>::new(format!(
        "SELECT {columns} FROM {table} WHERE {org_column} = "
    ));
    query.push_bind(org.to_string());
    query.push(format!(" AND {key} IN ("));
    let mut list = query.separated(", ");
    for value in values {
        list.push_bind(value);
    }
    list.push_unseparated(")");
    Ok(query.build().fetch_all(&mut *conn).await?)
}
