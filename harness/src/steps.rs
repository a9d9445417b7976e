//! Per-journey and per-step results: how many journeys started, ended and succeeded, and for each step its
//! counts, errors by category, latency to the first answering call and, for answers of several calls, to the
//! last, with a few examples of wrong answers. Fixed memory: a histogram pair and at most three examples per step.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::collector::{histogram, ActionResult, Category, ErrorCounts};
use crate::scenario::Mix;
use crate::summary::Percentiles;

/// How many examples of wrong answers each step keeps.
const MAX_EXAMPLES: usize = 3;

/// Which journey step an action was; `ends` says whether it ended its journey, and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StepRef {
    pub journey: usize,
    pub step: usize,
    /// `Some(true)`: the journey's last step went right; `Some(false)`: the journey stopped at this step.
    pub ends: Option<bool>,
}

struct StepTally {
    name: String,
    sent: u64,
    answered: u64,
    errors: ErrorCounts,
    first: Histogram<u64>,
    last: Histogram<u64>,
    examples: Vec<String>,
}

struct JourneyTally {
    name: String,
    /// Shown in `journeys[]`: a `[[journeys]]` entry, or an `[[actions]]` entry with expectations.
    shown: bool,
    started: u64,
    ended: u64,
    succeeded: u64,
    steps: Vec<StepTally>,
}

/// The tallies of a run, one per journey of the scenario's mix.
pub struct Tally {
    journeys: Vec<JourneyTally>,
}

/// One journey in `summary.json`'s `journeys[]`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JourneyResult {
    pub name: String,
    pub started: u64,
    /// Journeys that got to their end or stopped at a failed step (those still under way at the end are not).
    pub ended: u64,
    pub succeeded: u64,
    /// `succeeded / ended`; `null` when none ended.
    pub success_rate: Option<f64>,
    pub steps: Vec<StepResult>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StepResult {
    pub name: String,
    pub sent: u64,
    pub answered: u64,
    pub errors: ErrorCounts,
    /// Due → the first answering call.
    pub latency_ms: Percentiles,
    /// Due → the last call of the answer, for steps that wait for several messages or a stream of edits.
    pub last_ms: Option<Percentiles>,
    /// A few wrong answers: what was wrong, with what the bot said.
    pub wrong_answers: Vec<String>,
}

impl Tally {
    pub fn new(mix: &Mix) -> Tally {
        let journeys = mix
            .journeys()
            .map(|j| JourneyTally {
                name: j.name.clone(),
                shown: !j.single || j.steps.iter().any(|s| !s.expect.is_empty() || s.capture.is_some()),
                started: 0,
                ended: 0,
                succeeded: 0,
                steps: j
                    .steps
                    .iter()
                    .map(|s| StepTally {
                        name: s.name.clone(),
                        sent: 0,
                        answered: 0,
                        errors: ErrorCounts::default(),
                        first: histogram(),
                        last: histogram(),
                        examples: Vec::new(),
                    })
                    .collect(),
            })
            .collect();
        Tally { journeys }
    }

    /// Counts one action of a journey step; `category` is its error category, if it is an error.
    pub fn record(&mut self, r: &ActionResult, category: Option<Category>) {
        let Some(at) = r.step else { return };
        let Some(journey) = self.journeys.get_mut(at.journey) else { return };
        if at.step == 0 {
            journey.started += 1;
        }
        if let Some(ok) = at.ends {
            journey.ended += 1;
            journey.succeeded += u64::from(ok);
        }
        let Some(step) = journey.steps.get_mut(at.step) else { return };
        step.sent += 1;
        if let Some(category) = category {
            step.errors.add(category);
        }
        if let Some(answered) = r.outcome.answered_us() {
            step.answered += 1;
            step.first.saturating_record(answered.saturating_sub(r.due_us).max(1));
            if let Some(last) = r.last_us {
                step.last.saturating_record(last.max(answered).saturating_sub(r.due_us).max(1));
            }
        }
        if let Some(said) = &r.said {
            if step.examples.len() < MAX_EXAMPLES && !step.examples.contains(said) {
                step.examples.push(said.clone());
            }
        }
    }

    pub fn results(&self) -> Vec<JourneyResult> {
        self.journeys
            .iter()
            .filter(|j| j.shown)
            .map(|j| JourneyResult {
                name: j.name.clone(),
                started: j.started,
                ended: j.ended,
                succeeded: j.succeeded,
                success_rate: (j.ended > 0).then(|| j.succeeded as f64 / j.ended as f64),
                steps: j
                    .steps
                    .iter()
                    .map(|s| StepResult {
                        name: s.name.clone(),
                        sent: s.sent,
                        answered: s.answered,
                        errors: s.errors,
                        latency_ms: Percentiles::of(&s.first),
                        last_ms: (!s.last.is_empty()).then(|| Percentiles::of(&s.last)),
                        wrong_answers: s.examples.clone(),
                    })
                    .collect(),
            })
            .collect()
    }
}
