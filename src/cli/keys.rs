//! `homeward keys`: the keys that seal personal data at rest.
//!
//! Rotation adds a key, makes it the active one, and re-seals every stored
//! value under it. Running daemons notice the new key file within seconds
//! (and at once when they meet a value sealed under a key they lack); the
//! old key stays in the file until `keys retire` finds nothing sealed under
//! it, so a daemon that has not yet noticed can still be read.

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Subcommand;

use crate::config::Settings;
use crate::startup;
use crate::store::Reseal;
use crate::vault::{KeyId, Vault};

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Add a new key, make it active, and re-seal every stored value under it.
    Rotate,
    /// Show the keys and how many stored values each one sealed.
    Status,
    /// Remove keys that no stored value uses any more (never the active one).
    Retire,
}

pub async fn keys(settings: &Settings, cmd: KeysCommand) -> anyhow::Result<ExitCode> {
    let (store, vault) = startup::open_store_and_vault(&settings.database).await?;
    match cmd {
        KeysCommand::Status => {
            let usage = store.key_usage().await?;
            let active = vault.active_key();
            println!("keys in {}:", vault.source());
            for id in vault.keyring().key_ids() {
                let marker = if *id == active { " (active)" } else { "" };
                let n = usage.get(id.as_str()).copied().unwrap_or(0);
                println!("  {id}{marker}: {n} values");
            }
            if let Some(clear) = usage.get("clear") {
                println!("  not sealed: {clear} values");
            }
        }
        KeysCommand::Rotate => {
            let path = writable(&vault)?;
            let mut keyring = vault.keyring().clone();
            let id = keyring.add_key();
            keyring
                .write(&path)
                .with_context(|| format!("Failed to write {}", path.display()))?;
            vault.replace(keyring);
            // A daemon may seal a few more values under the old key before it
            // notices the new one; further passes pick them up.
            let mut total = 0;
            for _ in 0..3 {
                let n = store.reseal(Reseal::NotActive).await?;
                total += n;
                if n == 0 {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_secs(1)).await;
            }
            println!("New active key {id}; {total} stored values re-sealed under it.");
            println!(
                "Old keys stay in {} until `homeward keys retire`.",
                path.display()
            );
        }
        KeysCommand::Retire => {
            let path = writable(&vault)?;
            let usage = store.key_usage().await?;
            let mut keyring = vault.keyring().clone();
            let unused: Vec<KeyId> = keyring
                .key_ids()
                .filter(|id| *id != keyring.active() && !usage.contains_key(id.as_str()))
                .cloned()
                .collect();
            for id in &unused {
                keyring.remove_key(id);
            }
            keyring.write(&path)?;
            println!("Retired {} unused keys.", unused.len());
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn writable(vault: &Vault) -> anyhow::Result<std::path::PathBuf> {
    match vault.path() {
        Some(path) => Ok(path.clone()),
        None => bail!(
            "The keys come from {}, not a file: rotate them where they are kept \
             (add a key under [keys], make it `active`, then run `homeward keys rotate` \
             with database.key_file pointing at a copy)",
            vault.source()
        ),
    }
}
