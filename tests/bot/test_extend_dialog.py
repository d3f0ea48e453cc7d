"""/extend: a liaison asks for a later deadline of a finding or of the month's report, with a
reason and a date; bad dates, other units' findings and other roles are refused."""

from __future__ import annotations

from datetime import date

import pytest

from bot.buttons import Payload
from bot.dialogs.extend import parse_date
from bot.fake_bot_api import FakeUser
from scoring.calendar import month_due as due_month
from services.access import Role
from services.extensions import (
    ExtensionView,
    decide_extension,
    pending_extensions,
    request_extension,
)
from services.reports import ReportEntryInput, submit_report
from services.tasks import TaskInput, import_tasks, tasks_of_unit
from tests.bot.test_rectify_dialog import (
    COORDINATOR,
    button_starting,
    draft,
    finding,
    liaison_actor,
    tap,
    unit_id,
)
from tests.bot.world import OPERATOR, BotWorld


@pytest.fixture
async def liaison(world: BotWorld) -> FakeUser:
    """A liaison of 店子镇 (dianzi)."""
    return await world.join(1001, Role.LIAISON, "dianzi")


def requests(world: BotWorld) -> list[ExtensionView]:
    """Every extension request waiting for a decision."""
    return pending_extensions(world.uow(), COORDINATOR)


async def choose(world: BotWorld, user: FakeUser, prefix: str) -> None:
    """Tap the newest button whose label starts with `prefix`."""
    message, label = button_starting(world, user, prefix)
    user.tap(message, message.callback_data(label))
    await world.step()


async def at_date_step(world: BotWorld, user: FakeUser, deadline: date = date(2025, 3, 31)) -> int:
    """A liaison who chose a finding and gave a reason; the finding's id."""
    found = finding(world, deadline=deadline, found_on=min(deadline, date(2025, 3, 1)))
    user.send_command("/extend")
    await world.step()
    await choose(world, user, f"#{found.id} ")
    user.send_text("汛期人手不足")
    await world.step()
    return found.id


# --- pure helpers ----------------------------------------------------------------------------


def test_a_typed_date_may_be_full_or_month_and_day() -> None:
    deadline = date(2025, 3, 31)
    assert parse_date("2025-04-12", deadline) == date(2025, 4, 12)
    assert parse_date("2025/4/12", deadline) == date(2025, 4, 12)
    assert parse_date("2025年4月12日", deadline) == date(2025, 4, 12)
    assert parse_date("4-12", deadline) == date(2025, 4, 12)
    assert parse_date("4月12日", deadline) == date(2025, 4, 12)
    assert parse_date(" 4.12 ", deadline) == date(2025, 4, 12)
    assert parse_date("3-20", deadline) == date(2025, 3, 20)  # refused later as too early


def test_month_and_day_after_a_december_deadline_mean_next_year() -> None:
    assert parse_date("1-10", date(2025, 12, 28)) == date(2026, 1, 10)
    assert parse_date("12-30", date(2025, 12, 28)) == date(2025, 12, 30)


def test_what_is_not_a_date_is_none() -> None:
    deadline = date(2025, 3, 31)
    for text in ("明天", "2-30", "2025-13-01", "12", "", "4-12-2025"):
        assert parse_date(text, deadline) is None, text


def test_the_month_due_is_last_month_until_its_due_day() -> None:
    assert due_month(date(2025, 3, 5), 5) == (2025, 2)
    assert due_month(date(2025, 3, 6), 5) == (2025, 3)
    assert due_month(date(2025, 1, 3), 5) == (2024, 12)
    assert due_month(date(2025, 12, 20), 5) == (2025, 12)


# --- the dialog ------------------------------------------------------------------------------


async def test_a_liaison_asks_to_extend_a_finding_by_a_week(
    world: BotWorld, liaison: FakeUser
) -> None:
    finding_id = await at_date_step(world, liaison)
    assert "当前期限：2025-03-31" in world.texts(liaison)[-1]
    await tap(world, liaison, "+7 天（4-7）")
    summary = world.texts(liaison)[-1]
    assert "申请延至：2025-04-07" in summary and "汛期人手不足" in summary
    await tap(world, liaison, "✅ 提交申请")
    receipt = world.texts(liaison)[-1]
    assert "延期申请已提交" in receipt and "2025-03-10 10:00" in receipt
    [stored] = requests(world)
    assert (stored.finding_id, stored.requested_date, stored.reason) == (
        finding_id,
        date(2025, 4, 7),
        "汛期人手不足",
    )
    assert f"申请编号：{stored.id}" in receipt
    assert draft(world, 1001, "extend") is None


async def test_a_liaison_asks_to_extend_the_months_report_with_a_typed_date(
    world: BotWorld, liaison: FakeUser
) -> None:
    liaison.send_command("/extend")
    await world.step()
    assert "2025 年 3 月进展报送　截止：2025-04-05" in world.texts(liaison)[-1]
    await choose(world, liaison, "📅 2025 年 3 月进展报送")
    liaison.send_text("系统故障无法填报")
    await world.step()
    liaison.send_text("4-12")
    await world.step()
    await tap(world, liaison, "✅ 提交申请")
    [stored] = requests(world)
    assert (stored.report_year, stored.report_month, stored.finding_id) == (2025, 3, None)
    assert stored.requested_date == date(2025, 4, 12)


