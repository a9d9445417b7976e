//! Media: sendPhoto and sendDocument (multipart uploads, file ids or URLs), the files of every other sending
//! method (`media_fields`: a video, a voice, a sticker, ... built as their spec types), sendMediaGroup, getFile
//! and the file download route.

use axum::response::Response;
use bytes::Bytes;

use super::{bytes_response, Call, Reply};
use crate::bot::{lock, Bot};
use crate::error::ApiError;
use crate::params::Param;
use crate::wire::{utf16_len, Document, Json, Message, PhotoSize};

const MAX_CAPTION: usize = 1024;

/// What a media parameter named: a new upload, or a file the mock already has.
struct Media {
    file: crate::wire::File,
    file_name: Option<String>,
    mime_type: Option<String>,
    data: Bytes,
}

/// Resolves `photo`/`document`: an uploaded part, `attach://<part>`, a known file id, or an HTTP URL.
fn media(call: &Call<'_>, field: &str, folder: &str) -> Result<Media, ApiError> {
    let param =
        call.params.get(field).ok_or_else(|| ApiError::bad_request(format!("there is no {field} in the request")))?;
    resolve(call, param, folder)
}

fn resolve<'a>(call: &'a Call<'_>, mut param: &'a Param, folder: &str) -> Result<Media, ApiError> {
    if let Param::Text(text) = param {
        if let Some(part) = text.strip_prefix("attach://") {
            param = call
                .params
                .get(part)
                .ok_or_else(|| ApiError::bad_request(format!("file {part} not found in the request")))?;
        }
    }
    let mut files = lock(&call.bot.files);
    match param {
        Param::File { file_name, content_type, data } => {
            let extension = file_name.as_deref().and_then(|n| n.rsplit_once('.')).map_or("bin", |(_, ext)| ext);
            let extension: String = extension.chars().filter(char::is_ascii_alphanumeric).take(8).collect();
            let file = files.put(folder, &extension, data.clone());
            Ok(Media { file, file_name: file_name.clone(), mime_type: content_type.clone(), data: data.clone() })
        }
        Param::Text(text) if text.starts_with("http://") || text.starts_with("https://") => {
            // The mock never fetches URLs (load stays on loopback); it records an empty file for the reference.
            let file = files.put(folder, "bin", Bytes::new());
            Ok(Media { file, file_name: None, mime_type: None, data: Bytes::new() })
        }
        Param::Text(file_id) => {
            let stored =
                files.get(file_id).map_err(|_| ApiError::bad_request("wrong file identifier/HTTP URL specified"))?;
            Ok(Media { file: stored.file.clone(), file_name: None, mime_type: None, data: stored.data.clone() })
        }
    }
}

/// sendMediaGroup: 2-10 photos, videos, documents or audios sent as one album. Each is a message of its own; the
/// album answers the user's action once, and the result is all of them.
pub fn send_media_group(call: Call<'_>) -> Result<Reply, ApiError> {
    call.params.chat_id()?;
    let items: Vec<serde_json::Value> = call
        .params
        .json("media")
        .map_err(|_| ApiError::bad_request("can't parse media JSON object"))?
        .ok_or_else(|| ApiError::bad_request("parameter \"media\" is required"))?;
    if !(2..=10).contains(&items.len()) {
        return Err(ApiError::bad_request("wrong number of media items in the group (2-10)"));
    }
    let reply_to = super::messages::reply_to(&call.params)?;
    let group_id = call.bot.next_query_id();
    let mut sent = Vec::with_capacity(items.len());
    for item in &items {
        let caption = item.get("caption").and_then(serde_json::Value::as_str).filter(|c| !c.is_empty());
        if caption.is_some_and(|c| utf16_len(c) > MAX_CAPTION) {
            return Err(ApiError::bad_request("message caption is too long"));
        }
        let (field, file) = album_item(&call, item)?;
        let from = call.bot.user();
        let message = super::messages::store_sent(&call, |message_id, chat| {
            let mut message = bot_message(message_id, from, chat, caption.map(str::to_owned), None, None);
            message.extra.insert("media_group_id".into(), group_id.clone().into());
            message.extra.insert(field, file);
            message
        })?;
        sent.push(message);
    }
    super::messages::report_sent(&call, "sendMediaGroup", &sent[0], reply_to);
    Ok(Reply::json(&sent))
}

/// One InputMedia (`{"type": "photo", "media": "attach://a"}`) resolved to its file, as the message field it
/// becomes: `photo` (an array of sizes), `video`, `document`, `audio` or `animation`.
pub(super) fn album_item(call: &Call<'_>, item: &serde_json::Value) -> Result<(String, serde_json::Value), ApiError> {
    let kind = item.get("type").and_then(serde_json::Value::as_str).unwrap_or_default();
    let spec_type = match kind {
        "photo" => "PhotoSize",
        "video" => "Video",
        "document" => "Document",
        "audio" => "Audio",
        "animation" => "Animation",
        _ => return Err(ApiError::bad_request(format!("unsupported media type {kind:?}"))),
    };
    let source = item.get("media").and_then(serde_json::Value::as_str);
    let source = source.ok_or_else(|| ApiError::bad_request("there is no media in the request"))?;
    let media = resolve(call, &Param::Text(source.to_owned()), &format!("{kind}s"))?;
    let file = crate::spec::example(spec_type, &file_known(&media));
    Ok(match kind {
        "photo" => ("photo".into(), serde_json::Value::Array(vec![file])),
        _ => (kind.into(), file),
    })
}

