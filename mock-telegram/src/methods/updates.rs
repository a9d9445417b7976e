//! getUpdates: the long poll, with the official server's offset, limit, timeout and conflict semantics.

use std::sync::atomic::Ordering;
use std::time::Duration;

use super::{Call, Reply};
use crate::bot::lock;
use crate::error::{ApiError, CONFLICT_OTHER_POLL, CONFLICT_SET_WEBHOOK, CONFLICT_WEBHOOK_ACTIVE};

/// The longest long poll the official server allows.
const MAX_TIMEOUT_S: i64 = 50;

pub async fn get_updates(call: Call<'_>) -> Result<Reply, ApiError> {
    let bot = call.bot;
    if lock(&bot.webhook).current.is_some() {
        return Err(ApiError::conflict(CONFLICT_WEBHOOK_ACTIVE));
    }
    let offset = call.params.i64("offset")?.unwrap_or(0);
    let limit = call.params.i64("limit")?.unwrap_or(100).clamp(1, 100) as usize;
    let timeout = call.params.i64("timeout")?.unwrap_or(0).clamp(0, MAX_TIMEOUT_S) as u64;
    let allowed: Option<Vec<String>> = call.params.json("allowed_updates")?;
    bot.updates.set_allowed(allowed);
    bot.updates.confirm(offset);
    bot.polls.fetch_add(1, Ordering::Relaxed);

    let generation = bot.updates.begin_poll();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(timeout);
    loop {
        let changed = bot.updates.changed.notified();
        tokio::pin!(changed);
        // Register interest before looking, so an update pushed in between still wakes this poll.
        changed.as_mut().enable();
        if !bot.updates.is_current_poll(generation) && !call.server.is_closing() {
            let webhook_set = lock(&bot.webhook).current.is_some();
            return Err(ApiError::conflict(if webhook_set { CONFLICT_SET_WEBHOOK } else { CONFLICT_OTHER_POLL }));
        }
        let updates = bot.updates.peek(limit);
        if !updates.is_empty() || call.server.is_closing() {
            return Ok(deliver(call.bot, updates));
        }
        if tokio::time::timeout_at(deadline, changed).await.is_err() {
            return Ok(Reply::raw("[]".into()));
        }
    }
}

fn deliver(bot: &crate::bot::Bot, updates: Vec<crate::updates::Queued>) -> Reply {
    let now = crate::clock::now_us();
    let mut result = String::from("[");
    for (i, update) in updates.iter().enumerate() {
        if i > 0 {
            result.push(',');
        }
        result.push_str(&update.json);
        if let Some(action_id) = update.action_id {
            bot.ledger.delivered(action_id, now);
        }
    }
    result.push(']');
    Reply::raw(result)
}
