//! The bot under test as a child process: the bundled `bot-under-test` binary (found next to `tgload`), or
//! any command through `sh -c`. It gets the mock's URL and token in the environment variables the common
//! frameworks read, writes its output to files in the run directory, and runs under `tgload supervise`
//! (`supervise`), in its own process group (so a terminal's Ctrl-C reaches the harness, which stops it in
//! order). The supervisor stops the bot when asked, when the harness drops it, and when the harness dies.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sysinfo::Signal;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::sync::oneshot;

use crate::error::Error;
use crate::sampler::{signal_tree, BotPid};

/// How long the bot has to stop after SIGTERM before it is killed.
pub const STOP_GRACE: Duration = Duration::from_secs(5);

#[derive(Debug, Clone)]
pub enum Program {
    /// The bundled bot binary, with the scenario's `[bot] args`.
    Bundled(PathBuf),
    /// A shell command line (`--bot-cmd`).
    Shell(String),
}

/// Everything needed to (re)start the bot.
#[derive(Debug, Clone)]
pub struct Launch {
    pub program: Program,
    pub args: Vec<String>,
    pub env: Vec<(String, String)>,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    /// The `tgload` binary, whose `supervise` command runs the bot (`std::env::current_exe()` in `tgload`).
    pub supervisor: PathBuf,
}

/// What the bot is told about its surroundings.
pub struct Surroundings<'a> {
    pub mock_url: &'a str,
    pub token: &'a str,
    pub external_api_url: Option<&'a str>,
    pub database_path: &'a Path,
    /// In webhook mode: the URL the bot registers and the local port it listens on.
    pub webhook: Option<(&'a str, u16)>,
    /// The scenario's `[bot] env`, applied last.
    pub extra: &'a BTreeMap<String, String>,
}

/// A running bot: its supervisor process, the pipe that keeps the supervisor's bot alive, and the supervisor's
/// last word on how the bot ended.
pub struct Bot {
    supervisor: Child,
    /// Writing `stop`, or closing it (dropping the `Bot` on an error path or in a panic, or the harness dying),
    /// stops the bot.
    commands: Option<ChildStdin>,
    exit: oneshot::Receiver<String>,
}

/// The bundled bot: `bot-under-test` in the directory of the running `tgload` (cargo puts both binaries of a
/// workspace in the same target directory), or one level up when running from `target/*/deps`.
pub fn bundled_path() -> Result<PathBuf, Error> {
    let exe = std::env::current_exe().map_err(|e| Error::Bot(format!("cannot locate tgload itself: {e}")))?;
    let name = format!("bot-under-test{}", std::env::consts::EXE_SUFFIX);
    let dir = exe.parent().unwrap_or(Path::new("."));
    let candidates = [dir.join(&name), dir.parent().unwrap_or(dir).join(&name)];
    candidates.iter().find(|p| p.is_file()).cloned().ok_or_else(|| {
        Error::Bot(format!(
            "the bundled bot is not built: no {} (run `cargo build -p bot-under-test`, or pass --bot-cmd)",
            candidates[0].display()
        ))
    })
}

/// The environment variables the bot gets.
pub fn environment(s: &Surroundings<'_>) -> Vec<(String, String)> {
    let mut env = vec![
        ("TELEGRAM_API_URL".to_string(), s.mock_url.to_string()),
        ("TELEGRAM_BOT_TOKEN".to_string(), s.token.to_string()),
        ("TELOXIDE_API_URL".to_string(), s.mock_url.to_string()),
        ("TELOXIDE_TOKEN".to_string(), s.token.to_string()),
        ("DATABASE_PATH".to_string(), s.database_path.display().to_string()),
    ];
    if let Some(url) = s.external_api_url {
        env.push(("EXTERNAL_API_URL".into(), url.into()));
    }
    if let Some((url, port)) = s.webhook {
        env.push(("WEBHOOK_URL".into(), url.into()));
        env.push(("WEBHOOK_PORT".into(), port.to_string()));
    }
    env.extend(s.extra.iter().map(|(k, v)| (k.clone(), v.clone())));
    env
}

