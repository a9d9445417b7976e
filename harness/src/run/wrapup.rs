//! Completing a run directory: `summary.json`, `report.md` and the charts, for a run that ended however it
//! ended, including one that never got to start its load; and the last figures the summary gathers at the end.

use std::path::Path;

use serde_json::json;

use super::Finished;
use crate::collector::Collector;
use crate::driver::now_us;
use crate::error::Error;
use crate::recovery::{self, Recovery, Second};
use crate::rundir::{write_atomic, RunDir};
use crate::scenario::Fault;
use crate::summary::{self, Calls, ExternalCalls, Inputs, Notes, Status, Summary};

/// Writes `summary.json` and `report.md` into the run directory `dir`, renders the charts, links them from
/// the report, and writes `report.html` (the verdict, the charts to hover and zoom, the report's tables).
pub(crate) fn complete_directory(dir: &Path, summary: &Summary, mut notes: Notes) -> Result<Finished, Error> {
    let write = |name: &str, contents: &[u8]| write_atomic(&dir.join(name), contents);
    let json = serde_json::to_string_pretty(summary).unwrap_or_default();
    write("summary.json", json.as_bytes())?;
    if let Some(stats) = &notes.mock_stats {
        // The mock's own in-process timings: the reference the harness's numbers are checked against.
        write("mock-stats.json", &serde_json::to_vec_pretty(stats).unwrap_or_default())?;
    }
    write("report.md", summary::report(summary, &notes).as_bytes())?;
    // The charts and the page read the run's files once, between them.
    let run = charts::Run::load(dir).map_err(|e| e.to_string());
    match run.as_ref().map_err(Clone::clone).and_then(|run| super::render_charts(run, dir)) {
        Ok(paths) => {
            notes.charts = paths
                .iter()
                .filter(|p| p.extension().is_some_and(|e| e == "svg"))
                .filter_map(|p| p.strip_prefix(dir).ok().map(|p| p.display().to_string()))
                .collect();
        }
        Err(e) => notes.errors.push(format!("charts: {e}")),
    }
    let mut report = summary::report(summary, &notes);
    // A run whose files do not parse still gets its page: the verdict and the tables, without charts.
    let run = run.unwrap_or_else(|_| charts::Run {
        name: dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
        summary: serde_json::to_value(summary).ok(),
        ..charts::Run::default()
    });
    if let Err(e) = charts::write_run_page(&run, dir, &report) {
        notes.errors.push(format!("report.html: {e}"));
        report = summary::report(summary, &notes);
    }
    write("report.md", report.as_bytes())?;
    Ok(Finished {
        dir: dir.to_path_buf(),
        status: summary.status,
        passed: summary.verdict == "pass",
        inconclusive: summary.verdict == "inconclusive",
        interrupted_by: None,
        report,
        summary: summary.clone(),
    })
}

/// Completes the directory of a run that failed before its load could start.
pub(crate) fn write_failed(mut dir: RunDir, scenario: &str, error: &Error) -> Result<Finished, Error> {
    dir.event(now_us(), "error", json!({"name": error.to_string()}))?;
    dir.flush_early_events()?;
    let collector = Collector::new(0, 0, 0);
    let summary = Summary::build(Inputs {
        scenario,
        status: Status::Error,
        duration_s: 0.0,
        totals: collector.totals(),
        breakdown: Default::default(),
        slos: Vec::new(),
        rules: &[],
        bot: &Default::default(),
        harness: &Default::default(),
        leak_floor_mb_per_h: crate::leak::DEFAULT_FLOOR_MB_PER_H,
        late_tolerance_ms: 100.0,
        cpus: crate::machine_cpus(),
        exits: 0,
        restarts: 0,
        external_api: ExternalCalls::default(),
        faults: Vec::new(),
        degradation: Vec::new(),
        by_phase: Vec::new(),
        journeys: Vec::new(),
    });
    complete_directory(dir.path(), &summary, Notes { errors: vec![error.to_string()], ..Notes::default() })
}

/// The calls the bot made to the external API mock, by outcome.
/// What the in-process external API mock served; zeros when there is none (a bot attached with `--mock-url`).
pub(super) fn external_calls(api: Option<&bot_under_test::external_api::ExternalApi>) -> ExternalCalls {
    let Some(api) = api else { return ExternalCalls::default() };
    let calls = |s: bot_under_test::external_api::Served| Calls { ok: s.ok, errors: s.errors, timeouts: s.timeouts };
    ExternalCalls { quote: calls(api.served_quote()), ask: calls(api.served_ask()) }
}

/// How each fault window that opened during the load's `closed` seconds played out; `seconds` holds those
/// seconds from the first window's baseline on (the session keeps no others).
pub(crate) fn recoveries(faults: &[Fault], seconds: &[Second], closed: u64) -> Vec<Recovery> {
    let opened = |f: &&Fault| f.start.as_secs() < closed;
    faults.iter().filter(opened).map(|f| recovery::judge(&f.name(), f.start, f.start + f.duration, seconds)).collect()
}

/// The first second that a recovery can look at: the baseline of the earliest fault window; `None` without faults.
pub(crate) fn first_second_judged(faults: &[Fault]) -> Option<u64> {
    faults.iter().map(|f| f.start.as_secs().saturating_sub(recovery::BASELINE_S)).min()
}
