//! The I/O around a comparison: reads both sides (a run directory, or a repeats directory's `r1/` ... `rN/`), each
//! run's steady seconds from its latency log, writes `compare.md`, `compare.json` and `compare.html` (each to
//! `*.tmp`, then renamed) and renders the comparison charts into the out directory. It decides nothing; the
//! verdicts come from `compare::compare`. A run directory that cannot be read is bad input (`Error::Usage`), an
//! out directory that cannot be written an I/O error; a chart that cannot be drawn is only noted.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use hdrhistogram::Histogram;
use serde::Serialize;

use super::input::{self, Run, Steady};
use super::{check_gate, compare, markdown, Charts, Comparison, Settings, Side, Threshold};
use crate::error::Error;
use crate::rundir::write_atomic;

/// `tgload compare`'s command line.
#[derive(Debug, Clone)]
pub struct Options {
    pub base: PathBuf,
    pub candidate: PathBuf,
    /// Default: `<candidate>/compare-<base dir name>`.
    pub out: Option<PathBuf>,
    /// `--threshold`; else the candidate's scenario's `[compare] threshold`; else 10%.
    pub threshold: Option<Threshold>,
    /// `--gate`; else the scenario's `[compare] gate`; else `DEFAULT_GATE`.
    pub gate: Option<Vec<String>>,
    /// Gate even when the sides ran different scenarios, CPUs or tgload versions.
    pub allow_mismatch: bool,
}

/// A comparison written out.
#[derive(Debug)]
pub struct Outcome {
    pub comparison: Comparison,
    /// `compare.md`, for printing.
    pub markdown: String,
    pub out: PathBuf,
}

impl Outcome {
    /// 0 when no gated metric is worse, 99 when one is (the same code as a run whose objectives fail), 98 when one
    /// is inconclusive.
    pub fn exit_code(&self) -> u8 {
        self.comparison.exit_code()
    }
}

/// `compare.json`: the comparison and the charts beside it.
#[derive(Serialize)]
struct Document<'a> {
    #[serde(flatten)]
    comparison: &'a Comparison,
    charts: &'a [String],
    charts_error: Option<&'a str>,
}

/// Compares the two runs and writes the comparison into the out directory.
pub fn run(options: &Options) -> Result<Outcome, Error> {
    let base = load_side(&options.base)?;
    let candidate = load_side(&options.candidate)?;
    let settings = settings(options, &candidate)?;
    let comparison = compare(&base, &candidate, &settings);
    let out = options.out.clone().unwrap_or_else(|| default_out(&options.base, &options.candidate));
    std::fs::create_dir_all(&out).map_err(Error::io(format!("create {}", out.display())))?;
    let shifts = shift_rows(&comparison);
    let title =
        format!("Shifts, candidate against base ({} vs {} runs)", comparison.base.runs, comparison.candidate.runs);
    let threshold_pct = comparison.threshold.fraction() * 100.0;
    // The charts and compare.html read both sides' files once, between them.
    let runs = charts::Run::load(&options.base).and_then(|base| Ok((base, charts::Run::load(&options.candidate)?)));
    let charts: Charts = runs
        .as_ref()
        .map_err(|e| e.to_string())
        .and_then(|(base, candidate)| {
            charts::render_comparison_loaded(base, candidate, &out).map_err(|e| e.to_string())
        })
        .and_then(|mut paths| {
            paths.extend(charts::render_shifts(&title, threshold_pct, &shifts, &out).map_err(|e| e.to_string())?);
            Ok(paths)
        })
        .map(|paths| paths.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect());
    let markdown = markdown(&comparison, &charts);
    let document = Document {
        comparison: &comparison,
        charts: charts.as_deref().unwrap_or_default(),
        charts_error: charts.as_ref().err().map(String::as_str),
    };
    let json = serde_json::to_string_pretty(&document).unwrap_or_default();
    write_atomic(&out.join("compare.json"), format!("{json}\n").as_bytes())?;
    write_atomic(&out.join("compare.md"), markdown.as_bytes())?;
    // Sides whose files do not parse still get a page: the verdicts and the tables, without charts.
    let (base, candidate) = runs.unwrap_or_default();
    let document = serde_json::to_value(&document).unwrap_or_default();
    charts::write_compare_page(&base, &candidate, &document, &markdown, &out)
        .map_err(|e| Error::Io { context: "compare.html".into(), source: std::io::Error::other(e.to_string()) })?;
    Ok(Outcome { comparison, markdown, out })
}

