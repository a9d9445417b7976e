//! Counters and latency histograms of one bot's actions, and their JSON and Prometheus renderings.
//!
//! Histograms are HdrHistograms in microseconds with 3 significant digits: fixed memory however long the run.
//! Recording takes the timestamps it is given and reads no clock.

use std::collections::BTreeMap;
use std::fmt::Write;

use hdrhistogram::Histogram;
use serde::Serialize;

use crate::ledger::Timings;

/// The longest latency recorded exactly: one hour. Longer values are clamped to it.
const MAX_US: u64 = 3_600_000_000;

#[derive(Debug, Clone)]
pub struct Stats {
    pub sent: u64,
    pub delivered: u64,
    pub answered: u64,
    pub answered_with_error: u64,
    pub timed_out: u64,
    pub expired: u64,
    pub dropped: u64,
    pub pending: u64,
    pub unprompted: u64,
    /// Notifications (reactions, poll answers, blocks, ...) done when delivered: no answer is expected.
    pub notified: u64,
    pub bot_calls: u64,
    pub bot_answers: u64,
    pub bot_errors: BTreeMap<u16, u64>,
    /// Answering calls that failed with a transient error (429, 5xx); their actions stayed open for a retry.
    pub failed_attempts: u64,
    /// Calls that met an injected fault window (`faults`): answered its error, or delayed.
    pub injected_errors: u64,
    pub injected_delays: u64,
    pub queue_wait: Histogram<u64>,
    pub handling: Histogram<u64>,
    pub end_to_end: Histogram<u64>,
}

impl Default for Stats {
    fn default() -> Self {
        let histogram = || Histogram::new_with_max(MAX_US, 3).expect("3 significant digits is a valid precision");
        Stats {
            sent: 0,
            delivered: 0,
            answered: 0,
            answered_with_error: 0,
            timed_out: 0,
            expired: 0,
            dropped: 0,
            pending: 0,
            unprompted: 0,
            notified: 0,
            bot_calls: 0,
            bot_answers: 0,
            bot_errors: BTreeMap::new(),
            failed_attempts: 0,
            injected_errors: 0,
            injected_delays: 0,
            queue_wait: histogram(),
            handling: histogram(),
            end_to_end: histogram(),
        }
    }
}

fn record(histogram: &mut Histogram<u64>, from: u64, to: u64) {
    histogram.saturating_record(to.saturating_sub(from).min(MAX_US));
}

impl Stats {
    pub fn record_delivery(&mut self, timings: &Timings) {
        self.delivered += 1;
        if let Some(delivered) = timings.delivered {
            record(&mut self.queue_wait, timings.enqueued, delivered);
        }
    }

    pub fn record_answer(&mut self, timings: &Timings, with_error: bool) {
        self.answered += 1;
        self.answered_with_error += u64::from(with_error);
        let Some(answered) = timings.answered else { return };
        if let Some(delivered) = timings.delivered {
            record(&mut self.handling, delivered, answered);
        }
        record(&mut self.end_to_end, timings.due.min(timings.enqueued), answered);
    }

    /// The control API's `stats` document.
    pub fn to_json(&self) -> serde_json::Value {
        let bot_errors: BTreeMap<String, u64> = self.bot_errors.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        serde_json::json!({
            "actions": {
                "sent": self.sent, "delivered": self.delivered, "answered": self.answered,
                "answered_with_error": self.answered_with_error, "timed_out": self.timed_out,
                "expired": self.expired, "dropped": self.dropped, "pending": self.pending,
                "notified": self.notified,
            },
            "unprompted": self.unprompted,
            "bot_calls": self.bot_calls,
            "bot_errors": bot_errors,
            "failed_attempts": self.failed_attempts,
            "injected": {"errors": self.injected_errors, "delays": self.injected_delays},
            "timings": {
                "queue_wait_us": Summary::of(&self.queue_wait),
                "handling_us": Summary::of(&self.handling),
                "end_to_end_us": Summary::of(&self.end_to_end),
            },
        })
    }

    /// Appends this bot's series, labelled with its id, to a Prometheus text exposition.
    pub fn write_prometheus(&self, bot_id: i64, out: &mut String) {
        let label = format!("bot=\"{bot_id}\"");
        let counters = [
            ("actions_sent", self.sent),
            ("actions_delivered", self.delivered),
            ("actions_answered", self.answered),
            ("actions_timed_out", self.timed_out),
            ("actions_expired", self.expired),
            ("actions_pending", self.pending),
            ("unprompted_answers", self.unprompted),
            ("bot_calls", self.bot_calls),
            ("failed_attempts", self.failed_attempts),
            ("injected_errors", self.injected_errors),
            ("injected_delays", self.injected_delays),
        ];
        for (name, value) in counters {
            let _ = writeln!(out, "mock_telegram_{name}{{{label}}} {value}");
        }
        for (code, count) in &self.bot_errors {
            let _ = writeln!(out, "mock_telegram_bot_errors{{{label},code=\"{code}\"}} {count}");
        }
        for (name, histogram) in
            [("queue_wait", &self.queue_wait), ("handling", &self.handling), ("end_to_end", &self.end_to_end)]
        {
            for quantile in [0.5, 0.95, 0.99, 0.999] {
                let seconds = histogram.value_at_quantile(quantile) as f64 / 1e6;
                let _ = writeln!(out, "mock_telegram_{name}_seconds{{{label},quantile=\"{quantile}\"}} {seconds}");
            }
            let _ = writeln!(out, "mock_telegram_{name}_seconds_count{{{label}}} {}", histogram.len());
        }
    }
}

/// Percentiles of one histogram, in microseconds.
#[derive(Debug, Serialize, PartialEq)]
pub struct Summary {
    pub count: u64,
    pub p50: u64,
    pub p95: u64,
    pub p99: u64,
    pub p999: u64,
    pub max: u64,
}

impl Summary {
    pub fn of(histogram: &Histogram<u64>) -> Summary {
        Summary {
            count: histogram.len(),
            p50: histogram.value_at_quantile(0.5),
            p95: histogram.value_at_quantile(0.95),
            p99: histogram.value_at_quantile(0.99),
            p999: histogram.value_at_quantile(0.999),
            max: histogram.max(),
        }
    }
}

/// The Prometheus preamble naming each series' type once.
pub fn prometheus_header() -> String {
    let mut out = String::new();
    for name in ["actions_sent", "actions_delivered", "actions_answered", "actions_timed_out", "actions_expired"] {
        let _ = writeln!(out, "# TYPE mock_telegram_{name} counter");
    }
    for name in ["queue_wait", "handling", "end_to_end"] {
        let _ = writeln!(out, "# TYPE mock_telegram_{name}_seconds summary");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn end_to_end_runs_from_due_and_handling_from_delivery() {
        let mut stats = Stats::default();
        let timings = Timings { due: 1_000, enqueued: 3_000, delivered: Some(4_000), answered: Some(10_000) };
        stats.record_delivery(&timings);
        stats.record_answer(&timings, false);
        // Values are exact to 3 significant digits, the histograms' precision.
        let check = |histogram: &Histogram<u64>, expected: u64| {
            let p50 = Summary::of(histogram).p50;
            assert!(histogram.equivalent(p50, expected), "{p50} != {expected}");
        };
        check(&stats.queue_wait, 1_000);
        check(&stats.handling, 6_000);
        check(&stats.end_to_end, 9_000);
        let mut text = String::new();
        stats.write_prometheus(42, &mut text);
        assert!(text.contains("mock_telegram_actions_answered{bot=\"42\"} 1"), "{text}");
    }
}
