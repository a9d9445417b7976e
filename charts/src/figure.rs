//! What each chart plots, as plain data: titles, panels, named series and event markers. Building a figure is a
//! pure function of the parsed run, so tests check the numbers here; `draw` turns a figure into pixels and owns
//! every decision about looks (colours, sizes, fonts).

use hdrhistogram::Histogram;

use crate::events::Event;
use crate::run::Run;
use crate::series::{Row, Timeseries};

/// The distribution's x axis always reaches 99.99% (1/(1-p) = 10^4), and further for runs large enough to
/// measure it, up to 99.9999%.
const MIN_DECADES: u32 = 4;
const MAX_DECADES: u32 = 6;

/// Points per factor of ten of 1/(1-p) on a percentile curve: enough for a smooth line, few enough for a small SVG.
const STEPS_PER_DECADE: u32 = 20;

/// The x axis of a chart over time.
const SECONDS: &str = "seconds since load start";

/// One probe of a capacity search, for its chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CapacityPoint {
    pub offered_per_s: f64,
    pub goodput_per_s: f64,
    pub p99_ms: f64,
}

/// Goodput and p99 against the offered rate, one point per probe in rate order, the knee (the highest
/// sustainable rate) marked.
pub fn for_capacity(title: &str, probes: &[CapacityPoint], knee: Option<f64>) -> Vec<(&'static str, Figure)> {
    let mut probes = probes.to_vec();
    probes.sort_by(|a, b| a.offered_per_s.total_cmp(&b.offered_per_s));
    let at = |value: fn(&CapacityPoint) -> f64| probes.iter().map(|p| (p.offered_per_s, Some(value(p)))).collect();
    let goodput = Panel {
        y_desc: "answered per second".into(),
        lines: vec![
            Line { label: "goodput".into(), points: at(|p| p.goodput_per_s) },
            Line { label: "offered".into(), points: at(|p| p.offered_per_s) },
        ],
    };
    let p99 = Panel { y_desc: "ms".into(), lines: vec![Line { label: "e2e p99".into(), points: at(|p| p.p99_ms) }] };
    let markers = knee
        .map(|rate| Marker { t_s: rate, kind: "capacity".into(), label: format!("max sustainable {rate:.0}/s") })
        .into_iter()
        .collect();
    let figure = TimeFigure {
        title: format!("capacity \u{2014} {title}"),
        x_desc: "offered actions per second".into(),
        panels: vec![goodput, p99],
        markers,
    };
    vec![("capacity", Figure::Time(figure))]
}

/// A chart, ready to draw.
#[derive(Debug, Clone, PartialEq)]
pub enum Figure {
    Time(TimeFigure),
    Distribution(DistributionFigure),
    Shifts(ShiftFigure),
}

/// One compared metric's shift and its 95 % interval, in percent of the base, for the comparison's shift chart.
#[derive(Debug, Clone, PartialEq)]
pub struct Shift {
    pub label: String,
    pub shift_pct: f64,
    pub low_pct: f64,
    pub high_pct: f64,
    /// `worse`, `better`, `same`, `inconclusive`: picks the colour.
    pub verdict: String,
}

/// Each metric's shift as a dot on its interval, one row per metric, with the margin of equivalence (±threshold)
/// and zero marked: a row whose interval clears a margin line is `worse` or `better`, one inside both is `same`.
#[derive(Debug, Clone, PartialEq)]
pub struct ShiftFigure {
    pub title: String,
    pub threshold_pct: f64,
    pub rows: Vec<Shift>,
}

/// The comparison's shift chart, written as `shift`.
pub fn for_shifts(title: &str, threshold_pct: f64, rows: &[Shift]) -> Vec<(&'static str, Figure)> {
    let figure = ShiftFigure { title: title.to_string(), threshold_pct, rows: rows.to_vec() };
    vec![("shift", Figure::Shifts(figure))]
}

