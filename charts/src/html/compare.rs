//! `compare.html`'s content: the comparison's verdict, what makes the sides unlike, each metric's verdict with its
//! shift and 95 % interval (a table, and the intervals drawn against the margin), both sides overlaid on the charts
//! over time and on the latency distribution, then `compare.md`'s tables. Pure: the two loaded runs, `compare.json`
//! as `tgload compare` wrote it, and the Markdown in; the page out.

use std::fmt::Write;

use serde_json::{json, Value};

use super::plot::{num, Axis, Fold, Plot, Series};
use super::run::tail_x;
use super::{escape, markdown, page, plots_section, tables_section, verdict::short};
use crate::figure::{decades_for, percentile_curve};
use crate::run::Run;
use crate::series::Row;

/// The whole `compare.html`.
pub fn compare_page(base: &Run, candidate: &Run, comparison: &Value, compare_md: &str) -> String {
    let labels = [format!("base ({})", base.label()), format!("candidate ({})", candidate.label())];
    let plots = plots([base, candidate], &labels);
    let mut body = header(comparison, &labels);
    body.push_str(&verdicts_section(comparison));
    body.push_str(&plots_section(&plots, &[], &[]));
    body.push_str(&tables_section(compare_md));
    let data = json!({"plots": plots.iter().map(Plot::json).collect::<Vec<Value>>(), "windows": [], "marks": []});
    page(&format!("tgload compare: {} vs {}", labels[0], labels[1]), &body, &data)
}

fn header(c: &Value, labels: &[String; 2]) -> String {
    let verdict = c.get("verdict").and_then(Value::as_str).unwrap_or("unknown");
    let runs = |side: &str| c.pointer(&format!("/{side}/runs")).and_then(Value::as_u64).unwrap_or(0);
    let gate: Vec<String> = strings(c.get("gate"));
    let threshold = c.get("threshold").and_then(Value::as_f64).unwrap_or(0.0) * 100.0;
    let mut html = String::from("<header id=\"verdict\">\n");
    let _ = writeln!(html, "<h1>tgload compare: {} → {}</h1>", escape::text(&labels[0]), escape::text(&labels[1]));
    let _ = writeln!(
        html,
        "<p class=\"headline\"><span class=\"badge {v}\" id=\"verdict-badge\">{}</span> threshold {} % · {} vs {} \
         runs · gated: {}</p>",
        escape::text(&verdict.to_uppercase()),
        num(threshold),
        runs("base"),
        runs("candidate"),
        escape::text(&if gate.is_empty() { "nothing".to_string() } else { gate.join(", ") }),
        v = escape::text(verdict),
    );
    html.push_str("<ul class=\"reasons\">\n");
    let gating = c.get("gating").and_then(Value::as_bool).unwrap_or(true);
    for mismatch in strings(c.get("mismatches")) {
        let how = if gating { "gated anyway" } else { "not gated" };
        let _ = writeln!(html, "<li>not like for like ({how}): {}</li>", escape::text(&mismatch));
    }
    for warning in strings(c.get("warnings")) {
        let _ = writeln!(html, "<li>{}</li>", escape::text(&warning));
    }
    for row in rows(c).iter().filter(|r| r.gated && matches!(r.verdict.as_str(), "worse" | "inconclusive")) {
        let _ = writeln!(html, "<li>{} is {}: {}</li>", markdown::inline(&row.label), row.verdict, row.shift_text());
    }
    html.push_str("</ul>\n</header>\n");
    html
}

/// One row of `compare.json`, the fields the page shows.
struct Verdict {
    label: String,
    unit: String,
    gated: bool,
    base: Option<f64>,
    candidate: Option<f64>,
    delta: Option<f64>,
    delta_ci: Option<[f64; 2]>,
    relative: Option<f64>,
    relative_ci: Option<[f64; 2]>,
    verdict: String,
    repeats_needed: Option<u64>,
}

impl Verdict {
    fn from_json(row: &Value) -> Verdict {
        let number = |field: &str| row.get(field).and_then(Value::as_f64);
        let pair = |field: &str| {
            let pair = row.get(field)?.as_array()?;
            Some([pair.first()?.as_f64()?, pair.get(1)?.as_f64()?])
        };
        let text = |field: &str| row.get(field).and_then(Value::as_str).unwrap_or("").to_string();
        Verdict {
            label: text("label"),
            unit: text("unit"),
            gated: row.get("gated").and_then(Value::as_bool).unwrap_or(false),
            base: number("base"),
            candidate: number("candidate"),
            delta: number("delta"),
            delta_ci: pair("delta_ci"),
            relative: number("relative"),
            relative_ci: pair("relative_ci"),
            verdict: text("verdict"),
            repeats_needed: row.get("repeats_needed").and_then(Value::as_u64),
        }
    }

