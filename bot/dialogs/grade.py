"""/grade: a rater's (or coordinator's) grade of a unit's work item, in one tap per unit.

Steps: the period (Q1-Q4 of the current year, or the year-end), the unit (typed, with
candidates, or from a group's buttons), the work item (from the plan), the grade (好 / 较好 /
一般 / 差, one tap) -> services.year_data.record_grade. Then "next unit" grades the next
unit of the list with the same period and item, so a panel member goes through the towns in a
row of taps.

Decisions:
- The year is the assessment year (the latest loaded, unclosed year: in January, last year's
  year-end grades are still being given).
- Everyone grades as themselves (the rater's name is their display name), coordinators too;
  grades handed in on paper by other raters are imported with a grades workbook instead.
- A grade given again replaces the one in force (the service keeps the old one) and the answer
  says which it replaced; the same grade again changes nothing and says so.
- Raters see the units, the plan's work items and the grade they just gave, nothing more.

The unit picker (`UnitPicker`) is shared with /bonus.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from bot.dialogs.engine import Dialog, Turn
from bot.dialogs.helpers import (
    UnitPicker,
    current_year,
    plan_or_say,
    unit_dict,
    units_in_order,
)
from scoring import Grade
from scoring.plan import QUARTERS, YEAR_END
from services.access import Role
from services.errors import ServiceError
from services.unit_lookup import UnitRef, all_units
from services.year_data import record_grade


def next_unit(units: Sequence[UnitRef], current_id: int) -> UnitRef | None:
    """The unit after `current_id` in the list, within its group; None at the group's end."""
    for i, unit in enumerate(units):
        if unit.id == current_id:
            following = units[i + 1] if i + 1 < len(units) else None
            if following is not None and following.group == unit.group:
                return following
            return None
    return None


PERIOD_ORDER: tuple[str, ...] = (*QUARTERS, YEAR_END)


