//! The run phase by phase (the scenario's steps: `ramp`, `hold`, or a stress run's `1k/s`, `2k/s`, ...), folded
//! from the closed seconds as they are written, so a stepped load shows where latency left its band and errors
//! began. A second belongs to the phase `timeseries.csv` gives it. Pure: the seconds are handed in.

use hdrhistogram::Histogram;
use serde::Serialize;

use super::Percentiles;
use crate::collector::Interval;
use crate::slo::{Metric, Rule};

/// One phase's totals in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ByPhase {
    pub phase: String,
    /// Seconds since the load started at which the phase's first second began, and how many seconds it had.
    pub start_s: u64,
    pub duration_s: u64,
    /// The most users the plan had active in one of its seconds.
    pub users: usize,
    pub sent: u64,
    pub answered: u64,
    pub errors: u64,
    pub throughput_per_s: f64,
    pub latency_ms: Percentiles,
}

/// The phases so far, in the order they ran.
#[derive(Default)]
pub struct Phases {
    entries: Vec<Entry>,
}

struct Entry {
    phase: String,
    start_s: u64,
    end_s: u64,
    users: usize,
    sent: u64,
    answered: u64,
    errors: u64,
    e2e: Histogram<u64>,
}

impl Phases {
    /// Adds one closed second, labelled `phase`, with `users` active. A label that comes back after another
    /// (a scenario that reuses a step name) starts a new entry, so phases stay in time order.
    pub fn add(&mut self, phase: &str, users: usize, second: &Interval) {
        if self.entries.last().is_none_or(|e| e.phase != phase) {
            self.entries.push(Entry {
                phase: phase.to_string(),
                start_s: second.index,
                end_s: second.index,
                users: 0,
                sent: 0,
                answered: 0,
                errors: 0,
                e2e: Histogram::new_from(&second.e2e),
            });
        }
        let Some(entry) = self.entries.last_mut() else { return };
        entry.end_s = second.index + 1;
        entry.users = entry.users.max(users);
        entry.sent += second.sent;
        entry.answered += second.answered;
        entry.errors += second.errors;
        // Both come from the collector's histograms, whose bounds are the same: adding cannot fail.
        let _ = entry.e2e.add(&second.e2e);
    }

    pub fn summarize(&self) -> Vec<ByPhase> {
        let phase = |e: &Entry| {
            let duration_s = e.end_s - e.start_s;
            ByPhase {
                phase: e.phase.clone(),
                start_s: e.start_s,
                duration_s,
                users: e.users,
                sent: e.sent,
                answered: e.answered,
                errors: e.errors,
                throughput_per_s: if duration_s == 0 { 0.0 } else { e.answered as f64 / duration_s as f64 },
                latency_ms: Percentiles::of(&e.e2e),
            }
        };
        self.entries.iter().map(phase).collect()
    }
}

/// The first phase in which the bot stopped keeping up, for a stepped load (`stress.toml`): `summary.json`
/// `first_failed_step`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FailedStep {
    pub phase: String,
    pub start_s: u64,
    pub reasons: Vec<String>,
}

/// A phase keeps up when it answered at least this share of what it sent, with at most `MAX_ERROR_SHARE` errors.
const MIN_ANSWERED_SHARE: f64 = 0.99;
const MAX_ERROR_SHARE: f64 = 0.01;

