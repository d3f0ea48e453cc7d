"""/report: the monthly progress report, step by step, with every bad input and a restart."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.dialogs.report import MAX_NOTE, check_figure, check_note
from bot.fake_bot_api import FakeUser
from services.access import Role
from services.evidence import register_evidence
from services.reports import MAX_FIGURE, ReportEntryInput, report_history, submit_report
from services.tasks import TaskInput, import_tasks, tasks_of_unit
from services.unit_report import year_records
from storage.models import ReportEvidence
from storage.repositories.evidence import EvidenceFiles
from tests.bot.steps import answer, choose, labels, newest_with, send, tap
from tests.bot.world import (
    OPERATOR,
    SHANGHAI,
    BotWorld,
    actor_of,
    bot_world,
    draft,
    new_application,
)
from tests.fakes.bot_api import record_errors, tiny_png
from tests.texts import said, text_of

TASKS = [
    TaskInput(
        "dianzi", "T1", "招商引资项目落地", target="签约 5 个项目", due_date=date(2025, 6, 30)
    ),
    TaskInput("dianzi", "T2", "老旧小区改造", target="完成 3 个小区", due_date=date(2025, 9, 30)),
]


pytestmark = pytest.mark.usefixtures("no_handler_errors")


def seed_tasks(world: BotWorld, tasks: list[TaskInput] = TASKS) -> None:
    """The unit's target tasks of 2025."""
    import_tasks(world.uow(), OPERATOR, 2025, [_with_item(t) for t in tasks])


def _with_item(task: TaskInput) -> TaskInput:
    return TaskInput(
        task.unit,
        task.code,
        task.title,
        task.source_document,
        task.target,
        task.due_date,
        "key_work",
    )


def task_ids(world: BotWorld) -> list[int]:
    """The ids of the unit's tasks, by code."""
    actor = actor_of(world, 1001)
    assert actor.unit_id is not None
    return [t.id for t in tasks_of_unit(world.uow(), actor, actor.unit_id, 2025)]


def history(world: BotWorld, month: int) -> list[Any]:
    """Every stored version of the unit's report for a month."""
    actor = actor_of(world, 1001)
    assert actor.unit_id is not None
    return report_history(world.uow(), actor, actor.unit_id, 2025, month)


async def start(world: BotWorld, tasks: list[TaskInput] = TASKS, month: int = 3) -> FakeUser:
    """A liaison of 店子镇 with tasks who sent /report and has `month` open (on 10 March the
    overdue February comes first: March is then chosen with its button)."""
    seed_tasks(world, tasks)
    user = await world.join(1001)
    await reopen(world, user, month)
    return user


async def reopen(world: BotWorld, user: FakeUser, month: int = 3) -> None:
    """Send /report again and open `month` (February, overdue on 10 March, comes first)."""
    await send(world, user, "/report")
    other_month = text_of("monthly.other_month_button", month=month)
    if other_month in labels(world, user):  # another month is open: change to this one
        await tap(world, user, other_month)


async def fill(
    world: BotWorld, user: FakeUser, status: str, figure: str, note: str | None
) -> None:
    """Answer one task: status (not_started, on_track, behind, done), figure (typed), note
    (typed, or "no note"), no files."""
    await choose(world, user, f"monthly.status_{status}")
    await send(world, user, figure)
    if note is None:
        await choose(world, user, "monthly.no_note_button")
    else:
        await send(world, user, note)
    await choose(world, user, "monthly.skip_button")


# -- what the bot says, rendered from the catalog with the values it uses ----------------------

DUE = {2: "2025-03-05", 3: "2025-04-05"}  # the default plan: due on the 5th of the next month
# The default plan's costs of a late and of a missing report (said while a month is overdue).
COSTS = {
    "late_item": "基础工作",
    "late_points": 1,
    "missing_item": "基础工作",
    "missing_points": 2,
}


def opening(month: int = 3, **values: Any) -> str:
    """The first message of /report for a month of 店子镇 with the two TASKS."""
    defaults: dict[str, Any] = {
        "overdue": False, "late": False, "done": 0, "existing": False, "version": 0, "at": "",
        "on_time": False, "count": 2, **COSTS,
    }  # fmt: skip
    return said(
        "monthly.intro", unit="店子镇", year=2025, month=month, due=DUE[month],
        **{**defaults, **values},
    )  # fmt: skip


def other_month(month: int) -> str:
    """The label of the button that changes to `month`."""
    return text_of("monthly.other_month_button", month=month)


def ask_status(n: int, task: TaskInput, total: int = 2, **values: Any) -> str:
    """The status question of the n-th task (values: last_month, last_status, current_...)."""
    defaults: dict[str, Any] = {
        "last_month": None, "last_status": None, "last_figure": "", "current_status": None,
        "current_figure": "", "current_files": 0,
    }  # fmt: skip
    due = task.due_date.isoformat() if task.due_date else None
    return said(
        "monthly.ask_status", n=n, total=total, code=task.code, title=task.title,
        target=task.target, due=due, **{**defaults, **values},
    )  # fmt: skip


