//! Capacity: the highest arrival rate the bot sustains, found by probing. Each probe is a short open-paced run at
//! one rate; it is sustainable when goodput is at least 99 % of what was offered, errors stay within budget, the
//! scenario's SLOs hold, and latency does not trend upward within its steady part (Mann-Kendall on per-second
//! p50: once arrivals outpace service, latency timed from the due time grows without bound). A probe whose
//! generator was saturated says nothing about the bot and ends the search there. The search doubles the rate
//! until a probe fails, then bisects until the bracket is within `precision`, with two trials per probe near the
//! boundary (Envoy Nighthawk's adaptive load controller; IETF MLRsearch). Pure: the probes' figures are handed
//! in; `command` runs them. See `shared/reference/verdicts.md` §2.

pub mod command;

use serde::Serialize;

/// A probe is sustainable only when at least this share of the offered actions were answered without error.
const MIN_GOODPUT_SHARE: f64 = 0.99;
/// The errors a sustainable probe may have, as a share of the actions offered.
const ERROR_BUDGET: f64 = 0.01;
/// Mann-Kendall's one-sided significance for "latency rises within the probe".
const TREND_ALPHA: f64 = 0.01;
/// The 99 % one-sided quantile of the standard normal, for `TREND_ALPHA`.
const Z_99: f64 = 2.326_347_874_040_841;
/// A rising trend counts only when the last third's median p50 exceeds the first third's by this much at least,
/// and by this share of it.
const MIN_RISE_MS: f64 = 5.0;
const MIN_RISE_SHARE: f64 = 0.5;
/// Bisection stops when the bracket is this narrow, relative to its lower end.
pub const DEFAULT_PRECISION: f64 = 0.05;
/// Near the boundary (the bracket within this many precisions), each rate is tried twice.
const TWO_TRIALS_WITHIN: f64 = 4.0;
/// The search never probes above this or below `MIN_RATE`.
pub const MAX_RATE: f64 = 200_000.0;
const MIN_RATE: f64 = 1.0;

/// What one probe measured, from its run directory.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Figures {
    pub rate: f64,
    pub duration_s: f64,
    pub sent: u64,
    pub answered: u64,
    /// All errors (timeouts included), and those of them that were answers (a Bot API error, sent late).
    pub errors: u64,
    pub answered_with_error: u64,
    pub p99_ms: f64,
    pub slos_passed: bool,
    pub generator_ok: bool,
    pub generator_reasons: Vec<String>,
    /// Each second's e2e p50 in the probe's steady part (its warm-up left out), in order.
    pub steady_p50_ms: Vec<f64>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ProbeVerdict {
    Sustainable,
    Unsustainable,
    /// The generator could not keep the rate: the probe says nothing about the bot.
    GeneratorLimited,
}

/// One probe, as `summary.json` `capacity.probes` lists it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Probe {
    pub offered_per_s: f64,
    pub trial: u32,
    /// The probe's run directory, relative to the capacity directory.
    pub dir: String,
    pub goodput_per_s: f64,
    pub error_rate: f64,
    pub p99_ms: f64,
    /// Mann-Kendall's z on the steady part's per-second p50 (positive: rising).
    pub trend_z: Option<f64>,
    pub verdict: ProbeVerdict,
    pub reasons: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum LimitedBy {
    Bot,
    Generator,
    Inconclusive,
}

/// `summary.json` `capacity`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Capacity {
    pub max_sustainable_per_s: Option<f64>,
    pub first_unsustainable_per_s: Option<f64>,
    pub limited_by: LimitedBy,
    /// How narrow the bracket got, relative to its lower end (`null` without both ends).
    pub bracket: Option<f64>,
    pub precision: f64,
    pub probes: Vec<Probe>,
}

