//! Recovery after a fault window: how bad it got and how long after the window closed users were served as well
//! as before it, judged on the run's per-second rows. The baseline is the median p95 of the seconds before the
//! window; the bot has recovered at the first second after it from which a few seconds in a row are back inside
//! a band around that baseline, without errors. Pure: the rows are handed in.

use std::time::Duration;

use serde::Serialize;

/// Seconds before a window whose p95 make its baseline.
pub const BASELINE_S: u64 = 10;
/// How many seconds in a row must be healthy to call the bot recovered (one good second can be luck).
const STABLE_S: usize = 3;
/// A healthy second's p95 is at most this multiple of the baseline plus the slack: per-second p95 of a steady
/// run moves by tens of percent, and by a few ms when it is small.
const BAND_FACTOR: f64 = 1.5;
const BAND_SLACK_MS: f64 = 5.0;

/// One closed second of the run, as the recovery sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Second {
    /// Seconds since the load started: the row covers `[index, index + 1)`.
    pub index: u64,
    /// That second's end-to-end p95, `None` when nothing was answered in it.
    pub p95_ms: Option<f64>,
    pub errors: u64,
}

/// One fault window's effect, for `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Recovery {
    pub name: String,
    pub start_s: f64,
    pub end_s: f64,
    /// The median p95 of the seconds before the window; `None` when there were none with answers.
    pub baseline_p95_ms: Option<f64>,
    /// The worst p95 from the window's start until the recovery (or the end of the run).
    pub peak_p95_ms: Option<f64>,
    /// Errors from the window's start until the recovery (or the end of the run).
    pub errors: u64,
    /// From the window's end to the first of `STABLE_S` healthy seconds; `None` if that never came (or there was
    /// no baseline to judge by).
    pub recovery_s: Option<f64>,
}

/// Judges the window `[start, end)` on `seconds` (in order, one per second since the load started).
pub fn judge(name: &str, start: Duration, end: Duration, seconds: &[Second]) -> Recovery {
    let (start_s, end_s) = (start.as_secs_f64(), end.as_secs_f64());
    let before: Vec<f64> = seconds
        .iter()
        .filter(|s| (s.index as f64) < start_s && (s.index as f64) >= start_s - BASELINE_S as f64)
        .filter_map(|s| s.p95_ms)
        .collect();
    let baseline = median(before);
    let first_after = end_s.ceil() as u64;
    let recovered_at = baseline.and_then(|baseline| {
        let band = baseline * BAND_FACTOR + BAND_SLACK_MS;
        let healthy = |s: &Second| s.errors == 0 && s.p95_ms.is_some_and(|p| p <= band);
        let after: Vec<&Second> = seconds.iter().filter(|s| s.index >= first_after).collect();
        after.windows(STABLE_S).find(|run| run.iter().all(|s| healthy(s))).map(|run| run[0].index)
    });
    let impact_end = recovered_at.unwrap_or(u64::MAX);
    let impact = seconds.iter().filter(|s| (s.index + 1) as f64 > start_s && s.index < impact_end);
    let (peak, errors) = impact.fold((None, 0), |(peak, errors), s| (max_option(peak, s.p95_ms), errors + s.errors));
    Recovery {
        name: name.to_string(),
        start_s,
        end_s,
        baseline_p95_ms: baseline,
        peak_p95_ms: peak,
        errors,
        recovery_s: recovered_at.map(|at| (at as f64 - end_s).max(0.0)),
    }
}

fn median(mut values: Vec<f64>) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(f64::total_cmp);
    let n = values.len();
    Some(if n % 2 == 1 { values[n / 2] } else { (values[n / 2 - 1] + values[n / 2]) / 2.0 })
}

fn max_option(a: Option<f64>, b: Option<f64>) -> Option<f64> {
    match (a, b) {
        (Some(a), Some(b)) => Some(a.max(b)),
        (a, b) => a.or(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows from `(p95, errors)` pairs, one a second from 0; a negative p95 is a second without answers.
    fn rows(values: &[(f64, u64)]) -> Vec<Second> {
        let second = |(i, &(p95, errors)): (usize, &(f64, u64))| Second {
            index: i as u64,
            p95_ms: (p95 >= 0.0).then_some(p95),
            errors,
        };
        values.iter().enumerate().map(second).collect()
    }

    fn check(values: &[(f64, u64)], window_s: (f64, f64), expected: (Option<f64>, Option<f64>, u64, Option<f64>)) {
        let (start, end) = (Duration::from_secs_f64(window_s.0), Duration::from_secs_f64(window_s.1));
        let r = judge("fault", start, end, &rows(values));
        assert_eq!((r.baseline_p95_ms, r.peak_p95_ms, r.errors, r.recovery_s), expected, "{values:?}");
    }

    #[test]
    fn recovery_is_timed_from_the_window_end_to_a_stable_healthy_stretch() {
        let ok = (10.0, 0);
        // Baseline 10 ms (band 20 ms); the window is 3..5 s; seconds 5 and 6 are still slow, 7.. are healthy.
        let run = [ok, ok, ok, (500.0, 0), (900.0, 2), (300.0, 0), (25.0, 0), ok, ok, ok, ok];
        check(&run, (3.0, 5.0), (Some(10.0), Some(900.0), 2, Some(2.0)));
        // Healthy as soon as it closes: no time to recover.
        let quick = [ok, ok, ok, (500.0, 0), (500.0, 0), ok, ok, ok];
        check(&quick, (3.0, 5.0), (Some(10.0), Some(500.0), 0, Some(0.0)));
        // A window ending mid-second is judged from the next whole second.
        check(&quick, (3.0, 4.5), (Some(10.0), Some(500.0), 0, Some(0.5)));
    }

    #[test]
    fn one_good_second_is_not_a_recovery_and_errors_are_not_healthy() {
        let ok = (10.0, 0);
        let flapping = [ok, ok, (800.0, 0), ok, (700.0, 0), ok, (12.0, 1), ok, ok, ok];
        check(&flapping, (2.0, 3.0), (Some(10.0), Some(800.0), 1, Some(4.0)));
        // Never back within the band: no recovery, and the impact runs to the end.
        let degraded = [ok, ok, (800.0, 0), (60.0, 0), (60.0, 0), (60.0, 0)];
        check(&degraded, (2.0, 3.0), (Some(10.0), Some(800.0), 0, None));
        // Seconds without answers are not healthy either.
        let silent = [ok, ok, (800.0, 0), (-1.0, 0), (-1.0, 0), ok, ok, ok];
        check(&silent, (2.0, 3.0), (Some(10.0), Some(800.0), 0, Some(2.0)));
    }

    #[test]
    fn without_seconds_before_the_window_there_is_no_baseline() {
        check(&[(500.0, 0), (10.0, 0), (10.0, 0), (10.0, 0)], (0.0, 1.0), (None, Some(500.0), 0, None));
        // The baseline is a median: one slow second before the window does not move it.
        let before = [(10.0, 0), (400.0, 0), (12.0, 0), (800.0, 0), (11.0, 0), (11.0, 0), (11.0, 0)];
        check(&before, (3.0, 4.0), (Some(12.0), Some(800.0), 0, Some(0.0)));
    }
}
