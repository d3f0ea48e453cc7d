"""The tasks workbook (目标任务清单): read it all or nothing, and write its empty template.

Format (sheet `tasks`, or 任务 / 目标任务 / 任务清单 / 目标任务清单; header in the first non-empty
row, English or Chinese headers, any column order; every column must be present):

    unit             unit code or name (as in the units list)                    required
    code             the task's code, unique per unit (such as T01)             required
    title            what is to be done                                        required
    source_document  where the task comes from (实施方案, 行动计划 …)             may be empty
    target           the quantified target (such as 投资 5 亿元)                 may be empty
    due_date         an Excel date or YYYY-MM-DD text (also 2025/6/30, 2025年6月30日)  may be empty
    work_item        code or name of a work item of the plan (重点工作 …)         required

The workbook is opened, its header found and its rows walked by `services.files.reader`'s
machinery, so that every file problem (not a workbook, missing sheet, formula errors …) reads the
same in every import. Codes are compared case- and width-insensitively for duplicates.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import xlsxwriter
from xlsxwriter.workbook import Workbook

from scoring import Plan, Unit
from services.files.atomic import write_workbook_atomically
from services.files.reader import (
    COLUMN_ALIASES,
    SHEET_NAMES,
    ProblemList,
    SheetRow,
    UnitIndex,
    column_letter,
    data_rows,
    map_columns,
    norm,
    open_table,
    unit_of,
)
from services.files.safety import read_guarded
from templates import render
from templates.catalog import normalise_language

# Column widths of the tasks table; longer text is refused rather than cut.
MAX_CODE = 64
MAX_TEXT = 500


@dataclass(frozen=True)
class TaskInput:
    """One task as read from a tasks workbook: `unit` and `work_item` are codes."""

    unit: str
    code: str
    title: str
    source_document: str = ""
    target: str = ""
    due_date: dt.date | None = None
    work_item: str = ""


KIND = "tasks"
SHEET = "tasks"
TASK_SHEET_NAMES = SHEET_NAMES[KIND]
TASK_COLUMNS = COLUMN_ALIASES[KIND]
_LIMITS = {
    "code": MAX_CODE,
    "title": MAX_TEXT,
    "source_document": MAX_TEXT,
    "target": MAX_TEXT,
}

_DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")


def read_tasks(
    path: Path, plan: Plan, unit_keys: Sequence[Unit], *, source: str | None = None
) -> list[TaskInput]:
    """The tasks of a `tasks` workbook, units and work items as codes; raise `InputError`
    with every problem (nothing is returned from a file with any problem). The file is checked
    first and parsed in a child process with limits (services.files.safety)."""
    name = source if source is not None else str(path)
    return read_guarded(path, name, _read_tasks, path, plan, unit_keys, source=name)


def _read_tasks(
    path: Path, plan: Plan, unit_keys: Sequence[Unit], *, source: str | None = None
) -> list[TaskInput]:
    """The work of `read_tasks`, in the child process."""
    problems = ProblemList(source if source is not None else str(path))
    table = open_table(path, KIND, problems)
    columns, _ = map_columns(table, KIND, problems)
    problems.raise_if_any()
    units = UnitIndex(unit_keys)
    items = {norm(key): item.code for item in plan.work.items for key in (item.code, item.name)}
    item_choices = [i.name for i in plan.work.items] + [i.code for i in plan.work.items]
    seen: dict[tuple[str, str], int] = {}
    tasks: list[TaskInput] = []
    count = 0
    for row in data_rows(table, columns, problems):
        count += 1
        unit = unit_of(row, units)
        code = _required(row, "code")
        title = _required(row, "title")
        source_document = row.text("source_document", required=False)
        target = row.text("target", required=False)
        for name, value in (
            ("code", code),
            ("title", title),
            ("source_document", source_document),
            ("target", target),
        ):
            if len(value) > _LIMITS[name]:
                row.report(
                    "task_text_too_long", name, field=name, limit=_LIMITS[name], length=len(value)
                )
        due = _due_date(row)
        work_item = None
        item_text = _required(row, "work_item")
        if item_text:
            work_item = items.get(norm(item_text))
            if work_item is None:
                row.report("unknown_item", "work_item", got=item_text, choices=item_choices)
        if row.bad or unit is None or work_item is None:
            continue
        first = seen.setdefault((unit.code, norm(code)), row.number)
        if first != row.number:
            row.report("duplicate_task", "code", unit=unit.code, code=code, first_row=first)
            continue
        tasks.append(
            TaskInput(
                unit=unit.code,
                code=code,
                title=title,
                source_document=source_document,
                target=target,
                due_date=due,
                work_item=work_item,
            )
        )
    if count == 0:
        problems.add("no_data_rows", table.header_row)
    problems.raise_if_any()
    return tasks


def _required(row: SheetRow, name: str) -> str:
    """The cell's text; an empty cell is reported with the task field's own name."""
    value = row.text(name, required=False)
    if not value and (row.number, row.columns[name]) not in row.table.errors:
        row.report("task_empty_cell", name, field=name)
    return value


def _due_date(row: SheetRow) -> dt.date | None:
    """The due date of a row: a date cell, or YYYY-MM-DD (or 年月日) text; empty is None."""
    raw = row.raw("due_date")
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    if isinstance(raw, str):
        text = unicodedata.normalize("NFKC", raw).strip()
        match = _DATE_TEXT.fullmatch(text)
        if match:
            with contextlib.suppress(ValueError):
                return dt.date(*(int(part) for part in match.groups()))
        shown = raw.strip()
    elif isinstance(raw, float) and raw.is_integer():
        shown = str(int(raw))
    else:
        shown = str(raw)
    row.report("bad_due_date", "due_date", got=shown)
    return None


# ---------------------------------------------------------------------------------------------
# The template

_LAST_ROW = 1_048_575
_LISTS_SHEET = "lists"
_WIDTHS = {
    "unit": 18,
    "code": 12,
    "title": 48,
    "source_document": 30,
    "target": 30,
    "due_date": 14,
    "work_item": 14,
}


def write_tasks_template(
    plan: Plan, path: Path, units: Sequence[Unit] = (), language: str | None = None
) -> None:
    """Write an empty tasks workbook for `plan` to `path`, atomically: headers, drop-down lists
    of units and work items, a date rule, and an instructions sheet."""
    lang = normalise_language(language)
    write_workbook_atomically(path, lambda book: _fill(book, plan, units, lang))


def _t(key: str, lang: str, **params: Any) -> str:
    return render(f"tasks.{key}", lang, **params)


def _cells(key: str, lang: str) -> list[str]:
    return [part.strip() for part in _t(key, lang).split("|")]


def _fill(book: Workbook, plan: Plan, units: Sequence[Unit], lang: str) -> None:
    header = book.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "border": 1, "valign": "vcenter"}
    )
    text = book.add_format({"num_format": "@"})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    data = book.add_worksheet(SHEET)
    instructions = book.add_worksheet(_t("instructions_sheet", lang))
    names = list(TASK_COLUMNS)
    for col, name in enumerate(names):
        data.write_string(0, col, name, header)
        fmt = day if name == "due_date" else text if name in ("unit", "code") else None
        data.set_column(col, col, _WIDTHS[name], fmt)
    items = [i.name if lang == "zh" else i.code for i in plan.work.items]
    data.data_validation(
        1,
        names.index("work_item"),
        _LAST_ROW,
        names.index("work_item"),
        {
            "validate": "list",
            "source": items,
            "error_type": "warning",
            "error_title": _t("dv_list_title", lang),
            "error_message": _t("dv_list_warning", lang),
        },
    )
    data.data_validation(
        1,
        names.index("due_date"),
        _LAST_ROW,
        names.index("due_date"),
        {
            "validate": "date",
            "criteria": "between",
            "minimum": dt.date(2000, 1, 1),
            "maximum": dt.date(2100, 12, 31),
            "error_title": _t("dv_date_title", lang),
            "error_message": _t("dv_date_message", lang),
        },
    )
    if units:
        # Unit lists easily pass Excel's 255-character limit for inline lists: use a sheet.
        lists = book.add_worksheet(_LISTS_SHEET)
        lists.write_string(0, 0, "unit", header)
        for i, unit in enumerate(units, start=1):
            lists.write_string(i, 0, unit.code)
        lists.hide()
        letter = column_letter(0)
        data.data_validation(
            1,
            names.index("unit"),
            _LAST_ROW,
            names.index("unit"),
            {
                "validate": "list",
                "source": f"={_LISTS_SHEET}!${letter}$2:${letter}${len(units) + 1}",
                "error_type": "warning",
                "error_title": _t("dv_list_title", lang),
                "error_message": _t("dv_list_warning", lang),
            },
        )
    data.freeze_panes(1, 0)
    data.set_row(0, 20)
    data.activate()
    _write_instructions(book, instructions, plan, units, lang)


def _write_instructions(
    book: Workbook,
    ws: xlsxwriter.worksheet.Worksheet,
    plan: Plan,
    units: Sequence[Unit],
    lang: str,
) -> None:
    title = book.add_format({"bold": True, "font_size": 14})
    bold = book.add_format({"bold": True})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 80, wrap)
    ws.set_column(2, 3, 16)
    ws.write_string(0, 0, _t("template_title", lang, year=plan.year), title)
    r = 2
    for line in _t("template_intro", lang, sheet=SHEET).splitlines():
        ws.write_string(r, 0, line)
        r += 1
    r += 1
    for col, cell in enumerate(_cells("columns_header", lang)):
        ws.write_string(r, col, cell, head)
    r += 1
    for name in TASK_COLUMNS:
        ws.write_string(r, 0, name, bold)
        ws.write_string(r, 1, _t(f"column_{name}", lang))
        r += 1
    r += 1
    ws.write_string(r, 0, _t("rules_title", lang), bold)
    r += 1
    for line in _t("template_rules", lang, sheet=SHEET).splitlines():
        ws.write_string(r, 0, line)
        r += 1
    tables: list[tuple[str, list[str], list[tuple[str, str]]]] = [
        (
            _t("items_title", lang),
            _cells("items_header", lang),
            [(i.code, i.name) for i in plan.work.items],
        )
    ]
    if units:
        tables.append(
            (
                _t("units_title", lang),
                _cells("units_header", lang),
                [(u.code, u.name) for u in units],
            )
        )
    for table_title, table_header, rows in tables:
        r += 1
        ws.write_string(r, 0, table_title, bold)
        r += 1
        for col, cell in enumerate(table_header):
            ws.write_string(r, col, cell, head)
        r += 1
        for row in rows:
            for col, cell in enumerate(row):
                ws.write_string(r, col, cell)
            r += 1
