//! The resource samples of a load: the bot's and the harness's CPU and RSS, folded into a bounded `Track` each for
//! the summary (start, peak, end, drift), and the bot's by second until that second's row of `timeseries.csv`
//! takes it.

use std::collections::BTreeMap;

use crate::sampler::{Sample, Usage};
use crate::summary::{Point, Track};

#[derive(Default)]
pub(super) struct Resources {
    pub bot: Track,
    pub harness: Track,
    /// The bot's RSS (MB) and CPU by second since the load started, for rows not yet written.
    unwritten: BTreeMap<u64, (f64, f64)>,
}

impl Resources {
    /// Keeps a sample taken after the load started at `t0_us`; returns its time since then, `None` for an
    /// earlier one.
    pub fn record(&mut self, s: &Sample, t0_us: u64) -> Option<f64> {
        if s.t_us < t0_us {
            return None;
        }
        let t_s = (s.t_us - t0_us) as f64 / 1e6;
        let point = |u: &Usage| Point { t_s, rss_mb: u.rss_bytes as f64 / 1e6, cpu_pct: u.cpu_pct };
        self.harness.push(point(&s.harness));
        if let Some(bot) = &s.bot {
            let p = point(bot);
            self.bot.push(p);
            self.unwritten.insert(t_s as u64, (p.rss_mb, p.cpu_pct));
        }
        Some(t_s)
    }

    /// The bot's RSS and CPU in second `index`, for its row; earlier seconds without a row are dropped.
    pub fn take_second(&mut self, index: u64) -> Option<(f64, f64)> {
        self.unwritten.retain(|second, _| *second >= index);
        self.unwritten.remove(&index)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(t_us: u64, bot_mb: Option<u64>) -> Sample {
        let usage = |mb: u64| Usage { rss_bytes: mb * 1_000_000, cpu_pct: 50.0 };
        Sample { t_us, bot: bot_mb.map(usage), harness: usage(20) }
    }

    #[test]
    fn samples_after_the_start_become_points_and_rows() {
        let mut resources = Resources::default();
        let t0 = 1_000_000_000;
        assert_eq!(resources.record(&sample(t0 - 1, Some(10)), t0), None);
        assert_eq!(resources.record(&sample(t0 + 500_000, Some(11)), t0), Some(0.5));
        resources.record(&sample(t0 + 1_500_000, None), t0);
        resources.record(&sample(t0 + 2_500_000, Some(13)), t0);
        let rss: Vec<(f64, f64)> = resources.bot.points().iter().map(|p| (p.t_s, p.rss_mb)).collect();
        assert_eq!(rss, [(0.5, 11.0), (2.5, 13.0)]);
        assert_eq!(resources.harness.points().len(), 3);
        // Second 2's row comes first (second 0's was never written): second 0 is dropped with it.
        assert_eq!(resources.take_second(2), Some((13.0, 50.0)));
        assert_eq!(resources.take_second(0), None);
    }
}
