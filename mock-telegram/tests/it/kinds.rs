//! Every kind of user action through the real server: the update the bot gets (by getUpdates), the answer that
//! completes it, and the state it leaves (files to download, blocks, members, payments).

use serde_json::{json, Value};
use tokio::task::JoinHandle;

use crate::support::{start, Mock, TOKEN};

const USER: i64 = 77;

/// Posts an action that waits up to 5 s for its answer, in the background.
fn act(mock: &Mock, chat_id: i64, action: Value) -> JoinHandle<(u16, Value)> {
    let url = format!("{}/control/bots/{TOKEN}/actions", mock.url);
    let body = json!({"chat_id": chat_id, "from": USER, "action": action, "wait_ms": 5000});
    let http = mock.http.clone();
    tokio::spawn(async move {
        let response = http.post(url).json(&body).send().await.unwrap();
        (response.status().as_u16(), response.json().await.unwrap())
    })
}

/// The next updates, confirming them.
async fn updates(mock: &Mock, allowed: Option<Value>) -> Vec<Value> {
    let mut params = json!({"timeout": 2});
    if let Some(allowed) = allowed {
        params["allowed_updates"] = allowed;
    }
    let updates = mock.ok("getUpdates", params).await;
    let updates = updates.as_array().cloned().unwrap_or_default();
    if let Some(last) = updates.last() {
        mock.ok("getUpdates", json!({"offset": last["update_id"].as_i64().unwrap() + 1, "timeout": 0})).await;
    }
    updates
}

#[tokio::test]
async fn a_photo_downloads_at_its_size_and_the_bots_document_answers_it() {
    let mock = start().await;
    let pending = act(&mock, USER, json!({"kind": "photo", "size": "20KB", "caption": "look"}));
    let update = updates(&mock, None).await.remove(0);
    let message = &update["message"];
    assert_eq!(message["caption"], "look");
    let photo = message["photo"].as_array().unwrap().last().unwrap().clone();
    let file = mock.ok("getFile", json!({"file_id": photo["file_id"]})).await;
    assert_eq!(file["file_size"], 20 * 1024);
    let path = file["file_path"].as_str().unwrap();
    let bytes = mock.http.get(format!("{}/file/bot{TOKEN}/{path}", mock.url)).send().await.unwrap();
    let bytes = bytes.bytes().await.unwrap();
    assert_eq!((bytes.len(), &bytes[1..4]), (20 * 1024, &b"PNG"[..]));
    mock.ok("sendDocument", json!({"chat_id": USER, "document": photo["file_id"]})).await;
    let (status, reply) = pending.await.unwrap();
    assert_eq!(
        (status, reply["outcome"].as_str(), reply["answer"]["method"].as_str()),
        (200, Some("answered"), Some("sendDocument"))
    );

    for (kind, field) in [("voice", "voice"), ("video", "video"), ("sticker", "sticker"), ("document", "document")] {
        act(&mock, USER, json!({"kind": kind}));
        let update = updates(&mock, None).await.remove(0);
        let file_id = update["message"][field]["file_id"].clone();
        assert!(file_id.is_string(), "{kind}: {update}");
        assert_eq!(mock_telegram::spec::check("Message", &update["message"]), Ok(()), "{update}");
        mock.ok("getFile", json!({"file_id": file_id})).await;
    }
}

#[tokio::test]
async fn an_inline_query_is_answered_by_answer_inline_query_only() {
    let mock = start().await;
    let pending = act(&mock, USER, json!({"kind": "inline_query", "query": "cats"}));
    let update = updates(&mock, None).await.remove(0);
    let query = &update["inline_query"];
    assert_eq!((query["query"].as_str(), query["from"]["id"].as_i64()), (Some("cats"), Some(USER)));
    mock.ok("sendMessage", json!({"chat_id": USER, "text": "not an answer to the query"})).await;
    let results =
        json!([{"type": "article", "id": "1", "title": "Cat", "input_message_content": {"message_text": "cat"}}]);
    mock.ok("answerInlineQuery", json!({"inline_query_id": query["id"], "results": results})).await;
    let (_, reply) = pending.await.unwrap();
    assert_eq!(
        (reply["answer"]["method"].as_str(), reply["answer"]["results"].as_u64()),
        (Some("answerInlineQuery"), Some(1))
    );
    let (status, body) = mock.call("answerInlineQuery", json!({"inline_query_id": query["id"], "results": []})).await;
    assert_eq!(status, 400, "a query is answered once: {body}");
}

