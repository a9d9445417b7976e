//! Control routes about bots and chats: register a bot, read its status and statistics, set its injected fault
//! windows, create chats, read a chat's recent messages, and the Prometheus exposition.

use std::sync::Arc;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::IntoResponse;
use serde::Deserialize;
use serde_json::{json, Value};

use super::{bot, ControlError, Json, Path, Query};
use crate::bot::lock;
use crate::faults::Window;
use crate::server::Server;
use crate::wire::User;

/// `now_us` is the mock's clock (unix µs), which a load generator elsewhere measures its own offset from.
pub async fn health() -> axum::Json<Value> {
    axum::Json(json!({"ok": true, "now_us": crate::now_us()}))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Register {
    token: String,
    username: Option<String>,
}

pub async fn register(
    State(server): State<Arc<Server>>,
    Json(request): Json<Register>,
) -> Result<impl IntoResponse, ControlError> {
    let bot =
        server.add_bot(&request.token, request.username).map_err(|error| ControlError::Invalid(error.to_string()))?;
    Ok((StatusCode::CREATED, axum::Json(json!({"token": bot.token, "id": bot.id, "username": bot.username}))))
}

pub async fn status(
    State(server): State<Arc<Server>>,
    Path(token): Path<String>,
) -> Result<axum::Json<Value>, ControlError> {
    let bot = bot(&server, &token)?;
    let webhook_url = lock(&bot.webhook).current.as_ref().map(|w| w.url.clone());
    Ok(axum::Json(json!({
        "id": bot.id,
        "username": bot.username,
        "mode": bot.mode(),
        "webhook_url": webhook_url,
        "polls": bot.polls.load(std::sync::atomic::Ordering::Relaxed),
        "pending_updates": bot.updates.len(),
        "chats": lock(&bot.chats).len(),
    })))
}

pub async fn stats(
    State(server): State<Arc<Server>>,
    Path(token): Path<String>,
) -> Result<axum::Json<Value>, ControlError> {
    let bot = bot(&server, &token)?;
    let mut stats = bot.ledger.stats().to_json();
    stats["telegram_limits"] = json!(bot.flood.stats());
    Ok(axum::Json(stats))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FaultWindows {
    windows: Vec<Window>,
}

/// Replaces the bot's injected fault windows (an empty list clears them).
pub async fn set_faults(
    State(server): State<Arc<Server>>,
    Path(token): Path<String>,
    Json(request): Json<FaultWindows>,
) -> Result<axum::Json<Value>, ControlError> {
    let bot = bot(&server, &token)?;
    bot.faults.set(request.windows).map_err(ControlError::Invalid)?;
    Ok(axum::Json(json!({"windows": bot.faults.windows()})))
}

pub async fn faults(
    State(server): State<Arc<Server>>,
    Path(token): Path<String>,
) -> Result<axum::Json<Value>, ControlError> {
    Ok(axum::Json(json!({"windows": bot(&server, &token)?.faults.windows()})))
}

pub async fn metrics(State(server): State<Arc<Server>>) -> impl IntoResponse {
    let mut text = crate::stats::prometheus_header();
    for bot in server.bots() {
        bot.ledger.stats().write_prometheus(bot.id, &mut text);
    }
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewUser {
    id: i64,
    first_name: Option<String>,
    username: Option<String>,
}

impl NewUser {
    fn into_user(self) -> Result<User, ControlError> {
        if self.id <= 0 {
            return Err(ControlError::Invalid(format!("user id must be positive, got {}", self.id)));
        }
        Ok(User {
            id: self.id,
            is_bot: false,
            first_name: self.first_name.unwrap_or_else(|| format!("User{}", self.id)),
            username: self.username,
            language_code: Some("en".into()),
        })
    }
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "lowercase", deny_unknown_fields)]
pub enum NewChat {
    Private {
        user: NewUser,
    },
    Group {
        title: String,
        #[serde(default)]
        members: Vec<NewUser>,
    },
}

pub async fn create_chat(
    State(server): State<Arc<Server>>,
    Path(token): Path<String>,
    Json(request): Json<NewChat>,
) -> Result<impl IntoResponse, ControlError> {
    let bot = bot(&server, &token)?;
    let mut chats = lock(&bot.chats);
    let chat_id = match request {
        NewChat::Private { user } => {
            let user = user.into_user()?;
            let id = user.id;
            chats.add_user(user);
            chats.private(id).chat.id
        }
        NewChat::Group { title, members } => {
            let mut ids = Vec::with_capacity(members.len());
            for member in members {
                let member = member.into_user()?;
                ids.push(member.id);
                chats.add_user(member);
            }
            chats.create_group(title, ids)
        }
    };
    Ok((StatusCode::CREATED, axum::Json(json!({ "chat_id": chat_id }))))
}

#[derive(Deserialize)]
pub struct Limit {
    limit: Option<usize>,
}

pub async fn messages(
    State(server): State<Arc<Server>>,
    Path((token, chat_id)): Path<(String, i64)>,
    Query(limit): Query<Limit>,
) -> Result<axum::Json<Value>, ControlError> {
    let bot = bot(&server, &token)?;
    let mut chats = lock(&bot.chats);
    let chat = chats.get(chat_id).map_err(|_| ControlError::UnknownChat(chat_id))?;
    Ok(axum::Json(json!(chat.recent(limit.limit.unwrap_or(20)))))
}
