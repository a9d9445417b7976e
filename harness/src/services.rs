//! The services a run starts in its own process: mock-telegram on 127.0.0.1 (a free port) and the external
//! API mock the bot calls (`bot_under_test::external_api`). They are only started and stopped here; the
//! harness talks to the mock through its HTTP control API like any other client, except for users' actions,
//! which are handed to the in-process mock directly (`link`).

use std::ops::Range;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use bot_under_test::external_api::{self, ExternalApi};

use crate::error::Error;
use crate::scenario;

/// Messages the mock keeps per chat (its default). Users press buttons on the menu the bot sent them, which the
/// mock keeps longest; at 10,000 chats the whole tgload process stays near 234 MB with it.
const CHAT_HISTORY: usize = 16;

pub struct Mock {
    pub url: String,
    server: Arc<mock_telegram::Server>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), mock_telegram::Error>>,
}

impl Mock {
    /// Binds 127.0.0.1:0 and serves the mock (HTTP/1.1 and h2c) in the background, enforcing `flood` if given.
    pub async fn start(flood: Option<mock_telegram::flood::FloodLimits>) -> Result<Mock, Error> {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| Error::Mock(format!("cannot bind 127.0.0.1:0: {e}")))?;
        let address = listener.local_addr().map_err(|e| Error::Mock(e.to_string()))?;
        // telegraf always registers an https URL; the bot serves it on loopback as plain http, so deliver it so.
        let config = mock_telegram::Config {
            history: CHAT_HISTORY,
            webhook_https_to_http: true,
            flood,
            ..mock_telegram::Config::default()
        };
        let server = mock_telegram::Server::new(config).map_err(|e| Error::Mock(e.to_string()))?;
        let (shutdown, stop) = oneshot::channel::<()>();
        let task = tokio::spawn(mock_telegram::serve(listener, server.clone(), async move {
            let _ = stop.await;
        }));
        Ok(Mock { url: format!("http://{address}"), server, shutdown: Some(shutdown), task })
    }

    /// The mock itself, for actions from this process, which need no socket (`link`).
    pub fn server(&self) -> Arc<mock_telegram::Server> {
        self.server.clone()
    }

    /// Ends long polls, stops accepting and waits (briefly) for the server to finish.
    pub async fn stop(mut self) {
        self.server.close();
        if let Some(shutdown) = self.shutdown.take() {
            let _ = shutdown.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(5), &mut self.task).await;
        self.task.abort();
    }
}

/// Starts the external API mock with the scenario's latencies and its external API fault windows. The windows
/// count from the mock's start until the session calls `set_origin` with the load's start.
pub async fn start_external_api(
    latencies: &scenario::ExternalApi,
    faults: &[scenario::Fault],
    seed: u64,
) -> Result<ExternalApi, Error> {
    let windows = |which: scenario::Endpoint| {
        let windows = faults.iter().filter_map(|f| match f.target {
            scenario::Target::ExternalApi { endpoint, kind } if endpoint == which => Some(external_api::FaultWindow {
                start: f.start,
                duration: f.duration,
                kind: match kind {
                    scenario::ExternalFault::Error => external_api::FaultKind::Error500,
                    scenario::ExternalFault::Timeout => external_api::FaultKind::Timeout,
                },
            }),
            _ => None,
        });
        windows.collect()
    };
    let endpoint = |latency: &Range<Duration>, which| external_api::Endpoint {
        latency: external_api::Latency::Uniform { min: latency.start, max: latency.end },
        faults: windows(which),
    };
    ExternalApi::start(external_api::Config {
        quote: endpoint(&latencies.quote_latency, scenario::Endpoint::Quote),
        ask: endpoint(&latencies.ask_latency, scenario::Endpoint::Ask),
        seed,
    })
    .await
    .map_err(Error::io("start the external api mock"))
}
