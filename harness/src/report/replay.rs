//! The written seconds of a run replayed, in order, into what a live run computes as it closes them: the run's
//! counts and latency, the phases, the SLO judge's streaks and the seconds a recovery looks at. Pure: rows and
//! histograms are handed in, one second at a time, so a 72-hour run is replayed in constant memory.

use charts::series::Row;
use hdrhistogram::Histogram;

use crate::collector::{histogram, Interval, Totals};
use crate::degradation::{self, Buckets, Degradation};
use crate::recovery::{self, Recovery};
use crate::slo::{Judge, Verdict};
use crate::summary::{ByPhase, Phases};

/// A fault window to judge, timed from the load's start.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub name: String,
    pub start: std::time::Duration,
    pub end: std::time::Duration,
}

pub struct Replay {
    totals: Totals,
    phases: Phases,
    judge: Judge,
    windows: Vec<Window>,
    /// The first second a recovery looks at (the earliest window's baseline); `None` without windows.
    first_judged: Option<u64>,
    seconds: Vec<recovery::Second>,
    /// The `t_s` of each written second, to tell which are missing.
    written: Vec<u64>,
    buckets: Buckets,
}

/// What the replay gives the summary.
pub struct Replayed {
    pub totals: Totals,
    pub by_phase: Vec<ByPhase>,
    pub slos: Vec<Verdict>,
    pub faults: Vec<Recovery>,
    pub degradation: Vec<Degradation>,
    /// `[from, to]` ranges of seconds (`t_s`, 1-based as in `timeseries.csv`) up to `expected_s` with no row.
    pub missing: Vec<(u64, u64)>,
}

impl Replay {
    pub fn new(judge: Judge, windows: Vec<Window>, buckets: Buckets) -> Replay {
        let first_judged = windows.iter().map(|w| w.start.as_secs().saturating_sub(recovery::BASELINE_S)).min();
        Replay {
            totals: Totals::empty(),
            phases: Phases::default(),
            judge,
            windows,
            first_judged,
            seconds: Vec::new(),
            written: Vec::new(),
            buckets,
        }
    }

    /// One written second: its row, and its end-to-end histogram from the latency log (empty when the log lacks
    /// it, as for the last row of a run killed between the two writes).
    pub fn second(&mut self, row: &Row, e2e: Histogram<u64>) {
        let index = (row.t_s as u64).saturating_sub(1);
        let errors_by = crate::collector::ErrorCounts::from(row.errors_by.unwrap_or_default());
        let interval = Interval {
            index,
            sent: row.sent,
            answered: row.answered,
            errors: row.errors,
            errors_by,
            e2e,
            service: histogram(),
            queue: histogram(),
        };
        let t = &mut self.totals;
        t.sent += row.sent;
        t.answered += row.answered;
        t.errors.timeout += errors_by.timeout;
        t.errors.bot_api_error += errors_by.bot_api_error;
        t.errors.bot_crashed += errors_by.bot_crashed;
        t.errors.sent_late += errors_by.sent_late;
        t.errors.transport += errors_by.transport;
        t.errors.wrong_answer += errors_by.wrong_answer;
        let _ = t.e2e.add(&interval.e2e);
        self.phases.add(&row.phase, row.active_users as usize, &interval);
        let good = row.answered.saturating_sub(errors_by.bot_api_error + errors_by.sent_late);
        self.buckets.add(index, &interval.e2e, row.answered, good, row.bot_cpu_pct);
        self.judge.observe_second(&interval.window());
        if self.first_judged.is_some_and(|first| index >= first) {
            self.seconds.push(recovery::Second {
                index,
                p95_ms: row.p95_ms,
                answered: row.answered,
                errors: row.errors,
            });
        }
        self.written.push(row.t_s as u64);
    }

    pub fn service(&mut self, h: &Histogram<u64>) {
        let _ = self.totals.service.add(h);
    }

    pub fn queue(&mut self, h: &Histogram<u64>) {
        let _ = self.totals.queue.add(h);
    }

