//! The Bot API objects the mock sends, with every field the five frameworks require.
//!
//! This module is a serialization boundary and nothing else: `date` is unix seconds, a User always has `is_bot`
//! and `first_name`, a private Chat has `first_name`, a group a `title`, a CallbackQuery a `chat_instance`
//! (teloxide drops callback updates without one). Markup and entities stay `serde_json::Value`: the mock echoes
//! them, it does not interpret them beyond finding buttons.

use std::sync::Arc;

use serde::Serialize;
use serde_json::value::RawValue;
use serde_json::Value;

/// A JSON value kept as its compact text: markup and entities are echoed, rarely read, and a parsed `Value` tree
/// costs about ten times the memory in the chats' history.
#[derive(Clone, Serialize)]
#[serde(transparent)]
pub struct Json(Box<RawValue>);

impl Json {
    pub fn new(value: &Value) -> Json {
        // Serializing a `Value` cannot fail; the fallback keeps the type total.
        Json(serde_json::value::to_raw_value(value).unwrap_or_else(|_| RawValue::from_string("null".into()).unwrap()))
    }

    pub fn value(&self) -> Value {
        serde_json::from_str(self.0.get()).unwrap_or(Value::Null)
    }
}

impl PartialEq for Json {
    fn eq(&self, other: &Json) -> bool {
        self.0.get() == other.0.get()
    }
}

impl std::fmt::Debug for Json {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.0.get())
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct User {
    pub id: i64,
    pub is_bot: bool,
    pub first_name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub language_code: Option<String>,
}

/// getMe's answer: a User plus the flags teloxide and aiogram insist on.
#[derive(Debug, Clone, Serialize)]
pub struct Me {
    #[serde(flatten)]
    pub user: User,
    pub can_join_groups: bool,
    pub can_read_all_group_messages: bool,
    pub supports_inline_queries: bool,
    pub can_connect_to_business: bool,
    pub has_main_web_app: bool,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Chat {
    pub id: i64,
    #[serde(rename = "type")]
    pub kind: ChatKind,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub first_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
}

#[derive(Debug, Clone, Copy, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum ChatKind {
    Private,
    Group,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PhotoSize {
    pub file_id: String,
    pub file_unique_id: String,
    pub width: u32,
    pub height: u32,
    pub file_size: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Document {
    pub file_id: String,
    pub file_unique_id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file_name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    pub file_size: u64,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Message {
    pub message_id: i64,
    pub from: Arc<User>,
    pub date: i64,
    pub chat: Arc<Chat>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub edit_date: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entities: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub caption_entities: Option<Json>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub photo: Option<Vec<PhotoSize>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub document: Option<Box<Document>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reply_markup: Option<Json>,
    /// The fields of the media kinds no field above models (`video`, `voice`, `sticker`, ...), built from the
    /// spec by `methods::generic`; empty for every other message.
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

impl Message {
    /// A message of `from` in `chat`, sent now, with nothing in it yet.
    pub fn new(message_id: i64, from: Arc<User>, chat: Arc<Chat>) -> Message {
        Message {
            message_id,
            from,
            date: crate::clock::now_s(),
            chat,
            edit_date: None,
            text: None,
            entities: None,
            caption: None,
            caption_entities: None,
            photo: None,
            document: None,
            reply_markup: None,
            extra: Default::default(),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct CallbackQuery {
    pub id: String,
    pub from: Arc<User>,
    pub message: Message,
    pub chat_instance: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// The update kinds the mock produces; the names are `allowed_updates` values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UpdateKind {
    Message,
    EditedMessage,
    CallbackQuery,
    InlineQuery,
    ChosenInlineResult,
    PollAnswer,
    MessageReaction,
    ChatMember,
    MyChatMember,
    ChatJoinRequest,
    PreCheckoutQuery,
    ShippingQuery,
}

impl UpdateKind {
    pub fn name(self) -> &'static str {
        match self {
            UpdateKind::Message => "message",
            UpdateKind::EditedMessage => "edited_message",
            UpdateKind::CallbackQuery => "callback_query",
            UpdateKind::InlineQuery => "inline_query",
            UpdateKind::ChosenInlineResult => "chosen_inline_result",
            UpdateKind::PollAnswer => "poll_answer",
            UpdateKind::MessageReaction => "message_reaction",
            UpdateKind::ChatMember => "chat_member",
            UpdateKind::MyChatMember => "my_chat_member",
            UpdateKind::ChatJoinRequest => "chat_join_request",
            UpdateKind::PreCheckoutQuery => "pre_checkout_query",
            UpdateKind::ShippingQuery => "shipping_query",
        }
    }

    /// Whether a bot gets this kind without naming it in `allowed_updates`: Telegram leaves out `chat_member` and
    /// `message_reaction` unless asked for (getUpdates, "allowed_updates").
    pub fn sent_by_default(self) -> bool {
        !matches!(self, UpdateKind::ChatMember | UpdateKind::MessageReaction)
    }
}

/// An update's content; serialized as `{"update_id": N, "<kind>": {...}}`.
#[derive(Debug, Clone)]
pub enum UpdateBody {
    Message(Message),
    EditedMessage(Message),
    CallbackQuery(Box<CallbackQuery>),
    /// Every other kind, its object already built (`control::kinds`).
    Other(UpdateKind, Value),
}

impl UpdateBody {
    pub fn kind(&self) -> UpdateKind {
        match self {
            UpdateBody::Message(_) => UpdateKind::Message,
            UpdateBody::EditedMessage(_) => UpdateKind::EditedMessage,
            UpdateBody::CallbackQuery(_) => UpdateKind::CallbackQuery,
            UpdateBody::Other(kind, _) => *kind,
        }
    }

    /// The whole update as JSON text, serialized once when it is enqueued, straight from its parts.
    pub fn to_json(&self, update_id: i64) -> String {
        let content = match self {
            UpdateBody::Message(message) | UpdateBody::EditedMessage(message) => serde_json::to_string(message),
            UpdateBody::CallbackQuery(query) => serde_json::to_string(query),
            UpdateBody::Other(_, value) => serde_json::to_string(value),
        };
        let content = content.unwrap_or_else(|_| "null".into());
        // A kind's name is a plain identifier (`message`, `callback_query`, ...): nothing in it needs escaping.
        format!(r#"{{"update_id":{update_id},"{}":{content}}}"#, self.kind().name())
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct WebhookInfo {
    pub url: String,
    pub has_custom_certificate: bool,
    pub pending_update_count: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error_date: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub last_error_message: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allowed_updates: Option<Vec<String>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct File {
    pub file_id: String,
    pub file_unique_id: String,
    pub file_size: u64,
    pub file_path: String,
}

#[derive(Debug, Clone, Serialize, serde::Deserialize, PartialEq)]
pub struct BotCommand {
    pub command: String,
    pub description: String,
}

/// UTF-16 length, the unit of Bot API entity offsets and of the 4096-character limit.
pub fn utf16_len(text: &str) -> usize {
    text.encode_utf16().count()
}

/// The `bot_command` entity of a text starting with `/`, as Telegram's clients attach it.
pub fn command_entities(text: &str) -> Option<Json> {
    if !text.starts_with('/') {
        return None;
    }
    let command = text.split(char::is_whitespace).next().unwrap_or(text);
    Some(Json::new(&serde_json::json!([{"type": "bot_command", "offset": 0, "length": utf16_len(command)}])))
}
