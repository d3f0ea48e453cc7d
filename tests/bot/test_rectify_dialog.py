"""/rectify: a liaison proves the rectification of a finding, with evidence, and gets a receipt;
a returned one comes back with the reason and is resubmitted; other units' findings, other roles
and bad input are refused without storing anything."""

from __future__ import annotations

from datetime import date
from typing import Any

import pytest

from bot.buttons import Payload
from bot.fake_bot_api import BotMessage, FakeUser
from bot.fake_bot_api.models import AlbumDocument
from services import dialogs as dialog_service
from services.access import Actor, Role
from services.findings import (
    FindingView,
    RectificationView,
    accept_rectification,
    finding_rectifications,
    get_finding,
    record_finding,
    return_rectification,
)
from services.people import list_people
from tests.bot.steps import button_starting, newest_with, tap
from tests.bot.world import OPERATOR, BotWorld, new_application, unit_id
from tests.fakes.bot_api import record_errors, tiny_png
from tests.texts import said, text_of

COORDINATOR = Actor(person_id=None, role=Role.COORDINATOR, name="区发改局")
PDF = b"%PDF-1.4 fake rectification report"


# --- helpers ---------------------------------------------------------------------------------


def finding(
    world: BotWorld,
    code: str = "dianzi",
    description: str = "项目台账不完整，缺少三月进度记录",
    deadline: date = date(2025, 3, 31),
    found_on: date = date(2025, 3, 1),
) -> FindingView:
    """A finding recorded by the coordinators for a unit."""
    return record_finding(
        world.uow(), COORDINATOR, unit_id(world, code), description, "on_site_inspection",
        found_on, deadline,
    )  # fmt: skip


def liaison_actor(world: BotWorld, telegram_id: int) -> Actor:
    """The Actor of a registered person."""
    person = next(
        p for p in list_people(world.uow(), OPERATOR) if p.telegram_user_id == telegram_id
    )
    unit = unit_id(world, person.unit_code) if person.unit_code else None
    return Actor(person.id, person.role, unit, person.display_name)


def rectifications(world: BotWorld, finding_id: int) -> list[RectificationView]:
    """The rectifications stored for a finding."""
    return finding_rectifications(world.uow(), COORDINATOR, finding_id)


async def pick(world: BotWorld, user: FakeUser, finding_id: int) -> None:
    """Tap the button of a finding in the /rectify list."""
    message, label = button_starting(world, user, f"#{finding_id} ")
    user.tap(message, message.callback_data(label))
    await world.step()


def draft(world: BotWorld, telegram_id: int, kind: str = "rectify") -> Any:
    """The person's draft of a dialog kind."""
    actor = liaison_actor(world, telegram_id)
    assert actor.person_id is not None
    return dialog_service.dialog_of_kind(world.uow(), actor.person_id, kind)


async def submitted_through_the_dialog(
    world: BotWorld,
    user: FakeUser,
    finding_id: int,
    text: str = "已补齐三月进度记录并建立周报制度",
) -> None:
    """The whole /rectify dialog for one finding with one photo."""
    user.send_command("/rectify")
    await world.step()
    await pick(world, user, finding_id)
    user.send_text(text)
    await world.step()
    user.send_photo(tiny_png())
    await world.step()
    await tap(world, user, "✅ 完成（1）")
    await tap(world, user, "✅ 提交")


# --- the dialog ------------------------------------------------------------------------------


async def test_a_liaison_rectifies_a_finding_with_an_album_and_gets_a_receipt(
    world: BotWorld, liaison: FakeUser
) -> None:
    errors = record_errors(world.app)
    found = finding(world)
    liaison.send_command("/rectify")
    await world.step()
    listing = world.last(liaison).text
    assert f"#{found.id}" in listing and "2025-03-31" in listing
    await pick(world, liaison, found.id)
    assert "项目台账不完整" in world.texts(liaison)[-1]
    liaison.send_text("已补齐三月进度记录，建立周报制度")
    await world.step()
    assert "佐证材料" in world.texts(liaison)[-1]
    liaison.send_album([tiny_png(), tiny_png(5, 5)])
    await world.step()
    assert "已收到 <b>2</b>" in (world.last(liaison).source_text or "")
    await tap(world, liaison, text_of("evidence.done_button", count=2))
    summary = world.texts(liaison)[-1]
    assert "请核对整改" in summary and "已补齐三月进度记录" in summary and "2 个" in summary
    await tap(world, liaison, text_of("rectify.submit_button"))
    receipt = world.texts(liaison)[-1]
    assert "整改已提交" in receipt and f"ZG2025-{found.id:05d}-01" in receipt
    assert "在整改期限（2025-03-31）之内" in receipt and "2025-03-10 10:00" in receipt
    [stored] = rectifications(world, found.id)
    assert stored.text == "已补齐三月进度记录，建立周报制度"
    assert len(stored.evidence_ids) == 2
    assert get_finding(world.uow(), COORDINATOR, found.id).status == "submitted"
    assert draft(world, 1001) is None
    assert errors == []


