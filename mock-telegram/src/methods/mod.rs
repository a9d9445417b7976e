//! The Bot API side: path parsing, the one routing table from method name to handler, and the answer envelope.
//!
//! Adding a method is one handler in a family file and one line in `route`; every other method of the spec is
//! answered by `generic` from the spec (`crate::spec`). Method names are compared lowercased (teloxide sends
//! `GetMe`); parameters arrive as `Params` whatever the encoding.

mod files;
mod generic;
mod me;
mod members;
mod messages;
mod queries;
pub(crate) mod state;
mod updates;
mod webhook;

use std::sync::Arc;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{header, Method, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;

use crate::bot::Bot;
use crate::error::ApiError;
use crate::faults::Injected;
use crate::ledger::{Answer, Target};
use crate::params::Params;
use crate::server::Server;

pub use files::download;

/// The largest request body: Telegram allows 50 MB uploads.
pub const MAX_BODY: usize = 50 << 20;

/// A successful call's `result`, already serialized, and the optional `description` some methods add.
#[derive(Debug)]
pub struct Reply {
    result: String,
    description: Option<&'static str>,
}

impl Reply {
    pub fn json<T: Serialize + ?Sized>(value: &T) -> Reply {
        let result = serde_json::to_string(value).unwrap_or_else(|_| "null".into());
        Reply { result, description: None }
    }

    pub fn raw(result: String) -> Reply {
        Reply { result, description: None }
    }

    pub fn ok() -> Reply {
        Reply::raw("true".into())
    }

    pub fn described(description: &'static str) -> Reply {
        Reply { result: "true".into(), description: Some(description) }
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let mut body = String::with_capacity(self.result.len() + 48);
        body.push_str("{\"ok\":true,\"result\":");
        body.push_str(&self.result);
        if let Some(description) = self.description {
            body.push_str(",\"description\":");
            body.push_str(&serde_json::Value::from(description).to_string());
        }
        body.push('}');
        ([(header::CONTENT_TYPE, "application/json")], body).into_response()
    }
}

/// One Bot API call in progress.
pub struct Call<'a> {
    pub server: &'a Arc<Server>,
    pub bot: &'a Arc<Bot>,
    pub params: Params,
}

/// The fallback handler: every path that is not the control API is a Bot API path, or a 404 in its envelope.
pub async fn handle(State(server): State<Arc<Server>>, request: Request) -> Response {
    match handle_request(server, request).await {
        Ok(response) => response,
        Err(error) => error.into_response(),
    }
}

async fn handle_request(server: Arc<Server>, request: Request) -> Result<Response, ApiError> {
    let path = BotPath::parse(request.uri().path()).ok_or_else(ApiError::not_found)?;
    if request.method() != Method::GET && request.method() != Method::POST {
        return Err(ApiError::method_not_allowed());
    }
    let token = match &path {
        BotPath::Method { token, .. } | BotPath::File { token, .. } => token,
    };
    if crate::bot::parse_token(token).is_none() {
        return Err(ApiError::not_found());
    }
    let bot = server.bot(token).ok_or_else(ApiError::unauthorized)?;
    match path {
        BotPath::File { path, .. } => download(&bot, &path),
        BotPath::Method { method, .. } => {
            let query = request.uri().query().map(str::to_owned);
            let content_type =
                request.headers().get(header::CONTENT_TYPE).and_then(|v| v.to_str().ok()).map(str::to_owned);
            let body = axum::body::to_bytes(request.into_body(), MAX_BODY).await.map_err(|_| ApiError::too_large())?;
            let params = Params::parse(query.as_deref(), content_type.as_deref(), body).await?;
            let reply = dispatch(Call { server: &server, bot: &bot, params }, &method).await?;
            Ok(reply.into_response())
        }
    }
}

/// Runs one method, counting the call, its errors, and an error's effect on the action it would have answered.
/// An injected fault window (`faults`) open for the method answers its error instead, or delays the method.
pub async fn dispatch(call: Call<'_>, method: &str) -> Result<Reply, ApiError> {
    let bot = call.bot.clone();
    bot.ledger.count_bot_call();
    let method = method.to_ascii_lowercase();
    let failed_target = FailedTarget::of(&method, &call.params);
    let result = match bot.faults.check(&method, crate::clock::now_us()) {
        None => route(call, &method).await,
        Some(Injected::Delay(delay)) => {
            bot.ledger.count_injected(true);
            tokio::time::sleep(delay).await;
            route(call, &method).await
        }
        Some(Injected::Error(error)) => {
            bot.ledger.count_injected(false);
            Err(error)
        }
    };
    if let Err(error) = &result {
        bot.ledger.count_bot_error(error.code);
        if let Some(failed) = failed_target {
            let answer = Answer { method: method.clone(), error: Some(error.body()), ..Answer::default() };
            let now = crate::clock::now_us();
            // A call told to try again leaves its action open for the retry; a wrong call has answered it.
            if error.is_transient() {
                bot.ledger.failed_attempt(failed.target(), answer, now);
            } else {
                bot.ledger.answer(failed.target(), answer, now);
            }
        }
    }
    result
}

