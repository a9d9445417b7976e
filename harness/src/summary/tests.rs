//! The summary's numbers and shape, the drift fit, and a snapshot of the report.

use expect_test::expect;

use super::*;
use crate::collector::{ActionResult, Collector, Outcome};
use crate::slo::Rule;

const T0: u64 = 1_700_000_000_000_000;

/// A collector holding `n` answers of 10..=n*10 ms and one timeout.
fn totals(n: u64) -> Collector {
    let mut c = Collector::new(T0, 0, 100_000);
    for i in 1..=n {
        let answered_us = T0 + i * 10_000;
        c.record(&ActionResult {
            due_us: T0,
            ready_us: T0,
            sent_us: Some(T0 + 1_000),
            done_us: answered_us,
            outcome: Outcome::Answered { answered_us },
            queue_us: Some(100),
            enqueued_us: Some(T0 + 1_200),
            kind: "text".into(),
            step: None,
            last_us: None,
            said: None,
        });
    }
    c.record(&ActionResult {
        due_us: T0,
        ready_us: T0,
        sent_us: Some(T0),
        done_us: T0 + 5_000_000,
        outcome: Outcome::Timeout,
        queue_us: None,
        enqueued_us: None,
        kind: "/ask".into(),
        step: None,
        last_us: None,
        said: None,
    });
    c
}

fn points(rss: &[f64]) -> Track {
    let mut track = Track::default();
    for (i, r) in rss.iter().enumerate() {
        track.push(Point { t_s: i as f64, rss_mb: *r, cpu_pct: 10.0 * i as f64 });
    }
    track
}

fn summary(status: Status, rules: &[&str]) -> Summary {
    summary_on(status, rules, 100.0)
}

/// The same run judged with another late tolerance.
fn summary_on(status: Status, rules: &[&str], late_tolerance_ms: f64) -> Summary {
    let c = totals(100);
    let judge = crate::slo::Judge::new(rules.iter().map(|r| Rule::parse(r).unwrap()).collect(), None);
    let bot = points(&[50.0, 52.0, 51.0, 53.0]);
    let harness = points(&[20.0, 30.0, 25.0, 22.0]);
    Summary::build(Inputs {
        scenario: "smoke",
        status,
        duration_s: 10.0,
        totals: c.totals(),
        breakdown: Breakdown::of(c.totals()),
        slos: judge.verdicts(&c.totals().window(10.0)),
        rules: &[],
        bot: &bot,
        harness: &harness,
        leak_floor_mb_per_h: 20.0,
        late_tolerance_ms,
        cpus: 2,
        exits: 0,
        restarts: 0,
        external_api: ExternalCalls::default(),
        faults: Vec::new(),
        degradation: Vec::new(),
        by_phase: Vec::new(),
        journeys: Vec::new(),
    })
}

#[test]
fn a_saturated_generator_makes_the_run_inconclusive_and_says_so_first() {
    // The fixture's actions were sent 1 ms after they were due: lateness p99 1 ms, within 100 ms, not 0.5 ms.
    let fine = summary_on(Status::Completed, &["p95 < 2s"], 100.0);
    assert_eq!((fine.verdict, fine.generator.verdict), ("pass", crate::generator::Verdict::Ok));
    let s = summary_on(Status::Completed, &["p95 < 2s"], 0.5);
    assert_eq!((s.verdict, s.generator.verdict), ("inconclusive", crate::generator::Verdict::Saturated));
    let report = report(&s, &Notes::default());
    let first = report.lines().find(|l| l.starts_with("**The generator was saturated")).unwrap();
    assert!(report.find(first).unwrap() < report.find("## Latency").unwrap(), "{report}");
    assert!(first.contains("above the late tolerance of 0.5 ms"), "{first}");
    // A run that did not complete keeps its own verdict.
    assert_eq!(summary_on(Status::BotCrashed, &[], 0.5).verdict, "fail");
}

#[test]
fn numbers_come_from_the_totals() {
    let s = summary(Status::Completed, &["p95 < 2s", "error_rate < 5%"]);
    assert_eq!((s.actions.sent, s.actions.answered, s.actions.errors), (101, 100, 1));
    assert!((s.error_rate - 1.0 / 101.0).abs() < 1e-12);
    assert_eq!(s.errors.timeout, 1);
    assert!((s.throughput_per_s - 10.0).abs() < 1e-9);
    assert!((s.latency_ms.p50 - 500.0).abs() < 0.5, "{}", s.latency_ms.p50);
    assert!((s.latency_ms.max - 1000.0).abs() < 1.0);
    assert!((s.service_ms.p50 - 499.0).abs() < 0.5, "service starts 1 ms after due");
    assert_eq!((s.bot.process.rss_start_mb, s.bot.process.rss_peak_mb, s.bot.process.rss_end_mb), (50.0, 53.0, 53.0));
    assert_eq!((s.generator.rss_mb, s.bot.process.cpu_peak_pct), (30.0, 30.0));
    assert_eq!(s.verdict, "pass");
    assert_eq!(summary(Status::Completed, &["p95 < 100ms"]).verdict, "fail");
    assert_eq!(summary(Status::Interrupted, &[]).verdict, "fail", "an interrupted run cannot pass");
}

