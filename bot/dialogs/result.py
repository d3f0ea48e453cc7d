"""/result and /approve: the year's result from draft to approved (Art. 16, 领导小组审定).

/result [year] (coordinators, admins): the newest result of the year (the assessment year when
none is named) and whether the data changed since it was frozen (the units whose total or rank
moved); a button freezes the standings of now as a new draft after a confirmation. The draft
goes to every approver at once, with the year's report workbook as of the draft's moment.

/approve [year] (leaders marked as approvers): the newest draft, with buttons to approve it or
return it; returning asks for the remarks, typed. The coordinators are told of the decision
(with the remarks). Publishing an approved result is /publish's "the year" period.

/close_year [year] (admins): closes a year whose approved result is published, after a
confirmation; nothing of it can change afterwards.

Decisions: the dialogs end before the service is called, so a double tap finds its button
expired; a service's refusal (stale, not a draft, not an approver) is said in words by the
engine's one mapping (Dialog.refused).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import ClassVar

from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.dialogs.engine import Dialog, Step, Tapped, Turn
from bot.dialogs.helpers import (
    ECHO,
    assessment_year,
    excerpt,
    local_time,
    parse_year,
    preparing,
    send_blocks,
    service_error,
    state_blocks,
)
from bot.notify import recipient_language, tell
from services.access import Role
from services.errors import ServiceError
from services.results import (
    ClosedYear,
    ResultState,
    ResultView,
    approver_contacts,
    close_year,
    coordinator_contacts,
    decide_result,
    freeze_result,
    is_approver,
    result_state,
)
from services.unit_report import year_report_bytes
from storage.statuses import ResultStatus
from templates import render

log = logging.getLogger(__name__)


async def _year(turn: Turn, args: Sequence[str], usage: str) -> int | None:
    try:
        year = parse_year(args)
    except ValueError:
        await turn.say(usage)
        return None
    return year if year is not None else await assessment_year(turn)


class ResultDialog(Dialog):
    """/result: the state of the year's result; freeze a new draft and send it for approval."""

    kind = "result"
    command = "result"
    roles = frozenset({Role.COORDINATOR, Role.ADMIN})
    takes_files = False

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Show the newest result of the year and offer a new draft."""
        year = await _year(turn, args, "result.usage")
        if year is None:
            return
        await preparing(turn, "result.preparing", year=year)
        try:
            state: ResultState | None = await turn.call(
                result_state, turn.context.deps.read_uow(), year
            )
        except ServiceError as exc:
            # Said here, not by the engine: this is also how the step is shown again, and the
            # engine's mapping would show it again, refused again.
            await service_error(turn, exc)
            return
        await turn.start("shown", {"year": year})
        blocks = [turn.t("result.none", year=year)] if state is None else state_blocks(turn, state)
        if state is not None and state.result.status is ResultStatus.APPROVED and not state.stale:
            blocks.append(turn.t("result.publish_hint", year=year))
        label = "result.freeze_button" if state is None else "result.refreeze_button"
        buttons = [
            [turn.button(turn.plain(label), "fz")],
            [turn.button(turn.plain("result.cancel_button"), "no")],
        ]
        await send_blocks(turn, blocks, buttons)

    async def _show_again(self, turn: Turn) -> None:
        """The result of the year again (read anew)."""
        await self.begin(turn, [str(turn.data.get("year", ""))])

    async def _cancel(self, turn: Turn, arg: str) -> None:
        await turn.finish()
        await turn.say("result.cancelled")

    async def _ask_confirm(self, turn: Turn, arg: str) -> None:
        await turn.save("confirm")
        await self._confirm(turn)

    async def _confirm(self, turn: Turn) -> None:
        buttons = [
            [
                turn.button(turn.plain("result.freeze_confirm_button"), "ok"),
                turn.button(turn.plain("result.cancel_button"), "no"),
            ]
        ]
        await turn.say("result.freeze_confirm", buttons, year=turn.data["year"])

    async def _freeze(self, turn: Turn, arg: str) -> None:
        deps = turn.context.deps
        year = int(turn.data["year"])
        await turn.finish()  # first: a second tap finds the button expired
        await preparing(turn, "result.freezing", ChatAction.UPLOAD_DOCUMENT, year=year)
        view: ResultView = await turn.call(freeze_result, deps.uow(), turn.who.actor, year)
        approvers = await turn.call(approver_contacts, deps.read_uow())
        reached = 0
        for contact in approvers:
            if await send_draft(turn, contact.telegram_user_id, view):
                reached += 1
        await turn.say(
            "result.frozen",
            year=view.year,
            version=view.version,
            units=view.units,
            as_of=local_time(turn, view.as_of),
            approvers=len(approvers),
            reached=reached,
        )

    steps: ClassVar[Mapping[str, Step]] = {
        "shown": Step(_show_again, buttons={"fz": _ask_confirm}),
        "confirm": Step(_confirm, buttons={"ok": _freeze}),
    }
    anywhere: ClassVar[Mapping[str, Tapped]] = {"no": _cancel}


async def send_draft(turn: Turn, telegram_id: int, view: ResultView) -> bool:
    """Send an approver the draft with its report workbook; False if they cannot be reached."""
    context = turn.context
    language = await recipient_language(context, telegram_id)
    try:
        report = await context.call(
            year_report_bytes, context.deps.read_uow(), view.year, language, view.as_of
        )
        await context.bot.send_document(
            telegram_id,
            document=report.content,
            filename=render("result.file_name", language, year=view.year, version=view.version),
            caption=render(
                "result.approver_notice",
                language,
                html=True,
                year=view.year,
                version=view.version,
                as_of=local_time(turn, view.as_of),
                units=view.units,
            ),
        )
    except TelegramError as exc:
        log.warning("could not send the draft to telegram user %s: %s", telegram_id, exc)
        return False
    return True


class ApproveDialog(Dialog):
    """/approve: an approver approves the newest draft of the year or returns it, with remarks."""

    kind = "approve"
    command = "approve"
    roles = frozenset({Role.VIEWER})
    takes_files = False

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Show the newest draft of the year with the two decisions."""
        year = await _year(turn, args, "result.approve_usage")
        if year is None:
            return
        if not await turn.call(is_approver, turn.context.deps.read_uow(), turn.who.actor):
            await turn.say("errors.result_not_an_approver")
            return
        try:
            state: ResultState | None = await turn.call(
                result_state, turn.context.deps.read_uow(), year
            )
        except ServiceError as exc:
            # Said here, not by the engine: this is also how the step is shown again, and the
            # engine's mapping would show it again, refused again.
            await service_error(turn, exc)
            return
        if state is None or state.result.status is not ResultStatus.DRAFT:
            await turn.say("result.approve_none", year=year)
            return
        await turn.start("decide", {"year": year, "version": state.result.version})
        buttons = [
            [
                turn.button(turn.plain("result.approve_button"), "ap"),
                turn.button(turn.plain("result.return_button"), "rt"),
            ],
            [turn.button(turn.plain("result.cancel_button"), "no")],
        ]
        await send_blocks(turn, state_blocks(turn, state), buttons)

    async def _show_again(self, turn: Turn) -> None:
        """The newest draft again (read anew)."""
        await self.begin(turn, [str(turn.data.get("year", ""))])

    async def _cancel(self, turn: Turn, arg: str) -> None:
        await turn.finish()
        await turn.say("result.cancelled")

    async def _approve(self, turn: Turn, arg: str) -> None:
        await self._decide(turn, True, None)

    async def _return(self, turn: Turn, arg: str) -> None:
        await turn.save("remarks")
        await self._ask_remarks(turn)

    async def _ask_remarks(self, turn: Turn) -> None:
        await turn.say("result.return_ask")

    async def _remarks(self, turn: Turn, text: str) -> None:
        """The remarks of a returned draft."""
        await self._decide(turn, False, text)

    async def _decide(self, turn: Turn, approve: bool, remarks: str | None) -> None:
        deps = turn.context.deps
        year = int(turn.data["year"])
        if approve or (remarks or "").strip():
            await turn.finish()
        view: ResultView = await turn.call(
            decide_result, deps.uow(), turn.who.actor, year, approve, remarks
        )
        coordinators = await turn.call(coordinator_contacts, deps.read_uow())
        key = "result.coord_approved" if approve else "result.coord_returned"
        await tell(
            turn.context,
            [c.telegram_user_id for c in coordinators],
            key,
            approver=turn.who.actor.name,
            year=view.year,
            version=view.version,
            remarks=excerpt(view.remarks or "", 10 * ECHO),
        )
        await turn.say(
            "result.approved" if approve else "result.returned",
            year=view.year,
            version=view.version,
        )

    steps: ClassVar[Mapping[str, Step]] = {
        "decide": Step(_show_again, buttons={"ap": _approve, "rt": _return}),
        "remarks": Step(_ask_remarks, text=_remarks),
    }
    anywhere: ClassVar[Mapping[str, Tapped]] = {"no": _cancel}


