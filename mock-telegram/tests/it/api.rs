//! The Bot API side against a scripted bot over real HTTP: identity, errors, long polling, correlation of answers,
//! callbacks, files and webhooks.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::support::{start, start_with, TOKEN};

#[tokio::test]
async fn get_me_carries_every_required_field_whatever_the_method_case() {
    let mock = start().await;
    let me = mock.ok("GetMe", json!({})).await;
    for field in [
        "id",
        "is_bot",
        "first_name",
        "username",
        "can_join_groups",
        "can_read_all_group_messages",
        "supports_inline_queries",
        "has_main_web_app",
    ] {
        assert!(me.get(field).is_some(), "getMe lacks {field}: {me}");
    }
    let test_env = mock.http.get(format!("{}/bot{TOKEN}/test/getme", mock.url)).send().await.unwrap();
    assert_eq!(test_env.status(), 200);
}

#[tokio::test]
async fn errors_have_telegrams_envelope_and_texts() {
    let mock = start().await;
    let cases = [
        (format!("/bot{TOKEN}/noSuchMethod"), 404, "Not Found: method not found"),
        ("/bot999:unknown/getMe".to_owned(), 401, "Unauthorized"),
        ("/botnot-a-token/getMe".to_owned(), 404, "Not Found"),
        ("/favicon.ico".to_owned(), 404, "Not Found"),
    ];
    for (path, code, description) in cases {
        let response = mock.http.post(format!("{}{path}", mock.url)).send().await.unwrap();
        assert_eq!(response.status().as_u16(), code, "{path}");
        let body: Value = response.json().await.unwrap();
        assert_eq!(body, json!({"ok": false, "error_code": code, "description": description}), "{path}");
    }
    mock.user_says(7, "hi").await;
    let long = "x".repeat(4097);
    let sends = [
        (json!({"chat_id": 7, "text": ""}), "Bad Request: message text is empty"),
        (json!({"chat_id": 7, "text": long}), "Bad Request: message is too long"),
        (json!({"chat_id": 8, "text": "x"}), "Bad Request: chat not found"),
        (json!({"text": "x"}), "Bad Request: chat_id is empty"),
    ];
    for (params, description) in sends {
        let (status, body) = mock.call("sendMessage", params).await;
        assert_eq!((status, body["description"].as_str().unwrap()), (400, description));
    }
    let (status, _) = mock.call("sendMessage", json!({"chat_id": "7", "text": "x".repeat(4096)})).await;
    assert_eq!(status, 200, "4096 characters and a string chat_id are fine");
}

#[tokio::test]
async fn every_encoding_carries_parameters() {
    let mock = start().await;
    mock.user_says(7, "hi").await;
    let url = format!("{}/bot{TOKEN}/sendMessage", mock.url);
    let form = mock
        .http
        .post(&url)
        .header("content-type", "application/x-www-form-urlencoded")
        .body(r#"chat_id=7&text=form&reply_markup={"inline_keyboard":[[{"text":"a","callback_data":"a"}]]}"#);
    let query = mock.http.get(format!("{url}?chat_id=7&text=query"));
    let multipart = reqwest::multipart::Form::new().text("chat_id", "7").text("text", "multipart");
    let multipart = mock.http.post(&url).multipart(multipart);
    for (request, text) in [(form, "form"), (query, "query"), (multipart, "multipart")] {
        let body: Value = request.send().await.unwrap().json().await.unwrap();
        assert_eq!(body["result"]["text"], text, "{body}");
        assert_eq!(body["result"]["from"]["is_bot"], true);
    }
}

#[tokio::test]
async fn a_long_poll_answers_as_soon_as_an_update_arrives_and_offsets_confirm() {
    let mock = start().await;
    let started = Instant::now();
    let poll = mock.ok("getUpdates", json!({"timeout": 20}));
    let (updates, _) = tokio::join!(poll, async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        mock.user_says(7, "/start now").await
    });
    assert!(started.elapsed() < Duration::from_secs(10), "the poll waited for its timeout");
    let update = &updates[0];
    assert_eq!(update["message"]["text"], "/start now");
    assert_eq!(update["message"]["entities"][0]["type"], "bot_command");
    assert_eq!(update["message"]["chat"]["type"], "private");
    let next = update["update_id"].as_i64().unwrap() + 1;
    assert_eq!(mock.ok("getUpdates", json!({"offset": 0})).await.as_array().unwrap().len(), 1);
    assert_eq!(mock.ok("getUpdates", json!({"offset": next})).await, json!([]));
}

