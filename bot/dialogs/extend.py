"""/extend: a liaison asks for a later deadline of a finding's rectification or of a report.

Steps: `target` (the unit's unsettled findings and the report of the month now due, as buttons)
-> `reason` (typed, not empty) -> `date` (typed as YYYY-MM-DD or M-D, or +3 / +7 / +14 days;
after the current deadline, not in the past, at most a year later) -> `confirm` (a summary:
send, change the reason or the date, cancel) -> the request stored by
services.extensions.request_extension and a receipt. The coordinators decide (their side is
another dialog); the service gives back whom to tell. The steps are declared in `steps`; an
unfinished request (its target chosen) is offered back by the engine's `resume` (continue or
start over), and a refusal not handled here is said by the engine (`Dialog.refused`).

"The month now due" is the month whose report deadline is the next one: the previous month
until its due day (the 5th of this month by default), this month after it; once its report is
submitted it is not offered (nor accepted by the service).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from typing import Any, ClassVar

from telegram import InlineKeyboardButton

from bot.dialogs.engine import Dialog, Resume, Step, Turn
from bot.dialogs.helpers import excerpt, local_now, local_time, service_error
from bot.notify import tell
from scoring.calendar import month_due, report_deadline
from services.access import Role
from services.dialogs import DialogView
from services.errors import ServiceError
from services.extensions import GRANTED, ExtensionView, request_extension, unit_extensions
from services.findings import OVERDUE, FindingView, get_finding, open_findings
from services.plans import current_plan
from services.reports import report_history

MAX_REASON = 1000
PAGE = 8
QUICK_DAYS: tuple[int, ...] = (3, 7, 14)
# A date further than this after the current deadline is taken for a typing mistake.
MAX_EXTENSION = timedelta(days=366)
# "M-D" means the next such day after the deadline if it lies within this many days.
WRAP_DAYS = 183
LIST_EXCERPT = 60

_FULL = re.compile(r"^\s*(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")
_SHORT = re.compile(r"^\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*$")


def parse_date(text: str, deadline: date) -> date | None:
    """A typed date: `YYYY-MM-DD` (or with / . 年月日), or `M-D` in the deadline's year (the
    following year when that day is just after a December deadline); None if not a date."""
    full = _FULL.match(text)
    try:
        if full:
            return date(int(full[1]), int(full[2]), int(full[3]))
        short = _SHORT.match(text)
        if not short:
            return None
        month, day = int(short[1]), int(short[2])
        candidate = date(deadline.year, month, day)
    except ValueError:
        return None
    if candidate <= deadline:
        try:
            following = date(deadline.year + 1, month, day)
        except ValueError:
            return candidate
        if (following - deadline).days <= WRAP_DAYS:
            return following
    return candidate


class ExtendDialog(Dialog):
    """/extend: ask for a later deadline of a finding or of the month's report."""

    kind = "extend"
    command = "extend"
    takes_args = False
    roles = frozenset({Role.LIAISON})

    resume = Resume("extend.resume", "extend.continue_button", "extend.restart_button")

    def worth_resuming(self, draft: DialogView, args: Sequence[str]) -> bool:
        """A request whose target was chosen is offered back."""
        return bool(draft.data.get("target"))

    def resume_params(self, turn: Turn) -> dict[str, Any]:
        """The target of the unfinished request."""
        return {"target": turn.data.get("label", "")}

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """The targets, afresh."""
        await turn.start("target", {"page": 0})
        await self.prompt(turn)

    # -- the target -------------------------------------------------------------------------

    async def _prompt_target(self, turn: Turn) -> None:
        deps = turn.context.deps
        actor = turn.who.actor
        try:
            findings = await turn.call(open_findings, deps.read_uow(), actor, turn.who.unit_id)
        except ServiceError as exc:
            await turn.finish()
            await service_error(turn, exc)
            return
        report = await self._report_target(turn)
        pages = max(1, (len(findings) + PAGE - 1) // PAGE)
        page = min(max(int(turn.data.get("page", 0)), 0), pages - 1)
        shown = findings[page * PAGE : (page + 1) * PAGE]
        now = deps.clock.now()
        buttons: list[list[InlineKeyboardButton]] = []
        if report is not None and page == 0:
            year, month, deadline = report
            label = turn.plain("extend.report_button", year=year, month=month, deadline=deadline)
            buttons.append([turn.button(label, "m", f"{year}-{month}")])
        for f in shown:
            label = turn.plain(
                "extend.finding_button",
                number=f.id,
                deadline=f"{f.deadline.month}-{f.deadline.day}",
                overdue=f.effective_status(now) == OVERDUE,
            )
            buttons.append([turn.button(label, "f", str(f.id))])
        nav = []
        if page > 0:
            nav.append(turn.button(turn.plain("extend.previous_page"), "pg", str(page - 1)))
        if page < pages - 1:
            nav.append(turn.button(turn.plain("extend.next_page"), "pg", str(page + 1)))
        if nav:
            buttons.append(nav)
        if not buttons:
            await turn.finish()
            await turn.say("extend.nothing_to_extend")
            return
        await turn.say(
            "extend.pick",
            buttons,
            findings=[
                {
                    "number": f.id,
                    "description": excerpt(f.description, LIST_EXCERPT),
                    "deadline": f.deadline.isoformat(),
                    "overdue": f.effective_status(now) == OVERDUE,
                }
                for f in shown
            ],
            report=(
                {"year": report[0], "month": report[1], "deadline": report[2].isoformat()}
                if report is not None and page == 0
                else None
            ),
        )

    async def _pick_page(self, turn: Turn, arg: str) -> None:
        if not arg.isdigit():
            await self.prompt(turn)
            return
        await turn.save("target", {**turn.data, "page": int(arg)})
        await self.prompt(turn)

    async def _on_finding(self, turn: Turn, arg: str) -> None:
        if not arg.isdigit():
            await self.prompt(turn)
            return
        await self._pick_finding(turn, int(arg))

    # -- the reason -------------------------------------------------------------------------

    async def _prompt_reason(self, turn: Turn) -> None:
        await turn.say(
            "extend.ask_reason",
            target=turn.data["label"],
            deadline=turn.data["deadline"],
            current=turn.data.get("reason"),
            max=MAX_REASON,
        )

    async def _reason(self, turn: Turn, text: str) -> None:
        if not text:
            await turn.say("extend.reason_empty")
            await self.prompt(turn)
            return
        if len(text) > MAX_REASON:
            await turn.say("extend.reason_too_long", length=len(text), max=MAX_REASON)
            return
        data = {**turn.data, "reason": text}
        editing = data.pop("editing", False)
        await turn.save("confirm" if editing and data.get("new_date") else "date", data)
        await self.prompt(turn)

    # -- the date ---------------------------------------------------------------------------

    async def _prompt_date(self, turn: Turn) -> None:
        deadline = date.fromisoformat(turn.data["deadline"])
        base = max(deadline, local_now(turn).date())
        buttons = [
            [
                turn.button(
                    turn.plain(
                        "extend.days_button", days=days, day=_short(base + timedelta(days))
                    ),
                    "d",
                    str(days),
                )
                for days in QUICK_DAYS
            ]
        ]
        await turn.say(
            "extend.ask_date",
            buttons,
            target=turn.data["label"],
            deadline=deadline.isoformat(),
            example=(base + timedelta(days=7)).isoformat(),
            short=_short(base + timedelta(days=7)),
        )

    async def _typed_date(self, turn: Turn, text: str) -> None:
        day = parse_date(text, date.fromisoformat(turn.data["deadline"]))
        if day is None:
            await turn.say("extend.bad_date", value=excerpt(text, 40))
            await self.prompt(turn)
            return
        await self._date(turn, day)

    async def _quick_date(self, turn: Turn, arg: str) -> None:
        if not (arg.isdigit() and int(arg) in QUICK_DAYS):
            await self.prompt(turn)
            return
        deadline = date.fromisoformat(turn.data["deadline"])
        base = max(deadline, local_now(turn).date())
        await self._date(turn, base + timedelta(days=int(arg)))

    async def _date(self, turn: Turn, day: date) -> None:
        deadline = date.fromisoformat(turn.data["deadline"])
        today = local_now(turn).date()
        if day <= deadline:
            await turn.say("extend.date_not_later", day=day.isoformat(), deadline=deadline)
            await self.prompt(turn)
            return
        if day < today:
            await turn.say("extend.date_past", day=day.isoformat(), today=today.isoformat())
            await self.prompt(turn)
            return
        if day > deadline + MAX_EXTENSION:
            limit = deadline + MAX_EXTENSION
            await turn.say("extend.date_too_far", day=day.isoformat(), limit=limit.isoformat())
            await self.prompt(turn)
            return
        data = {**turn.data, "new_date": day.isoformat()}
        data.pop("editing", None)
        await turn.save("confirm", data)
        await self.prompt(turn)

    # -- confirming -------------------------------------------------------------------------

    async def _prompt_confirm(self, turn: Turn) -> None:
        data = turn.data
        await turn.say(
            "extend.summary",
            [
                [turn.button(turn.plain("extend.submit_button"), "ok")],
                [
                    turn.button(turn.plain("extend.edit_reason_button"), "er"),
                    turn.button(turn.plain("extend.edit_date_button"), "ed"),
                ],
                [turn.button(turn.plain("extend.cancel_button"), "x")],
            ],
            target=data["label"],
            deadline=data["deadline"],
            new_date=data["new_date"],
            reason=data["reason"],
        )

    async def _edit_reason(self, turn: Turn, arg: str) -> None:
        await turn.save("reason", {**turn.data, "editing": True})
        await self.prompt(turn)

    async def _edit_date(self, turn: Turn, arg: str) -> None:
        await turn.save("date")
        await self.prompt(turn)

    async def _cancel(self, turn: Turn, arg: str) -> None:
        await turn.finish()
        await turn.say("extend.cancelled")

    # -- actions ----------------------------------------------------------------------------

    async def _pick_finding(self, turn: Turn, finding_id: int) -> None:
        """A finding as the target; the service refuses another unit's."""
        deps = turn.context.deps
        finding: FindingView = await turn.call(
            get_finding, deps.read_uow(), turn.who.actor, finding_id
        )
        if finding.status == "accepted":
            await turn.say("errors.finding_already_accepted", finding_id=finding.id)
            await self.prompt(turn)
            return
        pending = await self._pending(turn, lambda e: e.finding_id == finding.id)
        if pending is not None:
            await turn.say("errors.extension_already_pending", request_id=pending.id)
            await self.prompt(turn)
            return
        label = turn.plain(
            "extend.finding_target",
            number=finding.id,
            description=excerpt(finding.description, LIST_EXCERPT),
        )
        data = {
            "target": "finding",
            "finding": finding.id,
            "label": label,
            "deadline": finding.deadline.isoformat(),
        }
        await turn.save("reason", data)
        await self.prompt(turn)

    async def _pick_report(self, turn: Turn, arg: str) -> None:
        """The report of the month now due as the target."""
        report = await self._report_target(turn)
        if report is None or arg != f"{report[0]}-{report[1]}":
            # A button of a month that is no longer the one due (the dialog was left open).
            await turn.say("extend.month_changed")
            await self.prompt(turn)
            return
        year, month, deadline = report
        pending = await self._pending(
            turn, lambda e: (e.report_year, e.report_month) == (year, month)
        )
        if pending is not None:
            await turn.say("errors.extension_already_pending", request_id=pending.id)
            await self.prompt(turn)
            return
        data = {
            "target": "report",
            "year": year,
            "month": month,
            "label": turn.plain("extend.report_target", year=year, month=month),
            "deadline": deadline.isoformat(),
        }
        await turn.save("reason", data)
        await self.prompt(turn)

    async def _report_target(self, turn: Turn) -> tuple[int, int, date] | None:
        """The month now due and its current deadline (a granted extension included); None
        when the year has no plan."""
        deps = turn.context.deps
        today = local_now(turn).date()
        try:
            plan = await turn.call(current_plan, deps.read_uow(), today.year)
            year, month = month_due(today, plan.schedule.monthly_report_due_day)
            if year != today.year:
                plan = await turn.call(current_plan, deps.read_uow(), year)
            requests = await turn.call(
                unit_extensions, deps.read_uow(), turn.who.actor, turn.who.unit_id
            )
            submitted = await turn.call(
                report_history, deps.read_uow(), turn.who.actor, turn.who.unit_id, year, month
            )
        except ServiceError:
            return None
        if submitted:
            return None  # the month's report is in: there is no deadline left to move
        granted = [
            e.requested_date
            for e in requests
            if e.decision == GRANTED and (e.report_year, e.report_month) == (year, month)
        ]
        deadline = report_deadline(
            year, month, plan.schedule.monthly_report_due_day, max(granted, default=None)
        )
        return year, month, deadline

    async def _pending(self, turn: Turn, matches: Any) -> ExtensionView | None:
        try:
            requests = await turn.call(
                unit_extensions,
                turn.context.deps.read_uow(),
                turn.who.actor,
                turn.who.unit_id,
            )
        except ServiceError:
            return None
        return next((e for e in requests if e.pending and matches(e)), None)

    async def _submit(self, turn: Turn, arg: str) -> None:
        data = dict(turn.data)
        actor = turn.who.actor
        target: dict[str, Any] = (
            {"finding_id": int(data["finding"])}
            if data["target"] == "finding"
            else {"report_year": int(data["year"]), "report_month": int(data["month"])}
        )
        try:
            view = await turn.call(
                request_extension,
                turn.context.deps.uow(),
                actor,
                turn.who.unit_id,
                str(data["reason"]),
                date.fromisoformat(data["new_date"]),
                **target,
            )
        except ServiceError as exc:
            await service_error(turn, exc)
            if exc.code == "extension_date_not_later":
                # The deadline moved since the dialog read it (an extension was granted).
                current = exc.params.get("current")
                if isinstance(current, date):
                    data["deadline"] = current.isoformat()
                await turn.save("date", data)
                await self.prompt(turn)
            elif exc.code == "extension_reason_empty":
                await turn.save("reason", {**data, "editing": True})
                await self.prompt(turn)
            else:
                await turn.finish()
            return
        await turn.finish()
        await turn.say(
            "extend.receipt",
            number=view.id,
            time=local_time(turn, view.requested_at),
            target=data["label"],
            deadline=data["deadline"],
            new_date=data["new_date"],
        )
        # The coordinators learn at once that a request waits in their /review queue.
        await tell(
            turn.context,
            view.coordinator_telegram_ids,
            "extend.notify_coordinators",
            unit=turn.who.unit_name or "",
            target=data["label"],
            new_date=data["new_date"],
        )

    steps: ClassVar[Mapping[str, Step]] = {
        "target": Step(
            _prompt_target, buttons={"f": _on_finding, "m": _pick_report, "pg": _pick_page}
        ),
        "reason": Step(_prompt_reason, text=_reason),
        "date": Step(_prompt_date, text=_typed_date, buttons={"d": _quick_date}),
        "confirm": Step(
            _prompt_confirm,
            buttons={"ok": _submit, "er": _edit_reason, "ed": _edit_date, "x": _cancel},
        ),
    }


def _short(day: date) -> str:
    return f"{day.month}-{day.day}"
