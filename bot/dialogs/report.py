"""/report: a unit's monthly progress report (月跟踪), quick to do on a phone.

The flow: an intro for the month now due (the previous month until its deadline, the end of
the plan's `monthly_report_due_day` of this month; then this month), with a button for the other
open month; then, per task of the unit and year, a status button, the key figure or percent, a
short note and optional photos or documents; a summary to review; confirm; a receipt. "Same as
last month" copies the latest earlier report in one tap and goes to the summary. A month already
reported is offered for correction (a new version; the service keeps the old one), starting at
the summary with its entries.

Decisions:
- Every task of the unit and year is asked; a task reported done before is pre-filled "done",
  and any pre-filled task has a "keep as is" button that skips its questions.
- A figure must contain a digit and be at most 100 characters, and no number in it may be
  infinite ("1e309"); a bare number from 0 to 100 (such as "60") is read as a percent and
  stored as "60%" (without a sign: "-0" is "0%").
- A note is at most 500 characters and must contain a letter or digit; a "no note" button
  stores an empty note, except for a task that is behind, which needs a reason.
- Every file keeps the task it was sent for (a photo sent for two tasks counts for both); a
  correction starts with each task's files of the corrected version, which can be changed
  like the rest. Files of versions stored before files kept their task stay with the report.
- The draft lives in the dialog state (saved at every step), so a restart resumes exactly.
  Sending /report again with a draft past its intro offers it back (the engine's `resume`);
  "start over" starts the month the command asked for (`/report 3`), else the month now due.
- The steps are declared in `steps`; a button of an earlier step or task is said to be not for
  now. A refusal /report has no words of its own for is said by the engine (`Dialog.refused`),
  with the step shown again.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar
from zoneinfo import ZoneInfo

from telegram import InlineKeyboardButton

from bot.dialogs import evidence
from bot.dialogs.engine import Dialog, IncomingFile, Resume, Step, Turn
from bot.dialogs.helpers import excerpt, local_now, shorten
from bot.message_split import split_messages
from scoring import Plan
from scoring.calendar import deadline_day
from scoring.plan import EventKind
from services.access import Role
from services.dialogs import DialogView
from services.errors import ServiceError
from services.reports import (
    ENTRY_STATUSES,
    MAX_FIGURE,
    ReportEntryInput,
    ReportOpening,
    last_report,
    open_report,
    submit_report,
)
from storage.clock import as_utc

MAX_NOTE = 500
# Quick answers for the figure of a task not started or done.
QUICK_FIGURE = {"not_started": "0%", "done": "100%"}
_BARE_NUMBER = re.compile(r"([+-]?\d+(?:[.,]\d+)?)\s*%?")
_NUMBER = re.compile(r"(?:\d+(?:[.,]\d+)?|[.,]\d+)(?:[eE][+-]?\d+)?")
_MONTH_ARG = re.compile(r"^\s*(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*月?\s*$")
# The label of a task on a "change which task" button.
_PICK_LABEL = 24


def check_figure(text: str) -> tuple[str, str | None]:
    """The figure to store and None, or "" and the reason it is refused (a message key)."""
    figure = " ".join(text.split())
    if len(figure) > MAX_FIGURE:
        return "", "monthly.figure_too_long"
    if not any(c.isdigit() for c in figure):
        return "", "monthly.figure_no_number"
    for number in _NUMBER.finditer(figure):
        # "1e309" is infinite as a number: no figure a person means, and no figure to keep.
        if not math.isfinite(float(number.group(0).replace(",", "."))):
            return "", "monthly.figure_not_finite"
    bare = _BARE_NUMBER.fullmatch(figure)
    if bare:
        value = float(bare.group(1).replace(",", "."))
        if 0 <= value <= 100:
            # "-0" and "+60" are 0% and 60%: a sign on a percent of progress means nothing.
            return f"{'0' if value == 0 else bare.group(1).lstrip('+')}%", None
    return figure, None


def parse_report_month(text: str, year: int) -> tuple[int, int] | None:
    """(year, month) of `3`, `3月`, `2025-03`, `2025/3` or `2025年3月` (a bare month is of
    `year`); None for anything else, a month outside 1-12 included."""
    match = _MONTH_ARG.match(text)
    if not match:
        return None
    month = int(match.group(2))
    if not 1 <= month <= 12:
        return None
    return (int(match.group(1)) if match.group(1) else year), month


def check_note(text: str) -> str | None:
    """None if the note is fine, else the reason it is refused (a message key)."""
    if len(text) > MAX_NOTE:
        return "monthly.note_too_long"
    if not any(c.isalnum() for c in text):
        return "monthly.note_empty"
    return None


def _local(moment: str | datetime, timezone: str) -> str:
    """A moment as the person reads it: local date and time in the plan's time zone."""
    at = datetime.fromisoformat(moment) if isinstance(moment, str) else moment
    return as_utc(at).astimezone(ZoneInfo(timezone)).strftime("%Y-%m-%d %H:%M")


