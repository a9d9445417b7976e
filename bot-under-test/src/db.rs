//! The bot's database: every message is stored, and `/stats` counts a user's messages.
//!
//! Embedded SQLite (a file, in WAL mode) by default, PostgreSQL when configured; a connection pool either way.
//! The SQL is the same text for both (`$1` placeholders work in SQLite too), so the two arms differ only in the
//! pool they run on. There are no migrations beyond `CREATE TABLE IF NOT EXISTS`: the schema is one table.

use std::path::PathBuf;
use std::time::Duration;

use sqlx::postgres::{PgPool, PgPoolOptions};
use sqlx::sqlite::{SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous};

use crate::Error;

/// Which database to use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// An SQLite file, created if missing.
    Sqlite { path: PathBuf },
    /// A PostgreSQL server, by its `postgres://` URL.
    Postgres { url: String },
}

/// One stored message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct StoredMessage<'a> {
    pub(crate) user_id: i64,
    pub(crate) chat_id: i64,
    pub(crate) text: &'a str,
    /// Unix seconds, as Telegram sends them.
    pub(crate) date: i64,
}

const SCHEMA: [&str; 2] = [
    "CREATE TABLE IF NOT EXISTS messages (
        user_id BIGINT NOT NULL,
        chat_id BIGINT NOT NULL,
        text TEXT NOT NULL,
        date BIGINT NOT NULL
    )",
    "CREATE INDEX IF NOT EXISTS messages_by_user ON messages (user_id)",
];
const INSERT: &str = "INSERT INTO messages (user_id, chat_id, text, date) VALUES ($1, $2, $3, $4)";
const COUNT_BY_USER: &str = "SELECT COUNT(*) FROM messages WHERE user_id = $1";

/// How many connections the pool keeps at most. SQLite serializes writers anyway; the pool bounds readers.
const MAX_CONNECTIONS: u32 = 8;

/// A connection pool to either database.
#[derive(Debug, Clone)]
pub(crate) enum Db {
    Sqlite(SqlitePool),
    Postgres(PgPool),
}

impl Db {
    /// Connects, creating the file (SQLite) and the schema if needed.
    pub(crate) async fn open(database: &Database) -> Result<Self, Error> {
        let target = match database {
            Database::Sqlite { path } => path.display().to_string(),
            Database::Postgres { .. } => "postgres".to_owned(),
        };
        let db =
            Self::connect(database).await.map_err(|source| Error::DatabaseOpen { target: target.clone(), source })?;
        for statement in SCHEMA {
            db.execute_plain(statement)
                .await
                .map_err(|source| Error::DatabaseOpen { target: target.clone(), source })?;
        }
        tracing::info!(database = %target, "database ready");
        Ok(db)
    }

    async fn connect(database: &Database) -> Result<Self, sqlx::Error> {
        match database {
            Database::Sqlite { path } => {
                let options = SqliteConnectOptions::new()
                    .filename(path)
                    .create_if_missing(true)
                    .journal_mode(SqliteJournalMode::Wal)
                    .synchronous(SqliteSynchronous::Normal)
                    .busy_timeout(Duration::from_secs(5));
                let pool = SqlitePoolOptions::new().max_connections(MAX_CONNECTIONS).connect_with(options).await?;
                Ok(Self::Sqlite(pool))
            }
            Database::Postgres { url } => {
                let pool = PgPoolOptions::new().max_connections(MAX_CONNECTIONS).connect(url).await?;
                Ok(Self::Postgres(pool))
            }
        }
    }

    pub(crate) async fn store(&self, message: &StoredMessage<'_>) -> Result<(), Error> {
        match self {
            Self::Sqlite(pool) => {
                let query = sqlx::query(INSERT)
                    .bind(message.user_id)
                    .bind(message.chat_id)
                    .bind(message.text)
                    .bind(message.date);
                query.execute(pool).await?;
            }
            Self::Postgres(pool) => {
                let query = sqlx::query(INSERT)
                    .bind(message.user_id)
                    .bind(message.chat_id)
                    .bind(message.text)
                    .bind(message.date);
                query.execute(pool).await?;
            }
        }
        Ok(())
    }

    /// How many messages `user_id` has sent, in all chats.
    pub(crate) async fn count_by_user(&self, user_id: i64) -> Result<i64, Error> {
        let count = match self {
            Self::Sqlite(pool) => sqlx::query_scalar(COUNT_BY_USER).bind(user_id).fetch_one(pool).await?,
            Self::Postgres(pool) => sqlx::query_scalar(COUNT_BY_USER).bind(user_id).fetch_one(pool).await?,
        };
        Ok(count)
    }

    pub(crate) async fn close(&self) {
        match self {
            Self::Sqlite(pool) => pool.close().await,
            Self::Postgres(pool) => pool.close().await,
        }
    }

    async fn execute_plain(&self, statement: &str) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(pool) => sqlx::query(statement).execute(pool).await.map(drop),
            Self::Postgres(pool) => sqlx::query(statement).execute(pool).await.map(drop),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Stores messages for three users (ids from `base`) and checks the per-user counts.
    async fn check(db: &Db, base: i64) {
        let message = |user_id, chat_id| StoredMessage { user_id, chat_id, text: "hi", date: 1_700_000_000 };
        for (user, chat) in [(base, base), (base, -5), (base + 1, base + 1), (base, base)] {
            db.store(&message(user, chat)).await.unwrap();
        }
        assert_eq!(db.count_by_user(base).await.unwrap(), 3);
        assert_eq!(db.count_by_user(base + 1).await.unwrap(), 1);
        assert_eq!(db.count_by_user(base + 2).await.unwrap(), 0);
    }

    #[tokio::test]
    async fn sqlite_counts_messages_per_user_across_chats() {
        let path = std::env::temp_dir().join(format!("bot-under-test-db-{}.sqlite", std::process::id()));
        let db = Db::open(&Database::Sqlite { path: path.clone() }).await.unwrap();
        check(&db, 1).await;
        db.close().await;

        // The file persists: reopening sees the same rows.
        let reopened = Db::open(&Database::Sqlite { path: path.clone() }).await.unwrap();
        assert_eq!(reopened.count_by_user(1).await.unwrap(), 3);
        reopened.close().await;
        for suffix in ["", "-wal", "-shm"] {
            let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
        }
    }

    /// Runs only when `TGLOAD_TEST_POSTGRES_URL` names a server (CI sets it); the table is shared, so the user
    /// ids are fresh per run.
    #[tokio::test]
    async fn postgres_counts_messages_per_user_across_chats() {
        let Ok(url) = std::env::var("TGLOAD_TEST_POSTGRES_URL") else {
            eprintln!("TGLOAD_TEST_POSTGRES_URL is not set; skipping the PostgreSQL test");
            return;
        };
        let db = Db::open(&Database::Postgres { url }).await.unwrap();
        let nanos = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos();
        check(&db, (nanos % 1_000_000_000_000) as i64 * 4).await;
        db.close().await;
    }
}
