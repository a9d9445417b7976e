//! The kinds of action a synthetic user can take, and the updates each becomes: messages (text, commands, media,
//! a location, a contact, a forward, a reply), button presses and edits, inline queries, poll answers, reactions,
//! joins and leaves, join requests, blocks, and payments. Documented in `docs/control-api.md`.
//!
//! A kind that cannot apply in its chat at the moment (a join in a private chat, a reply before the bot has
//! written, a block of a bot already blocked) is refused with 409, so that a load generator picks another.
//!
//! Each kind says what answers it (`Expect`): the chat's next message, its own query's answering method, or, for
//! a notification a bot does not answer, its delivery. What a kind leaves out is taken from the chat: a reply, a
//! reaction and a poll answer are about the bot's last message (or poll) there.

use std::sync::Arc;

use serde::{Deserialize, Deserializer, Serialize};
use serde_json::{json, Value};

use super::ControlError;
use crate::bot::{lock, Bot, Checkout};
use crate::chats::{ChatState, Chats};
use crate::clock::now_s;
use crate::files::UserFile;
use crate::ledger::Expect;
use crate::wire::{
    command_entities, CallbackQuery, ChatKind, Document, Message, PhotoSize, UpdateBody, UpdateKind, User,
};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
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
    Photo(Media),
    Document(Media),
    Voice(Media),
    Video(Media),
    Sticker(Media),
    Location {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        latitude: Option<f64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        longitude: Option<f64>,
    },
    Contact {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        phone_number: Option<String>,
    },
    InlineQuery {
        #[serde(default)]
        query: String,
    },
    ChosenInlineResult {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        result_id: Option<String>,
        #[serde(default)]
        query: String,
    },
    PollAnswer {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        poll_id: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        option_ids: Option<Vec<u32>>,
    },
    Reaction {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        emoji: Option<String>,
    },
    Forward {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        text: Option<String>,
    },
    Reply {
        text: String,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        message_id: Option<i64>,
    },
    Join,
    Leave,
    JoinRequest,
    Block,
    Unblock,
    PreCheckout {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        total_amount: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        currency: Option<String>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payload: Option<String>,
    },
    ShippingQuery {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        payload: Option<String>,
    },
}

/// A file a user sends: its size (bytes, or `"200KB"`, `"1.5MB"`; each kind has a typical default) and caption.
#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Media {
    #[serde(default, deserialize_with = "size", skip_serializing_if = "Option::is_none")]
    pub size: Option<u64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
}

fn size<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<u64>, D::Error> {
    struct Size;
    impl serde::de::Visitor<'_> for Size {
        type Value = u64;
        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a size like \"200KB\" or a number of bytes")
        }
        fn visit_u64<E: serde::de::Error>(self, bytes: u64) -> Result<u64, E> {
            crate::files::parse_size(&bytes.to_string()).map_err(E::custom)
        }
        fn visit_i64<E: serde::de::Error>(self, bytes: i64) -> Result<u64, E> {
            crate::files::parse_size(&bytes.to_string()).map_err(E::custom)
        }
        fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<u64, E> {
            crate::files::parse_size(text).map_err(E::custom)
        }
    }
    deserializer.deserialize_any(Size).map(Some)
}

impl Action {
    /// The kind's name, as the control API and scenarios write it.
    pub fn name(&self) -> &'static str {
        match self {
            Action::Text { .. } => "text",
            Action::Command { .. } => "command",
            Action::Callback { .. } => "callback",
            Action::Edit { .. } => "edit",
            Action::Photo(_) => "photo",
            Action::Document(_) => "document",
            Action::Voice(_) => "voice",
            Action::Video(_) => "video",
            Action::Sticker(_) => "sticker",
            Action::Location { .. } => "location",
            Action::Contact { .. } => "contact",
            Action::InlineQuery { .. } => "inline_query",
            Action::ChosenInlineResult { .. } => "chosen_inline_result",
            Action::PollAnswer { .. } => "poll_answer",
            Action::Reaction { .. } => "reaction",
            Action::Forward { .. } => "forward",
            Action::Reply { .. } => "reply",
            Action::Join => "join",
            Action::Leave => "leave",
            Action::JoinRequest => "join_request",
            Action::Block => "block",
            Action::Unblock => "unblock",
            Action::PreCheckout { .. } => "pre_checkout",
            Action::ShippingQuery { .. } => "shipping_query",
        }
    }
}

