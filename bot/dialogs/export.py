"""/export [year]: the year's full report workbook as a document.

The workbook (services.unit_report.write_year_report: rankings, indicators, work items,
bonus, and a sheet per unit of its tasks, findings and rectification) is written into a
temporary folder off the event loop, read, and the folder removed, all in the worker thread;
the coordinator sees "being prepared" and Telegram's "sending a file" indicator meanwhile.
"""

from __future__ import annotations

import tempfile
from collections.abc import Sequence
from pathlib import Path

from telegram.constants import ChatAction

from bot.dialogs.engine import Dialog, Turn
from bot.dialogs.helpers import (
    VIEW_ROLES,
    assessment_year,
    now_text,
    parse_year,
    preparing,
    say_error,
)
from services.errors import ServiceError
from services.unit_report import write_year_report
from storage.unit_of_work import UnitOfWork


def year_report_bytes(uow: UnitOfWork, year: int, language: str) -> tuple[bytes, str]:
    """The year's report workbook as bytes, and the plan's time zone (blocking: a thread)."""
    with tempfile.TemporaryDirectory(prefix="kaohe-export-") as folder:
        path = Path(folder) / "report.xlsx"
        standings = write_year_report(uow, year, path, language)
        return path.read_bytes(), standings.plan.timezone


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
        try:
            data, timezone = await turn.call(
                year_report_bytes, turn.context.deps.read_uow(), year, turn.who.language
            )
        except ServiceError as exc:
            await say_error(turn, exc)
            return
        await turn.context.bot.send_document(
            turn.who.chat_id,
            document=data,
            filename=turn.plain("coord.export_file_name", year=year),
            caption=turn.t("coord.export_caption", year=year, now=now_text(turn, timezone)),
        )

    async def prompt(self, turn: Turn) -> None:
        """Nothing to show again: /export keeps no state."""

    async def button(self, turn: Turn, action: str, arg: str) -> None:
        """/export has no buttons."""