/// The routing table.
async fn route(call: Call<'_>, method: &str) -> Result<Reply, ApiError> {
    match method {
        "getme" => me::get_me(call),
        "logout" | "close" => me::log_out(call),
        "setmycommands" => me::set_my_commands(call),
        "getmycommands" => me::get_my_commands(call),
        "deletemycommands" => me::delete_my_commands(call),
        "getupdates" => updates::get_updates(call).await,
        "setwebhook" => webhook::set_webhook(call),
        "deletewebhook" => webhook::delete_webhook(call),
        "getwebhookinfo" => webhook::get_webhook_info(call),
        "sendmessage" => messages::send_message(call),
        "editmessagetext" => messages::edit_message_text(call),
        "editmessagereplymarkup" => messages::edit_message_reply_markup(call),
        "deletemessage" => messages::delete_message(call),
        "sendchataction" => messages::send_chat_action(call),
        "answercallbackquery" => queries::answer_callback_query(call),
        "answerinlinequery" => queries::answer_inline_query(call),
        "answerprecheckoutquery" => queries::answer_pre_checkout_query(call),
        "answershippingquery" => queries::answer_shipping_query(call),
        "approvechatjoinrequest" => queries::join_request(call, true),
        "declinechatjoinrequest" => queries::join_request(call, false),
        "sendphoto" => files::send_photo(call),
        "senddocument" => files::send_document(call),
        "sendmediagroup" => files::send_media_group(call),
        "getfile" => files::get_file(call),
        "getchatmember" => members::get_chat_member(call),
        "getchatmembercount" => members::get_chat_member_count(call),
        "getchatadministrators" => members::get_chat_administrators(call),
        other => match crate::spec::spec().method(other) {
            Some(method) => generic::answer(call, method),
            None => Err(ApiError::method_not_found()),
        },
    }
}

/// The action a failing answering call would have answered, read before the call consumes its parameters.
struct FailedTarget {
    chat_id: Option<i64>,
    query_id: Option<String>,
}

impl FailedTarget {
    fn of(method: &str, params: &Params) -> Option<FailedTarget> {
        let query = |name: &str| Some(FailedTarget { chat_id: None, query_id: Some(params.str(name)?.to_owned()) });
        let chat = || Some(FailedTarget { chat_id: Some(params.chat_id().ok()?), query_id: None });
        match method {
            "answercallbackquery" => query("callback_query_id"),
            "answerinlinequery" => query("inline_query_id"),
            "answerprecheckoutquery" => query("pre_checkout_query_id"),
            "answershippingquery" => query("shipping_query_id"),
            "approvechatjoinrequest" | "declinechatjoinrequest" => {
                let id = crate::control::kinds::join_request_id(params.chat_id().ok()?, params.i64("user_id").ok()??);
                Some(FailedTarget { chat_id: None, query_id: Some(id) })
            }
            // Deleting a message answers its action as sending one does.
            "deletemessage" => chat(),
            other if crate::spec::spec().method(other).is_some_and(crate::spec::Method::posts_to_chat) => chat(),
            _ => None,
        }
    }

    fn target(&self) -> Target<'_> {
        match (&self.query_id, self.chat_id) {
            (Some(query_id), _) => Target::Query(query_id),
            (None, chat_id) => Target::Chat { chat_id: chat_id.unwrap_or(0), reply_to: None },
        }
    }
}

/// A Bot API path: `/bot<token>/[test/]<method>` or `/file/bot<token>/[test/]<path>`.
#[derive(Debug, PartialEq)]
enum BotPath {
    Method { token: String, method: String },
    File { token: String, path: String },
}

impl BotPath {
    fn parse(path: &str) -> Option<BotPath> {
        // Empty segments come from base URLs with a trailing slash (`//bot...`); they mean nothing.
        let mut segments: Vec<&str> = path.split('/').filter(|s| !s.is_empty()).collect();
        let is_file = segments.first() == Some(&"file");
        if is_file {
            segments.remove(0);
        }
        // PTB percent-encodes the token's colon in file URLs (`bot123%3Aabc`); Telegram reads it either way.
        let token = segments.first()?.strip_prefix("bot")?;
        let token = percent_encoding::percent_decode_str(token).decode_utf8().ok()?.into_owned();
        let mut rest = &segments[1..];
        if rest.first() == Some(&"test") && (rest.len() > 1) {
            rest = &rest[1..];
        }
        if is_file {
            let joined = rest.join("/");
            let path = percent_encoding::percent_decode_str(&joined).decode_utf8().ok()?.into_owned();
            return (!path.is_empty()).then_some(BotPath::File { token, path });
        }
        match rest {
            [method] => Some(BotPath::Method { token, method: (*method).to_owned() }),
            _ => None,
        }
    }
}

/// A 200 response carrying raw bytes (file downloads).
pub fn bytes_response(content_type: &str, data: bytes::Bytes) -> Response {
    (StatusCode::OK, [(header::CONTENT_TYPE, content_type.to_owned())], Body::from(data)).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(path: &str, expected: Option<BotPath>) {
        assert_eq!(BotPath::parse(path), expected, "{path}");
    }

    #[test]
    fn paths_of_every_framework_parse() {
        let method = |m: &str| Some(BotPath::Method { token: "1:a".into(), method: m.into() });
        check("/bot1:a/GetMe", method("GetMe"));
        check("/bot1:a/test/getMe", method("getMe"));
        check("//bot1:a/getMe", method("getMe"));
        check("/bot1:a/test", method("test"));
        check(
            "/file/bot1:a/photos%2Ffile_1.png",
            Some(BotPath::File { token: "1:a".into(), path: "photos/file_1.png".into() }),
        );
        check(
            "/file/bot1:a/test/photos/f.png",
            Some(BotPath::File { token: "1:a".into(), path: "photos/f.png".into() }),
        );
        check("/bot1%3Aa/GetMe", method("GetMe"));
        check("/file/bot1%3Aa/photos/f.png", Some(BotPath::File { token: "1:a".into(), path: "photos/f.png".into() }));
        check("/bot1:a", None);
        check("/x1:a/getMe", None);
        check("/bot1:a/a/b/c", None);
    }
}
