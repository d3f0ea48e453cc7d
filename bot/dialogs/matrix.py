"""/matrix [month]: which units reported a month's progress on time, late, or not at all; and a
picture of the year (units by months, a coloured cell each).

`/matrix` shows the last month whose deadline has passed; `/matrix 3` month 3 of the current
year; `/matrix 2025-03` (or 2025/3, 2025年3月) any month. The states are those of
services.matrix.year_matrix (read in one unit of work, as the dashboard's matrix page), now:
on time, late, overdue (deadline passed, no report, month not closed), missing (month closed
without a report), not due yet. Units owing no report (no task yet) are left out of the text
and blank in the picture. The picture is drawn off the event loop; a year of many units is
split into several pictures of `ROWS_PER_PICTURE` units.

A view: it answers at once and keeps no state, so it declares no steps (`begin` only).
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping, Sequence
from datetime import datetime

from telegram.constants import ChatAction
from telegram.error import TelegramError

from bot.dialogs.engine import Dialog, Turn
from bot.dialogs.helpers import current_year, send_blocks, web_app_buttons
from scoring import Plan
from scoring.calendar import MonthState, last_due_month, local_date, report_due_at, report_due_date
from services.access import Role
from services.errors import NotFound
from services.files.charts import MatrixRow, render_matrix
from services.matrix import in_unit_order, year_matrix
from services.plans import current_plan
from services.reports import UnitReportStatus
from storage.clock import as_utc

log = logging.getLogger(__name__)

ROWS_PER_PICTURE = 60
# Telegram takes at most this many pictures in a row without complaint; the rest are left out.
MAX_PICTURES = 10
STATE_ORDER: tuple[MonthState, ...] = (
    MonthState.ON_TIME,
    MonthState.LATE,
    MonthState.OVERDUE,
    MonthState.MISSING,
    MonthState.NOT_DUE_YET,
)
_MONTH = re.compile(r"^\s*(?:(\d{4})\s*[-/.年]\s*)?(\d{1,2})\s*月?\s*$")


def parse_month(text: str, year: int) -> tuple[int, int] | None:
    """(year, month) of `3`, `2025-03`, `2025/3` or `2025年3月`; None if it is none of them."""
    match = _MONTH.match(text)
    if not match:
        return None
    month = int(match.group(2))
    if not 1 <= month <= 12:
        return None
    return (int(match.group(1)) if match.group(1) else year), month


def matrix_rows(statuses: Mapping[int, Sequence[UnitReportStatus]]) -> list[MatrixRow]:
    """One row per unit owing any report of the year (towns first, in registration order),
    a state a month (None where it owes none)."""
    names: dict[int, str] = {}
    states: dict[int, dict[int, str]] = {}
    every = [s for month in range(1, 13) for s in statuses.get(month, [])]
    for status in in_unit_order(every):
        names.setdefault(status.unit_id, status.unit_name)
    for status in every:
        states.setdefault(status.unit_id, {})[status.month] = status.state.value
    return [
        MatrixRow(names[uid], tuple(states[uid].get(m) for m in range(1, 13))) for uid in names
    ]


class MatrixDialog(Dialog):
    """/matrix: a month's reporting states and the year's picture (no state kept)."""

    kind = "matrix"
    cancelled_key = "common.cancelled_nothing"
    command = "matrix"
    roles = frozenset({Role.COORDINATOR, Role.ADMIN})
    takes_files = False  # a workbook sent meanwhile is an upload

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Show the month (given, or the last one due) and the year's picture."""
        deps = turn.context.deps
        now = as_utc(deps.clock.now())
        if args:
            parsed = parse_month(" ".join(args), await current_year(turn))
            if parsed is None:
                await turn.say("coord.matrix_usage")
                return
            year, month = parsed
            plan = await turn.call(current_plan, deps.read_uow(), year)
        else:
            found = await self._last_due(turn, now)
            if found is None:
                return
            year, month, plan = found
        await turn.say("coord.matrix_preparing", year=year, month=month)
        try:
            await turn.context.bot.send_chat_action(turn.who.chat_id, ChatAction.UPLOAD_PHOTO)
        except TelegramError:
            log.debug("chat action not sent")
        statuses = (await turn.call(year_matrix, deps.read_uow(), year)).months
        await send_blocks(
            turn,
            self._month_text(turn, plan, year, month, statuses[month]),
            web_app_buttons(turn, f"/matrix?year={year}"),
        )
        rows = matrix_rows(statuses)
        if rows:
            await self._pictures(turn, year, month, rows)

    async def _last_due(self, turn: Turn, now: datetime) -> tuple[int, int, Plan] | None:
        """The last month whose (plan) deadline has passed: of the assessment year, this
        calendar year or the year before."""
        year = await current_year(turn)
        calendar = local_date(now, turn.context.deps.settings.timezone).year
        plans: dict[int, Plan] = {}
        for candidate in sorted({year, calendar, calendar - 1}, reverse=True):
            try:
                plans[candidate] = await turn.call(
                    current_plan, turn.context.deps.read_uow(), candidate
                )
            except NotFound:
                continue
        found = last_due_month(plans, now)
        if found is not None:
            return found[0], found[1], plans[found[0]]
        if not plans:
            await turn.say("errors.no_plan", year=year)
        else:
            await turn.say("coord.matrix_nothing_due", year=year)
        return None

    def _month_text(
        self,
        turn: Turn,
        plan: Plan,
        year: int,
        month: int,
        statuses: Sequence[UnitReportStatus],
    ) -> list[str]:
        due_day = plan.schedule.monthly_report_due_day
        due = report_due_date(year, month, due_day)
        base_due = report_due_at(year, month, due_day, plan.timezone)
        blocks = [
            turn.t(
                "coord.matrix_header",
                year=year,
                month=month,
                due=due.isoformat(),
                units=len(statuses),
            )
        ]
        if not statuses:
            blocks.append(turn.t("coord.matrix_no_units"))
            return blocks
        for state in STATE_ORDER:
            members = [s for s in in_unit_order(statuses) if s.state is state]
            if not members:
                continue
            units = [
                {
                    "name": s.unit_name,
                    "submitted": (
                        local_date(as_utc(s.first_submitted_at), plan.timezone).isoformat()
                        if s.first_submitted_at is not None
                        else None
                    ),
                    "extended": s.due_at != base_due,
                }
                for s in members
            ]
            blocks.append(
                turn.t("coord.matrix_state", state=state.value, count=len(members), units=units)
            )
        return blocks

    async def _pictures(self, turn: Turn, year: int, month: int, rows: list[MatrixRow]) -> None:
        pages = [rows[i : i + ROWS_PER_PICTURE] for i in range(0, len(rows), ROWS_PER_PICTURE)]
        legend = {
            state: turn.plain("coord.matrix_legend", state=state)
            for state in ("on_time", "late", "overdue", "missing", "not_due_yet")
        }
        labels = [turn.plain("coord.matrix_month_label", month=m) for m in range(1, 13)]
        for number, page in enumerate(pages[:MAX_PICTURES], start=1):
            title = turn.plain(
                "coord.matrix_chart_title", year=year, page=number, pages=len(pages)
            )
            chart = await turn.call(render_matrix, title, page, labels, legend, month)
            await turn.context.bot.send_photo(
                turn.who.chat_id,
                photo=chart.png,
                caption=turn.t("coord.matrix_chart_caption", year=year, month=month),
            )
        if len(pages) > MAX_PICTURES:
            await turn.say(
                "coord.matrix_pictures_cut",
                shown=MAX_PICTURES * ROWS_PER_PICTURE,
                total=len(rows),
            )
