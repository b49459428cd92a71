//! Staff accounts, their sessions, one-time links and failed sign-ins: the
//! trait and its one body for both backends ([`staff_store!`]).
//!
//! A link is used with one conditional update (`… WHERE used_at IS NULL AND
//! expires_at > now`), so two browsers following the same link cannot both
//! use it; what the link does (set a password, create the first admin)
//! happens in the same transaction, so a link is never spent for nothing.

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::StoreError;
use crate::domain::{
    Email, LinkPurpose, OrgId, OrgName, Organisation, Role, SecretHash, StaffSession, User, UserId,
};

#[async_trait]
pub trait StaffStore: Send + Sync + 'static {
    /// Whether any account exists at all (none: the first run).
    async fn any_users(&self) -> Result<bool, StoreError>;
    /// Add an account; a [`Conflict`](StoreError::Conflict) if the email is taken.
    async fn create_user(&self, user: &User) -> Result<(), StoreError>;
    async fn user_by_email(&self, email: &Email) -> Result<Option<User>, StoreError>;
    async fn user(&self, org: OrgId, id: UserId) -> Result<Option<User>, StoreError>;
    /// An account in any organisation: for following its one-time link only.
    async fn user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError>;
    /// An organisation's accounts, oldest first.
    async fn users(&self, org: OrgId) -> Result<Vec<User>, StoreError>;
    /// Disable an account and end its sessions at once: `None` if `org` has
    /// no such user, `Some(false)` if it was disabled already.
    async fn disable_user(
        &self,
        org: OrgId,
        id: UserId,
        now: DateTime<Utc>,
    ) -> Result<Option<bool>, StoreError>;

    /// Give an account a new role: `None` if `org` has no such user,
    /// `Some(false)` if it had that role already. A change of role ends the
    /// account's sessions, so the new rights apply from its next sign-in.
    async fn set_user_role(
        &self,
        org: OrgId,
        id: UserId,
        role: Role,
        now: DateTime<Utc>,
    ) -> Result<Option<bool>, StoreError>;

    /// Keep a one-time link; a new setup link replaces any unused one.
    async fn create_link(
        &self,
        token: &SecretHash,
        purpose: LinkPurpose,
        now: DateTime<Utc>,
        expires_at: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// What an unused, unexpired link is for, without using it.
    async fn link(
        &self,
        token: &SecretHash,
        now: DateTime<Utc>,
    ) -> Result<Option<LinkPurpose>, StoreError>;
    /// Use a set-password link: set the password, end the user's sessions.
    /// The user, or `None` if the link is unknown, used or expired.
    async fn set_password_with_link(
        &self,
        token: &SecretHash,
        password_hash: &str,
        now: DateTime<Utc>,
    ) -> Result<Option<User>, StoreError>;
    /// Use the setup link: the named organisation (created if new) gets
    /// `admin` as its first admin. `None` if the link is unknown, used or
    /// expired, or if an account exists already.
    async fn complete_setup(
        &self,
        token: &SecretHash,
        org: &OrgName,
        admin: &User,
        now: DateTime<Utc>,
    ) -> Result<Option<(Organisation, User)>, StoreError>;

    async fn create_session(
        &self,
        id: &SecretHash,
        user: UserId,
        csrf_token: &str,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// A session not ended, of an active user, with its user.
    async fn session(&self, id: &SecretHash) -> Result<Option<StaffSession>, StoreError>;
    /// Note that a session was used: never moves the time back.
    async fn touch_session(&self, id: &SecretHash, now: DateTime<Utc>) -> Result<(), StoreError>;
    async fn end_session(&self, id: &SecretHash, now: DateTime<Utc>) -> Result<(), StoreError>;
    /// End every session of a user ("sign out everywhere"): how many ended.
    async fn end_sessions_of(&self, user: UserId, now: DateTime<Utc>) -> Result<u64, StoreError>;

    /// Count one failed sign-in against each key (keyed hashes of the email
    /// typed and of the address), forgetting failures older than `forget`.
    async fn note_sign_in_failure(
        &self,
        keys: &[&str],
        now: DateTime<Utc>,
        forget: DateTime<Utc>,
    ) -> Result<(), StoreError>;
    /// Failures against `key` at or after `since`.
    async fn sign_in_failures(&self, key: &str, since: DateTime<Utc>) -> Result<u32, StoreError>;
    /// Forget `key`'s failures (after a successful sign-in).
    async fn clear_sign_in_failures(&self, key: &str) -> Result<(), StoreError>;
}

/// End one session (`$2`: its id's hash) or every session of a user (`$2`:
/// the user's id), at `$1`.
pub(super) const END_SESSION: &str =
    "UPDATE user_sessions SET ended_at = $1 WHERE id_hash = $2 AND ended_at IS NULL";
pub(super) const END_SESSIONS_OF: &str =
    "UPDATE user_sessions SET ended_at = $1 WHERE user_id = $2 AND ended_at IS NULL";

pub(super) const USER_COLUMNS: &str =
    "u.id, u.org_id, u.email, u.role, u.password_hash, u.created_at, u.disabled_at";

pub(super) fn user_from_row<R>(row: &R, vault: &crate::vault::Vault) -> Result<User, StoreError>
where
    R: sqlx::Row,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'r> DateTime<Utc>: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
{
    use super::rows::parsed;
    let email = super::unsealed(row, "email", vault, crate::vault::Field::Email)?;
    Ok(User {
        id: parsed(row, "id")?,
        org_id: parsed(row, "org_id")?,
        email: Email::parse(&email).map_err(|e| StoreError::Corrupt(format!("email: {e}")))?,
        role: parsed(row, "role")?,
        password_hash: row.try_get("password_hash")?,
        created_at: row.try_get("created_at")?,
        disabled_at: row.try_get("disabled_at")?,
    })
}

pub(super) fn link_from_row<R>(row: &R) -> Result<LinkPurpose, StoreError>
where
    R: sqlx::Row,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
{
    let purpose: String = row.try_get("purpose")?;
    let user = super::rows::optional(row, "user_id", str::parse::<UserId>)?;
    match (purpose.as_str(), user) {
        ("setup", None) => Ok(LinkPurpose::Setup),
        ("set_password", Some(user)) => Ok(LinkPurpose::SetPassword(user)),
        _ => Err(StoreError::Corrupt(format!("password link {purpose:?}"))),
    }
}

/// The one body of [`StaffStore`], instantiated per backend (see the
/// `store` module header).
macro_rules! staff_store {
    ($store:ty, $db:ty) => {
        impl $store {
            async fn insert_user(
                conn: &mut <$db as sqlx::Database>::Connection,
                vault: &$crate::vault::Vault,
                user: &$crate::domain::User,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::vault::Field;
                let done = sqlx::query(
                    "INSERT INTO users (id, org_id, email, email_hash, role, password_hash, created_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7)",
                )
                .bind(user.id.to_string())
                .bind(user.org_id.to_string())
                .bind(vault.seal(Field::Email, user.email.as_str()))
                .bind(vault.index_email(&user.email))
                .bind(user.role.as_str())
                .bind(user.password_hash.as_deref())
                .bind(user.created_at)
                .execute(&mut *conn)
                .await;
                match done {
                    Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Err(
                        $crate::store::StoreError::Conflict("an account with this email".into()),
                    ),
                    other => other.map(|_| ()).map_err(Into::into),
                }
            }

            /// Use a link: its purpose, or `None` if it was unknown, used or expired.
            async fn use_link(
                conn: &mut <$db as sqlx::Database>::Connection,
                token: &$crate::domain::SecretHash,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<$crate::domain::LinkPurpose>, $crate::store::StoreError> {
                let row = sqlx::query(
                    "UPDATE password_links SET used_at = $1 \
                     WHERE token_hash = $2 AND used_at IS NULL AND expires_at > $1 \
                     RETURNING purpose, user_id",
                )
                .bind(now)
                .bind(token.as_str())
                .fetch_optional(&mut *conn)
                .await?;
                row.as_ref().map($crate::store::staff::link_from_row).transpose()
            }

            /// One statement binding a time (`$1`) and a key (`$2`), in a
            /// write transaction of its own: how many rows it changed.
            async fn stamp(
                &self,
                sql: &str,
                now: chrono::DateTime<chrono::Utc>,
                key: String,
            ) -> Result<u64, $crate::store::StoreError> {
                let mut tx = self.write().await?;
                let changed = Self::stamp_in(&mut tx, sql, now, key).await?;
                tx.commit().await?;
                Ok(changed)
            }

            async fn stamp_in(
                conn: &mut <$db as sqlx::Database>::Connection,
                sql: &str,
                now: chrono::DateTime<chrono::Utc>,
                key: String,
            ) -> Result<u64, $crate::store::StoreError> {
                let done = sqlx::query(sql).bind(now).bind(key).execute(&mut *conn).await?;
                Ok(done.rows_affected())
            }

            async fn users_where(
                &self,
                condition: &str,
                value: String,
            ) -> Result<Vec<$crate::domain::User>, $crate::store::StoreError> {
                use $crate::store::staff::{USER_COLUMNS, user_from_row};
                let sql = format!("SELECT {USER_COLUMNS} FROM users u WHERE {condition} ORDER BY u.id");
                let rows = sqlx::query(&sql).bind(value).fetch_all(&self.pool).await?;
                rows.iter().map(|r| user_from_row(r, &self.vault)).collect()
            }
        }

        #[async_trait::async_trait]
        impl $crate::store::StaffStore for $store {
            async fn any_users(&self) -> Result<bool, $crate::store::StoreError> {
                let one: Option<i32> = sqlx::query_scalar("SELECT 1 FROM users LIMIT 1")
                    .fetch_optional(&self.pool)
                    .await?;
                Ok(one.is_some())
            }

            async fn create_user(
                &self,
                user: &$crate::domain::User,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.write().await?;
                Self::insert_user(&mut tx, &self.vault, user).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn user_by_email(
                &self,
                email: &$crate::domain::Email,
            ) -> Result<Option<$crate::domain::User>, $crate::store::StoreError> {
                let hash = self.vault.index_email(email);
                Ok(self.users_where("u.email_hash = $1", hash).await?.pop())
            }

            async fn user(
                &self,
                org: $crate::domain::OrgId,
                id: $crate::domain::UserId,
            ) -> Result<Option<$crate::domain::User>, $crate::store::StoreError> {
                let found = self.user_by_id(id).await?;
                Ok(found.filter(|u| u.org_id == org))
            }

            async fn user_by_id(
                &self,
                id: $crate::domain::UserId,
            ) -> Result<Option<$crate::domain::User>, $crate::store::StoreError> {
                Ok(self.users_where("u.id = $1", id.to_string()).await?.pop())
            }

            async fn users(
                &self,
                org: $crate::domain::OrgId,
            ) -> Result<Vec<$crate::domain::User>, $crate::store::StoreError> {
                self.users_where("u.org_id = $1", org.to_string()).await
            }

            async fn disable_user(
                &self,
                org: $crate::domain::OrgId,
                id: $crate::domain::UserId,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<bool>, $crate::store::StoreError> {
                let mut tx = self.write().await?;
                let exists: Option<i32> =
                    sqlx::query_scalar("SELECT 1 FROM users WHERE org_id = $1 AND id = $2")
                        .bind(org.to_string())
                        .bind(id.to_string())
                        .fetch_optional(&mut *tx)
                        .await?;
                if exists.is_none() {
                    return Ok(None);
                }
                use $crate::store::staff::END_SESSIONS_OF;
                let disable = "UPDATE users SET disabled_at = $1 WHERE id = $2 AND disabled_at IS NULL";
                let disabled = Self::stamp_in(&mut tx, disable, now, id.to_string()).await?;
                Self::stamp_in(&mut tx, END_SESSIONS_OF, now, id.to_string()).await?;
                tx.commit().await?;
                Ok(Some(disabled > 0))
            }

            async fn set_user_role(
                &self,
                org: $crate::domain::OrgId,
                id: $crate::domain::UserId,
                role: $crate::domain::Role,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<bool>, $crate::store::StoreError> {
                let mut tx = self.write().await?;
                let current: Option<String> =
                    sqlx::query_scalar("SELECT role FROM users WHERE org_id = $1 AND id = $2")
                        .bind(org.to_string())
                        .bind(id.to_string())
                        .fetch_optional(&mut *tx)
                        .await?;
                match current {
                    None => return Ok(None),
                    Some(current) if current == role.as_str() => return Ok(Some(false)),
                    Some(_) => {}
                }
                sqlx::query("UPDATE users SET role = $1 WHERE id = $2")
                    .bind(role.as_str())
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                use $crate::store::staff::END_SESSIONS_OF;
                Self::stamp_in(&mut tx, END_SESSIONS_OF, now, id.to_string()).await?;
                tx.commit().await?;
                Ok(Some(true))
            }

            async fn create_link(
                &self,
                token: &$crate::domain::SecretHash,
                purpose: $crate::domain::LinkPurpose,
                now: chrono::DateTime<chrono::Utc>,
                expires_at: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                use $crate::domain::LinkPurpose;
                let (kind, user) = match purpose {
                    LinkPurpose::Setup => ("setup", None),
                    LinkPurpose::SetPassword(user) => ("set_password", Some(user.to_string())),
                };
                let mut tx = self.write().await?;
                if purpose == LinkPurpose::Setup {
                    sqlx::query("DELETE FROM password_links WHERE purpose = 'setup' AND used_at IS NULL")
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(
                    "INSERT INTO password_links (token_hash, purpose, user_id, created_at, expires_at) \
                     VALUES ($1, $2, $3, $4, $5)",
                )
                .bind(token.as_str())
                .bind(kind)
                .bind(user)
                .bind(now)
                .bind(expires_at)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn link(
                &self,
                token: &$crate::domain::SecretHash,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<$crate::domain::LinkPurpose>, $crate::store::StoreError> {
                let row = sqlx::query(
                    "SELECT purpose, user_id FROM password_links \
                     WHERE token_hash = $1 AND used_at IS NULL AND expires_at > $2",
                )
                .bind(token.as_str())
                .bind(now)
                .fetch_optional(&self.pool)
                .await?;
                row.as_ref().map($crate::store::staff::link_from_row).transpose()
            }

            async fn set_password_with_link(
                &self,
                token: &$crate::domain::SecretHash,
                password_hash: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<$crate::domain::User>, $crate::store::StoreError> {
                use $crate::domain::LinkPurpose;
                let mut tx = self.write().await?;
                let Some(LinkPurpose::SetPassword(user)) = Self::use_link(&mut tx, token, now).await?
                else {
                    return Ok(None);
                };
                sqlx::query("UPDATE users SET password_hash = $1 WHERE id = $2 AND disabled_at IS NULL")
                    .bind(password_hash)
                    .bind(user.to_string())
                    .execute(&mut *tx)
                    .await?;
                let end_all = $crate::store::staff::END_SESSIONS_OF;
                Self::stamp_in(&mut tx, end_all, now, user.to_string()).await?;
                tx.commit().await?;
                let found = self.user_by_id(user).await?;
                Ok(found.filter($crate::domain::User::is_active))
            }

            async fn complete_setup(
                &self,
                token: &$crate::domain::SecretHash,
                org: &$crate::domain::OrgName,
                admin: &$crate::domain::User,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<Option<($crate::domain::Organisation, $crate::domain::User)>, $crate::store::StoreError>
            {
                use $crate::domain::{LinkPurpose, OrgId, Organisation};
                let mut tx = self.write().await?;
                let taken: Option<i32> = sqlx::query_scalar("SELECT 1 FROM users LIMIT 1")
                    .fetch_optional(&mut *tx)
                    .await?;
                if taken.is_some() || Self::use_link(&mut tx, token, now).await? != Some(LinkPurpose::Setup) {
                    return Ok(None);
                }
                let row = sqlx::query("SELECT id, created_at FROM organisations WHERE name = $1")
                    .bind(org.as_str())
                    .fetch_optional(&mut *tx)
                    .await?;
                let organisation = match row {
                    Some(row) => {
                        use sqlx::Row;
                        Organisation {
                            id: $crate::store::rows::parsed(&row, "id")?,
                            name: org.clone(),
                            created_at: row.try_get("created_at")?,
                        }
                    }
                    None => {
                        let fresh = Organisation { id: OrgId::new(), name: org.clone(), created_at: dialect::stored(now) };
                        sqlx::query("INSERT INTO organisations (id, name, created_at) VALUES ($1, $2, $3)")
                            .bind(fresh.id.to_string())
                            .bind(org.as_str())
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                        fresh
                    }
                };
                let admin = $crate::domain::User { org_id: organisation.id, ..admin.clone() };
                Self::insert_user(&mut tx, &self.vault, &admin).await?;
                tx.commit().await?;
                Ok(Some((organisation, admin)))
            }

            async fn create_session(
                &self,
                id: &$crate::domain::SecretHash,
                user: $crate::domain::UserId,
                csrf_token: &str,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.write().await?;
                sqlx::query(
                    "INSERT INTO user_sessions (id_hash, user_id, csrf_token, created_at, last_seen_at) \
                     VALUES ($1, $2, $3, $4, $4)",
                )
                .bind(id.as_str())
                .bind(user.to_string())
                .bind(csrf_token)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn session(
                &self,
                id: &$crate::domain::SecretHash,
            ) -> Result<Option<$crate::domain::StaffSession>, $crate::store::StoreError> {
                use sqlx::Row;
                use $crate::store::staff::{USER_COLUMNS, user_from_row};
                let sql = format!(
                    "SELECT {USER_COLUMNS}, s.csrf_token, s.created_at AS session_created_at, s.last_seen_at \
                     FROM user_sessions s JOIN users u ON u.id = s.user_id \
                     WHERE s.id_hash = $1 AND s.ended_at IS NULL AND u.disabled_at IS NULL"
                );
                let row = sqlx::query(&sql)
                    .bind(id.as_str())
                    .fetch_optional(&self.pool)
                    .await?;
                let Some(row) = row else { return Ok(None) };
                Ok(Some($crate::domain::StaffSession {
                    user: user_from_row(&row, &self.vault)?,
                    csrf_token: row.try_get("csrf_token")?,
                    created_at: row.try_get("session_created_at")?,
                    last_seen_at: row.try_get("last_seen_at")?,
                }))
            }

            async fn touch_session(
                &self,
                id: &$crate::domain::SecretHash,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                let touch = "UPDATE user_sessions SET last_seen_at = $1 WHERE id_hash = $2 AND last_seen_at < $1";
                self.stamp(touch, now, id.as_str().to_owned()).await.map(drop)
            }

            async fn end_session(
                &self,
                id: &$crate::domain::SecretHash,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                let end = $crate::store::staff::END_SESSION;
                self.stamp(end, now, id.as_str().to_owned()).await.map(drop)
            }

            async fn end_sessions_of(
                &self,
                user: $crate::domain::UserId,
                now: chrono::DateTime<chrono::Utc>,
            ) -> Result<u64, $crate::store::StoreError> {
                self.stamp($crate::store::staff::END_SESSIONS_OF, now, user.to_string()).await
            }

            async fn note_sign_in_failure(
                &self,
                keys: &[&str],
                now: chrono::DateTime<chrono::Utc>,
                forget: chrono::DateTime<chrono::Utc>,
            ) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.write().await?;
                sqlx::query("DELETE FROM sign_in_failures WHERE at < $1")
                    .bind(forget)
                    .execute(&mut *tx)
                    .await?;
                for key in keys {
                    sqlx::query("INSERT INTO sign_in_failures (key_hash, at) VALUES ($1, $2)")
                        .bind(*key)
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn sign_in_failures(
                &self,
                key: &str,
                since: chrono::DateTime<chrono::Utc>,
            ) -> Result<u32, $crate::store::StoreError> {
                let n: i64 = sqlx::query_scalar(
                    "SELECT COUNT(*) FROM sign_in_failures WHERE key_hash = $1 AND at >= $2",
                )
                .bind(key)
                .bind(since)
                .fetch_one(&self.pool)
                .await?;
                Ok(u32::try_from(n).unwrap_or(u32::MAX))
            }

            async fn clear_sign_in_failures(&self, key: &str) -> Result<(), $crate::store::StoreError> {
                let mut tx = self.write().await?;
                sqlx::query("DELETE FROM sign_in_failures WHERE key_hash = $1")
                    .bind(key)
                    .execute(&mut *tx)
                    .await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}
pub(super) use staff_store;
