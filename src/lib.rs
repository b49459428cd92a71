//! Homeward sends short, plain text reminders to people leaving prison: a
//! nudge to register with a doctor on liberation day, the NHS inform number,
//! appointment reminders.
//!
//! How it fits together. Each line imports only from lines below it, never
//! from above (a grep for `crate::` in each module shows it):
//!
//! ```text
//! cli          edge: the `homeward` subcommands; starts the daemon or runs one use case
//! startup      composition root: the only place naming concrete types; owns shutdown
//! http         edge: REST API, staff pages, provider webhooks, health, metrics, OpenAPI
//! actions      use case: what staff change (replies, resolving), with its audit entry
//! casework     use case: what staff read: today, finding a person, their story
//! accounts     use case: staff accounts, first-run setup, sign-in, sessions
//! jobs         work on a clock: the re-plan sweep, interrupted imports, silent numbers, retention
//! ingest       use case: people, events and CSV imports (with the import journal)
//! optout       use case: replies read (STOP, START, HELP, who-is-this) and acted on
//! dispatch     use case: claim due texts, check, rate-limit, send, record, retry, fail over
//! privacy      use case: retention, subject access export, erasure
//! planner      campaign rules × events → texts; caps and sending hours (also used
//!              by dispatch for send-time checks and by optout for replies)
//! audit        the audit trail: who changed what (ids and counts only)
//! providers    SMS providers behind one trait: log, webhook, Twilio, Vonage, Notify
//! templates    SMS texts: rendering, encoding, segments, plain-language and disclosure checks
//! store        persistence behind a trait: SQLite and PostgreSQL, one conformance suite
//! vault        sealing personal data at rest; keyed hashes for look-ups
//! telemetry    logs (numbers masked) and Prometheus metrics
//! config       settings, layered, read once and checked at start-up
//! csv_safe     CSV output a spreadsheet cannot run as formulas
//! clock        injected time, so tests move it instead of sleeping
//! domain       value types valid by construction and the message life cycle; no I/O
//! ```

pub mod accounts;
pub mod actions;
pub mod audit;
pub mod casework;
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
