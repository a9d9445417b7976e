//! The external HTTP API the bot calls, as a small axum server that the harness and the tests start in-process.
//!
//! `GET /quote` answers `{"quote": ".."}` and `POST /ask` (`{"question": ".."}`) answers `{"answer": ".."}`,
//! each after a delay drawn per request from its [`Latency`], except inside a [`FaultWindow`], where the
//! endpoint answers 500 or stalls far past any sane client timeout. This is the mock, not the bot's client
//! (that is `quotes`); the bot knows it only by its base URL. It keeps nothing per request but three counters per
//! endpoint, so a 72-hour run does not grow it (wiremock, used before, kept every request it matched).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Deserialize;
use tokio::task::JoinHandle;

/// How long a `Timeout` fault stalls a response: far past any client timeout a bot would use.
pub const STALL: Duration = Duration::from_secs(30);

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
    url: String,
    origin: Origin,
    quote: Responder,
    ask: Responder,
    server: JoinHandle<()>,
}

impl ExternalApi {
    /// Binds 127.0.0.1 on a free port and serves both endpoints.
    pub async fn start(config: Config) -> std::io::Result<Self> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0)).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let origin: Origin = Arc::new(Mutex::new(Instant::now()));
        let quote = Responder::new(Kind::Quote, config.quote, &origin, config.seed);
        let ask = Responder::new(Kind::Ask, config.ask, &origin, config.seed ^ 1);
        let app = Router::new()
            .route("/quote", get(serve_quote))
            .with_state(quote.clone())
            .merge(Router::new().route("/ask", post(serve_ask)).with_state(ask.clone()));
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::warn!("external api mock stopped: {e}");
            }
        });
        Ok(Self { url, origin, quote, ask, server })
    }

    /// Times the fault windows from `origin` from now on (it may lie in the future: no window is open
    /// before it).
    pub fn set_origin(&self, origin: Instant) {
        *self.origin.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = origin;
    }

    /// The base URL, e.g. `http://127.0.0.1:40123`, for the bot's `EXTERNAL_API_URL`.
    pub fn uri(&self) -> String {
        self.url.clone()
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
        self.server.abort();
    }
}

async fn serve_quote(State(responder): State<Responder>) -> Response {
    responder.respond(None).await
}

/// A body that is not `{"question": ..}` JSON still counts as a request; it gets a 400 where it would have
/// been answered.
async fn serve_ask(State(responder): State<Responder>, body: axum::body::Bytes) -> Response {
    let question = serde_json::from_slice::<AskRequest>(&body).map(|ask| ask.question).ok();
    responder.respond(Some(question)).await
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

/// One endpoint's behaviour and counters. Cheap to clone: the router's state.
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
}

impl Responder {
    fn new(kind: Kind, endpoint: Endpoint, origin: &Origin, seed: u64) -> Self {
        let inner = ResponderState {
            kind,
            endpoint,
            origin: origin.clone(),
            rng: Mutex::new(SmallRng::seed_from_u64(seed)),
            requests: AtomicU64::new(0),
            ok: AtomicU64::new(0),
            errors: AtomicU64::new(0),
            timeouts: AtomicU64::new(0),
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

    /// The response to one request after its delay; `question` is the parsed `/ask` body (`None` for `/quote`).
    async fn respond(&self, question: Option<Option<String>>) -> Response {
        let state = &self.inner;
        let n = state.requests.fetch_add(1, Ordering::Relaxed) + 1;
        let (counter, delay, response) = match self.plan() {
            Plan::Ok(delay) => (&state.ok, delay, self.body(question, n)),
            Plan::Error(delay) => (&state.errors, delay, StatusCode::INTERNAL_SERVER_ERROR.into_response()),
            Plan::Stall => (&state.timeouts, STALL, StatusCode::GATEWAY_TIMEOUT.into_response()),
        };
        counter.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(delay).await;
        response
    }

    fn body(&self, question: Option<Option<String>>, n: u64) -> Response {
        match (self.inner.kind, question) {
            (Kind::Quote, _) => {
                let quote = QUOTES[(n % QUOTES.len() as u64) as usize];
                Json(serde_json::json!({ "quote": quote })).into_response()
            }
            (Kind::Ask, Some(Some(question))) => {
                let answer = format!("After careful thought about \"{question}\": 42.");
                Json(serde_json::json!({ "answer": answer })).into_response()
            }
            (Kind::Ask, _) => {
                (StatusCode::BAD_REQUEST, Json(serde_json::json!({ "error": "bad question" }))).into_response()
            }
        }
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
        let api = ExternalApi::start(config).await.unwrap();
        let http = reqwest::Client::new();
        let status = || async { http.get(format!("{}/quote", api.uri())).send().await.unwrap().status().as_u16() };
        assert_eq!(status().await, 500);
        api.set_origin(Instant::now() + Duration::from_secs(60));
        assert_eq!(status().await, 200);
        api.set_origin(Instant::now());
        assert_eq!(status().await, 500);
        assert_eq!(api.served_quote(), Served { ok: 1, errors: 2, timeouts: 0 });
    }

    /// Each endpoint answers its body; a malformed question gets a 400; counters count per endpoint.
    #[tokio::test]
    async fn both_endpoints_answer() {
        let instant = Endpoint { latency: Latency::Fixed(Duration::ZERO), faults: Vec::new() };
        let api = ExternalApi::start(Config { quote: instant.clone(), ask: instant, seed: 3 }).await.unwrap();
        let http = reqwest::Client::new();
        let quote: serde_json::Value =
            http.get(format!("{}/quote", api.uri())).send().await.unwrap().json().await.unwrap();
        assert!(QUOTES.contains(&quote["quote"].as_str().unwrap()), "{quote}");
        let body = serde_json::json!({ "question": "why?" });
        let ask: serde_json::Value =
            http.post(format!("{}/ask", api.uri())).json(&body).send().await.unwrap().json().await.unwrap();
        assert_eq!(ask["answer"], "After careful thought about \"why?\": 42.");
        let bad = http.post(format!("{}/ask", api.uri())).body("nope").send().await.unwrap();
        assert_eq!(bad.status(), 400);
        assert_eq!((api.served_quote().ok, api.served_ask().ok), (1, 2));
    }
}
