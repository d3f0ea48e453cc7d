"""Coordinators' paper cuts (issue 10): /cancel says what was cancelled, the morning digest is
one message, /publish before a quarter's end asks first, a half-loaded year says what is
missing above its ranking."""

from __future__ import annotations

from bot.fake_bot_api import FakeUser
from services.access import Role
from templates import render
from tests.bot.world import BotWorld


async def coordinator(world: BotWorld, user_id: int = 9001) -> FakeUser:
    """A coordinator of the programme."""
    return await world.join(user_id, Role.COORDINATOR, None, "王科长")


async def test_cancel_at_the_unit_prompt_says_no_draft_was_there(world: BotWorld) -> None:
    user = await coordinator(world)
    user.send_command("/unit")
    await world.step()
    user.send_command("/cancel")
    await world.step()
    said = world.texts(user)[-1]
    assert said == render("common.cancelled_nothing", "zh")
    assert said != render("common.cancelled", "zh")


async def test_cancel_of_a_finding_draft_says_the_draft_is_gone(world: BotWorld) -> None:
    user = await coordinator(world)
    user.send_command("/finding")
    await world.step()
    user.send_command("/cancel")
    await world.step()
    assert world.texts(user)[-1] == render("common.cancelled", "zh")


async def test_cancel_of_grading_says_saved_grades_stay(world: BotWorld) -> None:
    user = await coordinator(world)
    user.send_command("/grade")
    await world.step()
    user.send_command("/cancel")
    await world.step()
    assert world.texts(user)[-1] == render("common.cancelled_kept", "zh")
