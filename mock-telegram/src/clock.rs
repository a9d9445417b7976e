//! Wall-clock time in the units the wire and the control API use.
//!
//! Unix time, not `Instant`: the load generator stamps an action's due time in another process, and both sides
//! must read the same clock.

use std::time::{SystemTime, UNIX_EPOCH};

/// Microseconds since the unix epoch.
pub fn now_us() -> u64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map(|d| d.as_micros() as u64).unwrap_or(0)
}

/// Seconds since the unix epoch: the Bot API's `date`.
pub fn now_s() -> i64 {
    (now_us() / 1_000_000) as i64
}
