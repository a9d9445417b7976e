//! The external HTTP API the bot calls, as a wiremock server that the harness and the tests start in-process.
//!
//! `GET /quote` answers `{"quote": ".."}` and `POST /ask` (`{"question": ".."}`) answers `{"answer": ".."}`,
//! each after a delay drawn per request from its [`Latency`], except inside a [`FaultWindow`], where the
//! endpoint answers 500 or stalls far past any sane client timeout. This is the mock, not the bot's client
//! (that is `quotes`); the bot knows it only by its base URL.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use tokio::sync::Notify;
use tokio::task::JoinHandle;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

/// How long a `Timeout` fault stalls a response: far past any client timeout a bot would use.
pub const STALL: Duration = Duration::from_secs(30);

/// wiremock keeps every request a mock matched, even with recording disabled, so a long run would grow without
/// bound. After this many requests the mocks are reset and mounted afresh, which frees them. A request that
/// arrives in the microseconds between the reset and the remount gets wiremock's 404.
const RECYCLE_EVERY: u64 = 50_000;

/// The quotes `/quote` cycles through.
const QUOTES: [&str; 4] = [
    "Premature optimization is the root of all evil.",
    "Make it work, make it right, make it fast.",
    "Simple things should be simple, complex things should be possible.",
    "The cheapest, fastest and most reliable components are those that aren't there.",
];

/// Both endpoints' behaviour, and the seed of their latency draws (the same seed replays the same delays).
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    pub quote: Endpoint,
    pub ask: Endpoint,
    pub seed: u64,
}

impl Default for Config {
    /// A quick quote service and a slow "AI" one, no faults.
    fn default() -> Self {
        let ms = Duration::from_millis;
        Self {
            quote: Endpoint { latency: Latency::Uniform { min: ms(5), max: ms(30) }, faults: Vec::new() },
            ask: Endpoint { latency: Latency::Uniform { min: ms(200), max: ms(800) }, faults: Vec::new() },
            seed: 0x7167_6c6f_6164,
        }
    }
}

/// One endpoint's latency and its scheduled faults.
#[derive(Debug, Clone, PartialEq)]
pub struct Endpoint {
    pub latency: Latency,
    pub faults: Vec<FaultWindow>,
}

/// The delay before a response, drawn per request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Latency {
    Fixed(Duration),
    /// Uniform over `[min, max]`; bounds given the wrong way round are swapped.
    Uniform {
        min: Duration,
        max: Duration,
    },
}

/// A time span during which an endpoint fails, measured from the mock's origin: its start, or the moment
/// given to [`ExternalApi::set_origin`] (the harness gives the load's start, so scenarios time faults from it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FaultWindow {
    pub start: Duration,
    pub duration: Duration,
    pub kind: FaultKind,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultKind {
    /// Answer `500 Internal Server Error` (after the usual latency).
    Error500,
    /// Stall for [`STALL`] before answering, so the client times out.
    Timeout,
}

/// Requests one endpoint has served so far, by outcome.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Served {
    pub ok: u64,
    pub errors: u64,
    pub timeouts: u64,
}

impl Served {
    pub fn total(&self) -> u64 {
        self.ok + self.errors + self.timeouts
    }
}

/// A running external API mock on 127.0.0.1; it stops when dropped.
#[derive(Debug)]
pub struct ExternalApi {
    server: Arc<MockServer>,
    origin: Origin,
    quote: Responder,
    ask: Responder,
    recycle_task: JoinHandle<()>,
}

impl ExternalApi {
    /// Binds 127.0.0.1 on a free port and serves both endpoints.
    pub async fn start(config: Config) -> Self {
        Self::start_recycling(config, RECYCLE_EVERY).await
    }

    async fn start_recycling(config: Config, every: u64) -> Self {
        let server = Arc::new(MockServer::builder().disable_request_recording().start().await);
        let origin: Origin = Arc::new(Mutex::new(Instant::now()));
        let recycler = Arc::new(Recycler::new(every));
        let quote = Responder::new(Kind::Quote, config.quote, &origin, config.seed, &recycler);
        let ask = Responder::new(Kind::Ask, config.ask, &origin, config.seed ^ 1, &recycler);
        mount(&server, &quote, &ask).await;
        let recycle_task = tokio::spawn(recycle_loop(server.clone(), quote.clone(), ask.clone(), recycler));
        Self { server, origin, quote, ask, recycle_task }
    }

    /// Times the fault windows from `origin` from now on (it may lie in the future: no window is open
    /// before it).
    pub fn set_origin(&self, origin: Instant) {
        *self.origin.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = origin;
    }

    /// The base URL, e.g. `http://127.0.0.1:40123`, for the bot's `EXTERNAL_API_URL`.
    pub fn uri(&self) -> String {
        self.server.uri()
    }

    pub fn served_quote(&self) -> Served {
        self.quote.served()
    }

    pub fn served_ask(&self) -> Served {
        self.ask.served()
    }
}

