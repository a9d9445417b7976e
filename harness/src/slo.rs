//! Service-level objectives: rules like `p95 < 200ms` or `error_rate < 0.1%`, parsed once and judged on
//! measurements handed in (the run's totals, or one second at a time for `sustained` rules).
//! Pure: no clock, no I/O. Latency is end-to-end (due → answer); thresholds are kept in ms for latency,
//! as a fraction for `error_rate` and per second for `throughput`.

use std::collections::VecDeque;
use std::fmt;

use hdrhistogram::Histogram;

/// What a rule measures.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Metric {
    /// A latency quantile, e.g. 0.95 for `p95`.
    Quantile(f64),
    Max,
    Mean,
    ErrorRate,
    Throughput,
    /// `degradation_p95 < 5%`: judged at the end on the degradation verdict's interval (`degradation`), in %.
    Degradation(&'static str),
    /// `bot_leak < 20MB/h`, `harness_leak < 5MB/h`: judged at the end on the leak verdict's interval, in MB/h.
    Leak(&'static str),
    /// `journey.signup.success > 99%`: the share of a journey's ended runs that succeeded (a fraction).
    Success,
}

/// What a rule is about when it is not the whole run: one journey, or one step of one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    Journey(String),
    Step { journey: String, step: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Lt,
    Le,
    Gt,
    Ge,
}

/// One parsed objective.
#[derive(Debug, Clone, PartialEq)]
pub struct Rule {
    /// The rule as written, whitespace normalised: `p95 < 200ms`.
    pub name: String,
    pub metric: Metric,
    pub op: Op,
    /// In ms for latency metrics, a fraction for `error_rate`, per second for `throughput`.
    pub threshold: f64,
    /// `journey.<name>.success`, `step.<journey>.<step>.p95`: judged at the end on that journey's results.
    pub scope: Option<Scope>,
}

/// The measurements a rule is judged on: the whole run, or one second of it.
pub struct Window<'a> {
    /// End-to-end latency in microseconds.
    pub e2e: &'a Histogram<u64>,
    pub sent: u64,
    pub answered: u64,
    pub errors: u64,
    pub seconds: f64,
}

/// A rule's result, as `summary.json` lists it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Verdict {
    pub name: String,
    pub metric: String,
    pub threshold: f64,
    /// `None` when the run measured nothing the rule could judge (no answers at all): that fails.
    pub observed: Option<f64>,
    pub passed: bool,
}

impl Metric {
    /// The key used in `summary.json`: `p95`, `p999`, `max`, `mean`, `error_rate`, `throughput`.
    pub fn key(self) -> String {
        match self {
            Metric::Quantile(q) => {
                format!("p{}", format!("{:.3}", q * 100.0).trim_end_matches('0').trim_end_matches('.').replace('.', ""))
            }
            Metric::Max => "max".into(),
            Metric::Mean => "mean".into(),
            Metric::ErrorRate => "error_rate".into(),
            Metric::Throughput => "throughput".into(),
            Metric::Degradation(which) => format!("degradation_{which}"),
            Metric::Leak(process) => format!("{process}_leak"),
            Metric::Success => "success".into(),
        }
    }

    fn value(self, w: &Window<'_>) -> Option<f64> {
        let ms = |us: u64| us as f64 / 1e3;
        match self {
            Metric::Quantile(q) => (!w.e2e.is_empty()).then(|| ms(w.e2e.value_at_quantile(q))),
            Metric::Max => (!w.e2e.is_empty()).then(|| ms(w.e2e.max())),
            Metric::Mean => (!w.e2e.is_empty()).then(|| w.e2e.mean() / 1e3),
            Metric::ErrorRate => (w.sent > 0).then(|| w.errors as f64 / w.sent as f64),
            Metric::Throughput => (w.seconds > 0.0).then(|| w.answered as f64 / w.seconds),
            // Not a property of a second or of the totals: the summary judges these on their verdicts.
            Metric::Degradation(_) | Metric::Leak(_) | Metric::Success => None,
        }
    }
}

impl Op {
    pub fn holds(self, observed: f64, threshold: f64) -> bool {
        match self {
            Op::Lt => observed < threshold,
            Op::Le => observed <= threshold,
            Op::Gt => observed > threshold,
            Op::Ge => observed >= threshold,
        }
    }

    /// True for `<`/`<=`: a higher value is worse.
    fn upper_bound(self) -> bool {
        matches!(self, Op::Lt | Op::Le)
    }
}