/// Judges one probe.
pub fn judge(f: &Figures, dir: String, trial: u32) -> Probe {
    let offered = f.rate;
    let seconds = f.duration_s.max(1.0);
    let good = f.answered.saturating_sub(f.answered_with_error);
    let goodput = good as f64 / seconds;
    let error_rate = if f.sent == 0 { 0.0 } else { f.errors as f64 / f.sent as f64 };
    let trend = mann_kendall_z(&f.steady_p50_ms);
    let (verdict, reasons) = match f.generator_ok {
        false => (ProbeVerdict::GeneratorLimited, f.generator_reasons.clone()),
        true => {
            let reasons = bot_reasons(f, offered, goodput, error_rate, trend);
            let verdict = if reasons.is_empty() { ProbeVerdict::Sustainable } else { ProbeVerdict::Unsustainable };
            (verdict, reasons)
        }
    };
    Probe {
        offered_per_s: offered,
        trial,
        dir,
        goodput_per_s: goodput,
        error_rate,
        p99_ms: f.p99_ms,
        trend_z: trend,
        verdict,
        reasons,
    }
}

/// Why a probe the generator kept up with was not sustainable; empty when it was.
fn bot_reasons(f: &Figures, offered: f64, goodput: f64, error_rate: f64, trend: Option<f64>) -> Vec<String> {
    let mut reasons = Vec::new();
    if goodput < MIN_GOODPUT_SHARE * offered {
        reasons.push(format!("goodput {goodput:.1}/s is below 99 % of the {offered:.1}/s offered"));
    }
    if error_rate > ERROR_BUDGET {
        reasons.push(format!("{:.2} % of actions failed (budget {} %)", error_rate * 100.0, ERROR_BUDGET * 100.0));
    }
    if !f.slos_passed {
        reasons.push("the scenario's SLOs did not hold".into());
    }
    let (first, last) = thirds(&f.steady_p50_ms);
    // Significant and large enough to matter: per-second p50 of a healthy bot wanders by a millisecond or two, and
    // a few seconds of it can test as a trend; a queue that builds up adds far more.
    let rise = last - first;
    if trend.is_some_and(|z| z > Z_99) && rise > MIN_RISE_MS.max(MIN_RISE_SHARE * first) {
        reasons.push(format!(
            "latency rose through the probe (Mann-Kendall z = {:.1}, p < {TREND_ALPHA}; p50 {first:.1} → \
             {last:.1} ms): a queue was building",
            trend.unwrap_or_default()
        ));
    }
    reasons
}

/// The medians of the first and the last third of `values` (0 and 0 with fewer than 3).
fn thirds(values: &[f64]) -> (f64, f64) {
    let third = values.len() / 3;
    if third == 0 {
        return (0.0, 0.0);
    }
    let median = |part: &[f64]| {
        let mut part = part.to_vec();
        part.sort_by(f64::total_cmp);
        part[part.len() / 2]
    };
    (median(&values[..third]), median(&values[values.len() - third..]))
}

/// Mann-Kendall's z for `values` in order (tie-corrected variance, continuity-corrected); `None` with fewer than
/// 8 values, too few for the normal approximation.
pub fn mann_kendall_z(values: &[f64]) -> Option<f64> {
    let n = values.len();
    if n < 8 {
        return None;
    }
    let mut s = 0i64;
    for i in 0..n {
        for j in i + 1..n {
            s += (values[j] - values[i]).partial_cmp(&0.0).map_or(0, |o| o as i64);
        }
    }
    let var = crate::leak::kendall_variance(values);
    if var <= 0.0 {
        return Some(0.0);
    }
    let s = s as f64;
    Some(if s > 0.0 {
        (s - 1.0) / var.sqrt()
    } else if s < 0.0 {
        (s + 1.0) / var.sqrt()
    } else {
        0.0
    })
}

/// The search's state: the probes so far and the bracket they give.
#[derive(Debug, Clone)]
pub struct Search {
    start: f64,
    precision: f64,
    probes: Vec<Probe>,
    /// The highest rate found sustainable (every trial of it), the lowest found unsustainable.
    low: Option<f64>,
    high: Option<f64>,
    /// The lowest rate at which the generator gave out.
    generator_limit: Option<f64>,
}

/// What the search wants next.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Next {
    /// Probe this rate; `trial` counts from 1.
    Probe {
        rate: f64,
        trial: u32,
    },
    Done,
}

impl Search {
    pub fn new(start: f64, precision: f64) -> Search {
        let start = start.clamp(MIN_RATE, MAX_RATE);
        Search { start, precision, probes: Vec::new(), low: None, high: None, generator_limit: None }
    }

