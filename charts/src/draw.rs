//! Draws a `Figure` on any plotters backend: layout, colours, axes, legends, gaps and markers. It decides how a
//! chart looks and nothing about what it shows, which `figure` has already settled.

use std::ops::Range;

use plotters::coord::ranged1d::{DefaultFormatting, KeyPointHint};
use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use crate::figure::{DistributionFigure, Figure, Line, Marker, Panel, ShiftFigure, TimeFigure};

/// Result of a drawing step on backend `DB`.
pub(crate) type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

/// The font every chart uses; `output` registers the embedded font under this name.
pub(crate) const FONT: &str = "sans-serif";

/// Series colours in order: a line's colour is its position in its panel.
const PALETTE: [RGBColor; 5] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(214, 39, 40),
    RGBColor(44, 160, 44),
    RGBColor(148, 103, 189),
];

/// With more markers than this, their labels would overlap into noise, so only the lines are drawn.
const MAX_LABELLED_MARKERS: usize = 12;

/// The strip above a time figure's panels holds marker labels in this many rows of this many pixels.
const LABEL_ROWS: u32 = 3;
const LABEL_ROW_HEIGHT: u32 = 18;

/// Pixel size of a figure: 400 px per panel, plus 100 px for the title and the marker labels.
pub(crate) fn size(figure: &Figure) -> (u32, u32) {
    let n_panels = match figure {
        Figure::Time(time) => time.panels.len().max(1) as u32,
        Figure::Distribution(_) => 1,
        Figure::Shifts(shifts) => return (1200, 160 + 40 * shifts.rows.len().max(1) as u32),
    };
    (1200, 100 + 400 * n_panels)
}

pub(crate) fn draw<DB: DrawingBackend>(figure: &Figure, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    match figure {
        Figure::Time(time) => draw_time(time, root),
        Figure::Distribution(distribution) => draw_distribution(distribution, root),
        Figure::Shifts(shifts) => draw_shifts(shifts, root),
    }
}

/// A forest plot: one row per metric, its interval as a bar and its shift as a dot, coloured by verdict, between
/// dashed lines at ±threshold and a solid one at zero.
fn draw_shifts<DB: DrawingBackend>(figure: &ShiftFigure, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    let area = root.titled(&figure.title, (FONT, 24))?;
    let reach = figure
        .rows
        .iter()
        .flat_map(|r| [r.low_pct.abs(), r.high_pct.abs()])
        .filter(|v| v.is_finite())
        .fold(figure.threshold_pct * 1.5, f64::max)
        .max(1.0)
        * 1.1;
    let n = figure.rows.len().max(1);
    let labels: Vec<String> = figure.rows.iter().map(|r| r.label.clone()).collect();
    let mut chart = ChartBuilder::on(&area)
        .margin(12)
        .margin_right(40)
        .x_label_area_size(45)
        .y_label_area_size(220)
        .build_cartesian_2d(-reach..reach, -0.5..n as f64 - 0.5)?;
    chart
        .configure_mesh()
        .x_desc("shift, % of the base (95 % interval)")
        .x_label_formatter(&|x| format!("{}%", axis_number(x)))
        .y_labels(n)
        .y_label_formatter(&|y| {
            let i = y.round();
            // Row 0 is drawn at the top.
            let index = n as f64 - 1.0 - i;
            if (y - i).abs() < 1e-6 && index >= 0.0 {
                labels.get(index as usize).cloned().unwrap_or_default()
            } else {
                String::new()
            }
        })
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.08))
        .draw()?;
    let top = n as f64 - 0.5;
    let margin_style = RGBColor(110, 110, 110).stroke_width(1);
    for x in [-figure.threshold_pct, figure.threshold_pct] {
        chart.draw_series(DashedLineSeries::new([(x, -0.5), (x, top)], 6, 4, margin_style))?;
    }
    chart.draw_series(std::iter::once(PathElement::new([(0.0, -0.5), (0.0, top)], BLACK.stroke_width(1))))?;
    for (i, row) in figure.rows.iter().enumerate() {
        let y = n as f64 - 1.0 - i as f64;
        let color = match row.verdict.as_str() {
            "worse" => PALETTE[2],
            "better" => PALETTE[3],
            "same" => PALETTE[0],
            _ => PALETTE[1],
        };
        if row.low_pct.is_finite() && row.high_pct.is_finite() {
            let bar = PathElement::new([(row.low_pct, y), (row.high_pct, y)], color.stroke_width(4));
            chart.draw_series(std::iter::once(bar))?;
        }
        if row.shift_pct.is_finite() {
            chart.draw_series(std::iter::once(Circle::new((row.shift_pct, y), 6, color.filled())))?;
        }
    }
    if figure.rows.is_empty() {
        no_data(chart.plotting_area(), (0.0, 0.0))?;
    }
    Ok(())
}

