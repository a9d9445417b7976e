//! Flood control: token buckets for Telegram's documented sending limits (about 1 message per second per chat
//! with short bursts, 20 per minute per group, about 30 per second overall, 1,000 with paid broadcasts),
//! answered with `429 Too Many Requests: retry after N`.
//!
//! Enforced only when configured: pure throughput tests want no limits. Either way every send is measured
//! against them (`FloodStats`): how many went past which limit, the peak send rate, and, when enforced, how many
//! 429s the bot got and whether its next send to that chat waited the `retry_after` it was told. Refilling takes
//! the time it is given, so the buckets are tested without a clock.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Instant;

/// A sustained rate with a burst allowance.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    pub per_second: f64,
    pub burst: f64,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FloodLimits {
    pub per_chat: Rate,
    pub per_group: Rate,
    pub global: Rate,
}

impl Default for FloodLimits {
    /// The limits of the Bot FAQ ("My bot is hitting limits").
    fn default() -> Self {
        FloodLimits {
            per_chat: Rate { per_second: 1.0, burst: 3.0 },
            per_group: Rate { per_second: 20.0 / 60.0, burst: 20.0 },
            global: Rate { per_second: 30.0, burst: 30.0 },
        }
    }
}

impl FloodLimits {
    /// The limits of a bot with paid broadcasts: up to 1,000 messages per second overall.
    pub fn paid() -> FloodLimits {
        FloodLimits { global: Rate { per_second: 1000.0, burst: 1000.0 }, ..FloodLimits::default() }
    }
}

/// Every send measured against the limits.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct FloodStats {
    /// Whether the limits were enforced (429s) or only measured.
    pub enforced: bool,
    pub sends: u64,
    /// Sends past a limit: refused with 429 when enforced, counted only otherwise. A send past both its chat's
    /// and the global limit counts for its chat.
    pub over_per_chat: u64,
    pub over_per_group: u64,
    pub over_global: u64,
    /// The next send to a chat after a 429 there: before the `retry_after` it was told had passed, or after.
    pub retried_early: u64,
    pub retried_after_wait: u64,
    /// The most sends in one second.
    pub peak_per_s: u64,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
    /// When a 429 told the bot to retry in this chat: its next send is judged against it.
    retry_at: Option<Instant>,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Bucket {
        Bucket { tokens: rate.burst, at: now, retry_at: None }
    }

    fn refill(&mut self, rate: Rate, now: Instant) {
        let elapsed = now.saturating_duration_since(self.at).as_secs_f64();
        self.tokens = (self.tokens + elapsed * rate.per_second).min(rate.burst);
        self.at = now;
    }

    /// Seconds until one token is available, 0 if one is now.
    fn wait(&self, rate: Rate) -> f64 {
        if self.tokens >= 1.0 {
            0.0
        } else {
            (1.0 - self.tokens) / rate.per_second
        }
    }
}

#[derive(Debug)]
struct State {
    global: Bucket,
    chats: HashMap<i64, Bucket>,
    stats: FloodStats,
    /// The current whole second since `start`, and its sends so far.
    second: (u64, u64),
}

#[derive(Debug)]
pub struct Flood {
    limits: FloodLimits,
    start: Instant,
    state: Mutex<State>,
}

impl Flood {
    /// Limits that answer 429 when `enforced`, and are only measured otherwise.
    pub fn new(limits: FloodLimits, enforced: bool, now: Instant) -> Flood {
        let stats = FloodStats { enforced, ..FloodStats::default() };
        let state = State { global: Bucket::full(limits.global, now), chats: HashMap::new(), stats, second: (0, 0) };
        Flood { limits, start: now, state: Mutex::new(state) }
    }