/// Values over seconds since the load started, in one or more panels stacked on a shared time axis.
#[derive(Debug, Clone, PartialEq)]
pub struct TimeFigure {
    pub title: String,
    /// What the shared x axis measures: seconds since the load started, or (capacity) the offered rate.
    pub x_desc: String,
    pub panels: Vec<Panel>,
    /// Vertical lines drawn across every panel.
    pub markers: Vec<Marker>,
}

/// One plot area with its own y axis.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub y_desc: String,
    pub lines: Vec<Line>,
}

/// A named series of (t_s, value) points; a `None` value is a gap in the line.
#[derive(Debug, Clone, PartialEq)]
pub struct Line {
    pub label: String,
    pub points: Vec<(f64, Option<f64>)>,
}

/// An event or phase change at `t_s`; `kind` is the events.jsonl kind and picks the colour.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    pub t_s: f64,
    pub kind: String,
    pub label: String,
}

/// Latency against percentile, HdrHistogram style: x is 1/(1-p) on a log scale, `decades` factors of ten wide.
#[derive(Debug, Clone, PartialEq)]
pub struct DistributionFigure {
    pub title: String,
    pub decades: u32,
    pub curves: Vec<Curve>,
}

/// A named percentile curve: (percentile in 0..100, latency in ms) points, percentile ascending.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    pub label: String,
    pub points: Vec<(f64, f64)>,
}

/// The figures of one run, each with the file stem it is written under.
pub fn for_run(run: &Run) -> Vec<(&'static str, Figure)> {
    let ts = &run.timeseries;
    let markers = markers(run);
    let time = |what: &str, panels: Vec<Panel>| {
        Figure::Time(TimeFigure {
            title: format!("{what} \u{2014} {}", run.title),
            x_desc: SECONDS.into(),
            panels,
            markers: markers.clone(),
        })
    };
    let latency = vec![percentiles_panel(ts)];
    let errors = vec![count_panel(ts, "errors per second", "errors", |row| row.errors)];
    vec![
        ("latency", time("End-to-end latency per second", latency)),
        ("throughput", time("Throughput and users", throughput_panels(ts))),
        ("errors", time("Errors per second", errors)),
        ("resources", time("Bot memory and CPU", resource_panels(ts))),
        ("distribution", run_distribution(run)),
    ]
}

fn percentiles_panel(ts: &Timeseries) -> Panel {
    let lines = vec![
        line("p50", ts.column(|row| row.p50_ms)),
        line("p95", ts.column(|row| row.p95_ms)),
        line("p99", ts.column(|row| row.p99_ms)),
    ];
    panel("latency (ms)", lines)
}

fn throughput_panels(ts: &Timeseries) -> Vec<Panel> {
    let count = |value: fn(&Row) -> u64| ts.column(|row| Some(value(row) as f64));
    let actions = vec![line("sent", count(|row| row.sent)), line("answered", count(|row| row.answered))];
    let users = count_panel(ts, "users", "active users", |row| row.active_users);
    vec![panel("actions per second", actions), users]
}

fn resource_panels(ts: &Timeseries) -> Vec<Panel> {
    let rss = line("bot RSS", ts.column(|row| row.bot_rss_mb));
    let cpu = line("bot CPU", ts.column(|row| row.bot_cpu_pct));
    vec![panel("MB", vec![rss]), panel("% of one core", vec![cpu])]
}

fn count_panel(ts: &Timeseries, y_desc: &str, label: &str, value: fn(&Row) -> u64) -> Panel {
    let points = ts.column(|row| Some(value(row) as f64));
    panel(y_desc, vec![line(label, points)])
}

fn run_distribution(run: &Run) -> Figure {
    let mut curves = Vec::new();
    curves.extend(curve("e2e (due \u{2192} answer)", run.latency.e2e.as_ref()));
    curves.extend(curve("service (send \u{2192} answer)", run.latency.service.as_ref()));
    distribution(format!("Latency distribution \u{2014} {}", run.title), curves)
}

