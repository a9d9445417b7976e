//! A run's summary as JUnit suites: `objectives`, what decides the run's exit code (its status, the generator,
//! each SLO rule), and `verdicts`, what the run judged beside them (the bot's and the harness's leak, each
//! degradation metric, each fault window's recovery, Telegram's limits). A verdict fails its case without failing
//! the run; a scenario gates on one with a rule (`bot_leak < 20MB/h`, `degradation_p95 < 5%`).

use super::{Case, Outcome, Suite};
use crate::compare::number;
use crate::degradation::{self, Degradation};
use crate::leak::{self, Leak};
use crate::recovery::{self, Recovery};
use crate::slo::Verdict;
use crate::summary::{Status, Summary};
use crate::{generator, limits};

/// The two suites of one run; `label` names it (the scenario, or `smoke r2` in a set).
pub fn run_suites(summary: &Summary, label: &str) -> Vec<Suite> {
    let mut objectives = vec![status_case(summary), generator_case(summary)];
    objectives.extend(summary.slos.iter().map(|v| slo_case(v, summary)));
    let mut verdicts =
        vec![leak_case("bot leak", &summary.bot.process.leak), leak_case("harness leak", &summary.harness.leak)];
    verdicts.extend(summary.degradation.iter().map(degradation_case));
    verdicts.extend(summary.faults.iter().map(recovery_case));
    verdicts.extend(summary.telegram_limits.as_ref().map(limits_case));
    let suite = |kind: &str, cases| Suite {
        name: format!("{label}: {kind}"),
        package: "tgload.run".into(),
        time_s: summary.duration_s,
        cases,
    };
    vec![suite("objectives", objectives), suite("verdicts", verdicts)]
}

fn status_name(status: Status) -> &'static str {
    match status {
        Status::Completed => "completed",
        Status::Interrupted => "interrupted",
        Status::BotCrashed => "bot_crashed",
        Status::Error => "error",
        Status::Killed => "killed",
    }
}

fn status_case(s: &Summary) -> Case {
    let outcome = match s.status {
        Status::Completed => Outcome::Passed,
        status => Outcome::Failed {
            kind: "status",
            message: format!("the run ended with status {} after {:.1} s", status_name(status), s.duration_s),
        },
    };
    Case::new("tgload.run", "run completed", outcome)
}

fn generator_case(s: &Summary) -> Case {
    let outcome = match s.generator.verdict {
        generator::Verdict::Ok => Outcome::Passed,
        generator::Verdict::Saturated => Outcome::Skipped {
            message: format!(
                "inconclusive: the generator was saturated, so the run cannot judge the bot ({})",
                s.generator.reasons.join("; ")
            ),
        },
    };
    Case::new("tgload.generator", "generator not saturated", outcome)
}

/// An SLO value in the rule's own unit: ms of latency, % of errors or successes, per second of throughput.
fn slo_value(metric: &str, v: f64) -> String {
    match metric {
        "error_rate" | "success" => format!("{}%", number(v * 100.0)),
        "throughput" => format!("{}/s", number(v)),
        m if m.starts_with("degradation_") => format!("{}%", number(v)),
        m if m.ends_with("_leak") => format!("{} MB/h", number(v)),
        _ => format!("{} ms", number(v)),
    }
}

/// The interval an end-of-run rule was judged on (its worse end is the observed value), if it has one.
fn slo_interval(metric: &str, s: &Summary) -> Option<String> {
    let range = |[low, high]: [f64; 2], unit: &str| format!("{} to {} {unit}", number(low), number(high));
    if let Some(which) = metric.strip_prefix("degradation_") {
        let entry = s.degradation.iter().find(|d| d.metric == which)?;
        return entry.ci95.map(|ci| range(ci, "%"));
    }
    let leak = match metric {
        "bot_leak" => &s.bot.process.leak,
        "harness_leak" => &s.harness.leak,
        _ => return None,
    };
    leak.ci95.map(|ci| range(ci, "MB/h"))
}

