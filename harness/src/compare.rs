//! `tgload compare`: two runs side by side, metric by metric, each judged `better`, `worse` or `same` against a
//! relative threshold and an absolute noise floor. This module and `markdown` are pure: they read no file and no
//! clock. `input` is the reading side of `summary.json` and `meta.json`; `command` does the reading and writing.

pub mod command;
pub mod input;
mod markdown;

use std::fmt;

use serde::Serialize;

pub use command::{run, Options, Outcome};
pub use input::{Meta, Run, Summary};
pub use markdown::{markdown, Charts};

/// The version of `compare.json`'s shape (`docs/run-directory.md`).
pub const SCHEMA_VERSION: u32 = 1;

// Noise floors: an absolute change smaller than these is `same`, whatever its relative size, because two runs of
// the same build differ by about this much and a small base makes a large ratio out of nothing (0.3 → 0.6 ms is
// +100%).

/// Latency is timed to the microsecond, but the due-time timer, the scheduler and HdrHistogram's 3 significant
/// digits move percentiles by fractions of a millisecond between identical runs on a shared machine.
pub const LATENCY_FLOOR_MS: f64 = 1.0;
/// In percentage points: 0.01 pp is one error in 10,000 actions, about what a timeout at a run's very end adds.
pub const ERROR_RATE_FLOOR_PP: f64 = 0.01;
/// Answers per second: the last second's answers and the measured duration move it a little between runs of one
/// schedule.
pub const THROUGHPUT_FLOOR_PER_S: f64 = 0.5;
/// RSS moves by allocator arenas and pages, a few hundred KB between identical runs.
pub const RSS_FLOOR_MB: f64 = 1.0;
/// The drift of a bot that does not leak was measured at 15 MB/h (docs/run-directory.md); below 20 MB/h a
/// difference is the estimate's noise, not a leak.
pub const DRIFT_FLOOR_MB_PER_H: f64 = 20.0;
/// Recovery is judged on whole seconds of the per-second series: a change under a second is its resolution.
pub const RECOVERY_FLOOR_S: f64 = 1.0;
/// In percentage points of one core: sampled CPU of an idle-ish bot jitters by a point or two on a shared machine.
pub const CPU_FLOOR_PCT: f64 = 2.0;

/// How large a relative change must be to count, as a fraction of the base (0.1 is 10%).
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
#[serde(transparent)]
pub struct Threshold(f64);

impl Threshold {
    pub const DEFAULT: Threshold = Threshold(0.1);

    /// `10%` or `0.1`; a bare number above 1 is refused, because `10` is more likely meant as 10% than as 1000%.
    pub fn parse(text: &str) -> Result<Threshold, String> {
        let text = text.trim();
        let (number, scale) = match text.strip_suffix('%') {
            Some(number) => (number.trim(), 100.0),
            None => (text, 1.0),
        };
        let value: f64 = number.parse().map_err(|_| format!("`{text}` is not a threshold: write 10% or 0.1"))?;
        if !value.is_finite() || value < 0.0 {
            return Err(format!("`{text}` is not a threshold: it must be a positive number, e.g. 10% or 0.1"));
        }
        if scale == 1.0 && value > 1.0 {
            return Err(format!("`{text}` is ambiguous: write {value}% for a percentage, or a fraction up to 1"));
        }
        Ok(Threshold(value / scale))
    }

    pub fn fraction(self) -> f64 {
        self.0
    }
}

impl fmt::Display for Threshold {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Rounded so that 0.07 shows as 7%, not 7.000000000000001%.
        write!(f, "{}%", (self.0 * 100.0 * 1e9).round() / 1e9)
    }
}

/// Which way a metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Lower,
    Higher,
}

/// The judgement of one metric, and of the whole comparison (`worse` if any metric is, else `better` if any is).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Better,
    Worse,
    Same,
    /// A value is missing on one side (a drift too short to estimate): nothing to judge, never an alarm.
    #[serde(rename = "n/a")]
    NotComparable,
}

impl Verdict {
    /// The name `compare.json` and the table use.
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Better => "better",
            Verdict::Worse => "worse",
            Verdict::Same => "same",
            Verdict::NotComparable => "n/a",
        }
    }
}

