//! The control API: how synthetic users (the load generator, tests) act on a bot's chats and read what happened.
//! Documented in `docs/control-api.md`.
//!
//! Its errors are `{"error": "..."}` with a 4xx status, deliberately unlike the Bot API envelope: this side is ours.

mod actions;
mod bots;
pub mod kinds;

use std::sync::Arc;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{any, get, post, put};
use axum::Router;

use crate::bot::Bot;
use crate::server::Server;

pub use actions::{perform, ActionRequest, ActionResponse, Collect, Outcome};
pub use kinds::{Action, Media};

pub fn routes() -> Router<Arc<Server>> {
    Router::new()
        .route("/control/health", get(bots::health))
        .route("/control/bots", post(bots::register))
        .route("/control/bots/{token}", get(bots::status))
        .route("/control/bots/{token}/stats", get(bots::stats))
        .route("/control/bots/{token}/chats", post(bots::create_chat))
        .route("/control/bots/{token}/chats/{chat_id}/messages", get(bots::messages))
        .route("/control/bots/{token}/actions", post(actions::act))
        .route("/control/bots/{token}/faults", put(bots::set_faults).get(bots::faults))
        .route("/control", any(unknown_endpoint))
        .route("/control/", any(unknown_endpoint))
        .route("/control/{*rest}", any(unknown_endpoint))
        .route("/metrics", get(bots::metrics))
        .method_not_allowed_fallback(method_not_allowed)
}

/// A path under `/control` that no route has (an empty token segment included): ours, so our error shape.
async fn unknown_endpoint(uri: axum::http::Uri) -> ControlError {
    ControlError::NoEndpoint(uri.path().to_string())
}

async fn method_not_allowed(method: axum::http::Method, uri: axum::http::Uri) -> ControlError {
    ControlError::MethodNotAllowed { method: method.to_string(), path: uri.path().to_string() }
}

#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    #[error("no bot with token {0:?}")]
    UnknownBot(String),
    #[error("chat not found: {0}")]
    UnknownChat(i64),
    #[error("message {message_id} not found in chat {chat_id}")]
    UnknownMessage { chat_id: i64, message_id: i64 },
    #[error("{0}")]
    Invalid(String),
    /// The action cannot apply in its chat now (a join in a private chat, a reply before the bot has written, a
    /// block of a bot already blocked): a load generator picks another.
    #[error("{0}")]
    NotNow(String),
    #[error("no control api endpoint {0} (see docs/control-api.md)")]
    NoEndpoint(String),
    #[error("{path} does not take {method}")]
    MethodNotAllowed { method: String, path: String },
}

impl ControlError {
    /// The HTTP status the control API answers this error with.
    pub fn status(&self) -> StatusCode {
        match self {
            ControlError::UnknownBot(_) | ControlError::UnknownChat(_) | ControlError::UnknownMessage { .. } => {
                StatusCode::NOT_FOUND
            }
            ControlError::Invalid(_) => StatusCode::BAD_REQUEST,
            ControlError::NotNow(_) => StatusCode::CONFLICT,
            ControlError::NoEndpoint(_) => StatusCode::NOT_FOUND,
            ControlError::MethodNotAllowed { .. } => StatusCode::METHOD_NOT_ALLOWED,
        }
    }
}

impl IntoResponse for ControlError {
    fn into_response(self) -> Response {
        (self.status(), axum::Json(serde_json::json!({ "error": self.to_string() }))).into_response()
    }
}

fn bot(server: &Server, token: &str) -> Result<Arc<Bot>, ControlError> {
    server.bot(token).ok_or_else(|| ControlError::UnknownBot(token.to_owned()))
}

/// A JSON body, with a malformed one answered in the control API's error shape rather than axum's plain text.
pub struct Json<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequest<S> for Json<T> {
    type Rejection = ControlError;

    async fn from_request(request: axum::extract::Request, state: &S) -> Result<Self, Self::Rejection> {
        let bytes = bytes::Bytes::from_request(request, state)
            .await
            .map_err(|error| ControlError::Invalid(format!("reading the body: {error}").to_lowercase()))?;
        serde_json::from_slice(&bytes)
            .map(Json)
            .map_err(|error| ControlError::Invalid(format!("invalid JSON body: {error}")))
    }
}

/// A path parameter, with one that does not parse (a chat id that is not an integer, a token that is not UTF-8)
/// answered in the control API's error shape rather than axum's plain text.
pub struct Path<T>(pub T);

impl<T: serde::de::DeserializeOwned + Send, S: Send + Sync> axum::extract::FromRequestParts<S> for Path<T> {
    type Rejection = ControlError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(value)| Path(value))
            .map_err(|rejection| ControlError::Invalid(format!("path: {}", rejection.body_text()).to_lowercase()))
    }
}

/// A query string, likewise.
pub struct Query<T>(pub T);

impl<T: serde::de::DeserializeOwned, S: Send + Sync> axum::extract::FromRequestParts<S> for Query<T> {
    type Rejection = ControlError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, Self::Rejection> {
        axum::extract::Query::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Query(value)| Query(value))
            .map_err(|rejection| ControlError::Invalid(format!("query: {}", rejection.body_text()).to_lowercase()))
    }
}
