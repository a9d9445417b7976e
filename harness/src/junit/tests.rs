//! The JUnit suites of a run and of a comparison, judged on their cases; and the XML read back with quick-xml's
//! reader, whatever the names hold. Validation against the schemas is `tests/it/ci.rs`, with xmllint.

use quick_xml::events::Event;
use quick_xml::Reader;

use super::*;
use crate::collector::Collector;
use crate::slo::Verdict;
use crate::summary::{Breakdown, ExternalCalls, Inputs, Status, Summary, Track};

fn stamp() -> Stamp {
    Stamp { timestamp: "2026-11-24T21:38:00".into(), hostname: "ci-runner".into() }
}

/// A completed run with no objectives, as `Summary::build` makes it (its leak verdicts inconclusive: no samples).
fn summary(status: Status) -> Summary {
    let collector = Collector::new(0, 0, 0);
    let track = Track::default();
    Summary::build(Inputs {
        scenario: "smoke",
        status,
        duration_s: 6.0,
        totals: collector.totals(),
        breakdown: Breakdown::default(),
        slos: Vec::new(),
        rules: &[],
        bot: &track,
        harness: &track,
        leak_floor_mb_per_h: 20.0,
        late_tolerance_ms: 100.0,
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

fn verdict(name: &str, metric: &str, threshold: f64, observed: Option<f64>, passed: bool) -> Verdict {
    Verdict { name: name.into(), metric: metric.into(), threshold, observed, passed }
}

/// Each case as `classname/name: outcome`, with the message of one that did not pass.
fn outcomes(suites: &[Suite]) -> Vec<String> {
    let line = |c: &Case| match &c.outcome {
        Outcome::Passed => format!("{}/{}: passed", c.classname, c.name),
        Outcome::Failed { kind, message } => format!("{}/{}: failed ({kind}) {message}", c.classname, c.name),
        Outcome::Skipped { message } => format!("{}/{}: skipped {message}", c.classname, c.name),
        Outcome::Error { message } => format!("{}/{}: error {message}", c.classname, c.name),
    };
    suites.iter().flat_map(|s| s.cases.iter().map(line)).collect()
}

#[test]
fn each_failing_rule_is_one_failed_case_with_its_observed_value_and_threshold() {
    let mut s = summary(Status::Completed);
    s.slos = vec![
        verdict("p95 < 200ms", "p95", 200.0, Some(412.3), false),
        verdict("error_rate < 1%", "error_rate", 0.01, Some(0.002), true),
        verdict("throughput > 100", "throughput", 100.0, None, false),
    ];
    let suites = run_suites(&s, "smoke");
    assert_eq!(suites.iter().map(|s| s.name.as_str()).collect::<Vec<_>>(), ["smoke: objectives", "smoke: verdicts"]);
    let objectives = outcomes(&suites[..1]);
    assert_eq!(
        objectives,
        [
            "tgload.run/run completed: passed",
            "tgload.generator/generator not saturated: passed",
            "tgload.slo/p95 < 200ms: failed (slo) observed 412.3 ms, threshold 200.0 ms",
            "tgload.slo/error_rate < 1%: passed",
            "tgload.slo/throughput > 100: failed (slo) nothing was measured to judge it, threshold 100.0/s",
        ]
    );
}

#[test]
fn an_end_of_run_rule_names_the_interval_it_was_judged_on() {
    let mut s = summary(Status::Completed);
    s.bot.process.leak.ci95 = Some([12.0, 31.5]);
    s.slos = vec![verdict("bot_leak < 20MB/h", "bot_leak", 20.0, Some(31.5), false)];
    let cases = outcomes(&run_suites(&s, "soak")[..1]);
    assert_eq!(
        cases[2],
        "tgload.slo/bot_leak < 20MB/h: failed (slo) observed 31.5 MB/h, threshold 20.0 MB/h, 95% interval 12.0 to \
         31.5 MB/h (judged on its worse end)"
    );
}

#[test]
fn inconclusive_verdicts_are_skipped_and_a_leak_fails() {
    let mut s = summary(Status::Completed);
    s.bot.process.leak.verdict = crate::leak::Verdict::Leak;
    s.bot.process.leak.reason = "grows 40.0 MB/h (95 % CI 30.0 to 50.0), above the 20 MB/h floor".into();
    let verdicts = outcomes(&run_suites(&s, "smoke")[1..]);
    assert_eq!(verdicts.len(), 2, "{verdicts:?}");
    assert_eq!(
        verdicts[0],
        "tgload.leak/bot leak: failed (leak) leaks: grows 40.0 MB/h (95 % CI 30.0 to 50.0), above the 20 MB/h floor"
    );
    assert!(
        verdicts[1].starts_with("tgload.leak/harness leak: skipped inconclusive: too short to tell"),
        "{verdicts:?}"
    );
}

#[test]
fn a_run_that_did_not_complete_fails_its_status_case() {
    let cases = outcomes(&run_suites(&summary(Status::BotCrashed), "smoke"));
    assert_eq!(cases[0], "tgload.run/run completed: failed (status) the run ended with status bot_crashed after 6.0 s");
}

#[test]
fn degradation_recovery_and_limits_fail_with_their_figures() {
    let mut s = summary(Status::Completed);
    s.degradation = vec![crate::degradation::Degradation {
        metric: "p95",
        early: Some(10.0),
        late: Some(14.0),
        change_pct: Some(40.0),
        ci95: Some([25.0, 55.0]),
        budget_pct: 5.0,
        verdict: crate::degradation::Verdict::Degraded,
        early_s: Some([10, 40]),
        late_s: Some([70, 100]),
        bucket_s: 10,
    }];
    s.faults = vec![crate::recovery::Recovery {
        name: "/ask timeout".into(),
        start_s: 20.0,
        end_s: 30.0,
        baseline_p95_ms: Some(5.0),
        peak_p95_ms: Some(900.0),
        errors: 12,
        verdict: crate::recovery::Verdict::NotRecovered,
        seconds: None,
        recovery_s: None,
        window_s: 2,
        hold_s: 6,
    }];
    let limits = |mode: &str, retried_early| crate::limits::TelegramLimits {
        mode: mode.into(),
        sends: 100,
        peak_per_s: 40,
        over_limit: crate::limits::OverLimit { per_chat: 3, per_group: 0, global: 0 },
        retried_early,
        retried_after_wait: 1,
    };
    s.telegram_limits = Some(limits("real", 2));
    let verdicts = outcomes(&run_suites(&s, "faults")[1..]);
    assert_eq!(
        verdicts[2..],
        [
            "tgload.degradation/degradation p95: failed (degradation) degraded: early 10.0 ms, late 14.0 ms, change \
             +40.0%, 95% interval +25.0% to +55.0%, budget 5%",
            "tgload.recovery/recovery from /ask timeout: failed (recovery) not recovered after the window 20.0-30.0 s: \
             worst p95 900.0 ms against a baseline of 5.00 ms, 12 errors",
            "tgload.limits/telegram limits: failed (limits) 2 sends retried before retry_after had passed; 3 sends past \
             Telegram's limits (3 per chat, 0 per group, 0 global; peak 40/s), limits real",
        ]
    );
    s.telegram_limits = Some(limits("off", 2));
    let verdicts = outcomes(&run_suites(&s, "faults")[1..]);
    assert!(verdicts[4].starts_with("tgload.limits/telegram limits: skipped not enforced"), "{verdicts:?}");
}

/// What a document reads back as: each test case's name and the outcome element in it (with its message), and
/// each suite's tests, failures, errors and skipped.
type ReadBack = (Vec<(String, Option<String>)>, Vec<[String; 4]>);

fn read_back(xml: &str) -> ReadBack {
    let mut reader = Reader::from_str(xml);
    let (mut cases, mut suites) = (Vec::new(), Vec::new());
    let attribute = |e: &quick_xml::events::BytesStart<'_>, name: &str| {
        e.try_get_attribute(name)
            .unwrap()
            .map(|a| a.normalized_value(quick_xml::XmlVersion::Explicit1_0).unwrap().into_owned())
            .unwrap_or_default()
    };
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testsuite" => {
                suites.push(["tests", "failures", "errors", "skipped"].map(|a| attribute(&e, a)));
            }
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                cases.push((attribute(&e, "name"), None));
            }
            Event::Start(e) | Event::Empty(e) if matches!(e.name().as_ref(), b"failure" | b"skipped" | b"error") => {
                let outcome = format!("{}: {}", String::from_utf8_lossy(e.name().as_ref()), attribute(&e, "message"));
                if let Some(case) = cases.last_mut() {
                    case.1 = Some(outcome);
                }
            }
            Event::Eof => break,
            _ => {}
        }
    }
    (cases, suites)
}

