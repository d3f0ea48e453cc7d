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
from tests.bot.steps import choose, join_liaison, labels, pick_finding, send, tap
from tests.bot.world import (
    COORDINATOR,
    FINDING,
    OPERATOR,
    BotWorld,
    actor_of,
    draft,
    finding,
    unit_id,
)
from tests.fakes.bot_api import tiny_png
from tests.texts import said, text_of

REASON = "汛期人手不足"


def requests(world: BotWorld) -> list[ExtensionView]:
    """Every extension request waiting for a decision."""
    return pending_extensions(world.uow(), COORDINATOR)


def target(finding_id: int, language: str = "zh") -> str:
    """How the dialog names the finding() of the world as the request's target."""
    return text_of("extend.finding_target", language, number=finding_id, description=FINDING)


def ask_date(name: str, deadline: str, example: str, language: str = "zh") -> str:
    """The date step's question: a week after `example`'s base, and its short form."""
    short = f"{int(example[5:7])}-{int(example[8:])}"
    return said(
        "extend.ask_date", language, target=name, deadline=deadline, example=example, short=short
    )


async def at_date_step(world: BotWorld, user: FakeUser, deadline: date = date(2025, 3, 31)) -> int:
    """A liaison who chose a finding and gave a reason; the finding's id."""
    found = finding(world, deadline=deadline, found_on=min(deadline, date(2025, 3, 1)))
    await send(world, user, "/extend")
    await pick_finding(world, user, found.id)
    await send(world, user, REASON)
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
    assert world.texts(liaison)[-1] == ask_date(target(finding_id), "2025-03-31", "2025-04-07")
    await tap(world, liaison, text_of("extend.days_button", days=7, day="4-7"))
    assert world.texts(liaison)[-1] == said(
        "extend.summary", target=target(finding_id), deadline="2025-03-31",
        new_date="2025-04-07", reason=REASON,
    )  # fmt: skip
    await tap(world, liaison, text_of("extend.submit_button"))
    [stored] = requests(world)
    assert (stored.finding_id, stored.requested_date, stored.reason) == (
        finding_id,
        date(2025, 4, 7),
        REASON,
    )
    assert world.texts(liaison)[-1] == said(
        "extend.receipt", number=stored.id, time="2025-03-10 10:00", target=target(finding_id),
        deadline="2025-03-31", new_date="2025-04-07",
    )  # fmt: skip
    assert draft(world, 1001, "extend") is None


async def test_a_liaison_asks_to_extend_the_months_report_with_a_typed_date(
    world: BotWorld, liaison: FakeUser
) -> None:
    await send(world, liaison, "/extend")
    march = {"year": 2025, "month": 3, "deadline": "2025-04-05"}
    assert world.texts(liaison)[-1] == said("extend.pick", report=march, findings=[])
    await choose(world, liaison, "extend.report_button", **march)
    await send(world, liaison, "系统故障无法填报")
    await send(world, liaison, "4-12")
    await tap(world, liaison, text_of("extend.submit_button"))
    [stored] = requests(world)
    assert (stored.report_year, stored.report_month, stored.finding_id) == (2025, 3, None)
    assert stored.requested_date == date(2025, 4, 12)


async def test_a_month_whose_report_is_in_is_not_offered(
    world: BotWorld, liaison: FakeUser
) -> None:
    actor = actor_of(world, 1001)
    unit = unit_id(world, "dianzi")
    tasks = [TaskInput("dianzi", "T1", "招商", work_item="key_work")]
    import_tasks(world.uow(), OPERATOR, 2025, tasks)
    [task] = tasks_of_unit(world.uow(), actor, unit, 2025)
    entries = [ReportEntryInput(task.id, "on_track", "50%")]
    submit_report(world.uow(), actor, unit, 2025, 3, entries)
    found = finding(world)
    await send(world, liaison, "/extend")
    only_the_finding = [
        {"number": found.id, "description": FINDING, "deadline": "2025-03-31", "overdue": False}
    ]
    assert world.texts(liaison)[-1] == said("extend.pick", report=None, findings=only_the_finding)
    assert labels(world, liaison) == [
        text_of("extend.finding_button", number=found.id, deadline="3-31", overdue=False)
    ]


async def test_a_granted_report_extension_is_the_current_deadline(
    world: BotWorld, liaison: FakeUser
) -> None:
    actor = actor_of(world, 1001)
    asked = request_extension(
        world.uow(), actor, unit_id(world, "dianzi"), "故障", date(2025, 4, 10),
        report_year=2025, report_month=3,
    )  # fmt: skip
    decide_extension(world.uow(), COORDINATOR, asked.id, True)
    await send(world, liaison, "/extend")
    march = {"year": 2025, "month": 3, "deadline": "2025-04-10"}
    assert world.texts(liaison)[-1] == said("extend.pick", report=march, findings=[])
    await choose(world, liaison, "extend.report_button", **march)
    await send(world, liaison, "还需要时间")
    await send(world, liaison, "4-8")
    assert world.texts(liaison)[-2] == said(
        "extend.date_not_later", day="2025-04-08", deadline="2025-04-10"
    )


