//! What a closed second feeds once it is written: its row and latency intervals, the phases, the SLO judge, the
//! seconds a recovery looks at, the degradation buckets and `checkpoint.json`; and, at the end, the recoveries and
//! degradation verdicts judged on them. The rest of the run's loop is in `session`.

use std::time::Duration;

use serde_json::json;

use super::Session;
use crate::collector::Interval;
use crate::error::Error;
use crate::recovery;
use crate::run::wrapup::{external_calls, recoveries};
use crate::rundir::Row;
use crate::summary::{Breakdown, Checkpoint};

impl Session {
    /// Writes one closed second: its timeseries row, its latency intervals, and any SLO breach it begins.
    pub(super) fn write_interval(&mut self, interval: &Interval) -> Result<(), Error> {
        let middle = Duration::from_millis(interval.index * 1000 + 500);
        let e2e = &interval.e2e;
        let percentiles = (!e2e.is_empty()).then(|| [0.50, 0.95, 0.99].map(|q| e2e.value_at_quantile(q) as f64 / 1e3));
        let bot = self.load.resources.take_second(interval.index);
        // Once the load has stopped, no user is active whatever the plan said.
        let stopped = self.load.stopping.is_some_and(|(_, at)| self.load.t0_us + interval.index * 1_000_000 >= at);
        let row = Row {
            t_s: interval.index + 1,
            phase: self.schedule.phase(middle),
            active_users: if stopped { 0 } else { self.schedule.active_users(middle) },
            sent: interval.sent,
            answered: interval.answered,
            errors: interval.errors,
            errors_by: interval.errors_by,
            percentiles_ms: percentiles,
            bot,
        };
        self.dir.row(&row)?;
        self.load.phases.add(row.phase, row.active_users, interval);
        if self.judged_from.is_some_and(|first| interval.index >= first) {
            let p95_ms = percentiles.map(|p| p[1]);
            let answered = interval.answered;
            self.load.seconds.push(recovery::Second {
                index: interval.index,
                p95_ms,
                answered,
                errors: interval.errors,
            });
        }
        self.load.closed = interval.index + 1;
        let good = interval.answered.saturating_sub(interval.errors_by.bot_api_error + interval.errors_by.sent_late);
        self.load.buckets.add(interval.index, &interval.e2e, interval.answered, good, bot.map(|b| b.1));
        self.dir.latency(
            interval.index,
            &[("e2e", &interval.e2e), ("service", &interval.service), ("queue", &interval.queue)],
        )?;
        let at = self.load.t0_us + (interval.index + 1) * 1_000_000;
        for breach in self.load.judge.observe_second(&interval.window()) {
            self.dir.event(at, "slo_breach", json!({"slo": breach.rule, "observed": breach.observed}))?;
        }
        self.checkpoint()
    }

    /// How each fault window and each restart of the bot played out.
    pub(super) fn recoveries(&self) -> Vec<recovery::Recovery> {
        let mut all = recoveries(&self.scenario.faults, &self.load.seconds, self.load.closed);
        for (name, start, end) in &self.reductions {
            if end.as_secs() <= self.load.closed {
                all.push(recovery::judge(name, *start, *end, &self.load.seconds));
            }
        }
        let since_start = |us: u64| Duration::from_micros(us.saturating_sub(self.load.t0_us));
        for (i, &(exited, started)) in self.load.restarted.iter().enumerate() {
            let (start, end) = (since_start(exited), since_start(started));
            if start.as_secs() < self.load.closed {
                all.push(recovery::judge(&format!("bot restart {}", i + 1), start, end, &self.load.seconds));
            }
        }
        all
    }

    /// The degradation verdicts on the buckets so far (the run is over when this is asked).
    pub(super) fn degradation(&mut self) -> Vec<crate::degradation::Degradation> {
        let buckets = std::mem::replace(&mut self.load.buckets, crate::degradation::Buckets::new(1));
        let (bucket_s, buckets) = buckets.finish();
        crate::degradation::judge(bucket_s, &buckets, crate::degradation::DEFAULT_BUDGET_PCT)
    }

    /// Rewrites `checkpoint.json`: what `tgload report` needs beyond the per-second files, as of the last row.
    pub(super) fn checkpoint(&self) -> Result<(), Error> {
        let checkpoint = Checkpoint {
            through_s: self.load.closed,
            breakdown: Breakdown::of(self.load.collector.totals()),
            external_api: external_calls(self.external.as_ref()),
        };
        self.dir.write_file("checkpoint.json", &serde_json::to_vec(&checkpoint).unwrap_or_default())
    }
}
