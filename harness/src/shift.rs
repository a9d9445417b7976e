//! The shift between two sets of runs, with its 95 % confidence interval, and the three-way verdict on it. The run
//! is the unit of replication: each side is a list of runs, each run a list of its own samples (the steady
//! seconds' percentiles, or one value for a whole-run figure). The shift is the Hodges-Lehmann estimate over the
//! runs' medians; its interval comes from a two-level bootstrap (runs drawn with replacement, then each drawn run's
//! seconds in moving blocks), so that both the run-to-run spread and the spread within a run widen it. Pure: the
//! bootstrap's random numbers are seeded, so one input always gives one answer.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

/// Bootstrap resamples per interval.
pub const RESAMPLES: usize = 2000;
/// Runs a side needs before a verdict other than `inconclusive`: with one run, how much a second run of the same
/// build would differ is unknown, and that run-to-run spread is the largest noise there is (30-40 % on p95 between
/// two identical runs on a shared 2-core machine).
pub const MIN_RUNS: usize = 2;
/// A run with more samples than this (a long run's seconds) is bootstrapped on the medians of consecutive groups
/// of its seconds, at most this many: a 72-hour run has 259,200 seconds, and 2,000 resamples of each would take
/// minutes. Neighbouring seconds are correlated, so little is lost.
pub const MAX_SAMPLES_PER_RUN: usize = 2000;
/// Past this many repeats per side, "how many would decide it" is not worth saying: the shift sits on the margin.
pub const MAX_REPEATS_ADVICE: usize = 50;

/// Which way a metric improves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Better {
    Lower,
    Higher,
}

/// A shift of the candidate from the base (`candidate − base`, in the metric's unit) and its 95 % interval.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct Estimate {
    pub shift: f64,
    pub low: f64,
    pub high: f64,
}

/// The judgement of one shift against a margin of equivalence.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// The whole interval is beyond the margin, in the metric's good direction.
    Better,
    /// The whole interval is beyond the margin, in the bad direction.
    Worse,
    /// The whole interval is inside ±margin: equivalent (two one-sided tests).
    Same,
    /// The interval straddles the margin, or a side has too few runs to say.
    Inconclusive,
}

/// A verdict, and when it is `inconclusive`, the runs per side that would likely decide it (`None`: more than
/// `MAX_REPEATS_ADVICE`, or nothing to go on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Judgement {
    pub verdict: Verdict,
    pub repeats_needed: Option<usize>,
}

/// The median of all pairwise differences `candidate[j] − base[i]`; `NaN` when a side is empty.
pub fn hodges_lehmann(base: &[f64], candidate: &[f64]) -> f64 {
    let mut differences: Vec<f64> = candidate.iter().flat_map(|c| base.iter().map(move |b| c - b)).collect();
    median_in_place(&mut differences)
}

/// The median of `values` (reordered); `NaN` when empty.
pub fn median_in_place(values: &mut [f64]) -> f64 {
    let n = values.len();
    if n == 0 {
        return f64::NAN;
    }
    let (_, &mut upper, _) = values.select_nth_unstable_by(n / 2, f64::total_cmp);
    if n % 2 == 1 {
        return upper;
    }
    let lower = values[..n / 2].iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (lower + upper) / 2.0
}

/// Each run's median: the value that stands for the run.
pub fn run_medians(runs: &[Vec<f64>]) -> Vec<f64> {
    runs.iter().filter(|r| !r.is_empty()).map(|r| median_in_place(&mut r.clone())).collect()
}

/// The value that stands for a side: the median of its runs' medians; `None` when no run has a sample.
pub fn center(runs: &[Vec<f64>]) -> Option<f64> {
    let mut medians = run_medians(runs);
    (!medians.is_empty()).then(|| median_in_place(&mut medians))
}

