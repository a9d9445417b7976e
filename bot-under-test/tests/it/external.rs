//! `/quote` and `/ask` against the external API mock: the cache, the slow call, and polite failures.

use std::time::Duration;

use bot_under_test::external_api::{self, FaultKind, FaultWindow, Latency};
use bot_under_test::quotes;

use crate::support::{answer_text, Rig, Setup};

const QUOTE_UNAVAILABLE: &str = "Sorry, the quote service is unavailable right now. Please try again later.";
const ASK_UNAVAILABLE: &str = "Sorry, the AI service did not answer in time. Please try again later.";

fn failing(kind: FaultKind) -> external_api::Endpoint {
    let always = FaultWindow { start: Duration::ZERO, duration: Duration::from_secs(3600), kind };
    external_api::Endpoint { latency: Latency::Fixed(Duration::from_millis(1)), faults: vec![always] }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quotes_are_served_from_the_cache_within_the_ttl() -> anyhow::Result<()> {
    let client = quotes::Config { cache_ttl: Duration::from_secs(600), ..quotes::Config::default() };
    let rig = Rig::start(Setup { client, ..Setup::default() }).await?;
    let first = rig.control.answered(2001, "/quote").await?;
    assert!(!answer_text(&first).is_empty());
    for _ in 0..4 {
        let again = rig.control.answered(2001, "/quote").await?;
        assert_eq!(answer_text(&again), answer_text(&first), "a cached quote changed");
    }
    assert_eq!(rig.api.served_quote().ok, 1, "the external API was called more than once");
    let stats = rig.control.answered(2001, "/stats").await?;
    assert!(answer_text(&stats).contains("Quote cache: 4 hits, 1 misses (80% hit ratio)."), "{stats}");
    let report = rig.stop().await?;
    assert_eq!((report.quote_cache.hits, report.quote_cache.misses), (4, 1));
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_expired_quote_is_fetched_again() -> anyhow::Result<()> {
    let client = quotes::Config { cache_ttl: Duration::from_millis(100), ..quotes::Config::default() };
    let rig = Rig::start(Setup { client, ..Setup::default() }).await?;
    rig.control.answered(2002, "/quote").await?;
    tokio::time::sleep(Duration::from_millis(200)).await;
    rig.control.answered(2002, "/quote").await?;
    assert_eq!(rig.api.served_quote().ok, 2);
    let report = rig.stop().await?;
    assert_eq!(report.quote_cache.misses, 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ask_types_then_answers_from_the_slow_endpoint() -> anyhow::Result<()> {
    let rig = Rig::start(Setup::default()).await?;
    let response = rig.control.answered(2003, "/ask what is the answer?").await?;
    assert_eq!(answer_text(&response), "After careful thought about \"what is the answer?\": 42.");
    assert_eq!(rig.api.served_ask().ok, 1);
    // getMe, setMyCommands and polling aside, the typing action is a call that answered nothing.
    let stats = rig.control.get("/stats").await?;
    assert_eq!(stats["unprompted"], 0, "{stats}");
    let empty = rig.control.answered(2003, "/ask").await?;
    assert_eq!(answer_text(&empty), "Ask me something: /ask <question>");
    rig.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_errors_get_a_polite_reply_and_are_counted() -> anyhow::Result<()> {
    let external = external_api::Config { quote: failing(FaultKind::Error500), ..Setup::default().external };
    let rig = Rig::start(Setup { external, ..Setup::default() }).await?;
    for _ in 0..2 {
        let response = rig.control.answered(2004, "/quote").await?;
        assert_eq!(answer_text(&response), QUOTE_UNAVAILABLE);
    }
    assert_eq!(rig.api.served_quote().errors, 2);
    // The bot is still fine afterwards.
    assert_eq!(answer_text(&rig.control.answered(2004, "still there?").await?), "still there?");
    let report = rig.stop().await?;
    assert_eq!(report.external_api_failures, 2);
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn api_timeouts_get_a_polite_reply_and_are_counted() -> anyhow::Result<()> {
    let external = external_api::Config { ask: failing(FaultKind::Timeout), ..Setup::default().external };
    let client = quotes::Config { timeout: Duration::from_millis(300), ..quotes::Config::default() };
    let rig = Rig::start(Setup { external, client, ..Setup::default() }).await?;
    let response = rig.control.answered(2005, "/ask anyone there?").await?;
    assert_eq!(answer_text(&response), ASK_UNAVAILABLE);
    assert_eq!(rig.api.served_ask().timeouts, 1);
    let report = rig.stop().await?;
    assert_eq!(report.external_api_failures, 1);
    Ok(())
}
