//! Serves the live metrics: one axum route, `GET /metrics`, rendering the latest `Snapshot` when asked. The run's
//! loop publishes a snapshot once a second into a `watch` channel; a scrape only reads the latest one, so however
//! often Prometheus scrapes, the run does no more work.

use std::net::SocketAddr;

use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use axum::routing::get;
use axum::Router;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;

use super::{render, Snapshot};
use crate::error::Error;

/// The Prometheus text format's content type.
const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// The live metrics endpoint of one run, served in the background until it is dropped.
#[derive(Debug)]
pub struct Exporter {
    url: String,
    snapshot: watch::Sender<Snapshot>,
    task: JoinHandle<()>,
}

impl Exporter {
    /// Listens on `addr` (port 0: a free one) and serves `/metrics` from now on, zeros until the first publish.
    pub async fn bind(addr: SocketAddr) -> Result<Exporter, Error> {
        let refused = |e: std::io::Error| Error::Usage(format!("--metrics-addr {addr}: cannot listen there: {e}"));
        let listener = TcpListener::bind(addr).await.map_err(refused)?;
        let local = listener.local_addr().map_err(refused)?;
        let (snapshot, receiver) = watch::channel(Snapshot::default());
        let task = tokio::spawn(async move {
            if let Err(error) = serve(listener, receiver, std::future::pending()).await {
                tracing::warn!(%error, "the live metrics endpoint stopped");
            }
        });
        Ok(Exporter { url: format!("http://{local}/metrics"), snapshot, task })
    }

    /// `http://ADDR/metrics`, with the port actually bound.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Replaces what `/metrics` shows.
    pub fn publish(&self, snapshot: Snapshot) {
        self.snapshot.send_replace(snapshot);
    }
}

impl Drop for Exporter {
    /// Stops serving: a scrape in progress is cut off, which a scraper retries at its next interval.
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// The router: `/metrics` from the latest snapshot of `snapshot`.
pub fn app(snapshot: watch::Receiver<Snapshot>) -> Router {
    Router::new().route("/metrics", get(metrics)).with_state(snapshot)
}

async fn metrics(State(snapshot): State<watch::Receiver<Snapshot>>) -> impl IntoResponse {
    let latest = *snapshot.borrow();
    ([(header::CONTENT_TYPE, CONTENT_TYPE)], render(&latest))
}

/// Serves `app` on an already-bound `listener` until `shutdown` completes.
pub async fn serve(
    listener: TcpListener,
    snapshot: watch::Receiver<Snapshot>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    axum::serve(listener, app(snapshot)).with_graceful_shutdown(shutdown).await
}
