//! `tgload merge OUT SHARD_DIR...`: the run directories of the N shards of one load (`tgload run --shard I/N
//! --start-at T`) joined into one run directory, exactly: each second's histograms added per tag, counts summed,
//! and the summary replayed from the joined files as `tgload report` replays a run's, so the SLOs are judged once,
//! on all the data. This is the pure part: which shards may be merged, and how one second's rows and histograms
//! join; `command` reads and writes the files.

pub mod command;

use std::collections::BTreeMap;

use charts::series::{ErrorKinds, Row};
use hdrhistogram::Histogram;

use crate::collector::{histogram, KindTotals, Totals};
use crate::generator;
use crate::shard::Shard;
use crate::summary::{Breakdown, ByAction};

/// What the merge needs to know of one shard's run directory.
#[derive(Debug, Clone, PartialEq)]
pub struct ShardRun {
    /// The directory as given, for messages.
    pub dir: String,
    /// `meta.json`'s `shard`; `None` for a run without `--shard`.
    pub shard: Option<Shard>,
    /// `meta.json`'s `scenario` (the parsed scenario, overrides applied) and `scenario_sha256`.
    pub scenario: serde_json::Value,
    pub scenario_sha256: Option<String>,
    pub build_sha256: Option<String>,
    /// The load's start, unix µs (`meta.json`'s `start.unix_us`).
    pub start_us: Option<u64>,
    /// `summary.json`'s `status`; `None` when it has none (a shard killed, or still running).
    pub status: Option<String>,
    /// Its own figures, for the merged summary's `merged.shards[]`.
    pub figures: Figures,
}

/// A shard's own counts, generator verdict (judged on its machine) and clock offset from the mock.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Figures {
    pub sent: u64,
    pub answered: u64,
    pub generator: generator::Verdict,
    pub generator_reasons: Vec<String>,
    pub clock_offset_us: Option<i64>,
}

