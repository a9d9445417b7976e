//! The test rig: mock-telegram on its own runtime thread, the external API mock, the bot, and a small client for
//! the mock's control API.
//!
//! The mock gets its own runtime so that a fault blocking the bot's runtime cannot block the mock as well; that
//! is how they run in production, as separate processes.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use bot_under_test::external_api::{self, ExternalApi};
use bot_under_test::{quotes, Config, Database, Error, FaultConfig, Report, Updates};
use serde_json::{json, Value};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub const TOKEN: &str = "123456:test-token";
/// How long a test waits for an answer it expects.
pub const ANSWER_WAIT_MS: u64 = 10_000;
/// How long a test waits for an answer it expects never to come.
pub const NO_ANSWER_WAIT_MS: u64 = 1_500;

/// mock-telegram serving one bot token on 127.0.0.1, on a runtime of its own; it stops when dropped.
pub struct Mock {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Mock {
    pub fn start() -> Mock {
        let (addr_tx, addr_rx) = std::sync::mpsc::channel();
        let (stop, stopped) = oneshot::channel::<()>();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build();
            runtime.expect("mock runtime").block_on(async move {
                let server = mock_telegram::Server::new(mock_telegram::Config::default()).expect("mock server");
                server.add_bot(TOKEN, Some("tgload_test_bot".into())).expect("mock bot");
                let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind mock");
                addr_tx.send(listener.local_addr().expect("mock address")).expect("send mock address");
                let shutdown = async move {
                    let _ = stopped.await;
                };
                mock_telegram::serve(listener, server, shutdown).await.expect("mock serve");
            });
        });
        let addr = addr_rx.recv_timeout(Duration::from_secs(10)).expect("mock did not start");
        Mock { addr, stop: Some(stop) }
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Mock {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// A client for the mock's control API, for one bot.
#[derive(Clone)]
pub struct Control {
    http: reqwest::Client,
    base: String,
}

impl Control {
    pub fn new(mock_url: &str) -> Control {
        Control { http: reqwest::Client::new(), base: format!("{mock_url}/control/bots/{TOKEN}") }
    }

    /// Posts an action and returns the mock's response (outcome, answer, timings).
    pub async fn act(&self, chat_id: i64, action: Value, wait_ms: u64) -> anyhow::Result<Value> {
        let body = json!({ "chat_id": chat_id, "action": action, "wait_ms": wait_ms });
        let response = self.http.post(format!("{}/actions", self.base)).json(&body).send().await?;
        let status = response.status();
        let value: Value = response.json().await?;
        if !status.is_success() {
            bail!("action {body} failed with {status}: {value}");
        }
        Ok(value)
    }

    /// Sends `text` and returns the answer, failing unless it was answered.
    pub async fn answered(&self, chat_id: i64, text: &str) -> anyhow::Result<Value> {
        let response = self.act(chat_id, json!({ "kind": "text", "text": text }), ANSWER_WAIT_MS).await?;
        if response["outcome"] != "answered" {
            bail!("{text:?} was not answered: {response}");
        }
        Ok(response)
    }

    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let response = self.http.get(format!("{}{path}", self.base)).send().await?.error_for_status()?;
        Ok(response.json().await?)
    }

    /// Waits until the bot polls (or has set its webhook), as the harness does before the load starts.
    pub async fn wait_for_mode(&self, mode: &str) -> anyhow::Result<()> {
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            let status = self.get("").await?;
            if status["mode"] == mode {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!("bot never reached mode {mode:?}: {status}");
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// The text of an action's answer.
pub fn answer_text(response: &Value) -> &str {
    response["answer"]["text"].as_str().unwrap_or_default()
}

/// Handling time (delivered to the bot → answered) of an answered action.
pub fn handling(response: &Value) -> Duration {
    let timings = &response["timings_us"];
    let delivered = timings["delivered"].as_u64().expect("delivered");
    let answered = timings["answered"].as_u64().expect("answered");
    Duration::from_micros(answered.saturating_sub(delivered))
}

/// A fresh SQLite path under the temp dir, unique per call.
pub fn temp_db() -> PathBuf {
    static NEXT: AtomicU64 = AtomicU64::new(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    std::env::temp_dir().join(format!("bot-under-test-it-{}-{n}.sqlite", std::process::id()))
}

pub fn remove_db(path: &Path) {
    for suffix in ["", "-wal", "-shm"] {
        let _ = std::fs::remove_file(format!("{}{suffix}", path.display()));
    }
}

/// What a test changes from the defaults.
pub struct Setup {
    pub faults: FaultConfig,
    pub external: external_api::Config,
    pub client: quotes::Config,
}

impl Default for Setup {
    fn default() -> Self {
        let fast = |ms| external_api::Endpoint {
            latency: external_api::Latency::Fixed(Duration::from_millis(ms)),
            faults: Vec::new(),
        };
        Setup {
            faults: FaultConfig::default(),
            external: external_api::Config { quote: fast(1), ask: fast(20), seed: 1 },
            client: quotes::Config::default(),
        }
    }
}

/// The mock, the external API and the bot running in-process, polling.
pub struct Rig {
    pub control: Control,
    pub api: ExternalApi,
    pub db_path: PathBuf,
    stop: Option<oneshot::Sender<()>>,
    bot: JoinHandle<Result<Report, Error>>,
    _mock: Mock,
}

impl Rig {
    pub async fn start(setup: Setup) -> anyhow::Result<Rig> {
        let mock = Mock::start();
        let api = ExternalApi::start(setup.external).await.expect("start the external api mock");
        let db_path = temp_db();
        let config = Config {
            token: TOKEN.to_owned(),
            api_url: mock.url().parse()?,
            updates: Updates::Polling,
            database: Database::Sqlite { path: db_path.clone() },
            external_api: quotes::Config { url: Some(api.uri().parse()?), ..setup.client },
            faults: setup.faults,
        };
        let (stop, stopped) = oneshot::channel::<()>();
        let bot = tokio::spawn(bot_under_test::run(config, async move {
            let _ = stopped.await;
        }));
        let control = Control::new(&mock.url());
        control.wait_for_mode("polling").await?;
        Ok(Rig { control, api, db_path, stop: Some(stop), bot, _mock: mock })
    }

    /// Stops the bot through its shutdown future and returns its report.
    pub async fn stop(mut self) -> anyhow::Result<Report> {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.join().await
    }

    /// Waits for the bot to stop on its own (the exit-after fault).
    pub async fn join(&mut self) -> anyhow::Result<Report> {
        let report =
            tokio::time::timeout(Duration::from_secs(20), &mut self.bot).await.context("bot did not stop")??;
        remove_db(&self.db_path);
        Ok(report?)
    }
}
