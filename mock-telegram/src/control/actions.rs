//! A synthetic user's action: it becomes an update in the bot's queue, is registered in the ledger, and, when
//! asked, the request waits for the bot's answer and returns it with its timings.
//!
//! The response headers go out only when the answer is in (or the wait times out), because load generators time
//! a request until its headers arrive.

use std::sync::Arc;
use std::time::Duration;

use axum::extract::State;
use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

use super::kinds::{self, Action};
use super::{bot, ControlError, Json, Path};
use crate::clock::now_us;
use crate::ledger::Timings;
use crate::server::Server;

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
    /// Wait on after the first answer for the rest of a multi-message or streamed one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub collect: Option<Collect>,
}

/// How long to collect an answer of several calls: until it has `messages` messages (the first included), and/or
/// until the bot has been quiet in the chat for `quiet_ms`, within the request's `wait_ms`.
#[derive(Debug, Clone, Copy, Default, Serialize, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Collect {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub quiet_ms: Option<u64>,
}

/// The most follow-up calls one response lists.
const MAX_COLLECTED: usize = 100;

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
    /// The bot's answer, serialized once, as it is written (not built into a `Value` first).
    #[serde(default)]
    pub answer: Option<Box<RawValue>>,
    pub timings_us: Timings,
    /// With `collect`: every call of the answer (the first included, at most 100), how many of them were
    /// messages, and when the last came (the time to the last edit of a streamed answer).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub answers: Vec<Box<RawValue>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub messages: Option<u32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_answered_us: Option<u64>,
}

impl Outcome {
    /// The outcome's name on the wire (`answered`, `bot_error`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Outcome::Answered => "answered",
            Outcome::BotError => "bot_error",
            Outcome::Timeout => "timeout",
            Outcome::Queued => "queued",
            Outcome::Filtered => "filtered",
            Outcome::Delivered => "delivered",
        }
    }
}

/// `POST /control/bots/{token}/actions`: the route over `perform`.
pub async fn act(
    State(server): State<Arc<Server>>,
    Path(token): Path<String>,
    Json(request): Json<ActionRequest>,
) -> Result<axum::Json<ActionResponse>, ControlError> {
    perform(&server, &token, request).await.map(axum::Json)
}

/// One action of the bot with `token`, as the actions route performs it. A load generator in the mock's own
/// process calls this directly: the same action and the same response, without the JSON and the routing.
pub async fn perform(server: &Server, token: &str, request: ActionRequest) -> Result<ActionResponse, ControlError> {
    let bot = bot(server, token)?;
    let now = now_us();
    let due = request.due_us.unwrap_or(now);
    let action_id = bot.ledger.next_action_id();
    let from = request.from.unwrap_or(request.chat_id);
    let prepared = kinds::prepare(&bot, request.chat_id, from, &request.action, action_id)?;
    let mut registered =
        bot.ledger.register(action_id, request.chat_id, prepared.message_id, prepared.expect, due, now);
    // Followed from before the update goes out, so that no follow-up can come before the follower.
    let follow = request.collect.map(|collect| (collect, bot.ledger.follow(request.chat_id, action_id)));
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
        answers: Vec::new(),
        messages: None,
        last_answered_us: None,
    };
    let started = tokio::time::Instant::now();
    let wait = Duration::from_millis(request.wait_ms.unwrap_or(0).min(MAX_WAIT_MS));
    if update_id.is_none() || wait.is_zero() {
        bot.ledger.unfollow(request.chat_id, action_id);
    }
    if update_id.is_none() {
        bot.ledger.forget(action_id);
        response.outcome = Outcome::Filtered;
        return Ok(response);
    }
    if wait.is_zero() {
        return Ok(response);
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
            response.answer = completion.timings.answered.and(raw(&completion.answer));
            response.timings_us = completion.timings;
            if let (Some((collect, follow_ups)), Some(answered)) = (follow, completion.timings.answered) {
                let deadline = started + wait;
                collect_rest(&mut response, &completion.answer, answered, collect, follow_ups, deadline).await;
            }
        }
        None => response.outcome = Outcome::Timeout,
    }
    bot.ledger.unfollow(request.chat_id, action_id);
    Ok(response)
}

/// Waits for the rest of an answer after its first call: until it has `messages` messages and/or the bot has
/// been quiet for `quiet_ms`, and never past `deadline`.
async fn collect_rest(
    response: &mut ActionResponse,
    first: &crate::ledger::Answer,
    answered: u64,
    collect: Collect,
    mut follow_ups: tokio::sync::mpsc::UnboundedReceiver<(crate::ledger::Answer, u64)>,
    deadline: tokio::time::Instant,
) {
    let is_message = |a: &crate::ledger::Answer| {
        a.error.is_none() && ["send", "forward", "copy"].iter().any(|p| a.method.starts_with(p))
    };
    let mut messages = u32::from(is_message(first));
    let mut last = answered;
    response.answers.extend(raw(first));
    loop {
        let enough = collect.messages.is_none_or(|n| messages >= n);
        if enough && collect.quiet_ms.is_none() {
            break;
        }
        let left = deadline.saturating_duration_since(tokio::time::Instant::now());
        let window = match collect.quiet_ms {
            Some(quiet) if enough => left.min(Duration::from_millis(quiet)),
            _ => left,
        };
        match tokio::time::timeout(window, follow_ups.recv()).await {
            Ok(Some((answer, at))) => {
                messages += u32::from(is_message(&answer));
                last = last.max(at);
                if response.answers.len() < MAX_COLLECTED {
                    response.answers.extend(raw(&answer));
                }
            }
            _ => break,
        }
    }
    response.messages = Some(messages);
    response.last_answered_us = Some(last);
}

/// An answer as JSON text (an answer always serializes: it is made of strings, numbers and JSON values).
fn raw(answer: &crate::ledger::Answer) -> Option<Box<RawValue>> {
    serde_json::value::to_raw_value(answer).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_outcomes_name_is_its_name_on_the_wire() {
        use Outcome::*;
        for outcome in [Answered, BotError, Timeout, Queued, Filtered, Delivered] {
            assert_eq!(serde_json::to_value(outcome).unwrap(), outcome.name());
        }
    }
}
