"""/finding: a coordinator records a finding of supervision; the unit's liaisons are told."""

from __future__ import annotations

from datetime import date

import pytest

from bot.dialogs.finding import parse_day
from bot.fake_bot_api import FakeUser
from services.access import Role
from services.dialogs import dialog_of_kind, save_dialog
from services.findings import FindingView, year_findings
from services.people import person_session, set_language
from tests.bot.steps import labels, tap
from tests.bot.world import OPERATOR, BotWorld
from tests.fakes.bot_api import tiny_png
from tests.texts import said, said_html, text_of

COORDINATOR = 500
LIAISON = 1001


def findings(world: BotWorld) -> list[FindingView]:
    """Every finding of 2025."""
    return year_findings(world.uow(), OPERATOR, 2025)


async def start_finding(world: BotWorld, coordinator: FakeUser, unit: str = "店子") -> None:
    """/finding up to the description step for a unit typed unambiguously."""
    coordinator.send_command("/finding")
    await world.step()
    coordinator.send_text(unit)
    await world.step()
    await tap(world, coordinator, "实地督查")


async def test_a_finding_is_recorded_and_the_liaisons_are_told_at_once(world: BotWorld) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    liaison = await world.join(LIAISON, Role.LIAISON, "dianzi", "张三")
    second = await world.join(1002, Role.LIAISON, "dianzi", "李四")
    other_unit = await world.join(1003, Role.LIAISON, "xiji", "赵五")
    before_other = len(world.texts(other_unit))
    coordinator.send_command("/finding")
    await world.step()
    assert said("coord.finding_ask_unit") in world.texts(coordinator)[-1]
    coordinator.send_text("店子")
    await world.step()
    assert labels(world, COORDINATOR) == [
        text_of("year.source_on_site_inspection"),
        text_of("year.source_dispatch_meeting"),
        text_of("year.source_visit"),
        text_of("year.source_ledger_monitoring"),
        text_of("year.source_special"),
        text_of("year.source_half_year_comprehensive"),
    ]
    await tap(world, coordinator, text_of("year.source_dispatch_meeting"))
    coordinator.send_text("项目开工手续台账不全，3个项目缺少施工许可复印件。")
    await world.step()
    assert text_of("coord.finding_no_files_button") in labels(world, COORDINATOR)
    coordinator.send_album([tiny_png(), tiny_png(2, 2)])
    await world.step()
    assert "2" in world.texts(coordinator)[-1]
    await tap(world, coordinator, text_of("evidence.done_button", count=2))
    assert labels(world, COORDINATOR) == [
        text_of("coord.finding_deadline_button", days=7, day="2025-03-17"),
        text_of("coord.finding_deadline_button", days=15, day="2025-03-25"),
        text_of("coord.finding_deadline_button", days=30, day="2025-04-09"),
    ]
    await tap(
        world, coordinator, text_of("coord.finding_deadline_button", days=15, day="2025-03-25")
    )
    summary = world.texts(coordinator)[-1]
    assert (
        "店子镇" in summary
        and text_of("year.source_dispatch_meeting") in summary
        and "2025-03-25" in summary
    )
    assert "2 张照片" in summary
    assert findings(world) == []  # nothing is stored before the confirmation
    await tap(world, coordinator, text_of("coord.finding_record_button"))
    [finding] = findings(world)
    assert finding.unit_code == "dianzi" and finding.source == "dispatch_meeting"
    assert finding.deadline == date(2025, 3, 25) and finding.found_on == date(2025, 3, 10)
    assert len(finding.evidence_ids) == 2
    assert f"编号 {finding.id}" in world.texts(coordinator)[-1]
    assert (
        said("coord.finding_recorded", number=1, unit="店子镇", deadline="2025-03-25", told=2)
        in world.texts(coordinator)[-1]
    )
    for user in (liaison, second):
        notice = world.texts(user)[-1]
        assert "施工许可复印件" in notice and "2025-03-25" in notice and "/rectify" in notice
    assert len(world.texts(other_unit)) == before_other


