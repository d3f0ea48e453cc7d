"""Answers too long for one Telegram message (a summary of answers at their length limits, in
characters Telegram counts twice) are sent as several, the buttons on the last; found by the
robustness harness, where such a summary made the dialog impossible to finish."""

from __future__ import annotations

from datetime import date

from services.access import Actor, Role
from services.findings import finding_rectifications, record_finding
from storage.models import UnitRow
from tests.bot.steps import tap_starting
from tests.bot.world import BotWorld
from tests.fakes.bot_api import tiny_png

COORDINATOR = Actor(person_id=None, role=Role.COORDINATOR, name="区发改局")


async def test_a_summary_of_answers_at_their_limits_is_sent_in_parts(world: BotWorld) -> None:
    liaison = await world.join(1001, Role.LIAISON, "dianzi")
    with world.uow() as uow:
        unit = uow.session.query(UnitRow).filter_by(code="dianzi").one().id
    # 1,999 emoji are 1,999 characters, but 3,998 of the 4,096 units Telegram counts.
    found = record_finding(
        world.uow(), COORDINATOR, unit, "😀" * 1999, "on_site_inspection",
        date(2025, 3, 1), date(2025, 3, 31),
    )  # fmt: skip
    liaison.send_command("/rectify")
    await world.step()
    await tap_starting(world, liaison, f"#{found.id} ")
    liaison.send_text("🙂" * 1999)
    await world.step()
    liaison.send_photo(tiny_png())
    await world.step()
    await tap_starting(world, liaison, "✅ 完成")
    await tap_starting(world, liaison, "✅ 提交")
    assert "整改已提交" in world.texts(liaison)[-1]
    [stored] = finding_rectifications(world.uow(), COORDINATOR, found.id)
    assert stored.text == "🙂" * 1999
    assert world.errors == []
