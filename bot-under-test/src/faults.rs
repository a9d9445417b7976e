//! Switchable faults: the known truth the harness is checked against.
//!
//! Every update passes through [`Faults::admit`] before a handler sees it, and through [`Faults::finish`] after.
//! All faults are off by default; each one does exactly one thing, so a test can prove the harness sees it and
//! nothing else. This module decides and counts; it does not talk to Telegram.

use std::num::NonZeroU64;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use tokio::sync::Notify;

/// Which faults are switched on. `Default` is all off.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FaultConfig {
    /// Bytes kept forever (until the bot stops) for every update, touched so the resident set really grows.
    pub leak_bytes_per_update: usize,
    /// An asynchronous sleep before every answer: latency without blocking anything.
    pub delay: Duration,
    /// A synchronous `std::thread::sleep` inside the async handler: it blocks a runtime worker thread.
    pub block: Duration,
    /// Every Nth update (counted over all chats, starting at 1) is dropped without an answer.
    pub fail_every: Option<NonZeroU64>,
    /// Every Nth update that is a message is answered with a wrong text ([`WRONG_ANSWER`]) instead.
    pub wrong_every: Option<NonZeroU64>,
    /// After the Nth update has been answered, the bot stops and the process exits with code 3;
    /// updates after the Nth are dropped without an answer.
    pub exit_after: Option<NonZeroU64>,
    /// A periodic stall, like a long GC pause: see [`Stall`].
    pub stall: Option<Stall>,
    /// An asynchronous sleep that grows with the bot's uptime, this much per minute since it started: a bot that
    /// degrades over a soak (a cache that only grows, a table scanned whole), for the degradation verdict.
    pub delay_growth_per_min: Duration,
}

/// Every `every` since the bot started, answers stall for `length`: an answer due during
/// `[k * every, k * every + length)` (k ≥ 1) waits until that window ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stall {
    pub every: Duration,
    pub length: Duration,
}

impl Stall {
    /// How long an answer due `elapsed` after the start waits.
    pub fn wait(&self, elapsed: Duration) -> Duration {
        if self.every.is_zero() || elapsed < self.every {
            return Duration::ZERO;
        }
        let into_period = Duration::from_nanos((elapsed.as_nanos() % self.every.as_nanos()) as u64);
        self.length.saturating_sub(into_period)
    }
}

/// The answer the `wrong_every` fault gives, the kind a broken bot gives everyone.
pub const WRONG_ANSWER: &str = "Sorry, something went wrong.";

/// What to do with one update.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Admission {
    /// Handle it; `n` is the update's 1-based sequence number.
    Handle { n: u64 },
    /// Drop it without an answer.
    Drop { n: u64, reason: DropReason },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DropReason {
    FailEvery,
    PastExit,
}

/// Fault state shared by all handlers of one running bot.
#[derive(Debug, Default)]
pub(crate) struct Faults {
    config: FaultConfig,
    updates: AtomicU64,
    dropped: AtomicU64,
    /// The leaked memory. Never read; it exists to be resident.
    leaked: Mutex<Vec<Box<[u8]>>>,
    exit: Notify,
    started: Option<tokio::time::Instant>,
}

impl Faults {
    pub(crate) fn new(config: FaultConfig) -> Self {
        Self { config, started: Some(tokio::time::Instant::now()), ..Self::default() }
    }

    /// Counts one update, leaks for it, and decides whether it is handled.
    pub(crate) fn admit(&self) -> Admission {
        let n = self.updates.fetch_add(1, Ordering::Relaxed) + 1;
        self.leak();
        let admission = decide(&self.config, n);
        if let Admission::Drop { n, reason } = admission {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            tracing::info!(update = n, ?reason, "fault: dropping update without an answer");
        }
        admission
    }

    /// Whether update `n`, a message, is to be answered wrongly.
    pub(crate) fn answers_wrongly(&self, n: u64) -> bool {
        self.config.wrong_every.is_some_and(|every| n % every.get() == 0)
    }

    /// The delay and the block, applied to every update that gets an answer, before the answer.
    pub(crate) async fn before_answer(&self) {
        if !self.config.block.is_zero() {
            // Deliberately the classic bug: a blocking sleep on a runtime worker thread.
            std::thread::sleep(self.config.block);
        }
        if !self.config.delay.is_zero() {
            tokio::time::sleep(self.config.delay).await;
        }
        if let (Some(stall), Some(started)) = (self.config.stall, self.started) {
            tokio::time::sleep(stall.wait(started.elapsed())).await;
        }
        if let (false, Some(started)) = (self.config.delay_growth_per_min.is_zero(), self.started) {
            let minutes = started.elapsed().as_secs_f64() / 60.0;
            tokio::time::sleep(self.config.delay_growth_per_min.mul_f64(minutes)).await;
        }
    }

