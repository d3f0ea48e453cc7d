"""/report: the monthly progress report, step by step, with every bad input and a restart."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bot.dialogs.report import check_figure, check_note
from bot.fake_bot_api import FakeUser
from bot.fake_bot_api.models import BotMessage
from services import dialogs as dialog_service
from services.access import Actor, Role
from services.evidence import register_evidence
from services.people import actor_for_telegram_user, list_people
from services.reports import ReportEntryInput, report_history, submit_report
from services.tasks import TaskInput, import_tasks, tasks_of_unit
from services.unit_report import year_records
from storage.models import ReportEvidence
from storage.repositories.evidence import EvidenceFiles
from templates import render
from tests.bot.world import OPERATOR, SHANGHAI, BotWorld, bot_world, new_application
from tests.fakes.bot_api import record_errors, tiny_png

TASKS = [
    TaskInput(
        "dianzi", "T1", "招商引资项目落地", target="签约 5 个项目", due_date=date(2025, 6, 30)
    ),
    TaskInput("dianzi", "T2", "老旧小区改造", target="完成 3 个小区", due_date=date(2025, 9, 30)),
]


@pytest.fixture
async def world(world: BotWorld) -> AsyncIterator[BotWorld]:
    """The bot world; the test fails if a handler raised."""
    errors = record_errors(world.app)
    yield world
    assert errors == []


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


def liaison(world: BotWorld) -> Actor:
    """The joined liaison as a service actor."""
    actor = actor_for_telegram_user(world.uow(), 1001)
    assert actor is not None
    return actor


def task_ids(world: BotWorld) -> list[int]:
    """The ids of the unit's tasks, by code."""
    actor = liaison(world)
    assert actor.unit_id is not None
    return [t.id for t in tasks_of_unit(world.uow(), actor, actor.unit_id, 2025)]


def history(world: BotWorld, month: int) -> list[Any]:
    """Every stored version of the unit's report for a month."""
    actor = liaison(world)
    assert actor.unit_id is not None
    return report_history(world.uow(), actor, actor.unit_id, 2025, month)


def draft(world: BotWorld) -> Any:
    """The report draft in the database (None when there is none)."""
    person = list_people(world.uow(), OPERATOR)[0]
    return dialog_service.dialog_of_kind(world.uow(), person.id, "report")


def with_button(world: BotWorld, user: FakeUser, label: str) -> BotMessage:
    """The bot's latest message that carries a button labelled `label`."""
    for message in reversed(world.server.messages_to(user.id)):
        if any(text == label for text, _ in message.buttons):
            return message
    raise KeyError(f"no message with a button {label!r}")


async def tap(world: BotWorld, user: FakeUser, label: str) -> str:
    """Tap the button `label` of the latest message offering it; returns the query id."""
    message = with_button(world, user, label)
    query = user.tap(message, message.callback_data(label))
    await world.step()
    return query


async def say(world: BotWorld, user: FakeUser, text: str) -> None:
    """Type a message."""
    user.send_text(text)
    await world.step()


async def start(world: BotWorld, tasks: list[TaskInput] = TASKS) -> FakeUser:
    """A liaison of 店子镇 with tasks who sent /report."""
    seed_tasks(world, tasks)
    user = await world.join(1001)
    user.send_command("/report")
    await world.step()
    return user


async def fill(
    world: BotWorld, user: FakeUser, status: str, figure: str, note: str | None
) -> None:
    """Answer one task: status, figure (typed), note (typed, or "no note"), no files."""
    await tap(world, user, status)
    await say(world, user, figure)
    if note is None:
        await tap(world, user, "无需说明")
    else:
        await say(world, user, note)
    await tap(world, user, "⏭ 跳过")


def answer(world: BotWorld, query: str) -> str:
    """The text the bot answered a tapped button with."""
    answered = world.server.answer_to(query)
    assert answered is not None
    return answered.text or ""


def texts(world: BotWorld, user: FakeUser) -> list[str]:
    """Everything the bot said to the user."""
    return world.texts(user)


# -- the month ----------------------------------------------------------------------------------


