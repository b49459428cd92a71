//! `homeward user`: the operator creates staff accounts for the web pages.
//! Each new account gets a one-time link (24 hours) to choose its password;
//! the link is printed once and only its hash is kept.

use std::process::ExitCode;
use std::sync::Arc;

use clap::Subcommand;

use super::find_org;
use super::token::parse_role;
use crate::accounts::{AccountError, Accounts};
use crate::clock::SystemClock;
use crate::config::Settings;
use crate::domain::{Actor, Email, Role};
use crate::startup;

#[derive(Debug, Subcommand)]
pub enum UserCommand {
    /// Create a staff account and print a one-time link to set its password.
    Create {
        #[arg(long)]
        org: String,
        #[arg(long)]
        email: String,
        /// `staff` (people, events, texts) or `admin` (also accounts,
        /// erasure, opt-out removal and the audit trail).
        #[arg(long, default_value = "staff", value_parser = parse_role)]
        role: Role,
    },
    /// Disable an account: its sessions end at once and it cannot sign in.
    Disable {
        #[arg(long)]
        email: String,
    },
}

pub async fn user(settings: &Settings, cmd: UserCommand) -> anyhow::Result<ExitCode> {
    let (store, vault) = startup::open_store_and_vault(&settings.database).await?;
    let accounts = Accounts::new(
        store.clone(),
        Arc::new(SystemClock),
        vault,
        settings.staff.clone(),
    );
    match cmd {
        UserCommand::Create { org, email, role } => {
            let org = find_org(store.as_ref(), &org).await?;
            let (user, secret) = match accounts.invite(org.id, &email, role, Actor::Cli).await {
                Ok(created) => created,
                Err(AccountError::Store(e)) => return Err(e.into()),
                Err(e) => anyhow::bail!("--email: {e}"),
            };
            let base = startup::base_url(&settings.server);
            println!(
                "Created {} account {} in {}.",
                role.as_str(),
                user.id,
                org.name
            );
            println!(
                "Send its owner this link to choose a password (it works once, for 24 hours):"
            );
            println!("\n    {base}/set-password?token={}\n", secret.expose());
            Ok(ExitCode::SUCCESS)
        }
        UserCommand::Disable { email } => {
            let parsed = Email::parse(&email).map_err(|e| anyhow::anyhow!("--email: {e}"))?;
            let Some(user) = store.user_by_email(&parsed).await? else {
                anyhow::bail!("--email: no account has this address");
            };
            match accounts.disable(user.org_id, user.id, Actor::Cli).await? {
                Some(true) => println!("Disabled account {}; its sessions have ended.", user.id),
                _ => println!("Account {} was already disabled.", user.id),
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}
