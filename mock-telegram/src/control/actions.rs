//! A synthetic user's action: it becomes an update in the bot's queue, is registered in the ledger, and, when
//! asked, the request waits for the bot's answer and returns it with its timings.
//!
//! The response headers go out only when the answer is in (or the wait times out), because load generators time
//! a request until its headers arrive.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::kinds::{self, Action};
use super::{bot, ControlError, Json, Path};
use crate::clock::now_us;
use crate::ledger::Timings;

/// The longest a control request may wait for an answer.
const MAX_WAIT_MS: u64 = 600_000;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ActionRequest {
    pub chat_id: i64,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<i64>,
    pub action: Action,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due_us: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub wait_ms: Option<u64>,
}

#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    Answered,
    BotError,
    Timeout,
    Queued,
    /// The bot's `allowed_updates` excludes this kind of update: it will never see it.
    Filtered,
    /// A notification (a reaction, a poll answer, a block, ...) the bot has received; no answer is expected.
    Delivered,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ActionResponse {
    pub action_id: u64,
    pub update_id: Option<i64>,
    #[serde(default)]
    pub message_id: Option<i64>,
    pub outcome: Outcome,
    #[serde(default)]
    pub answer: Option<Value>,
    pub timings_us: Timings,
}

pub async fn act(
    State(server): State<Arc<Server>>,
    Path(token): Path<String>,
    Json(request): Json<ActionRequest>,
) -> Result<axum::Json<ActionResponse>, ControlError> {
    let bot = bot(&server, &token)?;
    let now = now_us();
    let due = request.due_us.unwrap_or(now);
    let action_id = bot.ledger.next_action_id();
    let from = request.from.unwrap_or(request.chat_id);
    let prepared = kinds::prepare(&bot, request.chat_id, from, &request.action, action_id)?;
    let mut registered =
        bot.ledger.register(action_id, request.chat_id, prepared.message_id, prepared.expect, due, now);
    for body in &prepared.before {
        bot.updates.push(body.kind(), request.chat_id, None, |id| body.to_json(id));
    }
    let mut update_id = None;
    for body in &prepared.bodies {
        let pushed = bot.updates.push(body.kind(), request.chat_id, Some(action_id), |id| body.to_json(id));
        update_id = update_id.or(pushed);
    }
    let message_id = prepared.message_id.filter(|_| !matches!(request.action, Action::Callback { .. }));
    let mut response = ActionResponse {
        action_id,
        update_id,
        message_id,
        outcome: Outcome::Queued,
        answer: None,
        timings_us: Timings { due, enqueued: now, delivered: None, answered: None },
    };
    if update_id.is_none() {
        bot.ledger.forget(action_id);
        response.outcome = Outcome::Filtered;
        return Ok(axum::Json(response));
    }
    let wait = Duration::from_millis(request.wait_ms.unwrap_or(0).min(MAX_WAIT_MS));
    if wait.is_zero() {
        return Ok(axum::Json(response));
    }
    let completion = match tokio::time::timeout(wait, &mut registered.completion).await {
        Ok(Ok(completion)) => Some(completion),
        // Expired from the ledger while waiting (it ended there), or the wait ran out: the action ends now if the
        // bot's answer failed and was not retried, and stays open for a late answer otherwise.
        Ok(Err(_)) => None,
        Err(_) => bot.ledger.give_up(action_id),
    };
    match completion {
        Some(completion) => {
            response.outcome = match (&completion.answer.error, completion.timings.answered) {
                (_, None) => Outcome::Delivered,
                (Some(_), _) => Outcome::BotError,
                (None, _) => Outcome::Answered,
            };
            response.answer = completion.timings.answered.and(serde_json::to_value(&completion.answer).ok());
            response.timings_us = completion.timings;
        }
        None => response.outcome = Outcome::Timeout,
    }
    Ok(axum::Json(response))
}

use crate::server::Server;
