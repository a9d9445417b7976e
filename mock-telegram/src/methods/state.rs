//! What the generic methods take from the mock's state rather than from their parameters alone, all found from
//! the spec: a `set<X>` whose `get<X>` exists stores its parameters for the getter (setMyName → getMyName,
//! setChatMenuButton → getChatMenuButton, ...), per chat and language; a method that names a message of a chat
//! (pin, forward, copy, react, stop a poll) needs it to exist, and one that names a user needs to have met them;
//! an edit of a message's caption, media or live location changes the stored message and answers like
//! editMessageText; and a method whose result is a field of the message it names (stopPoll's Poll) answers that
//! field.

use std::collections::HashMap;
use std::sync::Mutex;

use serde_json::{Map, Value};

use super::{Call, Reply};
use crate::bot::lock;
use crate::error::ApiError;
use crate::spec::{self, Method};

/// The most settings kept (one per setter, chat and language); past it the store starts over.
const MAX_SETTINGS: usize = 10_000;

/// What `set<X>` calls stored, by getter and scope.
#[derive(Debug, Default)]
pub struct Settings(Mutex<HashMap<String, Map<String, Value>>>);

impl Settings {
    fn key(call: &Call<'_>, thing: &str) -> String {
        let scope = |name: &str| call.params.str(name).unwrap_or_default().to_owned();
        format!(
            "{}|{}|{}|{}",
            thing.to_ascii_lowercase(),
            scope("chat_id"),
            scope("language_code"),
            scope("for_channels")
        )
    }
}

/// A setter with a getter stores its parameters; a getter reads them back, with each object-valued one also
/// spread out (`menu_button`'s `type`, `rights`' flags), for the result to take its fields from.
pub fn settings(call: &Call<'_>, method: &Method) -> Option<Map<String, Value>> {
    let (is_setter, thing) = match method.name.get(..3)? {
        "set" => (true, &method.name[3..]),
        "get" => (false, &method.name[3..]),
        _ => return None,
    };
    let pair = format!("{}{thing}", if is_setter { "get" } else { "set" });
    spec::spec().method(&pair)?;
    let key = Settings::key(call, thing);
    let mut store = lock(&call.bot.settings.0);
    if is_setter {
        if store.len() >= MAX_SETTINGS {
            store.clear();
        }
        let params = call.params.texts().map(|(name, text)| (name.to_string(), parse(text))).collect();
        store.insert(key, params);
        return None;
    }
    let mut known = store.get(&key).cloned().unwrap_or_default();
    let spread: Vec<Map<String, Value>> = known.values().filter_map(|v| v.as_object().cloned()).collect();
    for object in spread {
        for (name, value) in object {
            known.entry(name).or_insert(value);
        }
    }
    Some(known)
}

fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|_| Value::from(text))
}

/// The message and user a call names must exist: Telegram's 400 otherwise.
pub fn check_references(call: &Call<'_>, method: &Method) -> Result<(), ApiError> {
    let has = |name: &str| method.fields.iter().any(|f| f.name == name);
    let mut chats = lock(&call.bot.chats);
    if let Some(user_id) = call.params.i64("user_id")? {
        if !chats.knows_user(user_id) && user_id != call.bot.id {
            return Err(ApiError::bad_request("user not found"));
        }
    }
    let Some(message_id) =
        call.params.i64("message_id")?.filter(|_| has("chat_id") && !method.name.starts_with("edit"))
    else {
        return Ok(());
    };
    // A forward or a copy names its message in the chat it comes from.
    let source = if has("from_chat_id") { "from_chat_id" } else { "chat_id" };
    let Some(chat_id) = call.params.i64(source).ok().flatten() else { return Ok(()) };
    let Ok(chat) = chats.get(chat_id) else { return Ok(()) };
    if chat.existed(message_id) {
        return Ok(());
    }
    let verb = ["forward", "copy", "pin", "unpin", "delete", "stop"].into_iter().find(|v| method.name.starts_with(v));
    Err(ApiError::bad_request(match verb {
        Some("stop") => "message with poll to stop not found".to_owned(),
        Some(verb) => format!("message to {verb} not found"),
        None => "message not found".to_owned(),
    }))
}

/// An edit of a stored message's caption, media or live location (not its text or markup, which have handlers
/// of their own): applied, and answered as editMessageText answers.
pub fn edit(call: &Call<'_>, method: &Method) -> Option<Result<Reply, ApiError>> {
    let edits_message =
        method.returns.iter().any(|r| r == "Message") && method.fields.iter().any(|f| f.name == "message_id");
    if !method.name.starts_with("edit") || !edits_message || call.params.str("inline_message_id").is_some() {
        return None;
    }
    let caption = call.params.str("caption").map(str::to_owned);
    let markup = match super::messages::reply_markup(&call.params) {
        Ok(markup) => markup,
        Err(error) => return Some(Err(error)),
    };
    let location = match (call.params.get("latitude"), call.params.get("longitude")) {
        (Some(_), Some(_)) => Some(serde_json::json!({
            "latitude": parse(call.params.str("latitude").unwrap_or("0")),
            "longitude": parse(call.params.str("longitude").unwrap_or("0")),
        })),
        _ => None,
    };
    let media = match call.params.json::<Value>("media") {
        Ok(media) => media,
        Err(error) => return Some(Err(error)),
    };
    let media = match media.map(|item| super::files::album_item(call, &item)).transpose() {
        Ok(media) => media,
        Err(error) => return Some(Err(error)),
    };
    Some(super::messages::edit(call, &method.name, |message| {
        if let Some(caption) = caption {
            message.caption = Some(caption);
        }
        if let Some(location) = location {
            message.extra.insert("location".into(), location);
        }
        if let Some((field, file)) = media {
            message.photo = None;
            message.document = None;
            message.extra.insert(field, file);
        }
        message.reply_markup = markup;
        true
    }))
}

/// A result that is a field of the message the call names (stopPoll answers the message's Poll, now closed).
pub fn message_field(call: &Call<'_>, method: &Method, returns: &str) -> Option<Value> {
    let chat_id = call.params.chat_id().ok()?;
    let message_id = call.params.i64("message_id").ok()??;
    let field =
        spec::spec().types.get("Message")?.fields.iter().find(|f| f.types.first().is_some_and(|t| t == returns))?;
    let mut chats = lock(&call.bot.chats);
    let message = chats.get(chat_id).ok()?.find_mut(message_id)?;
    let value = message.extra.get_mut(&field.name)?;
    if method.name.starts_with("stop") {
        if let Some(object) = value.as_object_mut() {
            object.insert("is_closed".into(), true.into());
        }
    }
    Some(value.clone())
}
