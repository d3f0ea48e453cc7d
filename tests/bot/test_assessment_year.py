"""Every command that picks a year takes the assessment year (the latest loaded, unclosed year),
and each accepts an explicit one: with the clock in January, March and December."""

from __future__ import annotations

from datetime import datetime

from services.access import Role
from services.files.plan_file import default_plan_text
from services.plans import load_plan
from services.standings import compute_standings
from templates import render
from templates.formatting import num
from tests.bot.steps import documents, join_coordinator, send
from tests.bot.world import OPERATOR, SHANGHAI, BotWorld, seed_scores


def at(world: BotWorld, year: int, month: int, day: int) -> None:
    """Set the clock to 10:00 on that day in Shanghai."""
    world.clock.set(datetime(year, month, day, 10, tzinfo=SHANGHAI))


def preparing(year: int) -> str:
    """What /standings says first for `year`."""
    return render("coord.standings_preparing", "zh", year=year)


async def test_in_january_standings_unit_and_export_are_of_the_year_before(
    world: BotWorld,
) -> None:
    seed_scores(world)  # 2025, the only plan loaded
    user = await join_coordinator(world)
    at(world, 2026, 1, 15)
    answers = await send(world, user, "/standings")
    texts = answers
    assert texts[0] == preparing(2025)
    first = compute_standings(world.uow(), 2025).explain("dianzi").result
    assert any(f"{first.name}　{first.tier}　{num(first.total)}" in t for t in texts)

    answers = await send(world, user, "/unit 店子镇")
    text = "\n".join(answers)
    assert "2025" in text and num(first.total) in text

    await send(world, user, "/export")
    [document] = documents(world, user)
    assert document.raw["document"]["file_name"] == render(
        "coord.export_file_name", "zh", year=2025
    )

    answers = await send(world, user, "/standings 2026")
    assert answers[-1] == render("errors.no_plan", "zh", year=2026)


async def test_in_march_with_this_years_plan_loaded_a_year_is_named_for_the_year_before(
    world: BotWorld,
) -> None:
    seed_scores(world)
    at(world, 2026, 3, 10)
    load_plan(world.uow(), OPERATOR, default_plan_text(2026), "plan-2026.yaml")
    user = await join_coordinator(world)
    answers = await send(world, user, "/standings")
    assert answers[0] == preparing(2026)

    answers = await send(world, user, "/standings 镇街 2025")
    texts = answers
    assert texts[0] == preparing(2025)
    result = compute_standings(world.uow(), 2025).explain("dianzi").result
    assert any(f"{result.name}　{result.tier}　{num(result.total)}" in t for t in texts)

    answers = await send(world, user, "/unit 店子镇 2025")
    text = "\n".join(answers)
    assert num(result.total) in text
    answers = await send(world, user, "/unit 店子镇")
    assert (
        render("coord.unit_not_scored", "zh", unit="店子镇", year=2026) not in answers
    )  # 2026 has its plan: 店子镇 is scored (all zero so far)

    answers = await send(world, user, "/matrix 2025-11")
    assert any(render("coord.matrix_preparing", "zh", year=2025, month=11) == t for t in answers)

    await send(world, user, "/export 2025")
    [document] = documents(world, user)
    assert document.raw["document"]["file_name"] == render(
        "coord.export_file_name", "zh", year=2025
    )


async def test_in_december_next_years_plan_loaded_ahead_changes_nothing(world: BotWorld) -> None:
    seed_scores(world)
    at(world, 2025, 12, 20)
    load_plan(world.uow(), OPERATOR, default_plan_text(2026), "plan-2026.yaml")
    user = await join_coordinator(world)
    answers = await send(world, user, "/standings")
    assert answers[0] == preparing(2025)
    answers = await send(world, user, "/publish")
    assert render("coord.publish_choose_period", "zh", year=2025) in answers
    answers = await send(world, user, "/standings 2026")
    assert answers[0] == preparing(2026)


async def test_a_liaisons_myscore_is_of_the_assessment_year(world: BotWorld) -> None:
    liaison = await world.join(9102, Role.LIAISON, "dianzi", "李四")
    at(world, 2026, 1, 15)
    answers = await send(world, liaison, "/myscore")
    assert answers == [render("myscore.not_published", "zh", year=2025)]
