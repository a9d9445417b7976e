//! `tgload compare` on synthetic repeats and run directories: the exit codes (0, 99, 98, 1, 2), the files it
//! writes, and its errors. No bot runs, so these need no `TGLOAD_E2E`; `ab.rs` compares real runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{json, Value};

use super::*;

/// A schema-1 summary of a completed `smoke` run, with every field `tgload run` writes.
fn summary_json() -> Value {
    let latency = json!({"p50": 20.0, "p95": 100.0, "p99": 150.0, "p999": 200.0, "max": 300.0, "mean": 30.0});
    json!({
        "schema_version": 1, "scenario": "smoke", "status": "completed", "duration_s": 60.0,
        "actions": {"sent": 60000, "answered": 59940, "errors": 60},
        "error_rate": 0.001,
        "errors": {"timeout": 60, "bot_api_error": 0, "bot_crashed": 0, "sent_late": 0, "transport": 0},
        "throughput_per_s": 999.0,
        "latency_ms": latency, "service_ms": latency,
        "by_action": [{"action": "text", "sent": 50000, "answered": 50000, "errors": 0, "latency_ms": latency},
                      {"action": "/ask", "sent": 10000, "answered": 9940, "errors": 60, "latency_ms": latency}],
        "generator": {"late_p99_ms": 0.5, "late_max_ms": 2.0, "cpu_pct": 60.0, "rss_mb": 40.0},
        "bot": {"rss_start_mb": 40.0, "rss_peak_mb": 52.0, "rss_end_mb": 50.0, "rss_drift_mb_per_h": null,
                "cpu_mean_pct": 45.0, "cpu_peak_pct": 90.0, "exits": 0, "restarts": 0},
        "external_api": {"quote": {"ok": 10, "errors": 0, "timeouts": 0}, "ask": {"ok": 10, "errors": 0, "timeouts": 0}},
        "slos": [{"name": "p95 < 200ms", "metric": "p95", "threshold": 200.0, "observed": 100.0, "passed": true}],
        "verdict": "pass"
    })
}

fn meta_json(scenario_sha256: &str) -> Value {
    json!({
        "commit": "0123456789abcdef0123456789abcdef01234567", "tgload_version": "0.1.0",
        "scenario_path": "scenarios/smoke.toml", "scenario_sha256": scenario_sha256,
        "scenario": {"name": "smoke", "steps": [{"label": "hold", "users": 10, "ramp": 0.0, "hold": 60.0}]},
        "command_line": ["tgload", "run", "scenarios/smoke.toml"]
    })
}

/// Writes a run directory `<root>/<name>` with `summary` (as JSON text), `meta` and five seconds of
/// `timeseries.csv`.
fn write_run(root: &Path, name: &str, summary: &str, meta: Option<&Value>) -> PathBuf {
    let dir = root.join(name);
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("summary.json"), summary).unwrap();
    if let Some(meta) = meta {
        std::fs::write(dir.join("meta.json"), meta.to_string()).unwrap();
    }
    let mut csv = String::from(charts::series::HEADER);
    for t in 1..=5 {
        csv.push_str(&format!("\n{t},hold,10,1000,999,1,20.000,100.000,150.000,{}.000,45.000,1,0,0,0,0,0", 40 + t));
    }
    std::fs::write(dir.join("timeseries.csv"), csv + "\n").unwrap();
    dir
}

/// A repeats directory `<root>/<name>` of `n` identical runs `r1/` ... `rN/`.
fn write_repeats(root: &Path, name: &str, summary: &str, meta: Option<&Value>, n: usize) -> PathBuf {
    let dir = root.join(name);
    for k in 1..=n {
        write_run(&dir, &format!("r{k}"), summary, meta);
    }
    dir
}

/// A base side and a candidate side of three identical repeats each, the candidate's summary changed by `edit`,
/// in a fresh directory.
pub(super) fn two_runs(test: &str, edit: impl FnOnce(&mut Value)) -> (PathBuf, PathBuf) {
    let root = out_dir(test);
    let meta = meta_json("aaaa");
    let base = write_repeats(&root, "base", &summary_json().to_string(), Some(&meta), 3);
    let mut summary = summary_json();
    edit(&mut summary);
    let candidate = write_repeats(&root, "candidate", &summary.to_string(), Some(&meta), 3);
    (base, candidate)
}