fn draw_time<DB: DrawingBackend>(figure: &TimeFigure, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    let area = root.titled(&figure.title, (FONT, 24))?;
    let x_max = figure
        .panels
        .iter()
        .flat_map(|panel| &panel.lines)
        .flat_map(|line| line.points.iter().map(|(t, _)| *t))
        .chain(figure.markers.iter().map(|marker| marker.t_s))
        .fold(1.0, f64::max);
    let labelled = !figure.markers.is_empty() && figure.markers.len() <= MAX_LABELLED_MARKERS;
    // Marker labels get a strip of their own above the panels, where they cannot hide data or the legend.
    let strip_height = if labelled { LABEL_ROWS * LABEL_ROW_HEIGHT } else { 0 };
    let (strip, panels_area) = area.split_vertically(strip_height);
    let areas = panels_area.split_evenly((figure.panels.len().max(1), 1));
    for (i, (panel, area)) in figure.panels.iter().zip(&areas).enumerate() {
        let marker_xs = draw_panel(panel, area, x_max, &figure.x_desc, &figure.markers)?;
        if i == 0 && labelled {
            draw_marker_labels(&strip, &figure.markers, &marker_xs)?;
        }
    }
    Ok(())
}

/// Draws one panel and returns the backend x pixel of each marker, for placing the marker labels.
fn draw_panel<DB: DrawingBackend>(
    panel: &Panel,
    area: &DrawingArea<DB, Shift>,
    x_max: f64,
    x_desc: &str,
    markers: &[Marker],
) -> Result<Vec<i32>, DrawingAreaErrorKind<DB::ErrorType>> {
    let values = || panel.lines.iter().flat_map(|line| line.points.iter().filter_map(|(_, v)| *v));
    let has_data = values().next().is_some();
    // Headroom above the highest value keeps the lines clear of the legend.
    let y_max = (values().fold(0.0, f64::max) * 1.15).max(1.0);
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .margin_right(40)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(0.0..x_max, 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc(x_desc)
        .y_desc(panel.y_desc.as_str())
        .x_label_formatter(&axis_number)
        .y_label_formatter(&axis_number)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;
    for marker in markers {
        let style = marker_color(&marker.kind).mix(0.6).stroke_width(1);
        let line = PathElement::new([(marker.t_s, 0.0), (marker.t_s, y_max)], style);
        chart.draw_series(std::iter::once(line))?;
    }
    for (i, line) in panel.lines.iter().enumerate() {
        draw_line(&mut chart, line, PALETTE[i % PALETTE.len()])?;
    }
    if !has_data {
        no_data(chart.plotting_area(), (x_max / 2.0, y_max / 2.0))?;
    }
    legend(&mut chart)?;
    Ok(markers.iter().map(|marker| chart.backend_coord(&(marker.t_s, 0.0)).0).collect())
}

/// Writes each marker's label above its line, in the first of `LABEL_ROWS` rows where it overlaps no other label
/// (or, when all rows are taken there, in the row whose last label ends first).
fn draw_marker_labels<DB: DrawingBackend>(
    strip: &DrawingArea<DB, Shift>,
    markers: &[Marker],
    xs: &[i32],
) -> DrawResult<DB> {
    let base_x = strip.get_base_pixel().0;
    let mut row_ends = [i32::MIN; LABEL_ROWS as usize];
    for (marker, x) in markers.iter().zip(xs) {
        let color = marker_color(&marker.kind);
        let font = (FONT, 14).into_font().color(&color);
        let x = x - base_x + 2;
        let (width, _) = strip.estimate_text_size(&marker.label, &font)?;
        let row = (0..row_ends.len())
            .find(|&row| row_ends[row] < x)
            .unwrap_or_else(|| (0..row_ends.len()).min_by_key(|&row| row_ends[row]).unwrap_or(0));
        row_ends[row] = x + width as i32 + 6;
        let y = row as i32 * LABEL_ROW_HEIGHT as i32 + 4;
        strip.draw(&Text::new(marker.label.as_str(), (x, y), font))?;
    }
    Ok(())
}

/// Axis numbers without a pointless ".0": 20, 2.5, 0.25.
fn axis_number(value: &f64) -> String {
    let text = format!("{value:.2}");
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}

/// One line, broken at its gaps; a point with no neighbours is drawn as a dot so that it stays visible.
fn draw_line<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    line: &Line,
    color: RGBColor,
) -> DrawResult<DB> {
    let style = color.stroke_width(2);
    for run in segments(&line.points) {
        if let [point] = run.as_slice() {
            chart.draw_series(std::iter::once(Circle::new(*point, 2, color.filled())))?;
        } else {
            chart.draw_series(LineSeries::new(run, style))?;
        }
    }
    // An empty series carries the legend entry, whether or not the line has any points.
    chart
        .draw_series(LineSeries::new(std::iter::empty(), style))?
        .label(line.label.as_str())
        .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
    Ok(())
}