async def test_a_liaison_reading_english_is_told_in_english(world: BotWorld) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    liaison = await world.join(LIAISON, Role.LIAISON, "dianzi", "张三")
    session = person_session(world.uow(), LIAISON)
    assert session is not None
    set_language(world.uow(), session.actor, "en")
    await start_finding(world, coordinator)
    coordinator.send_text("台账不全")
    await world.step()
    await tap(world, coordinator, text_of("coord.finding_no_files_button"))
    await tap(
        world, coordinator, text_of("coord.finding_deadline_button", days=7, day="2025-03-17")
    )
    await tap(world, coordinator, text_of("coord.finding_record_button"))
    notice = world.texts(liaison)[-1]
    assert "Rectify by: 2025-03-17" in notice
    assert "On-site inspection" in notice and "台账不全" in notice


async def test_a_unit_name_matching_nothing_or_several_units(world: BotWorld) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    coordinator.send_command("/finding")
    await world.step()
    coordinator.send_text("不存在的单位")
    await world.step()
    assert said("coord.finding_unit_none", query="不存在的单位") in world.texts(coordinator)[-1]
    coordinator.send_text("局")
    await world.step()
    candidates = labels(world, COORDINATOR)
    assert len(candidates) == 8 and "区财政局" in candidates
    assert (
        said("coord.finding_unit_several", query="局", more=True) in world.texts(coordinator)[-1]
    )
    await tap(world, coordinator, "区财政局")
    assert "区财政局" in world.texts(coordinator)[-1]
    assert text_of("year.source_on_site_inspection") in labels(world, COORDINATOR)


async def test_a_deadline_in_the_past_is_refused_clearly(world: BotWorld) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    await start_finding(world, coordinator)
    coordinator.send_text("问题")
    await world.step()
    await tap(world, coordinator, text_of("coord.finding_no_files_button"))
    coordinator.send_text("2025-03-09")
    await world.step()
    texts = world.texts(coordinator)
    assert said("coord.finding_deadline_past", day="2025-03-09", today="2025-03-10") in texts[-2]
    coordinator.send_text("明天")
    await world.step()
    assert said("coord.finding_deadline_not_a_day", text="明天") in world.texts(coordinator)[-1]
    coordinator.send_text("4月1日")
    await world.step()
    assert "2025-04-01" in world.texts(coordinator)[-1]
    await tap(world, coordinator, text_of("coord.finding_record_button"))
    assert findings(world)[0].deadline == date(2025, 4, 1)


async def test_a_deadline_of_today_is_accepted(world: BotWorld) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    await start_finding(world, coordinator)
    coordinator.send_text("问题")
    await world.step()
    await tap(world, coordinator, text_of("coord.finding_no_files_button"))
    coordinator.send_text("2025/3/10")
    await world.step()
    assert "请核对问题记录" in world.texts(coordinator)[-1]


async def test_a_summary_confirmed_after_midnight_past_its_deadline_asks_again(
    world: BotWorld,
) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    await start_finding(world, coordinator)
    coordinator.send_text("问题")
    await world.step()
    await tap(world, coordinator, text_of("coord.finding_no_files_button"))
    coordinator.send_text("2025-03-10")
    await world.step()
    world.clock.advance(days=1)
    await tap(world, coordinator, text_of("coord.finding_record_button"))
    assert findings(world) == []
    assert (
        said("coord.finding_deadline_past", day="2025-03-10", today="2025-03-11")
        in world.texts(coordinator)[-2]
    )


async def test_an_empty_description_is_refused(world: BotWorld) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    await start_finding(world, coordinator)
    coordinator.send_text("   ")
    await world.step()
    assert said("coord.finding_description_empty") in world.texts(coordinator)[-2]
    assert said("coord.finding_ask_description", max=2000) in world.texts(coordinator)[-1]


async def test_the_description_and_deadline_can_be_changed_from_the_summary(
    world: BotWorld,
) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    await start_finding(world, coordinator)
    coordinator.send_text("初稿")
    await world.step()
    await tap(world, coordinator, text_of("coord.finding_no_files_button"))
    await tap(
        world, coordinator, text_of("coord.finding_deadline_button", days=7, day="2025-03-17")
    )
    await tap(world, coordinator, text_of("coord.finding_edit_description_button"))
    coordinator.send_text("定稿")
    await world.step()
    assert "定稿" in world.texts(coordinator)[-1] and "请核对" in world.texts(coordinator)[-1]
    await tap(world, coordinator, text_of("coord.finding_edit_deadline_button"))
    await tap(
        world, coordinator, text_of("coord.finding_deadline_button", days=30, day="2025-04-09")
    )
    await tap(world, coordinator, text_of("coord.finding_record_button"))
    [finding] = findings(world)
    assert finding.description == "定稿" and finding.deadline == date(2025, 4, 9)


