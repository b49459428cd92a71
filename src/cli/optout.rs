//! `homeward optout`: the operator's view of the suppression list, across
//! every organisation. An addition or removal is recorded in the audit trail
//! of each organisation with a person on that number.

use std::process::ExitCode;
use std::sync::Arc;

use anyhow::anyhow;
use clap::Subcommand;

use crate::audit::AuditLog;
use crate::clock::{Clock, SystemClock};
use crate::config::Settings;
use crate::csv_safe;
use crate::domain::{Actor, AuditAction, AuditTarget, PhoneNumber};
use crate::startup;
use crate::store::Store;

#[derive(Debug, Subcommand)]
pub enum OptOutCommand {
    /// Stop every text to a number.
    Add {
        mobile: String,
        #[arg(long)]
        reason: String,
    },
    /// Let texts go to a number again (kept in the audit trail with the reason).
    Remove {
        mobile: String,
        #[arg(long)]
        reason: String,
    },
    /// List the suppression list: each number's keyed hash (numbers themselves are not kept), since when, source and reason.
    List,
    /// Print the suppression list as CSV (mobile_hash, since, source, reason): keyed hashes, not numbers, which are not kept.
    Export,
}

pub async fn optout(settings: &Settings, cmd: OptOutCommand) -> anyhow::Result<ExitCode> {
    let store = startup::open_store(&settings.database).await?;
    let now = SystemClock.now();
    match cmd {
        OptOutCommand::Add { mobile, reason } => {
            let mobile = number(&mobile)?;
            store
                .suppress(&mobile, "operator", required(&reason)?, now)
                .await?;
            record(&store, &mobile, AuditAction::Created).await?;
            println!("{mobile} will not be texted.");
        }
        OptOutCommand::Remove { mobile, reason } => {
            let mobile = number(&mobile)?;
            if store
                .unsuppress(&mobile, "operator", required(&reason)?, Some("cli"), now)
                .await?
            {
                store.revive_suppressed(&mobile, now).await?;
                record(&store, &mobile, AuditAction::Deleted).await?;
                println!("{mobile} may be texted again.");
            } else {
                println!("{mobile} was not opted out.");
                return Ok(ExitCode::from(1));
            }
        }
        OptOutCommand::List => {
            for s in store.suppressions(None).await? {
                println!(
                    "{}\t{}\t{}\t{}",
                    s.mobile_hash.as_str(),
                    s.since.format("%Y-%m-%d"),
                    s.source,
                    s.reason
                );
            }
        }
        OptOutCommand::Export => {
            let mut out = csv_safe::Writer::from_writer(std::io::stdout());
            out.write_record(["mobile_hash", "since", "source", "reason"])?;
            for s in store.suppressions(None).await? {
                out.write_record([
                    s.mobile_hash.as_str(),
                    &s.since.to_rfc3339(),
                    &s.source,
                    &s.reason,
                ])?;
            }
            out.flush()?;
        }
    }
    Ok(ExitCode::SUCCESS)
}

async fn record(
    store: &Arc<dyn Store>,
    mobile: &PhoneNumber,
    action: AuditAction,
) -> anyhow::Result<()> {
    let audit = AuditLog::new(store.clone(), Arc::new(SystemClock));
    for person in store.people_by_mobile(mobile).await? {
        let target = AuditTarget::opt_out(person.id);
        audit
            .record_as(Actor::Cli, person.org_id, action, target, None)
            .await?;
    }
    Ok(())
}

fn number(mobile: &str) -> anyhow::Result<PhoneNumber> {
    PhoneNumber::parse(mobile).map_err(|e| anyhow!("the number {e}"))
}

fn required(reason: &str) -> anyhow::Result<&str> {
    let reason = reason.trim();
    if reason.is_empty() {
        return Err(anyhow!("--reason must say why"));
    }
    Ok(reason)
}
