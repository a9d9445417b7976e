//! The series each figure plots, checked against the fixtures' numbers: this is what the charts show, before any
//! pixel is drawn.

use charts::figure::{self, Curve, Figure, Line, Marker, TimeFigure};
use charts::Run;

use crate::fixtures::{self, TempDir};

fn load(dir: &TempDir) -> Run {
    Run::load(dir.path()).unwrap()
}

fn time(figures: &[(&str, Figure)], stem: &str) -> TimeFigure {
    match figures.iter().find(|(s, _)| *s == stem) {
        Some((_, Figure::Time(time))) => time.clone(),
        _ => panic!("no time figure `{stem}`"),
    }
}

fn curves(figures: &[(&str, Figure)]) -> (u32, Vec<Curve>) {
    match figures.iter().find(|(s, _)| *s == "distribution") {
        Some((_, Figure::Distribution(d))) => (d.decades, d.curves.clone()),
        _ => panic!("no distribution figure"),
    }
}

/// Compares one panel's lines, by label and by value at each second of the small run (t_s 1 to 4).
fn check(figure: &TimeFigure, panel: usize, expected: &[(&str, [Option<f64>; 4])]) {
    let expected: Vec<Line> = expected
        .iter()
        .map(|(label, values)| Line { label: label.to_string(), points: (1..=4).map(f64::from).zip(*values).collect() })
        .collect();
    assert_eq!(figure.panels[panel].lines, expected);
}

#[test]
fn run_figures_are_named() {
    let dir = fixtures::small_run("figures");
    let figures = figure::for_run(&load(&dir));
    let stems: Vec<&str> = figures.iter().map(|(stem, _)| *stem).collect();
    assert_eq!(stems, ["latency", "throughput", "errors", "resources", "distribution"]);
}

#[test]
fn latency_and_throughput_series() {
    let dir = fixtures::small_run("figures-latency");
    let figures = figure::for_run(&load(&dir));
    let latency = time(&figures, "latency");
    assert_eq!(latency.title, "End-to-end latency per second \u{2014} smoke \u{b7} completed \u{b7} verdict pass");
    check(
        &latency,
        0,
        &[
            ("p50", [Some(12.0), Some(13.0), None, Some(11.0)]),
            ("p95", [Some(20.5), Some(22.0), None, Some(19.0)]),
            ("p99", [Some(30.0), Some(35.0), None, Some(25.0)]),
        ],
    );
    let throughput = time(&figures, "throughput");
    check(
        &throughput,
        0,
        &[
            ("sent", [Some(5.0), Some(10.0), Some(10.0), Some(10.0)]),
            ("answered", [Some(4.0), Some(10.0), Some(0.0), Some(9.0)]),
        ],
    );
    check(&throughput, 1, &[("active users", [Some(10.0), Some(20.0), Some(20.0), Some(20.0)])]);
}

#[test]
fn error_and_resource_series() {
    let dir = fixtures::small_run("figures-resources");
    let figures = figure::for_run(&load(&dir));
    check(&time(&figures, "errors"), 0, &[("errors", [Some(0.0), Some(1.0), Some(2.0), Some(0.0)])]);
    let resources = time(&figures, "resources");
    check(&resources, 0, &[("bot RSS", [Some(50.125), Some(51.0), Some(52.0), None])]);
    check(&resources, 1, &[("bot CPU", [Some(12.5), Some(20.0), None, Some(30.0)])]);
}

#[test]
fn markers_come_from_events_and_phases() {
    let labels =
        |markers: &[Marker]| -> Vec<(f64, String)> { markers.iter().map(|m| (m.t_s, m.label.clone())).collect() };
    // The small run's events.jsonl has no phase events, so phases come from timeseries.csv.
    let dir = fixtures::small_run("markers");
    let figures = figure::for_run(&load(&dir));
    let expected =
        [(0.0, "bot started"), (0.0, "ramp"), (2.0, "hold"), (2.5, "fault: stall"), (3.0, "slo breach: p95 < 200ms")];
    let expected: Vec<(f64, String)> = expected.iter().map(|(t, l)| (*t, l.to_string())).collect();
    assert_eq!(labels(&time(&figures, "latency").markers), expected);
    // With phase events in the log, the log alone decides.
    let dir = fixtures::realistic_run("markers-logged", 1.0, None);
    let figures = figure::for_run(&load(&dir));
    let markers = time(&figures, "resources").markers;
    assert_eq!(markers.len(), 6);
    assert_eq!(markers[5].label, "ramp-down");
}

#[test]
fn distribution_plots_merged_percentiles() {
    let dir = fixtures::small_run("distribution");
    let (decades, curves) = curves(&figure::for_run(&load(&dir)));
    assert_eq!(decades, 4);
    let labels: Vec<&str> = curves.iter().map(|c| c.label.as_str()).collect();
    assert_eq!(labels, ["e2e (due \u{2192} answer)", "service (send \u{2192} answer)"]);
    // e2e latencies are 1..=1000 ms, so the p-th percentile is the (10p)-th value, 10p ms rounded up; HdrHistogram
    // keeps 3 digits, and a quantile like 0.9 times 1000 may land a hair above 900 and round up one more sample.
    let e2e = &curves[0].points;
    assert_eq!(e2e.len(), 81);
    assert_eq!(e2e.last().map(|(p, _)| (p * 100.0).round() / 100.0), Some(99.99));
    for &(percentile, ms) in e2e {
        let exact = (percentile * 10.0).ceil().max(1.0);
        assert!((ms - exact).abs() <= 1.0 + exact * 0.002, "p{percentile}: {ms} ms, expected {exact}");
    }
    assert!(e2e.windows(2).all(|w| w[0].0 < w[1].0 && w[0].1 <= w[1].1));
    assert!(curves[1].points.iter().all(|(_, ms)| (ms - 5.0).abs() < 0.01));
}

#[test]
fn distribution_width_follows_the_sample_count() {
    let cases = [(0, 4), (50, 4), (99_999, 4), (100_000, 5), (3_000_000, 6), (u64::MAX, 6)];
    for (n_samples, decades) in cases {
        assert_eq!(figure::decades_for(n_samples), decades, "{n_samples} samples");
    }
}

#[test]
fn comparison_overlays_both_runs() {
    let base = fixtures::small_run("compare-base");
    let candidate = fixtures::realistic_run("compare-candidate", 1.5, None);
    let (base, candidate) = (load(&base), load(&candidate));
    let figures = figure::for_comparison(&base, &candidate);
    let stems: Vec<&str> = figures.iter().map(|(stem, _)| *stem).collect();
    assert_eq!(stems, ["distribution", "latency-p95", "rss"]);
    let candidate_label = format!("candidate ({})", candidate.name);
    let p95 = time(&figures, "latency-p95");
    let labels: Vec<&str> = p95.panels[0].lines.iter().map(|l| l.label.as_str()).collect();
    assert_eq!(labels, ["base (0123456)", candidate_label.as_str()]);
    assert_eq!(p95.panels[0].lines[0].points, base.timeseries.column(|row| row.p95_ms));
    assert_eq!(p95.panels[0].lines[1].points.len(), 120);
    let rss = time(&figures, "rss");
    assert_eq!(rss.panels[0].lines[1].points[62], (63.0, None));
    let (_, curves) = curves(&figures);
    assert_eq!(curves.len(), 2);
    assert_eq!(curves[1].label, candidate_label);
}
