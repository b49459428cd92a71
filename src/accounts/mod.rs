//! Use case: staff accounts for the web pages. Creating an account (with a
//! one-time link to choose a password), the first-run setup link, signing in
//! and out, sessions with idle and absolute timeouts, disabling an account.
//!
//! Signing in answers the same for an unknown email as for a wrong password,
//! and takes as long (a decoy hash is checked), so the page cannot be used to
//! learn who has an account. Failed attempts are counted per email typed and
//! per address, as keyed hashes in the store, so every daemon sharing a
//! database sees them.

mod access;
pub mod password;

use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};

use crate::audit::AuditLog;
use crate::clock::Clock;
use crate::config::StaffSettings;
use crate::domain::{
    Actor, AuditAction, AuditTarget, Email, EmailError, LinkPurpose, OrgId, OrgName, Organisation,
    Role, Secret, StaffSession, TextError, User, UserId,
};
use crate::store::{Store, StoreError};
use crate::vault::Vault;
pub use access::MAX_TOKEN_LABEL;
pub use password::PasswordError;

/// How long a link to choose a password works.
pub const LINK_VALID_FOR: Duration = Duration::hours(24);
/// A session's last-seen time is written at most this often, so that most
/// page views stay reads.
const TOUCH_EVERY: Duration = Duration::minutes(1);

#[derive(Clone)]
pub struct Accounts {
    store: Arc<dyn Store>,
    clock: Arc<dyn Clock>,
    vault: Vault,
    audit: AuditLog,
    settings: StaffSettings,
}

/// A fresh session: the secret goes in the browser's cookie, once.
#[derive(Debug)]
pub struct SignedIn {
    pub secret: Secret,
    pub session: StaffSession,
}

#[derive(Debug, thiserror::Error)]
pub enum SignInError {
    /// The same for an unknown email, a wrong password, a disabled account
    /// and one with no password yet.
    #[error("Enter a correct email address and password")]
    Refused,
    #[error("Too many attempts to sign in. Wait {minutes} minutes, then try again")]
    Throttled { minutes: i64 },
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Why setting up or choosing a password did not happen.
#[derive(Debug, thiserror::Error)]
pub enum AccountError {
    #[error("This link has expired or has already been used. Ask an administrator for a new one")]
    LinkUnusable,
    #[error("{0}")]
    Email(#[from] EmailError),
    #[error("{0}")]
    OrgName(TextError),
    #[error("{0}")]
    Password(#[from] PasswordError),
    #[error("An account with this email address already exists")]
    EmailTaken,
    #[error(transparent)]
    Store(StoreError),
}

impl From<StoreError> for AccountError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) => Self::EmailTaken,
            other => Self::Store(other),
        }
    }
}

impl Accounts {
    pub fn new(
        store: Arc<dyn Store>,
        clock: Arc<dyn Clock>,
        vault: Vault,
        settings: StaffSettings,
    ) -> Self {
        let audit = AuditLog::new(store.clone(), clock.clone());
        Self {
            store,
            clock,
            vault,
            audit,
            settings,
        }
    }

    /// On an empty database, a fresh link to create the first admin (any
    /// earlier unused one stops working); `None` once any account exists.
    pub async fn first_run_link(&self) -> Result<Option<Secret>, StoreError> {
        if self.store.any_users().await? {
            return Ok(None);
        }
        let secret = Secret::generate();
        let now = self.clock.now();
        let expires = now + LINK_VALID_FOR;
        self.store
            .create_link(&secret.hash(), LinkPurpose::Setup, now, expires)
            .await?;
        Ok(Some(secret))
    }

    /// Create an account in `org` and a link for its owner to choose a
    /// password.
    pub async fn invite(
        &self,
        org: OrgId,
        email: &str,
        role: Role,
        by: Actor,
    ) -> Result<(User, Secret), AccountError> {
        let now = self.clock.now();
        let user = User {
            id: UserId::new(),
            org_id: org,
            email: Email::parse(email)?,
            role,
            password_hash: None,
            created_at: now,
            disabled_at: None,
        };
        self.store.create_user(&user).await?;
        let secret = Secret::generate();
        let purpose = LinkPurpose::SetPassword(user.id);
        self.store
            .create_link(&secret.hash(), purpose, now, now + LINK_VALID_FOR)
            .await?;
        let target = AuditTarget::user(user.id);
        self.audit
            .record_as(by, org, AuditAction::Created, target, None)
            .await?;
        Ok((user, secret))
    }

