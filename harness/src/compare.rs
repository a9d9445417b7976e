//! `tgload compare`: two sides, each one run or a set of repeats, metric by metric. The run is the unit of
//! replication: each metric's shift comes with a 95 % interval over runs (`shift`), and is judged `worse`, `better`,
//! `same` (equivalent within the margin) or `inconclusive` (the interval straddles the margin, or a side has one
//! run), with the repeats that would decide it. Only the gated metrics decide the exit code. This module and
//! `markdown` are pure: they read no file and no clock. `input` is the reading side of `summary.json` and
//! `meta.json`; `command` does the reading and writing.

pub mod command;
pub mod input;
mod likeness;
mod markdown;

use std::fmt;

use serde::Serialize;

pub use crate::shift::Better;
use crate::shift::{self, Estimate};
pub use command::{run, Options, Outcome};
pub use input::{Meta, Run, Steady, Summary};
use likeness::{scenario_check, status_warnings};
pub use markdown::{markdown, Charts};
pub(crate) use markdown::{number, percent, signed, with_unit};

/// The version of `compare.json`'s shape (`docs/run-directory.md`).
pub const SCHEMA_VERSION: u32 = 2;

// Noise floors: an absolute change smaller than these is `same`, whatever its relative size, because two runs of
// the same build differ by about this much and a small base makes a large ratio out of nothing (0.3 → 0.6 ms is
// +100%).

