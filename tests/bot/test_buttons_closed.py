"""Once a button was used its message shows the choice and no buttons; a message whose
buttons expired loses them when one is tapped (bot.handlers.router)."""

from __future__ import annotations

import pytest

from bot.fake_bot_api import FakeUser
from bot.fake_bot_api.models import BotMessage
from templates import render
from tests.bot.world import BotWorld, seed_a_task
from tests.texts import said, text_of

pytestmark = pytest.mark.usefixtures("no_handler_errors")


@pytest.fixture
async def liaison(world: BotWorld) -> FakeUser:
    """店子镇's liaison, whose unit has a task of 2025."""
    seed_a_task(world)
    return await world.join(1001)


def now_(world: BotWorld, user: FakeUser, message: BotMessage) -> BotMessage:
    """The message as it stands now."""
    return next(m for m in world.server.messages_to(user.id) if m.message_id == message.message_id)


async def test_a_used_message_shows_the_choice_and_no_buttons(
    world: BotWorld, liaison: FakeUser
) -> None:
    liaison.send_command("/report")
    await world.step()
    intro = world.last(liaison)
    liaison.tap(intro, intro.callback_data(text_of("monthly.fill_button")))
    await world.step()
    closed = now_(world, liaison, intro)
    assert closed.buttons == []
    chosen = render("dialog.chosen", "zh", choice=text_of("monthly.fill_button"))
    assert closed.text == f"{intro.text}\n\n{chosen}"
    status = world.last(liaison)  # the next step is live
    assert "任务 1/1" in status.text and status.buttons
    liaison.tap(status, status.callback_data(text_of("monthly.status_on_track")))
    await world.step()
    assert now_(world, liaison, status).buttons == []
    assert now_(world, liaison, status).text.endswith(
        said("dialog.chosen", choice=text_of("monthly.status_on_track"))
    )


async def test_an_expired_message_loses_its_buttons_when_tapped(
    world: BotWorld, liaison: FakeUser
) -> None:
    liaison.send_command("/report")
    await world.step()
    first = world.last(liaison)
    liaison.send_command("/report")  # a new start: the first intro's buttons expire
    await world.step()
    query = liaison.tap(first, first.callback_data(text_of("monthly.fill_button")))
    await world.step()
    answered = world.server.answer_to(query)
    assert answered is not None and answered.text == render("common.button_expired", "zh")
    stale = now_(world, liaison, first)
    assert stale.buttons == [] and stale.text == first.text
    assert world.last(liaison).text == render("common.button_expired_help", "zh")
