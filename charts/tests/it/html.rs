//! The HTML reports as files: `report.html` for a run and `compare.html` for two, checked on what a browser would
//! get: a page that references nothing outside itself, whose embedded data is the run's series, whose figures are
//! `summary.json`'s, and in which a name holding markup stays text. The page in a real browser is the harness's
//! end-to-end test (`harness/tests/it/report_html.rs`).

use std::fs;

use serde_json::{json, Value};

use crate::fixtures::{self, TempDir};

/// A `resources.csv` for the realistic run: the bot's cells empty at 63 s, as when it was restarting.
fn resources_csv() -> String {
    let mut csv = format!("{}\n", charts::resources::HEADER);
    for t in 1..=120 {
        let bot = if t == 63 {
            ",".to_string()
        } else {
            format!("{:.3},{:.1}", 40.0 + t as f64 * 0.05, 10.0 + (t % 7) as f64)
        };
        csv.push_str(&format!("{}.5,{bot},{:.3},{:.1}\n", t - 1, 30.0 + t as f64 * 0.01, 20.0 + (t % 3) as f64));
    }
    csv
}

const SUMMARY: &str = r#"{"schema_version": 2, "scenario": "load-1k", "status": "completed", "verdict": "fail",
  "duration_s": 120.0, "actions": {"sent": 50000, "answered": 49000, "errors": 1000}, "error_rate": 0.02,
  "errors": {"timeout": 1000}, "throughput_per_s": 408.3,
  "latency_ms": {"p50": 45.2, "p95": 120.75, "p99": 361.123, "p999": 410.0, "max": 512.5, "mean": 50.1},
  "slos": [{"name": "p95 < 100ms", "metric": "p95", "threshold": 100.0, "observed": 120.75, "passed": false}],
  "faults": [{"name": "stall", "start_s": 60.0, "end_s": 65.0, "verdict": "recovered"}]}"#;

const REPORT_MD: &str = "# tgload run: load-1k\n\n**Verdict: FAIL** · status completed\n\n## Latency (ms)\n\n\
| | p50 | p99 |\n|---|---:|---:|\n| end to end | 45.2 | 361 |\n";

/// The JSON the page's script reads.
fn embedded_data(html: &str) -> Value {
    let open = "<script type=\"application/json\" id=\"tgload-data\">";
    let start = html.find(open).expect("the page embeds its data") + open.len();
    let end = start + html[start..].find("</script>").unwrap();
    serde_json::from_str(&html[start..end]).unwrap()
}

fn plot<'a>(data: &'a Value, id: &str) -> &'a Value {
    data["plots"].as_array().unwrap().iter().find(|p| p["id"] == id).unwrap_or_else(|| panic!("no plot {id}"))
}

/// Nothing in the page names a resource to load: no tag with a `src` or an outside `href`, no stylesheet link,
/// no `url(...)` or import in the style, and the policy that forbids any request is there.
fn check_self_contained(html: &str) {
    assert!(html.starts_with("<!DOCTYPE html>"));
    let csp = format!("<meta http-equiv=\"Content-Security-Policy\" content=\"{}\">", charts::html::CSP);
    assert!(html.contains(&csp), "the page has its Content-Security-Policy");
    for tag in tags(html) {
        for reference in [" src=", "srcset=", "href=\"http", "href=\"//", "xlink:href", "action="] {
            assert!(!tag.contains(reference), "a tag references something outside the page: {tag}");
        }
        assert!(!tag.starts_with("<link") && !tag.starts_with("<iframe") && !tag.starts_with("<object"), "{tag}");
    }
    for reference in ["url(", "@import"] {
        assert!(!html.contains(reference), "the page references something outside itself: {reference}");
    }
}

/// The page's tags (`<name ...>`), outside the script and style elements' bodies.
fn tags(html: &str) -> Vec<&str> {
    let mut tags = Vec::new();
    let mut rest = html;
    while let Some(at) = rest.find('<') {
        rest = &rest[at..];
        let end = rest.find('>').map_or(rest.len(), |e| e + 1);
        let tag = &rest[..end];
        rest = &rest[end..];
        if tag.chars().nth(1).is_some_and(|c| c.is_ascii_alphabetic()) {
            tags.push(tag);
            for element in ["script", "style"] {
                if tag.starts_with(&format!("<{element}")) {
                    let close = format!("</{element}>");
                    rest = rest.find(&close).map_or("", |e| &rest[e..]);
                }
            }
        }
    }
    tags
}

fn load(dir: &TempDir) -> charts::Run {
    charts::Run::load(dir.path()).unwrap()
}