    /// What a link is for, if it still works.
    pub async fn link(&self, token: &str) -> Result<Option<LinkPurpose>, StoreError> {
        let hash = Secret::presented(token).hash();
        self.store.link(&hash, self.clock.now()).await
    }

    /// Follow a set-password link: the account, now with its password.
    pub async fn set_password(
        &self,
        token: &str,
        new: &str,
        confirm: &str,
    ) -> Result<User, AccountError> {
        let hash = Secret::presented(token).hash();
        let now = self.clock.now();
        let Some(LinkPurpose::SetPassword(id)) = self.store.link(&hash, now).await? else {
            return Err(AccountError::LinkUnusable);
        };
        let user = self
            .store
            .user_by_id(id)
            .await?
            .ok_or(AccountError::LinkUnusable)?;
        password::check(new, confirm, &user.email)?;
        let stored = password::hash(new);
        let user = self
            .store
            .set_password_with_link(&hash, &stored, now)
            .await?
            .ok_or(AccountError::LinkUnusable)?;
        let (actor, target) = (Actor::User { user_id: user.id }, AuditTarget::user(user.id));
        self.audit
            .record_as(actor, user.org_id, AuditAction::PasswordSet, target, None)
            .await?;
        Ok(user)
    }

    /// Follow the first-run link: create (or join) the organisation and its
    /// first admin, signed in at once.
    pub async fn complete_setup(
        &self,
        token: &str,
        org_name: &str,
        email: &str,
        new: &str,
        confirm: &str,
    ) -> Result<(Organisation, SignedIn), AccountError> {
        let hash = Secret::presented(token).hash();
        let now = self.clock.now();
        if self.store.link(&hash, now).await? != Some(LinkPurpose::Setup) {
            return Err(AccountError::LinkUnusable);
        }
        let org_name = OrgName::parse(org_name).map_err(AccountError::OrgName)?;
        let email = Email::parse(email)?;
        password::check(new, confirm, &email)?;
        let admin = User {
            id: UserId::new(),
            org_id: OrgId::new(),
            email,
            role: Role::Admin,
            password_hash: Some(password::hash(new)),
            created_at: now,
            disabled_at: None,
        };
        let (org, admin) = self
            .store
            .complete_setup(&hash, &org_name, &admin, now)
            .await?
            .ok_or(AccountError::LinkUnusable)?;
        let actor = Actor::User { user_id: admin.id };
        let target = AuditTarget::user(admin.id);
        self.audit
            .record_as(actor, org.id, AuditAction::Created, target, None)
            .await?;
        let signed_in = self.open_session(admin, now).await?;
        Ok((org, signed_in))
    }

    /// Sign in with an email and password typed on the page, from `address`.
    pub async fn sign_in(
        &self,
        email: &str,
        password: &str,
        address: &str,
    ) -> Result<SignedIn, SignInError> {
        let now = self.clock.now();
        let keys = self.throttle_keys(email, address);
        self.check_throttle(&keys, now).await?;
        let user = match Email::parse(email) {
            Ok(email) => self.store.user_by_email(&email).await?,
            Err(_) => None,
        };
        let stored = user.as_ref().and_then(|u| u.password_hash.as_deref());
        let has_password = stored.is_some();
        let matches = password::verify(password, stored.unwrap_or(password::decoy()));
        match user {
            Some(user) if matches && has_password && user.is_active() => {
                self.store.clear_sign_in_failures(&keys[0]).await?;
                let signed_in = self.open_session(user, now).await?;
                let (actor, org) = (
                    Actor::User {
                        user_id: signed_in.session.user.id,
                    },
                    signed_in.session.user.org_id,
                );
                let target = AuditTarget::user(signed_in.session.user.id);
                self.audit
                    .record_as(actor, org, AuditAction::SignedIn, target, None)
                    .await?;
                Ok(signed_in)
            }
            user => {
                self.note_failure(&keys, now).await?;
                if let Some(user) = user {
                    let actor = Actor::User { user_id: user.id };
                    let target = AuditTarget::user(user.id);
                    self.audit
                        .record_as(actor, user.org_id, AuditAction::SignInFailed, target, None)
                        .await?;
                }
                metrics::counter!("staff_sign_in_failures_total").increment(1);
                Err(SignInError::Refused)
            }
        }
    }

