"""Opening /report: one service call in one transaction (services.reports.open_report), and the
months it offers are the programme calendar's (scoring.calendar), on any day."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from datetime import date, datetime, time, timedelta

import pytest

from scoring.calendar import month_due, report_months, report_window
from services.access import Actor
from services.evidence import register_evidence
from services.files.plan_file import default_plan_text
from services.people import actor_for_telegram_user
from services.plans import current_plan, load_plan
from services.reports import ReportEntryInput, open_report, submit_report
from services.tasks import TaskInput, import_tasks, tasks_of_unit
from storage.unit_of_work import UnitOfWork
from tests.bot.world import OPERATOR, SHANGHAI, BotWorld
from tests.fakes.bot_api import record_errors, tiny_png

# The transactions one /report takes: who the sender is, with their dialogs (any draft to offer
# back); opening the report (ONE: it was five to eight, one per service the dialog called); and
# the dialog state it starts.
REPORT_COMMAND_TRANSACTIONS = ["admit", "open_report", "start_dialog"]


@pytest.fixture
async def world(world: BotWorld) -> AsyncIterator[BotWorld]:
    """The bot world; the test fails if a handler raised."""
    errors = record_errors(world.app)
    yield world
    assert errors == []


def seed_tasks(world: BotWorld, year: int = 2025) -> None:
    """Two tasks of 店子镇 in `year`."""
    import_tasks(
        world.uow(),
        OPERATOR,
        year,
        [
            TaskInput(
                "dianzi",
                "T1",
                "招商引资项目落地",
                due_date=date(year, 6, 30),
                work_item="key_work",
            ),
            TaskInput("dianzi", "T2", "老旧小区改造", work_item="key_work"),
        ],
    )


def liaison(world: BotWorld) -> Actor:
    """The joined liaison of 店子镇."""
    actor = actor_for_telegram_user(world.uow(), 1001)
    assert actor is not None and actor.unit_id is not None
    return actor


@contextmanager
def transactions() -> Iterator[list[str]]:
    """The services that opened a unit of work meanwhile (the function that entered it)."""
    opened: list[str] = []
    enter = UnitOfWork.__enter__

    def counted(self: UnitOfWork) -> UnitOfWork:
        opened.append(sys._getframe(1).f_code.co_name)
        return enter(self)

    UnitOfWork.__enter__ = counted  # type: ignore[method-assign]
    try:
        yield opened
    finally:
        UnitOfWork.__enter__ = enter  # type: ignore[method-assign]


async def test_opening_report_is_one_transaction(world: BotWorld) -> None:
    seed_tasks(world)
    user = await world.join(1001)
    with transactions() as opened:
        user.send_command("/report")
        await world.step()
    assert "2025 年 2 月进展报送" in world.last(user).text
    assert opened == REPORT_COMMAND_TRANSACTIONS


async def test_opening_a_correction_with_files_is_one_transaction_too(world: BotWorld) -> None:
    seed_tasks(world)
    user = await world.join(1001)
    actor = liaison(world)
    assert actor.unit_id is not None
    photo = register_evidence(
        world.uow(), actor, "photo", "file-1", "unique-1", None, "image/png", None,
        tiny_png(), world.deps.archive,
    )  # fmt: skip
    tasks = tasks_of_unit(world.uow(), actor, actor.unit_id, 2025)
    entries = [ReportEntryInput(t.id, "on_track", "40%") for t in tasks]
    submit_report(
        world.uow(), actor, actor.unit_id, 2025, 2, entries, (), {tasks[0].id: [photo.id]}
    )
    with transactions() as opened:
        user.send_command("/report", "2")
        await world.step()
    assert "2025 年 2 月进展报送" in world.last(user).text
    assert opened == REPORT_COMMAND_TRANSACTIONS


async def test_january_with_last_years_plan_is_one_transaction(world: BotWorld) -> None:
    load_plan(world.uow(), OPERATOR, default_plan_text(2026), "plan-2026.yaml")
    seed_tasks(world)
    seed_tasks(world, 2026)
    world.clock.set(datetime(2026, 1, 3, 9, 0, tzinfo=SHANGHAI))
    user = await world.join(1001)
    with transactions() as opened:
        user.send_command("/report")
        await world.step()
    intro = world.last(user)
    assert "2025 年 12 月进展报送" in intro.text
    assert "📅 改报 1 月" in [label for label, _ in intro.buttons]
    assert opened == REPORT_COMMAND_TRANSACTIONS


# --- the months offered are the calendar's ------------------------------------------------------


def moments() -> Iterator[datetime]:
    """Around every deadline of 2025 (the day before, the due day, the day after) and the
    month ends, at the first and last minute of the day in Shanghai."""
    for month in range(1, 13):
        for day in (date(2025, month, 1), date(2025, month, 4), date(2025, month, 5)):
            for around in (day, day + timedelta(days=1)):
                if around.year == 2025:
                    for clock in (time(0, 0), time(23, 59)):
                        yield datetime.combine(around, clock, tzinfo=SHANGHAI)


async def test_open_report_offers_the_calendars_months_around_every_deadline(
    world: BotWorld,
) -> None:
    load_plan(world.uow(), OPERATOR, default_plan_text(2024), "plan-2024.yaml")
    seed_tasks(world)
    await world.join(1001)
    actor = liaison(world)
    assert actor.unit_id is not None
    # A unit with tasks but (here) no report: an overdue month would come first, so the
    # service's first month is the calendar's month due, or the overdue one.
    plans = {y: current_plan(world.uow(), y) for y in (2024, 2025)}
    for now in moments():
        world.clock.set(now)
        opening = open_report(world.uow(), actor, actor.unit_id, "Asia/Shanghai")
        today = now.date()
        months, first = report_months(
            now, plans[today.year], plans.get(report_window(today)[1][0])
        )
        assert list(opening.months) == months
        assert opening.months[0] == (today.year, today.month)
        overdue = [m for m, s in opening.states.items() if s.state == "overdue" and m in months]
        assert opening.first == (min(overdue) if overdue else first)
        assert first == month_due(today, 5)
        assert opening.due_at > now or opening.overdue


async def test_the_report_dialog_offers_the_calendars_months(world: BotWorld) -> None:
    seed_tasks(world)
    user = await world.join(1001)
    for now in (
        datetime(2025, 3, 5, 23, 59, tzinfo=SHANGHAI),
        datetime(2025, 3, 6, 0, 0, tzinfo=SHANGHAI),
        datetime(2025, 8, 1, 0, 0, tzinfo=SHANGHAI),
    ):
        world.clock.set(now)
        user.send_command("/report")
        await world.step()
        intro = world.last(user)
        plan = current_plan(world.uow(), 2025)
        months, first = report_months(now, plan, plan)
        # No month offered is overdue here (the tasks came on 10 March, or the overdue months
        # are older): the month shown is the calendar's month due, the other one a button.
        assert first == month_due(now.date(), 5)
        assert f"{first[0]} 年 {first[1]} 月进展报送" in intro.text
        other = next(m for m in months if m != first)
        assert f"📅 改报 {other[1]} 月" in [label for label, _ in intro.buttons]