async def test_a_month_whose_report_is_in_is_not_offered(
    world: BotWorld, liaison: FakeUser
) -> None:
    actor = liaison_actor(world, 1001)
    unit = unit_id(world, "dianzi")
    tasks = [TaskInput("dianzi", "T1", "招商", work_item="key_work")]
    import_tasks(world.uow(), OPERATOR, 2025, tasks)
    [task] = tasks_of_unit(world.uow(), actor, unit, 2025)
    entries = [ReportEntryInput(task.id, "on_track", "50%")]
    submit_report(world.uow(), actor, unit, 2025, 3, entries)
    found = finding(world)
    liaison.send_command("/extend")
    await world.step()
    offered = world.last(liaison)
    assert "3 月进展报送" not in offered.text
    assert [label for label, _ in offered.buttons if "进展报送" in label] == []
    assert any(label.startswith(f"#{found.id} ") for label, _ in offered.buttons)


async def test_a_granted_report_extension_is_the_current_deadline(
    world: BotWorld, liaison: FakeUser
) -> None:
    actor = liaison_actor(world, 1001)
    asked = request_extension(
        world.uow(), actor, unit_id(world, "dianzi"), "故障", date(2025, 4, 10),
        report_year=2025, report_month=3,
    )  # fmt: skip
    decide_extension(world.uow(), COORDINATOR, asked.id, True)
    liaison.send_command("/extend")
    await world.step()
    assert "截止：2025-04-10" in world.texts(liaison)[-1]
    await choose(world, liaison, "📅")
    liaison.send_text("还需要时间")
    await world.step()
    liaison.send_text("4-8")
    await world.step()
    assert "须晚于当前期限（2025-04-10）" in world.texts(liaison)[-2]


async def test_the_summary_lets_the_reason_and_the_date_be_changed(
    world: BotWorld, liaison: FakeUser
) -> None:
    await at_date_step(world, liaison)
    await tap(world, liaison, "+3 天（4-3）")
    await tap(world, liaison, "✏️ 修改理由")
    assert "汛期人手不足" in world.texts(liaison)[-1]
    liaison.send_text("防汛任务重")
    await world.step()
    assert "防汛任务重" in world.texts(liaison)[-1]  # back at the summary
    await tap(world, liaison, "📅 修改日期")
    await tap(world, liaison, "+14 天（4-14）")
    await tap(world, liaison, "✅ 提交申请")
    [stored] = requests(world)
    assert (stored.reason, stored.requested_date) == ("防汛任务重", date(2025, 4, 14))


async def test_cancel_stores_no_request(world: BotWorld, liaison: FakeUser) -> None:
    await at_date_step(world, liaison)
    await tap(world, liaison, "+3 天（4-3）")
    await tap(world, liaison, "✖️ 取消")
    assert "已取消" in world.texts(liaison)[-1]
    assert requests(world) == []


async def test_an_unfinished_request_is_offered_back(world: BotWorld, liaison: FakeUser) -> None:
    await at_date_step(world, liaison)
    liaison.send_command("/rectify")
    await world.step()
    liaison.send_command("/extend")
    await world.step()
    assert "未提交的延期申请" in world.texts(liaison)[-1]
    await tap(world, liaison, "▶️ 接着填写")
    assert "请选择新的期限" in world.texts(liaison)[-1]


async def test_a_target_with_a_pending_request_is_refused_at_once(
    world: BotWorld, liaison: FakeUser
) -> None:
    finding_id = await at_date_step(world, liaison)
    await tap(world, liaison, "+7 天（4-7）")
    await tap(world, liaison, "✅ 提交申请")
    liaison.send_command("/extend")
    await world.step()
    await choose(world, liaison, f"#{finding_id} ")
    assert "正在等待审批" in world.texts(liaison)[-2]
    assert draft(world, 1001, "extend").step == "target"
    assert len(requests(world)) == 1


async def test_a_deadline_moved_meanwhile_sends_the_liaison_back_to_the_date(
    world: BotWorld, liaison: FakeUser
) -> None:
    finding_id = await at_date_step(world, liaison)
    await tap(world, liaison, "+7 天（4-7）")
    # Meanwhile another liaison asked for the same finding, and it was granted to 20 April.
    other = await world.join(1002, Role.LIAISON, "dianzi", "李四")
    asked = request_extension(
        world.uow(), liaison_actor(world, other.id), unit_id(world, "dianzi"), "人手不足",
        date(2025, 4, 20), finding_id=finding_id,
    )  # fmt: skip
    decide_extension(world.uow(), COORDINATOR, asked.id, True)
    await tap(world, liaison, "✅ 提交申请")
    assert "须晚于当前期限（2025-04-20）" in world.texts(liaison)[-2]
    assert "当前期限：2025-04-20" in world.texts(liaison)[-1]
    assert draft(world, 1001, "extend").step == "date"
    assert requests(world) == []


# --- refusals and bad input ------------------------------------------------------------------


