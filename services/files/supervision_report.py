"""The half-year comprehensive supervision report (半年综合督导报告) as a workbook, for print.

Five sheets: a summary with one row per unit (task counts by status, findings by rectification
status, good practices) and totals, then the task progress, the findings with their
rectification, and the good practices, each listed unit by unit with the unit in the first
column (so that a reader can filter one unit), and the year's supervision plan in the half,
planned against done, with each activity's findings. Written atomically (a temporary file
renamed into place). Texts come from the catalogs (coord.supervision_*, and year.* for the
statuses shared with the year's report).
"""

from __future__ import annotations

import contextlib
import secrets
from collections.abc import Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from services.files.report_content import FindingLine, SupervisionReport, SupervisionUnit
from storage.statuses import EntryStatus, FindingStatus
from templates.catalog import normalise_language, render

A4 = 9
HEADER_FILL = "#DDEBF7"
TOTAL_FILL = "#F2F2F2"
# Status fills, as in the year's report: green done, yellow behind, red overdue.
GOOD_FILL = "#C6EFCE"
WARN_FILL = "#FFEB9C"
BAD_FILL = "#FFC7CE"
# Done first: the summary counts tasks from the best state to the worst.
TASK_STATUSES: tuple[EntryStatus, ...] = (
    EntryStatus.DONE,
    EntryStatus.ON_TRACK,
    EntryStatus.BEHIND,
    EntryStatus.NOT_STARTED,
)
TABLE_ROW = 4  # the header row of every sheet's table (title, stamp, note, blank above)


