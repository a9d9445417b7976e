//! `tgload supervise`: the small process between tgload and the bot that makes sure the bot never outlives
//! tgload, however tgload ends (a clean stop, SIGKILL, the OOM killer, a panic). tgload holds the write end of
//! the supervisor's stdin; the kernel closes it when tgload dies, and the supervisor then stops the bot: SIGTERM
//! to its process group and to every descendant (the supervisor is a child subreaper, so even a grandchild that
//! left the group is reparented to it and found), SIGKILL after the grace period. It is not a general process
//! manager: one bot, one stop, then it exits.
//!
//! The protocol, one line each way: tgload writes `stop` (or closes the pipe); the supervisor writes `pid N` once
//! the bot runs and `exited <how>` when it is gone (`exit code 3`, `killed by signal 15`).

use std::path::PathBuf;
use std::process::Stdio;
use std::time::Duration;

use nix::sys::signal::{killpg, Signal as NixSignal};
use nix::unistd::Pid as NixPid;
use sysinfo::{Pid, ProcessRefreshKind, Signal, System};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::Command;
use tokio::signal::unix::{signal, SignalKind};

use crate::sampler::{process_tree, refresh};

/// How much lower than tgload's the bot's scheduling priority is (nice +10: under contention, about a tenth of
/// tgload's share of a core).
pub const BOT_NICE: i32 = 10;

/// What `tgload supervise` is told to run.
#[derive(Debug, Clone)]
pub struct Supervised {
    pub program: String,
    pub args: Vec<String>,
    pub stdout: PathBuf,
    pub stderr: PathBuf,
    /// How long the bot has between SIGTERM and SIGKILL.
    pub grace: Duration,
}

/// Why the supervisor stops the bot.
enum Stop {
    Asked,
    Signal(&'static str),
}

/// Runs the bot until it exits or is stopped; the error is for the supervisor's own stderr.
pub async fn supervise(job: Supervised) -> Result<(), String> {
    // Orphaned descendants of the bot (a daemonizing child, a grandchild whose `sh -c` parent died) are
    // reparented to us instead of init, so the final sweep finds them.
    nix::sys::prctl::set_child_subreaper(true).map_err(|e| format!("cannot become a child subreaper: {e}"))?;
    let log = |path: &PathBuf| {
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("cannot open {}: {e}", path.display()))
    };
    // The bot runs below tgload's priority: on a machine they share, the generator's timers and the mock come
    // first, so the schedule is kept; the bot still has every cycle tgload does not use. Linux's nice is per
    // thread, and the bot is forked from this one, with no await in between.
    rustix::process::nice(BOT_NICE).map_err(|e| format!("cannot lower the bot's priority: {e}"))?;
    let mut child = Command::new(&job.program)
        .args(&job.args)
        .stdin(Stdio::null())
        .stdout(log(&job.stdout)?)
        .stderr(log(&job.stderr)?)
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start {}: {e}", job.program))?;
    let pid = child.id().ok_or("the bot exited before its pid was known")?;
    let mut out = tokio::io::stdout();
    let _ = out.write_all(format!("pid {pid}\n").as_bytes()).await;
    let _ = out.flush().await;

    let mut commands = BufReader::new(tokio::io::stdin()).lines();
    let mut term = signal(SignalKind::terminate()).map_err(|e| e.to_string())?;
    let mut hangup = signal(SignalKind::hangup()).map_err(|e| e.to_string())?;
    let mut interrupt = signal(SignalKind::interrupt()).map_err(|e| e.to_string())?;
    let stop = tokio::select! {
        status = child.wait() => {
            sweep(pid, Signal::Kill);
            return report(&mut out, status.map(crate::bot::describe).unwrap_or_else(|e| format!("wait failed: {e}"))).await;
        }
        // A line that is not `stop` is ignored; end of file (tgload is gone) stops the bot.
        _ = async { while let Ok(Some(line)) = commands.next_line().await { if line.trim() == "stop" { break } } } => Stop::Asked,
        _ = term.recv() => Stop::Signal("SIGTERM"),
        _ = hangup.recv() => Stop::Signal("SIGHUP"),
        _ = interrupt.recv() => Stop::Signal("SIGINT"),
    };
    if let Stop::Signal(name) = stop {
        eprintln!("tgload supervise: {name}: stopping the bot");
    }
    sweep(pid, Signal::Term);
    let how = match tokio::time::timeout(job.grace, child.wait()).await {
        Ok(status) => status.map(crate::bot::describe).unwrap_or_else(|e| format!("wait failed: {e}")),
        Err(_) => {
            let _ = child.start_kill();
            let status = child.wait().await;
            status.map(crate::bot::describe).unwrap_or_else(|e| format!("wait failed: {e}"))
        }
    };
    sweep(pid, Signal::Kill);
    report(&mut out, how).await
}

async fn report(out: &mut tokio::io::Stdout, how: String) -> Result<(), String> {
    let _ = out.write_all(format!("exited {how}\n").as_bytes()).await;
    let _ = out.flush().await;
    Ok(())
}

/// Signals the bot's process group and every process below the supervisor. SIGKILL sweeps repeat until no
/// descendant is left (a process may fork while being swept), a bounded number of times.
fn sweep(group: u32, signal: Signal) {
    let nix_signal = if signal == Signal::Kill { NixSignal::SIGKILL } else { NixSignal::SIGTERM };
    let _ = killpg(NixPid::from_raw(group as i32), nix_signal);
    let own = Pid::from_u32(std::process::id());
    let mut system = System::new();
    for _ in 0..20 {
        refresh(&mut system, ProcessRefreshKind::nothing());
        let alive: Vec<Pid> = process_tree(&system, own)
            .into_iter()
            .filter(|pid| *pid != own)
            .filter(|pid| system.process(*pid).is_some_and(|p| p.status() != sysinfo::ProcessStatus::Zombie))
            .collect();
        for pid in alive.iter().rev() {
            if let Some(process) = system.process(*pid) {
                let _ = process.kill_with(signal);
            }
        }
        if alive.is_empty() || signal != Signal::Kill {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}
