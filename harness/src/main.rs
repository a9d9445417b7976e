//! The `tgload` command: parse the command line, call the library, map the outcome to an exit code.
//! `run`: 0 objectives hold, 99 they do not, 98 inconclusive (the generator was saturated), 128 + N a signal N
//! interrupted it, 97 it could not be ready by `--start-at`, 1 the run failed, 2 bad usage.
//! `run --repeat N`: the worst of the runs' codes. `compare` and `ab`: 0 no gated metric is worse or inconclusive,
//! 99 one is worse, 98 one is inconclusive (or the sides are not like for like), 1 the output could not be
//! written (for `ab`: a run failed), 2 bad usage or input.
//! `report`: 0 rebuilt, 1 not written, 2 bad input. `merge`: like `run` (0, 99, 98), 2 shards that are missing,
//! failed or not of one load (each named), 1 not written. `capacity`: 0 the bot's limit found, 98 inconclusive, 1 a probe
//! could not run, 2 bad usage. `history`: 0 (informational), 1 not written, 2 bad input. `supervise` is tgload's
//! own, for the bot's process.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use harness::ci::Outputs;
use harness::compare::Threshold;
use harness::junit;

/// Load-test a Telegram bot without Telegram.
#[derive(Debug, Parser)]
#[command(name = "tgload", version)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
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
struct Load {
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
    fn options(self, scenario: PathBuf) -> harness::Options {
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
struct MetricsAddr(Option<std::net::SocketAddr>);

/// The CI outputs of a command that judges: `tgload run`, `ab`, `compare`, `report`, `capacity`.
#[derive(Debug, clap::Args)]
struct Ci {
    /// Also write the checks as JUnit XML: each SLO rule and each verdict a test case, failing with its observed
    /// value (an inconclusive verdict is skipped). With GITHUB_STEP_SUMMARY set, the Markdown report is appended
    /// to that file too.
    #[arg(long, value_name = "FILE")]
    junit: Option<PathBuf>,
}

/// How a comparison judges: `tgload compare` and `tgload ab`.
#[derive(Debug, clap::Args)]
struct Judging {
    /// The margin: a shift whose whole 95% interval is beyond it is better or worse, inside it same, e.g. 10% or
    /// 0.1 [default: the scenario's [compare] threshold, else 10%].
    #[arg(long, value_name = "PCT", value_parser = parse_threshold)]
    threshold: Option<Threshold>,
    /// The metrics that decide the exit code, comma separated [default: the scenario's [compare] gate, else
    /// latency_ms.p95,error_rate].
    #[arg(long, value_name = "METRICS", value_delimiter = ',')]
    gate: Option<Vec<String>>,
    /// Gate even when the sides ran different scenarios, on different CPU models or with different tgload versions.
    #[arg(long)]
    allow_mismatch: bool,
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

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() { 2 } else { 0 });
        }
    };
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    match cli.command {
        Command::Run {
            scenario,
            out,
            load,
            bot_cmd,
            restart,
            repeat,
            mock_url,
            token,
            bot_pid,
            shard,
            start_at,
            ci,
        } => {
            let outputs = Outputs::new(ci.junit);
            let attach = mock_url.zip(token).map(|(mock_url, token)| harness::run::Attach { mock_url, token, bot_pid });
            let shard = shard.unwrap_or_default();
            let options = harness::Options { out, bot_cmd, restart, attach, shard, start_at, ..load.options(scenario) };
            match repeat {
                Some(repeat) => repeats(harness::repeats::command::Options { run: options, repeat }, &outputs),
                None => run(options, &outputs),
            }
        }
        Command::Ab {
            scenario,
            out,
            base_bot_cmd,
            candidate_bot_cmd,
            repeat,
            load,
            judging: Judging { threshold, gate, allow_mismatch },
            ci,
        } => ab(
            harness::ab::Options {
                run: load.options(scenario),
                base_bot_cmd,
                candidate_bot_cmd,
                repeat,
                out,
                threshold,
                gate,
                allow_mismatch,
            },
            &Outputs::new(ci.junit),
        ),
        Command::Compare { base, candidate, out, judging: Judging { threshold, gate, allow_mismatch }, ci } => {
            let options = harness::compare::Options { base, candidate, out, threshold, gate, allow_mismatch };
            compare(&options, &Outputs::new(ci.junit))
        }
        Command::Report { dir, ci } => report(&dir, &Outputs::new(ci.junit)),
        Command::Merge { out, shards, ci } => merge(&out, &shards, &Outputs::new(ci.junit)),
        Command::History { file, add, night, commit, threshold, json } => {
            history(&file, add.as_deref().zip(night.as_deref()), commit.as_deref(), threshold.fraction(), json)
        }
        Command::Capacity { scenario, out, users, start, probe, precision, webhook, bot_cmd, ci } => {
            let run = harness::Options {
                scenario,
                out,
                users,
                webhook,
                bot_cmd,
                command_line: std::env::args().collect(),
                ..harness::Options::default()
            };
            let options = harness::capacity::command::Options { run, start, probe, precision: precision.fraction() };
            capacity(options, &Outputs::new(ci.junit))
        }
        Command::Supervise { stdout, stderr, grace_ms, mut command } => {
            let program = command.remove(0);
            let job = harness::supervise::Supervised {
                program,
                args: command,
                stdout,
                stderr,
                grace: Duration::from_millis(grace_ms),
            };
            supervise(job)
        }
    }
}

