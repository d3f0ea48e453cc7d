"""/templates: the empty workbook of each kind, to fill in and send back to the bot.

One button per kind (units, values, grades, bonus, events, tasks); the chosen template is
written (services.input_templates.template_bytes) for the plan of the current year, with the
active units in its lists, in the person's language, off the event loop, and sent as a
document. The title on its instructions sheet states the year, which the upload dialog reads
back.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping, Sequence
from typing import ClassVar

from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.dialogs.engine import Dialog, Step, Turn
from bot.dialogs.helpers import current_year, plan_or_say
from services.access import Role
from services.input_templates import KINDS, template_bytes
from templates import render

log = logging.getLogger(__name__)


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

    async def _show_kinds(self, turn: Turn) -> None:
        """The kind buttons, two a row."""
        buttons = [
            turn.button(turn.plain("coord.templates_kind", kind=kind), "t", kind) for kind in KINDS
        ]
        rows = [buttons[i : i + 2] for i in range(0, len(buttons), 2)]
        await turn.say("coord.templates_choose", rows, year=turn.data["year"])

    async def _kind_chosen(self, turn: Turn, arg: str) -> None:
        """Write and send the chosen template; the dialog ends (a workbook sent next is an
        upload)."""
        if arg not in KINDS:
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
        content = await turn.call(
            template_bytes, turn.context.deps.read_uow(), year, arg, language
        )
        await bot.send_document(
            turn.who.chat_id,
            document=content,
            filename=render("coord.templates_file_name", language, kind=arg, year=year),
            caption=turn.t("coord.templates_caption", kind=arg, year=year),
        )

    steps: ClassVar[Mapping[str, Step]] = {
        "choose": Step(_show_kinds, buttons={"t": _kind_chosen}),
    }
