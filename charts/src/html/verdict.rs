//! The top of `report.html`: the run's verdict, the reasons for it, and the figures a reader looks at first, read
//! from `summary.json` as written. Every figure carries its exact `summary.json` number in a `data-value`
//! attribute, so a test can hold the page against the file. Fields missing from an older summary are left out,
//! never guessed.

use std::fmt::Write;

use serde_json::Value;

use super::escape;

/// The header section. `name` names the run when there is no summary (a run whose harness was killed before
/// writing one, before `tgload report` rebuilt it).
pub fn header(summary: Option<&Value>, name: &str, commit: Option<&str>) -> String {
    let empty = Value::Null;
    let s = summary.unwrap_or(&empty);
    let text = |field: &str| s.get(field).and_then(Value::as_str);
    let verdict = text("verdict").unwrap_or("unknown");
    let mut html = String::from("<header id=\"verdict\">\n");
    let _ = writeln!(html, "<h1>tgload run: {}</h1>", escape::text(text("scenario").unwrap_or(name)));
    let _ = write!(
        html,
        "<p class=\"headline\"><span class=\"badge {v}\" id=\"verdict-badge\">{}</span>",
        escape::text(&verdict.to_uppercase()),
        v = escape::text(verdict)
    );
    if let Some(status) = text("status") {
        let _ = write!(html, " status <strong>{}</strong>", escape::text(status));
    }
    if let Some(duration) = s.get("duration_s").and_then(Value::as_f64) {
        let _ = write!(html, " · {duration:.1} s");
    }
    if let Some(commit) = commit {
        let _ = write!(html, " · commit <code>{}</code>", escape::text(commit));
    }
    let _ = write!(html, " · <span class=\"run-name\">{}</span></p>\n<ul class=\"reasons\">\n", escape::text(name));
    let reasons = match summary {
        Some(summary) => reasons(summary),
        None => vec!["no summary.json: the run wrote none yet (tgload report rebuilds it)".to_string()],
    };
    for reason in reasons {
        let _ = writeln!(html, "<li>{}</li>", escape::text(&reason));
    }
    html.push_str("</ul>\n");
    html.push_str(&figures(s));
    html.push_str("</header>\n");
    html
}

/// The key figures as a definition list: actions, errors, throughput, end-to-end latency.
fn figures(s: &Value) -> String {
    let figures: [(&str, &str, &str, &str); 10] = [
        ("sent", "/actions/sent", "sent", ""),
        ("answered", "/actions/answered", "answered", ""),
        ("errors", "/actions/errors", "errors", ""),
        ("error-rate", "/error_rate", "error rate", "%"),
        ("throughput", "/throughput_per_s", "answered per second", "/s"),
        ("p50", "/latency_ms/p50", "e2e p50", "ms"),
        ("p95", "/latency_ms/p95", "e2e p95", "ms"),
        ("p99", "/latency_ms/p99", "e2e p99", "ms"),
        ("p999", "/latency_ms/p999", "e2e p99.9", "ms"),
        ("max", "/latency_ms/max", "e2e max", "ms"),
    ];
    let mut html = String::from("<dl class=\"figures\">\n");
    for (id, pointer, label, unit) in figures {
        let Some(value) = s.pointer(pointer).filter(|v| v.is_number()) else {
            continue;
        };
        let number = value.as_f64().unwrap_or(0.0);
        let shown = match unit {
            "%" => format!("{:.3} %", number * 100.0),
            "" => value.to_string(),
            unit => format!("{} {unit}", short(number)),
        };
        let _ = writeln!(
            html,
            "<div><dt>{label}</dt><dd id=\"figure-{id}\" data-value=\"{value}\">{}</dd></div>",
            escape::text(&shown)
        );
    }
    html.push_str("</dl>\n");
    html
}

/// A figure as a person reads it: 2 decimals under 10, 1 under 1000, none above.
pub fn short(v: f64) -> String {
    match v.abs() {
        a if a < 10.0 => format!("{v:.2}"),
        a if a < 1000.0 => format!("{v:.1}"),
        _ => format!("{v:.0}"),
    }
}

/// Why the verdict is what it is, most decisive first: how the run ended, whether its numbers can be trusted,
/// each objective that failed (or that all held), then the other verdicts that found something.
pub fn reasons(s: &Value) -> Vec<String> {
    let text = |pointer: &str| s.pointer(pointer).and_then(Value::as_str);
    let number = |pointer: &str| s.pointer(pointer).and_then(Value::as_f64);
    let mut reasons = Vec::new();
    match text("/status") {
        Some("completed") | None => {}
        Some(status) => reasons.push(format!("the run did not complete: status {status}")),
    }
    if s.pointer("/rebuilt/killed").and_then(Value::as_bool) == Some(true) {
        reasons.push(format!(
            "rebuilt by tgload report: no end was recorded, and the files end at {:.0} s of the {:.0} s planned",
            number("/rebuilt/last_written_s").unwrap_or(0.0),
            number("/rebuilt/planned_s").unwrap_or(0.0)
        ));
    }
    if text("/generator/verdict") == Some("saturated") {
        let why = strings(s.pointer("/generator/reasons")).join("; ");
        reasons.push(format!("the generator was saturated, so these numbers are partly the harness's: {why}"));
    }
    reasons.extend(objectives(s));
    if let Some(step) = s.get("first_failed_step").filter(|v| v.is_object()) {
        reasons.push(format!(
            "the first step that did not keep up: {} (from {} s): {}",
            step.get("phase").and_then(Value::as_str).unwrap_or("?"),
            step.get("start_s").map_or("?".to_string(), Value::to_string),
            strings(step.get("reasons")).join("; ")
        ));
    }
    for (who, pointer) in [("the bot's", "/bot/leak"), ("the harness's", "/harness/leak")] {
        if s.pointer(&format!("{pointer}/verdict")).and_then(Value::as_str) == Some("leak") {
            let why = s.pointer(&format!("{pointer}/reason")).and_then(Value::as_str).unwrap_or("");
            reasons.push(format!("{who} memory leaks: {why}"));
        }
    }
    reasons.extend(later_verdicts(s));
    reasons
}