def write_supervision_workbook(
    report: SupervisionReport, path: Path, language: str | None = None
) -> None:
    """Write `report` as a workbook at `path` (all or nothing)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    workbook = xlsxwriter.Workbook(
        str(tmp), {"strings_to_formulas": False, "strings_to_urls": False}
    )
    try:
        _Writer(workbook, report, normalise_language(language)).write()
        workbook.close()
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(Exception):
            workbook.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


class _Writer:
    """The four sheets of the report."""

    def __init__(self, workbook: Workbook, report: SupervisionReport, language: str) -> None:
        self.wb = workbook
        self.r = report
        self.lang = language
        self.zone = ZoneInfo(report.timezone)
        base = {"font_name": "宋体" if language == "zh" else "Calibri", "font_size": 11}
        cell = {**base, "border": 1, "valign": "top"}

        def fmt(**extra: Any) -> Format:
            return workbook.add_format({**base, **extra})

        self.title = fmt(bold=True, font_size=16)
        self.subtitle = fmt(italic=True, font_color="#595959")
        self.note = fmt(italic=True, font_color="#595959")
        self.header = fmt(
            bold=True,
            border=1,
            bg_color=HEADER_FILL,
            text_wrap=True,
            align="center",
            valign="vcenter",
        )
        self.text = fmt(**cell, text_wrap=True)
        self.center = fmt(**cell, align="center")
        self.integer = fmt(**cell, num_format="0", align="center")
        self.total_text = fmt(**cell, bold=True, bg_color=TOTAL_FILL)
        self.total_integer = fmt(**cell, bold=True, bg_color=TOTAL_FILL, num_format="0")
        self.date = fmt(**cell, num_format="yyyy-mm-dd", align="center")
        self.fills = {
            colour: fmt(**cell, text_wrap=True, bg_color=colour)
            for colour in (GOOD_FILL, WARN_FILL, BAD_FILL)
        }

    # Helpers ---------------------------------------------------------------------------------

    def t(self, key: str, **params: Any) -> str:
        """A text of this report."""
        return render(f"coord.supervision_{key}", self.lang, **params)

    def y(self, key: str, **params: Any) -> str:
        """A text shared with the year's report."""
        return render(f"year.{key}", self.lang, **params)

    def local(self, moment: datetime) -> str:
        """A moment in the plan's time zone: YYYY-MM-DD HH:MM."""
        return moment.astimezone(self.zone).strftime("%Y-%m-%d %H:%M")

    def half(self) -> str:
        return self.t(f"half_{self.r.half}")

    def sheet(self, key: str, headers: Sequence[str], widths: Sequence[float]) -> Worksheet:
        """A sheet with the report's title, stamp and the table's header row."""
        ws = self.wb.add_worksheet(self.t(f"sheet_{key}"))
        for c, width in enumerate(widths):
            ws.set_column(c, c, width)
        ws.set_landscape()
        ws.set_paper(A4)
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        ws.set_footer(self.y("page_footer"))
        ws.repeat_rows(TABLE_ROW)
        ws.write_string(0, 0, self.t("title", year=self.r.year, half=self.half()), self.title)
        ws.write_string(
            1,
            0,
            self.t(
                "stamp",
                start=self.r.first_day,
                end=self.r.last_day,
                as_of=self.local(self.r.as_of),
                generated=self.local(self.r.generated_at),
            ),
            self.subtitle,
        )
        ws.write_row(TABLE_ROW, 0, headers, self.header)
        ws.freeze_panes(TABLE_ROW + 1, 1)
        return ws

    def cell(self, ws: Worksheet, row: int, col: int, value: object, fmt: Format) -> None:
        """One cell: text, number, date or nothing (an empty bordered cell)."""
        if value is None or value == "":
            ws.write_blank(row, col, None, fmt)
        elif isinstance(value, date):
            ws.write_datetime(row, col, datetime(value.year, value.month, value.day), self.date)
        elif isinstance(value, int | float):
            ws.write_number(row, col, value, fmt)
        else:
            ws.write_string(row, col, str(value), fmt)

    def rows(
        self,
        ws: Worksheet,
        columns: int,
        lines: Sequence[tuple[Sequence[object], Format | None]],
        status_col: int = 0,
    ) -> None:
        """The table's rows below its header (a row's format colours its status column)."""
        if not lines:
            ws.merge_range(TABLE_ROW + 1, 0, TABLE_ROW + 1, columns - 1, self.t("none"), self.text)
            return
        for r, (values, status_fmt) in enumerate(lines, start=TABLE_ROW + 1):
            for c, value in enumerate(values):
                self.cell(ws, r, c, value, self.text)
            if status_fmt is not None:
                self.cell(ws, r, status_col, values[status_col], status_fmt)
        ws.autofilter(TABLE_ROW, 0, TABLE_ROW + len(lines), columns - 1)

    # Sheets ----------------------------------------------------------------------------------

    def write(self) -> None:
        self.summary()
        self.tasks()
        self.findings()
        self.practices()
        self.activities()

    def activities(self) -> None:
        """The supervision plan's activities of the half: planned against done, and the
        findings each gave."""
        keys = ("planned_on", "kind", "focus", "units", "activity_status", "activity_findings")
        ws = self.sheet("activities", [self.t(f"col_{k}") for k in keys], [12, 12, 36, 24, 16, 50])
        done = sum(1 for a in self.r.activities if a.done_on is not None)
        ws.write_string(
            2, 0, self.t("activities_note", planned=len(self.r.activities), done=done), self.note
        )
        today = self.r.as_of.astimezone(self.zone).date()
        lines: list[tuple[Sequence[object], Format | None]] = []
        for a in self.r.activities:
            if a.done_on is not None:
                status, fill = self.t("activity_done", day=a.done_on.isoformat()), GOOD_FILL
            elif a.planned_on < today:
                status, fill = self.t("activity_missed"), BAD_FILL
            else:
                status, fill = self.t("activity_planned"), WARN_FILL
            findings = "\n".join(
                self.t(
                    "activity_finding",
                    unit=unit,
                    description=description,
                    status=self.y(f"finding_status_{finding_status}"),
                )
                for unit, description, finding_status in a.findings
            )
            lines.append(
                (
                    [
                        a.planned_on,
                        render(f"supervision.kind_{a.kind}", self.lang),
                        a.focus,
                        "、".join(a.units) if a.units else self.t("all_units"),
                        status,
                        findings,
                    ],
                    self.fills.get(fill),
                )
            )
        self.rows(ws, len(keys), lines, keys.index("activity_status"))

    def summary(self) -> None:
        keys = (
            "unit",
            "group",
            "tasks",
            "done",
            "on_track",
            "behind",
            "not_started",
            "no_report",
            "findings",
            "accepted",
            "pending",
            "open",
            "overdue",
            "practices",
        )
        ws = self.sheet(
            "summary", [self.t(f"col_{k}") for k in keys], [24, 14, *([9] * (len(keys) - 2))]
        )
        ws.write_string(2, 0, self.t("summary_note"), self.note)
        totals = [0] * (len(keys) - 2)
        r = TABLE_ROW
        for r, unit in enumerate(self.r.units, start=TABLE_ROW + 1):
            counts = summary_counts(unit)
            ws.write_string(r, 0, unit.name, self.text)
            ws.write_string(r, 1, self.y(f"group_{unit.group}"), self.center)
            for c, n in enumerate(counts, start=2):
                ws.write_number(r, c, n, self.integer)
                totals[c - 2] += n
        r += 1
        ws.write_string(r, 0, self.t("col_total"), self.total_text)
        ws.write_blank(r, 1, None, self.total_text)
        for c, n in enumerate(totals, start=2):
            ws.write_number(r, c, n, self.total_integer)

    def tasks(self) -> None:
        keys = (
            "unit",
            "task_code",
            "task_title",
            "work_item",
            "target",
            "due_date",
            "month",
            "status",
            "figure",
            "note",
        )
        ws = self.sheet(
            "tasks", [self.t(f"col_{k}") for k in keys], [20, 10, 36, 12, 24, 12, 12, 12, 16, 30]
        )
        today = self.r.as_of.astimezone(self.zone).date()
        lines: list[tuple[Sequence[object], Format | None]] = []
        for unit in self.r.units:
            for task in unit.tasks:
                status = (
                    self.y(f"task_status_{task.status}") if task.status else self.t("no_progress")
                )
                lines.append(
                    (
                        [
                            unit.name,
                            task.code,
                            task.title,
                            task.work_item,
                            task.target,
                            task.due_date,
                            self.t("month", month=task.month) if task.month else "",
                            status,
                            task.figure,
                            task.note,
                        ],
                        self.fills.get(_task_fill(task.status, task.due_date, today)),
                    )
                )
        self.rows(ws, len(keys), lines, keys.index("status"))

    def findings(self) -> None:
        keys = (
            "unit",
            "number",
            "found_on",
            "source",
            "description",
            "deadline",
            "finding_status",
            "rectification",
        )
        ws = self.sheet(
            "findings", [self.t(f"col_{k}") for k in keys], [20, 8, 12, 12, 40, 12, 14, 40]
        )
        lines: list[tuple[Sequence[object], Format | None]] = []
        for unit in self.r.units:
            for finding in unit.findings:
                lines.append(
                    (
                        [
                            unit.name,
                            f"#{finding.id}",
                            finding.found_on,
                            self.y(f"source_{finding.source}"),
                            finding.description,
                            finding.deadline,
                            self.y(f"finding_status_{finding.status}"),
                            self.rectification(finding),
                        ],
                        self.fills.get(_FINDING_FILLS.get(finding.status, "")),
                    )
                )
        self.rows(ws, len(keys), lines, keys.index("finding_status"))

    def rectification(self, finding: FindingLine) -> str:
        """A finding's rectification in a few words: how many submissions, the last decision."""
        if not finding.rectifications:
            return self.y("no_rectification")
        last = finding.rectifications[-1]
        return self.y(
            "rectification_summary",
            count=len(finding.rectifications),
            decision=self.y(f"decision_{last.decision or 'pending'}"),
            reason=last.reason or "",
        )

    def practices(self) -> None:
        keys = ("unit", "practice_title", "practice_description", "recorded_on")
        ws = self.sheet("practices", [self.t(f"col_{k}") for k in keys], [20, 30, 60, 12])
        lines: list[tuple[Sequence[object], Format | None]] = [
            (
                [
                    unit.name,
                    practice.title,
                    practice.description,
                    practice.recorded_at.astimezone(self.zone).date(),
                ],
                None,
            )
            for unit in self.r.units
            for practice in unit.practices
        ]
        self.rows(ws, len(keys), lines)


