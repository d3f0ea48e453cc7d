"""One unit's assessment report (考核评价报告) as a workbook, for print: its result and rank,
every indicator and work item explained, its bonus, tasks, monthly reports, findings and
rectifications. Written atomically (a temporary file renamed into place).
"""

from __future__ import annotations

import contextlib
import math
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

from scoring.calendar import deadline_day
from scoring.plan import GRADE_LABELS, Grade, Group
from services.files.report_content import UnitDossier
from templates.catalog import render

A4 = 9
HEADER_FILL = "#DDEBF7"
TITLE_FILL = "#F2F2F2"


def write_unit_workbook(dossier: UnitDossier, path: Path, language: str) -> None:
    """Write `dossier` as a workbook at `path` (all or nothing)."""
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(6)}.tmp")
    workbook = xlsxwriter.Workbook(
        str(tmp), {"strings_to_formulas": False, "strings_to_urls": False}
    )
    try:
        _UnitReport(workbook, dossier, language).write()
        workbook.close()
        tmp.replace(path)
    except BaseException:
        with contextlib.suppress(Exception):
            workbook.close()
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise


class _UnitReport:
    """The sheets of one unit's report, each a title, a note and one or more tables."""

    def __init__(self, workbook: Workbook, dossier: UnitDossier, language: str) -> None:
        self.wb = workbook
        self.d = dossier
        self.lang = language
        self.zone = ZoneInfo(dossier.plan.timezone)
        base = {"font_name": "宋体" if language == "zh" else "Calibri", "font_size": 11}
        cell = {**base, "border": 1, "valign": "top"}

        def fmt(**extra: Any) -> Format:
            return workbook.add_format({**base, **extra})

        self.title = fmt(bold=True, font_size=16)
        self.subtitle = fmt(italic=True, font_color="#595959")
        self.section = fmt(bold=True, font_size=12, bottom=2)
        self.header = fmt(
            bold=True,
            border=1,
            bg_color=HEADER_FILL,
            text_wrap=True,
            align="center",
            valign="vcenter",
        )
        self.label = fmt(**{**cell, "bold": True, "bg_color": TITLE_FILL})
        self.text = fmt(**cell, text_wrap=True)
        self.center = fmt(**cell, align="center")
        self.number = fmt(**cell, num_format="0.00")
        self.ratio = fmt(**cell, num_format="0.0000")
        self.integer = fmt(**cell, num_format="0")
        self.percent = fmt(**cell, num_format="0.00%")
        self.date = fmt(**cell, num_format="yyyy-mm-dd", align="center")
        self.datetime = fmt(**cell, num_format="yyyy-mm-dd hh:mm", align="center")
        self.empty = fmt(**cell, bg_color="#EDEDED")
        self.note = fmt(**base, italic=True, text_wrap=True, valign="top")
        # Overdue and behind-schedule statuses show red, as in /tasks and /matrix.
        self.alert = workbook.add_format({"bg_color": "#FFC7CE", "font_color": "#9C0006"})

    # Helpers ---------------------------------------------------------------------------------

    def t(self, key: str, **params: Any) -> str:
        return render(f"year.{key}", self.lang, **params)

    def local(self, moment: datetime | None) -> datetime | None:
        """A moment as a naive local time of the plan's zone (Excel has no time zones)."""
        if moment is None:
            return None
        return moment.astimezone(self.zone).replace(tzinfo=None)

    def due_day(self, due_at: datetime) -> date:
        """The last day on time: a deadline is stored as the first instant after it."""
        return deadline_day(due_at, self.zone.key)

    def sheet(self, key: str, widths: Sequence[float]) -> Worksheet:
        ws = self.wb.add_worksheet(self.t(key))
        for c, width in enumerate(widths):
            ws.set_column(c, c, width)
        ws.set_landscape()
        ws.set_paper(A4)
        ws.fit_to_pages(1, 0)
        ws.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
        ws.set_footer(self.t("page_footer"))
        ws.write_string(0, 0, self.heading(), self.title)
        ws.write_string(1, 0, self.stamp(), self.subtitle)
        return ws

    def heading(self) -> str:
        result = self.d.explanation.result
        return self.t("ur_title", year=self.d.plan.year, unit=result.name)

    def stamp(self) -> str:
        as_of = self.local(self.d.as_of)
        return self.t(
            "ur_stamp",
            as_of=as_of.strftime("%Y-%m-%d %H:%M") if as_of else "",
            generated=self.local(self.d.generated_at).strftime("%Y-%m-%d %H:%M"),  # type: ignore[union-attr]
        )

    def cell(
        self, ws: Worksheet, r: int, c: int, value: object, fmt: Format | None = None
    ) -> None:
        """Write one cell by its type: None and NaN leave a grey empty cell."""
        if value is None or (isinstance(value, float) and math.isnan(value)):
            ws.write_blank(r, c, None, self.empty)
        elif isinstance(value, bool):
            ws.write_string(
                r, c, self.t("answer_yes" if value else "answer_no"), fmt or self.center
            )
        elif isinstance(value, int):
            ws.write_number(r, c, value, fmt or self.integer)
        elif isinstance(value, float):
            ws.write_number(r, c, value, fmt or self.number)
        elif isinstance(value, datetime):
            ws.write_datetime(r, c, self.local(value), fmt or self.datetime)
        elif isinstance(value, date):
            ws.write_datetime(r, c, value, fmt or self.date)
        else:
            ws.write_string(r, c, str(value), fmt or self.text)

    def table(
        self,
        ws: Worksheet,
        r: int,
        headers: Sequence[str],
        rows: Sequence[Sequence[object]],
        formats: Sequence[Format | None] | None = None,
        title: str | None = None,
    ) -> int:
        """A titled table from row `r`; returns the first free row after it (one blank)."""
        if title:
            ws.write_string(r, 0, title, self.section)
            r += 1
        ws.write_row(r, 0, list(headers), self.header)
        r += 1
        if not rows:
            ws.merge_range(r, 0, r, len(headers) - 1, self.t("ur_none"), self.text)
            return r + 2
        first = r
        for cells in rows:
            for c, value in enumerate(cells):
                fmt = formats[c] if formats and c < len(formats) else None
                self.cell(ws, r, c, value, fmt)
            r += 1
        for alert in (self.t("finding_status_overdue"), self.t("task_status_behind")):
            ws.conditional_format(
                first,
                0,
                r - 1,
                len(headers) - 1,
                {"type": "text", "criteria": "containing", "value": alert, "format": self.alert},
            )
        return r + 1

    def flags(self, flags: Sequence[str]) -> str:
        return self.t("flag_separator").join(self.t(f"flag_{f}") for f in flags)

    # Sheets ----------------------------------------------------------------------------------

    def write(self) -> None:
        self.summary()
        if self.d.explanation.result.group is Group.TOWN:
            self.development()
        self.work()
        self.bonus()
        self.tasks()
        self.months()
        self.findings()

    def summary(self) -> None:
        e = self.d.explanation
        r = e.result
        ws = self.sheet("ur_sheet_summary", [22, 16, 16, 50])
        group = self.t(f"group_{r.group.value}")
        facts: list[tuple[str, object, Format | None]] = [
            (self.t("ur_unit"), r.name, None),
            (self.t("ur_code"), r.code, None),
            (self.t("ur_group"), group, None),
            (
                self.t("ur_rank"),
                self.t("ur_rank_of", rank=r.rank, size=e.group_size, group=group),
                None,
            ),
            (self.t("ur_tier"), r.tier, None),
            (self.t("ur_total"), r.total, self.number),
            (self.t("ur_max"), e.max_without_bonus, self.number),
            (self.t("ur_share"), r.share, self.percent),
            (self.t("ur_flags"), self.flags(r.flags) or "—", None),
        ]
        row = 3
        for label, value, fmt in facts:
            ws.write_string(row, 0, label, self.label)
            ws.merge_range(row, 1, row, 3, "", self.text)
            self.cell(ws, row, 1, value, fmt)
            row += 1
        row += 1
        blocks: list[list[object]] = []
        plan = self.d.plan
        if r.group is Group.TOWN:
            blocks.append(
                [
                    self.t("ur_block_development"),
                    plan.development.points,
                    r.development,
                    self.t("ur_block_development_note"),
                ]
            )
        for item in e.items:
            note = (
                self.t("ur_block_item_note", coef=item.coef, deducted=item.deducted)
                if item.coef is not None
                else self.t("flag_no_grade")
            )
            blocks.append([item.name, item.weight, item.points, note])
        blocks.append(
            [
                self.t("ur_block_bonus"),
                plan.bonus.cap,
                r.bonus,
                self.t(
                    "ur_block_bonus_note",
                    count=len(e.bonus.approved),
                    each=plan.bonus.points_per_item,
                    cap=plan.bonus.cap,
                ),
            ]
        )
        blocks.append(
            [
                self.t("ur_block_total"),
                e.max_without_bonus,
                r.total,
                self.t("ur_block_deductions", deductions=r.deductions),
            ]
        )
        headers = [self.t(f"ur_col_{c}") for c in ("block", "full", "score", "note")]
        self.table(
            ws,
            row,
            headers,
            blocks,
            [None, self.number, self.number, None],
            self.t("ur_section_blocks"),
        )

    def development(self) -> None:
        e = self.d.explanation
        ws = self.sheet("ur_sheet_development", [14, 24, 10, 10, 8, 12, 12, 12, 10, 10, 18])
        categories = {c.code: c.name for c in self.d.plan.development.categories}
        rows = [
            [
                categories.get(i.category, i.category),
                i.name,
                i.measure,
                self.t(f"direction_{i.direction.value}"),
                i.weight,
                i.value,
                i.best,
                i.worst,
                i.ratio,
                i.points,
                self.flags(i.flags),
            ]
            for i in e.indicators
        ]
        headers = [
            self.t(f"ur_col_{c}")
            for c in (
                "category",
                "indicator",
                "measure",
                "direction",
                "weight",
                "value",
                "best",
                "worst",
                "ratio",
                "points",
                "note",
            )
        ]
        formats = [
            None,
            None,
            None,
            self.center,
            self.number,
            self.number,
            self.number,
            self.number,
            self.ratio,
            self.number,
            None,
        ]
        r = self.table(ws, 3, headers, rows, formats, self.t("ur_section_development"))
        total = sum(i.points for i in e.indicators)
        ws.write_string(r - 1, 8, self.t("ur_total_label"), self.label)
        ws.write_number(r - 1, 9, total, self.number)
        ws.merge_range(
            r + 1,
            0,
            r + 2,
            10,
            self.t("ur_efficacy_note", base=self.d.plan.development.base_share),
            self.note,
        )
        ws.freeze_panes(5, 2)

    def work(self) -> None:
        e = self.d.explanation
        ws = self.sheet("ur_sheet_work", [14, 10, 18, 12, 12, 12, 12, 12, 12, 20])
        rows = [
            [
                i.name,
                i.weight,
                i.daily,
                i.year_end,
                i.daily_weight,
                i.coef,
                i.raw_points,
                i.deducted,
                i.points,
                self.flags(i.flags),
            ]
            for i in e.items
        ]
        headers = [
            self.t(f"ur_col_{c}")
            for c in (
                "item",
                "weight",
                "daily",
                "year_end",
                "daily_weight",
                "coef",
                "raw",
                "deducted",
                "points",
                "note",
            )
        ]
        formats = [
            None,
            self.number,
            self.ratio,
            self.ratio,
            self.number,
            self.ratio,
            self.number,
            self.number,
            self.number,
            None,
        ]
        r = self.table(ws, 3, headers, rows, formats, self.t("ur_section_items"))
        ws.merge_range(
            r - 1,
            0,
            r,
            9,
            self.t(
                "ur_grades_note",
                weight=self.d.plan.work.daily_weight,
                trim=self.d.plan.work.trim_above,
            ),
            self.note,
        )
        r += 2
        grades = [
            [
                i.name,
                self.period(g.period),
                g.rater,
                GRADE_LABELS[Grade(g.grade)],
                g.coefficient,
                g.dropped,
            ]
            for i in e.items
            for g in i.grades
        ]
        headers = [
            self.t(f"ur_col_{c}")
            for c in ("item", "period", "rater", "grade", "coefficient", "dropped")
        ]
        r = self.table(
            ws,
            r,
            headers,
            grades,
            [None, self.center, None, self.center, self.number, None],
            self.t("ur_section_grades"),
        )
        means = [
            [i.name, self.period(p.period), p.raters, p.mean, p.trimmed]
            for i in e.items
            for p in i.periods
        ]
        headers = [self.t(f"ur_col_{c}") for c in ("item", "period", "raters", "mean", "trimmed")]
        r = self.table(
            ws,
            r,
            headers,
            means,
            [None, self.center, self.integer, self.ratio],
            self.t("ur_section_means"),
        )
        deductions = [
            [i.name, self.t(f"event_{d.event.value}"), d.count, d.points_each, d.total]
            for i in e.items
            for d in i.deductions
        ]
        headers = [self.t(f"ur_col_{c}") for c in ("item", "event", "count", "each", "total")]
        r = self.table(
            ws,
            r,
            headers,
            deductions,
            [None, None, self.integer, self.number, self.number],
            self.t("ur_section_deductions"),
        )
        r = self.year_end_sources(ws, r)
        self.rectification(ws, r)

    def year_end_sources(self, ws: Worksheet, r: int) -> int:
        """How each item's year-end coefficient was made, source by source (scoring.md §2b)."""
        rows = []
        for i in self.d.explanation.items:
            for s in i.sources:
                note = ""
                if s.coefficient is None:
                    note = self.t("ur_source_no_data")
                elif i.peer is not None and s.source.value == "peer":
                    note = self.t("ur_source_votes", votes=i.peer.votes, trimmed=i.peer.trimmed)
                rows.append(
                    [i.name, self.t(f"source_{s.source.value}"), s.weight, s.coefficient, note]
                )
        headers = [
            self.t(f"ur_col_{c}")
            for c in ("item", "year_end_source", "weight_source", "year_end_coef", "year_end_note")
        ]
        return self.table(
            ws,
            r,
            headers,
            rows,
            [None, None, self.number, self.ratio, None],
            self.t("ur_section_sources"),
        )

    def rectification(self, ws: Worksheet, r: int) -> int:
        """The rectification evaluation: findings due, rectified on time, the ratio, the grade
        and coefficient it gave, and whether the plan counts it."""
        rect = self.d.explanation.rectification
        if rect is None:
            return r
        if rect.ratio is None:
            note = self.t("ur_rectification_nothing_due")
        elif rect.weight > 0:
            note = self.t("ur_rectification_counted", weight=rect.weight)
        else:
            note = self.t("ur_rectification_not_counted")
        row = [
            rect.due,
            rect.on_time,
            rect.ratio,
            GRADE_LABELS[rect.grade] if rect.grade is not None else None,
            rect.coefficient,
            note,
        ]
        headers = [
            self.t(f"ur_col_{c}")
            for c in ("due", "on_time", "rect_ratio", "rect_grade", "coefficient", "note")
        ]
        return self.table(
            ws,
            r,
            headers,
            [row],
            [self.integer, self.integer, self.percent, self.center, self.ratio, None],
            self.t("ur_section_rectification"),
        )

    def period(self, period: str) -> str:
        return self.t(f"period_{period}")

    def bonus(self) -> None:
        b = self.d.explanation.bonus
        ws = self.sheet("ur_sheet_bonus", [50, 12])
        rows: list[list[object]] = [[title, True] for title in b.approved]
        rows += [[title, False] for title in b.not_approved]
        headers = [self.t("ur_col_bonus_title"), self.t("ur_col_approved")]
        r = self.table(ws, 3, headers, rows, None, self.t("ur_section_bonus"))
        note = self.t(
            "ur_bonus_note", each=b.points_per_item, cap=b.cap, points=b.points, capped=b.capped
        )
        ws.merge_range(r, 0, r + 1, 1, note, self.note)

    def tasks(self) -> None:
        ws = self.sheet("ur_sheet_tasks", [10, 36, 22, 22, 12, 12, 10, 12, 14, 10, 30])
        rows = [
            [
                task.code,
                task.title,
                task.source_document,
                task.target,
                task.due_date,
                task.work_item,
                self.t("ur_month", month=task.month) if task.month else None,
                self.t(f"task_status_{task.status}") if task.status else self.t("no_progress"),
                task.figure,
                task.files if task.status else None,
                task.note,
            ]
            for task in self.d.records.tasks
        ]
        headers = [
            self.t(f"ur_col_{c}")
            for c in (
                "task_code",
                "task_title",
                "source_document",
                "target",
                "due_date",
                "item",
                "latest_month",
                "status",
                "figure",
                "task_files",
                "task_note",
            )
        ]
        self.table(ws, 3, headers, rows, None, self.t("ur_section_tasks"))
        ws.freeze_panes(5, 2)

    def months(self) -> None:
        ws = self.sheet("ur_sheet_months", [10, 14, 20, 20])
        rows = [
            [
                self.t("ur_month", month=m.month),
                self.t(f"month_{m.state}"),
                self.due_day(m.due_at),
                m.submitted_at,
            ]
            for m in self.d.records.months
        ]
        headers = [self.t(f"ur_col_{c}") for c in ("month", "state", "due_at", "submitted_at")]
        r = self.table(ws, 3, headers, rows, [None, self.center], self.t("ur_section_months"))
        ws.merge_range(
            r,
            0,
            r + 1,
            3,
            self.t("ur_months_note", false_reports=self.d.records.false_reports),
            self.note,
        )

    def findings(self) -> None:
        ws = self.sheet("ur_sheet_findings", [8, 36, 14, 12, 12, 12, 18, 10, 10, 30])
        rows: list[list[object]] = []
        for f in self.d.records.findings:
            first = [
                f"#{f.id}",
                f.description,
                self.t(f"source_{f.source}"),
                f.found_on,
                f.deadline,
                self.t(f"finding_status_{f.status}"),
            ]
            if not f.rectifications:
                rows.append([*first, None, None, self.t("no_rectification"), None])
            for k, rect in enumerate(f.rectifications):
                lead: list[object] = first if k == 0 else ["", "", "", None, None, ""]
                rows.append(
                    [
                        *lead,
                        rect.submitted_at,
                        rect.on_time,
                        self.t(f"decision_{rect.decision or 'pending'}"),
                        rect.reason or "",
                    ]
                )
        headers = [
            self.t(f"ur_col_{c}")
            for c in (
                "number",
                "finding",
                "source",
                "found_on",
                "deadline",
                "status",
                "rect_submitted",
                "rect_on_time",
                "decision",
                "reason",
            )
        ]
        self.table(ws, 3, headers, rows, None, self.t("ur_section_findings"))
        ws.freeze_panes(5, 2)
