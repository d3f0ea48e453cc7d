"""/review: the queue of rectifications and extension requests, one item at a time, oldest first;
accept, return (with a reason, confirmed), grant, refuse; double taps and two coordinators."""

from __future__ import annotations

import threading
from datetime import date

from sqlalchemy import func, select

from bot.dialogs.helpers import local_time_text
from bot.fake_bot_api import FakeUser
from services.access import Actor, Role
from services.errors import ServiceError
from services.evidence import register_evidence
from services.extensions import request_extension, unit_extensions
from services.findings import (
    RectificationView,
    accept_rectification,
    finding_rectifications,
    get_finding,
    record_finding,
    return_rectification,
    submit_rectification,
)
from services.unit_lookup import find_units
from storage.models import AuditEntry
from tests.bot.steps import labels, newest_with, tap
from tests.bot.world import OPERATOR, BotWorld, actor_of, unit_id
from tests.fakes.bot_api import tiny_png
from tests.texts import said, text_of

COORDINATOR = 500
SECOND_COORDINATOR = 501
LIAISON = 1001
# What the liaison is told when the first finding's first rectification is accepted, and what
# a coordinator is told who decides on it after another did.
ACCEPTED_NOTICE = said(
    "coord.review_accepted_notice",
    finding=1,
    description="安全生产台账不全",
    receipt="ZG2025-00001-01",
)
ALREADY_ACCEPTED = said("coord.review_already_decided", kind="r", decision="accepted")


# --- helpers -------------------------------------------------------------------------------


def add_finding(
    world: BotWorld, code: str = "dianzi", description: str = "安全生产台账不全"
) -> int:
    """A finding recorded for a unit, due in seven days; its id."""
    finding = record_finding(
        world.uow(),
        OPERATOR,
        unit_id(world, code),
        description,
        "visit",
        date(2025, 3, 10),
        date(2025, 3, 17),
    )
    return finding.id


def evidence(world: BotWorld, liaison: int, photos: int = 0, documents: int = 0) -> list[int]:
    """Evidence files the fake Telegram knows (so the bot can send them back by file id)."""
    actor = actor_of(world, liaison)
    ids = []
    for k in range(photos):
        data = tiny_png(2 + k, 2)
        stored = world.server.register_file(data, "photo")
        view = register_evidence(
            world.uow(), actor, "photo", stored.file_id, stored.file_unique_id, None,
            "image/jpeg", len(data), data, world.deps.archive,
        )  # fmt: skip
        ids.append(view.id)
    for k in range(documents):
        data = b"%PDF-1.4 evidence " + bytes([k])
        name = f"整改报告{k + 1}.pdf"
        stored = world.server.register_file(
            data, "document", file_name=name, mime_type="application/pdf"
        )
        view = register_evidence(
            world.uow(), actor, "document", stored.file_id, stored.file_unique_id, name,
            "application/pdf", len(data), data, world.deps.archive,
        )  # fmt: skip
        ids.append(view.id)
    return ids


def rectify(
    world: BotWorld, finding_id: int, text: str = "已补齐台账", photos: int = 0, documents: int = 0
) -> int:
    """A rectification submitted by the first liaison; its id."""
    files = evidence(world, LIAISON, photos, documents)
    receipt = submit_rectification(world.uow(), actor_of(world, LIAISON), finding_id, text, files)
    return receipt.rectification_id


def rectification(world: BotWorld, finding_id: int) -> RectificationView:
    """The newest rectification of a finding."""
    return finding_rectifications(world.uow(), OPERATOR, finding_id)[-1]


def audit_count(world: BotWorld, action: str) -> int:
    """How many audit entries of an action there are."""
    with world.uow() as uow:
        query = select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action)
        return int(uow.session.execute(query).scalar_one())


async def people(world: BotWorld) -> tuple[FakeUser, FakeUser]:
    """A coordinator and a liaison of 店子镇."""
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    liaison = await world.join(LIAISON, Role.LIAISON, "dianzi", "张三")
    return coordinator, liaison