/// The rows the shift chart shows: those with a relative shift and interval.
fn shift_rows(comparison: &Comparison) -> Vec<charts::figure::Shift> {
    let rows = comparison.rows.iter().filter_map(|row| {
        let (shift, [low, high]) = (row.relative?, row.relative_ci?);
        // The table's ● is not in the charts' embedded font.
        let gate = if row.gated { " (gated)" } else { "" };
        Some(charts::figure::Shift {
            label: format!("{}{gate}", row.label.replace('`', "")),
            shift_pct: shift * 100.0,
            low_pct: low * 100.0,
            high_pct: high * 100.0,
            verdict: row.verdict.as_str().to_string(),
        })
    });
    rows.collect()
}

/// The settings from the command line, else from the candidate's scenario as recorded in its `meta.json`.
fn settings(options: &Options, candidate: &Side) -> Result<Settings, Error> {
    let (threshold, gate) = candidate.runs[0].meta.as_ref().map(|m| m.compare_settings()).unwrap_or_default();
    let defaults = Settings::default();
    let gate = options.gate.clone().or(gate).unwrap_or(defaults.gate);
    check_gate(&gate).map_err(|e| Error::Usage(format!("--gate: {e}")))?;
    Ok(Settings {
        threshold: options.threshold.or(threshold.and_then(Threshold::from_fraction)).unwrap_or(defaults.threshold),
        gate,
        allow_mismatch: options.allow_mismatch,
    })
}

pub use charts::run::repeats;

/// Reads one side: a run directory, or every run of a repeats directory.
pub fn load_side(dir: &Path) -> Result<Side, Error> {
    let runs = repeats(dir);
    if runs.is_empty() {
        return load(dir).map(Side::single);
    }
    let runs = runs.iter().map(|d| load(d)).collect::<Result<Vec<_>, _>>()?;
    Ok(Side { dir: dir.display().to_string(), runs })
}

/// Each steady second's percentiles, and every second's end-to-end histograms added up, from every part of the
/// run's latency log: one pass for `compare`, which uses the seconds, and for a set's summary, which uses both.
fn read_latency(dir: &Path, holds: &[(f64, f64)]) -> Result<(Steady, Option<Histogram<u64>>), Error> {
    let mut steady = Steady::default();
    let mut total: Option<Histogram<u64>> = None;
    for part in charts::hlog::parts(dir) {
        let text =
            std::fs::read_to_string(&part).map_err(|e| Error::Usage(format!("cannot read {}: {e}", part.display())))?;
        charts::hlog::for_each_interval(&text, |tag, start_s, histogram| {
            if tag != "e2e" {
                return Ok(());
            }
            steady.add(holds, start_s, &histogram);
            match &mut total {
                Some(total) => total.add(&histogram).map_err(|e| format!("histogram cannot be merged: {e:?}")),
                None => {
                    let mut first = histogram;
                    // Later seconds may hold larger values than the first one's range.
                    first.auto(true);
                    total = Some(first);
                    Ok(())
                }
            }
        })
        .map_err(|e| Error::Usage(format!("{}: {e}", part.display())))?;
    }
    Ok((steady, total))
}

/// Reads a run directory's `summary.json` (required), `meta.json` (optional) and latency log (optional).
pub fn load(dir: &Path) -> Result<Run, Error> {
    load_with_latency(dir).map(|(run, _)| run)
}

/// `load`, and the run's end-to-end histograms added up (`None` without a latency log).
pub fn load_with_latency(dir: &Path) -> Result<(Run, Option<Histogram<u64>>), Error> {
    if !dir.is_dir() {
        return Err(Error::Usage(format!("{}: not a run directory (no such directory)", dir.display())));
    }
    let summary_path = dir.join("summary.json");
    let summary = match std::fs::read_to_string(&summary_path) {
        Ok(text) => input::parse_summary(&summary_path, &text)?,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(Error::Usage(format!(
                "{}: not found: {} is not a tgload run directory",
                summary_path.display(),
                dir.display()
            )))
        }
        Err(e) => return Err(Error::Usage(format!("cannot read {}: {e}", summary_path.display()))),
    };
    let meta_path = dir.join("meta.json");
    let meta = match std::fs::read_to_string(&meta_path) {
        Ok(text) => Some(input::parse_meta(&meta_path, &text)?),
        Err(e) if e.kind() == ErrorKind::NotFound => None,
        Err(e) => return Err(Error::Usage(format!("cannot read {}: {e}", meta_path.display()))),
    };
    let holds = meta.as_ref().map(input::Meta::holds).unwrap_or_default();
    let (steady, e2e) = read_latency(dir, &holds)?;
    Ok((Run { dir: dir.display().to_string(), summary, meta, steady }, e2e))
}

/// `<candidate>/compare-<base dir name>`; a base given as `.` or `..` is named by its absolute path.
pub fn default_out(base: &Path, candidate: &Path) -> PathBuf {
    let name = base
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .or_else(|| base.canonicalize().ok()?.file_name().map(|n| n.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "base".to_string());
    candidate.join(format!("compare-{name}"))
}
