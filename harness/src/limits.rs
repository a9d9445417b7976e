//! Telegram's sending limits in a run: what the mock measured of the bot's sends against them (always) and, when
//! the scenario enforced them (`[telegram] limits`), the 429s the bot got and whether it waited the `retry_after`
//! it was told. Pure: built from the mock's statistics, no I/O.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::scenario::Limits;

/// `summary.json`'s `telegram_limits`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct TelegramLimits {
    /// `off` (measured only), `real` or `paid` (enforced).
    pub mode: String,
    pub sends: u64,
    /// The most messages the bot sent in one second.
    pub peak_per_s: u64,
    /// Sends past a limit: each refused with 429 when enforced, each one Telegram would have refused otherwise.
    pub over_limit: OverLimit,
    /// After a 429 in a chat, the bot's next send there: before its `retry_after` had passed, or after.
    pub retried_early: u64,
    pub retried_after_wait: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverLimit {
    /// About 1 message per second per private chat.
    pub per_chat: u64,
    /// 20 messages per minute per group.
    pub per_group: u64,
    /// About 30 messages per second overall (1,000 with paid broadcasts).
    pub global: u64,
}

impl OverLimit {
    pub fn total(&self) -> u64 {
        self.per_chat + self.per_group + self.global
    }
}

impl TelegramLimits {
    /// From the mock's `telegram_limits` statistics; `None` when it has none.
    pub fn of(mode: Limits, mock_stats: &Value) -> Option<TelegramLimits> {
        let limits = mock_stats.get("telegram_limits")?;
        let n = |key: &str| limits.get(key).and_then(Value::as_u64).unwrap_or(0);
        let mode = serde_json::to_value(mode).ok()?.as_str()?.to_owned();
        Some(TelegramLimits {
            mode,
            sends: n("sends"),
            peak_per_s: n("peak_per_s"),
            over_limit: OverLimit {
                per_chat: n("over_per_chat"),
                per_group: n("over_per_group"),
                global: n("over_global"),
            },
            retried_early: n("retried_early"),
            retried_after_wait: n("retried_after_wait"),
        })
    }

    /// What the report says: whether the bot kept within the limits, and, enforced, whether it honoured
    /// `retry_after`.
    pub fn statement(&self) -> String {
        let over = self.over_limit;
        let share = |n: u64| 100.0 * n as f64 / self.sends.max(1) as f64;
        let which = format!(
            "{} past ~1 message/s per chat, {} past 20/min per group, {} past the overall limit",
            over.per_chat, over.per_group, over.global
        );
        let peak = format!("peak {} messages/s", self.peak_per_s);
        if self.mode == "off" {
            return match over.total() {
                0 => format!("The bot's {} sends stayed within Telegram's limits ({peak}).", self.sends),
                n => format!(
                    "Telegram would have refused {n} of the bot's {} sends ({:.1}%) with 429: {which} ({peak}). \
                     Set `[telegram] limits = \"real\"` to run under them.",
                    self.sends,
                    share(n)
                ),
            };
        }
        let retries = match (self.retried_early, self.retried_after_wait) {
            (0, 0) => "it did not send to those chats again".to_owned(),
            (0, waited) => format!("its next send to the chat waited `retry_after` all {waited} times"),
            (early, waited) => format!(
                "its next send to the chat came before `retry_after` had passed {early} times (it does not honour \
                 it) and after it {waited} times"
            ),
        };
        format!(
            "Telegram's limits were enforced (`{}`): {} of {} sends ({:.1}%) were answered 429: {which} ({peak}); \
             after a 429, {retries}.",
            self.mode,
            over.total(),
            self.sends,
            share(over.total())
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits(mode: Limits, over_chat: u64, early: u64, waited: u64) -> TelegramLimits {
        let stats = serde_json::json!({"telegram_limits": {
            "enforced": mode != Limits::Off, "sends": 1000, "peak_per_s": 450, "over_per_chat": over_chat,
            "over_per_group": 0, "over_global": 20, "retried_early": early, "retried_after_wait": waited,
        }});
        TelegramLimits::of(mode, &stats).unwrap()
    }

    #[test]
    fn measured_limits_say_what_telegram_would_have_refused() {
        let s = limits(Limits::Off, 100, 0, 0);
        assert_eq!((s.mode.as_str(), s.over_limit.total()), ("off", 120));
        let text = s.statement();
        assert!(text.contains("would have refused 120 of the bot's 1000 sends (12.0%)"), "{text}");
        assert!(text.contains("peak 450 messages/s") && text.contains("limits = \"real\""), "{text}");
        let within = TelegramLimits { over_limit: OverLimit::default(), ..s };
        assert!(within.statement().starts_with("The bot's 1000 sends stayed within"), "{}", within.statement());
    }

    #[test]
    fn enforced_limits_say_whether_the_bot_waited() {
        let honest = limits(Limits::Real, 100, 0, 90).statement();
        assert!(honest.contains("120 of 1000 sends (12.0%) were answered 429"), "{honest}");
        assert!(honest.contains("waited `retry_after` all 90 times"), "{honest}");
        let hasty = limits(Limits::Paid, 100, 30, 60).statement();
        assert!(hasty.contains("(`paid`)") && hasty.contains("before `retry_after` had passed 30 times"), "{hasty}");
        assert_eq!(TelegramLimits::of(Limits::Off, &serde_json::json!({})), None);
    }
}