fn slo_case(v: &Verdict, s: &Summary) -> Case {
    let outcome = if v.passed {
        Outcome::Passed
    } else {
        let threshold = slo_value(&v.metric, v.threshold);
        let mut message = match v.observed {
            Some(observed) => format!("observed {}, threshold {threshold}", slo_value(&v.metric, observed)),
            None => format!("nothing was measured to judge it, threshold {threshold}"),
        };
        if let Some(interval) = slo_interval(&v.metric, s) {
            message.push_str(&format!(", 95% interval {interval} (judged on its worse end)"));
        }
        Outcome::Failed { kind: "slo", message }
    };
    Case::new("tgload.slo", v.name.clone(), outcome)
}

fn leak_case(name: &str, leak: &Leak) -> Case {
    let outcome = match leak.verdict {
        leak::Verdict::NoLeak => Outcome::Passed,
        leak::Verdict::Leak => Outcome::Failed { kind: "leak", message: format!("leaks: {}", leak.reason) },
        leak::Verdict::Inconclusive => Outcome::Skipped { message: format!("inconclusive: {}", leak.reason) },
    };
    Case::new("tgload.leak", name, outcome)
}

fn degradation_case(d: &Degradation) -> Case {
    let unit = if d.metric == "goodput" { "/s" } else { " ms" };
    let value = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{}{unit}", number(v)));
    let change = d.change_pct.map_or("n/a".to_string(), |c| format!("{c:+.1}%"));
    let interval = d.ci95.map_or("n/a".to_string(), |[low, high]| format!("{low:+.1}% to {high:+.1}%"));
    let figures = match d.change_pct {
        None => "the run is too short to tell its late part from its early one".to_string(),
        Some(_) => format!(
            "early {}, late {}, change {change}, 95% interval {interval}, budget {}%",
            value(d.early),
            value(d.late),
            d.budget_pct
        ),
    };
    let outcome = match d.verdict {
        degradation::Verdict::NotDegraded => Outcome::Passed,
        degradation::Verdict::Degraded => {
            Outcome::Failed { kind: "degradation", message: format!("degraded: {figures}") }
        }
        degradation::Verdict::Inconclusive => Outcome::Skipped { message: format!("inconclusive: {figures}") },
    };
    Case::new("tgload.degradation", format!("degradation {}", d.metric), outcome)
}

fn recovery_case(r: &Recovery) -> Case {
    let outcome = match r.verdict {
        recovery::Verdict::Recovered => Outcome::Passed,
        recovery::Verdict::NotRecovered => {
            let ms = |v: Option<f64>| v.map_or("n/a".to_string(), |v| format!("{} ms", number(v)));
            Outcome::Failed {
                kind: "recovery",
                message: format!(
                    "not recovered after the window {:.1}-{:.1} s: worst p95 {} against a baseline of {}, {} errors",
                    r.start_s,
                    r.end_s,
                    ms(r.peak_p95_ms),
                    ms(r.baseline_p95_ms),
                    r.errors
                ),
            }
        }
    };
    Case::new("tgload.recovery", format!("recovery from {}", r.name), outcome)
}

/// Telegram's limits judge the bot only when the mock enforces them: then a bot that sends again before its
/// `retry_after` fails. Measured only (`off`), sends past them are the load's doing as much as the bot's: skipped,
/// with the counts.
fn limits_case(l: &limits::TelegramLimits) -> Case {
    let over = &l.over_limit;
    let past = format!(
        "{} sends past Telegram's limits ({} per chat, {} per group, {} global; peak {}/s)",
        over.total(),
        over.per_chat,
        over.per_group,
        over.global,
        l.peak_per_s
    );
    let outcome = match (l.mode.as_str(), l.retried_early) {
        ("off", _) => Outcome::Skipped { message: format!("not enforced ([telegram] limits = \"off\"): {past}") },
        (_, 0) => Outcome::Passed,
        (mode, early) => Outcome::Failed {
            kind: "limits",
            message: format!("{early} sends retried before retry_after had passed; {past}, limits {mode}"),
        },
    };
    Case::new("tgload.limits", "telegram limits", outcome)
}
