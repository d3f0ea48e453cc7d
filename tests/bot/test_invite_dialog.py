"""/invite: a coordinator makes a one-time link for a role (and a liaison's unit) in the bot."""

from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from services.access import Role
from services.people import list_people
from storage.models import Invite
from tests.bot.steps import labels, tap
from tests.bot.world import OPERATOR, BotWorld
from tests.texts import said, text_of

COORDINATOR = 500


def invite_count(world: BotWorld) -> int:
    """How many invites are stored."""
    with world.uow() as uow:
        return int(uow.session.execute(select(func.count()).select_from(Invite)).scalar_one())


async def test_a_coordinator_invites_a_liaison_for_a_unit_and_the_link_works(
    world: BotWorld,
) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    coordinator.send_command("/invite")
    await world.step()
    assert labels(world, COORDINATOR) == [
        text_of("people.role_liaison"),
        text_of("people.role_coordinator"),
        text_of("people.role_rater"),
        text_of("people.role_viewer"),
    ]
    await tap(world, coordinator, text_of("people.role_liaison"))
    coordinator.send_text("店子")
    await world.step()
    assert labels(world, COORDINATOR) == [
        text_of("coord.invite_expiry_button", days=1, default=False),
        text_of("coord.invite_expiry_button", days=7, default=True),
        text_of("coord.invite_expiry_button", days=30, default=False),
    ]
    assert "店子镇" in world.texts(coordinator)[-1]
    await tap(world, coordinator, text_of("coord.invite_expiry_button", days=7, default=True))
    issued, forward = world.texts(coordinator)[-2:]
    assert (
        said(
            "coord.invite_issued",
            role=text_of("people.role_liaison"),
            unit="店子镇",
            expires="2025-03-17 10:00",
            has_link=True,
        )
        in issued
        and "2025-03-17 10:00" in issued
    )
    match = re.search(r"https://t\.me/kaohe_test_bot\?start=(\S+)", forward)
    assert match is not None
    code = match.group(1)
    assert f"/start {code}" in forward
    newcomer = world.server.user(1001, first_name="张三")
    newcomer.send_command("/start", code)
    await world.step()
    assert "店子镇" in world.texts(newcomer)[0]
    people = {
        p.telegram_user_id: (p.role, p.unit_code) for p in list_people(world.uow(), OPERATOR)
    }
    assert people[1001] == ("liaison", "dianzi")


async def test_a_unit_name_matching_several_units_offers_the_candidates(world: BotWorld) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    coordinator.send_command("/invite")
    await world.step()
    await tap(world, coordinator, text_of("people.role_liaison"))
    coordinator.send_text("镇")
    await world.step()
    candidates = labels(world, COORDINATOR)
    assert "西集镇" in candidates and "店子镇" in candidates
    assert (
        said("coord.finding_unit_several", query="镇", more=True) in world.texts(coordinator)[-1]
    )
    await tap(world, coordinator, "西集镇")
    await tap(world, coordinator, text_of("coord.invite_expiry_button", days=30, default=False))
    assert (
        said(
            "coord.invite_issued",
            role=text_of("people.role_liaison"),
            unit="西集镇",
            expires="2025-04-09 10:00",
            has_link=True,
        )
        in world.texts(coordinator)[-2]
    )
    assert "2025-04-09 10:00" in world.texts(coordinator)[-2]
    assert invite_count(world) == 2  # the coordinator's own, and this one


async def test_a_unit_name_matching_nothing_is_said_so_and_can_be_typed_again(
    world: BotWorld,
) -> None:
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    coordinator.send_command("/invite")
    await world.step()
    await tap(world, coordinator, text_of("people.role_liaison"))
    coordinator.send_text("火星办事处")
    await world.step()
    assert said("coord.finding_unit_none", query="火星办事处") in world.texts(coordinator)[-1]
    assert invite_count(world) == 1
    coordinator.send_text("xiji")
    await world.step()
    assert "西集镇" in world.texts(coordinator)[-1]


async def test_a_rater_invite_needs_no_unit_and_uses_the_configured_username(
    world: BotWorld,
) -> None:
    world.deps.settings.bot_username = "@shanting_kaohe_bot"
    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    coordinator.send_command("/invite")
    await world.step()
    await tap(world, coordinator, text_of("people.role_rater"))
    await tap(world, coordinator, text_of("coord.invite_expiry_button", days=1, default=False))
    forward = world.texts(coordinator)[-1]
    assert "https://t.me/shanting_kaohe_bot?start=" in forward
    assert text_of("people.role_rater") in world.texts(coordinator)[-2]


