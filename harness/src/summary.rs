//! The run's results: `summary.json` (schema_version 2, the contract with `charts` and `tgload compare`, see
//! `docs/run-directory.md`) and `report.md`, the same numbers for people. Built from the collector's totals,
//! the resource samples and the SLO verdicts handed in; pure.

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::collector::{ErrorCounts, Totals};
use crate::generator;
use crate::leak::{self, Leak};
use crate::recovery::Recovery;
use crate::slo::Verdict;

/// 2 added the verdicts (generator, leak, degradation, settling recovery, first failed step, harness) to 1.
pub const SCHEMA_VERSION: u32 = 2;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Status {
    Completed,
    Interrupted,
    BotCrashed,
    Error,
    /// No end was recorded: the harness was killed (SIGKILL, the OOM killer, a power cut); `tgload report`
    /// rebuilt the summary from what the run had written.
    Killed,
}

#[derive(Debug, Clone, Serialize)]
pub struct Summary {
    pub schema_version: u32,
    pub scenario: String,
    pub status: Status,
    pub duration_s: f64,
    pub actions: Actions,
    pub error_rate: f64,
    pub errors: ErrorCounts,
    pub throughput_per_s: f64,
    pub latency_ms: Percentiles,
    pub service_ms: Percentiles,
    /// Counts and end-to-end latency per kind of action (`text`, `/ask`, `button press`, ...).
    pub by_action: Vec<ByAction>,
    /// The same per phase of the load (the scenario's steps), in time order.
    pub by_phase: Vec<ByPhase>,
    /// The first phase that did not keep up (answers, errors, the latency rules), for a stepped load.
    pub first_failed_step: Option<FailedStep>,
    pub generator: Generator,
    pub bot: BotResources,
    /// The harness's own process (it hosts the mock too), so that a harness leak is never read as the bot's.
    pub harness: Process,
    /// The calls the bot made to the external API mock, by outcome (faults show here).
    pub external_api: ExternalCalls,
    /// The share of the bot's `/quote` answers that did not call the quote API (the bundled bot's cache);
    /// absent without `/quote` answers.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quote_cache_hit_ratio: Option<f64>,
    /// Each scheduled fault window that opened during the load: how bad it got and how long recovery took.
    pub faults: Vec<Recovery>,
    /// Late against early, after the warm-up: p95, p99, goodput and the bot's CPU per action.
    pub degradation: Vec<crate::degradation::Degradation>,
    pub slos: Vec<Verdict>,
    /// `pass` only for a completed run whose every objective held and whose generator was not saturated;
    /// `inconclusive` for a completed run whose generator was saturated, whatever its objectives said.
    pub verdict: &'static str,
    /// Each `[[journeys]]` entry (and `[[actions]]` entry with expectations): success rate and per-step results.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub journeys: Vec<crate::steps::JourneyResult>,
    /// The bot's sends against Telegram's limits (`[telegram] limits`), from the mock; absent when unknown.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub telegram_limits: Option<crate::limits::TelegramLimits>,
    /// Present only in a summary that `tgload report` rebuilt from the run's files.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rebuilt: Option<Rebuilt>,
    /// Present only in a summary that `tgload merge` built from shards' run directories.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub merged: Option<Merged>,
}

/// What `summary.json` says of a merged run, under `merged`: its shards, in shard order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Merged {
    pub shards: Vec<MergedShard>,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MergedShard {
    pub dir: String,
    /// `I/N`.
    pub shard: String,
    pub sent: u64,
    pub answered: u64,
    /// Its own generator verdict, judged on its machine.
    pub generator: generator::Verdict,
    /// Its clock's offset from the mock's, µs, as it measured it.
    pub clock_offset_us: Option<i64>,
}