def ask_figure(code: str = "T1") -> str:
    """The question for a task's figure."""
    return said("monthly.ask_figure", code=code, limit=MAX_FIGURE)


def ask_note(code: str = "T1", behind: bool = False) -> str:
    """The question for a task's note (with the reasons asked when it is behind)."""
    return said("monthly.ask_note", code=code, behind=behind, limit=MAX_NOTE)


def ask_files(code: str = "T1", count: int = 0) -> str:
    """The question for a task's files."""
    return said("monthly.ask_files", code=code, count=count)


def summary_task(
    n: int, task: TaskInput, status: str, figure: str, note: str = "", files: int = 0
) -> str:
    """One task's block of the summary."""
    return said(
        "monthly.summary_task", n=n, code=task.code, title=task.title, status=status,
        figure=figure, note=note, files=files,
    )  # fmt: skip


def summary_of(
    month: int = 3, *tasks: str, version: int = 0, kept: int = 0, late: bool = False
) -> str:
    """The whole summary of 店子镇's report: header, the tasks' blocks, footer."""
    header = said(
        "monthly.summary_header", unit="店子镇", year=2025, month=month, count=len(tasks),
        version=version, kept=kept,
    )  # fmt: skip
    return "\n".join([header, *tasks, said("monthly.summary_footer", late=late)])


def receipt_of(
    world: BotWorld, month: int = 3, files: int = 0, at: str = "2025-03-10 10:00"
) -> str:
    """The receipt of the newest stored version of 店子镇's report for `month` (of two tasks),
    sent at `at`."""
    stored = history(world, month)[-1]
    return said(
        "monthly.receipt", unit="店子镇", year=2025, month=month, receipt=stored.receipt,
        at=at, on_time=stored.on_time, due=DUE[month], version=stored.version, tasks=2,
        files=files,
    )  # fmt: skip


# -- the month ----------------------------------------------------------------------------------


async def test_the_previous_month_is_due_until_its_deadline(world: BotWorld) -> None:
    world.clock.set(datetime(2025, 3, 5, 23, 0, tzinfo=SHANGHAI))
    user = await start(world, month=2)
    intro = world.last(user)
    assert intro.text == opening(2)
    assert other_month(3) in labels(world, user)


async def test_an_overdue_month_comes_first_named_late_with_what_late_and_missing_cost(
    world: BotWorld,
) -> None:
    world.clock.set(datetime(2025, 3, 6, 0, 0, tzinfo=SHANGHAI))
    seed_tasks(world)
    user = await world.join(1001)
    await send(world, user, "/report")
    # The default plan (COSTS): 1 point off 基础工作 for a late report, 2 for a missing one.
    assert world.last(user).text == opening(2, overdue=True)
    assert other_month(3) in labels(world, user)
    march = await choose(world, user, "monthly.other_month_button", month=3)
    assert march.text == opening(3)
    assert other_month(2) in labels(world, user)


async def test_once_the_overdue_month_is_reported_the_current_month_is_the_default(
    world: BotWorld,
) -> None:
    user = await start(world, month=2)  # 10 March: February overdue, offered first
    await choose(world, user, "monthly.fill_button")
    await fill(world, user, "on_track", "60%", "顺利")
    await fill(world, user, "not_started", "0%", None)
    await choose(world, user, "monthly.confirm_button")
    await send(world, user, "/report")
    assert world.last(user).text == opening(3)
    assert other_month(2) in labels(world, user)


async def test_a_month_not_yet_started_is_not_offered(world: BotWorld) -> None:
    user = await start(world)  # 10 March
    months = [other_month(m) for m in range(1, 13)]
    assert [label for label in labels(world, user) if label in months] == [other_month(2)]


async def test_without_tasks_there_is_nothing_to_report(world: BotWorld) -> None:
    user = await world.join(1001)
    await send(world, user, "/report")
    assert world.texts(user)[-1] == said("monthly.no_tasks", year=2025)
    assert draft(world, 1001, "report") is None


async def test_without_a_plan_for_the_year_the_report_says_so(world: BotWorld) -> None:
    seed_tasks(world)
    user = await world.join(1001)
    world.clock.set(datetime(2026, 2, 10, 10, 0, tzinfo=SHANGHAI))
    await send(world, user, "/report")
    assert world.texts(user)[-1] == said("monthly.no_plan", year=2026)


# -- a whole report ---------------------------------------------------------------------------


