//! The bot's update handlers, one file per kind of work, and the dispatch tree that routes to them.
//!
//! Every update goes through the fault gate in [`guarded`] before its handler runs, so the faults apply to all
//! handlers alike. Handlers log their own failures and never return them: a failed answer is the harness's
//! business to see (as a timeout), not a reason to stop the bot.

mod commands;
mod external;
mod media;
mod menu;

use std::future::Future;
use std::sync::Arc;

use teloxide::dispatching::UpdateHandler;
use teloxide::prelude::*;
use teloxide::types::{ChatMemberUpdated, Me, ReplyParameters};
use teloxide::utils::command::BotCommands;

use crate::faults::Admission;
use crate::{App, Error};

pub(crate) type Handled = Result<(), Error>;

/// The commands the bot understands; their descriptions are what `/help` and setMyCommands show.
#[derive(BotCommands, Clone, Debug, PartialEq, Eq)]
#[command(rename_rule = "lowercase", description = "I am tgload's bot under test. Commands:")]
pub(crate) enum Command {
    #[command(description = "say hello")]
    Start,
    #[command(description = "show this help")]
    Help,
    #[command(description = "how many messages you have sent me")]
    Stats,
    #[command(description = "a quote from the external API, on a topic if you give one (cached per topic)")]
    Quote(String),
    #[command(description = "ask the slow AI service a question")]
    Ask(String),
    #[command(description = "an inline keyboard")]
    Menu,
    #[command(description = "a picture drawn just for you")]
    Photo,
    #[command(description = "an answer streamed by editing one message, as AI bots do")]
    Stream,
}

/// The dispatch tree: messages, edited messages, button presses, inline queries, reactions and the bot's own
/// membership (blocks); every other update is ignored.
pub(crate) fn schema() -> UpdateHandler<Error> {
    dptree::entry()
        .branch(Update::filter_message().endpoint(on_message))
        .branch(Update::filter_edited_message().endpoint(on_edit))
        .branch(Update::filter_callback_query().endpoint(on_callback))
        .branch(Update::filter_inline_query().endpoint(on_inline))
        .branch(Update::filter_my_chat_member().endpoint(on_membership))
        .branch(Update::filter_message_reaction_updated().endpoint(on_reaction))
}

async fn on_message(bot: Bot, msg: Message, me: Me, app: Arc<App>) -> Handled {
    let (bot, msg, app_ref) = (&bot, &msg, &app);
    guarded(&app, |n| async move {
        match app_ref.faults.answers_wrongly(n) {
            true => reply(bot, msg, crate::faults::WRONG_ANSWER).await,
            false => commands::answer(bot, msg, &me, app_ref).await,
        }
    })
    .await
}

async fn on_edit(bot: Bot, msg: Message, app: Arc<App>) -> Handled {
    let text = format!("You edited your message to: {}", msg.text().unwrap_or("(no text)"));
    guarded(&app, |_| reply(&bot, &msg, text)).await
}

async fn on_callback(bot: Bot, query: CallbackQuery, app: Arc<App>) -> Handled {
    guarded(&app, |_| menu::on_press(&bot, &query)).await
}

async fn on_inline(bot: Bot, query: InlineQuery, app: Arc<App>) -> Handled {
    guarded(&app, |_| media::inline(&bot, &query)).await
}

async fn on_membership(update: ChatMemberUpdated, app: Arc<App>) -> Handled {
    guarded(&app, |_| media::membership(&update)).await
}

async fn on_reaction(reaction: teloxide::types::MessageReactionUpdated, app: Arc<App>) -> Handled {
    guarded(&app, |_| media::reaction(&reaction)).await
}

/// Runs `answer` for one update (`n`, counted over all chats), under the faults: it may be dropped, delayed,
/// blocked, be answered wrongly, or be the last one.
async fn guarded<F: Future<Output = Handled>>(app: &App, answer: impl FnOnce(u64) -> F) -> Handled {
    let n = match app.faults.admit() {
        Admission::Handle { n } => n,
        Admission::Drop { .. } => return Ok(()),
    };
    app.faults.before_answer().await;
    if let Err(error) = answer(n).await {
        tracing::warn!(update = n, %error, "handler failed");
    }
    app.faults.finish(n);
    Ok(())
}

/// Sends `text` as a reply to `msg`. Replying, rather than just sending to the chat, names the message answered,
/// so whoever watches the chat can tell the answers apart even after an earlier message went unanswered.
pub(crate) async fn reply(bot: &Bot, msg: &Message, text: impl Into<String>) -> Handled {
    bot.send_message(msg.chat.id, text).reply_parameters(ReplyParameters::new(msg.id)).await?;
    Ok(())
}
