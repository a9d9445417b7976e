//! Every failure on the Bot API side, and the one `IntoResponse` that turns it into Telegram's error envelope.
//!
//! The descriptions are Telegram's exact texts: teloxide classifies errors by description alone, PTB by status,
//! so both must match the official server. Control-API failures have their own, simpler shape in `control`.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;

/// A Bot API error: the HTTP status equals `error_code`, as on api.telegram.org.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{code} {description}")]
pub struct ApiError {
    pub code: u16,
    pub description: String,
    pub retry_after: Option<u64>,
}

impl ApiError {
    fn new(code: u16, description: impl Into<String>) -> ApiError {
        ApiError { code, description: description.into(), retry_after: None }
    }

    /// `400 Bad Request: <what>`; `what` starts lowercase, as the official server makes it.
    pub fn bad_request(what: impl AsRef<str>) -> ApiError {
        ApiError::new(400, format!("Bad Request: {}", what.as_ref()))
    }

    pub fn unauthorized() -> ApiError {
        ApiError::new(401, "Unauthorized")
    }

    /// A malformed token: api.telegram.org answers a bare 404 for it.
    pub fn not_found() -> ApiError {
        ApiError::new(404, "Not Found")
    }

    pub fn method_not_found() -> ApiError {
        ApiError::new(404, "Not Found: method not found")
    }

    pub fn method_not_allowed() -> ApiError {
        ApiError::new(405, "Method Not Allowed: only GET and POST are supported")
    }

    pub fn conflict(what: &str) -> ApiError {
        ApiError::new(409, format!("Conflict: {what}"))
    }

    pub fn too_large() -> ApiError {
        ApiError::new(413, "Request Entity Too Large")
    }

    pub fn too_many_requests(retry_after: u64) -> ApiError {
        let mut error = ApiError::new(429, format!("Too Many Requests: retry after {retry_after}"));
        error.retry_after = Some(retry_after);
        error
    }

    pub fn chat_not_found() -> ApiError {
        ApiError::bad_request("chat not found")
    }

    /// A send to a user who blocked the bot.
    pub fn blocked() -> ApiError {
        ApiError::new(403, "Forbidden: bot was blocked by the user")
    }

    pub fn stale_callback_query() -> ApiError {
        ApiError::bad_request("query is too old and response timeout expired or query ID is invalid")
    }

    /// Whether the error tells the caller to try again (a flood wait, a server error) rather than that the call
    /// was wrong.
    pub fn is_transient(&self) -> bool {
        self.code == 429 || self.code >= 500
    }

    /// The envelope body, also used for webhook-reply errors that never reach an HTTP response.
    pub fn body(&self) -> serde_json::Value {
        let mut body = json!({"ok": false, "error_code": self.code, "description": self.description});
        if let Some(retry_after) = self.retry_after {
            body["parameters"] = json!({ "retry_after": retry_after });
        }
        body
    }
}

pub const CONFLICT_OTHER_POLL: &str =
    "terminated by other getUpdates request; make sure that only one bot instance is running";
pub const CONFLICT_WEBHOOK_ACTIVE: &str =
    "can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first";
pub const CONFLICT_SET_WEBHOOK: &str = "terminated by setWebhook request";

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        // Every code we produce is a valid 4xx, or a 5xx a fault window asked for; the fallback keeps a bad code
        // from ever becoming a 5xx.
        let status = StatusCode::from_u16(self.code).unwrap_or(StatusCode::BAD_REQUEST);
        (status, axum::Json(self.body())).into_response()
    }
}