#[tokio::test]
async fn a_second_poll_terminates_the_first_with_409() {
    let mock = start().await;
    let first = mock.call("getUpdates", json!({"timeout": 20}));
    let second = async {
        tokio::time::sleep(Duration::from_millis(200)).await;
        mock.call("getUpdates", json!({"timeout": 0})).await
    };
    let ((status, body), (second_status, _)) = tokio::join!(first, second);
    assert_eq!((status, second_status), (409, 200));
    assert_eq!(
        body["description"],
        "Conflict: terminated by other getUpdates request; make sure that only one bot instance is running"
    );
}

/// Plays the bot: polls once and answers every text with `reply`.
async fn answer_next(mock: &crate::support::Mock, reply: impl Fn(&Value) -> Value) {
    let updates = mock.ok("getUpdates", json!({"timeout": 10})).await;
    let last = updates.as_array().unwrap().last().unwrap()["update_id"].as_i64().unwrap();
    for update in updates.as_array().unwrap() {
        let params = reply(update);
        let method = params["method"].as_str().unwrap().to_owned();
        mock.ok(&method, params).await;
    }
    mock.ok("getUpdates", json!({"offset": last + 1, "timeout": 0})).await;
}

#[tokio::test]
async fn an_answer_completes_the_action_with_its_timings() {
    let mock = start().await;
    let due = mock_telegram::now_us() - 1_000;
    let action = json!({"chat_id": 7, "action": {"kind": "text", "text": "echo me"}, "wait_ms": 5000, "due_us": due});
    let (response, ()) = tokio::join!(
        mock.control("actions", action),
        answer_next(&mock, |update| {
            json!({"method": "sendMessage", "chat_id": update["message"]["chat"]["id"], "text": update["message"]["text"]})
        })
    );
    let (status, body) = response;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["outcome"], "answered");
    assert_eq!(body["answer"]["method"], "sendMessage");
    assert_eq!(body["answer"]["text"], "echo me");
    let t = &body["timings_us"];
    let (due_at, enqueued, delivered, answered) = (
        t["due"].as_u64().unwrap(),
        t["enqueued"].as_u64().unwrap(),
        t["delivered"].as_u64().unwrap(),
        t["answered"].as_u64().unwrap(),
    );
    assert!(due_at == due && due <= enqueued && enqueued <= delivered && delivered <= answered, "{t}");

    // A message nobody asked for is unprompted, and does not answer the next action.
    mock.ok("sendMessage", json!({"chat_id": 7, "text": "news"})).await;
    let stats = mock.get(&format!("/control/bots/{TOKEN}/stats")).await;
    assert_eq!(stats["actions"]["answered"], 1, "{stats}");
    assert_eq!(stats["unprompted"], 1, "{stats}");
    assert_eq!(stats["timings"]["end_to_end_us"]["count"], 1);
    let metrics = mock.http.get(format!("{}/metrics", mock.url)).send().await.unwrap().text().await.unwrap();
    assert!(metrics.contains("mock_telegram_actions_answered{bot=\"123456\"} 1"), "{metrics}");
}

#[tokio::test]
async fn an_unanswered_action_times_out() {
    let mock = start().await;
    let action = json!({"chat_id": 7, "action": {"kind": "text", "text": "anyone?"}, "wait_ms": 100});
    let (status, body) = mock.control("actions", action).await;
    assert_eq!((status, body["outcome"].as_str().unwrap()), (200, "timeout"));
    assert_eq!(body["timings_us"]["delivered"], Value::Null);
}