# --- rectifications ------------------------------------------------------------------------


async def test_a_rectification_comes_with_its_evidence_and_accepting_tells_the_liaison(
    world: BotWorld,
) -> None:
    coordinator, liaison = await people(world)
    finding = add_finding(world)
    rectify(world, finding, "已补齐全部台账并建立月检制度", photos=3, documents=1)
    coordinator.send_command("/review")
    await world.step()
    [album] = [c for c in world.server.calls("sendMediaGroup") if c.chat_id == COORDINATOR]
    assert [m["type"] for m in album.params["media"]] == ["photo"] * 3
    [document] = [c for c in world.server.calls("sendDocument") if c.chat_id == COORDINATOR]
    assert "整改报告1.pdf" in (world.server.file(document.params["document"]).file_name or "")
    messages = world.server.messages_to(COORDINATOR)
    assert [m.kind for m in messages[-5:]] == ["photo", "photo", "photo", "document", "text"]
    card = world.texts(coordinator)[-1]
    assert "店子镇" in card and "安全生产台账不全" in card and "建立月检制度" in card
    assert "3 张照片、1 个文件" in card and "第 1/1 项" in card and "期限内" in card
    assert labels(world, COORDINATOR) == [
        text_of("coord.review_accept_button"),
        text_of("coord.review_return_button"),
        text_of("coord.review_next_button"),
    ]
    await tap(world, coordinator, text_of("coord.review_accept_button"))
    assert get_finding(world.uow(), OPERATOR, finding).status == "accepted"
    assert (
        said(
            "coord.review_accepted_notice",
            finding=1,
            description="安全生产台账不全",
            receipt="ZG2025-00001-01",
        )
        in world.texts(liaison)[-1]
    )
    texts = world.texts(coordinator)
    assert (
        said("coord.review_accepted", unit="店子镇", receipt="ZG2025-00001-01", told=1)
        in texts[-2]
        and said("coord.review_accepted", unit="店子镇", receipt="ZG2025-00001-01", told=1)
        in texts[-2]
    )
    assert said("coord.review_done", skipped=0) in texts[-1]
    assert world.server.messages_to(COORDINATOR)[-3].buttons == []  # the card is done


async def test_eleven_photos_come_back_as_an_album_of_ten_and_one_photo(world: BotWorld) -> None:
    coordinator, _ = await people(world)
    rectify(world, add_finding(world), photos=11)
    coordinator.send_command("/review")
    await world.step()
    [album] = [c for c in world.server.calls("sendMediaGroup") if c.chat_id == COORDINATOR]
    assert len(album.params["media"]) == 10
    assert len([c for c in world.server.calls("sendPhoto") if c.chat_id == COORDINATOR]) == 1


async def test_returning_asks_for_a_reason_and_a_confirmation_then_tells_the_liaison(
    world: BotWorld,
) -> None:
    coordinator, liaison = await people(world)
    finding = add_finding(world)
    rectify(world, finding, photos=1)
    coordinator.send_command("/review")
    await world.step()
    await tap(world, coordinator, text_of("coord.review_return_button"))
    assert (
        said("coord.review_ask_return_reason", unit="店子镇", max=1000)
        in world.texts(coordinator)[-1]
    )
    coordinator.send_text("   ")
    await world.step()
    assert said("coord.review_return_reason_empty") in world.texts(coordinator)[-2]
    coordinator.send_text("照片看不清，请补拍台账封面和签字页")
    await world.step()
    assert "确认退回？" in world.texts(coordinator)[-1]
    assert get_finding(world.uow(), OPERATOR, finding).status == "submitted"  # not yet
    await tap(world, coordinator, text_of("coord.review_change_reason_button"))
    coordinator.send_text("请补拍台账封面和签字页")
    await world.step()
    await tap(world, coordinator, text_of("coord.review_confirm_return_button"))
    assert get_finding(world.uow(), OPERATOR, finding).status == "returned"
    assert rectification(world, finding).reason == "请补拍台账封面和签字页"
    notice = world.texts(liaison)[-1]
    assert "整改被退回" in notice and "请补拍台账封面和签字页" in notice and "/rectify" in notice
    assert (
        said(
            "coord.review_returned",
            unit="店子镇",
            receipt="ZG2025-00001-01",
            reason="请补拍台账封面和签字页",
            told=1,
        )
        in world.texts(coordinator)[-2]
    )


