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

mod cli;

use clap::Parser;
use cli::{Cli, Command, Judging};
use harness::ci::Outputs;
use harness::junit;

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