impl Drop for ExternalApi {
    fn drop(&mut self) {
        self.recycle_task.abort();
    }
}

async fn mount(server: &MockServer, quote: &Responder, ask: &Responder) {
    Mock::given(method("GET")).and(path("/quote")).respond_with(quote.clone()).mount(server).await;
    Mock::given(method("POST")).and(path("/ask")).respond_with(ask.clone()).mount(server).await;
}

async fn recycle_loop(server: Arc<MockServer>, quote: Responder, ask: Responder, recycler: Arc<Recycler>) {
    loop {
        recycler.wanted.notified().await;
        server.reset().await;
        mount(&server, &quote, &ask).await;
        let done = recycler.done.fetch_add(1, Ordering::Relaxed) + 1;
        tracing::debug!(done, "external api mock recycled its request log");
    }
}

/// Counts the requests wiremock has stored (over both endpoints) and asks for a reset every `every` of them.
#[derive(Debug)]
struct Recycler {
    every: u64,
    matched: AtomicU64,
    wanted: Notify,
    done: AtomicU64,
}

impl Recycler {
    fn new(every: u64) -> Self {
        Self { every: every.max(1), matched: AtomicU64::new(0), wanted: Notify::new(), done: AtomicU64::new(0) }
    }

    fn count(&self) {
        let matched = self.matched.fetch_add(1, Ordering::Relaxed) + 1;
        if matched % self.every == 0 {
            // The reset waits for wiremock's lock, which the current request holds; it runs right after.
            self.wanted.notify_one();
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Quote,
    Ask,
}

/// What one request gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Plan {
    Ok(Duration),
    Error(Duration),
    Stall,
}

#[derive(Deserialize)]
struct AskRequest {
    question: String,
}

/// The moment fault windows count from, shared by both endpoints.
type Origin = Arc<Mutex<Instant>>;

/// The `Respond` of one endpoint. Cheap to clone: remounting after a recycle reuses the same counters.
#[derive(Debug, Clone)]
struct Responder {
    inner: Arc<ResponderState>,
}

#[derive(Debug)]
struct ResponderState {
    kind: Kind,
    endpoint: Endpoint,
    origin: Origin,
    rng: Mutex<SmallRng>,
    requests: AtomicU64,
    ok: AtomicU64,
    errors: AtomicU64,
    timeouts: AtomicU64,
    recycler: Arc<Recycler>,
}

impl Responder {
    fn new(kind: Kind, endpoint: Endpoint, origin: &Origin, seed: u64, recycler: &Arc<Recycler>) -> Self {
        let inner = ResponderState {
            kind,
            endpoint,
            origin: origin.clone(),
            rng: Mutex::new(SmallRng::seed_from_u64(seed)),
            requests: AtomicU64::new(0),
            ok: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
            recycler: recycler.clone(),
        };
        Self { inner: Arc::new(inner) }
    }

    fn served(&self) -> Served {
        let state = &self.inner;
        Served {
            ok: state.ok.load(Ordering::Relaxed),
            errors: state.errors.load(Ordering::Relaxed),
            timeouts: state.timeouts.load(Ordering::Relaxed),
        }
    }

    fn plan(&self) -> Plan {
        let state = &self.inner;
        let origin = *state.origin.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        let mut rng = state.rng.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        plan(&state.endpoint, Instant::now().checked_duration_since(origin), &mut rng)
    }

