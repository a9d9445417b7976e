//! Webhook delivery: POSTs a bot's updates to its webhook, one chat's updates in order and chats in parallel up
//! to `max_connections`, retrying with doubling backoff, and executing webhook replies like real calls.
//!
//! One task per webhook generation: setWebhook and deleteWebhook bump the generation and the old task stops.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use crate::bot::{lock, Bot};
use crate::methods::{dispatch, Call};
use crate::params::Params;
use crate::server::Server;
use crate::updates::Queued;

/// Starts delivering to `target` for webhook `generation`.
pub fn spawn(server: Arc<Server>, bot: Arc<Bot>, generation: u64, target: reqwest::Url) {
    tokio::spawn(run(server, bot, generation, target));
}

fn is_current(bot: &Bot, generation: u64) -> bool {
    lock(&bot.webhook).generation == generation
}

async fn run(server: Arc<Server>, bot: Arc<Bot>, generation: u64, target: reqwest::Url) {
    let (secret, max_connections) = match &lock(&bot.webhook).current {
        Some(webhook) => (webhook.secret_token.clone(), webhook.max_connections),
        None => return,
    };
    let permits = Arc::new(Semaphore::new(max_connections as usize));
    loop {
        let changed = bot.updates.changed.notified();
        tokio::pin!(changed);
        changed.as_mut().enable();
        if !is_current(&bot, generation) || server.is_closing() {
            return;
        }
        let Ok(permit) = permits.clone().try_acquire_owned() else {
            changed.await;
            continue;
        };
        match bot.updates.next_for_webhook() {
            Some(update) => {
                let delivery = Delivery {
                    server: server.clone(),
                    bot: bot.clone(),
                    generation,
                    target: target.clone(),
                    secret: secret.clone(),
                };
                tokio::spawn(delivery.deliver(update, permit));
            }
            None => {
                drop(permit);
                // The timeout re-checks the generation even if a wake-up was missed.
                let _ = tokio::time::timeout(Duration::from_secs(1), changed).await;
            }
        }
    }
}

struct Delivery {
    server: Arc<Server>,
    bot: Arc<Bot>,
    generation: u64,
    target: reqwest::Url,
    secret: Option<String>,
}

impl Delivery {
    /// Delivers one update until it succeeds or the webhook changes; holds a connection permit throughout.
    async fn deliver(self, update: Queued, _permit: OwnedSemaphorePermit) {
        let mut backoff = self.server.config.webhook_backoff;
        loop {
            if !is_current(&self.bot, self.generation) || self.server.is_closing() {
                self.bot.updates.release(update.chat_id);
                return;
            }
            if let Some(action_id) = update.action_id {
                self.bot.ledger.delivered(action_id, crate::clock::now_us());
            }
            let retry_after = match self.post(&update).await {
                Ok(()) => {
                    self.bot.updates.delivered(update.update_id, update.chat_id);
                    return;
                }
                Err(failure) => {
                    lock(&self.bot.webhook).last_error = Some((crate::clock::now_s(), failure.message));
                    failure.retry_after
                }
            };
            tokio::time::sleep(retry_after.unwrap_or(backoff)).await;
            backoff = (backoff * 2).min(self.server.config.webhook_max_backoff);
        }
    }

    async fn post(&self, update: &Queued) -> Result<(), Failure> {
        let mut request = self
            .server
            .http
            .post(self.target.clone())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(update.json.to_string());
        if let Some(secret) = &self.secret {
            request = request.header("X-Telegram-Bot-Api-Secret-Token", secret);
        }
        let response = request.send().await.map_err(|error| Failure::connection(&error))?;
        let status = response.status();
        if !status.is_success() {
            let retry_after = response
                .headers()
                .get(reqwest::header::RETRY_AFTER)
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.parse::<u64>().ok())
                .map(|s| Duration::from_secs(s.min(3600)));
            let reason = status.canonical_reason().unwrap_or("");
            let message = format!("Wrong response from the webhook: {} {reason}", status.as_u16());
            return Err(Failure { message, retry_after });
        }
        let content_type =
            response.headers().get(reqwest::header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
        let body = response.bytes().await.map_err(|error| Failure::connection(&error))?;
        self.execute_reply(content_type.as_deref(), body).await;
        Ok(())
    }

    /// A 2xx body naming a `method` is a Bot API call, as on the official server (which ignores getters and
    /// webhook management there).
    async fn execute_reply(&self, content_type: Option<&str>, body: bytes::Bytes) {
        if body.is_empty() {
            return;
        }
        let Ok(params) = Params::parse(None, content_type, body).await else { return };
        let Some(method) = params.str("method").map(str::to_ascii_lowercase) else { return };
        let ignored = ["setwebhook", "deletewebhook", "close", "logout"];
        if method.starts_with("get") || ignored.contains(&method.as_str()) {
            return;
        }
        let call = Call { server: &self.server, bot: &self.bot, params };
        // Errors are counted by dispatch; there is nobody to return them to.
        let _ = dispatch(call, &method).await;
    }
}

struct Failure {
    message: String,
    retry_after: Option<Duration>,
}

impl Failure {
    fn connection(error: &reqwest::Error) -> Failure {
        let message = if error.is_timeout() {
            "Timeout expired".to_owned()
        } else if error.is_connect() {
            "Connection refused".to_owned()
        } else {
            "Connection closed".to_owned()
        };
        Failure { message, retry_after: None }
    }
}
