"""Echo, button, media, inline and block-aware bot on python-telegram-bot 22, written as the library's own
examples write it.

It echoes text, answers /menu with two buttons and edits the menu when one is pressed, answers a photo with a
document of the photo's downloaded bytes, answers an inline query with one article, and when a user blocks it
tries to say "bye" (and logs the Forbidden error) and says "welcome back" when they unblock it.

Used by mock-telegram's compatibility suite: only the API URL and the token differ from a bot that talks to
api.telegram.org. Environment: TELEGRAM_API_URL (the mock's root, e.g. http://127.0.0.1:8081),
TELEGRAM_BOT_TOKEN, and for webhook mode WEBHOOK_URL and WEBHOOK_PORT (polling when they are unset).
"""

import logging
import os
from urllib.parse import urlparse

from telegram import (
    ChatMember,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Update,
)
from telegram.error import Forbidden
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    ContextTypes,
    InlineQueryHandler,
    MessageHandler,
    filters,
)

WEBHOOK_SECRET = "tgload-compat-secret"

logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=logging.INFO)
logger = logging.getLogger(__name__)


async def menu(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Send a message with two inline buttons."""
    keyboard = [
        [
            InlineKeyboardButton("Option 1", callback_data="opt:1"),
            InlineKeyboardButton("Option 2", callback_data="opt:2"),
        ]
    ]
    await update.message.reply_text("Choose an option:", reply_markup=InlineKeyboardMarkup(keyboard))


async def button(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer the callback query, then edit the message the button belongs to."""
    query = update.callback_query
    # CallbackQueries need to be answered, even if no notification to the user is needed.
    await query.answer()
    choice = query.data.split(":", 1)[1]
    await query.edit_message_text(text=f"You chose {choice}")


async def echo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Echo the user message."""
    await update.message.reply_text(update.message.text)


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Download the largest size of the photo and send its bytes back as a new document."""
    photo_file = await update.message.photo[-1].get_file()
    data = await photo_file.download_as_bytearray()
    await update.message.reply_document(
        document=bytes(data), filename="photo.png", caption=f"got {len(data)} bytes"
    )


async def inline_query(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Answer an inline query with one article that sends the query back."""
    query = update.inline_query.query
    if not query:  # empty query should not be handled
        return
    results = [
        InlineQueryResultArticle(
            id="1",
            title=f"Echo: {query}",
            input_message_content=InputTextMessageContent(query),
        )
    ]
    await update.inline_query.answer(results)


async def track_block(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A user blocked the bot (it is "kicked" from their private chat) or unblocked it (a "member" again)."""
    change = update.my_chat_member
    old, new = change.old_chat_member.status, change.new_chat_member.status
    if new == ChatMember.BANNED:
        logger.info("%s blocked the bot", change.from_user.id)
        try:
            await context.bot.send_message(change.chat.id, "bye")
        except Forbidden as error:
            logger.info("could not say bye to %s: %s", change.from_user.id, error.message)
    elif new == ChatMember.MEMBER and old == ChatMember.BANNED:
        logger.info("%s unblocked the bot", change.from_user.id)
        await context.bot.send_message(change.chat.id, "welcome back")


def main() -> None:
    api_url = os.environ["TELEGRAM_API_URL"].rstrip("/")
    application = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
        .build()
    )

    application.add_handler(CommandHandler("menu", menu))
    application.add_handler(CallbackQueryHandler(button, pattern="^opt:"))
    application.add_handler(MessageHandler(filters.TEXT & ~filters.COMMAND, echo))
    application.add_handler(MessageHandler(filters.PHOTO, photo))
    application.add_handler(InlineQueryHandler(inline_query))
    application.add_handler(ChatMemberHandler(track_block, ChatMemberHandler.MY_CHAT_MEMBER))

    webhook_url = os.environ.get("WEBHOOK_URL")
    if webhook_url:
        application.run_webhook(
            listen="127.0.0.1",
            port=int(os.environ["WEBHOOK_PORT"]),
            url_path=urlparse(webhook_url).path.lstrip("/"),
            webhook_url=webhook_url,
            secret_token=WEBHOOK_SECRET,
            allowed_updates=Update.ALL_TYPES,
        )
    else:
        application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