/// What a file object's spec type may take from a stored file.
fn file_known(media: &Media) -> serde_json::Map<String, serde_json::Value> {
    let (width, height) = dimensions(&media.data);
    let mut known = serde_json::Map::new();
    known.insert("file_id".into(), media.file.file_id.clone().into());
    known.insert("file_unique_id".into(), media.file.file_unique_id.clone().into());
    known.insert("file_size".into(), media.file.file_size.into());
    known.insert("width".into(), width.into());
    known.insert("height".into(), height.into());
    known.insert("length".into(), width.into());
    known.extend(media.file_name.clone().map(|n| ("file_name".to_string(), n.into())));
    known.extend(media.mime_type.clone().map(|m| ("mime_type".to_string(), m.into())));
    known
}

/// The media a generic send carries, as the message's fields: each file parameter of `method` that the call has
/// (not a thumbnail or a cover) stored like an uploaded photo, and the message field of the same name (`video`,
/// `voice`, `sticker`, ...) built as its spec type around the stored file.
pub(super) fn media_fields(
    call: &Call<'_>,
    method: &crate::spec::Method,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let spec = crate::spec::spec();
    let message_fields = spec.types.get("Message").map_or(&[][..], |t| t.fields.as_slice());
    let mut fields = serde_json::Map::new();
    let is_file = |f: &&crate::spec::Field| f.types.iter().any(|t| t == "InputFile");
    for field in method.fields.iter().filter(is_file).filter(|f| !matches!(f.name.as_str(), "thumbnail" | "cover")) {
        let Some(message_field) = message_fields.iter().find(|m| m.name == field.name) else { continue };
        if call.params.get(&field.name).is_none() {
            continue;
        }
        let media = media(call, &field.name, &format!("{}s", field.name))?;
        fields.insert(field.name.clone(), crate::spec::example(&message_field.types[0], &file_known(&media)));
    }
    Ok(fields)
}

fn caption(call: &Call<'_>) -> Result<(Option<String>, Option<Json>), ApiError> {
    let caption = call.params.str("caption").filter(|c| !c.is_empty()).map(str::to_owned);
    if caption.as_deref().is_some_and(|c| utf16_len(c) > MAX_CAPTION) {
        return Err(ApiError::bad_request("message caption is too long"));
    }
    Ok((caption, super::messages::entities(&call.params, "caption_entities")?))
}

/// Width and height from a PNG header; other formats get a plausible default.
fn dimensions(data: &[u8]) -> (u32, u32) {
    if data.len() >= 24 && data.starts_with(b"\x89PNG\r\n\x1a\n") {
        let read = |at: usize| u32::from_be_bytes([data[at], data[at + 1], data[at + 2], data[at + 3]]);
        return (read(16), read(20));
    }
    (320, 320)
}

pub(super) fn media_message(
    call: &Call<'_>,
    method: &str,
    attach: impl FnOnce(&mut Message),
) -> Result<Reply, ApiError> {
    let (caption, caption_entities) = caption(call)?;
    let reply_markup = super::messages::reply_markup(&call.params)?;
    let from = call.bot.user();
    super::messages::send(call, method, |message_id, chat| {
        let mut message = bot_message(message_id, from, chat, caption, caption_entities, reply_markup);
        attach(&mut message);
        message
    })
}

pub(super) fn bot_message(
    message_id: i64,
    from: std::sync::Arc<crate::wire::User>,
    chat: &crate::chats::ChatState,
    caption: Option<String>,
    caption_entities: Option<Json>,
    reply_markup: Option<Json>,
) -> Message {
    Message { caption, caption_entities, reply_markup, ..Message::new(message_id, from, chat.chat.clone()) }
}

pub fn send_photo(call: Call<'_>) -> Result<Reply, ApiError> {
    call.params.chat_id()?;
    let media = media(&call, "photo", "photos")?;
    let (width, height) = dimensions(&media.data);
    let size = PhotoSize {
        file_id: media.file.file_id.clone(),
        file_unique_id: media.file.file_unique_id.clone(),
        width,
        height,
        file_size: media.file.file_size,
    };
    media_message(&call, "sendPhoto", |message| message.photo = Some(vec![size]))
}

pub fn send_document(call: Call<'_>) -> Result<Reply, ApiError> {
    call.params.chat_id()?;
    let media = media(&call, "document", "documents")?;
    let document = Document {
        file_id: media.file.file_id.clone(),
        file_unique_id: media.file.file_unique_id.clone(),
        file_name: media.file_name,
        mime_type: media.mime_type,
        file_size: media.file.file_size,
    };
    media_message(&call, "sendDocument", |message| message.document = Some(Box::new(document)))
}

pub fn get_file(call: Call<'_>) -> Result<Reply, ApiError> {
    let file_id = call
        .params
        .str("file_id")
        .filter(|id| !id.is_empty())
        .ok_or_else(|| ApiError::bad_request("file_id not specified"))?;
    let files = lock(&call.bot.files);
    let stored = files.get(file_id)?;
    Ok(Reply::json(&stored.file))
}

/// `GET /file/bot<token>/<file_path>`: the bytes of an uploaded file.
pub fn download(bot: &Bot, path: &str) -> Result<Response, ApiError> {
    let files = lock(&bot.files);
    let stored = files.by_path(path).ok_or_else(ApiError::not_found)?;
    Ok(bytes_response("application/octet-stream", stored.data.clone()))
}
