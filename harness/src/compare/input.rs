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
}

#[derive(Debug, Clone, Default, Deserialize)]
pub struct Summary {
    pub schema_version: u64,
    pub scenario: String,
    pub status: String,
    pub duration_s: f64,
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
