//! `tgload capacity SCENARIO`: runs the search's probes, each a whole `tgload run` of the open-paced scenario at
//! one rate into its own directory under the capacity directory, reads each back, and writes `summary.json`
//! (`capacity`), `capacity.md` and `charts/capacity.svg`. The judging is the parent module's.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use serde_json::{json, Value};

use super::{judge, Capacity, Figures, LimitedBy, Next, ProbeVerdict, Search};
use crate::error::Error;
use crate::meta::compact_stamp;
use crate::scenario::{Pacing, Scenario};

/// What `tgload capacity` was asked to do.
#[derive(Debug, Clone)]
pub struct Options {
    /// The probes' own options: the scenario, `--bot-cmd`, `--webhook`, `--users`; `out` is the capacity
    /// directory.
    pub run: crate::Options,
    /// The first probe's rate (default: the scenario's).
    pub start: Option<f64>,
    /// How long each probe runs.
    pub probe: Duration,
    pub precision: f64,
}

/// How the search ended.
pub struct Outcome {
    pub dir: PathBuf,
    pub capacity: Capacity,
    pub report: String,
}

impl Outcome {
    /// 0 when the bot's limit was found, 98 when the search could not tell (the generator gave out first, or no
    /// probe failed).
    pub fn exit_code(&self) -> u8 {
        match self.capacity.limited_by {
            LimitedBy::Bot => 0,
            _ => 98,
        }
    }
}

/// The part of each probe left out of the trend test: the first quarter (connections warming, the bot's caches).
const WARM_UP_SHARE: f64 = 0.25;

pub async fn run(options: Options) -> Result<Outcome, Error> {
    let path = &options.run.scenario;
    let text = std::fs::read_to_string(path).map_err(|source| Error::ReadScenario { path: path.clone(), source })?;
    let scenario = Scenario::parse(path, &text)?;
    let Pacing::Open { rate_per_s } = scenario.pacing else {
        return Err(Error::Usage(format!(
            "{}: capacity needs an open-paced scenario ([pacing] mode = \"open\"): the rate is what it searches",
            path.display()
        )));
    };
    let start = options.start.unwrap_or(rate_per_s);
    if options.probe < Duration::from_secs(5) {
        return Err(Error::Usage("--probe must be at least 5s: a probe needs a steady part to judge".into()));
    }
    let stem = path.file_stem().map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
    let dir =
        options.run.out.clone().unwrap_or_else(|| {
            PathBuf::from("runs").join(format!("{}-capacity-{stem}", compact_stamp(SystemTime::now())))
        });
    std::fs::create_dir_all(&dir).map_err(Error::io(format!("create {}", dir.display())))?;
    let mut search = Search::new(start, options.precision);
    let mut failure = None;
    while let Next::Probe { rate, trial } = search.next() {
        let name = format!("probe-{:02}-{rate:.0}-per-s", search.probes().len() + 1);
        eprintln!("tgload capacity: probe {} at {rate:.0}/s (trial {trial})", search.probes().len() + 1);
        let probe_options = crate::Options {
            out: Some(dir.join(&name)),
            rate: Some(rate),
            duration: Some(options.probe),
            ..options.run.clone()
        };
        match crate::run::run(probe_options).await {
            // A signal ends the search with what it has; the interrupted probe is no measurement.
            Ok(finished) if finished.status == crate::summary::Status::Interrupted => {
                let by = finished.interrupted_by.unwrap_or(crate::signals::Interruption::Interrupt);
                failure = Some(Error::Interrupted(by));
                break;
            }
            Ok(_) => {}
            // A signal ends the search with what it has.
            Err(error @ Error::Interrupted(_)) => {
                failure = Some(error);
                break;
            }
            // A probe that failed to run at all (the bot would not start) is not a measurement.
            Err(error) if !dir.join(&name).join("summary.json").is_file() => return Err(error),
            Err(_) => {}
        }
        let figures = read_probe(&dir.join(&name), rate)?;
        search.record(judge(&figures, name, trial));
    }
    let capacity = search.result();
    let report = write_results(&dir, &scenario.name, &capacity)?;
    if let Some(error) = failure {
        return Err(error);
    }
    Ok(Outcome { dir, capacity, report })
}

