"""/export: the year's full report workbook as a document, written off the event loop into a
temporary folder that is removed afterwards; read back with openpyxl."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import openpyxl
import pytest

from bot.fake_bot_api import BotMessage
from scoring import Group
from services.access import Role
from services.standings import compute_standings
from templates import render
from tests.bot.steps import documents, join_coordinator, send
from tests.bot.world import BotWorld, seed_scores
from tests.texts import said, text_of


def workbook_of(world: BotWorld, message: BotMessage) -> openpyxl.Workbook:
    """The workbook a document message carries."""
    data = world.server.file(message.raw["document"]["file_id"]).data
    return openpyxl.load_workbook(io.BytesIO(data))


@pytest.fixture
def scratch(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder temporary files go to during the test."""
    folder = tmp_path / "scratch"
    folder.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(folder))
    return folder


async def test_export_sends_the_report_workbook_and_leaves_no_file_behind(
    world: BotWorld, scratch: Path
) -> None:
    seed_scores(world)
    user = await join_coordinator(world)
    answers = await send(world, user, "/export")
    assert answers[0] == said("coord.export_preparing", year=2025)
    [document] = documents(world, user)
    assert document.raw["document"]["file_name"] == text_of("coord.export_file_name", year=2025)
    assert (document.text or "").startswith("2025 年度考核报告（截至 2025-03-10 10:00）")
    book = workbook_of(world, document)
    first = compute_standings(world.uow(), 2025).group(Group.TOWN)[0]
    found = [
        row
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        if first.name in row
    ]
    assert found
    totals = [v for row in found for v in row if isinstance(v, float)]
    assert any(abs(v - first.total) < 0.005 for v in totals)
    assert "店子镇" in book.sheetnames  # a sheet per unit with its tasks and findings
    assert list(scratch.iterdir()) == []
    actions = [c.params.get("action") for c in world.server.calls("sendChatAction")]
    assert "upload_document" in actions


async def test_a_leader_may_export_in_english(world: BotWorld, scratch: Path) -> None:
    seed_scores(world)
    world.server.user(9100, "Lee", "en")
    leader = await world.join(9100, Role.VIEWER, None, "Lee")
    await send(world, leader, "/export")
    [document] = documents(world, leader)
    assert document.raw["document"]["file_name"] == "assessment-report-2025.xlsx"
    book = workbook_of(world, document)
    assert "店子镇" in book.sheetnames


async def test_export_of_a_year_without_a_plan_says_so(world: BotWorld) -> None:
    user = await join_coordinator(world)
    await send(world, user, "/export 2024")
    assert said("errors.no_plan", year=2024) in world.texts(user)[-1]
    assert documents(world, user) == []


async def test_a_bad_year_gets_the_usage(world: BotWorld) -> None:
    user = await join_coordinator(world)
    for args in ("abc", "25", "2025 2026"):
        assert await send(world, user, f"/export {args}") == [render("coord.export_usage", "zh")]
    assert documents(world, user) == []
