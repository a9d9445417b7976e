//! The files of `tgload merge`: reads each shard's `meta.json` and `summary.json`, refuses shards that do not make
//! one load (naming each), then writes OUT as a run directory: `timeseries.csv` and the latency log a second at a
//! time (an hour of the shards' encoded histograms in memory at most, decoded a second at a time),
//! `resources.csv`, `events.jsonl` and `meta.json` of the first shard, `checkpoint.json` with the joined
//! breakdown; then replays it like `tgload report` into `summary.json`, the report and the charts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use charts::series::Row;
use hdrhistogram::Histogram;
use serde_json::{json, Value};

use super::{add, check, join_breakdowns, join_generators, join_rows, Figures, ShardBreakdown, ShardRun};
use crate::collector::histogram;
use crate::error::Error;
use crate::generator::Verdict;
use crate::run::Finished;
use crate::rundir::{self, RunDir};
use crate::sampler::Usage;
use crate::shard::Shard;
use crate::summary::{Checkpoint, Histograms, Merged, MergedShard};

/// The latency log's tags, in the order each second is written.
const TAGS: [&str; 3] = ["e2e", "service", "queue"];

/// Merges `shards` into `out`; a bad set of shards is `Error::Usage` naming every problem.
pub fn run(out: &Path, shards: &[PathBuf]) -> Result<Finished, Error> {
    let mut runs = Vec::with_capacity(shards.len());
    for dir in shards {
        runs.push(read_shard(dir)?);
    }
    let runs = check(runs).map_err(|problems| Error::Usage(format!("cannot merge: {}", problems.join("; "))))?;
    let dirs: Vec<&Path> = runs.iter().map(|r| Path::new(&r.dir)).collect();
    let start_us = runs[0].start_us.unwrap_or(0);
    let mut dir = RunDir::create(out)?;
    dir.begin_load(SystemTime::UNIX_EPOCH + Duration::from_micros(start_us))?;
    merge_seconds(&mut dir, &dirs)?;
    merge_resources(&mut dir, &dirs)?;
    drop(dir);
    let copy = |name: &str| -> Result<(), Error> {
        let from = dirs[0].join(name);
        std::fs::copy(&from, out.join(name)).map(|_| ()).map_err(Error::io(format!("copy {}", from.display())))
    };
    copy("events.jsonl")?;
    write_meta(out, &dirs)?;
    write_checkpoint(out, &dirs)?;
    if let Some(stats) = latest_mock_stats(&dirs) {
        std::fs::copy(&stats, out.join("mock-stats.json")).map_err(Error::io(format!("copy {}", stats.display())))?;
    }
    let mut rebuilt = crate::report::rebuild(out)?;
    let summary = &mut rebuilt.summary;
    summary.rebuilt = None;
    let label = |run: &ShardRun| run.shard.unwrap_or(Shard::WHOLE).to_string();
    let shard_generators: Vec<(String, Verdict, Vec<String>)> =
        runs.iter().map(|r| (label(r), r.figures.generator, r.figures.generator_reasons.clone())).collect();
    let merged = runs
        .iter()
        .map(|run| MergedShard {
            dir: run.dir.clone(),
            shard: label(run),
            sent: run.figures.sent,
            answered: run.figures.answered,
            generator: run.figures.generator,
            clock_offset_us: run.figures.clock_offset_us,
        })
        .collect();
    let joined = (summary.generator.verdict, std::mem::take(&mut summary.generator.reasons));
    (summary.generator.verdict, summary.generator.reasons) = join_generators(joined, &shard_generators);
    if summary.generator.verdict == Verdict::Saturated && summary.verdict == "pass" {
        summary.verdict = "inconclusive";
    }
    summary.merged = Some(Merged { shards: merged });
    let command: Vec<String> = std::env::args().collect();
    rebuilt.notes.command = command.join(" ");
    let mut finished = crate::run::complete_directory(out, &rebuilt.summary, rebuilt.notes)?;
    finished.inconclusive = rebuilt.summary.generator.verdict == Verdict::Saturated;
    Ok(finished)
}