    fn body(&self, request: &Request, n: u64) -> ResponseTemplate {
        match self.inner.kind {
            Kind::Quote => {
                let quote = QUOTES[(n % QUOTES.len() as u64) as usize];
                ResponseTemplate::new(200).set_body_json(serde_json::json!({ "quote": quote }))
            }
            Kind::Ask => match request.body_json::<AskRequest>() {
                Ok(ask) => {
                    let answer = format!("After careful thought about \"{}\": 42.", ask.question);
                    ResponseTemplate::new(200).set_body_json(serde_json::json!({ "answer": answer }))
                }
                Err(_) => ResponseTemplate::new(400).set_body_json(serde_json::json!({ "error": "bad question" })),
            },
        }
    }
}

impl Respond for Responder {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let state = &self.inner;
        let n = state.requests.fetch_add(1, Ordering::Relaxed) + 1;
        state.recycler.count();
        let (counter, template) = match self.plan() {
            Plan::Ok(delay) => (&state.ok, self.body(request, n).set_delay(delay)),
            Plan::Error(delay) => (&state.errors, ResponseTemplate::new(500).set_delay(delay)),
            Plan::Stall => (&state.timeouts, ResponseTemplate::new(504).set_delay(STALL)),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        template
    }
}

/// The pure decision for one request arriving `elapsed` after the origin (`None`: before it).
fn plan(endpoint: &Endpoint, elapsed: Option<Duration>, rng: &mut impl Rng) -> Plan {
    let delay = endpoint.latency.sample(rng);
    let fault = elapsed.and_then(|elapsed| endpoint.faults.iter().find(|window| window.contains(elapsed)));
    match fault.map(|window| window.kind) {
        None => Plan::Ok(delay),
        Some(FaultKind::Error500) => Plan::Error(delay),
        Some(FaultKind::Timeout) => Plan::Stall,
    }
}

impl Latency {
    fn sample(&self, rng: &mut impl Rng) -> Duration {
        match *self {
            Self::Fixed(delay) => delay,
            Self::Uniform { min, max } => {
                let (low, high) = if min <= max { (min, max) } else { (max, min) };
                let micros = rng.random_range(low.as_micros() as u64..=high.as_micros() as u64);
                Duration::from_micros(micros)
            }
        }
    }
}

impl FaultWindow {
    fn contains(&self, elapsed: Duration) -> bool {
        self.start <= elapsed && elapsed < self.start + self.duration
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(start_ms: u64, duration_ms: u64, kind: FaultKind) -> FaultWindow {
        FaultWindow { start: Duration::from_millis(start_ms), duration: Duration::from_millis(duration_ms), kind }
    }

    /// Plans one request at each of `at_ms` and compares the outcomes, delays aside.
    fn check(endpoint: &Endpoint, at_ms: &[u64], expect: &[&str]) {
        let mut rng = SmallRng::seed_from_u64(1);
        let seen: Vec<&str> = at_ms
            .iter()
            .map(|&ms| match plan(endpoint, Some(Duration::from_millis(ms)), &mut rng) {
                Plan::Ok(_) => "ok",
                Plan::Error(_) => "500",
                Plan::Stall => "stall",
            })
            .collect();
        assert_eq!(seen, expect);
    }

    #[test]
    fn fault_windows_are_half_open() {
        let endpoint = Endpoint {
            latency: Latency::Fixed(Duration::ZERO),
            faults: vec![window(100, 50, FaultKind::Error500), window(300, 10, FaultKind::Timeout)],
        };
        check(&endpoint, &[0, 99, 100, 149, 150, 305, 310], &["ok", "ok", "500", "500", "ok", "stall", "ok"]);
    }

    #[test]
    fn uniform_latency_stays_in_bounds_either_way_round() {
        let mut rng = SmallRng::seed_from_u64(7);
        let (low, high) = (Duration::from_millis(10), Duration::from_millis(20));
        for latency in [Latency::Uniform { min: low, max: high }, Latency::Uniform { min: high, max: low }] {
            let draws: Vec<Duration> = (0..1000).map(|_| latency.sample(&mut rng)).collect();
            assert!(draws.iter().all(|d| (low..=high).contains(d)));
            assert!(draws.iter().any(|d| *d < Duration::from_millis(12)));
            assert!(draws.iter().any(|d| *d > Duration::from_millis(18)));
        }
        assert_eq!(Latency::Fixed(low).sample(&mut rng), low);
    }

    /// Windows count from the origin: none is open before it, and moving it moves them.
    #[tokio::test]
    async fn fault_windows_follow_the_origin() {
        let failing = Endpoint {
            latency: Latency::Fixed(Duration::ZERO),
            faults: vec![window(0, 3_600_000, FaultKind::Error500)],
        };
        let config = Config { quote: failing.clone(), ask: failing, seed: 3 };
        let api = ExternalApi::start(config).await;
        let http = reqwest::Client::new();
        let status = || async { http.get(format!("{}/quote", api.uri())).send().await.unwrap().status().as_u16() };
        assert_eq!(status().await, 500);
        api.set_origin(Instant::now() + Duration::from_secs(60));
        assert_eq!(status().await, 200);
        api.set_origin(Instant::now());
        assert_eq!(status().await, 500);
        assert_eq!(api.served_quote(), Served { ok: 1, errors: 2, timeouts: 0 });
    }

    /// After a recycle (reset and remount), both endpoints still answer and keep their counters.
    #[tokio::test]
    async fn recycling_keeps_serving() {
        let config = Config {
            quote: Endpoint { latency: Latency::Fixed(Duration::ZERO), faults: Vec::new() },
            ask: Endpoint { latency: Latency::Fixed(Duration::ZERO), faults: Vec::new() },
            seed: 3,
        };
        let api = ExternalApi::start_recycling(config, 4).await;
        let http = reqwest::Client::new();
        for round in 1..=3 {
            for _ in 0..2 {
                let quote = http.get(format!("{}/quote", api.uri())).send().await.unwrap();
                assert_eq!(quote.status(), 200);
                let body = serde_json::json!({ "question": "why?" });
                let ask = http.post(format!("{}/ask", api.uri())).json(&body).send().await.unwrap();
                assert_eq!(ask.status(), 200);
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            while api.quote.inner.recycler.done.load(Ordering::Relaxed) < round {
                assert!(Instant::now() < deadline, "no recycle after {} requests", 4 * round);
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
        assert_eq!((api.served_quote().ok, api.served_ask().ok), (6, 6));
        assert!(api.server.received_requests().await.is_none());
    }
}