async def test_without_any_username_the_code_line_is_given(
    world: BotWorld, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.dialogs import invite

    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")

    async def no_username(turn: object) -> None:
        return None

    monkeypatch.setattr(invite, "bot_username", no_username)
    coordinator.send_command("/invite")
    await world.step()
    await tap(world, coordinator, text_of("people.role_viewer"))
    await tap(world, coordinator, text_of("coord.invite_expiry_button", days=7, default=True))
    issued, forward = world.texts(coordinator)[-2:]
    assert (
        said(
            "coord.invite_issued",
            role=text_of("people.role_viewer"),
            unit=None,
            expires="2025-03-17 10:00",
            has_link=False,
        )
        in issued
    )
    assert "t.me" not in forward and "/start " in forward


async def test_only_an_admin_is_offered_the_admin_role(world: BotWorld) -> None:
    admin = await world.join(900, Role.ADMIN, None, "管理员")
    admin.send_command("/invite")
    await world.step()
    assert labels(world, 900)[-1] == text_of("people.role_admin")
    await tap(world, admin, text_of("people.role_admin"))
    await tap(world, admin, text_of("coord.invite_expiry_button", days=7, default=True))
    assert (
        said(
            "coord.invite_issued",
            role=text_of("people.role_admin"),
            unit=None,
            expires="2025-03-17 10:00",
            has_link=True,
        )
        in world.texts(admin)[-2]
    )


async def test_a_forged_admin_choice_from_a_coordinator_is_refused(world: BotWorld) -> None:
    from bot.buttons import Payload
    from services import dialogs as dialog_service

    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    coordinator.send_command("/invite")
    await world.step()
    person = next(p for p in list_people(world.uow(), OPERATOR) if p.role == "coordinator")
    state = dialog_service.dialog_of_kind(world.uow(), person.id, "invite")
    assert state is not None
    # Even a correctly signed button for a role not offered changes nothing.
    payload = world.deps.signer.dump(Payload("invite", state.version, "r", "admin"))
    coordinator.tap(world.last(coordinator), payload, strict=False)
    await world.step()
    assert labels(world, COORDINATOR) == [
        text_of("people.role_liaison"),
        text_of("people.role_coordinator"),
        text_of("people.role_rater"),
        text_of("people.role_viewer"),
    ]
    assert invite_count(world) == 1


async def test_invite_is_refused_to_liaisons_raters_viewers_and_strangers(
    world: BotWorld,
) -> None:
    liaison = await world.join(1001, Role.LIAISON, "dianzi", "张三")
    rater = await world.join(1002, Role.RATER, None, "李四")
    viewer = await world.join(1003, Role.VIEWER, None, "赵五")
    stranger = world.server.user(1004)
    before = invite_count(world)
    for user in (liaison, rater, viewer, stranger):
        user.send_command("/invite")
    await world.step()
    for user in (liaison, rater, viewer):
        assert (
            "无法使用" in world.texts(user)[-1]
            or said("common.not_for_your_role") in world.texts(user)[-1]
        )
    assert said("common.unknown_account") in world.texts(stranger)[-1]
    assert invite_count(world) == before


async def test_an_invite_the_service_refuses_ends_the_dialog_with_the_reason(
    world: BotWorld,
) -> None:
    from services import dialogs as dialog_service

    coordinator = await world.join(COORDINATOR, Role.COORDINATOR, None, "王科长")
    before = invite_count(world)
    coordinator.send_command("/invite")
    await world.step()
    await tap(world, coordinator, text_of("people.role_liaison"))
    coordinator.send_text("店子")
    await world.step()
    # The unit chosen was retired meanwhile (its code no longer names an active unit).
    person = next(p for p in list_people(world.uow(), OPERATOR) if p.role == "coordinator")
    state = dialog_service.dialog_of_kind(world.uow(), person.id, "invite")
    assert state is not None and state.step == "expiry"
    data = {**state.data, "unit_code": "retired"}
    dialog_service.save_dialog(world.uow(), person.id, "invite", "expiry", data)
    await tap(world, coordinator, text_of("coord.invite_expiry_button", days=7, default=True))
    assert world.texts(coordinator)[-1] == said("errors.unknown_unit", unit="retired")
    assert invite_count(world) == before
    assert dialog_service.dialog_of_kind(world.uow(), person.id, "invite") is None