    /// Counts one message to `chat_id` against the chat's and the global bucket. Past a limit, an enforced
    /// flood says after how many whole seconds to retry; a measured one only counts it.
    pub fn take(&self, chat_id: i64, now: Instant) -> Result<(), u64> {
        let chat_rate = if chat_id < 0 { self.limits.per_group } else { self.limits.per_chat };
        let mut state = crate::bot::lock(&self.state);
        let State { global, chats, stats, second } = &mut *state;
        stats.sends += 1;
        let this_second = now.saturating_duration_since(self.start).as_secs();
        *second = if second.0 == this_second { (this_second, second.1 + 1) } else { (this_second, 1) };
        stats.peak_per_s = stats.peak_per_s.max(second.1);
        let chat = chats.entry(chat_id).or_insert_with(|| Bucket::full(chat_rate, now));
        if let Some(retry_at) = chat.retry_at.take() {
            match now < retry_at {
                true => stats.retried_early += 1,
                false => stats.retried_after_wait += 1,
            }
        }
        chat.refill(chat_rate, now);
        global.refill(self.limits.global, now);
        let (chat_wait, global_wait) = (chat.wait(chat_rate), global.wait(self.limits.global));
        if chat_wait > 0.0 || global_wait > 0.0 {
            match (chat_wait > 0.0, chat_id < 0) {
                (true, false) => stats.over_per_chat += 1,
                (true, true) => stats.over_per_group += 1,
                (false, _) => stats.over_global += 1,
            }
            if stats.enforced {
                let retry_after = chat_wait.max(global_wait).ceil().max(1.0) as u64;
                chat.retry_at = Some(now + std::time::Duration::from_secs(retry_after));
                return Err(retry_after);
            }
            // Measured only: the send went out, as it would not have on Telegram; it takes no token.
            return Ok(());
        }
        chat.tokens -= 1.0;
        global.tokens -= 1.0;
        Ok(())
    }

    pub fn stats(&self) -> FloodStats {
        crate::bot::lock(&self.state).stats
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn check(limits: FloodLimits, sends: &[(i64, u64)], expected: &[Result<(), u64>]) {
        let start = Instant::now();
        let flood = Flood::new(limits, true, start);
        let results: Vec<_> =
            sends.iter().map(|(chat, ms)| flood.take(*chat, start + Duration::from_millis(*ms))).collect();
        assert_eq!(results, expected);
    }

    #[test]
    fn a_chat_gets_its_burst_then_one_per_second() {
        let sends = [(1, 0), (1, 0), (1, 0), (1, 0), (2, 0), (1, 1000)];
        check(FloodLimits::default(), &sends, &[Ok(()), Ok(()), Ok(()), Err(1), Ok(()), Ok(())]);
    }

    #[test]
    fn the_global_limit_holds_across_chats() {
        let limits = FloodLimits { global: Rate { per_second: 2.0, burst: 2.0 }, ..FloodLimits::default() };
        check(limits, &[(1, 0), (2, 0), (3, 0), (3, 500)], &[Ok(()), Ok(()), Err(1), Ok(())]);
    }

    #[test]
    fn groups_have_the_per_minute_limit() {
        let sends: Vec<(i64, u64)> = (0..21).map(|_| (-5, 0)).collect();
        let mut expected = vec![Ok(()); 20];
        expected.push(Err(3));
        check(FloodLimits::default(), &sends, &expected);
    }

    #[test]
    fn sends_are_measured_and_retries_judged_against_retry_after() {
        let start = Instant::now();
        let at = |ms: u64| start + Duration::from_millis(ms);
        let flood = Flood::new(FloodLimits::default(), true, start);
        for _ in 0..3 {
            flood.take(1, at(0)).unwrap();
        }
        assert_eq!(flood.take(1, at(10)), Err(1));
        assert_eq!(flood.take(1, at(500)), Err(1), "too early: told to wait a second");
        assert!(flood.take(1, at(2600)).is_ok(), "waited");
        let stats = flood.stats();
        assert_eq!(
            (stats.sends, stats.over_per_chat, stats.retried_early, stats.retried_after_wait, stats.peak_per_s),
            (6, 2, 1, 1, 5)
        );

        // Not enforced, the same sends all go out and are counted.
        let measured = Flood::new(FloodLimits::default(), false, start);
        let results: Vec<_> = (0..5).map(|_| measured.take(1, at(0))).chain([measured.take(-7, at(0))]).collect();
        assert!(results.iter().all(Result::is_ok));
        let stats = measured.stats();
        assert_eq!((stats.enforced, stats.over_per_chat, stats.over_per_group, stats.retried_early), (false, 2, 0, 0));
    }
}
