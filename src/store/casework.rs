//! What staff read on the web pages beyond one row at a time: who is
//! released on a day, how many texts are due or went out, and finding a
//! person by their reference. The trait and its one body for both backends
//! ([`casework_store!`]).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::StoreError;
use crate::domain::{Event, ExternalRef, FirstName, MessageState, OrgId, Person};

#[async_trait]
pub trait CaseworkStore: Send + Sync + 'static {
    /// Liberations on any of `dates` that are not cancelled, with their
    /// people, by date then reference.
    async fn liberations_on(
        &self,
        org: OrgId,
        dates: &[NaiveDate],
    ) -> Result<Vec<(Person, Event)>, StoreError>;
    /// How many of the organisation's texts are (or were) due to go in
    /// `[from, to)`, by their state now. Read through the dispatcher's own
    /// index (`messages_due`: state, then send time), one range per state,
    /// so sending pays for no index of the pages'.
    async fn due_by_state(
        &self,
        org: OrgId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(MessageState, u64)>, StoreError>;
    async fn person_by_ref(
        &self,
        org: OrgId,
        reference: &ExternalRef,
    ) -> Result<Option<Person>, StoreError>;
    /// People whose first name matches `name` as a search does (case and
    /// accents aside), by their keyed hash: no other name is opened. At
    /// most [`SEARCH_LIMIT`] and one more, by reference.
    async fn people_named(&self, org: OrgId, name: &FirstName) -> Result<Vec<Person>, StoreError>;
    /// Give up to `limit` people stored before names were indexed their
    /// name's keyed hash; how many were done (0: none left).
    async fn index_names(&self, limit: u32) -> Result<u64, StoreError>;
}

/// Every state, for a query that walks `messages_due` state by state.
pub(super) const EVERY_STATE: &str = "('pending', 'claimed', 'retrying', 'sent', 'delivered', 'failed', 'cancelled', 'suppressed', 'expired')";

/// People found by a first name's keyed hash ($1 the organisation, $2 the
/// hash), the first [`SEARCH_LIMIT`] by reference and one more to tell that
/// more match: a common name is thousands of people
/// at scale, and `people_by_name` holds them in reference order.
pub(super) fn people_named_sql() -> String {
    use super::people::PERSON_COLUMNS;
    format!(
        "SELECT {PERSON_COLUMNS} FROM people WHERE org_id = $1 AND name_hash = $2 \
         ORDER BY external_ref LIMIT {}",
        SEARCH_LIMIT + 1
    )
}

/// The most people one search shows.
pub const SEARCH_LIMIT: u32 = 50;

/// State counts as read back: a state Homeward does not know is corrupt.
pub(super) fn counts(rows: Vec<(String, i64)>) -> Result<Vec<(MessageState, u64)>, StoreError> {
    rows.into_iter()
        .map(|(state, n)| {
            let state = state
                .parse::<MessageState>()
                .map_err(|e| StoreError::Corrupt(format!("state: {e}")))?;
            Ok((state, u64::try_from(n).unwrap_or(0)))
        })
        .collect()
}

/// The one body of [`CaseworkStore`], instantiated per backend (see the
/// `store` module header).
macro_rules! casework_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::CaseworkStore for $store {
            async fn liberations_on(
                &self,
                org: $crate::domain::OrgId,
                dates: &[chrono::NaiveDate],
            ) -> Result<Vec<($crate::domain::Person, $crate::domain::Event)>, $crate::store::StoreError>
            {
                use $crate::store::people::{EVENT_COLUMNS, event_from_row, person_with_prefix};
                let event_columns: String =
                    EVENT_COLUMNS.split(", ").map(|c| format!("e.{c}")).collect::<Vec<_>>().join(", ");
                let mut out = Vec::new();
                for date in dates {
                    let sql = format!(
                        "SELECT {event_columns}, p.id AS p_id, p.org_id AS p_org_id, p.external_ref AS p_external_ref, \
                         p.first_name AS p_first_name, p.mobile AS p_mobile, p.language AS p_language, \
                         p.created_at AS p_created_at, p.updated_at AS p_updated_at \
                         FROM events e JOIN people p ON p.id = e.person_id \
                         WHERE e.org_id = $1 AND e.kind = 'liberation' AND e.local_date = $2 \
                         AND e.status <> 'cancelled' ORDER BY p.external_ref"
                    );
                    let rows = sqlx::query(&sql)
                        .bind(org.to_string())
                        .bind(*date)
                        .fetch_all(&self.pool)
                        .await?;
                    for row in &rows {
                        out.push((person_with_prefix(row, "p_", &self.vault)?, event_from_row(row)?));
                    }
                }
                Ok(out)
            }

            async fn due_by_state(
                &self,
                org: $crate::domain::OrgId,
                from: chrono::DateTime<chrono::Utc>,
                to: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<($crate::domain::MessageState, u64)>, $crate::store::StoreError> {
                use $crate::store::casework::EVERY_STATE;
                let rows: Vec<(String, i64)> = sqlx::query_as(&format!(
                    "SELECT state, COUNT(*) FROM messages \
                     WHERE state IN {EVERY_STATE} AND send_at >= $2 AND send_at < $3 AND org_id = $1 \
                     GROUP BY state"
                ))
                .bind(org.to_string())
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?;
                $crate::store::casework::counts(rows)
            }


            async fn person_by_ref(
                &self,
                org: $crate::domain::OrgId,
                reference: &$crate::domain::ExternalRef,
            ) -> Result<Option<$crate::domain::Person>, $crate::store::StoreError> {
                use $crate::store::people::{PERSON_COLUMNS, person_from_row};
                let sql = format!(
                    "SELECT {PERSON_COLUMNS} FROM people WHERE org_id = $1 AND external_ref = $2"
                );
                let row = sqlx::query(&sql)
                    .bind(org.to_string())
                    .bind(reference.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                row.map(|row| person_from_row(&row, &self.vault)).transpose()
            }

            async fn people_named(
                &self,
                org: $crate::domain::OrgId,
                name: &$crate::domain::FirstName,
            ) -> Result<Vec<$crate::domain::Person>, $crate::store::StoreError> {
                use $crate::store::people::person_from_row;
                let sql = $crate::store::casework::people_named_sql();
                let rows = sqlx::query(&sql)
                    .bind(org.to_string())
                    .bind(self.vault.index_name(name))
                    .fetch_all(&self.pool)
                    .await?;
                rows.iter().map(|row| person_from_row(row, &self.vault)).collect()
            }

            async fn index_names(&self, limit: u32) -> Result<u64, $crate::store::StoreError> {
                use $crate::store::people::{PERSON_COLUMNS, person_from_row};
                // A read first: start-up asks every time, and almost always
                // there is nothing to do, which must not take the writer's turn.
                let sql = format!("SELECT {PERSON_COLUMNS} FROM people WHERE name_hash IS NULL LIMIT $1");
                let rows = sqlx::query(&sql).bind(i64::from(limit)).fetch_all(&self.pool).await?;
                if rows.is_empty() {
                    return Ok(0);
                }
                let mut tx = self.write().await?;
                for row in &rows {
                    let person = person_from_row(row, &self.vault)?;
                    sqlx::query("UPDATE people SET name_hash = $1 WHERE id = $2")
                        .bind(self.vault.index_name(&person.first_name))
                        .bind(person.id.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(rows.len() as u64)
            }
        }
    };
}
pub(super) use casework_store;