/// A metric's unit as `compare.json` and the table write it. Percentages (error rate, CPU) change by percentage
/// points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Unit {
    #[serde(rename = "ms")]
    Ms,
    #[serde(rename = "%")]
    Percent,
    #[serde(rename = "/s")]
    PerSecond,
    #[serde(rename = "MB")]
    Mb,
    #[serde(rename = "MB/h")]
    MbPerHour,
    #[serde(rename = "s")]
    Seconds,
}

/// One metric of `summary.json` that is compared.
struct Metric {
    /// Its path in `summary.json`.
    key: &'static str,
    label: &'static str,
    unit: Unit,
    better: Better,
    floor: f64,
    value: fn(&Summary) -> Option<f64>,
}

const fn latency(key: &'static str, label: &'static str, value: fn(&Summary) -> Option<f64>) -> Metric {
    Metric { key, label, unit: Unit::Ms, better: Better::Lower, floor: LATENCY_FLOOR_MS, value }
}

/// The whole-run metrics, in the table's order.
const METRICS: [Metric; 10] = [
    latency("latency_ms.p50", "latency p50", |s| Some(s.latency_ms.p50)),
    latency("latency_ms.p95", "latency p95", |s| Some(s.latency_ms.p95)),
    latency("latency_ms.p99", "latency p99", |s| Some(s.latency_ms.p99)),
    latency("latency_ms.p999", "latency p99.9", |s| Some(s.latency_ms.p999)),
    latency("latency_ms.max", "latency max", |s| Some(s.latency_ms.max)),
    Metric {
        key: "error_rate",
        label: "error rate",
        unit: Unit::Percent,
        better: Better::Lower,
        floor: ERROR_RATE_FLOOR_PP,
        // summary.json holds a fraction; the comparison is in percent, so that its delta is in percentage points.
        value: |s| Some(s.error_rate * 100.0),
    },
    Metric {
        key: "throughput_per_s",
        label: "throughput",
        unit: Unit::PerSecond,
        better: Better::Higher,
        floor: THROUGHPUT_FLOOR_PER_S,
        value: |s| Some(s.throughput_per_s),
    },
    Metric {
        key: "bot.rss_peak_mb",
        label: "bot RSS peak",
        unit: Unit::Mb,
        better: Better::Lower,
        floor: RSS_FLOOR_MB,
        value: |s| Some(s.bot.rss_peak_mb),
    },
    Metric {
        key: "bot.rss_drift_mb_per_h",
        label: "bot RSS drift",
        unit: Unit::MbPerHour,
        better: Better::Lower,
        floor: DRIFT_FLOOR_MB_PER_H,
        value: |s| s.bot.rss_drift_mb_per_h,
    },
    Metric {
        key: "bot.cpu_mean_pct",
        label: "bot CPU mean",
        unit: Unit::Percent,
        better: Better::Lower,
        floor: CPU_FLOOR_PCT,
        value: |s| Some(s.bot.cpu_mean_pct),
    },
];

/// The per-action metric: end-to-end p95 of each action both runs have (`compare` reads it from `by_action`).
const ACTION_P95: Metric = latency("by_action.latency_ms.p95", "p95", |_| None);

/// The per-fault metric: the recovery time after each fault window both runs had (`compare` reads it from
/// `faults`). A bot that did not recover has no value, which `Row::new` ranks below every recovery.
const FAULT_RECOVERY: Metric = Metric {
    key: "faults.recovery_s",
    label: "recovery",
    unit: Unit::Seconds,
    better: Better::Lower,
    floor: RECOVERY_FLOOR_S,
    value: |_| None,
};

/// One line of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The metric's path in `summary.json`, e.g. `latency_ms.p95` or `by_action.latency_ms.p95`.
    pub metric: &'static str,
    /// The action, for a `by_action` metric; the fault window's name, for a `faults` one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub label: String,
    pub unit: Unit,
    pub better: Better,
    /// The absolute change under which the verdict is `same`, in `unit`.
    pub floor: f64,
    pub base: Option<f64>,
    pub candidate: Option<f64>,
    /// `candidate - base`, in `unit` (percentage points for percentages).
    pub delta: Option<f64>,
    /// `delta / base` as a fraction; `None` when a value is missing or the base is 0 and the candidate is not.
    pub relative: Option<f64>,
    pub verdict: Verdict,
}

