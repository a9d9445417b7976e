//! `tgload`'s command line: the subcommands, their flags and help texts, and the parsers of flag values (clap's
//! derive). `main` turns a parsed `Command` into a call of the library.

use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, Subcommand};
use harness::compare::Threshold;

/// Load-test a Telegram bot without Telegram.
#[derive(Debug, Parser)]
#[command(name = "tgload", version)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a scenario against a bot and write a run directory.
    Run {
        /// The scenario file (see scenarios/README.md).
        scenario: PathBuf,
        /// The run directory to write [default: runs/<time>-<scenario>].
        #[arg(long)]
        out: Option<PathBuf>,
        #[command(flatten)]
        load: Load,
        /// Run this command (through `sh -c`) as the bot instead of the bundled one.
        #[arg(long, value_name = "COMMAND")]
        bot_cmd: Option<String>,
        /// Restart the bot when it exits, and measure how long until it answers again.
        #[arg(long)]
        restart: bool,
        /// Run the scenario N times into r1/ ... rN/ of the run directory, with a summary of the set.
        #[arg(long, value_name = "N")]
        repeat: Option<usize>,
        /// Drive a mock-telegram that already runs (its root URL, e.g. http://10.0.0.5:8081) and the bot already
        /// connected to it: tgload starts neither, and reaches the mock's control API over the network.
        #[arg(long, value_name = "URL", requires = "token", conflicts_with_all = ["bot_cmd", "restart", "webhook"])]
        mock_url: Option<String>,
        /// The attached bot's token (with --mock-url).
        #[arg(long, requires = "mock_url")]
        token: Option<String>,
        /// The attached bot's process id on this machine, to measure its CPU and memory (with --mock-url);
        /// without it they are absent.
        #[arg(long, value_name = "PID", requires = "mock_url")]
        bot_pid: Option<u32>,
        /// Drive shard I of N (counted from 0) of the scenario: a disjoint part of its users, chats and groups,
        /// and so of its arrival rate; the N shards attach to one mock (with --mock-url). `tgload merge` joins
        /// their run directories.
        #[arg(long, value_name = "I/N", requires = "mock_url", conflicts_with = "repeat")]
        shard: Option<harness::shard::Shard>,
        /// Start the load at this moment, unix seconds or RFC 3339 (2026-12-01T23:00:00Z), e.g. the same on every
        /// shard; exit 97 if tgload cannot be ready by then.
        #[arg(long, value_name = "TIME", value_parser = harness::shard::parse_start_at, conflicts_with = "repeat")]
        start_at: Option<std::time::SystemTime>,
        #[command(flatten)]
        ci: Ci,
    },
    /// Run two bots alternately (ABBA) on this machine, N runs each, and compare them: how a branch is compared
    /// with main.
    #[command(after_help = AB_HELP)]
    Ab {
        /// The scenario file.
        scenario: PathBuf,
        /// The A/B directory: base/, candidate/ (each a set of repeats) and compare/ [default: runs/<time>-ab-<scenario>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// The base bot's command (through `sh -c`) [default: the bundled bot].
        #[arg(long, value_name = "COMMAND")]
        base_bot_cmd: Option<String>,
        /// The candidate bot's command (through `sh -c`).
        #[arg(long, value_name = "COMMAND")]
        candidate_bot_cmd: String,
        /// Runs per side.
        #[arg(long, value_name = "N", default_value_t = harness::ab::DEFAULT_REPEAT)]
        repeat: usize,
        #[command(flatten)]
        load: Load,
        #[command(flatten)]
        judging: Judging,
        #[command(flatten)]
        ci: Ci,
    },
    /// Compare two sides, each a run directory or a repeats directory, metric by metric: each shift with its 95%
    /// interval and a verdict. Prints a Markdown table and writes compare.md, compare.json and the charts.
    #[command(after_help = COMPARE_HELP)]
    Compare {
        /// The reference: a run directory, or a repeats directory (`tgload run --repeat`).
        #[arg(value_name = "BASE")]
        base: PathBuf,
        /// The side judged against it, the same way.
        #[arg(value_name = "CANDIDATE")]
        candidate: PathBuf,
        /// Where to write compare.md, compare.json and the charts [default: CANDIDATE/compare-<base dir name>].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        #[command(flatten)]
        judging: Judging,
        #[command(flatten)]
        ci: Ci,
    },
    /// Find the change points of a nightly history file (night,commit,metric,value), per metric, and name the first
    /// night of each shift; or append a night's figures to it (--add).
    #[command(after_help = HISTORY_HELP)]
    History {
        /// The history file (CSV).
        file: PathBuf,
        /// Append the figures of this run, repeats or A/B directory (its candidate side) as one night.
        #[arg(long, value_name = "DIR", requires = "night")]
        add: Option<PathBuf>,
        /// The night's label for --add, e.g. 2026-12-01.
        #[arg(long)]
        night: Option<String>,
        /// The night's commit for --add.
        #[arg(long)]
        commit: Option<String>,
        /// Changes smaller than this are listed as minor, e.g. 5% or 0.05.
        #[arg(long, value_name = "PCT", value_parser = parse_threshold, default_value = "5%")]
        threshold: Threshold,
        /// Print the change points as JSON instead of Markdown.
        #[arg(long)]
        json: bool,
    },
    /// Find the highest arrival rate the bot sustains: probes of an open-paced scenario at rising rates, then a
    /// bisection, each probe a run of its own in the capacity directory.
    #[command(after_help = CAPACITY_HELP)]
    Capacity {
        /// An open-paced scenario file ([pacing] mode = "open").
        scenario: PathBuf,
        /// The capacity directory [default: runs/<time>-capacity-<scenario>].
        #[arg(long)]
        out: Option<PathBuf>,
        /// Scale the probes so their busiest step has this many users.
        #[arg(long)]
        users: Option<usize>,
        /// The first probe's rate, actions per second [default: the scenario's].
        #[arg(long, value_name = "PER_SECOND")]
        start: Option<f64>,
        /// How long each probe runs.
        #[arg(long, value_parser = parse_duration, default_value = "20s")]
        probe: Duration,
        /// Stop bisecting when the bracket is this narrow, e.g. 5% or 0.05.
        #[arg(long, value_name = "PCT", value_parser = parse_threshold, default_value = "5%")]
        precision: Threshold,
        /// Deliver updates to the bot by webhook instead of long polling.
        #[arg(long)]
        webhook: bool,
        /// Run this command (through `sh -c`) as the bot instead of the bundled one.
        #[arg(long, value_name = "COMMAND")]
        bot_cmd: Option<String>,
        #[command(flatten)]
        ci: Ci,
    },
    /// Rebuild summary.json, report.md and the charts of a run directory from the files the run wrote as it
    /// went: for a run that was interrupted or killed (status `killed` when no end was recorded).
    #[command(after_help = REPORT_HELP)]
    Report {
        /// The run directory (written by `tgload run`).
        #[arg(value_name = "RUN_DIR")]
        dir: PathBuf,
        #[command(flatten)]
        ci: Ci,
    },
    /// Merge the run directories of the shards of one load (`tgload run --shard I/N --start-at T`) into one run
    /// directory, exactly: histograms added per tag and second, counts summed, the SLOs judged once on the whole.
    #[command(after_help = MERGE_HELP)]
    Merge {
        /// The merged run directory to write.
        #[arg(value_name = "OUT")]
        out: PathBuf,
        /// Every shard's run directory, 0/N to N-1/N, in any order.
        #[arg(value_name = "SHARD_DIR", required = true)]
        shards: Vec<PathBuf>,
        #[command(flatten)]
        ci: Ci,
    },
    /// Runs a bot for `tgload run` and stops it when tgload says so or dies (internal).
    #[command(hide = true)]
    Supervise {
        #[arg(long)]
        stdout: PathBuf,
        #[arg(long)]
        stderr: PathBuf,
        #[arg(long, default_value_t = 5000)]
        grace_ms: u64,
        /// The bot's program and its arguments.
        #[arg(required = true, last = true)]
        command: Vec<String>,
    },
}