#[tokio::test]
async fn a_button_press_is_answered_by_answer_callback_query_and_the_edit_follows() {
    let mock = start().await;
    mock.user_says(7, "/menu").await;
    let keyboard = json!({"inline_keyboard": [[{"text": "One", "callback_data": "opt:1"}, {"text": "Two", "callback_data": "opt:2"}]]});
    let menu =
        mock.ok("sendMessage", json!({"chat_id": 7, "text": "Pick", "reply_markup": keyboard.to_string()})).await;
    assert_eq!(menu["reply_markup"], keyboard);
    let message_id = menu["message_id"].as_i64().unwrap();

    let press = json!({"chat_id": 7, "action": {"kind": "callback", "message_id": message_id, "data": "opt:2"}, "wait_ms": 5000});
    let bot = async {
        let updates = mock.ok("getUpdates", json!({"offset": 2, "timeout": 10})).await;
        let query = &updates[0]["callback_query"];
        assert_eq!(query["data"], "opt:2");
        assert!(query["chat_instance"].is_string());
        mock.ok("answerCallbackQuery", json!({"callback_query_id": query["id"]})).await;
        let edited =
            mock.ok("editMessageText", json!({"chat_id": 7, "message_id": message_id, "text": "You chose 2"})).await;
        assert_eq!(edited["text"], "You chose 2");
        let (status, body) = mock.call("answerCallbackQuery", json!({"callback_query_id": query["id"]})).await;
        assert_eq!(
            (status, body["description"].as_str().unwrap()),
            (400, "Bad Request: query is too old and response timeout expired or query ID is invalid")
        );
    };
    let ((status, body), ()) = tokio::join!(mock.control("actions", press), bot);
    assert_eq!((status, &body["answer"]["method"]), (200, &json!("answerCallbackQuery")), "{body}");
    let messages = mock.get(&format!("/control/bots/{TOKEN}/chats/7/messages")).await;
    assert_eq!(messages.as_array().unwrap().last().unwrap()["text"], "You chose 2");

    let (status, body) =
        mock.control("actions", json!({"chat_id": 7, "action": {"kind": "callback", "message_id": 99}})).await;
    assert_eq!(status, 404, "{body}");
}

#[tokio::test]
async fn uploaded_photos_can_be_fetched_back() {
    let mock = start().await;
    mock.user_says(7, "/photo").await;
    let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR\0\0\0\x02\0\0\0\x03rest".to_vec();
    let part = reqwest::multipart::Part::bytes(png.clone()).file_name("p.png").mime_str("image/png").unwrap();
    let form = reqwest::multipart::Form::new().text("chat_id", "7").text("caption", "hi").part("photo", part);
    let body: Value = mock
        .http
        .post(format!("{}/bot{TOKEN}/SendPhoto", mock.url))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let photo = &body["result"]["photo"][0];
    assert_eq!((photo["width"].as_u64(), photo["height"].as_u64()), (Some(2), Some(3)), "{body}");
    let file = mock.ok("getFile", json!({"file_id": photo["file_id"]})).await;
    let path = file["file_path"].as_str().unwrap().replace('/', "%2F");
    let bytes =
        mock.http.get(format!("{}/file/bot{TOKEN}/{path}", mock.url)).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), png.as_slice());
}

#[tokio::test]
async fn allowed_updates_persist_and_filter() {
    let mock = start().await;
    mock.ok("getUpdates", json!({"allowed_updates": ["callback_query"]})).await;
    let body = mock.user_says(7, "filtered").await;
    assert_eq!(body["outcome"], "filtered");
    mock.ok("getUpdates", json!({"allowed_updates": "[]"})).await;
    assert_eq!(mock.user_says(7, "kept").await["outcome"], "queued");
}

/// A webhook receiver on loopback that fails its first `failures` deliveries, then answers with a webhook reply.
async fn receiver(failures: usize) -> (String, tokio::sync::mpsc::UnboundedReceiver<(Option<String>, Value)>) {
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::sync::Arc;
    let (sender, received) = tokio::sync::mpsc::unbounded_channel();
    let seen = Arc::new(AtomicUsize::new(0));
    let handler = move |headers: axum::http::HeaderMap, axum::Json(update): axum::Json<Value>| {
        let sender = sender.clone();
        let seen = seen.clone();
        async move {
            let secret = headers.get("x-telegram-bot-api-secret-token").map(|v| v.to_str().unwrap().to_owned());
            if seen.fetch_add(1, Ordering::SeqCst) < failures {
                return (axum::http::StatusCode::INTERNAL_SERVER_ERROR, axum::Json(json!({})));
            }
            let chat_id = update["message"]["chat"]["id"].clone();
            let text = update["message"]["text"].clone();
            sender.send((secret, update)).unwrap();
            (axum::http::StatusCode::OK, axum::Json(json!({"method": "sendMessage", "chat_id": chat_id, "text": text})))
        }
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().route("/hook", axum::routing::post(handler))).await
    });
    (url, received)
}

