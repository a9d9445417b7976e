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

use super::{bot, ControlError, Json, Path};
use crate::bot::{lock, Bot};
use crate::clock::{now_s, now_us};
use crate::ledger::Timings;
use crate::wire::{command_entities, CallbackQuery, Message, UpdateBody};

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

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "lowercase", deny_unknown_fields)]
pub enum Action {
    Text {
        text: String,
    },
    Command {
        command: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        args: Option<String>,
    },
    Callback {
        message_id: i64,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        data: Option<String>,
    },
    Edit {
        message_id: i64,
        text: String,
    },
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
    let prepared = prepare(&bot, &request, action_id)?;
    let mut registered = bot.ledger.register(
        action_id,
        request.chat_id,
        prepared.message_id.or(prepared.pressed),
        prepared.callback_id,
        due,
        now,
    );
    let update_id =
        bot.updates.push(prepared.body.kind(), request.chat_id, Some(action_id), |id| prepared.body.to_json(id));
    let mut response = ActionResponse {
        action_id,
        update_id,
        message_id: prepared.message_id,
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
            response.outcome = if completion.answer.error.is_some() { Outcome::BotError } else { Outcome::Answered };
            response.answer = serde_json::to_value(&completion.answer).ok();
            response.timings_us = completion.timings;
        }
        None => response.outcome = Outcome::Timeout,
    }
    Ok(axum::Json(response))
}

use crate::server::Server;

/// An update ready to enqueue, with what the ledger needs to correlate the answer.
struct Prepared {
    body: UpdateBody,
    message_id: Option<i64>,
    callback_id: Option<String>,
    /// The bot's message a button press was on.
    pressed: Option<i64>,
}

fn prepare(bot: &Bot, request: &ActionRequest, action_id: u64) -> Result<Prepared, ControlError> {
    let mut chats = lock(&bot.chats);
    let from_id = request.from.unwrap_or(request.chat_id);
    if from_id <= 0 {
        return Err(ControlError::Invalid("`from` is required for group chats".into()));
    }
    let from = chats.user(from_id);
    let chat = chats.for_action(request.chat_id).ok_or(ControlError::UnknownChat(request.chat_id))?;
    let text = match &request.action {
        Action::Text { text } => Some(text.clone()),
        Action::Command { command, args } => Some(format!(
            "/{}{}",
            command.trim_start_matches('/'),
            args.as_ref().map(|a| format!(" {a}")).unwrap_or_default()
        )),
        Action::Callback { .. } | Action::Edit { .. } => None,
    };
    if let Some(text) = text {
        if text.is_empty() {
            return Err(ControlError::Invalid("text must not be empty".into()));
        }
        let message_id = chat.next_message_id();
        let message = user_message(message_id, from, chat.chat.clone(), text);
        chats.store(message.clone());
        let body = UpdateBody::Message(message);
        return Ok(Prepared { body, message_id: Some(message_id), callback_id: None, pressed: None });
    }
    let chat_id = request.chat_id;
    match &request.action {
        Action::Edit { message_id, text } => {
            let message =
                chat.find_mut(*message_id).ok_or(ControlError::UnknownMessage { chat_id, message_id: *message_id })?;
            if message.from.id != from_id {
                return Err(ControlError::Invalid(format!("message {message_id} was not sent by user {from_id}")));
            }
            message.text = Some(text.clone());
            message.entities = command_entities(text);
            message.edit_date = Some(now_s());
            let message = message.clone();
            let body = UpdateBody::EditedMessage(message);
            Ok(Prepared { body, message_id: Some(*message_id), callback_id: None, pressed: None })
        }
        Action::Callback { message_id, data } => {
            let message =
                chat.find(*message_id).ok_or(ControlError::UnknownMessage { chat_id, message_id: *message_id })?;
            let data = pick_button(message, data.as_deref())?;
            let callback_id = format!("{}{:010}", bot.id, action_id);
            let query = CallbackQuery {
                id: callback_id.clone(),
                from,
                message: message.clone(),
                chat_instance: format!("{}", chat_id.unsigned_abs()),
                data: Some(data),
            };
            Ok(Prepared {
                body: UpdateBody::CallbackQuery(Box::new(query)),
                message_id: None,
                callback_id: Some(callback_id),
                pressed: Some(*message_id),
            })
        }
        Action::Text { .. } | Action::Command { .. } => unreachable!("handled above"),
    }
}

fn user_message(message_id: i64, from: Arc<crate::wire::User>, chat: Arc<crate::wire::Chat>, text: String) -> Message {
    Message {
        message_id,
        from,
        date: now_s(),
        chat,
        edit_date: None,
        entities: command_entities(&text),
        text: Some(text),
        caption: None,
        caption_entities: None,
        photo: None,
        document: None,
        reply_markup: None,
        extra: Default::default(),
    }
}

/// The `callback_data` of the button pressed: the one given, or the message's first callback button.
fn pick_button(message: &Message, wanted: Option<&str>) -> Result<String, ControlError> {
    let markup = message.reply_markup.as_ref().map(crate::wire::Json::value);
    let buttons: Vec<&str> = markup
        .as_ref()
        .and_then(|markup| markup.get("inline_keyboard"))
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_array)
        .flatten()
        .filter_map(|button| button.get("callback_data").and_then(Value::as_str))
        .collect();
    let id = message.message_id;
    match wanted {
        None => buttons
            .first()
            .map(|data| (*data).to_owned())
            .ok_or_else(|| ControlError::Invalid(format!("message {id} has no inline button with callback_data"))),
        Some(wanted) if buttons.contains(&wanted) => Ok(wanted.to_owned()),
        Some(wanted) => Err(ControlError::Invalid(format!("message {id} has no button with callback_data {wanted:?}"))),
    }
}
