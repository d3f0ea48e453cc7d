"""/rectify: a liaison proves the rectification (整改) of one of their unit's findings.

Steps: `pick` (the unit's findings awaiting rectification, open or returned, as buttons) ->
`measures` (the description of the finding, the coordinator's reason if it was returned, and
the measures taken, typed) -> `evidence` (photos and documents, albums included, collected by
bot.dialogs.evidence; Done) -> `confirm` (a summary: submit, change the text or the files,
cancel) -> a receipt (number, time, on time or after the deadline). A draft left unfinished is
offered back (the engine's `resume`: continue or start over) the next time /rectify is sent.

Every finding id that arrives (a button, or `/rectify <id>`) is checked by the findings service,
which refuses another unit's finding; the dialog then stays where it was and nothing is stored.
Files sent while the measures are being typed are kept too (people often send photos first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime
from typing import Any, ClassVar

from telegram import InlineKeyboardButton

from bot.dialogs import evidence
from bot.dialogs.engine import Dialog, IncomingFile, Resume, Step, Turn
from bot.dialogs.helpers import excerpt, local_now, local_time, service_error
from bot.notify import tell
from services.access import Role
from services.dialogs import DialogView
from services.errors import ServiceError
from services.findings import (
    OPEN,
    OVERDUE,
    RETURNED,
    SUBMITTED,
    FindingView,
    finding_rectifications,
    get_finding,
    open_findings,
    submit_rectification,
)
from storage.statuses import RectificationDecision

MAX_TEXT = 2000
PAGE = 8
# How much of a finding's description the list and the summary show.
LIST_EXCERPT = 80
SUMMARY_EXCERPT = 300
# Document names listed in the summary; more are counted.
LISTED_FILES = 10
FILES = "files"


class RectifyDialog(Dialog):
    """/rectify: submit (or resubmit) the rectification of one of the unit's findings."""

    kind = "rectify"
    command = "rectify"
    roles = frozenset({Role.LIAISON})

    # -- entry ------------------------------------------------------------------------------

    resume = Resume("rectify.resume", "rectify.continue_button", "rectify.restart_button")

    def worth_resuming(self, draft: DialogView, args: Sequence[str]) -> bool:
        """A draft with a finding taken up is offered back (unless a finding is named now)."""
        return not args and draft.data.get("finding") is not None

    def resume_params(self, turn: Turn) -> dict[str, Any]:
        """The finding of the draft, and how far it got."""
        data = turn.data
        return {
            "number": data["finding"],
            "description": excerpt(data.get("description", ""), LIST_EXCERPT),
            "has_text": bool(data.get("text")),
            "files": len(evidence.files_of(turn, FILES)),
        }

    def resumed(self, step: str, data: dict[str, Any]) -> dict[str, Any]:
        """Back at the evidence: a new status message for the files (the old one is far up)."""
        if step == "evidence":
            data.pop(evidence.status_key(FILES), None)
        return data

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """List the findings (or take `/rectify <id>`)."""
        await turn.start("pick", {"page": 0})
        if args:
            if len(args) == 1 and args[0].lstrip("#").isdigit():
                await self._pick(turn, int(args[0].lstrip("#")))
                return
            await turn.say("rectify.bad_number", value=" ".join(args)[:40])
        await self.prompt(turn)

    # -- steps shown ------------------------------------------------------------------------

    async def _prompt_pick(self, turn: Turn) -> None:
        try:
            findings = await turn.call(
                open_findings, turn.context.deps.read_uow(), turn.who.actor, turn.who.unit_id
            )
        except ServiceError as exc:
            await turn.finish()
            await service_error(turn, exc)
            return
        now = turn.context.deps.clock.now()
        actionable = [f for f in findings if f.status in (OPEN, RETURNED)]
        in_review = [f.id for f in findings if f.status == SUBMITTED]
        if not actionable:
            await turn.finish()
            await turn.say("rectify.none_open", in_review=in_review)
            return
        pages = (len(actionable) + PAGE - 1) // PAGE
        page = min(max(int(turn.data.get("page", 0)), 0), pages - 1)
        shown = actionable[page * PAGE : (page + 1) * PAGE]
        today = local_now(turn).date()
        rows = [_finding_line(f, now, today) for f in shown]
        buttons: list[list[InlineKeyboardButton]] = [
            [
                turn.button(
                    turn.plain(
                        "rectify.finding_button",
                        number=f.id,
                        deadline=f"{f.deadline.month}-{f.deadline.day}",
                        overdue=f.effective_status(now) == OVERDUE,
                        returned=f.status == RETURNED,
                    ),
                    "f",
                    str(f.id),
                )
            ]
            for f in shown
        ]
        nav = []
        if page > 0:
            nav.append(turn.button(turn.plain("rectify.previous_page"), "pg", str(page - 1)))
        if page < pages - 1:
            nav.append(turn.button(turn.plain("rectify.next_page"), "pg", str(page + 1)))
        if nav:
            buttons.append(nav)
        await turn.say(
            "rectify.pick",
            buttons,
            findings=rows,
            total=len(actionable),
            page=page + 1,
            pages=pages,
            in_review=in_review,
        )

    async def _prompt_measures(self, turn: Turn) -> None:
        data = turn.data
        await turn.say(
            "rectify.ask_measures",
            number=data["finding"],
            description=data.get("description", ""),
            deadline=data.get("deadline", ""),
            overdue=_overdue(turn),
            reason=data.get("reason"),
            previous=data.get("previous_receipt"),
            current=data.get("text"),
            max=MAX_TEXT,
        )

    async def _prompt_evidence(self, turn: Turn) -> None:
        count = len(evidence.files_of(turn, FILES))
        buttons = []
        if count:
            buttons.append(
                [
                    turn.button(turn.plain("evidence.done_button", count=count), evidence.DONE),
                    turn.button(turn.plain("rectify.clear_files_button"), "fc"),
                ]
            )
        await turn.say("rectify.ask_evidence", buttons or None, count=count)

    async def _prompt_confirm(self, turn: Turn) -> None:
        data = turn.data
        files = evidence.files_of(turn, FILES)
        photos = sum(1 for f in files if f.get("kind") == "photo")
        names = [str(f.get("name") or "?") for f in files if f.get("kind") != "photo"]
        buttons = [
            [turn.button(turn.plain("rectify.submit_button"), "ok")],
            [
                turn.button(turn.plain("rectify.edit_text_button"), "et"),
                turn.button(turn.plain("rectify.edit_files_button"), "ef"),
            ],
            [turn.button(turn.plain("rectify.cancel_button"), "x")],
        ]
        await turn.say(
            "rectify.summary",
            buttons,
            number=data["finding"],
            description=excerpt(data.get("description", ""), SUMMARY_EXCERPT),
            deadline=data.get("deadline", ""),
            overdue=_overdue(turn),
            resubmission=bool(data.get("reason")),
            text=data.get("text", ""),
            count=len(files),
            photos=photos,
            names=names[:LISTED_FILES],
            more=max(0, len(names) - LISTED_FILES),
        )

    # -- what each step takes --------------------------------------------------------------

    async def _measures(self, turn: Turn, text: str) -> None:
        if not text:
            await turn.say("rectify.text_empty")
            await self.prompt(turn)
            return
        if len(text) > MAX_TEXT:
            await turn.say("rectify.text_too_long", length=len(text), max=MAX_TEXT)
            return
        data = dict(turn.data)
        data["text"] = text
        if data.pop("editing", False) and evidence.files_of(turn, FILES):
            await turn.save("confirm", data)
        else:
            await turn.save("evidence", data)
        await self.prompt(turn)

    async def _evidence_text(self, turn: Turn, text: str) -> None:
        await turn.say("rectify.evidence_wants_files")
        await self.prompt(turn)

    async def _file(self, turn: Turn, incoming: IncomingFile) -> None:
        # Files sent while the measures are typed are kept too (people often send photos first).
        await evidence.collect(turn, incoming, FILES)

    async def _finding_tapped(self, turn: Turn, arg: str) -> None:
        if not arg.isdigit():
            await self.prompt(turn)
            return
        await self._pick(turn, int(arg))

    async def _page(self, turn: Turn, arg: str) -> None:
        if arg.isdigit():
            await turn.save("pick", {**turn.data, "page": int(arg)})
        await self.prompt(turn)

    async def _remove_last(self, turn: Turn, arg: str) -> None:
        await evidence.remove_last(turn, FILES)

    async def _clear_files(self, turn: Turn, arg: str) -> None:
        evidence.clear(turn, FILES)
        await turn.save("evidence")
        await self.prompt(turn)

    async def _edit_text(self, turn: Turn, arg: str) -> None:
        await turn.save("measures", {**turn.data, "editing": True})
        await self.prompt(turn)

    async def _edit_files(self, turn: Turn, arg: str) -> None:
        # A new status message for the files added now; the old one stays sealed.
        data = dict(turn.data)
        data.pop(evidence.status_key(FILES), None)
        await turn.save("evidence", data)
        await self.prompt(turn)

    async def _cancel(self, turn: Turn, arg: str) -> None:
        draft = turn.data
        await turn.finish()
        await turn.say("rectify.cancelled")
        await evidence.discard_files(turn.context, draft)

    # -- actions ----------------------------------------------------------------------------

    async def _pick(self, turn: Turn, finding_id: int) -> None:
        """Take up one finding: the service checks that it is the unit's own."""
        deps = turn.context.deps
        actor = turn.who.actor
        finding: FindingView = await turn.call(get_finding, deps.read_uow(), actor, finding_id)
        if finding.status not in (OPEN, RETURNED):
            await turn.say("errors.finding_not_awaiting_rectification", status=finding.status)
            await self.prompt(turn)
            return
        history = await turn.call(finding_rectifications, deps.read_uow(), actor, finding_id)
        returned = [r for r in history if r.decision == RectificationDecision.RETURNED]
        last = returned[-1] if finding.status == RETURNED and returned else None
        data: dict[str, Any] = {
            "finding": finding.id,
            "description": finding.description,
            "deadline": finding.deadline.isoformat(),
            "deadline_end": finding.deadline_end.isoformat(),
            "reason": last.reason if last is not None else None,
            "previous_receipt": last.receipt if last is not None else None,
        }
        await turn.save("measures", data)
        await self.prompt(turn)

    async def _files_done(self, turn: Turn, arg: str) -> None:
        if not evidence.files_of(turn, FILES):
            await turn.say("rectify.need_evidence")
            await self.prompt(turn)
            return
        if not turn.data.get("text"):
            await turn.save("measures")
            await turn.say("rectify.text_first")
            await self.prompt(turn)
            return
        await evidence.seal(turn, FILES)
        data = dict(turn.data)
        data.pop("editing", None)
        await turn.save("confirm", data)
        await self.prompt(turn)

    async def _submit(self, turn: Turn, arg: str) -> None:
        data = dict(turn.data)
        deps = turn.context.deps
        count = len(evidence.files_of(turn, FILES))
        try:
            receipt = await turn.call(
                submit_rectification,
                deps.uow(),
                turn.who.actor,
                int(data["finding"]),
                str(data.get("text", "")),
                evidence.evidence_ids(turn, FILES),
            )
        except ServiceError as exc:
            await service_error(turn, exc)
            if exc.code == "evidence_not_found":
                await turn.save("evidence", {**data, "files": []})
                await self.prompt(turn)
            elif exc.code == "rectification_text_empty":
                await turn.save("measures", {**data, "editing": True})
                await self.prompt(turn)
            else:
                # The finding is no longer the unit's to rectify (reviewed, another unit …).
                await turn.finish()
            return
        await turn.finish()
        await turn.say(
            "rectify.receipt",
            number=data["finding"],
            receipt=receipt.receipt,
            time=local_time(turn, receipt.submitted_at),
            on_time=receipt.on_time,
            deadline=data.get("deadline", ""),
            count=count,
        )
        # The coordinators learn at once that something waits in their /review queue.
        await tell(
            turn.context,
            receipt.coordinator_telegram_ids,
            "rectify.notify_coordinators",
            unit=turn.who.unit_name or "",
            number=data["finding"],
            count=count,
        )

    steps: ClassVar[Mapping[str, Step]] = {
        "pick": Step(_prompt_pick, buttons={"f": _finding_tapped, "pg": _page}),
        "measures": Step(
            _prompt_measures,
            text=_measures,
            files=_file,
            buttons={evidence.DONE: _files_done, evidence.REMOVE_LAST: _remove_last},
        ),
        "evidence": Step(
            _prompt_evidence,
            text=_evidence_text,
            files=_file,
            buttons={
                evidence.DONE: _files_done,
                evidence.REMOVE_LAST: _remove_last,
                "fc": _clear_files,
            },
        ),
        "confirm": Step(
            _prompt_confirm,
            buttons={"ok": _submit, "et": _edit_text, "ef": _edit_files, "x": _cancel},
        ),
    }


def _overdue(turn: Turn) -> bool:
    end = turn.data.get("deadline_end")
    return bool(end) and turn.context.deps.clock.now() >= datetime.fromisoformat(str(end))


def _finding_line(finding: FindingView, now: datetime, today: date) -> dict[str, Any]:
    return {
        "number": finding.id,
        "description": excerpt(finding.description, LIST_EXCERPT),
        "deadline": finding.deadline.isoformat(),
        "overdue": finding.effective_status(now) == OVERDUE,
        "days": (finding.deadline - today).days,
        "returned": finding.status == RETURNED,
    }
