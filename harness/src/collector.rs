//! Aggregates action results into per-second HdrHistograms and counters, and into run totals. Pure: no
//! I/O and no clock; every timestamp is handed in (unix microseconds). Each count lands in the second its
//! event happened in (sent at the send, answered at the answer, an error when it became known), so a second
//! is closed only once no result still in flight could touch it: `grace` after its end. Nothing is ever
//! kept per action.

use std::collections::VecDeque;

use hdrhistogram::Histogram;

use crate::slo::Window;

/// Latencies above an hour are recorded as an hour (they are timeouts in all but name).
pub const MAX_RECORDABLE_US: u64 = 3_600_000_000;

/// What one action came to, as the driver reports it. Times are unix microseconds.
#[derive(Debug, Clone, PartialEq)]
pub struct ActionResult {
    /// When the schedule said it should happen.
    pub due_us: u64,
    /// When the user was free to send it: the later of `due_us` and the end of its previous action.
    pub ready_us: u64,
    /// When it was sent; `None` when it was already past its answer timeout by then and was never sent.
    pub sent_us: Option<u64>,
    /// When the harness had the control API's response (or gave up).
    pub done_us: u64,
    pub outcome: Outcome,
    /// The mock's queue wait (enqueued → delivered to the bot), when it was delivered.
    pub queue_us: Option<u64>,
    /// When the mock enqueued the update (mock clock), when it did.
    pub enqueued_us: Option<u64>,
    /// What the user did (`text`, `/start`, `button press`, ...), for the per-action breakdown.
    pub kind: String,
    /// The journey step it was, and whether it ended its journey (well or not).
    pub step: Option<crate::steps::StepRef>,
    /// For an answer of several calls (collected): when its last call came, mock clock.
    pub last_us: Option<u64>,
    /// For a wrong answer: what was wrong, with what the bot said.
    pub said: Option<String>,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Outcome {
    /// The bot answered at `answered_us` (mock clock).
    Answered { answered_us: u64 },
    /// The bot's answering call was rejected with a Bot API error; it still answered.
    BotError { answered_us: u64 },
    /// No answer within the answer timeout.
    Timeout,
    /// Not sent: by the time its user was free, it was already older than the answer timeout.
    Expired,
    /// The control API request itself failed.
    Transport,
    /// The bot answered at `answered_us`, but not as the step expected.
    WrongAnswer { answered_us: u64 },
}

impl Outcome {
    /// When the bot answered, if it did (rightly, wrongly, or with a Bot API error).
    pub fn answered_us(&self) -> Option<u64> {
        match *self {
            Outcome::Answered { answered_us }
            | Outcome::BotError { answered_us }
            | Outcome::WrongAnswer { answered_us } => Some(answered_us),
            _ => None,
        }
    }
}

/// The error categories of `summary.json`. Each action falls in at most one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Timeout,
    BotApiError,
    BotCrashed,
    SentLate,
    Transport,
    /// Answered, but not as the step expected (its text, buttons, method or number of messages).
    WrongAnswer,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct ErrorCounts {
    pub timeout: u64,
    pub bot_api_error: u64,
    pub bot_crashed: u64,
    pub sent_late: u64,
    pub transport: u64,
    pub wrong_answer: u64,
}

impl From<charts::series::ErrorKinds> for ErrorCounts {
    /// A `timeseries.csv` row's error columns.
    fn from(k: charts::series::ErrorKinds) -> ErrorCounts {
        ErrorCounts {
            timeout: k.timeout,
            bot_api_error: k.bot_api_error,
            bot_crashed: k.bot_crashed,
            sent_late: k.sent_late,
            transport: k.transport,
            wrong_answer: k.wrong_answer,
        }
    }
}

impl ErrorCounts {
    pub fn total(&self) -> u64 {
        self.timeout + self.bot_api_error + self.bot_crashed + self.sent_late + self.transport + self.wrong_answer
    }

