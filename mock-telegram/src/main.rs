//! The `mock-telegram` command: serve the mock on a local address until Ctrl-C or SIGTERM.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;

/// A Telegram Bot API server for load tests: bots talk to it as to api.telegram.org, synthetic users act through
/// its control API (see docs/control-api.md).
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on; port 0 picks a free port. Keep it on loopback.
    #[arg(long, default_value = "127.0.0.1:0")]
    bind: std::net::SocketAddr,
    /// A bot token to serve (`<digits>:<secret>`); repeat for several bots. More can be added over the control API.
    #[arg(long = "token")]
    tokens: Vec<String>,
    /// Messages kept per chat, for button presses and edits.
    #[arg(long, default_value_t = 16)]
    history: usize,
    /// Seconds an unanswered action stays in the ledger before it is dropped.
    #[arg(long, default_value_t = 300)]
    action_ttl_s: u64,
    /// Rewrite https:// webhook URLs on loopback to http:// (telegraf always registers https).
    #[arg(long)]
    webhook_https_to_http: bool,
    /// Enforce Telegram's sending limits (about 1 message/s per chat with bursts, 20/min per group, 30/s
    /// overall), answering 429 "Too Many Requests: retry after N".
    #[arg(long)]
    flood_limits: bool,
    /// First webhook retry delay in milliseconds; it doubles per failure, up to 60 s.
    #[arg(long, default_value_t = 500)]
    webhook_backoff_ms: u64,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_writer(std::io::stderr)
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("mock-telegram: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let config = mock_telegram::Config {
        history: args.history,
        action_ttl: Duration::from_secs(args.action_ttl_s),
        webhook_https_to_http: args.webhook_https_to_http,
        webhook_backoff: Duration::from_millis(args.webhook_backoff_ms),
        flood: args.flood_limits.then(mock_telegram::flood::FloodLimits::default),
        ..mock_telegram::Config::default()
    };
    let server = mock_telegram::Server::new(config)?;
    for token in &args.tokens {
        server.add_bot(token, None)?;
    }
    let listener =
        tokio::net::TcpListener::bind(args.bind).await.map_err(|error| format!("binding {}: {error}", args.bind))?;
    println!("listening on http://{}", listener.local_addr()?);
    mock_telegram::serve(listener, server, shutdown_signal()).await?;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut term = match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(term) => term,
            Err(_) => return ctrl_c.await.unwrap_or(()),
        };
        tokio::select! {
            _ = ctrl_c => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = ctrl_c.await;
}
