//! A set of repeats (`tgload run SCENARIO --repeat N`): the same scenario run N times into `r1/` ... `rN/` of one
//! directory, and the set's own `summary.json` and `report.md`: each run's figures, the whole set's latency from the
//! runs' histograms merged exactly (percentiles are never averaged), and the spread between runs. This module is
//! pure: it builds the set's summary from runs already read; `command` runs them and does the reading and writing.

pub mod command;

use std::fmt::Write;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::compare::{Run, Steady};
use crate::shift::median_in_place;

/// The version of the set's `summary.json` (`kind = "repeats"`).
pub const SCHEMA_VERSION: u32 = 1;

/// One run of the set, as the set's summary lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RunFigures {
    /// `r1`, `r2`, ...
    pub dir: String,
    pub status: String,
    pub exit_code: u8,
    pub sent: u64,
    pub errors: u64,
    pub error_rate: f64,
    pub throughput_per_s: f64,
    /// The run's whole-load percentiles, ms.
    pub p50_ms: f64,
    pub p95_ms: f64,
    pub p99_ms: f64,
    /// The median over the run's steady seconds of each second's p95, ms (`null` without steady seconds): the
    /// figure `tgload compare` compares.
    pub steady_p95_ms: Option<f64>,
}

impl RunFigures {
    pub fn of(name: &str, run: &Run, exit_code: u8) -> RunFigures {
        let s = &run.summary;
        RunFigures {
            dir: name.to_string(),
            status: s.status.clone(),
            exit_code,
            sent: s.actions.sent,
            errors: s.actions.errors,
            error_rate: s.error_rate,
            throughput_per_s: s.throughput_per_s,
            p50_ms: s.latency_ms.p50,
            p95_ms: s.latency_ms.p95,
            p99_ms: s.latency_ms.p99,
            steady_p95_ms: steady_median(&run.steady),
        }
    }
}

fn steady_median(steady: &Steady) -> Option<f64> {
    (!steady.p95.is_empty()).then(|| median_in_place(&mut steady.p95.clone()))
}

/// How much one figure differs between the runs.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spread {
    pub metric: &'static str,
    pub min: f64,
    pub median: f64,
    pub max: f64,
    /// The coefficient of variation in percent (sample standard deviation over mean); `null` for one run or a
    /// mean of 0.
    pub cv_pct: Option<f64>,
}

impl Spread {
    fn of(metric: &'static str, values: &[f64]) -> Option<Spread> {
        if values.is_empty() {
            return None;
        }
        let n = values.len() as f64;
        let mean = values.iter().sum::<f64>() / n;
        let sd = (values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
        Some(Spread {
            metric,
            min: values.iter().copied().fold(f64::INFINITY, f64::min),
            median: median_in_place(&mut values.to_vec()),
            max: values.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            cv_pct: (values.len() > 1 && mean != 0.0).then(|| 100.0 * sd / mean.abs()),
        })
    }
}

/// Percentiles of the merged histogram, ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Merged {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
}

impl Merged {
    /// From a histogram of microseconds.
    pub fn of(e2e: &Histogram<u64>) -> Merged {
        let ms = |q: f64| e2e.value_at_quantile(q) as f64 / 1000.0;
        Merged { p50: ms(0.5), p95: ms(0.95), p99: ms(0.99), p999: ms(0.999), max: e2e.max() as f64 / 1000.0 }
    }
}

/// The set's `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Set {
    pub schema_version: u32,
    /// Always `repeats`: what tells this summary from a run's.
    pub kind: &'static str,
    pub scenario: String,
    /// Runs planned and runs made (fewer when one failed or a signal stopped the set).
    pub planned: usize,
    pub repeats: usize,
    /// `completed` when every run completed, else the first other status.
    pub status: String,
    /// The worst of the runs' exit codes: the set's own.
    pub exit_code: u8,
    /// Over every run: errors over actions sent.
    pub error_rate: f64,
    /// The end-to-end latency of every run's whole load, from the merged histograms; `null` without any answer.
    pub latency_ms: Option<Merged>,
    pub spread: Vec<Spread>,
    pub runs: Vec<RunFigures>,
}