async def test_back_from_the_reason_leaves_the_rectification_undecided(world: BotWorld) -> None:
    coordinator, _ = await people(world)
    finding = add_finding(world)
    rectify(world, finding)
    coordinator.send_command("/review")
    await world.step()
    await tap(world, coordinator, text_of("coord.review_return_button"))
    await tap(world, coordinator, text_of("coord.review_back_button"))
    assert labels(world, COORDINATOR) == [
        text_of("coord.review_accept_button"),
        text_of("coord.review_return_button"),
        text_of("coord.review_next_button"),
    ]
    assert rectification(world, finding).decision is None


async def test_the_queue_is_oldest_first_and_next_skips_an_item(world: BotWorld) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    await world.join(LIAISON, Role.LIAISON, "dianzi", "张三")
    xiji = await world.join(1002, Role.LIAISON, "xiji", "李四")
    first = add_finding(world, "dianzi", "店子的问题")
    second = add_finding(world, "xiji", "西集的问题")
    world.clock.advance(hours=1)
    rectify(world, first, "店子的整改")
    world.clock.advance(hours=1)
    request_extension(
        world.uow(), actor_of(world, 1002), unit_id(world, "xiji"), "需要更多时间",
        date(2025, 3, 31), finding_id=second,
    )  # fmt: skip
    coordinator.send_command("/review")
    await world.step()
    assert "店子的整改" in world.texts(coordinator)[-1]
    assert "第 1/2 项" in world.texts(coordinator)[-1]
    await tap(world, coordinator, text_of("coord.review_next_button"))
    card = world.texts(coordinator)[-1]
    assert "延期申请" in card and "西集镇" in card and "西集的问题" in card
    assert "现期限：2025-03-17" in card and "2025-03-31" in card and "需要更多时间" in card
    await tap(world, coordinator, text_of("coord.review_next_button"))
    assert said("coord.review_done", skipped=2) in world.texts(coordinator)[-1]
    assert rectification(world, first).decision is None
    assert xiji is not None


async def test_a_double_tap_on_accept_answers_already_decided_and_changes_nothing(
    world: BotWorld,
) -> None:
    coordinator, liaison = await people(world)
    finding = add_finding(world)
    rectify(world, finding)
    coordinator.send_command("/review")
    await world.step()
    card = world.last(coordinator)
    data = card.callback_data(text_of("coord.review_accept_button"))
    coordinator.tap(card, data)
    coordinator.tap(card, data, strict=False)  # the second tap, before the buttons went away
    await world.step()
    assert ALREADY_ACCEPTED in world.texts(coordinator)[-1]
    assert audit_count(world, "rectification.accept") == 1
    assert sum(ACCEPTED_NOTICE in t for t in world.texts(liaison)) == 1


async def test_a_double_tap_on_confirming_a_return_returns_once(world: BotWorld) -> None:
    coordinator, liaison = await people(world)
    finding = add_finding(world)
    rectify(world, finding)
    coordinator.send_command("/review")
    await world.step()
    await tap(world, coordinator, text_of("coord.review_return_button"))
    coordinator.send_text("材料不全")
    await world.step()
    card = world.last(coordinator)
    data = card.callback_data(text_of("coord.review_confirm_return_button"))
    coordinator.tap(card, data)
    coordinator.tap(card, data, strict=False)
    await world.step()
    assert audit_count(world, "rectification.return") == 1
    assert sum("整改被退回" in t for t in world.texts(liaison)) == 1
    assert (
        said("coord.review_already_decided", kind="r", decision="") in world.texts(coordinator)[-1]
    )