async def test_a_rectification_after_the_deadline_is_marked_late(
    world: BotWorld, liaison: FakeUser
) -> None:
    found = finding(world, deadline=date(2025, 3, 5))
    liaison.send_command("/rectify")
    await world.step()
    assert "已逾期" in world.last(liaison).text
    await pick(world, liaison, found.id)
    liaison.send_text("已整改")
    await world.step()
    liaison.send_document(PDF, "整改报告.pdf", "application/pdf")
    await world.step()
    await tap(world, liaison, text_of("evidence.done_button", count=1))
    assert "整改报告.pdf" in world.texts(liaison)[-1]
    await tap(world, liaison, text_of("rectify.submit_button"))
    assert "已超过整改期限（2025-03-05）" in world.texts(liaison)[-1]
    assert rectifications(world, found.id)[0].on_time is False


async def test_photos_sent_before_the_measures_are_kept(
    world: BotWorld, liaison: FakeUser
) -> None:
    found = finding(world)
    liaison.send_command("/rectify")
    await world.step()
    await pick(world, liaison, found.id)
    liaison.send_photo(tiny_png())
    await world.step()
    await tap(world, liaison, text_of("evidence.done_button", count=1))
    assert said("rectify.text_first") in world.texts(liaison)[-2]
    liaison.send_text("已整改到位")
    await world.step()
    await tap(world, liaison, text_of("evidence.done_button", count=1))
    await tap(world, liaison, text_of("rectify.submit_button"))
    assert len(rectifications(world, found.id)[0].evidence_ids) == 1


async def test_a_returned_rectification_comes_back_with_the_reason_and_is_resubmitted(
    world: BotWorld, liaison: FakeUser
) -> None:
    found = finding(world)
    await submitted_through_the_dialog(world, liaison, found.id)
    [first] = rectifications(world, found.id)
    return_rectification(world.uow(), COORDINATOR, first.id, "照片看不清整改后的台账")
    liaison.send_command("/rectify")
    await world.step()
    assert "已退回" in world.last(liaison).text
    await pick(world, liaison, found.id)
    shown = world.texts(liaison)[-1]
    assert "照片看不清整改后的台账" in shown and first.receipt in shown
    liaison.send_text("重新拍摄了台账照片，并附上电子台账")
    await world.step()
    liaison.send_album([tiny_png(7, 7), AlbumDocument(PDF, "台账.pdf", "application/pdf")])
    await world.step()
    await tap(world, liaison, text_of("evidence.done_button", count=2))
    assert "重新提交" in world.texts(liaison)[-1]
    await tap(world, liaison, text_of("rectify.submit_button"))
    assert f"ZG2025-{found.id:05d}-02" in world.texts(liaison)[-1]
    first_again, second = rectifications(world, found.id)
    assert (first_again.decision, first_again.reason) == ("returned", "照片看不清整改后的台账")
    assert second.text == "重新拍摄了台账照片，并附上电子台账" and second.decision is None
    assert get_finding(world.uow(), COORDINATOR, found.id).status == "submitted"


async def test_the_summary_lets_the_measures_and_the_files_be_changed(
    world: BotWorld, liaison: FakeUser
) -> None:
    found = finding(world)
    liaison.send_command("/rectify")
    await world.step()
    await pick(world, liaison, found.id)
    liaison.send_text("初稿")
    await world.step()
    liaison.send_photo(tiny_png())
    await world.step()
    await tap(world, liaison, text_of("evidence.done_button", count=1))
    await tap(world, liaison, text_of("rectify.edit_text_button"))
    assert "初稿" in world.texts(liaison)[-1]
    liaison.send_text("定稿：已整改")
    await world.step()
    assert "定稿：已整改" in world.texts(liaison)[-1]  # straight back to the summary
    await tap(world, liaison, text_of("rectify.edit_files_button"))
    liaison.send_photo(tiny_png(9, 9))
    await world.step()
    await tap(world, liaison, text_of("evidence.done_button", count=2))
    await tap(world, liaison, text_of("rectify.submit_button"))
    [stored] = rectifications(world, found.id)
    assert stored.text == "定稿：已整改" and len(stored.evidence_ids) == 2