#[tokio::test]
async fn webhooks_deliver_with_the_secret_retry_and_execute_replies() {
    let mock =
        start_with(mock_telegram::Config { webhook_backoff: Duration::from_millis(50), ..Default::default() }).await;
    let (url, mut received) = receiver(2).await;
    let set = mock.call("setWebhook", json!({"url": url, "secret_token": "s3cr3t"})).await;
    assert_eq!(set.1["description"], "Webhook was set");
    assert_eq!(
        mock.call("setWebhook", json!({"url": url, "secret_token": "s3cr3t"})).await.1["description"],
        "Webhook is already set"
    );
    let (status, body) = mock.call("getUpdates", json!({})).await;
    assert_eq!((status, body["description"].as_str().unwrap()), (409, "Conflict: can't use getUpdates method while webhook is active; use deleteWebhook to delete the webhook first"));

    let action = json!({"chat_id": 7, "action": {"kind": "text", "text": "via hook"}, "wait_ms": 10000});
    let (status, body) = mock.control("actions", action).await;
    assert_eq!(
        (status, &body["outcome"], &body["answer"]["text"]),
        (200, &json!("answered"), &json!("via hook")),
        "{body}"
    );
    let (secret, update) = received.recv().await.unwrap();
    assert_eq!(secret.as_deref(), Some("s3cr3t"));
    assert_eq!(update["message"]["text"], "via hook");
    let info = mock.ok("getWebhookInfo", json!({})).await;
    assert_eq!(info["url"], url);
    assert_eq!(info["last_error_message"], "Wrong response from the webhook: 500 Internal Server Error", "{info}");
    assert_eq!(mock.get(&format!("/control/bots/{TOKEN}")).await["mode"], "webhook");
    assert_eq!(mock.call("deleteWebhook", json!({})).await.1["description"], "Webhook was deleted");
    assert_eq!(mock.ok("getWebhookInfo", json!({})).await["url"], "");
}

#[tokio::test]
async fn webhooks_off_loopback_are_refused() {
    let mock = start().await;
    let (status, body) = mock.call("setWebhook", json!({"url": "https://example.com/hook"})).await;
    assert_eq!(status, 400, "{body}");
    assert!(body["description"].as_str().unwrap().starts_with("Bad Request: bad webhook"));
}

#[tokio::test]
async fn flood_limits_answer_429_with_retry_after() {
    let flood = mock_telegram::flood::FloodLimits::default();
    let mock = start_with(mock_telegram::Config { flood: Some(flood), ..Default::default() }).await;
    mock.user_says(7, "hi").await;
    for _ in 0..3 {
        mock.ok("sendMessage", json!({"chat_id": 7, "text": "burst"})).await;
    }
    let (status, body) = mock.call("sendMessage", json!({"chat_id": 7, "text": "one too many"})).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(body["description"], "Too Many Requests: retry after 1");
    assert_eq!(body["parameters"]["retry_after"], 1);
}

