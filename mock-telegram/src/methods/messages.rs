//! Text messages: sendMessage, editMessageText, editMessageReplyMarkup, deleteMessage and sendChatAction.
//!
//! Each successful answering call is reported to the ledger, which decides which action, if any, it answers.

use serde_json::Value;

use super::{Call, Reply};
use crate::bot::lock;
use crate::error::ApiError;
use crate::ledger::{Answer, Target};
use crate::params::Params;
use crate::wire::{utf16_len, Json, Message};

const MAX_TEXT: usize = 4096;

/// The text of a message to send or edit, checked as Telegram checks it.
fn message_text(params: &Params) -> Result<String, ApiError> {
    let text = params.str("text").unwrap_or("");
    if text.trim().is_empty() {
        return Err(ApiError::bad_request("message text is empty"));
    }
    if utf16_len(text) > MAX_TEXT {
        return Err(ApiError::bad_request("message is too long"));
    }
    Ok(text.to_owned())
}

/// `reply_markup`, an object given inline or as JSON text.
pub fn reply_markup(params: &Params) -> Result<Option<Json>, ApiError> {
    let markup: Option<Value> = params
        .json("reply_markup")
        .map_err(|_| ApiError::bad_request("can't parse reply keyboard markup JSON object"))?;
    match markup {
        Some(object @ Value::Object(_)) => Ok(Some(Json::new(&object))),
        None => Ok(None),
        Some(_) => Err(ApiError::bad_request("can't parse reply keyboard markup JSON object")),
    }
}

/// An entities field (`entities`, `caption_entities`): a JSON array given inline or as JSON text.
pub fn entities(params: &Params, name: &str) -> Result<Option<Json>, ApiError> {
    Ok(params.json::<Value>(name)?.map(|value| Json::new(&value)))
}

/// The message an answer replies to: `reply_parameters.message_id` or the older `reply_to_message_id`.
pub fn reply_to(params: &Params) -> Result<Option<i64>, ApiError> {
    let parameters: Option<Value> = params.json("reply_parameters")?;
    let from_parameters = parameters.as_ref().and_then(|p| p.get("message_id")).and_then(Value::as_i64);
    Ok(from_parameters.or(params.i64("reply_to_message_id")?))
}

fn answer_of(method: &str, message: &Message) -> Answer {
    Answer {
        method: method.into(),
        message_id: Some(message.message_id),
        text: message.text.clone().or_else(|| message.caption.clone()),
        reply_markup: message.reply_markup.clone(),
        ..Answer::default()
    }
}

/// Stores a message the bot sends and reports the answer; shared by every `send*` method.
pub fn send(
    call: &Call<'_>,
    method: &str,
    build: impl FnOnce(i64, &crate::chats::ChatState) -> Message,
) -> Result<Reply, ApiError> {
    let reply_to = reply_to(&call.params)?;
    let message = store_sent(call, build)?;
    report_sent(call, method, &message, reply_to);
    Ok(Reply::json(&message))
}

/// Stores one message the bot sends into the call's chat (flood limits and blocks apply), without reporting it.
pub fn store_sent(
    call: &Call<'_>,
    build: impl FnOnce(i64, &crate::chats::ChatState) -> Message,
) -> Result<Message, ApiError> {
    let chat_id = call.params.chat_id()?;
    call.bot.flood.take(chat_id, std::time::Instant::now()).map_err(ApiError::too_many_requests)?;
    let mut chats = lock(&call.bot.chats);
    let chat = chats.for_send(chat_id)?;
    let message_id = chat.next_message_id();
    let message = build(message_id, chat);
    chats.store(message.clone());
    Ok(message)
}

/// Reports a sent message to the ledger: it answers the chat's action (or the one `reply_to` names).
pub fn report_sent(call: &Call<'_>, method: &str, message: &Message, reply_to: Option<i64>) {
    let target = Target::Chat { chat_id: message.chat.id, reply_to };
    call.bot.ledger.answer(target, answer_of(method, message), crate::clock::now_us());
}

