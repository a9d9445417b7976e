//! One interactive chart of the HTML report, as data and as markup: its series (thinned to a bounded number of
//! points, so a 72-hour run makes a page of the same size as a minute's), the JSON the page's script reads for
//! values on hover and zoom, and the inline SVG that draws it. The lines are drawn in data coordinates inside a
//! nested `<svg>` whose `viewBox` is the visible range, so zooming is the script changing that `viewBox` and
//! redrawing the axes: the geometry is all here, the script only moves the window onto it.

use std::fmt::Write;

use serde_json::{json, Value};

use super::escape;

/// The most points a series keeps; longer ones are folded into buckets of consecutive points.
pub const MAX_POINTS: usize = 2400;

/// The SVG's size in its own units (it scales to the page's width) and the plot area's margins.
pub const WIDTH: f64 = 960.0;
pub const HEIGHT: f64 = 300.0;
pub const LEFT: f64 = 64.0;
pub const RIGHT: f64 = 28.0;
pub const TOP: f64 = 28.0;
pub const BOTTOM: f64 = 36.0;

/// What a plot's x axis measures, which decides its tick labels and which plots zoom together.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Axis {
    /// Seconds since the load started; every time plot of a page zooms together.
    Time,
    /// log10(1/(1-p)): 0 is the median's left, 1 is 90 %, 2 is 99 %, ...
    Percentile,
}

impl Axis {
    fn name(self) -> &'static str {
        match self {
            Axis::Time => "time",
            Axis::Percentile => "percentile",
        }
    }
}

/// How a bucket of consecutive points becomes one, when a series is thinned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fold {
    /// The worst of the bucket: latency and memory, whose peaks are what a reader looks for.
    Max,
    /// The bucket's average: rates and CPU, whose sum over time should stay right.
    Mean,
}

/// A named line: (x, y) points, a `None` y a gap.
#[derive(Debug, Clone, PartialEq)]
pub struct Series {
    pub label: String,
    pub points: Vec<(f64, Option<f64>)>,
}

impl Series {
    /// The series with at most `MAX_POINTS` points, each value rounded to 3 decimals.
    pub fn new(label: &str, points: Vec<(f64, Option<f64>)>, fold: Fold) -> Series {
        Series { label: label.to_string(), points: thin(&points, MAX_POINTS, fold) }
    }
}

/// A span of time shaded on every time plot: a fault window, a restart.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    pub start: f64,
    pub end: f64,
    pub label: String,
}

/// A moment marked by a vertical line: a phase's start (labelled above the plot) or another event.
#[derive(Debug, Clone, PartialEq)]
pub struct Mark {
    pub t: f64,
    pub kind: String,
    pub label: String,
}

/// One chart of a page.
#[derive(Debug, Clone, PartialEq)]
pub struct Plot {
    /// Unique in the page; the element's id is `plot-{id}`.
    pub id: String,
    pub title: String,
    /// The y values' unit, as the axis and the hover text write it: `ms`, `/s`, `MB`, `%`.
    pub unit: String,
    pub axis: Axis,
    pub series: Vec<Series>,
}

/// `points` folded into at most `max` points: each bucket of consecutive points becomes its last x and its
/// values folded (a bucket of gaps stays a gap). Values are rounded to 3 decimals.
pub fn thin(points: &[(f64, Option<f64>)], max: usize, fold: Fold) -> Vec<(f64, Option<f64>)> {
    let size = points.len().div_ceil(max.max(1)).max(1);
    points
        .chunks(size)
        .filter_map(|bucket| {
            let x = bucket.last()?.0;
            let values: Vec<f64> = bucket.iter().filter_map(|(_, y)| *y).collect();
            let y = match (values.is_empty(), fold) {
                (true, _) => None,
                (false, Fold::Max) => Some(values.iter().copied().fold(f64::MIN, f64::max)),
                (false, Fold::Mean) => Some(values.iter().sum::<f64>() / values.len() as f64),
            };
            Some((round(x), y.map(round)))
        })
        .collect()
}

