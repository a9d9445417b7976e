//! The `tgload` command: parse the command line, call the library, map the outcome to an exit code
//! (0 objectives hold, 99 they do not, 1 the run failed, 2 bad usage).

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

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
}

fn parse_duration(text: &str) -> Result<Duration, String> {
    harness::duration::parse(text)
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
    let Command::Run { scenario, out, users, duration, webhook, bot_cmd, restart } = cli.command;
    let options = harness::Options {
        scenario,
        out,
        users,
        duration,
        webhook,
        bot_cmd,
        restart,
        command_line: std::env::args().collect(),
    };
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
            ExitCode::from(if e.is_usage() { 2 } else { 1 })
        }
    }
}