#[tokio::test]
async fn a_blocked_user_gets_nothing_and_writing_again_unblocks() {
    let mock = start().await;
    mock.user_says(USER, "hi").await;
    updates(&mock, None).await;
    let blocked = act(&mock, USER, json!({"kind": "block"}));
    let update = updates(&mock, None).await.remove(0);
    assert_eq!(update["my_chat_member"]["new_chat_member"]["status"], "kicked", "{update}");
    assert_eq!(blocked.await.unwrap().1["outcome"], "delivered");
    let pending = act(&mock, USER, json!({"kind": "reaction", "message_id": 1}));
    let (status, body) = mock.call("sendMessage", json!({"chat_id": USER, "text": "come back"})).await;
    assert_eq!((status, body["description"].as_str()), (403, Some("Forbidden: bot was blocked by the user")));
    // A reaction is filtered unless asked for.
    assert_eq!(pending.await.unwrap().1["outcome"], "filtered");

    act(&mock, USER, json!({"kind": "text", "text": "I'm back"}));
    let both = updates(&mock, None).await;
    assert_eq!(both[0]["my_chat_member"]["new_chat_member"]["status"], "member", "{both:?}");
    assert_eq!(both[1]["message"]["text"], "I'm back");
    mock.ok("sendMessage", json!({"chat_id": USER, "text": "welcome back"})).await;
}

#[tokio::test]
async fn notifications_are_done_when_delivered() {
    let mock = start().await;
    mock.ok("getUpdates", json!({"allowed_updates": ["message", "message_reaction", "poll_answer"], "timeout": 0}))
        .await;
    let (status, body) = act(&mock, USER, json!({"kind": "poll_answer"})).await.unwrap();
    assert_eq!(status, 409, "no poll to answer yet: {body}");
    mock.user_says(USER, "poll me").await;
    updates(&mock, None).await;
    let poll =
        mock.ok("sendPoll", json!({"chat_id": USER, "question": "?", "options": [{"text": "a"}, {"text": "b"}]})).await;
    let pending = act(&mock, USER, json!({"kind": "poll_answer", "option_ids": [1]}));
    let update = updates(&mock, None).await.remove(0);
    assert_eq!(update["poll_answer"]["poll_id"], poll["poll"]["id"], "{update}");
    let (_, reply) = pending.await.unwrap();
    assert_eq!(reply["outcome"], "delivered", "{reply}");
    assert!(reply["timings_us"]["delivered"].is_u64() && reply["timings_us"]["answered"].is_null(), "{reply}");

    let pending = act(&mock, USER, json!({"kind": "reaction", "emoji": "🔥"}));
    let got = updates(&mock, None).await;
    assert!(!got.is_empty(), "{:?}", pending.await.unwrap());
    let update = got[0].clone();
    let reaction = &update["message_reaction"];
    assert_eq!(
        (reaction["message_id"].clone(), reaction["new_reaction"][0]["emoji"].as_str()),
        (poll["message_id"].clone(), Some("🔥"))
    );
    assert_eq!(pending.await.unwrap().1["outcome"], "delivered");
    let stats = mock.get(&format!("/control/bots/{TOKEN}/stats")).await;
    assert_eq!(stats["actions"]["notified"], 2, "{stats}");
}

