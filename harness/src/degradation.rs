//! Degradation over a run (a soak): the late part against the early part, after the warm-up, for p95, p99,
//! goodput and the bot's CPU per answered action, each as a relative change with a 95 % confidence interval and a
//! verdict against a budget (non-inferiority, Schuirmann's TOST as in `shared/reference/verdicts.md` §5). The run is
//! cut into buckets (a minute each in runs of 30 minutes or more, 10 s in shorter ones), the warm-up is cut by
//! MSER on the buckets' p95 (a fifth of the run at most), early and late are the first and last third of the rest (an hour each at most), and
//! the interval comes from a moving-block bootstrap over buckets (blocks keep the buckets' autocorrelation).
//! Pure: buckets are folded from the closed seconds handed in; the bootstrap's random numbers are seeded.

use hdrhistogram::Histogram;
use rand::rngs::SmallRng;
use rand::SeedableRng;
use serde::Serialize;

use crate::collector::histogram;
use crate::shift::resample_blocks;

/// The default budget: a change for the worse of less than this is no degradation (`< 5 % degradation`).
pub const DEFAULT_BUDGET_PCT: f64 = 5.0;
/// Fewer buckets than this after the warm-up cannot be split into an early and a late part worth comparing.
const MIN_BUCKETS: usize = 6;
/// Early and late are an hour each at most.
const MAX_PART_S: u64 = 3600;
const RESAMPLES: usize = 2000;

/// The bucket length for a run planned to last `planned_s`.
pub fn bucket_s(planned_s: u64) -> u64 {
    if planned_s >= 30 * 60 {
        60
    } else {
        10
    }
}

/// One bucket's figures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bucket {
    pub p95_ms: f64,
    pub p99_ms: f64,
    pub goodput_per_s: f64,
    /// The bot's CPU milliseconds per answered action; `None` without samples or answers.
    pub cpu_ms_per_action: Option<f64>,
}

/// Folds closed seconds into buckets; holds one histogram, whatever the run's length.
pub struct Buckets {
    length_s: u64,
    index: u64,
    e2e: Histogram<u64>,
    seconds: u64,
    good: u64,
    answered: u64,
    cpu_pct_sum: f64,
    cpu_samples: u64,
    done: Vec<Bucket>,
}

impl Buckets {
    pub fn new(length_s: u64) -> Buckets {
        Buckets {
            length_s: length_s.max(1),
            index: 0,
            e2e: histogram(),
            seconds: 0,
            good: 0,
            answered: 0,
            cpu_pct_sum: 0.0,
            cpu_samples: 0,
            done: Vec::new(),
        }
    }

    /// Second `index` (since the load started): its latency, answers, answers without error, the bot's CPU.
    pub fn add(&mut self, index: u64, e2e: &Histogram<u64>, answered: u64, good: u64, bot_cpu_pct: Option<f64>) {
        let bucket = index / self.length_s;
        if bucket != self.index {
            self.close();
            self.index = bucket;
        }
        let _ = self.e2e.add(e2e);
        self.seconds += 1;
        self.answered += answered;
        self.good += good;
        if let Some(cpu) = bot_cpu_pct {
            self.cpu_pct_sum += cpu;
            self.cpu_samples += 1;
        }
    }

    /// Closes the bucket under way if it is complete (a partial one at the end is left out).
    fn close(&mut self) {
        if self.seconds >= self.length_s && !self.e2e.is_empty() {
            let ms = |q: f64| self.e2e.value_at_quantile(q) as f64 / 1e3;
            // CPU % of one core over the bucket's seconds, as milliseconds of CPU, per answer.
            let cpu_ms = self.cpu_pct_sum / 100.0 * 1e3 * self.seconds as f64 / self.cpu_samples.max(1) as f64;
            self.done.push(Bucket {
                p95_ms: ms(0.95),
                p99_ms: ms(0.99),
                goodput_per_s: self.good as f64 / self.seconds as f64,
                cpu_ms_per_action: (self.cpu_samples > 0 && self.answered > 0).then(|| cpu_ms / self.answered as f64),
            });
        }
        self.e2e.reset();
        (self.seconds, self.good, self.answered, self.cpu_pct_sum, self.cpu_samples) = (0, 0, 0, 0.0, 0);
    }

