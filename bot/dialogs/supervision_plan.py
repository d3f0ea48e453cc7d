"""/supervision_plan [year]: the year's supervision plan (督导计划) for coordinators and admins.

Shows the activities of the year (the assessment year when none is named), planned against
done, with buttons: the template workbook (drop-down lists of the kinds and units), loading a
filled-in workbook (sent as the next message; all or nothing, every bad cell listed), and adding
one activity step by step: the date (typed), the kind (a button), the focus (typed), the units
(typed names or codes separated by 、, or a button for every unit).
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from datetime import date
from pathlib import Path

from telegram import InlineKeyboardMarkup
from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.dialogs.engine import Dialog, IncomingFile, Turn
from bot.dialogs.helpers import (
    ECHO,
    assessment_year,
    excerpt,
    parse_year,
    preparing,
    send_blocks,
    service_error,
    split_messages,
)
from scoring import InputError, Unit
from services.access import Role
from services.errors import ServiceError
from services.files.activity_reader import (
    ActivityInput,
    read_activities,
    write_activities_template,
)
from services.files.reader import format_problem
from services.supervision_plan import (
    ActivityImport,
    ActivityView,
    add_activity,
    import_activities,
    year_activities,
)
from services.unit_lookup import find_units
from services.year_data import active_units
from storage.statuses import SupervisionKind
from storage.unit_of_work import UnitOfWork

log = logging.getLogger(__name__)

# Activities listed at most in the overview (the counts cover them all).
SHOWN = 60


def template_bytes(uow: UnitOfWork, year: int, language: str) -> bytes:
    """The supervision plan template of `year` as bytes (blocking: a thread)."""
    units = active_units(uow)
    with tempfile.TemporaryDirectory(prefix="kaohe-activities-") as folder:
        path = Path(folder) / "activities.xlsx"
        write_activities_template(year, path, units, language)
        return path.read_bytes()


def read_bytes(content: bytes, name: str, units: Sequence[Unit]) -> list[ActivityInput]:
    """`read_activities` on downloaded bytes (blocking: a thread; InputError on problems)."""
    with tempfile.TemporaryDirectory(prefix="kaohe-activities-") as folder:
        path = Path(folder) / (Path(name).name or "activities.xlsx")
        path.write_bytes(content)
        return read_activities(path, units, source=name)


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

    async def prompt(self, turn: Turn) -> None:
        """Ask again what the step wants."""
        step = turn.step
        if step == "file":
            await turn.say("supervision.send_file", year=turn.data["year"])
        elif step == "date":
            await turn.say("supervision.ask_date", year=turn.data["year"])
        elif step == "kind":
            buttons = [
                [turn.button(turn.plain(f"supervision.kind_{k.value}"), "k", k.value)]
                for k in SupervisionKind
            ]
            await turn.say("supervision.ask_kind", buttons)
        elif step == "focus":
            await turn.say("supervision.ask_focus")
        elif step == "units":
            buttons = [[turn.button(turn.plain("supervision.all_units_button"), "all")]]
            await turn.say("supervision.ask_units", buttons)
        else:
            await self._overview(turn)

    async def button(self, turn: Turn, action: str, arg: str) -> None:
        """The menu's actions, a kind, every unit, or close."""
        step = turn.step
        if action == "no":
            await turn.finish()
            await turn.say("supervision.closed")
        elif action == "tp" and step == "menu":
            await self._template(turn)
        elif action == "ld" and step == "menu":
            await turn.save("file")
            await self.prompt(turn)
        elif action == "ad" and step == "menu":
            await turn.save("date")
            await self.prompt(turn)
        elif action == "k" and step == "kind" and arg in {k.value for k in SupervisionKind}:
            await turn.save("focus", {**turn.data, "kind": arg})
            await self.prompt(turn)
        elif action == "all" and step == "units":
            await self._add(turn, [])
        else:
            await self.prompt(turn)

    async def text(self, turn: Turn, text: str) -> None:
        """The date, the focus or the units of an activity being added."""
        step = turn.step
        if step == "date":
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
        elif step == "focus" and text.strip():
            await turn.save("units", {**turn.data, "focus": text.strip()})
            await self.prompt(turn)
        elif step == "units":
            await self._units_typed(turn, text)
        else:
            await super().text(turn, text)

    async def file(self, turn: Turn, incoming: IncomingFile) -> None:
        """The filled-in workbook, when asked for it."""
        if turn.step != "file":
            await super().file(turn, incoming)
            return
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
            units = await turn.call(active_units, deps.read_uow())
            activities = await turn.call(read_bytes, content, name, units)
            summary: ActivityImport = await turn.call(
                import_activities, deps.uow(), turn.who.actor, year, activities, name
            )
        except InputError as exc:
            language = turn.who.language
            lines = [format_problem(p, language, html=True) for p in exc.problems]
            header = turn.t("coord.upload_problems", file=name, count=len(exc.problems))
            for message in split_messages([header, *lines, turn.t("coord.upload_fix_and_resend")]):
                await turn.send(message)
            return
        except ServiceError as exc:
            await service_error(turn, exc)
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
            template_bytes, turn.context.deps.read_uow(), year, turn.who.language
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
        try:
            view: ActivityView = await turn.call(
                add_activity, turn.context.deps.uow(), turn.who.actor, int(data["year"]), activity
            )
        except ServiceError as exc:
            await service_error(turn, exc)
            return
        await turn.save("menu", {"year": data["year"]})
        await turn.send(turn.t("supervision.added") + "\n" + activity_line(turn, view))
        await self._overview(turn)