/// How `tgload run` and `tgload ab` change the scenario's load.
#[derive(Debug, clap::Args)]
pub struct Load {
    /// Scale the load so its busiest step has this many users.
    #[arg(long)]
    users: Option<usize>,
    /// Scale the load's steps to last this long, e.g. 30s or 2m.
    #[arg(long, value_parser = parse_duration)]
    duration: Option<Duration>,
    /// Set an open-paced scenario's arrival rate, actions per second at its busiest step.
    #[arg(long, value_name = "PER_SECOND")]
    rate: Option<f64>,
    /// Deliver updates to the bot by webhook instead of long polling.
    #[arg(long)]
    webhook: bool,
    /// Serve the run's live metrics (Prometheus text at /metrics) here; port 0 picks a free one, printed and
    /// recorded in meta.json; `off` serves none.
    #[arg(long, value_name = "ADDR", value_parser = parse_metrics_addr, default_value = "127.0.0.1:0")]
    metrics_addr: MetricsAddr,
}

impl Load {
    /// The run options these flags give, with the command line as typed.
    pub fn options(self, scenario: PathBuf) -> harness::Options {
        let Load { users, duration, rate, webhook, metrics_addr } = self;
        harness::Options {
            scenario,
            users,
            duration,
            rate,
            webhook,
            metrics_addr: metrics_addr.0,
            command_line: std::env::args().collect(),
            ..harness::Options::default()
        }
    }
}

/// `--metrics-addr`: an address, or `off`.
#[derive(Debug, Clone, Copy)]
pub struct MetricsAddr(Option<std::net::SocketAddr>);