    /// The complete buckets, the one under way included if it is complete.
    pub fn finish(mut self) -> (u64, Vec<Bucket>) {
        self.close();
        (self.length_s, self.done)
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    Degraded,
    NotDegraded,
    Inconclusive,
}

/// One metric's entry in `summary.json` `degradation`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Degradation {
    /// `p95`, `p99`, `goodput`, `cpu_per_action`.
    pub metric: &'static str,
    pub early: Option<f64>,
    pub late: Option<f64>,
    /// late / early − 1, in percent; positive is larger (worse for all but goodput).
    pub change_pct: Option<f64>,
    pub ci95: Option<[f64; 2]>,
    pub budget_pct: f64,
    pub verdict: Verdict,
    /// Seconds since the load started that early and late cover, and the bucket length.
    pub early_s: Option<[u64; 2]>,
    pub late_s: Option<[u64; 2]>,
    pub bucket_s: u64,
}

/// A metric: its name, whether higher is worse, its value in a bucket, and its noise floor (an absolute change
/// smaller than this is no degradation, whatever its relative size: `compare`'s floors).
type Metric = (&'static str, bool, fn(&Bucket) -> Option<f64>, f64);

/// Judges every metric on `buckets` of `bucket_s` seconds each, in order from the load's start.
pub fn judge(bucket_s: u64, buckets: &[Bucket], budget_pct: f64) -> Vec<Degradation> {
    use crate::compare::{LATENCY_FLOOR_MS, THROUGHPUT_FLOOR_PER_S};
    let metrics: [Metric; 4] = [
        ("p95", true, |b| Some(b.p95_ms), LATENCY_FLOOR_MS),
        ("p99", true, |b| Some(b.p99_ms), LATENCY_FLOOR_MS),
        ("goodput", false, |b| Some(b.goodput_per_s), THROUGHPUT_FLOOR_PER_S),
        ("cpu_per_action", true, |b| b.cpu_ms_per_action, 0.0),
    ];
    // MSER would cut half of a series that trends all along, which is what a degrading bot's is: the warm-up is
    // at most a fifth of the run, and at least one bucket.
    let mser = crate::leak::mser_cut(&buckets.iter().map(|b| b.p95_ms).collect::<Vec<_>>());
    let cut = mser.min(buckets.len() / 5).max(1);
    let kept = buckets.get(cut..).unwrap_or_default();
    let part = (kept.len() / 3).min((MAX_PART_S / bucket_s.max(1)) as usize);
    metrics
        .iter()
        .map(|&(metric, higher_is_worse, value, floor)| {
            let none = Degradation {
                metric,
                early: None,
                late: None,
                change_pct: None,
                ci95: None,
                budget_pct,
                verdict: Verdict::Inconclusive,
                early_s: None,
                late_s: None,
                bucket_s,
            };
            if kept.len() < MIN_BUCKETS || part < 2 {
                return none;
            }
            let early: Option<Vec<f64>> = kept[..part].iter().map(value).collect();
            let late: Option<Vec<f64>> = kept[kept.len() - part..].iter().map(value).collect();
            let (Some(early), Some(late)) = (early, late) else { return none };
            let Some(change) = change_pct(&early, &late) else { return none };
            let [low, high] = bootstrap_ci(&early, &late);
            // The change in the worse direction, and its interval.
            let (worse_low, worse_high) = if higher_is_worse { (low, high) } else { (-high, -low) };
            // On a small base the floor is the larger bar: p99 from 3.0 to 3.5 ms is +17 %, and noise.
            let base = mean(&early).abs();
            let bar = if base > 0.0 { budget_pct.max(100.0 * floor / base) } else { budget_pct };
            let verdict = if worse_low > bar {
                Verdict::Degraded
            } else if worse_high < bar {
                Verdict::NotDegraded
            } else {
                Verdict::Inconclusive
            };
            let start = (cut as u64) * bucket_s;
            let end = (cut + kept.len()) as u64 * bucket_s;
            Degradation {
                early: Some(mean(&early)),
                late: Some(mean(&late)),
                change_pct: Some(change),
                ci95: Some([low, high]),
                verdict,
                early_s: Some([start, start + part as u64 * bucket_s]),
                late_s: Some([end - part as u64 * bucket_s, end]),
                ..none
            }
        })
        .collect()
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

fn change_pct(early: &[f64], late: &[f64]) -> Option<f64> {
    let e = mean(early);
    (e > 0.0).then(|| (mean(late) / e - 1.0) * 100.0)
}

/// The 2.5 and 97.5 percentiles of the change over moving-block resamples of each part (blocks of √n buckets,
/// drawn with replacement, so that neighbouring buckets' correlation survives the resampling).
fn bootstrap_ci(early: &[f64], late: &[f64]) -> [f64; 2] {
    let mut rng = SmallRng::seed_from_u64(0x6465_6772);
    let mut changes: Vec<f64> = (0..RESAMPLES)
        .filter_map(|_| change_pct(&resample_blocks(early, &mut rng), &resample_blocks(late, &mut rng)))
        .collect();
    if changes.is_empty() {
        return [f64::NAN, f64::NAN];
    }
    changes.sort_by(f64::total_cmp);
    let at = |q: f64| changes[((changes.len() - 1) as f64 * q).round() as usize];
    [at(0.025), at(0.975)]
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buckets(n: usize, p95: impl Fn(usize) -> f64) -> Vec<Bucket> {
        (0..n)
            .map(|i| Bucket {
                p95_ms: p95(i),
                p99_ms: p95(i) * 1.5,
                goodput_per_s: 100.0,
                cpu_ms_per_action: Some(2.0 + ((i * 5) % 3) as f64 * 0.01),
            })
            .collect()
    }

    fn verdict(entries: &[Degradation], metric: &str) -> Verdict {
        entries.iter().find(|d| d.metric == metric).unwrap().verdict
    }

    #[test]
    fn latency_that_grows_is_degraded_and_steady_metrics_are_not() {
        // p95 from 20 ms up by 1 ms a bucket; goodput and CPU per action flat.
        let growing = judge(10, &buckets(30, |i| 20.0 + i as f64), DEFAULT_BUDGET_PCT);
        assert_eq!(verdict(&growing, "p95"), Verdict::Degraded, "{growing:?}");
        assert_eq!(verdict(&growing, "p99"), Verdict::Degraded);
        assert_eq!(verdict(&growing, "goodput"), Verdict::NotDegraded, "{growing:?}");
        assert_eq!(verdict(&growing, "cpu_per_action"), Verdict::NotDegraded, "{growing:?}");
        let p95 = growing.iter().find(|d| d.metric == "p95").unwrap();
        let [low, high] = p95.ci95.unwrap();
        assert!(low <= p95.change_pct.unwrap() && p95.change_pct.unwrap() <= high, "{p95:?}");
    }

    #[test]
    fn a_steady_run_is_not_degraded_and_a_short_one_is_inconclusive() {
        let steady = judge(10, &buckets(30, |i| 20.0 + ((i * 7) % 3) as f64 * 0.2), DEFAULT_BUDGET_PCT);
        assert!(steady.iter().all(|d| d.verdict == Verdict::NotDegraded), "{steady:?}");
        let short = judge(10, &buckets(5, |i| 20.0 + i as f64), DEFAULT_BUDGET_PCT);
        assert!(short.iter().all(|d| d.verdict == Verdict::Inconclusive && d.change_pct.is_none()), "{short:?}");
        // A 6 % rise (just past the budget) in noise of ±25 %: the interval straddles the budget.
        let noisy = judge(10, &buckets(30, |i| if i % 2 == 0 { 16.0 } else { 24.0 } * (1.0 + 0.003 * i as f64)), 5.0);
        assert_eq!(verdict(&noisy, "p95"), Verdict::Inconclusive, "{noisy:?}");
    }

    #[test]
    fn a_rise_under_the_latency_floor_is_no_degradation() {
        // 2.0 → 2.3 ms at p95 (3.0 → 3.5 at p99) is +15 %, past the budget, but a fraction of a millisecond:
        // identical runs move that much.
        let small = judge(10, &buckets(30, |i| 2.0 + 0.01 * i as f64), DEFAULT_BUDGET_PCT);
        assert_ne!(verdict(&small, "p95"), Verdict::Degraded, "{small:?}");
        assert_ne!(verdict(&small, "p99"), Verdict::Degraded, "{small:?}");
        let large = judge(10, &buckets(30, |i| 2.0 + 0.5 * i as f64), DEFAULT_BUDGET_PCT);
        assert_eq!(verdict(&large, "p95"), Verdict::Degraded, "{large:?}");
    }

    #[test]
    fn seconds_fold_into_whole_buckets() {
        let mut folded = Buckets::new(10);
        let mut h = histogram();
        h.record(5_000).unwrap();
        for second in 0..25 {
            folded.add(second, &h, 10, 9, Some(50.0));
        }
        let (length, done) = folded.finish();
        assert_eq!((length, done.len()), (10, 2), "the half bucket at the end is left out");
        assert_eq!(done[0].goodput_per_s, 9.0);
        // 50 % of a core for 10 s is 5,000 ms of CPU, over 100 answers.
        assert_eq!(done[0].cpu_ms_per_action, Some(50.0));
        assert!((done[0].p95_ms - 5.0).abs() < 0.01);
        assert_eq!(bucket_s(600), 10);
        assert_eq!(bucket_s(3 * 3600), 60);
    }
}
