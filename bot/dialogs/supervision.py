"""/supervision_report [1|2] [year]: the half-year comprehensive supervision report as a document.

Without arguments, the half year containing today (H1 = January–June, H2 = July–December);
`1` or `2` picks the half of this year, and a year (2024) the half of that year. A half that has
not begun is refused. The workbook (services.supervision_report.supervision_report_bytes) is
made off the event loop, after a "being prepared" message.

A view: it answers at once and keeps no state, so it declares no steps (`begin` only).
"""

from __future__ import annotations

from collections.abc import Sequence

from telegram.constants import ChatAction

from bot.dialogs.engine import Dialog, Turn
from bot.dialogs.helpers import (
    VIEW_ROLES,
    BadArgument,
    assessment_year,
    local_time_text,
    preparing,
    today,
)
from services.supervision_report import half_days, half_of, supervision_report_bytes

HALF_WORDS: dict[str, int] = {
    **dict.fromkeys(("1", "h1", "上半年", "上"), 1),
    **dict.fromkeys(("2", "h2", "下半年", "下"), 2),
}


def parse_half_args(args: Sequence[str]) -> tuple[int | None, int | None]:
    """Read `[1|2] [year]` in any order: (half, year), None for what was left out."""
    half: int | None = None
    year: int | None = None
    for word in args:
        key = word.strip().lower()
        if half is None and key in HALF_WORDS:
            half = HALF_WORDS[key]
        elif year is None and len(key) == 4 and key.isdigit():
            year = int(key)
        else:
            raise BadArgument(word)
    return half, year


class SupervisionDialog(Dialog):
    """/supervision_report: sends the half year's report (no state kept)."""

    kind = "supervision_report"
    cancelled_key = "common.cancelled_nothing"
    command = "supervision_report"
    roles = VIEW_ROLES

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Write the report and send it."""
        try:
            half, year = parse_half_args(args)
        except BadArgument:
            await turn.say("coord.supervision_usage")
            return
        now_day = today(turn)
        year = year or await assessment_year(turn)
        half = half or (half_of(now_day) if year == now_day.year else 2)
        first, last = half_days(year, half)
        half_name = turn.plain(f"coord.supervision_half_{half}")
        if first > now_day:
            await turn.say("coord.supervision_not_started", year=year, half=half_name, start=first)
            return
        await preparing(
            turn,
            "coord.supervision_preparing",
            ChatAction.UPLOAD_DOCUMENT,
            year=year,
            half=half_name,
        )
        workbook = await turn.call(
            supervision_report_bytes,
            turn.context.deps.read_uow(),
            turn.who.actor,
            year,
            half,
            turn.who.language,
        )
        report = workbook.report
        await turn.context.bot.send_document(
            turn.who.chat_id,
            document=workbook.content,
            filename=turn.plain(
                "coord.supervision_file_name", year=year, half=half_name, number=half
            ),
            caption=turn.t(
                "coord.supervision_caption",
                year=year,
                half=half_name,
                start=first,
                end=last,
                as_of=local_time_text(report.as_of, report.timezone),
                units=len(report.units),
                findings=report.finding_count,
                practices=report.practice_count,
            ),
        )
