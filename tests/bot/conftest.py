"""Fixtures of the bot tests: a bot world on SQLite with the sample district."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest

from bot.fake_bot_api import FakeUser
from tests.bot.steps import join_liaison
from tests.bot.world import BotWorld, bot_world
from tests.fakes.bot_api import record_errors


@pytest.fixture
async def world(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[BotWorld]:
    """A bot world driven through process_update."""
    async with bot_world(sqlite_template, tmp_path) as w:
        yield w


@pytest.fixture
async def polling_world(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[BotWorld]:
    """A bot world whose Application runs the real Updater (long polling over HTTP)."""
    async with bot_world(sqlite_template, tmp_path, updater=True) as w:
        yield w


@pytest.fixture
async def liaison(world: BotWorld) -> FakeUser:
    """店子镇's liaison (Telegram user 1001, 张三), joined through an invitation."""
    return await join_liaison(world)


@pytest.fixture
def no_handler_errors(world: BotWorld) -> Iterator[list[BaseException]]:
    """The errors the world's handlers raise; the test fails if there is any.

    A module asks for it on every test with `pytestmark = pytest.mark.usefixtures(...)`.
    """
    errors = record_errors(world.app)
    yield errors
    assert errors == []