fn round(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

impl Plot {
    /// What the page's script reads: the axis, the unit and each series' x and y arrays.
    pub fn json(&self) -> Value {
        let series: Vec<Value> = self
            .series
            .iter()
            .map(|s| {
                let xs: Vec<f64> = s.points.iter().map(|p| p.0).collect();
                let ys: Vec<Option<f64>> = s.points.iter().map(|p| p.1).collect();
                json!({"label": s.label, "x": xs, "y": ys})
            })
            .collect();
        json!({"id": self.id, "axis": self.axis.name(), "unit": self.unit, "series": series})
    }

    /// The x range of all series (from 0 at the latest, for time), and the y range from 0 to a little above the highest value.
    pub fn ranges(&self) -> ((f64, f64), (f64, f64)) {
        let xs = self.series.iter().flat_map(|s| s.points.iter().map(|p| p.0));
        let (x0, x1) = xs.fold((f64::MAX, f64::MIN), |(lo, hi), x| (lo.min(x), hi.max(x)));
        let (x0, x1) = if x0 > x1 {
            (0.0, 1.0)
        } else if x0 == x1 {
            (x0, x0 + 1.0)
        } else {
            (x0, x1)
        };
        // Time starts at the load's start, where the first phase begins, even though the first row ends at 1 s.
        let x0 = if self.axis == Axis::Time { x0.min(0.0) } else { x0 };
        let y_max = self.series.iter().flat_map(|s| s.points.iter().filter_map(|p| p.1)).fold(0.0, f64::max);
        let y1 = if y_max > 0.0 { y_max * 1.05 } else { 1.0 };
        ((x0, x1), (0.0, y1))
    }

    /// The chart: caption, legend and the SVG with its lines, the time plots' windows and marks, and the empty
    /// groups the script fills with axes.
    pub fn svg(&self, windows: &[Window], marks: &[Mark]) -> String {
        let ((x0, x1), (y0, y1)) = self.ranges();
        let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
        let mut html = String::new();
        let id = escape::text(&self.id);
        let _ = writeln!(html, "<figure class=\"plot\" id=\"plot-{id}\" data-axis=\"{}\">", self.axis.name());
        let _ = writeln!(
            html,
            "<figcaption>{} <span class=\"unit\">({})</span></figcaption>",
            escape::text(&self.title),
            escape::text(&self.unit)
        );
        html.push_str(&self.legend());
        let _ = writeln!(html, "<svg class=\"chart\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" role=\"img\">");
        html.push_str("<g class=\"grid\"></g><g class=\"x-axis\"></g><g class=\"y-axis\"></g>\n");
        let _ = writeln!(
            html,
            "<svg class=\"area\" x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_w}\" height=\"{plot_h}\" \
             viewBox=\"{} {} {} {}\" preserveAspectRatio=\"none\">",
            num(x0),
            num(-y1),
            num(x1 - x0),
            num(y1 - y0)
        );
        if self.axis == Axis::Time {
            html.push_str(&windows_svg(windows));
            html.push_str(&marks_svg(marks));
        }
        for (i, series) in self.series.iter().enumerate() {
            let _ = writeln!(html, "<path class=\"line s{}\" d=\"{}\"/>", i % PALETTE_SIZE, path(&series.points));
        }
        html.push_str("</svg>\n");
        if self.axis == Axis::Time {
            html.push_str(&mark_labels(marks, (x0, x1)));
        }
        let _ = writeln!(
            html,
            "<rect class=\"overlay\" x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_w}\" height=\"{plot_h}\"/>\n\
             <line class=\"cursor\" x1=\"0\" x2=\"0\" y1=\"{TOP}\" y2=\"{}\" visibility=\"hidden\"/>\n\
             <rect class=\"selection\" x=\"0\" y=\"{TOP}\" width=\"0\" height=\"{plot_h}\" visibility=\"hidden\"/>",
            TOP + plot_h
        );
        if self.series.iter().all(|s| s.points.iter().all(|p| p.1.is_none())) {
            let _ =
                writeln!(html, "<text class=\"no-data\" x=\"{}\" y=\"{}\">no data</text>", WIDTH / 2.0, HEIGHT / 2.0);
        }
        html.push_str("</svg>\n<div class=\"tooltip\" hidden></div>\n</figure>\n");
        html
    }

    fn legend(&self) -> String {
        let mut html = String::from("<p class=\"legend\">");
        for (i, series) in self.series.iter().enumerate() {
            let _ = write!(html, "<span class=\"key s{}\">{}</span> ", i % PALETTE_SIZE, escape::text(&series.label));
        }
        html.push_str("</p>\n");
        html
    }
}

/// How many series colours the style sheet defines (`.s0` ... `.s5`).
const PALETTE_SIZE: usize = 6;

/// A line's path in data coordinates, y negated (SVG's y grows downwards); a gap starts a new subpath.
pub fn path(points: &[(f64, Option<f64>)]) -> String {
    let mut d = String::new();
    let mut pen_down = false;
    for (x, y) in points {
        match y {
            Some(y) => {
                let _ = write!(d, "{}{},{}", if pen_down { "L" } else { "M" }, num(*x), num(-y));
                pen_down = true;
            }
            None => pen_down = false,
        }
    }
    d
}

fn windows_svg(windows: &[Window]) -> String {
    let mut svg = String::new();
    for w in windows {
        // Taller than any y range the script zooms to: the nested svg clips it.
        let _ = writeln!(
            svg,
            "<rect class=\"window\" x=\"{}\" y=\"-1e9\" width=\"{}\" height=\"2e9\"><title>{}</title></rect>",
            num(w.start),
            num((w.end - w.start).max(0.0)),
            escape::text(&w.label)
        );
    }
    svg
}

fn marks_svg(marks: &[Mark]) -> String {
    let mut svg = String::new();
    for m in marks {
        let _ = writeln!(
            svg,
            "<line class=\"mark {}\" x1=\"{t}\" x2=\"{t}\" y1=\"-1e9\" y2=\"1e9\"/>",
            mark_class(&m.kind),
            t = num(m.t)
        );
    }
    svg
}

/// The phases' names above the plot, at their start; the script moves them when the range changes.
fn mark_labels(marks: &[Mark], (x0, x1): (f64, f64)) -> String {
    let mut svg = String::new();
    let plot_w = WIDTH - LEFT - RIGHT;
    for m in marks.iter().filter(|m| m.kind == "phase") {
        let x = LEFT + (m.t - x0) / (x1 - x0) * plot_w;
        let _ = writeln!(
            svg,
            "<text class=\"mark-label\" data-t=\"{}\" x=\"{}\" y=\"{}\">{}</text>",
            num(m.t),
            num(x + 3.0),
            TOP - 8.0,
            escape::text(&m.label)
        );
    }
    svg
}

/// A mark's style class from its events.jsonl kind: phases, the bot's life, and everything else.
fn mark_class(kind: &str) -> &'static str {
    match kind {
        "phase" => "phase",
        "bot_exited" | "bot_restarted" | "bot_started" => "bot",
        _ => "event",
    }
}