    /// The live session behind a cookie, ending it if it has timed out.
    pub async fn session(&self, cookie: &str) -> Result<Option<StaffSession>, StoreError> {
        let hash = Secret::presented(cookie).hash();
        let Some(session) = self.store.session(&hash).await? else {
            return Ok(None);
        };
        let now = self.clock.now();
        let idle = now - session.last_seen_at > self.settings.idle_timeout();
        let too_old = now - session.created_at > self.settings.absolute_timeout();
        if idle || too_old {
            self.store.end_session(&hash, now).await?;
            return Ok(None);
        }
        if now - session.last_seen_at >= TOUCH_EVERY {
            self.store.touch_session(&hash, now).await?;
        }
        Ok(Some(session))
    }

    /// Sign out this browser, or, with `everywhere`, every session of the user.
    pub async fn sign_out(
        &self,
        cookie: &str,
        session: &StaffSession,
        everywhere: bool,
    ) -> Result<(), StoreError> {
        let now = self.clock.now();
        let user = &session.user;
        if everywhere {
            self.store.end_sessions_of(user.id, now).await?;
        } else {
            self.store
                .end_session(&Secret::presented(cookie).hash(), now)
                .await?;
        }
        let (actor, target) = (Actor::User { user_id: user.id }, AuditTarget::user(user.id));
        self.audit
            .record_as(actor, user.org_id, AuditAction::SignedOut, target, None)
            .await?;
        Ok(())
    }

    /// One of the organisation's accounts.
    pub async fn user(&self, org: OrgId, id: UserId) -> Result<Option<User>, StoreError> {
        self.store.user(org, id).await
    }

    /// The organisation's accounts, oldest first.
    pub async fn users(&self, org: OrgId) -> Result<Vec<User>, StoreError> {
        self.store.users(org).await
    }

    /// Disable an account in `org`: its sessions end at once. `None` if
    /// there is no such account, `Some(false)` if it was disabled already.
    pub async fn disable(
        &self,
        org: OrgId,
        id: UserId,
        by: Actor,
    ) -> Result<Option<bool>, StoreError> {
        let done = self.store.disable_user(org, id, self.clock.now()).await?;
        if done == Some(true) {
            let target = AuditTarget::user(id);
            self.audit
                .record_as(by, org, AuditAction::Disabled, target, None)
                .await?;
        }
        Ok(done)
    }

    async fn open_session(&self, user: User, now: DateTime<Utc>) -> Result<SignedIn, StoreError> {
        let secret = Secret::generate();
        let csrf_token = Secret::generate().expose().to_owned();
        self.store
            .create_session(&secret.hash(), user.id, &csrf_token, now)
            .await?;
        let session = StaffSession {
            user,
            csrf_token,
            created_at: now,
            last_seen_at: now,
        };
        Ok(SignedIn { secret, session })
    }

    /// Keyed hashes of the email as typed (folded) and of the address.
    fn throttle_keys(&self, email: &str, address: &str) -> [String; 2] {
        let email = email.trim().to_lowercase();
        let key = |what: &str| self.vault.index_raw(what).as_str().to_owned();
        [
            key(&format!("sign-in email:{email}")),
            key(&format!("sign-in address:{address}")),
        ]
    }

    async fn check_throttle(
        &self,
        keys: &[String; 2],
        now: DateTime<Utc>,
    ) -> Result<(), SignInError> {
        let since = now - self.settings.lockout();
        let max = self.settings.max_failed_sign_ins.get();
        for key in keys {
            if self.store.sign_in_failures(key, since).await? >= max {
                let minutes = self.settings.lockout().num_minutes();
                return Err(SignInError::Throttled { minutes });
            }
        }
        Ok(())
    }

    async fn note_failure(&self, keys: &[String; 2], now: DateTime<Utc>) -> Result<(), StoreError> {
        let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
        let forget = now - self.settings.lockout();
        self.store.note_sign_in_failure(&keys, now, forget).await
    }
}
