//! `tgload run SCENARIO --repeat N`: runs the scenario N times, each a whole `tgload run` into `rK/` of the set's
//! directory, then reads the runs back and writes the set's `summary.json` and `report.md` (`write_set`, which
//! `tgload ab` uses for each of its sides too). A signal stops the set after the run it interrupted; a run that
//! fails stops it too, since the next one would most likely fail the same way.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use hdrhistogram::Histogram;

use super::{markdown, summarize, RunFigures, Set};
use crate::compare::command::{load_with_latency, repeats};
use crate::error::Error;
use crate::meta::compact_stamp;
use crate::rundir::write_atomic;

/// Most repeats a set may have: a typo of 1000 for 10 should not start a day of runs.
pub const MAX_REPEATS: usize = 200;

/// What `tgload run --repeat` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// Each run's own options; `out` is the set's directory.
    pub run: crate::Options,
    pub repeat: usize,
}

/// A set written out.
#[derive(Debug)]
pub struct Outcome {
    pub dir: PathBuf,
    pub set: Set,
    /// The set's `report.md`, for printing.
    pub report: String,
    /// Each finished run's summary, in order, for the CI outputs.
    pub runs: Vec<crate::summary::Summary>,
}

impl Outcome {
    /// The worst of the runs' exit codes.
    pub fn exit_code(&self) -> u8 {
        self.set.exit_code
    }
}

/// Checks a repeat count.
pub fn check_repeat(repeat: usize) -> Result<(), Error> {
    if (1..=MAX_REPEATS).contains(&repeat) {
        Ok(())
    } else {
        Err(Error::Usage(format!("--repeat {repeat}: give 1 to {MAX_REPEATS} runs")))
    }
}

/// Runs the set and writes its summary.
pub async fn run(options: Options) -> Result<Outcome, Error> {
    check_repeat(options.repeat)?;
    let stem = options.run.scenario.file_stem().map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
    let dir = options.run.out.clone().unwrap_or_else(|| {
        PathBuf::from("runs").join(format!("{}-{stem}-x{}", compact_stamp(SystemTime::now()), options.repeat))
    });
    std::fs::create_dir_all(&dir).map_err(Error::io(format!("create {}", dir.display())))?;
    let mut codes = Vec::new();
    let mut runs = Vec::new();
    for k in 1..=options.repeat {
        eprintln!("tgload: repeat {k} of {}", options.repeat);
        let run = crate::Options { out: Some(dir.join(format!("r{k}"))), ..options.run.clone() };
        match crate::run::run(run).await {
            Ok(finished) => {
                codes.push(finished.exit_code());
                let interrupted = finished.interrupted_by.is_some();
                runs.push(finished.summary);
                if interrupted {
                    break;
                }
            }
            // A scenario or flag the first run refuses is bad usage, and nothing was measured.
            Err(e) if k == 1 && e.is_usage() => return Err(e),
            Err(e) => {
                eprintln!("tgload: repeat {k} failed: {e}");
                codes.push(e.exit_code());
                break;
            }
        }
    }
    let set = write_set(&dir, options.repeat, &codes)?;
    let report = markdown(&set);
    Ok(Outcome { dir, set, report, runs })
}

/// Reads the runs of the set in `dir` (their exit codes in `codes`, in order) and writes its `summary.json` and
/// `report.md`.
pub fn write_set(dir: &Path, planned: usize, codes: &[u8]) -> Result<Set, Error> {
    let mut figures = Vec::new();
    let mut e2e: Option<Histogram<u64>> = None;
    let mut scenario = String::new();
    for (k, run_dir) in repeats(dir).iter().enumerate() {
        let (run, run_e2e) = load_with_latency(run_dir)?;
        scenario.clone_from(&run.summary.scenario);
        let name = format!("r{}", k + 1);
        // A run with a summary but no recorded code (a set rebuilt by hand) counts as its status says.
        let code = codes.get(k).copied().unwrap_or(if run.summary.status == "completed" { 0 } else { 1 });
        figures.push(RunFigures::of(&name, &run, code));
        match (&mut e2e, run_e2e) {
            (Some(total), Some(run_e2e)) => {
                total.add(&run_e2e).map_err(|e| Error::Usage(format!("{}: {e:?}", run_dir.display())))?
            }
            (None, run_e2e) => e2e = run_e2e,
            (Some(_), None) => {}
        }
    }
    let set = summarize(&scenario, planned, figures, e2e.as_ref());
    let json = serde_json::to_string_pretty(&set).unwrap_or_default();
    write_atomic(&dir.join("summary.json"), format!("{json}\n").as_bytes())?;
    write_atomic(&dir.join("report.md"), markdown(&set).as_bytes())?;
    Ok(set)
}