async def test_the_previous_month_is_due_until_its_deadline(world: BotWorld) -> None:
    world.clock.set(datetime(2025, 3, 5, 23, 0, tzinfo=SHANGHAI))
    user = await start(world)
    intro = world.last(user)
    assert "2025 年 2 月进展报送" in intro.text
    assert "截止日期：2025-03-05" in intro.text
    assert "📅 改报 3 月" in [label for label, _ in intro.buttons]


async def test_after_the_deadline_the_current_month_is_due_and_the_late_one_can_be_chosen(
    world: BotWorld,
) -> None:
    world.clock.set(datetime(2025, 3, 6, 0, 0, tzinfo=SHANGHAI))
    user = await start(world)
    assert "2025 年 3 月进展报送" in world.last(user).text
    await tap(world, user, "📅 改报 2 月")
    intro = world.last(user)
    assert "2025 年 2 月进展报送" in intro.text
    assert "记为逾期" in intro.text
    assert "📅 改报 3 月" in [label for label, _ in intro.buttons]


async def test_a_month_not_yet_started_is_not_offered(world: BotWorld) -> None:
    user = await start(world)  # 10 March
    labels = [label for label, _ in world.last(user).buttons]
    assert "📅 改报 2 月" in labels
    assert not any("4 月" in label for label in labels)


async def test_without_tasks_there_is_nothing_to_report(world: BotWorld) -> None:
    user = await world.join(1001)
    user.send_command("/report")
    await world.step()
    assert "还没有目标任务" in texts(world, user)[-1]
    assert draft(world) is None


async def test_without_a_plan_for_the_year_the_report_says_so(world: BotWorld) -> None:
    seed_tasks(world)
    user = await world.join(1001)
    world.clock.set(datetime(2026, 2, 10, 10, 0, tzinfo=SHANGHAI))
    user.send_command("/report")
    await world.step()
    assert "2026 年度的考核方案还没有导入" in texts(world, user)[-1]


# -- a whole report ---------------------------------------------------------------------------


async def test_a_complete_report_ends_with_a_receipt_and_is_stored(world: BotWorld) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    assert "任务 1/2" in world.last(user).text
    await fill(world, user, "正常推进", "60", "已签约 3 个项目")
    assert "任务 2/2" in world.last(user).text
    await fill(world, user, "未开始", "0%", None)
    summary = world.last(user).text
    assert "正常推进　60%" in summary
    assert "说明：已签约 3 个项目" in summary
    assert "未开始　0%" in summary
    await tap(world, user, "✅ 确认报送")
    receipt = texts(world, user)[-1]
    assert "回执号：R2025-03-0002-v1" in receipt
    assert "报送时间：2025-03-10 10:00" in receipt
    assert "按时报送" in receipt
    [stored] = history(world, 3)
    assert stored.on_time
    assert [(e.task_code, e.status, e.figure, e.note) for e in stored.entries] == [
        ("T1", "on_track", "60%", "已签约 3 个项目"),
        ("T2", "not_started", "0%", ""),
    ]
    assert draft(world) is None


async def test_quick_figures_fill_a_task_not_started_or_done(world: BotWorld) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    await tap(world, user, "已完成")
    await tap(world, user, "100%")
    await tap(world, user, "无需说明")
    await tap(world, user, "⏭ 跳过")
    await tap(world, user, "未开始")
    await tap(world, user, "0%")
    await tap(world, user, "无需说明")
    await tap(world, user, "⏭ 跳过")
    await tap(world, user, "✅ 确认报送")
    [stored] = history(world, 3)
    assert [(e.status, e.figure) for e in stored.entries] == [
        ("done", "100%"),
        ("not_started", "0%"),
    ]


async def test_a_late_report_is_accepted_and_marked_late(world: BotWorld) -> None:
    user = await start(world)  # 10 March: February was due on 5 March
    await tap(world, user, "📅 改报 2 月")
    await tap(world, user, "📝 逐项填写")
    await fill(world, user, "滞后", "20%", "资金未到位，正在协调")
    await fill(world, user, "未开始", "0", None)
    assert "已过截止时间，提交后记为逾期" in world.last(user).text
    await tap(world, user, "✅ 确认报送")
    receipt = texts(world, user)[-1]
    assert "逾期报送" in receipt
    assert "截止日期为 2025-03-05" in receipt
    [stored] = history(world, 2)
    assert not stored.on_time