#[test]
fn the_document_reads_back_whatever_the_names_hold() {
    let tricky = "p95 < 200ms & \"quoted\" <b>\u{1}\u{7}";
    let suite = Suite {
        name: "smoke: objectives".into(),
        package: "tgload.run".into(),
        time_s: 6.25,
        cases: vec![
            Case::new("tgload.slo", tricky, Outcome::Failed { kind: "slo", message: "observed 1 < 2 & \u{0}".into() }),
            Case::new("tgload.leak", "bot leak", Outcome::Skipped { message: "too short".into() }),
            Case::new("tgload.slo", "error_rate < 1%", Outcome::Passed),
        ],
    };
    let xml = render(&[suite, error_suite("tgload", "cannot read scenario x.toml")], &stamp()).unwrap();
    assert!(xml.starts_with("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<testsuites>"), "{xml}");
    assert!(xml.contains("time=\"6.250\" timestamp=\"2026-11-24T21:38:00\" hostname=\"ci-runner\" id=\"0\""), "{xml}");
    let (cases, suites) = read_back(&xml);
    assert_eq!(
        cases,
        [
            ("p95 < 200ms & \"quoted\" <b>".to_string(), Some("failure: observed 1 < 2 & ".to_string())),
            ("bot leak".to_string(), Some("skipped: too short".to_string())),
            ("error_rate < 1%".to_string(), None),
            ("tgload".to_string(), Some("error: cannot read scenario x.toml".to_string())),
        ]
    );
    assert_eq!(suites, [["3", "1", "0", "1"], ["1", "0", "1", "0"]].map(|s| s.map(String::from)));
}

#[test]
fn times_are_plain_decimals() {
    for (s, text) in [(0.0, "0"), (-1.0, "0"), (f64::NAN, "0"), (1e-9, "0.000"), (72.0 * 3600.0, "259200.000")] {
        assert_eq!(seconds(s), text, "{s}");
    }
}