/// Latency is timed to the microsecond, but the due-time timer, the scheduler and HdrHistogram's 3 significant
/// digits move percentiles by fractions of a millisecond between identical runs on a shared machine.
pub const LATENCY_FLOOR_MS: f64 = 1.0;
/// In percentage points: 0.1 pp is one error in 1,000 actions. Under it a change is not worth failing a night
/// for: a timeout or two at a run's very end move a short run's rate by about that much.
pub const ERROR_RATE_FLOOR_PP: f64 = 0.1;
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

    /// A threshold from a fraction recorded earlier (a scenario's `[compare] threshold`), if it is one.
    pub fn from_fraction(fraction: f64) -> Option<Threshold> {
        (fraction.is_finite() && (0.0..=1.0).contains(&fraction)).then_some(Threshold(fraction))
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

/// The judgement of one metric, and of the whole comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Better,
    Worse,
    Same,
    /// The interval straddles the margin, a side has a single run, or the two sides are not like for like.
    Inconclusive,
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
            Verdict::Inconclusive => "inconclusive",
            Verdict::NotComparable => "n/a",
        }
    }

    fn of(verdict: shift::Verdict) -> Verdict {
        match verdict {
            shift::Verdict::Better => Verdict::Better,
            shift::Verdict::Worse => Verdict::Worse,
            shift::Verdict::Same => Verdict::Same,
            shift::Verdict::Inconclusive => Verdict::Inconclusive,
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

/// One metric that is compared: its key (its path in `summary.json`, and the name `--gate` uses), and each run's
/// samples of it.
struct Metric {
    key: &'static str,
    label: &'static str,
    unit: Unit,
    better: Better,
    floor: f64,
    samples: fn(&Run) -> Vec<f64>,
}

/// A steady-state percentile: each steady second's value, or the whole run's when it has no steady second.
const fn latency(key: &'static str, label: &'static str, samples: fn(&Run) -> Vec<f64>) -> Metric {
    Metric { key, label, unit: Unit::Ms, better: Better::Lower, floor: LATENCY_FLOOR_MS, samples }
}

fn steady_or(seconds: &[f64], whole_run: f64) -> Vec<f64> {
    if seconds.is_empty() {
        vec![whole_run]
    } else {
        seconds.to_vec()
    }
}

/// The metrics, in the table's order.
const METRICS: [Metric; 10] = [
    latency("latency_ms.p50", "latency p50", |r| steady_or(&r.steady.p50, r.summary.latency_ms.p50)),
    latency("latency_ms.p95", "latency p95", |r| steady_or(&r.steady.p95, r.summary.latency_ms.p95)),
    latency("latency_ms.p99", "latency p99", |r| steady_or(&r.steady.p99, r.summary.latency_ms.p99)),
    latency("latency_ms.p999", "latency p99.9", |r| vec![r.summary.latency_ms.p999]),
    latency("latency_ms.max", "latency max", |r| vec![r.summary.latency_ms.max]),
    Metric {
        key: "error_rate",
        label: "error rate",
        unit: Unit::Percent,
        better: Better::Lower,
        floor: ERROR_RATE_FLOOR_PP,
        // summary.json holds a fraction; the comparison is in percent, so that its shift is in percentage points.
        samples: |r| vec![r.summary.error_rate * 100.0],
    },
    Metric {
        key: "throughput_per_s",
        label: "throughput",
        unit: Unit::PerSecond,
        better: Better::Higher,
        floor: THROUGHPUT_FLOOR_PER_S,
        samples: |r| vec![r.summary.throughput_per_s],
    },
    Metric {
        key: "bot.rss_peak_mb",
        label: "bot RSS peak",
        unit: Unit::Mb,
        better: Better::Lower,
        floor: RSS_FLOOR_MB,
        samples: |r| vec![r.summary.bot.rss_peak_mb],
    },
    Metric {
        key: "bot.rss_drift_mb_per_h",
        label: "bot RSS drift",
        unit: Unit::MbPerHour,
        better: Better::Lower,
        floor: DRIFT_FLOOR_MB_PER_H,
        samples: |r| r.summary.bot.rss_drift_mb_per_h.into_iter().collect(),
    },
    Metric {
        key: "bot.cpu_mean_pct",
        label: "bot CPU mean",
        unit: Unit::Percent,
        better: Better::Lower,
        floor: CPU_FLOOR_PCT,
        samples: |r| vec![r.summary.bot.cpu_mean_pct],
    },
];

/// The per-action metric: end-to-end p95 of each action both sides have (read from `by_action`).
const ACTION_P95: Metric = latency("by_action.latency_ms.p95", "p95", |_| Vec::new());

/// The per-fault metric: the recovery time after each fault window both sides had (read from `faults`).
const FAULT_RECOVERY: Metric = Metric {
    key: "faults.recovery_s",
    label: "recovery",
    unit: Unit::Seconds,
    better: Better::Lower,
    floor: RECOVERY_FLOOR_S,
    samples: |_| Vec::new(),
};

/// The metrics gated when neither the command line nor the scenario's `[compare]` says. Not p99: at the rates of a
/// short nightly run a second's p99 is one of its few slowest answers, so it is the first figure a neighbour's load
/// moves. In the calibration (harness/BENCHMARKS.md) 1 of 20 quiet A/A sessions left p99 `inconclusive`, and one
/// A/A session run beside a build asked for ~34 runs a side; gate it with `--gate` where runs are long.
pub const DEFAULT_GATE: [&str; 2] = ["latency_ms.p95", "error_rate"];

/// Every key `--gate` and `[compare] gate` accept.
pub fn metric_keys() -> Vec<&'static str> {
    METRICS.iter().map(|m| m.key).chain([ACTION_P95.key, FAULT_RECOVERY.key]).collect()
}

/// Checks gate names against the metrics, naming the unknown one and the known ones.
pub fn check_gate(gate: &[String]) -> Result<(), String> {
    let known = metric_keys();
    match gate.iter().find(|g| !known.contains(&g.as_str())) {
        Some(unknown) => Err(format!("`{unknown}` is not a compared metric; known: {}", known.join(", "))),
        None => Ok(()),
    }
}

/// What a comparison judges against: the relative margin, which metrics decide the exit code, and whether two
/// sides that are not like for like still gate.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Settings {
    pub threshold: Threshold,
    pub gate: Vec<String>,
    pub allow_mismatch: bool,
}

impl Default for Settings {
    fn default() -> Settings {
        Settings {
            threshold: Threshold::DEFAULT,
            gate: DEFAULT_GATE.iter().map(|g| g.to_string()).collect(),
            allow_mismatch: false,
        }
    }
}

/// One side of a comparison: a run directory, or a repeats directory and its runs.
#[derive(Debug, Clone, Default)]
pub struct Side {
    /// The directory as given on the command line.
    pub dir: String,
    pub runs: Vec<Run>,
}

impl Side {
    /// A side of one run.
    pub fn single(run: Run) -> Side {
        Side { dir: run.dir.clone(), runs: vec![run] }
    }

    fn first(&self) -> &Run {
        &self.runs[0]
    }
}