async def test_cancel_on_the_summary_stores_nothing(world: BotWorld, liaison: FakeUser) -> None:
    found = finding(world)
    liaison.send_command("/rectify")
    await world.step()
    await pick(world, liaison, found.id)
    liaison.send_text("已整改")
    await world.step()
    liaison.send_photo(tiny_png())
    await world.step()
    await tap(world, liaison, text_of("evidence.done_button", count=1))
    await tap(world, liaison, text_of("rectify.cancel_button"))
    assert said("rectify.cancelled") in world.texts(liaison)[-1]
    assert rectifications(world, found.id) == []
    assert draft(world, 1001) is None


async def test_an_unfinished_draft_is_offered_back(world: BotWorld, liaison: FakeUser) -> None:
    found = finding(world)
    liaison.send_command("/rectify")
    await world.step()
    await pick(world, liaison, found.id)
    liaison.send_text("写了一半的整改措施")
    await world.step()
    liaison.send_command("/extend")  # leaves the draft for another dialog
    await world.step()
    liaison.send_command("/rectify")
    await world.step()
    assert "未提交的整改" in world.texts(liaison)[-1]
    await tap(world, liaison, text_of("rectify.continue_button"))
    assert "佐证材料" in world.texts(liaison)[-1]
    liaison.send_photo(tiny_png())
    await world.step()
    await tap(world, liaison, text_of("evidence.done_button", count=1))
    assert "写了一半的整改措施" in world.texts(liaison)[-1]
    liaison.send_command("/rectify")
    await world.step()
    await tap(world, liaison, text_of("rectify.restart_button"))
    assert f"#{found.id}" in world.last(liaison).text
    assert draft(world, 1001).data == {"page": 0}


async def test_nothing_to_rectify_is_said_so(world: BotWorld, liaison: FakeUser) -> None:
    finding(world, code="xiji")
    liaison.send_command("/rectify")
    await world.step()
    assert "没有待整改的问题" in world.texts(liaison)[-1]
    assert draft(world, 1001) is None


async def test_findings_under_review_are_listed_without_a_button(
    world: BotWorld, liaison: FakeUser
) -> None:
    found = finding(world)
    await submitted_through_the_dialog(world, liaison, found.id)
    liaison.send_command("/rectify")
    await world.step()
    assert f"等待审核的：#{found.id}" in world.texts(liaison)[-1]


async def test_many_findings_are_paged(world: BotWorld, liaison: FakeUser) -> None:
    found = [finding(world, description=f"问题 {n}") for n in range(10)]
    liaison.send_command("/rectify")
    await world.step()
    assert "第 1/2 页" in world.last(liaison).text
    assert len(world.last(liaison).buttons) == 9  # eight findings and "next"
    await tap(world, liaison, text_of("rectify.next_page"))
    await pick(world, liaison, found[9].id)
    assert "问题 9" in world.texts(liaison)[-1]


async def test_a_restart_mid_rectification_continues_where_the_liaison_was(
    world: BotWorld, liaison: FakeUser
) -> None:
    found = finding(world)
    liaison.send_command("/rectify")
    await world.step()
    await pick(world, liaison, found.id)
    liaison.send_text("重启前写好的整改措施")
    await world.step()
    liaison.send_photo(tiny_png())
    await world.step()
    await world.app.shutdown()  # the bot stops mid-rectification
    restarted = new_application(world, updater=False)
    await restarted.initialize()
    errors = record_errors(restarted)
    world.app = restarted
    try:
        liaison.send_photo(tiny_png(6, 6))
        await world.step()
        await tap(
            world, liaison, text_of("evidence.done_button", count=2)
        )  # a button sent before the restart
        assert "重启前写好的整改措施" in world.texts(liaison)[-1]
        await tap(world, liaison, text_of("rectify.submit_button"))
        [stored] = rectifications(world, found.id)
        assert stored.text == "重启前写好的整改措施" and len(stored.evidence_ids) == 2
    finally:
        await restarted.shutdown()
    assert errors == []