async def test_the_summary_lets_the_reason_and_the_date_be_changed(
    world: BotWorld, liaison: FakeUser
) -> None:
    finding_id = await at_date_step(world, liaison)
    await tap(world, liaison, text_of("extend.days_button", days=3, day="4-3"))
    await tap(world, liaison, text_of("extend.edit_reason_button"))
    assert world.texts(liaison)[-1] == said(
        "extend.ask_reason", target=target(finding_id), deadline="2025-03-31", current=REASON,
        max=1000,
    )  # fmt: skip
    await send(world, liaison, "防汛任务重")
    assert world.texts(liaison)[-1] == said(  # back at the summary
        "extend.summary", target=target(finding_id), deadline="2025-03-31",
        new_date="2025-04-03", reason="防汛任务重",
    )  # fmt: skip
    await tap(world, liaison, text_of("extend.edit_date_button"))
    await tap(world, liaison, text_of("extend.days_button", days=14, day="4-14"))
    await tap(world, liaison, text_of("extend.submit_button"))
    [stored] = requests(world)
    assert (stored.reason, stored.requested_date) == ("防汛任务重", date(2025, 4, 14))


async def test_cancel_stores_no_request(world: BotWorld, liaison: FakeUser) -> None:
    await at_date_step(world, liaison)
    await tap(world, liaison, text_of("extend.days_button", days=3, day="4-3"))
    await tap(world, liaison, text_of("extend.cancel_button"))
    assert world.texts(liaison)[-1] == said("extend.cancelled")
    assert requests(world) == []


async def test_an_unfinished_request_is_offered_back(world: BotWorld, liaison: FakeUser) -> None:
    finding_id = await at_date_step(world, liaison)
    await send(world, liaison, "/rectify")
    await send(world, liaison, "/extend")
    assert world.texts(liaison)[-1] == said("extend.resume", target=target(finding_id))
    await tap(world, liaison, text_of("extend.continue_button"))
    assert world.texts(liaison)[-1] == ask_date(target(finding_id), "2025-03-31", "2025-04-07")


async def test_a_target_with_a_pending_request_is_refused_at_once(
    world: BotWorld, liaison: FakeUser
) -> None:
    finding_id = await at_date_step(world, liaison)
    await tap(world, liaison, text_of("extend.days_button", days=7, day="4-7"))
    await tap(world, liaison, text_of("extend.submit_button"))
    await send(world, liaison, "/extend")
    await pick_finding(world, liaison, finding_id)
    [pending] = requests(world)
    assert world.texts(liaison)[-2] == said(
        "errors.extension_already_pending", request_id=pending.id
    )
    assert draft(world, 1001, "extend").step == "target"


async def test_a_deadline_moved_meanwhile_sends_the_liaison_back_to_the_date(
    world: BotWorld, liaison: FakeUser
) -> None:
    finding_id = await at_date_step(world, liaison)
    await tap(world, liaison, text_of("extend.days_button", days=7, day="4-7"))
    # Meanwhile another liaison asked for the same finding, and it was granted to 20 April.
    other = await join_liaison(world, 1002, name="李四")
    asked = request_extension(
        world.uow(), actor_of(world, other.id), unit_id(world, "dianzi"), "人手不足",
        date(2025, 4, 20), finding_id=finding_id,
    )  # fmt: skip
    decide_extension(world.uow(), COORDINATOR, asked.id, True)
    await tap(world, liaison, text_of("extend.submit_button"))
    assert world.texts(liaison)[-2] == said(
        "errors.extension_date_not_later", requested=date(2025, 4, 7), current=date(2025, 4, 20)
    )
    assert world.texts(liaison)[-1] == ask_date(target(finding_id), "2025-04-20", "2025-04-27")
    assert draft(world, 1001, "extend").step == "date"
    assert requests(world) == []


# --- refusals and bad input ------------------------------------------------------------------


async def test_a_signed_button_naming_another_units_finding_is_refused(
    world: BotWorld, liaison: FakeUser
) -> None:
    finding(world)
    theirs = finding(world, code="xiji", description="西集镇的问题")
    await send(world, liaison, "/extend")
    state = draft(world, 1001, "extend")
    forged = world.deps.signer.dump(Payload("extend", state.version, "f", str(theirs.id)))
    liaison.tap(world.last(liaison), forged, strict=False)
    await world.step()
    assert world.texts(liaison)[-2] == said("errors.not_your_unit")
    assert draft(world, 1001, "extend").step == "target"
    assert requests(world) == []


async def test_a_stale_month_button_is_answered(world: BotWorld, liaison: FakeUser) -> None:
    await send(world, liaison, "/extend")
    state = draft(world, 1001, "extend")
    old = world.deps.signer.dump(Payload("extend", state.version, "m", "2025-1"))
    liaison.tap(world.last(liaison), old, strict=False)
    await world.step()
    assert world.texts(liaison)[-2] == said("extend.month_changed")


