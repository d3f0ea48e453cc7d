"""/templates: the empty workbook of each kind, to fill in and send back to the bot.

One button per kind (units, values, grades, bonus, events, tasks); the chosen template is
written for the plan of the current year, with the active units in its lists, in the person's
language, into a temporary folder off the event loop, sent as a document, and removed. The
title on its instructions sheet states the year, which the upload dialog reads back.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Callable, Sequence
from pathlib import Path

from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.dialogs.engine import Dialog, Turn
from bot.dialogs.helpers import current_year, plan_or_say
from services.access import Role
from services.errors import ServiceError
from services.files.input_templates import write_template
from services.files.task_reader import write_tasks_template
from services.plans import current_plan
from services.year_data import active_units
from storage.unit_of_work import UnitOfWork
from templates import render

log = logging.getLogger(__name__)

TEMPLATE_KINDS: tuple[str, ...] = ("units", "values", "grades", "bonus", "events", "tasks")


def template_bytes(
    read_uow: Callable[[], UnitOfWork], year: int, kind: str, language: str
) -> bytes:
    """The template workbook of `kind` for the plan of `year`, as bytes."""
    plan = current_plan(read_uow(), year)
    units = active_units(read_uow())
    with tempfile.TemporaryDirectory(prefix="kaohe-template-") as folder:
        path = Path(folder) / f"{kind}.xlsx"
        if kind == "tasks":
            write_tasks_template(plan, path, units, language)
        else:
            write_template(kind, plan, path, units, language)
        return path.read_bytes()


class TemplatesDialog(Dialog):
    """/templates: choose a kind, get its workbook."""

    kind = "templates"
    cancelled_key = "common.cancelled_nothing"
    command = "templates"
    takes_args = False
    roles = frozenset({Role.COORDINATOR, Role.ADMIN})
    takes_files = False  # a workbook sent meanwhile is an upload

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Offer the kinds."""
        year = await current_year(turn)
        if await plan_or_say(turn, year) is None:
            return
        await turn.start("choose", {"year": year})
        await self.prompt(turn)

    async def prompt(self, turn: Turn) -> None:
        """The kind buttons, two a row."""
        buttons = [
            turn.button(turn.plain("coord.templates_kind", kind=kind), "t", kind)
            for kind in TEMPLATE_KINDS
        ]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        await turn.say("coord.templates_choose", rows, year=turn.data["year"])

    async def button(self, turn: Turn, action: str, arg: str) -> None:
        """Write and send the chosen template; the dialog ends (a workbook sent next is an
        upload)."""
        if action != "t" or arg not in TEMPLATE_KINDS:
            await self.prompt(turn)
            return
        year = int(turn.data["year"])
        language = turn.who.language
        await turn.finish()
        await turn.say("coord.templates_preparing", kind=arg)
        bot = turn.context.bot
        try:
            await bot.send_chat_action(turn.who.chat_id, ChatAction.UPLOAD_DOCUMENT)
        except TelegramError:
            log.debug("chat action not sent")
        try:
            content = await turn.call(
                template_bytes, turn.context.deps.read_uow, year, arg, language
            )
        except ServiceError as exc:
            await turn.say(f"errors.{exc.code}", **exc.params)
            return
        await bot.send_document(
            turn.who.chat_id,
            document=content,
            filename=render("coord.templates_file_name", language, kind=arg, year=year),
            caption=turn.t("coord.templates_caption", kind=arg, year=year),
        )
