//! The Bot API as its spec file describes it (`spec/bot-api-9.2.json`): each method's parameters, with their
//! required flags, and its return type; each type's fields, and an abstract type's subtypes. The file is compiled in
//! and read once, at first use. It is what `methods::generic` answers the methods without a handler of their own
//! from, and what the spec test checks every method's result against; it decides nothing about the mock's state.

use std::collections::HashMap;
use std::sync::OnceLock;

use serde::Deserialize;
use serde_json::{Map, Value};

const SPEC: &str = include_str!("../spec/bot-api-9.2.json");

/// The whole spec, as read.
#[derive(Debug, Deserialize)]
pub struct Spec {
    pub version: String,
    pub methods: HashMap<String, Method>,
    pub types: HashMap<String, Type>,
    /// Lowercased method name to its spelling in `methods`, for dispatch (names are case-insensitive).
    #[serde(skip)]
    lowercase: HashMap<String, String>,
}

#[derive(Debug, Deserialize)]
pub struct Method {
    pub name: String,
    /// One or more return types, e.g. `["Message", "Boolean"]` or `["Array of Update"]`.
    pub returns: Vec<String>,
    #[serde(default)]
    pub fields: Vec<Field>,
}

#[derive(Debug, Deserialize)]
pub struct Field {
    pub name: String,
    /// The accepted types, e.g. `["Integer", "String"]` or `["Array of PhotoSize"]`.
    pub types: Vec<String>,
    pub required: bool,
    #[serde(default)]
    pub description: String,
}

#[derive(Debug, Deserialize)]
pub struct Type {
    pub name: String,
    #[serde(default)]
    pub fields: Vec<Field>,
    /// The concrete types of an abstract one (`ChatMember` is one of six).
    #[serde(default)]
    pub subtypes: Vec<String>,
}

/// The spec compiled in. It is checked by this module's tests, so a file that does not parse never ships.
pub fn spec() -> &'static Spec {
    static SPEC_READ: OnceLock<Spec> = OnceLock::new();
    SPEC_READ.get_or_init(|| {
        let mut spec: Spec = serde_json::from_str(SPEC).unwrap_or_else(|e| panic!("spec/bot-api-9.2.json: {e}"));
        spec.lowercase = spec.methods.keys().map(|name| (name.to_ascii_lowercase(), name.clone())).collect();
        spec
    })
}

impl Method {
    /// Whether the method puts a message into a chat it names (a send, a forward, an edit): what answers a user's
    /// action, and what a failed call leaves unanswered.
    pub fn posts_to_chat(&self) -> bool {
        let has = |name: &str| self.fields.iter().any(|f| f.name == name);
        let message = self.returns.iter().any(|r| r == "Message" || r == "Array of Message");
        // copyMessage answers only the new message's id.
        let copy = self.returns.iter().any(|r| r == "MessageId") && has("from_chat_id");
        (message || copy) && has("chat_id")
    }
}

impl Spec {
    /// The method named `name`, in any case.
    pub fn method(&self, name: &str) -> Option<&Method> {
        self.methods.get(self.lowercase.get(&name.to_ascii_lowercase())?)
    }
}

/// How deep `example` builds nested objects: deep enough for `Message.chat` or `ChatMember.user`, shallow enough that
/// types which contain themselves (`Message.reply_to_message`) stop; their optional fields are left out anyway.
const MAX_DEPTH: usize = 6;

/// A value of type `type_name` (`Integer`, `Array of Sticker`, `ChatMemberOwner`, ...) with every required field,
/// taking a field's value from `known` when it has one of that name (`chat_id` for `Chat.id` is the caller's to
/// map), and the optional fields `known` has plain values for. An abstract type is its first subtype.
pub fn example(type_name: &str, known: &Map<String, Value>) -> Value {
    build(spec(), type_name, known, 0)
}

fn build(spec: &Spec, type_name: &str, known: &Map<String, Value>, depth: usize) -> Value {
    if type_name.starts_with("Array of ") {
        return Value::Array(Vec::new());
    }
    match type_name {
        "Integer" => Value::from(0),
        "Float" => Value::from(0.0),
        "String" => Value::from(""),
        "Boolean" => Value::from(false),
        "True" => Value::from(true),
        "InputFile" => Value::from(""),
        _ => {
            let Some(ty) = spec.types.get(type_name) else { return Value::Null };
            if let Some(first) = ty.subtypes.first() {
                return build(spec, first, known, depth);
            }
            let mut object = Map::new();
            // An optional field is there when the call gave a plain value for it (a caption, a file's MIME type);
            // objects are left out, since only a required one is checked to be whole.
            for field in ty.fields.iter().filter(|f| !f.required) {
                match known.get(&field.name) {
                    Some(value) if !value.is_object() && !value.is_array() && fits(value, &field.types) => {
                        object.insert(field.name.clone(), value.clone());
                    }
                    _ => {}
                }
            }
            for field in ty.fields.iter().filter(|f| f.required) {
                let value = match (known.get(&field.name), always(field)) {
                    (_, Some(fixed)) => Value::from(fixed),
                    (Some(value), None) if fits(value, &field.types) => shape(spec, value, &field.types[0], depth),
                    _ if depth >= MAX_DEPTH => Value::Null,
                    _ => build(spec, &field.types[0], known, depth + 1),
                };
                object.insert(field.name.clone(), value);
            }
            Value::Object(object)
        }
    }
}