async def test_a_complete_report_ends_with_a_receipt_and_is_stored(world: BotWorld) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    assert world.last(user).text == ask_status(1, TASKS[0])
    await fill(world, user, "on_track", "60", "已签约 3 个项目")
    assert world.last(user).text == ask_status(2, TASKS[1])
    await fill(world, user, "not_started", "0%", None)
    assert world.last(user).text == summary_of(
        3,
        summary_task(1, TASKS[0], "on_track", "60%", "已签约 3 个项目"),
        summary_task(2, TASKS[1], "not_started", "0%"),
    )
    await choose(world, user, "monthly.confirm_button")
    [stored] = history(world, 3)
    assert stored.on_time and stored.receipt == "R2025-03-0002-v1"
    assert world.texts(user)[-1] == receipt_of(world)
    assert [(e.task_code, e.status, e.figure, e.note) for e in stored.entries] == [
        ("T1", "on_track", "60%", "已签约 3 个项目"),
        ("T2", "not_started", "0%", ""),
    ]
    assert draft(world, 1001, "report") is None


async def test_quick_figures_fill_a_task_not_started_or_done(world: BotWorld) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await choose(world, user, "monthly.status_done")
    await tap(world, user, "100%")
    await choose(world, user, "monthly.no_note_button")
    await choose(world, user, "monthly.skip_button")
    await choose(world, user, "monthly.status_not_started")
    await tap(world, user, "0%")
    await choose(world, user, "monthly.no_note_button")
    await choose(world, user, "monthly.skip_button")
    await choose(world, user, "monthly.confirm_button")
    [stored] = history(world, 3)
    assert [(e.status, e.figure) for e in stored.entries] == [
        ("done", "100%"),
        ("not_started", "0%"),
    ]


async def test_a_late_report_is_accepted_and_marked_late(world: BotWorld) -> None:
    user = await start(world)  # 10 March: February was due on 5 March
    await choose(world, user, "monthly.other_month_button", month=2)
    await choose(world, user, "monthly.fill_button")
    await fill(world, user, "behind", "20%", "资金未到位，正在协调")
    await fill(world, user, "not_started", "0", None)
    assert world.last(user).text == summary_of(
        2,
        summary_task(1, TASKS[0], "behind", "20%", "资金未到位，正在协调"),
        summary_task(2, TASKS[1], "not_started", "0%"),
        late=True,
    )
    await choose(world, user, "monthly.confirm_button")
    [stored] = history(world, 2)
    assert not stored.on_time
    assert world.texts(user)[-1] == receipt_of(world, 2)


async def test_same_as_last_month_copies_every_task_in_one_tap(world: BotWorld) -> None:
    seed_tasks(world)
    user = await world.join(1001)
    actor = actor_of(world, 1001)
    assert actor.unit_id is not None
    t1, t2 = task_ids(world)
    world.clock.set(datetime(2025, 2, 20, 9, 0, tzinfo=SHANGHAI))
    february = [
        ReportEntryInput(t1, "on_track", "40%", "推进中"),
        ReportEntryInput(t2, "behind", "10%", "拆迁未完成"),
    ]
    submit_report(world.uow(), actor, actor.unit_id, 2025, 2, february)
    world.clock.set(datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI))
    await send(world, user, "/report")
    await choose(world, user, "monthly.same_button", month=2)
    assert world.last(user).text == summary_of(
        3,
        summary_task(1, TASKS[0], "on_track", "40%", "推进中"),
        summary_task(2, TASKS[1], "behind", "10%", "拆迁未完成"),
    )
    await choose(world, user, "monthly.confirm_button")
    [stored] = history(world, 3)
    assert [(e.task_id, e.status, e.figure, e.note) for e in stored.entries] == [
        (e.task_id, e.status, e.figure, e.note) for e in february
    ]


async def test_same_as_last_month_asks_only_for_a_task_added_since(world: BotWorld) -> None:
    seed_tasks(world, TASKS[:1])
    user = await world.join(1001)
    actor = actor_of(world, 1001)
    assert actor.unit_id is not None
    [t1] = task_ids(world)
    world.clock.set(datetime(2025, 2, 20, 9, 0, tzinfo=SHANGHAI))
    submit_report(
        world.uow(), actor, actor.unit_id, 2025, 2, [ReportEntryInput(t1, "on_track", "40%")]
    )
    world.clock.set(datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI))
    seed_tasks(world)
    await send(world, user, "/report")
    await choose(world, user, "monthly.same_button", month=2)
    assert world.last(user).text == ask_status(2, TASKS[1], last_month=2)
    await fill(world, user, "on_track", "1 个小区开工", None)
    assert world.last(user).text == summary_of(
        3,
        summary_task(1, TASKS[0], "on_track", "40%"),
        summary_task(2, TASKS[1], "on_track", "1 个小区开工"),
    )
    await choose(world, user, "monthly.confirm_button")
    assert [e.figure for e in history(world, 3)[0].entries] == ["40%", "1 个小区开工"]