/// The shift from `base` to `candidate` and its 95 % interval; `None` when a side has no run with a sample.
/// `seed` makes the bootstrap repeatable; give each metric its own.
pub fn estimate(base: &[Vec<f64>], candidate: &[Vec<f64>], seed: u64) -> Option<Estimate> {
    let (base_medians, candidate_medians) = (run_medians(base), run_medians(candidate));
    if base_medians.is_empty() || candidate_medians.is_empty() {
        return None;
    }
    let shift = hodges_lehmann(&base_medians, &candidate_medians);
    let condensed = |side: &[Vec<f64>]| side.iter().filter(|r| !r.is_empty()).map(|r| condense(r)).collect::<Vec<_>>();
    let (base, candidate) = (condensed(base), condensed(candidate));
    let mut rng = SmallRng::seed_from_u64(seed);
    let mut shifts: Vec<f64> = (0..RESAMPLES)
        .map(|_| {
            let b = resample_runs(&base, &mut rng);
            let c = resample_runs(&candidate, &mut rng);
            hodges_lehmann(&b, &c)
        })
        .collect();
    shifts.sort_by(f64::total_cmp);
    let at = |q: f64| shifts[((shifts.len() - 1) as f64 * q).round() as usize];
    // The percentile interval of so few runs can miss the estimate itself by a hair; it always holds it here.
    Some(Estimate { shift, low: at(0.025).min(shift), high: at(0.975).max(shift) })
}

/// `run`'s samples, or the medians of consecutive groups of them when there are more than `MAX_SAMPLES_PER_RUN`.
fn condense(run: &[f64]) -> Vec<f64> {
    if run.len() <= MAX_SAMPLES_PER_RUN {
        return run.to_vec();
    }
    let group = run.len().div_ceil(MAX_SAMPLES_PER_RUN);
    run.chunks(group).map(|chunk| median_in_place(&mut chunk.to_vec())).collect()
}

/// One bootstrap draw of a side: as many runs as it has, drawn with replacement, each reduced to the median of a
/// moving-block resample of its own samples.
fn resample_runs(runs: &[Vec<f64>], rng: &mut SmallRng) -> Vec<f64> {
    (0..runs.len())
        .map(|_| {
            let run = &runs[rng.random_range(0..runs.len())];
            median_in_place(&mut resample_blocks(run, rng))
        })
        .collect()
}

/// A moving-block resample of `values`: blocks of √n consecutive values drawn with replacement until there are n,
/// so that neighbouring seconds' correlation survives the resampling.
pub fn resample_blocks(values: &[f64], rng: &mut SmallRng) -> Vec<f64> {
    let n = values.len();
    if n <= 1 {
        return values.to_vec();
    }
    let block = ((n as f64).sqrt().round() as usize).clamp(1, n);
    let mut out = Vec::with_capacity(n + block);
    while out.len() < n {
        let start = rng.random_range(0..=n - block);
        out.extend_from_slice(&values[start..start + block]);
    }
    out.truncate(n);
    out
}

/// Judges `estimate` against `±margin` (in the metric's unit), with `runs` the fewer runs of the two sides.
pub fn judge(estimate: &Estimate, margin: f64, better: Better, runs: usize) -> Judgement {
    let Estimate { low, high, .. } = *estimate;
    let (up_is_good, down_is_good) = match better {
        Better::Lower => (Verdict::Worse, Verdict::Better),
        Better::Higher => (Verdict::Better, Verdict::Worse),
    };
    let decided = if low > margin {
        Some(up_is_good)
    } else if high < -margin {
        Some(down_is_good)
    } else if low >= -margin && high <= margin {
        Some(Verdict::Same)
    } else {
        None
    };
    match decided {
        Some(verdict) if runs >= MIN_RUNS => Judgement { verdict, repeats_needed: None },
        _ => {
            let needed = repeats_needed(estimate, margin, runs);
            let needed = if runs < MIN_RUNS { needed.map(|n| n.max(MIN_RUNS)) } else { needed };
            Judgement { verdict: Verdict::Inconclusive, repeats_needed: needed }
        }
    }
}

/// How many runs per side would narrow the interval enough to decide, if its half-width shrinks as 1/√runs and the
/// shift stays where it is: past the margin for `worse` or `better`, inside it for `same`.
fn repeats_needed(estimate: &Estimate, margin: f64, runs: usize) -> Option<usize> {
    let half_width = (estimate.high - estimate.low) / 2.0;
    let room = (estimate.shift.abs() - margin).abs();
    if !(half_width.is_finite() && room > 0.0) {
        return None;
    }
    let needed = (runs.max(1) as f64 * (half_width / room).powi(2)).ceil() as usize;
    let needed = needed.max(runs + 1);
    (needed <= MAX_REPEATS_ADVICE).then_some(needed)
}

#[cfg(test)]
mod tests;