@pytest.mark.parametrize("role", [Role.RATER, Role.VIEWER])
async def test_other_roles_cannot_use_extend(world: BotWorld, role: Role) -> None:
    user = await world.join(2001, role, None, "王五")
    await send(world, user, "/extend")
    assert world.texts(user)[-1] == said("common.not_for_your_role")


async def test_an_empty_reason_is_refused(world: BotWorld, liaison: FakeUser) -> None:
    found = finding(world)
    await send(world, liaison, "/extend")
    await pick_finding(world, liaison, found.id)
    await send(world, liaison, "  ")
    assert world.texts(liaison)[-2] == said("extend.reason_empty")
    assert draft(world, 1001, "extend").step == "reason"


async def test_a_reason_over_the_limit_is_refused(world: BotWorld, liaison: FakeUser) -> None:
    found = finding(world)
    await send(world, liaison, "/extend")
    await pick_finding(world, liaison, found.id)
    await send(world, liaison, "长" * 1001)
    assert world.texts(liaison)[-1] == said("extend.reason_too_long", length=1001, max=1000)
    assert draft(world, 1001, "extend").step == "reason"


@pytest.mark.parametrize(
    ("typed", "key", "values"),
    [
        ("明天", "extend.bad_date", {"value": "明天"}),
        ("2-30", "extend.bad_date", {"value": "2-30"}),
        ("3-20", "extend.date_not_later", {"day": "2025-03-20", "deadline": "2025-03-31"}),
        ("2025-03-31", "extend.date_not_later", {"day": "2025-03-31", "deadline": "2025-03-31"}),
        ("2027-01-01", "extend.date_too_far", {"day": "2027-01-01", "limit": "2026-04-01"}),
    ],
)
async def test_a_bad_date_is_answered_and_the_step_stays(
    world: BotWorld, liaison: FakeUser, typed: str, key: str, values: dict[str, str]
) -> None:
    finding_id = await at_date_step(world, liaison)
    await send(world, liaison, typed)
    assert world.texts(liaison)[-2] == said(key, **values)
    assert world.texts(liaison)[-1] == ask_date(target(finding_id), "2025-03-31", "2025-04-07")
    state = draft(world, 1001, "extend")
    assert state.step == "date" and "new_date" not in state.data


async def test_a_date_already_past_is_refused(world: BotWorld, liaison: FakeUser) -> None:
    finding_id = await at_date_step(world, liaison, deadline=date(2025, 3, 1))
    await send(world, liaison, "3-5")
    assert world.texts(liaison)[-2] == said(
        "extend.date_past", day="2025-03-05", today="2025-03-10"
    )
    # counted from today for an overdue finding
    await tap(world, liaison, text_of("extend.days_button", days=3, day="3-13"))
    assert world.texts(liaison)[-1] == said(
        "extend.summary", target=target(finding_id), deadline="2025-03-01",
        new_date="2025-03-13", reason=REASON,
    )  # fmt: skip


async def test_text_where_a_button_is_expected_and_a_sticker_keep_the_step(
    world: BotWorld, liaison: FakeUser
) -> None:
    await send(world, liaison, "/extend")
    await send(world, liaison, "三月的")
    assert world.texts(liaison)[-2] == said("dialog.use_buttons")
    finding_id = await at_date_step(world, liaison)
    before = draft(world, 1001, "extend")
    liaison.send_sticker()
    await world.step()
    assert world.texts(liaison)[-2] == said("common.message_kind_not_used")
    assert world.texts(liaison)[-1] == ask_date(target(finding_id), "2025-03-31", "2025-04-07")
    assert draft(world, 1001, "extend").data == before.data


async def test_a_file_is_not_taken(world: BotWorld, liaison: FakeUser) -> None:
    await at_date_step(world, liaison)
    liaison.send_photo(tiny_png())
    await world.step()
    assert world.texts(liaison)[-2] == said("dialog.no_file_here")


async def test_the_dialog_reads_in_english_too(world: BotWorld, liaison: FakeUser) -> None:
    await send(world, liaison, "/language")
    await tap(world, liaison, "English")
    finding_id = await at_date_step(world, liaison)
    await send(world, liaison, "tomorrow")
    assert world.texts(liaison)[-2] == said("extend.bad_date", "en", value="tomorrow")
    await tap(world, liaison, text_of("extend.days_button", "en", days=7, day="4-7"))
    assert world.texts(liaison)[-1] == said(
        "extend.summary", "en", target=target(finding_id, "en"), deadline="2025-03-31",
        new_date="2025-04-07", reason=REASON,
    )  # fmt: skip
    await tap(world, liaison, text_of("extend.submit_button", "en"))
    [stored] = requests(world)
    assert world.texts(liaison)[-1] == said(
        "extend.receipt", "en", number=stored.id, time="2025-03-10 10:00",
        target=target(finding_id, "en"), deadline="2025-03-31", new_date="2025-04-07",
    )  # fmt: skip