async def test_same_as_last_month_copies_every_task_in_one_tap(world: BotWorld) -> None:
    seed_tasks(world)
    user = await world.join(1001)
    actor = liaison(world)
    assert actor.unit_id is not None
    t1, t2 = task_ids(world)
    world.clock.set(datetime(2025, 2, 20, 9, 0, tzinfo=SHANGHAI))
    february = [
        ReportEntryInput(t1, "on_track", "40%", "推进中"),
        ReportEntryInput(t2, "behind", "10%", "拆迁未完成"),
    ]
    submit_report(world.uow(), actor, actor.unit_id, 2025, 2, february)
    world.clock.set(datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI))
    user.send_command("/report")
    await world.step()
    await tap(world, user, "📋 与 2 月相同")
    summary = world.last(user)
    assert "请核对" in summary.text
    assert "说明：拆迁未完成" in summary.text
    await tap(world, user, "✅ 确认报送")
    [stored] = history(world, 3)
    assert [(e.task_id, e.status, e.figure, e.note) for e in stored.entries] == [
        (e.task_id, e.status, e.figure, e.note) for e in february
    ]


async def test_same_as_last_month_asks_only_for_a_task_added_since(world: BotWorld) -> None:
    seed_tasks(world, TASKS[:1])
    user = await world.join(1001)
    actor = liaison(world)
    assert actor.unit_id is not None
    [t1] = task_ids(world)
    world.clock.set(datetime(2025, 2, 20, 9, 0, tzinfo=SHANGHAI))
    submit_report(
        world.uow(), actor, actor.unit_id, 2025, 2, [ReportEntryInput(t1, "on_track", "40%")]
    )
    world.clock.set(datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI))
    seed_tasks(world)
    user.send_command("/report")
    await world.step()
    await tap(world, user, "📋 与 2 月相同")
    assert "任务 2/2" in world.last(user).text
    await fill(world, user, "正常推进", "1 个小区开工", None)
    assert "请核对" in world.last(user).text
    await tap(world, user, "✅ 确认报送")
    assert [e.figure for e in history(world, 3)[0].entries] == ["40%", "1 个小区开工"]


async def test_a_task_done_before_is_prefilled_and_can_be_kept_in_one_tap(
    world: BotWorld,
) -> None:
    seed_tasks(world)
    user = await world.join(1001)
    actor = liaison(world)
    assert actor.unit_id is not None
    t1, t2 = task_ids(world)
    world.clock.set(datetime(2025, 2, 20, 9, 0, tzinfo=SHANGHAI))
    entries = [
        ReportEntryInput(t1, "done", "100%", "全部签约"),
        ReportEntryInput(t2, "behind", "5"),
    ]
    submit_report(world.uow(), actor, actor.unit_id, 2025, 2, entries)
    world.clock.set(datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI))
    user.send_command("/report")
    await world.step()
    assert "其中 1 项此前已完成" in world.last(user).text
    await tap(world, user, "📝 逐项填写")
    assert "已填：已完成，100%" in world.last(user).text
    await tap(world, user, "⏭ 保持不变")
    assert "任务 2/2" in world.last(user).text
    assert "2 月报送：滞后，5" in world.last(user).text
    await fill(world, user, "正常推进", "30%", "已恢复施工")
    await tap(world, user, "✅ 确认报送")
    stored = history(world, 3)[0].entries
    assert [(e.status, e.figure, e.note) for e in stored] == [
        ("done", "100%", "全部签约"),
        ("on_track", "30%", "已恢复施工"),
    ]