async def test_two_coordinators_accepting_the_same_item_at_once_one_wins(world: BotWorld) -> None:
    first, liaison = await people(world)
    second = await world.join(SECOND_COORDINATOR, Role.COORDINATOR, None, "李科长")
    finding = add_finding(world)
    rectify(world, finding)
    first.send_command("/review")
    second.send_command("/review")
    await world.step()
    for user in (first, second):
        card = world.last(user)
        user.tap(card, card.callback_data(text_of("coord.review_accept_button")))
    await world.step()  # both taps in one batch
    assert audit_count(world, "rectification.accept") == 1
    assert said(
        "coord.review_accepted", unit="店子镇", receipt="ZG2025-00001-01", told=1
    ) in "\n".join(world.texts(first)[-3:])
    loser = world.texts(second)
    assert ALREADY_ACCEPTED in loser[-2]
    assert said("coord.review_done", skipped=0) in loser[-1]
    assert sum(ACCEPTED_NOTICE in t for t in world.texts(liaison)) == 1


async def test_two_coordinators_deciding_truly_concurrently_one_decision_wins(
    world: BotWorld,
) -> None:
    import asyncio

    from telegram import Update

    first, liaison = await people(world)
    second = await world.join(SECOND_COORDINATOR, Role.COORDINATOR, None, "李科长")
    finding = add_finding(world)
    rectify(world, finding)
    first.send_command("/review")
    second.send_command("/review")
    await world.step()
    card = world.last(first)
    first.tap(card, card.callback_data(text_of("coord.review_accept_button")))
    card = world.last(second)
    second.tap(card, card.callback_data(text_of("coord.review_accept_button")))
    updates = world.server.pending_updates
    world.server.state.confirm_updates(updates[-1]["update_id"] + 1)
    # Both updates handled at the same time, their services running in two threads.
    await asyncio.gather(
        *(world.app.process_update(Update.de_json(u, world.app.bot)) for u in updates)
    )
    assert audit_count(world, "rectification.accept") == 1
    told = [world.texts(u) for u in (first, second)]
    assert sum(any(ALREADY_ACCEPTED in t for t in texts[-3:]) for texts in told) == 1
    assert sum(ACCEPTED_NOTICE in t for t in world.texts(liaison)) == 1


async def test_a_return_confirmed_while_another_coordinator_accepts_loses(world: BotWorld) -> None:
    first, liaison = await people(world)
    second = await world.join(SECOND_COORDINATOR, Role.COORDINATOR, None, "李科长")
    finding = add_finding(world)
    rectify(world, finding)
    first.send_command("/review")
    second.send_command("/review")
    await world.step()
    await tap(world, second, text_of("coord.review_return_button"))
    second.send_text("材料不全")
    await world.step()
    accept_card = newest_with(world, first, text_of("coord.review_accept_button"))
    confirm_card = newest_with(world, second, text_of("coord.review_confirm_return_button"))
    first.tap(accept_card, accept_card.callback_data(text_of("coord.review_accept_button")))
    second.tap(
        confirm_card, confirm_card.callback_data(text_of("coord.review_confirm_return_button"))
    )
    await world.step()
    assert get_finding(world.uow(), OPERATOR, finding).status == "accepted"
    assert audit_count(world, "rectification.return") == 0
    assert ALREADY_ACCEPTED in world.texts(second)[-2]
    assert not any("整改被退回" in t for t in world.texts(liaison))


async def test_tapping_return_on_an_item_already_decided_says_so(world: BotWorld) -> None:
    coordinator, _ = await people(world)
    finding = add_finding(world)
    rectify(world, finding)
    coordinator.send_command("/review")
    await world.step()
    accept_rectification(world.uow(), OPERATOR, rectification(world, finding).id)
    await tap(world, coordinator, text_of("coord.review_return_button"))
    assert (
        said("coord.review_already_decided", kind="r", decision="") in world.texts(coordinator)[-2]
    )
    assert said("coord.review_done", skipped=0) in world.texts(coordinator)[-1]
    assert rectification(world, finding).decision == "accepted"


