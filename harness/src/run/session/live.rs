//! The run's live view beyond the progress line: the live metrics endpoint (`metrics::Exporter`), fed once a
//! second from the figures the tick already has, and where the live metrics are recorded in `meta.json` (the
//! harness's, and the in-process mock's own `/metrics` once it listens).

use std::time::Duration;

use serde_json::{json, Value};

use super::Session;
use crate::collector::Live as LastSecond;
use crate::error::Error;
use crate::metrics::{Exporter, Rates, Snapshot};
use crate::rundir::RunDir;
use crate::sampler::Sample;

/// The live metrics of one run: `None` when they are not served.
pub struct LiveMetrics {
    exporter: Option<Exporter>,
    /// `meta.json` as written, for adding the mock's address.
    meta: Value,
    rates: Rates,
    sample: Option<Sample>,
}

impl LiveMetrics {
    pub fn new(meta: Value, exporter: Option<Exporter>) -> LiveMetrics {
        LiveMetrics { exporter, meta, rates: Rates::default(), sample: None }
    }

    /// Prints the mock's own metrics address and records it in `meta.json`.
    pub(super) fn record_mock(&mut self, dir: &RunDir, mock_url: &str) -> Result<(), Error> {
        let url = format!("{mock_url}/metrics");
        eprintln!("tgload: the mock's metrics at {url}");
        let mut metrics = self.meta["metrics"].take();
        metrics["mock"] = json!(url);
        self.record(dir, "metrics", metrics)
    }

    /// Sets `meta.json`'s `key` and rewrites it.
    pub(super) fn record(&mut self, dir: &RunDir, key: &str, value: Value) -> Result<(), Error> {
        self.meta[key] = value;
        dir.write_file("meta.json", serde_json::to_string_pretty(&self.meta).unwrap_or_default().as_bytes())
    }

    /// Keeps the latest resource sample for the next snapshot.
    pub(super) fn sampled(&mut self, sample: &Sample) {
        self.sample = Some(*sample);
    }
}

impl Session {
    /// Publishes the tick's snapshot; `last` is what came in since the previous tick.
    pub(super) fn publish_live(&mut self, now_us: u64, elapsed: Duration, last: &LastSecond, started_users: usize) {
        let live = &mut self.live;
        let Some(exporter) = &live.exporter else { return };
        let totals = self.load.collector.totals();
        let (sent_per_s, answered_per_s) = live.rates.update(now_us, totals.sent, totals.answered);
        let e2e = &totals.e2e;
        let run_ms = (!e2e.is_empty()).then(|| [0.5, 0.95, 0.99].map(|q| e2e.value_at_quantile(q) as f64 / 1e3));
        exporter.publish(Snapshot {
            elapsed_s: if self.load.started { elapsed.as_secs_f64() } else { 0.0 },
            planned_s: self.schedule.duration().as_secs_f64(),
            sent: totals.sent,
            answered: totals.answered,
            errors: totals.errors,
            sent_per_s,
            answered_per_s,
            last_ms: last.p50_ms.zip(last.p95_ms).zip(last.p99_ms).map(|((p50, p95), p99)| [p50, p95, p99]),
            run_ms,
            active_users: if self.load.stopping.is_some() { 0 } else { self.schedule.active_users(elapsed) },
            started_users,
            bot: live.sample.and_then(|s| s.bot),
            harness: live.sample.map(|s| s.harness),
        });
    }
}
