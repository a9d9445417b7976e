//! Every method of the spec file, called on the real server with its required parameters: each answers 200 with a
//! result of its declared type (required fields present, JSON kinds right, recursively), and each refuses a call
//! missing a required parameter with a 400 in Telegram's envelope. Values come from the parameter's name where the
//! mock's state matters (the chat, a bot message, an uploaded file), else from its type in the spec.

use mock_telegram::spec::{self, Field, Method};
use serde_json::{json, Map, Value};

use crate::support::{start, Mock, TOKEN};

const CHAT: i64 = 42;

/// A file the bot uploaded, for every `InputFile` parameter.
async fn uploaded_file_id(mock: &Mock) -> String {
    let part =
        reqwest::multipart::Part::bytes(b"spec test".to_vec()).file_name("a.txt").mime_str("text/plain").unwrap();
    let form = reqwest::multipart::Form::new().text("chat_id", CHAT.to_string()).part("document", part);
    let url = format!("{}/bot{TOKEN}/sendDocument", mock.url);
    let body: Value = mock.http.post(url).multipart(form).send().await.unwrap().json().await.unwrap();
    body["result"]["document"]["file_id"].as_str().unwrap().to_string()
}

/// A value for one required parameter.
async fn value(mock: &Mock, field: &Field, file_id: &str) -> Value {
    match field.name.as_str() {
        "chat_id" | "user_id" | "from_chat_id" => json!(CHAT),
        "message_id" => mock.ok("sendMessage", json!({"chat_id": CHAT, "text": "to edit"})).await["message_id"].clone(),
        "message_ids" => json!([mock.ok("sendMessage", json!({"chat_id": CHAT, "text": "m"})).await["message_id"]]),
        "text" | "question" => json!("hello"),
        "url" => json!("http://127.0.0.1:9/hook"),
        "file_id" => json!(file_id),
        "commands" => json!([{"command": "start", "description": "start"}]),
        "options" => json!([{"text": "a"}, {"text": "b"}]),
        "emoji" => json!("👍"),
        "action" => json!("typing"),
        // An album has 2-10 items.
        "media" if field.types[0].starts_with("Array of ") => {
            json!([{"type": "photo", "media": file_id}, {"type": "photo", "media": file_id}])
        }
        "media" => json!({"type": "photo", "media": file_id}),
        _ => by_type(&field.types, file_id),
    }
}

fn by_type(types: &[String], file_id: &str) -> Value {
    match types[0].as_str() {
        "Integer" => json!(1),
        "Float" => json!(1.0),
        "Boolean" | "True" => json!(true),
        "String" => json!("x"),
        "InputFile" => json!(file_id),
        t if t.starts_with("Array of ") => json!([spec::example(&t["Array of ".len()..], &Map::new())]),
        t => spec::example(t, &Map::new()),
    }
}

/// Methods whose preconditions a synthetic value cannot meet, with why; each still answers in the envelope.
fn precondition(method: &str) -> Option<&'static str> {
    match method {
        // The query must have been sent by a user first.
        "answerCallbackQuery" | "answerInlineQuery" | "answerPreCheckoutQuery" => Some("query is too old"),
        // `ok` true needs shipping options, which are not a required parameter.
        "answerShippingQuery" => Some("SHIPPING_OPTIONS_EMPTY"),
        "approveChatJoinRequest" | "declineChatJoinRequest" => Some("HIDE_REQUESTER_MISSING"),
        _ => None,
    }
}

/// The required parameters but `skip`; and a method that edits either a chat's message or an inline one (its
/// `chat_id` and `message_id` optional in the spec, one of the two ways required) gets the chat's.
async fn params(mock: &Mock, method: &Method, file_id: &str, skip: Option<&str>) -> Value {
    let selects_message = |f: &Field| f.name == "inline_message_id";
    let edits = method.fields.iter().any(selects_message);
    let wanted = |f: &&Field| f.required || edits && (f.name == "chat_id" || f.name == "message_id");
    let mut params = Map::new();
    for field in method.fields.iter().filter(wanted).filter(|f| Some(f.name.as_str()) != skip) {
        params.insert(field.name.clone(), value(mock, field, file_id).await);
    }
    if method.name == "editMessageReplyMarkup" {
        // Without a new markup the edit changes nothing, which Telegram refuses as "message is not modified".
        params.insert("reply_markup".into(), json!({"inline_keyboard": [[{"text": "a", "callback_data": "a"}]]}));
    }
    Value::Object(params)
}

/// Required parameters that Telegram itself does not insist on, with why.
fn optional_in_practice(method: &str, field: &str) -> bool {
    // "Use an empty string to remove webhook integration": the server takes a missing url as empty.
    (method, field) == ("setWebhook", "url")
}