#[tokio::test]
async fn joins_leaves_and_join_requests_in_groups() {
    let mock = start().await;
    let (_, group) = mock.control("chats", json!({"type": "group", "title": "g", "members": [{"id": USER}]})).await;
    let group = group["chat_id"].as_i64().unwrap();
    let (status, _) = act(&mock, USER, json!({"kind": "join"})).await.unwrap();
    assert_eq!(status, 409, "a join needs a group");
    let pending = act(&mock, group, json!({"kind": "join"}));
    let got = updates(&mock, Some(json!(["message", "chat_member", "chat_join_request"]))).await;
    assert_eq!(got[0]["message"]["new_chat_members"][0]["id"], USER, "{got:?}");
    assert_eq!(got[1]["chat_member"]["new_chat_member"]["status"], "member", "{got:?}");
    mock.ok("sendMessage", json!({"chat_id": group, "text": "welcome!"})).await;
    assert_eq!(pending.await.unwrap().1["outcome"], "answered");
    let member = mock.ok("getChatMember", json!({"chat_id": group, "user_id": USER})).await;
    assert_eq!(member["status"], "member", "{member}");

    act(&mock, group, json!({"kind": "leave"}));
    let got = updates(&mock, None).await;
    assert_eq!(got[0]["message"]["left_chat_member"]["id"], USER, "{got:?}");
    let member = mock.ok("getChatMember", json!({"chat_id": group, "user_id": USER})).await;
    assert_eq!(member["status"], "left", "{member}");

    let pending = act(&mock, group, json!({"kind": "join_request"}));
    let got = updates(&mock, None).await;
    assert_eq!(got[0]["chat_join_request"]["from"]["id"], USER, "{got:?}");
    mock.ok("approveChatJoinRequest", json!({"chat_id": group, "user_id": USER})).await;
    let (_, reply) = pending.await.unwrap();
    assert_eq!(reply["answer"]["method"], "approveChatJoinRequest", "{reply}");
}

#[tokio::test]
async fn a_payment_goes_through_when_the_bot_says_ok() {
    let mock = start().await;
    mock.user_says(USER, "buy").await;
    updates(&mock, None).await;
    let prices = json!([{"label": "star", "amount": 250}]);
    mock.ok(
        "sendInvoice",
        json!({"chat_id": USER, "title": "t", "description": "d", "payload": "p", "currency": "XTR", "prices": prices}),
    )
    .await;
    let pending = act(&mock, USER, json!({"kind": "pre_checkout", "payload": "order-1"}));
    let query = updates(&mock, None).await.remove(0)["pre_checkout_query"].clone();
    assert_eq!(
        (query["currency"].as_str(), query["invoice_payload"].as_str()),
        (Some("XTR"), Some("order-1")),
        "{query}"
    );
    mock.ok("answerPreCheckoutQuery", json!({"pre_checkout_query_id": query["id"], "ok": true})).await;
    assert_eq!(pending.await.unwrap().1["answer"]["ok"], true);
    let paid = updates(&mock, None).await.remove(0);
    let payment = &paid["message"]["successful_payment"];
    assert_eq!(
        (payment["invoice_payload"].as_str(), payment["total_amount"].clone()),
        (Some("order-1"), query["total_amount"].clone()),
        "{paid}"
    );

    let pending = act(&mock, USER, json!({"kind": "shipping_query"}));
    let query = updates(&mock, None).await.remove(0)["shipping_query"].clone();
    let options = json!([{"id": "post", "title": "Post", "prices": [{"label": "post", "amount": 10}]}]);
    mock.ok("answerShippingQuery", json!({"shipping_query_id": query["id"], "ok": true, "shipping_options": options}))
        .await;
    assert_eq!(pending.await.unwrap().1["answer"]["method"], "answerShippingQuery");
}

#[tokio::test]
async fn messages_of_every_other_kind_are_answered_by_the_chat() {
    let mock = start().await;
    mock.user_says(USER, "hi").await;
    updates(&mock, None).await;
    let mut bot_message = mock.ok("sendMessage", json!({"chat_id": USER, "text": "the bot's"})).await;
    for (action, field) in [
        (json!({"kind": "location"}), "location"),
        (json!({"kind": "contact"}), "contact"),
        (json!({"kind": "forward", "text": "fwd"}), "forward_origin"),
        (json!({"kind": "reply", "text": "re"}), "reply_to_message"),
    ] {
        let pending = act(&mock, USER, action.clone());
        let update = updates(&mock, None).await.remove(0);
        assert!(update["message"][field].is_object(), "{action}: {update}");
        assert_eq!(mock_telegram::spec::check("Message", &update["message"]), Ok(()), "{update}");
        if field == "reply_to_message" {
            assert_eq!(update["message"][field]["message_id"], bot_message["message_id"]);
        }
        bot_message = mock.ok("sendMessage", json!({"chat_id": USER, "text": "ok"})).await;
        assert_eq!(pending.await.unwrap().1["outcome"], "answered", "{action}");
    }
}

