//! `tgload report RUN_DIR`: rebuilds `summary.json`, `report.md` and the charts from what a run wrote as it went
//! (`meta.json`, `events.jsonl`, `timeseries.csv`, the latency log, `resources.csv`, `checkpoint.json`), for a
//! run that was interrupted, whose harness was killed, or that was written by an older tgload. A run with no
//! `run_end` event is `killed`; the summary says which seconds no row was written for. This is the I/O; the
//! replay of the seconds is `replay`, pure.

mod replay;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::Value;

use crate::error::Error;
use crate::run::Finished;
use crate::signals::Interruption;
use crate::slo::{Judge, Rule};
use crate::summary::{self, Checkpoint, Inputs, Notes, Point, Status, Summary, Track};
pub use replay::{Replay, Replayed, Window};

/// The run's plan, as `meta.json` recorded it.
struct Plan {
    name: String,
    planned_s: u64,
    users: usize,
    rules: Vec<Rule>,
    sustained_s: Option<usize>,
    leak_floor_mb_per_h: f64,
    late_tolerance_ms: f64,
    /// The cores of the machine the run was on.
    cpus: usize,
    /// The steps: label, length (ramp and hold), users.
    steps: Vec<(String, Duration, usize)>,
    /// Fault windows: start and duration in seconds.
    faults: Vec<(f64, f64)>,
    command: String,
}

/// What `events.jsonl` tells: how the run ended, the bot's exits and restarts, the fault windows' names.
#[derive(Default)]
struct Story {
    status: Option<Status>,
    interrupted: Option<(f64, Interruption)>,
    exits: u32,
    restarts: u32,
    fault_names: Vec<(f64, String)>,
    /// Each restart of the bot: when it exited and when it was started again, seconds since the load started.
    restarted: Vec<(f64, f64)>,
    last_exit: Option<f64>,
    last_t_s: f64,
}

/// Rebuilds the directory; the summary's status is the recorded one, or `killed`.
pub fn run(dir: &Path) -> Result<Finished, Error> {
    let Rebuilt { summary, notes, interrupted_by } = rebuild(dir)?;
    let mut finished = crate::run::complete_directory(dir, &summary, notes)?;
    finished.interrupted_by = interrupted_by;
    Ok(finished)
}

/// What the directory's files give, before they are written: the summary, the report's notes and the signal
/// that interrupted the run, if one did.
pub struct Rebuilt {
    pub summary: Summary,
    pub notes: Notes,
    pub interrupted_by: Option<Interruption>,
}

/// Replays the directory's files into its summary (`summary.rebuilt` says how); writes nothing.
pub fn rebuild(dir: &Path) -> Result<Rebuilt, Error> {
    if !dir.join("meta.json").is_file() {
        return Err(Error::Usage(format!("{} is not a run directory: it has no meta.json", dir.display())));
    }
    let plan = read_plan(dir)?;
    let story = read_story(dir)?;
    let rows = charts::series::Timeseries::from_csv(&read(dir, "timeseries.csv")?.unwrap_or_default())
        .map_err(|e| Error::Usage(e.to_string()))?
        .rows;
    let (bot, harness, resources_last) = read_resources(dir)?;
    let checkpoint: Option<Checkpoint> = match read(dir, "checkpoint.json")? {
        Some(text) => Some(serde_json::from_str(&text).map_err(|e| bad(dir, "checkpoint.json", e.line(), e))?),
        None => None,
    };
    let mut windows: Vec<Window> = plan
        .faults
        .iter()
        .enumerate()
        .map(|(i, &(start, duration))| Window {
            name: story
                .fault_names
                .iter()
                .find(|(t, _)| (t - start).abs() < 0.5)
                .map_or_else(|| format!("fault {}", i + 1), |(_, name)| name.clone()),
            start: Duration::from_secs_f64(start),
            end: Duration::from_secs_f64(start + duration),
        })
        .collect();
    for (name, start, end) in crate::recovery::load_reductions(&plan.steps) {
        windows.push(Window { name, start, end });
    }
    for (i, &(exited, started)) in story.restarted.iter().enumerate() {
        windows.push(Window {
            name: format!("bot restart {}", i + 1),
            start: Duration::from_secs_f64(exited.max(0.0)),
            end: Duration::from_secs_f64(started.max(0.0)),
        });
    }
    let buckets = crate::degradation::Buckets::new(crate::degradation::bucket_s(plan.planned_s));
    let mut replay = Replay::new(Judge::new(plan.rules.clone(), plan.sustained_s), windows, buckets);
    replay_seconds(dir, &rows, &mut replay)?;
    let last_row_s = rows.last().map_or(0.0, |r| r.t_s);
    let stopped_s = story.interrupted.map_or(last_row_s, |(t, _)| t);
    let duration_s = stopped_s.min(plan.planned_s as f64).max(0.0);
    // A run directory from before `run_end` was written still says how it ended in its own summary.
    let earlier: Option<Status> = read(dir, "summary.json")?
        .and_then(|text| serde_json::from_str::<Value>(&text).ok())
        .and_then(|summary| serde_json::from_value(summary.get("status")?.clone()).ok());
    let status = story.status.or(earlier.filter(|s| *s != Status::Killed)).unwrap_or(Status::Killed);
    // A killed run was meant to go on to the plan's end: every second from its last row on is missing.
    let expected_s = if status == Status::Killed { plan.planned_s } else { duration_s.ceil() as u64 };
    let replayed = replay.finish(duration_s, expected_s);
    let checkpoint = checkpoint.unwrap_or_default();
    let rebuilt = summary::Rebuilt {
        killed: status == Status::Killed,
        planned_s: plan.planned_s,
        missing_seconds: replayed.missing.clone(),
        last_written_s: story.last_t_s.max(last_row_s).max(resources_last),
        checkpoint_through_s: (checkpoint.through_s > 0).then_some(checkpoint.through_s),
    };
    let mut summary = Summary::build(Inputs {
        scenario: &plan.name,
        status,
        duration_s,
        totals: &replayed.totals,
        breakdown: checkpoint.breakdown,
        slos: replayed.slos,
        rules: &plan.rules,
        bot: &bot,
        harness: &harness,
        leak_floor_mb_per_h: plan.leak_floor_mb_per_h,
        late_tolerance_ms: plan.late_tolerance_ms,
        cpus: plan.cpus,
        exits: story.exits,
        restarts: story.restarts,
        external_api: checkpoint.external_api,
        faults: replayed.faults,
        degradation: replayed.degradation,
        by_phase: replayed.by_phase,
        journeys: Vec::new(),
    });
    summary.rebuilt = Some(rebuilt);
    let notes = Notes { command: plan.command, users: plan.users, ..Notes::default() };
    Ok(Rebuilt { summary, notes, interrupted_by: story.interrupted.map(|(_, by)| by) })
}

