//! Leads: one daemon at a time does a job, using PostgreSQL session
//! advisory locks.
//!
//! A lead is a `pg_try_advisory_lock` taken on a connection of its own,
//! outside the pool (a pooled connection would carry the lock to whichever
//! query borrowed it next). The lock lasts exactly as long as that session,
//! so a daemon that dies, even by SIGKILL, loses its leads as soon as
//! PostgreSQL notices the connection closed, and another daemon's next
//! [`try_lead`](LeaderStore::try_lead) takes over. TCP keepalives on the
//! lead's session make PostgreSQL notice a vanished host within about half
//! a minute rather than hours. A follower keeps its connection too and
//! simply asks again, so following costs one query per call.

use async_trait::async_trait;
use sqlx::Connection;
use sqlx::postgres::PgConnection;

use super::{PostgresStore, lock_key};
use crate::store::{LeaderStore, StoreError};

/// One lead's session, and whether it holds the lock.
#[derive(Debug)]
pub(super) struct Lead {
    conn: PgConnection,
    held: bool,
}

impl Lead {
    /// Ask again on this session: `true` while the lock is ours.
    async fn refresh(&mut self, key: i64) -> Result<bool, StoreError> {
        if self.held {
            // A live session still holds its lock: nothing releases it but
            // `release_lead` or the session ending.
            self.conn.ping().await?;
        } else {
            self.held = sqlx::query_scalar("SELECT pg_try_advisory_lock($1)")
                .bind(key)
                .fetch_one(&mut self.conn)
                .await?;
        }
        Ok(self.held)
    }
}

#[async_trait]
impl LeaderStore for PostgresStore {
    async fn try_lead(&self, name: &str) -> Result<bool, StoreError> {
        let key = lock_key("lead", name);
        let mut leads = self.leads.lock().await;
        if let Some(lead) = leads.get_mut(name) {
            match lead.refresh(key).await {
                Ok(held) => return Ok(held),
                Err(e) => {
                    // The session is gone (PostgreSQL restarted, the network
                    // dropped), and its lock with it: start afresh below.
                    tracing::warn!(lead = name, error = %e, "lost the session holding a lead");
                    leads.remove(name);
                }
            }
        }
        let conn = self.lead_session().await?;
        let mut lead = Lead { conn, held: false };
        let held = lead.refresh(key).await?;
        leads.insert(name.to_owned(), lead);
        Ok(held)
    }

    async fn release_lead(&self, name: &str) -> Result<(), StoreError> {
        let lead = self.leads.lock().await.remove(name);
        if let Some(lead) = lead {
            // Closing the session releases its locks; unlocking first just
            // says so explicitly.
            let mut conn = lead.conn;
            if lead.held {
                sqlx::query("SELECT pg_advisory_unlock($1)")
                    .bind(lock_key("lead", name))
                    .execute(&mut conn)
                    .await?;
            }
            conn.close().await?;
        }
        Ok(())
    }
}

impl PostgresStore {
    async fn lead_session(&self) -> Result<PgConnection, StoreError> {
        let options = (*self.pool.connect_options()).clone().options([
            ("tcp_keepalives_idle", "10"),
            ("tcp_keepalives_interval", "5"),
            ("tcp_keepalives_count", "3"),
        ]);
        Ok(PgConnection::connect_with(&options).await?)
    }
}