/// A known value made whole as `type_name`: a call's objects (`options: [{"text": "a"}]`) become the spec's
/// objects around them (`PollOption` with its `voter_count`); plain values stay as they are.
fn shape(spec: &Spec, value: &Value, type_name: &str, depth: usize) -> Value {
    let item_type = type_name.strip_prefix("Array of ").unwrap_or(type_name);
    if depth >= MAX_DEPTH || !spec.types.contains_key(item_type) {
        return value.clone();
    }
    let whole = |v: &Value| match v.as_object() {
        Some(fields) => build(spec, item_type, fields, depth + 1),
        None => v.clone(),
    };
    match value.as_array() {
        Some(items) if type_name.starts_with("Array of ") => Value::Array(items.iter().map(whole).collect()),
        _ => whole(value),
    }
}

/// The literal a field always has, from its description: `The member's status in the chat, always "creator"`, or for
/// a `type`, `status` or `source` field, `Type of the result, must be article`.
fn always(field: &Field) -> Option<String> {
    let text = field.description.as_str();
    if let Some(at) = text.find("always \"") {
        let rest = &text[at + "always \"".len()..];
        return rest.find('"').map(|end| rest[..end].to_string());
    }
    if !matches!(field.name.as_str(), "type" | "status" | "source") {
        return None;
    }
    let rest = &text[text.find("must be ")? + "must be ".len()..];
    let word: String = rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
    let ends = rest[word.len()..].trim_start_matches(['.', ',', ' ']).is_empty();
    (!word.is_empty() && ends).then_some(word)
}

/// Whether a known value is of one of `types`' JSON kinds.
pub fn fits(value: &Value, types: &[String]) -> bool {
    types.iter().any(|t| match t.as_str() {
        "Integer" => value.is_i64() || value.is_u64(),
        "Float" => value.is_number(),
        "String" => value.is_string(),
        "Boolean" => value.is_boolean(),
        "True" => value == &Value::Bool(true),
        t if t.starts_with("Array of ") => value.is_array(),
        _ => value.is_object(),
    })
}

/// Checks `value` against `type_name` recursively: the JSON kind of each value, and every required field of an
/// object (an abstract type's value may be any of its subtypes). Returns the first mismatch, with its path.
pub fn check(type_name: &str, value: &Value) -> Result<(), String> {
    check_at(spec(), type_name, value, "result")
}

fn check_at(spec: &Spec, type_name: &str, value: &Value, path: &str) -> Result<(), String> {
    if let Some(item) = type_name.strip_prefix("Array of ") {
        let Some(items) = value.as_array() else { return Err(format!("{path}: not an array ({type_name})")) };
        return items.iter().enumerate().try_for_each(|(i, v)| check_at(spec, item, v, &format!("{path}[{i}]")));
    }
    let Some(ty) = spec.types.get(type_name) else {
        return if fits(value, &[type_name.to_string()]) {
            Ok(())
        } else {
            Err(format!("{path}: {value} is not {type_name}"))
        };
    };
    if !ty.subtypes.is_empty() {
        let errors: Vec<String> = ty.subtypes.iter().filter_map(|s| check_at(spec, s, value, path).err()).collect();
        return if errors.len() < ty.subtypes.len() { Ok(()) } else { Err(errors.join("; ")) };
    }
    let Some(object) = value.as_object() else { return Err(format!("{path}: not an object ({type_name})")) };
    for field in &ty.fields {
        match object.get(&field.name) {
            None if field.required => return Err(format!("{path}.{}: missing ({type_name})", field.name)),
            None => {}
            Some(v) => {
                let ok = field.types.iter().any(|t| check_at(spec, t, v, &format!("{path}.{}", field.name)).is_ok());
                if !ok {
                    return Err(format!("{path}.{}: {v} is none of {:?}", field.name, field.types));
                }
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_spec_compiled_in_is_bot_api_9_2() {
        let spec = spec();
        assert_eq!((spec.version.as_str(), spec.methods.len(), spec.types.len()), ("Bot API 9.2", 158, 278));
        assert_eq!(spec.method("SENDVIDEO").map(|m| m.name.as_str()), Some("sendVideo"));
        let posting = |name: &str| spec.method(name).is_some_and(Method::posts_to_chat);
        for name in ["sendMessage", "sendPhoto", "sendMediaGroup", "editMessageText", "forwardMessage", "sendPoll"] {
            assert!(posting(name), "{name}");
        }
        assert!(posting("copyMessage"));
        for name in ["sendChatAction", "getChat", "copyMessages", "answerCallbackQuery"] {
            assert!(!posting(name), "{name}");
        }
    }

    #[test]
    fn examples_have_every_required_field_and_check() {
        for name in ["Message", "ChatMember", "ChatFullInfo", "StickerSet", "Poll", "ChatInviteLink", "File"] {
            let value = example(name, &Map::new());
            assert_eq!(check(name, &value), Ok(()), "{name}: {value}");
        }
        let owner = example("ChatMember", &Map::new());
        assert_eq!(owner["status"], "creator", "{owner}");
        let known = Map::from_iter([("title".to_string(), Value::from("the topic"))]);
        assert_eq!(example("ForumTopic", &known)["name"], "");
        assert_eq!(
            check("Message", &serde_json::json!({"message_id": 1})),
            Err("result.date: missing (Message)".into())
        );
    }
}