async def test_cancelling_at_the_summary_records_nothing(world: BotWorld) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    await start_finding(world, coordinator)
    coordinator.send_text("问题")
    await world.step()
    await tap(world, coordinator, text_of("coord.finding_no_files_button"))
    await tap(
        world, coordinator, text_of("coord.finding_deadline_button", days=7, day="2025-03-17")
    )
    await tap(world, coordinator, text_of("coord.finding_cancel_button"))
    assert findings(world) == []
    assert said("coord.finding_cancelled") in world.texts(coordinator)[-1]


async def test_a_double_tap_on_record_records_one_finding(world: BotWorld) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    await start_finding(world, coordinator)
    coordinator.send_text("问题")
    await world.step()
    await tap(world, coordinator, text_of("coord.finding_no_files_button"))
    await tap(
        world, coordinator, text_of("coord.finding_deadline_button", days=7, day="2025-03-17")
    )
    summary = world.last(coordinator)
    data = summary.callback_data(text_of("coord.finding_record_button"))
    coordinator.tap(summary, data)
    coordinator.tap(summary, data, strict=False)
    await world.step()
    assert len(findings(world)) == 1


async def test_an_unfinished_finding_is_offered_back(world: BotWorld) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    await start_finding(world, coordinator)
    coordinator.send_text("写到一半的问题")
    await world.step()
    coordinator.send_command("/language")
    await world.step()
    coordinator.send_command("/finding")
    await world.step()
    assert (
        said("coord.finding_resume", unit="店子镇", description="写到一半的问题")
        in world.texts(coordinator)[-1]
    )
    await tap(world, coordinator, text_of("coord.finding_continue_button"))
    assert text_of("coord.finding_no_files_button") in labels(world, COORDINATOR)


async def test_a_unit_without_liaisons_and_a_liaison_who_blocked_the_bot_are_reported(
    world: BotWorld,
) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    await start_finding(world, coordinator, "西集")
    coordinator.send_text("问题")
    await world.step()
    await tap(world, coordinator, text_of("coord.finding_no_files_button"))
    await tap(
        world, coordinator, text_of("coord.finding_deadline_button", days=7, day="2025-03-17")
    )
    await tap(world, coordinator, text_of("coord.finding_record_button"))
    assert said("coord.notify_nobody") in world.texts(coordinator)[-1]

    blocked = await world.join(LIAISON, Role.LIAISON, "dianzi", "张三")
    reachable = await world.join(1002, Role.LIAISON, "dianzi", "李四")
    blocked.block_bot()
    await start_finding(world, coordinator)
    coordinator.send_text("另一个问题")
    await world.step()
    await tap(world, coordinator, text_of("coord.finding_no_files_button"))
    await tap(
        world, coordinator, text_of("coord.finding_deadline_button", days=7, day="2025-03-17")
    )
    await tap(world, coordinator, text_of("coord.finding_record_button"))
    assert len(findings(world)) == 2
    texts = world.texts(coordinator)
    assert (
        said("coord.finding_recorded", number=2, unit="店子镇", deadline="2025-03-17", told=1)
        in texts[-2]
    )
    assert "未能通知到 张三（共 2 人中）" in texts[-1]
    assert "另一个问题" in world.texts(reachable)[-1]


async def test_finding_is_refused_to_liaisons_raters_viewers_and_strangers(
    world: BotWorld,
) -> None:
    liaison = await world.join(LIAISON, Role.LIAISON, "dianzi", "张三")
    rater = await world.join(1002, Role.RATER, None, "李四")
    viewer = await world.join(1003, Role.VIEWER, None, "赵五")
    stranger = world.server.user(1004)
    for user in (liaison, rater, viewer, stranger):
        user.send_command("/finding")
        user.send_text("店子")
    await world.step()
    for user in (liaison, rater, viewer):
        assert said("common.not_for_your_role") in world.texts(user)[-2]
    assert all(said("common.unknown_account") in t for t in world.texts(stranger))
    assert findings(world) == []


