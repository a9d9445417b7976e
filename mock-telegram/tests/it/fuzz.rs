//! Property tests of request parsing and the method handlers: whatever the method, encoding and values, the Bot
//! API side answers with its envelope and a 2xx or 4xx status, never a 5xx or a panic.

use std::time::Duration;

use axum::body::Body;
use axum::http::Request;
use proptest::prelude::*;
use tower::ServiceExt;

use crate::support::TOKEN;

const METHODS: &[&str] = &[
    "getMe",
    "getUpdates",
    "setWebhook",
    "deleteWebhook",
    "getWebhookInfo",
    "sendMessage",
    "editMessageText",
    "editMessageReplyMarkup",
    "deleteMessage",
    "answerCallbackQuery",
    "sendChatAction",
    "sendPhoto",
    "sendDocument",
    "getFile",
    "setMyCommands",
    "getMyCommands",
    "deleteMyCommands",
    "close",
    "logOut",
    "setMyDescription",
    "sendDice",
    "",
];
const FIELDS: &[&str] = &[
    "chat_id",
    "text",
    "offset",
    "limit",
    "timeout",
    "allowed_updates",
    "reply_markup",
    "message_id",
    "url",
    "secret_token",
    "max_connections",
    "callback_query_id",
    "photo",
    "document",
    "file_id",
    "commands",
    "entities",
    "reply_parameters",
    "action",
    "caption",
    "drop_pending_updates",
    "show_alert",
];

fn value() -> impl Strategy<Value = serde_json::Value> + Clone {
    prop_oneof![
        any::<i64>().prop_map(serde_json::Value::from),
        any::<bool>().prop_map(serde_json::Value::from),
        ".{0,40}".prop_map(serde_json::Value::from),
        Just(serde_json::json!({"inline_keyboard": [[{"text": "a", "callback_data": "b"}]]})),
        Just(serde_json::json!([{"command": "start", "description": "d"}])),
        Just(serde_json::json!(null)),
        Just(serde_json::json!("http://127.0.0.1:1/hook")),
    ]
}

fn body() -> impl Strategy<Value = (String, Vec<u8>)> {
    let params = || prop::collection::vec((prop::sample::select(FIELDS), value()), 0..6);
    prop_oneof![
        params().prop_map(|params| {
            let object: serde_json::Map<String, serde_json::Value> =
                params.into_iter().map(|(k, v)| (k.to_owned(), v)).collect();
            ("application/json".to_owned(), serde_json::Value::Object(object).to_string().into_bytes())
        }),
        params().prop_map(|params| {
            let mut form = form_urlencoded::Serializer::new(String::new());
            for (key, value) in params {
                form.append_pair(key, &value.as_str().map_or_else(|| value.to_string(), str::to_owned));
            }
            ("application/x-www-form-urlencoded".to_owned(), form.finish().into_bytes())
        }),
        params().prop_map(|params| {
            let mut body = String::new();
            for (key, value) in params {
                body.push_str(&format!("--B\r\nContent-Disposition: form-data; name=\"{key}\"\r\n\r\n{value}\r\n"));
            }
            body.push_str("--B--\r\n");
            ("multipart/form-data; boundary=B".to_owned(), body.into_bytes())
        }),
        ("[ -~]{0,20}", prop::collection::vec(any::<u8>(), 0..200)),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

    #[test]
    fn no_input_produces_a_server_error(
        method in prop::sample::select(METHODS),
        (content_type, bytes) in body(),
        verb in prop::sample::select(&["GET", "POST", "PUT", "DELETE"][..]),
        case_flip in any::<bool>(),
    ) {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        runtime.block_on(async {
            let server = mock_telegram::Server::new(mock_telegram::Config::default()).unwrap();
            server.add_bot(TOKEN, None).unwrap();
            let method = if case_flip { method.to_uppercase() } else { method.to_owned() };
            let request = Request::builder()
                .method(verb)
                .uri(format!("/bot{TOKEN}/{method}"))
                .header("content-type", content_type)
                .body(Body::from(bytes))
                .unwrap();
            let app = mock_telegram::app(server);
            // A valid long poll may park; that is not a failure.
            let Ok(response) = tokio::time::timeout(Duration::from_millis(200), app.oneshot(request)).await else {
                return;
            };
            let response = response.unwrap();
            let status = response.status();
            let body = axum::body::to_bytes(response.into_body(), usize::MAX).await.unwrap();
            let json: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
            assert!(status.as_u16() < 500, "{status} {json}");
            assert!(json.get("ok").is_some(), "{status}: no envelope: {}", String::from_utf8_lossy(&body));
        });
    }
}
