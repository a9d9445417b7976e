//! The history file (parsing, its errors, repeated nights, `append_lines` round-tripping), the change points on
//! synthetic nightly series (noise alone, one step, two steps, steps far apart in a long history, an outlier),
//! metric directions, and a snapshot of the command's markdown.

use std::fmt::Write;
use std::path::Path;

use expect_test::{expect, Expect};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::command::{outcome, Options};
use super::*;

/// A standard normal draw (Box-Muller).
fn normal(rng: &mut SmallRng) -> f64 {
    let (u, v): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
    (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
}

/// `n` nights whose level is `level(night)`, each with 5 % noise: about the night-to-night spread of a p95 on a
/// shared runner.
fn nightly(seed: u64, n: usize, level: impl Fn(usize) -> f64) -> Vec<f64> {
    let mut rng = SmallRng::seed_from_u64(seed);
    (0..n).map(|i| level(i) * (1.0 + 0.05 * normal(&mut rng))).collect()
}

fn series(metric: &str, values: &[f64]) -> Series {
    let points = values
        .iter()
        .enumerate()
        .map(|(i, &value)| Point { night: format!("n{i:02}"), commit: Some(format!("c{i:02}")), value })
        .collect();
    Series { metric: metric.to_string(), points }
}

/// The indices of the change points found in `values` as a latency.
fn found(values: &[f64]) -> Vec<usize> {
    change_points(&series("latency_ms.p95", values), P_VALUE).iter().map(|c| c.index).collect()
}

#[test]
fn noise_alone_has_no_change_point() {
    for seed in 0..50 {
        assert_eq!(found(&nightly(seed, 60, |_| 100.0)), Vec::<usize>::new(), "seed {seed}");
    }
}
