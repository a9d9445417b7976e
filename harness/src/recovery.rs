//! Recovery after a disturbance (a fault window, a bot restart, a step down in load) as a settling time: how bad
//! it got, and the moment after which the run stays healthy through a hold period, judged on the run's per-second
//! rows (control engineering's settling time, not the first good second: a bot that flaps afterwards has not
//! recovered). The baseline is the median p95 of the seconds before the disturbance and their error rate. Health
//! is judged on windows large enough to judge at the run's rate: at least 59 answers each (the largest of 59
//! samples bounds their p95 at 95 % confidence, Wilks 1941). A window is healthy when every second in it has
//! answers with p95 within max(1.5 × baseline, baseline + 5 ms) (so the window's merged p95 is too) and its
//! errors pass a one-sided exact binomial test against the baseline's error rate. Recovered at `t` when every
//! window from `t` through `t + hold` is healthy; `not_recovered` when no such `t` comes before the run ends.
//! Pure: the rows are handed in. See `shared/reference/verdicts.md` §3.

use std::time::Duration;

use serde::Serialize;
use statrs::distribution::{Binomial, DiscreteCDF};

/// Seconds before a disturbance whose p95 and errors make its baseline.
pub const BASELINE_S: u64 = 10;
/// The answers a health window needs at least.
const WINDOW_ANSWERS: f64 = 59.0;
/// How long the run must stay healthy to count as recovered: at least this, and three windows.
const HOLD_MIN_S: u64 = 5;
const HOLD_WINDOWS: u64 = 3;
/// A window's p95 is at most this multiple of the baseline, or the baseline plus the slack, whichever is larger:
/// per-second p95 of a steady run moves by tens of percent, and by a few ms when it is small.
const BAND_FACTOR: f64 = 1.5;
const BAND_SLACK_MS: f64 = 5.0;
/// A window's errors are too many when so many or more would happen by chance less than once in a hundred
/// windows at the baseline's error rate.
const ERROR_ALPHA: f64 = 0.01;

/// One closed second of the run, as the recovery sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Second {
    /// Seconds since the load started: the row covers `[index, index + 1)`.
    pub index: u64,
    /// That second's end-to-end p95, `None` when nothing was answered in it.
    pub p95_ms: Option<f64>,
    pub answered: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Recovered,
    NotRecovered,
}

/// One disturbance's effect, for `summary.json`.
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
    pub verdict: Verdict,
    /// From the window's end to the moment the run settled; `None` when it did not (or there was no baseline).
    pub seconds: Option<f64>,
    /// The same as `seconds`, under its earlier name (`tgload compare` reads it).
    pub recovery_s: Option<f64>,
    /// The health windows' length and the hold period, seconds.
    pub window_s: u64,
    pub hold_s: u64,
}

/// Judges the disturbance `[start, end)` on `seconds` (in order, one per second since the load started).
pub fn judge(name: &str, start: Duration, end: Duration, seconds: &[Second]) -> Recovery {
    let (start_s, end_s) = (start.as_secs_f64(), end.as_secs_f64());
    let before: Vec<&Second> = seconds
        .iter()
        .filter(|s| (s.index as f64) < start_s && (s.index as f64) >= start_s - BASELINE_S as f64)
        .collect();
    let baseline = median(before.iter().filter_map(|s| s.p95_ms).collect());
    let (answered, errors) = before.iter().fold((0, 0), |(a, e), s| (a + s.answered, e + s.errors));
    let rate = answered as f64 / before.len().max(1) as f64;
    let error_rate = errors as f64 / (answered + errors).max(1) as f64;
    let window_s = if rate > 0.0 { (WINDOW_ANSWERS / rate).ceil().max(1.0) as u64 } else { 1 };
    let hold_s = (HOLD_WINDOWS * window_s).max(HOLD_MIN_S);
    let first_after = end_s.ceil() as u64;
    let after: Vec<&Second> = seconds.iter().filter(|s| s.index >= first_after).collect();
    let settled_at = baseline.and_then(|baseline| {
        let band = (baseline * BAND_FACTOR).max(baseline + BAND_SLACK_MS);
        let healthy = |window: &[&Second]| {
            let (answered, errors) = window.iter().fold((0, 0), |(a, e), s| (a + s.answered, e + s.errors));
            window.iter().all(|s| s.p95_ms.is_some_and(|p| p <= band)) && !too_many_errors(errors, answered, error_rate)
        };
        // The first second from which every window through the hold period is healthy.
        let need = hold_s as usize;
        (0..after.len().saturating_sub(need - 1)).find_map(|from| {
            let held = &after[from..from + need];
            let contiguous = held.last().map(|s| s.index) == Some(held[0].index + hold_s - 1);
            (contiguous && held.chunks(window_s as usize).all(healthy)).then_some(held[0].index)
        })
    });
    let impact_end = settled_at.unwrap_or(u64::MAX);
    let impact = seconds.iter().filter(|s| (s.index + 1) as f64 > start_s && s.index < impact_end);
    let (peak, errors) = impact.fold((None, 0), |(peak, errors), s| (max_option(peak, s.p95_ms), errors + s.errors));
    let settled = settled_at.map(|at| (at as f64 - end_s).max(0.0));
    Recovery {
        name: name.to_string(),
        start_s,
        end_s,
        baseline_p95_ms: baseline,
        peak_p95_ms: peak,
        errors,
        verdict: if settled.is_some() { Verdict::Recovered } else { Verdict::NotRecovered },
        seconds: settled,
        recovery_s: settled,
        window_s,
        hold_s,
    }
}