/// The first of `phases` that answered less than 99 % of what it sent, had more than 1 % errors, or broke one of the
/// scenario's latency rules (`p95 < 200ms`) on its own latency; `None` when every phase kept up.
pub fn first_failed_step(phases: &[ByPhase], rules: &[Rule]) -> Option<FailedStep> {
    phases.iter().find_map(|p| {
        let mut reasons = Vec::new();
        if p.sent > 0 && (p.answered as f64) < MIN_ANSWERED_SHARE * p.sent as f64 {
            reasons.push(format!("answered {} of {} actions sent", p.answered, p.sent));
        }
        if p.sent > 0 && p.errors as f64 > MAX_ERROR_SHARE * p.sent as f64 {
            reasons.push(format!("{} errors in {} actions", p.errors, p.sent));
        }
        for rule in rules {
            let observed = match rule.metric {
                Metric::Quantile(0.5) => p.latency_ms.p50,
                Metric::Quantile(0.95) => p.latency_ms.p95,
                Metric::Quantile(0.99) => p.latency_ms.p99,
                Metric::Quantile(0.999) => p.latency_ms.p999,
                Metric::Max => p.latency_ms.max,
                _ => continue,
            };
            if p.answered > 0 && !rule.op.holds(observed, rule.threshold) {
                reasons.push(format!("`{}` broken: {observed:.1} ms", rule.name));
            }
        }
        (!reasons.is_empty()).then(|| FailedStep { phase: p.phase.clone(), start_s: p.start_s, reasons })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn second(index: u64, answered: u64, latency_ms: u64) -> Interval {
        let mut e2e = Histogram::new_with_bounds(1, 3_600_000_000, 3).unwrap();
        e2e.record_n(latency_ms * 1000, answered).unwrap();
        let empty = Histogram::new_from(&e2e);
        let errors_by = Default::default();
        Interval {
            index,
            sent: answered,
            answered,
            errors: index % 2,
            errors_by,
            e2e,
            service: empty.clone(),
            queue: empty,
        }
    }

    #[test]
    fn seconds_fold_into_phases_in_time_order() {
        let mut phases = Phases::default();
        let plan = [("1k/s", 100, 10), ("1k/s", 120, 10), ("2k/s", 200, 20), ("2k/s", 250, 900), ("1k/s", 100, 10)];
        for (i, (label, answered, ms)) in plan.into_iter().enumerate() {
            phases.add(label, answered as usize * 10, &second(i as u64, answered, ms));
        }
        let summary = phases.summarize();
        let rows: Vec<_> = summary
            .iter()
            .map(|p| (p.phase.as_str(), p.start_s, p.duration_s, p.users, p.answered, p.errors))
            .collect();
        assert_eq!(rows, [("1k/s", 0, 2, 1200, 220, 1), ("2k/s", 2, 2, 2500, 450, 1), ("1k/s", 4, 1, 1000, 100, 0)]);
        assert_eq!(summary[1].throughput_per_s, 225.0);
        // 200 answers at 20 ms and 250 at 900 ms: the median is in the slow second, p50 of the first phase is not.
        assert!((summary[1].latency_ms.p50 - 900.0).abs() < 1.0, "{:?}", summary[1].latency_ms);
        assert!((summary[0].latency_ms.p99 - 10.0).abs() < 0.1, "{:?}", summary[0].latency_ms);
    }

    #[test]
    fn the_first_step_that_fell_behind_is_named_with_its_reasons() {
        let step = |phase: &str, sent: u64, answered: u64, errors: u64, p95: f64| ByPhase {
            phase: phase.into(),
            start_s: 0,
            duration_s: 10,
            users: 10,
            sent,
            answered,
            errors,
            throughput_per_s: answered as f64 / 10.0,
            latency_ms: Percentiles { p95, ..Percentiles::default() },
        };
        let rules = [Rule::parse("p95 < 200ms").unwrap(), Rule::parse("error_rate < 1%").unwrap()];
        let steps = [
            step("1k/s", 1000, 1000, 0, 20.0),
            step("4k/s", 4000, 3990, 0, 250.0),
            step("8k/s", 8000, 6000, 900, 2000.0),
        ];
        let failed = first_failed_step(&steps, &rules).unwrap();
        assert_eq!(
            (failed.phase.as_str(), failed.reasons.as_slice()),
            ("4k/s", ["`p95 < 200ms` broken: 250.0 ms".to_string()].as_slice())
        );
        let failed = first_failed_step(&steps[2..], &rules).unwrap();
        assert_eq!(failed.reasons.len(), 3, "{failed:?}");
        assert_eq!(first_failed_step(&steps[..1], &rules), None);
    }
}