_FINDING_FILLS: dict[str, str] = {
    FindingStatus.ACCEPTED: GOOD_FILL,
    FindingStatus.SUBMITTED: WARN_FILL,
    FindingStatus.RETURNED: WARN_FILL,
    FindingStatus.OVERDUE: BAD_FILL,
}


def _task_fill(status: str | None, due: date | None, today: date) -> str:
    """Green for done, red for a task past its due day and not done, yellow for behind."""
    if status == EntryStatus.DONE:
        return GOOD_FILL
    if due is not None and due < today:
        return BAD_FILL
    return WARN_FILL if status == EntryStatus.BEHIND else ""


def summary_counts(unit: SupervisionUnit) -> list[int]:
    """A unit's summary row: tasks (all, then by status, then without progress), findings (all,
    accepted, awaiting review, open or returned, overdue) and good practices."""

    def tasks(status: str | None) -> int:
        return sum(1 for t in unit.tasks if t.status == status)

    def findings(*statuses: str) -> int:
        return sum(1 for f in unit.findings if f.status in statuses)

    return [
        len(unit.tasks),
        *(tasks(s) for s in TASK_STATUSES),
        tasks(None),
        len(unit.findings),
        findings(FindingStatus.ACCEPTED),
        findings(FindingStatus.SUBMITTED),
        findings(FindingStatus.OPEN, FindingStatus.RETURNED),
        findings(FindingStatus.OVERDUE),
        len(unit.practices),
    ]
