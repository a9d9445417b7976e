//! The CI outputs: `--junit FILE` validated against the two JUnit schemas CI tools use (Jenkins' `junit-10.xsd`
//! and the Ant `JUnit.xsd`, in `tests/fixtures/`, checked with xmllint, which `ci/test.sh` installs; without it
//! the schema check is skipped, saying so), with one failing case per failing rule or worse metric;
//! `GITHUB_STEP_SUMMARY` appended to; and the live metrics endpoint scraped during a run. The comparison's
//! tests need no bot; the runs' need `TGLOAD_E2E`.

use std::io::{BufRead, Read, Write};
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use quick_xml::events::Event;
use quick_xml::Reader;

use super::*;

const SCHEMAS: [&str; 2] = ["junit-10.xsd", "JUnit.xsd"];

/// Validates `junit` against both schemas with xmllint; `false` (said on stderr) when xmllint is not installed.
fn validate(junit: &Path) -> bool {
    if Command::new("xmllint").arg("--version").output().is_err() {
        eprintln!("skipped the JUnit schema check: xmllint is not installed (ci/test.sh installs libxml2-utils)");
        return false;
    }
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    for schema in SCHEMAS {
        let output = Command::new("xmllint")
            .arg("--noout")
            .arg("--schema")
            .arg(fixtures.join(schema))
            .arg(junit)
            .output()
            .unwrap();
        assert!(output.status.success(), "{} does not validate against {schema}: {}", junit.display(), text(&output));
    }
    true
}

/// Each test case of the file: its classname, name, and the outcome element in it (`failure`, `skipped`, `error`).
fn cases(junit: &Path) -> Vec<(String, String, Option<String>)> {
    let xml = std::fs::read_to_string(junit).unwrap();
    let mut reader = Reader::from_str(&xml);
    let mut cases = Vec::new();
    let attribute = |e: &quick_xml::events::BytesStart<'_>, name: &str| {
        let value = e.try_get_attribute(name).unwrap().map(|a| a.normalized_value(quick_xml::XmlVersion::Explicit1_0));
        value.map(|v| v.unwrap().into_owned()).unwrap_or_default()
    };
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) | Event::Empty(e) if e.name().as_ref() == b"testcase" => {
                cases.push((attribute(&e, "classname"), attribute(&e, "name"), None));
            }
            Event::Start(e) | Event::Empty(e) if matches!(e.name().as_ref(), b"failure" | b"skipped" | b"error") => {
                let last = cases.last_mut().expect("an outcome inside a test case");
                last.2 = Some(String::from_utf8_lossy(e.name().as_ref()).into_owned());
            }
            Event::Eof => return cases,
            _ => {}
        }
    }
}

/// The names of the cases of `classname` that failed.
fn failed(cases: &[(String, String, Option<String>)], classname: &str) -> Vec<String> {
    let is_failure = |c: &&(String, String, Option<String>)| c.0 == classname && c.2.as_deref() == Some("failure");
    cases.iter().filter(is_failure).map(|c| c.1.clone()).collect()
}

/// A step summary file that an earlier step already wrote to.
fn step_summary(name: &str) -> PathBuf {
    let path = out_dir(name).with_extension("md");
    std::fs::write(&path, "# an earlier step\n").unwrap();
    path
}

#[test]
fn a_comparison_writes_valid_junit_failing_the_worse_metric_and_the_step_summary() {
    let (base, candidate) =
        super::compare::two_runs("ci-compare", |s| s["latency_ms"]["p95"] = serde_json::json!(130.0));
    let junit = candidate.with_file_name("junit.xml");
    let summary = step_summary("ci-compare-summary");
    let output = Command::new(tgload_bin())
        .arg("compare")
        .args([&base, &candidate])
        .arg("--junit")
        .arg(&junit)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(99), "{}", text(&output));
    validate(&junit);
    let cases = cases(&junit);
    assert_eq!(failed(&cases, "tgload.compare.gated"), ["latency p95"], "{cases:?}");
    assert!(failed(&cases, "tgload.compare").is_empty(), "{cases:?}");
    // Every compared metric is a case, besides the like-for-like one.
    assert_eq!(cases.len(), 13, "{cases:?}");
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert!(summary.starts_with("# an earlier step\n\n# tgload compare: base → candidate"), "{summary}");
}

