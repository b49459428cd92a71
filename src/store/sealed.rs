//! Which columns hold sealed values, and how both stores walk them.
//!
//! Re-sealing (after a rotation, or once for values written before a
//! column was sealed) walks each table in key order, a batch at a time, so
//! the key of every table with a sealed column is named here with its type.
//!
//! Words typed by staff ([`Field::Note`]) are read leniently: a value in
//! clear is one written before notes were sealed, and is shown as it is
//! until start-up (or `homeward keys rotate`) seals it.

use crate::vault::{Field, Vault};

use super::StoreError;

/// The column a re-sealing pass walks a table by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum RowKey {
    Text(&'static str),
    Integer(&'static str),
}

impl RowKey {
    pub(crate) fn column(self) -> &'static str {
        match self {
            RowKey::Text(c) | RowKey::Integer(c) => c,
        }
    }

    /// A value below every key of the table.
    pub(crate) fn start(self) -> KeyValue {
        match self {
            RowKey::Text(_) => KeyValue::Text(String::new()),
            RowKey::Integer(_) => KeyValue::Integer(i64::MIN),
        }
    }

    /// The key of a row read as `row_key`.
    pub(crate) fn read<R>(self, row: &R) -> Result<KeyValue, StoreError>
    where
        R: sqlx::Row,
        for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'r> i64: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
        for<'a> &'a str: sqlx::ColumnIndex<R>,
    {
        Ok(match self {
            RowKey::Text(_) => KeyValue::Text(row.try_get("row_key")?),
            RowKey::Integer(_) => KeyValue::Integer(row.try_get("row_key")?),
        })
    }
}

/// One row's key, to bind as a query parameter.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum KeyValue {
    Text(String),
    Integer(i64),
}

/// A column that holds sealed personal data.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SealedColumn {
    pub table: &'static str,
    pub key: RowKey,
    pub column: &'static str,
    pub field: Field,
    /// The column holding the keyed hash of the value, if any.
    pub hash: Option<&'static str>,
}

const fn sealed(
    table: &'static str,
    key: RowKey,
    column: &'static str,
    field: Field,
    hash: Option<&'static str>,
) -> SealedColumn {
    SealedColumn {
        table,
        key,
        column,
        field,
        hash,
    }
}

/// Every column that holds sealed values. A nullable one (a note not yet
/// written) is skipped where it is NULL.
pub(crate) const SEALED_COLUMNS: &[SealedColumn] = {
    use RowKey::{Integer, Text};
    &[
        sealed("people", Text("id"), "first_name", Field::FirstName, None),
        sealed(
            "people",
            Text("id"),
            "mobile",
            Field::Mobile,
            Some("mobile_hash"),
        ),
        sealed("messages", Text("id"), "body", Field::Body, None),
        sealed(
            "messages",
            Text("id"),
            "mobile",
            Field::Mobile,
            Some("mobile_hash"),
        ),
        sealed(
            "inbound_messages",
            Text("id"),
            "from_number",
            Field::Mobile,
            Some("from_hash"),
        ),
        sealed("inbound_messages", Text("id"), "body", Field::Body, None),
        sealed(
            "suppressions",
            Text("mobile_hash"),
            "reason",
            Field::Note,
            None,
        ),
        sealed(
            "suppression_log",
            Integer("id"),
            "reason",
            Field::Note,
            None,
        ),
        sealed("attention", Text("id"), "resolution", Field::Note, None),
        // Its keyed hash (email_hash) is not re-derived: the index key never changes.
        sealed("users", Text("id"), "email", Field::Email, None),
        sealed(
            "message_transitions",
            Integer("id"),
            "note",
            Field::Note,
            None,
        ),
    ]
};

/// Staff's words as stored in `table.column`: opened if sealed, as they
/// are if written in clear before notes were sealed.
pub(crate) fn note_from(
    vault: &Vault,
    stored: &str,
    table: &str,
    column: &str,
) -> Result<String, StoreError> {
    super::privacy::clear_value(vault, Field::Note, stored, table, column)
}

/// The migrations that began sealing columns. Values stored before one of
/// them was applied may be in clear, so start-up seals them once after it.
pub(crate) const SEALING_MIGRATIONS: &[i64] = &[
    20261122000005, // numbers, names, texts and replies
    20261205000009, // words typed by staff
];

/// One change to the suppression list, as its log keeps it.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SuppressionChange<'a> {
    pub action: &'static str,
    pub source: &'a str,
    /// Sealed before it is stored: staff may have typed it.
    pub reason: &'a str,
    pub actor: Option<&'a str>,
}

/// The clear reason of a transition whose own reason is sealed beside it
/// (`message_transitions.note`): a cancellation, whose reason staff type.
pub(crate) const SEALED_REASON: &str = "cancelled";

/// A transition's reason: the sealed one where there is one.
pub(crate) fn transition_reason<R>(row: &R, vault: &Vault) -> Result<String, StoreError>
where
    R: sqlx::Row,
    for<'r> String: sqlx::Decode<'r, R::Database> + sqlx::Type<R::Database>,
    for<'a> &'a str: sqlx::ColumnIndex<R>,
{
    let note: Option<String> = row.try_get("note")?;
    match note {
        Some(note) => note_from(vault, &note, "message_transitions", "note"),
        None => Ok(row.try_get("reason")?),
    }
}