#[tokio::test]
async fn an_album_answers_once_with_all_its_messages() {
    let mock = start().await;
    let pending = act(&mock, USER, json!({"kind": "photo"}));
    let file_id = updates(&mock, None).await[0]["message"]["photo"][0]["file_id"].clone();
    let media = json!([{"type": "photo", "media": file_id, "caption": "one"}, {"type": "video", "media": file_id}]);
    let album = mock.ok("sendMediaGroup", json!({"chat_id": USER, "media": media})).await;
    let album = album.as_array().unwrap();
    assert_eq!(album.len(), 2);
    assert_eq!(album[0]["media_group_id"], album[1]["media_group_id"]);
    assert!(album[1]["video"]["file_id"].is_string(), "{album:?}");
    let (_, reply) = pending.await.unwrap();
    assert_eq!(reply["answer"]["message_id"], album[0]["message_id"]);
    let stats = mock.get(&format!("/control/bots/{TOKEN}/stats")).await;
    assert_eq!((stats["actions"]["answered"].clone(), stats["unprompted"].clone()), (json!(1), json!(0)), "{stats}");
}

#[tokio::test]
async fn bad_actions_say_what_is_wrong() {
    let mock = start().await;
    for (action, says) in [
        (json!({"kind": "photo", "size": "2GB"}), "unknown unit"),
        (json!({"kind": "photo", "size": "30MB"}), "20MB"),
        (json!({"kind": "photo", "colour": "red"}), "unknown field `colour`"),
        (json!({"kind": "selfie"}), "unknown variant `selfie`"),
    ] {
        let (status, body) = act(&mock, USER, action.clone()).await.unwrap();
        let error = body["error"].as_str().unwrap_or_default();
        assert!(status == 400 && error.contains(says), "{action}: {status} {body}");
    }
    // What cannot apply now is a 409, for a load generator to pick something else.
    for (action, says) in [
        (json!({"kind": "reply", "text": "x"}), "no message in chat"),
        (json!({"kind": "unblock"}), "has not blocked"),
        (json!({"kind": "leave"}), "needs a group chat"),
    ] {
        let (status, body) = act(&mock, USER, action.clone()).await.unwrap();
        let error = body["error"].as_str().unwrap_or_default();
        assert!(status == 409 && error.contains(says), "{action}: {status} {body}");
    }
}

#[tokio::test]
async fn a_multi_message_or_streamed_answer_is_collected_whole() {
    let mock = start().await;
    let collect = |collect: Value| {
        let url = format!("{}/control/bots/{TOKEN}/actions", mock.url);
        let body =
            json!({"chat_id": USER, "action": {"kind": "text", "text": "hi"}, "wait_ms": 3000, "collect": collect});
        let http = mock.http.clone();
        tokio::spawn(async move { http.post(url).json(&body).send().await.unwrap().json::<Value>().await.unwrap() })
    };
    // Two messages: the answer is both.
    let pending = collect(json!({"messages": 2}));
    updates(&mock, None).await;
    mock.ok("sendMessage", json!({"chat_id": USER, "text": "one"})).await;
    mock.ok("sendMessage", json!({"chat_id": USER, "text": "two"})).await;
    let reply = pending.await.unwrap();
    assert_eq!((reply["messages"].as_u64(), reply["answers"][1]["text"].as_str()), (Some(2), Some("two")), "{reply}");
    assert_eq!(mock.get(&format!("/control/bots/{TOKEN}/stats")).await["unprompted"], 1);

    // A message streamed by edits: collected until the bot has been quiet, timed to the last edit.
    let pending = collect(json!({"quiet_ms": 300}));
    updates(&mock, None).await;
    let sent = mock.ok("sendMessage", json!({"chat_id": USER, "text": "th"})).await;
    for text in ["thin", "thinking", "thinking done"] {
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
        mock.ok("editMessageText", json!({"chat_id": USER, "message_id": sent["message_id"], "text": text})).await;
    }
    let reply = pending.await.unwrap();
    let (first, last) =
        (reply["timings_us"]["answered"].as_u64().unwrap(), reply["last_answered_us"].as_u64().unwrap());
    assert_eq!((reply["messages"].as_u64(), reply["answers"].as_array().map(Vec::len)), (Some(1), Some(4)), "{reply}");
    assert_eq!(reply["answers"][3]["text"], "thinking done");
    assert!((250_000..1_500_000).contains(&(last - first)), "three edits 100 ms apart: {}", last - first);
}