async def test_a_report_already_sent_can_be_corrected_as_version_two(world: BotWorld) -> None:
    seed_tasks(world)
    user = await world.join(1001)
    actor = liaison(world)
    assert actor.unit_id is not None
    t1, t2 = task_ids(world)
    world.clock.set(datetime(2025, 3, 2, 9, 0, tzinfo=SHANGHAI))
    first = [
        ReportEntryInput(t1, "on_track", "40%", "推进中"),
        ReportEntryInput(t2, "behind", "5"),
    ]
    submit_report(world.uow(), actor, actor.unit_id, 2025, 2, first)
    world.clock.set(datetime(2025, 3, 3, 9, 0, tzinfo=SHANGHAI))
    user.send_command("/report")
    await world.step()
    intro = world.last(user).text
    assert "已于 2025-03-02 09:00 报送过本月进展（第 1 版，按时）" in intro
    await tap(world, user, "✏️ 更正本月报送")
    assert "这是对第 1 版的更正" in world.last(user).text
    await tap(world, user, "✏️ 修改某项")
    await tap(world, user, "2. T2 老旧小区改造")
    assert "已填：滞后，5" in world.last(user).text
    await fill(world, user, "正常推进", "15%", "已追回进度")
    summary = world.last(user).text
    assert "正常推进　15%" in summary and "正常推进　40%" in summary
    await tap(world, user, "✅ 确认报送")
    assert "更正，第 2 版" in texts(world, user)[-1]
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
    await tap(world, user, "📝 逐项填写")
    await tap(world, user, "正常推进")
    await say(world, user, "50%")
    await say(world, user, "照片为证")
    user.send_photo(tiny_png())
    await world.step()
    await tap(world, user, "✅ 完成（1）")
    await fill(world, user, "未开始", "0", None)
    await tap(world, user, "✅ 确认报送")
    user.send_command("/report")
    await world.step()
    await tap(world, user, "✏️ 更正本月报送")
    summary = world.last(user).text
    assert summary.count("📎 1 个文件") == 1 and "一并保留" not in summary
    await tap(world, user, "✅ 确认报送")
    assert "佐证文件 1 个" in texts(world, user)[-1]
    first, second = history(world, 3)
    assert first.evidence_ids == second.evidence_ids and len(first.evidence_ids) == 1
    assert [e.files for e in second.entries] == [first.evidence_ids, ()]


async def test_files_of_a_version_stored_without_their_task_stay_with_the_report(
    world: BotWorld,
) -> None:
    seed_tasks(world)
    user = await world.join(1001)
    actor = liaison(world)
    assert actor.unit_id is not None
    photo = register_evidence(
        world.uow(), actor, "photo", "file-1", "unique-1", None, "image/png", None,
        tiny_png(), world.deps.archive,
    )  # fmt: skip
    entries = [ReportEntryInput(t, "on_track", "40%") for t in task_ids(world)]
    submit_report(world.uow(), actor, actor.unit_id, 2025, 3, entries, [photo.id])
    user.send_command("/report")
    await world.step()
    await tap(world, user, "✏️ 更正本月报送")
    assert "上一版的 1 个佐证文件会一并保留" in world.last(user).text
    await tap(world, user, "✅ 确认报送")
    assert "佐证文件 1 个" in texts(world, user)[-1]
    assert history(world, 3)[1].report_files == (photo.id,)


async def test_a_photo_sent_for_two_tasks_proves_both_and_every_count_agrees(
    world: BotWorld,
) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    await tap(world, user, "正常推进")
    await say(world, user, "60%")
    await say(world, user, "现场照片")
    user.send_album([tiny_png(4, 3), tiny_png(5, 5)])
    await world.step()
    await tap(world, user, "✅ 完成（2）")
    await tap(world, user, "正常推进")
    await say(world, user, "30%")
    await say(world, user, "同一现场")
    user.send_photo(tiny_png(4, 3))  # the first task's first photo again
    await world.step()
    await tap(world, user, "✅ 完成（1）")
    summary = world.last(user).text
    assert "📎 2 个文件" in summary and "📎 1 个文件" in summary
    await tap(world, user, "✅ 确认报送")
    assert "佐证文件 3 个" in texts(world, user)[-1]
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
    await tap(world, user, "📝 逐项填写")
    await fill(world, user, "正常推进", "60%", "顺利")
    await fill(world, user, "未开始", "0%", None)
    await tap(world, user, "✏️ 修改某项")
    await tap(world, user, "↩️ 返回核对")
    assert "请核对" in world.last(user).text
    await tap(world, user, "✏️ 修改某项")
    await tap(world, user, "1. T1 招商引资项目落地")
    await tap(world, user, "正常推进")
    await tap(world, user, "保持：60%")
    await tap(world, user, "保持原说明")
    await tap(world, user, "⏭ 跳过")
    assert "请核对" in world.last(user).text
    await tap(world, user, "✅ 确认报送")
    assert [(e.figure, e.note) for e in history(world, 3)[0].entries] == [
        ("60%", "顺利"),
        ("0%", ""),
    ]