/// The CI outputs of a command that judges: `tgload run`, `ab`, `compare`, `report`, `capacity`.
#[derive(Debug, clap::Args)]
pub struct Ci {
    /// Also write the checks as JUnit XML: each SLO rule and each verdict a test case, failing with its observed
    /// value (an inconclusive verdict is skipped). With GITHUB_STEP_SUMMARY set, the Markdown report is appended
    /// to that file too.
    #[arg(long, value_name = "FILE")]
    pub junit: Option<PathBuf>,
}

/// How a comparison judges: `tgload compare` and `tgload ab`.
#[derive(Debug, clap::Args)]
pub struct Judging {
    /// The margin: a shift whose whole 95% interval is beyond it is better or worse, inside it same, e.g. 10% or
    /// 0.1 [default: the scenario's [compare] threshold, else 10%].
    #[arg(long, value_name = "PCT", value_parser = parse_threshold)]
    pub threshold: Option<Threshold>,
    /// The metrics that decide the exit code, comma separated [default: the scenario's [compare] gate, else
    /// latency_ms.p95,error_rate].
    #[arg(long, value_name = "METRICS", value_delimiter = ',')]
    pub gate: Option<Vec<String>>,
    /// Gate even when the sides ran different scenarios, on different CPU models or with different tgload versions.
    #[arg(long)]
    pub allow_mismatch: bool,
}

const COMPARE_HELP: &str = "\
Each side is a run directory or a repeats directory (`tgload run --repeat N`); the run is the unit of \
replication, so a side of one run decides nothing (inconclusive). Each metric's shift has a 95% interval: \
`worse` or `better` when it lies wholly beyond the threshold (or the metric's noise floor, such as 1 ms of \
latency, if larger), `same` when it lies wholly inside, else `inconclusive` with the runs per side that would \
decide it.

Exit codes:
  0   no gated metric is worse or inconclusive
  99  a gated metric is worse
  98  a gated metric is inconclusive, or the sides are not like for like (see --allow-mismatch)
  1   the output could not be written
  2   bad usage or input (a missing or malformed summary.json, another schema_version, an unknown --gate)";

const AB_HELP: &str = "\
Runs base, candidate, candidate, base, base, candidate, ... into base/rK and candidate/rK, writes each side's \
summary.json and report.md, then compares them into compare/ as `tgload compare` does.

Exit codes: those of `tgload compare`; 128 + N when a signal stopped the session, 1 when a run failed, 2 bad usage.";

const HISTORY_HELP: &str = "\
Change points are E-Divisive means (as Apache Otava finds them), each confirmed by Student's t-test at p < 0.001 \
between the segments on either side; a shift's first night is the first night at the new level.

Exit codes: 0 (a history is read, not gated: each night's `tgload compare` gates), 1 the file could not be written, \
2 bad input (a malformed line, named with its number).";

const CAPACITY_HELP: &str = "\
Writes summary.json (`capacity`: max_sustainable_per_s, first_unsustainable_per_s, limited_by, every probe),
capacity.md and charts/capacity.svg into the capacity directory, and each probe's run directory beside them.

Exit codes:
  0   the bot's limit was found (limited_by = bot)
  98  inconclusive: the generator gave out first, or no probe failed
  1   a probe could not run
  2   bad usage (a closed-paced scenario, a bad flag)";

const REPORT_HELP: &str = "\
The rebuilt summary.json has a `rebuilt` entry: the seconds of the planned load with no row (`missing_seconds`),
the last moment the files show, and the second through which checkpoint.json was current.

Exit codes:
  0   the directory was rebuilt
  1   a file could not be written
  2   bad input (not a run directory, a malformed file: named with its line)";

const MERGE_HELP: &str = "\
Every shard must have completed its run of the same scenario (and overrides) with the same tgload build and the
same --start-at; the merged summary.json has a `merged` entry listing them, each with its own generator verdict
and clock offset from the mock. Example, three shards started together:

  T=$(( $(date +%s) + 30 ))
  for i in 0 1 2; do
    tgload run scenarios/smoke.toml --mock-url http://10.0.0.5:8081 --token $TOKEN --shard $i/3 --start-at $T --out runs/s$i &
  done; wait
  tgload merge runs/merged runs/s0 runs/s1 runs/s2

Exit codes:
  0   every objective held
  99  an objective failed
  98  inconclusive: a generator (any shard's, or the merged lateness) was saturated
  2   a shard is missing, failed, ran another scenario, build or start, or a file is malformed (each named)
  1   a file could not be written";

fn parse_duration(text: &str) -> Result<Duration, String> {
    harness::duration::parse(text)
}

fn parse_threshold(text: &str) -> Result<Threshold, String> {
    Threshold::parse(text)
}

fn parse_metrics_addr(text: &str) -> Result<MetricsAddr, String> {
    if text == "off" {
        return Ok(MetricsAddr(None));
    }
    let addr = text.parse().map_err(|_| format!("`{text}` is not an address like 127.0.0.1:9464, or off"))?;
    Ok(MetricsAddr(Some(addr)))
}
