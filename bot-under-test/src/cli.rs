//! The command line and environment: [`Args`] as clap parses them, validated once into a [`Config`].
//!
//! Every setting is a flag and an environment variable; the harness uses the variables. This module only
//! parses and validates: it binds the webhook listener (so a busy port fails at start) but starts nothing else.

use std::net::{Ipv4Addr, SocketAddr};
use std::num::NonZeroU64;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use url::Url;

use crate::{quotes, Config, Database, Error, FaultConfig, Stall, Updates};

const FAULTS: &str = "Faults (all off by default; they exist so tests can check the harness against known truth)";

/// A Telegram bot for tgload to measure: echo, /stats from a database, /quote through a TTL cache, a slow
/// /ask, an inline /menu and a /photo upload, plus switchable faults.
#[derive(Debug, Parser)]
#[command(name = "bot-under-test", version)]
pub struct Args {
    /// Bot token; TELEGRAM_BOT_TOKEN works too.
    #[arg(long, env = "TELOXIDE_TOKEN", hide_env_values = true)]
    pub token: Option<String>,
    #[arg(long, env = "TELEGRAM_BOT_TOKEN", hide = true, hide_env_values = true)]
    pub telegram_bot_token: Option<String>,

    /// Base URL of the Bot API server, e.g. http://127.0.0.1:8081; TELEGRAM_API_URL works too.
    #[arg(long, env = "TELOXIDE_API_URL")]
    pub api_url: Option<String>,
    #[arg(long, env = "TELEGRAM_API_URL", hide = true)]
    pub telegram_api_url: Option<String>,

    /// Receive updates by webhook registered at this URL instead of long polling; needs --webhook-port.
    #[arg(long, env = "WEBHOOK_URL", requires = "webhook_port")]
    pub webhook_url: Option<String>,
    /// Port of the webhook server, on 127.0.0.1.
    #[arg(long, env = "WEBHOOK_PORT", requires = "webhook_url")]
    pub webhook_port: Option<u16>,

    /// SQLite database file, created if missing.
    #[arg(long, env = "DATABASE_PATH", default_value = "bot-under-test.sqlite")]
    pub database_path: PathBuf,
    /// Use PostgreSQL at this postgres:// URL instead of SQLite.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true)]
    pub database_url: Option<String>,

    /// Base URL of the external API that serves /quote and /ask.
    #[arg(long, env = "EXTERNAL_API_URL")]
    pub external_api_url: Option<String>,
    /// Timeout of every external API call, in milliseconds.
    #[arg(long, env = "EXTERNAL_API_TIMEOUT_MS", default_value_t = 2000)]
    pub external_api_timeout_ms: u64,
    /// How long a fetched quote is served from the cache, in milliseconds.
    #[arg(long, env = "QUOTE_CACHE_TTL_MS", default_value_t = 5000)]
    pub quote_cache_ttl_ms: u64,