/// The runs of consecutive present values.
fn segments(points: &[(f64, Option<f64>)]) -> Vec<Vec<(f64, f64)>> {
    points
        .split(|(_, value)| value.is_none())
        .filter(|run| !run.is_empty())
        .map(|run| run.iter().filter_map(|(t, v)| Some((*t, (*v)?))).collect())
        .collect()
}

fn draw_distribution<DB: DrawingBackend>(figure: &DistributionFigure, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
    let area = root.titled(&figure.title, (FONT, 24))?;
    let x_max = f64::from(figure.decades);
    let y_max = figure.curves.iter().flat_map(|curve| curve.points.iter().map(|(_, ms)| *ms)).fold(0.0, f64::max);
    let y_max = (y_max * 1.15).max(1.0);
    let mut chart = ChartBuilder::on(&area)
        .margin(12)
        .margin_right(40)
        .x_label_area_size(45)
        .y_label_area_size(75)
        .build_cartesian_2d(TailAxis((0.0..x_max).into()), 0.0..y_max)?;
    chart
        .configure_mesh()
        .x_desc("percentile")
        .y_desc("latency (ms)")
        .x_label_formatter(&|x| percent_label(*x))
        .y_label_formatter(&axis_number)
        .label_style((FONT, 15))
        .axis_desc_style((FONT, 16))
        .light_line_style(WHITE.mix(0.0))
        .bold_line_style(BLACK.mix(0.12))
        .draw()?;
    for (i, curve) in figure.curves.iter().enumerate() {
        let style = PALETTE[i % PALETTE.len()].stroke_width(2);
        let points = curve.points.iter().map(|(p, ms)| (tail_x(*p), *ms));
        chart
            .draw_series(LineSeries::new(points, style))?
            .label(curve.label.as_str())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], style));
    }
    if figure.curves.is_empty() {
        no_data(chart.plotting_area(), (x_max / 2.0, y_max / 2.0))?;
    }
    legend(&mut chart)
}

/// The distribution's x axis: linear in log10(1/(1-p)), with gridlines at 0%, 50%, 90%, 99%, ... as in
/// HdrHistogram's own plots, rather than at round numbers of the log value.
struct TailAxis(RangedCoordf64);

impl Ranged for TailAxis {
    type FormatOption = DefaultFormatting;
    type ValueType = f64;