/// What `summary.json` says of a rebuilt run, under `rebuilt`.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Rebuilt {
    /// No end was recorded (the summary's status is `killed`).
    pub killed: bool,
    /// The load the plan had, in seconds.
    pub planned_s: u64,
    /// `[from, to]` ranges of seconds (`t_s`, as in `timeseries.csv`) of the planned load that have no row.
    pub missing_seconds: Vec<(u64, u64)>,
    /// The latest moment the run's files show it alive, seconds since the load started.
    pub last_written_s: f64,
    /// The second through which `checkpoint.json` (per-action counts, generator lateness) was current.
    pub checkpoint_through_s: Option<u64>,
}

#[derive(Debug, Clone, Copy, Default, Serialize)]
pub struct Actions {
    pub sent: u64,
    pub answered: u64,
    pub errors: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    pub p50: f64,
    pub p95: f64,
    pub p99: f64,
    pub p999: f64,
    pub max: f64,
    pub mean: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ByAction {
    pub action: String,
    pub sent: u64,
    pub answered: u64,
    pub errors: u64,
    pub latency_ms: Percentiles,
}

#[derive(Debug, Clone, Serialize)]
pub struct Generator {
    /// `ok`, or `saturated` when the load was not generated as planned or the machine ran out of CPU: the run's
    /// verdict is then `inconclusive` (`generator`).
    pub verdict: generator::Verdict,
    pub reasons: Vec<String>,
    pub late_p99_ms: f64,
    pub late_max_ms: f64,
    /// What the harness adds before the bot can see an action: due → enqueued in the mock (zeros if none).
    pub overhead_p50_ms: f64,
    pub overhead_p99_ms: f64,
    pub cpu_pct: f64,
    pub rss_mb: f64,
}

/// One process's memory and CPU over the load: the bot's (with its children) or the harness's.
#[derive(Debug, Clone, Serialize)]
pub struct Process {
    pub rss_start_mb: f64,
    pub rss_peak_mb: f64,
    pub rss_end_mb: f64,
    /// `null` when the run is too short to tell a drift from the warm-up (see `drift_mb_per_h`).
    pub rss_drift_mb_per_h: Option<f64>,
    pub cpu_mean_pct: f64,
    pub cpu_peak_pct: f64,
    /// Whether its memory leaks: per-minute medians, Sen's slope and its 95 % interval against a floor.
    pub leak: Leak,
    /// Whether the process was sampled at all (an attached bot without `--bot-pid` is not): the report says so
    /// rather than show zeros.
    #[serde(skip)]
    pub measured: bool,
}

impl Process {
    fn of(track: &Track, leak_floor_mb_per_h: f64) -> Process {
        Process {
            rss_start_mb: track.first().map_or(0.0, |p| p.rss_mb),
            rss_peak_mb: track.rss_peak_mb(),
            rss_end_mb: track.last().map_or(0.0, |p| p.rss_mb),
            rss_drift_mb_per_h: drift_mb_per_h(track.points()).map(round3),
            cpu_mean_pct: round3(track.cpu_mean_pct()),
            cpu_peak_pct: track.cpu_peak_pct(),
            leak: leak::judge(&track.minute_medians(), leak_floor_mb_per_h),
            measured: track.first().is_some(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct BotResources {
    #[serde(flatten)]
    pub process: Process,
    pub exits: u32,
    pub restarts: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExternalCalls {
    pub quote: Calls,
    pub ask: Calls,
}

/// Requests one endpoint served: answered, failed with a 500, stalled past the client's timeout.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Calls {
    pub ok: u64,
    pub errors: u64,
    pub timeouts: u64,
}

/// One resource sample: seconds since the load started, RSS in MB (10^6 bytes), CPU (100 = one core).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    pub t_s: f64,
    pub rss_mb: f64,
    pub cpu_pct: f64,
}

/// What the summary gives of the results that the run's per-second files do not hold: each action's counts and
/// latency, and the generator's lateness and overhead. A live run takes it from the collector's totals;
/// `tgload report` from `checkpoint.json`, which the run rewrites every tenth second and at its end.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Breakdown {
    pub by_action: Vec<ByAction>,
    pub late_ms: Percentiles,
    pub overhead_ms: Percentiles,
}

/// `checkpoint.json`: the breakdown and the external API's counts as of the end of second `through_s`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Checkpoint {
    pub through_s: u64,
    pub breakdown: Breakdown,
    pub external_api: ExternalCalls,
    /// The breakdown's histograms, in the run's last checkpoint only (the per-second ones stay cheap).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub histograms: Option<Histograms>,
}

/// The whole run's histograms behind the breakdown, each V2 deflate in base64 as in `latency.hlog`, so that
/// `tgload merge` adds shards' together exactly.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Histograms {
    /// Each action's end-to-end latency, in the breakdown's order.
    pub by_action: Vec<String>,
    pub late: String,
    pub overhead: String,
}

impl Histograms {
    pub fn of(t: &Totals) -> Result<Histograms, String> {
        let encode = charts::hlog::encode_histogram;
        Ok(Histograms {
            by_action: t.by_kind.iter().map(|k| encode(&k.e2e)).collect::<Result<_, _>>()?,
            late: encode(&t.late)?,
            overhead: encode(&t.overhead)?,
        })
    }
}

impl Breakdown {
    pub fn of(t: &Totals) -> Breakdown {
        let by_action = t
            .by_kind
            .iter()
            .map(|k| ByAction {
                action: k.kind.clone(),
                sent: k.sent,
                answered: k.answered,
                errors: k.errors,
                latency_ms: Percentiles::of(&k.e2e),
            })
            .collect();
        Breakdown { by_action, late_ms: Percentiles::of(&t.late), overhead_ms: Percentiles::of(&t.overhead) }
    }
}

/// Everything a summary is made of.
pub struct Inputs<'a> {
    pub scenario: &'a str,
    pub status: Status,
    pub duration_s: f64,
    /// The counts and latency of the whole run (its `by_kind`, `late` and `overhead` are not read: see
    /// `breakdown`).
    pub totals: &'a Totals,
    pub breakdown: Breakdown,
    pub slos: Vec<Verdict>,
    /// The scenario's objectives, for judging each phase on its own.
    pub rules: &'a [crate::slo::Rule],
    pub bot: &'a Track,
    pub harness: &'a Track,
    /// The leak verdicts' practical floor, MB per hour.
    pub leak_floor_mb_per_h: f64,
    /// The scenario's late tolerance and the machine's cores, for the generator's verdict.
    pub late_tolerance_ms: f64,
    pub cpus: usize,
    pub exits: u32,
    pub restarts: u32,
    pub external_api: ExternalCalls,
    pub faults: Vec<Recovery>,
    pub degradation: Vec<crate::degradation::Degradation>,
    pub by_phase: Vec<ByPhase>,
    pub journeys: Vec<crate::steps::JourneyResult>,
}