#[tokio::test]
async fn every_method_answers_a_result_of_its_declared_type() {
    let mock = start().await;
    mock.user_says(CHAT, "hi").await;
    let file_id = uploaded_file_id(&mock).await;
    let mut methods: Vec<&Method> = spec::spec().methods.values().collect();
    methods.sort_by(|a, b| a.name.cmp(&b.name));
    let mut failures = Vec::new();
    for method in methods {
        let params = params(&mock, method, &file_id, None).await;
        let (status, body) = mock.call(&method.name, params.clone()).await;
        if method.name == "setWebhook" {
            mock.ok("deleteWebhook", json!({})).await;
        }
        if let Some(why) = precondition(&method.name) {
            let refused = status == 400 && body["description"].as_str().is_some_and(|d| d.contains(why));
            if !refused {
                failures.push(format!("{}: {status} {body}", method.name));
            }
            continue;
        }
        if status != 200 {
            failures.push(format!("{} {params}: {status} {body}", method.name));
            continue;
        }
        let errors: Vec<String> = method.returns.iter().filter_map(|r| spec::check(r, &body["result"]).err()).collect();
        if errors.len() == method.returns.len() {
            failures.push(format!("{}: {} for {:?}", method.name, errors.join("; "), method.returns));
        }
    }
    assert!(failures.is_empty(), "{} of 158 methods failed:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn a_missing_required_parameter_is_a_400() {
    let mock = start().await;
    mock.user_says(CHAT, "hi").await;
    let file_id = uploaded_file_id(&mock).await;
    let mut failures = Vec::new();
    for method in spec::spec().methods.values() {
        for field in method.fields.iter().filter(|f| f.required && !optional_in_practice(&method.name, &f.name)) {
            let params = params(&mock, method, &file_id, Some(&field.name)).await;
            let (status, body) = mock.call(&method.name, params).await;
            let described = body["description"].as_str().is_some_and(|d| d.starts_with("Bad Request: "));
            if status != 400 || body["ok"] != json!(false) || !described {
                failures.push(format!("{} without {}: {status} {body}", method.name, field.name));
            }
        }
    }
    assert!(failures.is_empty(), "{} calls were not refused:\n{}", failures.len(), failures.join("\n"));
}

#[tokio::test]
async fn sent_media_come_back_as_their_types_and_their_files_download() {
    let mock = start().await;
    mock.user_says(CHAT, "send me a video").await;
    let clip = b"not really a video, but bytes".to_vec();
    let part = reqwest::multipart::Part::bytes(clip.clone()).file_name("clip.mp4").mime_str("video/mp4").unwrap();
    let form =
        reqwest::multipart::Form::new().text("chat_id", CHAT.to_string()).text("caption", "a clip").part("video", part);
    let url = format!("{}/bot{TOKEN}/sendVideo", mock.url);
    let body: Value = mock.http.post(url).multipart(form).send().await.unwrap().json().await.unwrap();
    let message = &body["result"];
    assert_eq!(spec::check("Message", message), Ok(()), "{body}");
    assert_eq!(
        (message["caption"].as_str(), message["video"]["mime_type"].as_str()),
        (Some("a clip"), Some("video/mp4"))
    );
    assert_eq!(spec::check("Video", &message["video"]), Ok(()), "{body}");
    let file = mock.ok("getFile", json!({"file_id": message["video"]["file_id"]})).await;
    let path = file["file_path"].as_str().unwrap().replace('/', "%2F");
    let bytes =
        mock.http.get(format!("{}/file/bot{TOKEN}/{path}", mock.url)).send().await.unwrap().bytes().await.unwrap();
    assert_eq!(bytes.as_ref(), clip.as_slice());

    // A file id already known is sent again as another kind.
    let voice = mock.ok("sendVoice", json!({"chat_id": CHAT, "voice": message["video"]["file_id"]})).await;
    assert_eq!(spec::check("Voice", &voice["voice"]), Ok(()), "{voice}");
    assert_eq!(voice["voice"]["file_id"], message["video"]["file_id"]);
    let (status, body) = mock.call("sendSticker", json!({"chat_id": CHAT, "sticker": "no-such-file"})).await;
    assert_eq!(
        (status, body["description"].as_str()),
        (400, Some("Bad Request: wrong file identifier/HTTP URL specified"))
    );
}

#[tokio::test]
async fn an_unknown_chat_is_telegrams_400_for_any_method() {
    let mock = start().await;
    for (method, params) in [
        ("banChatMember", json!({"chat_id": -1001, "user_id": 7})),
        ("getChat", json!({"chat_id": -1001})),
        ("sendVoice", json!({"chat_id": 99, "voice": "x"})),
    ] {
        let (status, body) = mock.call(method, params).await;
        assert_eq!((status, body["description"].as_str()), (400, Some("Bad Request: chat not found")), "{method}");
    }
}

#[tokio::test]
async fn a_copy_answers_the_users_action() {
    let mock = start().await;
    let action = json!({"chat_id": CHAT, "action": {"kind": "text", "text": "copy me"}, "wait_ms": 5000});
    let url = format!("{}/control/bots/{TOKEN}/actions", mock.url);
    let waiting = tokio::spawn({
        let http = mock.http.clone();
        async move { http.post(url).json(&action).send().await.unwrap().json::<Value>().await.unwrap() }
    });
    let updates = loop {
        let updates = mock.ok("getUpdates", json!({"timeout": 1})).await;
        if updates.as_array().is_some_and(|u| !u.is_empty()) {
            break updates;
        }
    };
    let message_id = updates[0]["message"]["message_id"].clone();
    let copied = mock.ok("copyMessage", json!({"chat_id": CHAT, "from_chat_id": CHAT, "message_id": message_id})).await;
    assert_eq!(spec::check("MessageId", &copied), Ok(()), "{copied}");
    let answered = waiting.await.unwrap();
    assert_eq!(answered["answer"]["method"], "copyMessage", "{answered}");
}

#[tokio::test]
async fn results_come_from_the_mocks_state() {
    let mock = start().await;
    mock.user_says(CHAT, "hi").await;
    // A setter's values come back from its getter, per language.
    mock.ok("setMyName", json!({"name": "Test Bot"})).await;
    mock.ok("setMyName", json!({"name": "Testbot", "language_code": "de"})).await;
    assert_eq!(mock.ok("getMyName", json!({})).await, json!({"name": "Test Bot"}));
    assert_eq!(mock.ok("getMyName", json!({"language_code": "de"})).await, json!({"name": "Testbot"}));
    mock.ok("setChatMenuButton", json!({"menu_button": {"type": "commands"}})).await;
    assert_eq!(mock.ok("getChatMenuButton", json!({})).await["type"], "commands");
    mock.ok("setMyDescription", json!({"description": "I test"})).await;
    assert_eq!(mock.ok("getMyDescription", json!({})).await["description"], "I test");

    // A poll stopped is the poll sent, closed.
    let options = json!([{"text": "a"}, {"text": "b"}]);
    let sent = mock.ok("sendPoll", json!({"chat_id": CHAT, "question": "?", "options": options})).await;
    assert_eq!(spec::check("Poll", &sent["poll"]), Ok(()), "{sent}");
    assert_eq!(sent["poll"]["options"][1]["text"], "b");
    let stopped = mock.ok("stopPoll", json!({"chat_id": CHAT, "message_id": sent["message_id"]})).await;
    assert_eq!((stopped["id"].clone(), stopped["is_closed"].clone()), (sent["poll"]["id"].clone(), json!(true)));

    // An edit of a caption changes the stored message.
    let photo = mock.ok("sendDocument", json!({"chat_id": CHAT, "document": uploaded_file_id(&mock).await})).await;
    let edited = mock
        .ok("editMessageCaption", json!({"chat_id": CHAT, "message_id": photo["message_id"], "caption": "new"}))
        .await;
    assert_eq!(edited["caption"], "new");
    let messages = mock.get(&format!("/control/bots/{TOKEN}/chats/{CHAT}/messages")).await;
    let stored = messages.as_array().unwrap().iter().find(|m| m["message_id"] == photo["message_id"]).unwrap().clone();
    assert_eq!(stored["caption"], "new");

    // Links are links, and what a call names must exist.
    let link = mock.ok("createChatInviteLink", json!({"chat_id": CHAT, "name": "friends"})).await;
    assert!(link["invite_link"].as_str().unwrap().starts_with("https://t.me/+"), "{link}");
    assert_eq!((link["name"].as_str(), link["creator"]["is_bot"].as_bool()), (Some("friends"), Some(true)));
    for (method, params, says) in [
        ("pinChatMessage", json!({"chat_id": CHAT, "message_id": 999}), "message to pin not found"),
        (
            "forwardMessage",
            json!({"chat_id": CHAT, "from_chat_id": CHAT, "message_id": 999}),
            "message to forward not found",
        ),
        ("getChatMember", json!({"chat_id": CHAT, "user_id": 5555}), "user not found"),
    ] {
        let (status, body) = mock.call(method, params).await;
        assert_eq!(
            (status, body["description"].as_str()),
            (400, Some(format!("Bad Request: {says}").as_str())),
            "{method}"
        );
    }
}