# --- refusals --------------------------------------------------------------------------------


async def test_a_signed_button_naming_another_units_finding_is_refused(
    world: BotWorld, liaison: FakeUser
) -> None:
    mine = finding(world)
    theirs = finding(world, code="xiji", description="西集镇的问题")
    liaison.send_command("/rectify")
    await world.step()
    listing = world.last(liaison)
    assert "西集镇的问题" not in listing.text
    state = draft(world, 1001)
    forged = world.deps.signer.dump(Payload("rectify", state.version, "f", str(theirs.id)))
    liaison.tap(listing, forged, strict=False)
    await world.step()
    assert said("errors.not_your_unit") in world.texts(liaison)[-2]
    assert f"#{mine.id}" in world.texts(liaison)[-1]  # the list again
    after = draft(world, 1001)
    assert (after.step, after.data) == ("pick", {"page": 0})
    assert rectifications(world, theirs.id) == []
    assert "西集镇的问题" not in "".join(world.texts(liaison))


async def test_the_button_handler_refuses_another_units_finding(
    world: BotWorld, liaison: FakeUser
) -> None:
    finding(world)
    theirs = finding(world, code="xiji", description="西集镇的问题")
    liaison.send_command("/rectify")
    await world.step()
    # The dialog object the router hands buttons to, watched on its way in.
    router: Any = next(
        getattr(h.callback, "__self__", None)
        for h in world.app.handlers[0]
        if getattr(h.callback, "__name__", "") == "button"
    )
    dialog = router.dialogs["rectify"]
    handled: list[tuple[str, str]] = []
    original = dialog.button

    async def spy(turn: Any, action: str, arg: str) -> None:
        handled.append((action, arg))
        await original(turn, action, arg)

    dialog.button = spy
    try:
        state = draft(world, 1001)
        payload = world.deps.signer.dump(Payload("rectify", state.version, "f", str(theirs.id)))
        liaison.tap(world.last(liaison), payload, strict=False)
        await world.step()
    finally:
        del dialog.button
    assert handled == [("f", str(theirs.id))]
    assert said("errors.not_your_unit") in world.texts(liaison)[-2]
    assert draft(world, 1001).data == {"page": 0}
    assert rectifications(world, theirs.id) == []


async def test_a_typed_number_of_another_units_finding_is_refused(
    world: BotWorld, liaison: FakeUser
) -> None:
    finding(world)
    theirs = finding(world, code="xiji")
    liaison.send_command("/rectify", str(theirs.id))
    await world.step()
    assert said("errors.not_your_unit") in world.texts(liaison)[-2]
    assert draft(world, 1001).step == "pick"


async def test_an_unknown_finding_number_is_answered(world: BotWorld, liaison: FakeUser) -> None:
    finding(world)
    liaison.send_command("/rectify", "9999")
    await world.step()
    assert said("errors.finding_not_found", finding_id=9999) in world.texts(liaison)[-2]
    liaison.send_command("/rectify", "abc")
    await world.step()
    assert said("rectify.bad_number", value="abc") in world.texts(liaison)[-2]


async def test_a_finding_already_submitted_cannot_be_picked_again(
    world: BotWorld, liaison: FakeUser
) -> None:
    found = finding(world)
    await submitted_through_the_dialog(world, liaison, found.id)
    finding(world, description="另一个问题")
    liaison.send_command("/rectify", str(found.id))
    await world.step()
    assert (
        said("errors.finding_not_awaiting_rectification", status="submitted")
        in world.texts(liaison)[-2]
    )
    assert len(rectifications(world, found.id)) == 1


async def test_a_finding_accepted_while_the_summary_was_open_is_not_submitted_again(
    world: BotWorld, liaison: FakeUser
) -> None:
    found = finding(world)
    await submitted_through_the_dialog(world, liaison, found.id)
    [first] = rectifications(world, found.id)
    return_rectification(world.uow(), COORDINATOR, first.id, "补充材料")
    liaison.send_command("/rectify")
    await world.step()
    await pick(world, liaison, found.id)
    liaison.send_text("已补充")
    await world.step()
    liaison.send_photo(tiny_png(3, 3))
    await world.step()
    await tap(world, liaison, text_of("evidence.done_button", count=1))
    # Meanwhile another liaison of the unit resubmitted, and the coordinators accepted it.
    from services.findings import submit_rectification

    other = await world.join(1002, Role.LIAISON, "dianzi", "李四")
    receipt = submit_rectification(world.uow(), liaison_actor(world, other.id), found.id, "已整改")
    accept_rectification(world.uow(), COORDINATOR, receipt.rectification_id)
    await tap(world, liaison, text_of("rectify.submit_button"))
    assert (
        said("errors.finding_not_awaiting_rectification", status="accepted")
        in world.texts(liaison)[-1]
    )
    assert len(rectifications(world, found.id)) == 2
    assert draft(world, 1001) is None