impl Bot {
    /// Starts the bot under its supervisor; the bot's pid reaches `pid_slot` (for the sampler) as soon as the
    /// supervisor reports it.
    pub fn spawn(launch: &Launch, pid_slot: &BotPid) -> Result<Bot, Error> {
        let mut command = Command::new(&launch.supervisor);
        command
            .arg("supervise")
            .arg("--stdout")
            .arg(&launch.stdout)
            .arg("--stderr")
            .arg(&launch.stderr)
            .arg("--grace-ms")
            .arg(STOP_GRACE.as_millis().to_string())
            .arg("--");
        match &launch.program {
            Program::Bundled(path) => command.arg(path).args(&launch.args),
            Program::Shell(line) => command.arg("sh").arg("-c").arg(line),
        };
        let stderr = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&launch.stderr)
            .map_err(Error::io(format!("open {}", launch.stderr.display())))?;
        command
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(stderr)
            .process_group(0);
        let mut supervisor =
            command.spawn().map_err(|e| Error::Bot(format!("cannot start {:?}: {e}", launch.program)))?;
        let commands = supervisor.stdin.take();
        let reports = supervisor.stdout.take();
        let (exit_tx, exit) = oneshot::channel();
        pid_slot.store(0, Ordering::Relaxed);
        let slot = pid_slot.clone();
        tokio::spawn(async move {
            let Some(reports) = reports else { return };
            let mut lines = BufReader::new(reports).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(pid) = line.strip_prefix("pid ").and_then(|p| p.trim().parse().ok()) {
                    slot.store(pid, Ordering::Relaxed);
                } else if let Some(how) = line.strip_prefix("exited ") {
                    let _ = exit_tx.send(how.to_string());
                    return;
                }
            }
        });
        Ok(Bot { supervisor, commands, exit })
    }

    /// Waits until the bot exits; describes how.
    pub async fn exited(&mut self) -> String {
        let how = (&mut self.exit).await;
        let status = self.supervisor.wait().await;
        match (how, status) {
            (Ok(how), _) => how,
            (Err(_), Ok(status)) => format!("its supervisor ended first: {}", describe(status)),
            (Err(_), Err(e)) => format!("wait failed: {e}"),
        }
    }

    /// Stops the bot: SIGTERM to it and its descendants, then SIGKILL after `STOP_GRACE`. `None` when the
    /// supervisor did not report in time (it and the bot's tree are then killed from here).
    pub async fn stop(mut self, pid_slot: &BotPid) -> Option<String> {
        if let Some(mut commands) = self.commands.take() {
            let _ = commands.write_all(b"stop\n").await;
            let _ = commands.flush().await;
        }
        let how = tokio::time::timeout(STOP_GRACE + Duration::from_secs(3), self.exited()).await.ok();
        if how.is_none() {
            let pid = pid_slot.load(Ordering::Relaxed);
            let _ = self.supervisor.start_kill();
            if pid != 0 {
                let _ = tokio::task::spawn_blocking(move || signal_tree(pid, Signal::Kill)).await;
            }
        }
        pid_slot.store(0, Ordering::Relaxed);
        how
    }
}

/// How a process ended, in the words of `bot_exited` events.
pub fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(code), _) => format!("exit code {code}"),
        (None, Some(signal)) => format!("killed by signal {signal}"),
        _ => status.to_string(),
    }
}

/// The last lines of a log file, for an error message.
pub fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names_every_variable() {
        let extra = BTreeMap::from([("BOT_DELAY_MS".to_string(), "50".to_string())]);
        let env = environment(&Surroundings {
            mock_url: "http://127.0.0.1:1",
            token: "1:x",
            external_api_url: Some("http://127.0.0.1:2"),
            database_path: Path::new("/run/bot.sqlite"),
            webhook: Some(("http://127.0.0.1:3/hook", 3)),
            extra: &extra,
        });
        let names: Vec<&str> = env.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "TELEGRAM_API_URL",
                "TELEGRAM_BOT_TOKEN",
                "TELOXIDE_API_URL",
                "TELOXIDE_TOKEN",
                "DATABASE_PATH",
                "EXTERNAL_API_URL",
                "WEBHOOK_URL",
                "WEBHOOK_PORT",
                "BOT_DELAY_MS"
            ]
        );
    }
}