    pub fn probes(&self) -> &[Probe] {
        &self.probes
    }

    /// The next probe, from what is known so far.
    pub fn next(&self) -> Next {
        // The best sustainable rate so far, near the boundary and tried once, is tried again first.
        if let Some(low) = self.low.filter(|low| self.near_boundary(*low)) {
            let trials = self.probes.iter().filter(|p| p.offered_per_s == low).count() as u32;
            if trials < 2 {
                return Next::Probe { rate: low, trial: trials + 1 };
            }
        }
        if self.generator_limit.is_some() && self.high.is_none() {
            // Past what the generator can do, nothing more is to be learned about the bot above it.
            return Next::Done;
        }
        let rate = match (self.low, self.high) {
            (None, None) => self.start,
            (Some(low), None) => low * 2.0,
            (None, Some(high)) => high / 2.0,
            (Some(low), Some(high)) if (high - low) / low <= self.precision => return Next::Done,
            (Some(low), Some(high)) => (low + high) / 2.0,
        };
        if !(MIN_RATE..=MAX_RATE).contains(&rate) {
            return Next::Done;
        }
        let rate = rate.round().max(MIN_RATE);
        if self.probes.iter().any(|p| p.offered_per_s == rate && p.trial == 1) {
            return Next::Done;
        }
        Next::Probe { rate, trial: 1 }
    }

    fn near_boundary(&self, rate: f64) -> bool {
        match self.high {
            Some(high) => (high - rate) / rate <= TWO_TRIALS_WITHIN * self.precision,
            None => false,
        }
    }

    pub fn record(&mut self, probe: Probe) {
        let rate = probe.offered_per_s;
        match probe.verdict {
            ProbeVerdict::GeneratorLimited => {
                self.generator_limit = Some(self.generator_limit.map_or(rate, |g: f64| g.min(rate)));
                // Treat it as a ceiling for the bisection: the bot's limit, if any, lies below or is unknown.
                self.high = Some(self.high.map_or(rate, |h: f64| h.min(rate)));
            }
            ProbeVerdict::Unsustainable => {
                self.high = Some(self.high.map_or(rate, |h: f64| h.min(rate)));
                // A second trial that failed withdraws the first trial's success.
                if self.low == Some(rate) {
                    self.low = self
                        .probes
                        .iter()
                        .filter(|p| p.offered_per_s < rate && self.sustained(p.offered_per_s))
                        .map(|p| p.offered_per_s)
                        .reduce(f64::max);
                }
            }
            ProbeVerdict::Sustainable => {
                if self.low.is_none_or(|low| rate > low) && self.high.is_none_or(|high| rate < high) {
                    self.low = Some(rate);
                }
            }
        }
        self.probes.push(probe);
    }

    /// Every trial at `rate` so far was sustainable.
    fn sustained(&self, rate: f64) -> bool {
        self.probes.iter().filter(|p| p.offered_per_s == rate).all(|p| p.verdict == ProbeVerdict::Sustainable)
    }

    pub fn result(&self) -> Capacity {
        let bot_limit = self
            .probes
            .iter()
            .filter(|p| p.verdict == ProbeVerdict::Unsustainable)
            .map(|p| p.offered_per_s)
            .reduce(f64::min);
        let limited_by = match (bot_limit, self.generator_limit) {
            (Some(bot), Some(generator)) if generator <= bot => LimitedBy::Generator,
            (Some(_), _) => LimitedBy::Bot,
            (None, Some(_)) => LimitedBy::Generator,
            (None, None) => LimitedBy::Inconclusive,
        };
        let first_unsustainable = match limited_by {
            LimitedBy::Bot => bot_limit,
            _ => None,
        };
        let bracket = match (self.low, first_unsustainable) {
            (Some(low), Some(high)) => Some((high - low) / low),
            _ => None,
        };
        Capacity {
            max_sustainable_per_s: self.low,
            first_unsustainable_per_s: first_unsustainable,
            limited_by,
            bracket,
            precision: self.precision,
            probes: self.probes.clone(),
        }
    }
}

#[cfg(test)]
mod tests;