@pytest.mark.parametrize("role", [Role.RATER, Role.VIEWER, Role.COORDINATOR])
async def test_other_roles_cannot_use_rectify(world: BotWorld, role: Role) -> None:
    finding(world)
    user = await world.join(2001, role, None, "王五")
    user.send_command("/rectify")
    await world.step()
    assert said("common.not_for_your_role") in world.texts(user)[-1]


async def test_a_deactivated_liaison_gets_nothing(world: BotWorld, liaison: FakeUser) -> None:
    from services.people import deactivate_person

    found = finding(world)
    deactivate_person(world.uow(), OPERATOR, liaison_actor(world, 1001).person_id or 0)
    liaison.send_command("/rectify")
    await world.step()
    assert said("common.unknown_account") in world.texts(liaison)[-1]
    assert f"#{found.id}" not in world.texts(liaison)[-1]


# --- bad input -------------------------------------------------------------------------------


async def at_measures(world: BotWorld, user: FakeUser) -> FindingView:
    """A liaison at the step that asks for the measures."""
    found = finding(world)
    user.send_command("/rectify")
    await world.step()
    await pick(world, user, found.id)
    return found


async def test_empty_measures_are_refused(world: BotWorld, liaison: FakeUser) -> None:
    await at_measures(world, liaison)
    liaison.send_text("   ")
    await world.step()
    assert said("rectify.text_empty") in world.texts(liaison)[-2]
    assert draft(world, 1001).step == "measures"


async def test_measures_over_the_limit_are_refused(world: BotWorld, liaison: FakeUser) -> None:
    await at_measures(world, liaison)
    liaison.send_text("很" * 2001)
    await world.step()
    assert said("rectify.text_too_long", length=2001, max=2000) in world.texts(liaison)[-1]
    assert draft(world, 1001).data.get("text") is None
    liaison.send_text("很" * 2000)
    await world.step()
    assert draft(world, 1001).step == "evidence"


async def test_text_where_a_button_is_expected_shows_the_step_again(
    world: BotWorld, liaison: FakeUser
) -> None:
    found = finding(world)
    liaison.send_command("/rectify")
    await world.step()
    liaison.send_text("第一个")
    await world.step()
    assert said("dialog.use_buttons") in world.texts(liaison)[-2]
    assert f"#{found.id}" in world.texts(liaison)[-1]
    assert draft(world, 1001).step == "pick"


async def test_a_sticker_or_voice_mid_dialog_keeps_the_draft(
    world: BotWorld, liaison: FakeUser
) -> None:
    await at_measures(world, liaison)
    liaison.send_text("已整改")
    await world.step()
    before = draft(world, 1001)
    liaison.send_sticker()
    liaison.send_voice()
    await world.step()
    texts = world.texts(liaison)
    assert (
        said("common.message_kind_not_used") in texts[-4]
        and said("rectify.ask_evidence", count=0) in texts[-3]
        and said("rectify.ask_evidence", count=0) in texts[-1]
    )
    after = draft(world, 1001)
    assert (after.step, after.data) == (before.step, before.data)


async def test_text_at_the_evidence_step_asks_for_files(
    world: BotWorld, liaison: FakeUser
) -> None:
    await at_measures(world, liaison)
    liaison.send_text("已整改")
    await world.step()
    liaison.send_text("照片稍后发")
    await world.step()
    assert said("rectify.evidence_wants_files") in world.texts(liaison)[-2]
    assert draft(world, 1001).data["text"] == "已整改"


async def test_done_without_any_file_asks_for_evidence(world: BotWorld, liaison: FakeUser) -> None:
    await at_measures(world, liaison)
    liaison.send_text("已整改")
    await world.step()
    liaison.send_photo(tiny_png())
    await world.step()
    await tap(world, liaison, text_of("evidence.remove_last_button"))
    message = newest_with(world, liaison, text_of("evidence.done_button", count=0))
    liaison.tap(message, message.callback_data(text_of("evidence.done_button", count=0)))
    await world.step()
    assert said("rectify.need_evidence") in world.texts(liaison)[-2]
    assert draft(world, 1001).step == "evidence"


