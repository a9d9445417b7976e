//! The built binary as the harness runs it: configured by environment variables, stopped by signals, exiting
//! with code 3 on the exit-after fault, and growing its RSS under the leak fault.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use bot_under_test::external_api::ExternalApi;
use tokio::process::{Child, Command};

use crate::support::{remove_db, temp_db, Control, Mock, Setup, TOKEN};

const BINARY: &str = env!("CARGO_BIN_EXE_bot-under-test");

/// The bot as a child process, with its stderr in a file.
struct Bot {
    child: Child,
    db_path: PathBuf,
    log_path: PathBuf,
}

impl Bot {
    /// Starts the binary the way the harness does: the `TELEGRAM_*` names, a database path, extra variables.
    async fn spawn(mock: &Mock, api: &ExternalApi, env: &[(&str, &str)]) -> anyhow::Result<Bot> {
        let db_path = temp_db();
        let log_path = db_path.with_extension("log");
        let log = std::fs::File::create(&log_path)?;
        let mut command = Command::new(BINARY);
        for name in ["TELOXIDE_TOKEN", "TELOXIDE_API_URL", "WEBHOOK_URL", "WEBHOOK_PORT", "DATABASE_URL"] {
            command.env_remove(name);
        }
        command
            .env("TELEGRAM_BOT_TOKEN", TOKEN)
            .env("TELEGRAM_API_URL", mock.url())
            .env("DATABASE_PATH", &db_path)
            .env("EXTERNAL_API_URL", api.uri())
            .env("RUST_LOG", "info")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .kill_on_drop(true);
        let child = command.spawn().context("spawning the bot binary")?;
        Ok(Bot { child, db_path, log_path })
    }

    fn pid(&self) -> u32 {
        self.child.id().expect("the bot is running")
    }

    fn signal(&self, name: &str) -> anyhow::Result<()> {
        let status = std::process::Command::new("kill").args(["-s", name, &self.pid().to_string()]).status()?;
        anyhow::ensure!(status.success(), "kill -s {name} failed");
        Ok(())
    }

    /// Resident set size from /proc, in bytes.
    fn rss(&self) -> anyhow::Result<u64> {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))?;
        let line = status.lines().find(|line| line.starts_with("VmRSS:")).context("no VmRSS line")?;
        let kib: u64 = line.split_whitespace().nth(1).context("no VmRSS value")?.parse()?;
        Ok(kib * 1024)
    }

    /// Waits for the process to exit; returns its exit code and its log.
    async fn exit(mut self) -> anyhow::Result<(Option<i32>, String)> {
        let status =
            tokio::time::timeout(Duration::from_secs(20), self.child.wait()).await.context("bot did not exit")??;
        let log = std::fs::read_to_string(&self.log_path).unwrap_or_default();
        remove_db(&self.db_path);
        let _ = std::fs::remove_file(&self.log_path);
        Ok((status.code(), log))
    }
}

async fn rig() -> (Mock, ExternalApi, Control) {
    let mock = Mock::start();
    let api = ExternalApi::start(Setup::default().external).await.expect("start the external api mock");
    let control = Control::new(&mock.url());
    (mock, api, control)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_and_sigint_shut_down_gracefully() -> anyhow::Result<()> {
    for signal in ["TERM", "INT"] {
        let (mock, api, control) = rig().await;
        let bot = Bot::spawn(&mock, &api, &[]).await?;
        control.wait_for_mode("polling").await?;
        control.answered(5001, "before the signal").await?;
        bot.signal(signal)?;
        let (code, log) = bot.exit().await?;
        assert_eq!(code, Some(0), "SIG{signal}: exit code {code:?}, log:\n{log}");
        assert!(log.contains("bot stopped"), "SIG{signal}: no shutdown line in:\n{log}");
    }
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exit_after_exits_with_code_3() -> anyhow::Result<()> {
    let (mock, api, control) = rig().await;
    let bot = Bot::spawn(&mock, &api, &[("TGLOAD_EXIT_AFTER", "2")]).await?;
    control.wait_for_mode("polling").await?;
    control.answered(5002, "one").await?;
    control.answered(5002, "two").await?;
    let (code, log) = bot.exit().await?;
    assert_eq!(code, Some(3), "log:\n{log}");
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leak_grows_rss_by_about_n_bytes_per_update() -> anyhow::Result<()> {
    const LEAK: u64 = 2_000_000;
    const UPDATES: u64 = 15;
    let (mock, api, control) = rig().await;
    let bot = Bot::spawn(&mock, &api, &[("TGLOAD_LEAK_BYTES", &LEAK.to_string())]).await?;
    control.wait_for_mode("polling").await?;
    // One update first, so that lazily set-up state (database connections, buffers) is already resident.
    control.answered(5003, "warm-up").await?;
    let before = bot.rss()?;
    for n in 0..UPDATES {
        control.answered(5003, &format!("leak {n}")).await?;
    }
    let grown = bot.rss()?.saturating_sub(before);
    let expected = LEAK * UPDATES;
    if grown < expected * 9 / 10 {
        bail!("RSS grew by {grown} bytes over {UPDATES} updates, expected about {expected}");
    }
    bot.signal("TERM")?;
    bot.exit().await?;
    Ok(())
}

#[test]
fn help_documents_every_setting_and_fault() -> anyhow::Result<()> {
    let output = std::process::Command::new(BINARY).arg("--help").output()?;
    assert!(output.status.success());
    let help = String::from_utf8(output.stdout)?;
    let expected = [
        "--leak-bytes-per-update",
        "TGLOAD_LEAK_BYTES",
        "--delay-ms",
        "TGLOAD_DELAY_MS",
        "--block-ms",
        "TGLOAD_BLOCK_MS",
        "--fail-every",
        "TGLOAD_FAIL_EVERY",
        "--exit-after",
        "TGLOAD_EXIT_AFTER",
        "TELOXIDE_TOKEN",
        "TELOXIDE_API_URL",
        "WEBHOOK_URL",
        "WEBHOOK_PORT",
        "DATABASE_PATH",
        "DATABASE_URL",
        "EXTERNAL_API_URL",
        "Faults",
    ];
    for needle in expected {
        assert!(help.contains(needle), "--help does not mention {needle}:\n{help}");
    }
    Ok(())
}