/// Feeds every written second to the replay, with its histograms from the latency log (all its hourly parts).
fn replay_seconds(dir: &Path, rows: &[charts::series::Row], replay: &mut Replay) -> Result<(), Error> {
    let mut next = 0;
    for part in charts::hlog::parts(dir) {
        let name = part.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let text = std::fs::read_to_string(&part).map_err(Error::io(format!("read {}", part.display())))?;
        charts::hlog::for_each_interval(&text, |tag, start_s, histogram| {
            match tag {
                "e2e" => {
                    // Rows before this second that the log has no histogram for (none, in a healthy run).
                    while next < rows.len() && (rows[next].t_s as u64) < start_s + 1 {
                        replay.second(&rows[next], crate::collector::histogram());
                        next += 1;
                    }
                    if next < rows.len() && rows[next].t_s as u64 == start_s + 1 {
                        replay.second(&rows[next], histogram);
                        next += 1;
                    }
                }
                "service" => replay.service(&histogram),
                "queue" => replay.queue(&histogram),
                _ => {}
            }
            Ok(())
        })
        .map_err(|e| Error::Usage(format!("{}: {e}", dir.join(&name).display())))?;
    }
    for row in &rows[next..] {
        replay.second(row, crate::collector::histogram());
    }
    Ok(())
}

fn read_plan(dir: &Path) -> Result<Plan, Error> {
    let text = read(dir, "meta.json")?.unwrap_or_default();
    let meta: Value = serde_json::from_str(&text).map_err(|e| bad(dir, "meta.json", e.line(), e))?;
    let scenario = meta.get("scenario").filter(|s| s.is_object()).ok_or_else(|| {
        Error::Usage(format!(
            "{}: no scenario: the run failed before its load started (summary.json says why)",
            dir.join("meta.json").display()
        ))
    })?;
    let field = |name: &str| scenario.get(name).ok_or_else(|| bad(dir, "meta.json", 0, format!("no scenario.{name}")));
    let steps = field("steps")?.as_array().cloned().unwrap_or_default();
    let secs = |v: &Value, k: &str| v.get(k).and_then(Value::as_f64).unwrap_or(0.0);
    let planned: f64 = steps.iter().map(|s| secs(s, "ramp") + secs(s, "hold")).sum();
    let users = steps.iter().filter_map(|s| s.get("users").and_then(Value::as_u64)).max().unwrap_or(0) as usize;
    let mut rules = Vec::new();
    for rule in field("slos")?.as_array().cloned().unwrap_or_default() {
        let text = rule.as_str().unwrap_or_default();
        rules.push(Rule::parse(text).map_err(|e| bad(dir, "meta.json", 0, format!("scenario.slos: {e}")))?);
    }
    let faults = scenario
        .get("faults")
        .and_then(Value::as_array)
        .map(|faults| faults.iter().map(|f| (secs(f, "start"), secs(f, "duration"))).collect())
        .unwrap_or_default();
    let command = meta
        .get("command_line")
        .and_then(Value::as_array)
        .map_or(String::new(), |words| words.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" "));
    let steps = steps
        .iter()
        .map(|s| {
            let label = s.get("label").and_then(Value::as_str).unwrap_or_default().to_string();
            let length = Duration::from_secs_f64((secs(s, "ramp") + secs(s, "hold")).max(0.0));
            (label, length, s.get("users").and_then(Value::as_u64).unwrap_or(0) as usize)
        })
        .collect();
    Ok(Plan {
        steps,
        name: field("name")?.as_str().unwrap_or("scenario").to_string(),
        planned_s: planned.round() as u64,
        users,
        rules,
        sustained_s: scenario.get("sustained").and_then(Value::as_f64).map(|s| s as usize),
        late_tolerance_ms: scenario.get("late_tolerance").and_then(Value::as_f64).unwrap_or(0.1) * 1e3,
        cpus: meta.pointer("/machine/cpus").and_then(Value::as_u64).map_or_else(crate::machine_cpus, |n| n as usize),
        leak_floor_mb_per_h: scenario
            .get("leak_floor_mb_per_h")
            .and_then(Value::as_f64)
            .unwrap_or(crate::leak::DEFAULT_FLOOR_MB_PER_H),
        faults,
        command,
    })
}