async def test_a_file_of_another_kind_is_refused_and_the_step_stays(
    world: BotWorld, liaison: FakeUser
) -> None:
    await at_measures(world, liaison)
    liaison.send_text("已整改")
    await world.step()
    liaison.send_document(b"PK zip", "材料.zip", "application/zip")
    await world.step()
    assert said("common.file_kind_not_accepted") in world.texts(liaison)[-2]
    assert draft(world, 1001).data.get("files") is None


async def test_a_file_at_the_summary_is_not_taken(world: BotWorld, liaison: FakeUser) -> None:
    await at_measures(world, liaison)
    liaison.send_text("已整改")
    await world.step()
    liaison.send_photo(tiny_png())
    await world.step()
    await tap(world, liaison, text_of("evidence.done_button", count=1))
    liaison.send_photo(tiny_png(8, 8))
    await world.step()
    assert said("dialog.no_file_here") in world.texts(liaison)[-2]
    assert len(draft(world, 1001).data["files"]) == 1


async def test_an_edited_message_is_not_read_again(world: BotWorld, liaison: FakeUser) -> None:
    await at_measures(world, liaison)
    sent = liaison.send_text("初稿")
    await world.step()
    liaison.edit_text(sent["message_id"], "改过的")
    await world.step()
    assert said("common.edits_not_read") in world.texts(liaison)[-1]
    assert draft(world, 1001).data["text"] == "初稿"


async def test_the_submit_button_cannot_submit_twice(world: BotWorld, liaison: FakeUser) -> None:
    found = finding(world)
    liaison.send_command("/rectify")
    await world.step()
    await pick(world, liaison, found.id)
    liaison.send_text("已补齐三月进度记录并建立周报制度")
    await world.step()
    liaison.send_photo(tiny_png())
    await world.step()
    await tap(world, liaison, text_of("evidence.done_button", count=1))
    message = newest_with(world, liaison, text_of("rectify.submit_button"))
    await tap(world, liaison, text_of("rectify.submit_button"))
    # The second tap left the phone before the first one's answer closed the message.
    query = liaison.tap(
        message, message.callback_data(text_of("rectify.submit_button")), strict=False
    )
    await world.step()
    answer = world.server.answer_to(query)
    assert answer is not None and "过期" in (answer.text or "")
    assert len(rectifications(world, found.id)) == 1


# --- one complete flow through the real Updater ----------------------------------------------


