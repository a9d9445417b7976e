//! The `bot-under-test` binary: parse flags and environment, log to stderr, run the bot until SIGTERM or SIGINT.
//!
//! Exit codes: 0 after a shutdown, 3 when the exit-after fault fired, 1 on an error, 2 on bad arguments.

use std::process::ExitCode;

use bot_under_test::cli::Args;
use bot_under_test::Stop;
use clap::Parser;
use tracing_subscriber::EnvFilter;

/// The exit code of the exit-after fault, distinct from an error's.
const EXIT_AFTER_CODE: u8 = 3;

#[tokio::main]
async fn main() -> ExitCode {
    let args = Args::parse();
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour only on a terminal: the harness keeps stderr in the run directory.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    tracing_subscriber::fmt().with_writer(std::io::stderr).with_ansi(ansi).with_env_filter(filter).init();
    match run(args).await {
        Ok(Stop::ExitAfter) => ExitCode::from(EXIT_AFTER_CODE),
        Ok(Stop::Shutdown | Stop::ListenerEnded) => ExitCode::SUCCESS,
        Err(error) => {
            // The crate's errors already name their cause in their message; `{:#}` would repeat it.
            tracing::error!("{error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> anyhow::Result<Stop> {
    let config = args.into_config().await?;
    let report = bot_under_test::run(config, terminated()).await?;
    Ok(report.stop)
}

/// Resolves on SIGTERM or SIGINT.
async fn terminated() {
    let mut sigterm = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
        Ok(signal) => signal,
        Err(error) => {
            tracing::warn!(%error, "cannot listen for SIGTERM; only SIGINT stops the bot");
            let _ = tokio::signal::ctrl_c().await;
            return;
        }
    };
    tokio::select! {
        _ = tokio::signal::ctrl_c() => tracing::info!("SIGINT received"),
        _ = sigterm.recv() => tracing::info!("SIGTERM received"),
    }
}
