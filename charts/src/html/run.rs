//! `report.html`'s content: the verdict header, the charts of one run (latency percentiles, throughput, errors,
//! the bot's and the harness's memory and CPU, each over time with the phases and fault windows marked, and the
//! latency distribution), then `report.md`'s tables. Pure: a loaded `Run` and the report's Markdown in, the page
//! out.

use serde_json::{json, Value};

use super::plot::{Axis, Fold, Mark, Plot, Series, Window};
use super::{page, plots_section, tables_section, verdict};
use crate::figure::{decades_for, percentile_curve};
use crate::resources::Sample;
use crate::run::Run;
use crate::series::{ErrorKinds, Row};

/// The whole `report.html`.
pub fn run_page(run: &Run, report_md: &str) -> String {
    let plots = plots(run);
    let (windows, marks) = timeline(run);
    let mut body = verdict::header(run.summary.as_ref(), &run.name, run.commit.as_deref());
    body.push_str(&plots_section(&plots, &windows, &marks));
    body.push_str(&tables_section(report_md));
    let data = json!({
        "plots": plots.iter().map(Plot::json).collect::<Vec<Value>>(),
        "windows": windows.iter().map(|w| json!({"start": w.start, "end": w.end, "label": w.label})).collect::<Vec<_>>(),
        "marks": marks.iter().map(|m| json!({"t": m.t, "kind": m.kind, "label": m.label})).collect::<Vec<_>>(),
    });
    page(&format!("tgload run: {}", run.title), &body, &data)
}

/// The run's charts, in the page's order.
pub fn plots(run: &Run) -> Vec<Plot> {
    let ts = &run.timeseries;
    let time = |id: &str, title: &str, unit: &str, series: Vec<Series>| Plot {
        id: id.to_string(),
        title: title.to_string(),
        unit: unit.to_string(),
        axis: Axis::Time,
        series,
    };
    let per_s =
        |label: &str, value: fn(&Row) -> u64| Series::new(label, ts.column(|row| Some(value(row) as f64)), Fold::Mean);
    vec![
        time(
            "latency",
            "End-to-end latency per second",
            "ms",
            vec![
                Series::new("p50", ts.column(|row| row.p50_ms), Fold::Max),
                Series::new("p95", ts.column(|row| row.p95_ms), Fold::Max),
                Series::new("p99", ts.column(|row| row.p99_ms), Fold::Max),
            ],
        ),
        time(
            "throughput",
            "Throughput",
            "/s",
            vec![per_s("sent", |row| row.sent), per_s("answered", |row| row.answered)],
        ),
        time("errors", "Errors per second", "/s", error_series(run)),
        time("memory", "Memory (RSS)", "MB", resource_series(run, Resource::Memory)),
        time("cpu", "CPU (100 % is one core)", "%", resource_series(run, Resource::Cpu)),
        distribution(run),
    ]
}