#[test]
fn json_has_the_documented_shape() {
    let json = serde_json::to_value(summary(Status::BotCrashed, &["p99 < 1s"])).unwrap();
    let keys = |v: &serde_json::Value| v.as_object().unwrap().keys().cloned().collect::<Vec<_>>().join(",");
    assert_eq!(
        keys(&json),
        "actions,bot,by_action,by_phase,degradation,duration_s,error_rate,errors,external_api,faults,first_failed_step,generator,harness,latency_ms,scenario,schema_version,service_ms,slos,status,throughput_per_s,verdict"
    );
    assert_eq!(
        keys(&json["harness"]),
        "cpu_mean_pct,cpu_peak_pct,leak,rss_drift_mb_per_h,rss_end_mb,rss_peak_mb,rss_start_mb"
    );
    assert_eq!(keys(&json["harness"]["leak"]), "ci95,floor_mb_per_h,points,reason,slope_mb_per_h,verdict,warm_up_min");
    assert_eq!(json["bot"]["leak"]["verdict"], "inconclusive", "a 4-second run cannot tell");
    assert_eq!(json["schema_version"], 2);
    assert_eq!(json["status"], "bot_crashed");
    assert_eq!(keys(&json["errors"]), "bot_api_error,bot_crashed,sent_late,timeout,transport,wrong_answer");
    assert_eq!(keys(&json["latency_ms"]), "max,mean,p50,p95,p99,p999");
    assert_eq!(
        keys(&json["generator"]),
        "cpu_pct,late_max_ms,late_p99_ms,overhead_p50_ms,overhead_p99_ms,reasons,rss_mb,verdict"
    );
    assert_eq!(json["generator"]["verdict"], "ok");
    assert_eq!(
        keys(&json["bot"]),
        "cpu_mean_pct,cpu_peak_pct,exits,leak,restarts,rss_drift_mb_per_h,rss_end_mb,rss_peak_mb,rss_start_mb"
    );
    assert_eq!(keys(&json["external_api"]), "ask,quote");
    assert_eq!(keys(&json["external_api"]["ask"]), "errors,ok,timeouts");
    assert_eq!(keys(&json["slos"][0]), "metric,name,observed,passed,threshold");
    assert_eq!(json["slos"][0]["metric"], "p99");
}

/// One sample a second from t = 0 s.
fn check_drift(rss: &[f64], expected_mb_per_h: Option<f64>) {
    let drift = drift_mb_per_h(points(rss).points());
    match (drift, expected_mb_per_h) {
        (Some(d), Some(e)) => assert!((d - e).abs() < 1e-6, "{d} != {e}"),
        (d, e) => assert_eq!(d, e),
    }
}

#[test]
fn drift_is_the_robust_slope_after_warm_up() {
    // 1 MB per second = 3600 MB per hour.
    let steady: Vec<f64> = (0..20).map(|i| 10.0 + f64::from(i)).collect();
    check_drift(&steady, Some(3600.0));
    check_drift(&[10.0; 30], Some(0.0));
    // The first 5 s (a warm-up jump) are left out; then 0.5 MB/s.
    let mut rss = vec![5.0, 50.0, 80.0, 90.0, 95.0];
    rss.extend((0..20).map(|i| 100.0 + f64::from(i) * 0.5));
    check_drift(&rss, Some(1800.0));
    // A few spikes (a burst, a GC pause) do not tilt it.
    let mut spiky: Vec<f64> = (0..40).map(|i| 100.0 + f64::from(i) * 0.1).collect();
    spiky[20] = 400.0;
    spiky[30] = 20.0;
    check_drift(&spiky, Some(360.0));
    // Less than 10 s after the warm-up: no estimate, whatever the samples do.
    check_drift(&[10.0, 11.0, 12.0, 13.0], None);
    check_drift(&(0..14).map(f64::from).collect::<Vec<_>>(), None);
    check_drift(&[], None);
}

