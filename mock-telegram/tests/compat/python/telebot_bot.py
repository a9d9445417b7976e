"""Echo and button bot on pyTelegramBotAPI 4 (AsyncTeleBot), written as the library's own examples write it.

Used by mock-telegram's compatibility suite: only the API URL and the token differ from a bot that talks to
api.telegram.org. Environment: TELEGRAM_API_URL (the mock's root, e.g. http://127.0.0.1:8081),
TELEGRAM_BOT_TOKEN, and for webhook mode WEBHOOK_URL and WEBHOOK_PORT (polling when they are unset). The webhook
is served with aiohttp, a dependency of the library itself, as in its async_webhook_aiohttp_echo_bot example.
"""

import asyncio
import logging
import os
from urllib.parse import urlparse

from aiohttp import web

import telebot
from telebot import asyncio_helper
from telebot.async_telebot import AsyncTeleBot
from telebot.types import InlineKeyboardButton, InlineKeyboardMarkup

WEBHOOK_SECRET = "tgload-compat-secret"

api_url = os.environ["TELEGRAM_API_URL"].rstrip("/")
asyncio_helper.API_URL = api_url + "/bot{0}/{1}"
asyncio_helper.FILE_URL = api_url + "/file/bot{0}/{1}"

logger = telebot.logger
telebot.logger.setLevel(logging.INFO)
bot = AsyncTeleBot(os.environ["TELEGRAM_BOT_TOKEN"])


@bot.message_handler(commands=["menu"])
async def menu(message):
    """Send a message with two inline buttons."""
    markup = InlineKeyboardMarkup()
    markup.row_width = 2
    markup.add(
        InlineKeyboardButton("Option 1", callback_data="opt:1"),
        InlineKeyboardButton("Option 2", callback_data="opt:2"),
    )
    await bot.send_message(message.chat.id, "Choose an option:", reply_markup=markup)


@bot.callback_query_handler(func=lambda call: call.data.startswith("opt:"))
async def option(call):
    """Answer the callback query, then edit the message the button belongs to."""
    await bot.answer_callback_query(call.id)
    choice = call.data.split(":", 1)[1]
    await bot.edit_message_text(f"You chose {choice}", call.message.chat.id, call.message.message_id)


# Handle all other messages with content_type 'text' (content_types defaults to ['text'])
@bot.message_handler(func=lambda message: True)
async def echo(message):
    """Echo the user message."""
    await bot.send_message(message.chat.id, message.text)


# Process webhook calls
async def handle(request):
    if request.headers.get("X-Telegram-Bot-Api-Secret-Token") != WEBHOOK_SECRET:
        return web.Response(status=403)
    update = telebot.types.Update.de_json(await request.json())
    asyncio.ensure_future(bot.process_new_updates([update]))
    return web.Response()


# Close the session before exiting
async def shutdown(app):
    logger.info("Shutting down: closing session")
    await bot.close_session()


async def setup():
    webhook_url = os.environ["WEBHOOK_URL"]
    # Remove webhook, it fails sometimes the set if there is a previous webhook
    logger.info("Starting up: removing old webhook")
    await bot.remove_webhook()
    logger.info("Starting up: setting webhook")
    await bot.set_webhook(url=webhook_url, secret_token=WEBHOOK_SECRET)
    app = web.Application()
    app.router.add_post(urlparse(webhook_url).path or "/", handle)
    app.on_cleanup.append(shutdown)
    return app


if __name__ == "__main__":
    if os.environ.get("WEBHOOK_URL"):
        web.run_app(setup(), host="127.0.0.1", port=int(os.environ["WEBHOOK_PORT"]))
    else:
        asyncio.run(bot.polling())
