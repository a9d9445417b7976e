//! The leak verdict for one process's memory (the bot's or the harness's): `leak`, `no_leak` or `inconclusive`,
//! from per-minute medians of its RSS. The warm-up is cut by MSER (White 1997), where allocators and caches still
//! grow; the slope is Sen's (the median of pairwise slopes) with its distribution-free 95 % interval from Kendall's
//! S (Gilbert 1987, tie-corrected, as R's `trend::sens.slope`). A leak needs the interval's lower bound above zero
//! and the slope above a practical floor; no leak needs the upper bound below the floor; anything else, a run
//! too short included, is inconclusive. Pure: the medians are handed in. See `shared/reference/verdicts.md` §4.

use serde::Serialize;

/// Fewer per-minute medians than this after the warm-up cut cannot tell a leak from noise.
pub const MIN_POINTS: usize = 5;
/// The default practical floor, MB per hour: a clean bot's RSS still moves by a few MB over an hour (allocator
/// arenas, caches, pools), and a leak below this adds less than half a GB over 24 hours.
pub const DEFAULT_FLOOR_MB_PER_H: f64 = 20.0;
/// The 97.5 % quantile of the standard normal.
const Z_975: f64 = 1.959_963_984_540_054;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Leak,
    NoLeak,
    Inconclusive,
}

/// `bot.leak` / `harness.leak` in `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Leak {
    pub verdict: Verdict,
    /// Sen's slope of the RSS after the warm-up, MB per hour; `null` when too few points remained.
    pub slope_mb_per_h: Option<f64>,
    /// Its 95 % confidence interval, MB per hour.
    pub ci95: Option<[f64; 2]>,
    pub floor_mb_per_h: f64,
    /// Minutes left out at the start (MSER), and per-minute medians the slope was fitted on.
    pub warm_up_min: usize,
    pub points: usize,
    /// Why, in a sentence: for a person reading `report.md`.
    pub reason: String,
}

/// Judges `minutes`: (minute's midpoint in seconds since the load started, median RSS in MB), in time order.
pub fn judge(minutes: &[(f64, f64)], floor_mb_per_h: f64) -> Leak {
    let cut = mser_cut(&minutes.iter().map(|m| m.1).collect::<Vec<_>>());
    let kept = &minutes[cut..];
    let inconclusive = |reason: String| Leak {
        verdict: Verdict::Inconclusive,
        slope_mb_per_h: None,
        ci95: None,
        floor_mb_per_h,
        warm_up_min: cut,
        points: kept.len(),
        reason,
    };
    if kept.len() < MIN_POINTS {
        return inconclusive(format!(
            "too short to tell: {} per-minute medians after a {cut}-minute warm-up, {MIN_POINTS} needed",
            kept.len()
        ));
    }
    let hours: Vec<(f64, f64)> = kept.iter().map(|(t, mb)| (t / 3600.0, *mb)).collect();
    let Some((slope, low, high)) = sen_slope_ci(&hours) else {
        return inconclusive("no two minutes apart in time".into());
    };
    let (verdict, reason) = if low > 0.0 && slope > floor_mb_per_h {
        (
            Verdict::Leak,
            format!("grows {slope:.1} MB/h (95 % CI {low:.1} to {high:.1}), above the {floor_mb_per_h} MB/h floor"),
        )
    } else if high < floor_mb_per_h {
        (
            Verdict::NoLeak,
            format!("at most {high:.1} MB/h (95 % CI upper bound), below the {floor_mb_per_h} MB/h floor"),
        )
    } else {
        (
            Verdict::Inconclusive,
            format!(
                "{slope:.1} MB/h with a 95 % CI of {low:.1} to {high:.1}: neither clear of the {floor_mb_per_h} MB/h \
                 floor nor clear of zero; a longer run would tell"
            ),
        )
    };
    Leak {
        verdict,
        slope_mb_per_h: Some(slope),
        ci95: Some([low, high]),
        floor_mb_per_h,
        warm_up_min: cut,
        points: kept.len(),
        reason,
    }
}

/// MSER (White 1997): the cut `d` in the first half that minimises the variance of the mean of what remains,
/// Σ_{j≥d} (Z_j − Z̄_d)² / (k − d)². Batches of 5 (MSER-5) once there are 50 points or more, single points below.
pub fn mser_cut(values: &[f64]) -> usize {
    let batch = if values.len() >= 50 { 5 } else { 1 };
    let z: Vec<f64> = values.chunks(batch).map(|c| c.iter().sum::<f64>() / c.len() as f64).collect();
    let k = z.len();
    if k < 3 {
        return 0;
    }
    let mut best = (f64::INFINITY, 0);
    for d in 0..=k / 2 {
        let rest = &z[d..];
        let mean = rest.iter().sum::<f64>() / rest.len() as f64;
        let score = rest.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (rest.len() as f64).powi(2);
        if score < best.0 {
            best = (score, d);
        }
    }
    best.1 * batch
}