    /// `+2.50 ms (95 % CI +2.10 to +2.90), +20.6 %`.
    fn shift_text(&self) -> String {
        let Some(delta) = self.delta else {
            return "no shift (a value is missing)".to_string();
        };
        let ci = self.delta_ci.map_or(String::new(), |[a, b]| format!(" (95 % CI {} to {})", signed(a), signed(b)));
        let relative = self.relative.map_or(String::new(), |r| format!(", {:+.1} %", r * 100.0));
        format!("{} {}{ci}{relative}", signed(delta), self.unit)
    }
}

fn signed(v: f64) -> String {
    if v >= 0.0 {
        format!("+{}", short(v))
    } else {
        short(v)
    }
}

fn rows(c: &Value) -> Vec<Verdict> {
    c.get("rows").and_then(Value::as_array).into_iter().flatten().map(Verdict::from_json).collect()
}

/// Each metric's verdict as a table, then the relative intervals against the margin.
fn verdicts_section(c: &Value) -> String {
    let rows = rows(c);
    let mut html = String::from(
        "<section id=\"verdicts\">\n<h2>Verdicts</h2>\n<table class=\"verdicts\">\n<thead><tr><th>metric</th>\
         <th>gated</th><th class=\"right\">base</th><th class=\"right\">candidate</th><th class=\"right\">shift (95 % \
         interval)</th><th>verdict</th></tr></thead>\n<tbody>\n",
    );
    for row in &rows {
        let value = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{} {}", short(v), row.unit));
        let needed = row.repeats_needed.map_or(String::new(), |n| format!(" ({n} runs a side would likely decide)"));
        let _ = writeln!(
            html,
            "<tr><td>{}</td><td>{}</td><td class=\"right\">{}</td><td class=\"right\">{}</td>\
             <td class=\"right\">{}</td><td class=\"verdict {v}\">{}{}</td></tr>",
            markdown::inline(&row.label),
            if row.gated { "●" } else { "" },
            escape::text(&value(row.base)),
            escape::text(&value(row.candidate)),
            escape::text(&row.shift_text()),
            escape::text(&row.verdict),
            escape::text(&needed),
            v = verdict_class(&row.verdict),
        );
    }
    html.push_str("</tbody>\n</table>\n");
    let threshold_pct = c.get("threshold").and_then(Value::as_f64).unwrap_or(0.0) * 100.0;
    html.push_str(&intervals_svg(&rows, threshold_pct));
    html.push_str("</section>\n");
    html
}

fn verdict_class(verdict: &str) -> &'static str {
    match verdict {
        "worse" => "worse",
        "better" => "better",
        "same" => "same",
        "inconclusive" => "inconclusive",
        _ => "na",
    }
}

