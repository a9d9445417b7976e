//! One process's resource samples (the bot's or the harness's), folded as they arrive into what the summary
//! reports: the first and last sample, the peaks, the CPU mean, a thinned series for the drift fit, and the median
//! RSS of each minute for the leak verdict. The series keeps at most `2 × KEEP` points spread evenly over the run,
//! whatever its length: when it fills up, every other point goes and only every other later sample is kept. Pure;
//! nothing here grows with the run's length but the medians, one a minute (4,320 for 72 hours, 70 kB).

use super::Point;

/// Points the thinned series settles at after each halving (a 72-hour run, sampled every second, keeps one
/// sample in 256: about one every 4 minutes).
const KEEP: usize = 1024;

#[derive(Debug, Clone, Default)]
pub struct Track {
    first: Option<Point>,
    last: Option<Point>,
    rss_peak_mb: f64,
    cpu_peak_pct: f64,
    cpu_sum: f64,
    n: u64,
    /// Every `stride`-th sample since the first.
    points: Vec<Point>,
    stride: u64,
    /// The minute (since the load started) `this_minute` holds the RSS samples of, and the closed minutes'
    /// medians: (the minute's midpoint in seconds, MB).
    minute: u64,
    this_minute: Vec<f64>,
    medians: Vec<(f64, f64)>,
}

/// A minute with fewer samples than this (the sampler stalled, the bot was down) has no median.
const MIN_SAMPLES_PER_MINUTE: usize = 30;

impl Track {
    pub fn push(&mut self, p: Point) {
        self.first.get_or_insert(p);
        self.last = Some(p);
        self.rss_peak_mb = self.rss_peak_mb.max(p.rss_mb);
        self.cpu_peak_pct = self.cpu_peak_pct.max(p.cpu_pct);
        self.cpu_sum += p.cpu_pct;
        let stride = self.stride.max(1);
        if self.n.is_multiple_of(stride) {
            self.points.push(p);
            if self.points.len() >= 2 * KEEP {
                let kept: Vec<Point> = self.points.iter().step_by(2).copied().collect();
                self.points = kept;
                self.stride = stride * 2;
            }
        }
        self.n += 1;
        let minute = (p.t_s.max(0.0) / 60.0) as u64;
        if minute != self.minute {
            self.close_minute();
            self.minute = minute;
        }
        self.this_minute.push(p.rss_mb);
    }

    fn close_minute(&mut self) {
        let values = std::mem::take(&mut self.this_minute);
        if values.len() >= MIN_SAMPLES_PER_MINUTE {
            self.medians.push((self.minute as f64 * 60.0 + 30.0, median(values)));
        }
    }

    /// The median RSS of every whole minute so far with enough samples: (midpoint in seconds, MB). The minute still
    /// going on counts once it has a full minute's worth of samples (a run that ends on a minute's boundary).
    pub fn minute_medians(&self) -> Vec<(f64, f64)> {
        let mut medians = self.medians.clone();
        if self.this_minute.len() >= 59 {
            medians.push((self.minute as f64 * 60.0 + 30.0, median(self.this_minute.clone())));
        }
        medians
    }

    pub fn is_empty(&self) -> bool {
        self.n == 0
    }

    pub fn first(&self) -> Option<Point> {
        self.first
    }

    pub fn last(&self) -> Option<Point> {
        self.last
    }

    pub fn rss_peak_mb(&self) -> f64 {
        self.rss_peak_mb
    }

    pub fn cpu_peak_pct(&self) -> f64 {
        self.cpu_peak_pct
    }

    pub fn cpu_mean_pct(&self) -> f64 {
        if self.n == 0 {
            0.0
        } else {
            self.cpu_sum / self.n as f64
        }
    }

    /// The thinned series, in time order, the first sample included.
    pub fn points(&self) -> &[Point] {
        &self.points
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    let n = values.len();
    if n % 2 == 1 {
        values[n / 2]
    } else {
        (values[n / 2 - 1] + values[n / 2]) / 2.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn point(t_s: f64) -> Point {
        Point { t_s, rss_mb: t_s * 2.0, cpu_pct: 10.0 }
    }

    #[test]
    fn a_long_series_stays_bounded_and_even() {
        let mut track = Track::default();
        for t in 0..100_000 {
            track.push(point(t as f64));
        }
        let points = track.points();
        assert!(points.len() < 2 * KEEP && points.len() >= KEEP, "{}", points.len());
        let gaps: Vec<f64> = points.windows(2).map(|w| w[1].t_s - w[0].t_s).collect();
        assert!(gaps.iter().all(|g| *g == gaps[0]), "evenly spaced");
        assert_eq!(points[0].t_s, 0.0);
        assert_eq!((track.first().unwrap().t_s, track.last().unwrap().t_s), (0.0, 99_999.0));
        assert_eq!(track.rss_peak_mb(), 199_998.0);
        assert_eq!(track.cpu_mean_pct(), 10.0);
    }

    #[test]
    fn each_minute_gives_its_median() {
        let mut track = Track::default();
        // Two full minutes of samples a second (the second one has an outlier), then half a minute.
        for t in 0..150 {
            let rss = if t == 70 { 900.0 } else { (t / 60) as f64 * 10.0 };
            track.push(Point { t_s: t as f64, rss_mb: rss, cpu_pct: 0.0 });
        }
        assert_eq!(track.minute_medians(), [(30.0, 0.0), (90.0, 10.0)]);
    }

    #[test]
    fn a_short_series_keeps_every_sample() {
        let mut track = Track::default();
        assert!(track.is_empty() && track.points().is_empty());
        for t in 0..10 {
            track.push(point(t as f64));
        }
        assert_eq!(track.points().len(), 10);
    }
}