pub fn send_message(call: Call<'_>) -> Result<Reply, ApiError> {
    let text = message_text(&call.params)?;
    let entities = entities(&call.params, "entities")?;
    let reply_markup = reply_markup(&call.params)?;
    let from = call.bot.user();
    send(&call, "sendMessage", |message_id, chat| Message {
        text: Some(text),
        entities,
        reply_markup,
        ..Message::new(message_id, from, chat.chat.clone())
    })
}

/// Applies an edit to one of the bot's messages and reports the answer.
pub(super) fn edit(call: &Call<'_>, method: &str, apply: impl FnOnce(&mut Message) -> bool) -> Result<Reply, ApiError> {
    if call.params.str("inline_message_id").is_some_and(|id| !id.is_empty()) {
        // Inline messages live in other users' chats, which the mock does not model.
        return Ok(Reply::ok());
    }
    let chat_id = call.params.chat_id()?;
    let message_id = call.params.message_id()?;
    let message = {
        let mut chats = lock(&call.bot.chats);
        let chat = chats.for_send(chat_id)?;
        if !chat.existed(message_id) {
            return Err(ApiError::bad_request("message to edit not found"));
        }
        let bot_user = call.bot.user();
        let template = chat.chat.clone();
        let message = match chat.find_mut(message_id) {
            Some(message) => message,
            // The message left the bounded history; on Telegram it would still exist, so accept the edit.
            None => return Ok(Reply::ok()),
        };
        if message.from.id != bot_user.id {
            return Err(ApiError::bad_request("message can't be edited"));
        }
        if !apply(message) {
            return Err(ApiError::bad_request(
                "message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message",
            ));
        }
        message.edit_date = Some(crate::clock::now_s());
        message.chat = template;
        message.clone()
    };
    let target = Target::Message { chat_id, message_id };
    call.bot.ledger.answer(target, answer_of(method, &message), crate::clock::now_us());
    Ok(Reply::json(&message))
}

pub fn edit_message_text(call: Call<'_>) -> Result<Reply, ApiError> {
    let text = message_text(&call.params)?;
    let entities = entities(&call.params, "entities")?;
    let markup = reply_markup(&call.params)?;
    edit(&call, "editMessageText", |message| {
        let changed = message.text.as_deref() != Some(text.as_str()) || message.reply_markup != markup;
        message.text = Some(text);
        message.entities = entities;
        // Like Telegram, an edit without reply_markup removes the inline keyboard.
        message.reply_markup = markup;
        changed
    })
}

pub fn edit_message_reply_markup(call: Call<'_>) -> Result<Reply, ApiError> {
    let markup = reply_markup(&call.params)?;
    edit(&call, "editMessageReplyMarkup", |message| {
        let changed = message.reply_markup != markup;
        message.reply_markup = markup;
        changed
    })
}

pub fn delete_message(call: Call<'_>) -> Result<Reply, ApiError> {
    let chat_id = call.params.chat_id()?;
    let message_id = call.params.message_id()?;
    {
        let mut chats = lock(&call.bot.chats);
        let chat = chats.get(chat_id)?;
        if !chat.existed(message_id) {
            return Err(ApiError::bad_request("message to delete not found"));
        }
        chat.remove(message_id);
    }
    let answer = Answer { method: "deleteMessage".into(), message_id: Some(message_id), ..Answer::default() };
    call.bot.ledger.answer(Target::Message { chat_id, message_id }, answer, crate::clock::now_us());
    Ok(Reply::ok())
}

/// A chat action is a hint to the user's client; it answers nothing.
pub fn send_chat_action(call: Call<'_>) -> Result<Reply, ApiError> {
    let chat_id = call.params.chat_id()?;
    lock(&call.bot.chats).for_send(chat_id)?;
    const ACTIONS: [&str; 10] = [
        "typing",
        "upload_photo",
        "record_video",
        "upload_video",
        "record_voice",
        "upload_voice",
        "upload_document",
        "choose_sticker",
        "find_location",
        "record_video_note",
    ];
    match call.params.str("action") {
        Some(action) if ACTIONS.contains(&action) || action == "upload_video_note" => Ok(Reply::ok()),
        Some(_) => Err(ApiError::bad_request("wrong parameter action in request")),
        None => Err(ApiError::bad_request("parameter \"action\" is required")),
    }
}
