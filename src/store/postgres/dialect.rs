//! What PostgreSQL does differently, for the bodies both backends share
//! (see the `store` module header). The SQLite module of the same name has
//! the same functions.

pub(super) use super::messages::record_many;
pub(super) use super::rows::stored;

use sqlx::{Postgres, QueryBuilder};

/// Rows read to be changed are locked, so a concurrent change waits and is
/// then seen rather than overwritten (see the module header).
pub(super) fn lock_for_update() -> &'static str {
    " FOR NO KEY UPDATE"
}

/// How many values one [`push_in`] list may hold: all of them, as one
/// bound array.
pub(super) const IN_LIST_MAX: usize = usize::MAX;

/// ` = ANY($n::text[])`: whether the column before it is one of `values`,
/// bound as one array. This is the form the inbound bodies have always
/// used; for a batch's keys against a table that may lack statistics, see
/// the module header on `IN (SELECT unnest(..))`.
pub(super) fn push_in<'a>(q: &mut QueryBuilder<'a, Postgres>, values: &[&'a str]) {
    q.push(" = ANY(")
        .push_bind(values.to_vec())
        .push("::text[])");
}