/// Each relative shift as a dot on its 95 % interval, one row per metric, with the margin (±threshold) dashed
/// and zero solid: an interval clear of a margin line is `worse` or `better`, one inside both `same`. Hovering a
/// row shows its numbers.
fn intervals_svg(rows: &[Verdict], threshold_pct: f64) -> String {
    let shown: Vec<(&Verdict, f64, [f64; 2])> = rows
        .iter()
        .filter_map(|r| Some((r, r.relative? * 100.0, r.relative_ci.map(|[a, b]| [a * 100.0, b * 100.0])?)))
        .collect();
    if shown.is_empty() {
        return "<p class=\"hint\">No metric has a relative shift with an interval to draw.</p>\n".to_string();
    }
    let (left, right, row_h, top) = (260.0, 24.0, 26.0, 20.0);
    let (width, height) = (960.0, top + row_h * shown.len() as f64 + 30.0);
    let reach =
        shown.iter().flat_map(|(_, _, [a, b])| [a.abs(), b.abs()]).fold(threshold_pct * 1.5, f64::max).max(1.0) * 1.1;
    let x = |pct: f64| left + (pct + reach) / (2.0 * reach) * (width - left - right);
    let bottom = top + row_h * shown.len() as f64;
    let mut svg =
        format!("<svg class=\"intervals\" id=\"intervals\" viewBox=\"0 0 {width} {}\" role=\"img\">\n", num(height));
    for (pct, class) in [(-threshold_pct, "margin"), (0.0, "zero"), (threshold_pct, "margin")] {
        let _ = writeln!(
            svg,
            "<line class=\"{class}\" x1=\"{p}\" x2=\"{p}\" y1=\"{top}\" y2=\"{}\"/>",
            num(bottom),
            p = num(x(pct))
        );
        let _ = writeln!(
            svg,
            "<text class=\"tick\" x=\"{}\" y=\"{}\">{}%</text>",
            num(x(pct)),
            num(bottom + 16.0),
            num(pct)
        );
    }
    for (i, (row, shift, [low, high])) in shown.iter().enumerate() {
        let y = top + row_h * (i as f64 + 0.5);
        let label = row.label.replace('`', "");
        let title = format!("{label}: {shift:+.1} % (95 % CI {low:+.1} % to {high:+.1} %), {}", row.verdict);
        let _ = writeln!(
            svg,
            "<g class=\"interval {v}\"><title>{}</title><text class=\"label\" x=\"{}\" y=\"{}\">{}</text>\
             <line x1=\"{}\" x2=\"{}\" y1=\"{y}\" y2=\"{y}\"/><circle cx=\"{}\" cy=\"{y}\" r=\"5\"/></g>",
            escape::text(&title),
            left - 10.0,
            num(y + 4.0),
            escape::text(&format!("{label}{}", if row.gated { " ●" } else { "" })),
            num(x(*low)),
            num(x(*high)),
            num(x(*shift)),
            v = verdict_class(&row.verdict),
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// Both sides overlaid: p95 and answers per second, the bot's memory and CPU, and the e2e distribution.
fn plots(runs: [&Run; 2], labels: &[String; 2]) -> Vec<Plot> {
    let both = |value: fn(&Row) -> Option<f64>, fold: Fold| -> Vec<Series> {
        runs.iter().zip(labels).map(|(run, label)| Series::new(label, run.timeseries.column(value), fold)).collect()
    };
    let time = |id: &str, title: &str, unit: &str, series: Vec<Series>| Plot {
        id: id.into(),
        title: title.into(),
        unit: unit.into(),
        axis: Axis::Time,
        series,
    };
    let n_samples = runs.iter().filter_map(|r| r.latency.e2e.as_ref().map(|h| h.len())).max().unwrap_or(0);
    let curves = runs
        .iter()
        .zip(labels)
        .filter_map(|(run, label)| Some((label, run.latency.e2e.as_ref().filter(|h| !h.is_empty())?)))
        .map(|(label, h)| {
            let points = percentile_curve(h, decades_for(n_samples)).into_iter().map(|(p, ms)| (tail_x(p), Some(ms)));
            Series::new(label, points.collect(), Fold::Max)
        })
        .collect();
    vec![
        time("latency-p95", "p95 latency per second", "ms", both(|r| r.p95_ms, Fold::Max)),
        time("throughput", "Answered per second", "/s", both(|r| Some(r.answered as f64), Fold::Mean)),
        time("rss", "Bot memory (RSS)", "MB", both(|r| r.bot_rss_mb, Fold::Max)),
        time("cpu", "Bot CPU (100 % is one core)", "%", both(|r| r.bot_cpu_pct, Fold::Mean)),
        Plot {
            id: "distribution".into(),
            title: "Latency distribution (e2e)".into(),
            unit: "ms".into(),
            axis: Axis::Percentile,
            series: curves,
        },
    ]
}

fn strings(value: Option<&Value>) -> Vec<String> {
    value.and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(String::from).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn comparison() -> Value {
        json!({
            "verdict": "worse", "threshold": 0.1, "gate": ["latency_ms.p95"], "gating": true,
            "base": {"runs": 3}, "candidate": {"runs": 3},
            "mismatches": [], "warnings": ["the base run <r2> did not complete"],
            "rows": [
                {"label": "latency p95", "unit": "ms", "gated": true, "base": 12.1, "candidate": 14.6,
                 "delta": 2.5, "delta_ci": [2.1, 2.9], "relative": 0.206, "relative_ci": [0.17, 0.24],
                 "verdict": "worse", "repeats_needed": null},
                {"label": "bot RSS drift", "unit": "MB/h", "gated": false, "base": null, "candidate": 3.0,
                 "delta": null, "delta_ci": null, "relative": null, "relative_ci": null, "verdict": "n/a"}
            ]
        })
    }

    #[test]
    fn the_verdicts_show_each_shift_with_its_interval() {
        let html = verdicts_section(&comparison());
        assert!(html.contains("+2.50 ms (95 % CI +2.10 to +2.90), +20.6 %"), "{html}");
        assert!(html.contains("<td class=\"verdict worse\">worse</td>"), "{html}");
        assert!(html.contains("no shift (a value is missing)"), "{html}");
        // One interval drawn: the row without a relative shift has none.
        assert_eq!(html.matches("<g class=\"interval").count(), 1, "{html}");
        assert!(html.contains("<title>latency p95: +20.6 % (95 % CI +17.0 % to +24.0 %), worse</title>"), "{html}");
    }

    #[test]
    fn the_header_names_the_gated_worse_metric_and_escapes_warnings() {
        let html = header(&comparison(), &["base (a)".into(), "candidate (b)".into()]);
        assert!(html.contains("<span class=\"badge worse\" id=\"verdict-badge\">WORSE</span>"), "{html}");
        assert!(html.contains("<li>the base run &lt;r2&gt; did not complete</li>"), "{html}");
        assert!(html.contains("<li>latency p95 is worse: +2.50 ms"), "{html}");
    }
}
