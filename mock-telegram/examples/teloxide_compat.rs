//! An echo, button, media, inline and block-aware bot on teloxide 0.17, written the way teloxide's own examples
//! write it, for the compatibility suite in `tests/it/compat.rs`.
//!
//! It echoes text, answers `/menu` with two buttons and edits the menu when one is pressed, answers a photo with
//! a document of the photo's downloaded bytes (teloxide's `Download`), answers an inline query with one article,
//! and when a user blocks it tries to say "bye" (and logs the `BotBlocked` error) and says "welcome back" when
//! they unblock it. Polling asks for the update kinds the handler uses (teloxide hints `allowed_updates` from
//! it); the webhook registers none, so Telegram's default applies, which has inline queries and my_chat_member.
//!
//! It knows nothing of the mock: `Bot::from_env()` reads `TELOXIDE_TOKEN` and `TELOXIDE_API_URL`, exactly as a
//! production bot would. It long-polls by default and serves a webhook (`webhooks::axum`) when `WEBHOOK_URL` and
//! `WEBHOOK_PORT` are set. It is not a load target; `bot-under-test` is.

use std::net::{Ipv4Addr, SocketAddr};

use teloxide::{
    net::Download,
    prelude::*,
    types::{
        InlineKeyboardButton, InlineKeyboardMarkup, InlineQueryResult, InlineQueryResultArticle, InputFile,
        InputMessageContent, InputMessageContentText, PhotoSize,
    },
    update_listeners::webhooks,
    utils::command::BotCommands,
    ApiError, RequestError,
};

type HandlerResult = Result<(), Box<dyn std::error::Error + Send + Sync>>;

const WEBHOOK_SECRET: &str = "tgload-compat-secret";

#[derive(BotCommands, Clone)]
#[command(rename_rule = "lowercase")]
enum Command {
    /// Show two buttons.
    Menu,
}

#[tokio::main]
async fn main() {
    // teloxide reports listener and handler errors through `log`; without a logger they would vanish, and the
    // suite shows the tail of this process's stderr when a case fails.
    log::set_logger(&StderrLogger).expect("no other logger is installed");
    log::set_max_level(log::LevelFilter::Info);

    let bot = Bot::from_env();
    let handler = dptree::entry()
        .branch(
            Update::filter_message()
                .branch(dptree::entry().filter_command::<Command>().endpoint(menu))
                .branch(Message::filter_photo().endpoint(photo))
                .branch(dptree::endpoint(echo)),
        )
        .branch(Update::filter_callback_query().endpoint(button))
        .branch(Update::filter_inline_query().endpoint(inline_query))
        .branch(Update::filter_my_chat_member().endpoint(block));
    let mut dispatcher = Dispatcher::builder(bot.clone(), handler).enable_ctrlc_handler().build();

    match webhook_options() {
        Some(options) => {
            let listener = webhooks::axum(bot, options).await.expect("couldn't set up the webhook");
            let error_handler = LoggingErrorHandler::with_custom_text("an error from the update listener");
            dispatcher.dispatch_with_listener(listener, error_handler).await;
        }
        None => dispatcher.dispatch().await,
    }
}

/// Webhook options from `WEBHOOK_URL` and `WEBHOOK_PORT`, or `None` for long polling.
fn webhook_options() -> Option<webhooks::Options> {
    let url = std::env::var("WEBHOOK_URL").ok()?;
    let port: u16 = std::env::var("WEBHOOK_PORT").ok()?.parse().expect("WEBHOOK_PORT is a port number");
    let address = SocketAddr::from((Ipv4Addr::LOCALHOST, port));
    let url = url.parse().expect("WEBHOOK_URL is a URL");
    Some(webhooks::Options::new(address, url).secret_token(WEBHOOK_SECRET.to_owned()))
}

async fn menu(bot: Bot, msg: Message) -> HandlerResult {
    let keyboard = InlineKeyboardMarkup::new([[
        InlineKeyboardButton::callback("Option 1", "opt:1"),
        InlineKeyboardButton::callback("Option 2", "opt:2"),
    ]]);
    bot.send_message(msg.chat.id, "Choose an option:").reply_markup(keyboard).await?;
    Ok(())
}

async fn echo(bot: Bot, msg: Message) -> HandlerResult {
    if let Some(text) = msg.text() {
        bot.send_message(msg.chat.id, text).await?;
    }
    Ok(())
}

async fn button(bot: Bot, q: CallbackQuery) -> HandlerResult {
    // Answer first: clients show a spinner until the query is answered.
    bot.answer_callback_query(q.id.clone()).await?;
    let choice = q.data.as_deref().and_then(|data| data.strip_prefix("opt:"));
    if let (Some(choice), Some(message)) = (choice, q.regular_message()) {
        bot.edit_message_text(message.chat.id, message.id, format!("You chose {choice}")).await?;
    }
    Ok(())
}

/// Downloads the largest size of the photo and sends its bytes back as a new document.
async fn photo(bot: Bot, msg: Message, sizes: Vec<PhotoSize>) -> HandlerResult {
    let Some(largest) = sizes.last() else { return Ok(()) };
    let file = bot.get_file(largest.file.id.clone()).await?;
    let mut data = Vec::new();
    bot.download_file(&file.path, &mut data).await?;
    let caption = format!("got {} bytes", data.len());
    bot.send_document(msg.chat.id, InputFile::memory(data).file_name("photo.png")).caption(caption).await?;
    Ok(())
}

/// Answers an inline query with one article that sends the query back.
async fn inline_query(bot: Bot, q: InlineQuery) -> HandlerResult {
    let article = InlineQueryResultArticle::new(
        "1",
        format!("Echo: {}", q.query),
        InputMessageContent::Text(InputMessageContentText::new(q.query.clone())),
    );
    bot.answer_inline_query(q.id, vec![InlineQueryResult::Article(article)]).await?;
    Ok(())
}

/// A user blocked the bot (it is "kicked" from their private chat) or unblocked it (a member again).
async fn block(bot: Bot, update: ChatMemberUpdated) -> HandlerResult {
    if update.new_chat_member.is_banned() {
        log::info!("{} blocked the bot", update.from.id);
        match bot.send_message(update.chat.id, "bye").await {
            Ok(_) => {}
            Err(RequestError::Api(error @ ApiError::BotBlocked)) => {
                log::info!("could not say bye to {}: {error}", update.from.id);
            }
            Err(error) => return Err(error.into()),
        }
    } else if update.old_chat_member.is_banned() && update.new_chat_member.is_member() {
        log::info!("{} unblocked the bot", update.from.id);
        bot.send_message(update.chat.id, "welcome back").await?;
    }
    Ok(())
}

/// The smallest `log` backend: one line per record on stderr.
struct StderrLogger;

impl log::Log for StderrLogger {
    fn enabled(&self, metadata: &log::Metadata<'_>) -> bool {
        metadata.level() <= log::Level::Info
    }

    fn log(&self, record: &log::Record<'_>) {
        if self.enabled(record.metadata()) {
            eprintln!("{} {}: {}", record.level(), record.target(), record.args());
        }
    }

    fn flush(&self) {}
}
