//! The exposition text of a snapshot, the rates, the served endpoint, and the Grafana dashboard against the names
//! the text has.

use std::collections::BTreeSet;

use expect_test::expect;

use super::*;

/// A snapshot with every figure present, as in the middle of a run.
fn full() -> Snapshot {
    let usage = |mb: u64, cpu_pct: f64| Usage { rss_bytes: mb * 1_000_000, cpu_pct };
    Snapshot {
        elapsed_s: 12.5,
        planned_s: 60.0,
        sent: 1200,
        answered: 1190,
        errors: ErrorCounts { timeout: 7, wrong_answer: 3, ..ErrorCounts::default() },
        sent_per_s: 101.0,
        answered_per_s: 99.5,
        last_ms: Some([4.0, 12.5, 30.0]),
        run_ms: Some([3.5, 11.0, 42.0]),
        active_users: 100,
        started_users: 100,
        bot: Some(usage(52, 45.0)),
        harness: Some(usage(80, 120.0)),
    }
}

/// The metric names a text has samples of (what a `# TYPE` line alone declares does not count).
fn sampled_names(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .map(|l| l.split(['{', ' ']).next().unwrap_or_default().to_string())
        .collect()
}

#[test]
fn a_snapshot_renders_as_prometheus_text() {
    expect![[r#"
        # HELP tgload_elapsed_seconds Seconds since the load started.
        # TYPE tgload_elapsed_seconds gauge
        tgload_elapsed_seconds 12.5
        # HELP tgload_planned_seconds How long the load is planned to last.
        # TYPE tgload_planned_seconds gauge
        tgload_planned_seconds 60
        # HELP tgload_actions_sent_total Actions whose results came in (sent, or expired unsent).
        # TYPE tgload_actions_sent_total counter
        tgload_actions_sent_total 1200
        # HELP tgload_actions_answered_total Actions the bot answered.
        # TYPE tgload_actions_answered_total counter
        tgload_actions_answered_total 1190
        # HELP tgload_actions_sent_per_second Actions per second over the last second.
        # TYPE tgload_actions_sent_per_second gauge
        tgload_actions_sent_per_second 101
        # HELP tgload_actions_answered_per_second Answers per second over the last second.
        # TYPE tgload_actions_answered_per_second gauge
        tgload_actions_answered_per_second 99.5
        # HELP tgload_errors_total Failed actions by category, as summary.json names them.
        # TYPE tgload_errors_total counter
        tgload_errors_total{category="timeout"} 7
        tgload_errors_total{category="bot_api_error"} 0
        tgload_errors_total{category="bot_crashed"} 0
        tgload_errors_total{category="sent_late"} 0
        tgload_errors_total{category="transport"} 0
        tgload_errors_total{category="wrong_answer"} 3
        # HELP tgload_latency_seconds End-to-end latency (due to answer) quantiles: of the last second's answers, and of the whole run.
        # TYPE tgload_latency_seconds gauge
        tgload_latency_seconds{window="second",quantile="0.5"} 0.004
        tgload_latency_seconds{window="second",quantile="0.95"} 0.0125
        tgload_latency_seconds{window="second",quantile="0.99"} 0.03
        tgload_latency_seconds{window="run",quantile="0.5"} 0.0035
        tgload_latency_seconds{window="run",quantile="0.95"} 0.011
        tgload_latency_seconds{window="run",quantile="0.99"} 0.042
        # HELP tgload_users_active Users the plan has active now.
        # TYPE tgload_users_active gauge
        tgload_users_active 100
        # HELP tgload_users_started Users started so far.
        # TYPE tgload_users_started gauge
        tgload_users_started 100
        # HELP tgload_bot_up 1 while the bot process runs and is sampled.
        # TYPE tgload_bot_up gauge
        tgload_bot_up 1
        # HELP tgload_bot_rss_bytes Resident memory of the bot, its child processes included, in bytes.
        # TYPE tgload_bot_rss_bytes gauge
        tgload_bot_rss_bytes 52000000
        # HELP tgload_bot_cpu_cores CPU use of the bot, its child processes included, in cores (1 = one core busy).
        # TYPE tgload_bot_cpu_cores gauge
        tgload_bot_cpu_cores 0.45
        # HELP tgload_harness_rss_bytes Resident memory of the harness (it hosts the mock too), in bytes.
        # TYPE tgload_harness_rss_bytes gauge
        tgload_harness_rss_bytes 80000000
        # HELP tgload_harness_cpu_cores CPU use of the harness (it hosts the mock too), in cores (1 = one core busy).
        # TYPE tgload_harness_cpu_cores gauge
        tgload_harness_cpu_cores 1.2
    "#]]
    .assert_eq(&render(&full()));
}

#[test]
fn what_is_not_known_yet_has_no_sample() {
    let text = render(&Snapshot::default());
    let names = sampled_names(&text);
    assert!(names.contains("tgload_actions_sent_total") && names.contains("tgload_bot_up"), "{text}");
    for absent in ["tgload_latency_seconds", "tgload_bot_rss_bytes", "tgload_harness_cpu_cores"] {
        assert!(!names.contains(absent), "{absent} without a value: {text}");
    }
    assert!(text.contains("tgload_bot_up 0\n"), "{text}");
}

fn check_rates(updates: &[(u64, u64, u64)], expected: (f64, f64)) {
    let mut rates = Rates::default();
    let mut last = (0.0, 0.0);
    for &(t_us, sent, answered) in updates {
        last = rates.update(t_us, sent, answered);
    }
    assert_eq!(last, expected, "{updates:?}");
}

#[test]
fn rates_are_growth_over_the_span_since_the_last_update() {
    check_rates(&[(0, 0, 0)], (0.0, 0.0));
    check_rates(&[(0, 0, 0), (1_000_000, 100, 90)], (100.0, 90.0));
    check_rates(&[(0, 0, 0), (2_000_000, 100, 90)], (50.0, 45.0));
    // A tick 10 ms after the last keeps the last rates; the next one measures from the last real update.
    check_rates(&[(0, 0, 0), (1_000_000, 100, 90), (1_010_000, 101, 91)], (100.0, 90.0));
    check_rates(&[(0, 0, 0), (1_000_000, 100, 90), (1_010_000, 101, 91), (2_000_000, 300, 290)], (200.0, 200.0));
}

#[tokio::test]
async fn the_exporter_serves_the_latest_snapshot() {
    let exporter = Exporter::bind(([127, 0, 0, 1], 0).into()).await.unwrap();
    assert!(exporter.url().starts_with("http://127.0.0.1:") && exporter.url().ends_with("/metrics"));
    let get = || async { reqwest::get(exporter.url()).await.unwrap() };
    let before = get().await.text().await.unwrap();
    assert!(before.contains("tgload_actions_sent_total 0\n"), "{before}");
    exporter.publish(full());
    let response = get().await;
    let content_type = response.headers()["content-type"].to_str().unwrap().to_string();
    assert!(content_type.starts_with("text/plain; version=0.0.4"), "{content_type}");
    let after = response.text().await.unwrap();
    assert!(after.contains("tgload_actions_sent_total 1200\n"), "{after}");
}

#[tokio::test]
async fn an_address_in_use_is_refused_naming_it() {
    let taken = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = taken.local_addr().unwrap();
    let error = Exporter::bind(addr).await.unwrap_err().to_string();
    assert!(error.starts_with(&format!("--metrics-addr {addr}: cannot listen there")), "{error}");
}

/// Every `expr` of the dashboard's panels, however deeply nested.
fn expressions(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v.as_str()) {
                    ("expr", Some(expr)) => out.push(expr.to_string()),
                    _ => expressions(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| expressions(v, out)),
        _ => {}
    }
}

#[test]
fn the_grafana_dashboard_plots_exactly_the_exported_metrics() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../docs/grafana-dashboard.json");
    let dashboard: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut exprs = Vec::new();
    expressions(&dashboard["panels"], &mut exprs);
    let names = regex::Regex::new(r"tgload_[a-z_]+").unwrap();
    let used: BTreeSet<String> =
        exprs.iter().flat_map(|e| names.find_iter(e).map(|m| m.as_str().to_string())).collect();
    let exported = sampled_names(&render(&full()));
    let unknown: Vec<&String> = used.difference(&exported).collect();
    assert!(unknown.is_empty(), "the dashboard plots metrics the exporter does not have: {unknown:?}");
    let unplotted: Vec<&String> = exported.difference(&used).collect();
    assert!(unplotted.is_empty(), "exported but on no panel: {unplotted:?}");
    for label in ["category", "window", "quantile"] {
        assert!(exprs.iter().any(|e| e.contains(label)), "no panel uses the {label} label");
    }
}
