//! The verdicts (direction, threshold, noise floors, missing values, actions in one run only), what makes two runs
//! not like for like, threshold and input parsing, and a snapshot of the table.

use std::fmt::Write;
use std::path::Path;

use expect_test::{expect, Expect};

use super::input::{parse_meta, parse_summary, Action, Bot, Fault, Latency};
use super::*;

fn latency(p50: f64, p95: f64) -> Latency {
    Latency { p50, p95, p99: p95 * 1.5, p999: p95 * 2.0, max: p95 * 3.0 }
}

/// A completed run of `smoke` by long polling: 1,000 actions/s at 0.1% errors, a bot of 50 MB without drift.
fn run(dir: &str) -> Run {
    let meta = parse_meta(
        Path::new("meta.json"),
        r#"{"commit": "0123456789abcdef", "scenario_sha256": "aaaabbbbccccdddd",
            "scenario": {"steps": [{"label": "ramp", "users": 10, "ramp": 5.0, "hold": 0.0},
                                   {"label": "hold", "users": 100, "ramp": 5.0, "hold": 50.0}]},
            "command_line": ["tgload", "run", "scenarios/smoke.toml"]}"#,
    )
    .unwrap();
    Run {
        dir: dir.to_string(),
        summary: Summary {
            schema_version: 1,
            scenario: "smoke".into(),
            status: "completed".into(),
            duration_s: 60.0,
            error_rate: 0.001,
            throughput_per_s: 1000.0,
            latency_ms: latency(20.0, 100.0),
            by_action: vec![
                Action { action: "text".into(), latency_ms: latency(10.0, 50.0) },
                Action { action: "/ask".into(), latency_ms: latency(200.0, 400.0) },
            ],
            bot: Bot { rss_peak_mb: 50.0, rss_drift_mb_per_h: Some(0.0), cpu_mean_pct: 40.0 },
            faults: vec![Fault { name: "/ask timeout".into(), recovery_s: Some(2.0) }],
        },
        meta: Some(meta),
    }
}

/// Compares two copies of `run` after `edit`, at `threshold`, and shows the rows that are not `same`, the
/// actions in one run only, the warnings and the overall verdict.
fn check(threshold: &str, edit: impl FnOnce(&mut Run, &mut Run), expected: Expect) {
    let (mut base, mut candidate) = (run("runs/base"), run("runs/candidate"));
    edit(&mut base, &mut candidate);
    let c = compare(&base, &candidate, Threshold::parse(threshold).unwrap());
    let mut actual = String::new();
    for row in c.rows.iter().filter(|r| r.verdict != Verdict::Same) {
        let relative = row.relative.map_or("n/a".to_string(), |r| format!("{:+.1}%", r * 100.0));
        let (base, candidate) = (row.base, row.candidate);
        let _ = writeln!(actual, "{}: {base:?} -> {candidate:?} ({relative}) {}", row.label, row.verdict.as_str());
    }
    for (side, actions) in [("base", &c.only_in_base), ("candidate", &c.only_in_candidate)] {
        if !actions.is_empty() {
            let _ = writeln!(actual, "only in {side}: {}", actions.join(", "));
        }
    }
    for w in &c.warnings {
        let _ = writeln!(actual, "warning: {w}");
    }
    let _ = writeln!(actual, "same scenario: {:?}; verdict: {}", c.same_scenario, c.verdict.as_str());
    expected.assert_eq(&actual);
}