/// The load reductions of a stepped load: for each step followed by one with fewer users, the step's window,
/// `[start, end)` from the load's start, named `load reduction after <label>`. Settling after it is "recovery
/// time after load reduction": back to the band of the seconds before the heavier step.
pub fn load_reductions(steps: &[(String, Duration, usize)]) -> Vec<(String, Duration, Duration)> {
    let mut start = Duration::ZERO;
    let mut windows = Vec::new();
    for (i, (label, length, users)) in steps.iter().enumerate() {
        let end = start + *length;
        if steps.get(i + 1).is_some_and(|next| next.2 < *users) {
            windows.push((format!("load reduction after {label}"), start, end));
        }
        start = end;
    }
    windows
}

/// More errors than the baseline's rate explains: P(X ≥ errors) < `ERROR_ALPHA` for X ~ Binomial(n, p0). With no
/// errors in the baseline, any error is too many.
fn too_many_errors(errors: u64, answered: u64, p0: f64) -> bool {
    if errors == 0 {
        return false;
    }
    if p0 <= 0.0 {
        return true;
    }
    match Binomial::new(p0.min(1.0), answered + errors) {
        Ok(binomial) => binomial.sf(errors - 1) < ERROR_ALPHA,
        Err(_) => true,
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

    /// Rows from `(p95, errors)` pairs, one a second from 0, 100 answers a second (so one-second windows and a
    /// 5 s hold); a negative p95 is a second without answers.
    fn rows(values: &[(f64, u64)]) -> Vec<Second> {
        let second = |(i, &(p95, errors)): (usize, &(f64, u64))| Second {
            index: i as u64,
            p95_ms: (p95 >= 0.0).then_some(p95),
            answered: if p95 >= 0.0 { 100 } else { 0 },
            errors,
        };
        values.iter().enumerate().map(second).collect()
    }

    fn check(values: &[(f64, u64)], window_s: (f64, f64), expected: (Option<f64>, Option<f64>, u64, Option<f64>)) {
        let (start, end) = (Duration::from_secs_f64(window_s.0), Duration::from_secs_f64(window_s.1));
        let r = judge("fault", start, end, &rows(values));
        assert_eq!((r.baseline_p95_ms, r.peak_p95_ms, r.errors, r.seconds), expected, "{values:?}");
        assert_eq!(r.verdict == Verdict::Recovered, r.seconds.is_some());
        assert_eq!(r.recovery_s, r.seconds);
    }

    const OK: (f64, u64) = (10.0, 0);

    /// `n` healthy seconds.
    fn ok(n: usize) -> Vec<(f64, u64)> {
        vec![OK; n]
    }

    #[test]
    fn recovery_is_the_start_of_a_healthy_hold() {
        // Baseline 10 ms (band 15 ms); the window is 3..5 s; seconds 5 and 6 are still slow, 7.. are healthy.
        let run = [ok(3), vec![(500.0, 0), (900.0, 2), (300.0, 0), (25.0, 0)], ok(6)].concat();
        check(&run, (3.0, 5.0), (Some(10.0), Some(900.0), 2, Some(2.0)));
        // Healthy as soon as it closes: no time to recover.
        let quick = [ok(3), vec![(500.0, 0), (500.0, 0)], ok(6)].concat();
        check(&quick, (3.0, 5.0), (Some(10.0), Some(500.0), 0, Some(0.0)));
        // A window ending mid-second is judged from the next whole second.
        check(&quick, (3.0, 4.5), (Some(10.0), Some(500.0), 0, Some(0.5)));
        // The run ends before the hold is over: not recovered, whatever the last seconds looked like.
        let short = [ok(3), vec![(500.0, 0), (500.0, 0)], ok(4)].concat();
        check(&short, (3.0, 5.0), (Some(10.0), Some(500.0), 0, None));
    }

    #[test]
    fn a_bot_that_flaps_has_not_recovered_until_it_stops() {
        // Back in the band at 3 s, out again at 6 s and at 9 s, then steady from 10 s.
        let flapping = [ok(2), vec![(800.0, 0)], ok(3), vec![(700.0, 0)], ok(2), vec![(20.0, 0)], ok(6)].concat();
        check(&flapping, (2.0, 3.0), (Some(10.0), Some(800.0), 0, Some(7.0)));
        // Never back within the band.
        let degraded = [ok(2), vec![(800.0, 0)], vec![(60.0, 0); 10]].concat();
        check(&degraded, (2.0, 3.0), (Some(10.0), Some(800.0), 0, None));
        // Seconds without answers are not healthy either.
        let silent = [ok(2), vec![(800.0, 0), (-1.0, 0), (-1.0, 0)], ok(6)].concat();
        check(&silent, (2.0, 3.0), (Some(10.0), Some(800.0), 0, Some(2.0)));
    }

    #[test]
    fn errors_are_judged_against_the_baseline_rate() {
        // No errors before: one error afterwards is one too many.
        let one = [ok(3), vec![(500.0, 0)], vec![(10.0, 1)], ok(6)].concat();
        check(&one, (3.0, 4.0), (Some(10.0), Some(500.0), 1, Some(1.0)));
        // One error a second before (1 %): one a second afterwards is that rate, ten a second is not.
        let noisy = |after: u64| [vec![(10.0, 1); 3], vec![(500.0, 1)], vec![(10.0, after); 6]].concat();
        check(&noisy(1), (3.0, 4.0), (Some(10.0), Some(500.0), 1, Some(0.0)));
        check(&noisy(10), (3.0, 4.0), (Some(10.0), Some(500.0), 61, None));
    }

    #[test]
    fn windows_hold_enough_answers_at_a_low_rate() {
        // 20 answers a second: windows of 3 s (60 answers), a hold of 9 s.
        let second = |index: u64, p95: f64| Second { index, p95_ms: Some(p95), answered: 20, errors: 0 };
        let mut run: Vec<Second> = (0..4).map(|i| second(i, 10.0)).collect();
        run.push(second(4, 600.0));
        run.extend((5..14).map(|i| second(i, 10.0)));
        let r = judge("stall", Duration::from_secs(4), Duration::from_secs(5), &run);
        assert_eq!((r.window_s, r.hold_s, r.seconds), (3, 9, Some(0.0)), "{r:?}");
        // One second short of the hold: not yet.
        let r = judge("stall", Duration::from_secs(4), Duration::from_secs(5), &run[..13]);
        assert_eq!((r.verdict, r.seconds), (Verdict::NotRecovered, None), "{r:?}");
    }

    #[test]
    fn a_heavier_step_followed_by_a_lighter_one_is_a_load_reduction() {
        let s = Duration::from_secs;
        let steps =
            [("base".to_string(), s(15), 20), ("spike".to_string(), s(8), 150), ("after".to_string(), s(25), 20)];
        assert_eq!(load_reductions(&steps), [("load reduction after spike".to_string(), s(15), s(23))]);
        let rising = [("1k/s".to_string(), s(25), 1000), ("2k/s".to_string(), s(25), 2000)];
        assert!(load_reductions(&rising).is_empty());
    }

    #[test]
    fn without_seconds_before_the_window_there_is_no_baseline() {
        check(&[vec![(500.0, 0)], ok(8)].concat(), (0.0, 1.0), (None, Some(500.0), 0, None));
        // The baseline is a median: one slow second before the window does not move it.
        let before = [vec![(10.0, 0), (400.0, 0), (12.0, 0), (800.0, 0)], vec![(11.0, 0); 6]].concat();
        check(&before, (3.0, 4.0), (Some(12.0), Some(800.0), 0, Some(0.0)));
    }
}