async def test_a_task_done_before_is_prefilled_and_can_be_kept_in_one_tap(
    world: BotWorld,
) -> None:
    seed_tasks(world)
    user = await world.join(1001)
    actor = actor_of(world, 1001)
    assert actor.unit_id is not None
    t1, t2 = task_ids(world)
    world.clock.set(datetime(2025, 2, 20, 9, 0, tzinfo=SHANGHAI))
    entries = [
        ReportEntryInput(t1, "done", "100%", "全部签约"),
        ReportEntryInput(t2, "behind", "5"),
    ]
    submit_report(world.uow(), actor, actor.unit_id, 2025, 2, entries)
    world.clock.set(datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI))
    await send(world, user, "/report")
    assert world.last(user).text == opening(3, done=1)
    await choose(world, user, "monthly.fill_button")
    assert world.last(user).text == ask_status(
        1, TASKS[0], last_month=2, last_status="done", last_figure="100%",
        current_status="done", current_figure="100%",
    )  # fmt: skip
    await choose(world, user, "monthly.keep_entry_button")
    assert world.last(user).text == ask_status(
        2, TASKS[1], last_month=2, last_status="behind", last_figure="5"
    )
    await fill(world, user, "on_track", "30%", "已恢复施工")
    await choose(world, user, "monthly.confirm_button")
    stored = history(world, 3)[0].entries
    assert [(e.status, e.figure, e.note) for e in stored] == [
        ("done", "100%", "全部签约"),
        ("on_track", "30%", "已恢复施工"),
    ]


async def test_a_report_already_sent_can_be_corrected_as_version_two(world: BotWorld) -> None:
    seed_tasks(world)
    user = await world.join(1001)
    actor = actor_of(world, 1001)
    assert actor.unit_id is not None
    t1, t2 = task_ids(world)
    world.clock.set(datetime(2025, 3, 2, 9, 0, tzinfo=SHANGHAI))
    first = [
        ReportEntryInput(t1, "on_track", "40%", "推进中"),
        ReportEntryInput(t2, "behind", "5"),
    ]
    submit_report(world.uow(), actor, actor.unit_id, 2025, 2, first)
    world.clock.set(datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI))
    await send(world, user, "/report")
    assert world.last(user).text == opening(
        2, existing=True, version=1, at="2025-03-02 09:00", on_time=True
    )
    await choose(world, user, "monthly.correct_button")
    assert world.last(user).text == summary_of(
        2,
        summary_task(1, TASKS[0], "on_track", "40%", "推进中"),
        summary_task(2, TASKS[1], "behind", "5"),
        version=1,
    )
    await choose(world, user, "monthly.change_button")
    await tap(world, user, "2. T2 老旧小区改造")
    assert world.last(user).text == ask_status(
        2, TASKS[1], current_status="behind", current_figure="5"
    )
    await fill(world, user, "on_track", "15%", "已追回进度")
    assert world.last(user).text == summary_of(
        2,
        summary_task(1, TASKS[0], "on_track", "40%", "推进中"),
        summary_task(2, TASKS[1], "on_track", "15%", "已追回进度"),
        version=1,
    )
    await choose(world, user, "monthly.confirm_button")
    assert world.texts(user)[-1] == receipt_of(world, 2, at="2025-03-03 09:00")
    versions = history(world, 2)
    assert [v.version for v in versions] == [1, 2]
    assert [(e.status, e.figure) for e in versions[0].entries] == [
        ("on_track", "40%"),
        ("behind", "5"),
    ]
    assert [(e.status, e.figure) for e in versions[1].entries] == [
        ("on_track", "40%"),
        ("on_track", "15%"),
    ]


async def test_a_correction_keeps_the_evidence_of_the_version_it_corrects(
    world: BotWorld,
) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await choose(world, user, "monthly.status_on_track")
    await send(world, user, "50%")
    await send(world, user, "照片为证")
    user.send_photo(tiny_png())
    await world.step()
    await choose(world, user, "evidence.done_button", count=1)
    await fill(world, user, "not_started", "0", None)
    await choose(world, user, "monthly.confirm_button")
    await reopen(world, user)
    await choose(world, user, "monthly.correct_button")
    assert world.last(user).text == summary_of(  # no evidence kept apart from the tasks'
        3,
        summary_task(1, TASKS[0], "on_track", "50%", "照片为证", files=1),
        summary_task(2, TASKS[1], "not_started", "0%"),
        version=1,
    )
    await choose(world, user, "monthly.confirm_button")
    assert world.texts(user)[-1] == receipt_of(world, files=1)
    first, second = history(world, 3)
    assert first.evidence_ids == second.evidence_ids and len(first.evidence_ids) == 1
    assert [e.files for e in second.entries] == [first.evidence_ids, ()]


async def test_files_of_a_version_stored_without_their_task_stay_with_the_report(
    world: BotWorld,
) -> None:
    seed_tasks(world)
    user = await world.join(1001)
    actor = actor_of(world, 1001)
    assert actor.unit_id is not None
    photo = register_evidence(
        world.uow(), actor, "photo", "file-1", "unique-1", None, "image/png", None,
        tiny_png(), world.deps.archive,
    )  # fmt: skip
    entries = [ReportEntryInput(t, "on_track", "40%") for t in task_ids(world)]
    submit_report(world.uow(), actor, actor.unit_id, 2025, 3, entries, [photo.id])
    await reopen(world, user)
    await choose(world, user, "monthly.correct_button")
    assert world.last(user).text == summary_of(
        3,
        summary_task(1, TASKS[0], "on_track", "40%"),
        summary_task(2, TASKS[1], "on_track", "40%"),
        version=1,
        kept=1,
    )
    await choose(world, user, "monthly.confirm_button")
    assert world.texts(user)[-1] == receipt_of(world, files=1)
    assert history(world, 3)[1].report_files == (photo.id,)