#[test]
fn drift_fits_a_long_run_from_a_bounded_sample() {
    // 72 hours at one sample a second, growing 2 MB per hour, with a saw-tooth of ±1 MB.
    let rss: Vec<f64> =
        (0..72 * 3600).map(|t| 50.0 + f64::from(t) * 2.0 / 3600.0 + f64::from(t % 7) / 3.0 - 1.0).collect();
    let drift = drift_mb_per_h(points(&rss).points()).unwrap();
    assert!((drift - 2.0).abs() < 0.01, "{drift}");
}

#[test]
fn report_snapshot() {
    let mut s = summary(Status::Completed, &["p95 < 200ms", "error_rate < 5%"]);
    let fault = |name: &str, recovery_s: Option<f64>| crate::recovery::Recovery {
        name: name.into(),
        start_s: 2.0,
        end_s: 4.0,
        baseline_p95_ms: Some(12.5),
        peak_p95_ms: Some(950.0),
        errors: 3,
        verdict: match recovery_s {
            Some(_) => crate::recovery::Verdict::Recovered,
            None => crate::recovery::Verdict::NotRecovered,
        },
        seconds: recovery_s,
        recovery_s,
        window_s: 1,
        hold_s: 5,
    };
    s.faults = vec![fault("/ask timeout", Some(1.0)), fault("sendMessage 502", None)];
    let phase = |phase: &str, start_s, users, p99| ByPhase {
        phase: phase.into(),
        start_s,
        duration_s: 5,
        users,
        sent: 500,
        answered: 498,
        errors: 2,
        throughput_per_s: 99.6,
        latency_ms: Percentiles { p50: 1.5, p95: 20.0, p99, p999: 900.0, max: 1200.0, mean: 4.0 },
    };
    s.by_phase = vec![phase("ramp", 0, 5, 40.0), phase("hold", 5, 10, 850.0)];
    let notes = Notes {
        command: "tgload run scenarios/smoke.toml".into(),
        users: 10,
        errors: vec!["write runs/x/checkpoint.json.tmp: No space left on device (os error 28)".into()],
        failures: vec!["404 Not Found: chat not found".into()],
        callbacks_lost: 3,
        replaced: 2,
        mock_stats: Some(
            serde_json::json!({"actions": {"sent": 101, "answered": 100, "timed_out": 1}, "unprompted": 0, "bot_calls": 104,
            "timings": {"end_to_end_us": {"p50": 500_200, "p99": 990_200}, "queue_wait_us": {"p50": 90, "p99": 400}, "handling_us": {"p50": 3000, "p99": 9000}}}),
        ),
        charts: vec!["charts/latency.svg".into()],
    };
    expect![[r#"
        # tgload run: smoke

        **Verdict: FAIL** · status completed · 10.0 s · 10 users · `tgload run scenarios/smoke.toml`

        ## Errors

        - write runs/x/checkpoint.json.tmp: No space left on device (os error 28)

        ## Latency (ms)

        | | p50 | p95 | p99 | p99.9 | max | mean |
        |---|---:|---:|---:|---:|---:|---:|
        | end to end (due → answer) | 500.2 | 950.3 | 990.2 | 1000 | 1000 | 505.0 |
        | service (sent → answer) | 499.2 | 949.2 | 989.2 | 999.4 | 999.4 | 504.0 |

        ## By action (end to end, ms)

        | action | sent | answered | errors | p50 | p95 | p99 | max |
        |---|---:|---:|---:|---:|---:|---:|---:|
        | `text` | 100 | 100 | 0 | 500.2 | 950.3 | 990.2 | 1000 |
        | `/ask` | 1 | 0 | 1 | 0.00 | 0.00 | 0.00 | 0.00 |

        ## By phase (end to end, ms)

        | phase | from | seconds | users | sent | answered/s | errors | p50 | p95 | p99 | max |
        |---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|
        | ramp | 0 s | 5 | 5 | 500 | 99.6 | 2 | 1.50 | 20.0 | 40.0 | 1200 |
        | hold | 5 s | 5 | 10 | 500 | 99.6 | 2 | 1.50 | 20.0 | 850.0 | 1200 |

        Every step kept up (answers, errors and the latency objectives).

        ## Actions

        | sent | answered | errors | error rate | answered/s |
        |---:|---:|---:|---:|---:|
        | 101 | 100 | 1 | 0.990% | 10.0 |

        | timeout | bot API error | bot crashed | sent late | transport | wrong answer |
        |---:|---:|---:|---:|---:|---:|
        | 1 | 0 | 0 | 0 | 0 | 0 |

        ## Generator health

        | send lateness p99 | max | harness overhead p50 / p99 | CPU (harness + mock) | RSS peak |
        |---:|---:|---:|---:|---:|
        | 1.00 ms | 1.00 ms | 1.20 / 1.20 ms | 15.0% | 30.0 MB |

        ## Bot resources (with child processes)

        | RSS start | peak | end | drift | CPU mean | CPU peak | exits | restarts |
        |---:|---:|---:|---:|---:|---:|---:|---:|
        | 50.0 MB | 53.0 MB | 53.0 MB | - (run too short) | 15.0% | 30.0% | 0 | 0 |

        Leak: **inconclusive**: too short to tell: 0 per-minute medians after a 0-minute warm-up, 5 needed.

        ## Harness resources (tgload and the mock it hosts)

        | RSS start | peak | end | drift | CPU mean | CPU peak |
        |---:|---:|---:|---:|---:|---:|
        | 20.0 MB | 30.0 MB | 22.0 MB | - (run too short) | 15.0% | 30.0% |

        Leak: **inconclusive**: too short to tell: 0 per-minute medians after a 0-minute warm-up, 5 needed.

        ## Fault windows

        | fault | window | p95 before | worst p95 | errors | settled after |
        |---|---|---:|---:|---:|---:|
        | /ask timeout | 2.0-4.0 s | 12.5 ms | 950.0 ms | 3 | 1.0 s |
        | sendMessage 502 | 2.0-4.0 s | 12.5 ms | 950.0 ms | 3 | not recovered |

        Settled: from the window's end to the moment after which every health window (at least 59 answers) through the hold period had p95 within max(1.5 × the median p95 of the 10 s before the window, that + 5 ms) and no more errors than the rate before it explains; `not recovered` when the run ended first.

        ## Objectives

        | objective | observed | |
        |---|---:|---|
        | `p95 < 200ms` | 950.3 ms | **FAIL** |
        | `error_rate < 5%` | 0.990% | pass |

        3 menu button presses found their message gone from the mock's chat history (busy groups) and were replaced by another action; they are not counted as errors.

        2 actions could not apply in their user's chat at that moment (a join in a private chat, a reply before the bot had written, a block of a bot already blocked) and were replaced by another pick.

        ## Control API failures (first 1)

        - 404 Not Found: chat not found

        ## The mock's view

        actions sent 101, answered 100 (and 0 notifications delivered), timed out 1; unprompted bot calls 0; bot calls 104.
        Its own timings (ms): end to end p50 500.2 p99 990.2; queue wait p50 0.09 p99 0.40; bot handling p50 3.00 p99 9.00.

        ## Charts

        - [charts/latency.svg](charts/latency.svg)
    "#]].assert_eq(&report(&s, &notes));
}

#[test]
fn degradation_and_leak_objectives_are_judged_on_their_intervals() {
    let rules: Vec<Rule> = ["degradation_p95 < 5%", "degradation_goodput < 5%", "bot_leak < 20MB/h", "p95 < 1s"]
        .iter()
        .map(|r| Rule::parse(r).unwrap())
        .collect();
    let judge = crate::slo::Judge::new(rules.clone(), None);
    let c = totals(100);
    let slos = judge.verdicts(&c.totals().window(10.0));
    let entry = |metric: &'static str, ci95: [f64; 2]| crate::degradation::Degradation {
        metric,
        early: Some(1.0),
        late: Some(1.0),
        change_pct: Some(0.0),
        ci95: Some(ci95),
        budget_pct: 5.0,
        verdict: crate::degradation::Verdict::NotDegraded,
        early_s: None,
        late_s: None,
        bucket_s: 10,
    };
    // p95 at most 3 % worse passes; goodput down by up to 8 % (its interval's low end) fails.
    let degradation = [entry("p95", [-2.0, 3.0]), entry("goodput", [-8.0, 1.0])];
    let short = crate::leak::judge(&[], 20.0);
    let verdicts = end_of_run_verdicts(slos, &rules, &degradation, [&short, &short], &[]);
    let passed: Vec<(String, bool, Option<f64>)> =
        verdicts.iter().map(|v| (v.name.clone(), v.passed, v.observed)).collect();
    assert_eq!(passed[0], ("degradation_p95 < 5%".into(), true, Some(3.0)));
    assert_eq!(passed[1], ("degradation_goodput < 5%".into(), false, Some(8.0)));
    assert_eq!(passed[2], ("bot_leak < 20MB/h".into(), false, None), "a run too short to tell cannot pass");
    assert!(passed[3].1, "other objectives are as the judge said");
    assert!(Rule::parse("degradation_p95 < 5").is_err() && Rule::parse("bot_leak < 20").is_err());
}
