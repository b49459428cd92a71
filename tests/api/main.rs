//! End-to-end tests: the real app over HTTP, on a random port with a fresh
//! SQLite file per test.

mod helpers;
mod auth;
mod events;
mod health;
mod imports;
mod people;
mod shutdown;
