"""/supervision_plan [year]: the year's supervision plan (督导计划) for coordinators and admins.

Shows the activities of the year (the assessment year when none is named), planned against
done, with buttons: the template workbook (drop-down lists of the kinds and units), loading a
filled-in workbook (sent as the next message; all or nothing, every bad cell listed), and adding
one activity step by step: the date (typed), the kind (a button), the focus (typed), the units
(typed names or codes separated by 、, or a button for every unit). The workbooks are made
and read by services.supervision_plan (activities_template, load_activity_workbook).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from datetime import date
from typing import ClassVar

from telegram import InlineKeyboardMarkup
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.dialogs.engine import Dialog, IncomingFile, Step, Tapped, Turn
from bot.dialogs.helpers import (
    ECHO,
    assessment_year,
    excerpt,
    parse_year,
    preparing,
    send_blocks,
    service_error,
)
from bot.message_split import split_messages
from scoring import InputError
from services.access import Role
from services.errors import ServiceError
from services.files.activity_reader import ActivityInput
from services.files.reader import format_problem
from services.supervision_plan import (
    ActivityImport,
    ActivityView,
    activities_template,
    add_activity,
    load_activity_workbook,
    year_activities,
)
from services.unit_lookup import find_units
from storage.statuses import SupervisionKind

log = logging.getLogger(__name__)

# Activities listed at most in the overview (the counts cover them all).
SHOWN = 60


def activity_line(turn: Turn, a: ActivityView) -> str:
    """One activity as a line of the overview."""
    return turn.t(
        "supervision.line",
        day=a.planned_on.isoformat(),
        kind=turn.plain(f"supervision.kind_{a.kind.value}"),
        focus=a.focus,
        units=[name for _, name in a.units],
        done=a.done_on.isoformat() if a.done_on else None,
        findings=len(a.findings),
    )


class SupervisionPlanDialog(Dialog):
    """/supervision_plan: the year's activities; template, load a workbook, add one."""

    kind = "supervision_plan"
    command = "supervision_plan"
    roles = frozenset({Role.COORDINATOR, Role.ADMIN})

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """The overview of the year's plan, with the actions."""
        try:
            year = parse_year(args)
        except ValueError:
            await turn.say("supervision.usage")
            return
        year = year if year is not None else await assessment_year(turn)
        await turn.start("menu", {"year": year})
        await self._overview(turn)

    async def _overview(self, turn: Turn) -> None:
        year = int(turn.data["year"])
        try:
            activities: list[ActivityView] = await turn.call(
                year_activities, turn.context.deps.read_uow(), year
            )
        except ServiceError as exc:
            # Said here, not by the engine: this is how the menu is shown again, and the
            # engine's mapping would show it again, refused again.
            await service_error(turn, exc)
            return
        done = sum(1 for a in activities if a.done)
        blocks = [turn.t("supervision.header", year=year, planned=len(activities), done=done)]
        blocks += [activity_line(turn, a) for a in activities[:SHOWN]]
        if len(activities) > SHOWN:
            blocks.append(turn.t("supervision.more", more=len(activities) - SHOWN))
        buttons = [
            [
                turn.button(turn.plain("supervision.template_button"), "tp"),
                turn.button(turn.plain("supervision.load_button"), "ld"),
            ],
            [
                turn.button(turn.plain("supervision.add_button"), "ad"),
                turn.button(turn.plain("supervision.close_button"), "no"),
            ],
        ]
        await send_blocks(turn, blocks, buttons)

    async def _show_menu(self, turn: Turn) -> None:
        await self._overview(turn)

    async def _ask_file(self, turn: Turn) -> None:
        await turn.say("supervision.send_file", year=turn.data["year"])

    async def _ask_date(self, turn: Turn) -> None:
        await turn.say("supervision.ask_date", year=turn.data["year"])

    async def _ask_kind(self, turn: Turn) -> None:
        buttons = [
            [turn.button(turn.plain(f"supervision.kind_{k.value}"), "k", k.value)]
            for k in SupervisionKind
        ]
        await turn.say("supervision.ask_kind", buttons)

    async def _ask_focus(self, turn: Turn) -> None:
        await turn.say("supervision.ask_focus")

    async def _ask_units(self, turn: Turn) -> None:
        buttons = [[turn.button(turn.plain("supervision.all_units_button"), "all")]]
        await turn.say("supervision.ask_units", buttons)

    # -- buttons ----------------------------------------------------------------------------

    async def _close(self, turn: Turn, arg: str) -> None:
        await turn.finish()
        await turn.say("supervision.closed")

    async def _template_tapped(self, turn: Turn, arg: str) -> None:
        await self._template(turn)

    async def _load(self, turn: Turn, arg: str) -> None:
        await turn.save("file")
        await self.prompt(turn)

    async def _add_tapped(self, turn: Turn, arg: str) -> None:
        await turn.save("date")
        await self.prompt(turn)

    async def _kind(self, turn: Turn, arg: str) -> None:
        if arg in {k.value for k in SupervisionKind}:
            await turn.save("focus", {**turn.data, "kind": arg})
        await self.prompt(turn)

    async def _all_units(self, turn: Turn, arg: str) -> None:
        await self._add(turn, [])

    # -- typed text -------------------------------------------------------------------------

    async def _date(self, turn: Turn, text: str) -> None:
        try:
            day = date.fromisoformat(text.strip())
        except ValueError:
            await turn.say("supervision.bad_date", got=excerpt(text, ECHO))
            return
        if day.year != int(turn.data["year"]):
            await turn.say("supervision.date_outside", day=day, year=turn.data["year"])
            return
        await turn.save("kind", {**turn.data, "day": day.isoformat()})
        await self.prompt(turn)

    async def _focus(self, turn: Turn, text: str) -> None:
        if not text.strip():
            await turn.say("dialog.use_buttons")
            await self.prompt(turn)
            return
        await turn.save("units", {**turn.data, "focus": text.strip()})
        await self.prompt(turn)

    async def _file(self, turn: Turn, incoming: IncomingFile) -> None:
        """The filled-in workbook, when asked for it."""
        name = incoming.file_name or "activities.xlsx"
        try:
            telegram_file = await turn.context.bot.get_file(incoming.file_id)
            content = bytes(await telegram_file.download_as_bytearray())
        except TelegramError as exc:
            log.info("download of a supervision plan failed: %s", exc)
            await turn.say("coord.upload_download_failed", file=name)
            return
        deps = turn.context.deps
        year = int(turn.data["year"])
        await preparing(turn, "supervision.checking", file=name)
        try:
            summary: ActivityImport = await turn.call(
                load_activity_workbook, deps.uow(), turn.who.actor, year, content, name
            )
        except InputError as exc:
            language = turn.who.language
            lines = [format_problem(p, language, html=True) for p in exc.problems]
            header = turn.t("coord.upload_problems", file=name, count=len(exc.problems))
            for message in split_messages([header, *lines, turn.t("coord.upload_fix_and_resend")]):
                await turn.send(message)
            return
        await turn.save("menu")
        await turn.say(
            "supervision.loaded",
            file=name,
            year=summary.year,
            added=summary.added,
            unchanged=summary.unchanged,
        )
        await self._overview(turn)

    async def _template(self, turn: Turn) -> None:
        year = int(turn.data["year"])
        await preparing(turn, "supervision.template_preparing", ChatAction.UPLOAD_DOCUMENT)
        data = await turn.call(
            activities_template, turn.context.deps.read_uow(), year, turn.who.language
        )
        # The next step is loading the filled-in workbook: its button comes with the file.
        buttons = [
            [
                turn.button(turn.plain("supervision.load_button"), "ld"),
                turn.button(turn.plain("supervision.close_button"), "no"),
            ]
        ]
        await turn.context.bot.send_document(
            turn.who.chat_id,
            document=data,
            filename=turn.plain("supervision.template_file", year=year),
            caption=turn.t("supervision.template_caption", year=year),
            reply_markup=InlineKeyboardMarkup(buttons),
        )

    async def _units_typed(self, turn: Turn, text: str) -> None:
        codes: list[str] = []
        for word in (w.strip() for w in text.replace(",", "、").replace("，", "、").split("、")):
            if not word:
                continue
            found = await turn.call(find_units, turn.context.deps.read_uow(), word, 2)
            if len(found) != 1:
                await turn.say("supervision.unit_unclear", query=excerpt(word, ECHO))
                return
            codes.append(found[0].code)
        await self._add(turn, codes)

    async def _add(self, turn: Turn, codes: list[str]) -> None:
        data = turn.data
        activity = ActivityInput(
            date.fromisoformat(data["day"]),
            SupervisionKind(data["kind"]),
            data["focus"],
            tuple(codes),
        )
        view: ActivityView = await turn.call(
            add_activity, turn.context.deps.uow(), turn.who.actor, int(data["year"]), activity
        )
        await turn.save("menu", {"year": data["year"]})
        await turn.send(turn.t("supervision.added") + "\n" + activity_line(turn, view))
        await self._overview(turn)

    steps: ClassVar[Mapping[str, Step]] = {
        "menu": Step(_show_menu, buttons={"tp": _template_tapped, "ld": _load, "ad": _add_tapped}),
        "file": Step(_ask_file, files=_file),
        "date": Step(_ask_date, text=_date),
        "kind": Step(_ask_kind, buttons={"k": _kind}),
        "focus": Step(_ask_focus, text=_focus),
        "units": Step(_ask_units, text=_units_typed, buttons={"all": _all_units}),
    }
    anywhere: ClassVar[Mapping[str, Tapped]] = {"no": _close}
