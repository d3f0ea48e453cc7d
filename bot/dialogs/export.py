"""/export [year]: the year's full report workbook as a document.

The workbook (services.unit_report.year_report_bytes, as the dashboard downloads it:
rankings, indicators, work items, bonus, and a sheet per unit of its tasks, findings and
rectification) is made off the event loop; the coordinator sees "being prepared" and
Telegram's "sending a file" indicator meanwhile.

A view: it answers at once and keeps no state, so it declares no steps (`begin` only).
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram.constants import ChatAction

from bot.dialogs.engine import Dialog, Turn
from bot.dialogs.helpers import (
    VIEW_ROLES,
    assessment_year,
    now_text,
    parse_year,
    preparing,
)
from services.unit_report import year_report_bytes


class ExportDialog(Dialog):
    """/export: sends the report workbook (no state kept)."""

    kind = "export"
    cancelled_key = "common.cancelled_nothing"
    command = "export"
    roles = VIEW_ROLES

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Write the workbook and send it."""
        try:
            year = parse_year(args) or await assessment_year(turn)
        except ValueError:
            await turn.say("coord.export_usage")
            return
        await preparing(turn, "coord.export_preparing", ChatAction.UPLOAD_DOCUMENT, year=year)
        report = await turn.call(
            year_report_bytes, turn.context.deps.read_uow(), year, turn.who.language
        )
        await turn.context.bot.send_document(
            turn.who.chat_id,
            document=report.content,
            filename=turn.plain("coord.export_file_name", year=year),
            caption=turn.t("coord.export_caption", year=year, now=now_text(turn, report.timezone)),
        )