/// How bad an exit code is, to pick the set's: a signal, then a failed run, objectives not met, inconclusive, pass.
fn severity(code: u8) -> u8 {
    match code {
        0 => 0,
        98 => 1,
        99 => 2,
        1 | 2 => 3,
        _ => 4,
    }
}

/// The worst of `codes` (0 for none).
pub fn worst_exit_code(codes: impl IntoIterator<Item = u8>) -> u8 {
    codes.into_iter().max_by_key(|&c| severity(c)).unwrap_or(0)
}

/// Builds the set's summary from its runs, in order, and their merged end-to-end histogram.
pub fn summarize(scenario: &str, planned: usize, runs: Vec<RunFigures>, e2e: Option<&Histogram<u64>>) -> Set {
    let values = |f: fn(&RunFigures) -> Option<f64>| runs.iter().filter_map(f).collect::<Vec<f64>>();
    let spread = [
        Spread::of("latency_ms.p50", &values(|r| Some(r.p50_ms))),
        Spread::of("latency_ms.p95", &values(|r| Some(r.p95_ms))),
        Spread::of("latency_ms.p99", &values(|r| Some(r.p99_ms))),
        Spread::of("steady_p95_ms", &values(|r| r.steady_p95_ms)),
        Spread::of("error_rate", &values(|r| Some(r.error_rate))),
        Spread::of("throughput_per_s", &values(|r| Some(r.throughput_per_s))),
    ];
    let (sent, errors) = runs.iter().fold((0, 0), |(s, e), r| (s + r.sent, e + r.errors));
    Set {
        schema_version: SCHEMA_VERSION,
        kind: "repeats",
        scenario: scenario.to_string(),
        planned,
        repeats: runs.len(),
        status: runs
            .iter()
            .map(|r| &r.status)
            .find(|s| *s != "completed")
            .cloned()
            .unwrap_or_else(|| "completed".into()),
        exit_code: worst_exit_code(runs.iter().map(|r| r.exit_code)),
        error_rate: if sent == 0 { 0.0 } else { errors as f64 / sent as f64 },
        latency_ms: e2e.filter(|h| !h.is_empty()).map(Merged::of),
        spread: spread.into_iter().flatten().collect(),
        runs,
    }
}

/// The set's `report.md`.
pub fn markdown(set: &Set) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "# tgload repeats: {} × {}\n", set.scenario, set.repeats);
    let _ = writeln!(
        r,
        "**{}** · {} of {} runs · exit code {} (the worst run's) · error rate {:.3}%\n",
        set.status,
        set.repeats,
        set.planned,
        set.exit_code,
        set.error_rate * 100.0
    );
    let _ = writeln!(
        r,
        "| run | status | exit | p50 | p95 | p99 | steady p95 | error rate | throughput |\n|---|---|---:|---:|---:|---:|---:|---:|---:|"
    );
    for run in &set.runs {
        let steady = run.steady_p95_ms.map_or("n/a".into(), |v| format!("{v:.2} ms"));
        let _ = writeln!(
            r,
            "| [{0}]({0}/report.md) | {1} | {2} | {3:.2} ms | {4:.2} ms | {5:.2} ms | {steady} | {6:.3}% | {7:.1}/s |",
            run.dir,
            run.status,
            run.exit_code,
            run.p50_ms,
            run.p95_ms,
            run.p99_ms,
            run.error_rate * 100.0,
            run.throughput_per_s
        );
    }
    if let Some(m) = &set.latency_ms {
        let _ = writeln!(
            r,
            "\nAll runs' histograms merged: p50 {:.2} ms, p95 {:.2} ms, p99 {:.2} ms, p99.9 {:.2} ms, max {:.2} ms.",
            m.p50, m.p95, m.p99, m.p999, m.max
        );
    }
    let _ = writeln!(r, "\n## Spread between runs\n\n| figure | min | median | max | CV |\n|---|---:|---:|---:|---:|");
    for s in &set.spread {
        let cv = s.cv_pct.map_or("n/a".into(), |cv| format!("{cv:.1}%"));
        let _ = writeln!(r, "| `{}` | {:.4} | {:.4} | {:.4} | {cv} |", s.metric, s.min, s.median, s.max);
    }
    r
}

#[cfg(test)]
mod tests;
