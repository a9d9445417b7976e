//! Turns every way a Bot API call can carry its parameters into one map of raw values, and reads typed fields
//! from it.
//!
//! Like the official server, a JSON body's string values are taken as they are and every other value is kept as
//! its JSON text, so `"chat_id": 123` and `chat_id=123` read the same and `reply_markup` may be an object or a
//! JSON-encoded string. This module parses; it knows nothing of what the methods mean.

use std::collections::HashMap;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde_json::value::RawValue;

use crate::error::ApiError;

/// One parameter: text, or an uploaded file (multipart).
#[derive(Debug, Clone)]
pub enum Param {
    Text(String),
    File { file_name: Option<String>, content_type: Option<String>, data: Bytes },
}

#[derive(Debug, Clone, Default)]
pub struct Params {
    values: HashMap<String, Param>,
}

impl Params {
    /// Merges the query string and the body, the body winning on a repeated name.
    pub async fn parse(query: Option<&str>, content_type: Option<&str>, body: Bytes) -> Result<Params, ApiError> {
        let mut params = Params::default();
        if let Some(query) = query {
            params.extend_urlencoded(query.as_bytes());
        }
        if body.is_empty() {
            return Ok(params);
        }
        let mime = content_type.unwrap_or("").split(';').next().unwrap_or("").trim().to_ascii_lowercase();
        match mime.as_str() {
            "application/json" => params.extend_json(&body)?,
            "multipart/form-data" => params.extend_multipart(content_type.unwrap_or(""), body).await?,
            // Anything else is read as a form: PTB and aiogram send forms, and curl users forget the header.
            _ => params.extend_urlencoded(&body),
        }
        Ok(params)
    }

    pub fn from_pairs<'a>(pairs: impl IntoIterator<Item = (&'a str, &'a str)>) -> Params {
        let values = pairs.into_iter().map(|(k, v)| (k.to_owned(), Param::Text(v.to_owned()))).collect();
        Params { values }
    }

    fn extend_urlencoded(&mut self, bytes: &[u8]) {
        for (key, value) in form_urlencoded::parse(bytes) {
            self.values.insert(key.into_owned(), Param::Text(value.into_owned()));
        }
    }

    /// The object's fields, read in place: a string's value unescaped, any other value as its JSON text, as it
    /// came (no `Value` tree is built).
    fn extend_json(&mut self, body: &[u8]) -> Result<(), ApiError> {
        let mut reader = serde_json::Deserializer::from_slice(body);
        let read =
            serde::Deserializer::deserialize_map(&mut reader, Fields(&mut self.values)).and_then(|()| reader.end());
        read.map_err(|error| match error.classify() {
            serde_json::error::Category::Data => ApiError::bad_request("JSON object expected"),
            _ => ApiError::bad_request("can't parse JSON object"),
        })
    }

    async fn extend_multipart(&mut self, content_type: &str, body: Bytes) -> Result<(), ApiError> {
        let boundary = multer::parse_boundary(content_type)
            .map_err(|_| ApiError::bad_request("can't parse multipart boundary"))?;
        let stream = futures::stream::once(async move { Ok::<_, std::convert::Infallible>(body) });
        let mut multipart = multer::Multipart::new(stream, boundary);
        let bad = |_| ApiError::bad_request("can't parse multipart/form-data body");
        while let Some(field) = multipart.next_field().await.map_err(bad)? {
            let Some(name) = field.name().map(str::to_owned) else { continue };
            let file_name = field.file_name().map(str::to_owned);
            let content_type = field.content_type().map(|mime| mime.to_string());
            let data = field.bytes().await.map_err(bad)?;
            let param = match file_name {
                Some(_) => Param::File { file_name, content_type, data },
                None => match String::from_utf8(data.to_vec()) {
                    Ok(text) => Param::Text(text),
                    Err(_) => Param::File { file_name, content_type, data },
                },
            };
            self.values.insert(name, param);
        }
        Ok(())
    }

    /// Every parameter given as text (not a file), by name.
    pub fn texts(&self) -> impl Iterator<Item = (&str, &str)> {
        self.values.iter().filter_map(|(name, param)| match param {
            Param::Text(text) => Some((name.as_str(), text.as_str())),
            Param::File { .. } => None,
        })
    }

    pub fn get(&self, name: &str) -> Option<&Param> {
        self.values.get(name)
    }

    /// The text of a field; a file part is not text.
    pub fn str(&self, name: &str) -> Option<&str> {
        match self.values.get(name)? {
            Param::Text(text) => Some(text.as_str()),
            Param::File { .. } => None,
        }
    }

    /// An optional integer: present but not an integer is a Bad Request naming the field.
    pub fn i64(&self, name: &str) -> Result<Option<i64>, ApiError> {
        let Some(text) = self.str(name) else { return Ok(None) };
        let text = text.trim();
        if text.is_empty() {
            return Ok(None);
        }
        text.parse::<i64>().map(Some).map_err(|_| ApiError::bad_request(format!("field \"{name}\" must be an integer")))
    }

    pub fn bool(&self, name: &str) -> Result<Option<bool>, ApiError> {
        match self.str(name).map(str::trim) {
            None | Some("") => Ok(None),
            Some("true" | "True" | "1") => Ok(Some(true)),
            Some("false" | "False" | "0") => Ok(Some(false)),
            Some(_) => Err(ApiError::bad_request(format!("field \"{name}\" must be a Boolean"))),
        }
    }

    /// A field that is JSON: an object or array given inline (kept as its text) or as a JSON string.
    pub fn json<T: DeserializeOwned>(&self, name: &str) -> Result<Option<T>, ApiError> {
        let Some(text) = self.str(name) else { return Ok(None) };
        if text.trim().is_empty() {
            return Ok(None);
        }
        serde_json::from_str(text)
            .map(Some)
            .map_err(|_| ApiError::bad_request(format!("can't parse {name} JSON object")))
    }

    /// `chat_id`, which the frameworks send as a number or a string; a `@username` names no chat here.
    pub fn chat_id(&self) -> Result<i64, ApiError> {
        match self.str("chat_id").map(str::trim) {
            None | Some("") => Err(ApiError::bad_request("chat_id is empty")),
            Some(text) => text.parse::<i64>().map_err(|_| ApiError::chat_not_found()),
        }
    }

    pub fn message_id(&self) -> Result<i64, ApiError> {
        self.i64("message_id")?.ok_or_else(|| ApiError::bad_request("message identifier is not specified"))
    }
}

