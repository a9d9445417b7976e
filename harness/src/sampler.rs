//! Samples CPU and RSS once a second with sysinfo: the bot's process plus all its descendants (interpreters
//! fork workers; `sh -c` wraps a command), and the harness's own process (which hosts the mock too). It only
//! measures; the run loop decides what the numbers mean.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use sysinfo::{Pid, ProcessRefreshKind, ProcessesToUpdate, Signal, System};
use tokio::sync::mpsc;

#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Usage {
    pub rss_bytes: u64,
    /// 100 = one core.
    pub cpu_pct: f64,
}

#[derive(Debug, Clone, Copy)]
pub struct Sample {
    pub t_us: u64,
    /// `None` when no bot process was running.
    pub bot: Option<Usage>,
    pub harness: Usage,
}

/// The pid of the running bot, 0 for none; the bot module updates it on (re)start.
pub type BotPid = Arc<AtomicU32>;

struct Sampler {
    system: System,
    own: Pid,
    /// CPU time (ms) each process had used at the previous sample, and when that was.
    cpu_seen: HashMap<Pid, u64>,
    seen_at: Instant,
}

impl Sampler {
    /// Takes a first sample (discarded) so the next one has a reference for CPU time.
    fn new(bot: Option<u32>) -> Sampler {
        let mut sampler = Sampler {
            system: System::new(),
            own: Pid::from_u32(std::process::id()),
            cpu_seen: HashMap::new(),
            seen_at: Instant::now(),
        };
        sampler.sample(bot, 0);
        sampler
    }

    /// CPU use comes from each process's accumulated CPU time: sysinfo's own `cpu_usage` reads 0 until a
    /// process has used a whole clock tick, which hides a quiet bot's first seconds. A process not seen
    /// before (a new child) counts all its time, since it started after the previous sample.
    fn sample(&mut self, bot: Option<u32>, t_us: u64) -> Sample {
        refresh(&mut self.system, ProcessRefreshKind::nothing().with_cpu().with_memory());
        let now = Instant::now();
        let elapsed_ms = now.duration_since(self.seen_at).as_secs_f64() * 1e3;
        let mut seen = HashMap::new();
        let mut usage = |pids: &[Pid]| {
            let mut sum = Usage::default();
            for (pid, process) in pids.iter().filter_map(|pid| self.system.process(*pid).map(|p| (*pid, p))) {
                let cpu_ms = process.accumulated_cpu_time();
                let used = cpu_ms.saturating_sub(self.cpu_seen.get(&pid).copied().unwrap_or(0));
                seen.insert(pid, cpu_ms);
                sum.rss_bytes += process.memory();
                sum.cpu_pct += if elapsed_ms > 0.0 { used as f64 * 100.0 / elapsed_ms } else { 0.0 };
            }
            sum
        };
        let harness = usage(&[self.own]);
        let bot = bot.map(Pid::from_u32).filter(|pid| self.system.process(*pid).is_some());
        let bot = bot.map(|root| usage(&process_tree(&self.system, root)));
        self.cpu_seen = seen;
        self.seen_at = now;
        Sample { t_us, bot, harness }
    }
}

/// Reads every process on the machine (`kind`: what of each), dropping those gone. Not their threads: listed, every
/// thread would be read as a process of its own (`/proc/<pid>/task/*`), most of a refresh's cost, for nothing (a
/// process's figures include its threads').
pub fn refresh(system: &mut System, kind: ProcessRefreshKind) {
    system.refresh_processes_specifics(ProcessesToUpdate::All, true, kind.without_tasks());
}

/// `root` and every process descending from it (threads excluded: they share their process's memory).
pub fn process_tree(system: &System, root: Pid) -> Vec<Pid> {
    let mut children: HashMap<Pid, Vec<Pid>> = HashMap::new();
    for (pid, process) in system.processes() {
        if process.thread_kind().is_some() {
            continue;
        }
        if let Some(parent) = process.parent() {
            children.entry(parent).or_default().push(*pid);
        }
    }
    descendants(&children, root)
}

fn descendants(children: &HashMap<Pid, Vec<Pid>>, root: Pid) -> Vec<Pid> {
    let mut tree = vec![root];
    let mut next = 0;
    while next < tree.len() {
        if let Some(kids) = children.get(&tree[next]) {
            tree.extend(kids.iter().copied().filter(|k| *k != root));
        }
        next += 1;
        if tree.len() > 100_000 {
            break;
        }
    }
    tree
}

/// Sends `signal` to `root` and all its descendants (children first, so a wrapper shell cannot respawn).
pub fn signal_tree(root: u32, signal: Signal) {
    let mut system = System::new();
    refresh(&mut system, ProcessRefreshKind::nothing());
    for pid in process_tree(&system, Pid::from_u32(root)).into_iter().rev() {
        if let Some(process) = system.process(pid) {
            let _ = process.kill_with(signal);
        }
    }
}

/// Samples every second until `samples` is closed. Sampling runs on a blocking thread: a refresh reads
/// `/proc` for every process.
pub fn spawn(bot: BotPid, clock: fn() -> u64, samples: mpsc::Sender<Sample>) -> tokio::task::JoinHandle<()> {
    tokio::spawn(async move {
        let first = Some(bot.load(Ordering::Relaxed)).filter(|p| *p != 0);
        let Ok(first) = tokio::task::spawn_blocking(move || Sampler::new(first)).await else { return };
        let mut sampler = Some(first);
        let mut tick = tokio::time::interval(Duration::from_secs(1));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tick.tick().await;
            let Some(mut s) = sampler.take() else { return };
            let pid = Some(bot.load(Ordering::Relaxed)).filter(|p| *p != 0);
            let Ok((s, sample)) = tokio::task::spawn_blocking(move || {
                let sample = s.sample(pid, clock());
                (s, sample)
            })
            .await
            else {
                return;
            };
            sampler = Some(s);
            if samples.send(sample).await.is_err() {
                return;
            }
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn descendants_follow_the_parent_links() {
        let pid = Pid::from_u32;
        let mut children = HashMap::new();
        children.insert(pid(10), vec![pid(11), pid(12)]);
        children.insert(pid(12), vec![pid(13)]);
        children.insert(pid(1), vec![pid(10), pid(99)]);
        let mut tree = descendants(&children, pid(10));
        tree.sort();
        assert_eq!(tree, vec![pid(10), pid(11), pid(12), pid(13)]);
        assert_eq!(descendants(&children, pid(50)), vec![pid(50)]);
    }

    #[test]
    fn samples_this_process() {
        let mut sampler = Sampler::new(Some(std::process::id()));
        // Burn about 200 ms of CPU so the sample has something to see.
        let start = Instant::now();
        let mut x = 0u64;
        while start.elapsed() < Duration::from_millis(200) {
            x = x.wrapping_mul(31).wrapping_add(1);
        }
        std::hint::black_box(x);
        let sample = sampler.sample(Some(std::process::id()), 5);
        assert_eq!(sample.t_us, 5);
        assert!(sample.harness.rss_bytes > 1_000_000, "{:?}", sample.harness);
        assert!(sample.harness.cpu_pct > 30.0, "{:?}", sample.harness);
        assert!(sample.bot.unwrap().rss_bytes >= sample.harness.rss_bytes);
        assert!(sampler.sample(Some(u32::MAX - 1), 6).bot.is_none());
    }
}
