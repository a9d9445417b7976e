//! The bot under test as a child process: the bundled `bot-under-test` binary (found next to `tgload`), or
//! any command through `sh -c`. It gets the mock's URL and token in the environment variables the common
//! frameworks read, writes its output to files in the run directory, runs in its own process group (so a
//! terminal's Ctrl-C reaches the harness, which stops it in order) and is killed if the harness drops it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::atomic::Ordering;
use std::time::Duration;

use sysinfo::Signal;
use tokio::process::{Child, Command};

use crate::error::Error;
use crate::sampler::{signal_tree, BotPid};

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

pub struct Bot {
    child: Child,
    pid: u32,
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
    /// Starts the bot and publishes its pid for the sampler.
    pub fn spawn(launch: &Launch, pid_slot: &BotPid) -> Result<Bot, Error> {
        let mut command = match &launch.program {
            Program::Bundled(path) => {
                let mut c = Command::new(path);
                c.args(&launch.args);
                c
            }
            Program::Shell(line) => {
                let mut c = Command::new("sh");
                c.arg("-c").arg(line);
                c
            }
        };
        let log = |path: &Path| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(Error::io(format!("open {}", path.display())))
        };
        command
            .envs(launch.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(log(&launch.stdout)?)
            .stderr(log(&launch.stderr)?)
            .process_group(0)
            .kill_on_drop(true);
        let child = command.spawn().map_err(|e| Error::Bot(format!("cannot start {:?}: {e}", launch.program)))?;
        let pid = child.id().unwrap_or(0);
        pid_slot.store(pid, Ordering::Relaxed);
        Ok(Bot { child, pid })
    }

    /// Waits until the bot exits; describes how.
    pub async fn exited(&mut self) -> String {
        match self.child.wait().await {
            Ok(status) => describe(status),
            Err(e) => format!("wait failed: {e}"),
        }
    }

    /// Stops the bot: SIGTERM to it and its descendants, then SIGKILL after `grace`.
    pub async fn stop(mut self, grace: Duration, pid_slot: &BotPid) -> Option<String> {
        pid_slot.store(0, Ordering::Relaxed);
        if let Ok(Some(status)) = self.child.try_wait() {
            return Some(describe(status));
        }
        let pid = self.pid;
        let _ = tokio::task::spawn_blocking(move || signal_tree(pid, Signal::Term)).await;
        match tokio::time::timeout(grace, self.child.wait()).await {
            Ok(Ok(status)) => Some(describe(status)),
            _ => {
                let _ = tokio::task::spawn_blocking(move || signal_tree(pid, Signal::Kill)).await;
                let _ = self.child.kill().await;
                None
            }
        }
    }
}

/// A bot dropped while it still runs (an error path, a panic) takes its whole process tree with it:
/// `kill_on_drop` alone would leave the children of a `sh -c` wrapper running.
impl Drop for Bot {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            signal_tree(self.pid, Signal::Kill);
        }
    }
}

fn describe(status: std::process::ExitStatus) -> String {
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
    use std::sync::atomic::AtomicU32;
    use std::sync::Arc;

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

    #[tokio::test]
    async fn a_shell_bot_runs_logs_and_stops() {
        let dir = std::env::temp_dir().join(format!("tgload-bot-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let launch = Launch {
            program: Program::Shell("echo started $TELEGRAM_BOT_TOKEN; sleep 30".into()),
            args: vec![],
            env: vec![("TELEGRAM_BOT_TOKEN".into(), "9:abc".into())],
            stdout: dir.join("out.log"),
            stderr: dir.join("err.log"),
        };
        let pid = Arc::new(AtomicU32::new(0));
        let bot = Bot::spawn(&launch, &pid).unwrap();
        assert_ne!(pid.load(Ordering::Relaxed), 0);
        tokio::time::sleep(Duration::from_millis(300)).await;
        let how = bot.stop(Duration::from_secs(5), &pid).await;
        // SIGTERM reaches `sh` and its `sleep` alike: the shell either dies of it or, when the sleep's death is
        // seen first, exits with the shell's 128 + 15 for it. Both are the bot stopping on SIGTERM.
        assert!(
            matches!(how.as_deref(), Some("killed by signal 15" | "exit code 143")),
            "stopped by SIGTERM, not {how:?}"
        );
        assert_eq!(tail(&dir.join("out.log"), 1), "started 9:abc");
        // Dropped while running, a shell bot takes its children along.
        let dropped =
            Bot::spawn(&Launch { program: Program::Shell("sleep 31; true".into()), ..launch.clone() }, &pid).unwrap();
        tokio::time::sleep(Duration::from_millis(300)).await;
        let root = sysinfo::Pid::from_u32(dropped.pid);
        let mut system = sysinfo::System::new();
        system.refresh_processes(sysinfo::ProcessesToUpdate::All, true);
        let tree = crate::sampler::process_tree(&system, root);
        assert!(tree.len() >= 2, "sh and sleep: {tree:?}");
        drop(dropped);
        tokio::time::sleep(Duration::from_millis(300)).await;
        system.refresh_processes(sysinfo::ProcessesToUpdate::All, true);
        let alive: Vec<_> = tree
            .iter()
            .filter(|p| system.process(**p).is_some_and(|p| p.status() != sysinfo::ProcessStatus::Zombie))
            .collect();
        assert!(alive.is_empty(), "still running: {alive:?}");
        // A bot that exits by itself is seen to exit.
        let mut quick = Bot::spawn(&Launch { program: Program::Shell("exit 3".into()), ..launch }, &pid).unwrap();
        assert_eq!(quick.exited().await, "exit code 3");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
