//! Precise wake-ups at due times. tokio's timer has a 1 ms resolution and rounds deadlines up, which would add
//! up to a millisecond or two of the generator's own lateness to every action's latency. Here every pending
//! wake-up waits in one heap, and one timerfd, armed at the earliest of them and watched by the runtime's own
//! reactor, fires at the due time with the operating system's sub-millisecond timer.
//!
//! A thread of its own would do the same at the cost of two hand-offs between threads per action (a futex
//! and, in a VM, an interrupt between processors each): the timerfd keeps every wake-up on the worker that runs
//! the users. It only wakes; it measures nothing.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::future::poll_fn;
use std::os::fd::{AsFd, AsRawFd, RawFd};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Poll, Waker};
use std::time::{Duration, Instant};

use nix::sys::time::TimeSpec;
use nix::sys::timerfd::{ClockId, Expiration, TimerFd, TimerFlags, TimerSetTimeFlags};
use tokio::io::unix::AsyncFd;
use tokio::task::JoinHandle;

struct Wake {
    at: Instant,
    seq: u64,
    waker: Waker,
}

impl PartialEq for Wake {
    fn eq(&self, other: &Self) -> bool {
        (self.at, self.seq) == (other.at, other.seq)
    }
}

impl Eq for Wake {}

impl PartialOrd for Wake {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl Ord for Wake {
    /// Reversed, so the max-heap yields the earliest wake-up first.
    fn cmp(&self, other: &Self) -> Ordering {
        (other.at, other.seq).cmp(&(self.at, self.seq))
    }
}

/// The timerfd, for tokio's reactor (which wants a raw descriptor).
struct Fd(TimerFd);

impl AsRawFd for Fd {
    fn as_raw_fd(&self) -> RawFd {
        self.0.as_fd().as_raw_fd()
    }
}

#[derive(Default)]
struct Pending {
    wakes: BinaryHeap<Wake>,
    /// The deadline the timerfd is armed for, if it is.
    armed: Option<Instant>,
    seq: u64,
}

struct Shared {
    fd: AsyncFd<Fd>,
    pending: Mutex<Pending>,
}

impl Shared {
    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Arms the timerfd for `at` (relative to now: `Instant` is CLOCK_MONOTONIC, as the timerfd is). A zero
    /// expiration would disarm it, so a deadline already past fires in a nanosecond.
    fn arm(&self, pending: &mut Pending, at: Instant) {
        let wait = at.saturating_duration_since(Instant::now()).max(Duration::from_nanos(1));
        let armed =
            self.fd.get_ref().0.set(Expiration::OneShot(TimeSpec::from_duration(wait)), TimerSetTimeFlags::empty());
        pending.armed = armed.is_ok().then_some(at);
    }

    fn register(&self, at: Instant, waker: Waker) {
        let mut pending = self.pending();
        pending.seq += 1;
        let seq = pending.seq;
        pending.wakes.push(Wake { at, seq, waker });
        if pending.armed.is_none_or(|armed| at < armed) {
            self.arm(&mut pending, at);
        }
    }

    /// Wakes every sleeper whose deadline has come and arms the timerfd for the next one.
    fn fire(&self) {
        let mut due = Vec::new();
        {
            let mut pending = self.pending();
            let now = Instant::now();
            while pending.wakes.peek().is_some_and(|wake| wake.at <= now) {
                due.extend(pending.wakes.pop().map(|wake| wake.waker));
            }
            pending.armed = None;
            if let Some(next) = pending.wakes.peek().map(|wake| wake.at) {
                self.arm(&mut pending, next);
            }
        }
        due.into_iter().for_each(Waker::wake);
    }
}

/// The precise timer. Dropping it ends its watcher; sleepers still waiting then fall back on nothing, so it
/// lives as long as the users that sleep on it (the run's `Driver`).
pub struct Timer {
    shared: Option<Arc<Shared>>,
    watcher: Option<JoinHandle<()>>,
}

impl Timer {
    /// Creates the timerfd and its watcher task; must be called within the runtime.
    pub fn start() -> Timer {
        let created = TimerFd::new(ClockId::CLOCK_MONOTONIC, TimerFlags::TFD_NONBLOCK | TimerFlags::TFD_CLOEXEC)
            .map_err(std::io::Error::from)
            .and_then(register);
        let fd = match created {
            Ok(fd) => fd,
            Err(error) => {
                // Without it, `sleep_until` falls back on tokio's timer.
                tracing::warn!(%error, "cannot create the precise timer; due times will be ~1 ms coarser");
                return Timer { shared: None, watcher: None };
            }
        };
        let shared = Arc::new(Shared { fd, pending: Mutex::default() });
        let watcher = tokio::spawn(watch(shared.clone()));
        Timer { shared: Some(shared), watcher: Some(watcher) }
    }

