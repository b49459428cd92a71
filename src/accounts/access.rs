//! Who may do what: a staff account's role, and an organisation's API
//! tokens (a secret shown once when made, refused from the request after it
//! is revoked). For admins, from the pages and the API alike.

use super::Accounts;
use crate::domain::{
    Actor, ApiToken, AuditAction, AuditTarget, OrgId, Role, TokenId, TokenSecret, UserId,
};
use crate::store::{NewToken, StoreError};

/// The longest label a token may have.
pub const MAX_TOKEN_LABEL: usize = 100;

impl Accounts {
    /// Give an account a new role; its sessions end, so the new rights
    /// apply from its next sign-in. `None` if `org` has no such account,
    /// `Some(false)` if it had that role already.
    pub async fn set_role(
        &self,
        org: OrgId,
        id: UserId,
        role: Role,
        by: Actor,
    ) -> Result<Option<bool>, StoreError> {
        let now = self.clock.now();
        let changed = self.store.set_user_role(org, id, role, now).await?;
        if changed == Some(true) {
            let target = AuditTarget::user(id);
            let note = Some(format!("role {role}"));
            self.audit
                .record_as(by, org, AuditAction::Updated, target, note)
                .await?;
        }
        Ok(changed)
    }

    /// The organisation's API tokens, oldest first (never a secret).
    pub async fn tokens(&self, org: OrgId) -> Result<Vec<ApiToken>, StoreError> {
        self.store.tokens(org).await
    }

    /// A new API token: its id, and its secret, which is not kept and so
    /// can be shown only this once.
    pub async fn create_token(
        &self,
        org: OrgId,
        role: Role,
        label: Option<String>,
        by: Actor,
    ) -> Result<(TokenId, TokenSecret), StoreError> {
        let secret = TokenSecret::generate();
        let token = NewToken {
            org_id: org,
            hash: secret.hash(),
            role,
            label,
        };
        let id = self.store.create_token(&token, self.clock.now()).await?;
        let target = AuditTarget::token(id);
        let note = Some(format!("role {role}"));
        self.audit
            .record_as(by, org, AuditAction::Created, target, note)
            .await?;
        Ok((id, secret))
    }

    /// Revoke a token: `None` if `org` has no such token, `Some(false)` if
    /// it was revoked already.
    pub async fn revoke_token(
        &self,
        org: OrgId,
        id: TokenId,
        by: Actor,
    ) -> Result<Option<bool>, StoreError> {
        let revoked = self.store.revoke_token(org, id, self.clock.now()).await?;
        if revoked == Some(true) {
            let target = AuditTarget::token(id);
            self.audit
                .record_as(by, org, AuditAction::Revoked, target, None)
                .await?;
        }
        Ok(revoked)
    }
}
