//! Text messages: storing them, echoing them, and the commands that need nothing but the bot and its database.
//!
//! The commands that call the external API live in `external`, the inline keyboard in `menu`, messages without
//! text (photos, documents, locations) in `media`.

use teloxide::prelude::*;
use teloxide::types::{InputFile, Me, ReplyParameters};
use teloxide::utils::command::BotCommands;

use super::{external, media, menu, reply, Command, Handled};
use crate::db::StoredMessage;
use crate::{png, App};

/// The side of the square picture `/photo` sends, in pixels.
const PHOTO_SIZE: u32 = 64;

/// Stores a message, then answers it: a command, or an echo of plain text.
pub(super) async fn answer(bot: &Bot, msg: &Message, me: &Me, app: &App) -> Handled {
    let Some(text) = msg.text() else {
        return media::answer(bot, msg).await;
    };
    store(app, msg, text).await;
    match Command::parse(text, me.username()) {
        Ok(command) => run(bot, msg, command, app).await,
        // Unknown commands are echoed like any other text.
        Err(_) => reply(bot, msg, text).await,
    }
}

async fn run(bot: &Bot, msg: &Message, command: Command, app: &App) -> Handled {
    match command {
        Command::Start => {
            let name = msg.from.as_ref().map_or("there", |user| user.first_name.as_str());
            reply(bot, msg, format!("Hello, {name}! I echo what you write. Try /help.")).await
        }
        Command::Help => reply(bot, msg, Command::descriptions().to_string()).await,
        Command::Stats => stats(bot, msg, app).await,
        Command::Quote(topic) => external::quote(bot, msg, topic.trim(), app).await,
        Command::Ask(question) => external::ask(bot, msg, question.trim(), app).await,
        Command::Menu => menu::show(bot, msg).await,
        Command::Photo => photo(bot, msg).await,
        Command::Stream => stream(bot, msg).await,
    }
}

/// Every message is stored; a failure is logged and the message still answered, as a bot in the field would.
async fn store(app: &App, msg: &Message, text: &str) {
    let stored = StoredMessage { user_id: user_id(msg), chat_id: msg.chat.id.0, text, date: msg.date.timestamp() };
    if let Err(error) = app.db.store(&stored).await {
        tracing::warn!(%error, chat_id = stored.chat_id, "cannot store message");
    }
}

async fn stats(bot: &Bot, msg: &Message, app: &App) -> Handled {
    let count = match app.db.count_by_user(user_id(msg)).await {
        Ok(count) => count,
        Err(error) => {
            tracing::warn!(%error, "cannot count messages");
            return reply(bot, msg, "Sorry, I cannot count your messages right now.").await;
        }
    };
    let cache = app.api.cache_stats();
    let text = format!(
        "You have sent me {count} messages.\nQuote cache: {} hits, {} misses ({:.0}% hit ratio).\n\
         External API failures: {}.",
        cache.hits,
        cache.misses,
        cache.hit_ratio() * 100.0,
        app.api.failures(),
    );
    reply(bot, msg, text).await
}

async fn photo(bot: &Bot, msg: &Message) -> Handled {
    let image = png::gradient(PHOTO_SIZE);
    bot.send_photo(msg.chat.id, InputFile::memory(image).file_name("gradient.png"))
        .caption("A gradient, drawn in memory just now.")
        .reply_parameters(ReplyParameters::new(msg.id))
        .await?;
    Ok(())
}

/// How many edits a streamed answer takes, and how far apart: its last edit comes about 500 ms after its first
/// message (the known timing the harness's time-to-last-edit is checked against).
pub(crate) const STREAM_EDITS: u32 = 5;
pub(crate) const STREAM_EDIT_EVERY: std::time::Duration = std::time::Duration::from_millis(100);

/// Streams an answer as AI bots do: a first message, then edits that grow it.
async fn stream(bot: &Bot, msg: &Message) -> Handled {
    let words = ["Streaming", "an", "answer", "word", "by", "word."];
    let first = bot.send_message(msg.chat.id, words[0]).reply_parameters(ReplyParameters::new(msg.id)).await?;
    for n in 1..=STREAM_EDITS as usize {
        tokio::time::sleep(STREAM_EDIT_EVERY).await;
        bot.edit_message_text(msg.chat.id, first.id, words[..=n.min(words.len() - 1)].join(" ")).await?;
    }
    Ok(())
}

/// The sender's id; messages without a sender (channel posts) count for their chat.
fn user_id(msg: &Message) -> i64 {
    msg.from.as_ref().map_or(msg.chat.id.0, |user| user.id.0 as i64)
}
