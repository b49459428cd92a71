//! End-to-end tests: the real app over HTTP, on a random port with a fresh
//! SQLite file per test.

mod audit;
mod auth;
#[path = "../support/daemon.rs"]
#[allow(dead_code)] // the API tests start the daemon but import no release file
mod daemon;
mod delivery_reports;
mod dispatch;
mod events;
mod hardening;
mod health;
mod helpers;
mod imports;
mod inbound_providers;
mod input;
mod isolation;
mod json_errors;
mod logs;
mod openapi;
mod optout;
mod people;
mod planning;
mod privacy;
mod replies;
mod shutdown;
mod tokens;