class CloseYearDialog(Dialog):
    """/close_year [year]: an admin closes a year whose approved result is published, after a
    confirmation (it cannot be undone); every service then refuses to change that year."""

    kind = "close_year"
    command = "close_year"
    roles = frozenset({Role.ADMIN})
    takes_files = False

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Ask to confirm closing the year (named, else the assessment year)."""
        year = await _year(turn, args, "result.close_usage")
        if year is None:
            return
        await turn.start("confirm", {"year": year})
        await self.prompt(turn)

    async def _show_confirm(self, turn: Turn) -> None:
        """The confirmation."""
        buttons = [
            [
                turn.button(turn.plain("result.close_confirm_button"), "ok"),
                turn.button(turn.plain("result.cancel_button"), "no"),
            ]
        ]
        await turn.say("result.close_confirm", buttons, year=turn.data["year"])

    async def _cancel(self, turn: Turn, arg: str) -> None:
        await turn.finish()
        await turn.say("result.cancelled")

    async def _close(self, turn: Turn, arg: str) -> None:
        year = int(turn.data["year"])
        await turn.finish()
        closed: ClosedYear = await turn.call(
            close_year, turn.context.deps.uow(), turn.who.actor, year
        )
        await turn.say("result.closed", year=closed.year, version=closed.result_version)

    steps: ClassVar[Mapping[str, Step]] = {
        "confirm": Step(_show_confirm, buttons={"ok": _close}),
    }
    anywhere: ClassVar[Mapping[str, Tapped]] = {"no": _cancel}