/// One line of the comparison.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The metric's key, e.g. `latency_ms.p95` or `by_action.latency_ms.p95`.
    pub metric: &'static str,
    /// The action, for a `by_action` metric; the fault window's name, for a `faults` one.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub action: Option<String>,
    pub label: String,
    pub unit: Unit,
    pub better: Better,
    /// Whether this row decides the exit code.
    pub gated: bool,
    /// The absolute change under which a shift is never more than `same`, in `unit`.
    pub floor: f64,
    /// The margin of equivalence: the threshold of the base, or the floor if larger, in `unit`.
    pub margin: Option<f64>,
    /// The median over the side's runs of each run's median sample.
    pub base: Option<f64>,
    pub candidate: Option<f64>,
    /// The Hodges-Lehmann shift `candidate − base` over runs, in `unit` (percentage points for percentages).
    pub delta: Option<f64>,
    /// Its 95 % interval, in `unit`.
    pub delta_ci: Option<[f64; 2]>,
    /// `delta / base` and its interval as fractions; `None` when a value is missing or the base is 0.
    pub relative: Option<f64>,
    pub relative_ci: Option<[f64; 2]>,
    pub verdict: Verdict,
    /// For an `inconclusive` row: the runs per side that would likely decide it (`null`: too many to say).
    pub repeats_needed: Option<usize>,
}

/// The data of one row before it is judged.
struct Sides<'a> {
    metric: &'a Metric,
    action: Option<&'a str>,
    base: Vec<Vec<f64>>,
    candidate: Vec<Vec<f64>>,
}

impl Row {
    fn new(data: Sides<'_>, settings: &Settings) -> Row {
        let Sides { metric, action, base, candidate } = data;
        let (b, c) = (shift::center(&base), shift::center(&candidate));
        let margin = b.map(|b| (settings.threshold.fraction() * b.abs()).max(metric.floor));
        let estimate = shift::estimate(&base, &candidate, seed(metric.key, action));
        let runs = base.len().min(candidate.len());
        let judgement = estimate.zip(margin).map(|(e, m)| shift::judge(&e, m, metric.better, runs));
        let relative = |v: f64| b.filter(|b| *b != 0.0).map(|b| v / b.abs());
        Row {
            metric: metric.key,
            action: action.map(str::to_string),
            label: action.map_or_else(|| metric.label.to_string(), |a| format!("`{a}` {}", metric.label)),
            unit: metric.unit,
            better: metric.better,
            gated: settings.gate.iter().any(|g| g == metric.key),
            floor: metric.floor,
            margin,
            base: b,
            candidate: c,
            delta: estimate.map(|e| e.shift),
            delta_ci: estimate.map(|e| [e.low, e.high]),
            relative: estimate.and_then(|e| relative(e.shift)),
            relative_ci: estimate
                .and_then(|Estimate { low, high, .. }| relative(low).zip(relative(high)).map(|(l, h)| [l, h])),
            verdict: judgement.map_or(Verdict::NotComparable, |j| Verdict::of(j.verdict)),
            repeats_needed: judgement.and_then(|j| j.repeats_needed),
        }
    }

    /// A row whose value is missing on a side for a reason that ranks it, such as a bot that never recovered.
    fn ranked(metric: &Metric, action: &str, verdict: Verdict, settings: &Settings) -> Row {
        let data = Sides { metric, action: Some(action), base: Vec::new(), candidate: Vec::new() };
        Row { verdict, ..Row::new(data, settings) }
    }
}

/// A seed per row, so that each row's bootstrap is repeatable and independent of the others.
fn seed(key: &str, action: Option<&str>) -> u64 {
    // FNV-1a: stable across builds, unlike std's hasher.
    let bytes = key.bytes().chain([0]).chain(action.unwrap_or("").bytes());
    bytes.fold(0xcbf2_9ce4_8422_2325, |h, b| (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3))
}

/// Which side a comparison's side is.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Identity {
    /// The directory as given on the command line.
    pub dir: String,
    /// How many runs the side has (1 for a run directory).
    pub runs: usize,
    pub scenario: String,
    /// `completed` when every run completed, else the first other status.
    pub status: String,
    /// The mean of the runs' durations.
    pub duration_s: f64,
    /// From `meta.json` of the first run; `None` when it is missing or the run was outside a git checkout.
    pub commit: Option<String>,
    pub scenario_sha256: Option<String>,
    pub cpu_model: Option<String>,
    pub tgload_version: Option<String>,
}

