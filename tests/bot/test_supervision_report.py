"""/supervision_report [1|2] [year]: the half-year comprehensive supervision report as a
document, read back with openpyxl; bad arguments and a half not yet begun."""

from __future__ import annotations

import io
import tempfile
from datetime import date
from pathlib import Path

import openpyxl
import pytest

from bot.fake_bot_api import BotMessage, FakeUser
from services.access import Role
from services.findings import record_finding
from services.practices import record_good_practice
from services.tasks import TaskInput, import_tasks
from services.unit_lookup import find_units
from tests.bot.steps import join_coordinator, send
from tests.bot.world import OPERATOR, BotWorld
from tests.texts import said, text_of


def seed_supervision(world: BotWorld) -> None:
    """A task of 店子镇, a finding of 西集镇 and a good practice of 店子镇, recorded today."""
    [dianzi] = find_units(world.uow(), "店子镇")
    [xiji] = find_units(world.uow(), "西集镇")
    import_tasks(
        world.uow(),
        OPERATOR,
        2025,
        [TaskInput("dianzi", "T1", "新建标准化厂房", "", "", date(2025, 6, 30), "key_work")],
    )
    record_finding(
        world.uow(), OPERATOR, xiji.id, "道路进度滞后", "on_site_inspection",
        date(2025, 3, 8), date(2025, 4, 8),
    )  # fmt: skip
    record_good_practice(world.uow(), OPERATOR, dianzi.id, 2025, "厂房代建模式", "先建后租")


def document_of(world: BotWorld, user: FakeUser) -> BotMessage:
    """The one document the bot sent the user."""
    [document] = [m for m in world.server.messages_to(user.id) if m.kind == "document"]
    return document


def sheets(world: BotWorld, message: BotMessage) -> dict[str, list[list[object]]]:
    """Every sheet's rows of the workbook a document carries."""
    data = world.server.file(message.raw["document"]["file_id"]).data
    book = openpyxl.load_workbook(io.BytesIO(data))
    return {s.title: [list(r) for r in s.iter_rows(values_only=True)] for s in book.worksheets}


async def test_the_report_of_this_half_year_is_sent_as_a_workbook(
    world: BotWorld, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    scratch = tmp_path / "scratch"
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    seed_supervision(world)
    user = await join_coordinator(world)
    answers = await send(world, user, "/supervision_report")
    assert answers[0] == said(
        "coord.supervision_preparing", year=2025, half=text_of("coord.supervision_half_1")
    )
    document = document_of(world, user)
    assert document.raw["document"]["file_name"] == text_of(
        "coord.supervision_file_name",
        year=2025,
        half=text_of("coord.supervision_half_1"),
        number=1,
    )
    assert document.text == (
        "2025 年上半年综合督导报告（2025-01-01 至 2025-06-30，截至 2025-03-10 10:00）："
        "23 个单位的任务进展、1 个督导问题及整改情况、1 条典型经验。"
    )
    book = sheets(world, document)
    assert list(book) == [
        text_of("coord.supervision_sheet_summary"),
        text_of("coord.supervision_sheet_tasks"),
        text_of("coord.supervision_sheet_findings"),
        "典型经验",
        text_of("coord.supervision_sheet_activities"),
    ]
    assert any(
        r[:3] == ["店子镇", "T1", "新建标准化厂房"]
        for r in book[text_of("coord.supervision_sheet_tasks")]
    )
    finding = next(r for r in book["问题整改"] if r[0] == "西集镇")
    assert "道路进度滞后" in finding and text_of("year.finding_status_open") in finding
    assert any(r[:2] == ["店子镇", "厂房代建模式"] for r in book["典型经验"])
    assert list(scratch.iterdir()) == []


async def test_a_leader_may_ask_for_it_in_english(world: BotWorld) -> None:
    seed_supervision(world)
    world.server.user(9100, "Lee", "en")
    leader = await world.join(9100, Role.VIEWER, None, "Lee")
    await send(world, leader, "/supervision_report 1")
    document = document_of(world, leader)
    assert document.raw["document"]["file_name"] == "supervision-report-2025-H1.xlsx"
    assert list(sheets(world, document)) == [
        "Summary",
        "Task progress",
        "Findings",
        "Good practices",
        "Plan vs done",
    ]


async def test_a_half_year_not_yet_begun_is_refused(world: BotWorld) -> None:
    user = await join_coordinator(world)
    await send(world, user, "/supervision_report 2")
    assert world.texts(user)[-1] == "2025 年下半年从 2025-07-01 开始，现在还没有可以报告的内容。"
    await send(world, user, "/supervision_report 1 2026")
    assert world.texts(user)[-1].startswith("2026 年上半年从 2026-01-01 开始")
    assert world.server.calls("sendDocument") == []


async def test_a_past_year_without_a_plan_says_so(world: BotWorld) -> None:
    user = await join_coordinator(world)
    await send(world, user, "/supervision_report 2024 下半年")
    assert said("errors.no_plan", year=2024) in world.texts(user)[-1]


async def test_bad_arguments_get_the_usage(world: BotWorld) -> None:
    user = await join_coordinator(world)
    for args in ("3", "1 2", "H3", "2025 2024"):
        await send(world, user, f"/supervision_report {args}")
        assert world.texts(user)[-1].startswith("用法：/supervision_report [1|2] [年度]")
    assert world.server.calls("sendDocument") == []