    fn map(&self, value: &f64, limit: (i32, i32)) -> i32 {
        self.0.map(value, limit)
    }

    fn key_points<Hint: KeyPointHint>(&self, _hint: Hint) -> Vec<f64> {
        let decades = self.0.range().end.round() as u32;
        std::iter::once(0.0).chain(std::iter::once(2f64.log10())).chain((1..=decades).map(f64::from)).collect()
    }

    fn range(&self) -> Range<f64> {
        self.0.range()
    }
}

/// Where percentile `p` (0..100) sits on the distribution's x axis: log10(1 / (1 - p)).
fn tail_x(percentile: f64) -> f64 {
    -(1.0 - percentile / 100.0).log10()
}

/// The percentile at x = log10(1/(1-p)), with as many decimals as it has nines: 90%, 99%, 99.9%, 99.99%.
fn percent_label(x: f64) -> String {
    let percentile = 100.0 * (1.0 - 10f64.powf(-x));
    let decimals = (x.round() as usize).saturating_sub(2);
    format!("{percentile:.decimals$}%")
}

fn legend<'a, DB: DrawingBackend + 'a, CT: CoordTranslate>(chart: &mut ChartContext<'a, DB, CT>) -> DrawResult<DB> {
    chart
        .configure_series_labels()
        .position(SeriesLabelPosition::UpperLeft)
        .label_font((FONT, 15))
        .background_style(WHITE.mix(0.85))
        .border_style(BLACK.mix(0.3))
        .draw()
}

fn no_data<DB: DrawingBackend, CT: CoordTranslate<From = (f64, f64)>>(
    area: &DrawingArea<DB, CT>,
    center: (f64, f64),
) -> DrawResult<DB> {
    let style = (FONT, 28).into_font().color(&BLACK.mix(0.5)).pos(Pos::new(HPos::Center, VPos::Center));
    area.draw(&Text::new("no data", center, style))
}

fn marker_color(kind: &str) -> RGBColor {
    match kind {
        "phase" => RGBColor(110, 110, 110),
        "fault" | "fault_start" | "fault_end" => RGBColor(200, 110, 0),
        "slo_breach" => RGBColor(214, 39, 40),
        "bot_started" | "bot_exited" | "bot_restarted" => RGBColor(148, 103, 189),
        _ => BLACK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Checks each input against the text or value a chart would show for it.
    fn check<T: std::fmt::Debug + PartialEq, U: Copy + std::fmt::Debug>(f: impl Fn(U) -> T, cases: &[(U, T)]) {
        for (input, expected) in cases {
            assert_eq!(&f(*input), expected, "input {input:?}");
        }
    }

    #[test]
    fn percentile_axis_labels() {
        let label = |x: f64| percent_label(x);
        check(
            label,
            &[
                (0.0, "0%".to_string()),
                (2f64.log10(), "50%".to_string()),
                (1.0, "90%".to_string()),
                (2.0, "99%".to_string()),
                (3.0, "99.9%".to_string()),
                (4.0, "99.99%".to_string()),
                (6.0, "99.9999%".to_string()),
            ],
        );
        let rounded_x = |p: f64| (tail_x(p) * 1e9).round() / 1e9;
        check(rounded_x, &[(0.0, 0.0), (90.0, 1.0), (99.0, 2.0), (99.99, 4.0)]);
    }

    #[test]
    fn axis_numbers() {
        let cases = [(0.0, "0"), (20.0, "20"), (2.5, "2.5"), (0.25, "0.25"), (1200.0, "1200")];
        check(|v: f64| axis_number(&v), &cases.map(|(v, text)| (v, text.to_string())));
    }

    #[test]
    fn lines_break_at_gaps() {
        let points = [(1.0, Some(1.0)), (2.0, None), (3.0, Some(3.0)), (4.0, Some(4.0)), (5.0, None)];
        let expected = vec![vec![(1.0, 1.0)], vec![(3.0, 3.0), (4.0, 4.0)]];
        check(|p: &[(f64, Option<f64>)]| segments(p), &[(&points[..], expected), (&[][..], vec![])]);
    }
}