impl Identity {
    fn of(side: &Side) -> Identity {
        let meta = side.first().meta.as_ref();
        let status = side.runs.iter().map(|r| &r.summary.status).find(|s| *s != "completed");
        let duration = side.runs.iter().map(|r| r.summary.duration_s).sum::<f64>() / side.runs.len() as f64;
        Identity {
            dir: side.dir.clone(),
            runs: side.runs.len(),
            scenario: side.first().summary.scenario.clone(),
            status: status.cloned().unwrap_or_else(|| "completed".into()),
            duration_s: duration,
            commit: meta.and_then(|m| m.commit.clone()),
            scenario_sha256: meta.and_then(|m| m.scenario_sha256.clone()),
            cpu_model: meta.and_then(|m| m.machine.cpu_model.clone()),
            tgload_version: meta.and_then(|m| m.tgload_version.clone()),
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
    pub gate: Vec<String>,
    /// Whether both sides ran the same load: `None` when a `meta.json` is missing and it cannot be told.
    pub same_scenario: Option<bool>,
    /// Why the two sides are not like for like (another scenario, CPU or tgload), shown first. Any of these
    /// stops the gating unless `allow_mismatch`.
    pub mismatches: Vec<String>,
    /// Other cautions: a run that did not complete, a side of one run.
    pub warnings: Vec<String>,
    /// Whether the gated rows decide the verdict: false when the sides are not like for like and the mismatch
    /// was not allowed.
    pub gating: bool,
    pub rows: Vec<Row>,
    /// Actions one side has and the other does not: not compared.
    pub only_in_base: Vec<String>,
    pub only_in_candidate: Vec<String>,
    /// Over the gated rows: `worse` if one is, else `inconclusive` if one is (or gating is off), else `better` if
    /// one is, else `same`.
    pub verdict: Verdict,
}

impl Comparison {
    /// How many rows have `verdict`.
    pub fn count(&self, verdict: Verdict) -> usize {
        self.rows.iter().filter(|r| r.verdict == verdict).count()
    }

    /// 0 when no gated metric is worse, 99 when one is, 98 when one is inconclusive (or the sides are not like
    /// for like).
    pub fn exit_code(&self) -> u8 {
        match self.verdict {
            Verdict::Worse => 99,
            Verdict::Inconclusive => 98,
            _ => 0,
        }
    }
}

/// The metrics a nightly history keeps: those `compare` gates by default and the other whole-run figures.
const HISTORY_METRICS: [&str; 7] = [
    "latency_ms.p50",
    "latency_ms.p95",
    "latency_ms.p99",
    "error_rate",
    "throughput_per_s",
    "bot.rss_peak_mb",
    "bot.cpu_mean_pct",
];

/// A side's figure of each history metric, as the comparison's `base` and `candidate` columns have it: the median
/// over its runs of each run's median sample (`error_rate` in percent).
pub fn figures(side: &Side) -> Vec<(String, f64)> {
    let figure = |metric: &Metric| shift::center(&side.runs.iter().map(metric.samples).collect::<Vec<_>>());
    let metrics = METRICS.iter().filter(|m| HISTORY_METRICS.contains(&m.key));
    metrics.filter_map(|m| Some((m.key.to_string(), figure(m)?))).collect()
}

/// Compares `candidate` with `base`. Both sides have at least one run.
pub fn compare(base: &Side, candidate: &Side, settings: &Settings) -> Comparison {
    let mut rows: Vec<Row> = METRICS
        .iter()
        .map(|metric| {
            let samples = |side: &Side| side.runs.iter().map(metric.samples).collect();
            Row::new(Sides { metric, action: None, base: samples(base), candidate: samples(candidate) }, settings)
        })
        .collect();
    rows.extend(action_rows(base, candidate, settings));
    rows.extend(recovery_rows(base, candidate, settings));
    let (b, c) = (&base.first().summary, &candidate.first().summary);
    let only = |of: &Summary, not_in: &Summary| -> Vec<String> {
        let names = of.by_action.iter().map(|a| &a.action);
        names.filter(|n| !not_in.by_action.iter().any(|o| &o.action == *n)).cloned().collect()
    };
    let (same_scenario, mismatches) = scenario_check(base.first(), candidate.first());
    let mut warnings = status_warnings(base, candidate);
    if base.runs.len() < shift::MIN_RUNS || candidate.runs.len() < shift::MIN_RUNS {
        warnings.push(format!(
            "{} vs {} runs: with one run a side, run-to-run noise cannot be told from a change, so no metric is \
             decided; repeat each side (`tgload run --repeat 3`, or `tgload ab`)",
            base.runs.len(),
            candidate.runs.len()
        ));
    }
    let gating = mismatches.is_empty() || settings.allow_mismatch;
    let verdict = overall(&rows, gating);
    Comparison {
        schema_version: SCHEMA_VERSION,
        base: Identity::of(base),
        candidate: Identity::of(candidate),
        threshold: settings.threshold,
        gate: settings.gate.clone(),
        same_scenario,
        mismatches,
        warnings,
        gating,
        only_in_base: only(b, c),
        only_in_candidate: only(c, b),
        rows,
        verdict,
    }
}

/// Each action both sides have: its p95, one sample per run.
fn action_rows<'a>(base: &'a Side, candidate: &'a Side, settings: &'a Settings) -> impl Iterator<Item = Row> + 'a {
    let p95 = |side: &Side, action: &str| -> Vec<Vec<f64>> {
        let of_run = |r: &Run| r.summary.by_action.iter().find(|a| a.action == action).map(|a| a.latency_ms.p95);
        side.runs.iter().map(|r| of_run(r).into_iter().collect()).collect()
    };
    let names = base.first().summary.by_action.iter().map(|a| a.action.as_str());
    names.filter(|name| candidate.first().summary.by_action.iter().any(|a| a.action == *name)).map(move |name| {
        let data =
            Sides { metric: &ACTION_P95, action: Some(name), base: p95(base, name), candidate: p95(candidate, name) };
        Row::new(data, settings)
    })
}

