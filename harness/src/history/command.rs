//! `tgload history FILE`: reads the nightly history file, finds each metric's change points and formats them as
//! markdown and JSON. It gates nothing: a history is read by people deciding what to look into, so the exit code
//! is always 0. Finding the change points is the parent module's. `add` appends a night's figures to the file,
//! read from a run, repeats or A/B directory.

use std::fmt::Write;
use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::{change_points, lower_is_better, parse, ChangePoint, History, Point, MIN_SEGMENT, P_VALUE, WINDOW};
use crate::error::Error;

/// The version of the JSON's shape.
pub const SCHEMA_VERSION: u32 = 1;
/// Characters of a commit hash shown in the markdown (the JSON has it whole).
const SHORT_COMMIT: usize = 7;

/// `tgload history`'s command line.
#[derive(Debug, Clone)]
pub struct Options {
    pub file: PathBuf,
    /// A fraction (0.05 is 5 %): a confirmed change smaller than this is listed as `minor`.
    pub threshold: f64,
}

/// Appends the figures of `dir` (a run or repeats directory, or an A/B directory's candidate side) as night
/// `night` of the history in `file`, creating it with its header when it is new or empty. Returns how many
/// figures were added.
pub fn add(file: &Path, dir: &Path, night: &str, commit: Option<&str>) -> Result<usize, Error> {
    let side_dir = if dir.join("candidate").is_dir() && !dir.join("summary.json").is_file() {
        dir.join("candidate")
    } else {
        dir.to_path_buf()
    };
    let side = crate::compare::command::load_side(&side_dir)?;
    let figures = crate::compare::figures(&side);
    let lines = super::append_lines(night, commit, &figures)?;
    let existing = match std::fs::read_to_string(file) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => String::new(),
        Err(e) => return Err(Error::Usage(format!("cannot read {}: {e}", file.display()))),
    };
    // Refuse to append to a file that is not a history: its own errors name the line.
    parse(file, &existing)?;
    let mut text = existing;
    if text.trim().is_empty() {
        text = format!("{}\n", super::HEADER);
    } else if !text.ends_with('\n') {
        text.push('\n');
    }
    text.push_str(&lines);
    crate::rundir::write_atomic(file, text.as_bytes())?;
    Ok(figures.len())
}

/// The history, analysed.
#[derive(Debug)]
pub struct Outcome {
    pub markdown: String,
    pub json: serde_json::Value,
}

impl Outcome {
    /// Always 0: a change point is something to look into, not a failure, and a night's regression is already
    /// gated by that night's `tgload compare`.
    pub fn exit_code(&self) -> u8 {
        0
    }
}

/// The JSON document: the settings the change points were found with, and each metric.
#[derive(Serialize)]
struct Document<'a> {
    schema_version: u32,
    file: String,
    threshold: f64,
    p_value: f64,
    window: usize,
    min_segment: usize,
    nights: usize,
    metrics: &'a [Metric],
}

/// One metric's series, summed up.
#[derive(Debug, Serialize)]
struct Metric {
    metric: String,
    lower_is_better: bool,
    nights: usize,
    last: Point,
    change_points: Vec<Change>,
}

#[derive(Debug, Serialize)]
struct Change {
    #[serde(flatten)]
    point: ChangePoint,
    /// Smaller than the threshold, or a change of a mean that was zero is never minor.
    minor: bool,
}

/// Reads and analyses the history file. A missing file, a bad threshold or a file that does not parse is bad
/// usage.
pub fn run(options: &Options) -> Result<Outcome, Error> {
    if !options.threshold.is_finite() || options.threshold < 0.0 {
        return Err(Error::Usage(format!("threshold {} is not a fraction of 0 or more, e.g. 0.05", options.threshold)));
    }
    let path = &options.file;
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) if e.kind() == ErrorKind::NotFound => {
            return Err(Error::Usage(format!("{}: no such history file", path.display())))
        }
        Err(e) => return Err(Error::io(format!("read {}", path.display()))(e)),
    };
    let history = parse(path, &text)?;
    Ok(outcome(path, &history, options.threshold))
}

