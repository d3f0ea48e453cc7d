"""Fixtures of the bot tests: a bot world on SQLite with the sample district."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.bot.world import BotWorld, bot_world


@pytest.fixture
async def world(sqlite_template: Path, tmp_path: Path) -> AsyncIterator[BotWorld]:
    """A bot world driven through process_update."""
    async with bot_world(sqlite_template, tmp_path) as w:
        yield w
