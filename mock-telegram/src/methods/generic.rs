//! Every method of the spec without a handler of its own (`sendVideo`, `getChat`, `createChatInviteLink`, ...):
//! its required parameters checked, then a result of its declared type. A method that returns a `Message` into a
//! chat sends one, stored in the chat and reported to the ledger, so that it answers an action as `sendMessage`
//! does; any other answers a placeholder of its type (`spec::example`), built from the call's parameters and the
//! chat it names and the mock's state (`state`: settings, the messages and users it names). It never answers 404
//! for a method the spec has, and an unknown chat, message or user is Telegram's 400.

use serde_json::{Map, Value};

use super::{files, state, Call, Reply};
use crate::bot::lock;
use crate::error::ApiError;
use crate::spec::{self, Method};

pub fn answer(call: Call<'_>, method: &Method) -> Result<Reply, ApiError> {
    required(&call, method)?;
    // A chat the mock does not know is Telegram's 400, whatever the method would have done there; a user who
    // blocked the bot is its 403 to anything posted there.
    let chat = match call.params.get("chat_id") {
        Some(_) => {
            let (mut chats, chat_id) = (lock(&call.bot.chats), call.params.chat_id()?);
            let chat = if method.posts_to_chat() { chats.for_send(chat_id)? } else { chats.get(chat_id)? };
            Some(chat.chat.clone())
        }
        None => None,
    };
    state::check_references(&call, method)?;
    if let Some(edited) = state::edit(&call, method) {
        return edited;
    }
    let settings = state::settings(&call, method);
    let returns = method.returns.first().map_or("Boolean", String::as_str);
    let has = |name: &str| method.fields.iter().any(|f| f.name == name);
    let inline = call.params.str("inline_message_id").is_some_and(|id| !id.is_empty());
    match returns {
        // Sends into a chat (a send, a forward); an edit names its message and is answered below.
        "Message" if method.posts_to_chat() && (!has("message_id") || method.name.starts_with("forward")) => {
            let mut fields = files::media_fields(&call, method)?;
            if let Some((name, value)) = content(&call, method) {
                fields.entry(name).or_insert(value);
            }
            files::media_message(&call, &method.name, |message| message.extra = fields)
        }
        // A copy is a new message in the chat, answered with its id only.
        "MessageId" if has("from_chat_id") => {
            let sent = files::media_message(&call, &method.name, |_| {})?;
            let message: Value = serde_json::from_str(&sent.result).unwrap_or_default();
            Ok(Reply::json(&serde_json::json!({"message_id": message["message_id"]})))
        }
        // Several forwarded or copied messages answer the action once, with all their ids.
        "Array of MessageId" if has("message_ids") && has("from_chat_id") => several(&call, &method.name),
        // Edits of an inline message answer `true`, as Telegram's do.
        "Message" if inline && method.returns.iter().any(|r| r == "Boolean") => Ok(Reply::ok()),
        "Boolean" => Ok(Reply::ok()),
        _ => {
            if let Some(field) = state::message_field(&call, method, returns) {
                return Ok(Reply::json(&field));
            }
            let mut known = known(&call, chat.as_deref());
            known.extend(settings.unwrap_or_default());
            Ok(Reply::json(&spec::example(returns, &known)))
        }
    }
}

/// What a `send<Thing>` puts in its message besides files: the Message field named after the thing (`poll`,
/// `location`, `venue`, `contact`, `dice`, `invoice`, ...) built as its spec type from the call's parameters.
fn content(call: &Call<'_>, method: &Method) -> Option<(String, Value)> {
    let thing = method.name.strip_prefix("send")?;
    let mut name = String::new();
    for c in thing.chars() {
        if c.is_ascii_uppercase() && !name.is_empty() {
            name.push('_');
        }
        name.push(c.to_ascii_lowercase());
    }
    let spec = spec::spec();
    let field = spec.types.get("Message")?.fields.iter().find(|f| f.name == name)?;
    let mut known = known(call, None);
    // A poll's id is unique, a die shows 1-6, an invoice totals its prices.
    let seq = call.bot.next_query_id();
    known.insert("id".into(), seq.clone().into());
    let roll = seq.bytes().last().map_or(1, |b| u64::from(b % 6) + 1);
    known.insert("value".into(), roll.into());
    if let Some(Value::Array(prices)) = known.get("prices") {
        let total: i64 = prices.iter().filter_map(|p| p["amount"].as_i64()).sum();
        known.insert("total_amount".into(), total.into());
    }
    Some((name, spec::example(&field.types[0], &known)))
}

/// forwardMessages and copyMessages: each of `message_ids` (1-100) becomes a message of the chat, with the
/// source's text where the mock still has it.
fn several(call: &Call<'_>, method: &str) -> Result<Reply, ApiError> {
    let ids: Vec<i64> = call.params.json("message_ids")?.unwrap_or_default();
    if !(1..=100).contains(&ids.len()) {
        return Err(ApiError::bad_request("message identifiers are not specified"));
    }
    let source = call.params.i64("from_chat_id")?;
    let texts: Vec<Option<String>> = {
        let mut chats = lock(&call.bot.chats);
        let chat = source.and_then(|id| chats.get(id).ok());
        ids.iter().map(|id| chat.as_ref().and_then(|c| c.find(*id)).and_then(|m| m.text.clone())).collect()
    };
    let mut sent = Vec::with_capacity(ids.len());
    for text in texts {
        let from = call.bot.user();
        sent.push(super::messages::store_sent(call, |message_id, chat| {
            let mut message = files::bot_message(message_id, from, chat, None, None, None);
            message.text = Some(text.unwrap_or_else(|| "a forwarded message".into()));
            message
        })?);
    }
    super::messages::report_sent(call, method, &sent[0], None);
    let ids: Vec<Value> = sent.iter().map(|m| serde_json::json!({"message_id": m.message_id})).collect();
    Ok(Reply::json(&ids))
}

/// Each required parameter is there, or the call is refused with the text Telegram gives for it.
fn required(call: &Call<'_>, method: &Method) -> Result<(), ApiError> {
    for field in method.fields.iter().filter(|f| f.required) {
        if call.params.get(&field.name).is_some() {
            continue;
        }
        return Err(match field.name.as_str() {
            "chat_id" => ApiError::bad_request("chat_id is empty"),
            "text" => ApiError::bad_request("message text is empty"),
            "message_id" => ApiError::bad_request("message identifier is not specified"),
            name => ApiError::bad_request(format!("parameter \"{name}\" is required")),
        });
    }
    Ok(())
}

/// What a placeholder result may take from the call: its parameters (numbers, flags and JSON as such), and the
/// fields of the chat it names.
fn known(call: &Call<'_>, chat: Option<&crate::wire::Chat>) -> Map<String, Value> {
    let mut known = Map::new();
    for (name, text) in call.params.texts() {
        let value = serde_json::from_str::<Value>(text).unwrap_or_else(|_| Value::from(text));
        known.insert(name.to_string(), value);
    }
    if let Some(Ok(Value::Object(fields))) = chat.map(serde_json::to_value) {
        known.extend(fields);
    }
    // What a new invite link, topic or record carries that no parameter gives: a link, an id, its creator.
    let seq = call.bot.next_query_id();
    let defaults = [
        ("invite_link", Value::from(format!("https://t.me/+tgload{seq}"))),
        ("message_thread_id", Value::from(seq[seq.len() - 6..].parse::<i64>().unwrap_or(1))),
        ("creator", serde_json::json!(*call.bot.user())),
    ];
    for (name, value) in defaults {
        known.entry(name).or_insert(value);
    }
    known
}