#[test]
fn report_html_embeds_the_runs_series_and_its_summary() {
    let dir = fixtures::realistic_run("html", 1.0, Some("feedface"));
    dir.write("resources.csv", resources_csv());
    dir.write("summary.json", SUMMARY);
    let run = load(&dir);
    let path = charts::write_run_page(&run, dir.path(), REPORT_MD).unwrap();
    assert_eq!(path, dir.path().join("report.html"));
    let html = fs::read_to_string(&path).unwrap();
    check_self_contained(&html);
    let data = embedded_data(&html);

    let latency = plot(&data, "latency");
    let p99: Vec<Option<f64>> = run.timeseries.rows.iter().map(|r| r.p99_ms).collect();
    let t: Vec<f64> = run.timeseries.rows.iter().map(|r| r.t_s).collect();
    assert_eq!(latency["series"][2]["label"], "p99");
    assert_eq!(latency["series"][2]["y"], json!(p99));
    assert_eq!(latency["series"][2]["x"], json!(t));
    let memory = plot(&data, "memory");
    let harness_rss: Vec<Option<f64>> = run.resources.samples.iter().map(|s| s.harness_rss_mb).collect();
    assert_eq!(memory["series"][1]["y"], json!(harness_rss));
    assert_eq!(memory["series"][0]["y"][62], Value::Null, "the bot's missing sample is a gap");
    assert_eq!(plot(&data, "distribution")["axis"], "percentile");
    assert_eq!(data["windows"], json!([{"start": 60.0, "end": 65.0, "label": "stall"}]));

    assert!(html.contains("<span class=\"badge fail\" id=\"verdict-badge\">FAIL</span>"));
    assert!(html.contains("<li>objective p95 &lt; 100ms failed: observed 120.8 ms</li>"), "the reason for the verdict");
    assert!(html.contains("<dd id=\"figure-p99\" data-value=\"361.123\">361.1 ms</dd>"));
    assert!(html.contains("<td class=\"right\">361</td>"), "report.md's table is an HTML table");
    assert!(!html.contains("**Verdict"), "the report's title and verdict line are the page's header");
    assert_eq!(html.matches("<figure class=\"plot\"").count(), 6);
    // Six line paths at least: three percentiles, two rates, two resources... each drawn in data coordinates.
    assert!(html.matches("<path class=\"line").count() >= 6);
}

#[test]
fn markup_in_names_stays_text() {
    let dir = fixtures::small_run("html-hostile");
    let hostile = r#"</script><img src=x onerror=alert(1)><!--"#;
    dir.write("summary.json", json!({"scenario": hostile, "verdict": "pass", "status": "completed"}).to_string());
    dir.write("events.jsonl", format!("{}\n", json!({"t_s": 1.0, "kind": "phase", "phase": "<b>hold</b>"})));
    let report = format!("# tgload run: {hostile}\n\n## Notes\n\n- `{hostile}` and **{hostile}**\n");
    let html = charts::html::run_page(&load(&dir), &report);
    check_self_contained(&html);
    assert!(!html.contains("<img") && !html.contains("<b>hold"), "markup from a name reached the page");
    assert_eq!(html.matches("<script").count(), 3, "the guard, the data and the script, no other");
    assert_eq!(html.matches("</script>").count(), 3);
    assert_eq!(embedded_data(&html)["marks"][0]["label"], "<b>hold</b>", "the data still holds the name");
}

#[test]
fn a_long_run_is_thinned_to_a_bounded_page() {
    let dir = TempDir::new("html-long");
    let mut csv = format!("{}\n", charts::series::HEADER);
    for t in 1..=20_000 {
        let p = 10.0 + (t % 100) as f64;
        csv.push_str(&format!("{t},hold,10,5,5,0,{p},{p},{p},50.0,10.0,0,0,0,0,0,0\n"));
    }
    dir.write("timeseries.csv", csv);
    let html = charts::html::run_page(&load(&dir), "");
    let data = embedded_data(&html);
    let series = &plot(&data, "latency")["series"][0];
    let n = series["y"].as_array().unwrap().len();
    assert!(n <= charts::html::plot::MAX_POINTS && n > charts::html::plot::MAX_POINTS / 2, "{n} points");
    assert_eq!(
        series["y"].as_array().unwrap().iter().filter_map(Value::as_f64).fold(0.0, f64::max),
        109.0,
        "peaks kept"
    );
    assert!(html.len() < 1_000_000, "{} bytes", html.len());
}

#[test]
fn compare_html_overlays_both_sides_and_draws_the_intervals() {
    let base = fixtures::realistic_run("html-base", 1.0, Some("aaaaaaa1"));
    let candidate = fixtures::realistic_run("html-candidate", 1.3, Some("bbbbbbb2"));
    let comparison = json!({
        "verdict": "worse", "threshold": 0.1, "gate": ["latency_ms.p95"], "gating": true,
        "base": {"runs": 1}, "candidate": {"runs": 1}, "mismatches": [], "warnings": [],
        "rows": [{"label": "latency p95", "unit": "ms", "gated": true, "base": 50.0, "candidate": 65.0, "delta": 15.0,
                  "delta_ci": [12.0, 18.0], "relative": 0.3, "relative_ci": [0.24, 0.36], "verdict": "worse"}]
    });
    let out = TempDir::new("html-compare");
    let path =
        charts::write_compare_page(&load(&base), &load(&candidate), &comparison, "# c\n\n## Rows\n\n- x\n", out.path())
            .unwrap();
    let html = fs::read_to_string(path).unwrap();
    check_self_contained(&html);
    let data = embedded_data(&html);
    let labels: Vec<&str> =
        plot(&data, "latency-p95")["series"].as_array().unwrap().iter().map(|s| s["label"].as_str().unwrap()).collect();
    assert_eq!(labels, ["base (aaaaaaa)", "candidate (bbbbbbb)"]);
    assert_eq!(plot(&data, "distribution")["series"].as_array().unwrap().len(), 2);
    assert!(html.contains("<span class=\"badge worse\" id=\"verdict-badge\">WORSE</span>"));
    assert!(html.contains("+15.0 ms (95 % CI +12.0 to +18.0), +30.0 %"));
    assert_eq!(html.matches("<g class=\"interval worse\">").count(), 1);
}
