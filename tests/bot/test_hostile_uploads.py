"""Hostile workbooks sent to the bot: one clear refusal each, and everyone else still served."""

from __future__ import annotations

from pathlib import Path

from services.access import Role
from tests.bot.world import BotWorld
from tests.fakes.bot_api import record_errors
from tests.fixtures_hostile import far_cells, huge_dimension, whitespace_bomb

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def test_the_bot_refuses_hostile_workbooks_and_keeps_serving(
    world: BotWorld, tmp_path: Path
) -> None:
    errors = record_errors(world.app)
    user = await world.join(7001, Role.COORDINATOR, None, "王科长")
    liaison = await world.join(7003, Role.LIAISON, "dianzi", "王芳")
    for build in (huge_dimension, far_cells, whitespace_bomb):
        content = build(tmp_path / f"{build.__name__}.xlsx").read_bytes()
        user.send_document(content, "指标值.xlsx", XLSX)
        await world.step()
        answer = " ".join(world.texts(user)[-3:])
        assert "指标值.xlsx" in answer
        expected = {
            "huge_dimension": "A1:XFD1048576",
            "far_cells": "A1 和 XFD1048576",
            "whitespace_bomb": "超过上限",
        }[build.__name__]
        assert expected in answer, answer
        # Everyone else is still served: a liaison's command is answered as usual.
        liaison.send_command("/tasks")
        await world.step()
        assert world.texts(liaison)
    assert errors == []