    /// Sleeps until `deadline`, waking within a fraction of a millisecond after it.
    pub async fn sleep_until(&self, deadline: tokio::time::Instant) {
        let Some(shared) = &self.shared else {
            tokio::time::sleep_until(deadline).await;
            return;
        };
        let deadline = deadline.into_std();
        let mut registered = false;
        poll_fn(|cx| {
            if Instant::now() >= deadline {
                return Poll::Ready(());
            }
            // A task's waker stays the same between polls, so one entry is enough however often it is polled.
            if !registered {
                shared.register(deadline, cx.waker().clone());
                registered = true;
            }
            Poll::Pending
        })
        .await;
    }
}

impl Drop for Timer {
    fn drop(&mut self) {
        if let Some(watcher) = self.watcher.take() {
            watcher.abort();
        }
    }
}

/// Hands the timerfd to tokio's reactor. `AsyncFd::new` is deprecated for descriptors it cannot know stay
/// open; this one can: `Fd` owns it (`TimerFd` holds an `OwnedFd`), so it lives exactly as long as the
/// `AsyncFd`. Its safe replacement is `unsafe`, which this workspace forbids.
#[allow(deprecated)]
fn register(fd: TimerFd) -> std::io::Result<AsyncFd<Fd>> {
    AsyncFd::with_interest(Fd(fd), tokio::io::Interest::READABLE)
}

/// Waits for the timerfd to fire, reads it and wakes the sleepers that are due.
async fn watch(shared: Arc<Shared>) {
    loop {
        let Ok(mut ready) = shared.fd.readable().await else {
            tracing::warn!("the precise timer's descriptor failed; due times stop");
            return;
        };
        // Nothing to read yet means a spurious readiness; an expiry read clears it.
        let _ = ready.try_io(|fd| fd.get_ref().0.wait().map_err(std::io::Error::from));
        shared.fire();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_in_deadline_order_and_not_before() {
        let timer = std::sync::Arc::new(Timer::start());
        assert!(timer.shared.is_some(), "the timerfd could not be created");
        let start = tokio::time::Instant::now();
        let offsets_ms = [12u64, 4, 8, 0, 30];
        let (sender, mut woken) = tokio::sync::mpsc::unbounded_channel();
        for offset in offsets_ms {
            let (timer, sender) = (timer.clone(), sender.clone());
            tokio::spawn(async move {
                let deadline = start + Duration::from_millis(offset);
                timer.sleep_until(deadline).await;
                sender.send((offset, tokio::time::Instant::now() >= deadline)).unwrap();
            });
        }
        let mut order = Vec::new();
        for _ in offsets_ms {
            let (offset, on_time) = woken.recv().await.unwrap();
            assert!(on_time, "woke before its deadline ({offset} ms)");
            order.push(offset);
        }
        assert_eq!(order, [0, 4, 8, 12, 30]);
    }

    #[tokio::test]
    async fn a_later_sleeper_does_not_delay_an_earlier_one_registered_after_it() {
        let timer = std::sync::Arc::new(Timer::start());
        let start = tokio::time::Instant::now();
        let late = tokio::spawn({
            let timer = timer.clone();
            async move { timer.sleep_until(start + Duration::from_millis(500)).await }
        });
        tokio::task::yield_now().await;
        timer.sleep_until(start + Duration::from_millis(5)).await;
        let woke_after = start.elapsed();
        assert!(
            woke_after < Duration::from_millis(400),
            "the earlier deadline waited for the later one: {woke_after:?}"
        );
        late.abort();
    }
}