fn supervise(job: harness::supervise::Supervised) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tgload supervise: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let result = runtime.block_on(harness::supervise::supervise(job));
    // The read of stdin may still block on its thread (tgload is alive and said nothing): do not wait for it.
    runtime.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tgload supervise: {e}");
            println!("exited not started: {e}");
            ExitCode::from(1)
        }
    }
}

/// The multi-threaded runtime `run` and `capacity` drive the load on; `None` (said on stderr) if it cannot start.
///
/// It has half the machine's cores as worker threads (one on two cores), unless `TOKIO_WORKER_THREADS` says
/// otherwise: the bot under test runs beside tgload and needs the others. On the 2-core machine one worker costs
/// 28 % less CPU per action than two at 1,000 actions/s and halves the latency tgload adds at 3,000
/// (`harness/BENCHMARKS.md`): two workers hand every wake-up to each other.
fn runtime() -> Option<tokio::runtime::Runtime> {
    let mut builder = tokio::runtime::Builder::new_multi_thread();
    if std::env::var_os("TOKIO_WORKER_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get);
        builder.worker_threads((cores / 2).max(1));
    }
    match builder.enable_all().build() {
        Ok(runtime) => Some(runtime),
        Err(e) => {
            eprintln!("tgload: cannot start the async runtime: {e}");
            None
        }
    }
}

/// Drives `future` on the multi-threaded runtime: `done` prints its outcome and gives the exit code; an error is
/// printed after `name`, goes into the JUnit file as a case in error, and exits with its own code.
///
/// The future runs as a task on the runtime's workers rather than on the main thread `block_on` blocks: there,
/// every result a user sends to the collector would wake another thread (a futex and, in a VM, an interrupt
/// between processors).
fn drive<T: Send + 'static>(
    name: &str,
    outputs: &Outputs,
    future: impl std::future::Future<Output = Result<T, harness::error::Error>> + Send + 'static,
    done: impl FnOnce(T) -> u8,
) -> ExitCode {
    let Some(runtime) = runtime() else { return ExitCode::from(1) };
    let finished = match runtime.block_on(runtime.spawn(future)) {
        Ok(finished) => finished,
        Err(e) => Err(harness::error::Error::Load(format!("the run's task failed: {e}"))),
    };
    match finished {
        Ok(outcome) => ExitCode::from(done(outcome)),
        Err(e) => failed(name, outputs, &e, e.exit_code()),
    }
}

/// Prints a command's error and writes it as the JUnit file's one case.
fn failed(name: &str, outputs: &Outputs, error: &dyn std::fmt::Display, code: u8) -> ExitCode {
    eprintln!("{name}: {error}");
    if let Err(e) = outputs.write_error(name, error) {
        eprintln!("{name}: {e}");
    }
    ExitCode::from(code)
}

/// Writes the CI outputs of a command that ended with `code`: the step summary gets `markdown`, the JUnit file
/// `suites`. Outputs that cannot be written turn a success into 1 (CI would otherwise pass without them).
fn with_ci(name: &str, outputs: &Outputs, code: u8, markdown: &str, suites: impl FnOnce() -> Vec<junit::Suite>) -> u8 {
    match outputs.write(markdown, suites) {
        Ok(()) => code,
        Err(e) => {
            eprintln!("{name}: {e}");
            if code == 0 {
                1
            } else {
                code
            }
        }
    }
}

fn run(options: harness::Options, outputs: &Outputs) -> ExitCode {
    drive("tgload", outputs, harness::run(options), |finished| {
        println!("{}", finished.report);
        eprintln!("tgload: run directory {}", finished.dir.display());
        let suites = || junit::run_suites(&finished.summary, &finished.summary.scenario);
        with_ci("tgload", outputs, finished.exit_code(), &finished.report, suites)
    })
}

