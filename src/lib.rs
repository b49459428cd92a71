//! Homeward sends short, plain text reminders to people leaving prison: a
//! nudge to register with a doctor on liberation day, the NHS inform number,
//! appointment reminders.
//!
//! How it fits together (imports point down only):
//!
//! ```text
//! cli, http            edges: parse input, call the use cases, format output
//! startup              composition root: builds concrete types, owns shutdown
//! ingest, audit        use cases: people, events, CSV imports; the audit trail
//! store, clock         persistence behind a trait; injected time
//! templates            SMS texts: rendering, encoding, plain-language checks
//! config, telemetry    settings; logs and metrics
//! csv_safe             CSV output a spreadsheet cannot run as formulas
//! domain               value types valid by construction; no I/O
//! ```

pub mod audit;
pub mod cli;
pub mod clock;
pub mod config;
pub mod csv_safe;
pub mod dispatch;
pub mod domain;
pub mod http;
pub mod ingest;
pub mod jobs;
pub mod optout;
pub mod planner;
pub mod privacy;
pub mod providers;
pub mod startup;
pub mod store;
pub mod telemetry;
pub mod templates;
pub mod vault;
