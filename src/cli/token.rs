//! `homeward token`: the operator makes, lists and revokes API tokens.
//! Each change is recorded in the organisation's audit trail as done by
//! `cli`.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use clap::Subcommand;

use super::find_org;
use crate::audit::AuditLog;
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::domain::{Actor, AuditAction, AuditTarget, Role, TokenId, TokenSecret};
use crate::startup;
use crate::store::{NewToken, Store};

#[derive(Debug, Subcommand)]
pub enum TokenCommand {
    /// Create an API token and print it once; only its hash is kept.
    Create {
        #[arg(long)]
        org: String,
        /// `staff` (people, events, texts) or `admin` (also erasure,
        /// opt-out removal, the audit trail and tokens).
        #[arg(long, default_value = "staff", value_parser = parse_role)]
        role: Role,
        /// A note saying who or what uses the token.
        #[arg(long)]
        label: Option<String>,
    },
    /// List an organisation's tokens (never their secrets).
    List {
        #[arg(long)]
        org: String,
    },
    /// Revoke a token: it is refused from its next request on.
    Revoke {
        /// The token's id, as `token list` shows it.
        id: String,
    },
}

pub(super) fn parse_role(value: &str) -> Result<Role, String> {
    value.parse().map_err(|e| format!("role {e}"))
}

pub async fn token(settings: &Settings, cmd: TokenCommand) -> anyhow::Result<ExitCode> {
    let store = startup::open_store(&settings.database).await?;
    let audit = AuditLog::new(store.clone(), Arc::new(SystemClock));
    match cmd {
        TokenCommand::Create { org, role, label } => {
            create(store.as_ref(), &audit, &org, role, label).await
        }
        TokenCommand::List { org } => list(store.as_ref(), &org).await,
        TokenCommand::Revoke { id } => revoke(store.as_ref(), &audit, &id).await,
    }
}

async fn create(
    store: &dyn Store,
    audit: &AuditLog,
    org: &str,
    role: Role,
    label: Option<String>,
) -> anyhow::Result<ExitCode> {
    let org = find_org(store, org).await?;
    let secret = TokenSecret::generate();
    let token = NewToken {
        org_id: org.id,
        hash: secret.hash(),
        role,
        label,
    };
    let id = store.create_token(&token, audit.now()).await?;
    let target = AuditTarget::token(id);
    let note = Some(format!("role {role}"));
    audit
        .record_as(Actor::Cli, org.id, AuditAction::Created, target, note)
        .await?;
    eprintln!(
        "New {role} token {id} for {}. It is shown only this once: keep it safe.",
        org.name
    );
    println!("{}", secret.expose());
    Ok(ExitCode::SUCCESS)
}

async fn list(store: &dyn Store, org: &str) -> anyhow::Result<ExitCode> {
    let org = find_org(store, org).await?;
    println!("id\trole\tcreated\tlast used\trevoked\tlabel");
    for t in store.tokens(org.id).await? {
        println!(
            "{}\t{}\t{}\t{}\t{}\t{}",
            t.id,
            t.role,
            day(Some(t.created_at)),
            day(t.last_used_at),
            day(t.revoked_at),
            t.label.as_deref().unwrap_or("")
        );
    }
    Ok(ExitCode::SUCCESS)
}

fn day(at: Option<DateTime<Utc>>) -> String {
    at.map_or_else(
        || "-".to_owned(),
        |at| at.format("%Y-%m-%d %H:%M").to_string(),
    )
}

async fn revoke(store: &dyn Store, audit: &AuditLog, id: &str) -> anyhow::Result<ExitCode> {
    let id: TokenId = id
        .parse()
        .with_context(|| format!("{id:?} is not a token id; see `homeward token list`"))?;
    let Some(token) = store.token(id).await? else {
        bail!("no token {id}");
    };
    match store.revoke_token(token.org_id, id, audit.now()).await? {
        Some(true) => {
            let target = AuditTarget::token(id);
            audit
                .record_as(Actor::Cli, token.org_id, AuditAction::Revoked, target, None)
                .await?;
            println!("Token {id} is revoked.");
        }
        Some(false) => println!("Token {id} was revoked already."),
        None => bail!("no token {id}"),
    }
    Ok(ExitCode::SUCCESS)
}