/// Each failed objective with what was observed; or, when all held, that they did.
fn objectives(s: &Value) -> Vec<String> {
    let slos = s.get("slos").and_then(Value::as_array).cloned().unwrap_or_default();
    if slos.is_empty() {
        return vec!["no objectives were set".to_string()];
    }
    let name = |slo: &Value| slo.get("name").and_then(Value::as_str).unwrap_or("?").to_string();
    let failed: Vec<String> = slos
        .iter()
        .filter(|slo| slo.get("passed").and_then(Value::as_bool) == Some(false))
        .map(|slo| format!("objective {} failed: observed {}", name(slo), observed(slo)))
        .collect();
    if !failed.is_empty() {
        return failed;
    }
    let names: Vec<String> = slos.iter().map(name).collect();
    vec![format!("every objective held: {}", names.join(", "))]
}

/// An objective's observed value in its metric's unit, as `report.md` writes it.
fn observed(slo: &Value) -> String {
    let metric = slo.get("metric").and_then(Value::as_str).unwrap_or("");
    match slo.get("observed").and_then(Value::as_f64) {
        None => "none".to_string(),
        Some(o) if metric == "error_rate" || metric == "success" => format!("{:.3}%", o * 100.0),
        Some(o) if metric == "throughput" => format!("{o:.1}/s"),
        Some(o) if metric.starts_with("degradation_") => format!("up to {o:+.1} %"),
        Some(o) if metric.ends_with("_leak") => format!("up to {o:.1} MB/h"),
        Some(o) => format!("{} ms", short(o)),
    }
}

/// Fault windows not recovered from, metrics degraded, and the errors by category.
fn later_verdicts(s: &Value) -> Vec<String> {
    let mut reasons = Vec::new();
    for fault in s.get("faults").and_then(Value::as_array).into_iter().flatten() {
        if fault.get("verdict").and_then(Value::as_str) == Some("not_recovered") {
            let name = fault.get("name").and_then(Value::as_str).unwrap_or("?");
            reasons.push(format!("latency did not settle after the fault window {name} before the run ended"));
        }
    }
    for d in s.get("degradation").and_then(Value::as_array).into_iter().flatten() {
        if d.get("verdict").and_then(Value::as_str) == Some("degraded") {
            let metric = d.get("metric").and_then(Value::as_str).unwrap_or("?");
            let change = d.get("change_pct").and_then(Value::as_f64).unwrap_or(0.0);
            reasons.push(format!("{metric} degraded over the run: {change:+.1} % late against early"));
        }
    }
    let errors = s.pointer("/actions/errors").and_then(Value::as_u64).unwrap_or(0);
    if errors > 0 {
        let by: Vec<String> = s
            .get("errors")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .filter_map(|(kind, n)| n.as_u64().filter(|n| *n > 0).map(|n| format!("{} {n}", kind.replace('_', " "))))
            .collect();
        let sent = s.pointer("/actions/sent").and_then(Value::as_u64).unwrap_or(0);
        reasons.push(format!("{errors} of {sent} actions failed: {}", by.join(", ")));
    }
    reasons
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_failed_objective_and_a_saturated_generator_are_reasons_in_order() {
        let summary = json!({
            "status": "completed", "verdict": "inconclusive",
            "generator": {"verdict": "saturated", "reasons": ["send lateness p99 120 ms"]},
            "slos": [{"name": "p95 < 200ms", "metric": "p95", "observed": 250.0, "passed": false},
                     {"name": "error_rate < 1%", "metric": "error_rate", "observed": 0.0, "passed": true}],
            "actions": {"sent": 10, "answered": 9, "errors": 1},
            "errors": {"timeout": 1, "bot_api_error": 0},
        });
        assert_eq!(
            reasons(&summary),
            [
                "the generator was saturated, so these numbers are partly the harness's: send lateness p99 120 ms",
                "objective p95 < 200ms failed: observed 250.0 ms",
                "1 of 10 actions failed: timeout 1",
            ]
        );
    }

    #[test]
    fn the_header_escapes_the_scenario_and_keeps_the_exact_numbers() {
        let summary = json!({"scenario": "<img src=x>", "verdict": "pass", "status": "completed",
                             "latency_ms": {"p99": 12.345678}, "slos": []});
        let html = header(Some(&summary), "dir", None);
        assert!(html.contains("tgload run: &lt;img src=x&gt;") && !html.contains("<img"), "{html}");
        assert!(html.contains("<dd id=\"figure-p99\" data-value=\"12.345678\">12.3 ms</dd>"), "{html}");
        assert!(html.contains("<li>no objectives were set</li>"), "{html}");
    }
}