async def test_cancel_drops_the_draft_and_stores_nothing(world: BotWorld) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    await fill(world, user, "正常推进", "60%", "顺利")
    await fill(world, user, "未开始", "0%", None)
    await tap(world, user, "✖️ 取消")
    assert "已取消" in texts(world, user)[-1]
    assert draft(world) is None
    assert history(world, 3) == []


async def test_cancelling_a_correction_says_the_submitted_version_stands(
    world: BotWorld,
) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    await fill(world, user, "正常推进", "60%", "顺利")
    await fill(world, user, "未开始", "0%", None)
    await tap(world, user, "✅ 确认报送")
    user.send_command("/report")
    await world.step()
    await tap(world, user, "✏️ 更正本月报送")
    await tap(world, user, "✖️ 取消")
    said = texts(world, user)[-1]
    expected = render("monthly.cancelled_correction", "zh", version=1, receipt="R2025-03-0002-v1")
    assert said == expected
    assert "没有报送任何内容" not in said
    assert [v.version for v in history(world, 3)] == [1]


# -- photos and documents ---------------------------------------------------------------------


async def test_an_album_of_three_photos_makes_one_status_message_and_three_files(
    world: BotWorld,
) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    await tap(world, user, "正常推进")
    await say(world, user, "60%")
    await say(world, user, "现场照片三张")
    before = len(world.server.messages_to(user.id))
    user.send_album([tiny_png(4, 3), tiny_png(5, 5), tiny_png(6, 2)])
    await world.step()
    new = world.server.messages_to(user.id)[before:]
    assert len(new) == 1
    assert "已收到 3 个文件" in (new[0].text or "")
    await tap(world, user, "✅ 完成（3）")
    await fill(world, user, "未开始", "0%", None)
    assert "📎 3 个文件" in world.last(user).text
    await tap(world, user, "✅ 确认报送")
    assert "佐证文件 3 个" in texts(world, user)[-1]
    [stored] = history(world, 3)
    assert len(stored.evidence_ids) == 3
    with world.uow() as uow:
        kinds = [uow.repository(EvidenceFiles).by_id(i) for i in stored.evidence_ids]
        assert [row.kind for row in kinds if row is not None] == ["photo"] * 3


async def test_a_file_of_the_wrong_kind_is_refused_and_the_files_step_stays(
    world: BotWorld,
) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    await tap(world, user, "正常推进")
    await say(world, user, "60%")
    await say(world, user, "说明")
    user.send_document(b"PK\x03\x04zip", "材料.zip", "application/zip")
    await world.step()
    assert "不能作为佐证材料" in texts(world, user)[-2]
    assert "可以发送照片或文档" in texts(world, user)[-1]
    user.send_document(b"%PDF-1.4", "材料.pdf", "application/pdf")
    await world.step()
    assert "已收到 1 个文件" in texts(world, user)[-1]


async def test_a_file_over_20_mb_is_refused_and_the_files_step_stays(world: BotWorld) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    await tap(world, user, "正常推进")
    await say(world, user, "60%")
    await say(world, user, "说明")
    user.send_document(b"%PDF-1.4", "大文件.pdf", "application/pdf", file_size=21 * 1024 * 1024)
    await world.step()
    assert "文件超过 20 MB" in texts(world, user)[-2]
    assert "可以发送照片或文档" in texts(world, user)[-1]
    assert draft(world).step == "files"
    assert draft(world).data.get("files", []) == []


async def test_text_at_the_files_step_asks_for_files_or_a_button(world: BotWorld) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    await tap(world, user, "正常推进")
    await say(world, user, "60%")
    await say(world, user, "说明")
    await say(world, user, "照片稍后发")
    assert "这一步请发送照片或文档" in texts(world, user)[-2]
    await tap(world, user, "⏭ 跳过")
    assert "任务 2/2" in world.last(user).text


