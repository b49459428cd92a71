//! End-to-end tests: the real app over HTTP, on a random port with a fresh
//! SQLite file per test.

mod auth;
mod dispatch;
mod events;
mod health;
mod helpers;
mod imports;
mod inbound_providers;
mod logs;
mod optout;
mod people;
mod planning;
mod shutdown;
