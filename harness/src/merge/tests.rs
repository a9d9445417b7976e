//! The merge's pure parts: shards' histograms against one fed the same samples, the checks that refuse shards not
//! of one load, and the joins of rows, breakdowns and generator verdicts.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};

use super::*;
use crate::summary::Percentiles;

fn run(dir: &str, shard: Option<(usize, usize)>) -> ShardRun {
    ShardRun {
        dir: dir.into(),
        shard: shard.map(|(index, count)| Shard { index, count }),
        scenario: serde_json::json!({"name": "smoke"}),
        scenario_sha256: Some("abc".into()),
        build_sha256: Some("b1".into()),
        start_us: Some(1_000_000),
        status: Some("completed".into()),
        figures: Figures::default(),
    }
}

/// The same deterministic samples fed to one histogram, and spread over three shards' that go through the
/// latency log's encoding and are added back: equal, bucket for bucket.
#[test]
fn shards_histograms_add_up_to_the_whole_bucket_for_bucket() {
    let mut rng = SmallRng::seed_from_u64(42);
    let mut whole = histogram();
    let mut shards = [histogram(), histogram(), histogram()];
    for i in 0..100_000 {
        // Log-normal-ish latencies from 50 µs to minutes, and a few beyond the histogram's initial range.
        let v = (rng.random::<f64>() * 18.0).exp() as u64 + 50;
        whole.auto(true);
        whole.record(v).unwrap();
        let shard = &mut shards[i % 3];
        shard.auto(true);
        shard.record(v).unwrap();
    }
    let mut merged = histogram();
    for shard in &shards {
        let text = charts::hlog::encode_histogram(shard).unwrap();
        add(&mut merged, &charts::hlog::decode_histogram(&text).unwrap()).unwrap();
    }
    let buckets =
        |h: &Histogram<u64>| h.iter_all().map(|b| (b.value_iterated_to(), b.count_at_value())).collect::<Vec<_>>();
    assert_eq!(merged.len(), whole.len());
    assert_eq!(buckets(&merged), buckets(&whole));
    assert_eq!((merged.min(), merged.max()), (whole.min(), whole.max()));
    assert_eq!(Percentiles::of(&merged), Percentiles::of(&whole));
}

#[test]
fn refuses_shards_that_are_not_one_load_naming_each() {
    let ok = vec![run("s1", Some((1, 3))), run("s0", Some((0, 3))), run("s2", Some((2, 3)))];
    let sorted = check(ok).unwrap();
    assert_eq!(sorted.iter().map(|r| r.dir.as_str()).collect::<Vec<_>>(), ["s0", "s1", "s2"]);

    let problems = check(vec![run("s0", Some((0, 3))), run("s2", Some((2, 3)))]).unwrap_err();
    assert_eq!(problems, ["shard 1/3 is missing"]);

    let mut killed = run("s1", Some((1, 3)));
    killed.status = None;
    let mut other = run("s2", Some((2, 3)));
    other.scenario_sha256 = Some("def".into());
    other.build_sha256 = Some("b2".into());
    other.start_us = Some(2_000_000);
    let problems = check(vec![run("s0", Some((0, 3))), killed, other]).unwrap_err().join("\n");
    for expected in [
        "s1: no summary.json: the shard was killed",
        "s2: ran a different scenario than s0",
        "s2: ran a different tgload build than s0",
        "s2: its load started at another moment than s0's",
    ] {
        assert!(problems.contains(expected), "{expected} in\n{problems}");
    }

    let mut failed = run("s1", Some((1, 2)));
    failed.status = Some("error".into());
    let problems = check(vec![run("s0", Some((0, 2))), failed, run("again", Some((0, 2)))]).unwrap_err().join("\n");
    assert!(problems.contains("s1: its run ended `error`"), "{problems}");
    assert!(problems.contains("shard 0/2 is given 2 times: s0, again"), "{problems}");

    let problems = check(vec![run("s0", Some((0, 2))), run("whole", None), run("x", Some((1, 3)))]).unwrap_err();
    assert!(problems.iter().any(|p| p == "whole: not a shard (its run had no --shard)"), "{problems:?}");
    assert!(problems.iter().any(|p| p.starts_with("the shards were cut from different counts")), "{problems:?}");
}