async def test_a_signed_button_naming_another_units_finding_is_refused(
    world: BotWorld, liaison: FakeUser
) -> None:
    finding(world)
    theirs = finding(world, code="xiji", description="西集镇的问题")
    liaison.send_command("/extend")
    await world.step()
    state = draft(world, 1001, "extend")
    forged = world.deps.signer.dump(Payload("extend", state.version, "f", str(theirs.id)))
    liaison.tap(world.last(liaison), forged, strict=False)
    await world.step()
    assert "您只能为本单位办理此事项" in world.texts(liaison)[-2]
    assert draft(world, 1001, "extend").step == "target"
    assert requests(world) == []


async def test_a_stale_month_button_is_answered(world: BotWorld, liaison: FakeUser) -> None:
    liaison.send_command("/extend")
    await world.step()
    state = draft(world, 1001, "extend")
    old = world.deps.signer.dump(Payload("extend", state.version, "m", "2025-1"))
    liaison.tap(world.last(liaison), old, strict=False)
    await world.step()
    assert "已不是当前应报送的月份" in world.texts(liaison)[-2]


@pytest.mark.parametrize("role", [Role.RATER, Role.VIEWER])
async def test_other_roles_cannot_use_extend(world: BotWorld, role: Role) -> None:
    user = await world.join(2001, role, None, "王五")
    user.send_command("/extend")
    await world.step()
    assert "您的角色不能使用这个功能" in world.texts(user)[-1]


async def test_an_empty_reason_is_refused(world: BotWorld, liaison: FakeUser) -> None:
    found = finding(world)
    liaison.send_command("/extend")
    await world.step()
    await choose(world, liaison, f"#{found.id} ")
    liaison.send_text("  ")
    await world.step()
    assert "延期理由不能为空" in world.texts(liaison)[-2]
    assert draft(world, 1001, "extend").step == "reason"


async def test_a_reason_over_the_limit_is_refused(world: BotWorld, liaison: FakeUser) -> None:
    found = finding(world)
    liaison.send_command("/extend")
    await world.step()
    await choose(world, liaison, f"#{found.id} ")
    liaison.send_text("长" * 1001)
    await world.step()
    assert "1001 字" in world.texts(liaison)[-1]
    assert draft(world, 1001, "extend").step == "reason"


@pytest.mark.parametrize(
    ("typed", "answer"),
    [
        ("明天", "不是有效的日期"),
        ("2-30", "不是有效的日期"),
        ("3-20", "须晚于当前期限（2025-03-31）"),
        ("2025-03-31", "须晚于当前期限（2025-03-31）"),
        ("2027-01-01", "太远了"),
    ],
)
async def test_a_bad_date_is_answered_and_the_step_stays(
    world: BotWorld, liaison: FakeUser, typed: str, answer: str
) -> None:
    await at_date_step(world, liaison)
    liaison.send_text(typed)
    await world.step()
    assert answer in world.texts(liaison)[-2]
    assert "请选择新的期限" in world.texts(liaison)[-1]
    state = draft(world, 1001, "extend")
    assert state.step == "date" and "new_date" not in state.data


async def test_a_date_already_past_is_refused(world: BotWorld, liaison: FakeUser) -> None:
    await at_date_step(world, liaison, deadline=date(2025, 3, 1))
    liaison.send_text("3-5")
    await world.step()
    assert "已经过去了" in world.texts(liaison)[-2]
    await tap(world, liaison, "+3 天（3-13）")  # counted from today for an overdue finding
    assert "申请延至：2025-03-13" in world.texts(liaison)[-1]


async def test_text_where_a_button_is_expected_and_a_sticker_keep_the_step(
    world: BotWorld, liaison: FakeUser
) -> None:
    liaison.send_command("/extend")
    await world.step()
    liaison.send_text("三月的")
    await world.step()
    assert "请点按下面的按钮" in world.texts(liaison)[-2]
    await at_date_step(world, liaison)
    before = draft(world, 1001, "extend")
    liaison.send_sticker()
    await world.step()
    assert "贴纸" in world.texts(liaison)[-2] and "请选择新的期限" in world.texts(liaison)[-1]
    assert draft(world, 1001, "extend").data == before.data


async def test_a_file_is_not_taken(world: BotWorld, liaison: FakeUser) -> None:
    from tests.fakes.bot_api import tiny_png

    await at_date_step(world, liaison)
    liaison.send_photo(tiny_png())
    await world.step()
    assert "这一步不需要文件" in world.texts(liaison)[-2]


async def test_the_dialog_reads_in_english_too(world: BotWorld, liaison: FakeUser) -> None:
    liaison.send_command("/language")
    await world.step()
    await tap(world, liaison, "English")
    finding_id = await at_date_step(world, liaison)
    liaison.send_text("tomorrow")
    await world.step()
    assert "is not a valid date" in world.texts(liaison)[-2]
    await tap(world, liaison, "+7 days (4-7)")
    assert "New deadline asked: 2025-04-07" in world.texts(liaison)[-1]
    await tap(world, liaison, "✅ Send request")
    assert f"finding #{finding_id}" in world.texts(liaison)[-1]
