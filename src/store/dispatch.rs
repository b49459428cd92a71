//! Claims, outcomes and send-time checks: the dispatcher's trait, its
//! types, and its one body for both backends ([`dispatch_store!`]).
//!
//! A claim is committed before the provider is called and its outcome right
//! after, so a crash leaves each message waiting, sent, or claimed with a
//! lease that runs out; an expired claim is simply due again (see README,
//! "Crash safety"). No transaction (and no row lock) is ever held across a
//! network call. Every outcome is written only while the claim is still
//! this worker's, so two daemons never both record one message.
//!
//! The claim's pick of due rows and the grouped outcome write differ
//! wholesale between the databases (PostgreSQL's `SKIP LOCKED` and one
//! statement over arrays; SQLite's index walks and multi-row `VALUES`), so
//! they stay in each backend's `dispatch` module, called from the body here.

use std::collections::HashMap;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::DeliveryMatch;
use super::StoreError;
use crate::domain::{Message, MessageId, MessageState, PersonId, PhoneNumber};

/// Times keyed by hash, grouped under the numbers the hashes stand for.
pub(super) fn by_number(
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

/// The text a delivery report is about ($1 the provider, $2 the provider's
/// id for it, $3 our reference), `lock` appended: only what that provider
/// sent, its own id first, should a report carry both an id and another of
/// its messages' references. Each branch of the `OR` is one index look-up
/// (see the partial `messages_by_provider_id`), never a walk of everything
/// the provider sent.
pub(super) fn delivery_match_sql(lock: &str) -> String {
    format!(
        "SELECT {} FROM messages WHERE provider = $1 AND (provider_message_id = $2 OR id = $3) \
         ORDER BY CASE WHEN provider_message_id = $2 THEN 0 ELSE 1 END LIMIT 1{lock}",
        super::messages::MESSAGE_COLUMNS
    )
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

/// Why a due message was claimed, for its state history.
pub(super) fn claim_reason(from: MessageState) -> &'static str {
    match from {
        MessageState::Claimed => {
            "the previous claim's lease ran out (its daemon stopped mid-send); claimed again"
        }
        _ => "due: claimed for sending",
    }
}

/// The one body of [`DispatchStore`], instantiated per backend (see the
/// `store` module header): `$store` is the store type, `$db` its
/// `sqlx::Database`. The expansion site must have a `dialect` module, a
/// `messages` module that expanded `message_helpers!`, a `dispatch` module
/// with the backend's `due_rows` and `record_outcomes`, and the
/// `log_suppression` that `inbound_store!` defines.
macro_rules! dispatch_store {
    ($store:ty, $db:ty) => {
        #[async_trait::async_trait]
        impl $crate::store::DispatchStore for $store {
            async fn claim_due(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                lease_until: chrono::DateTime<chrono::Utc>,
                limit: u32,
                worker: &str,
            ) -> Result<Vec<$crate::store::ClaimedMessage>, $crate::store::StoreError> {
                use sqlx::Row;
                use $crate::domain::MessageState;
                let mut tx = self.write().await?;
                let columns: String = $crate::store::messages::MESSAGE_COLUMNS
                    .split(", ")
                    .map(|c| format!("m.{c}"))
                    .collect::<Vec<_>>()
                    .join(", ");
                let rows = dispatch::due_rows(&mut tx, &columns, now, limit).await?;
                let mut claimed = Vec::with_capacity(rows.len());
                for row in &rows {
                    claimed.push($crate::store::ClaimedMessage {
                        message: messages::message_from_row(row, &self.vault)?,
                        attempts: dialect::count(row, "attempts")?,
                        number_invalid: row.try_get("number_invalid")?,
                    });
                }
                if claimed.is_empty() {
                    tx.commit().await?;
                    return Ok(claimed);
                }
                // One statement per state claimed from (mostly one): a
                // statement per message would cost a round trip each while
                // every other writer waits.
                let worker_owned = worker.to_owned();
                for from in [MessageState::Pending, MessageState::Retrying, MessageState::Claimed] {
                    let ids: Vec<String> = claimed
                        .iter()
                        .filter(|c| c.message.state == from)
                        .map(|c| c.message.id.to_string())
                        .collect();
                    if ids.is_empty() {
                        continue;
                    }
                    let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
                    let lease = |q: &mut sqlx::QueryBuilder<'_, $db>| {
                        q.push(", lease_until = ")
                            .push_bind(lease_until)
                            .push(", claimed_by = ")
                            .push_bind(worker_owned.clone());
                    };
                    let change = (from, MessageState::Claimed);
                    messages::transition(&mut tx, &ids, change, now, lease).await?;
                }
                let moves: Vec<_> = claimed
                    .iter()
                    .map(|c| {
                        let from = c.message.state;
                        (c.message.id, from, $crate::store::dispatch::claim_reason(from))
                    })
                    .collect();
                dialect::record_many(&mut tx, &moves, MessageState::Claimed, now).await?;
                tx.commit().await?;
                Ok(claimed)
            }

            async fn record_sends(
                &self,
                worker: &str,
                outcomes: &[($crate::domain::MessageId, $crate::store::SendRecord)],
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Vec<bool>, $crate::store::StoreError> {
                for (_, record) in outcomes {
                    $crate::domain::MessageState::Claimed.check_transition(record.state())?;
                }
                let ours = dispatch::record_outcomes(self, worker, outcomes, now).await?;
                Ok(outcomes
                    .iter()
                    .map(|(id, _)| ours.contains(&id.to_string()))
                    .collect())
            }

            async fn release(
                &self,
                id: $crate::domain::MessageId,
                worker: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::domain::MessageState;
                let mut tx = self.write().await?;
                let done = sqlx::query(
                    "UPDATE messages SET state = 'pending', lease_until = NULL, claimed_by = NULL, updated_at = $1 \
                     WHERE id = $2 AND state = 'claimed' AND claimed_by = $3",
                )
                .bind(now)
                .bind(id.to_string())
                .bind(worker)
                .execute(&mut *tx)
                .await?;
                if done.rows_affected() > 0 {
                    let reason = "released unsent at shutdown";
                    let (from, to) = (MessageState::Claimed, MessageState::Pending);
                    messages::record(&mut tx, id, Some(from), to, reason, now).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn suppress(
                &self,
                mobile: &$crate::domain::PhoneNumber,
                source: &str,
                reason: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.write().await?;
                let added = sqlx::query(
                    "INSERT INTO suppressions (mobile_hash, source, reason, created_at) VALUES ($1, $2, $3, $4) \
                     ON CONFLICT DO NOTHING",
                )
                .bind(self.vault.index(mobile).as_str())
                .bind(source)
                .bind(self.vault.seal($crate::vault::Field::Note, reason))
                .bind(now)
                .execute(&mut *tx)
                .await?;
                if added.rows_affected() > 0 {
                    let hash = self.vault.index(mobile);
                    let change = $crate::store::SuppressionChange {
                        action: "added",
                        source,
                        reason,
                        actor: None,
                    };
                    log_suppression(&mut tx, &self.vault, &hash, &change, now).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn mark_number_invalid(
                &self,
                person: $crate::domain::PersonId,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.write().await?;
                sqlx::query(
                    "UPDATE people SET mobile_invalid_since = COALESCE(mobile_invalid_since, $1) WHERE id = $2",
                )
                .bind(now)
                .bind(person.to_string())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn sends_to_numbers(
                &self,
                mobiles: &[$crate::domain::PhoneNumber],
                since: chrono::DateTime<chrono::Utc>,
                except: &[$crate::domain::MessageId],
            ) -> Result<
                std::collections::HashMap<
                    $crate::domain::PhoneNumber,
                    Vec<chrono::DateTime<chrono::Utc>>,
                >,
                $crate::store::StoreError,
            > {
                use $crate::store::{by_hash, dispatch::by_number};
                let by_hash = by_hash(&self.vault, mobiles);
                let hashes: Vec<&str> = by_hash.keys().map(String::as_str).collect();
                let except: Vec<String> = except.iter().map(ToString::to_string).collect();
                let except: Vec<&str> = except.iter().map(String::as_str).collect();
                let mut rows: Vec<(String, chrono::DateTime<chrono::Utc>)> = Vec::new();
                for chunk in hashes.chunks(dialect::IN_LIST_MAX) {
                    // A claimed text goes out within its lease: it counts
                    // from its claim, not from a send time a backlog may
                    // have left hours behind (the gap would let the next
                    // text to its number go seconds after it).
                    let at = "CASE WHEN state = 'claimed' THEN updated_at \
                              ELSE COALESCE(sent_at, send_at) END";
                    // The numbers lead: by state, this would walk every sent
                    // text, a walk that grows with the history. SQLite is
                    // told the index (for a long list of numbers it would
                    // rather walk by state); PostgreSQL is kept off the
                    // state's (see `dialect::unindexed_state`).
                    let mut q = sqlx::QueryBuilder::<$db>::new(format!(
                        "SELECT mobile_hash, {at} AS at FROM messages{} \
                         WHERE {} IN ('sent', 'delivered', 'failed', 'claimed') AND reply_to IS NULL \
                         AND {at} >= ",
                        dialect::indexed_by("messages_by_mobile_hash"),
                        dialect::unindexed_state(),
                    ));
                    q.push_bind(since).push(" AND mobile_hash");
                    dialect::push_in(&mut q, chunk);
                    q.push(" AND NOT (id");
                    dialect::push_in(&mut q, &except);
                    q.push(")");
                    rows.extend(q.build_query_as().fetch_all(&self.pool).await?);
                }
                Ok(by_number(&by_hash, rows))
            }

            async fn record_delivery(
                &self,
                provider: &str,
                provider_id: &str,
                reference: Option<$crate::domain::MessageId>,
                delivered: Result<(), String>,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<$crate::store::DeliveryMatch, $crate::store::StoreError> {
                use $crate::store::{DeliveryMatch, Unmatched, delivery_change, report_can_move};
                let mut tx = self.write().await?;
                let reference = reference.map(|r| r.to_string()).unwrap_or_default();
                // Locked, so two reports for one message (a replay racing
                // the original) apply once: the second sees the first's state.
                let sql = $crate::store::dispatch::delivery_match_sql(dialect::lock_for_update());
                let row = sqlx::query(&sql)
                    .bind(provider)
                    .bind(provider_id)
                    .bind(&reference)
                    .fetch_optional(&mut *tx)
                    .await?;
                let Some(row) = row else {
                    let exists = sqlx::query("SELECT 1 FROM messages WHERE id = $1")
                        .bind(&reference)
                        .fetch_optional(&mut *tx)
                        .await?;
                    tx.commit().await?;
                    return Ok(DeliveryMatch::Unmatched(match exists {
                        Some(_) => Unmatched::NotSentByProvider,
                        None => Unmatched::UnknownMessage,
                    }));
                };
                let mut message = messages::message_from_row(&row, &self.vault)?;
                // Replays and late reports are harmless: they find nothing to move.
                if !report_can_move(message.state) {
                    tx.commit().await?;
                    return Ok(DeliveryMatch::NotApplicable(message.state));
                }
                let (to, reason) = delivery_change(provider, &delivered);
                let id = message.id.to_string();
                messages::transition(&mut tx, &[&id], (message.state, to), now, |_| {}).await?;
                messages::record(&mut tx, message.id, Some(message.state), to, &reason, now)
                    .await?;
                tx.commit().await?;
                message.state = to;
                Ok(DeliveryMatch::Applied(Box::new(message)))
            }

            async fn due_count(
                &self,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::store::StoreError> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM messages WHERE state IN ('pending', 'retrying') AND send_at <= $1",
                )
                .bind(now)
                .fetch_one(&self.pool)
                .await?;
                Ok(n.unsigned_abs())
            }
        }
    };
}
pub(super) use dispatch_store;
