//! The one-file HTML reports: `report.html` for a run and `compare.html` for a comparison. Each page holds
//! everything it shows (style, script, data as JSON, charts as inline SVG) and a Content-Security-Policy that
//! forbids any request, so it opens offline and can be mailed as it is. Building a page is pure, data in and a
//! `String` out (`run_page`, `compare_page`); `crate::write_run_page` and `crate::write_compare_page` do the files.
//!
//! `plot` is one chart, `run` and `compare` the two pages' content, `verdict` a run's verdict and its reasons,
//! `markdown` the tables of `report.md` and `compare.md`, `escape` what makes outside text safe.

mod compare;
mod escape;
mod markdown;
pub mod plot;
mod run;
mod verdict;

use serde_json::{json, Value};

pub use compare::compare_page;
pub use run::run_page;

/// The page may load nothing: no script, style, font or image from anywhere, its own inline ones aside. A
/// request the page tried anyway would be refused and counted (`data-violations` on `<html>`).
pub const CSP: &str = "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:";

const STYLE: &str = include_str!("html/page.css");
const SCRIPT: &str = include_str!("html/page.js");

/// Counts the requests the policy refused, first thing, so that a test (or a curious reader) can see them in the
/// DOM.
const GUARD: &str = "document.addEventListener('securitypolicyviolation', function (e) {\
 var h = document.documentElement; h.dataset.violations = String(Number(h.dataset.violations) + 1);\
 h.dataset.blocked = e.blockedURI; });";

/// A whole page: `body` is trusted markup from this module; `data` is what the script reads, with the plots'
/// series under `plots`.
fn page(title: &str, body: &str, data: &Value) -> String {
    let frame = json!({
        "width": plot::WIDTH, "height": plot::HEIGHT,
        "left": plot::LEFT, "right": plot::RIGHT, "top": plot::TOP, "bottom": plot::BOTTOM,
    });
    let mut data = data.clone();
    if let Some(object) = data.as_object_mut() {
        object.insert("frame".to_string(), frame);
    }
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\" data-violations=\"0\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta http-equiv=\"Content-Security-Policy\" content=\"{CSP}\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n\
         <script>{GUARD}</script>\n<style>\n{STYLE}</style>\n</head>\n<body>\n{body}\
         <script type=\"application/json\" id=\"tgload-data\">{}</script>\n<script>\n{SCRIPT}</script>\n\
         </body>\n</html>\n",
        escape::text(title),
        escape::json_in_script(&data)
    )
}

/// The charts' section: a hint on how to use them, then each plot.
fn plots_section(plots: &[plot::Plot], windows: &[plot::Window], marks: &[plot::Mark]) -> String {
    let mut html = String::from(
        "<section id=\"charts\">\n<h2>Charts</h2>\n<p class=\"hint\">Hover for values; drag across a chart to \
         zoom in on that time (every chart over time follows), double-click to zoom out.</p>\n\
         <noscript><p class=\"hint\">Scripts are off: the charts have no axes, values or zoom.</p></noscript>\n",
    );
    for plot in plots {
        html.push_str(&plot.svg(windows, marks));
    }
    html.push_str("</section>\n");
    html
}

/// The Markdown report's sections, from its first `##` heading: what comes before (title, verdict line, the
/// notes on a saturated generator or a rebuilt run) the page's header says already.
fn tables_section(markdown: &str) -> String {
    let body = match markdown.find("\n## ") {
        Some(at) => &markdown[at + 1..],
        None => {
            markdown.split_once('\n').filter(|(first, _)| first.starts_with("# ")).map_or(markdown, |(_, rest)| rest)
        }
    };
    format!("<section id=\"tables\" class=\"markdown\">\n{}</section>\n", markdown::to_html(body))
}
