"""A sign-up conversation on aiogram 3's finite state machine, written as the library's own FSM example writes it.

/start asks for the user's name, the name is greeted and the city asked for, and the city finishes the
conversation with a summary and a registration number (a counter shared by all users); /cancel leaves it at any
point. The state lives in aiogram's MemoryStorage, one per chat and user.

Used by tgload's end-to-end tests (harness/tests/it/conversations.rs): only the API server and the token differ
from a bot that talks to api.telegram.org. Environment: TELEGRAM_API_URL (the mock's root, e.g.
http://127.0.0.1:8081) and TELEGRAM_BOT_TOKEN. It polls.
"""

import asyncio
import itertools
import logging
import os
import sys

from aiogram import Bot, Dispatcher, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.filters import Command, CommandStart
from aiogram.fsm.context import FSMContext
from aiogram.fsm.state import State, StatesGroup
from aiogram.fsm.storage.memory import MemoryStorage
from aiogram.types import Message

form_router = Router()
logger = logging.getLogger(__name__)
registrations = itertools.count(1)


class Form(StatesGroup):
    name = State()
    city = State()


@form_router.message(CommandStart())
async def command_start(message: Message, state: FSMContext) -> None:
    """Start (or restart) the conversation: ask for the name."""
    await state.set_state(Form.name)
    await message.answer("What is your name?")


@form_router.message(Command("cancel"))
async def cancel_handler(message: Message, state: FSMContext) -> None:
    """Allow the user to cancel the conversation at any point."""
    current_state = await state.get_state()
    if current_state is None:
        return
    logger.info("Cancelling state %r", current_state)
    await state.clear()
    await message.answer("Cancelled.")


@form_router.message(Form.name, F.text)
async def process_name(message: Message, state: FSMContext) -> None:
    """Remember the name, ask for the city."""
    await state.update_data(name=message.text)
    await state.set_state(Form.city)
    await message.answer(f"Nice to meet you, {message.text}! Which city do you live in?")


@form_router.message(Form.city, F.text)
async def process_city(message: Message, state: FSMContext) -> None:
    """Finish the conversation with a summary of what the user said."""
    data = await state.update_data(city=message.text)
    await state.clear()
    number = next(registrations)
    logger.info("registered #%d: %s from %s", number, data["name"], data["city"])
    await message.answer(f"{data['name']} from {data['city']}: registered as #{number}")


def make_bot() -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(os.environ["TELEGRAM_API_URL"]))
    return Bot(token=os.environ["TELEGRAM_BOT_TOKEN"], session=session)


async def main() -> None:
    dp = Dispatcher(storage=MemoryStorage())
    dp.include_router(form_router)
    await dp.start_polling(make_bot(), allowed_updates=dp.resolve_used_update_types())


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO, stream=sys.stderr)
    asyncio.run(main())
