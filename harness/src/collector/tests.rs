//! The collector: where each count lands, when seconds close, how errors are classified, and that
//! percentiles come out of the histograms within HdrHistogram's precision.

use super::*;

const T0: u64 = 1_700_000_000_000_000;

fn at(ms: u64) -> u64 {
    T0 + ms * 1000
}

/// An action due at `due_ms`, sent at `sent_ms`, answered at `answered_ms` (all since the load start).
fn answered(due_ms: u64, sent_ms: u64, answered_ms: u64) -> ActionResult {
    ActionResult {
        due_us: at(due_ms),
        ready_us: at(due_ms),
        sent_us: Some(at(sent_ms)),
        done_us: at(answered_ms + 1),
        outcome: Outcome::Answered { answered_us: at(answered_ms) },
        queue_us: Some(500),
        enqueued_us: Some(at(sent_ms) + 200),
        kind: "text".into(),
        step: None,
        last_us: None,
        said: None,
    }
}

fn failed(due_ms: u64, done_ms: u64, outcome: Outcome) -> ActionResult {
    let sent_us = (outcome != Outcome::Expired).then(|| at(due_ms));
    ActionResult {
        due_us: at(due_ms),
        ready_us: at(due_ms),
        sent_us,
        done_us: at(done_ms),
        outcome,
        queue_us: None,
        enqueued_us: None,
        step: None,
        last_us: None,
        said: None,
        kind: "text".into(),
    }
}

fn collector() -> Collector {
    Collector::new(T0, 2_000_000, 100_000)
}

#[test]
fn counts_land_in_the_second_they_happened() {
    let mut c = collector();
    // Sent in second 0, answered in second 1.
    c.record(&answered(900, 900, 1_300));
    // Timed out: sent in second 0, error known in second 5.
    c.record(&failed(100, 5_100, Outcome::Timeout));
    let seconds = c.close_all(at(6_000));
    let rows: Vec<(u64, u64, u64, u64)> = seconds.iter().map(|s| (s.index, s.sent, s.answered, s.errors)).collect();
    assert_eq!(rows, vec![(0, 2, 0, 0), (1, 0, 1, 0), (2, 0, 0, 0), (3, 0, 0, 0), (4, 0, 0, 0), (5, 0, 0, 1)]);
    assert_eq!(seconds[1].e2e.max() / 1000, 400);
    assert_eq!(c.totals().sent, 2);
    assert_eq!(c.totals().answered, 1);
    assert_eq!(c.totals().errors.timeout, 1);
}

#[test]
fn seconds_close_only_after_the_grace() {
    let mut c = collector();
    c.record(&answered(0, 0, 10));
    assert!(c.close_until(at(2_500)).is_empty(), "second 0 ended 1.5 s ago, grace is 2 s");
    let closed = c.close_until(at(3_000));
    assert_eq!(closed.iter().map(|s| s.index).collect::<Vec<_>>(), vec![0]);
    // A result for a closed second is kept in the oldest open one, and in the totals.
    c.record(&answered(0, 0, 20));
    let rest = c.close_all(at(3_000));
    assert_eq!(rest.iter().map(|s| (s.index, s.answered)).collect::<Vec<_>>(), vec![(1, 1), (2, 0)]);
    assert_eq!(c.totals().answered, 2);
}

#[test]
fn latency_is_timed_from_due_and_service_from_send() {
    let mut c = collector();
    // Due at 0, sent 300 ms late (its user was busy: ready at 300), answered at 350.
    let mut r = answered(0, 300, 350);
    r.ready_us = at(300);
    c.record(&r);
    let t = c.totals();
    assert_eq!(t.e2e.max() / 1000, 350);
    assert_eq!(t.service.max() / 1000, 50);
    assert_eq!(t.late.max(), 0, "the user was not free before 300 ms, so the generator was on time");
    assert!(t.overhead.is_empty(), "a busy user's wait is not harness overhead");
    let mut c = collector();
    c.record(&answered(0, 2, 50));
    let overhead = c.totals().overhead.max();
    assert!((2_195..=2_205).contains(&overhead), "due → enqueued: 2 ms to send, 0.2 ms into the mock: {overhead}");
    assert_eq!(t.errors.total(), 0);
}

fn check_category(result: ActionResult, down: Option<(u64, Option<u64>)>, expected: Option<Category>) {
    let mut c = collector();
    if let Some((from, to)) = down {
        c.bot_down(at(from));
        if let Some(to) = to {
            c.bot_up(at(to));
        }
    }
    assert_eq!(c.classify(&result), expected, "{result:?}");
}

#[test]
fn classifies_errors() {
    check_category(answered(0, 0, 50), None, None);
    check_category(answered(0, 150, 200), None, Some(Category::SentLate));
    check_category(answered(0, 90, 200), None, None);
    let bot_error = ActionResult { outcome: Outcome::BotError { answered_us: at(40) }, ..answered(0, 0, 40) };
    check_category(bot_error, None, Some(Category::BotApiError));
    check_category(failed(0, 5_000, Outcome::Timeout), None, Some(Category::Timeout));
    check_category(failed(0, 5_000, Outcome::Transport), None, Some(Category::Transport));
    check_category(failed(0, 5_000, Outcome::Expired), None, Some(Category::Timeout));
    // The bot died while the action waited: a crash, not a slow bot.
    check_category(failed(0, 5_000, Outcome::Timeout), Some((2_000, None)), Some(Category::BotCrashed));
    check_category(failed(0, 5_000, Outcome::Timeout), Some((2_000, Some(3_000))), Some(Category::BotCrashed));
    // It was back up before this action was sent.
    check_category(failed(4_000, 9_000, Outcome::Timeout), Some((2_000, Some(3_000))), Some(Category::Timeout));
}

#[test]
fn percentiles_are_within_hdr_precision() {
    let mut c = collector();
    // 1..=10_000 ms, uniformly: p50 = 5 s, p99 = 9.9 s.
    for ms in 1..=10_000u64 {
        c.record(&answered(0, 0, ms));
    }
    let e2e = &c.totals().e2e;
    let p50 = e2e.value_at_quantile(0.50) as f64;
    let p99 = e2e.value_at_quantile(0.99) as f64;
    assert!((p50 - 5_000_000.0).abs() / 5_000_000.0 < 0.001, "{p50}");
    assert!((p99 - 9_900_000.0).abs() / 9_900_000.0 < 0.001, "{p99}");
    assert_eq!(c.totals().queue.len(), 10_000);
}

#[test]
fn live_stats_reset_each_time() {
    let mut c = collector();
    c.record(&answered(0, 0, 100));
    c.record(&failed(0, 100, Outcome::Transport));
    let live = c.take_live();
    assert_eq!((live.done, live.errors), (2, 1));
    assert!((live.p95_ms.unwrap() - 100.0).abs() < 0.1);
    let live = c.take_live();
    assert_eq!((live.done, live.errors, live.p95_ms), (0, 0, None));
}

#[test]
fn each_kind_of_action_has_its_own_counts_and_latency() {
    let mut c = collector();
    c.record(&answered(0, 0, 40));
    c.record(&ActionResult { kind: "/ask".into(), ..answered(0, 0, 700) });
    c.record(&ActionResult { kind: "/ask".into(), ..failed(0, 5_000, Outcome::Timeout) });
    let kinds: Vec<_> = c
        .totals()
        .by_kind
        .iter()
        .map(|k| (k.kind.as_str(), k.sent, k.answered, k.errors, k.e2e.max() / 1_000))
        .collect();
    assert_eq!(kinds, [("text", 1, 1, 0, 40), ("/ask", 2, 1, 1, 700)]);
}