/// A number in SVG with at most 3 decimals and no trailing zeros.
pub fn num(v: f64) -> String {
    let text = format!("{:.3}", round(v));
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".to_string()
    } else {
        text.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_short_series_is_kept_as_it_is_and_a_long_one_is_folded() {
        let points = vec![(1.0, Some(2.0)), (2.0, None), (3.0, Some(4.0004))];
        assert_eq!(thin(&points, 10, Fold::Max), vec![(1.0, Some(2.0)), (2.0, None), (3.0, Some(4.0))]);
        let long: Vec<(f64, Option<f64>)> = (1..=10).map(|t| (t as f64, Some(t as f64))).collect();
        assert_eq!(
            thin(&long, 4, Fold::Max),
            vec![(3.0, Some(3.0)), (6.0, Some(6.0)), (9.0, Some(9.0)), (10.0, Some(10.0))]
        );
        assert_eq!(
            thin(&long, 4, Fold::Mean),
            vec![(3.0, Some(2.0)), (6.0, Some(5.0)), (9.0, Some(8.0)), (10.0, Some(10.0))]
        );
        assert_eq!(thin(&[(1.0, None), (2.0, None)], 1, Fold::Mean), vec![(2.0, None)]);
    }

    #[test]
    fn a_gap_breaks_the_path_and_y_is_negated() {
        let points = vec![(0.0, Some(1.5)), (1.0, Some(0.0)), (2.0, None), (3.0, Some(2.0)), (4.0, Some(1.0))];
        assert_eq!(path(&points), "M0,-1.5L1,0M3,-2L4,-1");
    }

    #[test]
    fn the_json_holds_each_series_points() {
        let plot = Plot {
            id: "latency".into(),
            title: "t".into(),
            unit: "ms".into(),
            axis: Axis::Time,
            series: vec![Series::new("p99", vec![(1.0, Some(2.5)), (2.0, None)], Fold::Max)],
        };
        let expected = json!({"id": "latency", "axis": "time", "unit": "ms",
                              "series": [{"label": "p99", "x": [1.0, 2.0], "y": [2.5, null]}]});
        assert_eq!(plot.json(), expected);
        assert_eq!(plot.ranges(), ((0.0, 2.0), (0.0, 2.5 * 1.05)));
        let distribution = Plot { axis: Axis::Percentile, ..plot };
        assert_eq!(distribution.ranges().0, (1.0, 2.0));
    }
}
