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

The steps are declared in `GradeDialog.steps`; the unit picker (bot.dialogs.helpers.UnitPicker)
is shared with /bonus. A grade the service refuses is said by the engine, with the grade
buttons again.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any, ClassVar

from bot.dialogs.engine import Dialog, Step, Turn
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

    # -- the period, the unit, the work item ------------------------------------------------

    async def _show_period(self, turn: Turn) -> None:
        buttons = [
            [turn.button(turn.plain("coord.grade_period", period=p), "pe", p) for p in QUARTERS],
            [turn.button(turn.plain("coord.grade_period", period=YEAR_END), "pe", YEAR_END)],
        ]
        await turn.say("coord.grade_choose_period", buttons, year=turn.data["year"])

    async def _period(self, turn: Turn, arg: str) -> None:
        if arg in PERIOD_ORDER:
            await turn.save("unit", {**turn.data, "period": arg})
        await self.prompt(turn)

    async def _show_unit(self, turn: Turn) -> None:
        # The picker's question, with the period chosen (and the item, unit after unit).
        await self.picker.prompt(turn, **self._context(turn, turn.data))

    async def _show_item(self, turn: Turn) -> None:
        data = turn.data
        buttons = [[turn.button(name, "it", code)] for code, name in data["items"]]
        await turn.say("coord.grade_choose_item", buttons, **self._context(turn, data))

    async def _item(self, turn: Turn, arg: str) -> None:
        if arg in {c for c, _ in turn.data["items"]}:
            await turn.save("grade", {**turn.data, "item": arg})
        await self.prompt(turn)

    # -- the grade --------------------------------------------------------------------------

    async def _show_grade(self, turn: Turn) -> None:
        buttons = [
            [
                turn.button(turn.plain("coord.grade_label", grade=g.value), "gr", g.value)
                for g in Grade
            ]
        ]
        await turn.say("coord.grade_choose_grade", buttons, **self._context(turn, turn.data))

    async def _grade(self, turn: Turn, arg: str) -> None:
        if arg not in {g.value for g in Grade}:
            await self.prompt(turn)
            return
        await self._record(turn, arg)

    # -- what next --------------------------------------------------------------------------

    async def _other_unit(self, turn: Turn, arg: str) -> None:
        data = dict(turn.data)
        data.pop("unit", None)
        await turn.save("unit", data)
        await self.prompt(turn)

    async def _other_item(self, turn: Turn, arg: str) -> None:
        data = dict(turn.data)
        data.pop("item", None)
        await turn.save("item", data)
        await self.prompt(turn)

    async def _other_period(self, turn: Turn, arg: str) -> None:
        data = dict(turn.data)
        for key in ("period", "unit", "item"):
            data.pop(key, None)
        await turn.save("period", data)
        await self.prompt(turn)

    async def _done(self, turn: Turn, arg: str) -> None:
        await turn.finish()
        await turn.say("coord.grade_done")

    async def _unit_chosen(self, turn: Turn, unit: UnitRef) -> None:
        data = dict(turn.data)
        data["unit"] = unit_dict(unit)
        # With the item chosen already (grading unit after unit), go straight to the grade.
        await turn.save("grade" if data.get("item") else "item", data)
        await self.prompt(turn)

    async def _record(self, turn: Turn, grade: str) -> None:
        data = dict(turn.data)
        unit = data["unit"]
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
        await turn.save("next", data)
        await turn.say(
            "coord.grade_recorded",
            **self._context(turn, data),
            grade=view.grade.value,
            previous=view.previous.value if view.previous is not None else None,
            changed=view.changed,
            rater=view.rater,
        )
        await self._show_next(turn)

    async def _show_next(self, turn: Turn) -> None:
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
        """The next unit of the list, same period and item: straight to its grade."""
        units = await turn.call(all_units, turn.context.deps.read_uow())
        following = next((u for u in units if str(u.id) == unit_id), None)
        if following is None:
            data = dict(turn.data)
            data.pop("unit", None)
            await turn.save("unit", data)
            await turn.say("coord.grade_unit_gone", await self.picker.group_buttons(turn))
            return
        await self._unit_chosen(turn, following)

    steps: ClassVar[Mapping[str, Step]] = {
        "period": Step(_show_period, buttons={"pe": _period}),
        "unit": replace(picker.step(_unit_chosen), show=_show_unit),
        "item": Step(_show_item, buttons={"it": _item}),
        "grade": Step(_show_grade, buttons={"gr": _grade}),
        "next": Step(
            _show_next,
            buttons={
                "nx": _next,
                "ou": _other_unit,
                "oi": _other_item,
                "op": _other_period,
                "dn": _done,
            },
        ),
    }
