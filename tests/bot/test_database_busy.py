"""When a write waits longer than the lock timeout the person is told the database is busy and
to try again (nothing saved, the draft kept), never just "something went wrong"; a workbook
import that meets a busy database offers its Confirm button again."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from functools import partial
from pathlib import Path
from typing import Any

import pytest

from services import uploads
from services.access import Role
from storage.database import open_database
from storage.errors import DatabaseUnavailable
from templates import render
from tests.bot import world as world_module
from tests.bot.steps import join_coordinator, send_file, tap
from tests.bot.workbooks import values_workbook
from tests.bot.world import BotWorld, bot_world, value_years
from tests.fakes.bot_api import record_errors
from tests.texts import text_of

BUSY = render("common.database_locked", "zh")


@pytest.fixture
async def impatient(
    sqlite_template: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[BotWorld]:
    """A bot world whose writers wait for the write lock 0.3 s only."""
    monkeypatch.setattr(world_module, "open_database", partial(open_database, lock_timeout=0.3))
    async with bot_world(sqlite_template, tmp_path) as world:
        yield world


@contextmanager
def write_lock_held(world: BotWorld) -> Iterator[None]:
    """Another connection holds SQLite's write lock for the body of the block."""
    holder = sqlite3.connect(world.database.engine.url.database or "", isolation_level=None)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
    finally:
        holder.execute("ROLLBACK")
        holder.close()


async def test_a_writer_that_waits_too_long_is_told_the_database_is_busy(
    impatient: BotWorld,
) -> None:
    world = impatient
    errors = record_errors(world.app)
    liaison = await world.join(1001, Role.LIAISON, "dianzi")
    with write_lock_held(world):
        liaison.send_command("/rectify")
        await world.step()
    assert world.texts(liaison)[-1] == BUSY
    assert [type(e) for e in errors] == [DatabaseUnavailable]
    liaison.send_command("/rectify")  # the lock is free again: trying again works
    await world.step()
    assert world.texts(liaison)[-1] == render("rectify.none_open", "zh", in_review=[])


async def test_an_import_that_meets_a_busy_database_can_be_confirmed_again(
    world: BotWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = await join_coordinator(world, 7001)
    await send_file(world, user, values_workbook(), "指标值.xlsx")
    real = uploads.import_workbook
    calls: list[int] = []

    def busy_once(*args: Any, **kwargs: Any) -> uploads.UploadImported:
        calls.append(1)
        if len(calls) == 1:
            raise DatabaseUnavailable("locked", "database is locked")
        return real(*args, **kwargs)

    monkeypatch.setattr(uploads, "import_workbook", busy_once)
    await tap(world, user, text_of("coord.upload_confirm_button"))
    assert BUSY in world.texts(user)
    assert value_years(world) == []
    await tap(world, user, text_of("coord.upload_confirm_button"))
    assert "为<b>第 1 版</b>" in (world.last(user).source_text or "")
    assert value_years(world) == [(2025, 1)]