impl fmt::Display for Op {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Op::Lt => "<",
            Op::Le => "<=",
            Op::Gt => ">",
            Op::Ge => ">=",
        })
    }
}

impl Rule {
    /// Parses `p95 < 200ms`, `p99.9 <= 1s`, `max < 2s`, `mean < 80ms`, `error_rate < 0.1%`,
    /// `throughput >= 500/s`, `degradation_p95 < 5%`, `bot_leak < 20MB/h`.
    pub fn parse(text: &str) -> Result<Rule, String> {
        let at = text.find(['<', '>']).ok_or_else(|| format!("`{text}` has no comparison (<, <=, > or >=)"))?;
        let (lhs, rest) = text.split_at(at);
        let (op, rhs) = match rest.as_bytes() {
            [b'<', b'=', ..] => (Op::Le, &rest[2..]),
            [b'>', b'=', ..] => (Op::Ge, &rest[2..]),
            [b'<', ..] => (Op::Lt, &rest[1..]),
            _ => (Op::Gt, &rest[1..]),
        };
        let (lhs, rhs) = (lhs.trim(), rhs.trim());
        let (scope, metric) = parse_scoped(lhs)?;
        let threshold = parse_threshold(metric, rhs)?;
        Ok(Rule { name: format!("{lhs} {op} {rhs}"), metric, op, threshold, scope })
    }

    /// The rule's value on the whole run or one second of it; `None` for a journey's or a step's rule.
    fn value(&self, w: &Window<'_>) -> Option<f64> {
        self.scope.is_none().then(|| self.metric.value(w)).flatten()
    }

    /// The rule's value in the journeys' results (a scoped rule); `None` when they do not have it.
    pub fn journey_value(&self, journeys: &[crate::steps::JourneyResult]) -> Option<f64> {
        let named = |name: &str| journeys.iter().find(|j| j.name == name);
        match self.scope.as_ref()? {
            Scope::Journey(journey) => named(journey)?.success_rate,
            Scope::Step { journey, step } => {
                let step = named(journey)?.steps.iter().find(|s| &s.name == step)?;
                let l = &step.latency_ms;
                let latency = |v: f64| (step.answered > 0).then_some(v);
                match self.metric {
                    Metric::Quantile(0.5) => latency(l.p50),
                    Metric::Quantile(0.95) => latency(l.p95),
                    Metric::Quantile(0.99) => latency(l.p99),
                    Metric::Quantile(_) => latency(l.p999),
                    Metric::Max => latency(l.max),
                    Metric::Mean => latency(l.mean),
                    Metric::ErrorRate => (step.sent > 0).then(|| step.errors.total() as f64 / step.sent as f64),
                    _ => None,
                }
            }
        }
    }

    /// The verdict for `observed`; `None` (nothing to judge) fails.
    pub fn verdict(&self, observed: Option<f64>) -> Verdict {
        Verdict {
            name: self.name.clone(),
            metric: self.metric.key(),
            threshold: self.threshold,
            observed,
            passed: observed.is_some_and(|v| self.op.holds(v, self.threshold)),
        }
    }
}

/// `journey.<name>.success`, `step.<journey>.<step>.<metric>` (p50, p95, p99, p99.9, max, mean or error_rate;
/// the step's name may hold dots), or a metric of the whole run.
fn parse_scoped(text: &str) -> Result<(Option<Scope>, Metric), String> {
    if let Some(rest) = text.strip_prefix("journey.") {
        let journey = rest.strip_suffix(".success").filter(|j| !j.is_empty());
        let journey = journey.ok_or_else(|| format!("`{text}`: a journey's objective is `journey.<name>.success`"))?;
        return Ok((Some(Scope::Journey(journey.to_owned())), Metric::Success));
    }
    let Some(rest) = text.strip_prefix("step.") else { return Ok((None, parse_metric(text)?)) };
    let bad =
        || format!("`{text}`: a step's objective is `step.<journey>.<step>.<p50|p95|p99|p99.9|max|mean|error_rate>`");
    let (journey, rest) = rest.split_once('.').ok_or_else(bad)?;
    let metric_at = ["p99.9", "p50", "p95", "p99", "max", "mean", "error_rate"]
        .into_iter()
        .find_map(|m| rest.strip_suffix(m).and_then(|r| r.strip_suffix('.')).map(|step| (step, m)));
    let (step, metric) = metric_at.filter(|(step, _)| !step.is_empty()).ok_or_else(bad)?;
    Ok((Some(Scope::Step { journey: journey.to_owned(), step: step.to_owned() }), parse_metric(metric)?))
}