fn repeats(options: harness::repeats::command::Options, outputs: &Outputs) -> ExitCode {
    drive("tgload", outputs, harness::repeats::command::run(options), |outcome| {
        println!("{}", outcome.report);
        eprintln!("tgload: repeats in {}", outcome.dir.display());
        let suites = || {
            let label = |k: usize, s: &harness::summary::Summary| format!("{} r{}", s.scenario, k + 1);
            outcome.runs.iter().enumerate().flat_map(|(k, s)| junit::run_suites(s, &label(k, s))).collect()
        };
        with_ci("tgload", outputs, outcome.exit_code(), &outcome.report, suites)
    })
}

fn ab(options: harness::ab::Options, outputs: &Outputs) -> ExitCode {
    drive("tgload ab", outputs, harness::ab::run(options), |outcome| {
        eprintln!("tgload ab: results in {}", outcome.dir.display());
        let Some(comparison) = &outcome.comparison else {
            let message =
                format!("the session stopped before both sides had a run (exit code {})", outcome.exit_code());
            let suites = || vec![junit::error_suite("tgload ab", &message)];
            return with_ci("tgload ab", outputs, outcome.exit_code(), &message, suites);
        };
        println!("{}", comparison.markdown);
        let suites = || vec![junit::comparison_suite(&comparison.comparison)];
        with_ci("tgload ab", outputs, outcome.exit_code(), &comparison.markdown, suites)
    })
}

fn capacity(options: harness::capacity::command::Options, outputs: &Outputs) -> ExitCode {
    drive("tgload capacity", outputs, harness::capacity::command::run(options), |outcome| {
        println!("{}", outcome.report);
        eprintln!("tgload capacity: results in {}", outcome.dir.display());
        let label = outcome.dir.file_name().map_or_else(String::new, |n| n.to_string_lossy().into_owned());
        let suites = || vec![junit::capacity_suite(&outcome.capacity, &label)];
        with_ci("tgload capacity", outputs, outcome.exit_code(), &outcome.report, suites)
    })
}

fn history(
    file: &std::path::Path,
    add: Option<(&std::path::Path, &str)>,
    commit: Option<&str>,
    threshold: f64,
    json: bool,
) -> ExitCode {
    if let Some((dir, night)) = add {
        return match harness::history::command::add(file, dir, night, commit) {
            Ok(n) => {
                eprintln!("tgload history: {n} figures of {} added to {} as {night}", dir.display(), file.display());
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("tgload history: {e}");
                ExitCode::from(e.exit_code())
            }
        };
    }
    let options = harness::history::Options { file: file.to_path_buf(), threshold };
    match harness::history::run(&options) {
        Ok(outcome) => {
            if json {
                println!("{}", serde_json::to_string_pretty(&outcome.json).unwrap_or_default());
            } else {
                println!("{}", outcome.markdown);
            }
            ExitCode::from(outcome.exit_code())
        }
        Err(e) => {
            eprintln!("tgload history: {e}");
            ExitCode::from(e.exit_code())
        }
    }
}

fn report(dir: &std::path::Path, outputs: &Outputs) -> ExitCode {
    match harness::report::run(dir) {
        Ok(finished) => {
            println!("{}", finished.report);
            eprintln!("tgload report: rebuilt {}", finished.dir.display());
            let suites = || junit::run_suites(&finished.summary, &finished.summary.scenario);
            ExitCode::from(with_ci("tgload report", outputs, 0, &finished.report, suites))
        }
        Err(e) => failed("tgload report", outputs, &e, e.exit_code()),
    }
}

fn merge(out: &std::path::Path, shards: &[PathBuf], outputs: &Outputs) -> ExitCode {
    match harness::merge::command::run(out, shards) {
        Ok(finished) => {
            println!("{}", finished.report);
            eprintln!("tgload merge: merged run directory {}", finished.dir.display());
            let suites = || junit::run_suites(&finished.summary, &finished.summary.scenario);
            ExitCode::from(with_ci("tgload merge", outputs, finished.exit_code(), &finished.report, suites))
        }
        Err(e) => failed("tgload merge", outputs, &e, e.exit_code()),
    }
}

fn compare(options: &harness::compare::Options, outputs: &Outputs) -> ExitCode {
    match harness::compare::run(options) {
        Ok(outcome) => {
            println!("{}", outcome.markdown);
            eprintln!("tgload: comparison in {}", outcome.out.display());
            let suites = || vec![junit::comparison_suite(&outcome.comparison)];
            ExitCode::from(with_ci("tgload compare", outputs, outcome.exit_code(), &outcome.markdown, suites))
        }
        Err(e) => failed("tgload compare", outputs, &e, if e.is_usage() { 2 } else { 1 }),
    }
}
