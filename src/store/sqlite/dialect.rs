//! What SQLite does differently, for the bodies both backends share (see
//! the `store` module header). The PostgreSQL module of the same name has
//! the same functions.

use chrono::{DateTime, Utc};

/// An instant as it reads back: SQLite keeps chrono's nanoseconds.
pub(super) fn stored(at: DateTime<Utc>) -> DateTime<Utc> {
    at
}

#[cfg(test)]
mod tests {
    use sqlx::sqlite::SqlitePoolOptions;

    /// The shared bodies write PostgreSQL's `$N` placeholders. SQLite reads
    /// `$2` as a parameter named "$2"; sqlx's SQLite driver binds such a
    /// name to the Nth argument, whatever order the names appear in and
    /// however often, exactly as PostgreSQL does.
    #[tokio::test]
    async fn numbered_placeholders_bind_the_numbered_argument_on_sqlite() {
        let pool = SqlitePoolOptions::new()
            .connect("sqlite::memory:")
            .await
            .unwrap();
        let joined: String = sqlx::query_scalar("SELECT $2 || $1 || $2 || $3")
            .bind("a")
            .bind("b")
            .bind("c")
            .fetch_one(&pool)
            .await
            .unwrap();
        assert_eq!(joined, "babc");
    }
}