fn read_story(dir: &Path) -> Result<Story, Error> {
    let mut story = Story::default();
    let text = read(dir, "events.jsonl")?.unwrap_or_default();
    let torn = !text.is_empty() && !text.ends_with('\n');
    let n_lines = text.lines().count();
    for (i, line) in text.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        let event: Value = match serde_json::from_str(line) {
            Ok(event) => event,
            Err(_) if torn && i + 1 == n_lines => break,
            Err(e) => return Err(bad(dir, "events.jsonl", i + 1, e)),
        };
        let t_s = event.get("t_s").and_then(Value::as_f64).unwrap_or(0.0);
        let name = event.get("name").and_then(Value::as_str).unwrap_or_default();
        story.last_t_s = story.last_t_s.max(t_s);
        match event.get("kind").and_then(Value::as_str).unwrap_or_default() {
            "run_end" => {
                story.status = event.get("status").cloned().and_then(|s| serde_json::from_value(s).ok());
            }
            "interrupted" => {
                // Runs written before SIGTERM was handled named Ctrl-C "ctrl-c".
                let by = Interruption::from_name(name).unwrap_or(Interruption::Interrupt);
                story.interrupted.get_or_insert((t_s, by));
            }
            "bot_exited" => {
                story.exits += 1;
                story.last_exit = Some(t_s);
            }
            "bot_started" if name == "restart" => {
                story.restarts += 1;
                if let Some(exited) = story.last_exit.take() {
                    story.restarted.push((exited, t_s));
                }
            }
            "fault_start" => story.fault_names.push((t_s, name.to_string())),
            _ => {}
        }
    }
    Ok(story)
}

/// The bot's and the harness's samples from `resources.csv`, and the time of the last one.
fn read_resources(dir: &Path) -> Result<(Track, Track, f64), Error> {
    let (mut bot, mut harness, mut last) = (Track::default(), Track::default(), 0.0);
    let text = read(dir, "resources.csv")?.unwrap_or_default();
    let torn = !text.is_empty() && !text.ends_with('\n');
    let n_lines = text.lines().count();
    for (i, line) in text.lines().enumerate().skip(1) {
        let cells: Vec<Option<f64>> = line.split(',').map(|c| c.trim().parse().ok()).collect();
        let point = |rss: usize, cpu: usize| match (cells.first(), cells.get(rss), cells.get(cpu)) {
            (Some(Some(t_s)), Some(Some(rss_mb)), Some(Some(cpu_pct))) => {
                Some(Point { t_s: *t_s, rss_mb: *rss_mb, cpu_pct: *cpu_pct })
            }
            _ => None,
        };
        match (cells.len(), point(3, 4)) {
            (5, Some(h)) => {
                harness.push(h);
                last = h.t_s;
                if let Some(b) = point(1, 2) {
                    bot.push(b);
                }
            }
            _ if torn && i + 1 == n_lines => break,
            _ => {
                return Err(bad(dir, "resources.csv", i + 1, "expected t_s and four numbers (the bot's may be empty)"))
            }
        }
    }
    Ok((bot, harness, last))
}

fn read(dir: &Path, name: &str) -> Result<Option<String>, Error> {
    let path = dir.join(name);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Some(text)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(Error::io(format!("read {}", path.display()))(e)),
    }
}

fn bad(dir: &Path, name: &str, line: usize, reason: impl std::fmt::Display) -> Error {
    let path: PathBuf = dir.join(name);
    match line {
        0 => Error::Usage(format!("{}: {reason}", path.display())),
        line => Error::Usage(format!("{}:{line}: {reason}", path.display())),
    }
}
