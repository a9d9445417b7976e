"""Echo, button, media, inline and block-aware bot on aiogram 3, written as the library's own examples write it.

It echoes text, answers /menu with two buttons and edits the menu when one is pressed, answers a photo with a
document of the photo's downloaded bytes, answers an inline query with one article, and when a user blocks it
tries to say "bye" (and logs the TelegramForbiddenError) and says "welcome back" when they unblock it.

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
from aiogram.exceptions import TelegramForbiddenError
from aiogram.filters import KICKED, MEMBER, ChatMemberUpdatedFilter, Command
from aiogram.types import (
    BufferedInputFile,
    CallbackQuery,
    ChatMemberUpdated,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InlineQuery,
    InlineQueryResultArticle,
    InputTextMessageContent,
    Message,
)
from aiogram.webhook.aiohttp_server import SimpleRequestHandler, setup_application
from aiohttp import web

WEBHOOK_SECRET = "tgload-compat-secret"

router = Router()
logger = logging.getLogger(__name__)


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


@router.message(F.photo)
async def photo_handler(message: Message, bot: Bot) -> None:
    """Download the largest size of the photo and send its bytes back as a new document."""
    data = (await bot.download(message.photo[-1])).read()
    document = BufferedInputFile(data, filename="photo.png")
    await message.answer_document(document, caption=f"got {len(data)} bytes")


@router.inline_query()
async def inline_handler(inline_query: InlineQuery) -> None:
    """Answer an inline query with one article that sends the query back."""
    query = inline_query.query
    result = InlineQueryResultArticle(
        id="1",
        title=f"Echo: {query}",
        input_message_content=InputTextMessageContent(message_text=query),
    )
    await inline_query.answer([result])


@router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=KICKED))
async def user_blocked_bot(event: ChatMemberUpdated, bot: Bot) -> None:
    """The user blocked the bot: saying goodbye fails, as it does on Telegram."""
    try:
        await bot.send_message(event.chat.id, "bye")
    except TelegramForbiddenError as error:
        logger.info("could not say bye to %s: %s", event.from_user.id, error.message)


@router.my_chat_member(ChatMemberUpdatedFilter(member_status_changed=MEMBER))
async def user_unblocked_bot(event: ChatMemberUpdated, bot: Bot) -> None:
    """The user unblocked the bot."""
    await bot.send_message(event.chat.id, "welcome back")


def make_bot() -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    return Bot(token=os.environ["TELEGRAM_BOT_TOKEN"], session=session)


async def on_startup(bot: Bot, dispatcher: Dispatcher) -> None:
    await bot.set_webhook(
        os.environ["WEBHOOK_URL"],
        secret_token=WEBHOOK_SECRET,
        allowed_updates=dispatcher.resolve_used_update_types(),
    )


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
    await dp.start_polling(make_bot(), allowed_updates=dp.resolve_used_update_types())


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    if os.environ.get("WEBHOOK_URL"):
        run_webhook()
    else:
        asyncio.run(run_polling())