/// An action's updates, ready to enqueue, with what the ledger needs to correlate the answer.
pub struct Prepared {
    /// Updates the action causes first that are not its own (a blocked user's message unblocks the bot first).
    pub before: Vec<UpdateBody>,
    /// The action's own updates (a join is a service message and a `chat_member` update).
    pub bodies: Vec<UpdateBody>,
    /// The user's new or edited message, or for a button press the bot's message that was pressed.
    pub message_id: Option<i64>,
    pub expect: Expect,
}

impl Prepared {
    fn one(body: UpdateBody, message_id: Option<i64>, expect: Expect) -> Prepared {
        Prepared { before: Vec::new(), bodies: vec![body], message_id, expect }
    }
}

/// Builds the updates of `action` by user `from_id` in `chat_id`, applying what it changes (history, members,
/// blocks).
pub fn prepare(
    bot: &Bot,
    chat_id: i64,
    from_id: i64,
    action: &Action,
    action_id: u64,
) -> Result<Prepared, ControlError> {
    let mut chats = lock(&bot.chats);
    if from_id <= 0 {
        return Err(ControlError::Invalid("`from` is required for group chats".into()));
    }
    let from = chats.user(from_id);
    let bot_user = bot.user();
    let chat = chats.for_action(chat_id).ok_or(ControlError::UnknownChat(chat_id))?;
    let is_group = chat.chat.kind == ChatKind::Group;
    let need_group = |name: &str| match is_group {
        true => Ok(()),
        false => Err(ControlError::NotNow(format!("`{name}` needs a group chat; {chat_id} is private"))),
    };
    let content = match action {
        Action::Text { text } => Content::Text(text.clone()),
        Action::Command { command, args } => Content::Text(format!(
            "/{}{}",
            command.trim_start_matches('/'),
            args.as_ref().map(|a| format!(" {a}")).unwrap_or_default()
        )),
        Action::Photo(media) => Content::File(UserFile::Photo, media),
        Action::Document(media) => Content::File(UserFile::Document, media),
        Action::Voice(media) => Content::File(UserFile::Voice, media),
        Action::Video(media) => Content::File(UserFile::Video, media),
        Action::Sticker(media) => Content::File(UserFile::Sticker, media),
        Action::Location { latitude, longitude } => Content::Fields(vec![(
            "location",
            json!({"latitude": latitude.unwrap_or(51.5074), "longitude": longitude.unwrap_or(-0.1278)}),
        )]),
        Action::Contact { phone_number } => Content::Fields(vec![(
            "contact",
            json!({
                "phone_number": phone_number.clone().unwrap_or_else(|| format!("+4470{:08}", from_id % 100_000_000)),
                "first_name": from.first_name, "user_id": from_id,
            }),
        )]),
        Action::Forward { text } => {
            let origin = json!({"type": "user", "date": now_s() - 60, "sender_user": forwarded_author(from_id)});
            Content::Message(
                text.clone().unwrap_or_else(|| "a forwarded message".into()),
                vec![("forward_origin", origin)],
            )
        }
        Action::Reply { text, message_id } => {
            let replied = match message_id {
                Some(id) => chat.find(*id).ok_or(ControlError::UnknownMessage { chat_id, message_id: *id })?,
                None => last_bot_message(chat, bot_user.id, |_| true)?,
            };
            let replied = serde_json::to_value(replied).unwrap_or_default();
            Content::Message(text.clone(), vec![("reply_to_message", replied)])
        }
        Action::Join => {
            need_group("join")?;
            chat.members.insert(from_id);
            Content::Membership(Value::Array(vec![json!(*from)]), "left", "member")
        }
        Action::Leave => {
            need_group("leave")?;
            chat.members.remove(&from_id);
            Content::Membership(json!(*from), "member", "left")
        }
        other => return prepare_other(bot, chat, &from, &bot_user, other, action_id),
    };
    // Refused before anything changes: no unblock, no message id given out.
    if matches!(&content, Content::Text(text) if text.is_empty()) {
        return Err(ControlError::Invalid("text must not be empty".into()));
    }
    let before = unblock_first(chat, &from, &bot_user);
    let message_id = chat.next_message_id();
    let mut message = Message::new(message_id, from.clone(), chat.chat.clone());
    let mut bodies = Vec::new();
    match content {
        Content::Text(text) => {
            message.entities = command_entities(&text);
            message.text = Some(text);
        }
        Content::Message(text, fields) => {
            message.text = Some(text);
            message.extra.extend(fields.into_iter().map(|(k, v)| (k.to_owned(), v)));
        }
        Content::Fields(fields) => message.extra.extend(fields.into_iter().map(|(k, v)| (k.to_owned(), v))),
        Content::File(kind, media) => attach(bot, &mut message, kind, media),
        Content::Membership(subject, old, new) => {
            let field = if new == "member" { "new_chat_members" } else { "left_chat_member" };
            message.extra.insert(field.into(), subject);
            let update = member_update(&chat.chat, &from, &from, old, new);
            bodies.push(UpdateBody::Other(UpdateKind::ChatMember, update));
        }
    }
    chats.store(message.clone());
    bodies.insert(0, UpdateBody::Message(message));
    Ok(Prepared { before, bodies, message_id: Some(message_id), expect: Expect::Reply })
}