    pub fn add(&mut self, category: Category) {
        *match category {
            Category::Timeout => &mut self.timeout,
            Category::BotApiError => &mut self.bot_api_error,
            Category::BotCrashed => &mut self.bot_crashed,
            Category::SentLate => &mut self.sent_late,
            Category::Transport => &mut self.transport,
            Category::WrongAnswer => &mut self.wrong_answer,
        } += 1;
    }
}

/// One second of the run.
pub struct Interval {
    /// Seconds since the load started; the interval covers `[index, index + 1)`.
    pub index: u64,
    pub sent: u64,
    pub answered: u64,
    pub errors: u64,
    /// The same errors by category.
    pub errors_by: ErrorCounts,
    /// Due → answer, µs, of the actions answered in this second.
    pub e2e: Histogram<u64>,
    /// Send → answer, µs.
    pub service: Histogram<u64>,
    /// The mock's queue wait, µs.
    pub queue: Histogram<u64>,
}

/// The whole run so far.
pub struct Totals {
    /// Actions that came due (sent, or expired unsent).
    pub sent: u64,
    pub answered: u64,
    pub errors: ErrorCounts,
    pub e2e: Histogram<u64>,
    pub service: Histogram<u64>,
    pub queue: Histogram<u64>,
    /// How late the generator sent actions its user was free to send (send − ready), µs.
    pub late: Histogram<u64>,
    /// What the harness adds before the bot can see an action: due → enqueued in the mock, µs (for actions
    /// sent on time this is the generator's wake-up plus the request's way into the mock).
    pub overhead: Histogram<u64>,
    /// The same counts and e2e latency per kind of action, in order of first appearance (a handful of kinds).
    pub by_kind: Vec<KindTotals>,
}

pub struct KindTotals {
    pub kind: String,
    pub sent: u64,
    pub answered: u64,
    pub errors: u64,
    pub e2e: Histogram<u64>,
}

/// What the progress line shows: the results that came in since it last asked.
pub struct Live {
    pub done: u64,
    pub errors: u64,
    pub p50_ms: Option<f64>,
    pub p95_ms: Option<f64>,
    pub p99_ms: Option<f64>,
}

pub struct Collector {
    t0_us: u64,
    grace_us: u64,
    late_tolerance_us: u64,
    /// Open seconds; `open[0]` has index `next_close`.
    open: VecDeque<Interval>,
    next_close: u64,
    totals: Totals,
    /// Spans in which the bot was not running, `[from, to)`; `to` is `u64::MAX` while it is down.
    down: Vec<(u64, u64)>,
    live: (u64, u64, Histogram<u64>),
}

pub fn histogram() -> Histogram<u64> {
    Histogram::new_with_bounds(1, MAX_RECORDABLE_US, 3).expect("static histogram bounds are valid")
}

fn record(h: &mut Histogram<u64>, us: u64) {
    h.saturating_record(us.min(MAX_RECORDABLE_US));
}

impl Collector {
    /// `t0_us` is the start of the load; `grace_us` how long after a second's end results may still
    /// arrive for it; actions sent more than `late_tolerance_us` after their user was free count as
    /// `sent_late`.
    pub fn new(t0_us: u64, grace_us: u64, late_tolerance_us: u64) -> Collector {
        Collector {
            t0_us,
            grace_us,
            late_tolerance_us,
            open: VecDeque::new(),
            next_close: 0,
            totals: Totals::empty(),
            down: Vec::new(),
            live: (0, 0, histogram()),
        }
    }

    pub fn totals(&self) -> &Totals {
        &self.totals
    }

    /// The bot stopped running at `t_us`.
    pub fn bot_down(&mut self, t_us: u64) {
        if self.down.last().is_none_or(|(_, to)| *to != u64::MAX) {
            self.down.push((t_us, u64::MAX));
        }
    }

    /// The bot answers again from `t_us`.
    pub fn bot_up(&mut self, t_us: u64) {
        if let Some(last) = self.down.last_mut().filter(|(_, to)| *to == u64::MAX) {
            last.1 = t_us.max(last.0);
        }
    }

    /// The error category of a result, if it is one.
    pub fn classify(&self, r: &ActionResult) -> Option<Category> {
        match r.outcome {
            Outcome::Transport => Some(Category::Transport),
            Outcome::Timeout | Outcome::Expired => {
                let from = r.sent_us.unwrap_or(r.due_us);
                let crashed = self.down.iter().any(|&(down, up)| down <= r.done_us && up > from);
                Some(if crashed { Category::BotCrashed } else { Category::Timeout })
            }
            Outcome::BotError { .. } => Some(Category::BotApiError),
            Outcome::WrongAnswer { .. } => Some(Category::WrongAnswer),
            Outcome::Answered { .. } => {
                let late = r.sent_us.map_or(0, |s| s.saturating_sub(r.ready_us));
                (late > self.late_tolerance_us).then_some(Category::SentLate)
            }
        }
    }