/// Reads a JSON object's fields into the parameters.
struct Fields<'p>(&'p mut HashMap<String, Param>);

impl<'de> serde::de::Visitor<'de> for Fields<'_> {
    type Value = ();

    fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("a JSON object")
    }

    fn visit_map<A: serde::de::MapAccess<'de>>(self, mut map: A) -> Result<(), A::Error> {
        while let Some((key, value)) = map.next_entry::<String, &'de RawValue>()? {
            let text = match value.get() {
                "null" => continue,
                string if string.starts_with('"') => serde_json::from_str(string).map_err(serde::de::Error::custom)?,
                other => other.to_owned(),
            };
            self.0.insert(key, Param::Text(text));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn check(query: Option<&str>, content_type: &str, body: &str, field: &str, expected: Option<&str>) {
        let params = Params::parse(query, Some(content_type), Bytes::from(body.to_owned())).await.unwrap();
        assert_eq!(params.str(field), expected, "{content_type} {body}");
    }

    #[tokio::test]
    async fn every_encoding_reads_the_same() {
        check(None, "application/json", r#"{"chat_id":5}"#, "chat_id", Some("5")).await;
        check(None, "application/json", r#"{"chat_id":"5"}"#, "chat_id", Some("5")).await;
        check(None, "application/x-www-form-urlencoded", "chat_id=5", "chat_id", Some("5")).await;
        check(Some("chat_id=5"), "application/json", "", "chat_id", Some("5")).await;
        check(Some("chat_id=4"), "application/json", r#"{"chat_id":5}"#, "chat_id", Some("5")).await;
        check(None, "application/json", r#"{"reply_markup":{"a":1}}"#, "reply_markup", Some(r#"{"a":1}"#)).await;
        check(None, "application/json; charset=utf-8", r#"{"x":null}"#, "x", None).await;
        check(None, "application/json", r#"{"text":"a\"b\u00e9", "n": -1.5 }"#, "text", Some("a\"bé")).await;
        check(None, "application/json", r#"{"text":"a", "n": -1.5 }"#, "n", Some("-1.5")).await;
        check(None, "application/json", r#"{"n":1,"n":2}"#, "n", Some("2")).await;
        let multipart = "--XX\r\nContent-Disposition: form-data; name=\"chat_id\"\r\n\r\n5\r\n--XX--\r\n";
        check(None, "multipart/form-data; boundary=XX", multipart, "chat_id", Some("5")).await;
    }

    #[tokio::test]
    async fn bad_bodies_are_bad_requests() {
        for (body, why) in [
            ("[1,2]", "JSON object expected"),
            ("\"x\"", "JSON object expected"),
            ("{", "can't parse JSON object"),
            ("{\"a\":1} x", "can't parse JSON object"),
            ("{\"a\":tru}", "can't parse JSON object"),
        ] {
            let error = Params::parse(None, Some("application/json"), Bytes::from(body)).await.unwrap_err();
            assert_eq!((error.code, error.description.ends_with(why)), (400, true), "{body}: {error:?}");
        }
        let error = Params::parse(None, Some("multipart/form-data"), Bytes::from("x")).await.unwrap_err();
        assert_eq!(error.code, 400);
    }

    #[test]
    fn chat_ids_accept_numbers_and_strings_only() {
        assert_eq!(Params::from_pairs([("chat_id", " -100 ")]).chat_id(), Ok(-100));
        assert_eq!(Params::from_pairs([("chat_id", "@chan")]).chat_id(), Err(ApiError::chat_not_found()));
        assert_eq!(Params::from_pairs([]).chat_id(), Err(ApiError::bad_request("chat_id is empty")));
    }
}