def test_two_decisions_of_one_rectification_at_the_same_moment_one_wins(
    sqlite_template: object, tmp_path: object
) -> None:
    """At the service level, on the database: two threads decide at once; one is refused."""
    import shutil
    from datetime import datetime
    from pathlib import Path

    from services.people import register_person
    from storage.clock import FixedClock
    from storage.database import open_database
    from storage.unit_of_work import UnitOfWork
    from tests.bot.world import SHANGHAI, seed

    assert isinstance(sqlite_template, Path) and isinstance(tmp_path, Path)
    path = tmp_path / "race.db"
    shutil.copyfile(sqlite_template, path)
    database = open_database(f"sqlite:///{path}")
    clock = FixedClock(datetime(2025, 3, 10, 10, 0, tzinfo=SHANGHAI))
    try:
        seed(database, clock)

        def uow() -> UnitOfWork:
            return UnitOfWork(database, clock)

        [unit] = find_units(uow(), "dianzi")
        liaison = register_person(uow(), OPERATOR, 1001, "张三", Role.LIAISON, "dianzi")
        actor = Actor(liaison.id, Role.LIAISON, unit.id, "张三")
        finding = record_finding(
            uow(), OPERATOR, unit.id, "问题", "visit", date(2025, 3, 10), date(2025, 3, 17)
        )
        receipt = submit_rectification(uow(), actor, finding.id, "整改")
        barrier = threading.Barrier(2)
        outcomes: list[str] = []

        def decide(returning: bool) -> None:
            barrier.wait()
            try:
                if returning:
                    return_rectification(uow(), OPERATOR, receipt.rectification_id, "不行")
                    outcomes.append("returned")
                else:
                    accept_rectification(uow(), OPERATOR, receipt.rectification_id)
                    outcomes.append("accepted")
            except ServiceError as exc:
                outcomes.append(exc.code)

        threads = [threading.Thread(target=decide, args=(r,)) for r in (False, True)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        assert sorted(outcomes)[0] in ("accepted", "rectification_already_decided")
        assert outcomes.count("rectification_already_decided") == 1
        [stored] = finding_rectifications(uow(), OPERATOR, finding.id)
        winner = next(o for o in outcomes if o != "rectification_already_decided")
        assert stored.decision == winner
        assert get_finding(uow(), OPERATOR, finding.id).status == winner
    finally:
        database.dispose()


async def test_a_liaison_who_blocked_the_bot_does_not_undo_the_decision(world: BotWorld) -> None:
    coordinator, liaison = await people(world)
    finding = add_finding(world)
    rectify(world, finding)
    liaison.block_bot()
    coordinator.send_command("/review")
    await world.step()
    await tap(world, coordinator, text_of("coord.review_accept_button"))
    assert get_finding(world.uow(), OPERATOR, finding).status == "accepted"
    assert any("未能通知到 张三" in t for t in world.texts(coordinator)[-3:])


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


async def test_a_workbook_sent_after_the_review_is_checked_as_an_upload(world: BotWorld) -> None:
    coordinator, _ = await people(world)
    coordinator.send_command("/review")
    await world.step()
    assert said("coord.review_done", skipped=0) in world.texts(coordinator)[-1]
    coordinator.send_document(b"not really a workbook", "指标值.xlsx", XLSX)
    await world.step()
    assert any(
        said("coord.upload_checking", file="指标值.xlsx") in t
        for t in world.texts(coordinator)[-3:]
    )


async def test_a_workbook_sent_mid_review_is_checked_and_the_card_still_works(
    world: BotWorld,
) -> None:
    coordinator, liaison = await people(world)
    finding = add_finding(world)
    rectify(world, finding)
    coordinator.send_command("/review")
    await world.step()
    coordinator.send_document(b"not really a workbook", "指标值.xlsx", XLSX)
    await world.step()
    assert any(
        said("coord.upload_checking", file="指标值.xlsx") in t
        for t in world.texts(coordinator)[-3:]
    )
    await tap(world, coordinator, text_of("coord.review_accept_button"))
    assert rectification(world, finding).decision == "accepted"
    assert (
        said(
            "coord.review_accepted_notice",
            finding=1,
            description="安全生产台账不全",
            receipt="ZG2025-00001-01",
        )
        in world.texts(liaison)[-1]
    )


# --- extension requests --------------------------------------------------------------------


async def ask_extension(world: BotWorld, finding: int, until: date = date(2025, 3, 31)) -> int:
    view = request_extension(
        world.uow(), actor_of(world, LIAISON), unit_id(world, "dianzi"), "汛期施工受阻",
        until, finding_id=finding,
    )  # fmt: skip
    return view.id


async def test_granting_an_extension_moves_the_deadline_and_tells_the_liaison(
    world: BotWorld,
) -> None:
    coordinator, liaison = await people(world)
    finding = add_finding(world)
    await ask_extension(world, finding)
    coordinator.send_command("/review")
    await world.step()
    assert labels(world, COORDINATOR) == [
        text_of("coord.review_grant_button"),
        text_of("coord.review_refuse_button"),
        text_of("coord.review_next_button"),
    ]
    await tap(world, coordinator, text_of("coord.review_grant_button"))
    assert get_finding(world.uow(), OPERATOR, finding).deadline == date(2025, 3, 31)
    notice = world.texts(liaison)[-1]
    assert (
        said(
            "coord.review_extension_notice",
            granted=True,
            target="问题整改（编号 1）",
            requested="2025-03-31",
            reason="",
        )
        in notice
        and "2025-03-31" in notice
    )
    assert (
        said(
            "coord.review_extension_decided",
            granted=True,
            target="问题整改（编号 1）",
            requested="2025-03-31",
            told=1,
        )
        in world.texts(coordinator)[-2]
    )


async def test_refusing_an_extension_with_a_reason_tells_the_liaison_the_reason(
    world: BotWorld,
) -> None:
    coordinator, liaison = await people(world)
    finding = add_finding(world)
    await ask_extension(world, finding)
    coordinator.send_command("/review")
    await world.step()
    await tap(world, coordinator, text_of("coord.review_refuse_button"))
    assert said("coord.review_ask_refuse_reason", max=1000) in world.texts(coordinator)[-1]
    coordinator.send_text("期限内可以完成")
    await world.step()
    assert get_finding(world.uow(), OPERATOR, finding).deadline == date(2025, 3, 17)
    [request] = unit_extensions(world.uow(), OPERATOR, unit_id(world, "dianzi"))
    assert request.decision == "refused" and request.reason_for_decision == "期限内可以完成"
    notice = world.texts(liaison)[-1]
    assert (
        said(
            "coord.review_extension_notice",
            granted=False,
            target="问题整改（编号 1）",
            requested="2025-03-31",
            reason="期限内可以完成",
        )
        in notice
        and "期限内可以完成" in notice
    )


async def test_refusing_an_extension_needs_no_reason(world: BotWorld) -> None:
    coordinator, liaison = await people(world)
    finding = add_finding(world)
    await ask_extension(world, finding)
    coordinator.send_command("/review")
    await world.step()
    await tap(world, coordinator, text_of("coord.review_refuse_button"))
    await tap(world, coordinator, text_of("coord.review_refuse_no_reason_button"))
    [request] = unit_extensions(world.uow(), OPERATOR, unit_id(world, "dianzi"))
    assert request.decision == "refused" and request.reason_for_decision is None
    assert (
        said(
            "coord.review_extension_notice",
            granted=False,
            target="问题整改（编号 1）",
            requested="2025-03-31",
            reason="",
        )
        in world.texts(liaison)[-1]
        and "说明" not in world.texts(liaison)[-1]
    )


async def test_a_report_extension_shows_the_month_and_its_due_day(world: BotWorld) -> None:
    coordinator, liaison = await people(world)
    request_extension(
        world.uow(), actor_of(world, LIAISON), unit_id(world, "dianzi"), "系统故障",
        date(2025, 4, 12), report_year=2025, report_month=3,
    )  # fmt: skip
    coordinator.send_command("/review")
    await world.step()
    card = world.texts(coordinator)[-1]
    assert (
        text_of("coord.review_target_report", year=2025, month=3) in card
        and "现期限：2025-04-05" in card
    )
    await tap(world, coordinator, text_of("coord.review_grant_button"))
    assert text_of("coord.review_target_report", year=2025, month=3) in world.texts(liaison)[-1]


async def test_a_report_extension_shows_the_deadline_an_earlier_extension_granted(
    world: BotWorld,
) -> None:
    coordinator, _ = await people(world)
    dianzi = unit_id(world, "dianzi")
    request_extension(
        world.uow(), actor_of(world, LIAISON), dianzi, "系统故障",
        date(2025, 4, 12), report_year=2025, report_month=3,
    )  # fmt: skip
    coordinator.send_command("/review")
    await world.step()
    await tap(world, coordinator, text_of("coord.review_grant_button"))
    # The unit's deadline for March is now 12 April (the plan's day is 5 April): asking
    # again, the coordinator must see 12 April as the deadline the request would move.
    again = request_extension(
        world.uow(), actor_of(world, LIAISON), dianzi, "数据仍未核对完",
        date(2025, 4, 20), report_year=2025, report_month=3,
    )  # fmt: skip
    coordinator.send_command("/review")
    await world.step()
    assert world.texts(coordinator)[-1] == said(
        "coord.review_extension_card",
        position=1,
        total=1,
        unit="店子镇",
        finding=None,
        description="",
        year=2025,
        month=3,
        current="2025-04-12",
        requested="2025-04-20",
        requested_at=local_time_text(again.requested_at, "Asia/Shanghai"),
        reason="数据仍未核对完",
    )


async def test_a_double_tap_on_grant_grants_once(world: BotWorld) -> None:
    coordinator, liaison = await people(world)
    finding = add_finding(world)
    await ask_extension(world, finding)
    coordinator.send_command("/review")
    await world.step()
    card = world.last(coordinator)
    data = card.callback_data(text_of("coord.review_grant_button"))
    coordinator.tap(card, data)
    coordinator.tap(card, data, strict=False)
    await world.step()
    assert audit_count(world, "extension.grant") == 1
    assert (
        said("coord.review_already_decided", kind="e", decision="") in world.texts(coordinator)[-1]
    )
    assert (
        sum(
            said(
                "coord.review_extension_notice",
                granted=True,
                target="问题整改（编号 1）",
                requested="2025-03-31",
                reason="",
            )
            in t
            for t in world.texts(liaison)
        )
        == 1
    )


# --- roles ---------------------------------------------------------------------------------


async def test_review_is_refused_to_liaisons_raters_viewers_and_strangers(
    world: BotWorld,
) -> None:
    liaison = await world.join(LIAISON, Role.LIAISON, "dianzi", "张三")
    rater = await world.join(1002, Role.RATER, None, "李四")
    viewer = await world.join(1003, Role.VIEWER, None, "赵五")
    stranger = world.server.user(1004)
    finding = add_finding(world)
    rectify(world, finding, photos=1)
    for user in (liaison, rater, viewer, stranger):
        user.send_command("/review")
    await world.step()
    for user in (liaison, rater, viewer):
        assert said("common.not_for_your_role") in world.texts(user)[-1]
    assert said("common.unknown_account") in world.texts(stranger)[-1]
    assert world.server.calls("sendPhoto") == []
    assert rectification(world, finding).decision is None