/// What a message action puts in its message.
enum Content<'a> {
    Text(String),
    /// A text with more fields (a forward's origin, a reply's message).
    Message(String, Vec<(&'static str, Value)>),
    /// Fields without a text (a location, a contact).
    Fields(Vec<(&'static str, Value)>),
    File(UserFile, &'a Media),
    /// A service message about the user joining or leaving (`new_chat_members` or `left_chat_member`), which also
    /// sends a `chat_member` update from the old status to the new.
    Membership(Value, &'static str, &'static str),
}

/// The kinds that are not a message of the user's: presses and edits, queries, notifications, blocks.
fn prepare_other(
    bot: &Bot,
    chat: &mut ChatState,
    from: &Arc<User>,
    bot_user: &Arc<User>,
    action: &Action,
    action_id: u64,
) -> Result<Prepared, ControlError> {
    let chat_id = chat.chat.id;
    let user = from.id;
    let query = |kind: UpdateKind, value: Value, id: String| {
        Prepared::one(UpdateBody::Other(kind, value), None, Expect::Query(id))
    };
    let notice = |kind: UpdateKind, value: Value| Prepared::one(UpdateBody::Other(kind, value), None, Expect::Delivery);
    let kind = chat.chat.kind;
    let private = |name: &str| match kind {
        ChatKind::Private => Ok(()),
        ChatKind::Group => Err(ControlError::NotNow(format!("`{name}` needs a private chat; {chat_id} is a group"))),
    };
    Ok(match action {
        Action::Edit { message_id, text } => {
            let message =
                chat.find_mut(*message_id).ok_or(ControlError::UnknownMessage { chat_id, message_id: *message_id })?;
            if message.from.id != user {
                return Err(ControlError::Invalid(format!("message {message_id} was not sent by user {user}")));
            }
            message.text = Some(text.clone());
            message.entities = command_entities(text);
            message.edit_date = Some(now_s());
            Prepared::one(UpdateBody::EditedMessage(message.clone()), Some(*message_id), Expect::Reply)
        }
        Action::Callback { message_id, data } => {
            let message =
                chat.find(*message_id).ok_or(ControlError::UnknownMessage { chat_id, message_id: *message_id })?;
            let data = pick_button(message, data.as_deref())?;
            let callback_id = format!("{}{:010}", bot.id, action_id);
            let press = CallbackQuery {
                id: callback_id.clone(),
                from: from.clone(),
                message: message.clone(),
                chat_instance: format!("{}", chat_id.unsigned_abs()),
                data: Some(data),
            };
            let body = UpdateBody::CallbackQuery(Box::new(press));
            Prepared::one(body, Some(*message_id), Expect::Press(callback_id))
        }
        Action::InlineQuery { query: text } => {
            let id = bot.next_query_id();
            let chat_type = if chat.chat.kind == ChatKind::Group { "group" } else { "sender" };
            let value = json!({"id": id, "from": **from, "query": text, "offset": "", "chat_type": chat_type});
            query(UpdateKind::InlineQuery, value, id)
        }
        Action::ChosenInlineResult { result_id, query: text } => {
            let result_id = result_id.clone().unwrap_or_else(|| "1".into());
            notice(UpdateKind::ChosenInlineResult, json!({"result_id": result_id, "from": **from, "query": text}))
        }
        Action::PollAnswer { poll_id, option_ids } => {
            let poll_id = match poll_id {
                Some(id) => id.clone(),
                None => {
                    let polled =
                        last_bot_message(chat, bot_user.id, |m| m.extra.contains_key("poll")).map_err(|_| {
                            ControlError::NotNow(format!("the bot sent no poll in chat {chat_id}; give `poll_id`"))
                        })?;
                    polled.extra["poll"]["id"].as_str().unwrap_or_default().to_owned()
                }
            };
            let option_ids = option_ids.clone().unwrap_or_else(|| vec![0]);
            notice(UpdateKind::PollAnswer, json!({"poll_id": poll_id, "user": **from, "option_ids": option_ids}))
        }
        Action::Reaction { message_id, emoji } => {
            let message_id = match message_id {
                Some(id) if chat.existed(*id) => *id,
                Some(id) => return Err(ControlError::UnknownMessage { chat_id, message_id: *id }),
                None => last_bot_message(chat, bot_user.id, |_| true)?.message_id,
            };
            let reaction = json!([{"type": "emoji", "emoji": emoji.as_deref().unwrap_or("👍")}]);
            let value = json!({
                "chat": *chat.chat, "message_id": message_id, "user": **from, "date": now_s(),
                "old_reaction": [], "new_reaction": reaction,
            });
            notice(UpdateKind::MessageReaction, value)
        }
        Action::JoinRequest => {
            if kind != ChatKind::Group {
                return Err(ControlError::NotNow(format!("`join_request` needs a group chat; {chat_id} is private")));
            }
            let value = json!({"chat": *chat.chat, "from": **from, "user_chat_id": user, "date": now_s()});
            query(UpdateKind::ChatJoinRequest, value, join_request_id(chat_id, user))
        }
        Action::Block | Action::Unblock => {
            private(action.name())?;
            let block = matches!(action, Action::Block);
            if chat.blocked == block {
                let state = if block { "already blocked" } else { "has not blocked" };
                return Err(ControlError::NotNow(format!("user {user} {state} the bot")));
            }
            chat.blocked = block;
            let (old, new) = if block { ("member", "kicked") } else { ("kicked", "member") };
            notice(UpdateKind::MyChatMember, member_update(&chat.chat, from, bot_user, old, new))
        }
        Action::PreCheckout { total_amount, currency, payload } => {
            private("pre_checkout")?;
            let invoice = last_bot_message(chat, bot_user.id, |m| m.extra.contains_key("invoice")).ok();
            let invoice = invoice.map(|m| m.extra["invoice"].clone()).unwrap_or_default();
            let currency = currency.clone().or_else(|| invoice["currency"].as_str().map(str::to_owned));
            let total_amount = total_amount.or_else(|| invoice["total_amount"].as_i64()).unwrap_or(100);
            let checkout = Checkout {
                query_id: bot.next_query_id(),
                chat_id,
                from: from.clone(),
                currency: currency.filter(|c| !c.is_empty()).unwrap_or_else(|| "XTR".into()),
                total_amount,
                payload: payload.clone().unwrap_or_else(|| "tgload".into()),
            };
            let value = json!({
                "id": checkout.query_id, "from": **from, "currency": checkout.currency,
                "total_amount": checkout.total_amount, "invoice_payload": checkout.payload,
            });
            let id = checkout.query_id.clone();
            bot.add_checkout(checkout);
            query(UpdateKind::PreCheckoutQuery, value, id)
        }
        Action::ShippingQuery { payload } => {
            private("shipping_query")?;
            let id = bot.next_query_id();
            let address = json!({
                "country_code": "GB", "state": "", "city": "London", "street_line1": "1 Test Street",
                "street_line2": "", "post_code": "N1 1AA",
            });
            let value = json!({
                "id": id, "from": **from, "invoice_payload": payload.as_deref().unwrap_or("tgload"),
                "shipping_address": address,
            });
            query(UpdateKind::ShippingQuery, value, id)
        }
        _ => unreachable!("message kinds are prepared by `prepare`"),
    })
}

/// The query id a join request is answered by (approveChatJoinRequest names the chat and the user).
pub fn join_request_id(chat_id: i64, user_id: i64) -> String {
    format!("join:{chat_id}:{user_id}")
}

/// The successful payment message a pre-checkout query answered ok leads to, stored in its chat.
pub fn successful_payment(chats: &mut Chats, checkout: &Checkout) -> Option<Message> {
    let chat = chats.get(checkout.chat_id).ok()?;
    let mut message = Message::new(chat.next_message_id(), checkout.from.clone(), chat.chat.clone());
    let payment = json!({
        "currency": checkout.currency, "total_amount": checkout.total_amount,
        "invoice_payload": checkout.payload,
        "telegram_payment_charge_id": format!("tgload_{}", checkout.query_id),
        "provider_payment_charge_id": format!("provider_{}", checkout.query_id),
    });
    message.extra.insert("successful_payment".into(), payment);
    chats.store(message.clone());
    Some(message)
}

/// A user who blocked the bot and now writes to it has unblocked it first (Telegram's "Restart").
fn unblock_first(chat: &mut ChatState, from: &Arc<User>, bot_user: &Arc<User>) -> Vec<UpdateBody> {
    if !chat.blocked {
        return Vec::new();
    }
    chat.blocked = false;
    vec![UpdateBody::Other(UpdateKind::MyChatMember, member_update(&chat.chat, from, bot_user, "kicked", "member"))]
}

/// A `chat_member`/`my_chat_member` object: `subject` went from status `old` to `new`, by `from`'s doing.
fn member_update(chat: &crate::wire::Chat, from: &User, subject: &User, old: &str, new: &str) -> Value {
    let member = |status: &str| match status {
        "kicked" => json!({"status": status, "user": subject, "until_date": 0}),
        _ => json!({"status": status, "user": subject}),
    };
    json!({
        "chat": chat, "from": from, "date": now_s(),
        "old_chat_member": member(old), "new_chat_member": member(new),
    })
}

/// Someone else, whose message a user forwards.
fn forwarded_author(user_id: i64) -> User {
    let id = 9_000_000_000 + user_id % 1_000_000_000;
    User { id, is_bot: false, first_name: format!("Author{user_id}"), username: None, language_code: None }
}

fn last_bot_message(
    chat: &ChatState,
    bot_id: i64,
    matches: impl Fn(&Message) -> bool,
) -> Result<&Message, ControlError> {
    let chat_id = chat.chat.id;
    chat.last_from(bot_id, matches)
        .ok_or_else(|| ControlError::NotNow(format!("the bot has no message in chat {chat_id} to act on")))
}

/// Stores a synthetic file of `media`'s size and puts it in the message as its kind's field.
fn attach(bot: &Bot, message: &mut Message, kind: UserFile, media: &Media) {
    let default_size = match kind {
        UserFile::Photo => 100 << 10,
        UserFile::Document => 200 << 10,
        UserFile::Voice => 50 << 10,
        UserFile::Video => 1 << 20,
        UserFile::Sticker => 30 << 10,
    };
    let data = crate::files::synthetic(kind, media.size.unwrap_or(default_size));
    let (folder, extension) = kind.place();
    let file = lock(&bot.files).put(folder, extension, data);
    message.caption = media.caption.clone().filter(|c| !c.is_empty());
    let ids = |file: &crate::wire::File| json!({"file_id": file.file_id, "file_unique_id": file.file_unique_id, "file_size": file.file_size});
    match kind {
        UserFile::Photo => {
            let size = PhotoSize {
                file_id: file.file_id.clone(),
                file_unique_id: file.file_unique_id.clone(),
                width: 1,
                height: 1,
                file_size: file.file_size,
            };
            message.photo = Some(vec![size]);
        }
        UserFile::Document => {
            message.document = Some(Box::new(Document {
                file_id: file.file_id.clone(),
                file_unique_id: file.file_unique_id.clone(),
                file_name: Some(format!("document_{}.txt", message.message_id)),
                mime_type: Some("text/plain".into()),
                file_size: file.file_size,
            }));
        }
        UserFile::Voice => {
            let mut voice = ids(&file);
            voice["duration"] = 3.into();
            voice["mime_type"] = "audio/ogg".into();
            message.extra.insert("voice".into(), voice);
        }
        UserFile::Video => {
            let mut video = ids(&file);
            for (key, value) in [("width", 640), ("height", 360), ("duration", 5)] {
                video[key] = value.into();
            }
            video["mime_type"] = "video/mp4".into();
            message.extra.insert("video".into(), video);
        }
        UserFile::Sticker => {
            let mut sticker = ids(&file);
            for (key, value) in [("width", json!(512)), ("height", json!(512)), ("type", json!("regular"))] {
                sticker[key] = value;
            }
            for key in ["is_animated", "is_video"] {
                sticker[key] = false.into();
            }
            sticker["emoji"] = "🙂".into();
            message.extra.insert("sticker".into(), sticker);
        }
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