async def test_a_rectification_returned_and_resubmitted_through_the_real_updater(
    polling_world: BotWorld,
) -> None:
    world = polling_world
    server = world.server
    errors = record_errors(world.app)
    user = server.user(1001, first_name="张三")

    async def reply(fragment: str, *, after: int = 0) -> BotMessage:
        def found() -> list[BotMessage]:
            return [m for m in server.messages_to(user.id)[after:] if fragment in (m.text or "")]

        return (await server.wait_for(found))[0]

    def count() -> int:
        return len(server.messages_to(user.id))

    async with world.polling():
        user.send_command("/start", world.invite(Role.LIAISON, "dianzi"))
        await reply("店子镇")
        found = finding(world)  # recorded by the coordinators (service)

        user.send_command("/rectify")
        listing = await reply("请选择要整改的问题")
        label = next(text for text, _ in listing.buttons if text.startswith(f"#{found.id} "))
        user.tap(listing, listing.callback_data(label))
        await reply("请用文字说明")
        user.send_text("已补齐台账")
        await reply("请发送整改佐证材料")
        user.send_album([tiny_png(), tiny_png(6, 4)])
        await server.wait_for(lambda: any(
            "✅ 完成（2）" in text for m in server.messages_to(user.id) for text, _ in m.buttons
        ))  # fmt: skip
        mark = count()
        message = newest_with(world, user, text_of("evidence.done_button", count=2))
        user.tap(message, message.callback_data(text_of("evidence.done_button", count=2)))
        await reply("请核对整改", after=mark)
        mark = count()
        message = newest_with(world, user, text_of("rectify.submit_button"))
        user.tap(message, message.callback_data(text_of("rectify.submit_button")))
        first_receipt = await reply("整改已提交", after=mark)
        assert f"ZG2025-{found.id:05d}-01" in (first_receipt.text or "")

        [first] = rectifications(world, found.id)
        assert len(first.evidence_ids) == 2
        return_rectification(world.uow(), COORDINATOR, first.id, "照片不清楚")

        mark = count()
        user.send_command("/rectify")
        listing = await reply("已退回", after=mark)
        label = next(text for text, _ in listing.buttons if text.startswith(f"#{found.id} "))
        user.tap(listing, listing.callback_data(label))
        await reply("照片不清楚", after=mark)
        user.send_text("重新拍摄了清晰的照片")
        await reply("请发送整改佐证材料", after=mark)
        user.send_photo(tiny_png(10, 10))
        await server.wait_for(lambda: any(
            "✅ 完成（1）" in text for m in server.messages_to(user.id) for text, _ in m.buttons
        ))  # fmt: skip
        mark = count()
        message = newest_with(world, user, text_of("evidence.done_button", count=1))
        user.tap(message, message.callback_data(text_of("evidence.done_button", count=1)))
        await reply("重新提交", after=mark)
        mark = count()
        message = newest_with(world, user, text_of("rectify.submit_button"))
        user.tap(message, message.callback_data(text_of("rectify.submit_button")))
        second_receipt = await reply("整改已提交", after=mark)
        assert f"ZG2025-{found.id:05d}-02" in (second_receipt.text or "")

    _, second = rectifications(world, found.id)
    accepted = accept_rectification(world.uow(), COORDINATOR, second.id)
    assert accepted.decision == "accepted" and accepted.text == "重新拍摄了清晰的照片"
    assert get_finding(world.uow(), COORDINATOR, found.id).status == "accepted"
    # The files went through the file URL: each is archived by its hash.
    archived = list(world.deps.archive.root.rglob("*"))
    assert sum(1 for p in archived if p.is_file()) == 3
    assert server.calls("getFile")
    assert errors == []


async def test_the_dialog_reads_in_english_too(world: BotWorld, liaison: FakeUser) -> None:
    liaison.send_command("/language")
    await world.step()
    await tap(world, liaison, "English")
    found = finding(world, deadline=date(2025, 3, 5))
    liaison.send_command("/rectify")
    await world.step()
    assert "Choose the finding to rectify" in world.texts(liaison)[-1]
    await pick(world, liaison, found.id)
    liaison.send_text("Fixed")
    await world.step()
    liaison.send_album([tiny_png(), AlbumDocument(PDF, "report.pdf", "application/pdf")])
    await world.step()
    message, label = button_starting(world, liaison, "✅")
    liaison.tap(message, message.callback_data(label))
    await world.step()
    assert "Evidence: 2 files (1 photo; report.pdf)" in world.texts(liaison)[-1]
    await tap(world, liaison, "✅ Submit")
    assert "Past the deadline (2025-03-05)" in world.texts(liaison)[-1]


async def test_the_coordinators_are_told_of_a_submitted_rectification(
    world: BotWorld, liaison: FakeUser
) -> None:
    coordinator = await world.join(5001, Role.COORDINATOR, None, "王科长")
    found = finding(world)
    await submitted_through_the_dialog(world, liaison, found.id)
    told = world.texts(coordinator)[-1]
    assert f"#{found.id}" in told and "店子镇" in told and "/review" in told


async def test_a_draft_taken_up_again_at_the_evidence_counts_its_files_in_a_new_message(
    world: BotWorld, liaison: FakeUser
) -> None:
    found = finding(world)
    liaison.send_command("/rectify")
    await world.step()
    await pick(world, liaison, found.id)
    liaison.send_text("已补齐三月进度记录")
    await world.step()
    liaison.send_photo(tiny_png())
    await world.step()
    first_status = world.last(liaison)
    assert "已收到 <b>1</b>" in (first_status.source_text or "")
    liaison.send_command("/extend")  # leaves the draft for another dialog
    await world.step()
    liaison.send_command("/rectify")
    await world.step()
    await tap(world, liaison, "▶️ 接着填写")
    assert "已收到 1 个文件" in world.texts(liaison)[-1]
    kept = draft(world, 1001).data
    assert len(kept["files"]) == 1 and "files_status" not in kept
    liaison.send_photo(tiny_png(5, 5))
    await world.step()
    status = world.last(liaison)
    assert status.message_id != first_status.message_id  # far up the chat: not edited
    assert "已收到 <b>2</b>" in (status.source_text or "")
