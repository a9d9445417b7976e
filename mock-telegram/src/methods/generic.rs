//! Every method of the spec without a handler of its own (`sendVideo`, `getChat`, `createChatInviteLink`, ...):
//! its required parameters checked, then a result of its declared type. A method that returns a `Message` into a
//! chat sends one, stored in the chat and reported to the ledger, so that it answers an action as `sendMessage`
//! does; any other answers a placeholder of its type (`spec::example`), built from the call's parameters and the
//! chat it names. It never answers 404 for a method the spec has, and an unknown chat is Telegram's 400.

use serde_json::{Map, Value};

use super::{files, Call, Reply};
use crate::bot::lock;
use crate::error::ApiError;
use crate::spec::{self, Method};

pub fn answer(call: Call<'_>, method: &Method) -> Result<Reply, ApiError> {
    required(&call, method)?;
    // A chat the mock does not know is Telegram's 400, whatever the method would have done there.
    let chat = match call.params.get("chat_id") {
        Some(_) => Some(lock(&call.bot.chats).get(call.params.chat_id()?)?.chat.clone()),
        None => None,
    };
    let returns = method.returns.first().map_or("Boolean", String::as_str);
    let has = |name: &str| method.fields.iter().any(|f| f.name == name);
    let inline = call.params.str("inline_message_id").is_some_and(|id| !id.is_empty());
    match returns {
        // Sends into a chat (a send, a forward); an edit names its message and is answered below.
        "Message" if method.posts_to_chat() && (!has("message_id") || method.name.starts_with("forward")) => {
            let media = files::media_fields(&call, method)?;
            files::media_message(&call, &method.name, |message| message.extra = media)
        }
        // A copy is a new message in the chat, answered with its id only.
        "MessageId" if has("from_chat_id") => {
            let sent = files::media_message(&call, &method.name, |_| {})?;
            let message: Value = serde_json::from_str(&sent.result).unwrap_or_default();
            Ok(Reply::json(&serde_json::json!({"message_id": message["message_id"]})))
        }
        // Edits of an inline message answer `true`, as Telegram's do.
        "Message" if inline && method.returns.iter().any(|r| r == "Boolean") => Ok(Reply::ok()),
        "Boolean" => Ok(Reply::ok()),
        _ => Ok(Reply::json(&spec::example(returns, &known(&call, chat.as_deref())))),
    }
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
    known
}