impl Row {
    fn new(metric: &Metric, action: Option<&str>, base: Option<f64>, candidate: Option<f64>, t: Threshold) -> Row {
        let delta = base.zip(candidate).map(|(b, c)| c - b);
        Row {
            metric: metric.key,
            action: action.map(str::to_string),
            label: action.map_or_else(|| metric.label.to_string(), |a| format!("`{a}` {}", metric.label)),
            unit: metric.unit,
            better: metric.better,
            floor: metric.floor,
            base,
            candidate,
            delta,
            relative: base.zip(candidate).and_then(|(b, c)| relative(b, c)),
            verdict: match (metric.key == FAULT_RECOVERY.key, base, candidate) {
                // A missing recovery means the bot never recovered: the worst value there is, not an unknown one.
                (true, Some(_), None) => Verdict::Worse,
                (true, None, Some(_)) => Verdict::Better,
                (true, None, None) => Verdict::Same,
                _ => judge(base, candidate, metric.better, metric.floor, t),
            },
        }
    }
}

/// Judges one metric: `same` when the change is under the noise floor or within the threshold, else `better` or
/// `worse` by the metric's direction. A base of 0 makes any change above the floor exceed every threshold.
pub fn judge(base: Option<f64>, candidate: Option<f64>, better: Better, floor: f64, threshold: Threshold) -> Verdict {
    let (Some(base), Some(candidate)) = (base, candidate) else {
        return Verdict::NotComparable;
    };
    let delta = candidate - base;
    if delta.abs() < floor || relative(base, candidate).is_some_and(|r| r.abs() <= threshold.0) {
        return Verdict::Same;
    }
    let improved = match better {
        Better::Lower => delta < 0.0,
        Better::Higher => delta > 0.0,
    };
    if improved {
        Verdict::Better
    } else {
        Verdict::Worse
    }
}

fn relative(base: f64, candidate: f64) -> Option<f64> {
    if base == 0.0 {
        (candidate == 0.0).then_some(0.0)
    } else {
        Some((candidate - base) / base.abs())
    }
}

/// Which run a side of the comparison is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    /// The run directory as given on the command line.
    pub dir: String,
    pub scenario: String,
    pub status: String,
    pub duration_s: f64,
    /// From `meta.json`; `None` when it is missing or the run was outside a git checkout.
    pub commit: Option<String>,
    pub scenario_sha256: Option<String>,
}

impl Identity {
    fn of(run: &Run) -> Identity {
        let meta = run.meta.as_ref();
        Identity {
            dir: run.dir.clone(),
            scenario: run.summary.scenario.clone(),
            status: run.summary.status.clone(),
            duration_s: run.summary.duration_s,
            commit: meta.and_then(|m| m.commit.clone()),
            scenario_sha256: meta.and_then(|m| m.scenario_sha256.clone()),
        }
    }
}

/// The whole comparison: what `compare.json` holds, and what the table shows.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Comparison {
    pub schema_version: u32,
    pub base: Identity,
    pub candidate: Identity,
    pub threshold: Threshold,
    /// Whether both runs ran the same load: `None` when a `meta.json` is missing and it cannot be told.
    pub same_scenario: Option<bool>,
    /// Why the two runs are not like for like (another scenario, a run that did not complete), shown first.
    pub warnings: Vec<String>,
    pub rows: Vec<Row>,
    /// Actions one run has and the other does not: not compared.
    pub only_in_base: Vec<String>,
    pub only_in_candidate: Vec<String>,
    pub verdict: Verdict,
}

impl Comparison {
    /// How many rows have `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.rows.iter().filter(|r| r.verdict == verdict).count()
    }
}

