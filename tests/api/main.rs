//! End-to-end tests: the real app over HTTP, on a random port with a fresh
//! SQLite file per test.

mod auth;
mod dispatch;
mod events;
mod health;
mod helpers;
mod imports;
mod logs;
mod optout;
mod people;
mod planning;
mod shutdown;
mod inbound_providers;