async def test_a_photo_where_text_is_wanted_is_refused(world: BotWorld) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    await tap(world, user, "正常推进")
    user.send_photo(tiny_png())
    await world.step()
    assert "这一步不需要文件" in texts(world, user)[-2]
    assert "请输入关键数据" in texts(world, user)[-1]
    assert draft(world).step == "figure"


# -- bad input ------------------------------------------------------------------------------------


def test_the_figure_rule() -> None:
    assert check_figure("60") == ("60%", None)
    assert check_figure("60%") == ("60%", None)
    assert check_figure(" 完成投资  1.2 亿元 ") == ("完成投资 1.2 亿元", None)
    assert check_figure("150") == ("150", None)
    assert check_figure("进展顺利") == ("", "monthly.figure_no_number")
    assert check_figure("1" * 101) == ("", "monthly.figure_too_long")


def test_the_note_rule() -> None:
    assert check_note("已签约") is None
    assert check_note("…") == "monthly.note_empty"
    assert check_note("字" * 501) == "monthly.note_too_long"


async def test_a_figure_that_is_not_a_number_is_refused_and_asked_again(world: BotWorld) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    await tap(world, user, "正常推进")
    await say(world, user, "进展顺利")
    assert "关键数据里需要有数字" in texts(world, user)[-2]
    assert "请输入关键数据" in texts(world, user)[-1]
    await say(world, user, "x" * 99 + "1" * 2)
    assert "关键数据太长了（101 个字，最多 100 个字）" in texts(world, user)[-2]
    await say(world, user, "60%")
    assert "请用一两句话说明" in texts(world, user)[-1]


async def test_an_empty_note_is_refused_with_a_hint(world: BotWorld) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    await tap(world, user, "正常推进")
    await say(world, user, "60%")
    await say(world, user, "。。。")
    assert "说明不能为空" in texts(world, user)[-2]
    assert "无需说明" in texts(world, user)[-2]
    await say(world, user, "字" * 501)
    assert "说明太长了（501 个字，最多 500 个字）" in texts(world, user)[-2]
    await tap(world, user, "无需说明")
    assert "可以发送照片或文档" in texts(world, user)[-1]


async def test_a_task_that_is_behind_needs_a_note(world: BotWorld) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    await tap(world, user, "滞后")
    await say(world, user, "20%")
    prompt = world.last(user)
    assert "滞后的原因和措施" in prompt.text
    assert prompt.buttons == []
    await say(world, user, "-")
    assert "说明滞后的原因和措施" in texts(world, user)[-2]
    await say(world, user, "资金未到位")
    assert draft(world).step == "files"


async def test_text_where_a_button_is_expected_is_answered_and_the_step_shown_again(
    world: BotWorld,
) -> None:
    user = await start(world)
    await say(world, user, "开始")
    assert "请点按下面的按钮" in texts(world, user)[-2]
    assert "📝 逐项填写" in [label for label, _ in world.last(user).buttons]
    await tap(world, user, "📝 逐项填写")
    await say(world, user, "正常")
    assert "请点按下面的按钮" in texts(world, user)[-2]
    assert "任务 1/2" in texts(world, user)[-1]
    assert draft(world).step == "status"


async def test_a_button_of_an_earlier_step_does_nothing_and_the_step_is_shown_again(
    world: BotWorld,
) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    status_question = with_button(world, user, "正常推进")
    await tap(world, user, "正常推进")
    user.tap(status_question, status_question.callback_data("已完成"))
    await world.step()
    assert "属于前面的步骤" in texts(world, user)[-2]
    assert "请输入关键数据" in texts(world, user)[-1]
    assert draft(world).data["cur"] == {"status": "on_track"}


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
    user.send_command("/report")
    await world.step()
    await tap(world, user, "📝 逐项填写")
    query = user.tap(language, language.callback_data("English"), strict=False)
    await world.step()
    assert "过期" in answer(world, query)
    await tap(world, user, "正常推进")
    assert "请输入关键数据" in texts(world, user)[-1]


async def test_a_confirm_tapped_twice_stores_one_report(world: BotWorld) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    await fill(world, user, "正常推进", "60%", None)
    await fill(world, user, "未开始", "0%", None)
    summary = with_button(world, user, "✅ 确认报送")
    await tap(world, user, "✅ 确认报送")
    query = user.tap(summary, summary.callback_data("✅ 确认报送"))
    await world.step()
    assert "过期" in answer(world, query)
    assert len(history(world, 3)) == 1


