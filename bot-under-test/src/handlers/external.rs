//! `/quote` and `/ask`: the commands that call the external API.
//!
//! When the API fails or times out, the user gets a polite reply; the failure is counted and logged by the
//! client (`quotes`), so nothing here can take the bot down.

use teloxide::prelude::*;
use teloxide::types::ChatAction;

use super::{reply, Handled};
use crate::App;

const QUOTE_UNAVAILABLE: &str = "Sorry, the quote service is unavailable right now. Please try again later.";
const ASK_UNAVAILABLE: &str = "Sorry, the AI service did not answer in time. Please try again later.";

pub(super) async fn quote(bot: &Bot, msg: &Message, topic: &str, app: &App) -> Handled {
    match app.api.quote(topic).await {
        Ok(quote) => reply(bot, msg, quote.text).await,
        Err(_) => reply(bot, msg, QUOTE_UNAVAILABLE).await,
    }
}

/// Shows "typing…" first, as a bot does before a slow call, then answers.
pub(super) async fn ask(bot: &Bot, msg: &Message, question: &str, app: &App) -> Handled {
    if question.is_empty() {
        return reply(bot, msg, "Ask me something: /ask <question>").await;
    }
    bot.send_chat_action(msg.chat.id, ChatAction::Typing).await?;
    match app.api.ask(question).await {
        Ok(answer) => reply(bot, msg, answer).await,
        Err(_) => reply(bot, msg, ASK_UNAVAILABLE).await,
    }
}