    /// Keep N bytes per update forever (until the bot stops), written so the resident set really grows.
    #[arg(long, env = "TGLOAD_LEAK_BYTES", default_value_t = 0, value_name = "N", help_heading = FAULTS)]
    pub leak_bytes_per_update: usize,
    /// Sleep N ms (asynchronously) before every answer; fractions such as 2.5 are kept to the microsecond.
    #[arg(long, env = "TGLOAD_DELAY_MS", default_value_t = 0.0, value_name = "N", value_parser = non_negative_ms, help_heading = FAULTS)]
    pub delay_ms: f64,
    /// Block the runtime thread for N ms (std::thread::sleep in the async handler) before every answer.
    #[arg(long, env = "TGLOAD_BLOCK_MS", default_value_t = 0, value_name = "N", help_heading = FAULTS)]
    pub block_ms: u64,
    /// Drop every Nth update (counted over all chats) without any answer: the harness sees a timeout.
    #[arg(long, env = "TGLOAD_FAIL_EVERY", value_name = "N", help_heading = FAULTS)]
    pub fail_every: Option<NonZeroU64>,
    /// Answer every Nth update (counted over all chats) that is a message with "Sorry, something went wrong.".
    #[arg(long, env = "TGLOAD_WRONG_EVERY", value_name = "N", help_heading = FAULTS)]
    pub wrong_every: Option<NonZeroU64>,
    /// Answer N updates, then stop and exit with code 3; later updates get no answer.
    #[arg(long, env = "TGLOAD_EXIT_AFTER", value_name = "N", help_heading = FAULTS)]
    pub exit_after: Option<NonZeroU64>,
    /// Stall every N ms since start: answers due in the stall window wait until it ends (see --stall-ms).
    #[arg(long, env = "TGLOAD_STALL_EVERY_MS", value_name = "N", requires = "stall_ms", help_heading = FAULTS)]
    pub stall_every_ms: Option<NonZeroU64>,
    /// How long each stall lasts, in ms.
    #[arg(long, env = "TGLOAD_STALL_MS", value_name = "N", requires = "stall_every_ms", help_heading = FAULTS)]
    pub stall_ms: Option<u64>,
    /// Sleep before every answer for N ms per minute of the bot's uptime: latency that grows over a soak.
    #[arg(long, env = "TGLOAD_DELAY_GROWTH_MS_PER_MIN", default_value_t = 0, value_name = "N", help_heading = FAULTS)]
    pub delay_growth_ms_per_min: u64,
}

impl Args {
    /// Validates the arguments; binds the webhook listener in webhook mode.
    pub async fn into_config(self) -> Result<Config, Error> {
        let token = set(self.token).or(set(self.telegram_bot_token)).ok_or(Error::MissingToken)?;
        let api_url = set(self.api_url).or(set(self.telegram_api_url)).ok_or(Error::MissingApiUrl)?;
        let updates = match (set(self.webhook_url), self.webhook_port) {
            (None, None) => Updates::Polling,
            (Some(url), Some(port)) => webhook(&url, port).await?,
            _ => return Err(Error::PartialWebhook),
        };
        let database = match set(self.database_url) {
            Some(url) if url.starts_with("postgres://") || url.starts_with("postgresql://") => {
                Database::Postgres { url }
            }
            Some(url) => return Err(Error::UnsupportedDatabaseUrl(url)),
            None => Database::Sqlite { path: self.database_path },
        };
        let external_api = quotes::Config {
            url: set(self.external_api_url).map(|url| parse_url("EXTERNAL_API_URL", &url)).transpose()?,
            timeout: Duration::from_millis(self.external_api_timeout_ms),
            cache_ttl: Duration::from_millis(self.quote_cache_ttl_ms),
        };
        let faults = FaultConfig {
            leak_bytes_per_update: self.leak_bytes_per_update,
            delay: Duration::from_micros((self.delay_ms * 1000.0).round() as u64),
            block: Duration::from_millis(self.block_ms),
            fail_every: self.fail_every,
            wrong_every: self.wrong_every,
            exit_after: self.exit_after,
            stall: self.stall_every_ms.zip(self.stall_ms).map(|(every, length)| Stall {
                every: Duration::from_millis(every.get()),
                length: Duration::from_millis(length),
            }),
            delay_growth_per_min: Duration::from_millis(self.delay_growth_ms_per_min),
        };
        let api_url = bot_api_url(parse_url("TELOXIDE_API_URL", &api_url)?);
        Ok(Config { token, api_url, updates, database, external_api, faults })
    }
}

/// An empty variable (`DATABASE_URL=`) means unset, as it does to most tools.
fn set(value: Option<String>) -> Option<String> {
    value.filter(|value| !value.is_empty())
}

async fn webhook(url: &str, port: u16) -> Result<Updates, Error> {
    let url = parse_url("WEBHOOK_URL", url)?;
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let listener = tokio::net::TcpListener::bind(address)
        .await
        .map_err(|source| Error::WebhookListen { address: address.to_string(), source })?;
    Ok(Updates::Webhook { url, listener })
}

fn parse_url(name: &'static str, value: &str) -> Result<Url, Error> {
    Url::parse(value).map_err(|source| Error::InvalidUrl { name, value: value.to_owned(), source })
}

