//! The `tgload` command: parse the command line, call the library, map the outcome to an exit code.
//! `run`: 0 objectives hold, 99 they do not, 98 inconclusive (the generator was saturated), 128 + N a signal N
//! interrupted it, 1 the run failed, 2 bad usage.
//! `compare`: 0 no metric is worse, 99 one is, 1 the output could not be written, 2 bad usage or input.
//! `report`: 0 rebuilt, 1 not written, 2 bad input. `supervise` is tgload's own, for the bot's process.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};
use harness::compare::Threshold;

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
        /// Run this command (through `sh -c`) as the bot instead of the bundled one.
        #[arg(long, value_name = "COMMAND")]
        bot_cmd: Option<String>,
        /// Restart the bot when it exits, and measure how long until it answers again.
        #[arg(long)]
        restart: bool,
    },
    /// Compare two run directories metric by metric: latency percentiles, error rate, throughput, the bot's RSS
    /// and CPU, and each action's p95. Prints a Markdown table and writes compare.md, compare.json and overlay
    /// charts.
    #[command(after_help = COMPARE_HELP)]
    Compare {
        /// The reference run directory (written by `tgload run`).
        #[arg(value_name = "BASE_DIR")]
        base: PathBuf,
        /// The run directory judged against it.
        #[arg(value_name = "CANDIDATE_DIR")]
        candidate: PathBuf,
        /// Where to write compare.md, compare.json and the charts [default: CANDIDATE_DIR/compare-<base dir name>].
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
        /// The relative change beyond which a metric is better or worse, e.g. 10% or 0.1.
        #[arg(long, value_name = "PCT", value_parser = parse_threshold, default_value = "10%")]
        threshold: Threshold,
    },
    /// Rebuild summary.json, report.md and the charts of a run directory from the files the run wrote as it
    /// went: for a run that was interrupted or killed (status `killed` when no end was recorded).
    #[command(after_help = REPORT_HELP)]
    Report {
        /// The run directory (written by `tgload run`).
        #[arg(value_name = "RUN_DIR")]
        dir: PathBuf,
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

const COMPARE_HELP: &str = "\
A change within the threshold, or smaller than its metric's noise floor (such as 1 ms of latency; compare.md \
lists them), is `same`. Runs of different scenarios are still compared, with a warning.

Exit codes:
  0   no metric is worse
  99  at least one metric is worse
  1   the output could not be written
  2   bad usage or input (a missing or malformed summary.json, another schema_version)";

const REPORT_HELP: &str = "\
The rebuilt summary.json has a `rebuilt` entry: the seconds of the planned load with no row (`missing_seconds`),
the last moment the files show, and the second through which checkpoint.json was current.

Exit codes:
  0   the directory was rebuilt
  1   a file could not be written
  2   bad input (not a run directory, a malformed file: named with its line)";

fn parse_duration(text: &str) -> Result<Duration, String> {
    harness::duration::parse(text)
}

fn parse_threshold(text: &str) -> Result<Threshold, String> {
    Threshold::parse(text)
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
        Command::Run { scenario, out, users, duration, rate, webhook, bot_cmd, restart } => run(harness::Options {
            scenario,
            out,
            users,
            duration,
            rate,
            webhook,
            bot_cmd,
            restart,
            command_line: std::env::args().collect(),
        }),
        Command::Compare { base, candidate, out, threshold } => {
            compare(&harness::compare::Options { base, candidate, out, threshold })
        }
        Command::Report { dir } => report(&dir),
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

fn run(options: harness::Options) -> ExitCode {
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("tgload: cannot start the async runtime: {e}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(harness::run(options)) {
        Ok(finished) => {
            println!("{}", finished.report);
            eprintln!("tgload: run directory {}", finished.dir.display());
            ExitCode::from(finished.exit_code())
        }
        Err(e) => {
            eprintln!("tgload: {e}");
            ExitCode::from(match &e {
                harness::Error::Interrupted(by) => by.exit_code(),
                e if e.is_usage() => 2,
                _ => 1,
            })
        }
    }
}

fn report(dir: &std::path::Path) -> ExitCode {
    match harness::report::run(dir) {
        Ok(finished) => {
            println!("{}", finished.report);
            eprintln!("tgload report: rebuilt {}", finished.dir.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("tgload report: {e}");
            ExitCode::from(if e.is_usage() { 2 } else { 1 })
        }
    }
}

fn compare(options: &harness::compare::Options) -> ExitCode {
    match harness::compare::run(options) {
        Ok(outcome) => {
            println!("{}", outcome.markdown);
            eprintln!("tgload: comparison in {}", outcome.out.display());
            ExitCode::from(outcome.exit_code())
        }
        Err(e) => {
            eprintln!("tgload compare: {e}");
            ExitCode::from(if e.is_usage() { 2 } else { 1 })
        }
    }
}