fn parse_metric(text: &str) -> Result<Metric, String> {
    match text {
        "max" => return Ok(Metric::Max),
        "mean" | "avg" => return Ok(Metric::Mean),
        "error_rate" => return Ok(Metric::ErrorRate),
        "throughput" => return Ok(Metric::Throughput),
        "degradation_p95" => return Ok(Metric::Degradation("p95")),
        "degradation_p99" => return Ok(Metric::Degradation("p99")),
        "degradation_goodput" => return Ok(Metric::Degradation("goodput")),
        "degradation_cpu_per_action" => return Ok(Metric::Degradation("cpu_per_action")),
        "bot_leak" => return Ok(Metric::Leak("bot")),
        "harness_leak" => return Ok(Metric::Leak("harness")),
        _ => {}
    }
    let unknown = || {
        format!(
            "unknown metric `{text}` (use p50, p95, p99, p99.9, max, mean, error_rate, throughput, degradation_p95, \
             degradation_p99, degradation_goodput, degradation_cpu_per_action, bot_leak or harness_leak)"
        )
    };
    let digits = text.strip_prefix('p').ok_or_else(unknown)?;
    let percent: f64 = match digits {
        "999" => 99.9,
        "9999" => 99.99,
        other => other.parse().map_err(|_| unknown())?,
    };
    if !(percent > 0.0 && percent < 100.0) {
        return Err(format!("percentile `{text}` must lie between p0 and p100"));
    }
    // Rounded so that `p99.9` is exactly 0.999, not 0.9990000000000001.
    Ok(Metric::Quantile((percent * 1e7).round() / 1e9))
}

fn parse_threshold(metric: Metric, text: &str) -> Result<f64, String> {
    let number = |s: &str| -> Result<f64, String> {
        s.trim()
            .parse::<f64>()
            .ok()
            .filter(|v| v.is_finite() && *v >= 0.0)
            .ok_or_else(|| format!("`{text}` is not a number"))
    };
    match metric {
        Metric::ErrorRate | Metric::Success => match text.strip_suffix('%') {
            Some(percent) => Ok(number(percent)? / 100.0),
            None => number(text),
        },
        Metric::Throughput => number(text.strip_suffix("/s").unwrap_or(text)),
        Metric::Degradation(_) => {
            number(text.strip_suffix('%').ok_or_else(|| format!("`{text}` is not a percentage like 5%"))?)
        }
        Metric::Leak(_) => {
            number(text.strip_suffix("MB/h").ok_or_else(|| format!("`{text}` is not a rate like 20MB/h"))?)
        }
        _ => crate::duration::parse(text).map(|d| d.as_secs_f64() * 1e3).map_err(|e| format!("latency threshold: {e}")),
    }
}

/// Judges rules on the run's totals, or, with `sustained`, on per-second values: a rule then fails only if it
/// is breached for `sustained` seconds in a row, and its `observed` value is the worst level held that long.
pub struct Judge {
    rules: Vec<Rule>,
    sustained: Option<usize>,
    streaks: Vec<Streak>,
}

#[derive(Default)]
struct Streak {
    recent: VecDeque<Option<f64>>,
    worst: Option<f64>,
    breaching: bool,
}

/// A rule that started to be breached (for a sustained rule: for the whole sustained span) in this second.
#[derive(Debug, Clone, PartialEq)]
pub struct Breach {
    pub rule: String,
    pub observed: f64,
}

impl Judge {
    pub fn new(rules: Vec<Rule>, sustained_s: Option<usize>) -> Judge {
        let streaks = rules.iter().map(|_| Streak::default()).collect();
        Judge { rules, sustained: sustained_s.map(|s| s.max(1)), streaks }
    }

    pub fn rules(&self) -> &[Rule] {
        &self.rules
    }

    /// Feeds one second's measurements, in order; returns the rules whose breach begins now.
    pub fn observe_second(&mut self, second: &Window<'_>) -> Vec<Breach> {
        let span = self.sustained.unwrap_or(1);
        let mut breaches = Vec::new();
        for (rule, streak) in self.rules.iter().zip(&mut self.streaks) {
            streak.recent.push_back(rule.value(second));
            if streak.recent.len() > span {
                streak.recent.pop_front();
            }
            let level = (streak.recent.len() == span).then(|| held_level(rule.op, &streak.recent)).flatten();
            let Some(level) = level else {
                streak.breaching = false;
                continue;
            };
            streak.worst = Some(match streak.worst {
                Some(w) if rule.op.upper_bound() => w.max(level),
                Some(w) => w.min(level),
                None => level,
            });
            let breached = !rule.op.holds(level, rule.threshold);
            if breached && !streak.breaching && self.sustained.is_some() {
                breaches.push(Breach { rule: rule.name.clone(), observed: level });
            }
            streak.breaching = breached;
        }
        breaches
    }