    /// Called once the handler of update `n` is done; signals the exit after the last allowed update.
    pub(crate) fn finish(&self, n: u64) {
        if self.config.exit_after.is_some_and(|last| last.get() == n) {
            tracing::warn!(updates = n, "fault: exit-after reached, stopping");
            self.exit.notify_one();
        }
    }

    /// Resolves once the exit-after fault fires; never, if it is off.
    pub(crate) async fn exit_requested(&self) {
        self.exit.notified().await;
    }

    pub(crate) fn updates(&self) -> u64 {
        self.updates.load(Ordering::Relaxed)
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }

    fn leak(&self) {
        let n_bytes = self.config.leak_bytes_per_update;
        if n_bytes == 0 {
            return;
        }
        // A non-zero fill writes every page; `vec![0; n]` could stay unmapped zero pages and leave RSS flat.
        let block = vec![0xA5_u8; n_bytes].into_boxed_slice();
        self.leaked.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).push(block);
    }
}

/// The pure decision for update number `n` (1-based).
fn decide(config: &FaultConfig, n: u64) -> Admission {
    if config.exit_after.is_some_and(|last| n > last.get()) {
        return Admission::Drop { n, reason: DropReason::PastExit };
    }
    if config.fail_every.is_some_and(|every| n % every.get() == 0) {
        return Admission::Drop { n, reason: DropReason::FailEvery };
    }
    Admission::Handle { n }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(config: FaultConfig, n_updates: u64, expect_handled: &[u64]) {
        let faults = Faults::new(config);
        let handled: Vec<u64> = (0..n_updates)
            .filter_map(|_| match faults.admit() {
                Admission::Handle { n } => Some(n),
                Admission::Drop { .. } => None,
            })
            .collect();
        assert_eq!(handled, expect_handled);
        assert_eq!(faults.updates(), n_updates);
        assert_eq!(faults.dropped(), n_updates - expect_handled.len() as u64);
    }

    #[test]
    fn stalls_hold_answers_until_the_window_ends() {
        let stall = Stall { every: Duration::from_secs(5), length: Duration::from_secs(1) };
        let check = |at_ms: u64, wait_ms: u64| {
            assert_eq!(stall.wait(Duration::from_millis(at_ms)), Duration::from_millis(wait_ms), "at {at_ms} ms");
        };
        check(0, 0);
        check(4_999, 0);
        check(5_000, 1_000);
        check(5_400, 600);
        check(6_000, 0);
        check(10_999, 1);
    }

    #[test]
    fn all_off_handles_everything() {
        check(FaultConfig::default(), 5, &[1, 2, 3, 4, 5]);
    }

    #[test]
    fn fail_every_drops_exactly_every_nth() {
        let config = FaultConfig { fail_every: NonZeroU64::new(3), ..FaultConfig::default() };
        check(config, 10, &[1, 2, 4, 5, 7, 8, 10]);
    }

    #[test]
    fn exit_after_drops_everything_past_the_last() {
        let config = FaultConfig { exit_after: NonZeroU64::new(2), ..FaultConfig::default() };
        check(config, 4, &[1, 2]);
    }

    #[test]
    fn exit_after_wins_over_fail_every() {
        let config =
            FaultConfig { fail_every: NonZeroU64::new(2), exit_after: NonZeroU64::new(3), ..FaultConfig::default() };
        check(config, 6, &[1, 3]);
    }

    #[test]
    fn leak_keeps_every_block() {
        let config = FaultConfig { leak_bytes_per_update: 1000, ..FaultConfig::default() };
        let faults = Faults::new(config);
        for _ in 0..3 {
            faults.admit();
        }
        let leaked = faults.leaked.lock().unwrap();
        assert_eq!(leaked.iter().map(|block| block.len()).sum::<usize>(), 3000);
        assert!(leaked.iter().all(|block| block.iter().all(|&byte| byte == 0xA5)));
    }

    #[tokio::test]
    async fn finish_signals_exit_only_at_the_last_update() {
        let config = FaultConfig { exit_after: NonZeroU64::new(2), ..FaultConfig::default() };
        let faults = Faults::new(config);
        faults.finish(1);
        let early = tokio::time::timeout(Duration::from_millis(20), faults.exit_requested()).await;
        assert!(early.is_err(), "exit signalled after update 1 of 2");
        faults.finish(2);
        let fired = tokio::time::timeout(Duration::from_secs(1), faults.exit_requested()).await;
        assert!(fired.is_ok(), "exit not signalled after update 2 of 2");
    }
}
