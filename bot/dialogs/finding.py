"""/finding: a coordinator records a problem found in supervision (督导发现问题).

Steps: `unit` (typed: a code, the full name or part of it; several matches come back as
candidate buttons, none is said so) -> `source` (six buttons) -> `activity` (only when the
year's supervision plan has activities of that kind for the unit in the last weeks: which one
it came from, or none) -> `description` (typed, not
empty) -> `files` (photos and documents, optional, collected by bot.dialogs.evidence; Done or
"no photos") -> `deadline` (a typed date, or +7 / +15 / +30 days; a day before today is
refused) -> `confirm` (a summary: record, change the description or the deadline, cancel).
Recording goes through services.findings.record_finding; the unit's liaisons are then told
at once, each in their language, with the description and the deadline (bot.notify), and the
coordinator learns who could not be reached. A draft left unfinished (its unit chosen) is
offered back by the engine (continue or start over) the next time /finding is sent without a
unit. The steps are declared in `FindingDialog.steps`.

The unit lookup (bot.dialogs.helpers.look_up_unit) is shared with /invite.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any, ClassVar

from telegram import InlineKeyboardButton

from bot.dialogs import evidence
from bot.dialogs.engine import Dialog, IncomingFile, Resume, Step, Turn
from bot.dialogs.evidence import status_key
from bot.dialogs.helpers import (
    ECHO,
    excerpt,
    local_now,
    look_up_unit,
    report_unreachable,
    unit_by_id,
)
from bot.notify import Localized, tell
from services.access import MANAGERS
from services.dialogs import DialogView
from services.errors import ServiceError
from services.findings import SOURCES, record_finding
from services.supervision_plan import ActivityView, activities_between
from services.unit_lookup import UnitRef, all_units

FILES = "files"
MAX_DESCRIPTION = 2000
DEADLINE_CHOICES = (7, 15, 30)
# A deadline further away than this is almost certainly a typing mistake (2052 for 2025).
MAX_DEADLINE_DAYS = 2 * 366
# The unit candidates offered as buttons (find_units' default limit).
CANDIDATES = 8
# Activities of the supervision plan a finding may name: of its kind, planned in the last
# ACTIVITY_DAYS days, the newest ACTIVITY_CHOICES of them.
ACTIVITY_DAYS = 45
ACTIVITY_CHOICES = 5

_DAY_PATTERNS = (
    re.compile(r"^(?P<y>\d{4})\s*[-/.年]\s*(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?$"),
    re.compile(r"^(?P<m>\d{1,2})\s*[-/.月]\s*(?P<d>\d{1,2})\s*日?$"),
    re.compile(r"^(?P<y>\d{4})(?P<m>\d{2})(?P<d>\d{2})$"),
)


# --- dates ---------------------------------------------------------------------------------


def local_today(turn: Turn) -> date:
    """Today in the bot's time zone."""
    return local_now(turn).date()


def parse_day(text: str, today: date) -> date | None:
    """A calendar day as people type it: 2025-03-31, 2025/3/31, 2025.3.31, 2025年3月31日,
    20250331, or without the year (3-31, 3月31日: this year); None if it is not a day."""
    cleaned = text.strip().replace("－", "-").replace("／", "/").replace("．", ".")
    for pattern in _DAY_PATTERNS:
        match = pattern.match(cleaned)
        if match is None:
            continue
        parts = match.groupdict()
        year = int(parts["y"]) if parts.get("y") else today.year
        try:
            return date(year, int(parts["m"]), int(parts["d"]))
        except ValueError:
            return None
    return None


# --- the dialog ----------------------------------------------------------------------------


