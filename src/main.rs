//! `homeward`: parse the command line and hand over to [`homeward::cli`].

use std::process::ExitCode;

use clap::Parser;
use homeward::cli::{self, Cli};

#[tokio::main]
async fn main() -> ExitCode {
    match cli::run(Cli::parse()).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
