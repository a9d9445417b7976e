//! The generator's verdict on every run: `ok`, or `saturated` with the reasons, when the load was not generated
//! as planned or the machine had no CPU left for the bot and the harness alike. A saturated run's latency is
//! partly the harness's, so its SLO verdict is `inconclusive`, never a bot's failure or pass. Pure: the run's
//! figures are handed in. The criteria are those of `shared/reference/verdicts.md` §2 ("check the generator
//! first").

use serde::{Deserialize, Serialize};

/// More than this share of actions sent late or never sent means the schedule was not kept.
const MAX_LATE_SHARE: f64 = 0.01;
/// tgload's own CPU at or above this share of the machine (all its cores) leaves it nothing to spare.
const MAX_HARNESS_CPU_SHARE: f64 = 0.8;
/// The bot's and tgload's CPU together at or above this share of the machine: they compete for it.
const MAX_MACHINE_CPU_SHARE: f64 = 0.9;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    #[default]
    Ok,
    Saturated,
}

/// What the generator verdict is judged on.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Figures {
    /// The scenario's `late_tolerance`.
    pub late_tolerance_ms: f64,
    /// How late actions were sent after their user was free, p99.
    pub late_p99_ms: f64,
    /// Due → enqueued in the mock for actions sent when due, p99.
    pub overhead_p99_ms: f64,
    /// Actions that came due, and of them those sent later than the tolerance after their user was free (an
    /// action that expired while its user waited for the bot is the bot's doing, not the generator's).
    pub due: u64,
    pub sent_late: u64,
    /// Mean CPU over the load, 100 = one core, and the cores the machine has.
    pub harness_cpu_pct: f64,
    pub bot_cpu_pct: f64,
    pub cpus: usize,
}

/// `generator.verdict` and why, for `summary.json`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Health {
    pub verdict: Verdict,
    /// Each criterion the run failed, in words; empty when `ok`.
    pub reasons: Vec<String>,
}

pub fn judge(f: &Figures) -> Health {
    let mut reasons = Vec::new();
    let tolerance = f.late_tolerance_ms;
    if f.late_p99_ms > tolerance {
        reasons
            .push(format!("send lateness p99 {:.1} ms is above the late tolerance of {tolerance} ms", f.late_p99_ms));
    }
    if f.overhead_p99_ms > tolerance {
        reasons.push(format!(
            "the harness took {:.1} ms (p99) from an action's due time to the mock, above the late tolerance of \
             {tolerance} ms",
            f.overhead_p99_ms
        ));
    }
    let late = f.sent_late;
    if f.due > 0 && late as f64 > MAX_LATE_SHARE * f.due as f64 {
        reasons.push(format!(
            "{late} of {} actions ({:.1} %) were sent late (more than {} %)",
            f.due,
            100.0 * late as f64 / f.due as f64,
            MAX_LATE_SHARE * 100.0
        ));
    }
    let machine = 100.0 * f.cpus.max(1) as f64;
    if f.harness_cpu_pct >= MAX_HARNESS_CPU_SHARE * machine {
        reasons.push(format!(
            "tgload used {:.0} % CPU of the machine's {machine:.0} % (at least {:.0} %)",
            f.harness_cpu_pct,
            MAX_HARNESS_CPU_SHARE * machine
        ));
    }
    if f.harness_cpu_pct + f.bot_cpu_pct >= MAX_MACHINE_CPU_SHARE * machine {
        reasons.push(format!(
            "tgload ({:.0} %) and the bot ({:.0} %) used {:.0} % of the machine's {machine:.0} % CPU: they \
             competed for it",
            f.harness_cpu_pct,
            f.bot_cpu_pct,
            f.harness_cpu_pct + f.bot_cpu_pct
        ));
    }
    let verdict = if reasons.is_empty() { Verdict::Ok } else { Verdict::Saturated };
    Health { verdict, reasons }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn healthy() -> Figures {
        Figures {
            late_tolerance_ms: 100.0,
            late_p99_ms: 2.0,
            overhead_p99_ms: 1.5,
            due: 10_000,
            sent_late: 0,
            harness_cpu_pct: 30.0,
            bot_cpu_pct: 40.0,
            cpus: 2,
        }
    }

    fn check(f: Figures, expected: Verdict, reason: &str) {
        let health = judge(&f);
        assert_eq!(health.verdict, expected, "{health:?}");
        assert!(health.reasons.iter().any(|r| r.contains(reason)) || reason.is_empty(), "{health:?}");
    }

    #[test]
    fn a_light_run_is_ok() {
        check(healthy(), Verdict::Ok, "");
        // Exactly at the limits is still ok: 1 % late, lateness at the tolerance.
        check(Figures { late_p99_ms: 100.0, sent_late: 100, ..healthy() }, Verdict::Ok, "");
    }

    #[test]
    fn each_criterion_saturates_alone() {
        check(Figures { late_p99_ms: 38.0, late_tolerance_ms: 20.0, ..healthy() }, Verdict::Saturated, "send lateness");
        // load-10k on this 2-core machine, as measured: overhead p99 127 ms, tgload 83 %, bot 95 %.
        let load_10k = Figures { overhead_p99_ms: 127.0, harness_cpu_pct: 83.0, bot_cpu_pct: 95.0, ..healthy() };
        check(load_10k, Verdict::Saturated, "from an action's due time");
        check(Figures { sent_late: 110, ..healthy() }, Verdict::Saturated, "were sent late");
        check(Figures { harness_cpu_pct: 165.0, bot_cpu_pct: 0.0, ..healthy() }, Verdict::Saturated, "tgload used");
        check(Figures { harness_cpu_pct: 80.0, bot_cpu_pct: 100.0, ..healthy() }, Verdict::Saturated, "competed");
    }
}