/// teloxide appends `bot<token>/<method>` as path segments; a trailing slash would leave an empty segment
/// (`//bot...`), so it is dropped.
pub fn bot_api_url(mut url: Url) -> Url {
    if let Ok(mut segments) = url.path_segments_mut() {
        segments.pop_if_empty();
    }
    url
}

/// A number of milliseconds, zero or more and finite.
fn non_negative_ms(text: &str) -> Result<f64, String> {
    match text.trim().parse::<f64>() {
        Ok(ms) if (0.0..=3_600_000.0).contains(&ms) => Ok(ms),
        _ => Err(format!("`{text}` is not a number of milliseconds from 0 to 3600000")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Args, clap::Error> {
        Args::try_parse_from(std::iter::once("bot-under-test").chain(args.iter().copied()))
    }

    async fn check(args: &[&str]) -> Result<Config, Error> {
        parse(args).expect("arguments parse").into_config().await
    }

    #[tokio::test]
    async fn defaults_to_polling_sqlite_and_no_faults() {
        let config = check(&["--token", "1:abc", "--api-url", "http://127.0.0.1:9/"]).await.unwrap();
        assert_eq!(config.api_url.as_str(), "http://127.0.0.1:9/");
        assert!(matches!(config.updates, Updates::Polling));
        assert!(matches!(config.database, Database::Sqlite { .. }));
        assert_eq!(config.faults, FaultConfig::default());
        assert_eq!(config.external_api, quotes::Config::default());
    }

    #[tokio::test]
    async fn alternate_names_work() {
        let config =
            check(&["--telegram-bot-token", "1:abc", "--telegram-api-url", "http://127.0.0.1:9/tg/"]).await.unwrap();
        assert_eq!(config.token, "1:abc");
        assert_eq!(config.api_url.as_str(), "http://127.0.0.1:9/tg");
    }

    #[tokio::test]
    async fn rejects_missing_or_bad_settings() {
        assert!(matches!(check(&["--api-url", "http://127.0.0.1:9"]).await, Err(Error::MissingToken)));
        assert!(matches!(check(&["--token", "1:a"]).await, Err(Error::MissingApiUrl)));
        let bad_db = check(&["--token", "1:a", "--api-url", "http://h", "--database-url", "mysql://x"]).await;
        assert!(matches!(bad_db, Err(Error::UnsupportedDatabaseUrl(_))));
        assert!(parse(&["--fail-every", "0"]).is_err());
        let empty_db_url = check(&["--token", "1:a", "--api-url", "http://h", "--database-url", ""]);
        assert!(matches!(empty_db_url.await.map(|c| c.database), Ok(Database::Sqlite { .. })));
        assert!(parse(&["--webhook-url", "http://127.0.0.1:1/hook"]).is_err());
    }

    #[tokio::test]
    async fn faults_and_postgres_are_parsed() {
        let args = [
            "--token",
            "1:a",
            "--api-url",
            "http://h",
            "--database-url",
            "postgres://u@localhost/db",
            "--leak-bytes-per-update",
            "1024",
            "--delay-ms",
            "5",
            "--block-ms",
            "6",
            "--fail-every",
            "3",
            "--exit-after",
            "10",
            "--stall-every-ms",
            "5000",
            "--stall-ms",
            "1000",
            "--delay-growth-ms-per-min",
            "30",
            "--wrong-every",
            "4",
        ];
        let config = check(&args).await.unwrap();
        assert!(matches!(config.database, Database::Postgres { .. }));
        let expected = FaultConfig {
            leak_bytes_per_update: 1024,
            delay: Duration::from_millis(5),
            block: Duration::from_millis(6),
            fail_every: NonZeroU64::new(3),
            wrong_every: NonZeroU64::new(4),
            exit_after: NonZeroU64::new(10),
            stall: Some(Stall { every: Duration::from_secs(5), length: Duration::from_secs(1) }),
            delay_growth_per_min: Duration::from_millis(30),
        };
        assert_eq!(config.faults, expected);
    }
}