/// The markdown and JSON of a parsed history. Pure, so that the formatting is tested without a file.
pub fn outcome(file: &Path, history: &History, threshold: f64) -> Outcome {
    let metrics: Vec<Metric> = history
        .series()
        .into_iter()
        .filter_map(|series| {
            let change_points = change_points(&series, P_VALUE)
                .into_iter()
                .map(|point| {
                    let minor = point.change_pct.is_some_and(|pct| pct.abs() < threshold * 100.0);
                    Change { point, minor }
                })
                .collect();
            Some(Metric {
                lower_is_better: lower_is_better(&series.metric),
                nights: series.points.len(),
                last: series.points.last()?.clone(),
                metric: series.metric,
                change_points,
            })
        })
        .collect();
    let document = Document {
        schema_version: SCHEMA_VERSION,
        file: file.display().to_string(),
        threshold,
        p_value: P_VALUE,
        window: WINDOW,
        min_segment: MIN_SEGMENT,
        nights: history.nights.len(),
        metrics: &metrics,
    };
    let json = serde_json::to_value(&document).unwrap_or_default();
    Outcome { markdown: markdown(&document), json }
}

fn markdown(d: &Document<'_>) -> String {
    let mut r = String::new();
    let name = Path::new(&d.file).file_name().map_or_else(|| d.file.clone(), |n| n.to_string_lossy().into_owned());
    let _ = writeln!(r, "# tgload history: {name}\n");
    let _ = writeln!(
        r,
        "{} nights, {} metrics. Change points: E-Divisive means, Student's t-test p < {}, `minor` under {}%.",
        d.nights,
        d.metrics.len(),
        d.p_value,
        number(d.threshold * 100.0)
    );
    for metric in d.metrics {
        write_metric(&mut r, metric);
    }
    r
}

fn write_metric(r: &mut String, m: &Metric) {
    let direction = if m.lower_is_better { "lower is better" } else { "higher is better" };
    let _ = writeln!(r, "\n## `{}` ({direction})\n", m.metric);
    let at = match &m.last.commit {
        Some(commit) => format!("{} (`{}`)", m.last.night, short(commit)),
        None => m.last.night.clone(),
    };
    let _ = writeln!(r, "{} nights, last {} on {at}.\n", m.nights, number(m.last.value));
    if m.change_points.is_empty() {
        let _ = writeln!(r, "no change point");
        return;
    }
    let _ =
        writeln!(r, "| first night | commit | before → after | change | p | verdict |\n|---|---|---:|---:|---:|---|");
    for Change { point, minor } in &m.change_points {
        let commit = point.commit.as_deref().map_or("—".to_string(), |c| format!("`{}`", short(c)));
        let change = point.change_pct.map_or("from 0".to_string(), |pct| format!("{pct:+.1}%"));
        let verdict = if *minor { "minor" } else { point.verdict.as_str() };
        let _ = writeln!(
            r,
            "| {} | {commit} | {} → {} | {change} | {} | {verdict} |",
            point.night,
            number(point.before_mean),
            number(point.after_mean),
            p_value(point.p_value)
        );
    }
}

fn short(commit: &str) -> &str {
    commit.char_indices().nth(SHORT_COMMIT).map_or(commit, |(end, _)| &commit[..end])
}

/// Four significant digits, without an exponent and without trailing zeros: the history's metrics run from
/// error rates of 0.0012 to latencies of 1,250 ms, and one fixed number of decimals suits neither.
fn number(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return format!("{v}");
    }
    let decimals = (3 - v.abs().log10().floor() as i32).clamp(0, 12) as usize;
    let text = format!("{v:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    } else {
        text
    }
}

/// Confirmed p-values are below 0.001, so they read best as powers of ten.
fn p_value(p: f64) -> String {
    if p == 0.0 {
        "0".to_string()
    } else {
        format!("{p:.1e}")
    }
}