impl Percentiles {
    /// Milliseconds from a microsecond histogram; zeros when it is empty.
    pub fn of(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        let ms = |us: u64| us as f64 / 1e3;
        Percentiles {
            p50: ms(h.value_at_quantile(0.50)),
            p95: ms(h.value_at_quantile(0.95)),
            p99: ms(h.value_at_quantile(0.99)),
            p999: ms(h.value_at_quantile(0.999)),
            max: ms(h.max()),
            mean: h.mean() / 1e3,
        }
    }
}

impl Summary {
    pub fn build(i: Inputs<'_>) -> Summary {
        let t = i.totals;
        let errors = t.errors.total();
        let (late, overhead) = (i.breakdown.late_ms, i.breakdown.overhead_ms);
        let health = generator::judge(&generator::Figures {
            late_tolerance_ms: i.late_tolerance_ms,
            late_p99_ms: late.p99,
            overhead_p99_ms: overhead.p99,
            due: t.sent,
            sent_late: t.errors.sent_late,
            harness_cpu_pct: i.harness.cpu_mean_pct(),
            bot_cpu_pct: i.bot.cpu_mean_pct(),
            cpus: i.cpus,
        });
        let bot = Process::of(i.bot, i.leak_floor_mb_per_h);
        let harness = Process::of(i.harness, i.leak_floor_mb_per_h);
        let quote_cache_hit_ratio = quote_cache_hit_ratio(&i.breakdown.by_action, &i.external_api);
        let slos = end_of_run_verdicts(i.slos, i.rules, &i.degradation, [&bot.leak, &harness.leak], &i.journeys);
        let passed = i.status == Status::Completed && slos.iter().all(|v| v.passed);
        let verdict = match (i.status, health.verdict) {
            (Status::Completed, generator::Verdict::Saturated) => "inconclusive",
            _ if passed => "pass",
            _ => "fail",
        };
        Summary {
            schema_version: SCHEMA_VERSION,
            scenario: i.scenario.to_string(),
            status: i.status,
            duration_s: round3(i.duration_s),
            actions: Actions { sent: t.sent, answered: t.answered, errors },
            error_rate: if t.sent == 0 { 0.0 } else { errors as f64 / t.sent as f64 },
            errors: t.errors,
            throughput_per_s: if i.duration_s > 0.0 { round3(t.answered as f64 / i.duration_s) } else { 0.0 },
            latency_ms: Percentiles::of(&t.e2e),
            service_ms: Percentiles::of(&t.service),
            by_action: i.breakdown.by_action,
            first_failed_step: first_failed_step(&i.by_phase, i.rules),
            by_phase: i.by_phase,
            generator: Generator {
                verdict: health.verdict,
                reasons: health.reasons,
                late_p99_ms: late.p99,
                late_max_ms: late.max,
                overhead_p50_ms: overhead.p50,
                overhead_p99_ms: overhead.p99,
                cpu_pct: round3(i.harness.cpu_mean_pct()),
                rss_mb: round3(i.harness.rss_peak_mb()),
            },
            bot: BotResources { process: bot, exits: i.exits, restarts: i.restarts },
            harness,
            external_api: i.external_api,
            quote_cache_hit_ratio,
            faults: i.faults,
            degradation: i.degradation,
            slos,
            verdict,
            journeys: i.journeys,
            telegram_limits: None,
            rebuilt: None,
            merged: None,
        }
    }
}

