//! Precise wake-ups at due times. tokio's timer has a 1 ms resolution and rounds deadlines up, which would add
//! up to a millisecond or two of the generator's own lateness to every action's latency. Here a task sleeps on
//! tokio's timer until shortly before its due time, then one thread, sleeping with the operating system's
//! sub-millisecond timer, wakes it at the due time.
//!
//! It only wakes; it measures nothing.

use std::cmp::Ordering;
use std::collections::BinaryHeap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use tokio::sync::oneshot;

/// How long before a due time the coarse tokio sleep hands over to the precise thread.
const HANDOVER: Duration = Duration::from_millis(3);

struct Wake {
    at: Instant,
    seq: u64,
    waker: oneshot::Sender<()>,
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

/// The precise timer; its thread ends once the timer is dropped and every pending wake-up has fired.
pub struct Timer {
    requests: mpsc::Sender<(Instant, oneshot::Sender<()>)>,
}

impl Timer {
    pub fn start() -> Timer {
        let (requests, received) = mpsc::channel();
        let spawned = std::thread::Builder::new().name("tgload-timer".into()).spawn(move || run(received));
        if let Err(error) = spawned {
            // Without the thread, requests fail and `sleep_until` falls back to tokio's timer.
            tracing::warn!(%error, "cannot start the precise timer thread; due times will be ~1 ms coarser");
        }
        Timer { requests }
    }

    /// Sleeps until `deadline`, waking within a fraction of a millisecond after it.
    pub async fn sleep_until(&self, deadline: tokio::time::Instant) {
        let deadline = deadline.into_std();
        if let Some(handover) = deadline.checked_sub(HANDOVER) {
            if handover > Instant::now() {
                tokio::time::sleep_until(handover.into()).await;
            }
        }
        if deadline <= Instant::now() {
            return;
        }
        let (waker, woken) = oneshot::channel();
        if self.requests.send((deadline, waker)).is_err() {
            tokio::time::sleep_until(deadline.into()).await;
            return;
        }
        let _ = woken.await;
    }
}

fn run(requests: mpsc::Receiver<(Instant, oneshot::Sender<()>)>) {
    let mut pending = BinaryHeap::new();
    let mut seq = 0u64;
    let mut open = true;
    while open || !pending.is_empty() {
        let now = Instant::now();
        while pending.peek().is_some_and(|wake: &Wake| wake.at <= now) {
            if let Some(wake) = pending.pop() {
                let _ = wake.waker.send(());
            }
        }
        let next = pending.peek().map(|wake| wake.at.saturating_duration_since(now));
        let received = match (next, open) {
            (Some(wait), true) => requests.recv_timeout(wait),
            (None, true) => requests.recv().map_err(|_| mpsc::RecvTimeoutError::Disconnected),
            (Some(wait), false) => {
                std::thread::sleep(wait);
                continue;
            }
            (None, false) => break,
        };
        match received {
            Ok((at, waker)) => {
                seq += 1;
                pending.push(Wake { at, seq, waker });
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {}
            Err(mpsc::RecvTimeoutError::Disconnected) => open = false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn wakes_in_deadline_order_and_not_before() {
        let timer = std::sync::Arc::new(Timer::start());
        let start = tokio::time::Instant::now();
        let offsets_ms = [12u64, 4, 8, 0];
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
        assert_eq!(order, [0, 4, 8, 12]);
    }
}