/// The shards in shard order, or every reason they cannot be merged, each naming its shard.
pub fn check(runs: Vec<ShardRun>) -> Result<Vec<ShardRun>, Vec<String>> {
    let mut problems = Vec::new();
    let Some(first) = runs.first().cloned() else { return Err(vec!["no shard directory given".into()]) };
    for run in &runs {
        if run.shard.is_none() {
            problems.push(format!("{}: not a shard (its run had no --shard)", run.dir));
        }
        match run.status.as_deref() {
            Some("completed") => {}
            Some(status) => problems.push(format!("{}: its run ended `{status}`, not `completed`", run.dir)),
            None => problems.push(format!("{}: no summary.json: the shard was killed or has not finished", run.dir)),
        }
        if run.dir == first.dir {
            continue;
        }
        if run.scenario_sha256 != first.scenario_sha256 || run.scenario != first.scenario {
            problems.push(format!("{}: ran a different scenario than {}", run.dir, first.dir));
        }
        if run.build_sha256 != first.build_sha256 {
            problems.push(format!("{}: ran a different tgload build than {}", run.dir, first.dir));
        }
        if run.start_us != first.start_us {
            problems.push(format!(
                "{}: its load started at another moment than {}'s (give every shard the same --start-at)",
                run.dir, first.dir
            ));
        }
    }
    let counts: Vec<usize> = runs.iter().filter_map(|r| r.shard.map(|s| s.count)).collect();
    if let Some(&count) = counts.first() {
        if counts.iter().any(|&c| c != count) {
            let each: Vec<String> = runs.iter().filter_map(|r| r.shard.map(|s| format!("{} is {s}", r.dir))).collect();
            problems.push(format!("the shards were cut from different counts: {}", each.join(", ")));
        } else {
            for index in 0..count {
                let given: Vec<&str> =
                    runs.iter().filter(|r| r.shard.is_some_and(|s| s.index == index)).map(|r| r.dir.as_str()).collect();
                match given.as_slice() {
                    [] => problems.push(format!("shard {index}/{count} is missing")),
                    [_] => {}
                    dirs => problems.push(format!(
                        "shard {index}/{count} is given {} times: {}",
                        dirs.len(),
                        dirs.join(", ")
                    )),
                }
            }
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let mut runs = runs;
    runs.sort_by_key(|r| r.shard.map_or(0, |s| s.index));
    Ok(runs)
}

/// One second's rows of the shards (those that wrote one) joined: counts and active users summed, the phase the
/// first's, the percentiles those of the joined end-to-end histogram, the bot's sample whichever shard took one.
pub fn join_rows(rows: &[&Row], e2e: &Histogram<u64>) -> Row {
    let mut joined = Row {
        t_s: rows.first().map_or(0.0, |r| r.t_s),
        phase: rows.first().map_or(String::new(), |r| r.phase.clone()),
        active_users: 0,
        sent: 0,
        answered: 0,
        errors: 0,
        p50_ms: None,
        p95_ms: None,
        p99_ms: None,
        bot_rss_mb: rows.iter().find_map(|r| r.bot_rss_mb),
        bot_cpu_pct: rows.iter().find_map(|r| r.bot_cpu_pct),
        errors_by: None,
    };
    let mut kinds = ErrorKinds::default();
    for row in rows {
        joined.active_users += row.active_users;
        joined.sent += row.sent;
        joined.answered += row.answered;
        joined.errors += row.errors;
        let k = row.errors_by.unwrap_or_default();
        kinds.timeout += k.timeout;
        kinds.bot_api_error += k.bot_api_error;
        kinds.bot_crashed += k.bot_crashed;
        kinds.sent_late += k.sent_late;
        kinds.transport += k.transport;
        kinds.wrong_answer += k.wrong_answer;
    }
    joined.errors_by = Some(kinds);
    if !e2e.is_empty() {
        let ms = |q: f64| Some(e2e.value_at_quantile(q) as f64 / 1e3);
        (joined.p50_ms, joined.p95_ms, joined.p99_ms) = (ms(0.50), ms(0.95), ms(0.99));
    }
    joined
}

/// Adds `more` into `total`, which grows to hold values beyond its range.
pub fn add(total: &mut Histogram<u64>, more: &Histogram<u64>) -> Result<(), String> {
    total.auto(true);
    total.add(more).map_err(|e| format!("histograms cannot be added: {e:?}"))
}

/// One shard's breakdown with its decoded histograms: one per action, in the breakdown's order.
pub struct ShardBreakdown {
    pub breakdown: Breakdown,
    pub by_action: Vec<Histogram<u64>>,
    pub late: Histogram<u64>,
    pub overhead: Histogram<u64>,
}

/// The whole load's breakdown from the shards': actions joined by name, in order of first appearance.
pub fn join_breakdowns(shards: Vec<ShardBreakdown>) -> Result<Breakdown, String> {
    let mut totals = Totals::empty();
    let mut index: BTreeMap<String, usize> = BTreeMap::new();
    for ShardBreakdown { breakdown, by_action, late, overhead } in shards {
        if breakdown.by_action.len() != by_action.len() {
            return Err(format!("{} actions but {} histograms", breakdown.by_action.len(), by_action.len()));
        }
        for (ByAction { action, sent, answered, errors, .. }, e2e) in breakdown.by_action.into_iter().zip(by_action) {
            let at = *index.entry(action.clone()).or_insert_with(|| {
                totals.by_kind.push(KindTotals { kind: action, sent: 0, answered: 0, errors: 0, e2e: histogram() });
                totals.by_kind.len() - 1
            });
            let kind = &mut totals.by_kind[at];
            (kind.sent, kind.answered, kind.errors) =
                (kind.sent + sent, kind.answered + answered, kind.errors + errors);
            add(&mut kind.e2e, &e2e)?;
        }
        add(&mut totals.late, &late)?;
        add(&mut totals.overhead, &overhead)?;
    }
    Ok(Breakdown::of(&totals))
}

/// The load's generator verdict from the shards' own (each judged on its machine) and the one judged on the
/// joined data: saturated if any is, with each reason naming its shard.
pub fn join_generators(
    joined: (generator::Verdict, Vec<String>),
    shards: &[(String, generator::Verdict, Vec<String>)],
) -> (generator::Verdict, Vec<String>) {
    let (mut verdict, mut reasons) = joined;
    for (shard, shard_verdict, shard_reasons) in shards {
        if *shard_verdict == generator::Verdict::Saturated {
            verdict = generator::Verdict::Saturated;
            reasons.extend(shard_reasons.iter().map(|r| format!("shard {shard}: {r}")));
        }
    }
    (verdict, reasons)
}

#[cfg(test)]
mod tests;
