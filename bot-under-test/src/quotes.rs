//! The bot's client for the external HTTP API: `GET /quote` behind a TTL cache, and the slow `POST /ask`.
//!
//! One pooled `reqwest::Client` with a timeout serves both endpoints. Failures are counted and returned as
//! errors; turning them into a polite reply is the handlers' job, not this module's.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};
use url::Url;

use crate::cache::{CacheStats, TtlCache};
use crate::Error;

/// Where the external API is and how patient the bot is with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Config {
    /// Base URL, e.g. `http://127.0.0.1:4321`. `None`: `/quote` and `/ask` reply that the service is unavailable.
    pub url: Option<Url>,
    /// The client's whole-request timeout.
    pub timeout: Duration,
    /// How long a fetched quote is served from the cache.
    pub cache_ttl: Duration,
}

impl Default for Config {
    fn default() -> Self {
        Self { url: None, timeout: Duration::from_secs(2), cache_ttl: Duration::from_secs(5) }
    }
}

/// A quote and whether it came from the cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Quote {
    pub(crate) text: String,
    pub(crate) cached: bool,
}

#[derive(Deserialize)]
struct QuoteBody {
    quote: String,
}

#[derive(Serialize)]
struct AskRequest<'a> {
    question: &'a str,
}

#[derive(Deserialize)]
struct AskBody {
    answer: String,
}

#[derive(Debug)]
pub(crate) struct Client {
    http: reqwest::Client,
    base: Option<Url>,
    cache: TtlCache<String>,
    failures: AtomicU64,
}

impl Client {
    pub(crate) fn new(config: &Config) -> Result<Self, Error> {
        let http = reqwest::Client::builder()
            .timeout(config.timeout)
            .pool_max_idle_per_host(64)
            .tcp_nodelay(true)
            .build()
            .map_err(|source| Error::ExternalApi { endpoint: "client", source })?;
        Ok(Self {
            http,
            base: config.url.clone().map(with_trailing_slash),
            cache: TtlCache::new(config.cache_ttl),
            failures: AtomicU64::new(0),
        })
    }

    /// A quote on `topic` (empty: any), from the cache while it is fresh, else from `GET /quote?topic=`.
    pub(crate) async fn quote(&self, topic: &str) -> Result<Quote, Error> {
        if let Some(text) = self.cache.get(topic, Instant::now()) {
            return Ok(Quote { text, cached: true });
        }
        let body: QuoteBody = self.counted("quote", self.fetch_quote(topic)).await?;
        self.cache.put(topic, Instant::now(), body.quote.clone());
        Ok(Quote { text: body.quote, cached: false })
    }

    /// The "AI" answer to `question`, from `POST /ask`; never cached.
    pub(crate) async fn ask(&self, question: &str) -> Result<String, Error> {
        let body: AskBody = self.counted("ask", self.post_ask(question)).await?;
        Ok(body.answer)
    }

    pub(crate) fn cache_stats(&self) -> CacheStats {
        self.cache.stats()
    }

    /// External API calls that failed or timed out so far.
    pub(crate) fn failures(&self) -> u64 {
        self.failures.load(Ordering::Relaxed)
    }

    async fn fetch_quote(&self, topic: &str) -> Result<QuoteBody, Error> {
        let mut url = self.endpoint("quote")?;
        if !topic.is_empty() {
            url.query_pairs_mut().append_pair("topic", topic);
        }
        let response = self.http.get(url).send().await;
        decode("quote", response).await
    }

    async fn post_ask(&self, question: &str) -> Result<AskBody, Error> {
        let url = self.endpoint("ask")?;
        let response = self.http.post(url).json(&AskRequest { question }).send().await;
        decode("ask", response).await
    }

    fn endpoint(&self, name: &'static str) -> Result<Url, Error> {
        let base = self.base.as_ref().ok_or(Error::ExternalApiUnset)?;
        base.join(name).map_err(|source| Error::InvalidUrl {
            name: "EXTERNAL_API_URL",
            value: base.to_string(),
            source,
        })
    }

    /// Runs `call`, counting and logging its failure.
    async fn counted<T>(
        &self,
        endpoint: &'static str,
        call: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let result = call.await;
        if let Err(error) = &result {
            let failures = self.failures.fetch_add(1, Ordering::Relaxed) + 1;
            tracing::warn!(endpoint, failures, %error, "external api call failed");
        }
        result
    }
}

/// `join` replaces the last path segment unless the base ends with a slash: `http://h/api` + `quote` would be
/// `http://h/quote`.
fn with_trailing_slash(mut url: Url) -> Url {
    if !url.path().ends_with('/') {
        let path = format!("{}/", url.path());
        url.set_path(&path);
    }
    url
}

async fn decode<T: serde::de::DeserializeOwned>(
    endpoint: &'static str,
    response: Result<reqwest::Response, reqwest::Error>,
) -> Result<T, Error> {
    let wrap = |source| Error::ExternalApi { endpoint, source };
    let response = response.map_err(wrap)?.error_for_status().map_err(wrap)?;
    response.json().await.map_err(wrap)
}