/// The objectives judged only at the end, on a verdict's interval rather than on a value: `degradation_p95 < 5%`
/// holds when the whole 95 % interval of the change for the worse is below 5 %, `bot_leak < 20MB/h` when the whole
/// interval of the slope is below 20 MB/h. Without an interval (a run too short) they fail: a soak gate must be
/// shown, not assumed. `slos` is in the order of `rules`.
fn end_of_run_verdicts(
    slos: Vec<Verdict>,
    rules: &[crate::slo::Rule],
    degradation: &[crate::degradation::Degradation],
    [bot_leak, harness_leak]: [&Leak; 2],
    journeys: &[crate::steps::JourneyResult],
) -> Vec<Verdict> {
    use crate::slo::Metric;
    slos.into_iter()
        .zip(rules.iter().map(Some).chain(std::iter::repeat(None)))
        .map(|(verdict, rule)| match rule.map(|r| (r, r.metric)) {
            Some((rule, Metric::Degradation(which))) => {
                let entry = degradation.iter().find(|d| d.metric == which);
                let worse_high = entry.and_then(|d| {
                    let [low, high] = d.ci95?;
                    Some(if which == "goodput" { -low } else { high })
                });
                rule.verdict(worse_high)
            }
            Some((rule, Metric::Leak(process))) => {
                let leak = if process == "bot" { bot_leak } else { harness_leak };
                rule.verdict(leak.ci95.map(|[_, high]| high))
            }
            Some((rule, _)) if rule.scope.is_some() => rule.verdict(rule.journey_value(journeys)),
            _ => verdict,
        })
        .collect()
}