#[test]
fn a_run_that_cannot_start_writes_its_error_as_the_one_case() {
    let out = out_dir("ci-missing");
    let junit = out.with_extension("xml");
    let output = tgload(Path::new("/nonexistent/scenario.toml"), &out, &["--junit", junit.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    validate(&junit);
    assert_eq!(cases(&junit), [("tgload.command".into(), "tgload".into(), Some("error".into()))]);
}

/// `smoke` with two objectives that must fail and two that must hold.
const RULES: &str = r#"rules = ["p95 < 10s", "throughput > 100000", "error_rate < 50%", "p50 > 10s"]"#;

#[test]
fn a_run_writes_valid_junit_with_one_failure_per_failing_rule_and_the_step_summary() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("ci-run");
    let smoke = std::fs::read_to_string(shipped("smoke")).unwrap();
    let rules = smoke.lines().find(|l| l.starts_with("rules = ")).unwrap();
    let path = scenario(&out, &smoke.replace(rules, RULES));
    let (junit, summary) = (out.with_extension("xml"), step_summary("ci-run-summary"));
    let output = Command::new(tgload_bin())
        .arg("run")
        .arg(&path)
        .arg("--out")
        .arg(&out)
        .arg("--junit")
        .arg(&junit)
        .env("GITHUB_STEP_SUMMARY", &summary)
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(99), "two objectives fail: {}", text(&output));
    validate(&junit);
    let cases = cases(&junit);
    assert_eq!(failed(&cases, "tgload.slo"), ["throughput > 100000", "p50 > 10s"], "{cases:?}");
    let holding = |name: &str| cases.iter().any(|c| c.0 == "tgload.slo" && c.1 == name && c.2.is_none());
    assert!(holding("p95 < 10s") && holding("error_rate < 50%"), "{cases:?}");
    assert!(cases.iter().any(|c| c.0 == "tgload.leak" && c.1 == "bot leak"), "{cases:?}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let summary = std::fs::read_to_string(&summary).unwrap();
    assert_eq!(summary, format!("# an earlier step\n\n{}\n", report.trim_end()));
}

/// `GET url` over HTTP/1.1; the body.
fn get(url: &str) -> String {
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_at(rest.find('/').unwrap());
    let mut stream = TcpStream::connect(host).unwrap();
    stream.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    write!(stream, "GET {path} HTTP/1.1\r\nHost: {host}\r\nConnection: close\r\n\r\n").unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 200"), "{response}");
    response.split_once("\r\n\r\n").map(|(_, body)| body.to_string()).unwrap_or_default()
}

/// The value of the sample `name` (with its labels, if any) in an exposition text.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines().find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
}

/// Reads tgload's stderr on a thread (so that it never blocks on a full pipe) and hands back the first two URLs
/// it prints: the live metrics', then the mock's.
fn printed_urls(stderr: std::process::ChildStderr) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in std::io::BufReader::new(stderr).lines().map_while(Result::ok) {
            if let Some(url) = line.split(" at ").nth(1).filter(|_| line.contains("metrics at")) {
                let _ = tx.send(url.trim().to_string());
            }
        }
    });
    rx
}

#[test]
fn the_live_metrics_are_served_during_the_run_and_grow() {
    let Some(_guard) = e2e() else { return };
    let out = out_dir("ci-live");
    let mut child = Command::new(tgload_bin())
        .arg("run")
        .arg(shipped("smoke"))
        .args(["--duration", "12s", "--out"])
        .arg(&out)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let urls = printed_urls(child.stderr.take().unwrap());
    let live = urls.recv_timeout(Duration::from_secs(30)).expect("tgload prints its live metrics address");
    let mock = urls.recv_timeout(Duration::from_secs(30)).expect("tgload prints the mock's metrics address");
    assert!(live.starts_with("http://127.0.0.1:") && live.ends_with("/metrics"), "{live}");
    let sent = |text: &str| sample(text, "tgload_actions_sent_total").unwrap_or(0.0);
    let deadline = Instant::now() + Duration::from_secs(30);
    let first = loop {
        let text = get(&live);
        if sent(&text) > 0.0 {
            break text;
        }
        assert!(Instant::now() < deadline, "no action counted: {text}");
        std::thread::sleep(Duration::from_millis(200));
    };
    std::thread::sleep(Duration::from_millis(2500));
    let second = get(&live);
    assert!(sent(&second) > sent(&first), "the counter grows:\n{first}\n---\n{second}");
    let answered = |text: &str| sample(text, "tgload_actions_answered_total").unwrap_or(0.0);
    assert!(answered(&second) > answered(&first), "{second}");
    assert!(sample(&second, "tgload_users_active").is_some_and(|n| n > 0.0), "{second}");
    assert!(sample(&second, "tgload_bot_rss_bytes").is_some_and(|b| b > 1e6), "{second}");
    assert!(sample(&second, "tgload_latency_seconds{window=\"run\",quantile=\"0.95\"}").is_some(), "{second}");
    assert!(get(&mock).contains("mock_telegram_actions_sent{"), "the mock's own metrics");
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let meta: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("meta.json")).unwrap()).unwrap();
    assert_eq!((meta["metrics"]["harness"].as_str(), meta["metrics"]["mock"].as_str()), (Some(&*live), Some(&*mock)));
}
