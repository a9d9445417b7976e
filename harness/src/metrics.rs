//! The live metrics of a run in Prometheus' text format (`tgload run --metrics-addr`): counts of actions and of
//! errors by category, per-second rates, latency quantiles of the last second and of the whole run, users, and the
//! bot's and the harness's RSS and CPU. The run's loop fills a `Snapshot` once a second from what it already has
//! (the collector's totals and histograms, the last resource sample), and `render` turns it into text when a
//! scraper asks; nothing is kept per request or per action. Pure; `exporter` serves it.

mod exporter;

use std::fmt::Write;

use crate::collector::ErrorCounts;
use crate::sampler::Usage;

pub use exporter::{app, serve, Exporter};

/// The quantiles of the latency gauges, as Prometheus' own summaries label them.
const QUANTILES: [&str; 3] = ["0.5", "0.95", "0.99"];

/// What `/metrics` shows: the run as of the loop's last tick.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Snapshot {
    /// Seconds since the load started (0 before), and how long it is planned to last.
    pub elapsed_s: f64,
    pub planned_s: f64,
    /// Actions whose results came in (sent, or expired unsent), answered ones, and errors by category.
    pub sent: u64,
    pub answered: u64,
    pub errors: ErrorCounts,
    /// The same counts per second, over the last tick.
    pub sent_per_s: f64,
    pub answered_per_s: f64,
    /// End-to-end latency p50, p95 and p99 in ms: of the answers since the last tick, and of the whole run;
    /// `None` without any.
    pub last_ms: Option<[f64; 3]>,
    pub run_ms: Option<[f64; 3]>,
    /// The users the plan has active now, and the users started so far.
    pub active_users: usize,
    pub started_users: usize,
    /// The last resource sample: `None` for the bot while it is not running, for both before the first sample.
    pub bot: Option<Usage>,
    pub harness: Option<Usage>,
}

/// Per-second rates from successive counts: each update divides the counts' growth by the time since the
/// previous update. A tick that comes too soon after the last (the loop catching up) keeps the last rates, which
/// a few results over a few milliseconds would only distort.
#[derive(Debug, Clone, Default)]
pub struct Rates {
    last: Option<(u64, u64, u64)>,
    rates: (f64, f64),
}

impl Rates {
    /// The shortest span rates are taken over.
    const MIN_SPAN_US: u64 = 500_000;

    /// `sent` and `answered` as of `t_us` (µs, any clock); returns the rates per second of both.
    pub fn update(&mut self, t_us: u64, sent: u64, answered: u64) -> (f64, f64) {
        match self.last {
            None => self.last = Some((t_us, sent, answered)),
            Some((t0, s0, a0)) if t_us >= t0 + Self::MIN_SPAN_US => {
                let span_s = (t_us - t0) as f64 / 1e6;
                let per_s = |now: u64, then: u64| now.saturating_sub(then) as f64 / span_s;
                self.rates = (per_s(sent, s0), per_s(answered, a0));
                self.last = Some((t_us, sent, answered));
            }
            Some(_) => {}
        }
        self.rates
    }
}

/// One metric family: its samples, each with its labels (`category="timeout"`) and value.
struct Family<'a> {
    name: &'a str,
    kind: &'a str,
    help: &'a str,
    samples: Vec<(String, f64)>,
}

impl Family<'_> {
    fn write(&self, out: &mut String) {
        let _ = writeln!(out, "# HELP {} {}\n# TYPE {} {}", self.name, self.help, self.name, self.kind);
        for (labels, value) in &self.samples {
            let braces = if labels.is_empty() { String::new() } else { format!("{{{labels}}}") };
            let _ = writeln!(out, "{}{braces} {value}", self.name);
        }
    }
}

fn one<'a>(name: &'a str, kind: &'a str, help: &'a str, value: f64) -> Family<'a> {
    Family { name, kind, help, samples: vec![(String::new(), value)] }
}

