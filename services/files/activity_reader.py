"""The annual supervision plan (督导计划) as a workbook: its template, with drop-down lists of
the kinds and the units and a date rule, and its reader.

Sheet `activities` (or 督导计划), one activity a row: `date` (a date cell, or YYYY-MM-DD or
年月日 text); `kind` (a code, or its name in either language: 实地检查, 会议调度, 调研走访,
台账监控, 专项督导, 全面督导); `focus` (text); `units` (optional: unit codes or names separated
by 、 , ; or new lines; empty means every unit). All or nothing: a file with any bad row
returns nothing and names every bad cell.
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

from xlsxwriter.workbook import Workbook

from scoring import Unit
from services.files.atomic import write_workbook_atomically
from services.files.reader import (
    COLUMN_ALIASES,
    ProblemList,
    SheetRow,
    UnitIndex,
    column_letter,
    data_rows,
    map_columns,
    norm,
    open_table,
)
from services.files.safety import read_guarded
from storage.statuses import SupervisionKind
from templates import render
from templates.catalog import LANGUAGES, normalise_language

KIND = "activities"
SHEET = "activities"
ACTIVITY_COLUMNS = COLUMN_ALIASES[KIND]
MAX_FOCUS = 1000
_DATE_TEXT = re.compile(r"(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?")
_UNIT_SEPARATORS = re.compile(r"[、,，;；\n]+")
_ALL_UNITS = frozenset({"全部", "全部单位", "all", "所有单位"})


@dataclass(frozen=True)
class ActivityInput:
    """One planned supervision activity as read: `units` are codes (empty: every unit)."""

    planned_on: dt.date
    kind: SupervisionKind
    focus: str
    units: tuple[str, ...] = ()


def kind_words() -> dict[str, SupervisionKind]:
    """Every word accepted for a kind: its code and its names in each language."""
    words: dict[str, SupervisionKind] = {}
    for kind in SupervisionKind:
        words[norm(kind.value)] = kind
        for lang in LANGUAGES:
            words[norm(render(f"supervision.kind_{kind.value}", lang))] = kind
            words[norm(render(f"year.source_{kind.value}", lang))] = kind
    return words


def read_activities(
    path: Path, units: Sequence[Unit], *, source: str | None = None
) -> list[ActivityInput]:
    """The activities of a supervision plan workbook; raise `InputError` with every problem.
    Checked first and parsed in a child process with limits (services.files.safety)."""
    name = source if source is not None else str(path)
    return read_guarded(path, name, _read_activities, path, units, source=name)


def _read_activities(
    path: Path, units: Sequence[Unit], *, source: str | None = None
) -> list[ActivityInput]:
    """The work of `read_activities`, in the child process."""
    problems = ProblemList(source if source is not None else str(path))
    table = open_table(path, KIND, problems)
    columns, _ = map_columns(table, KIND, problems)
    problems.raise_if_any()
    index = UnitIndex(units)
    words = kind_words()
    choices = [render(f"supervision.kind_{k.value}", "zh") for k in SupervisionKind]
    found: list[ActivityInput] = []
    count = 0
    for row in data_rows(table, columns, problems):
        count += 1
        day = _date(row)
        kind_text = row.text("kind")
        kind = words.get(norm(kind_text)) if kind_text else None
        if kind_text and kind is None:
            row.report("activity_unknown_kind", "kind", got=kind_text, choices=choices)
        focus = row.text("focus")
        if len(focus) > MAX_FOCUS:
            row.report("activity_text_too_long", "focus", limit=MAX_FOCUS, length=len(focus))
        codes = _units(row, index) if "units" in columns else ()
        if row.bad or day is None or kind is None:
            continue
        found.append(ActivityInput(day, kind, focus, codes))
    if count == 0:
        problems.add("no_data_rows")
    problems.raise_if_any()
    return found


def _date(row: SheetRow) -> dt.date | None:
    raw = row.raw("date")
    if isinstance(raw, dt.datetime):
        return raw.date()
    if isinstance(raw, dt.date):
        return raw
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        row.report("empty_cell", "date", field="date")
        return None
    if isinstance(raw, str):
        match = _DATE_TEXT.fullmatch(unicodedata.normalize("NFKC", raw).strip())
        if match:
            with contextlib.suppress(ValueError):
                return dt.date(*(int(part) for part in match.groups()))
    row.report("activity_bad_date", "date", got=str(raw).strip())
    return None


def _units(row: SheetRow, index: UnitIndex) -> tuple[str, ...]:
    text = row.text("units", required=False)
    if not text or norm(text) in {norm(w) for w in _ALL_UNITS}:
        return ()
    codes: list[str] = []
    for word in (w.strip() for w in _UNIT_SEPARATORS.split(text)):
        if not word:
            continue
        unit = index.find(word)
        if unit is None:
            row.report("unknown_unit", "units", unit=word, suggestions=index.suggest(word))
        elif unit.code not in codes:
            codes.append(unit.code)
    return tuple(codes)


# ---------------------------------------------------------------------------------------------
# The template

_LAST_ROW = 1_048_575
_LISTS_SHEET = "lists"
_WIDTHS = {"date": 14, "kind": 14, "focus": 60, "units": 40}


def write_activities_template(
    year: int, path: Path, units: Sequence[Unit] = (), language: str | None = None
) -> None:
    """Write an empty supervision plan workbook of `year` to `path`, atomically: headers,
    drop-down lists of the kinds and the units, a date rule within the year, instructions."""
    lang = normalise_language(language)
    write_workbook_atomically(path, lambda book: _fill(book, year, units, lang))


def _t(key: str, lang: str, **params: Any) -> str:
    return render(f"supervision.{key}", lang, **params)


def _fill(book: Workbook, year: int, units: Sequence[Unit], lang: str) -> None:
    header = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    day = book.add_format({"num_format": "yyyy-mm-dd"})
    wrap = book.add_format({"text_wrap": True, "valign": "top"})
    data = book.add_worksheet(SHEET)
    names = list(ACTIVITY_COLUMNS)
    for col, name in enumerate(names):
        data.write_string(0, col, name, header)
        data.set_column(col, col, _WIDTHS[name], day if name == "date" else None)
    kinds = [_t(f"kind_{k.value}", lang) for k in SupervisionKind]
    warning = {
        "error_type": "warning",
        "error_title": _t("template_dv_title", lang),
        "error_message": _t("template_dv_warning", lang),
    }
    kind_col = names.index("kind")
    data.data_validation(
        1, kind_col, _LAST_ROW, kind_col, {"validate": "list", "source": kinds, **warning}
    )
    date_col = names.index("date")
    data.data_validation(
        1,
        date_col,
        _LAST_ROW,
        date_col,
        {
            "validate": "date",
            "criteria": "between",
            "minimum": dt.date(year, 1, 1),
            "maximum": dt.date(year, 12, 31),
            "error_title": _t("template_dv_title", lang),
            "error_message": _t("template_dv_date", lang, year=year),
        },
    )
    if units:
        # Unit lists pass Excel's 255-character limit for inline lists: a hidden sheet. One
        # unit per cell is offered; several are typed, separated by 、 (a warning only).
        lists = book.add_worksheet(_LISTS_SHEET)
        lists.write_string(0, 0, "units", header)
        for i, unit in enumerate(units, start=1):
            lists.write_string(i, 0, unit.name)
        lists.hide()
        letter = column_letter(0)
        units_col = names.index("units")
        data.data_validation(
            1,
            units_col,
            _LAST_ROW,
            units_col,
            {
                "validate": "list",
                "source": f"={_LISTS_SHEET}!${letter}$2:${letter}${len(units) + 1}",
                **warning,
            },
        )
    data.freeze_panes(1, 0)
    data.activate()
    notes = book.add_worksheet(_t("template_notes_sheet", lang))
    notes.set_column(0, 0, 100, wrap)
    notes.write_string(0, 0, _t("template_title", lang, year=year), header)
    for r, line in enumerate(_t("template_notes", lang).splitlines(), start=2):
        notes.write_string(r, 0, line)
