//! The server: shared state, the router factory and the accept loop.
//!
//! `app(server)` builds the whole router (Bot API, control API, metrics) so tests can call it without a socket;
//! `serve` runs it on an already-bound listener with HTTP/1.1 and cleartext HTTP/2, allowing enough concurrent
//! streams per connection that thousands of waiting synthetic users can share a few connections.

use std::collections::HashMap;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;

use crate::bot::Bot;

/// How the mock behaves; the command line fills it in.
#[derive(Debug, Clone)]
pub struct Config {
    /// Messages kept per chat for button presses and edits.
    pub history: usize,
    /// How long an unanswered action stays in the ledger.
    pub action_ttl: Duration,
    /// Rewrite `https://` webhook URLs on loopback to `http://` (telegraf always registers https).
    pub webhook_https_to_http: bool,
    /// The first webhook retry delay; it doubles per failure up to `webhook_max_backoff`.
    pub webhook_backoff: Duration,
    pub webhook_max_backoff: Duration,
    /// How long a webhook delivery may take before it counts as failed.
    pub webhook_timeout: Duration,
    /// Telegram's sending limits, answered with 429; `None` (the default) sends without limits.
    pub flood: Option<crate::flood::FloodLimits>,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            history: 16,
            action_ttl: Duration::from_secs(300),
            webhook_https_to_http: false,
            webhook_backoff: Duration::from_millis(500),
            webhook_max_backoff: Duration::from_secs(60),
            webhook_timeout: Duration::from_secs(60),
            flood: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("malformed bot token {0:?}: expected <digits>:<letters, digits, _ or ->")]
    MalformedToken(String),
    #[error("accepting connections: {0}")]
    Accept(#[source] std::io::Error),
    #[error("building the webhook HTTP client: {0}")]
    HttpClient(#[source] reqwest::Error),
}

#[derive(Debug)]
pub struct Server {
    pub config: Config,
    bots: RwLock<HashMap<String, Arc<Bot>>>,
    /// The client that delivers webhooks; keep-alive, as the official server.
    pub http: reqwest::Client,
    closing: AtomicBool,
}

impl Server {
    pub fn new(config: Config) -> Result<Arc<Server>, Error> {
        let http = reqwest::Client::builder()
            .http1_only()
            .tcp_nodelay(true)
            .timeout(config.webhook_timeout)
            .no_proxy()
            .build()
            .map_err(Error::HttpClient)?;
        Ok(Arc::new(Server { config, bots: RwLock::default(), http, closing: AtomicBool::new(false) }))
    }

    /// Registers a bot; registering a token again keeps the existing bot.
    pub fn add_bot(&self, token: &str, username: Option<String>) -> Result<Arc<Bot>, Error> {
        let mut bots = self.bots.write().unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some(bot) = bots.get(token) {
            return Ok(bot.clone());
        }
        let bot = Bot::new(token, username, self.config.history, self.config.flood)
            .ok_or_else(|| Error::MalformedToken(token.to_owned()))?;
        let bot = Arc::new(bot);
        bots.insert(token.to_owned(), bot.clone());
        Ok(bot)
    }

    pub fn bot(&self, token: &str) -> Option<Arc<Bot>> {
        self.bots.read().unwrap_or_else(|poisoned| poisoned.into_inner()).get(token).cloned()
    }

    pub fn bots(&self) -> Vec<Arc<Bot>> {
        self.bots.read().unwrap_or_else(|poisoned| poisoned.into_inner()).values().cloned().collect()
    }

    pub fn is_closing(&self) -> bool {
        self.closing.load(Ordering::Relaxed)
    }

    /// Ends parked long polls (they answer with what they have) and stops webhook deliveries.
    pub fn close(&self) {
        self.closing.store(true, Ordering::Relaxed);
        for bot in self.bots() {
            bot.updates.terminate_polls();
        }
    }
}

/// The whole HTTP surface of the mock.
pub fn app(server: Arc<Server>) -> Router {
    crate::control::routes()
        .fallback(crate::methods::handle)
        .layer(axum::extract::DefaultBodyLimit::max(crate::methods::MAX_BODY))
        .with_state(server)
}

/// Serves `app(server)` on `listener` until `shutdown` resolves, then lets requests in flight finish briefly.
pub async fn serve(
    listener: TcpListener,
    server: Arc<Server>,
    shutdown: impl Future<Output = ()> + Send,
) -> Result<(), Error> {
    let sweeper = tokio::spawn(sweep(server.clone()));
    let router = app(server.clone());
    let mut builder = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new());
    // hyper's default of 200 streams per connection silently queues users behind each other.
    builder.http2().max_concurrent_streams(20_000);
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let stream = match accepted {
                    Ok((stream, _)) => stream,
                    // Out of file descriptors or a reset before accept: back off instead of spinning.
                    Err(error) => {
                        tracing::warn!(%error, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let _ = stream.set_nodelay(true);
                let service = TowerToHyperService::new(router.clone());
                let connection = builder.serve_connection_with_upgrades(TokioIo::new(stream), service).into_owned();
                let connection = graceful.watch(connection);
                tokio::spawn(async move {
                    let _ = connection.await;
                });
            }
            () = &mut shutdown => break,
        }
    }
    server.close();
    sweeper.abort();
    let _ = tokio::time::timeout(Duration::from_secs(2), graceful.shutdown()).await;
    Ok(())
}

/// Drops actions the bot never answered once they outlive the TTL, so the ledger stays bounded.
async fn sweep(server: Arc<Server>) {
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tick.tick().await;
        let cutoff = crate::clock::now_us().saturating_sub(server.config.action_ttl.as_micros() as u64);
        for bot in server.bots() {
            bot.ledger.expire(cutoff);
        }
    }
}
