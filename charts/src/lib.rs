//! Renders a tgload run directory as charts, SVG and PNG: latency, throughput, errors and the bot's resources over
//! time, and the latency percentile distribution; or two runs overlaid for comparison. It only reads run files
//! (the format is docs/run-directory.md) and never runs a load.
//!
//! The pipeline is parse (`series`, `events`, `hlog`, gathered by `run`), then `figure` (what each chart plots, as
//! data, which is what tests check), then `draw` and `output` (pixels and files).

mod draw;
mod error;
pub mod events;
pub mod figure;
pub mod hlog;
mod output;
pub mod run;
pub mod series;

use std::path::{Path, PathBuf};

pub use error::Error;
pub use run::Run;

/// Renders the charts of the run in `run_dir` into `run_dir/charts/`: `latency`, `throughput`, `errors`,
/// `resources` and `distribution`, each as `.svg` and `.png`. Returns the paths written. A missing input gives a
/// chart that says "no data"; a malformed one is an error naming the file and line.
pub fn render_run(run_dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let run = Run::load(run_dir)?;
    output::write_all(&figure::for_run(&run), &run_dir.join("charts"))
}

/// Renders `base` and `candidate` overlaid into `out_dir`: `distribution` (e2e percentiles), `latency-p95` and
/// `rss` over time, each as `.svg` and `.png`. Legends name each run by its short commit, else its directory name.
/// Either may be a repeats directory (`r1/`, `r2/`, ...): its distribution is every run's histograms merged, its
/// lines over time are its first run's.
pub fn render_comparison(base: &Path, candidate: &Path, out_dir: &Path) -> Result<Vec<PathBuf>, Error> {
    let base = Run::load(base)?;
    let candidate = Run::load(candidate)?;
    output::write_all(&figure::for_comparison(&base, &candidate), out_dir)
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