/// Sen's slope of `points` (x, y) and its 95 % interval from the variance of Kendall's S, tie-corrected:
/// Var S = [n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18 over groups of tied y, C = z·√Var S, and the bounds the sorted
/// pairwise slopes at ranks (N' − C)/2 and (N' + C)/2 + 1, rounded. `None` with no pair apart in x.
pub fn sen_slope_ci(points: &[(f64, f64)]) -> Option<(f64, f64, f64)> {
    let mut slopes = Vec::with_capacity(points.len() * points.len() / 2);
    for (i, (x1, y1)) in points.iter().enumerate() {
        for (x2, y2) in &points[i + 1..] {
            if x2 != x1 {
                slopes.push((y2 - y1) / (x2 - x1));
            }
        }
    }
    if slopes.is_empty() {
        return None;
    }
    slopes.sort_by(f64::total_cmp);
    let n_pairs = slopes.len();
    let median =
        if n_pairs % 2 == 1 { slopes[n_pairs / 2] } else { (slopes[n_pairs / 2 - 1] + slopes[n_pairs / 2]) / 2.0 };
    let ys: Vec<f64> = points.iter().map(|p| p.1).collect();
    let var_s = kendall_variance(&ys).max(0.0);
    let c = Z_975 * var_s.sqrt();
    let rank = |r: f64| (r.round() as usize).clamp(1, n_pairs) - 1;
    let low = slopes[rank((n_pairs as f64 - c) / 2.0)];
    let high = slopes[rank((n_pairs as f64 + c) / 2.0 + 1.0)];
    Some((median, low, high))
}

/// The variance of Kendall's S for `values` under no trend, tie-corrected:
/// [n(n−1)(2n+5) − Σ t(t−1)(2t+5)] / 18 over the groups of `t` equal values.
pub fn kendall_variance(values: &[f64]) -> f64 {
    let mut sorted = values.to_vec();
    sorted.sort_by(f64::total_cmp);
    let ties: f64 = sorted
        .chunk_by(|a, b| a == b)
        .map(|group| group.len() as f64)
        .filter(|t| *t > 1.0)
        .map(|t| t * (t - 1.0) * (2.0 * t + 5.0))
        .sum();
    let n = values.len() as f64;
    (n * (n - 1.0) * (2.0 * n + 5.0) - ties) / 18.0
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Per-minute medians: `mb(minute)` for `n` minutes, each at its midpoint.
    fn minutes(n: usize, mb: impl Fn(usize) -> f64) -> Vec<(f64, f64)> {
        (0..n).map(|m| (m as f64 * 60.0 + 30.0, mb(m))).collect()
    }

    /// A repeatable wobble of ±`amplitude` MB, like a GC sawtooth or allocator noise.
    fn wobble(m: usize, amplitude: f64) -> f64 {
        amplitude * (((m * 7919) % 13) as f64 / 6.0 - 1.0)
    }

    fn check(minutes: &[(f64, f64)], expected: Verdict) -> Leak {
        let leak = judge(minutes, DEFAULT_FLOOR_MB_PER_H);
        assert_eq!(leak.verdict, expected, "{leak:?}");
        leak
    }

    #[test]
    fn a_steady_leak_is_found_with_its_rate() {
        // 1 MB a minute (60 MB/h) for 10 minutes, on top of noise.
        let leak = check(&minutes(10, |m| 100.0 + m as f64 + wobble(m, 0.3)), Verdict::Leak);
        let [low, high] = leak.ci95.unwrap();
        assert!(low <= 60.0 && 60.0 <= high && (leak.slope_mb_per_h.unwrap() - 60.0).abs() < 10.0, "{leak:?}");
    }

    #[test]
    fn a_plateau_after_a_warm_up_is_no_leak() {
        // Climbs 40 MB over 4 minutes, then stays within ±0.3 MB for 26 minutes.
        let rss = minutes(30, |m| if m < 4 { 60.0 + 10.0 * m as f64 } else { 100.0 + wobble(m, 0.3) });
        let leak = check(&rss, Verdict::NoLeak);
        assert!(leak.warm_up_min >= 4, "the warm-up is cut: {leak:?}");
    }

    #[test]
    fn short_or_noisy_runs_are_inconclusive() {
        check(&minutes(3, |m| 100.0 + m as f64), Verdict::Inconclusive);
        check(&[], Verdict::Inconclusive);
        // ±20 MB of noise over 8 minutes: no interval is narrow enough either way.
        check(&minutes(8, |m| 100.0 + wobble(m, 20.0)), Verdict::Inconclusive);
    }

    #[test]
    fn sen_slope_matches_known_values() {
        // A line: every pairwise slope is 2, so is the interval.
        let line: Vec<(f64, f64)> = (0..10).map(|i| (i as f64, 2.0 * i as f64)).collect();
        assert_eq!(sen_slope_ci(&line), Some((2.0, 2.0, 2.0)));
        // Worked by hand: 45 slopes, Var S = 10·9·25/18 = 125, C = 21.91, so ranks round(11.54) = 12 and
        // round(34.46) = 34 of the sorted slopes: 0.75 and 1.2; the median is 1.
        let ys = [1.0, 3.0, 2.0, 5.0, 4.0, 6.0, 8.0, 7.0, 9.0, 10.0];
        let points: Vec<(f64, f64)> = ys.iter().enumerate().map(|(i, y)| (i as f64 + 1.0, *y)).collect();
        let (slope, low, high) = sen_slope_ci(&points).unwrap();
        assert_eq!(slope, 1.0);
        assert_eq!((low, high), (0.75, 1.2));
    }

    #[test]
    fn mser_cuts_a_warm_up_and_not_a_flat_run() {
        assert_eq!(mser_cut(&[5.0, 5.0, 5.0, 5.0, 5.0, 5.0]), 0);
        assert_eq!(mser_cut(&[1.0, 3.0, 5.0, 5.0, 5.0, 5.0, 5.0, 5.0]), 2);
    }
}