async def test_a_photo_sent_for_two_tasks_proves_both_and_every_count_agrees(
    world: BotWorld,
) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await choose(world, user, "monthly.status_on_track")
    await send(world, user, "60%")
    await send(world, user, "现场照片")
    user.send_album([tiny_png(4, 3), tiny_png(5, 5)])
    await world.step()
    await choose(world, user, "evidence.done_button", count=2)
    await choose(world, user, "monthly.status_on_track")
    await send(world, user, "30%")
    await send(world, user, "同一现场")
    user.send_photo(tiny_png(4, 3))  # the first task's first photo again
    await world.step()
    await choose(world, user, "evidence.done_button", count=1)
    assert world.last(user).text == summary_of(
        3,
        summary_task(1, TASKS[0], "on_track", "60%", "现场照片", files=2),
        summary_task(2, TASKS[1], "on_track", "30%", "同一现场", files=1),
    )
    await choose(world, user, "monthly.confirm_button")
    assert world.texts(user)[-1] == receipt_of(world, files=3)
    [stored] = history(world, 3)
    assert [len(e.files) for e in stored.entries] == [2, 1]
    assert stored.entries[1].files[0] == stored.entries[0].files[0]
    assert stored.file_count == 3 and len(stored.evidence_ids) == 2
    with world.uow() as uow:
        rows = uow.session.execute(select(ReportEvidence.task_id)).scalars().all()
    assert sorted(rows) == sorted([stored.entries[0].task_id] * 2 + [stored.entries[1].task_id])
    records = year_records(world.uow(), 2025, unit="dianzi")["dianzi"]
    assert [(t.code, t.files) for t in records.tasks] == [("T1", 2), ("T2", 1)]


async def test_change_a_task_from_the_summary_and_go_back(world: BotWorld) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await fill(world, user, "on_track", "60%", "顺利")
    await fill(world, user, "not_started", "0%", None)
    await choose(world, user, "monthly.change_button")
    entered = summary_of(
        3,
        summary_task(1, TASKS[0], "on_track", "60%", "顺利"),
        summary_task(2, TASKS[1], "not_started", "0%"),
    )
    await choose(world, user, "monthly.back_button")
    assert world.last(user).text == entered
    await choose(world, user, "monthly.change_button")
    await tap(world, user, "1. T1 招商引资项目落地")
    await choose(world, user, "monthly.status_on_track")
    await choose(world, user, "monthly.keep_button", value="60%")
    await choose(world, user, "monthly.keep_note_button")
    await choose(world, user, "monthly.skip_button")
    assert world.last(user).text == entered
    await choose(world, user, "monthly.confirm_button")
    assert [(e.figure, e.note) for e in history(world, 3)[0].entries] == [
        ("60%", "顺利"),
        ("0%", ""),
    ]


async def test_cancel_drops_the_draft_and_stores_nothing(world: BotWorld) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await fill(world, user, "on_track", "60%", "顺利")
    await fill(world, user, "not_started", "0%", None)
    await choose(world, user, "monthly.cancel_button")
    assert world.texts(user)[-1] == said("monthly.cancelled")
    assert draft(world, 1001, "report") is None
    assert history(world, 3) == []


async def test_cancelling_a_correction_says_the_submitted_version_stands(
    world: BotWorld,
) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await fill(world, user, "on_track", "60%", "顺利")
    await fill(world, user, "not_started", "0%", None)
    await choose(world, user, "monthly.confirm_button")
    await reopen(world, user)
    await choose(world, user, "monthly.correct_button")
    await choose(world, user, "monthly.cancel_button")
    cancelled = world.texts(user)[-1]
    expected = said("monthly.cancelled_correction", version=1, receipt="R2025-03-0002-v1")
    assert cancelled == expected
    assert cancelled != said("monthly.cancelled")
    assert [v.version for v in history(world, 3)] == [1]


# -- photos and documents ---------------------------------------------------------------------