/// All errors, then each category that had any.
fn error_series(run: &Run) -> Vec<Series> {
    let ts = &run.timeseries;
    let mut series = vec![Series::new("all errors", ts.column(|row| Some(row.errors as f64)), Fold::Mean)];
    type Kind = (&'static str, fn(&ErrorKinds) -> u64);
    let kinds: [Kind; 6] = [
        ("timeout", |e| e.timeout),
        ("bot API error", |e| e.bot_api_error),
        ("bot crashed", |e| e.bot_crashed),
        ("sent late", |e| e.sent_late),
        ("transport", |e| e.transport),
        ("wrong answer", |e| e.wrong_answer),
    ];
    for (label, kind) in kinds {
        let count = |row: &Row| row.errors_by.as_ref().map(kind);
        if ts.rows.iter().any(|row| count(row).unwrap_or(0) > 0) {
            series.push(Series::new(label, ts.column(|row| count(row).map(|n| n as f64)), Fold::Mean));
        }
    }
    series
}

/// What a resource plot shows.
#[derive(Clone, Copy)]
enum Resource {
    Memory,
    Cpu,
}

/// The bot's and the harness's memory or CPU from `resources.csv`; a run without that file has the bot's from
/// `timeseries.csv`, and no harness line.
fn resource_series(run: &Run, resource: Resource) -> Vec<Series> {
    type Pick = (fn(&Sample) -> Option<f64>, fn(&Sample) -> Option<f64>, fn(&Row) -> Option<f64>, Fold);
    let (bot, harness, from_row, fold): Pick = match resource {
        Resource::Memory => (|s| s.bot_rss_mb, |s| s.harness_rss_mb, |r| r.bot_rss_mb, Fold::Max),
        Resource::Cpu => (|s| s.bot_cpu_pct, |s| s.harness_cpu_pct, |r| r.bot_cpu_pct, Fold::Mean),
    };
    if run.resources.samples.is_empty() {
        return vec![Series::new("bot", run.timeseries.column(from_row), fold)];
    }
    vec![
        Series::new("bot", run.resources.column(bot), fold),
        Series::new("harness (tgload and the mock)", run.resources.column(harness), fold),
    ]
}

/// End-to-end and service latency against percentile, x in log10(1/(1-p)).
fn distribution(run: &Run) -> Plot {
    let histograms =
        [("e2e (due → answer)", run.latency.e2e.as_ref()), ("service (sent → answer)", run.latency.service.as_ref())];
    let n_samples = histograms.iter().filter_map(|(_, h)| h.map(|h| h.len())).max().unwrap_or(0);
    let series = histograms
        .iter()
        .filter_map(|(label, h)| Some((label, h.filter(|h| !h.is_empty())?)))
        .map(|(label, h)| {
            let points = percentile_curve(h, decades_for(n_samples)).into_iter().map(|(p, ms)| (tail_x(p), Some(ms)));
            Series::new(label, points.collect(), Fold::Max)
        })
        .collect();
    Plot {
        id: "distribution".into(),
        title: "Latency distribution".into(),
        unit: "ms".into(),
        axis: Axis::Percentile,
        series,
    }
}

/// The distribution's x for percentile `p` (0..100): log10(1/(1-p)), 0 at 0 %, 1 at 90 %, 2 at 99 %.
pub fn tail_x(p: f64) -> f64 {
    let tail = (1.0 - p / 100.0).max(1e-12);
    -tail.log10()
}

/// The shaded windows (from `summary.json`'s fault windows, else `events.jsonl`'s fault starts and ends) and the
/// marked moments (phases, from the events or else the rows; the bot's exits and restarts, breaches, signals).
pub fn timeline(run: &Run) -> (Vec<Window>, Vec<Mark>) {
    let mut windows = summary_windows(run.summary.as_ref());
    let from_events = windows.is_empty();
    let mut open: Vec<(f64, String)> = Vec::new();
    let mut marks = Vec::new();
    for event in run.events.iter().filter(|e| e.t_s >= 0.0) {
        match event.kind.as_str() {
            "fault_start" if from_events => open.push((event.t_s, event.label.replace("fault start: ", ""))),
            "fault_end" if from_events && !open.is_empty() => {
                let (start, label) = open.remove(0);
                windows.push(Window { start, end: event.t_s, label });
            }
            "fault_start" | "fault_end" | "run_end" => {}
            _ => marks.push(Mark { t: event.t_s, kind: event.kind.clone(), label: event.label.clone() }),
        }
    }
    let end = run.timeseries.rows.last().map_or(0.0, |row| row.t_s);
    windows.extend(open.into_iter().map(|(start, label)| Window { start, end: end.max(start), label }));
    if !marks.iter().any(|m| m.kind == "phase") {
        let starts = run.timeseries.phase_starts().into_iter();
        marks.extend(starts.map(|(t, label)| Mark { t, kind: "phase".into(), label }));
    }
    marks.sort_by(|a, b| a.t.total_cmp(&b.t));
    (windows, marks)
}

fn summary_windows(summary: Option<&Value>) -> Vec<Window> {
    let faults = summary.and_then(|s| s.get("faults")).and_then(Value::as_array).cloned().unwrap_or_default();
    faults
        .iter()
        .filter_map(|f| {
            Some(Window {
                start: f.get("start_s")?.as_f64()?,
                end: f.get("end_s")?.as_f64()?,
                label: f.get("name").and_then(Value::as_str).unwrap_or("fault").to_string(),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::Event;
    use crate::series::Timeseries;

    fn row(t_s: f64, phase: &str, p99: Option<f64>) -> String {
        let p = p99.map_or(String::new(), |v| v.to_string());
        format!("{t_s},{phase},1,5,4,1,{p},{p},{p},10.0,20.0,1,0,0,0,0,0\n")
    }

    fn run() -> Run {
        let csv = format!(
            "{}\n{}{}{}",
            crate::series::HEADER,
            row(1.0, "ramp", Some(3.5)),
            row(2.0, "hold", None),
            row(3.0, "hold", Some(7.25))
        );
        Run {
            name: "dir".into(),
            title: "t".into(),
            timeseries: Timeseries::from_csv(&csv).unwrap(),
            events: Event::from_jsonl("{\"t_s\":1.0,\"kind\":\"fault_start\",\"name\":\"stall\"}\n").unwrap(),
            summary: Some(json!({"faults": [{"name": "/ask timeout", "start_s": 1.0, "end_s": 2.0}]})),
            ..Run::default()
        }
    }

    #[test]
    fn the_latency_plot_holds_each_second_of_timeseries_csv() {
        let plots = plots(&run());
        let latency = &plots[0].json();
        assert_eq!(latency["series"][2]["label"], "p99");
        assert_eq!(latency["series"][2]["x"], json!([1.0, 2.0, 3.0]));
        assert_eq!(latency["series"][2]["y"], json!([3.5, null, 7.25]));
        let errors = &plots[2].json();
        let labels: Vec<&str> =
            errors["series"].as_array().unwrap().iter().map(|s| s["label"].as_str().unwrap()).collect();
        assert_eq!(labels, ["all errors", "timeout"], "only the categories that had errors");
        assert_eq!(
            plots.iter().map(|p| p.id.as_str()).collect::<Vec<_>>(),
            ["latency", "throughput", "errors", "memory", "cpu", "distribution"]
        );
    }

    #[test]
    fn fault_windows_come_from_the_summary_and_phases_from_the_rows() {
        let (windows, marks) = timeline(&run());
        assert_eq!(windows, [Window { start: 1.0, end: 2.0, label: "/ask timeout".into() }]);
        let phases: Vec<(f64, &str)> = marks.iter().map(|m| (m.t, m.label.as_str())).collect();
        assert_eq!(phases, [(0.0, "ramp"), (1.0, "hold")]);
    }

    #[test]
    fn without_a_summary_a_fault_start_opens_a_window_to_the_last_row() {
        let run = Run { summary: None, ..run() };
        assert_eq!(timeline(&run).0, [Window { start: 1.0, end: 3.0, label: "stall".into() }]);
    }

    #[test]
    fn the_distribution_axis_is_log_of_the_tail() {
        assert_eq!(tail_x(0.0), 0.0);
        assert!((tail_x(99.0) - 2.0).abs() < 1e-9);
    }
}