    pub fn record(&mut self, r: &ActionResult) {
        let category = self.classify(r);
        self.record_kind(r, category.is_some());
        self.totals.sent += 1;
        self.slot(r.sent_us.unwrap_or(r.due_us)).sent += 1;
        if let Some(sent) = r.sent_us {
            record(&mut self.totals.late, sent.saturating_sub(r.ready_us));
            // Only for actions sent when due: a busy user's wait is the bot's doing, not the harness's.
            if let (Some(enqueued), true) = (r.enqueued_us, r.ready_us == r.due_us) {
                record(&mut self.totals.overhead, enqueued.saturating_sub(r.due_us));
            }
        }
        if let Some(category) = category {
            self.totals.errors.add(category);
            let second = self.slot(r.done_us);
            second.errors += 1;
            second.errors_by.add(category);
            self.live.1 += 1;
        }
        self.live.0 += 1;
        let Some(answered_us) = r.outcome.answered_us() else { return };
        let e2e = answered_us.saturating_sub(r.due_us);
        let service = r.sent_us.map(|s| answered_us.saturating_sub(s));
        self.totals.answered += 1;
        record(&mut self.totals.e2e, e2e);
        record(&mut self.live.2, e2e);
        if let Some(service) = service {
            record(&mut self.totals.service, service);
        }
        if let Some(queue) = r.queue_us {
            record(&mut self.totals.queue, queue);
        }
        let second = self.slot(answered_us);
        second.answered += 1;
        record(&mut second.e2e, e2e);
        if let Some(service) = service {
            record(&mut second.service, service);
        }
        if let Some(queue) = r.queue_us {
            record(&mut second.queue, queue);
        }
    }

    fn record_kind(&mut self, r: &ActionResult, failed: bool) {
        let by_kind = &mut self.totals.by_kind;
        let index = match by_kind.iter().position(|k| k.kind == r.kind) {
            Some(index) => index,
            None => {
                let kind = KindTotals { kind: r.kind.clone(), sent: 0, answered: 0, errors: 0, e2e: histogram() };
                by_kind.push(kind);
                by_kind.len() - 1
            }
        };
        let totals = &mut by_kind[index];
        totals.sent += 1;
        totals.errors += u64::from(failed);
        if let Some(answered_us) = r.outcome.answered_us() {
            totals.answered += 1;
            record(&mut totals.e2e, answered_us.saturating_sub(r.due_us));
        }
    }

    /// The open interval holding `t_us`; times in seconds already closed go to the oldest open one.
    fn slot(&mut self, t_us: u64) -> &mut Interval {
        let index = (t_us.saturating_sub(self.t0_us) / 1_000_000).max(self.next_close);
        while self.next_close + (self.open.len() as u64) <= index {
            let index = self.next_close + self.open.len() as u64;
            self.open.push_back(empty_interval(index));
        }
        &mut self.open[(index - self.next_close) as usize]
    }

    /// Closes, in order, every second that ended at least `grace` before `now_us`.
    pub fn close_until(&mut self, now_us: u64) -> Vec<Interval> {
        let settled = now_us.saturating_sub(self.t0_us).saturating_sub(self.grace_us) / 1_000_000;
        self.close_before(settled)
    }

    /// Closes every second up to the one holding `end_us`, and any later one that holds data.
    pub fn close_all(&mut self, end_us: u64) -> Vec<Interval> {
        let end = end_us.saturating_sub(self.t0_us).div_ceil(1_000_000);
        let last_with_data = self.next_close + self.open.len() as u64;
        self.close_before(end.max(last_with_data))
    }

    fn close_before(&mut self, index: u64) -> Vec<Interval> {
        let mut closed = Vec::new();
        while self.next_close < index {
            let interval = self.open.pop_front().unwrap_or_else(|| empty_interval(self.next_close));
            self.next_close += 1;
            closed.push(interval);
        }
        closed
    }

    /// The results since the last call, for the progress line.
    pub fn take_live(&mut self) -> Live {
        let (done, errors, e2e) = &mut self.live;
        let quantile = |q: f64| (!e2e.is_empty()).then(|| e2e.value_at_quantile(q) as f64 / 1e3);
        let live = Live {
            done: *done,
            errors: *errors,
            p50_ms: quantile(0.5),
            p95_ms: quantile(0.95),
            p99_ms: quantile(0.99),
        };
        *done = 0;
        *errors = 0;
        e2e.reset();
        live
    }
}

fn empty_interval(index: u64) -> Interval {
    Interval {
        index,
        sent: 0,
        answered: 0,
        errors: 0,
        errors_by: ErrorCounts::default(),
        e2e: histogram(),
        service: histogram(),
        queue: histogram(),
    }
}

impl Interval {
    pub fn window(&self) -> Window<'_> {
        Window { e2e: &self.e2e, sent: self.sent, answered: self.answered, errors: self.errors, seconds: 1.0 }
    }
}

impl Totals {
    pub fn empty() -> Totals {
        Totals {
            sent: 0,
            answered: 0,
            errors: ErrorCounts::default(),
            e2e: histogram(),
            service: histogram(),
            queue: histogram(),
            late: histogram(),
            overhead: histogram(),
            by_kind: Vec::new(),
        }
    }

    pub fn window(&self, seconds: f64) -> Window<'_> {
        Window { e2e: &self.e2e, sent: self.sent, answered: self.answered, errors: self.errors.total(), seconds }
    }
}

#[cfg(test)]
mod tests;
