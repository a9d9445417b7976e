"""Echo and button bot on python-telegram-bot 22, written as the library's own examples write it.

Used by mock-telegram's compatibility suite: only the API URL and the token differ from a bot that talks to
api.telegram.org. Environment: TELEGRAM_API_URL (the mock's root, e.g. http://127.0.0.1:8081),
TELEGRAM_BOT_TOKEN, and for webhook mode WEBHOOK_URL and WEBHOOK_PORT (polling when they are unset).
"""

import logging
import os
from urllib.parse import urlparse

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

WEBHOOK_SECRET = "tgload-compat-secret"

logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=logging.INFO)


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