#[test]
fn rows_join_by_summing_and_take_percentiles_from_the_joined_histogram() {
    let row = |sent: u64, timeouts: u64, bot: Option<f64>| Row {
        t_s: 7.0,
        phase: "hold".into(),
        active_users: 10,
        sent,
        answered: sent - timeouts,
        errors: timeouts,
        p50_ms: Some(1.0),
        p95_ms: Some(1.0),
        p99_ms: Some(1.0),
        bot_rss_mb: bot,
        bot_cpu_pct: bot,
        errors_by: Some(ErrorKinds { timeout: timeouts, ..Default::default() }),
    };
    let mut e2e = histogram();
    for ms in 1..=100 {
        e2e.record(ms * 1000).unwrap();
    }
    let (a, b) = (row(10, 1, None), row(20, 2, Some(50.0)));
    let joined = join_rows(&[&a, &b], &e2e);
    assert_eq!((joined.sent, joined.answered, joined.errors, joined.active_users), (30, 27, 3, 20));
    assert_eq!(joined.errors_by.unwrap().timeout, 3);
    assert_eq!(joined.bot_rss_mb, Some(50.0));
    assert!((joined.p50_ms.unwrap() - 50.0).abs() < 0.1 && (joined.p99_ms.unwrap() - 99.0).abs() < 0.1);
    assert_eq!(join_rows(&[&a], &histogram()).p50_ms, None);
}

#[test]
fn breakdowns_join_by_action() {
    let hist = |values: &[u64]| {
        let mut h = histogram();
        values.iter().for_each(|&v| h.record(v).unwrap());
        h
    };
    let action = |name: &str, sent: u64| ByAction {
        action: name.into(),
        sent,
        answered: sent,
        errors: 0,
        latency_ms: Percentiles::default(),
    };
    let shard = |actions: Vec<ByAction>, hists: Vec<Histogram<u64>>| {
        let breakdown = Breakdown { by_action: actions, ..Breakdown::default() };
        ShardBreakdown { breakdown, by_action: hists, late: hist(&[100]), overhead: hist(&[200]) }
    };
    let joined = join_breakdowns(vec![
        shard(vec![action("text", 2), action("/start", 1)], vec![hist(&[1000, 3000]), hist(&[5000])]),
        shard(vec![action("/start", 1)], vec![hist(&[7000])]),
    ])
    .unwrap();
    let names: Vec<(&str, u64)> = joined.by_action.iter().map(|a| (a.action.as_str(), a.sent)).collect();
    assert_eq!(names, [("text", 2), ("/start", 2)]);
    assert!((joined.by_action[1].latency_ms.max - 7.0).abs() < 0.01, "{:?}", joined.by_action[1]);
    assert!((joined.late_ms.p50 - 0.1).abs() < 0.001, "{:?}", joined.late_ms);
    assert!(join_breakdowns(vec![shard(vec![action("text", 1)], vec![])]).is_err());
}

#[test]
fn any_saturated_shard_makes_the_load_saturated() {
    let ok = (generator::Verdict::Ok, Vec::new());
    let shards = vec![
        ("0/2".to_string(), generator::Verdict::Ok, vec![]),
        ("1/2".to_string(), generator::Verdict::Saturated, vec!["send lateness p99 9 ms".to_string()]),
    ];
    let (verdict, reasons) = join_generators(ok.clone(), &shards);
    assert_eq!(verdict, generator::Verdict::Saturated);
    assert_eq!(reasons, ["shard 1/2: send lateness p99 9 ms"]);
    assert_eq!(join_generators(ok, &shards[..1]).0, generator::Verdict::Ok);
}
