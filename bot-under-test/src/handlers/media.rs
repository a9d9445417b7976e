//! What users send besides text: a photo or a document is downloaded (getFile, then the file itself) and
//! answered with its size; a location is answered with where it is; an inline query is answered with an echo of
//! it; a user joining or leaving a group is greeted. A user who blocks or unblocks the bot, and a reaction, are only
//! logged: there is no one to answer.

use teloxide::net::Download;
use teloxide::prelude::*;
use teloxide::types::{
    ChatMemberUpdated, InlineQueryResult, InlineQueryResultArticle, InputMessageContent, InputMessageContentText,
};

use super::{reply, Handled};

/// Answers a message without text: a photo, a document, a location, or anything else with a hint.
pub(super) async fn answer(bot: &Bot, msg: &Message) -> Handled {
    let file = match (msg.photo().and_then(|sizes| sizes.last()), msg.document()) {
        (Some(photo), _) => Some((&photo.file, "photo")),
        (None, Some(document)) => Some((&document.file, "document")),
        (None, None) => None,
    };
    if let Some((file, what)) = file {
        return match download(bot, &file.id).await {
            Ok(bytes) => reply(bot, msg, format!("Got your {what}: {bytes} bytes.")).await,
            Err(error) => {
                tracing::warn!(%error, "cannot download the user's {what}");
                reply(bot, msg, format!("Sorry, I could not download your {what}.")).await
            }
        };
    }
    if let Some(users) = msg.new_chat_members() {
        let names: Vec<&str> = users.iter().map(|u| u.first_name.as_str()).collect();
        return reply(bot, msg, format!("Welcome, {}!", names.join(", "))).await;
    }
    if let Some(user) = msg.left_chat_member() {
        return reply(bot, msg, format!("Goodbye, {}.", user.first_name)).await;
    }
    if let Some(location) = msg.location() {
        let text = format!("You are at {:.4}, {:.4}.", location.latitude, location.longitude);
        return reply(bot, msg, text).await;
    }
    reply(bot, msg, "I understand text, photos, documents and locations.").await
}

/// Downloads a file the way a bot does it: getFile for its path, then the file route. Returns its size.
async fn download(bot: &Bot, file_id: &teloxide::types::FileId) -> Result<usize, String> {
    let file = bot.get_file(file_id.clone()).await.map_err(|e| e.to_string())?;
    let mut bytes = Vec::with_capacity(file.size as usize);
    bot.download_file(&file.path, &mut bytes).await.map_err(|e| e.to_string())?;
    Ok(bytes.len())
}

/// An inline query is answered with one article that echoes it.
pub(super) async fn inline(bot: &Bot, query: &InlineQuery) -> Handled {
    let text = if query.query.is_empty() { "(nothing yet)".to_owned() } else { query.query.clone() };
    let content = InputMessageContent::Text(InputMessageContentText::new(text.clone()));
    let article = InlineQueryResultArticle::new("echo", format!("Echo: {text}"), content);
    bot.answer_inline_query(query.id.clone(), [InlineQueryResult::Article(article)]).await?;
    Ok(())
}

pub(super) async fn reaction(reaction: &teloxide::types::MessageReactionUpdated) -> Handled {
    tracing::debug!(chat_id = reaction.chat.id.0, message_id = reaction.message_id.0, "reaction");
    Ok(())
}

/// A user blocked or unblocked the bot.
pub(super) async fn membership(update: &ChatMemberUpdated) -> Handled {
    let status = update.new_chat_member.kind.status();
    tracing::info!(chat_id = update.chat.id.0, ?status, "my membership changed");
    Ok(())
}