/// Each fault window both sides had: its recovery time, one sample per run. A side on which any run never recovered
/// ranks below every side that always did; two such sides are `same`.
fn recovery_rows(base: &Side, candidate: &Side, settings: &Settings) -> Vec<Row> {
    let times = |side: &Side, name: &str| -> Option<Vec<Vec<f64>>> {
        let of_run = |r: &Run| r.summary.faults.iter().find(|f| f.name == name).map(|f| f.recovery_s);
        side.runs.iter().map(|r| of_run(r).map(|t| t.map(|t| vec![t]))).collect::<Option<Option<_>>>()?
    };
    let mut rows = Vec::new();
    for fault in &base.first().summary.faults {
        if !candidate.first().summary.faults.iter().any(|f| f.name == fault.name) {
            continue;
        }
        let (b, c) = (times(base, &fault.name), times(candidate, &fault.name));
        let name = fault.name.as_str();
        rows.push(match (b, c) {
            (Some(b), Some(c)) => {
                Row::new(Sides { metric: &FAULT_RECOVERY, action: Some(name), base: b, candidate: c }, settings)
            }
            (Some(_), None) => Row::ranked(&FAULT_RECOVERY, name, Verdict::Worse, settings),
            (None, Some(_)) => Row::ranked(&FAULT_RECOVERY, name, Verdict::Better, settings),
            (None, None) => Row::ranked(&FAULT_RECOVERY, name, Verdict::Same, settings),
        });
    }
    rows
}

fn overall(rows: &[Row], gating: bool) -> Verdict {
    let gated: Vec<Verdict> = rows.iter().filter(|r| r.gated).map(|r| r.verdict).collect();
    if !gating {
        Verdict::Inconclusive
    } else if gated.contains(&Verdict::Worse) {
        Verdict::Worse
    } else if gated.contains(&Verdict::Inconclusive) {
        Verdict::Inconclusive
    } else if gated.contains(&Verdict::Better) {
        Verdict::Better
    } else {
        Verdict::Same
    }
}

/// How many hex digits of a commit, and of a scenario hash, the table and the warnings show.
const SHORT_COMMIT: usize = 7;
const SHORT_HASH: usize = 12;

fn short(hex: &str, len: usize) -> &str {
    hex.get(..len).unwrap_or(hex)
}

#[cfg(test)]
mod tests;
