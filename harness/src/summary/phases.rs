//! The run phase by phase (the scenario's steps: `ramp`, `hold`, or a stress run's `1k/s`, `2k/s`, ...), folded
//! from the closed seconds as they are written, so a stepped load shows where latency left its band and errors
//! began. A second belongs to the phase `timeseries.csv` gives it. Pure: the seconds are handed in.

use hdrhistogram::Histogram;
use serde::Serialize;

use super::Percentiles;
use crate::collector::Interval;

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
}