#[tokio::test]
async fn injected_faults_answer_their_error_or_delay_in_their_window_only() {
    let mock = start().await;
    let put = |windows: Value| {
        let url = format!("{}/control/bots/{TOKEN}/faults", mock.url);
        let request = mock.http.put(url).json(&json!({ "windows": windows }));
        async move {
            let response = request.send().await.unwrap();
            (response.status().as_u16(), response.json::<Value>().await.unwrap())
        }
    };
    let now_us = mock_telegram::now_us();
    let (status, body) = put(json!([
        {"methods": ["sendMessage"], "start_us": now_us, "duration_ms": 60_000, "effect": {"kind": "error", "error_code": 502}},
        {"methods": ["GetMe"], "start_us": now_us, "duration_ms": 60_000, "effect": {"kind": "delay", "delay_ms": 200}},
        {"start_us": now_us + 3_600_000_000, "duration_ms": 1000, "effect": {"kind": "error", "error_code": 429}},
    ]))
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["windows"][1]["methods"], json!(["getme"]));
    // An outage of sendMessage: Telegram's envelope and text; the action stays open for the bot's retry.
    let user = tokio::spawn({
        let (http, url) = (mock.http.clone(), format!("{}/control/bots/{TOKEN}/actions", mock.url));
        let action = json!({"chat_id": 7, "action": {"kind": "text", "text": "hi"}, "wait_ms": 300});
        async move { http.post(url).json(&action).send().await.unwrap().json::<Value>().await.unwrap() }
    });
    let mut polled = json!([]);
    while polled.as_array().unwrap().is_empty() {
        polled = mock.ok("getUpdates", json!({"timeout": 1})).await;
    }
    let (status, body) = mock.call("sendMessage", json!({"chat_id": 7, "text": "hello"})).await;
    assert_eq!((status, body), (502, json!({"ok": false, "error_code": 502, "description": "Bad Gateway"})));
    // The bot never retries: when the user stops waiting, the action ends with that error.
    let reply = user.await.unwrap();
    assert_eq!(
        (reply["outcome"].as_str(), reply["answer"]["error"]["error_code"].as_u64()),
        (Some("bot_error"), Some(502))
    );
    // A slow getMe still answers; a window an hour ahead is not open yet.
    let started = std::time::Instant::now();
    mock.ok("getMe", json!({})).await;
    assert!(started.elapsed() >= std::time::Duration::from_millis(200), "{:?}", started.elapsed());
    mock.ok("sendChatAction", json!({"chat_id": 7, "action": "typing"})).await;
    let stats = mock.get(&format!("/control/bots/{TOKEN}/stats")).await;
    assert_eq!(stats["injected"], json!({"errors": 1, "delays": 1}), "{stats}");
    assert_eq!(stats["bot_errors"]["502"], 1, "{stats}");
    assert_eq!(
        (stats["failed_attempts"].as_u64(), stats["actions"]["answered_with_error"].as_u64()),
        (Some(1), Some(1))
    );
    // A bad window is refused with what was wrong, and the windows stay as they were; an empty list clears them.
    let (status, body) =
        put(json!([{"start_us": 0, "duration_ms": 1, "effect": {"kind": "error", "error_code": 302}}])).await;
    assert_eq!(status, 400);
    assert!(body["error"].as_str().unwrap().contains("windows[0]: error_code must lie between 400 and 599"), "{body}");
    assert_eq!(mock.get(&format!("/control/bots/{TOKEN}/faults")).await["windows"].as_array().unwrap().len(), 3);
    for effect in [json!({"kind": "explode"}), json!({"kind": "delay", "delay_ms": 1, "colour": 1})] {
        let (status, body) = put(json!([{"start_us": 0, "duration_ms": 1, "effect": effect}])).await;
        assert_eq!(status, 400, "{body}");
    }
    assert_eq!(put(json!([])).await.0, 200);
    mock.ok("sendMessage", json!({"chat_id": 7, "text": "back"})).await;
}

/// A webhook receiver that answers every update with a `sendMessage` webhook reply in the given encoding, as
/// aiogram does (multipart) and as a hand-written bot might (urlencoded).
async fn replying_receiver(content_type: &'static str) -> String {
    let handler = move |axum::Json(update): axum::Json<Value>| async move {
        let (chat_id, text) = (update["message"]["chat"]["id"].to_string(), update["message"]["text"].clone());
        let text = text.as_str().unwrap().to_owned();
        let body = if content_type == "application/x-www-form-urlencoded" {
            format!("method=sendMessage&chat_id={chat_id}&text={text}")
        } else {
            let part = |name: &str, value: &str| {
                format!("--R\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
            };
            format!("{}{}{}--R--\r\n", part("method", "sendMessage"), part("chat_id", &chat_id), part("text", &text))
        };
        let content_type =
            if content_type == "multipart/form-data" { "multipart/form-data; boundary=R" } else { content_type };
        ([(axum::http::header::CONTENT_TYPE, content_type)], body)
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/hook", listener.local_addr().unwrap());
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().route("/hook", axum::routing::post(handler))).await
    });
    url
}

#[tokio::test]
async fn webhook_replies_in_every_encoding_are_executed() {
    for content_type in ["multipart/form-data", "application/x-www-form-urlencoded"] {
        let mock = start().await;
        let url = replying_receiver(content_type).await;
        mock.ok("setWebhook", json!({"url": url})).await;
        let action = json!({"chat_id": 7, "action": {"kind": "text", "text": "reply"}, "wait_ms": 5000});
        let (status, body) = mock.control("actions", action).await;
        assert_eq!((status, &body["outcome"]), (200, &json!("answered")), "{content_type}: {body}");
        assert_eq!(body["answer"]["text"], "reply", "{content_type}: {body}");
    }
}
