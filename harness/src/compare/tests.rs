//! The verdicts (direction, threshold, noise floors, missing values, actions in one side only, gating), sides of one
//! run, noisy repeats with and without a shift, what makes two sides not like for like, threshold and input
//! parsing, and a snapshot of the table. Most checks compare sides of identical repeats, whose interval is the
//! shift itself, so that each verdict's boundary is exact; `shift`'s own tests cover the intervals.

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
            "command_line": ["tgload", "run", "scenarios/smoke.toml"], "tgload_version": "0.1.0",
            "machine": {"cpu_model": "AMD EPYC 7B13"}}"#,
    )
    .unwrap();
    Run {
        dir: dir.to_string(),
        steady: Steady::default(),
        summary: Summary {
            schema_version: 1,
            actions: Default::default(),
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

/// `n` runs of a side, each `run(dir)` after `edit`, named `dir/rK`.
fn side(dir: &str, n: usize, edit: &impl Fn(&mut Run)) -> Side {
    let runs = (1..=n)
        .map(|k| {
            let mut r = run(&format!("{dir}/r{k}"));
            edit(&mut r);
            r
        })
        .collect();
    Side { dir: dir.to_string(), runs }
}

fn settings(threshold: &str) -> Settings {
    Settings { threshold: Threshold::parse(threshold).unwrap(), ..Settings::default() }
}

/// What a comparison shows: the rows that are not `same`, the actions in one side only, the mismatches and warnings
/// and the overall verdict with its exit code.
fn shown(c: &Comparison) -> String {
    let mut actual = String::new();
    for row in c.rows.iter().filter(|r| r.verdict != Verdict::Same) {
        let relative = row.relative.map_or("n/a".to_string(), |r| format!("{:+.1}%", r * 100.0));
        let (base, candidate) = (row.base, row.candidate);
        let gate = if row.gated { " (gated)" } else { "" };
        let needed = row.repeats_needed.map_or(String::new(), |n| format!(", ~{n} runs"));
        let verdict = row.verdict.as_str();
        let _ = writeln!(actual, "{}: {base:?} -> {candidate:?} ({relative}) {verdict}{needed}{gate}", row.label);
    }
    for (side, actions) in [("base", &c.only_in_base), ("candidate", &c.only_in_candidate)] {
        if !actions.is_empty() {
            let _ = writeln!(actual, "only in {side}: {}", actions.join(", "));
        }
    }
    for w in &c.mismatches {
        let _ = writeln!(actual, "mismatch: {w}");
    }
    for w in &c.warnings {
        let _ = writeln!(actual, "warning: {w}");
    }
    let _ = writeln!(
        actual,
        "same scenario: {:?}; gating: {}; verdict: {}; exit {}",
        c.same_scenario,
        c.gating,
        c.verdict.as_str(),
        c.exit_code()
    );
    actual
}

/// Compares three identical repeats of `run` after `base_edit` with three after `candidate_edit`, at `threshold`.
fn check3(threshold: &str, base_edit: impl Fn(&mut Run), candidate_edit: impl Fn(&mut Run), expected: Expect) {
    let (base, candidate) = (side("runs/base", 3, &base_edit), side("runs/candidate", 3, &candidate_edit));
    expected.assert_eq(&shown(&compare(&base, &candidate, &settings(threshold))));
}

/// `check3` with the same edit on the base as `edit`'s first half and the candidate's as its second: the old
/// shape of these tests, which edit both runs at once.
fn check(threshold: &str, edit: impl Fn(&mut Run, &mut Run), expected: Expect) {
    let apply = |which: usize| {
        let edit = &edit;
        move |r: &mut Run| {
            let (mut b, mut c) = (r.clone(), r.clone());
            edit(&mut b, &mut c);
            *r = if which == 0 { b } else { c };
        }
    };
    check3(threshold, apply(0), apply(1), expected);
}

#[test]
fn identical_runs_are_the_same() {
    check(
        "10%",
        |_, _| {},
        expect![[r#"
            same scenario: Some(true); gating: true; verdict: same; exit 0
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
            same scenario: Some(true); gating: true; verdict: same; exit 0
        "#]],
    );
    check(
        "0.03",
        |_, c| c.summary.latency_ms.p50 = 20.8,
        expect![[r#"
            same scenario: Some(true); gating: true; verdict: same; exit 0
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
            c.summary.error_rate = 0.003;
            c.summary.bot.rss_peak_mb = 80.0;
            c.summary.bot.cpu_mean_pct = 30.0;
        },
        expect![[r#"
            latency max: Some(300.0) -> Some(200.0) (-33.3%) better
            error rate: Some(0.1) -> Some(0.3) (+200.0%) worse (gated)
            throughput: Some(1000.0) -> Some(1200.0) (+20.0%) better
            bot RSS peak: Some(50.0) -> Some(80.0) (+60.0%) worse
            bot CPU mean: Some(40.0) -> Some(30.0) (-25.0%) better
            same scenario: Some(true); gating: true; verdict: worse; exit 99
        "#]],
    );
    check(
        "10%",
        |_, c| c.summary.throughput_per_s = 500.0,
        expect![[r#"
            throughput: Some(1000.0) -> Some(500.0) (-50.0%) worse
            same scenario: Some(true); gating: true; verdict: same; exit 0
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
            (b.summary.error_rate, c.summary.error_rate) = (0.0, 0.000_5);
            (b.summary.throughput_per_s, c.summary.throughput_per_s) = (1.0, 1.4);
            (b.summary.bot.rss_peak_mb, c.summary.bot.rss_peak_mb) = (2.0, 2.9);
            (b.summary.bot.rss_drift_mb_per_h, c.summary.bot.rss_drift_mb_per_h) = (Some(-5.0), Some(12.0));
            (b.summary.bot.cpu_mean_pct, c.summary.bot.cpu_mean_pct) = (0.5, 2.0);
        },
        expect![[r#"
            same scenario: Some(true); gating: true; verdict: same; exit 0
        "#]],
    );
    // Just over the floors, they count.
    check(
        "10%",
        |b, c| {
            (b.summary.latency_ms.p50, c.summary.latency_ms.p50) = (0.3, 1.4);
            (b.summary.error_rate, c.summary.error_rate) = (0.0, 0.002);
            (b.summary.bot.rss_drift_mb_per_h, c.summary.bot.rss_drift_mb_per_h) = (Some(-5.0), Some(30.0));
            (b.summary.bot.cpu_mean_pct, c.summary.bot.cpu_mean_pct) = (0.5, 3.0);
        },
        expect![[r#"
            latency p50: Some(0.3) -> Some(1.4) (+366.7%) worse
            error rate: Some(0.0) -> Some(0.2) (n/a) worse (gated)
            bot RSS drift: Some(-5.0) -> Some(30.0) (+700.0%) worse
            bot CPU mean: Some(0.5) -> Some(3.0) (+500.0%) worse
            same scenario: Some(true); gating: true; verdict: worse; exit 99
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
            same scenario: Some(true); gating: true; verdict: same; exit 0
        "#]],
    );
    check(
        "10%",
        |b, c| (b.summary.bot.rss_drift_mb_per_h, c.summary.bot.rss_drift_mb_per_h) = (None, None),
        expect![[r#"
            bot RSS drift: None -> None (n/a) n/a
            same scenario: Some(true); gating: true; verdict: same; exit 0
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
            same scenario: Some(true); gating: true; verdict: same; exit 0
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
            same scenario: Some(true); gating: true; verdict: same; exit 0
        "#]],
    );
    // Under a second apart is the per-second series' resolution; never recovering is worse than any recovery.
    check(
        "10%",
        |b, c| recovery(b, c, Some(1.0), Some(1.5)),
        expect![[r#"
            same scenario: Some(true); gating: true; verdict: same; exit 0
        "#]],
    );
    check(
        "10%",
        |b, c| recovery(b, c, Some(1.0), None),
        expect![[r#"
            `/ask timeout` recovery: None -> None (n/a) worse
            same scenario: Some(true); gating: true; verdict: same; exit 0
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
            if b.dir.ends_with("r2") {
                b.summary.status = "bot_crashed".into();
            }
        },
        expect![[r#"
            mismatch: different scenarios: base ran `smoke`, candidate ran `load-1k`
            mismatch: different scenario files: sha256 aaaabbbbcccc in base, ffffeeeedddd in candidate
            warning: the base run runs/base/r2 did not complete (status bot_crashed): its numbers cover part of the load
            same scenario: Some(false); gating: false; verdict: inconclusive; exit 98
        "#]],
    );
    check(
        "10%",
        |_, c| {
            let meta = c.meta.as_mut().unwrap();
            meta.scenario.as_mut().unwrap()["steps"][1]["users"] = 1000.into();
            meta.command_line.push("--webhook".into());
            meta.machine.cpu_model = Some("Intel(R) Xeon(R) Processor".into());
            meta.tgload_version = Some("0.2.0".into());
        },
        expect![[r#"
            mismatch: different loads (--users or --duration): base peaks at 100 users over 60 s, candidate at 1000 users over 60 s
            mismatch: different delivery: base by long polling, candidate by webhook
            mismatch: different CPUs: base ran on `AMD EPYC 7B13`, candidate on `Intel(R) Xeon(R) Processor`
            mismatch: different tgload versions: base 0.1.0, candidate 0.2.0
            same scenario: Some(false); gating: false; verdict: inconclusive; exit 98
        "#]],
    );
    check(
        "10%",
        |_, c| c.meta = None,
        expect![[r#"
            warning: no meta.json in the candidate run: whether both ran the same scenario is unknown
            same scenario: None; gating: true; verdict: same; exit 0
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
    let repeats = |run: &Run, dir: &str| Side { dir: dir.into(), runs: vec![run.clone(); 3] };
    let (base, candidate) = (repeats(&base, "runs/base-x3"), repeats(&candidate, "runs/candidate-x3"));
    let comparison = compare(&base, &candidate, &Settings::default());
    expect![[r#"
        # tgload compare: base-x3 → candidate-x3

        **Verdict: INCONCLUSIVE** · 2 worse, 1 better, 9 same, 0 inconclusive · threshold 10% · 3 vs 3 runs · gated: `latency_ms.p95`, `error_rate`

        > **Warning: these sides are not like for like.** Not gated: the verdict is inconclusive (pass --allow-mismatch to gate anyway).
        > - different scenario files: sha256 aaaabbbbcccc in base, 111122223333 in candidate

        | | base | candidate |
        |---|---|---|
        | directory | `runs/base-x3` | `runs/candidate-x3` |
        | runs | 3 | 3 |
        | commit | `0123456` | `fedcba9` |
        | scenario | `smoke` (sha256 aaaabbbbcccc) | `smoke` (sha256 111122223333) |
        | status | completed, 60.0 s | completed, 60.0 s |
        | CPU | AMD EPYC 7B13 | AMD EPYC 7B13 |
        | tgload | 0.1.0 | 0.1.0 |

        | | metric | base | candidate | shift | 95 % interval | verdict |
        |---|---|---:|---:|---:|---:|---|
        |  | latency p50 | 20.0 ms | 20.0 ms | 0% | 0% to 0% | same |
        | ● | latency p95 | 100.0 ms | 130.0 ms | +30.0% | +30.0% to +30.0% | **worse** |
        |  | latency p99 | 150.0 ms | 150.0 ms | 0% | 0% to 0% | same |
        |  | latency p99.9 | 200.0 ms | 200.0 ms | 0% | 0% to 0% | same |
        |  | latency max | 300.0 ms | 250.0 ms | -16.7% | -16.7% to -16.7% | better |
        | ● | error rate | 0.100% | 0.040% | -60.0% | -60.0% to -60.0% | same |
        |  | throughput | 1000/s | 998.0/s | -0.2% | -0.2% to -0.2% | same |
        |  | bot RSS peak | 50.0 MB | 50.0 MB | 0% | 0% to 0% | same |
        |  | bot RSS drift | n/a | 0 MB/h | n/a | n/a | n/a |
        |  | bot CPU mean | 40.0% | 40.0% | 0% | 0% to 0% | same |
        |  | `text` p95 | 50.0 ms | 50.0 ms | 0% | 0% to 0% | same |
        |  | `/ask` p95 | 400.0 ms | 520.0 ms | +30.0% | +30.0% to +30.0% | **worse** |
        |  | `/ask timeout` recovery | 2.00 s | 2.00 s | 0% | 0% to 0% | same |

        Only in the base run, not compared: `/photo`.

        Each value is the median over the side's runs; latency p50, p95 and p99 are each run's median over its steady seconds (the holds, after the ramps). The shift is the Hodges-Lehmann estimate over runs, its 95 % interval a bootstrap over runs and, within each run, over blocks of seconds. `worse` or `better`: the whole interval is beyond the margin, which is 10% of the base or the metric's floor if larger; `same`: the whole interval is inside it; `inconclusive`: neither, with the runs per side that would likely decide it. Rows marked ● decide the exit code. Floors: latency 1 ms, error rate 0.1 pp, throughput 0.5/s, RSS 1 MB, drift 20 MB/h, CPU 2 pp, recovery 1 s.

        ## Charts

        - [distribution.svg](distribution.svg)
        - [rss.png](rss.png)
    "#]].assert_eq(&markdown(&comparison, &Ok(vec!["distribution.svg".into(), "rss.png".into()])));
    let failed = markdown(&comparison, &Err("cannot read runs/b/timeseries.csv: denied".into()));
    assert!(
        failed.ends_with("## Charts\n\nThe charts could not be rendered: cannot read runs/b/timeseries.csv: denied\n")
    );
}

#[test]
fn a_side_of_one_run_decides_nothing() {
    let (base, candidate) = (Side::single(run("runs/a")), Side::single(run("runs/b")));
    let mut candidate = candidate;
    candidate.runs[0].summary.latency_ms.p95 = 300.0;
    expect![[r#"
        latency p50: Some(20.0) -> Some(20.0) (+0.0%) inconclusive, ~2 runs
        latency p95: Some(100.0) -> Some(300.0) (+200.0%) inconclusive, ~2 runs (gated)
        latency p99: Some(150.0) -> Some(150.0) (+0.0%) inconclusive, ~2 runs
        latency p99.9: Some(200.0) -> Some(200.0) (+0.0%) inconclusive, ~2 runs
        latency max: Some(300.0) -> Some(300.0) (+0.0%) inconclusive, ~2 runs
        error rate: Some(0.1) -> Some(0.1) (+0.0%) inconclusive, ~2 runs (gated)
        throughput: Some(1000.0) -> Some(1000.0) (+0.0%) inconclusive, ~2 runs
        bot RSS peak: Some(50.0) -> Some(50.0) (+0.0%) inconclusive, ~2 runs
        bot RSS drift: Some(0.0) -> Some(0.0) (n/a) inconclusive, ~2 runs
        bot CPU mean: Some(40.0) -> Some(40.0) (+0.0%) inconclusive, ~2 runs
        `text` p95: Some(50.0) -> Some(50.0) (+0.0%) inconclusive, ~2 runs
        `/ask` p95: Some(400.0) -> Some(400.0) (+0.0%) inconclusive, ~2 runs
        `/ask timeout` recovery: Some(2.0) -> Some(2.0) (+0.0%) inconclusive, ~2 runs
        warning: 1 vs 1 runs: with one run a side, run-to-run noise cannot be told from a change, so no metric is decided; repeat each side (`tgload run --repeat 3`, or `tgload ab`)
        same scenario: Some(true); gating: true; verdict: inconclusive; exit 98
    "#]].assert_eq(&shown(&compare(&base, &candidate, &Settings::default())));
}

#[test]
fn only_gated_metrics_decide() {
    let worse_throughput = |r: &mut Run| r.summary.throughput_per_s = 500.0;
    let gate = |g: &[&str]| Settings { gate: g.iter().map(|s| s.to_string()).collect(), ..Settings::default() };
    let (base, candidate) = (side("runs/a", 3, &|_| {}), side("runs/b", 3, &worse_throughput));
    expect![[r#"
        throughput: Some(1000.0) -> Some(500.0) (-50.0%) worse
        same scenario: Some(true); gating: true; verdict: same; exit 0
    "#]]
    .assert_eq(&shown(&compare(&base, &candidate, &gate(&["latency_ms.p95"]))));
    expect![[r#"
        throughput: Some(1000.0) -> Some(500.0) (-50.0%) worse (gated)
        same scenario: Some(true); gating: true; verdict: worse; exit 99
    "#]]
    .assert_eq(&shown(&compare(&base, &candidate, &gate(&["throughput_per_s"]))));
    assert_eq!(check_gate(&["latency_ms.p95".into()]), Ok(()));
    assert!(check_gate(&["p95".into()])
        .unwrap_err()
        .starts_with("`p95` is not a compared metric; known: latency_ms.p50,"));
}

#[test]
fn sides_that_are_not_like_for_like_do_not_gate_unless_allowed() {
    let other_cpu = |r: &mut Run| {
        r.summary.latency_ms.p95 = 200.0;
        r.meta.as_mut().unwrap().machine.cpu_model = Some("Intel(R) Xeon(R) Processor".into());
    };
    let (base, candidate) = (side("runs/a", 3, &|_| {}), side("runs/b", 3, &other_cpu));
    expect![[r#"
        latency p95: Some(100.0) -> Some(200.0) (+100.0%) worse (gated)
        mismatch: different CPUs: base ran on `AMD EPYC 7B13`, candidate on `Intel(R) Xeon(R) Processor`
        same scenario: Some(true); gating: false; verdict: inconclusive; exit 98
    "#]]
    .assert_eq(&shown(&compare(&base, &candidate, &Settings::default())));
    let allowed = Settings { allow_mismatch: true, ..Settings::default() };
    expect![[r#"
        latency p95: Some(100.0) -> Some(200.0) (+100.0%) worse (gated)
        mismatch: different CPUs: base ran on `AMD EPYC 7B13`, candidate on `Intel(R) Xeon(R) Processor`
        same scenario: Some(true); gating: true; verdict: worse; exit 99
    "#]]
    .assert_eq(&shown(&compare(&base, &candidate, &allowed)));
}

/// Runs whose steady seconds scatter around a level that itself moves from run to run by `run_spread` (a
/// fraction), as real repeats do.
fn noisy(dir: &str, n: usize, level_ms: f64, run_spread: f64, seed: u64) -> Side {
    let mut x = seed;
    let mut uniform = move || {
        // A small LCG: enough scatter for a test, and the same every time.
        x = x.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (x >> 11) as f64 / (1u64 << 53) as f64
    };
    let runs = (1..=n)
        .map(|k| {
            let mut r = run(&format!("{dir}/r{k}"));
            let run_level = level_ms * (1.0 + run_spread * (2.0 * uniform() - 1.0));
            let seconds: Vec<f64> = (0..40).map(|_| run_level * (0.9 + 0.2 * uniform())).collect();
            r.steady = Steady {
                p50: seconds.iter().map(|s| s / 2.0).collect(),
                p95: seconds.clone(),
                p99: seconds.iter().map(|s| s * 1.5).collect(),
            };
            r
        })
        .collect();
    Side { dir: dir.to_string(), runs }
}

#[test]
fn noisy_repeats_find_a_real_slowdown_and_no_false_one() {
    let base = noisy("runs/a", 3, 10.0, 0.03, 1);
    let same = noisy("runs/b", 3, 10.0, 0.03, 2);
    let slower = noisy("runs/c", 3, 12.5, 0.03, 3);
    let verdict = |c: &Comparison, key: &str| c.rows.iter().find(|r| r.metric == key).unwrap().verdict;
    let aa = compare(&base, &same, &Settings::default());
    assert_eq!(verdict(&aa, "latency_ms.p95"), Verdict::Same, "{}", shown(&aa));
    let ab = compare(&base, &slower, &Settings::default());
    assert_eq!(verdict(&ab, "latency_ms.p95"), Verdict::Worse, "{}", shown(&ab));
    assert_eq!(ab.exit_code(), 99);
    let row = ab.rows.iter().find(|r| r.metric == "latency_ms.p95").unwrap();
    let [low, high] = row.relative_ci.unwrap();
    assert!(low < 0.25 && 0.25 < high && low > 0.1, "{row:?}");
}
