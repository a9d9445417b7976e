//! What a closed second feeds once it is written: its row and latency intervals, the phases, the SLO judge, the
//! seconds a recovery looks at, the degradation buckets and `checkpoint.json`; and, at the end, the recoveries and
//! degradation verdicts judged on them, the summary and the completed directory. The rest of the run's loop is in
//! `session`.

use std::time::Duration;

use serde_json::json;

use super::Session;
use crate::bot::Bot;
use crate::collector::Interval;
use crate::driver::now_us;
use crate::error::Error;
use crate::limits::TelegramLimits;
use crate::recovery;
use crate::run::wrapup::{complete_directory, external_calls, recoveries};
use crate::run::Finished;
use crate::rundir::Row;
use crate::summary::{Breakdown, Checkpoint, Histograms, Inputs, Notes, Status, Summary};

/// How often `checkpoint.json` is rewritten, in closed seconds (and once more at the end).
const CHECKPOINT_EVERY_S: u64 = 10;

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
        // Every tenth second: the checkpoint's percentiles (a few passes over every action kind's histogram) are
        // most of a second's close, and a user due while it runs on the one worker is sent late.
        match self.load.closed % CHECKPOINT_EVERY_S {
            0 => self.checkpoint(false),
            _ => Ok(()),
        }
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

    /// Rewrites `checkpoint.json`: what `tgload report` needs beyond the per-second files, as of the last row;
    /// the `last` one also holds the breakdown's histograms, for `tgload merge`.
    pub(super) fn checkpoint(&self, last: bool) -> Result<(), Error> {
        let totals = self.load.collector.totals();
        let histograms = match last {
            true => Some(Histograms::of(totals).map_err(|e| Error::Io {
                context: format!("write {}", self.dir.path().join("checkpoint.json").display()),
                source: std::io::Error::other(e),
            })?),
            false => None,
        };
        let checkpoint = Checkpoint {
            through_s: self.load.closed,
            breakdown: Breakdown::of(totals),
            external_api: external_calls(self.external.as_ref()),
            histograms,
        };
        self.dir.write_file("checkpoint.json", &serde_json::to_vec(&checkpoint).unwrap_or_default())
    }

    /// Stops what still runs and completes the directory. A write that fails here (a full disk) does not stop
    /// the rest: the summary is still written if it can be, with status `error` and the failure named.
    pub(super) async fn finish(mut self, bot: Option<Bot>) -> Result<Finished, Error> {
        if let Some(bot) = bot {
            bot.stop(&self.bot_pid).await;
        }
        let end_us = now_us();
        let stopped_us = self.load.stopping.map_or(end_us, |(_, at)| at);
        let load_end_us = self.load.t0_us + self.schedule.duration().as_micros() as u64;
        let mut failed = Vec::new();
        if self.load.started {
            // Seconds after the load appear only if results landed in them.
            for interval in self.load.collector.close_all(stopped_us.min(load_end_us)) {
                failed.extend(self.write_interval(&interval).err());
            }
            failed.extend(self.timeline_events(stopped_us.min(load_end_us)).err());
            failed.extend(self.checkpoint(true).err());
        }
        failed.extend(self.dir.flush_early_events().err());
        for error in failed {
            let text = error.to_string();
            if !self.load.errors.contains(&text) {
                self.load.errors.push(text);
            }
            self.load.status = Status::Error;
        }
        let status = serde_json::to_value(self.load.status).unwrap_or_default();
        let _ = self.event(end_us, "run_end", json!({"status": status}));
        let duration_s = if self.load.started {
            stopped_us.min(load_end_us).saturating_sub(self.load.t0_us) as f64 / 1e6
        } else {
            0.0
        };
        let notes = Notes {
            command: self.command.clone(),
            users: self.schedule.peak_users(),
            errors: self.load.errors.clone(),
            failures: self.load.failures.clone(),
            callbacks_lost: self.load.callbacks_lost,
            replaced: self.load.replaced,
            mock_stats: self.control.stats().await.ok(),
            charts: Vec::new(),
        };
        let summary = self.summary(duration_s, notes.mock_stats.as_ref());
        let mut finished = complete_directory(self.dir.path(), &summary, notes)?;
        finished.interrupted_by = self.load.interrupted_by;
        if let Some(mock) = self.mock.take() {
            mock.stop().await;
        }
        Ok(finished)
    }

    /// The run's `summary.json`, from what the load folded and the mock's stats at the end.
    fn summary(&mut self, duration_s: f64, mock_stats: Option<&serde_json::Value>) -> Summary {
        let degradation = self.degradation();
        let totals = self.load.collector.totals();
        let mut summary = Summary::build(Inputs {
            scenario: &self.scenario.name,
            status: self.load.status,
            duration_s,
            totals,
            breakdown: Breakdown::of(totals),
            slos: self.load.judge.verdicts(&totals.window(duration_s)),
            rules: &self.scenario.slos,
            bot: &self.load.resources.bot,
            harness: &self.load.resources.harness,
            leak_floor_mb_per_h: self.scenario.leak_floor_mb_per_h,
            late_tolerance_ms: self.scenario.late_tolerance.as_secs_f64() * 1e3,
            cpus: crate::machine_cpus(),
            exits: self.load.exits,
            restarts: self.load.restarts,
            external_api: external_calls(self.external.as_ref()),
            by_phase: self.load.phases.summarize(),
            faults: self.recoveries(),
            degradation,
            journeys: self.load.steps.results(),
        });
        let limits = mock_stats.and_then(|s| TelegramLimits::of(self.scenario.telegram_limits, s));
        summary.telegram_limits = limits;
        summary
    }
}
