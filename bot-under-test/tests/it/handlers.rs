//! Each handler end to end: a synthetic user acts through the control API and the bot's answer comes back.

use std::time::{Duration, Instant};

use anyhow::bail;
use serde_json::{json, Value};

use crate::support::{answer_text, Control, Rig, Setup, ANSWER_WAIT_MS};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_and_help() -> anyhow::Result<()> {
    let rig = Rig::start(Setup::default()).await?;
    let start = rig.control.act(1001, json!({"kind": "command", "command": "start"}), ANSWER_WAIT_MS).await?;
    assert_eq!(start["outcome"], "answered", "{start}");
    assert_eq!(answer_text(&start), "Hello, User1001! I echo what you write. Try /help.");
    let help = rig.control.answered(1001, "/help").await?;
    for command in ["/start", "/help", "/stats", "/quote", "/ask", "/menu", "/photo"] {
        assert!(answer_text(&help).contains(command), "{command} missing from {help}");
    }
    rig.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn plain_text_and_unknown_commands_are_echoed() -> anyhow::Result<()> {
    let rig = Rig::start(Setup::default()).await?;
    for text in ["hello there", "/nosuchcommand with args", "ünïcödé ✓"] {
        let response = rig.control.answered(1002, text).await?;
        assert_eq!(answer_text(&response), text);
        assert_eq!(response["answer"]["method"], "sendMessage");
    }
    let stats = rig.control.get("/stats").await?;
    assert_eq!(stats["actions"]["answered"], 3, "{stats}");
    assert_eq!(stats["unprompted"], 0, "{stats}");
    // No call was rejected, setMyCommands at start-up included.
    assert_eq!(stats["bot_errors"], json!({}), "{stats}");
    rig.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_counts_every_stored_message_per_user() -> anyhow::Result<()> {
    let rig = Rig::start(Setup::default()).await?;
    for text in ["one", "two", "/start"] {
        rig.control.answered(1003, text).await?;
    }
    rig.control.answered(1004, "someone else").await?;
    // The /stats message itself is stored before counting: 3 + 1.
    let stats = rig.control.answered(1003, "/stats").await?;
    assert!(answer_text(&stats).starts_with("You have sent me 4 messages."), "{stats}");
    let other = rig.control.answered(1004, "/stats").await?;
    assert!(answer_text(&other).starts_with("You have sent me 2 messages."), "{other}");
    let db_path = rig.db_path.clone();
    assert!(db_path.exists(), "no SQLite file at {}", db_path.display());
    rig.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edited_messages_are_answered() -> anyhow::Result<()> {
    let rig = Rig::start(Setup::default()).await?;
    let sent = rig.control.answered(1005, "first version").await?;
    let message_id = sent["message_id"].as_i64().expect("message id");
    let edit = json!({"kind": "edit", "message_id": message_id, "text": "second version"});
    let edited = rig.control.act(1005, edit, ANSWER_WAIT_MS).await?;
    assert_eq!(edited["outcome"], "answered", "{edited}");
    assert_eq!(answer_text(&edited), "You edited your message to: second version");
    rig.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn menu_buttons_answer_the_query_and_edit_the_message() -> anyhow::Result<()> {
    let rig = Rig::start(Setup::default()).await?;
    let menu = rig.control.answered(1006, "/menu").await?;
    assert_eq!(answer_text(&menu), "Choose an option:");
    let buttons = &menu["answer"]["reply_markup"]["inline_keyboard"][0];
    let data: Vec<&str> =
        buttons.as_array().expect("buttons").iter().filter_map(|b| b["callback_data"].as_str()).collect();
    assert_eq!(data, ["opt:1", "opt:2", "opt:3"]);

    let menu_id = menu["answer"]["message_id"].as_i64().expect("menu message id");
    let press = json!({"kind": "callback", "message_id": menu_id, "data": "opt:2"});
    let pressed = rig.control.act(1006, press, ANSWER_WAIT_MS).await?;
    assert_eq!(pressed["outcome"], "answered", "{pressed}");
    assert_eq!(pressed["answer"]["method"], "answerCallbackQuery");
    assert_eq!(answer_text(&pressed), "You chose 2");

    let edited = wait_for_message(&rig.control, 1006, menu_id, |m| m["text"] == "You chose 2.").await?;
    assert_eq!(edited["reply_markup"]["inline_keyboard"][0].as_array().map(Vec::len), Some(3), "{edited}");
    rig.stop().await?;
    Ok(())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn photo_uploads_a_generated_png() -> anyhow::Result<()> {
    let rig = Rig::start(Setup::default()).await?;
    let response = rig.control.answered(1007, "/photo").await?;
    assert_eq!(response["answer"]["method"], "sendPhoto", "{response}");
    let photo_id = response["answer"]["message_id"].as_i64().expect("photo message id");
    let message = wait_for_message(&rig.control, 1007, photo_id, |m| m["photo"].is_array()).await?;
    // The mock reads the size from the PNG header: the bot's image is 64×64.
    let largest = message["photo"].as_array().and_then(|sizes| sizes.last()).expect("photo sizes");
    assert_eq!((largest["width"].as_u64(), largest["height"].as_u64()), (Some(64), Some(64)), "{message}");
    assert_eq!(message["caption"], "A gradient, drawn in memory just now.");
    rig.stop().await?;
    Ok(())
}

/// Polls the chat's history until message `message_id` satisfies `done`.
async fn wait_for_message(
    control: &Control,
    chat_id: i64,
    message_id: i64,
    done: impl Fn(&Value) -> bool,
) -> anyhow::Result<Value> {
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let messages = control.get(&format!("/chats/{chat_id}/messages?limit=64")).await?;
        let found = messages.as_array().and_then(|all| all.iter().find(|m| m["message_id"] == message_id));
        if let Some(message) = found.filter(|m| done(m)) {
            return Ok(message.clone());
        }
        if Instant::now() > deadline {
            bail!("message {message_id} never got there: {messages}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