fn read_shard(dir: &Path) -> Result<ShardRun, Error> {
    if !dir.join("meta.json").is_file() {
        return Err(Error::Usage(format!(
            "{}: not a run directory (no meta.json): the shard is missing",
            dir.display()
        )));
    }
    let meta = read_json(dir, "meta.json")?;
    let shard = match &meta["shard"] {
        Value::Null => None,
        s => Some(Shard {
            index: s["index"].as_u64().unwrap_or(0) as usize,
            count: s["count"].as_u64().unwrap_or(1) as usize,
        }),
    };
    let own = match dir.join("summary.json").is_file() {
        true => read_json(dir, "summary.json")?,
        false => Value::Null,
    };
    let text = |v: &Value| v.as_str().map(String::from);
    let figures = Figures {
        sent: own["actions"]["sent"].as_u64().unwrap_or(0),
        answered: own["actions"]["answered"].as_u64().unwrap_or(0),
        generator: serde_json::from_value(own["generator"]["verdict"].clone()).unwrap_or_default(),
        generator_reasons: serde_json::from_value(own["generator"]["reasons"].clone()).unwrap_or_default(),
        clock_offset_us: meta["start"]["clock_offset_us"].as_i64(),
    };
    Ok(ShardRun {
        dir: dir.display().to_string(),
        shard,
        scenario: meta["scenario"].clone(),
        scenario_sha256: text(&meta["scenario_sha256"]),
        build_sha256: text(&meta["build_sha256"]),
        start_us: meta["start"]["unix_us"].as_u64(),
        status: text(&own["status"]),
        figures,
    })
}

/// Writes every second any shard wrote, in order: the joined row, and the histograms added per tag. The latency
/// log is read an hour part at a time, its histograms kept encoded until their second is written.
fn merge_seconds(out: &mut RunDir, dirs: &[&Path]) -> Result<(), Error> {
    let mut rows: BTreeMap<u64, Vec<Row>> = BTreeMap::new();
    for dir in dirs {
        let text = read_text(dir, "timeseries.csv")?;
        let series = charts::series::Timeseries::from_csv(&text)
            .map_err(|e| Error::Usage(format!("{}: {e}", dir.join("timeseries.csv").display())))?;
        for row in series.rows {
            rows.entry(row.t_s as u64).or_default().push(row);
        }
    }
    let n_parts = dirs.iter().map(|d| charts::hlog::parts(d).len()).max().unwrap_or(0);
    let mut rows = rows.into_iter().peekable();
    for part in 0..n_parts {
        // (second, tag) → the shards' encoded histograms.
        let mut encoded: BTreeMap<(u64, usize), Vec<String>> = BTreeMap::new();
        for dir in dirs {
            let path = dir.join(charts::hlog::part_name(part));
            let Ok(text) = std::fs::read_to_string(&path) else { continue };
            charts::hlog::for_each_encoded(&text, |tag, start_s, histogram| {
                if let Some(t) = TAGS.iter().position(|&known| known == tag) {
                    encoded.entry((start_s, t)).or_default().push(histogram.to_string());
                }
                Ok(())
            })
            .map_err(|e| Error::Usage(format!("{}: {e}", path.display())))?;
        }
        while let Some(&(second, _)) = encoded.keys().next() {
            let mut joined: Vec<Histogram<u64>> = Vec::with_capacity(TAGS.len());
            for t in 0..TAGS.len() {
                let mut total = histogram();
                for text in encoded.remove(&(second, t)).unwrap_or_default() {
                    let h =
                        charts::hlog::decode_histogram(&text).map_err(|e| Error::Usage(format!("latency log: {e}")))?;
                    add(&mut total, &h).map_err(Error::Usage)?;
                }
                joined.push(total);
            }
            // Rows of seconds before this one that no latency log had (none, in a healthy run).
            while let Some((_, shard_rows)) = rows.next_if(|(t_s, _)| *t_s <= second) {
                write_row(out, &shard_rows, &histogram())?;
            }
            if let Some((_, shard_rows)) = rows.next_if(|(t_s, _)| *t_s == second + 1) {
                write_row(out, &shard_rows, &joined[0])?;
            }
            let tagged: Vec<(&str, &Histogram<u64>)> = TAGS.iter().copied().zip(joined.iter()).collect();
            out.latency(second, &tagged)?;
        }
    }
    for (_, shard_rows) in rows {
        write_row(out, &shard_rows, &histogram())?;
    }
    Ok(())
}

fn write_row(out: &mut RunDir, rows: &[Row], e2e: &Histogram<u64>) -> Result<(), Error> {
    let refs: Vec<&Row> = rows.iter().collect();
    let row = join_rows(&refs, e2e);
    out.row(&rundir::Row {
        t_s: row.t_s as u64,
        phase: &row.phase,
        active_users: row.active_users as usize,
        sent: row.sent,
        answered: row.answered,
        errors: row.errors,
        errors_by: row.errors_by.unwrap_or_default().into(),
        percentiles_ms: row.p50_ms.zip(row.p95_ms).zip(row.p99_ms).map(|((a, b), c)| [a, b, c]),
        bot: row.bot_rss_mb.zip(row.bot_cpu_pct),
    })
}