/// Runs `tgload compare <base> <candidate> <extra...>`.
pub(super) fn compare(base: &Path, candidate: &Path, extra: &[&str]) -> Output {
    Command::new(tgload_bin()).arg("compare").arg(base).arg(candidate).args(extra).output().expect("tgload runs")
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn equal_runs_exit_0_and_the_comparison_is_written_beside_the_candidate() {
    let (base, candidate) = two_runs("compare-equal", |_| {});
    let output = compare(&base, &candidate, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("**Verdict: SAME**") && stdout.contains("| ● | latency p95 | 100.0 ms | 100.0 ms |"),
        "{stdout}"
    );

    let out = candidate.join("compare-base");
    assert_eq!(std::fs::read_to_string(out.join("compare.md")).unwrap().trim_end(), stdout.trim_end());
    let json = read_json(&out.join("compare.json"));
    assert_eq!((json["schema_version"].as_u64(), json["verdict"].as_str()), (Some(2), Some("same")));
    assert_eq!((json["base"]["runs"].as_u64(), json["gating"].as_bool()), (Some(3), Some(true)));
    assert_eq!((json["threshold"].as_f64(), json["same_scenario"].as_bool()), (Some(0.1), Some(true)));
    assert_eq!(json["base"]["dir"].as_str(), base.to_str());
    assert_eq!(json["candidate"]["commit"], "0123456789abcdef0123456789abcdef01234567");
    assert_eq!(json["rows"].as_array().map(Vec::len), Some(12), "10 metrics and 2 actions: {json}");
    let drift = json["rows"].as_array().unwrap().iter().find(|r| r["metric"] == "bot.rss_drift_mb_per_h").unwrap();
    assert_eq!((drift["base"].clone(), drift["verdict"].as_str()), (Value::Null, Some("n/a")));
    assert_eq!(json["charts_error"], Value::Null);
    let page = std::fs::read_to_string(out.join("compare.html")).unwrap();
    assert!(page.contains("id=\"verdict-badge\">SAME</span>"), "compare.html shows the verdict");
    for chart in ["distribution", "latency-p95", "rss", "shift"] {
        assert!(json["charts"].as_array().unwrap().iter().any(|c| c == &format!("{chart}.png")), "{json}");
        let png = std::fs::read(out.join(format!("{chart}.png"))).unwrap();
        assert!(png.len() > 1000 && png.starts_with(b"\x89PNG\r\n\x1a\n"), "{chart}.png is not a PNG");
        let svg = std::fs::read_to_string(out.join(format!("{chart}.svg"))).unwrap();
        assert!(svg.contains("<svg") && svg.trim_end().ends_with("</svg>"), "{chart}.svg");
    }
}

#[test]
fn a_worse_metric_exits_99_unless_within_the_threshold() {
    let (base, candidate) = two_runs("compare-worse", |s| s["latency_ms"]["p95"] = json!(130.0));
    let output = compare(&base, &candidate, &[]);
    assert_eq!(output.status.code(), Some(99), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        stdout.contains("| ● | latency p95 | 100.0 ms | 130.0 ms | +30.0% | +30.0% to +30.0% | **worse** |"),
        "{stdout}"
    );
    assert_eq!(read_json(&candidate.join("compare-base/compare.json"))["verdict"], "worse");

    let out = base.with_file_name("elsewhere");
    let output = compare(&base, &candidate, &["--threshold", "50%", "--out", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let json = read_json(&out.join("compare.json"));
    assert_eq!((json["verdict"].as_str(), json["threshold"].as_f64()), (Some("same"), Some(0.5)));
}

#[test]
fn sides_of_different_scenarios_do_not_gate_unless_allowed() {
    let root = out_dir("compare-scenarios");
    let base = write_repeats(&root, "base", &summary_json().to_string(), Some(&meta_json("aaaa")), 3);
    let candidate = write_repeats(&root, "candidate", &summary_json().to_string(), Some(&meta_json("bbbb")), 3);
    let output = compare(&base, &candidate, &[]);
    assert_eq!(output.status.code(), Some(98), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("> **Warning: these sides are not like for like.** Not gated"), "{stdout}");
    assert!(stdout.contains("> - different scenario files: sha256 aaaa in base, bbbb in candidate"), "{stdout}");
    let json = read_json(&candidate.join("compare-base/compare.json"));
    assert_eq!((json["same_scenario"].as_bool(), json["gating"].as_bool()), (Some(false), Some(false)));

    let output = compare(&base, &candidate, &["--allow-mismatch"]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
}

#[test]
fn single_runs_are_inconclusive_and_exit_98() {
    let root = out_dir("compare-single");
    let meta = meta_json("aaaa");
    let base = write_run(&root, "base", &summary_json().to_string(), Some(&meta));
    let mut worse = summary_json();
    worse["latency_ms"]["p95"] = json!(300.0);
    let candidate = write_run(&root, "candidate", &worse.to_string(), Some(&meta));
    let output = compare(&base, &candidate, &[]);
    assert_eq!(output.status.code(), Some(98), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("1 vs 1 runs: with one run a side"), "{stdout}");
    assert!(
        stdout.contains("| +200.0% | +200.0% to +200.0% | inconclusive (~2 runs a side would decide) |"),
        "{stdout}"
    );
}

#[test]
fn gated_metrics_come_from_the_flag_or_the_scenario() {
    let (base, candidate) = two_runs("compare-gate", |s| s["throughput_per_s"] = json!(500.0));
    let output = compare(&base, &candidate, &[]);
    assert_eq!(output.status.code(), Some(0), "throughput is not gated by default: {}", text(&output));
    let output = compare(&base, &candidate, &["--gate", "latency_ms.p95,throughput_per_s"]);
    assert_eq!(output.status.code(), Some(99), "{}", text(&output));
    // The candidate's scenario, as its meta.json records it, gates throughput.
    let mut meta = meta_json("aaaa");
    meta["scenario"]["compare"] = json!({"threshold": 0.6, "gate": ["throughput_per_s"]});
    for k in 1..=3 {
        std::fs::write(candidate.join(format!("r{k}/meta.json")), meta.to_string()).unwrap();
    }
    let output = compare(&base, &candidate, &[]);
    assert_eq!(output.status.code(), Some(0), "-50% is within the scenario's 60%: {}", text(&output));
    let output = compare(&base, &candidate, &["--threshold", "10%"]);
    assert_eq!(output.status.code(), Some(99), "{}", text(&output));
    let output = compare(&base, &candidate, &["--gate", "p95"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("--gate: `p95` is not a compared metric"),
        "{}",
        text(&output)
    );
}

#[test]
fn a_chart_that_cannot_be_drawn_is_noted_not_fatal() {
    let (base, candidate) = two_runs("compare-charts", |_| {});
    std::fs::write(candidate.join("r1/timeseries.csv"), format!("{}\nnot,a,row\n", charts::series::HEADER)).unwrap();
    let output = compare(&base, &candidate, &[]);
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let md = std::fs::read_to_string(candidate.join("compare-base/compare.md")).unwrap();
    assert!(md.contains("The charts could not be rendered: malformed ") && md.contains("timeseries.csv"), "{md}");
    let json = read_json(&candidate.join("compare-base/compare.json"));
    assert!(json["charts_error"].as_str().is_some_and(|e| e.contains("timeseries.csv at line 2")), "{json}");
}

#[test]
fn a_missing_summary_is_bad_input_naming_the_file() {
    let (base, candidate) = two_runs("compare-missing", |_| {});
    std::fs::remove_file(base.join("r1/summary.json")).unwrap();
    std::fs::remove_dir_all(base.join("r2")).unwrap();
    std::fs::remove_dir_all(base.join("r3")).unwrap();
    let output = compare(&base, &candidate, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let expected = format!("tgload compare: {}: not found", base.join("summary.json").display());
    assert!(String::from_utf8_lossy(&output.stderr).contains(&expected), "{}", text(&output));
    assert!(!candidate.join("compare-base").exists(), "nothing is written for bad input");

    let output = compare(&base.with_file_name("no-such-run"), &candidate, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("no-such-run: not a run directory"), "{}", text(&output));
}

#[test]
fn another_schema_version_or_malformed_json_is_bad_input() {
    let (base, candidate) = two_runs("compare-schema", |s| s["schema_version"] = json!(3));
    let output = compare(&base, &candidate, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let expected = format!(
        "{}: schema_version 3, but this tgload reads schema_version 1 to 2",
        candidate.join("r1/summary.json").display()
    );
    assert!(String::from_utf8_lossy(&output.stderr).contains(&expected), "{}", text(&output));

    std::fs::write(candidate.join("r1/summary.json"), "{\n  \"schema_version\": 1,\n  oops\n}\n").unwrap();
    let output = compare(&base, &candidate, &[]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    let expected = format!("{}:3:3: key must be a string", candidate.join("r1/summary.json").display());
    assert!(String::from_utf8_lossy(&output.stderr).contains(&expected), "{}", text(&output));
}

#[test]
fn bad_usage_exits_2_and_help_documents_the_exit_codes() {
    let (base, candidate) = two_runs("compare-usage", |_| {});
    let output = compare(&base, &candidate, &["--threshold", "10"]);
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("`10` is ambiguous"), "{}", text(&output));

    let help = Command::new(tgload_bin()).args(["compare", "--help"]).output().unwrap();
    assert_eq!(help.status.code(), Some(0), "{}", text(&help));
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(help.contains("99  a gated metric is worse") && help.contains("--threshold <PCT>"), "{help}");
    assert!(help.contains("98  a gated metric is inconclusive") && help.contains("--gate <METRICS>"), "{help}");
}

#[test]
fn an_out_dir_that_cannot_be_created_is_an_error() {
    let (base, candidate) = two_runs("compare-unwritable", |_| {});
    // A regular file where a directory should be: no permission tricks, which root would ignore.
    let out = candidate.join("r1/summary.json").join("compare");
    let output = compare(&base, &candidate, &["--out", out.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1), "{}", text(&output));
    assert!(String::from_utf8_lossy(&output.stderr).contains("tgload compare: create "), "{}", text(&output));
}

#[test]
fn history_adds_nights_and_names_the_first_night_of_a_shift() {
    let (base, candidate) = two_runs("history", |s| s["latency_ms"]["p95"] = json!(130.0));
    let file = base.with_file_name("history.csv");
    // Ten nights at the base's figures, then ten at the candidate's (an A/B directory's candidate side is read the
    // same way), with a little noise written into the file afterwards so the t-test has spread to judge.
    for night in 1..=20 {
        let dir = if night <= 10 { &base } else { &candidate };
        let output = Command::new(tgload_bin())
            .args(["history", file.to_str().unwrap(), "--add", dir.to_str().unwrap()])
            .args(["--night", &format!("2026-11-{night:02}"), "--commit", &format!("c{night:02}")])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    }
    let text_of_file = std::fs::read_to_string(&file).unwrap();
    assert!(
        text_of_file.starts_with("night,commit,metric,value\n2026-11-01,c01,latency_ms.p50,20\n"),
        "{text_of_file}"
    );
    let noisy: String = text_of_file
        .lines()
        .enumerate()
        .map(|(i, line)| match line.rsplit_once(',') {
            Some((head, value)) if i > 0 => {
                let jitter = 1.0 + 0.01 * ((i * 7919 % 11) as f64 - 5.0) / 5.0;
                format!("{head},{}\n", value.parse::<f64>().unwrap() * jitter)
            }
            _ => format!("{line}\n"),
        })
        .collect();
    std::fs::write(&file, noisy).unwrap();
    let output = Command::new(tgload_bin()).args(["history", file.to_str().unwrap()]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let p95 = stdout.split("## `latency_ms.p95`").nth(1).unwrap_or_default();
    assert!(p95.contains("| 2026-11-11 | `c11` |") && p95.contains("| worse |"), "{stdout}");
    assert!(stdout.split("## `latency_ms.p50`").nth(1).unwrap_or_default().contains("no change point"), "{stdout}");

    std::fs::write(&file, "night,commit,metric,value\n2026-11-01,c01,latency_ms.p95,fast\n").unwrap();
    let output = Command::new(tgload_bin()).args(["history", file.to_str().unwrap()]).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", text(&output));
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("history.csv:2: value `fast` is not a number"),
        "{}",
        text(&output)
    );
}
