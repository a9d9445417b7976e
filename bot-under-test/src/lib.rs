//! tgload's bot under test: a real teloxide bot with realistic handlers and switchable faults.
//!
//! [`run`] takes a typed [`Config`] and a shutdown future and runs the bot until either fires (or the
//! exit-after fault does). The bot knows nothing of the mock Telegram server but its base URL and token.
//! [`external_api`] is the axum server standing in for the HTTP API the bot calls; it is library code for
//! the harness and the tests, not part of the running bot.

pub mod cache;
pub mod cli;
pub mod db;
mod dispatch;
pub mod external_api;
pub mod faults;
mod handlers;
mod png;
pub mod quotes;

use std::future::Future;
use std::sync::Arc;

use url::Url;

pub use crate::cache::CacheStats;
pub use crate::db::Database;
pub use crate::faults::{FaultConfig, Stall};

/// Everything the bot needs, validated. Built by [`cli::Args::into_config`] or directly by tests.
#[derive(Debug)]
pub struct Config {
    pub token: String,
    /// The Bot API server's base URL, e.g. `http://127.0.0.1:8081`.
    pub api_url: Url,
    pub updates: Updates,
    pub database: Database,
    pub external_api: quotes::Config,
    pub faults: FaultConfig,
}

/// How updates reach the bot.
#[derive(Debug)]
pub enum Updates {
    /// Long polling with getUpdates.
    Polling,
    /// A webhook registered at `url`, served on an already-bound listener.
    Webhook { url: Url, listener: tokio::net::TcpListener },
}

/// Why the bot stopped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// The shutdown future resolved (SIGTERM or SIGINT in the binary).
    Shutdown,
    /// The exit-after fault fired; the binary exits with code 3.
    ExitAfter,
    /// The update listener ended on its own.
    ListenerEnded,
}

/// What the bot did, reported when it stops.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Report {
    pub stop: Stop,
    /// Updates received, including those the faults dropped.
    pub updates: u64,
    /// Updates dropped without an answer by the fail-every and exit-after faults.
    pub dropped: u64,
    pub quote_cache: CacheStats,
    pub external_api_failures: u64,
}

/// The crate's one error type.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("missing bot token: set TELOXIDE_TOKEN or TELEGRAM_BOT_TOKEN")]
    MissingToken,
    #[error("missing bot api url: set TELOXIDE_API_URL or TELEGRAM_API_URL")]
    MissingApiUrl,
    #[error("invalid url {value:?} for {name}: {source}")]
    InvalidUrl { name: &'static str, value: String, source: url::ParseError },
    #[error("webhook mode needs both WEBHOOK_URL and WEBHOOK_PORT")]
    PartialWebhook,
    #[error("cannot listen for webhooks on {address}: {source}")]
    WebhookListen { address: String, source: std::io::Error },
    #[error("unsupported DATABASE_URL {0:?}: only postgres:// is supported; SQLite is set with DATABASE_PATH")]
    UnsupportedDatabaseUrl(String),
    #[error("cannot open database {target}: {source}")]
    DatabaseOpen { target: String, source: sqlx::Error },
    #[error("database query failed: {0}")]
    Database(#[from] sqlx::Error),
    #[error("bot api call failed: {0}")]
    BotApi(#[from] teloxide::RequestError),
    #[error("external api {endpoint} call failed: {source}")]
    ExternalApi { endpoint: &'static str, source: reqwest::Error },
    #[error("external api url is not configured")]
    ExternalApiUnset,
}

/// The state every handler shares.
#[derive(Debug)]
pub(crate) struct App {
    pub(crate) db: db::Db,
    pub(crate) api: quotes::Client,
    pub(crate) faults: faults::Faults,
}

impl App {
    fn report(&self, stop: Stop) -> Report {
        Report {
            stop,
            updates: self.faults.updates(),
            dropped: self.faults.dropped(),
            quote_cache: self.api.cache_stats(),
            external_api_failures: self.api.failures(),
        }
    }
}

/// Runs the bot until `shutdown` resolves, the exit-after fault fires, or the update listener ends.
pub async fn run(config: Config, shutdown: impl Future<Output = ()> + Send + 'static) -> Result<Report, Error> {
    let Config { token, api_url, updates, database, external_api, faults } = config;
    let app = Arc::new(App {
        db: db::Db::open(&database).await?,
        api: quotes::Client::new(&external_api)?,
        faults: faults::Faults::new(faults),
    });
    let bot = teloxide::Bot::new(token).set_api_url(api_url);
    let dispatched = dispatch::run(bot, app.clone(), updates, shutdown).await;
    app.db.close().await;
    let report = app.report(dispatched?);
    tracing::info!(
        stop = ?report.stop,
        updates = report.updates,
        dropped = report.dropped,
        cache_hits = report.quote_cache.hits,
        cache_misses = report.quote_cache.misses,
        cache_hit_ratio = report.quote_cache.hit_ratio(),
        external_api_failures = report.external_api_failures,
        "bot stopped"
    );
    Ok(report)
}
