//! Membership from the mock's state: getChatMember, getChatMemberCount and getChatAdministrators answer what the
//! synthetic users' joins, leaves and blocks made of each chat (the bot administers every group).

use serde_json::{json, Map, Value};

use super::{Call, Reply};
use crate::bot::lock;
use crate::error::ApiError;
use crate::wire::ChatKind;

/// A ChatMember of the spec's subtype for `status`, with the fields that subtype requires.
fn member(status: &str, user: &crate::wire::User) -> Value {
    let subtype = match status {
        "administrator" => "ChatMemberAdministrator",
        "left" => "ChatMemberLeft",
        "kicked" => "ChatMemberBanned",
        _ => "ChatMemberMember",
    };
    let known = Map::from_iter([("status".to_string(), json!(status)), ("user".to_string(), json!(user))]);
    let mut value = crate::spec::example(subtype, &known);
    value["user"] = json!(user);
    value
}

pub fn get_chat_member(call: Call<'_>) -> Result<Reply, ApiError> {
    let chat_id = call.params.chat_id()?;
    let user_id = call.params.i64("user_id")?.ok_or_else(|| ApiError::bad_request("user not found"))?;
    let bot = call.bot.user();
    let mut chats = lock(&call.bot.chats);
    let chat = chats.get(chat_id)?;
    let (kind, blocked, in_group) = (chat.chat.kind, chat.blocked, chat.members.contains(&user_id));
    let status = match kind {
        ChatKind::Group if user_id == bot.id => "administrator",
        ChatKind::Group if in_group => "member",
        ChatKind::Group => "left",
        ChatKind::Private if user_id == bot.id && blocked => "kicked",
        ChatKind::Private if user_id == bot.id || user_id == chat_id => "member",
        ChatKind::Private => return Err(ApiError::bad_request("user not found")),
    };
    let user = if user_id == bot.id { bot } else { chats.user(user_id) };
    Ok(Reply::json(&member(status, &user)))
}

pub fn get_chat_member_count(call: Call<'_>) -> Result<Reply, ApiError> {
    let chat_id = call.params.chat_id()?;
    let mut chats = lock(&call.bot.chats);
    let chat = chats.get(chat_id)?;
    let count = match chat.chat.kind {
        ChatKind::Group => chat.members.len() + 1,
        ChatKind::Private => 2,
    };
    Ok(Reply::json(&count))
}

pub fn get_chat_administrators(call: Call<'_>) -> Result<Reply, ApiError> {
    let chat_id = call.params.chat_id()?;
    lock(&call.bot.chats).get(chat_id)?;
    Ok(Reply::json(&[member("administrator", &call.bot.user())]))
}
