//! The bot as a supervised child process (`tgload supervise`): it starts, logs, reports its pid, stops on
//! SIGTERM, and never outlives the `Bot` that started it, its grandchildren included.

use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::Duration;

use harness::bot::{tail, Bot, Launch, Program};
use sysinfo::{Pid, ProcessesToUpdate, System};

use super::*;

fn launch(dir: &Path, line: &str) -> Launch {
    Launch {
        program: Program::Shell(line.into()),
        args: vec![],
        env: vec![("TELEGRAM_BOT_TOKEN".into(), "9:abc".into())],
        stdout: dir.join("out.log"),
        stderr: dir.join("err.log"),
        supervisor: tgload_bin(),
    }
}

/// Running, as opposed to gone or a zombie waiting for its parent.
fn running(pid: u32) -> bool {
    let mut system = System::new();
    system.refresh_processes(ProcessesToUpdate::All, true);
    system.process(Pid::from_u32(pid)).is_some_and(|p| p.status() != sysinfo::ProcessStatus::Zombie)
}

/// Waits up to 5 s for `what` to hold.
async fn eventually(what: impl Fn() -> bool) -> bool {
    for _ in 0..100 {
        if what() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

fn read_pid(path: &Path) -> u32 {
    std::fs::read_to_string(path).unwrap_or_default().trim().parse().unwrap_or(0)
}

#[tokio::test]
async fn a_shell_bot_runs_logs_and_stops_with_its_whole_tree() {
    let dir = out_dir("bot-process");
    std::fs::create_dir_all(&dir).unwrap();
    let slot = Arc::new(AtomicU32::new(0));
    // A grandchild that leaves the process group (setsid) is still found: the supervisor is its subreaper.
    let line = format!(
        "setsid sleep 33 & echo $! > {}; echo started $TELEGRAM_BOT_TOKEN; sleep 30",
        dir.join("escaped.pid").display()
    );
    let bot = Bot::spawn(&launch(&dir, &line), &slot).unwrap();
    assert!(eventually(|| slot.load(Ordering::Relaxed) != 0).await, "the supervisor reports the bot's pid");
    assert!(eventually(|| read_pid(&dir.join("escaped.pid")) != 0).await);
    let (shell, escaped) = (slot.load(Ordering::Relaxed), read_pid(&dir.join("escaped.pid")));
    assert!(running(shell) && running(escaped));
    let how = bot.stop(&slot).await;
    // SIGTERM reaches `sh` and its `sleep` alike: the shell either dies of it or, when the sleep's death is
    // seen first, exits with the shell's 128 + 15 for it. Both are the bot stopping on SIGTERM.
    assert!(matches!(how.as_deref(), Some("killed by signal 15" | "exit code 143")), "stopped by SIGTERM, not {how:?}");
    assert!(eventually(|| !running(shell) && !running(escaped)).await, "{shell} or {escaped} still runs");
    assert_eq!(tail(&dir.join("out.log"), 1), "started 9:abc");
    assert_eq!(slot.load(Ordering::Relaxed), 0);
}

#[tokio::test]
async fn a_dropped_bot_is_stopped_and_an_exit_is_seen() {
    let dir = out_dir("bot-drop");
    std::fs::create_dir_all(&dir).unwrap();
    let slot = Arc::new(AtomicU32::new(0));
    let child = dir.join("child.pid");
    let line = format!("sleep 31 & echo $! > {}; wait", child.display());
    let dropped = Bot::spawn(&launch(&dir, &line), &slot).unwrap();
    assert!(eventually(|| read_pid(&child) != 0 && slot.load(Ordering::Relaxed) != 0).await);
    let (shell, sleep) = (slot.load(Ordering::Relaxed), read_pid(&child));
    drop(dropped);
    assert!(eventually(|| !running(shell) && !running(sleep)).await, "{shell} or {sleep} still runs");

    let mut quick = Bot::spawn(&launch(&dir, "exit 3"), &slot).unwrap();
    assert_eq!(quick.exited().await, "exit code 3");
    let mut missing = Bot::spawn(&launch(&dir, "exec /nonexistent/bot"), &slot).unwrap();
    assert_eq!(missing.exited().await, "exit code 127");
    std::fs::remove_dir_all(&dir).unwrap();
}
