//! `tgload run`: orchestration. It creates the run directory, starts the mock, the external API mock and the
//! bot, waits until the bot polls, lets goose drive the users, and reacts to one closed set of events (tick,
//! result, sample, bot exited, Ctrl-C, deadline, load done) in a single loop, which feeds the collector and
//! writes the run's streams. Whatever ends the run, the directory is completed: summary, report, charts.

mod resources;
mod session;
mod setup;
mod timeline;
mod wrapup;

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use crate::error::Error;
use crate::meta::{compact_stamp, Meta};
use crate::metrics::Exporter;
use crate::rundir::RunDir;
use crate::scenario::Scenario;
use crate::summary::Status;
pub(crate) use wrapup::complete_directory;

/// The token the bot under test gets; the mock accepts any `<digits>:<letters>` token.
pub const TOKEN: &str = "7000001:tgload-bot-under-test-AAAAAAAAAAAAAAAAA";

/// What `tgload run` was asked to do.
#[derive(Debug, Clone, Default)]
pub struct Options {
    pub scenario: PathBuf,
    pub out: Option<PathBuf>,
    pub users: Option<usize>,
    pub duration: Option<Duration>,
    /// The arrival rate of an open-paced scenario, actions per second at its busiest step.
    pub rate: Option<f64>,
    pub webhook: bool,
    pub bot_cmd: Option<String>,
    pub restart: bool,
    /// The command line as typed, for `meta.json`.
    pub command_line: Vec<String>,
    /// Where to serve the live metrics (`--metrics-addr`; port 0 for a free one); `None`: not served.
    pub metrics_addr: Option<std::net::SocketAddr>,
    /// A mock and a bot that already run (`--mock-url`): tgload starts neither.
    pub attach: Option<Attach>,
    /// The part of the scenario this generator drives (`--shard I/N`); the whole of it by default.
    pub shard: crate::shard::Shard,
    /// When the load starts (`--start-at`), on every shard; otherwise at the first whole second once ready.
    pub start_at: Option<SystemTime>,
}

/// `--mock-url URL --token TOKEN [--bot-pid PID]`: a mock-telegram that runs elsewhere, reached over the network,
/// and the bot already connected to it.
#[derive(Debug, Clone)]
pub struct Attach {
    /// The mock's root URL, e.g. `http://10.0.0.5:8081`.
    pub mock_url: String,
    pub token: String,
    /// The bot's process on this machine, for its CPU and memory; without it they are not measured.
    pub bot_pid: Option<u32>,
}

/// How a run ended.
#[derive(Debug, Clone)]
pub struct Finished {
    pub dir: PathBuf,
    pub status: Status,
    pub passed: bool,
    /// The generator was saturated: the run's numbers cannot judge the bot.
    pub inconclusive: bool,
    /// The signal that interrupted the run, if one did.
    pub interrupted_by: Option<crate::signals::Interruption>,
    /// `report.md`, for printing.
    pub report: String,
    /// What `summary.json` holds, for the CI outputs.
    pub summary: crate::summary::Summary,
}

impl Finished {
    /// 0 when the objectives held, 99 when they did not (or the bot crashed), 98 when the generator was
    /// saturated (inconclusive), 128 + the signal's number when a signal interrupted the run (130 SIGINT,
    /// 143 SIGTERM, 129 SIGHUP), 1 when it failed.
    pub fn exit_code(&self) -> u8 {
        match self.status {
            Status::Completed if self.inconclusive => 98,
            Status::Completed if self.passed => 0,
            Status::Completed | Status::BotCrashed => 99,
            Status::Interrupted => self.interrupted_by.map_or(130, |by| by.exit_code()),
            Status::Error | Status::Killed => 1,
        }
    }
}

/// Runs a scenario end to end. Errors before the run directory exists are returned as they are; after that,
/// the directory is completed with `status: error` and the error is returned too.
pub async fn run(options: Options) -> Result<Finished, Error> {
    let stem = options.scenario.file_stem().map_or("scenario".into(), |s| s.to_string_lossy().into_owned());
    let started = SystemTime::now();
    let dir =
        options.out.clone().unwrap_or_else(|| PathBuf::from("runs").join(format!("{}-{stem}", compact_stamp(started))));
    let text = std::fs::read_to_string(&options.scenario)
        .map_err(|source| Error::ReadScenario { path: options.scenario.clone(), source })?;
    let exporter = match options.metrics_addr {
        Some(addr) => Some(Exporter::bind(addr).await?),
        None => None,
    };
    if let Some(exporter) = &exporter {
        eprintln!("tgload: live metrics at {}", exporter.url());
    }
    let rundir = RunDir::create(&dir)?;
    let scenario = Scenario::parse(&options.scenario, &text).and_then(|s| apply_overrides(s, &options));
    let meta = Meta {
        scenario_path: &options.scenario,
        scenario_text: &text,
        scenario: scenario.as_ref().ok(),
        started,
        command: &options.command_line,
        metrics_url: exporter.as_ref().map(Exporter::url),
        shard: options.shard,
    };
    let meta = meta.to_json();
    rundir.write_file("meta.json", serde_json::to_string_pretty(&meta).unwrap_or_default().as_bytes())?;
    let scenario = match scenario {
        Ok(scenario) => scenario,
        Err(error) => {
            wrapup::write_failed(rundir, &stem, &error)?;
            return Err(error);
        }
    };
    session::Session::start(scenario, rundir, &options, session::LiveMetrics::new(meta, exporter)).await
}

fn apply_overrides(mut scenario: Scenario, options: &Options) -> Result<Scenario, Error> {
    if let Some(users) = options.users {
        if users == 0 || users as u64 > crate::scenario::MAX_USERS {
            return Err(Error::Usage(format!("--users must lie between 1 and {}", crate::scenario::MAX_USERS)));
        }
        scenario.set_users(users);
    }
    if let Some(duration) = options.duration {
        if duration < Duration::from_secs(1) {
            return Err(Error::Usage("--duration must be at least 1s".into()));
        }
        scenario.set_duration(duration);
    }
    if let Some(rate) = options.rate {
        scenario.set_rate(rate).map_err(|m| Error::Usage(format!("--rate: {m}")))?;
    }
    let shard = options.shard;
    if shard.users(scenario.peak_users(), &scenario.chats).is_empty() {
        return Err(Error::Usage(format!(
            "--shard {shard}: this shard has none of the scenario's {} users; use fewer shards",
            scenario.peak_users()
        )));
    }
    Ok(scenario)
}

/// Renders the charts of a finished run directory, loaded from `dir`; a failure is reported, never fatal.
pub fn render_charts(run: &charts::Run, dir: &Path) -> Result<Vec<PathBuf>, String> {
    charts::render_loaded(run, dir).map_err(|e| e.to_string())
}