    /// The results, judged over `duration_s` of load; seconds up to `expected_s` without a row are missing.
    pub fn finish(self, duration_s: f64, expected_s: u64) -> Replayed {
        let slos = self.judge.verdicts(&self.totals.window(duration_s));
        let closed = self.written.last().copied().unwrap_or(0);
        let faults = self
            .windows
            .iter()
            .filter(|w| w.start.as_secs() < closed)
            .map(|w| recovery::judge(&w.name, w.start, w.end, &self.seconds))
            .collect();
        let (bucket_s, buckets) = self.buckets.finish();
        Replayed {
            missing: missing(&self.written, expected_s),
            totals: self.totals,
            by_phase: self.phases.summarize(),
            slos,
            faults,
            degradation: degradation::judge(bucket_s, &buckets, degradation::DEFAULT_BUDGET_PCT),
        }
    }
}

/// The ranges of `1..=expected` that `written` (ascending) lacks.
fn missing(written: &[u64], expected: u64) -> Vec<(u64, u64)> {
    let mut gaps = Vec::new();
    let mut next = 1;
    for &t in written.iter().chain(std::iter::once(&(expected + 1))) {
        if t > next && next <= expected {
            gaps.push((next, (t - 1).min(expected)));
        }
        next = next.max(t + 1);
    }
    gaps
}

#[cfg(test)]
mod tests {
    use super::*;
    use charts::series::ErrorKinds;

    fn row(t_s: u64, sent: u64, timeouts: u64) -> Row {
        Row {
            t_s: t_s as f64,
            phase: "hold".into(),
            active_users: 5,
            sent,
            answered: sent - timeouts,
            errors: timeouts,
            p50_ms: Some(10.0),
            p95_ms: Some(20.0),
            p99_ms: Some(30.0),
            bot_rss_mb: None,
            bot_cpu_pct: None,
            errors_by: Some(ErrorKinds { timeout: timeouts, ..Default::default() }),
        }
    }

    fn latency(values_ms: &[u64]) -> Histogram<u64> {
        let mut h = histogram();
        for v in values_ms {
            h.record(v * 1000).unwrap();
        }
        h
    }

    #[test]
    fn missing_seconds_are_ranges() {
        assert_eq!(missing(&[1, 2, 3], 3), []);
        assert_eq!(missing(&[1, 2, 5, 6], 10), [(3, 4), (7, 10)]);
        assert_eq!(missing(&[], 2), [(1, 2)]);
        // Rows after the plan's end (answers landing late) are not gaps, and nothing past the end is missing.
        assert_eq!(missing(&[1, 2, 3, 4], 2), []);
    }

    #[test]
    fn seconds_add_up_to_the_run() {
        let rule = crate::slo::Rule::parse("p95 < 15ms").unwrap();
        let window = Window {
            name: "stall".into(),
            start: std::time::Duration::from_secs(2),
            end: std::time::Duration::from_secs(3),
        };
        let mut replay = Replay::new(Judge::new(vec![rule], None), vec![window], Buckets::new(10));
        replay.second(&row(1, 10, 0), latency(&[10; 10]));
        replay.second(&row(2, 10, 2), latency(&[12; 8]));
        replay.second(&row(4, 10, 0), histogram());
        let r = replay.finish(4.0, 5);
        assert_eq!((r.totals.sent, r.totals.answered, r.totals.errors.timeout), (30, 28, 2));
        assert_eq!(r.totals.e2e.len(), 18);
        assert_eq!(r.missing, [(3, 3), (5, 5)]);
        assert_eq!(r.by_phase.len(), 1);
        assert_eq!(r.by_phase[0].sent, 30);
        assert!(r.slos[0].passed, "p95 of 10-12 ms: {:?}", r.slos);
        assert_eq!(r.faults.len(), 1);
        assert_eq!(r.faults[0].baseline_p95_ms, Some(20.0));
    }
}