/// Compares `candidate` with `base`.
pub fn compare(base: &Run, candidate: &Run, threshold: Threshold) -> Comparison {
    let (b, c) = (&base.summary, &candidate.summary);
    let mut rows: Vec<Row> = METRICS.iter().map(|m| Row::new(m, None, (m.value)(b), (m.value)(c), threshold)).collect();
    for action in &b.by_action {
        if let Some(other) = c.by_action.iter().find(|o| o.action == action.action) {
            let (p95, other_p95) = (Some(action.latency_ms.p95), Some(other.latency_ms.p95));
            rows.push(Row::new(&ACTION_P95, Some(&action.action), p95, other_p95, threshold));
        }
    }
    for fault in &b.faults {
        if let Some(other) = c.faults.iter().find(|o| o.name == fault.name) {
            rows.push(Row::new(&FAULT_RECOVERY, Some(&fault.name), fault.recovery_s, other.recovery_s, threshold));
        }
    }
    let only = |of: &Summary, not_in: &Summary| -> Vec<String> {
        let names = of.by_action.iter().map(|a| &a.action);
        names.filter(|n| !not_in.by_action.iter().any(|o| &o.action == *n)).cloned().collect()
    };
    let (same_scenario, mut warnings) = scenario_check(base, candidate);
    warnings.extend(status_warnings(base, candidate));
    let verdict = overall(&rows);
    Comparison {
        schema_version: SCHEMA_VERSION,
        base: Identity::of(base),
        candidate: Identity::of(candidate),
        threshold,
        same_scenario,
        warnings,
        only_in_base: only(b, c),
        only_in_candidate: only(c, b),
        rows,
        verdict,
    }
}

fn overall(rows: &[Row]) -> Verdict {
    if rows.iter().any(|r| r.verdict == Verdict::Worse) {
        Verdict::Worse
    } else if rows.iter().any(|r| r.verdict == Verdict::Better) {
        Verdict::Better
    } else {
        Verdict::Same
    }
}

/// Whether both runs ran the same load, and what says they did not: the scenario's name (`summary.json`), the
/// scenario text's hash, its steps as run (`--users` and `--duration` rescale them), and the delivery mode.
fn scenario_check(base: &Run, candidate: &Run) -> (Option<bool>, Vec<String>) {
    let (b, c) = (&base.summary.scenario, &candidate.summary.scenario);
    let mut warnings = Vec::new();
    if b != c {
        warnings.push(format!("different scenarios: base ran `{b}`, candidate ran `{c}`"));
    }
    let (Some(bm), Some(cm)) = (&base.meta, &candidate.meta) else {
        let missing = if base.meta.is_none() { "base" } else { "candidate" };
        warnings.push(format!("no meta.json in the {missing} run: whether both ran the same scenario is unknown"));
        // Different names already tell; the same name may still be a different file or load.
        let same = if b == c { None } else { Some(false) };
        return (same, warnings);
    };
    match (&bm.scenario_sha256, &cm.scenario_sha256) {
        (Some(x), Some(y)) if x != y => warnings.push(format!(
            "different scenario files: sha256 {} in base, {} in candidate",
            short(x, SHORT_HASH),
            short(y, SHORT_HASH)
        )),
        _ => {}
    }
    match (bm.load(), cm.load()) {
        (Some(x), Some(y)) if x != y => warnings.push(format!(
            "different loads (--users or --duration): base peaks at {} users over {} s, candidate at {} users over {} s",
            x.peak_users, x.duration_s, y.peak_users, y.duration_s
        )),
        _ => {}
    }
    if bm.webhook() != cm.webhook() {
        let mode = |webhook: bool| if webhook { "webhook" } else { "long polling" };
        warnings.push(format!(
            "different delivery: base by {}, candidate by {}",
            mode(bm.webhook()),
            mode(cm.webhook())
        ));
    }
    (Some(warnings.is_empty()), warnings)
}

fn status_warnings(base: &Run, candidate: &Run) -> Vec<String> {
    [("base", base), ("candidate", candidate)]
        .into_iter()
        .filter(|(_, run)| run.summary.status != "completed")
        .map(|(side, run)| {
            format!(
                "the {side} run did not complete (status {}): its numbers cover part of the load",
                run.summary.status
            )
        })
        .collect()
}

/// How many hex digits of a commit, and of a scenario hash, the table and the warnings show.
const SHORT_COMMIT: usize = 7;
const SHORT_HASH: usize = 12;

fn short(hex: &str, len: usize) -> &str {
    hex.get(..len).unwrap_or(hex)
}

#[cfg(test)]
mod tests;