#[test]
fn identical_runs_are_the_same() {
    check(
        "10%",
        |_, _| {},
        expect![[r#"
            same scenario: Some(true); verdict: same
        "#]],
    );
}

#[test]
fn the_threshold_is_inclusive() {
    // +10% exactly is within a 10% threshold; +12% is not, and +4% is beyond 3%.
    check(
        "10%",
        |_, c| {
            c.summary.latency_ms.p95 = 110.0;
            c.summary.latency_ms.p99 = 168.0;
        },
        expect![[r#"
            latency p99: Some(150.0) -> Some(168.0) (+12.0%) worse
            same scenario: Some(true); verdict: worse
        "#]],
    );
    check(
        "0.03",
        |_, c| c.summary.latency_ms.p50 = 20.8,
        expect![[r#"
            same scenario: Some(true); verdict: same
        "#]],
    );
}

#[test]
fn each_metric_improves_in_its_direction() {
    check(
        "10%",
        |_, c| {
            c.summary.latency_ms.max = 200.0;
            c.summary.throughput_per_s = 1200.0;
            c.summary.error_rate = 0.002;
            c.summary.bot.rss_peak_mb = 80.0;
            c.summary.bot.cpu_mean_pct = 30.0;
        },
        expect![[r#"
            latency max: Some(300.0) -> Some(200.0) (-33.3%) better
            error rate: Some(0.1) -> Some(0.2) (+100.0%) worse
            throughput: Some(1000.0) -> Some(1200.0) (+20.0%) better
            bot RSS peak: Some(50.0) -> Some(80.0) (+60.0%) worse
            bot CPU mean: Some(40.0) -> Some(30.0) (-25.0%) better
            same scenario: Some(true); verdict: worse
        "#]],
    );
    check(
        "10%",
        |_, c| c.summary.throughput_per_s = 500.0,
        expect![[r#"
            throughput: Some(1000.0) -> Some(500.0) (-50.0%) worse
            same scenario: Some(true); verdict: worse
        "#]],
    );
}

#[test]
fn changes_under_the_noise_floors_are_the_same() {
    // Every change here is far beyond 10%, and every one is smaller than its metric's floor.
    check(
        "10%",
        |b, c| {
            (b.summary.latency_ms.p50, c.summary.latency_ms.p50) = (0.3, 0.9);
            (b.summary.error_rate, c.summary.error_rate) = (0.0, 0.000_05);
            (b.summary.throughput_per_s, c.summary.throughput_per_s) = (1.0, 1.4);
            (b.summary.bot.rss_peak_mb, c.summary.bot.rss_peak_mb) = (2.0, 2.9);
            (b.summary.bot.rss_drift_mb_per_h, c.summary.bot.rss_drift_mb_per_h) = (Some(-5.0), Some(12.0));
            (b.summary.bot.cpu_mean_pct, c.summary.bot.cpu_mean_pct) = (0.5, 2.0);
        },
        expect![[r#"
            same scenario: Some(true); verdict: same
        "#]],
    );
    // Just over the floors, they count.
    check(
        "10%",
        |b, c| {
            (b.summary.latency_ms.p50, c.summary.latency_ms.p50) = (0.3, 1.4);
            (b.summary.error_rate, c.summary.error_rate) = (0.0, 0.000_2);
            (b.summary.bot.rss_drift_mb_per_h, c.summary.bot.rss_drift_mb_per_h) = (Some(-5.0), Some(30.0));
            (b.summary.bot.cpu_mean_pct, c.summary.bot.cpu_mean_pct) = (0.5, 3.0);
        },
        expect![[r#"
            latency p50: Some(0.3) -> Some(1.4) (+366.7%) worse
            error rate: Some(0.0) -> Some(0.02) (n/a) worse
            bot RSS drift: Some(-5.0) -> Some(30.0) (+700.0%) worse
            bot CPU mean: Some(0.5) -> Some(3.0) (+500.0%) worse
            same scenario: Some(true); verdict: worse
        "#]],
    );
}

#[test]
fn a_missing_drift_is_not_comparable_and_no_alarm() {
    check(
        "10%",
        |b, c| {
            b.summary.bot.rss_drift_mb_per_h = None;
            c.summary.bot.rss_drift_mb_per_h = Some(5000.0);
        },
        expect![[r#"
            bot RSS drift: None -> Some(5000.0) (n/a) n/a
            same scenario: Some(true); verdict: same
        "#]],
    );
    check(
        "10%",
        |b, c| (b.summary.bot.rss_drift_mb_per_h, c.summary.bot.rss_drift_mb_per_h) = (None, None),
        expect![[r#"
            bot RSS drift: None -> None (n/a) n/a
            same scenario: Some(true); verdict: same
        "#]],
    );
}

#[test]
fn actions_are_compared_when_both_runs_have_them() {
    check(
        "10%",
        |b, c| {
            b.summary.by_action.push(Action { action: "/photo".into(), latency_ms: latency(5.0, 9.0) });
            c.summary.by_action.retain(|a| a.action != "text");
            c.summary.by_action.push(Action { action: "/menu".into(), latency_ms: latency(5.0, 9.0) });
            c.summary.by_action[0].latency_ms.p95 = 300.0;
        },
        expect![[r#"
            `/ask` p95: Some(400.0) -> Some(300.0) (-25.0%) better
            only in base: text, /photo
            only in candidate: /menu
            same scenario: Some(true); verdict: better
        "#]],
    );
}

#[test]
fn recovery_after_a_fault_window_is_compared_by_its_name() {
    let recovery = |b: &mut Run, c: &mut Run, base: Option<f64>, candidate: Option<f64>| {
        b.summary.faults[0].recovery_s = base;
        c.summary.faults[0].recovery_s = candidate;
    };
    check(
        "10%",
        |b, c| recovery(b, c, Some(2.0), Some(5.0)),
        expect![[r#"
            `/ask timeout` recovery: Some(2.0) -> Some(5.0) (+150.0%) worse
            same scenario: Some(true); verdict: worse
        "#]],
    );
    // Under a second apart is the per-second series' resolution; never recovering is worse than any recovery.
    check(
        "10%",
        |b, c| recovery(b, c, Some(1.0), Some(1.5)),
        expect![[r#"
        same scenario: Some(true); verdict: same
    "#]],
    );
    check(
        "10%",
        |b, c| recovery(b, c, Some(1.0), None),
        expect![[r#"
            `/ask timeout` recovery: Some(1.0) -> None (n/a) worse
            same scenario: Some(true); verdict: worse
        "#]],
    );
}

#[test]
fn runs_that_are_not_like_for_like_are_compared_with_warnings() {
    check(
        "10%",
        |b, c| {
            c.summary.scenario = "load-1k".into();
            c.meta.as_mut().unwrap().scenario_sha256 = Some("ffffeeeeddddcccc".into());
            b.summary.status = "bot_crashed".into();
        },
        expect![[r#"
            warning: different scenarios: base ran `smoke`, candidate ran `load-1k`
            warning: different scenario files: sha256 aaaabbbbcccc in base, ffffeeeedddd in candidate
            warning: the base run did not complete (status bot_crashed): its numbers cover part of the load
            same scenario: Some(false); verdict: same
        "#]],
    );
    check(
        "10%",
        |_, c| {
            let meta = c.meta.as_mut().unwrap();
            meta.scenario.as_mut().unwrap()["steps"][1]["users"] = 1000.into();
            meta.command_line.push("--webhook".into());
        },
        expect![[r#"
            warning: different loads (--users or --duration): base peaks at 100 users over 60 s, candidate at 1000 users over 60 s
            warning: different delivery: base by long polling, candidate by webhook
            same scenario: Some(false); verdict: same
        "#]],
    );
    check(
        "10%",
        |_, c| c.meta = None,
        expect![[r#"
            warning: no meta.json in the candidate run: whether both ran the same scenario is unknown
            same scenario: None; verdict: same
        "#]],
    );
}

fn check_threshold(text: &str, expected: Result<f64, &str>) {
    let actual = Threshold::parse(text).map(Threshold::fraction);
    match (actual, expected) {
        (Ok(a), Ok(e)) => assert!((a - e).abs() < 1e-12, "{text}: {a} != {e}"),
        (actual, expected) => assert_eq!(actual, expected.map_err(str::to_string), "{text}"),
    }
}

#[test]
fn thresholds_are_percentages_or_fractions() {
    check_threshold("10%", Ok(0.1));
    check_threshold(" 2.5 % ", Ok(0.025));
    check_threshold("0.1", Ok(0.1));
    check_threshold("0", Ok(0.0));
    check_threshold("150%", Ok(1.5));
    check_threshold("10", Err("`10` is ambiguous: write 10% for a percentage, or a fraction up to 1"));
    check_threshold("-5%", Err("`-5%` is not a threshold: it must be a positive number, e.g. 10% or 0.1"));
    check_threshold("NaN", Err("`NaN` is not a threshold: it must be a positive number, e.g. 10% or 0.1"));
    check_threshold("ten", Err("`ten` is not a threshold: write 10% or 0.1"));
    assert_eq!(Threshold::parse("0.07").unwrap().to_string(), "7%");
    assert_eq!(Threshold::DEFAULT.to_string(), "10%");
}

fn check_summary(text: &str, expected: &str) {
    let actual = match parse_summary(Path::new("runs/a/summary.json"), text) {
        Ok(s) => format!("ok: {} p95 {} drift {:?}", s.scenario, s.latency_ms.p95, s.bot.rss_drift_mb_per_h),
        Err(e) => e.to_string(),
    };
    assert_eq!(actual, expected);
}

#[test]
fn summaries_are_read_or_refused_with_file_line_and_column() {
    let valid = r#"{"schema_version": 1, "scenario": "smoke", "status": "completed", "duration_s": 10.0,
        "error_rate": 0.0, "throughput_per_s": 10.0, "extra": {"ignored": true},
        "latency_ms": {"p50": 1.0, "p95": 2.0, "p99": 3.0, "p999": 4.0, "max": 5.0, "mean": 1.5},
        "bot": {"rss_peak_mb": 50.0, "rss_drift_mb_per_h": null, "cpu_mean_pct": 3.0}}"#;
    check_summary(valid, "ok: smoke p95 2 drift None");
    // Version 2 only added keys: it reads the same.
    check_summary(&valid.replace("\"schema_version\": 1", "\"schema_version\": 2"), "ok: smoke p95 2 drift None");
    check_summary(
        &valid.replace("\"p95\": 2.0", "\"p95\": \"fast\""),
        "runs/a/summary.json:3:48: invalid type: string \"fast\", expected f64",
    );
    check_summary("{\"schema_version\": 1,\n  \"scenario\": }", "runs/a/summary.json:2:15: expected value");
    check_summary(r#"{"schema_version": 1, "scenario": "smoke"}"#, "runs/a/summary.json:1:42: missing field `status`");
    check_summary(
        r#"{"schema_version": 3, "results": {}}"#,
        "runs/a/summary.json: schema_version 3, but this tgload reads schema_version 1 to 2",
    );
    check_summary(r#"{"scenario": "smoke"}"#, "runs/a/summary.json: no schema_version: not a tgload summary");
    check_summary("", "runs/a/summary.json:1:0: EOF while parsing a value");
}

#[test]
fn table_snapshot() {
    let (mut base, mut candidate) = (run("runs/20260101-000000-smoke"), run("runs/20260102-000000-smoke"));
    base.summary.bot.rss_drift_mb_per_h = None;
    base.summary.by_action.push(Action { action: "/photo".into(), latency_ms: latency(5.0, 9.0) });
    let c = &mut candidate.summary;
    (c.latency_ms.p95, c.latency_ms.max, c.error_rate, c.throughput_per_s) = (130.0, 250.0, 0.0004, 998.0);
    c.by_action[1].latency_ms.p95 = 520.0;
    candidate.meta.as_mut().unwrap().commit = Some("fedcba9876543210".into());
    candidate.meta.as_mut().unwrap().scenario_sha256 = Some("1111222233334444".into());
    let comparison = compare(&base, &candidate, Threshold::DEFAULT);
    expect![[r#"
        # tgload compare: 20260101-000000-smoke → 20260102-000000-smoke

        **Verdict: WORSE** · 2 worse, 2 better, 8 same · threshold 10%

        > **Warning: these runs are not like for like.**
        > - different scenario files: sha256 aaaabbbbcccc in base, 111122223333 in candidate

        | | base | candidate |
        |---|---|---|
        | run | `runs/20260101-000000-smoke` | `runs/20260102-000000-smoke` |
        | commit | `0123456` | `fedcba9` |
        | scenario | `smoke` (sha256 aaaabbbbcccc) | `smoke` (sha256 111122223333) |
        | status | completed, 60.0 s | completed, 60.0 s |

        | metric | base | candidate | delta | change | verdict |
        |---|---:|---:|---:|---:|---|
        | latency p50 | 20.0 ms | 20.0 ms | 0 ms | 0% | same |
        | latency p95 | 100.0 ms | 130.0 ms | +30.0 ms | +30.0% | **worse** |
        | latency p99 | 150.0 ms | 150.0 ms | 0 ms | 0% | same |
        | latency p99.9 | 200.0 ms | 200.0 ms | 0 ms | 0% | same |
        | latency max | 300.0 ms | 250.0 ms | -50.0 ms | -16.7% | better |
        | error rate | 0.100% | 0.040% | -0.060 pp | -60.0% | better |
        | throughput | 1000/s | 998.0/s | -2.00/s | -0.2% | same |
        | bot RSS peak | 50.0 MB | 50.0 MB | 0 MB | 0% | same |
        | bot RSS drift | n/a | 0 MB/h | n/a | n/a | n/a |
        | bot CPU mean | 40.0% | 40.0% | 0 pp | 0% | same |
        | `text` p95 | 50.0 ms | 50.0 ms | 0 ms | 0% | same |
        | `/ask` p95 | 400.0 ms | 520.0 ms | +120.0 ms | +30.0% | **worse** |
        | `/ask timeout` recovery | 2.00 s | 2.00 s | 0 s | 0% | same |

        Only in the base run, not compared: `/photo`.

        A change within 10% or under its noise floor is `same`. Floors: latency 1 ms, error rate 0.01 pp, throughput 0.5/s, RSS 1 MB, drift 20 MB/h, CPU 2 pp, recovery 1 s.

        ## Charts

        - [distribution.svg](distribution.svg)
        - [rss.png](rss.png)
    "#]].assert_eq(&markdown(&comparison, &Ok(vec!["distribution.svg".into(), "rss.png".into()])));
    let failed = markdown(&comparison, &Err("cannot read runs/b/timeseries.csv: denied".into()));
    assert!(
        failed.ends_with("## Charts\n\nThe charts could not be rendered: cannot read runs/b/timeseries.csv: denied\n")
    );
}
