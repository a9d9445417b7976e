//! Flood control: token buckets for Telegram's documented sending limits (about 1 message per second per chat
//! with short bursts, 20 per minute per group, about 30 per second overall), answered with
//! `429 Too Many Requests: retry after N`.
//!
//! Off unless configured: pure throughput tests want no limits. Refilling takes the time it is given, so the
//! buckets are tested without a clock.

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

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl Bucket {
    fn full(rate: Rate, now: Instant) -> Bucket {
        Bucket { tokens: rate.burst, at: now }
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
}

#[derive(Debug)]
pub struct Flood {
    limits: FloodLimits,
    state: Mutex<State>,
}

impl Flood {
    pub fn new(limits: FloodLimits, now: Instant) -> Flood {
        let state = State { global: Bucket::full(limits.global, now), chats: HashMap::new() };
        Flood { limits, state: Mutex::new(state) }
    }

    /// Takes one message from the chat's and the global bucket, or says after how many whole seconds to retry.
    pub fn take(&self, chat_id: i64, now: Instant) -> Result<(), u64> {
        let chat_rate = if chat_id < 0 { self.limits.per_group } else { self.limits.per_chat };
        let mut state = crate::bot::lock(&self.state);
        let State { global, chats } = &mut *state;
        let chat = chats.entry(chat_id).or_insert_with(|| Bucket::full(chat_rate, now));
        chat.refill(chat_rate, now);
        global.refill(self.limits.global, now);
        let wait = chat.wait(chat_rate).max(global.wait(self.limits.global));
        if wait > 0.0 {
            return Err(wait.ceil().max(1.0) as u64);
        }
        chat.tokens -= 1.0;
        global.tokens -= 1.0;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    fn check(limits: FloodLimits, sends: &[(i64, u64)], expected: &[Result<(), u64>]) {
        let start = Instant::now();
        let flood = Flood::new(limits, start);
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
}