class FindingDialog(Dialog):
    """/finding: record a finding of supervision and tell the unit's liaisons at once."""

    kind = "finding"
    command = "finding"
    roles = MANAGERS

    resume = Resume(
        "coord.finding_resume", "coord.finding_continue_button", "coord.finding_restart_button"
    )

    def worth_resuming(self, draft: DialogView, args: Sequence[str]) -> bool:
        """A draft whose unit was chosen, unless the command names a unit of its own."""
        return not args and draft.data.get("unit_id") is not None

    def resume_params(self, turn: Turn) -> dict[str, Any]:
        """The unit and the start of the description of the draft."""
        data = turn.data
        return {
            "unit": data.get("unit_name", ""),
            "description": excerpt(str(data.get("description") or ""), 80),
        }

    def resumed(self, step: str, data: dict[str, Any]) -> dict[str, Any]:
        """A draft taken up again forgets its evidence status message, far up the chat by now:
        continuing sends a new one under the step."""
        data.pop(status_key(FILES), None)
        return data

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Ask for the unit, or take the one the command names (`/finding <unit>`)."""
        await turn.start("unit", {})
        if args:
            await self._unit_text(turn, " ".join(args))
            return
        await self.prompt(turn)

    # -- the unit ---------------------------------------------------------------------------

    async def _show_unit(self, turn: Turn) -> None:
        await turn.say("coord.finding_ask_unit")

    async def _unit_text(self, turn: Turn, text: str) -> None:
        if not text:
            await self.prompt(turn)
            return
        unit = await look_up_unit(turn, text)
        if unit is not None:
            await self._unit_chosen(turn, unit)

    async def _unit_tapped(self, turn: Turn, arg: str) -> None:
        unit = await unit_by_id(turn, arg)
        if unit is None:
            await turn.say("coord.finding_unit_gone")
            await self.prompt(turn)
            return
        await self._unit_chosen(turn, unit)

    async def _unit_chosen(self, turn: Turn, unit: UnitRef) -> None:
        await self._next(turn, "source", unit_id=unit.id, unit_name=unit.name)

    # -- the source and the activity of the supervision plan ------------------------------

    async def _show_source(self, turn: Turn) -> None:
        sources = [
            [turn.button(turn.plain(f"year.source_{code}"), "s", str(index))]
            for index, code in enumerate(SOURCES)
        ]
        await turn.say("coord.finding_ask_source", sources, unit=turn.data["unit_name"])

    async def _source_tapped(self, turn: Turn, arg: str) -> None:
        if not (arg.isdigit() and int(arg) < len(SOURCES)):
            await self.prompt(turn)
            return
        await self._source_chosen(turn, SOURCES[int(arg)])

    async def _source_chosen(self, turn: Turn, source: str) -> None:
        """The source; then the activity of the supervision plan it came from, when the plan
        has some of that kind (for the unit) in the last weeks."""
        today = local_today(turn)
        unit_id = turn.data.get("unit_id")
        units = await turn.call(all_units, turn.context.deps.read_uow())
        code = next((u.code for u in units if u.id == unit_id), None)
        planned: list[ActivityView] = await turn.call(
            activities_between,
            turn.context.deps.read_uow(),
            today - timedelta(days=ACTIVITY_DAYS),
            today,
        )
        fitting = [
            a
            for a in reversed(planned)
            if a.kind.value == source and (not a.units or code in {c for c, _ in a.units})
        ][:ACTIVITY_CHOICES]
        if not fitting:
            await self._next(turn, "description", source=source, activity_id=None)
            return
        choices = [
            [
                a.id,
                turn.plain(
                    "coord.finding_activity_button",
                    day=a.planned_on.isoformat(),
                    focus=excerpt(a.focus, 30),
                ),
            ]
            for a in fitting
        ]
        await self._next(turn, "activity", source=source, activities=choices)

    async def _show_activity(self, turn: Turn) -> None:
        choices = [
            [turn.button(label, "a", str(activity_id))]
            for activity_id, label in turn.data.get("activities", [])
        ]
        choices.append([turn.button(turn.plain("coord.finding_no_activity_button"), "a")])
        await turn.say("coord.finding_ask_activity", choices)

    async def _activity_tapped(self, turn: Turn, arg: str) -> None:
        chosen = [c for c in turn.data.get("activities", []) if str(c[0]) == arg]
        await self._next(turn, "description", activity_id=chosen[0][0] if chosen else None)

    # -- the description and the files ----------------------------------------------------

    async def _show_description(self, turn: Turn) -> None:
        await turn.say("coord.finding_ask_description", max=MAX_DESCRIPTION)

    async def _description(self, turn: Turn, text: str) -> None:
        if not text:
            await turn.say("coord.finding_description_empty")
            await self.prompt(turn)
            return
        if len(text) > MAX_DESCRIPTION:
            await turn.say(
                "coord.finding_description_too_long", length=len(text), max=MAX_DESCRIPTION
            )
            return
        await self._next(turn, "files", description=text)

    async def _show_files(self, turn: Turn) -> None:
        count = len(evidence.files_of(turn, FILES))
        buttons: list[list[InlineKeyboardButton]] = []
        if count:
            label = turn.plain("evidence.done_button", count=count)
            buttons.append([turn.button(label, evidence.DONE)])
        else:
            buttons.append([turn.button(turn.plain("coord.finding_no_files_button"), "nf")])
        await turn.say("coord.finding_ask_files", buttons, count=count)

    async def _files_text(self, turn: Turn, text: str) -> None:
        await turn.say("coord.finding_files_want_files")
        await self.prompt(turn)

    async def _file(self, turn: Turn, incoming: IncomingFile) -> None:
        await evidence.collect(turn, incoming, FILES)

    async def _files_done(self, turn: Turn, arg: str) -> None:
        await evidence.seal(turn, FILES)
        data = dict(turn.data)
        data.pop(status_key(FILES), None)
        await self._next(turn, "deadline", data=data)

    async def _remove_last(self, turn: Turn, arg: str) -> None:
        await evidence.remove_last(turn, FILES)

    # -- the deadline -----------------------------------------------------------------------

    async def _show_deadline(self, turn: Turn) -> None:
        today = local_today(turn)
        choices = [
            [
                turn.button(
                    turn.plain(
                        "coord.finding_deadline_button",
                        days=days,
                        day=(today + timedelta(days=days)).isoformat(),
                    ),
                    "d",
                    str(days),
                )
            ]
            for days in DEADLINE_CHOICES
        ]
        await turn.say("coord.finding_ask_deadline", choices, today=today.isoformat())

    async def _deadline_text(self, turn: Turn, text: str) -> None:
        day = parse_day(text, local_today(turn))
        if day is None:
            await turn.say("coord.finding_deadline_not_a_day", text=excerpt(text, ECHO))
            return
        await self._deadline(turn, day)

    async def _deadline_tapped(self, turn: Turn, arg: str) -> None:
        if not arg.isdigit():
            await self.prompt(turn)
            return
        await self._deadline(turn, local_today(turn) + timedelta(days=int(arg)))

    async def _deadline(self, turn: Turn, day: date) -> None:
        today = local_today(turn)
        if day < today:
            await turn.say(
                "coord.finding_deadline_past", day=day.isoformat(), today=today.isoformat()
            )
            await self.prompt(turn)
            return
        if (day - today).days > MAX_DEADLINE_DAYS:
            await turn.say("coord.finding_deadline_too_far", day=day.isoformat())
            await self.prompt(turn)
            return
        await self._next(turn, "confirm", deadline=day.isoformat())

    # -- the summary ------------------------------------------------------------------------

    async def _show_confirm(self, turn: Turn) -> None:
        data = turn.data
        files = evidence.files_of(turn, FILES)
        buttons = [
            [turn.button(turn.plain("coord.finding_record_button"), "ok")],
            [
                turn.button(turn.plain("coord.finding_edit_description_button"), "ed"),
                turn.button(turn.plain("coord.finding_edit_deadline_button"), "dl"),
            ],
            [turn.button(turn.plain("coord.finding_cancel_button"), "x")],
        ]
        await turn.say(
            "coord.finding_summary",
            buttons,
            unit=data["unit_name"],
            source=turn.plain(f"year.source_{data['source']}"),
            description=data["description"],
            photos=sum(1 for f in files if f.get("kind") == "photo"),
            documents=sum(1 for f in files if f.get("kind") != "photo"),
            found_on=local_today(turn).isoformat(),
            deadline=data["deadline"],
        )

    async def _edit_description(self, turn: Turn, arg: str) -> None:
        await turn.save("description", {**turn.data, "editing": True})
        await self.prompt(turn)

    async def _edit_deadline(self, turn: Turn, arg: str) -> None:
        await turn.save("deadline", {**turn.data, "editing": True})
        await self.prompt(turn)

    async def _cancel(self, turn: Turn, arg: str) -> None:
        draft = turn.data
        await turn.finish()
        await turn.say("coord.finding_cancelled")
        await evidence.discard_files(turn.context, draft)

    async def _next(
        self, turn: Turn, step: str, data: dict[str, Any] | None = None, **values: Any
    ) -> None:
        """Store values and go to `step`, or back to the summary when a value was changed."""
        new = {**(data if data is not None else turn.data), **values}
        if new.pop("editing", False):
            step = "confirm"
        await turn.save(step, new)
        await self.prompt(turn)

    async def _record(self, turn: Turn, arg: str) -> None:
        data = dict(turn.data)
        deps = turn.context.deps
        today = local_today(turn)
        deadline = date.fromisoformat(str(data["deadline"]))
        if deadline < today:
            # The summary waited past midnight: the chosen day is now in the past.
            await turn.save("deadline", {**data, "editing": True})
            await turn.say(
                "coord.finding_deadline_past", day=deadline.isoformat(), today=today.isoformat()
            )
            await self.prompt(turn)
            return
        try:
            finding = await turn.call(
                record_finding,
                deps.uow(),
                turn.who.actor,
                int(data["unit_id"]),
                str(data["description"]),
                str(data["source"]),
                today,
                deadline,
                evidence.evidence_ids(turn, FILES),
                data.get("activity_id"),
            )
        except ServiceError as exc:
            # Back to the step that can mend it (files gone from the archive, a description
            # found empty); the engine then says why and shows that step.
            if exc.code == "evidence_not_found":
                await turn.save("files", {**data, FILES: [], "editing": True})
            elif exc.code == "finding_description_empty":
                await turn.save("description", {**data, "editing": True})
            raise
        await turn.finish()
        unreachable = await tell(
            turn.context,
            finding.liaison_telegram_ids,
            "coord.finding_notice",
            number=finding.id,
            unit=finding.unit_name,
            source=Localized(f"year.source_{finding.source}"),
            description=finding.description,
            found_on=finding.found_on.isoformat(),
            deadline=finding.deadline.isoformat(),
            days=(finding.deadline - today).days,
            files=len(finding.evidence_ids),
        )
        await turn.say(
            "coord.finding_recorded",
            number=finding.id,
            unit=finding.unit_name,
            deadline=finding.deadline.isoformat(),
            told=len(finding.liaison_telegram_ids) - len(unreachable),
        )
        await report_unreachable(turn, finding.liaison_telegram_ids, unreachable)

    steps: ClassVar[Mapping[str, Step]] = {
        "unit": Step(_show_unit, text=_unit_text, buttons={"u": _unit_tapped}),
        "source": Step(_show_source, buttons={"s": _source_tapped}),
        "activity": Step(_show_activity, buttons={"a": _activity_tapped}),
        "description": Step(_show_description, text=_description),
        "files": Step(
            _show_files,
            text=_files_text,
            files=_file,
            buttons={
                evidence.DONE: _files_done,
                "nf": _files_done,
                evidence.REMOVE_LAST: _remove_last,
            },
        ),
        "deadline": Step(_show_deadline, text=_deadline_text, buttons={"d": _deadline_tapped}),
        "confirm": Step(
            _show_confirm,
            buttons={
                "ok": _record,
                "ed": _edit_description,
                "dl": _edit_deadline,
                "x": _cancel,
            },
        ),
    }