/// `resources.csv` by whole second: the bot's sample from whichever shard took one (`--bot-pid`), and the
/// busiest generator's (the largest RSS and CPU of the shards that second).
fn merge_resources(out: &mut RunDir, dirs: &[&Path]) -> Result<(), Error> {
    let mut seconds: BTreeMap<i64, (f64, Option<Usage>, Usage)> = BTreeMap::new();
    for dir in dirs {
        let text = read_text(dir, "resources.csv").unwrap_or_default();
        for line in text.lines().skip(1) {
            let cells: Vec<Option<f64>> = line.split(',').map(|c| c.trim().parse().ok()).collect();
            let [Some(t_s), bot_rss, bot_cpu, Some(rss), Some(cpu)] = cells[..] else { continue };
            let usage = |mb: f64, cpu_pct: f64| Usage { rss_bytes: (mb * 1e6) as u64, cpu_pct };
            let entry = seconds.entry(t_s.round() as i64).or_insert((t_s, None, usage(0.0, 0.0)));
            entry.1 = entry.1.or(bot_rss.zip(bot_cpu).map(|(m, c)| usage(m, c)));
            entry.2.rss_bytes = entry.2.rss_bytes.max(usage(rss, cpu).rss_bytes);
            entry.2.cpu_pct = entry.2.cpu_pct.max(cpu);
        }
    }
    for (t_s, bot, harness) in seconds.into_values() {
        out.resources(t_s, bot, harness)?;
    }
    Ok(())
}

/// The first shard's `meta.json`, no longer a shard's: its `shard` gone, `merged_from` the shards' directories.
fn write_meta(out: &Path, dirs: &[&Path]) -> Result<(), Error> {
    let mut meta = read_json(dirs[0], "meta.json")?;
    meta["shard"] = Value::Null;
    meta["merged_from"] = json!(dirs.iter().map(|d| d.display().to_string()).collect::<Vec<_>>());
    meta["command_line"] = json!(std::env::args().collect::<Vec<_>>());
    rundir::write_atomic(&out.join("meta.json"), serde_json::to_string_pretty(&meta).unwrap_or_default().as_bytes())
}

/// `checkpoint.json` with the breakdown joined from the shards' last checkpoints' histograms.
fn write_checkpoint(out: &Path, dirs: &[&Path]) -> Result<(), Error> {
    let mut shards = Vec::with_capacity(dirs.len());
    let mut through_s = u64::MAX;
    let mut external_api = None;
    for dir in dirs {
        let path = dir.join("checkpoint.json");
        let bad = |e: String| Error::Usage(format!("{}: {e}", path.display()));
        let checkpoint: Checkpoint =
            serde_json::from_str(&read_text(dir, "checkpoint.json")?).map_err(|e| bad(e.to_string()))?;
        let Some(Histograms { by_action, late, overhead }) = checkpoint.histograms else {
            return Err(bad("no histograms: the shard did not end, or an older tgload wrote it".into()));
        };
        let decode = |text: &String| charts::hlog::decode_histogram(text).map_err(bad);
        let by_action = by_action.iter().map(decode).collect::<Result<Vec<_>, _>>()?;
        let (late, overhead) = (decode(&late)?, decode(&overhead)?);
        shards.push(ShardBreakdown { breakdown: checkpoint.breakdown, by_action, late, overhead });
        through_s = through_s.min(checkpoint.through_s);
        external_api.get_or_insert(checkpoint.external_api);
    }
    let breakdown = join_breakdowns(shards).map_err(|e| Error::Usage(format!("checkpoint.json: {e}")))?;
    let checkpoint =
        Checkpoint { through_s, breakdown, external_api: external_api.unwrap_or_default(), histograms: None };
    rundir::write_atomic(&out.join("checkpoint.json"), &serde_json::to_vec(&checkpoint).unwrap_or_default())
}

/// The mock's stats as the last shard to end read them: the mock is shared, so its counts are the whole load's.
fn latest_mock_stats(dirs: &[&Path]) -> Option<PathBuf> {
    dirs.iter()
        .map(|d| d.join("mock-stats.json"))
        .filter_map(|p| Some((std::fs::metadata(&p).ok()?.modified().ok()?, p)))
        .max_by_key(|(modified, _)| *modified)
        .map(|(_, p)| p)
}

fn read_text(dir: &Path, name: &str) -> Result<String, Error> {
    let path = dir.join(name);
    std::fs::read_to_string(&path).map_err(Error::io(format!("read {}", path.display())))
}

fn read_json(dir: &Path, name: &str) -> Result<Value, Error> {
    let path = dir.join(name);
    serde_json::from_str(&read_text(dir, name)?)
        .map_err(|e| Error::Usage(format!("{}:{}: {e}", path.display(), e.line())))
}
