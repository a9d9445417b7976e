//! Renders a tgload run directory as charts, SVG and PNG: latency, throughput, errors and the bot's resources over
//! time, and the latency percentile distribution; or two runs overlaid for comparison. It only reads run files
//! (the format is docs/run-directory.md) and never runs a load.
//!
//! The pipeline is parse (`series`, `resources`, `events`, `hlog`, gathered by `run`), then `figure` (what each
//! chart plots, as data, which is what tests check), then `draw` and `output` (pixels and files). `html` makes
//! the one-file reports, `report.html` and `compare.html`, from the same parsed run.

mod draw;
mod error;
pub mod events;
pub mod figure;
pub mod hlog;
pub mod html;
mod output;
pub mod resources;
pub mod run;
pub mod series;

use std::path::{Path, PathBuf};

pub use error::Error;
pub use run::Run;

/// Renders the charts of the run in `run_dir` into `run_dir/charts/`: `latency`, `throughput`, `errors`,
/// `resources` and `distribution`, each as `.svg` and `.png`. Returns the paths written. A missing input gives a
/// chart that says "no data"; a malformed one is an error naming the file and line.
pub fn render_run(run_dir: &Path) -> Result<Vec<PathBuf>, Error> {
    render_loaded(&Run::load(run_dir)?, run_dir)
}

/// `render_run` for a run already loaded from `run_dir`, so that its charts and its page read the files once.
pub fn render_loaded(run: &Run, run_dir: &Path) -> Result<Vec<PathBuf>, Error> {
    output::write_all(&figure::for_run(run), &run_dir.join("charts"))
}

/// Writes `run_dir/report.html` (atomically): the run's verdict, its interactive charts and `report_md`'s
/// tables, one file that loads nothing. Returns its path.
pub fn write_run_page(run: &Run, run_dir: &Path, report_md: &str) -> Result<PathBuf, Error> {
    let path = run_dir.join("report.html");
    output::write_atomic(&path, html::run_page(run, report_md).as_bytes())?;
    Ok(path)
}

/// Writes `out_dir/compare.html` (atomically): `comparison` (`compare.json` as written) with its verdicts and
/// intervals, `base` and `candidate` overlaid on the charts, and `compare_md`'s tables. Returns its path.
pub fn write_compare_page(
    base: &Run,
    candidate: &Run,
    comparison: &serde_json::Value,
    compare_md: &str,
    out_dir: &Path,
) -> Result<PathBuf, Error> {
    let page = html::compare_page(base, candidate, comparison, compare_md);
    let path = out_dir.join("compare.html");
    output::write_atomic(&path, page.as_bytes())?;
    Ok(path)
}

/// Renders `base` and `candidate` overlaid into `out_dir`: `distribution` (e2e percentiles), `latency-p95` and
/// `rss` over time, each as `.svg` and `.png`. Legends name each run by its short commit, else its directory name.
/// Either may be a repeats directory (`r1/`, `r2/`, ...): its distribution is every run's histograms merged, its
/// lines over time are its first run's.
pub fn render_comparison(base: &Path, candidate: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, Error> {
    render_comparison_loaded(&Run::load(base)?, &Run::load(candidate)?, out_dir)
}

/// `render_comparison` for runs already loaded, so that the charts and `compare.html` read the files once.
pub fn render_comparison_loaded(base: &Run, candidate: &Run, out_dir: &Path) -> Result<Vec<PathBuf>, Error> {
    output::write_all(&figure::for_comparison(base, candidate), out_dir)
}

/// Renders a comparison's shifts into `out_dir`: `shift.svg` and `.png`, each metric's shift and 95 % interval in
/// percent of the base against the ±`threshold_pct` margin.
pub fn render_shifts(
    title: &str,
    threshold_pct: f64,
    rows: &[figure::Shift],
    out_dir: &Path,
) -> Result<Vec<PathBuf>, Error> {
    output::write_all(&figure::for_shifts(title, threshold_pct, rows), out_dir)
}

/// Renders a capacity search into `out_dir`: `capacity.svg` and `.png`, goodput and p99 against the offered rate
/// with the knee marked.
pub fn render_capacity(
    title: &str,
    probes: &[figure::CapacityPoint],
    knee: Option<f64>,
    out_dir: &Path,
) -> Result<Vec<PathBuf>, Error> {
    output::write_all(&figure::for_capacity(title, probes, knee), out_dir)
}
