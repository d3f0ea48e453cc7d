"""/tasks: the unit's target tasks with traffic lights and its open findings."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.dialogs.tasks_view import task_light
from bot.fake_bot_api import FakeUser
from bot.message_split import split_messages, utf16_length
from services.access import Actor, Role
from services.findings import record_finding, submit_rectification
from services.people import actor_for_telegram_user
from services.reports import MAX_FIGURE, ReportEntryInput, submit_report
from services.tasks import TaskInput, import_tasks, tasks_of_unit
from tests.bot.steps import choose, new_texts, say, send
from tests.bot.world import OPERATOR, SHANGHAI, BotWorld
from tests.texts import said

# The world's clock stands at 2025-03-10 10:00 in Shanghai.
TODAY = date(2025, 3, 10)
NO_MONTHS: dict[str, list[object]] = {
    k: [] for k in ("on_time", "late", "missing", "overdue", "too_late", "pending")
}

pytestmark = pytest.mark.usefixtures("no_handler_errors")


def task(code: str, title: str, due: date | None) -> TaskInput:
    """A key-work task of 店子镇."""
    return TaskInput("dianzi", code, title, due_date=due, work_item="key_work")


def liaison(world: BotWorld) -> Actor:
    """The joined liaison as a service actor."""
    actor = actor_for_telegram_user(world.uow(), 1001)
    assert actor is not None and actor.unit_id is not None
    return actor


async def show(world: BotWorld, user: FakeUser) -> list[str]:
    """Send /tasks and return the messages it answered with."""
    before = len(world.server.messages_to(user.id))
    await send(world, user, "/tasks")
    return new_texts(world, user, before)


def line_of(text: str, code: str) -> str:
    """The line of a task or finding, and the one after it."""
    lines = text.splitlines()
    index = next(i for i, line in enumerate(lines) if f" {code} " in line)
    return "\n".join(lines[index : index + 2])


def test_task_lights() -> None:
    assert task_light(date(2025, 3, 9), False, TODAY) == "overdue"
    assert task_light(date(2025, 3, 10), False, TODAY) == "soon"
    assert task_light(date(2025, 3, 13), False, TODAY) == "soon"
    assert task_light(date(2025, 3, 14), False, TODAY) == "on_track"
    assert task_light(None, False, TODAY) == "on_track"
    assert task_light(date(2025, 3, 1), True, TODAY) == "done"


def test_split_messages_keeps_blocks_whole_and_under_the_limit() -> None:
    blocks = [f"block {i} " + "字" * 300 for i in range(30)]
    messages = split_messages(blocks, limit=1000)
    assert all(utf16_length(m) <= 1000 for m in messages)
    assert "\n".join(messages) == "\n".join(blocks)
    assert utf16_length("🟢") == 2


async def test_tasks_show_a_traffic_light_each(world: BotWorld) -> None:
    import_tasks(
        world.uow(),
        OPERATOR,
        2025,
        [
            task("T1", "招商引资", date(2025, 3, 1)),
            task("T2", "老旧小区改造", date(2025, 3, 12)),
            task("T3", "乡村振兴示范片", date(2025, 9, 30)),
            task("T4", "企业培育", date(2025, 2, 28)),
        ],
    )
    user = await world.join(1001)
    actor = liaison(world)
    assert actor.unit_id is not None
    ids = [t.id for t in tasks_of_unit(world.uow(), actor, actor.unit_id, 2025)]
    world.clock.set(datetime(2025, 3, 2, 9, 0, tzinfo=SHANGHAI))
    submit_report(
        world.uow(),
        actor,
        actor.unit_id,
        2025,
        2,
        [ReportEntryInput(ids[0], "done", "100%"), ReportEntryInput(ids[3], "done", "100%")],
    )
    world.clock.set(datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI))
    # The newest report (March's) decides: T4 is no longer done there.
    submit_report(
        world.uow(),
        actor,
        actor.unit_id,
        2025,
        3,
        [ReportEntryInput(ids[0], "done", "100%"), ReportEntryInput(ids[3], "behind", "80%")],
    )
    [text] = await show(world, user)
    assert text.startswith(said("tasksview.header", unit="店子镇", year=2025, today=TODAY))
    assert line_of(text, "T1") == said(
        "tasksview.task", light="done", code="T1", title="招商引资", due=date(2025, 3, 1),
        days=-9, status="done", figure="100%", month=3,
    )  # fmt: skip
    assert line_of(text, "T2") == said(
        "tasksview.task", light="soon", code="T2", title="老旧小区改造", due=date(2025, 3, 12),
        days=2, status=None, figure="", month=3,
    )  # fmt: skip
    assert line_of(text, "T3") == said(
        "tasksview.task", light="on_track", code="T3", title="乡村振兴示范片",
        due=date(2025, 9, 30), days=204, status=None, figure="", month=3,
    )  # fmt: skip
    assert line_of(text, "T4") == said(
        "tasksview.task", light="overdue", code="T4", title="企业培育", due=date(2025, 2, 28),
        days=-10, status="behind", figure="80%", month=3,
    )  # fmt: skip


async def test_open_findings_are_listed_with_their_deadlines(world: BotWorld) -> None:
    import_tasks(world.uow(), OPERATOR, 2025, [task("T1", "招商引资", None)])
    user = await world.join(1001)
    actor = liaison(world)
    assert actor.unit_id is not None
    unit = actor.unit_id

    def finding(description: str, deadline: date) -> int:
        found = date(2025, 2, 1)
        return record_finding(
            world.uow(), OPERATOR, unit, description, "visit", found, deadline
        ).id

    overdue = finding("台账不完整", date(2025, 3, 5))
    soon = finding("安全标识缺失", date(2025, 3, 11))
    submitted = finding("资料未归档", date(2025, 4, 30))
    later = finding("宣传栏未更新", date(2025, 4, 30))
    submit_rectification(world.uow(), actor, submitted, "已归档")
    [text] = await show(world, user)
    assert said("tasksview.findings_header", count=4) in text
    assert line_of(text, f"#{overdue}") == said(
        "tasksview.finding", light="overdue", status="overdue", number=overdue,
        description="台账不完整", deadline=date(2025, 3, 5), days=-5,
    )  # fmt: skip
    assert line_of(text, f"#{soon}") == said(
        "tasksview.finding", light="soon", status="open", number=soon,
        description="安全标识缺失", deadline=date(2025, 3, 11), days=1,
    )  # fmt: skip
    assert line_of(text, f"#{submitted}") == said(
        "tasksview.finding", light="submitted", status="submitted", number=submitted,
        description="资料未归档", deadline=date(2025, 4, 30), days=51,
    )  # fmt: skip
    assert line_of(text, f"#{later}") == said(
        "tasksview.finding", light="on_track", status="open", number=later,
        description="宣传栏未更新", deadline=date(2025, 4, 30), days=51,
    )  # fmt: skip


async def test_no_tasks_and_no_findings_are_said_plainly(world: BotWorld) -> None:
    user = await world.join(1001)
    [text] = await show(world, user)
    assert said("tasksview.no_tasks") in text
    assert said("tasksview.no_findings") in text


async def test_a_year_without_a_plan_is_said_clearly(world: BotWorld) -> None:
    user = await world.join(1001)
    world.clock.set(datetime(2026, 1, 2, 9, 0, tzinfo=SHANGHAI))
    [text] = await show(world, user)
    assert text == said("tasksview.no_plan", year=2026)


async def test_a_long_list_is_split_under_telegrams_limit(world: BotWorld) -> None:
    tasks = [
        task(f"T{n:02d}", f"第 {n} 项任务：" + "建设" * 150, date(2025, 12, 31)) for n in range(40)
    ]
    import_tasks(world.uow(), OPERATOR, 2025, tasks)
    user = await world.join(1001)
    texts = await show(world, user)
    assert len(texts) > 1
    assert all(utf16_length(t) <= 4096 for t in texts)
    joined = "\n".join(texts)
    positions = [joined.index(f" T{n:02d} ") for n in range(40)]
    assert positions == sorted(positions)
    assert said("tasksview.no_findings") in texts[-1]


async def test_tasks_is_for_liaisons_only(world: BotWorld) -> None:
    coordinator = await world.join(2001, Role.COORDINATOR, None, "李四")
    assert await say(world, coordinator, "/tasks") == said("common.not_for_your_role")


async def test_tasks_leaves_a_report_in_progress_alone(world: BotWorld) -> None:
    import_tasks(world.uow(), OPERATOR, 2025, [task("T1", "招商引资", None)])
    user = await world.join(1001)
    await send(world, user, "/report")
    await choose(world, user, "monthly.fill_button")
    await show(world, user)
    # The status buttons are on the newest message with buttons, above /tasks's answer.
    figure = await choose(world, user, "monthly.status_on_track")
    assert figure.text == said(
        "monthly.ask_figure", code="T1", status="on_track", limit=MAX_FIGURE
    )


async def test_the_month_reports_show_what_is_done_overdue_and_due_next(world: BotWorld) -> None:
    world.clock.set(datetime(2025, 1, 10, 9, 0, tzinfo=SHANGHAI))
    import_tasks(world.uow(), OPERATOR, 2025, [task("T1", "招商引资", date(2025, 6, 30))])
    user = await world.join(1001)
    actor = liaison(world)
    assert actor.unit_id is not None
    [t1] = tasks_of_unit(world.uow(), actor, actor.unit_id, 2025)
    world.clock.set(datetime(2025, 2, 3, 9, 0, tzinfo=SHANGHAI))
    entries = [ReportEntryInput(t1.id, "on_track", "10%")]
    submit_report(world.uow(), actor, actor.unit_id, 2025, 1, entries)
    world.clock.set(datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI))
    [text] = await show(world, user)
    months = said(
        "tasksview.months",
        **{
            **NO_MONTHS,
            "on_time": [1],
            "overdue": [{"month": 2, "due": date(2025, 3, 5)}],
            "pending": [{"month": 3, "due": date(2025, 4, 5)}],
        },
    )
    assert f"\n{months}\n" in text  # the whole block, February before March


async def test_an_overdue_month_report_no_longer_offers_is_not_sent_to_it(world: BotWorld) -> None:
    world.clock.set(datetime(2025, 1, 10, 9, 0, tzinfo=SHANGHAI))
    import_tasks(world.uow(), OPERATOR, 2025, [task("T1", "招商引资", date(2025, 6, 30))])
    user = await world.join(1001)
    world.clock.set(datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI))
    [text] = await show(world, user)
    # January can no longer be reported (/report offers March and February): not sent there.
    january = {"month": 1, "due": date(2025, 2, 5)}
    february = {"month": 2, "due": date(2025, 3, 5)}
    march = {"month": 3, "due": date(2025, 4, 5)}
    months = said(
        "tasksview.months",
        **{**NO_MONTHS, "too_late": [january], "overdue": [february], "pending": [march]},
    )
    assert f"\n{months}\n" in text
    sent_to_report = said("tasksview.months", **{**NO_MONTHS, "overdue": [january]})
    assert sent_to_report.splitlines()[-1] not in text
