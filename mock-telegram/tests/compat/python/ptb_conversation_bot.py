"""A sign-up conversation on python-telegram-bot 22's ConversationHandler, written as the library's own
conversationbot and inlinekeyboard examples write it.

/start asks for the user's name (NAME), the name is greeted and the city asked for (CITY), the city is summed up
with a question and two inline buttons (CONFIRM): "Yes" answers the callback query and edits the question into a
confirmation with a registration number (a counter shared by all users), "No" into a refusal; either ends the
conversation. /cancel leaves it at any point, and /start starts it over.

Used by tgload's end-to-end tests (harness/tests/it/conversations.rs): only the API URL and the token differ from
a bot that talks to api.telegram.org. Environment: TELEGRAM_API_URL (the mock's root, e.g.
http://127.0.0.1:8081) and TELEGRAM_BOT_TOKEN. It polls.
"""

import logging
import os

from telegram import InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.ext import (
    Application,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    ConversationHandler,
    MessageHandler,
    filters,
)

logging.basicConfig(format="%(asctime)s %(name)s %(levelname)s %(message)s", level=logging.INFO)
# set higher logging level for httpx to avoid all GET and POST requests being logged
logging.getLogger("httpx").setLevel(logging.WARNING)
logger = logging.getLogger(__name__)

NAME, CITY, CONFIRM = range(3)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Starts the conversation and asks the user for their name."""
    await update.message.reply_text("What is your name?")
    return NAME


async def name(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Stores the name and asks for the city."""
    context.user_data["name"] = update.message.text
    await update.message.reply_text(f"Nice to meet you, {update.message.text}! Which city do you live in?")
    return CITY


async def city(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Stores the city and asks the user to confirm."""
    context.user_data["city"] = update.message.text
    keyboard = [
        [
            InlineKeyboardButton("Yes", callback_data="yes"),
            InlineKeyboardButton("No", callback_data="no"),
        ]
    ]
    await update.message.reply_text(
        f"{context.user_data['name']} from {update.message.text}. Confirm?",
        reply_markup=InlineKeyboardMarkup(keyboard),
    )
    return CONFIRM


async def confirm(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Registers the user and says so in the message that asked."""
    query = update.callback_query
    # CallbackQueries need to be answered, even if no notification to the user is needed.
    await query.answer()
    number = context.bot_data.get("registered", 0) + 1
    context.bot_data["registered"] = number
    user_name, user_city = context.user_data["name"], context.user_data["city"]
    logger.info("registered #%d: %s from %s", number, user_name, user_city)
    await query.edit_message_text(text=f"Confirmed: {user_name} from {user_city}: registered as #{number}")
    return ConversationHandler.END


async def decline(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Registers nothing and says so in the message that asked."""
    query = update.callback_query
    await query.answer()
    await query.edit_message_text(text="Not registered.")
    return ConversationHandler.END


async def cancel(update: Update, context: ContextTypes.DEFAULT_TYPE) -> int:
    """Cancels and ends the conversation."""
    logger.info("User %s canceled the conversation.", update.message.from_user.id)
    await update.message.reply_text("Cancelled.")
    return ConversationHandler.END


def main() -> None:
    api_url = os.environ["TELEGRAM_API_URL"].rstrip("/")
    application = (
        Application.builder()
        .token(os.environ["TELEGRAM_BOT_TOKEN"])
        .base_url(f"{api_url}/bot")
        .base_file_url(f"{api_url}/file/bot")
        .build()
    )

    conv_handler = ConversationHandler(
        entry_points=[CommandHandler("start", start)],
        states={
            NAME: [MessageHandler(filters.TEXT & ~filters.COMMAND, name)],
            CITY: [MessageHandler(filters.TEXT & ~filters.COMMAND, city)],
            CONFIRM: [
                CallbackQueryHandler(confirm, pattern="^yes$"),
                CallbackQueryHandler(decline, pattern="^no$"),
            ],
        },
        fallbacks=[CommandHandler("cancel", cancel)],
        # A /start in the middle of the conversation starts it over.
        allow_reentry=True,
    )
    application.add_handler(conv_handler)

    application.run_polling(allowed_updates=Update.ALL_TYPES)


if __name__ == "__main__":
    main()
