//! `/menu` and its inline keyboard: pressing a button answers the callback query and edits the menu message.

use teloxide::prelude::*;
use teloxide::types::{InlineKeyboardButton, InlineKeyboardMarkup, ReplyParameters};

use super::Handled;

/// The prefix of the buttons' callback data: `opt:1`, `opt:2`, `opt:3`.
const PREFIX: &str = "opt:";

pub(super) async fn show(bot: &Bot, msg: &Message) -> Handled {
    bot.send_message(msg.chat.id, "Choose an option:")
        .reply_markup(keyboard())
        .reply_parameters(ReplyParameters::new(msg.id))
        .await?;
    Ok(())
}

/// Answers the query first (so the client's spinner stops), then edits the menu to show the choice, keeping
/// the keyboard so the user can choose again.
pub(super) async fn on_press(bot: &Bot, query: &CallbackQuery) -> Handled {
    let choice = query.data.as_deref().and_then(|data| data.strip_prefix(PREFIX)).unwrap_or("nothing");
    bot.answer_callback_query(query.id.clone()).text(format!("You chose {choice}")).await?;
    if let Some(message) = query.regular_message() {
        bot.edit_message_text(message.chat.id, message.id, format!("You chose {choice}."))
            .reply_markup(keyboard())
            .await?;
    }
    Ok(())
}

fn keyboard() -> InlineKeyboardMarkup {
    let row = (1..=3).map(|n| InlineKeyboardButton::callback(n.to_string(), format!("{PREFIX}{n}")));
    InlineKeyboardMarkup::new([row.collect::<Vec<_>>()])
}