/// A probe's figures from its run directory.
fn read_probe(dir: &Path, rate: f64) -> Result<Figures, Error> {
    let summary: Value = std::fs::read_to_string(dir.join("summary.json"))
        .ok()
        .and_then(|text| serde_json::from_str(&text).ok())
        .ok_or_else(|| Error::Load(format!("{}: no readable summary.json", dir.display())))?;
    let text = std::fs::read_to_string(dir.join("timeseries.csv")).unwrap_or_default();
    let rows = charts::series::Timeseries::from_csv(&text).map(|t| t.rows).unwrap_or_default();
    let duration_s = summary["duration_s"].as_f64().unwrap_or(0.0);
    let steady_from = duration_s * WARM_UP_SHARE;
    let steady_p50_ms =
        rows.iter().filter(|r| r.t_s > steady_from && r.t_s <= duration_s).filter_map(|r| r.p50_ms).collect();
    let count = |pointer: &str| summary.pointer(pointer).and_then(Value::as_u64).unwrap_or(0);
    let reasons = summary["generator"]["reasons"].as_array().cloned().unwrap_or_default();
    Ok(Figures {
        rate,
        duration_s,
        sent: count("/actions/sent"),
        answered: count("/actions/answered"),
        errors: count("/actions/errors"),
        answered_with_error: count("/errors/bot_api_error") + count("/errors/sent_late"),
        p99_ms: summary["latency_ms"]["p99"].as_f64().unwrap_or(0.0),
        slos_passed: summary["slos"].as_array().is_none_or(|slos| slos.iter().all(|v| v["passed"] == true)),
        generator_ok: summary["generator"]["verdict"] != "saturated",
        generator_reasons: reasons.iter().filter_map(|r| r.as_str().map(String::from)).collect(),
        steady_p50_ms,
    })
}

/// `summary.json`, `capacity.md` and the chart; returns the report.
fn write_results(dir: &Path, scenario: &str, capacity: &Capacity) -> Result<String, Error> {
    let summary = json!({
        "schema_version": crate::summary::SCHEMA_VERSION,
        "kind": "capacity",
        "scenario": scenario,
        "capacity": capacity,
    });
    let write = |name: &str, bytes: &[u8]| crate::rundir::write_atomic(&dir.join(name), bytes);
    write("summary.json", serde_json::to_string_pretty(&summary).unwrap_or_default().as_bytes())?;
    let points: Vec<charts::figure::CapacityPoint> = capacity
        .probes
        .iter()
        .map(|p| charts::figure::CapacityPoint {
            offered_per_s: p.offered_per_s,
            goodput_per_s: p.goodput_per_s,
            p99_ms: p.p99_ms,
        })
        .collect();
    let chart = charts::render_capacity(scenario, &points, capacity.max_sustainable_per_s, &dir.join("charts"));
    let report = report(scenario, capacity, chart.err().map(|e| e.to_string()));
    write("capacity.md", report.as_bytes())?;
    Ok(report)
}

fn report(scenario: &str, c: &Capacity, chart_error: Option<String>) -> String {
    use std::fmt::Write;
    let mut r = format!("# tgload capacity: {scenario}\n\n");
    let rate = |v: Option<f64>| v.map_or("-".to_string(), |v| format!("{v:.0}/s"));
    let verdict = match c.limited_by {
        LimitedBy::Bot => format!(
            "**The bot sustains {}**; it does not sustain {} (the bracket is {:.1} % wide).",
            rate(c.max_sustainable_per_s),
            rate(c.first_unsustainable_per_s),
            c.bracket.unwrap_or(0.0) * 100.0
        ),
        LimitedBy::Generator => format!(
            "**Inconclusive: the generator gave out before the bot did.** The bot sustained {}; above that the \
             generator could not keep the rate on this machine, so the bot's limit is higher or unknown.",
            rate(c.max_sustainable_per_s)
        ),
        LimitedBy::Inconclusive => format!(
            "**Inconclusive**: no probe failed up to {}.",
            rate(c.probes.iter().map(|p| p.offered_per_s).reduce(f64::max))
        ),
    };
    let _ = writeln!(r, "{verdict}\n");
    let _ = writeln!(r, "| probe | offered | trial | goodput | error rate | p99 | trend z | verdict | why |");
    let _ = writeln!(r, "|---|---:|---:|---:|---:|---:|---:|---|---|");
    for p in &c.probes {
        let verdict = match p.verdict {
            ProbeVerdict::Sustainable => "sustainable",
            ProbeVerdict::Unsustainable => "unsustainable",
            ProbeVerdict::GeneratorLimited => "generator limited",
        };
        let _ = writeln!(
            r,
            "| `{}` | {:.0}/s | {} | {:.1}/s | {:.2} % | {:.1} ms | {} | {verdict} | {} |",
            p.dir,
            p.offered_per_s,
            p.trial,
            p.goodput_per_s,
            p.error_rate * 100.0,
            p.p99_ms,
            p.trend_z.map_or("-".to_string(), |z| format!("{z:.1}")),
            p.reasons.join("; ")
        );
    }
    let _ = writeln!(
        r,
        "\nA probe is sustainable when goodput is at least 99 % of the offered rate, at most 1 % of actions \
         failed, the scenario's SLOs held and per-second p50 did not rise through its last three quarters \
         (Mann-Kendall, p < 0.01); one whose generator was saturated says nothing about the bot."
    );
    match chart_error {
        None => {
            let _ = writeln!(r, "\n![capacity](charts/capacity.svg)");
        }
        Some(e) => {
            let _ = writeln!(r, "\nThe chart could not be drawn: {e}");
        }
    }
    r
}
