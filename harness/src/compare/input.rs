//! What `tgload compare` reads of a run directory: views of `summary.json` (schema_version 1 or 2) and `meta.json` with
//! only the fields it compares, parsed from text into errors that name the file, line and column. The harness's
//! own `summary::Summary` only serializes; this is the reading side, and it ignores every field it does not use,
//! so a summary that gains fields stays readable. It does no I/O: `command` reads the files.

use std::path::Path;

use serde::Deserialize;

use crate::error::Error;

/// The schema version of `summary.json` this view reads.
pub const SUMMARY_SCHEMA_VERSION: u64 = crate::summary::SCHEMA_VERSION as u64;

/// One run directory, as compared.
#[derive(Debug, Clone, Default)]
pub struct Run {
    /// The directory as given on the command line.
    pub dir: String,
    pub summary: Summary,
    /// `None` when the run has no `meta.json`.
    pub meta: Option<Meta>,
    /// The steady seconds' end-to-end percentiles from `latency.hlog`: the within-run samples.
    pub steady: Steady,
}

/// The end-to-end latency percentiles of each second in a hold of the load (after the ramps), in ms, in time
/// order. Empty when the run has no interval log or no hold: its whole-run figures stand in then.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Steady {
    pub p50: Vec<f64>,
    pub p95: Vec<f64>,
    pub p99: Vec<f64>,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Summary {
    pub schema_version: u64,
    pub scenario: String,
    pub status: String,
    pub duration_s: f64,
    /// Runs written before the counts were kept have zeros.
    #[serde(default)]
    pub actions: Actions,
    /// A fraction of the actions sent, 0..=1.
    pub error_rate: f64,
    pub throughput_per_s: f64,
    pub latency_ms: Latency,
    /// Runs written before the per-action breakdown have none.
    #[serde(default)]
    pub by_action: Vec<Action>,
    pub bot: Bot,
    /// Runs without scheduled faults (or written before recovery was measured) have none.
    #[serde(default)]
    pub faults: Vec<Fault>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Actions {
    pub sent: u64,
    pub answered: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Fault {
    pub name: String,
    /// `null` when the bot had not recovered by the end of the run (or there was no baseline).
    pub recovery_s: Option<f64>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Latency {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Action {
    pub action: String,
    pub latency_ms: Latency,
}

#[derive(Debug, Clone, Copy, Default, Deserialize)]
pub struct Bot {
    pub rss_peak_mb: f64,
    /// `null` when the run was too short to estimate it.
    pub rss_drift_mb_per_h: Option<f64>,
    pub cpu_mean_pct: f64,
}

/// The parts of `meta.json` that tell two runs apart.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Meta {
    pub commit: Option<String>,
    pub scenario_sha256: Option<String>,
    /// The scenario as run (after `--users` and `--duration`); kept as JSON and read leniently, because its shape
    /// belongs to the scenario format, not to this comparison.
    #[serde(default)]
    pub scenario: Option<serde_json::Value>,
    #[serde(default)]
    pub command_line: Vec<String>,
    pub tgload_version: Option<String>,
    #[serde(default)]
    pub machine: Machine,
}

/// The machine a run ran on, as far as a comparison cares.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Machine {
    pub cpu_model: Option<String>,
}

/// The size of a run's load: its busiest step's users and how long its steps last.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Load {
    pub peak_users: u64,
    pub duration_s: f64,
}

impl Meta {
    /// The load from the scenario's `steps` (`users`, `ramp` and `hold` in seconds), if they are there.
    pub fn load(&self) -> Option<Load> {
        let steps = self.scenario.as_ref()?.get("steps")?.as_array()?;
        let mut load = Load { peak_users: 0, duration_s: 0.0 };
        for step in steps {
            load.peak_users = load.peak_users.max(step.get("users")?.as_u64()?);
            load.duration_s += step.get("ramp")?.as_f64()? + step.get("hold")?.as_f64()?;
        }
        Some(load)
    }

    /// The holds of the load, `[start, end)` in seconds since the load started: each step's part after its ramp.
    /// Empty when the scenario is not recorded.
    pub fn holds(&self) -> Vec<(f64, f64)> {
        let Some(steps) = self.scenario.as_ref().and_then(|s| s.get("steps")).and_then(|s| s.as_array()) else {
            return Vec::new();
        };
        let mut at = 0.0;
        let mut holds = Vec::new();
        for step in steps {
            let seconds = |key: &str| step.get(key).and_then(serde_json::Value::as_f64).unwrap_or(0.0);
            at += seconds("ramp");
            let hold = seconds("hold");
            if hold > 0.0 {
                holds.push((at, at + hold));
            }
            at += hold;
        }
        holds
    }

    /// The scenario's `[compare]` table as recorded: its threshold (a fraction) and its gated metrics.
    pub fn compare_settings(&self) -> (Option<f64>, Option<Vec<String>>) {
        let Some(table) = self.scenario.as_ref().and_then(|s| s.get("compare")) else { return (None, None) };
        let threshold = table.get("threshold").and_then(serde_json::Value::as_f64);
        let gate = table
            .get("gate")
            .and_then(|g| g.as_array())
            .map(|names| names.iter().filter_map(|n| n.as_str().map(str::to_string)).collect());
        (threshold, gate)
    }

    /// Whether the run delivered updates by webhook (`--webhook` on its command line).
    pub fn webhook(&self) -> bool {
        self.command_line.iter().any(|a| a == "--webhook")
    }
}

/// Only the version, read first: a summary of another version may not have the fields this view needs, and
/// "wrong version" is the error to give then, not "missing field".
#[derive(Deserialize)]
struct Version {
    schema_version: Option<u64>,
}

/// Parses `summary.json`'s text; `path` is only for the error messages.
pub fn parse_summary(path: &Path, text: &str) -> Result<Summary, Error> {
    let version: Version = serde_json::from_str(text).map_err(|e| malformed(path, &e))?;
    match version.schema_version {
        // Version 2 only added keys (verdicts) to version 1: this view reads both.
        Some(1..=SUMMARY_SCHEMA_VERSION) => serde_json::from_str(text).map_err(|e| malformed(path, &e)),
        Some(other) => Err(Error::Usage(format!(
            "{}: schema_version {other}, but this tgload reads schema_version 1 to {SUMMARY_SCHEMA_VERSION}",
            path.display()
        ))),
        None => Err(Error::Usage(format!("{}: no schema_version: not a tgload summary", path.display()))),
    }
}

/// Parses `meta.json`'s text; `path` is only for the error messages.
pub fn parse_meta(path: &Path, text: &str) -> Result<Meta, Error> {
    serde_json::from_str(text).map_err(|e| malformed(path, &e))
}

/// `path:line:column: message`, without serde_json's own " at line L column C" suffix.
fn malformed(path: &Path, error: &serde_json::Error) -> Error {
    let message = error.to_string();
    let message = message.rsplit_once(" at line ").map_or(message.as_str(), |(m, _)| m);
    Error::Usage(format!("{}:{}:{}: {message}", path.display(), error.line(), error.column()))
}

impl Steady {
    /// Adds one second of the end-to-end log, `start_s` seconds after the load started, if the whole second lies in
    /// one of `holds`; a second with no answer has no percentile and is skipped.
    pub fn add(&mut self, holds: &[(f64, f64)], start_s: u64, e2e: &hdrhistogram::Histogram<u64>) {
        let (from, to) = (start_s as f64, start_s as f64 + 1.0);
        if e2e.is_empty() || !holds.iter().any(|&(start, end)| start <= from && to <= end) {
            return;
        }
        let ms = |q: f64| e2e.value_at_quantile(q) as f64 / 1000.0;
        self.p50.push(ms(0.50));
        self.p95.push(ms(0.95));
        self.p99.push(ms(0.99));
    }
}
