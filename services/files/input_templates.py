"""Empty data workbooks to fill in: canonical sheet and headers, drop-down lists, instructions.

A template is what `services.files.reader` reads back without complaint: the sheet carries the
canonical name and English headers of scoring.md section 5; drop-down lists offer the words the
reader accepts, in the template's language; an instructions sheet (说明) explains each column.

To add a kind (such as `tasks`), write a builder that returns a `_Sheet` and register it in
`_BUILDERS`; its column explanations are catalog keys `workbook.column_<field>`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from scoring import EventKind, Grade, Group, Plan, Unit
from scoring.plan import GRADE_LABELS, GROUP_LABELS, PERIODS, YearEndSource
from services.files.atomic import write_workbook_atomically
from services.files.reader import (
    EVENT_LABELS,
    FINDING_LABELS,
    PERIOD_LABELS,
    SOURCE_LABELS,
    column_letter,
)
from templates import render
from templates.catalog import normalise_language

# Excel's last row (0-based); validations cover every row below the header.
_LAST_ROW = 1_048_575
# Excel refuses inline drop-down lists longer than this; longer ones go to the `lists` sheet.
_INLINE_LIST_LIMIT = 255
_LISTS_SHEET = "lists"


@dataclass(frozen=True)
class _Column:
    """One column of the data sheet."""

    header: str
    field: str  # the catalog key `workbook.column_<field>` explains it
    width: float = 14
    choices: tuple[str, ...] = ()
    strict: bool = True  # a drop-down that refuses other text (False: warns only)
    number: str = ""  # "decimal" or "whole"
    text: bool = False  # format the column as text, so codes like 001 stay as typed
    comment: str = ""


@dataclass(frozen=True)
class _Table:
    """A reference table on the instructions sheet."""

    title: str
    header: tuple[str, ...]
    rows: tuple[tuple[object, ...], ...]


@dataclass(frozen=True)
class _Sheet:
    """Everything a template holds: columns, pre-filled rows and reference tables."""

    name: str
    columns: tuple[_Column, ...]
    rows: tuple[tuple[object, ...], ...] = ()
    tables: tuple[_Table, ...] = ()
    notes: tuple[str, ...] = ()
    freeze_columns: int = 0


def _t(key: str, lang: str, **params: Any) -> str:
    return render(f"workbook.{key}", lang, **params)


def _split(key: str, lang: str) -> tuple[str, ...]:
    """A `|`-separated catalog line (a table header) as its cells."""
    return tuple(part.strip() for part in _t(key, lang).split("|"))


def _group_label(group: Group, lang: str) -> str:
    return GROUP_LABELS[group] if lang == "zh" else group.value


def _unit_column(units: Sequence[Unit]) -> _Column:
    # Codes in the drop-down, but names are accepted too, so the list only warns.
    return _Column("unit", "unit", 18, tuple(u.code for u in units), strict=False, text=True)


def _units_table(units: Sequence[Unit], lang: str) -> tuple[_Table, ...]:
    if not units:
        return ()
    rows = tuple((u.code, u.name, _group_label(u.group, lang)) for u in units)
    return (_Table(_t("units_table_title", lang), _split("units_table_header", lang), rows),)


# ---------------------------------------------------------------------------------------------
# One builder per kind


def _units_sheet(plan: Plan, units: Sequence[Unit], lang: str) -> _Sheet:
    groups = tuple(_group_label(g, lang) for g in Group)
    return _Sheet(
        "units",
        (
            _Column("code", "code", 18, text=True),
            _Column("name", "name", 28),
            _Column("group", "group", 16, groups),
        ),
        rows=tuple((u.code, u.name, _group_label(u.group, lang)) for u in units),
    )


def _values_sheet(plan: Plan, units: Sequence[Unit], lang: str) -> _Sheet:
    towns = [u for u in units if u.group is Group.TOWN]
    columns = [_unit_column(towns)]
    rows: list[tuple[object, ...]] = []
    for ind in plan.development.indicators:
        comment = _t(
            "indicator_comment",
            lang,
            name=ind.name,
            unit=ind.unit,
            direction=ind.direction.value,
            points=ind.points,
        )
        width = max(12, len(ind.code) + 3)
        columns.append(_Column(ind.code, "indicator", width, number="decimal", comment=comment))
    for ind in plan.development.indicators:
        direction = _t(f"direction_{ind.direction.value}", lang)
        rows.append((ind.code, ind.name, ind.unit, direction, ind.points))
    tables = (
        _Table(
            _t("indicators_table_title", lang),
            _split("indicators_table_header", lang),
            tuple(rows),
        ),
        *_units_table(towns, lang),
    )
    return _Sheet(
        "values",
        tuple(columns),
        rows=tuple((u.code,) for u in towns),
        tables=tables,
        freeze_columns=1,
    )


def _grades_sheet(plan: Plan, units: Sequence[Unit], lang: str) -> _Sheet:
    items = tuple(i.name if lang == "zh" else i.code for i in plan.work.items)
    periods = tuple(PERIOD_LABELS[p] if lang == "zh" else p for p in PERIODS)
    grades = tuple(GRADE_LABELS[g] if lang == "zh" else g.value for g in Grade)
    item_rows = tuple((i.code, i.name, i.points) for i in plan.work.items)
    grade_rows = tuple(
        (GRADE_LABELS[g], g.value, plan.work.grades[g]) for g in Grade if g in plan.work.grades
    )
    sources = tuple(SOURCE_LABELS[s] if lang == "zh" else s.value for s in SOURCE_LABELS)
    year_end = plan.work.year_end
    weights = ", ".join(f"{s.value} {w:g}" for s, w in year_end.sources.items())
    names = {i.code: (i.name if lang == "zh" else i.code) for i in plan.work.items}
    peer_items = (
        [names.get(code, code) for code in year_end.peer_items]
        if year_end.weight(YearEndSource.PEER) > 0
        else []
    )
    return _Sheet(
        "grades",
        (
            _unit_column(units),
            _Column("item", "item", 14, items, strict=False),
            _Column("period", "period", 10, periods),
            _Column("rater", "rater", 22),
            _Column("grade", "grade", 10, grades),
            _Column("source", "source", 12, sources),
        ),
        tables=(
            _Table(_t("items_table_title", lang), _split("items_table_header", lang), item_rows),
            _Table(
                _t("grades_table_title", lang), _split("grades_table_header", lang), grade_rows
            ),
            *_units_table(units, lang),
        ),
        notes=(
            _t(
                "grades_note",
                lang,
                daily_weight=plan.work.daily_weight,
                trim_above=plan.work.trim_above,
            ),
            _t("grades_peer_note", lang, sources=weights, peer_items=peer_items),
        ),
    )


def _bonus_sheet(plan: Plan, units: Sequence[Unit], lang: str) -> _Sheet:
    yes_no = tuple(_split("yes_no", lang))
    return _Sheet(
        "bonus",
        (
            _unit_column(units),
            _Column("title", "title", 40),
            _Column("evidence", "evidence", 40),
            _Column("approved", "approved", 10, yes_no),
        ),
        tables=_units_table(units, lang),
        notes=(_t("bonus_note", lang, per_item=plan.bonus.points_per_item, cap=plan.bonus.cap),),
    )


def _events_sheet(plan: Plan, units: Sequence[Unit], lang: str) -> _Sheet:
    kinds = tuple(EVENT_LABELS[k] if lang == "zh" else k.value for k in EventKind) + tuple(
        label if lang == "zh" else key for key, label in FINDING_LABELS.items()
    )
    items = {i.code: i.name for i in plan.work.items}
    rows: list[tuple[object, ...]] = []
    for kind in EventKind:
        rule = plan.work.deductions.get(kind)
        deduction = (
            _t("event_deduction", lang, item=items.get(rule.item, rule.item), points=rule.points)
            if rule
            else ""
        )
        rows.append((kind.value, EVENT_LABELS[kind], _t(f"event_{kind.value}", lang), deduction))
    for key, label in FINDING_LABELS.items():
        rows.append((key, label, _t(f"event_{key}", lang), _t("event_finding_note", lang)))
    return _Sheet(
        "events",
        (
            _unit_column(units),
            _Column("event", "event", 22, kinds),
            _Column("count", "count", 10, number="whole"),
        ),
        tables=(
            _Table(
                _t("events_table_title", lang), _split("events_table_header", lang), tuple(rows)
            ),
            *_units_table(units, lang),
        ),
    )


_BUILDERS: dict[str, Callable[[Plan, Sequence[Unit], str], _Sheet]] = {
    "units": _units_sheet,
    "values": _values_sheet,
    "grades": _grades_sheet,
    "bonus": _bonus_sheet,
    "events": _events_sheet,
}

TEMPLATE_KINDS: tuple[str, ...] = tuple(_BUILDERS)


# ---------------------------------------------------------------------------------------------
# Writing


def write_template(
    kind: str,
    plan: Plan,
    path: Path,
    units: Sequence[Unit] = (),
    language: str | None = None,
) -> None:
    """Write an empty `kind` workbook for `plan` to `path`, atomically; `units` fill lists."""
    if kind not in _BUILDERS:
        raise ValueError(f"unknown template kind {kind!r}; expected one of {TEMPLATE_KINDS}")
    lang = normalise_language(language)
    sheet = _BUILDERS[kind](plan, units, lang)
    write_workbook_atomically(path, lambda book: _fill(book, kind, plan, sheet, lang))


def _fill(book: Workbook, kind: str, plan: Plan, sheet: _Sheet, lang: str) -> None:
    header_format = book.add_format(
        {"bold": True, "bg_color": "#DDEBF7", "border": 1, "valign": "vcenter"}
    )
    text_format = book.add_format({"num_format": "@"})
    data = book.add_worksheet(sheet.name)
    instructions = book.add_worksheet(_t("instructions_sheet", lang))
    long_lists = [c for c in sheet.columns if c.choices and not _fits_inline(c.choices)]
    lists = book.add_worksheet(_LISTS_SHEET) if long_lists else None

    for col, column in enumerate(sheet.columns):
        data.write_string(0, col, column.header, header_format)
        data.set_column(col, col, column.width, text_format if column.text else None)
        if column.comment:
            data.write_comment(0, col, column.comment, {"x_scale": 2.0, "y_scale": 1.2})
        _validate(data, col, column, lang, long_lists)
    for r, row in enumerate(sheet.rows, start=1):
        for col, value in enumerate(row):
            if isinstance(value, str):
                data.write_string(r, col, value)
            else:
                data.write(r, col, value)
    data.freeze_panes(1, sheet.freeze_columns)
    data.set_row(0, 20)
    data.activate()

    _write_instructions(book, instructions, kind, plan, sheet, lang)
    if lists is not None:
        for j, column in enumerate(long_lists):
            lists.write_string(0, j, column.header, header_format)
            for i, choice in enumerate(column.choices, start=1):
                lists.write_string(i, j, choice)
        lists.hide()


def _fits_inline(choices: Sequence[str]) -> bool:
    return len(",".join(choices)) <= _INLINE_LIST_LIMIT and not any("," in c for c in choices)


def _validate(
    data: Worksheet,
    col: int,
    column: _Column,
    lang: str,
    long_lists: Sequence[_Column],
) -> None:
    """Add the drop-down list or the number rule of one column, for every data row."""
    if column.choices:
        if column in long_lists:
            j = long_lists.index(column)
            letter = column_letter(j)
            source: object = f"={_LISTS_SHEET}!${letter}$2:${letter}${len(column.choices) + 1}"
        else:
            source = list(column.choices)
        options: dict[str, object] = {
            "validate": "list",
            "source": source,
            "error_type": "stop" if column.strict else "warning",
            "error_title": _t("dv_list_title", lang),
            "error_message": _t("dv_list_message" if column.strict else "dv_list_warning", lang),
        }
    elif column.number == "decimal":
        options = {
            "validate": "decimal",
            "criteria": "between",
            "minimum": -1e15,
            "maximum": 1e15,
            "error_title": _t("dv_number_title", lang),
            "error_message": _t("dv_number_message", lang),
        }
    elif column.number == "whole":
        options = {
            "validate": "integer",
            "criteria": ">=",
            "value": 0,
            "error_title": _t("dv_count_title", lang),
            "error_message": _t("dv_count_message", lang),
        }
    else:
        return
    data.data_validation(1, col, _LAST_ROW, col, options)


def _write_instructions(
    book: Workbook, ws: Worksheet, kind: str, plan: Plan, sheet: _Sheet, lang: str
) -> None:
    """The instructions sheet: what the file is, each column, the rules, reference tables."""
    title = book.add_format({"bold": True, "font_size": 14})
    bold = book.add_format({"bold": True})
    head = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    ws.set_column(0, 0, 24)
    ws.set_column(1, 1, 80, wrap)
    ws.set_column(2, 4, 16)
    ws.write_string(0, 0, _t("template_title", lang, kind=kind, year=plan.year), title)
    r = 2
    for line in _t(f"template_intro_{kind}", lang, sheet=sheet.name).splitlines():
        ws.write_string(r, 0, line)
        r += 1
    r += 1
    for col, text in enumerate(_split("columns_table_header", lang)):
        ws.write_string(r, col, text, head)
    r += 1
    for column in sheet.columns:
        if column.field == "indicator":
            continue
        ws.write_string(r, 0, column.header, bold)
        ws.write_string(r, 1, _t(f"column_{column.field}", lang))
        r += 1
    if any(c.field == "indicator" for c in sheet.columns):
        ws.write_string(r, 0, _t("indicator_columns_label", lang), bold)
        ws.write_string(r, 1, _t("column_indicator", lang))
        r += 1
    r += 1
    ws.write_string(r, 0, _t("rules_title", lang), bold)
    r += 1
    for line in [*sheet.notes, *_t("template_rules", lang, sheet=sheet.name).splitlines()]:
        ws.write_string(r, 0, line)
        r += 1
    for table in sheet.tables:
        r += 1
        ws.write_string(r, 0, table.title, bold)
        r += 1
        for col, text in enumerate(table.header):
            ws.write_string(r, col, text, head)
        r += 1
        for row in table.rows:
            for col, value in enumerate(row):
                if isinstance(value, str):
                    ws.write_string(r, col, value)
                else:
                    ws.write(r, col, value)
            r += 1