/// 1 − quote API calls / `/quote` answers: each answer the cache served made no call (the bundled bot calls the
/// quote API for `/quote` only).
fn quote_cache_hit_ratio(by_action: &[ByAction], external: &ExternalCalls) -> Option<f64> {
    let answers: u64 = by_action.iter().filter(|a| a.action == "/quote").map(|a| a.answered).sum();
    let calls = external.quote.ok + external.quote.errors + external.quote.timeouts;
    (answers > 0).then(|| round3((1.0 - calls as f64 / answers as f64).clamp(0.0, 1.0)))
}

fn round3(v: f64) -> f64 {
    (v * 1000.0).round() / 1000.0
}

/// Samples the drift fit leaves out at the start: allocators, caches and pools grow there without leaking.
const WARM_UP_MIN_S: f64 = 5.0;
/// The shortest span of samples after the warm-up that a drift is estimated from.
const DRIFT_MIN_SPAN_S: f64 = 10.0;
/// The fit uses at most this many evenly spaced samples (a 72-hour run has 259,200), so that its pairs stay few.
const DRIFT_MAX_POINTS: usize = 600;

/// How fast a process's RSS grows, in MB per hour: the Theil–Sen slope (the median of the slopes between every two
/// samples, which a few outliers such as a GC pause or a burst cannot tilt) after the warm-up, the first tenth of
/// the run and at least its first 5 s. `None` when less than 10 s of samples remain: a short run has no drift to
/// tell apart from its warm-up.
pub fn drift_mb_per_h(points: &[Point]) -> Option<f64> {
    let (first, last) = (points.first()?.t_s, points.last()?.t_s);
    let warm_up_end = first + WARM_UP_MIN_S.max((last - first) / 10.0);
    let kept: Vec<&Point> = points.iter().filter(|p| p.t_s >= warm_up_end).collect();
    if kept.len() < 3 || last - kept[0].t_s < DRIFT_MIN_SPAN_S {
        return None;
    }
    let stride = kept.len().div_ceil(DRIFT_MAX_POINTS);
    let sample: Vec<&Point> = kept.into_iter().step_by(stride).collect();
    let mut slopes = Vec::with_capacity(sample.len() * sample.len() / 2);
    for (i, a) in sample.iter().enumerate() {
        for b in &sample[i + 1..] {
            if b.t_s > a.t_s {
                slopes.push((b.rss_mb - a.rss_mb) / (b.t_s - a.t_s));
            }
        }
    }
    slopes.sort_by(f64::total_cmp);
    let n = slopes.len();
    let median = if n % 2 == 1 { slopes[n / 2] } else { (slopes[n / 2 - 1] + slopes[n / 2]) / 2.0 };
    Some(median * 3600.0)
}

/// Extra context for `report.md` that is not part of the summary's schema.
#[derive(Default)]
pub struct Notes {
    pub command: String,
    pub users: usize,
    /// What went wrong with the run itself (a file that could not be written, a bot that would not start,
    /// charts that could not be drawn), first first.
    pub errors: Vec<String>,
    /// The first distinct control API failures.
    pub failures: Vec<String>,
    /// Menu button presses replaced by another action: the menu had left the mock's bounded chat history.
    pub callbacks_lost: usize,
    /// Actions replaced by another pick: they could not apply in their chat then (a join in a private chat, a
    /// reply before the bot had written, a block of a bot already blocked).
    pub replaced: usize,
    /// The mock's own view (`/control/bots/{token}/stats`), if it could be read.
    pub mock_stats: Option<serde_json::Value>,
    pub charts: Vec<String>,
}

mod phases;
mod report;
mod track;

pub use phases::{first_failed_step, ByPhase, FailedStep, Phases};
pub use report::report;
pub use track::Track;

#[cfg(test)]
mod tests;