async def test_an_album_of_three_photos_makes_one_status_message_and_three_files(
    world: BotWorld,
) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await choose(world, user, "monthly.status_on_track")
    await send(world, user, "60%")
    await send(world, user, "现场照片三张")
    before = len(world.server.messages_to(user.id))
    user.send_album([tiny_png(4, 3), tiny_png(5, 5), tiny_png(6, 2)])
    await world.step()
    new = world.server.messages_to(user.id)[before:]
    assert len(new) == 1
    assert new[0].text == said("evidence.status", count=3)
    await choose(world, user, "evidence.done_button", count=3)
    await fill(world, user, "not_started", "0%", None)
    assert world.last(user).text == summary_of(
        3,
        summary_task(1, TASKS[0], "on_track", "60%", "现场照片三张", files=3),
        summary_task(2, TASKS[1], "not_started", "0%"),
    )
    await choose(world, user, "monthly.confirm_button")
    assert world.texts(user)[-1] == receipt_of(world, files=3)
    [stored] = history(world, 3)
    assert len(stored.evidence_ids) == 3
    with world.uow() as uow:
        kinds = [uow.repository(EvidenceFiles).by_id(i) for i in stored.evidence_ids]
        assert [row.kind for row in kinds if row is not None] == ["photo"] * 3


async def test_a_file_of_the_wrong_kind_is_refused_and_the_files_step_stays(
    world: BotWorld,
) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await choose(world, user, "monthly.status_on_track")
    await send(world, user, "60%")
    await send(world, user, "说明")
    user.send_document(b"PK\x03\x04zip", "材料.zip", "application/zip")
    await world.step()
    assert world.texts(user)[-2] == said("common.file_kind_not_accepted")
    assert world.texts(user)[-1] == ask_files()
    user.send_document(b"%PDF-1.4", "材料.pdf", "application/pdf")
    await world.step()
    assert world.texts(user)[-1] == said("evidence.status", count=1)


async def test_a_file_over_20_mb_is_refused_and_the_files_step_stays(world: BotWorld) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await choose(world, user, "monthly.status_on_track")
    await send(world, user, "60%")
    await send(world, user, "说明")
    user.send_document(b"%PDF-1.4", "大文件.pdf", "application/pdf", file_size=21 * 1024 * 1024)
    await world.step()
    assert world.texts(user)[-2] == said("common.file_too_large", mb=20)
    assert world.texts(user)[-1] == ask_files()
    assert draft(world, 1001, "report").step == "files"
    assert draft(world, 1001, "report").data.get("files", []) == []


async def test_text_at_the_files_step_asks_for_files_or_a_button(world: BotWorld) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await choose(world, user, "monthly.status_on_track")
    await send(world, user, "60%")
    await send(world, user, "说明")
    await send(world, user, "照片稍后发")
    assert world.texts(user)[-2] == said("monthly.files_want_files")
    await choose(world, user, "monthly.skip_button")
    assert world.last(user).text == ask_status(2, TASKS[1])


async def test_a_photo_where_text_is_wanted_is_refused(world: BotWorld) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await choose(world, user, "monthly.status_on_track")
    user.send_photo(tiny_png())
    await world.step()
    assert world.texts(user)[-2] == said("dialog.no_file_here")
    assert world.texts(user)[-1] == ask_figure()
    assert draft(world, 1001, "report").step == "figure"


# -- bad input ------------------------------------------------------------------------------------


def test_the_figure_rule() -> None:
    assert check_figure("60") == ("60%", None)
    assert check_figure("60%") == ("60%", None)
    assert check_figure(" 完成投资  1.2 亿元 ") == ("完成投资 1.2 亿元", None)
    assert check_figure("150") == ("150", None)
    assert check_figure("进展顺利") == ("", "monthly.figure_no_number")
    assert check_figure("1" * 101) == ("", "monthly.figure_too_long")
    assert check_figure("-0") == ("0%", None)
    assert check_figure("-0.0%") == ("0%", None)
    assert check_figure("+60") == ("60%", None)
    assert check_figure("60 %") == ("60%", None)
    assert check_figure("-5") == ("-5", None)
    for infinite in ("1e309", "投资 1E400 元", "9e999%"):
        assert check_figure(infinite) == ("", "monthly.figure_not_finite"), infinite
    assert check_figure("1e5") == ("1e5", None)
    assert check_figure("inf") == ("", "monthly.figure_no_number")
    assert check_figure("nan%") == ("", "monthly.figure_no_number")


async def test_an_infinite_figure_is_refused_and_asked_again(world: BotWorld) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await choose(world, user, "monthly.status_on_track")
    await send(world, user, "1e309")
    answers = world.texts(user)
    assert answers[-2:] == [said("monthly.figure_not_finite"), ask_figure()]
    await send(world, user, "-0")
    await send(world, user, "尚未开工")
    await choose(world, user, "monthly.skip_button")
    await fill(world, user, "not_started", "0", None)
    assert world.last(user).text == summary_of(
        3,
        summary_task(1, TASKS[0], "on_track", "0%", "尚未开工"),
        summary_task(2, TASKS[1], "not_started", "0%"),
    )


def test_the_note_rule() -> None:
    assert check_note("已签约") is None
    assert check_note("…") == "monthly.note_empty"
    assert check_note("字" * 501) == "monthly.note_too_long"