/// The text `/metrics` answers with (Prometheus exposition format 0.0.4).
pub fn render(s: &Snapshot) -> String {
    let mut out = String::new();
    for family in families(s) {
        family.write(&mut out);
    }
    out
}

fn families(s: &Snapshot) -> Vec<Family<'static>> {
    let mut all = vec![
        one("tgload_elapsed_seconds", "gauge", "Seconds since the load started.", s.elapsed_s),
        one("tgload_planned_seconds", "gauge", "How long the load is planned to last.", s.planned_s),
        one(
            "tgload_actions_sent_total",
            "counter",
            "Actions whose results came in (sent, or expired unsent).",
            s.sent as f64,
        ),
        one("tgload_actions_answered_total", "counter", "Actions the bot answered.", s.answered as f64),
        one("tgload_actions_sent_per_second", "gauge", "Actions per second over the last second.", s.sent_per_s),
        one(
            "tgload_actions_answered_per_second",
            "gauge",
            "Answers per second over the last second.",
            s.answered_per_s,
        ),
        errors(&s.errors),
        latency(s),
        one("tgload_users_active", "gauge", "Users the plan has active now.", s.active_users as f64),
        one("tgload_users_started", "gauge", "Users started so far.", s.started_users as f64),
        one(
            "tgload_bot_up",
            "gauge",
            "1 while the bot process runs and is sampled.",
            f64::from(u8::from(s.bot.is_some())),
        ),
    ];
    all.extend(usage(s.bot, BOT));
    all.extend(usage(s.harness, HARNESS));
    all
}

fn errors(e: &ErrorCounts) -> Family<'static> {
    let by_category = [
        ("timeout", e.timeout),
        ("bot_api_error", e.bot_api_error),
        ("bot_crashed", e.bot_crashed),
        ("sent_late", e.sent_late),
        ("transport", e.transport),
        ("wrong_answer", e.wrong_answer),
    ];
    Family {
        name: "tgload_errors_total",
        kind: "counter",
        help: "Failed actions by category, as summary.json names them.",
        samples: by_category.iter().map(|(c, n)| (format!("category=\"{c}\""), *n as f64)).collect(),
    }
}

fn latency(s: &Snapshot) -> Family<'static> {
    let mut samples = Vec::new();
    for (window, values) in [("second", s.last_ms), ("run", s.run_ms)] {
        for (quantile, ms) in QUANTILES.iter().zip(values.into_iter().flatten()) {
            samples.push((format!("window=\"{window}\",quantile=\"{quantile}\""), ms / 1e3));
        }
    }
    Family {
        name: "tgload_latency_seconds",
        kind: "gauge",
        help: "End-to-end latency (due to answer) quantiles: of the last second's answers, and of the whole run.",
        samples,
    }
}

/// A process's RSS and CPU gauges: their names and help texts.
type UsageNames = [&'static str; 4];

const BOT: UsageNames = [
    "tgload_bot_rss_bytes",
    "Resident memory of the bot, its child processes included, in bytes.",
    "tgload_bot_cpu_cores",
    "CPU use of the bot, its child processes included, in cores (1 = one core busy).",
];

const HARNESS: UsageNames = [
    "tgload_harness_rss_bytes",
    "Resident memory of the harness (it hosts the mock too), in bytes.",
    "tgload_harness_cpu_cores",
    "CPU use of the harness (it hosts the mock too), in cores (1 = one core busy).",
];

/// The RSS and CPU gauges of one process, none without a sample.
fn usage(u: Option<Usage>, [rss, rss_help, cpu, cpu_help]: UsageNames) -> Vec<Family<'static>> {
    let Some(u) = u else { return Vec::new() };
    vec![one(rss, "gauge", rss_help, u.rss_bytes as f64), one(cpu, "gauge", cpu_help, u.cpu_pct / 100.0)]
}

#[cfg(test)]
mod tests;
