//! The I/O around a comparison: reads both run directories, writes `compare.md` and `compare.json` (each to
//! `*.tmp`, then renamed) and renders the comparison charts into the out directory. It decides nothing; the
//! verdicts come from `compare::compare`. A run directory that cannot be read is bad input (`Error::Usage`), an
//! out directory that cannot be written an I/O error; a chart that cannot be drawn is only noted.

use std::io::ErrorKind;
use std::path::{Path, PathBuf};

use serde::Serialize;

use super::input::{self, Run};
use super::{compare, markdown, Charts, Comparison, Threshold, Verdict};
use crate::error::Error;
use crate::rundir::write_atomic;

/// `tgload compare`'s command line.
#[derive(Debug, Clone)]
pub struct Options {
    pub base: PathBuf,
    pub candidate: PathBuf,
    /// Default: `<candidate>/compare-<base dir name>`.
    pub out: Option<PathBuf>,
    pub threshold: Threshold,
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
    /// 0 when no metric is worse, 99 when one is (the same code as a run whose objectives fail).
    pub fn exit_code(&self) -> u8 {
        if self.comparison.verdict == Verdict::Worse {
            99
        } else {
            0
        }
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
    let base = load(&options.base)?;
    let candidate = load(&options.candidate)?;
    let comparison = compare(&base, &candidate, options.threshold);
    let out = options.out.clone().unwrap_or_else(|| default_out(&options.base, &options.candidate));
    std::fs::create_dir_all(&out).map_err(Error::io(format!("create {}", out.display())))?;
    let charts: Charts = charts::render_comparison(&options.base, &options.candidate, &out)
        .map(|paths| paths.iter().filter_map(|p| p.file_name()).map(|n| n.to_string_lossy().into_owned()).collect())
        .map_err(|e| e.to_string());
    let markdown = markdown(&comparison, &charts);
    let document = Document {
        comparison: &comparison,
        charts: charts.as_deref().unwrap_or_default(),
        charts_error: charts.as_ref().err().map(String::as_str),
    };
    let json = serde_json::to_string_pretty(&document).unwrap_or_default();
    write_atomic(&out.join("compare.json"), format!("{json}\n").as_bytes())?;
    write_atomic(&out.join("compare.md"), markdown.as_bytes())?;
    Ok(Outcome { comparison, markdown, out })
}

/// Reads a run directory's `summary.json` (required) and `meta.json` (optional).
pub fn load(dir: &Path) -> Result<Run, Error> {
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
    Ok(Run { dir: dir.display().to_string(), summary, meta })
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