async def test_a_figure_that_is_not_a_number_is_refused_and_asked_again(world: BotWorld) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await choose(world, user, "monthly.status_on_track")
    await send(world, user, "进展顺利")
    assert world.texts(user)[-2:] == [said("monthly.figure_no_number"), ask_figure()]
    await send(world, user, "x" * 99 + "1" * 2)
    assert world.texts(user)[-2] == said("monthly.figure_too_long", length=101, limit=100)
    await send(world, user, "60%")
    assert world.texts(user)[-1] == ask_note()


async def test_an_empty_note_is_refused_with_a_hint(world: BotWorld) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await choose(world, user, "monthly.status_on_track")
    await send(world, user, "60%")
    await send(world, user, "。。。")
    assert world.texts(user)[-2] == said("monthly.note_empty", behind=False)
    await send(world, user, "字" * 501)
    assert world.texts(user)[-2] == said("monthly.note_too_long", length=501, limit=500)
    await choose(world, user, "monthly.no_note_button")
    assert world.texts(user)[-1] == ask_files()


async def test_a_task_that_is_behind_needs_a_note(world: BotWorld) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await choose(world, user, "monthly.status_behind")
    await send(world, user, "20%")
    prompt = world.last(user)
    assert prompt.text == ask_note(behind=True)
    assert prompt.buttons == []
    await send(world, user, "-")
    assert world.texts(user)[-2] == said("monthly.note_empty", behind=True)
    await send(world, user, "资金未到位")
    assert draft(world, 1001, "report").step == "files"


async def test_text_where_a_button_is_expected_is_answered_and_the_step_shown_again(
    world: BotWorld,
) -> None:
    user = await start(world)
    await send(world, user, "开始")
    assert world.texts(user)[-2:] == [said("dialog.use_buttons"), opening()]
    assert text_of("monthly.fill_button") in labels(world, user)
    await choose(world, user, "monthly.fill_button")
    await send(world, user, "正常")
    assert world.texts(user)[-2:] == [said("dialog.use_buttons"), ask_status(1, TASKS[0])]
    assert draft(world, 1001, "report").step == "status"


async def test_a_button_of_an_earlier_step_does_nothing_and_the_step_is_shown_again(
    world: BotWorld,
) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    status_question = newest_with(world, user, "正常推进")
    await choose(world, user, "monthly.status_on_track")
    # Tapped before the bot closed the message (a slow connection): the button is stale.
    user.tap(status_question, status_question.callback_data("已完成"), strict=False)
    await world.step()
    assert world.texts(user)[-2:] == [said("monthly.button_not_now"), ask_figure()]
    assert draft(world, 1001, "report").data["cur"] == {"status": "on_track"}


async def test_a_button_of_a_finished_dialog_expires_and_the_report_goes_on(
    world: BotWorld,
) -> None:
    seed_tasks(world)
    user = await world.join(1001)
    user.send_command("/language")
    await world.step()
    language = world.last(user)
    user.tap(language, language.callback_data("中文"))
    await world.step()
    await send(world, user, "/report")
    await choose(world, user, "monthly.fill_button")
    query = user.tap(language, language.callback_data("English"), strict=False)
    await world.step()
    assert answer(world, query) == said("common.button_expired")
    await choose(world, user, "monthly.status_on_track")
    assert world.texts(user)[-1] == ask_figure()


async def test_a_confirm_tapped_twice_stores_one_report(world: BotWorld) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await fill(world, user, "on_track", "60%", None)
    await fill(world, user, "not_started", "0%", None)
    summary = newest_with(world, user, "✅ 确认报送")
    await choose(world, user, "monthly.confirm_button")
    # The second tap left the phone before the first one's answer closed the message.
    query = user.tap(summary, summary.callback_data("✅ 确认报送"), strict=False)
    await world.step()
    assert answer(world, query) == said("common.button_expired")
    assert len(history(world, 3)) == 1


async def test_a_forged_button_is_refused_and_the_draft_is_unchanged(world: BotWorld) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    message = newest_with(world, user, "正常推进")
    data = message.callback_data("正常推进")
    forged = data.replace("|st|0:1|", "|st|0:3|")
    assert forged != data
    query = user.tap(message, forged, strict=False)
    await world.step()
    assert answer(world, query) == said("common.button_invalid")
    assert draft(world, 1001, "report").step == "status"


async def test_a_sticker_mid_report_is_answered_and_the_step_shown_again(
    world: BotWorld,
) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await choose(world, user, "monthly.status_on_track")
    user.send_sticker()
    await world.step()
    assert world.texts(user)[-2] == said("common.message_kind_not_used")
    assert world.texts(user)[-1] == ask_figure()
    await send(world, user, "60%")
    assert draft(world, 1001, "report").step == "note"


# -- drafts survive ---------------------------------------------------------------------------


async def test_report_again_offers_to_continue_the_draft_or_start_over(world: BotWorld) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await fill(world, user, "on_track", "60%", "顺利")
    await send(world, user, "/report")
    assert world.texts(user)[-1] == said(
        "monthly.resume_offer", year=2025, month=3, filled=1, total=2
    )
    await choose(world, user, "monthly.continue_button")
    assert world.texts(user)[-1] == ask_status(2, TASKS[1])
    await send(world, user, "/report")
    await choose(world, user, "monthly.start_over_button")
    assert world.texts(user)[-1] == opening(2, overdue=True)  # overdue: it comes first
    assert draft(world, 1001, "report").data["entries"] == {}


