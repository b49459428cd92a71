//! What staff read on the web pages beyond one row at a time: who is
//! released on a day, how many texts are due or went out, and finding a
//! person by their reference. The trait and its one body for both backends
//! ([`casework_store!`]).

use async_trait::async_trait;
use chrono::{DateTime, NaiveDate, Utc};

use super::StoreError;
use crate::domain::{Event, ExternalRef, MessageState, OrgId, Person};

#[async_trait]
pub trait CaseworkStore: Send + Sync + 'static {
    /// Liberations on any of `dates` that are not cancelled, with their
    /// people, by date then reference.
    async fn liberations_on(
        &self,
        org: OrgId,
        dates: &[NaiveDate],
    ) -> Result<Vec<(Person, Event)>, StoreError>;
    /// How many of the organisation's texts are due to go in `[from, to)`,
    /// by their state now.
    async fn due_by_state(
        &self,
        org: OrgId,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<(MessageState, u64)>, StoreError>;
    /// How many of the organisation's texts moved to each state since `since`.
    async fn moved_since(
        &self,
        org: OrgId,
        since: DateTime<Utc>,
    ) -> Result<Vec<(MessageState, u64)>, StoreError>;
    async fn person_by_ref(
        &self,
        org: OrgId,
        reference: &ExternalRef,
    ) -> Result<Option<Person>, StoreError>;
}

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
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT state, COUNT(*) FROM messages \
                     WHERE org_id = $1 AND send_at >= $2 AND send_at < $3 GROUP BY state",
                )
                .bind(org.to_string())
                .bind(from)
                .bind(to)
                .fetch_all(&self.pool)
                .await?;
                $crate::store::casework::counts(rows)
            }

            async fn moved_since(
                &self,
                org: $crate::domain::OrgId,
                since: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<($crate::domain::MessageState, u64)>, $crate::store::StoreError> {
                let rows: Vec<(String, i64)> = sqlx::query_as(
                    "SELECT t.to_state, COUNT(*) FROM message_transitions t \
                     JOIN messages m ON m.id = t.message_id \
                     WHERE m.org_id = $1 AND t.at >= $2 GROUP BY t.to_state",
                )
                .bind(org.to_string())
                .bind(since)
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
        }
    };
}
pub(super) use casework_store;