class GradeDialog(Dialog):
    """/grade: period, unit, work item, grade in one tap; then the next unit."""

    kind = "grade"
    cancelled_key = "common.cancelled_kept"
    command = "grade"
    takes_args = False
    roles = frozenset({Role.COORDINATOR, Role.ADMIN, Role.RATER})
    takes_files = False  # a workbook sent meanwhile is an upload
    picker = UnitPicker("coord.grade_unit_prompt")

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Start afresh with the period buttons of the current year."""
        year = await current_year(turn)
        plan = await plan_or_say(turn, year)
        if plan is None:
            return
        items = [[item.code, item.name] for item in plan.work.items]
        await turn.start("period", {"year": year, "items": items})
        await self.prompt(turn)

    async def prompt(self, turn: Turn) -> None:
        """Ask what the current step needs."""
        data = turn.data
        step = turn.step
        if step == "period":
            buttons = [
                [
                    turn.button(turn.plain("coord.grade_period", period=p), "pe", p)
                    for p in QUARTERS
                ],
                [turn.button(turn.plain("coord.grade_period", period=YEAR_END), "pe", YEAR_END)],
            ]
            await turn.say("coord.grade_choose_period", buttons, year=data["year"])
        elif step == "unit":
            await self.picker.prompt(turn, **self._context(turn, data))
        elif step == "item":
            buttons = [[turn.button(name, "it", code)] for code, name in data["items"]]
            await turn.say("coord.grade_choose_item", buttons, **self._context(turn, data))
        elif step == "grade":
            buttons = [
                [
                    turn.button(turn.plain("coord.grade_label", grade=g.value), "gr", g.value)
                    for g in Grade
                ]
            ]
            await turn.say("coord.grade_choose_grade", buttons, **self._context(turn, data))
        elif step == "next":
            await self._offer_next(turn)

    def _context(self, turn: Turn, data: dict[str, Any]) -> dict[str, Any]:
        """The choices so far, for the texts."""
        item = next((name for code, name in data["items"] if code == data.get("item")), None)
        unit = data.get("unit")
        period = data.get("period")
        return {
            "year": data["year"],
            "period": turn.plain("coord.grade_period", period=period) if period else None,
            "unit": unit["name"] if unit else None,
            "item": item,
        }

    async def text(self, turn: Turn, text: str) -> None:
        """A typed unit name at the unit step; elsewhere buttons are wanted."""
        if turn.step != "unit":
            await super().text(turn, text)
            return
        unit = await self.picker.text(turn, text)
        if unit is not None:
            await self._unit_chosen(turn, unit)

    async def button(self, turn: Turn, action: str, arg: str) -> None:
        """Move through the steps."""
        data = dict(turn.data)
        if self.picker.handles(action) and turn.step == "unit":
            unit = await self.picker.button(turn, action, arg)
            if unit is not None:
                await self._unit_chosen(turn, unit)
            return
        if action == "pe" and turn.step == "period" and arg in PERIOD_ORDER:
            data["period"] = arg
            await turn.save("unit", data)
        elif action == "it" and turn.step == "item" and arg in {c for c, _ in data["items"]}:
            data["item"] = arg
            await turn.save("grade", data)
        elif action == "gr" and turn.step == "grade" and arg in {g.value for g in Grade}:
            await self._record(turn, arg)
            return
        elif action == "nx" and turn.step == "next":
            await self._next(turn, arg)
            return
        elif action == "ou" and turn.step == "next":
            data.pop("unit", None)
            await turn.save("unit", data)
        elif action == "oi" and turn.step == "next":
            data.pop("item", None)
            await turn.save("item", data)
        elif action == "op" and turn.step == "next":
            for key in ("period", "unit", "item"):
                data.pop(key, None)
            await turn.save("period", data)
        elif action == "dn" and turn.step == "next":
            await turn.finish()
            await turn.say("coord.grade_done")
            return
        await self.prompt(turn)

    async def _unit_chosen(self, turn: Turn, unit: UnitRef) -> None:
        data = dict(turn.data)
        data["unit"] = unit_dict(unit)
        # With the item chosen already (grading unit after unit), go straight to the grade.
        await turn.save("grade" if data.get("item") else "item", data)
        await self.prompt(turn)

    async def _record(self, turn: Turn, grade: str) -> None:
        data = dict(turn.data)
        unit = data["unit"]
        try:
            view = await turn.call(
                record_grade,
                turn.context.deps.uow(),
                turn.who.actor,
                data["year"],
                int(unit["id"]),
                data["item"],
                data["period"],
                grade,
            )
        except ServiceError as exc:
            await turn.say(f"errors.{exc.code}", **exc.params)
            await self.prompt(turn)
            return
        await turn.save("next", data)
        await turn.say(
            "coord.grade_recorded",
            **self._context(turn, data),
            grade=view.grade.value,
            previous=view.previous.value if view.previous is not None else None,
            changed=view.changed,
            rater=view.rater,
        )
        await self._offer_next(turn)

    async def _offer_next(self, turn: Turn) -> None:
        data = turn.data
        units = await units_in_order(turn)
        following = next_unit(units, int(data["unit"]["id"]))
        buttons = []
        if following is not None:
            label = turn.plain("coord.grade_next_unit_button", unit=following.name)
            buttons.append([turn.button(label, "nx", str(following.id))])
        buttons.append(
            [
                turn.button(turn.plain("coord.grade_other_unit_button"), "ou"),
                turn.button(turn.plain("coord.grade_other_item_button"), "oi"),
            ]
        )
        buttons.append(
            [
                turn.button(turn.plain("coord.grade_other_period_button"), "op"),
                turn.button(turn.plain("coord.grade_done_button"), "dn"),
            ]
        )
        await turn.say("coord.grade_what_next", buttons)

    async def _next(self, turn: Turn, unit_id: str) -> None:
        units = await turn.call(all_units, turn.context.deps.read_uow())
        following = next((u for u in units if str(u.id) == unit_id), None)
        if following is None:
            data = dict(turn.data)
            data.pop("unit", None)
            await turn.save("unit", data)
            await turn.say("coord.grade_unit_gone", await self.picker.group_buttons(turn))
            return
        await self._unit_chosen(turn, following)