async def test_a_forged_button_is_refused_and_the_draft_is_unchanged(world: BotWorld) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    message = with_button(world, user, "正常推进")
    data = message.callback_data("正常推进")
    forged = data.replace("|st|0:1|", "|st|0:3|")
    assert forged != data
    query = user.tap(message, forged, strict=False)
    await world.step()
    assert "无效" in answer(world, query)
    assert draft(world).step == "status"


async def test_a_sticker_mid_report_is_answered_and_the_step_shown_again(
    world: BotWorld,
) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    await tap(world, user, "正常推进")
    user.send_sticker()
    await world.step()
    assert "贴纸" in texts(world, user)[-2]
    assert "请输入关键数据" in texts(world, user)[-1]
    await say(world, user, "60%")
    assert draft(world).step == "note"


# -- drafts survive ---------------------------------------------------------------------------


async def test_report_again_offers_to_continue_the_draft_or_start_over(world: BotWorld) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    await fill(world, user, "正常推进", "60%", "顺利")
    user.send_command("/report")
    await world.step()
    assert "未完成的 2025 年 3 月进展草稿（已填 1/2 项）" in texts(world, user)[-1]
    await tap(world, user, "▶️ 接着填写")
    assert "任务 2/2" in texts(world, user)[-1]
    user.send_command("/report")
    await world.step()
    await tap(world, user, "🔄 重新开始")
    assert "2025 年 3 月进展报送" in texts(world, user)[-1]
    assert draft(world).data["entries"] == {}


async def test_a_restart_mid_report_resumes_exactly_where_the_person_was(
    world: BotWorld,
) -> None:
    user = await start(world)
    await tap(world, user, "📝 逐项填写")
    await fill(world, user, "正常推进", "60%", "顺利")
    await tap(world, user, "滞后")
    await say(world, user, "20%")
    await world.app.shutdown()  # the bot stops mid-report
    restarted = new_application(world, updater=False)
    await restarted.initialize()
    errors = record_errors(restarted)
    world.app = restarted  # world.step() now feeds the new application
    try:
        await say(world, user, "资金未到位")
        assert "可以发送照片或文档" in texts(world, user)[-1]
        user.send_album([tiny_png(4, 3), tiny_png(5, 5)])
        await world.step()
        await tap(world, user, "✅ 完成（2）")
        summary = world.last(user).text
        assert "正常推进　60%" in summary
        assert "滞后　20%　📎 2 个文件" in summary
        await tap(world, user, "✅ 确认报送")
        assert "回执号" in texts(world, user)[-1]
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

        async def tap_polled(label: str, expect: str) -> None:
            message = with_button(world, user, label)
            user.tap(message, message.callback_data(label))
            await server.wait_for(lambda: expect in last_text())

        async def say_polled(text: str, expect: str) -> None:
            user.send_text(text)
            await server.wait_for(lambda: expect in last_text())

        async with world.polling():
            user.send_command("/start", world.invite(Role.LIAISON, "dianzi"))
            await server.wait_for(lambda: "/report" in last_text())
            user.send_command("/report")
            await server.wait_for(lambda: "进展报送" in last_text())
            await tap_polled("📝 逐项填写", "任务 1/2")
            await tap_polled("正常推进", "请输入关键数据")
            await say_polled("60", "请用一两句话说明")
            await say_polled("现场照片", "可以发送照片或文档")
            photos = [tiny_png(4, 3), tiny_png(5, 5), tiny_png(6, 2)]
            user.send_album(photos)
            await server.wait_for(lambda: "已收到 3 个文件" in last_text())
            await tap_polled("✅ 完成（3）", "任务 2/2")
            await tap_polled("已完成", "请输入关键数据")
            await tap_polled("100%", "请用一两句话说明")
            await tap_polled("无需说明", "可以发送照片或文档")
            await tap_polled("⏭ 跳过", "请核对")
            await tap_polled("✅ 确认报送", "回执号")
        assert "按时报送" in last_text()
        assert len(server.calls("getFile")) == 3
        [stored] = history(world, 3)
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
