//! The statistics on synthetic samples: known shifts are found with intervals that cover them, no shift is judged
//! `same`, too few runs are `inconclusive` with advice, and the interval's coverage holds over many A/A draws.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::*;

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut SmallRng) -> f64 {
    let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// `n_runs` runs of `seconds` samples around `level`: each run offset by `run_sd` (the run-to-run spread), each
/// second by `second_sd` around it.
fn side(rng: &mut SmallRng, n_runs: usize, seconds: usize, level: f64, run_sd: f64, second_sd: f64) -> Vec<Vec<f64>> {
    (0..n_runs)
        .map(|_| {
            let run_level = level + run_sd * normal(rng);
            (0..seconds).map(|_| run_level + second_sd * normal(rng)).collect()
        })
        .collect()
}

#[test]
fn hodges_lehmann_is_the_median_of_pairwise_differences() {
    assert_eq!(hodges_lehmann(&[1.0, 2.0, 3.0], &[11.0, 12.0, 13.0]), 10.0);
    // Differences 4, 3, 9, 8: the median of an even count is the mean of the middle two.
    assert_eq!(hodges_lehmann(&[1.0, 2.0], &[5.0, 10.0]), 6.0);
    assert!(hodges_lehmann(&[], &[1.0]).is_nan());
    assert_eq!(median_in_place(&mut [3.0, 1.0, 2.0]), 2.0);
    assert_eq!(median_in_place(&mut [4.0, 1.0, 3.0, 2.0]), 2.5);
}

#[test]
fn a_known_shift_is_found_inside_its_interval() {
    let mut rng = SmallRng::seed_from_u64(1);
    let base = side(&mut rng, 3, 60, 10.0, 0.2, 1.0);
    let candidate = side(&mut rng, 3, 60, 13.0, 0.2, 1.0);
    let e = estimate(&base, &candidate, 7).unwrap();
    assert!(e.low < 3.0 && 3.0 < e.high, "{e:?}");
    assert!((e.shift - 3.0).abs() < 0.6, "{e:?}");
    // A 10 % margin on a base of 10 is 1: a shift of 3 whose interval clears it is worse for a lower-is-better metric.
    assert_eq!(judge(&e, 1.0, Better::Lower, 3), Judgement { verdict: Verdict::Worse, repeats_needed: None });
    assert_eq!(judge(&e, 1.0, Better::Higher, 3).verdict, Verdict::Better);
}

#[test]
fn no_shift_is_the_same_and_a_small_margin_is_inconclusive() {
    let mut rng = SmallRng::seed_from_u64(2);
    let base = side(&mut rng, 4, 60, 10.0, 0.1, 1.0);
    let candidate = side(&mut rng, 4, 60, 10.0, 0.1, 1.0);
    let e = estimate(&base, &candidate, 7).unwrap();
    assert!(e.low < 0.0 && 0.0 < e.high, "{e:?}");
    assert_eq!(judge(&e, 1.0, Better::Lower, 4).verdict, Verdict::Same);
    let tight = judge(&e, (e.high - e.low) / 4.0, Better::Lower, 4);
    assert_eq!(tight.verdict, Verdict::Inconclusive);
    assert!(tight.repeats_needed.is_some_and(|n| n > 4), "{tight:?}");
}

#[test]
fn one_run_per_side_is_inconclusive_however_clear_its_seconds() {
    let mut rng = SmallRng::seed_from_u64(3);
    let base = side(&mut rng, 1, 120, 10.0, 0.0, 0.5);
    let candidate = side(&mut rng, 1, 120, 20.0, 0.0, 0.5);
    let e = estimate(&base, &candidate, 7).unwrap();
    assert!(e.low > 9.0, "{e:?}");
    let j = judge(&e, 1.0, Better::Lower, 1);
    assert_eq!(j.verdict, Verdict::Inconclusive);
    assert_eq!(j.repeats_needed, Some(MIN_RUNS));
}

#[test]
fn the_run_to_run_spread_widens_the_interval() {
    let mut rng = SmallRng::seed_from_u64(4);
    let steady = estimate(&side(&mut rng, 3, 60, 10.0, 0.0, 1.0), &side(&mut rng, 3, 60, 10.0, 0.0, 1.0), 7).unwrap();
    let spread = estimate(&side(&mut rng, 3, 60, 10.0, 2.0, 1.0), &side(&mut rng, 3, 60, 10.0, 2.0, 1.0), 7).unwrap();
    assert!(spread.high - spread.low > 3.0 * (steady.high - steady.low), "{steady:?} {spread:?}");
}

#[test]
fn a_side_without_samples_has_no_estimate() {
    assert_eq!(estimate(&[], &[vec![1.0]], 7), None);
    assert_eq!(estimate(&[vec![]], &[vec![1.0]], 7), None);
}

/// Over 100 A/A draws of three runs a side, a shift beyond a margin of two run-to-run deviations is almost never
/// claimed: the false alarms the calibration benchmark measures on real runs, here on known truth.
#[test]
fn aa_draws_rarely_claim_a_shift() {
    let mut rng = SmallRng::seed_from_u64(5);
    let mut claimed = 0;
    let mut covered = 0;
    for seed in 0..100 {
        let base = side(&mut rng, 3, 30, 10.0, 0.5, 1.0);
        let candidate = side(&mut rng, 3, 30, 10.0, 0.5, 1.0);
        let e = estimate(&base, &candidate, seed).unwrap();
        covered += usize::from(e.low <= 0.0 && 0.0 <= e.high);
        claimed += usize::from(matches!(judge(&e, 1.0, Better::Lower, 3).verdict, Verdict::Worse | Verdict::Better));
    }
    assert!(claimed <= 2, "{claimed} of 100 A/A draws claimed a shift");
    assert!(covered >= 85, "the interval covered no shift in only {covered} of 100 draws");
}

#[test]
fn long_runs_are_condensed_to_group_medians() {
    let long: Vec<f64> = (0..10_000).map(|i| f64::from(i % 7)).collect();
    let condensed = condense(&long);
    assert_eq!(condensed.len(), 2000);
    assert!(condensed.iter().all(|v| (0.0..=6.0).contains(v)));
    assert_eq!(condense(&[3.0, 1.0]), vec![3.0, 1.0]);
    let e = estimate(&[long.clone(), long.clone()], &[long.iter().map(|v| v + 1.0).collect()], 7).unwrap();
    assert!((e.shift - 1.0).abs() < 1e-9, "{e:?}");
}
