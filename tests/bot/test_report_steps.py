"""/report as a step table: a refusal is said by the engine with the step shown again, and the
draft offered back by the engine keeps what the command asked for (and only that)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

import pytest

from bot.fake_bot_api import FakeUser
from services import dialogs as dialog_service
from tests.bot.steps import choose, send
from tests.bot.world import SHANGHAI, START, BotWorld, actor_of, seed_a_task
from tests.texts import said, text_of

# The world's clock stands at 2025-03-10 10:00 in Shanghai: February is overdue and comes first.

pytestmark = pytest.mark.usefixtures("no_handler_errors")


@pytest.fixture
async def liaison(world: BotWorld) -> FakeUser:
    """店子镇's liaison, whose unit has one task of 2025."""
    seed_a_task(world)
    return await world.join(1001)


def draft(world: BotWorld) -> Any:
    """The liaison's report draft in the database (None when there is none)."""
    person_id = actor_of(world, 1001).person_id
    return dialog_service.dialog_of_kind(world.uow(), person_id, "report")


async def at_status(world: BotWorld, user: FakeUser, command: str = "/report") -> None:
    """The report opened with `command` and its first task asked (a draft worth offering)."""
    await send(world, user, command)
    await choose(world, user, "monthly.fill_button")
    assert draft(world).step == "status"


async def test_a_refused_submission_says_why_and_shows_the_summary_again(
    world: BotWorld, liaison: FakeUser
) -> None:
    await at_status(world, liaison, "/report 3")
    await choose(world, liaison, "monthly.status_on_track")
    await send(world, liaison, "60%")
    await send(world, liaison, "顺利")
    await choose(world, liaison, "monthly.skip_button")
    assert draft(world).step == "summary"
    # The clock is put back before March opens: the service refuses the March report.
    world.clock.set(datetime(2025, 2, 27, 10, 0, tzinfo=SHANGHAI))
    await choose(world, liaison, "monthly.confirm_button")
    refusal, summary = world.texts(liaison)[-2:]
    assert refusal == said(
        "errors.report_month_not_open", year=2025, month=3, opens=date(2025, 3, 1)
    )
    assert "2025 年 3 月" in summary and text_of("monthly.confirm_button") in [
        label for label, _ in world.last(liaison).buttons
    ]
    assert draft(world).step == "summary"  # nothing was lost
    world.clock.set(START)
    await choose(world, liaison, "monthly.confirm_button")
    assert draft(world) is None
    assert "回执号" in world.texts(liaison)[-1]


async def test_a_month_that_cannot_be_read_is_refused_even_with_a_draft(
    world: BotWorld, liaison: FakeUser
) -> None:
    await at_status(world, liaison)
    assert await send(world, liaison, "/report march") == [said("monthly.usage", given="march")]
    assert draft(world).step == "status"


async def test_start_over_starts_what_the_last_command_asked_for(
    world: BotWorld, liaison: FakeUser
) -> None:
    await at_status(world, liaison)  # February's draft
    [offer] = await send(world, liaison, "/report 3")
    assert said("monthly.resume_offer", year=2025, month=2, filled=0, total=1) in offer
    # Sent again without a month, the offer's "start over" starts the month now due.
    await send(world, liaison, "/report")
    intro = await choose(world, liaison, "monthly.start_over_button")
    assert "2025 年 2 月进展报送" in intro.text
    assert draft(world).step == "intro"


async def test_text_while_the_draft_is_offered_asks_for_a_button_and_keeps_the_draft(
    world: BotWorld, liaison: FakeUser
) -> None:
    await at_status(world, liaison)
    await send(world, liaison, "/report")
    answers = await send(world, liaison, "60%")
    assert answers[0] == said("dialog.use_buttons")
    assert said("monthly.resume_offer", year=2025, month=2, filled=0, total=1) in answers[-1]
    asked = await choose(world, liaison, "monthly.continue_button")
    assert "任务 1/1" in asked.text
    assert draft(world).step == "status"
