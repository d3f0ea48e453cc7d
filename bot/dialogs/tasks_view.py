"""/tasks: the unit's target tasks of the year with a traffic light, and its open findings.

The plan year is the year of today's date in the configured time zone, or the year given
(`/tasks 2024`; anything else is refused with the usage); the lights use the
plan's time zone: ✅ done (the status in the unit's latest report), 🔴 overdue (not done and its
due day has passed), 🟡 due within 3 days, 🟢 on track (or no due date). The month reports
follow: the months reported on time or late, or missing, in short, and each month still open
(overdue first, then the one not yet due) with its deadline. Findings not yet
accepted are listed with their rectification deadline, an effectively overdue one in red.
Long lists are split into several messages under Telegram's 4,096-character limit.

A stateless view: it answers at once, so it has only `begin` and no step table.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any

from bot.dialogs.engine import Dialog, Turn
from bot.dialogs.helpers import excerpt, shorten
from bot.message_split import split_messages
from scoring.calendar import MonthState, local_date, report_window
from services.access import Role
from services.errors import NotFound
from services.findings import OVERDUE, SUBMITTED, FindingView, open_findings
from services.plans import current_plan
from services.reports import (
    ReportVersionView,
    UnitMonth,
    last_report,
    report_history,
    unit_months,
)
from services.tasks import TaskView, tasks_of_unit
from storage.clock import as_utc

# `/tasks 2024` or `/tasks 2024年`.
_YEAR = re.compile(r"^\s*(\d{4})\s*年?\s*$")
# A due date this many days away (or fewer) shows yellow.
SOON_DAYS = 3


def task_light(due: date | None, done: bool, today: date) -> str:
    """The light of a task: done, overdue, soon (within 3 days) or on_track."""
    if done:
        return "done"
    if due is None:
        return "on_track"
    if today > due:
        return "overdue"
    if (due - today).days <= SOON_DAYS:
        return "soon"
    return "on_track"


def finding_light(finding: FindingView, today: date, effective: str) -> str:
    """The light of a finding: overdue, submitted (waiting for review), soon or on_track."""
    if effective == OVERDUE:
        return "overdue"
    if effective == SUBMITTED:
        return "submitted"
    if (finding.deadline - today).days <= SOON_DAYS:
        return "soon"
    return "on_track"


async def latest_report(
    turn: Turn, unit_id: int, year: int, month: int
) -> ReportVersionView | None:
    """The unit's newest report version of `year` up to and including `month`."""
    actor = turn.who.actor
    read = turn.context.deps.read_uow
    versions = await turn.call(report_history, read(), actor, unit_id, year, month)
    if versions:
        latest: ReportVersionView = versions[-1]
        return latest
    earlier: ReportVersionView | None = await turn.call(
        last_report, read(), actor, unit_id, year, month
    )
    return earlier


class TasksDialog(Dialog):
    """/tasks: shows the lists and is done (no state; a draft in progress is left alone)."""

    kind = "tasks"
    cancelled_key = "common.cancelled_nothing"
    command = "tasks"
    roles = frozenset({Role.LIAISON})

    async def begin(self, turn: Turn, args: Sequence[str]) -> None:
        """Show the tasks and findings of the person's unit, of this year or the year given."""
        deps = turn.context.deps
        actor = turn.who.actor
        unit_id = turn.who.unit_id
        now = as_utc(deps.clock.now())
        this_year = local_date(now, deps.settings.timezone).year
        year = this_year
        if args:
            match = _YEAR.match(" ".join(args))
            if match is None:
                await turn.say("tasksview.usage", given=excerpt(" ".join(args), 40))
                return
            year = int(match.group(1))
        try:
            plan = await turn.call(current_plan, deps.read_uow(), year)
        except NotFound:
            await turn.say("tasksview.no_plan", year=year)
            return
        today = local_date(now, plan.timezone)
        # A refusal of these (ServiceError) is said by the engine (Dialog.refused).
        tasks = await turn.call(tasks_of_unit, deps.read_uow(), actor, unit_id, year)
        # The newest report of the year shown: of this month, or of any month of another.
        month = today.month if year == today.year else 12
        report = await latest_report(turn, unit_id, year, month)
        months = await turn.call(unit_months, deps.read_uow(), actor, unit_id, year)
        findings = await turn.call(open_findings, deps.read_uow(), actor, unit_id)
        unit = turn.who.unit_name or ""
        blocks = [turn.t("tasksview.header", unit=unit, year=year, today=today)]
        blocks.extend(self._task_blocks(turn, tasks, report, today))
        if tasks:
            blocks.extend(["", self._months_block(turn, months, year, today)])
        blocks.extend(["", turn.t("tasksview.findings_header", count=len(findings))])
        blocks.extend(self._finding_blocks(turn, findings, today, now))
        blocks.extend(["", turn.t("tasksview.footer")])
        for text in split_messages(blocks):
            await turn.send(text)

    def _task_blocks(
        self,
        turn: Turn,
        tasks: Sequence[TaskView],
        report: ReportVersionView | None,
        today: date,
    ) -> list[str]:
        if not tasks:
            return [turn.t("tasksview.no_tasks")]
        statuses = {e.task_id: e for e in report.entries} if report is not None else {}
        blocks = []
        for task in tasks:
            entry = statuses.get(task.id)
            light = task_light(task.due_date, entry is not None and entry.status == "done", today)
            blocks.append(
                turn.t(
                    "tasksview.task",
                    light=light,
                    code=task.code,
                    title=shorten(task.title),
                    due=task.due_date,
                    days=(task.due_date - today).days if task.due_date else None,
                    status=entry.status if entry is not None else None,
                    figure=shorten(entry.figure, 40) if entry is not None else "",
                    month=report.month if report is not None else None,
                )
            )
        return blocks

    def _months_block(
        self, turn: Turn, months: Sequence[UnitMonth], year: int, today: date
    ) -> str:
        """The state of the unit's month reports: settled months in short, open ones each; an
        overdue month /report no longer offers (only this month and the last) is said so."""
        reportable = set(report_window(today))

        def numbers(state: MonthState) -> list[int]:
            return [m.month for m in months if m.state is state]

        def open_months(state: MonthState, *, can_report: bool = True) -> list[dict[str, Any]]:
            return [
                {"month": m.month, "due": m.due_on}
                for m in months
                if m.state is state and ((year, m.month) in reportable) is can_report
            ]

        return turn.t(
            "tasksview.months",
            on_time=numbers(MonthState.ON_TIME),
            late=numbers(MonthState.LATE),
            missing=numbers(MonthState.MISSING),
            overdue=open_months(MonthState.OVERDUE),
            too_late=open_months(MonthState.OVERDUE, can_report=False),
            pending=open_months(MonthState.NOT_DUE_YET),
        )

    def _finding_blocks(
        self, turn: Turn, findings: Sequence[FindingView], today: date, now: datetime
    ) -> list[str]:
        if not findings:
            return [turn.t("tasksview.no_findings")]
        blocks = []
        for finding in findings:
            effective = finding.effective_status(now)
            blocks.append(
                turn.t(
                    "tasksview.finding",
                    light=finding_light(finding, today, effective),
                    status=effective,
                    number=finding.id,
                    description=shorten(finding.description),
                    deadline=finding.deadline,
                    days=(finding.deadline - today).days,
                )
            )
        return blocks