class ReportDialog(Dialog):
    """/report: the month's progress report."""

    kind = "report"
    command = "report"
    roles = frozenset({Role.LIAISON})

    # -- starting ---------------------------------------------------------------------------

    resume = Resume("monthly.resume_offer", "monthly.continue_button", "monthly.start_over_button")

    def worth_resuming(self, draft: DialogView, args: Sequence[str]) -> bool:
        """A draft past its intro is offered back; a month asked for that cannot be read is
        refused with the usage first."""
        if args and parse_report_month(" ".join(args), 0) is None:
            return False
        return draft.step not in ("", "intro")

    def resume_params(self, turn: Turn) -> dict[str, Any]:
        """The month of the draft and how many of its tasks are filled."""
        data = turn.data
        return {
            "year": data["year"],
            "month": data["month"],
            "filled": len(data.get("entries") or {}),
            "total": len(data.get("tasks") or []),
        }

    def restart_arg(self, turn: Turn, args: Sequence[str]) -> str:
        """The month asked for (`/report 3`): "start over" starts it; the draft is not dropped
        unasked."""
        chosen = parse_report_month(" ".join(args), local_now(turn).year) if args else None
        return f"{chosen[0]}-{chosen[1]}" if chosen is not None else ""

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Start the month asked for (`/report 3`, `/report 2025-03`) or the month now due."""
        chosen: tuple[int, int] | None = None
        if args:
            chosen = parse_report_month(" ".join(args), local_now(turn).year)
            if chosen is None:
                await turn.say("monthly.usage", given=excerpt(" ".join(args), 40))
                return
        await self._start(turn, chosen)

    async def _start(self, turn: Turn, chosen: tuple[int, int] | None) -> None:
        """Start the report of `chosen`, or of the month now due (one service call)."""
        deps = turn.context.deps
        try:
            opening: ReportOpening = await turn.call(
                open_report,
                deps.read_uow(),
                turn.who.actor,
                turn.who.unit_id,
                deps.settings.timezone,
                chosen,
            )
        except ServiceError as exc:
            # These two have words of /report's own; any other refusal the engine says.
            if exc.code == "no_plan":
                await turn.say("monthly.no_plan", year=exc.params["year"])
                return
            if exc.code == "report_month_not_offered":
                await turn.say("monthly.month_not_open", **exc.params)
                return
            raise
        year, month = opening.year, opening.month
        tasks = opening.tasks
        if not tasks:
            await turn.say("monthly.no_tasks", year=year)
            return
        month_plan = opening.plan
        last = opening.last
        ids = {task.id for task in tasks}
        entries: dict[str, dict[str, Any]] = {}
        existing = None
        kept: list[int] = []
        latest = opening.correcting
        if latest is not None:
            existing = {
                "version": latest.version,
                "receipt": latest.receipt,
                "at": latest.submitted_at.isoformat(),
                "on_time": latest.on_time,
            }
            kept = list(latest.report_files)
            # A correction starts from the submitted version: each task keeps its own files.
            described = {
                f.id: {"id": f.id, "kind": f.kind, "name": f.file_name or ""}
                for f in opening.correction_files
            }
            for entry in latest.entries:
                if entry.task_id in ids:
                    files = [dict(described[i]) for i in entry.files if i in described]
                    entries[str(entry.task_id)] = _entry(
                        entry.status, entry.figure, entry.note, files
                    )
        elif last is not None:
            for entry in last.entries:
                if entry.task_id in ids and entry.status == "done":
                    entries[str(entry.task_id)] = _entry(entry.status, entry.figure, entry.note)
        data: dict[str, Any] = {
            "year": year,
            "month": month,
            "tz": month_plan.timezone,
            "due_date": opening.due_on.isoformat(),
            "due_at": opening.due_at.isoformat(),
            "overdue": opening.overdue,
            "costs": _late_costs(month_plan),
            "other": list(opening.other) if opening.other is not None else None,
            "tasks": [
                {
                    "id": task.id,
                    "code": task.code,
                    "title": task.title,
                    "target": task.target,
                    "due": task.due_date.isoformat() if task.due_date else None,
                }
                for task in tasks
            ],
            "entries": entries,
            "last": {
                str(e.task_id): {"status": e.status, "figure": e.figure}
                for e in (last.entries if last is not None else ())
                if e.task_id in ids
            },
            "last_month": last.month if last is not None else None,
            "existing": existing,
            "kept": kept,
            "i": 0,
            "mode": "seq",
        }
        await turn.start("intro", data)
        await self.prompt(turn)

    # -- showing each step -------------------------------------------------------------------

    async def _prompt_intro(self, turn: Turn) -> None:
        data = turn.data
        now = as_utc(turn.context.deps.clock.now())
        late = now >= datetime.fromisoformat(data["due_at"])
        existing = data.get("existing")
        rows: list[list[InlineKeyboardButton]] = []
        if existing:
            rows.append([turn.button(turn.plain("monthly.correct_button"), "fix")])
        else:
            first = [turn.button(turn.plain("monthly.fill_button"), "fill")]
            if data.get("last_month"):
                first.append(
                    turn.button(
                        turn.plain("monthly.same_button", month=data["last_month"]), "same"
                    )
                )
            rows.append(first)
        second = []
        if data.get("other"):
            other_year, other_month = data["other"]
            second.append(
                turn.button(
                    turn.plain("monthly.other_month_button", year=other_year, month=other_month),
                    "ot",
                )
            )
        second.append(turn.button(turn.plain("monthly.cancel_button"), "cx"))
        rows.append(second)
        prefilled = sum(1 for e in data["entries"].values() if e["status"] == "done")
        costs = data.get("costs") or {}
        await turn.say(
            "monthly.intro",
            rows,
            overdue=bool(data.get("overdue")) and not existing,
            late_item=costs.get("late_item", ""),
            late_points=costs.get("late_points"),
            missing_item=costs.get("missing_item", ""),
            missing_points=costs.get("missing_points"),
            unit=turn.who.unit_name or "",
            year=data["year"],
            month=data["month"],
            due=data["due_date"],
            late=late,
            count=len(data["tasks"]),
            done=0 if existing else prefilled,
            existing=bool(existing),
            version=existing["version"] if existing else 0,
            at=_local(existing["at"], data["tz"]) if existing else "",
            on_time=bool(existing and existing["on_time"]),
        )

    def _task(self, turn: Turn) -> dict[str, Any]:
        task: dict[str, Any] = turn.data["tasks"][turn.data["i"]]
        return task

    def _filled(self, turn: Turn) -> dict[str, Any] | None:
        entry: dict[str, Any] | None = turn.data["entries"].get(str(self._task(turn)["id"]))
        return entry

    async def _prompt_status(self, turn: Turn) -> None:
        data = turn.data
        i = data["i"]
        task = self._task(turn)
        filled = self._filled(turn)
        last = data["last"].get(str(task["id"]))
        labels = [turn.plain(f"monthly.status_{s}") for s in ENTRY_STATUSES]
        rows = [
            [turn.button(labels[0], "st", f"{i}:0"), turn.button(labels[1], "st", f"{i}:1")],
            [turn.button(labels[2], "st", f"{i}:2"), turn.button(labels[3], "st", f"{i}:3")],
        ]
        if filled is not None:
            rows.append([turn.button(turn.plain("monthly.keep_entry_button"), "kp", str(i))])
        await turn.say(
            "monthly.ask_status",
            rows,
            n=i + 1,
            total=len(data["tasks"]),
            code=task["code"],
            title=task["title"],
            target=task["target"],
            due=task["due"],
            last_month=data.get("last_month"),
            last_status=last["status"] if last else None,
            last_figure=last["figure"] if last else "",
            current_status=filled["status"] if filled else None,
            current_figure=filled["figure"] if filled else "",
            current_files=len(filled["files"]) if filled else 0,
        )

    async def _prompt_figure(self, turn: Turn) -> None:
        i = turn.data["i"]
        status = turn.data["cur"]["status"]
        filled = self._filled(turn)
        row = []
        if status in QUICK_FIGURE:
            row.append(turn.button(QUICK_FIGURE[status], "qf", str(i)))
        if filled is not None and filled["figure"]:
            label = turn.plain("monthly.keep_button", value=shorten(filled["figure"], 20))
            row.append(turn.button(label, "kf", str(i)))
        await turn.say(
            "monthly.ask_figure",
            [row] if row else None,
            code=self._task(turn)["code"],
            status=status,
            limit=MAX_FIGURE,
        )

    async def _prompt_note(self, turn: Turn) -> None:
        i = turn.data["i"]
        status = turn.data["cur"]["status"]
        filled = self._filled(turn)
        row = []
        if status != "behind":
            row.append(turn.button(turn.plain("monthly.no_note_button"), "nn", str(i)))
        if filled is not None and filled["note"]:
            row.append(turn.button(turn.plain("monthly.keep_note_button"), "kn", str(i)))
        await turn.say(
            "monthly.ask_note",
            [row] if row else None,
            code=self._task(turn)["code"],
            behind=status == "behind",
            limit=MAX_NOTE,
        )

    async def _prompt_files(self, turn: Turn) -> None:
        count = len(evidence.files_of(turn))
        label = turn.plain("monthly.files_done_button" if count else "monthly.skip_button")
        buttons = [[turn.button(label, "skip", str(turn.data["i"]))]]
        await turn.say("monthly.ask_files", buttons, code=self._task(turn)["code"], count=count)

    async def _prompt_summary(self, turn: Turn) -> None:
        data = turn.data
        existing = data.get("existing")
        blocks = [
            turn.t(
                "monthly.summary_header",
                unit=turn.who.unit_name or "",
                year=data["year"],
                month=data["month"],
                count=len(data["tasks"]),
                version=existing["version"] if existing else 0,
                kept=len(data.get("kept") or []),
            )
        ]
        for n, task in enumerate(data["tasks"], start=1):
            entry = data["entries"].get(str(task["id"]))
            blocks.append(
                turn.t(
                    "monthly.summary_task",
                    n=n,
                    code=task["code"],
                    title=shorten(task["title"], 80),
                    status=entry["status"] if entry else None,
                    figure=entry["figure"] if entry else "",
                    note=entry["note"] if entry else "",
                    files=len(entry["files"]) if entry else 0,
                )
            )
        now = as_utc(turn.context.deps.clock.now())
        blocks.append(
            turn.t("monthly.summary_footer", late=now >= datetime.fromisoformat(data["due_at"]))
        )
        rows = [
            [turn.button(turn.plain("monthly.confirm_button"), "ok")],
            [
                turn.button(turn.plain("monthly.change_button"), "chg"),
                turn.button(turn.plain("monthly.cancel_button"), "cx"),
            ],
        ]
        messages = split_messages(blocks)
        for text in messages[:-1]:
            await turn.send(text)
        await turn.send(messages[-1], rows)

    async def _prompt_pick(self, turn: Turn) -> None:
        rows = [
            [
                turn.button(
                    shorten(f"{n}. {task['code']} {task['title']}", _PICK_LABEL), "pk", str(n - 1)
                )
            ]
            for n, task in enumerate(turn.data["tasks"], start=1)
        ]
        rows.append([turn.button(turn.plain("monthly.back_button"), "bk")])
        await turn.say("monthly.ask_pick", rows)

    # -- moving on --------------------------------------------------------------------------

    async def _goto_task(self, turn: Turn, i: int) -> None:
        turn.data["i"] = i
        turn.data["cur"] = {}
        evidence.clear(turn)
        await turn.save("status")
        await self.prompt(turn)

    async def _next(self, turn: Turn) -> None:
        """After a task: the next one (in order, or the next unfilled one), else the summary."""
        data = turn.data
        tasks = data["tasks"]
        if data["mode"] == "seq" and data["i"] + 1 < len(tasks):
            await self._goto_task(turn, data["i"] + 1)
            return
        unfilled = self._first_unfilled(turn)
        if unfilled is not None:
            data["mode"] = "fix"
            await self._goto_task(turn, unfilled)
            return
        data.pop("cur", None)
        await turn.save("summary")
        await self.prompt(turn)

    def _first_unfilled(self, turn: Turn) -> int | None:
        entries = turn.data["entries"]
        return next(
            (n for n, task in enumerate(turn.data["tasks"]) if str(task["id"]) not in entries),
            None,
        )

    async def _commit(self, turn: Turn, files: list[dict[str, Any]]) -> None:
        """Store the task's answers as its entry and move on."""
        cur = turn.data["cur"]
        task_id = str(self._task(turn)["id"])
        turn.data["entries"][task_id] = _entry(cur["status"], cur["figure"], cur["note"], files)
        await self._next(turn)

    # -- what the person does ---------------------------------------------------------------

    async def button(self, turn: Turn, action: str, arg: str) -> None:
        """A tapped button: the current step's; one of an earlier step or task is said to be
        not for now, and the step is shown again."""
        step = self._step(turn)
        if step is None or action not in step.buttons or not self._current_task(turn, action, arg):
            await turn.say("monthly.button_not_now")
            await self.prompt(turn)
            return
        await super().button(turn, action, arg)

    def _current_task(self, turn: Turn, action: str, arg: str) -> bool:
        """Whether a task button belongs to the task being asked (not an earlier one)."""
        if action not in _TASK_ACTIONS:
            return True
        return arg.split(":")[0] == str(turn.data.get("i"))

    async def _on_cancel(self, turn: Turn, arg: str) -> None:
        draft = turn.data
        await turn.finish()
        existing = draft.get("existing")
        if existing:
            # A correction was dropped: the version already submitted still counts.
            await turn.say(
                "monthly.cancelled_correction",
                version=existing["version"],
                receipt=existing.get("receipt") or "",
            )
        else:
            await turn.say("monthly.cancelled")
        await evidence.discard_files(turn.context, draft)

    async def _on_other_month(self, turn: Turn, arg: str) -> None:
        other = turn.data.get("other")
        if not other:
            await self.prompt(turn)
            return
        await self._start(turn, (other[0], other[1]))

    async def _on_fill(self, turn: Turn, arg: str) -> None:
        turn.data["mode"] = "seq"
        await self._goto_task(turn, 0)

    async def _on_fix(self, turn: Turn, arg: str) -> None:
        turn.data["mode"] = "fix"
        turn.data["i"] = 0
        await self._next_unfilled_or_summary(turn)

    async def _next_unfilled_or_summary(self, turn: Turn) -> None:
        unfilled = self._first_unfilled(turn)
        if unfilled is not None:
            turn.data["mode"] = "fix"
            await self._goto_task(turn, unfilled)
            return
        await turn.save("summary")
        await self.prompt(turn)

    async def _on_same(self, turn: Turn, arg: str) -> None:
        data = turn.data
        last = await turn.call(
            last_report,
            turn.context.deps.read_uow(),
            turn.who.actor,
            turn.who.unit_id,
            data["year"],
            data["month"],
        )
        if last is None:
            await turn.say("monthly.nothing_to_copy")
            await self.prompt(turn)
            return
        ids = {str(task["id"]) for task in data["tasks"]}
        for entry in last.entries:
            if str(entry.task_id) in ids:
                copied = _entry(entry.status, entry.figure, entry.note)
                data["entries"][str(entry.task_id)] = copied
        await turn.say("monthly.copied", month=last.month, count=len(last.entries))
        await self._next_unfilled_or_summary(turn)

    async def _on_status(self, turn: Turn, arg: str) -> None:
        index = int(arg.split(":")[1]) if ":" in arg else -1
        if not 0 <= index < len(ENTRY_STATUSES):
            await self.prompt(turn)
            return
        turn.data["cur"] = {"status": ENTRY_STATUSES[index]}
        await turn.save("figure")
        await self.prompt(turn)

    async def _on_keep_entry(self, turn: Turn, arg: str) -> None:
        if self._filled(turn) is None:
            await self.prompt(turn)
            return
        await self._next(turn)

    async def _set_figure(self, turn: Turn, figure: str) -> None:
        turn.data["cur"]["figure"] = figure
        await turn.save("note")
        await self.prompt(turn)

    async def _on_quick_figure(self, turn: Turn, arg: str) -> None:
        status = turn.data["cur"]["status"]
        if status not in QUICK_FIGURE:
            await self.prompt(turn)
            return
        await self._set_figure(turn, QUICK_FIGURE[status])

    async def _on_keep_figure(self, turn: Turn, arg: str) -> None:
        filled = self._filled(turn)
        if filled is None or not filled["figure"]:
            await self.prompt(turn)
            return
        await self._set_figure(turn, filled["figure"])

    async def _set_note(self, turn: Turn, note: str) -> None:
        turn.data["cur"]["note"] = note
        filled = self._filled(turn)
        # Changing a task keeps the files it had; more can be added or the last removed.
        turn.data["files"] = list(filled["files"]) if filled is not None else []
        await turn.save("files")
        await self.prompt(turn)

    async def _on_no_note(self, turn: Turn, arg: str) -> None:
        if turn.data["cur"]["status"] == "behind":
            await turn.say("monthly.note_needed_when_behind")
            await self.prompt(turn)
            return
        await self._set_note(turn, "")

    async def _on_keep_note(self, turn: Turn, arg: str) -> None:
        filled = self._filled(turn)
        if filled is None or not filled["note"]:
            await self.prompt(turn)
            return
        await self._set_note(turn, filled["note"])

    async def _on_files_done(self, turn: Turn, arg: str) -> None:
        files = evidence.files_of(turn)
        await evidence.seal(turn)
        evidence.clear(turn)
        await self._commit(turn, files)

    async def _on_remove_last(self, turn: Turn, arg: str) -> None:
        await evidence.remove_last(turn)

    async def _on_confirm(self, turn: Turn, arg: str) -> None:
        data = turn.data
        if self._first_unfilled(turn) is not None:
            await self._next_unfilled_or_summary(turn)
            return
        entries = [
            ReportEntryInput(
                task["id"],
                data["entries"][str(task["id"])]["status"],
                data["entries"][str(task["id"])]["figure"],
                data["entries"][str(task["id"])]["note"],
            )
            for task in data["tasks"]
        ]
        # Each file stays with the task it was sent for; one photo sent for two tasks proves
        # both and counts for both, in the summary, the receipt and the unit's records alike.
        task_files = {
            task["id"]: [f["id"] for f in data["entries"][str(task["id"])]["files"]]
            for task in data["tasks"]
        }
        kept = list(dict.fromkeys(data.get("kept", [])))
        receipt = await turn.call(
            submit_report,
            turn.context.deps.uow(),
            turn.who.actor,
            turn.who.unit_id,
            data["year"],
            data["month"],
            entries,
            kept,
            {task_id: files for task_id, files in task_files.items() if files},
        )
        await turn.finish()
        timezone = data["tz"]
        await turn.say(
            "monthly.receipt",
            unit=turn.who.unit_name or "",
            year=receipt.year,
            month=receipt.month,
            receipt=receipt.receipt,
            at=_local(receipt.submitted_at, timezone),
            on_time=receipt.on_time,
            due=deadline_day(as_utc(receipt.due_at), timezone),
            version=receipt.version,
            tasks=len(entries),
            files=sum(len(files) for files in task_files.values()) + len(kept),
        )

    async def _on_change(self, turn: Turn, arg: str) -> None:
        await turn.save("pick")
        await self.prompt(turn)

    async def _on_pick(self, turn: Turn, arg: str) -> None:
        if not arg.isdigit() or not 0 <= int(arg) < len(turn.data["tasks"]):
            await self.prompt(turn)
            return
        turn.data["mode"] = "fix"
        await self._goto_task(turn, int(arg))

    async def _on_back(self, turn: Turn, arg: str) -> None:
        await turn.save("summary")
        await self.prompt(turn)

    async def _on_figure(self, turn: Turn, text: str) -> None:
        figure, problem = check_figure(text)
        if problem is not None:
            await turn.say(problem, limit=MAX_FIGURE, length=len(text))
            await self.prompt(turn)
            return
        await self._set_figure(turn, figure)

    async def _on_note(self, turn: Turn, text: str) -> None:
        note = text.strip()
        problem = check_note(note)
        if problem is not None:
            behind = turn.data["cur"]["status"] == "behind"
            await turn.say(problem, limit=MAX_NOTE, length=len(note), behind=behind)
            await self.prompt(turn)
            return
        await self._set_note(turn, note)

    async def _on_files_text(self, turn: Turn, text: str) -> None:
        await turn.say("monthly.files_want_files")
        await self.prompt(turn)

    async def _on_file(self, turn: Turn, incoming: IncomingFile) -> None:
        await evidence.collect(turn, incoming)

    steps: ClassVar[Mapping[str, Step]] = {
        "intro": Step(
            _prompt_intro,
            buttons={
                "fill": _on_fill,
                "fix": _on_fix,
                "same": _on_same,
                "ot": _on_other_month,
                "cx": _on_cancel,
            },
        ),
        "status": Step(_prompt_status, buttons={"st": _on_status, "kp": _on_keep_entry}),
        "figure": Step(
            _prompt_figure,
            text=_on_figure,
            buttons={"qf": _on_quick_figure, "kf": _on_keep_figure},
        ),
        "note": Step(
            _prompt_note, text=_on_note, buttons={"nn": _on_no_note, "kn": _on_keep_note}
        ),
        "files": Step(
            _prompt_files,
            text=_on_files_text,
            files=_on_file,
            buttons={
                "skip": _on_files_done,
                evidence.DONE: _on_files_done,
                evidence.REMOVE_LAST: _on_remove_last,
            },
        ),
        "summary": Step(
            _prompt_summary, buttons={"ok": _on_confirm, "chg": _on_change, "cx": _on_cancel}
        ),
        "pick": Step(_prompt_pick, buttons={"pk": _on_pick, "bk": _on_back}),
    }


def _late_costs(plan: Plan) -> dict[str, Any]:
    """What the plan deducts for a late report and for a missing one (item name, points)."""
    names = {item.code: item.name for item in plan.work.items}
    costs: dict[str, Any] = {}
    for kind, key in ((EventKind.REPORT_LATE, "late"), (EventKind.REPORT_MISSING, "missing")):
        deduction = plan.work.deductions.get(kind)
        if deduction is not None and deduction.points:
            costs[f"{key}_item"] = names.get(deduction.item, deduction.item)
            costs[f"{key}_points"] = deduction.points
    return costs


def _entry(
    status: str, figure: str, note: str, files: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    return {"status": status, "figure": figure, "note": note, "files": files or []}


# The buttons of one task: taken only from the message of the task being asked.
_TASK_ACTIONS = frozenset({"st", "kp", "qf", "kf", "nn", "kn", "skip"})
