"""Words after a liaison's command are honoured or refused with the command's usage, never
silently ignored."""

from __future__ import annotations

import pytest

from bot.dialogs.report import parse_report_month
from bot.fake_bot_api import FakeUser
from templates import render
from tests.bot.steps import send
from tests.bot.world import BotWorld, seed_a_task
from tests.texts import said, text_of

# The world's clock stands at 2025-03-10 10:00 in Shanghai.


pytestmark = pytest.mark.usefixtures("no_handler_errors")


@pytest.fixture
async def liaison(world: BotWorld) -> FakeUser:
    """店子镇's liaison, whose unit has a task of 2025."""
    seed_a_task(world)
    return await world.join(1001)


def test_report_months_read_in_every_usual_form() -> None:
    assert parse_report_month("3", 2025) == (2025, 3)
    assert parse_report_month("3月", 2025) == (2025, 3)
    assert parse_report_month("2024-12", 2025) == (2024, 12)
    assert parse_report_month("2025年2月", 2025) == (2025, 2)
    assert parse_report_month("2025/02", 2025) == (2025, 2)
    for bad in ("2025-13", "0", "march", "2025-3-1", ""):
        assert parse_report_month(bad, 2025) is None, bad


async def test_tasks_of_another_year_are_shown_or_the_usage_is_given(
    world: BotWorld, liaison: FakeUser
) -> None:
    [answer] = await send(world, liaison, "/tasks 2024")
    assert answer == render("tasksview.no_plan", "zh", year=2024)  # honoured: no 2024 plan
    [answer] = await send(world, liaison, "/tasks 2025年")
    assert "2025 年度目标任务" in answer and "T1" in answer
    [answer] = await send(world, liaison, "/tasks next year")
    assert answer == render("tasksview.usage", "zh", given="next year")


async def test_report_opens_the_month_asked_for_or_refuses_it(
    world: BotWorld, liaison: FakeUser
) -> None:
    [answer] = await send(world, liaison, "/report 2025-13")
    assert answer == render("monthly.usage", "zh", given="2025-13")
    [answer] = await send(world, liaison, "/report 1")
    expected = [{"year": 2025, "month": 2}, {"year": 2025, "month": 3}]
    assert answer == render("monthly.month_not_open", "zh", year=2025, month=1, months=expected)
    [answer] = await send(world, liaison, "/report 2025-03")  # not the default (February)
    assert "2025 年 3 月进展报送" in answer


async def test_report_with_a_month_and_a_draft_offers_the_draft_then_that_month(
    world: BotWorld, liaison: FakeUser
) -> None:
    await send(world, liaison, "/report ")
    message = world.last(liaison)
    liaison.tap(message, message.callback_data(text_of("monthly.fill_button")))
    await world.step()
    [offer] = await send(world, liaison, "/report 3")
    assert said("monthly.resume_offer", year=2025, month=2, filled=0, total=1) in offer
    message = world.last(liaison)
    liaison.tap(message, message.callback_data(text_of("monthly.start_over_button")))
    await world.step()
    assert "2025 年 3 月进展报送" in world.last(liaison).text


@pytest.mark.parametrize("command", ["extend", "help", "cancel"])
async def test_a_command_without_arguments_refuses_words_after_it(
    world: BotWorld, liaison: FakeUser, command: str
) -> None:
    [answer] = await send(world, liaison, f"/{command} 3月")
    what = render(f"menu.{command}", "zh")
    assert answer == render("common.no_args", "zh", command=command, given="3月", what=what)


async def test_language_takes_a_language_or_gives_its_usage(
    world: BotWorld, liaison: FakeUser
) -> None:
    [answer] = await send(world, liaison, "/language fr")
    assert answer == render("common.language_usage", "zh", given="fr", languages=["zh", "en"])
    [answer] = await send(world, liaison, "/language en")
    assert answer == render("common.language_set", "en")
    [answer] = await send(world, liaison, "/tasks x")
    assert answer == render("tasksview.usage", "en", given="x")


async def test_the_liaisons_peer_and_myscore_and_rectify_refuse_extra_words(
    world: BotWorld, liaison: FakeUser
) -> None:
    [answer] = await send(world, liaison, "/peer open")
    assert answer == render("peer.usage", "zh")
    [answer] = await send(world, liaison, "/myscore 2025 x")
    assert answer == render("myscore.bad_year", "zh", value="2025 x")
    answers = await send(world, liaison, "/rectify 1 2")
    assert answers[0] == render("rectify.bad_number", "zh", value="1 2")