    /// The verdicts: on `total` for plain rules; for sustained rules on the worst sustained level, or on
    /// `total` when the run was shorter than the sustained span.
    pub fn verdicts(&self, total: &Window<'_>) -> Vec<Verdict> {
        self.rules
            .iter()
            .zip(&self.streaks)
            .map(|(rule, streak)| match (self.sustained, streak.worst) {
                (Some(_), Some(worst)) => rule.verdict(Some(worst)),
                _ => rule.verdict(rule.value(total)),
            })
            .collect()
    }
}

/// The level a metric held throughout `values`: their minimum for an upper bound, maximum for a lower bound.
fn held_level(op: Op, values: &VecDeque<Option<f64>>) -> Option<f64> {
    let mut level: Option<f64> = None;
    for value in values {
        let v = (*value)?;
        level = Some(match level {
            None => v,
            Some(l) if op.upper_bound() => l.min(v),
            Some(l) => l.max(v),
        });
    }
    level
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn journey_and_step_objectives_are_judged_on_the_journeys_results() {
        let rule = Rule::parse("journey.signup.success > 99%").unwrap();
        assert_eq!(
            (rule.scope.clone(), rule.metric, rule.threshold),
            (Some(Scope::Journey("signup".into())), Metric::Success, 0.99)
        );
        let step = Rule::parse("step.signup.what city.p95 < 500ms").unwrap();
        assert_eq!(step.scope, Some(Scope::Step { journey: "signup".into(), step: "what city".into() }));
        assert_eq!((step.metric, step.threshold), (Metric::Quantile(0.95), 500.0));
        let dotted = Rule::parse("step.a.b.c.error_rate < 1%").unwrap();
        assert_eq!(dotted.scope, Some(Scope::Step { journey: "a".into(), step: "b.c".into() }));
        for bad in ["journey.signup.p95 < 1s", "step.signup.p95 < 1s", "step.signup.x.p42x < 1s"] {
            assert!(Rule::parse(bad).is_err(), "{bad}");
        }
        let results: Vec<crate::steps::JourneyResult> = serde_json::from_value(serde_json::json!([{
            "name": "signup", "started": 10, "ended": 10, "succeeded": 9, "success_rate": 0.9,
            "steps": [{"name": "what city", "sent": 10, "answered": 10, "wrong_answers": [], "last_ms": null,
                "errors": {"timeout": 1, "bot_api_error": 0, "bot_crashed": 0, "sent_late": 0, "transport": 0, "wrong_answer": 0},
                "latency_ms": {"p50": 100.0, "p95": 450.0, "p99": 600.0, "p999": 700.0, "max": 700.0, "mean": 150.0}}]
        }]))
        .unwrap();
        assert_eq!(rule.journey_value(&results), Some(0.9));
        assert!(!rule.verdict(rule.journey_value(&results)).passed, "90% is not above 99%");
        assert_eq!(step.journey_value(&results), Some(450.0));
        assert!(step.verdict(step.journey_value(&results)).passed);
        let unknown = Rule::parse("journey.nope.success > 1%").unwrap();
        assert!(!unknown.verdict(unknown.journey_value(&results)).passed, "nothing measured fails");
    }

    fn check_parse(text: &str, expected: Result<(Metric, Op, f64, &str), &str>) {
        match (Rule::parse(text), expected) {
            (Ok(rule), Ok((metric, op, threshold, key))) => {
                assert_eq!((rule.metric, rule.op), (metric, op), "{text}");
                assert!((rule.threshold - threshold).abs() < 1e-12, "{text}: {}", rule.threshold);
                assert_eq!(rule.metric.key(), key);
            }
            (Err(e), Err(want)) => assert!(e.contains(want), "{text}: `{e}` lacks `{want}`"),
            (got, want) => panic!("{text}: got {got:?}, want {want:?}"),
        }
    }

    #[test]
    fn parses_rules() {
        check_parse("p95 < 200ms", Ok((Metric::Quantile(0.95), Op::Lt, 200.0, "p95")));
        check_parse("p99<500ms", Ok((Metric::Quantile(0.99), Op::Lt, 500.0, "p99")));
        check_parse("p99.9 <= 1s", Ok((Metric::Quantile(0.999), Op::Le, 1000.0, "p999")));
        check_parse("p999 < 1s", Ok((Metric::Quantile(0.999), Op::Lt, 1000.0, "p999")));
        check_parse("error_rate < 0.1%", Ok((Metric::ErrorRate, Op::Lt, 0.001, "error_rate")));
        check_parse("error_rate < 0.01", Ok((Metric::ErrorRate, Op::Lt, 0.01, "error_rate")));
        check_parse("throughput >= 500/s", Ok((Metric::Throughput, Op::Ge, 500.0, "throughput")));
        check_parse("max < 2s", Ok((Metric::Max, Op::Lt, 2000.0, "max")));
        check_parse("p95 = 200ms", Err("no comparison"));
        check_parse("p95 < 200", Err("no unit"));
        check_parse("latency < 2s", Err("unknown metric"));
        check_parse("p100 < 2s", Err("between"));
        check_parse("error_rate < lots", Err("not a number"));
        assert_eq!(Rule::parse("p95<200ms").unwrap().name, "p95 < 200ms");
    }

    fn hist(values_ms: &[u64]) -> Histogram<u64> {
        let mut h = Histogram::new_with_bounds(1, 60_000_000, 3).unwrap();
        for v in values_ms {
            h.record(v * 1000).unwrap();
        }
        h
    }

    fn window(h: &Histogram<u64>, sent: u64, errors: u64) -> Window<'_> {
        Window { e2e: h, sent, answered: h.len(), errors, seconds: 1.0 }
    }

    /// Feeds per-second p95 values (ms) to one rule and returns (breaches seen, verdict passed, observed).
    fn check_sustained(
        rule: &str,
        sustained: Option<usize>,
        seconds_ms: &[u64],
        total_ms: &[u64],
    ) -> (usize, bool, Option<f64>) {
        let mut judge = Judge::new(vec![Rule::parse(rule).unwrap()], sustained);
        let mut breaches = 0;
        for ms in seconds_ms {
            let h = hist(&[*ms]);
            breaches += judge.observe_second(&window(&h, 1, 0)).len();
        }
        let total = hist(total_ms);
        let verdict = judge.verdicts(&window(&total, total_ms.len() as u64, 0)).remove(0);
        (breaches, verdict.passed, verdict.observed)
    }

    #[test]
    fn judges_totals_and_sustained_breaches() {
        // Plain rule: judged on the totals.
        let (_, passed, observed) = check_sustained("p95 < 200ms", None, &[], &[100, 150, 300]);
        assert!(!passed);
        assert!((observed.unwrap() - 300.0).abs() < 1.0);
        // A 2 s spike does not breach a 3 s sustained rule; the worst 3 s level is 100 ms.
        let (breaches, passed, observed) = check_sustained("p95 < 200ms", Some(3), &[100, 900, 900, 100, 100], &[900]);
        assert_eq!((breaches, passed), (0, true));
        assert!((observed.unwrap() - 100.0).abs() < 1.0);
        // Three seconds above the limit do, once.
        let (breaches, passed, observed) = check_sustained("p95 < 200ms", Some(3), &[100, 900, 800, 700, 100], &[100]);
        assert_eq!((breaches, passed), (1, false));
        assert!((observed.unwrap() - 700.0).abs() < 1.0);
        // Shorter than the span: judged on the totals.
        let (_, passed, _) = check_sustained("p95 < 200ms", Some(10), &[900, 900], &[100]);
        assert!(passed);
    }

    #[test]
    fn error_rate_and_empty_runs() {
        let h = hist(&[10]);
        let judge =
            Judge::new(vec![Rule::parse("error_rate < 1%").unwrap(), Rule::parse("throughput > 0.5/s").unwrap()], None);
        let verdicts = judge.verdicts(&window(&h, 200, 1));
        assert!(verdicts[0].passed && verdicts[1].passed);
        assert_eq!(verdicts[0].observed, Some(0.005));
        let verdicts = judge.verdicts(&window(&h, 200, 2));
        assert!(!verdicts[0].passed, "2/200 = 1% is not below 1%");
        // No answers at all: latency rules cannot hold.
        let empty = hist(&[]);
        let judge = Judge::new(vec![Rule::parse("p99 < 1s").unwrap()], None);
        let verdict = judge.verdicts(&window(&empty, 10, 10)).remove(0);
        assert_eq!((verdict.passed, verdict.observed), (false, None));
    }
}