@pytest.mark.parametrize(
    ("typed", "day"),
    [
        ("2025-03-31", date(2025, 3, 31)),
        ("2025/3/31", date(2025, 3, 31)),
        ("2025.3.31", date(2025, 3, 31)),
        ("2025年3月31日", date(2025, 3, 31)),
        ("20250331", date(2025, 3, 31)),
        ("3-31", date(2025, 3, 31)),
        ("3月31日", date(2025, 3, 31)),
        ("2025－03－31", date(2025, 3, 31)),
        ("2025-02-30", None),
        ("下周五", None),
        ("31", None),
    ],
)
def test_a_deadline_is_read_as_people_type_dates(typed: str, day: date | None) -> None:
    assert parse_day(typed, date(2025, 3, 10)) == day


async def test_the_unit_can_follow_the_command_and_markup_in_text_is_kept_as_text(
    world: BotWorld,
) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    liaison = await world.join(LIAISON, Role.LIAISON, "dianzi", "张三")
    coordinator.send_command("/finding", "店子镇")
    await world.step()
    await tap(world, coordinator, text_of("year.source_visit"))
    coordinator.send_text("<b>台账</b> & 记录 <缺失>")
    await world.step()
    await tap(world, coordinator, text_of("coord.finding_no_files_button"))
    await tap(
        world, coordinator, text_of("coord.finding_deadline_button", days=7, day="2025-03-17")
    )
    assert "<b>台账</b> & 记录 <缺失>" in world.texts(coordinator)[-1]
    await tap(world, coordinator, text_of("coord.finding_record_button"))
    assert "<b>台账</b> & 记录 <缺失>" in world.texts(liaison)[-1]
    assert findings(world)[0].description == "<b>台账</b> & 记录 <缺失>"


async def test_a_draft_continued_at_the_files_step_reports_files_in_a_new_status_message(
    world: BotWorld,
) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    await start_finding(world, coordinator)
    coordinator.send_text("写到一半的问题")
    await world.step()
    coordinator.send_photo(tiny_png())
    await world.step()
    first = world.server.last_message_to(COORDINATOR)
    assert first.source_text == said_html("evidence.status", count=1)
    coordinator.send_command("/finding")
    await world.step()
    await tap(world, coordinator, text_of("coord.finding_continue_button"))
    assert world.texts(coordinator)[-1] == said("coord.finding_ask_files", count=1)
    coordinator.send_photo(tiny_png(2, 2))
    await world.step()
    # The status message far up the chat is left as it was; the new count comes below the step.
    status = world.server.last_message_to(COORDINATOR)
    assert status.message_id != first.message_id
    assert status.source_text == said_html("evidence.status", count=2)
    assert world.server.messages_to(COORDINATOR)[-4].source_text == said_html(
        "evidence.status", count=1
    )


async def test_files_gone_from_the_archive_before_recording_are_asked_for_again(
    world: BotWorld,
) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    await start_finding(world, coordinator)
    coordinator.send_text("台账不全")
    await world.step()
    coordinator.send_photo(tiny_png())
    await world.step()
    await tap(world, coordinator, text_of("evidence.done_button", count=1))
    await tap(
        world, coordinator, text_of("coord.finding_deadline_button", days=7, day="2025-03-17")
    )
    # The draft's file left the archive meanwhile (as if its row were pruned).
    session = person_session(world.uow(), COORDINATOR)
    assert session is not None
    person_id = session.actor.person_id
    assert person_id is not None
    draft = dialog_of_kind(world.uow(), person_id, "finding")
    assert draft is not None and draft.step == "confirm"
    data = {**draft.data, "files": [{"id": 9999, "kind": "photo", "name": ""}]}
    save_dialog(world.uow(), person_id, "finding", "confirm", data)
    await tap(world, coordinator, text_of("coord.finding_record_button"))
    assert findings(world) == []
    assert world.texts(coordinator)[-2:] == [
        said("errors.evidence_not_found", evidence_id=9999),
        said("coord.finding_ask_files", count=0),
    ]
    await tap(world, coordinator, text_of("coord.finding_no_files_button"))
    # Straight back to the summary: the unit, description and deadline are kept.
    assert labels(world, COORDINATOR)[0] == text_of("coord.finding_record_button")
    await tap(world, coordinator, text_of("coord.finding_record_button"))
    [finding] = findings(world)
    assert not finding.evidence_ids and finding.deadline == date(2025, 3, 17)
