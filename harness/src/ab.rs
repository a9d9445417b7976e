//! `tgload ab SCENARIO --base-bot-cmd … --candidate-bot-cmd … --repeat N`: runs two bots alternately on this
//! machine, in ABBA order (AB, BA, AB, ...), so that a drift of the machine over the session (thermal state, a
//! neighbour's load, caches) falls on both sides alike, then compares the two sets. Each side is a repeats
//! directory (`base/`, `candidate/`) and the comparison goes to `compare/`.

use std::path::PathBuf;
use std::time::SystemTime;

use crate::compare;
use crate::error::Error;
use crate::meta::compact_stamp;
use crate::repeats::command::{check_repeat, write_set};
use crate::repeats::worst_exit_code;

/// The runs a side gets when `--repeat` is not given. Calibrated in `harness/BENCHMARKS.md` (`cargo xtask bench
/// compare`).
pub const DEFAULT_REPEAT: usize = 3;

/// What `tgload ab` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The runs' own options (scenario, `--users`, `--duration`, `--rate`, `--webhook`); `bot_cmd` and `out` are
    /// set per run.
    pub run: crate::Options,
    /// `None`: the bundled bot.
    pub base_bot_cmd: Option<String>,
    pub candidate_bot_cmd: String,
    pub repeat: usize,
    pub out: Option<PathBuf>,
    pub threshold: Option<compare::Threshold>,
    pub gate: Option<Vec<String>>,
    pub allow_mismatch: bool,
}

/// How the A/B session ended.
#[derive(Debug)]
pub struct Outcome {
    pub dir: PathBuf,
    /// `None` when a run failed or a signal stopped the session before both sides had a run.
    pub comparison: Option<compare::Outcome>,
    /// A run's exit code that ends the session by itself: a signal (128 + N) or a failed run (1).
    pub stopped_by: Option<u8>,
}

impl Outcome {
    /// The comparison's exit code (0, 99, 98), unless a run was interrupted or failed: then that run's.
    pub fn exit_code(&self) -> u8 {
        match (self.stopped_by, &self.comparison) {
            (Some(code), _) => code,
            (None, Some(comparison)) => comparison.exit_code(),
            (None, None) => 1,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Arm {
    Base,
    Candidate,
}

/// The order of the runs: pair k runs base then candidate when k is even, candidate then base when it is odd.
fn order(repeat: usize) -> impl Iterator<Item = (usize, Arm)> {
    (0..repeat).flat_map(|k| {
        let pair = if k % 2 == 0 { [Arm::Base, Arm::Candidate] } else { [Arm::Candidate, Arm::Base] };
        pair.map(|arm| (k + 1, arm))
    })
}

/// Runs both sides alternately, writes each side's set and compares them.
pub async fn run(options: Options) -> Result<Outcome, Error> {
    check_repeat(options.repeat)?;
    let stem = options.run.scenario.file_stem().map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
    let dir = options
        .out
        .clone()
        .unwrap_or_else(|| PathBuf::from("runs").join(format!("{}-ab-{stem}", compact_stamp(SystemTime::now()))));
    let sides = [dir.join("base"), dir.join("candidate")];
    let mut codes: [Vec<u8>; 2] = [Vec::new(), Vec::new()];
    let mut stopped_by = None;
    for (k, arm) in order(options.repeat) {
        let (side, bot_cmd) = match arm {
            Arm::Base => (0, options.base_bot_cmd.clone()),
            Arm::Candidate => (1, Some(options.candidate_bot_cmd.clone())),
        };
        eprintln!("tgload ab: pair {k} of {}, {}", options.repeat, if side == 0 { "base" } else { "candidate" });
        let run = crate::Options { out: Some(sides[side].join(format!("r{k}"))), bot_cmd, ..options.run.clone() };
        match crate::run::run(run).await {
            Ok(finished) => {
                codes[side].push(finished.exit_code());
                if finished.interrupted_by.is_some() {
                    stopped_by = Some(finished.exit_code());
                    break;
                }
            }
            Err(e) if codes.iter().all(Vec::is_empty) && e.is_usage() => return Err(e),
            Err(e) => {
                eprintln!("tgload ab: a run failed: {e}");
                codes[side].push(e.exit_code());
                stopped_by = Some(e.exit_code());
                break;
            }
        }
    }
    for (side, codes) in sides.iter().zip(&codes) {
        if !codes.is_empty() {
            write_set(side, options.repeat, codes)?;
        }
    }
    if stopped_by.is_none() {
        // A run whose own objectives failed (99) or was inconclusive (98) still measured: the comparison judges.
        let worst = worst_exit_code(codes.iter().flatten().copied());
        stopped_by = (worst != 0 && worst != 98 && worst != 99).then_some(worst);
    }
    let comparison = match codes.iter().all(|c| !c.is_empty()) {
        true => Some(compare::run(&compare::Options {
            base: sides[0].clone(),
            candidate: sides[1].clone(),
            out: Some(dir.join("compare")),
            threshold: options.threshold,
            gate: options.gate.clone(),
            allow_mismatch: options.allow_mismatch,
        })?),
        false => None,
    };
    Ok(Outcome { dir, comparison, stopped_by })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_alternate_abba() {
        let arms: Vec<(usize, Arm)> = order(3).collect();
        use Arm::{Base as A, Candidate as B};
        assert_eq!(arms, [(1, A), (1, B), (2, B), (2, A), (3, A), (3, B)]);
    }
}