/// The figures comparing two runs, each with the file stem it is written under.
pub fn for_comparison(base: &Run, candidate: &Run) -> Vec<(&'static str, Figure)> {
    let labels = [format!("base ({})", base.label()), format!("candidate ({})", candidate.label())];
    let versus = format!("{} vs {}", labels[0], labels[1]);
    let both = |value: fn(&Row) -> Option<f64>| {
        [base, candidate].iter().zip(&labels).map(|(run, label)| line(label, run.timeseries.column(value))).collect()
    };
    let time = |what: &str, y_desc: &str, lines: Vec<Line>| {
        Figure::Time(TimeFigure {
            title: format!("{what} \u{2014} {versus}"),
            x_desc: SECONDS.into(),
            panels: vec![panel(y_desc, lines)],
            markers: Vec::new(),
        })
    };
    let curves = [base, candidate]
        .iter()
        .zip(&labels)
        .filter_map(|(run, label)| curve(label, run.latency.e2e.as_ref()))
        .collect();
    let distribution = distribution(format!("Latency distribution (e2e) \u{2014} {versus}"), curves);
    let p95 = time("p95 latency per second", "latency (ms)", both(|row| row.p95_ms));
    vec![
        ("distribution", distribution),
        ("latency-p95", p95),
        ("rss", time("Bot RSS", "MB", both(|row| row.bot_rss_mb))),
    ]
}

/// The latency at each of `decades * STEPS_PER_DECADE + 1` percentiles spaced evenly in log(1/(1-p)), from 0% to
/// 100 * (1 - 10^-decades)%, as (percentile, ms). The histogram holds microseconds.
pub fn percentile_curve(histogram: &Histogram<u64>, decades: u32) -> Vec<(f64, f64)> {
    (0..=decades * STEPS_PER_DECADE)
        .map(|step| {
            let inverse_tail = 10f64.powf(f64::from(step) / f64::from(STEPS_PER_DECADE));
            let quantile = 1.0 - 1.0 / inverse_tail;
            let micros = histogram.value_at_quantile(quantile);
            (100.0 * quantile, micros as f64 / 1000.0)
        })
        .collect()
}

/// How far right the distribution goes: to the last percentile the run has at least one sample past.
pub fn decades_for(n_samples: u64) -> u32 {
    let measurable = (n_samples.max(1) as f64).log10().floor() as u32;
    measurable.clamp(MIN_DECADES, MAX_DECADES)
}

fn distribution(title: String, curves: Vec<(String, &Histogram<u64>)>) -> Figure {
    let n_samples = curves.iter().map(|(_, h)| h.len()).max().unwrap_or(0);
    let decades = decades_for(n_samples);
    let curves = curves.into_iter().map(|(label, h)| Curve { label, points: percentile_curve(h, decades) }).collect();
    Figure::Distribution(DistributionFigure { title, decades, curves })
}

fn curve<'a>(label: &str, histogram: Option<&'a Histogram<u64>>) -> Option<(String, &'a Histogram<u64>)> {
    histogram.filter(|h| !h.is_empty()).map(|h| (label.to_string(), h))
}

/// Events from events.jsonl; when the log has no phase events, phase changes come from timeseries.csv instead.
fn markers(run: &Run) -> Vec<Marker> {
    let marker = |event: &Event| Marker { t_s: event.t_s, kind: event.kind.clone(), label: event.label.clone() };
    let mut markers: Vec<Marker> = run.events.iter().map(marker).collect();
    if !run.events.iter().any(|event| event.kind == "phase") {
        markers.extend(run.timeseries.phase_starts().into_iter().map(|(t_s, phase)| Marker {
            t_s,
            kind: "phase".to_string(),
            label: phase,
        }));
    }
    markers.sort_by(|a, b| a.t_s.total_cmp(&b.t_s));
    markers
}

fn panel(y_desc: &str, lines: Vec<Line>) -> Panel {
    Panel { y_desc: y_desc.to_string(), lines }
}

fn line(label: &str, points: Vec<(f64, Option<f64>)>) -> Line {
    Line { label: label.to_string(), points }
}
