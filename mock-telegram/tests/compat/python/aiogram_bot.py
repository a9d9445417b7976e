"""Echo and button bot on aiogram 3, written as the library's own examples write it.

Used by mock-telegram's compatibility suite: only the API server and the token differ from a bot that talks to
api.telegram.org. Environment: TELEGRAM_API_URL (the mock's root, e.g. http://127.0.0.1:8081),
TELEGRAM_BOT_TOKEN, and for webhook mode WEBHOOK_URL and WEBHOOK_PORT (polling when they are unset).
"""

import asyncio
import logging
import os
import sys
from urllib.parse import urlparse

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command
from aiogram.types import CallbackQuery, InlineKeyboardButton, InlineKeyboardMarkup, Message
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

WEBHOOK_SECRET = "tgload-compat-secret"

router = Router()


@router.message(Command("menu"))
async def menu_handler(message: Message) -> None:
    """Send a message with two inline buttons."""
    keyboard = InlineKeyboardMarkup(
        inline_keyboard=[
            [
                InlineKeyboardButton(text="Option 1", callback_data="opt:1"),
                InlineKeyboardButton(text="Option 2", callback_data="opt:2"),
            ]
        ]
    )
    await message.answer("Choose an option:", reply_markup=keyboard)


@router.callback_query(F.data.startswith("opt:"))
async def option_handler(callback: CallbackQuery) -> None:
    """Answer the callback query, then edit the message the button belongs to."""
    await callback.answer()
    choice = callback.data.split(":", 1)[1]
    await callback.message.edit_text(f"You chose {choice}")


@router.message(F.text)
async def echo_handler(message: Message) -> None:
    """Echo the user message."""
    await message.answer(message.text)


def make_bot() -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    return Bot(token=os.environ["TELEGRAM_BOT_TOKEN"], session=session)


async def on_startup(bot: Bot) -> None:
    await bot.set_webhook(os.environ["WEBHOOK_URL"], secret_token=WEBHOOK_SECRET)


def run_webhook() -> None:
    dp = Dispatcher()
    dp.include_router(router)
    dp.startup.register(on_startup)
    bot = make_bot()

    app = web.Application()
    webhook_requests_handler = SimpleRequestHandler(dispatcher=dp, bot=bot, secret_token=WEBHOOK_SECRET)
    webhook_requests_handler.register(app, path=urlparse(os.environ["WEBHOOK_URL"]).path or "/")
    setup_application(app, dp, bot=bot)
    web.run_app(app, host="127.0.0.1", port=int(os.environ["WEBHOOK_PORT"]))


async def run_polling() -> None:
    dp = Dispatcher()
    dp.include_router(router)
    await dp.start_polling(make_bot())


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    if os.environ.get("WEBHOOK_URL"):
        run_webhook()
    else:
        asyncio.run(run_polling())