async def test_a_restart_mid_report_resumes_exactly_where_the_person_was(
    world: BotWorld,
) -> None:
    user = await start(world)
    await choose(world, user, "monthly.fill_button")
    await fill(world, user, "on_track", "60%", "顺利")
    await choose(world, user, "monthly.status_behind")
    await send(world, user, "20%")
    await world.app.shutdown()  # the bot stops mid-report
    restarted = new_application(world, updater=False)
    await restarted.initialize()
    errors = record_errors(restarted)
    world.app = restarted  # world.step() now feeds the new application
    try:
        await send(world, user, "资金未到位")
        assert world.texts(user)[-1] == ask_files("T2")
        user.send_album([tiny_png(4, 3), tiny_png(5, 5)])
        await world.step()
        await choose(world, user, "evidence.done_button", count=2)
        assert world.last(user).text == summary_of(
            3,
            summary_task(1, TASKS[0], "on_track", "60%", "顺利"),
            summary_task(2, TASKS[1], "behind", "20%", "资金未到位", files=2),
        )
        await choose(world, user, "monthly.confirm_button")
        assert world.texts(user)[-1] == receipt_of(world, files=2)
        [stored] = history(world, 3)
        assert [(e.status, e.figure, e.note) for e in stored.entries] == [
            ("on_track", "60%", "顺利"),
            ("behind", "20%", "资金未到位"),
        ]
        assert len(stored.evidence_ids) == 2
    finally:
        await restarted.shutdown()
    assert errors == []


# -- through the real Updater -------------------------------------------------------------------


async def test_a_complete_report_with_an_album_through_the_real_updater(
    sqlite_template: Path, tmp_path: Path
) -> None:
    async with bot_world(sqlite_template, tmp_path, updater=True) as world:
        seed_tasks(world)
        server = world.server
        user = server.user(1001, first_name="张三")
        errors = record_errors(world.app)

        def last_text() -> str:
            messages = server.messages_to(user.id)
            return messages[-1].text or "" if messages else ""

        def stored_and_receipted() -> bool:
            return bool(history(world, 3)) and last_text() == receipt_of(world, files=3)

        async def tap_polled(label: str, expect: str) -> None:
            """Tap `label`; wait until the bot's last message is `expect`."""
            message = newest_with(world, user, label)
            user.tap(message, message.callback_data(label))
            await server.wait_for(lambda: last_text() == expect)

        async def say_polled(text: str, expect: str) -> None:
            """Type `text`; wait until the bot's last message is `expect`."""
            user.send_text(text)
            await server.wait_for(lambda: last_text() == expect)

        async with world.polling():
            user.send_command("/start", world.invite(Role.LIAISON, "dianzi"))
            await server.wait_for(lambda: "/report" in last_text())
            user.send_command("/report")
            february = opening(2, overdue=True)  # overdue: it comes first
            await server.wait_for(lambda: last_text() == february)
            await tap_polled(other_month(3), opening(3))
            await tap_polled(text_of("monthly.fill_button"), ask_status(1, TASKS[0]))
            await tap_polled(text_of("monthly.status_on_track"), ask_figure())
            await say_polled("60", ask_note())
            await say_polled("现场照片", ask_files())
            photos = [tiny_png(4, 3), tiny_png(5, 5), tiny_png(6, 2)]
            user.send_album(photos)
            three = said("evidence.status", count=3)
            await server.wait_for(lambda: last_text() == three)
            await tap_polled(text_of("evidence.done_button", count=3), ask_status(2, TASKS[1]))
            await tap_polled(text_of("monthly.status_done"), ask_figure("T2"))
            await tap_polled("100%", ask_note("T2"))
            await tap_polled(text_of("monthly.no_note_button"), ask_files("T2"))
            entered = summary_of(
                3,
                summary_task(1, TASKS[0], "on_track", "60%", "现场照片", files=3),
                summary_task(2, TASKS[1], "done", "100%"),
            )
            await tap_polled(text_of("monthly.skip_button"), entered)
            summary = newest_with(world, user, text_of("monthly.confirm_button"))
            user.tap(summary, summary.callback_data(text_of("monthly.confirm_button")))
            await server.wait_for(stored_and_receipted)
        assert last_text() == receipt_of(world, files=3)
        assert len(server.calls("getFile")) == 3
        [stored] = history(world, 3)
        assert stored.on_time
        assert len(stored.evidence_ids) == 3
        with world.uow() as uow:
            rows = [uow.repository(EvidenceFiles).by_id(i) for i in stored.evidence_ids]
            archived = [
                (world.deps.archive.root / row.archive_path).read_bytes()
                for row in rows
                if row is not None and row.archive_path is not None
            ]
        assert archived == photos
        assert errors == []
