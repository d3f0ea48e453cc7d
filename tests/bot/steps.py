"""What a person does in a bot test, and what they see: send, tap, read the bot's replies.

Every action hands the resulting updates to the application (`world.step()`) before it returns,
so the bot has answered by then. Buttons are found on the newest message that offers them, as a
person scrolls up to the last keyboard; tapping one the bot has taken away fails the test.
"""

from __future__ import annotations

from typing import Any

from bot.fake_bot_api import FakeUser
from bot.fake_bot_api.models import BotMessage
from services.access import Role
from tests.bot.workbooks import XLSX
from tests.bot.world import BotWorld
from tests.texts import text_of

COORDINATOR_ID = 9001
LIAISON_ID = 1001


async def join_coordinator(
    world: BotWorld, user_id: int = COORDINATOR_ID, name: str = "王科长"
) -> FakeUser:
    """A coordinator of the programme who joined through an invitation."""
    return await world.join(user_id, Role.COORDINATOR, None, name)


async def join_liaison(
    world: BotWorld, user_id: int = LIAISON_ID, unit: str = "dianzi", name: str = "张三"
) -> FakeUser:
    """A liaison of `unit` (店子镇 unless told) who joined through an invitation."""
    return await world.join(user_id, Role.LIAISON, unit, name)


def _chat_id(user: FakeUser | int) -> int:
    return user if isinstance(user, int) else user.id


def newest_with(world: BotWorld, user: FakeUser, label: str) -> BotMessage:
    """The newest message to the user that offers a button labelled `label`."""
    for message in reversed(world.server.messages_to(user.id)):
        if any(text == label and data is not None for text, data in message.buttons):
            return message
    raise AssertionError(f"no button {label!r} for user {user.id}; last: {world.texts(user)[-3:]}")


def button_starting(world: BotWorld, user: FakeUser, prefix: str) -> tuple[BotMessage, str]:
    """The newest message with a button whose label starts with `prefix`, and that label."""
    for message in reversed(world.server.messages_to(user.id)):
        for text, data in message.buttons:
            if text.startswith(prefix) and data is not None:
                return message, text
    raise AssertionError(
        f"no button starting {prefix!r} for user {user.id}; last: {world.texts(user)[-3:]}"
    )


async def tap(world: BotWorld, user: FakeUser, label: str, *, on: BotMessage | None = None) -> str:
    """Tap the button labelled `label` (on message `on`, else the newest offering it); the
    callback query's id."""
    message = on if on is not None else newest_with(world, user, label)
    query = user.tap(message, message.callback_data(label))
    await world.step()
    return query


async def choose(world: BotWorld, user: FakeUser, key: str, **params: Any) -> BotMessage:
    """Tap the button labelled with catalog entry `key` (the newest offering it); the bot's last
    message to the user afterwards."""
    await tap(world, user, text_of(key, **params))
    answer: BotMessage = world.last(user)
    return answer


async def tap_starting(world: BotWorld, user: FakeUser, prefix: str) -> str:
    """Tap the newest button whose label starts with `prefix`; the callback query's id."""
    message, label = button_starting(world, user, prefix)
    query = user.tap(message, message.callback_data(label))
    await world.step()
    return query


async def send(world: BotWorld, user: FakeUser, text: str) -> list[str]:
    """Type `text` (a command when it starts with "/": `/report 3`); the texts of the bot's
    answers."""
    before = len(world.server.messages_to(user.id))
    if text.startswith("/"):
        command, _, args = text.partition(" ")
        user.send_command(command, args or None)
    else:
        user.send_text(text)
    await world.step()
    return new_texts(world, user, before)


async def send_file(
    world: BotWorld, user: FakeUser, data: bytes, name: str, mime_type: str = XLSX
) -> list[str]:
    """Send a document (an xlsx workbook unless told); the texts of the bot's answers."""
    before = len(world.server.messages_to(user.id))
    user.send_document(data, name, mime_type)
    await world.step()
    return new_texts(world, user, before)


async def say(world: BotWorld, user: FakeUser, text: str) -> str:
    """Type `text` (or a command, as `send`); the text of the bot's last message to the user."""
    await send(world, user, text)
    return world.texts(user)[-1]


def new_texts(world: BotWorld, user: FakeUser, before: int) -> list[str]:
    """The texts (and captions) of the messages to the user after the first `before`."""
    return world.texts(user)[before:]


def labels(world: BotWorld, user: FakeUser | int) -> list[str]:
    """The button labels of the bot's last message to the user."""
    return [label for label, _ in world.server.last_message_to(_chat_id(user)).buttons]


def documents(world: BotWorld, user: FakeUser) -> list[BotMessage]:
    """The documents the bot sent the user, oldest first."""
    return [m for m in world.server.messages_to(user.id) if m.kind == "document"]


def photos(world: BotWorld, user: FakeUser) -> list[BotMessage]:
    """The photos the bot sent the user, oldest first."""
    return [m for m in world.server.messages_to(user.id) if m.kind == "photo"]


def everything(world: BotWorld, user: FakeUser) -> str:
    """All the text the bot sent the user, button labels included, one part a line."""
    parts: list[str] = []
    for message in world.server.messages_to(user.id):
        parts.append(message.text or "")
        parts.extend(label for label, _ in message.buttons)
    return "\n".join(parts)


def answer(world: BotWorld, query: str) -> str:
    """The text the bot answered a callback query with ("" when it answered without text)."""
    found: Any = world.server.answer_to(query)
    assert found is not None, f"the bot did not answer query {query}"
    return str(found.text or "")
